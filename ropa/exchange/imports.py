"""
Importing a register: our own XLSX export, and a filled UK ICO controller template.

An import runs in three steps, and writes nothing until the last one:

``read_workbook``
    Opens the file, refusing one that cannot hold a register (not an XLSX
    workbook, damaged, empty, over ``ROPA_IMPORT_MAX_BYTES``) with an
    ``ImportFileError`` that says why. A cell holding a formula is read as
    the value the file saved for it; a formula saved without one (by a
    program that does not calculate) is an ``Uncalculated`` cell, which the
    plan refuses where it reads it, never an empty cell.
``plan_import``
    Validates every row into an ``ImportPlan``: per row, whether it is new,
    changed, unchanged or invalid, the fields that change, and every error
    with its sheet, its row number as the spreadsheet shows it, its column
    and the reason. Our own export is read here (``plan_register``); the ICO
    template in ``ropa.exchange.ico``.
``apply_plan``
    Writes a plan that has no error, in one transaction, every change in the
    history with the importing user and the reason "Imported from <file
    name>". Rows are validated as ``full_clean()`` does and written in
    batches, with simple-history's ``bulk_*_with_history`` and a copy of the
    links for each history row, as a ``save()`` would leave them; a batch
    with anything amiss (a row invalid, saved since the plan, or refused by
    the database) is rolled back and written row by row with ``full_clean()``
    and ``save()``, which name the row at fault. Unchanged rows are not
    saved. One bad row and nothing is written.

Our own export (``ropa.exchange.layout``) is read as a person leaves it after
editing it in a spreadsheet: a choice from its label as the cell shows it (or
its code; the labels the file was written with, on its hidden ``For the
import`` sheet, are read too, should a label have been reworded since), text
as the cell holds it. A workbook exported before that sheet existed put an
apostrophe before formula-like text, which is removed from it.

Our own export is keyed: activities by their
Reference, child rows by their sheet's natural key. An activity on the
Activities sheet is created or updated; its lawful bases, transfers and
retention rules become exactly the rows of the child sheets (rows no longer
in the file are deleted, with history). Activities absent from the file are
left alone. Organisations, categories, recipients, security measures,
processor agreements and joint arrangements are named, never created: an
unknown name is an error. The Controller, Processors and Joint arrangements
sheets are for readers; they are edited in the admin.

A file never overwrites a change made after it was exported (no lost
updates, as in the admin: ``ropa.core.versioning``). Every row carries the
``Version`` of its record as exported; a row that would change a record
saved since is an error naming who changed it, when and what. So is a child
row missing from the file that was added or changed after the export
(``Exported at`` in the header block), and an exported row whose record was
deleted after it. A stale row that would change nothing is simply unchanged.
A record saved between the plan and its writing aborts the import.
"""

import contextlib
import datetime
import os
import re
import tempfile
import time
import unicodedata
import warnings
import zipfile
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from xml.etree.ElementTree import ParseError

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import (
    NON_FIELD_ERRORS,
    FieldDoesNotExist,
    ValidationError,
)
from django.db import DatabaseError, connections, models, router, transaction
from django.db.models import CheckConstraint, UniqueConstraint
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django_countries import countries
from lxml import etree
from openpyxl import load_workbook
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.xml.constants import SHEET_MAIN_NS

# The parser openpyxl reads sheets with (defusedxml's, when it is installed).
from openpyxl.xml.functions import iterparse
from simple_history.models import HistoricalRecords
from simple_history.utils import (
    bulk_create_with_history,
    bulk_update_with_history,
    get_m2m_field_name,
)

from controllers.models import (
    JointControllerArrangement,
    Organisation,
    ProcessorAgreement,
)
from ropa import stored_completeness
from ropa.core.progress import no_progress
from ropa.core.versioning import (
    RecordDeletedError,
    StaleRecordError,
    Versioned,
    what_changed,
)
from ropa.enums import (
    ActivityRole,
    ActivityStatus,
    DPIAStatus,
    LawfulBasisChoice,
    Profiling,
    RetentionAction,
    RetentionUnit,
    SpecialCategoryCondition,
    TransferMechanism,
)
from ropa.exchange import layout as fmt
from ropa.models import (
    InternationalTransfer,
    LawfulBasis,
    ProcessingActivity,
    Recipient,
    RetentionRule,
    SecurityMeasure,
)
from subjects.models import DataSubjectCategory, PersonalDataCategory

OURS = "ours"
ICO = "ico"
FORMATS = (
    (OURS, "Our own XLSX export (round trip)"),
    (ICO, "A filled UK ICO controller template"),
)

NEW = "new"
CHANGED = "changed"
UNCHANGED = "unchanged"
DELETED = "deleted"
INVALID = "invalid"
ACTIONS = (NEW, CHANGED, UNCHANGED, DELETED, INVALID)

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
# A workbook is a zip: refuse one that inflates beyond this many times the
# size limit (a "zip bomb") before openpyxl reads it.
MAX_INFLATION = 20

IMPORT_REASON = "Imported from {file_name}"

REQUIRED = "Required."
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
# More digits than any number column takes (the largest is a 64-bit integer):
# refused before int(), which reads at most a few thousand digits.
MAX_DIGITS = 20
TOO_MANY_DIGITS = (
    "A number of {digits:,} digits is too large to read: no number here has "
    "more than {limit}."
)
EMPTY_FILE = "'{file_name}' is empty."
TOO_LARGE = "'{file_name}' is {size}; the largest file that can be imported is {limit}."
TOO_LARGE_INFLATED = (
    "'{file_name}' unpacks to more than {limit}: it cannot be a register."
)
MISSING_SHEETS = (
    "'{file_name}' lacks the sheets {names}: is it a register exported from "
    "here? To migrate a filled ICO template, choose the ICO format."
)
MISSING_COLUMNS = "Sheet '{sheet}' lacks the columns {names} in row {row}."
NO_ROWS = "Sheet '{sheet}' has no rows below its column headers: nothing to import."
AS_OF_MISSING = (
    "The '{sheet}' sheet has no '{label}' line in its header block: "
    "'{file_name}' is not a register exported by this application."
)
AS_OF_REFUSED = (
    "'{file_name}' is the register as it stood on {as_of}, rebuilt from "
    "history. A historical snapshot cannot be imported: it would undo every "
    "change made since. Export the current register and edit that."
)
UNKNOWN_COLUMN = (
    "Sheet '{sheet}': column '{column}' is not part of the register; ignored."
)
READ_ONLY_COLUMNS = (
    "The columns {names} of the '{sheet}' sheet are summaries written for "
    "readers: they are not imported."
)
NOT_IMPORTED_SHEETS = (
    "The sheets {names} are not imported: edit organisations, processor "
    "agreements and joint arrangements in the admin."
)
NO_VERSION_COLUMN = (
    "This file has no '{column}' column (sheets {names}): export the register "
    "again and redo the edit in the new file. Without the version of each "
    "record as exported, a change made since could be overwritten."
)
EXPORTED_AT_MISSING = (
    "The '{sheet}' sheet has no readable '{label}' line: "
    "export the register again and redo the edit in the new file."
)
NOT_A_CHOICE = "'{text}' is not one of: {allowed}."
CHOICE_REQUIRED = REQUIRED + " Write one of: {allowed}."
REDO = "export the register again and redo the edit."
STALE_ROW = (
    "{key} was changed by {user} at {moment} after this file was exported "
    "({changes}): " + REDO
)
VERSION_AHEAD = (
    "The file has version {seen} of {key}, the register version {current}: "
    "this file was not exported from the register as it stands; " + REDO
)
VERSION_EMPTY = (
    "Empty: a row that changes {key} needs the version it was exported at; " + REDO
)
NOT_IN_FILE = (
    "{key} was {done} by {user} at {moment} after this file was exported, and "
    "is not in the file: " + REDO
)
DELETED_SINCE = (
    "{key} was deleted by {user} at {moment} after this file was exported: " + REDO
)


class ImportFileError(Exception):
    """The file cannot be imported at all; the message says why."""


class ImportAborted(Exception):
    """Writing a plan failed on a row; nothing was written."""

    def __init__(self, error):
        super().__init__(str(error))
        self.error = error


class CellError(Exception):
    """A cell's value cannot be read; the message is the reason."""


def max_import_bytes():
    return getattr(settings, "ROPA_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)


def import_reason(file_name):
    """The change reason every history row of an import records."""
    return IMPORT_REASON.format(file_name=file_name)


# ---------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One reason a row cannot be imported, where the spreadsheet shows it."""

    sheet: str
    row: int | None
    column: str
    reason: str

    def __str__(self):
        where = [f"Sheet '{self.sheet}'"]
        if self.row:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.reason}"


@dataclass(frozen=True)
class Change:
    """One field of a row, as the register has it and as the file has it."""

    column: str
    before: str
    after: str


