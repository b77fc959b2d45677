"""
What an import does with a row of its file, in the words both imports use,
and how much of a file either reads.

A file under the size limit can still hold a million small rows, each of
which an import would check against the register: minutes of work and
gigabytes of memory before it is refused. Both imports count the rows of each
sheet and the cells of the whole file as they read it (``ReadLimits``), and
stop at the first row past ``ROPA_IMPORT_MAX_ROWS`` (rows of a sheet, its
heading row included, as the spreadsheet numbers them) or past
``ROPA_IMPORT_MAX_CELLS`` (cells of the file), before any row is checked.

An XLSX workbook is a zip of XML parts, and openpyxl does work before any row
is read: it reads the whole table of shared texts when it opens a workbook,
and the whole XML of a sheet that does not state its size first (to find
it); reading a sheet, it holds a whole row at once. ``check_package`` bounds
that work first: the parts may not inflate past twenty times
``ROPA_IMPORT_MAX_BYTES``, and the rows and cells of every sheet, and the
shared texts, are counted in their XML, as bytes, before openpyxl parses any
of it.
"""

import codecs
import re

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from openpyxl.packaging.manifest import Manifest
from openpyxl.reader.excel import _find_workbook_part
from openpyxl.reader.workbook import WorkbookParser
from openpyxl.xml.constants import ARC_CONTENT_TYPES, SHARED_STRINGS
from openpyxl.xml.functions import fromstring

NEW = "new"
CHANGED = "changed"
UNCHANGED = "unchanged"
DELETED = "deleted"
INVALID = "invalid"
ACTIONS = (NEW, CHANGED, UNCHANGED, DELETED, INVALID)

# Three times the largest sheet, and over twice the cells, of the XLSX export
# of the benchmark's register of 10,000 activities (Retention rules: 30,001
# rows; 1,132,111 cells in all).
DEFAULT_MAX_ROWS = 100_000
DEFAULT_MAX_CELLS = 3_000_000
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# A workbook is a zip: refused when it inflates beyond this many times the
# size limit (a "zip bomb"), before anything reads it.
MAX_INFLATION = 20

TOO_MANY_ROWS = (
    "{where} has more than {limit:,} rows, the most an import reads from a "
    "sheet (the setting ROPA_IMPORT_MAX_ROWS): nothing was imported. Split the "
    "file, or delete the rows below the register's."
)
TOO_MANY_CELLS = (
    "{file} has more than {limit:,} cells (reading stopped {where}), "
    "the most an import reads from a file (the setting ROPA_IMPORT_MAX_CELLS): "
    "nothing was imported. Split the file, or delete the rows and columns "
    "beyond the register's."
)


TOO_LARGE_INFLATED = "{file} unpacks to more than {limit}: it cannot be a register."
TOO_MANY_TEXTS = (
    "{file} holds more than {limit:,} different texts, more than the "
    "cells an import reads from a file (the setting ROPA_IMPORT_MAX_CELLS): "
    "nothing was imported."
)


FILE_TOO_LARGE = (
    "'{file_name}' is {size}; the largest file that can be imported is {limit}."
)


