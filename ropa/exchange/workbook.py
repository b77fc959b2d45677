"""
Opening an uploaded workbook: refusing a file that cannot hold a register (not
an XLSX workbook, damaged, empty, too large, a zip bomb, more rows or cells
than an import reads: ``ropa.core.rows``) with an ``ImportFileError`` that
says why, and reading its sheets into ``Table`` rows.

A cell holding a formula is read as the value the file saved for it; a
formula saved without one (by a program that does not calculate) is an
``Uncalculated`` cell, refused where it is read, never an empty cell.
"""

import re
import warnings
import zipfile
import zlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import ParseError

from django.template.defaultfilters import filesizeformat
from lxml import etree
from openpyxl import load_workbook
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.xml.constants import SHEET_MAIN_NS

# The parser openpyxl reads sheets with (defusedxml's, when it is installed).
from openpyxl.xml.functions import iterparse

from ropa.core.rows import (
    FILE_TOO_LARGE,
    ReadLimits,
    TooLarge,
    check_package,
    is_utf8,
    max_import_bytes,
)

NOT_A_WORKBOOK = (
    "'{file_name}' is not an Excel workbook (.xlsx). Save the register or the "
    "ICO template as an .xlsx workbook and import that."
)
ZIP_NOT_WORKBOOK = (
    "'{file_name}' is a zip archive, not an Excel workbook (.xlsx). Import "
    "the XLSX export of the register, not the zip of CSV files."
)
UNREADABLE = "'{file_name}' cannot be read as an Excel workbook: {error}."
# What a damaged or foreign zip container raises, in words (see ``_unreadable``).
ENCRYPTED_PART = "a part of it is encrypted ({error})"
PACKED_PART = "a part of it is packed in a way that cannot be unpacked ({error})"
DAMAGED_PART = "a part of it is damaged and cannot be unpacked ({error})"
PART_NAME = "the name of a part of it is not valid text ({error})"
FORMULA_WITHOUT_VALUE = (
    "The cell holds the formula '{formula}' without its value (the file was "
    "saved by a program that does not calculate formulas): open the file in a "
    "spreadsheet program and save it, or type the value instead."
)
# The most characters of a formula an error message quotes.
FORMULA_SHOWN = 60
EMPTY_FILE = "'{file_name}' is empty."
TOO_LARGE = FILE_TOO_LARGE


class ImportFileError(Exception):
    """The file cannot be imported at all; the message says why."""


@dataclass
class Table:
    """The non-empty rows of one sheet, each with its row number (from 1)."""

    name: str
    rows: list


def check_size(size, file_name):
    """Refuse an empty file, or one over the configured limit."""
    if size == 0:
        raise ImportFileError(EMPTY_FILE.format(file_name=file_name))
    limit = max_import_bytes()
    if size > limit:
        raise ImportFileError(
            TOO_LARGE.format(
                file_name=file_name,
                size=filesizeformat(size),
                limit=filesizeformat(limit),
            )
        )


# What reading a damaged workbook raises: zipfile raises RuntimeError for an
# encrypted part, NotImplementedError (a RuntimeError) for a compression
# method or zip version it does not know, zlib.error or EOFError for damaged
# compressed data, and UnicodeDecodeError (a ValueError) for a part's name;
# openpyxl raises the others for parts missing or malformed.
UNREADABLE_ERRORS = (
    InvalidFileException,
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    RuntimeError,
    zlib.error,
    EOFError,
    KeyError,
    ValueError,
    TypeError,
    OSError,
    ParseError,
    # openpyxl parses with lxml when it is installed.
    etree.XMLSyntaxError,
)


def _unreadable(error, file_name):
    """The ``ImportFileError`` for an error of ``UNREADABLE_ERRORS``."""
    if isinstance(error, UnicodeDecodeError):
        reason = PART_NAME.format(error=error)
    elif isinstance(error, NotImplementedError):
        reason = PACKED_PART.format(error=error)
    elif isinstance(error, RuntimeError) and "encrypted" in str(error):
        reason = ENCRYPTED_PART.format(error=error)
    elif isinstance(error, (zlib.error, EOFError)):
        reason = DAMAGED_PART.format(error=error)
    else:
        reason = str(error) or type(error).__name__
    return ImportFileError(UNREADABLE.format(file_name=file_name, error=reason))


def read_workbook(path, *, file_name):
    """The sheets of the workbook at ``path``, by name, in workbook order."""
    path = Path(path)
    check_size(path.stat().st_size, file_name)
    if not zipfile.is_zipfile(path):
        raise ImportFileError(NOT_A_WORKBOOK.format(file_name=file_name))
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except UNREADABLE_ERRORS as error:
        raise _unreadable(error, file_name) from error
    # Every Office Open XML package has this part; a zip of CSV files has not.
    if "[Content_Types].xml" not in {member.filename for member in members}:
        raise ImportFileError(ZIP_NOT_WORKBOOK.format(file_name=file_name))
    try:
        with warnings.catch_warnings():
            # openpyxl warns about template features it does not read (data
            # validation, conditional formatting); the values are unaffected.
            warnings.simplefilter("ignore", UserWarning)
            # An open file, not a path: openpyxl would judge a path by its
            # extension, and the content is what counts.
            # Values are read as the file last calculated them (data_only);
            # a formula the file holds no value for is marked, not blanked.
            with path.open("rb") as handle, zipfile.ZipFile(path) as archive:
                check_package(archive, file_name)
                # Linked workbooks' cached values are not read (keep_links):
                # the cells hold the values that count.
                workbook = load_workbook(
                    handle, read_only=True, data_only=True, keep_links=False
                )
                try:
                    return _read_sheets(workbook, archive, file_name)
                finally:
                    workbook.close()
    except TooLarge as error:
        raise ImportFileError(str(error)) from None
    except UNREADABLE_ERRORS as error:
        raise _unreadable(error, file_name) from error