@dataclass
class Save:
    """Write one instance and the many-to-many links that differ."""

    instance: models.Model
    links: dict = field(default_factory=dict)
    # A child row of a new activity: its activity is saved first.
    parent: "Save | None" = None

    def apply(self, stamp):
        if self.parent is not None:
            self.instance.activity = self.parent.instance
        # Saved even when only links change: the save counts the record's
        # version and refuses a stale copy (ropa.core.versioning), for the links too.
        stamp(self.instance)
        self.instance.full_clean()
        self.instance.save()
        for name, targets in self.links.items():
            # simple-history writes a history row for every change of links,
            # with the reason and user read from the instance.
            stamp(self.instance)
            getattr(self.instance, name).set(targets)


@dataclass
class Delete:
    """Delete one child row that is no longer in the file."""

    instance: models.Model

    def apply(self, stamp):
        instance = self.instance
        current = (
            type(instance)
            ._base_manager.order_by()
            .select_for_update()
            .filter(pk=instance.pk)
            .values_list("version", flat=True)
            .first()
        )
        if current is None:
            # Deleted meanwhile: nothing left to delete.
            return
        if current != instance.version:
            raise StaleRecordError(instance, current)
        stamp(instance)
        instance.delete()


# The order writes happen in: catalogue entries a row names before the row,
# activities before their child rows, and deletions of child rows before new
# ones (a new row may take the natural key a deleted one had).
CATALOGUE, ACTIVITY, REMOVAL, CHILD = range(4)


@dataclass
class RowPlan:
    """What an import does with one row (or one record no longer in the file)."""

    group: str
    sheet: str
    row: int | None
    key: str
    action: str = UNCHANGED
    changes: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    operation: Save | Delete | None = None
    phase: int = ACTIVITY

    def error(self, column, reason):
        error = RowError(self.sheet, self.row, column, reason)
        if error not in self.errors:
            self.errors.append(error)

    def settle(self, operation):
        """Fix the action from the errors and changes found, and what to write."""
        if self.errors:
            self.action, self.operation = INVALID, None
        elif self.action in (NEW, DELETED) or self.changes:
            self.action = self.action if self.action in (NEW, DELETED) else CHANGED
            self.operation = operation
        else:
            self.action, self.operation = UNCHANGED, None


@dataclass
class ImportPlan:
    """Everything an import would do, and everything that stops it."""

    file_name: str
    format: str
    groups: tuple
    rows: list = field(default_factory=list)
    # Catalogue entries the import creates (ICO template), by kind.
    created: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    applied: bool = False

    @property
    def errors(self):
        return [error for row in self.rows for error in row.errors]

    @property
    def has_errors(self):
        return any(row.errors for row in self.rows)

    def counts(self):
        """Per group (sheet), how many rows each action has, in group order."""
        counts = {group: Counter() for group in self.groups}
        for row in self.rows:
            counts.setdefault(row.group, Counter())[row.action] += 1
        return counts

    def total(self, action):
        return sum(1 for row in self.rows if row.action == action)

    @property
    def has_writes(self):
        return any(row.operation is not None for row in self.rows)

    def operations(self):
        ordered = sorted(
            (row for row in self.rows if row.operation is not None),
            key=lambda row: row.phase,
        )
        return [(row, row.operation) for row in ordered]

    def count_lines(self):
        return [
            f"{group}: "
            + ", ".join(f"{counter[action]} {action}" for action in ACTIONS)
            for group, counter in self.counts().items()
        ]

    def created_lines(self, *, done=True):
        verb = "Created" if done else "Would create"
        return [
            f"{verb} {len(names)} {label}: {', '.join(names)}"
            for label, names in self.created.items()
            if names
        ]


# ---------------------------------------------------------------------------
# Reading the file
# ---------------------------------------------------------------------------


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
    inflated_limit = max_import_bytes() * MAX_INFLATION
    if sum(member.file_size for member in members) > inflated_limit:
        raise ImportFileError(
            TOO_LARGE_INFLATED.format(
                file_name=file_name, limit=filesizeformat(inflated_limit)
            )
        )
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
                workbook = load_workbook(handle, read_only=True, data_only=True)
                try:
                    return {
                        sheet.title: Table(
                            sheet.title,
                            _non_empty_rows(sheet, _uncalculated(archive, sheet)),
                        )
                        for sheet in workbook.worksheets
                    }
                finally:
                    workbook.close()
    except UNREADABLE_ERRORS as error:
        raise _unreadable(error, file_name) from error


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


def _uncalculated(archive, sheet):
    """
    {row: {column: Uncalculated}} for the formula cells of ``sheet`` that
    hold no value, both numbered from 1 as openpyxl numbers them.
    """
    # openpyxl keeps where a sheet is in the package, but does not say it.
    member = sheet._worksheet_path.lstrip("/")
    if not _has_formulas(archive, member):
        return {}
    found = defaultdict(dict)
    row = column = 0
    with archive.open(member) as source:
        for event, element in iterparse(source, events=("start", "end")):
            if event == "start":
                if element.tag == _ROW:
                    number = element.get("r")
                    row = int(number) if number else row + 1
                    column = 0
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
        if not _is_utf8(chunk):
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


def _is_utf8(start):
    """Whether XML beginning with the bytes ``start`` says it is UTF-8."""
    if b"\x00" in start[:4]:
        return False
    start = start.removeprefix(b"\xef\xbb\xbf")
    declaration = re.match(rb"<\?xml[^>]*>", start)
    if declaration is None:
        return start.lstrip().startswith(b"<")
    encoding = re.search(rb"encoding\s*=\s*[\"']([^\"']*)", declaration[0])
    return encoding is None or encoding[1].lower() in (b"utf-8", b"utf8")


def _non_empty_rows(sheet, uncalculated):
    # Each row as wide as the cells it has: the size a sheet declares is not
    # trusted, since a smaller one would drop cells beyond it, and a larger
    # one pad every row to its width (up to 16,384 columns).
    sheet.reset_dimensions()
    rows = []
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
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


# ---------------------------------------------------------------------------
# Reading cells
# ---------------------------------------------------------------------------