def max_import_bytes():
    """The largest file an import accepts (``ROPA_IMPORT_MAX_BYTES``)."""
    return getattr(settings, "ROPA_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)


def max_rows():
    """The most rows an import reads from one sheet (``ROPA_IMPORT_MAX_ROWS``)."""
    return getattr(settings, "ROPA_IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS)


def max_cells():
    """The most cells an import reads from one file (``ROPA_IMPORT_MAX_CELLS``)."""
    return getattr(settings, "ROPA_IMPORT_MAX_CELLS", DEFAULT_MAX_CELLS)


def _named(file_name):
    """The file as a message names it: by its name, where known."""
    return f"'{file_name}'" if file_name else "The file"


class TooLarge(Exception):
    """A file has more rows or cells than an import reads; the message says so."""


class ReadLimits:
    """
    The rows and cells of one file, counted as they are read: ``row()`` raises
    ``TooLarge`` for the first row past either limit.
    """

    def __init__(self, file_name=None):
        self.file_name = file_name
        self.max_rows = max_rows()
        self.max_cells = max_cells()
        self.cells = 0

    def row(self, number, width, *, sheet=None):
        """
        Count row ``number`` (from 1) of ``sheet`` (None for a file of one
        table, such as CSV), ``width`` cells wide.
        """
        if number > self.max_rows:
            where = f"Sheet '{sheet}'" if sheet is not None else _named(self.file_name)
            raise TooLarge(TOO_MANY_ROWS.format(where=where, limit=self.max_rows))
        self.cells_read(width, sheet=sheet, row=number)

    def cells_read(self, count, *, sheet=None, row=None):
        """Count ``count`` more cells, of ``row`` of ``sheet`` where known."""
        self.cells += count
        if self.cells > self.max_cells:
            if row is None:
                where = f"in sheet '{sheet}'"
            elif sheet is None:
                where = f"at row {row:,}"
            else:
                where = f"at row {row:,} of sheet '{sheet}'"
            raise TooLarge(
                TOO_MANY_CELLS.format(
                    file=_named(self.file_name), limit=self.max_cells, where=where
                )
            )


def check_table(rows, width, file_name=None):
    """
    Refuse, as ``ReadLimits`` would have refused it row by row, a table
    already read whole: ``rows`` rows (its heading row included), ``width``
    cells wide.
    """
    limits = ReadLimits(file_name)
    if rows > limits.max_rows:
        limits.row(limits.max_rows + 1, 0)
    if rows * width > limits.max_cells:
        # The first row whose cells pass the limit.
        first = limits.max_cells // width + 1
        limits.row(first, first * width)


def check_package(archive, file_name):
    """
    Refuse the workbook ``archive`` (a ``ZipFile``) with ``TooLarge`` when it
    inflates too much, or its XML holds more rows in a sheet, or more cells
    or shared texts, than an import reads.
    """
    inflated_limit = max_import_bytes() * MAX_INFLATION
    # zipfile reads no more of a part than its stated size.
    if sum(member.file_size for member in archive.infolist()) > inflated_limit:
        raise TooLarge(
            TOO_LARGE_INFLATED.format(
                file=_named(file_name), limit=filesizeformat(inflated_limit)
            )
        )
    manifest = Manifest.from_tree(fromstring(archive.read(ARC_CONTENT_TYPES)))
    texts = manifest.find(SHARED_STRINGS)
    if texts is not None:
        limit, count = max_cells(), 0
        part = texts.PartName.lstrip("/")
        for (found,) in _tag_counts(archive, part, _SHARED_TEXT):
            count += found
            if count > limit:
                raise TooLarge(
                    TOO_MANY_TEXTS.format(file=_named(file_name), limit=limit)
                )
    # The sheets as openpyxl finds them.
    parser = WorkbookParser(
        archive, _find_workbook_part(manifest).PartName.lstrip("/"), keep_links=False
    )
    parser.parse()
    limits = ReadLimits(file_name)
    for sheet, relation in parser.find_sheets():
        member = relation.target.lstrip("/")
        if member not in archive.NameToInfo:
            # openpyxl skips it too.
            continue
        rows = 0
        for row_tags, cell_tags in _tag_counts(
            archive, member, _ROW_START, _CELL_START
        ):
            # Each row element is a row of its own number: past the limit in
            # count, the sheet is past it in numbers.
            rows += row_tags
            limits.row(rows, 0, sheet=sheet.name)
            limits.cells_read(cell_tags, sheet=sheet.name)


# Parts are read a megabyte at a time.
_CHUNK = 1024 * 1024
_NAME_END = re.compile(rb"[\s/>]")


class _Tag:
    """The start tags of one element, as counted in XML bytes."""

    def __init__(self, name):
        # Spreadsheet programs write no namespace prefix; the plain search
        # is three times as fast as the one that allows one.
        self.plain = re.compile(rb"<" + name + rb"[\s/>]")
        self.prefixed = re.compile(rb"<(?:[^\s<>/:!?]+:)?" + name + rb"[\s/>]")
        self.marker = b":" + name

    def count(self, text, end):
        """How many start tags ``text`` holds before ``end``."""
        pattern = self.prefixed if self.marker in text else self.plain
        return len(pattern.findall(text, 0, end))


_CELL_START = _Tag(b"c")
_ROW_START = _Tag(b"row")
_SHARED_TEXT = _Tag(b"si")


def _tag_counts(archive, member, *tags):
    """
    How many start tags of each of ``tags`` (``_Tag``) the XML of ``member``
    holds, chunk by chunk, as a tuple per chunk.
    """
    tail = b""
    with archive.open(member) as source:
        for chunk in _utf8_chunks(source):
            text = tail + chunk
            # A tag whose name the chunk's end cuts is counted with the next.
            start = text.rfind(b"<")
            cut = start >= 0 and not _NAME_END.search(text, start + 1)
            tail = text[start:] if cut else b""
            end = len(text) - len(tail)
            yield tuple(tag.count(text, end) for tag in tags)
            if len(tail) > _CHUNK:
                # A name longer than a chunk is no workbook's: dropped.
                tail = b""


def _utf8_chunks(source):
    """
    The XML read from ``source``, in UTF-8, a chunk at a time: XML in UTF-16
    or another encoding it declares is decoded. Nothing for an encoding
    Python does not know, which the XML parser refuses too.
    """
    chunk = source.read(_CHUNK)
    if is_utf8(chunk):
        while chunk:
            yield chunk
            chunk = source.read(_CHUNK)
        return
    try:
        decoder = codecs.getincrementaldecoder(_encoding(chunk))("replace")
    except LookupError:
        return
    while chunk:
        yield decoder.decode(chunk).encode()
        chunk = source.read(_CHUNK)
    yield decoder.decode(b"", final=True).encode()


def _encoding(start):
    """The encoding of XML that is not UTF-8, from its first bytes."""
    if start.startswith((codecs.BOM_UTF16_LE, b"<\x00")):
        return "utf-16-le"
    if start.startswith((codecs.BOM_UTF16_BE, b"\x00<")):
        return "utf-16-be"
    declared = re.search(rb"encoding\s*=\s*[\"']([^\"']*)", start[:200])
    return declared[1].decode("ascii", "replace") if declared else "utf-8"


def is_utf8(start):
    """Whether XML beginning with the bytes ``start`` says it is UTF-8."""
    if b"\x00" in start[:4]:
        return False
    start = start.removeprefix(b"\xef\xbb\xbf")
    declaration = re.match(rb"<\?xml[^>]*>", start)
    if declaration is None:
        return start.lstrip().startswith(b"<")
    encoding = re.search(rb"encoding\s*=\s*[\"']([^\"']*)", declaration[0])
    return encoding is None or encoding[1].lower() in (b"utf-8", b"utf8")