def _read_sheets(workbook, archive, file_name):
    """
    {title: Table} for the sheets of ``workbook``, each row counted as it is
    read (``ropa.core.rows.ReadLimits``): the first past a limit stops it.
    """
    limits = ReadLimits(file_name)
    tables = {}
    for sheet in workbook.worksheets:
        # openpyxl keeps where a sheet is in the package, but does not say it.
        member = sheet._worksheet_path.lstrip("/")
        uncalculated = _uncalculated(archive, member, limits)
        tables[sheet.title] = Table(
            sheet.title, _non_empty_rows(sheet, uncalculated, limits)
        )
    return tables


@dataclass(frozen=True)
class Uncalculated:
    """
    A formula cell saved without its value, as a program that writes files
    without calculating them leaves it (openpyxl, scripts): read as the
    value, it would be an empty cell. ``cell_text`` refuses it.
    """

    formula: str

    @property
    def shown(self):
        """The formula as an error message quotes it: its start, when long."""
        if len(self.formula) <= FORMULA_SHOWN:
            return self.formula
        return self.formula[:FORMULA_SHOWN] + "…"


_CELL = f"{{{SHEET_MAIN_NS}}}c"
_ROW = f"{{{SHEET_MAIN_NS}}}row"
_FORMULA = f"{{{SHEET_MAIN_NS}}}f"
_VALUE = f"{{{SHEET_MAIN_NS}}}v"
_INLINE_TEXT = f"{{{SHEET_MAIN_NS}}}is"
# The start of a formula element, whatever its namespace prefix.
_FORMULA_START = re.compile(rb"<(?:[^\s<>/:!?]+:)?f[\s/>]")
_NAME_END = re.compile(rb"[\s/>]")
_CHUNK = 1024 * 1024


def _uncalculated(archive, member, limits):
    """
    {row: {column: Uncalculated}} for the formula cells of the sheet read
    from ``member`` that hold no value, both numbered from 1 as openpyxl
    numbers them; up to the rows and cells ``limits`` allow, past which the
    sheet's reading refuses it.
    """
    if not _has_formulas(archive, member):
        return {}
    found = defaultdict(dict)
    row = column = cells = 0
    with archive.open(member) as source:
        for event, element in iterparse(source, events=("start", "end")):
            if event == "start":
                if element.tag == _ROW:
                    number = element.get("r")
                    row = int(number) if number else row + 1
                    column = 0
                    if row > limits.max_rows:
                        break
                continue
            if element.tag == _CELL:
                coordinate = element.get("r")
                if coordinate:
                    cell_row, column = coordinate_to_tuple(coordinate)
                else:
                    cell_row, column = row, column + 1
                formula = element.find(_FORMULA)
                if formula is not None and not _has_value(element):
                    # A cell sharing another's formula holds none of its own.
                    text = formula.text or "…"
                    found[cell_row][column] = Uncalculated(f"={text}")
                element.clear()
                cells += 1
                if cells > limits.max_cells:
                    break
            elif element.tag == _ROW:
                element.clear()
    return found


def _has_value(cell):
    """Whether a formula cell holds the value it was last calculated to."""
    if cell.get("t") == "inlineStr":
        return cell.find(_INLINE_TEXT) is not None
    if cell.get("t") == "str":
        # A formula whose value is the empty text.
        return cell.find(_VALUE) is not None
    return bool(cell.findtext(_VALUE))


def _has_formulas(archive, member):
    """
    Whether the XML of ``member`` may hold a formula element: a quick look
    for its tag in the bytes, where the XML is UTF-8 (as every spreadsheet
    program writes it); XML in another encoding is taken to.
    """
    tail = b""
    with archive.open(member) as source:
        chunk = source.read(_CHUNK)
        if not is_utf8(chunk):
            return True
        while chunk:
            text = tail + chunk
            # The plain searches are fast, and find nearly every chunk clean.
            maybe = b"<f" in text or b":f" in text
            if maybe and _FORMULA_START.search(text):
                return True
            # A tag whose name the chunk's end cuts is looked at again with
            # the next chunk; a name longer than a chunk is no workbook's.
            start = text.rfind(b"<")
            cut = start >= 0 and not _NAME_END.search(text, start + 1)
            tail = text[start:] if cut else b""
            if len(tail) > _CHUNK:
                return True
            chunk = source.read(_CHUNK)
    return False


def _non_empty_rows(sheet, uncalculated, limits):
    # Each row as wide as the cells it has: the size a sheet declares is not
    # trusted, since a smaller one would drop cells beyond it, and a larger
    # one pad every row to its width (up to 16,384 columns).
    sheet.reset_dimensions()
    rows = []
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        # Counted before anything is done with the row: the first row past a
        # limit stops the reading.
        limits.row(number, len(values), sheet=sheet.title)
        formulas = uncalculated.get(number)
        if formulas:
            values = list(values)
            for column, formula in formulas.items():
                if column <= len(values):
                    values[column - 1] = formula
        if any(not _is_blank(value) for value in values):
            rows.append((number, tuple(values)))
    return rows


def _is_blank(value):
    return value is None or (isinstance(value, str) and not value.strip())