def cell_text(value):
    """
    A cell as text; empty is "". A formula saved without its value is
    refused (``CellError``), never read as empty.
    """
    if isinstance(value, Uncalculated):
        raise CellError(FORMULA_WITHOUT_VALUE.format(formula=value.shown))
    if value is None:
        return ""
    if isinstance(value, bool):
        return fmt.yes_no(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        # A spreadsheet's dates are date-times at midnight.
        return value.date().isoformat()
    if hasattr(value, "isoformat"):
        return fmt.iso(value)
    return str(value)


def read_text(value, lookups):
    """The cell's text as it is; text of whitespace only is empty (as in a form)."""
    text = cell_text(value)
    return text if text.strip() else ""


def read_key(value, lookups):
    """
    A key (a Reference): the cell's text, stripped. A formula without its
    value keys its row by the formula, which no record has.
    """
    if isinstance(value, Uncalculated):
        return value.formula
    return cell_text(value).strip()


def read_reference(value, lookups):
    """The Reference column as a column: a formula without its value is refused."""
    cell_text(value)
    return read_key(value, lookups)


def heading_text(value):
    """A header or label cell as text; a formula without its value is empty."""
    if isinstance(value, Uncalculated):
        return ""
    return cell_text(value)


class ChoiceReader:
    """
    A reader of a choice: from its label, as the export writes it, or its
    stable code, in any case; or from a label the file was written with
    (``Lookups.file_labels``), should it have been reworded since.
    """

    def __init__(self, choices, *, blank=False):
        self.choices = choices
        self.blank = blank
        self.by_text = {}
        for code, label in choices.choices:
            self.by_text[code.casefold()] = code
            self.by_text[str(label).casefold()] = code
        # What a person is told to write: the labels, as the cells show them.
        self.allowed = "; ".join(str(label) for label in choices.labels)

    def __call__(self, value, lookups):
        text = cell_text(value).strip()
        if not text:
            if self.blank:
                return ""
            raise CellError(CHOICE_REQUIRED.format(allowed=self.allowed))
        folded = text.casefold()
        code = self.by_text.get(folded)
        if code is None:
            code = lookups.file_labels.get(self.choices, {}).get(folded)
        if code is None:
            raise CellError(NOT_A_CHOICE.format(text=text, allowed=self.allowed))
        return code


def read_choice(choices, *, blank=False):
    """A reader of a choice of ``choices`` (a ``ChoiceReader``)."""
    return ChoiceReader(choices, blank=blank)


YES_WORDS = {"yes", "y", "true", "1"}
NO_WORDS = {"no", "n", "false", "0"}


def read_boolean(*, nullable=False):
    def read(value, lookups):
        if isinstance(value, bool):
            return value
        text = cell_text(value).strip().casefold()
        if text in YES_WORDS:
            return True
        if text in NO_WORDS:
            return False
        if not text and nullable:
            return None
        if not text:
            raise CellError(f"{REQUIRED} Write {fmt.YES} or {fmt.NO}.")
        raise CellError(f"'{cell_text(value)}' is not {fmt.YES} or {fmt.NO}.")

    return read


def read_whole_number(value, lookups):
    if isinstance(value, bool):
        raise CellError("Write a whole number.")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = cell_text(value).strip()
    if not text:
        return None
    if re.fullmatch(r"\d+", text):
        # Any decimal digit, in any script, as int() reads it.
        digits = "".join(str(unicodedata.decimal(digit)) for digit in text)
        significant = digits.lstrip("0")
        if len(significant) > MAX_DIGITS:
            raise CellError(
                TOO_MANY_DIGITS.format(digits=len(significant), limit=MAX_DIGITS)
            )
        return int(significant or "0")
    raise CellError(f"'{text}' is not a whole number.")


def country_code(text):
    """The ISO 3166-1 alpha-2 code for a country's code or English name, or ""."""
    text = text.strip()
    if not text:
        return ""
    if len(text) in (2, 3) or text.isdigit():
        code = countries.alpha2(text)
        if code:
            return code
    return countries.by_name(text)


def read_country(value, lookups):
    text = cell_text(value).strip()
    if not text:
        return ""
    code = country_code(text)
    if not code:
        raise CellError(
            f"Unknown country '{text}': write its ISO 3166-1 code, e.g. US or IN."
        )
    return code


class Catalogue:
    """The rows of one model, found by the texts the register names them by."""

    def __init__(self, queryset, *keys):
        self.keys = keys
        self.label = str(queryset.model._meta.verbose_name)
        self.plural = str(queryset.model._meta.verbose_name_plural)
        self.exact = {}
        self.folded = defaultdict(dict)
        for instance in queryset:
            self.add(instance)

    def add(self, instance):
        for key in self.keys:
            text = getattr(instance, key)
            if text:
                self.exact[text] = instance
                self.folded[text.casefold()][instance.pk or id(instance)] = instance

    def find(self, text):
        """The one row named ``text`` (exactly, else in any case), or None."""
        if text in self.exact:
            return self.exact[text]
        matches = list(self.folded.get(text.casefold(), {}).values())
        return matches[0] if len(matches) == 1 else None

    def name_of(self, instance):
        return getattr(instance, self.keys[0])

    def unknown(self, names):
        """The reason naming rows that are not in the catalogue."""
        label = self.label if len(names) == 1 else self.plural
        return f"Unknown {label}: {', '.join(repr(name) for name in names)}."


class Lookups:
    """The catalogues an import names records by, each read once, when needed."""

    def __init__(self, file_labels=None):
        # {TextChoices: {folded label: code}}: the labels a file was written
        # with (its For the import sheet).
        self.file_labels = file_labels or {}

    @cached_property
    def organisations(self):
        return Catalogue(Organisation.objects.all(), "name", "slug")

    @cached_property
    def arrangements(self):
        return Catalogue(JointControllerArrangement.objects.all(), "reference")

    @cached_property
    def agreements(self):
        return Catalogue(ProcessorAgreement.objects.all(), "reference")

    @cached_property
    def subjects(self):
        return Catalogue(DataSubjectCategory.objects.all(), "name")

    @cached_property
    def data(self):
        return Catalogue(PersonalDataCategory.objects.all(), "name")

    @cached_property
    def recipients(self):
        return Catalogue(Recipient.objects.all(), "name")

    @cached_property
    def measures(self):
        return Catalogue(SecurityMeasure.objects.all(), "name")

    @cached_property
    def users(self):
        model = get_user_model()
        return Catalogue(model._default_manager.all(), model.USERNAME_FIELD)


def read_one(catalogue):
    """A reader of a foreign key named by its natural key; empty is none."""

    def read(value, lookups):
        text = cell_text(value).strip()
        if not text:
            return None
        found = getattr(lookups, catalogue).find(text)
        if found is None:
            raise CellError(getattr(lookups, catalogue).unknown([text]))
        return found

    return read


def read_many(catalogue):
    """A reader of a many-to-many list; every unknown name is an error."""

    def read(value, lookups):
        found, unknown = {}, []
        for name in fmt.split_list(cell_text(value)):
            instance = getattr(lookups, catalogue).find(name)
            if instance is None:
                unknown.append(name)
            else:
                found[instance.pk] = instance
        if unknown:
            raise CellError(getattr(lookups, catalogue).unknown(unknown))
        return list(found.values())

    return read


@dataclass(frozen=True)
class Column:
    """A column of a sheet and the model field it fills."""

    header: str
    field: str
    read: object
    # The catalogue naming a related row (foreign key or many-to-many).
    catalogue: str = ""
    many: bool = False


def _text_column(header, name):
    return Column(header, name, read_text)


def _one(header, name, catalogue):
    return Column(header, name, read_one(catalogue), catalogue=catalogue)


def _many(header, name, catalogue):
    return Column(header, name, read_many(catalogue), catalogue=catalogue, many=True)


REFERENCE = "Reference"
VERSION = fmt.VERSION

# Every column of the Activities sheet but the read-only ones.
ACTIVITY_COLUMNS = (
    Column(REFERENCE, "reference", read_reference),
    _text_column("Name", "name"),
    Column("Status", "status", read_choice(ActivityStatus)),
    Column("Record type", "role", read_choice(ActivityRole)),
    _many("Responsible organisations", "organisations", "organisations"),
    _one("Joint controller arrangement", "joint_arrangement", "arrangements"),
    _text_column("Joint processing", "joint_processing"),
    _many("Client controllers", "client_controllers", "organisations"),
    _text_column("Purpose", "purpose"),
    _text_column("Business function", "business_function"),
    _one("Owner", "owner", "users"),
    _many("Data subject categories", "data_subject_categories", "subjects"),
    _many("Personal data categories", "personal_data_categories", "data"),
    _text_column("Source of the data", "data_source"),
    _many("Recipients", "recipients", "recipients"),
    _many("Processor agreements", "processor_agreements", "agreements"),
    _many("Security measures", "security_measures", "measures"),
    _text_column("General description of security measures", "security_description"),
    _text_column("Systems and software", "systems"),
    _text_column("Location of the data", "data_location"),
    Column("Profiling", "profiling", read_choice(Profiling)),
    _text_column("Profiling and automated decision-making", "profiling_description"),
    Column("State profiling in the notice", "profiling_in_notice", read_boolean()),
    Column("DPIA required", "dpia_required", read_boolean()),
    Column("DPIA progress", "dpia_status", read_choice(DPIAStatus, blank=True)),
    _text_column("Link to DPIA", "dpia_reference"),
    _text_column("Rights available", "rights_information"),
    _text_column("Opt-out information", "opt_out_information"),
    _text_column("Link to record of consent", "consent_record_reference"),
    _text_column("Link to personal data breach records", "breach_reference"),
    _text_column("Link to retention and erasure policy", "retention_policy_reference"),
    Column(
        "Retained and erased according to the policy",
        "retention_policy_followed",
        read_boolean(nullable=True),
    ),
    _text_column("Reason for not following the policy", "retention_policy_deviation"),
    Column("In the privacy notice", "in_notice", read_boolean()),
    Column("Notice order", "notice_order", read_whole_number),
    _text_column("Notice title", "notice_title"),
    _text_column("Notice text", "notice_text"),
)

LAWFUL_BASIS_COLUMNS = (
    Column("Basis", "basis", read_choice(LawfulBasisChoice)),
    _text_column("Explanation", "explanation"),
    _text_column("Legitimate interest pursued", "legitimate_interest"),
    _text_column("Legitimate interests assessment", "assessment_reference"),
    Column(
        "Art. 9(2) condition",
        "special_category_condition",
        read_choice(SpecialCategoryCondition, blank=True),
    ),
    _text_column("Art. 10 authority", "criminal_data_authority"),
    Column("Sample value", "is_sample", read_boolean()),
)

TRANSFER_COLUMNS = (
    Column("Country", "country", read_country),
    _text_column("International organisation", "international_organisation"),
    Column("Mechanism", "mechanism", read_choice(TransferMechanism)),
    _one("Recipient", "recipient", "recipients"),
    _text_column("Documentation of suitable safeguards", "safeguards_documentation"),
    _text_column("Transfer impact assessment", "tia_reference"),
    _text_column("Notes", "notes"),
)

RETENTION_COLUMNS = (
    _one("Personal data category", "personal_data_category", "data"),
    Column("Period", "period", read_whole_number),
    Column("Period unit", "period_unit", read_choice(RetentionUnit, blank=True)),
    _text_column("Criteria", "criteria"),
    _text_column("Trigger", "trigger"),
    Column("Action at the end", "end_action", read_choice(RetentionAction)),
    _text_column("Legal reference", "legal_reference"),
    Column("Sample value", "is_sample", read_boolean()),
)


@dataclass(frozen=True)
class ChildSheet:
    """A sheet of rows that belong to an activity, and how they are keyed."""

    sheet: fmt.Sheet
    model: type
    columns: tuple
    # The fields that, with the activity, identify a row (the sheet's key).
    key_fields: tuple
    related: tuple = ()


CHILD_SHEETS = (
    ChildSheet(fmt.LAWFUL_BASES, LawfulBasis, LAWFUL_BASIS_COLUMNS, ("basis",)),
    ChildSheet(
        fmt.TRANSFERS,
        InternationalTransfer,
        TRANSFER_COLUMNS,
        ("country", "international_organisation", "mechanism"),
        related=("recipient",),
    ),
    ChildSheet(
        fmt.RETENTION_RULES,
        RetentionRule,
        RETENTION_COLUMNS,
        ("personal_data_category",),
        related=("personal_data_category",),
    ),
)

IMPORTED_SHEETS = (fmt.ACTIVITIES, *(child.sheet for child in CHILD_SHEETS))
REFERENCE_SHEETS = (fmt.CONTROLLER, fmt.PROCESSORS, fmt.JOINT_ARRANGEMENTS)


# ---------------------------------------------------------------------------
# Comparing and validating one row
# ---------------------------------------------------------------------------


def _same_text(before, after):
    # A spreadsheet stores line breaks as "\n"; the admin's text areas send
    # "\r\n". The same text with other line breaks is not a change.
    def lines(text):
        return text.replace("\r\n", "\n").replace("\r", "\n")

    return (
        isinstance(before, str)
        and isinstance(after, str)
        and (lines(before) == lines(after))
    )


def shown(value, column=None, lookups=None):
    """A value as the preview and the report show it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return fmt.yes_no(value)
    if isinstance(value, models.Model):
        if column is not None and column.catalogue and lookups is not None:
            return getattr(lookups, column.catalogue).name_of(value)
        return str(value)
    if isinstance(value, (list, tuple)):
        return fmt.join_list(shown(item, column, lookups) for item in value)
    return str(value)


def assign(instance, columns, values, lookups, *, new, stored_links=None):
    """
    Set ``values`` (by field name) on ``instance``; return the changes.

    Many-to-many values are compared, not set: the returned ``links`` hold
    those that differ, for ``Save`` to set after the instance is saved.
    ``stored_links`` has the links ``instance`` has (``_stored_links``), by
    field; a field it lacks is read.
    """
    changes, links = [], {}
    stored_links = stored_links or {}
    for column in columns:
        if column.field not in values:
            continue
        value = values[column.field]
        if column.many:
            if new:
                before = []
            elif column.field in stored_links:
                before = stored_links[column.field]
            else:
                before = list(getattr(instance, column.field).all())
            if {item.pk for item in before} != {item.pk for item in value}:
                links[column.field] = value
                changes.append(
                    Change(
                        column.header,
                        shown(before, column, lookups),
                        shown(value, column, lookups),
                    )
                )
            continue
        model_field = instance._meta.get_field(column.field)
        before_value = model_field.value_from_object(instance)
        before_shown = (
            "" if new else shown(getattr(instance, column.field), column, lookups)
        )
        if _same_text(before_value, value):
            continue
        setattr(instance, column.field, value)
        if model_field.value_from_object(instance) != before_value or (
            new and value not in (None, "")
        ):
            changes.append(
                Change(column.header, before_shown, shown(value, column, lookups))
            )
    return changes, links


class ConstraintChecks:
    """
    The database's answers to validation, asked once for all the rows of an
    import rather than a query per row.

    Django asks the database for the verdict of a ``CheckConstraint``. The
    verdict depends on nothing but the values of the fields the constraint
    names, so it is asked once for each combination of values and remembered.

    With ``whole_columns``, for the many rows of an import, a field declared
    ``unique`` is checked against the values the table holds, read once (one
    query per field): the check ``validate_unique()`` makes with a query per
    row and field. Other uniqueness rules are left to Django.
    """

    EXCLUDED = object()

    def __init__(self, *, whole_columns=True):
        self.whole_columns = whole_columns
        self.verdicts = {}
        self.holders = {}

    def unique_errors(self, instance, exclude):
        """
        ``validate_unique()`` of ``instance`` as (field name, message) pairs,
        the fields in ``exclude`` (and those already in error) left out.
        """
        model = type(instance)
        cached = []
        if self.whole_columns and not model._meta.parents:
            cached = [
                column
                for column in model._meta.local_fields
                if column.unique
                and not column.primary_key
                and column.name not in exclude
            ]
        errors = {}
        database = connections[router.db_for_read(model)]
        for column in cached:
            value = getattr(instance, column.attname)
            if value is None or (
                value == "" and database.features.interprets_empty_strings_as_nulls
            ):
                continue
            holder = self._holders(model, column).get(value)
            if holder is not None and (instance._state.adding or holder != instance.pk):
                errors[column.name] = [
                    instance.unique_error_message(model, (column.name,))
                ]
        try:
            instance.validate_unique(
                exclude={*exclude, *(column.name for column in cached)}
            )
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        return _by_field(ValidationError(errors)) if errors else []

    def _holders(self, model, field):
        """The value of ``field`` -> the primary key of the row holding it."""
        key = (model, field.name)
        if key not in self.holders:
            self.holders[key] = dict(
                model._default_manager.order_by().values_list(field.attname, "pk")
            )
        return self.holders[key]

    def validate(self, constraint, model, instance, exclude=()):
        key = self._key(constraint, model, instance, exclude)
        if key is None:
            constraint.validate(model, instance, exclude=exclude)
            return
        if key not in self.verdicts:
            try:
                constraint.validate(model, instance, exclude=exclude)
            except ValidationError as error:
                self.verdicts[key] = error.error_list
            else:
                self.verdicts[key] = None
        if self.verdicts[key] is not None:
            raise ValidationError(self.verdicts[key])

    def _key(self, constraint, model, instance, exclude):
        if not isinstance(constraint, CheckConstraint):
            return None
        values = []
        for name in sorted(constraint.condition.referenced_base_fields):
            if name in exclude:
                values.append((name, self.EXCLUDED))
                continue
            if name == "pk":
                value = instance.pk
            else:
                try:
                    model_field = model._meta.get_field(name)
                except FieldDoesNotExist:
                    return None
                if not model_field.concrete or model_field.generated:
                    return None
                value = getattr(instance, model_field.attname)
            if hasattr(value, "resolve_expression"):
                return None
            values.append((name, type(value), value))
        key = (model, constraint.name, tuple(values))
        try:
            hash(key)
        except TypeError:
            return None
        return key


def validation_errors(instance, columns, *, exclude=(), checks=None):
    """
    ``full_clean()`` of ``instance`` as (column header, reason) pairs.

    Constraints are checked one by one, after the fields, so that a broken
    constraint names the columns of the fields it is about, and a field
    already in error is not reported twice. ``checks``, a ``ConstraintChecks``
    shared by the rows of an import, spares a query per row and constraint.
    """
    if checks is None:
        checks = ConstraintChecks(whole_columns=False)
    headers = {column.field: column.header for column in columns}
    exclude = set(exclude) | {column.field for column in columns if column.many}
    found = []
    try:
        instance.full_clean(
            exclude=exclude, validate_unique=False, validate_constraints=False
        )
    except ValidationError as error:
        found.extend(_by_field(error))
    found.extend(checks.unique_errors(instance, exclude | {name for name, _ in found}))
    failed = {name for name, _ in found}
    for constraint in instance._meta.constraints:
        fields = _constraint_fields(constraint)
        if fields & (exclude | failed):
            continue
        try:
            checks.validate(constraint, type(instance), instance, exclude=exclude)
        except ValidationError as error:
            found.extend((tuple(sorted(fields)), message) for message in error.messages)
    return [(_column_of(names, headers), message) for names, message in found]


def _by_field(error):
    if not hasattr(error, "error_dict"):
        return [(NON_FIELD_ERRORS, message) for message in error.messages]
    return [
        (name, message)
        for name, messages in error.message_dict.items()
        for message in messages
    ]


def _column_of(names, headers):
    """The column header(s) of a field, or of the fields of a constraint."""
    if names == NON_FIELD_ERRORS:
        return ""
    if isinstance(names, str):
        return headers.get(names, names)
    return " / ".join(dict.fromkeys(headers[name] for name in names if name in headers))


def _constraint_fields(constraint):
    names = set()
    if isinstance(constraint, UniqueConstraint):
        names |= set(constraint.fields)
    if constraint.condition is not None:
        names |= set(constraint.condition.referenced_base_fields)
    return names


def read_row(plan_row, columns, cells, lookups):
    """The row's values by field name; unreadable cells become row errors."""
    values = {}
    for column in columns:
        if column.header not in cells:
            continue
        try:
            values[column.field] = column.read(cells[column.header], lookups)
        except CellError as error:
            plan_row.error(column.header, str(error))
    return values


# ---------------------------------------------------------------------------
# Our own export
# ---------------------------------------------------------------------------


def _find_table(tables, name):
    if name in tables:
        return tables[name]
    folded = {
        table_name.strip().casefold(): table for table_name, table in tables.items()
    }
    return folded.get(name.casefold())


def _header_map(table):
    """Column header -> position, read from the sheet's first row."""
    if not table.rows or table.rows[0][0] != 1:
        return {}
    headers = {}
    for position, value in enumerate(table.rows[0][1]):
        text = heading_text(value).strip()
        if text and text not in headers:
            headers[text] = position
    return headers


def _cells(values, headers):
    return {
        header: values[position] if position < len(values) else None
        for header, position in headers.items()
    }


def _header_block(table):
    """The Controller sheet's header block: each label, folded, to its value."""
    block = {}
    for row_number, values in table.rows:
        if row_number >= fmt.CONTROLLER_HEADER_ROW:
            break
        if values:
            label = heading_text(values[0]).strip().casefold()
            value = heading_text(values[1] if len(values) > 1 else None).strip()
            block.setdefault(label, value)
    return block


def _check_as_of(block, table, file_name):
    label = fmt.HEADER_BLOCK[2]
    as_of = block.get(label.casefold())
    if as_of is None:
        raise ImportFileError(
            AS_OF_MISSING.format(sheet=table.name, label=label, file_name=file_name)
        )
    if as_of.casefold() != fmt.CURRENT:
        raise ImportFileError(
            AS_OF_REFUSED.format(file_name=file_name, as_of=as_of or "?")
        )


def _exported_at(block, table):
    label = fmt.HEADER_BLOCK[3]
    moment = fmt.read_exported_at(block.get(label.casefold(), ""))
    if moment is None:
        raise ImportFileError(EXPORTED_AT_MISSING.format(sheet=table.name, label=label))
    return moment


def _for_the_import(table):
    """
    The exact moment of the export, and the labels the file was written with
    as {TextChoices: {folded label: code}}, from its For the import sheet.
    """
    moment, labels = None, defaultdict(dict)
    choices_of = {
        (sheet.name.casefold(), column.casefold()): choices
        for sheet in fmt.SHEETS
        for column, choices in sheet.choices
    }
    for row_number, values in table.rows:
        texts = [heading_text(value).strip() for value in values[:4]]
        texts += [""] * (4 - len(texts))
        if row_number < fmt.CODES_HEADER_ROW:
            if texts[0].casefold() == fmt.EXPORTED_AT.casefold():
                moment = fmt.read_exported_at(texts[1])
            continue
        if row_number == fmt.CODES_HEADER_ROW:
            continue
        sheet, column, code, label = texts
        choices = choices_of.get((sheet.casefold(), column.casefold()))
        # A code no longer among the choices names nothing.
        if choices is not None and code in choices.values and label:
            labels[choices].setdefault(label.casefold(), code)
    if moment is None:
        raise ImportFileError(
            EXPORTED_AT_MISSING.format(sheet=table.name, label=fmt.EXPORTED_AT)
        )
    return moment, dict(labels)


def _without_apostrophes(tables):
    """
    The tables of a workbook exported before the For the import sheet, with
    the apostrophe its export put before formula-like text removed.
    """
    return {
        name: Table(
            table.name,
            [
                (number, tuple(fmt.from_cell(value) for value in values))
                for number, values in table.rows
            ],
        )
        for name, table in tables.items()
    }


def _check_shape(tables, file_name):
    """
    Refuse the file unless every imported sheet and column is there.

    Returns the column positions of each imported sheet, notes for the
    report, and the Controller sheet's header block.
    """
    required = (fmt.CONTROLLER, *IMPORTED_SHEETS)
    missing = [
        sheet.name for sheet in required if _find_table(tables, sheet.name) is None
    ]
    if missing:
        raise ImportFileError(
            MISSING_SHEETS.format(
                file_name=file_name, names=", ".join(f"'{name}'" for name in missing)
            )
        )
    controller = _find_table(tables, fmt.CONTROLLER.name)
    block = _header_block(controller)
    _check_as_of(block, controller, file_name)
    problems, notes, headers, unversioned = [], [], {}, []
    for sheet in IMPORTED_SHEETS:
        table = _find_table(tables, sheet.name)
        found = _header_map(table)
        wanted = [column for column in sheet.columns if column not in sheet.read_only]
        absent = [
            column
            for column in wanted
            if column not in found and column not in sheet.checked
        ]
        if any(column not in found for column in sheet.checked):
            unversioned.append(sheet.name)
        if absent:
            problems.append(
                MISSING_COLUMNS.format(
                    sheet=sheet.name,
                    names=", ".join(f"'{name}'" for name in absent),
                    row=1,
                )
            )
        notes.extend(
            UNKNOWN_COLUMN.format(sheet=sheet.name, column=column)
            for column in found
            if column not in sheet.columns
        )
        headers[sheet.name] = {
            column: position for column, position in found.items() if column in wanted
        }
    if problems:
        raise ImportFileError(" ".join(problems))
    if len(_find_table(tables, fmt.ACTIVITIES.name).rows) < 2:
        raise ImportFileError(NO_ROWS.format(sheet=fmt.ACTIVITIES.name))
    if unversioned:
        raise ImportFileError(
            NO_VERSION_COLUMN.format(
                column=VERSION, names=", ".join(f"'{name}'" for name in unversioned)
            )
        )
    return headers, notes, block


def plan_register(tables, *, file_name, progress=None):
    """
    The plan for a workbook exported by this application.

    ``progress`` makes a progress bar (``ropa.core.progress.progress_bars``),
    advanced by each row checked.
    """
    for_the_import = _find_table(tables, fmt.FOR_THE_IMPORT.name)
    if for_the_import is None:
        tables = _without_apostrophes(tables)
    headers, notes, block = _check_shape(tables, file_name)
    if for_the_import is None:
        exported_at = _exported_at(block, _find_table(tables, fmt.CONTROLLER.name))
        file_labels = {}
    else:
        exported_at, file_labels = _for_the_import(for_the_import)
    plan = ImportPlan(
        file_name=file_name,
        format=OURS,
        groups=tuple(sheet.name for sheet in IMPORTED_SHEETS),
        notes=[
            *notes,
            READ_ONLY_COLUMNS.format(
                names=", ".join(f"'{name}'" for name in fmt.ACTIVITIES.read_only),
                sheet=fmt.ACTIVITIES.name,
            ),
            NOT_IMPORTED_SHEETS.format(
                names=", ".join(f"'{sheet.name}'" for sheet in REFERENCE_SHEETS)
            ),
        ],
    )
    lookups, checks = Lookups(file_labels), ConstraintChecks()
    rows = sum(
        len(_data_rows(_find_table(tables, sheet.name))) for sheet in IMPORTED_SHEETS
    )
    with (progress or no_progress)(rows, "Checking") as bar:
        activities = _plan_activities(
            plan,
            _find_table(tables, fmt.ACTIVITIES.name),
            headers[fmt.ACTIVITIES.name],
            lookups,
            exported_at,
            checks=checks,
            bar=bar,
        )
        for child in CHILD_SHEETS:
            _plan_children(
                plan,
                child,
                _find_table(tables, child.sheet.name),
                headers[child.sheet.name],
                activities,
                lookups,
                exported_at,
                checks=checks,
                bar=bar,
            )
    return plan


def _data_rows(table):
    return [(number, values) for number, values in table.rows if number > 1]


def _plan_activities(plan, table, headers, lookups, exported_at, *, checks, bar):
    """Plan each activity row; return reference -> (instance, Save or None)."""
    sheet = fmt.ACTIVITIES.name
    rows = _data_rows(table)
    references = [
        read_key(_cells(values, headers).get(REFERENCE), lookups) for _, values in rows
    ]
    existing = {
        activity.reference: activity
        for activity in ProcessingActivity.objects.filter(
            reference__in=[reference for reference in references if reference]
        ).select_related(
            *(
                column.field
                for column in ACTIVITY_COLUMNS
                if column.catalogue and not column.many
            )
        )
    }
    stored_links = _stored_links(
        ProcessingActivity, existing.values(), ACTIVITY_COLUMNS
    )
    since_export = _SinceExport(
        ProcessingActivity,
        exported_at,
        ("reference",),
        reference__in=[
            reference
            for reference in references
            if reference and reference not in existing
        ],
    )
    activities, seen_references, seen_names = {}, {}, {}
    for (row_number, values), reference in zip(rows, references, strict=True):
        bar.advance()
        plan_row = RowPlan(sheet, sheet, row_number, reference)
        plan.rows.append(plan_row)
        cells = _cells(values, headers)
        if not reference:
            plan_row.error(REFERENCE, REQUIRED)
            read_row(plan_row, ACTIVITY_COLUMNS, cells, lookups)
            continue
        if reference in seen_references:
            plan_row.error(
                REFERENCE, f"'{reference}' is also on row {seen_references[reference]}."
            )
            continue
        seen_references[reference] = row_number
        values_by_field = read_row(plan_row, ACTIVITY_COLUMNS, cells, lookups)
        seen_version = _read_version(plan_row, cells, lookups)
        name = values_by_field.get("name", "")
        if name in seen_names:
            plan_row.error(
                "Name", f"'{name}' is also the name on row {seen_names[name]}."
            )
        elif name:
            seen_names[name] = row_number
        instance = existing.get(reference)
        new = instance is None
        if new:
            instance = ProcessingActivity(reference=reference)
            plan_row.action = NEW
            if seen_version is not None:
                since_export.refuse_revival(plan_row, (reference,))
        changes, links = assign(
            instance,
            ACTIVITY_COLUMNS,
            values_by_field,
            lookups,
            new=new,
            stored_links=stored_links.get(instance.pk),
        )
        plan_row.changes = changes
        stale = (
            bool(changes)
            and not new
            and _refuse_stale(plan_row, instance, seen_version)
        )
        if (new or changes) and not stale:
            _require_links(plan_row, instance, values_by_field)
            _report_validation(
                plan_row, instance, ACTIVITY_COLUMNS, values_by_field, checks=checks
            )
        save = Save(instance, links=links)
        plan_row.settle(save)
        activities[reference] = (instance, save if new else None)
    return activities


def _stored_links(model, instances, columns):
    """
    Instance pk -> field -> the rows it links to, for the many-to-many
    columns: what ``prefetch_related()`` gives, in the same order (the linked
    model's), from one query per link table and one per linked table, and
    with one object per linked row rather than one per link.
    """
    ids = [instance.pk for instance in instances]
    stored = {pk: {} for pk in ids}
    for column in columns:
        if not column.many:
            continue
        link_field = model._meta.get_field(column.field)
        linked = {
            row.pk: row for row in link_field.related_model._default_manager.all()
        }
        for links in stored.values():
            links[column.field] = []
        source = f"{link_field.m2m_field_name()}_id"
        target = f"{link_field.m2m_reverse_field_name()}_id"
        pairs = (
            link_field.remote_field.through._default_manager.filter(
                **{f"{source}__in": ids}
            )
            .order_by()
            .values_list(source, target)
        )
        for pk, target_pk in pairs:
            links = stored[pk]
            if target_pk not in linked:
                # Linked since the rows were read: assign() reads the field.
                links.pop(column.field, None)
            elif column.field in links:
                links[column.field].append(linked[target_pk])
        position = {pk: index for index, pk in enumerate(linked)}
        for links in stored.values():
            if column.field in links:
                links[column.field].sort(key=lambda row: position[row.pk])
    return stored


def _require_links(plan_row, instance, values):
    """The many-to-many fields the admin form requires must name a row."""
    for column in ACTIVITY_COLUMNS:
        required = column.many and not instance._meta.get_field(column.field).blank
        if required and values.get(column.field) == []:
            plan_row.error(column.header, f"{REQUIRED} Name at least one.")


def _report_validation(plan_row, instance, columns, values, exclude=(), checks=None):
    """
    Report what ``full_clean()`` finds. Only rows that are written are
    validated: a row the file leaves as it is cannot fail the import.
    """
    unread = {column.field for column in columns if column.field not in values}
    for column, reason in validation_errors(
        instance, columns, exclude=set(exclude) | unread, checks=checks
    ):
        plan_row.error(column, reason)


# ---------------------------------------------------------------------------
# Changes made after the export
# ---------------------------------------------------------------------------


def _read_version(plan_row, cells, lookups):
    """The row's ``Version`` cell: its record's version as exported, or None."""
    try:
        return read_whole_number(cells.get(VERSION), lookups)
    except CellError as error:
        plan_row.error(VERSION, str(error))
        return None


def _refuse_stale(plan_row, instance, seen):
    """
    Make the row, which changes ``instance``, an error unless the file has
    the version ``instance`` is at; return whether it is one.
    """
    if any(error.column == VERSION for error in plan_row.errors):
        return True
    if seen == instance.version:
        return False
    if seen is None:
        reason = VERSION_EMPTY.format(key=plan_row.key)
    elif seen > instance.version:
        reason = VERSION_AHEAD.format(
            key=plan_row.key, seen=seen, current=instance.version
        )
    else:
        reason = STALE_ROW.format(key=plan_row.key, **what_changed(instance, seen))
    plan_row.error(VERSION, reason)
    return True


def _who_and_when(record):
    """The user and local time of a history row, as ``what_changed`` words them."""
    return {
        "user": record.history_user or "someone",
        "moment": timezone.localtime(record.history_date).strftime("%Y-%m-%d %H:%M"),
    }


class _SinceExport:
    """
    What the history of some rows of ``model`` holds after the export.

    One query, of the history rows written after ``exported_at`` that match
    ``filters`` (none when a filter is an empty list): the last change of
    each row, which rows were added, and which natural keys were deleted.
    """

    def __init__(self, model, exported_at, key_fields, **filters):
        self.last, self.added, self.deleted = {}, set(), {}
        if not all(filters.values()):
            return
        history = (
            model.history.filter(history_date__gt=exported_at, **filters)
            .select_related("history_user")
            .order_by("-history_date", "-history_id")
        )
        for record in history:
            self.last.setdefault(record.id, record)
            if record.history_type == "+":
                self.added.add(record.id)
            elif record.history_type == "-":
                key = (
                    getattr(record, "activity_id", None),
                    *_stored_key(record, model, key_fields),
                )
                self.deleted.setdefault(key, record)

    def refuse_revival(self, plan_row, key, activity_id=None):
        """A row of the file whose record was deleted since would revive it."""
        record = self.deleted.get((activity_id, *key))
        if record is not None:
            plan_row.error(
                VERSION,
                DELETED_SINCE.format(key=plan_row.key, **_who_and_when(record)),
            )

    def refuse_deletion(self, plan_row, instance):
        """A row missing from the file that changed since was never seen."""
        record = self.last.get(instance.pk)
        if record is not None:
            plan_row.error(
                "",
                NOT_IN_FILE.format(
                    key=plan_row.key,
                    done="added" if instance.pk in self.added else "changed",
                    **_who_and_when(record),
                ),
            )


# ---------------------------------------------------------------------------
# Child sheets
# ---------------------------------------------------------------------------


def _key_part(value):
    if isinstance(value, models.Model):
        return value.pk
    return "" if value is None else str(value)


def _stored_key(record, model, key_fields):
    """The natural key of a row or history row, as the plan compares keys."""
    parts = []
    for name in key_fields:
        model_field = model._meta.get_field(name)
        if model_field.is_relation:
            # The id, without fetching the related row.
            pk = getattr(record, model_field.attname)
            parts.append("" if pk is None else pk)
        else:
            parts.append(_key_part(getattr(record, name)))
    return tuple(parts)


def _plan_children(
    plan, child, table, headers, activities, lookups, exported_at, *, checks, bar
):
    """Plan one child sheet: its rows replace the rows of each activity named."""
    sheet = child.sheet.name
    stored = {
        reference: instance
        for reference, (instance, parent) in activities.items()
        if parent is None
    }
    by_id = {activity.pk: activity for activity in stored.values()}
    existing = defaultdict(dict)
    for instance in child.model.objects.filter(
        activity_id__in=list(by_id)
    ).select_related(*child.related):
        # The activity already read, rather than a copy of it per row.
        instance.activity = by_id[instance.activity_id]
        key = _stored_key(instance, child.model, child.key_fields)
        existing[instance.activity.reference][key] = instance
    since_export = _SinceExport(
        child.model,
        exported_at,
        child.key_fields,
        activity_id__in=[activity.pk for activity in stored.values()],
    )
    key_headers = [_header_of(child, name) for name in child.key_fields]
    seen = {}
    # Activities with a row whose key could not be read: which of their rows
    # that row stands for is unknown, so none of them is taken as deleted.
    unkeyed = set()
    for row_number, values in _data_rows(table):
        bar.advance()
        cells = _cells(values, headers)
        reference = read_key(cells.get(REFERENCE), lookups)
        plan_row = RowPlan(sheet, sheet, row_number, reference, phase=CHILD)
        plan.rows.append(plan_row)
        values_by_field = read_row(plan_row, child.columns, cells, lookups)
        seen_version = _read_version(plan_row, cells, lookups)
        # A row refused before it is matched is invalid, not unchanged.
        if not reference:
            plan_row.error(REFERENCE, REQUIRED)
            plan_row.settle(None)
            continue
        if reference not in activities:
            plan_row.error(
                REFERENCE,
                f"No activity '{reference}' on the '{fmt.ACTIVITIES.name}' sheet: "
                "child rows are imported with their activity.",
            )
            plan_row.settle(None)
            continue
        if any(name not in values_by_field for name in child.key_fields):
            unkeyed.add(reference)
            plan_row.settle(None)
            continue
        key = tuple(_key_part(values_by_field[name]) for name in child.key_fields)
        plan_row.key = " / ".join(
            [reference, *(shown(values_by_field[name]) for name in child.key_fields)]
        )
        if (reference, key) in seen:
            plan_row.error(
                " / ".join([REFERENCE, *key_headers]),
                f"The same row as row {seen[reference, key]}.",
            )
            plan_row.settle(None)
            continue
        seen[reference, key] = row_number
        activity, parent = activities[reference]
        instance = existing[reference].pop(key, None)
        new = instance is None
        if new:
            instance = child.model(activity=activity if parent is None else None)
            plan_row.action = NEW
            if parent is None and seen_version is not None:
                since_export.refuse_revival(plan_row, key, activity.pk)
        plan_row.changes, _ = assign(
            instance, child.columns, values_by_field, lookups, new=new
        )
        stale = (
            bool(plan_row.changes)
            and not new
            and _refuse_stale(plan_row, instance, seen_version)
        )
        if (new or plan_row.changes) and not stale:
            _report_validation(
                plan_row,
                instance,
                child.columns,
                values_by_field,
                exclude=("activity",) if parent is not None else (),
                checks=checks,
            )
        plan_row.settle(Save(instance, parent=parent))
    for reference, remaining in existing.items():
        if reference in unkeyed:
            continue
        for instance in remaining.values():
            plan_row = RowPlan(
                sheet,
                sheet,
                None,
                " / ".join(
                    [
                        reference,
                        *(shown(getattr(instance, name)) for name in child.key_fields),
                    ]
                ),
                action=DELETED,
                phase=REMOVAL,
            )
            plan.rows.append(plan_row)
            since_export.refuse_deletion(plan_row, instance)
            plan_row.settle(Delete(instance))


def _header_of(child, name):
    return next(column.header for column in child.columns if column.field == name)


# ---------------------------------------------------------------------------
# The entry points
# ---------------------------------------------------------------------------


def plan_import(path, *, file_name, format=OURS, controller=None, progress=None):
    """
    The plan for importing the workbook at ``path``; nothing is written.

    ``file_name`` is the name the user knows the file by (an upload's name);
    ``controller`` is the organisation responsible for the activities of an
    ICO template; ``progress`` makes progress bars for reading the file and
    checking the rows of our own export. Raises ``ImportFileError`` when the
    file cannot be imported at all; row errors are in the plan.
    """
    with (progress or no_progress)(1, "Reading") as bar:
        # Drawn before the file is read, the one step done once it is.
        bar.advance(0)
        tables = read_workbook(path, file_name=file_name)
        bar.advance()
    if format == OURS:
        return plan_register(tables, file_name=file_name, progress=progress)
    if format == ICO:
        # Imported here: the ICO reader builds on this module.
        from ropa.exchange.ico import plan_ico_template

        return plan_ico_template(tables, file_name=file_name, controller=controller)
    raise ValueError(f"Unknown import format {format!r}.")


def apply_plan(plan, *, user=None, progress=None):
    """
    Write ``plan`` in one transaction; nothing is written if any row fails.

    Every history row records ``user`` (when given) and the reason
    "Imported from <file name>". Raises ``ImportAborted`` with the failing
    row when a write is refused, including a row whose record was saved by
    someone else since the plan was made. ``progress`` makes a progress bar
    (``ropa.core.progress.progress_bars``), advanced by each row written.
    """
    if plan.has_errors:
        raise ValueError("A plan with errors cannot be applied.")
    reason = import_reason(plan.file_name)

    def stamp(instance):
        instance._change_reason = reason
        if user is not None:
            instance._history_user = user

    operations = plan.operations()
    writer = _Writer(stamp)
    try:
        with (
            (progress or no_progress)(len(operations), "Importing") as bar,
            transaction.atomic(),
        ):
            for key, batch in _batches(operations):
                writer.write(key, batch)
                bar.advance(len(batch))
            # The Art. 30 gaps of what changed, current with the import, so
            # that the first list shown after a large one need not compute them.
            stored_completeness.refresh()
    except StaleRecordError as error:
        # Saved or deleted by someone else between the plan and now.
        current, stale = writer.row, error.instance
        if isinstance(error, RecordDeletedError):
            deletion = (
                type(stale)
                .history.filter(**{stale._meta.pk.attname: stale.pk})
                .order_by("-history_date", "-history_id")
                .first()
            )
            who = _who_and_when(deletion) if deletion else {"user": "someone"}
            reason = DELETED_SINCE.format(key=current.key, **{"moment": "", **who})
        else:
            reason = STALE_ROW.format(
                key=current.key, **what_changed(stale, stale.version)
            )
        raise ImportAborted(
            RowError(current.sheet, current.row, VERSION, reason)
        ) from error
    except ValidationError as error:
        current = writer.row
        raise ImportAborted(
            RowError(current.sheet, current.row, "", " ".join(error.messages))
        ) from error
    except DatabaseError as error:
        current = writer.row
        raise ImportAborted(
            RowError(
                current.sheet, current.row, "", f"The database refused it: {error}"
            )
        ) from error
    plan.applied = True
    return plan


# ---------------------------------------------------------------------------
# Writing in batches
# ---------------------------------------------------------------------------

# Rows per batch: one statement writes them, one more their history.
BATCH = 500


class _OneByOne(Exception):
    """A batch the bulk writer leaves to ``Save.apply``, row by row."""


def _batches(operations):
    """
    The operations as (bulk key, [(row, operation)]) in the order to write them.

    Phases keep their order (catalogue entries, activities, removals, child
    rows). Within a phase no row depends on another: its saves of one model,
    new or existing, are written together in batches, and the others row by
    row (key None).
    """
    groups = {}
    for row, operation in operations:
        groups.setdefault((row.phase, _bulk_key(operation)), []).append(
            (row, operation)
        )
    for (_, key), items in groups.items():
        if key is None:
            yield from ((None, [item]) for item in items)
        else:
            for start in range(0, len(items), BATCH):
                yield key, items[start : start + BATCH]


def _bulk_key(operation):
    """
    (model, new) for a save the bulk writer can do as ``Save.apply`` would,
    else None.

    That is a model whose only ``save()`` is the version check (no other
    code runs on save), with history, whose uniqueness rules the database
    enforces as each row is written; new rows need the database to return
    their ids.
    """
    if not isinstance(operation, Save):
        return None
    model = type(operation.instance)
    if model.save is not Versioned.save or not _has_history(model):
        return None
    if any(
        field.unique_for_date or field.unique_for_month or field.unique_for_year
        for field in model._meta.fields
    ):
        return None
    for _, constraints in operation.instance.get_constraints():
        for constraint in constraints:
            if isinstance(constraint, UniqueConstraint):
                if constraint.deferrable is not None:
                    return None
            elif not isinstance(constraint, CheckConstraint):
                return None
    new = operation.instance._state.adding
    database = connections[router.db_for_write(model)]
    if new and not database.features.can_return_rows_from_bulk_insert:
        return None
    return model, new


def _has_history(model):
    return hasattr(model._meta, "simple_history_manager_attribute")


class _Writer:
    """
    Writes a plan's operations: batches in bulk, with their history, or row
    by row through ``Save.apply`` and ``Delete.apply``.

    A batch is written in bulk only when nothing is amiss: every row valid,
    none saved since the plan, none refused by the database. Otherwise it is
    rolled back and written row by row, which refuses the first row at fault
    with the error it has always given. ``row`` is the row being written.
    """

    def __init__(self, stamp):
        self.stamp = stamp
        self.checks = ConstraintChecks()
        self.row = None

    def write(self, key, items):
        if key is not None:
            saves = [save for _, save in items]
            state = [_State(save.instance) for save in saves]
            try:
                with transaction.atomic():
                    self._bulk(*key, items)
                return
            except (_OneByOne, DatabaseError):
                for each in state:
                    each.restore()
        for row, operation in items:
            self.row = row
            operation.apply(self.stamp)

    def _bulk(self, model, new, items):
        saves = [save for _, save in items]
        instances = [save.instance for save in saves]
        for row, save in items:
            self.row = row
            self._prepare(save)
        if new:
            bulk_create_with_history(instances, model, batch_size=BATCH)
            if any(instance.pk is None for instance in instances):
                raise _OneByOne
            _set_links(model, saves)
        else:
            fields = self._changed_fields(model, instances)
            _set_links(model, saves)
            bulk_update_with_history(instances, model, fields)
        _snapshot_links(model, instances)
        # No save signals in bulk: mark the gaps they can change out of date.
        stored_completeness.touch_related(model, instances)

    def _prepare(self, save):
        """What ``Save.apply`` does before saving, constraints checked once."""
        instance = save.instance
        if save.parent is not None:
            instance.activity = save.parent.instance
        self.stamp(instance)
        try:
            # Uniqueness is left to the database: a row it refuses rolls the
            # batch back, and Save.apply refuses it with full_clean()'s words.
            instance.full_clean(validate_unique=False, validate_constraints=False)
            for model, constraints in instance.get_constraints():
                for constraint in constraints:
                    if isinstance(constraint, CheckConstraint):
                        self.checks.validate(constraint, model, instance)
        except ValidationError:
            raise _OneByOne from None

    def _changed_fields(self, model, instances):
        """
        Lock the rows, check their versions as ``Versioned.save`` does, count
        the save in each, and return the fields whose value changes.
        """
        columns = [
            column for column in model._meta.concrete_fields if not column.primary_key
        ]
        version = columns.index(model._meta.get_field("version"))
        stored = {
            pk: values
            for pk, *values in model._base_manager.order_by("pk")
            .select_for_update()
            .filter(pk__in=[instance.pk for instance in instances])
            .values_list("pk", *(column.attname for column in columns))
        }
        changed = set()
        for instance in instances:
            values = stored.get(instance.pk)
            if values is None or values[version] != instance.version:
                # Deleted or saved since the plan: Save.apply says what to do.
                raise _OneByOne
            instance.version += 1
            for column, value in zip(columns, values, strict=True):
                # As Model.save() does: auto_now dates are set here.
                if column.pre_save(instance, False) != value:
                    changed.add(column.name)
        return [column.name for column in columns if column.name in changed]


class _State:
    """What the bulk writer changes on an instance, put back after a rollback."""

    def __init__(self, instance):
        self.instance = instance
        self.pk = instance.pk
        self.version = instance.version
        self.adding = instance._state.adding
        self.db = instance._state.db

    def restore(self):
        self.instance.pk = self.pk
        self.instance.version = self.version
        self.instance._state.adding = self.adding
        self.instance._state.db = self.db


def _set_links(model, saves):
    """
    Set the links of bulk-written saves as ``.set()`` would, with a query per
    link table to read them and at most two to write, rather than several per
    record. Their history is the copy ``_snapshot_links`` makes for the
    history row of each save, not a history row per change of links as
    ``Save.apply`` writes.
    """
    wanted = defaultdict(dict)
    for save in saves:
        for name, targets in save.links.items():
            wanted[name][save.instance.pk] = {target.pk for target in targets}
    for name, targets_of in wanted.items():
        link_field = model._meta.get_field(name)
        through = link_field.remote_field.through
        source = through._meta.get_field(link_field.m2m_field_name()).attname
        target = through._meta.get_field(link_field.m2m_reverse_field_name()).attname
        stored = defaultdict(dict)
        for link_id, pk, target_pk in through._base_manager.filter(
            **{f"{source}__in": list(targets_of)}
        ).values_list("pk", source, target):
            stored[pk][target_pk] = link_id
        removed = [
            link_id
            for pk, targets in targets_of.items()
            for target_pk, link_id in stored[pk].items()
            if target_pk not in targets
        ]
        added = [
            through(**{source: pk, target: target_pk})
            for pk, targets in targets_of.items()
            for target_pk in sorted(targets - stored[pk].keys())
        ]
        if removed:
            through._base_manager.filter(pk__in=removed).delete()
        if added:
            through._base_manager.bulk_create(added)


def _snapshot_links(model, instances):
    """
    Copy the links of ``instances`` to their latest history rows, as
    simple-history does for each history row it writes itself: the rows of
    each link table, with the history row's id, into its history table.

    One INSERT ... SELECT per link table: the links are copied inside the
    database, never fetched.
    """
    history = model.history.model
    if not history._history_m2m_fields or not getattr(
        settings, "SIMPLE_HISTORY_ENABLED", True
    ):
        return
    ids = [instance.pk for instance in instances]
    database = connections[router.db_for_write(history)]
    quote = database.ops.quote_name
    marks = ", ".join(["%s"] * len(ids))
    record = quote(history._meta.get_field("id").column)
    # Each record's latest history row: the one the batch has just written
    # (the records are locked, or new).
    row_id = quote(history._meta.pk.column)
    latest = (
        f"SELECT {record} AS record, MAX({row_id}) AS row_id"  # noqa: S608
        f" FROM {quote(history._meta.db_table)} WHERE {record} IN ({marks})"
        f" GROUP BY {record}"
    )
    for link_field in history._history_m2m_fields:
        through = link_field.remote_field.through
        snapshot = HistoricalRecords.m2m_models[link_field]
        table = quote(through._meta.db_table)
        source = quote(through._meta.get_field(get_m2m_field_name(link_field)).column)
        names = [column.name for column in through._meta.fields]
        columns = ", ".join(
            quote(snapshot._meta.get_field(name).column) for name in ["history", *names]
        )
        values = ", ".join(
            f"{table}.{quote(through._meta.get_field(name).column)}" for name in names
        )
        with database.cursor() as cursor:
            cursor.execute(
                # Table and column names from the models, values as parameters.
                f"INSERT INTO {quote(snapshot._meta.db_table)} ({columns})"  # noqa: S608
                f" SELECT latest.row_id, {values} FROM {table}"
                f" INNER JOIN ({latest}) latest ON latest.record = {table}.{source}"
                f" WHERE {table}.{source} IN ({marks})",
                [*ids, *ids],
            )


def import_register(
    path, *, file_name, format=OURS, controller=None, user=None, dry_run=False
):
    """Plan the import of ``path`` and, unless a dry run or invalid, apply it."""
    plan = plan_import(path, file_name=file_name, format=format, controller=controller)
    if not dry_run and not plan.has_errors:
        apply_plan(plan, user=user)
    return plan


# ---------------------------------------------------------------------------
# Uploads waiting between the preview and the confirmation
# ---------------------------------------------------------------------------

UPLOAD_PREFIX = "import-"
UPLOAD_SUFFIX = ".xlsx"
# The names tempfile.mkstemp gives: the prefix, random letters, the suffix.
UPLOAD_NAME = re.compile(rf"{UPLOAD_PREFIX}[a-z0-9_]+\{UPLOAD_SUFFIX}")
STALE_AFTER = datetime.timedelta(hours=1)


def upload_dir():
    """
    The directory uploads wait in, used for nothing else.

    ``ROPA_IMPORT_UPLOAD_DIR`` when set, else a directory of the system's
    temporary directory; readable by this process's user only.
    """
    configured = getattr(settings, "ROPA_IMPORT_UPLOAD_DIR", "")
    directory = Path(
        configured or Path(tempfile.gettempdir()) / "ropa-register-imports"
    )
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def save_upload(upload):
    """
    Write an uploaded file to ``upload_dir()``; return its name there.

    The name, never a path, is what a session may keep; ``upload_path``
    turns it back into a path only if it is one of these uploads.
    """
    check_size(upload.size, upload.name)
    descriptor, path = tempfile.mkstemp(
        prefix=UPLOAD_PREFIX, suffix=UPLOAD_SUFFIX, dir=upload_dir()
    )
    try:
        with os.fdopen(descriptor, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
    except BaseException:
        Path(path).unlink(missing_ok=True)
        raise
    return Path(path).name


def upload_path(name):
    """The path of the waiting upload called ``name``, or None."""
    if not isinstance(name, str) or not UPLOAD_NAME.fullmatch(name):
        return None
    path = upload_dir() / name
    return path if path.is_file() else None


def discard_upload(name):
    """Delete a waiting upload; a name that is not one is ignored."""
    path = upload_path(name)
    if path is not None:
        path.unlink(missing_ok=True)


def purge_stale_uploads(older_than=STALE_AFTER):
    """Delete uploads abandoned at the preview; return how many."""
    cutoff = time.time() - older_than.total_seconds()
    removed = 0
    for path in upload_dir().glob(f"{UPLOAD_PREFIX}*{UPLOAD_SUFFIX}"):
        # Another request may delete the same file meanwhile.
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
    return removed
