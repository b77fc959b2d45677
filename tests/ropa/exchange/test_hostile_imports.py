"""
Hostile input to every importer, as properties (hypothesis): random bytes,
wrong encodings, broken zips, huge cells, formulas, duplicates, unknown names
and countries, absurd numbers. Each ends in a clear error that names the file
or the row and column, and leaves the database as it was; where the input is
in fact acceptable (a long but legal text), the import succeeds instead and
reads back what the file holds.

The importers: ``ropa.exchange.imports`` (our own export and the ICO template), the
``import_register`` command, the admin's "Import register" page, and the
per-model import of the admin lists (django-import-export).

A test marked ``xfail(strict=True)`` documents a bug found here: it fails
until the importer is fixed, and then fails again (XPASS) so that the mark is
removed.
"""

import csv
import io
import re
import string
import sys
import tempfile
import zipfile
from decimal import Decimal, InvalidOperation

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.urls import reverse
from django.utils.html import escape
from django_countries import countries
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from controllers.models import Organisation
from ropa.core import uploads as import_files
from ropa.core.cells import NO_WORDS, YES_WORDS, split_list
from ropa.core.middleware import NUL_REFUSED
from ropa.core.spreadsheet import restore
from ropa.enums import (
    ActivityRole,
    ActivityStatus,
    DPIAStatus,
    Profiling,
    RetentionUnit,
)
from ropa.exchange import layout
from ropa.exchange.export import ExportError, export_register
from ropa.exchange.ico_layout import (
    ARTICLE_6,
    ARTICLE_9,
    BUSINESS_FUNCTION,
    DPIA_PROGRESS,
    DPIA_REQUIRED,
    INDIVIDUALS,
    PERSONAL_DATA,
    PURPOSE,
    RECIPIENTS,
    RETENTION,
    SAFEGUARDS,
    THIRD_COUNTRIES,
)
from ropa.exchange.imports import import_register, plan_import
from ropa.exchange.plan import import_reason
from ropa.exchange.reading import Lookups, read_boolean, read_text
from ropa.exchange.workbook import ImportFileError
from ropa.geography import eea_countries
from ropa.models import InternationalTransfer, ProcessingActivity, RetentionRule
from subjects.models import DataSubjectCategory
from tests.admin_pages import confirm_import_data
from tests.factories import GroupCompanyFactory, ProcessingActivityFactory
from tests.hostile import (
    HOSTILE,
    EditableWorkbook,
    damaged_member,
    examples,
    hostile_numbers,
    hostile_text,
    integer_range,
    member_xml,
    odd_text,
    patched_member,
    rolled_back,
    snapshot,
    whole_numbers,
    with_member,
    with_sheet_xml,
    wrong_encodings,
    xlsx_cell,
    xlsx_text,
)
from tests.ropa.exchange.test_ico_import import PAYROLL, write_template

# Every test runs over the sample register, loaded once for the module.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sample_register")]

FILE_NAME = "register.xlsx"
ACTIVITIES = layout.ACTIVITIES.name
LAWFUL_BASES = layout.LAWFUL_BASES.name
TRANSFERS = layout.TRANSFERS.name
RETENTION_RULES = layout.RETENTION_RULES.name
IMPORT_URL = "admin:ropa_processingactivity_import_register"
# Python's limit on the digits int() reads from text.
MAX_DIGITS = sys.get_int_max_str_digits() or sys.int_info.default_max_str_digits
# The most characters an XLSX cell holds: openpyxl cuts longer text.
CELL_LIMIT = 32_767

TEXT_COLUMNS = tuple(c for c in layout.ACTIVITIES.imported if c.read is read_text)
NAMED_COLUMNS = tuple(c for c in layout.ACTIVITIES.imported if c.catalogue)
CHOICES = {
    "Status": ActivityStatus,
    "Record type": ActivityRole,
    "Profiling": Profiling,
    "DPIA progress": DPIAStatus,
}
BOOLEAN_COLUMNS = tuple(
    c.header
    for c in layout.ACTIVITIES.imported
    if getattr(c.read, "__qualname__", "").startswith(read_boolean.__name__)
)
# The columns a formula can land in: every column the import reads.
READ_COLUMNS = tuple(
    c.header for c in layout.ACTIVITIES.imported if c.header != "Reference"
)


def activity_field(column):
    return ProcessingActivity._meta.get_field(column.field)


def as_read(text):
    """
    ``text`` as the import reads it back from a cell: without the apostrophe
    our export puts before formula-like text, and with the line breaks XML
    normalises ("\\r\\n" and "\\r" become "\\n").
    """
    return layout.from_cell(text).replace("\r\n", "\n").replace("\r", "\n")


def same_text(stored, expected):
    return as_read(stored) == expected


@pytest.fixture
def exported():
    """The XLSX export of the sample register, as bytes."""
    out = io.BytesIO()
    export_register(fmt="xlsx", out=out)
    return out.getvalue()


@pytest.fixture
def register(exported, tmp_path):
    """The export, loaded once per test and edited for each example."""
    return EditableWorkbook(exported, tmp_path / FILE_NAME)


@pytest.fixture
def write(tmp_path):
    """A function writing bytes to a file of the test; returns its path."""

    def write(content, name=FILE_NAME):
        path = tmp_path / name
        path.write_bytes(content)
        return path

    return write


@pytest.fixture(autouse=True)
def private_temp_folders(settings, tmp_path, monkeypatch):
    """Uploads of both admin imports wait in folders of this test's own."""
    settings.ROPA_IMPORT_UPLOAD_DIR = str(tmp_path / "uploads")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


def waiting_uploads():
    """Every uploaded file still on disk, from either admin import."""
    folder = import_files.folder()
    return list(folder.iterdir()) if folder.exists() else []


def errors_at(plan, sheet, row, header):
    """The reasons the plan gives for the cell (``header`` in the column named)."""
    return [
        error.reason
        for error in plan.errors
        if error.sheet == sheet
        and error.row == row
        and header in error.column.split(" / ")
    ]


def assert_refused(plan, before, sheet, row, header):
    """Nothing was written, and the cell is named with a reason."""
    assert not plan.applied
    reasons = errors_at(plan, sheet, row, header)
    assert reasons, [str(error) for error in plan.errors]
    assert all(reason.strip() for reason in reasons)
    assert snapshot() == before


def assert_round_trip(plan, path):
    """The import was written whole, and the file now matches the register."""
    assert plan.applied, [str(error) for error in plan.errors]
    again = plan_import(path, file_name=FILE_NAME)
    assert not again.has_errors, [str(error) for error in again.errors]
    assert not again.has_writes


def assert_file_refused(path, before, *, file_name=FILE_NAME, reason=None):
    with pytest.raises(ImportFileError, match=reason) as raised:
        plan_import(path, file_name=file_name)
    assert f"'{file_name}'" in str(raised.value)
    assert snapshot() == before


def activity_rows(register):
    return [row for row, _ in register.rows(ACTIVITIES)]


def pick(items, index):
    """The item ``index`` picks, whatever the number of items."""
    return items[index % len(items)]


# Which row of a sheet an example edits: picked from the rows the test has.
INDEXES = st.integers(min_value=0, max_value=10_000)


# ---------------------------------------------------------------------------
# Files that are not a register: refused whole, with the file named
# ---------------------------------------------------------------------------


@settings(HOSTILE, max_examples=examples(25))
@given(content=st.one_of(st.binary(max_size=4096), wrong_encodings()))
@example(content=b"")
@example(content=b"PK\x03\x04" + b"\x00" * 26)
@example(content="Reference;Name\nPA-0001;Café".encode("utf-16"))
def test_import_refuses_bytes_that_are_not_a_workbook(write, content):
    before = snapshot()

    assert_file_refused(write(content), before)


@settings(HOSTILE, max_examples=examples(30))
@given(cut=st.floats(0.0, 1.0, exclude_max=True))
def test_import_refuses_a_truncated_workbook(exported, write, cut):
    before = snapshot()

    assert_file_refused(write(exported[: int(len(exported) * cut)]), before)


@settings(HOSTILE, max_examples=examples(20))
@given(share=st.floats(0.0, 1.0, exclude_max=True))
def test_import_refuses_a_workbook_over_the_size_limit(exported, write, share):
    limit = max(1, int(len(exported) * share))
    path = write(exported)
    before = snapshot()

    with override_settings(ROPA_IMPORT_MAX_BYTES=limit):
        assert_file_refused(
            path, before, reason="the largest file that can be imported"
        )


def _activities_sheet_xml(content):
    """The member holding the Activities sheet, and its XML."""
    for number in range(1, len(layout.SHEETS) + 1):
        member = f"xl/worksheets/sheet{number}.xml"
        xml = member_xml(content, member)
        if ">Notice order<" in xml:
            return member, xml
    raise LookupError(ACTIVITIES)


LAUGHS = "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
# (declaration, the text put in a cell, what the XML parser says of it)
XML_ATTACKS = {
    # Entity expansion ("billion laughs") must not exhaust memory.
    "billion laughs": (
        f'<!DOCTYPE w [<!ENTITY lol0 "lol">{LAUGHS}]>',
        "&lol9;",
        "amplification",
    ),
    # An external entity must not read a file of the server into the register.
    "external entity": (
        '<!DOCTYPE w [<!ENTITY leak SYSTEM "file:///etc/hostname">]>',
        "&leak;",
        "undefined entity",
    ),
    # XML 1.0 has no NUL or escape character, even as a character reference.
    "NUL reference": ("", "A&#0;B", "invalid character"),
    "escape reference": ("", "A&#27;[31mB", "invalid character"),
    "unclosed tag": ("", "<b>bold", "mismatched tag"),
}


@pytest.mark.parametrize(
    ("declaration", "text", "reason"), XML_ATTACKS.values(), ids=XML_ATTACKS
)
def test_import_refuses_hostile_xml_in_a_sheet(
    exported, write, declaration, text, reason
):
    member, xml = _activities_sheet_xml(exported)
    name = ProcessingActivity.objects.get(reference="PA-0001").name
    # The DOCTYPE goes after the XML declaration, if there is one.
    start = xml.index("?>") + 2 if xml.startswith("<?xml") else 0
    prolog, body = xml[:start], xml[start:]
    assert f">{name}<" in body
    body = body.replace(f">{name}<", f">{text}<", 1)
    path = write(with_sheet_xml(exported, member, prolog + declaration + body))
    before = snapshot()

    with pytest.raises(ImportFileError, match=reason) as raised:
        plan_import(path, file_name=FILE_NAME)

    assert f"'{FILE_NAME}'" in str(raised.value)
    assert snapshot() == before


READ_BY_OPENPYXL = ("[Content_Types].xml", "xl/workbook.xml", "xl/styles.xml")
ZIP_DECEPTIONS = {
    # The member is said to be encrypted: zipfile asks for a password.
    "encrypted member": lambda content: patched_member(
        content, "xl/workbook.xml", flags=0x1
    ),
    # A compression method zipfile does not know.
    "unknown compression": lambda content: patched_member(
        content, "xl/workbook.xml", method=99
    ),
    # A zip format version zipfile cannot read.
    "future zip version": lambda content: patched_member(
        content, "xl/workbook.xml", version=99
    ),
    # The deflate stream of a member is garbage.
    "garbage deflate stream": lambda content: damaged_member(
        content, "xl/workbook.xml"
    ),
    # A member's name is not UTF-8, though its flag says it is.
    "undecodable member name": lambda content: with_member(
        content, b"caf\xe9.xml", b"<x/>"
    ),
}


@pytest.mark.parametrize("deceive", ZIP_DECEPTIONS.values(), ids=ZIP_DECEPTIONS)
def test_import_refuses_a_zip_that_cannot_be_read(exported, write, deceive):
    path = write(deceive(exported))
    before = snapshot()

    assert_file_refused(path, before)


@settings(HOSTILE, max_examples=examples(30))
@given(
    member=st.sampled_from(READ_BY_OPENPYXL),
    offset=st.integers(0, 200),
    garbage=st.binary(min_size=1, max_size=32),
)
@example(member="xl/workbook.xml", offset=0, garbage=b"\xff" * 8)
def test_import_of_a_damaged_workbook_is_refused_or_read(
    exported, write, member, offset, garbage
):
    # Damage that misses what openpyxl reads leaves a readable workbook;
    # anything else must be refused as unreadable, never crash the import.
    path = write(damaged_member(exported, member, offset=offset, garbage=garbage))
    before = snapshot()

    try:
        plan_import(path, file_name=FILE_NAME)
    except ImportFileError as error:
        refusal = str(error)
    else:
        refusal = None
    assert refusal is None or f"'{FILE_NAME}'" in refusal
    assert snapshot() == before


# ---------------------------------------------------------------------------
# Cells of our own export: every bad cell is reported, the rest round-trips
# ---------------------------------------------------------------------------


@settings(HOSTILE, max_examples=examples(20))
@given(
    index=INDEXES,
    column=st.sampled_from(TEXT_COLUMNS),
    text=xlsx_text(hostile_text()),
)
@example(index=0, column=TEXT_COLUMNS[1], text="=cmd|' /C calc'!A0")
@example(index=0, column=TEXT_COLUMNS[1], text="\u202eevil\u202c \U0001f600")
def test_import_of_hostile_text_is_refused_or_round_trips(
    register, index, column, text
):
    row = pick(activity_rows(register), index)
    field = activity_field(column)
    expected = as_read(text[:CELL_LIMIT])
    # Text of whitespace only is read as empty, as the admin form reads it.
    expected = expected.strip()
    reference = register.value(ACTIVITIES, row, "Reference")
    other_names = set(
        ProcessingActivity.objects.exclude(reference=reference).values_list(
            "name", flat=True
        )
    )
    refused = (
        (not field.blank and not expected)
        or (field.max_length is not None and len(expected) > field.max_length)
        or (column.field == "name" and expected in other_names)
    )

    with (
        rolled_back(),
        register.edited({(ACTIVITIES, row, column.header): text}) as path,
    ):
        before = snapshot()
        plan = import_register(path, file_name=FILE_NAME)

        if refused:
            assert_refused(plan, before, ACTIVITIES, row, column.header)
        else:
            assert_round_trip(plan, path)
            stored = getattr(
                ProcessingActivity.objects.get(reference=reference), column.field
            )
            assert same_text(stored, expected)


WHITESPACE = " \t\n\u00a0\u2003\u3000"


@settings(HOSTILE, max_examples=examples(10))
@given(
    column=st.sampled_from([c for c in TEXT_COLUMNS if not activity_field(c).blank]),
    text=st.text(alphabet=WHITESPACE.replace("\n", ""), min_size=1, max_size=5),
)
@example(column=TEXT_COLUMNS[0], text="   ")
def test_import_refuses_whitespace_only_required_text(register, column, text):
    with rolled_back(), register.edited({(ACTIVITIES, 2, column.header): text}) as path:
        before = snapshot()
        plan = import_register(path, file_name=FILE_NAME)

        assert_refused(plan, before, ACTIVITIES, 2, column.header)


@settings(HOSTILE, max_examples=examples(5))
@given(
    column=st.sampled_from(
        [c for c in TEXT_COLUMNS if activity_field(c).max_length is None]
    ),
    length=st.integers(CELL_LIMIT + 1, 3 * CELL_LIMIT),
)
@example(column=TEXT_COLUMNS[2], length=40_000)
def test_a_text_longer_than_a_cell_is_never_cut(column, length):
    # openpyxl cuts text to the most an XLSX cell holds, so the register holds
    # its text to that (the admin form and the imports validate with the
    # model); a longer text saved past the validation stops the XLSX export,
    # and the CSV export keeps it whole.
    with rolled_back():
        activity = ProcessingActivityFactory(
            reference="PA-0951", name="Long text", **{column.field: "x" * length}
        )
        with pytest.raises(ValidationError) as invalid:
            activity.full_clean()
        assert column.field in invalid.value.message_dict

        xlsx = io.BytesIO()
        with pytest.raises(ExportError) as refused:
            export_register(fmt="xlsx", out=xlsx)
        assert f"'{column.header}'" in str(refused.value)
        assert "'PA-0951'" in str(refused.value)
        assert xlsx.getvalue() == b""

        csv_zip = io.BytesIO()
        export_register(fmt="csv", out=csv_zip)
        with zipfile.ZipFile(csv_zip) as archive:
            text = archive.read(layout.ACTIVITIES.filename).decode(layout.CSV_ENCODING)
        rows = {row["Reference"]: row for row in csv.DictReader(io.StringIO(text))}
        assert rows["PA-0951"][column.header] == "x" * length


def _accepted_words(header):
    """What the import reads in a choice or yes / no column, case aside."""
    if header in CHOICES:
        choices = CHOICES[header]
        words = {str(value) for value in choices.values}
        words |= {str(label) for label in choices.labels}
        return {word.casefold() for word in words} | (
            {""} if header == "DPIA progress" else set()
        )
    words = YES_WORDS | NO_WORDS
    if header == "Retained and erased according to the policy":
        words = words | {""}
    return words


@settings(HOSTILE, max_examples=examples(15))
@given(
    index=INDEXES,
    header=st.sampled_from((*CHOICES, *BOOLEAN_COLUMNS)),
    text=st.one_of(
        xlsx_text(hostile_text(huge=False)),
        st.sampled_from(("ACTIVE", " retired ", "Draft", "YES", "n", "0", "true")),
    ),
)
def test_import_of_a_hostile_choice_is_refused_or_round_trips(
    register, index, header, text
):
    row = pick(activity_rows(register), index)
    accepted = as_read(text).strip().casefold() in _accepted_words(header)

    with rolled_back(), register.edited({(ACTIVITIES, row, header): text}) as path:
        before = snapshot()
        plan = import_register(path, file_name=FILE_NAME)

        if not accepted:
            assert_refused(plan, before, ACTIVITIES, row, header)
        elif plan.has_errors:
            # A legal word may still break a rule across columns (a DPIA
            # progress without a DPIA required): refused on the row.
            assert_refused(plan, before, ACTIVITIES, row, header)
        else:
            assert_round_trip(plan, path)


def _known_names():
    """Every name and slug an Activities column may name, folded."""
    lookups = Lookups()
    return {
        name
        for column in NAMED_COLUMNS
        for name in getattr(lookups, column.catalogue).folded
    }


@settings(HOSTILE, max_examples=examples(15))
@given(
    index=INDEXES,
    column=st.sampled_from(NAMED_COLUMNS),
    names=st.lists(
        xlsx_text(odd_text(min_size=1, max_size=30)), min_size=1, max_size=4
    ),
)
@example(index=0, column=NAMED_COLUMNS[0], names=["Nobody AB", "=Evil AB"])
def test_import_of_an_unknown_name_is_refused(register, index, column, names):
    row = pick(activity_rows(register), index)
    cell = layout.join_list(names) if column.many else names[0]
    named = split_list(as_read(cell)) if column.many else [as_read(cell).strip()]
    known = _known_names()
    assume(named and any(name and name.casefold() not in known for name in named))

    with (
        rolled_back(),
        register.edited({(ACTIVITIES, row, column.header): cell}) as path,
    ):
        before = snapshot()
        plan = import_register(path, file_name=FILE_NAME)

        assert_refused(plan, before, ACTIVITIES, row, column.header)
        assert any(
            reason.startswith("Unknown")
            for reason in errors_at(plan, ACTIVITIES, row, column.header)
        )


def _country_oracle(text):
    """(code or "", EEA?) for a cell, read as the documented rule says."""
    text = as_read(text).strip()
    if not text:
        return "", False
    code = countries.alpha2(text) if len(text) in (2, 3) or text.isdigit() else ""
    code = code or countries.by_name(text)
    return code, code in eea_countries()


@settings(HOSTILE, max_examples=examples(15))
@given(
    country=st.one_of(
        xlsx_text(odd_text(max_size=12)),
        st.text(alphabet=string.ascii_uppercase, min_size=2, max_size=3),
        st.sampled_from(("XX", "EU", "UK", "Atlantis", "US; IN", "000", "SE", " se ")),
        st.sampled_from([code for code, _ in countries]).map(str.lower),
    ),
)
@example(country="US")
@example(country="DE")
def test_import_of_a_transfer_country_is_refused_or_round_trips(register, country):
    code, eea = _country_oracle(country)
    transfer = {
        "Reference": "PA-0001",
        "Country": country,
        "Mechanism": "scc",
    }

    with rolled_back(), register.edited(appended=[(TRANSFERS, transfer)]) as path:
        row = len(register.rows(TRANSFERS)) + 1
        before = snapshot()
        plan = import_register(path, file_name=FILE_NAME)

        if not code or eea:
            assert_refused(plan, before, TRANSFERS, row, "Country")
        else:
            assert_round_trip(plan, path)
            assert (
                InternationalTransfer.objects.get(activity__reference="PA-0001").country
                == code
            )


def _whole_number(value):
    """The whole number a cell holds, or None, as the format documents it."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    text = as_read(value).strip()
    return int(text) if text.isdecimal() else None


NUMBER_CELLS = {
    # (sheet, header): the numbers the model takes.
    (RETENTION_RULES, "Period"): (1, 200),
    (ACTIVITIES, "Notice order"): (0, None),
}


@settings(HOSTILE, max_examples=examples(20))
@given(
    index=INDEXES,
    cell=st.sampled_from(tuple(NUMBER_CELLS)),
    value=hostile_numbers()
    .map(xlsx_cell)
    # Too long to read: see the test below. (NaN and infinity are written as
    # empty cells, which the import refuses as empty.)
    .filter(lambda value: not isinstance(value, str) or len(value) <= MAX_DIGITS),
)
@example(index=0, cell=(RETENTION_RULES, "Period"), value=-5)
@example(index=0, cell=(RETENTION_RULES, "Period"), value=10**9)
@example(index=0, cell=(RETENTION_RULES, "Period"), value="twelve")
@example(index=0, cell=(RETENTION_RULES, "Period"), value=2.5)
@example(index=0, cell=(RETENTION_RULES, "Period"), value=" 12 ")
@example(index=0, cell=(ACTIVITIES, "Notice order"), value=10**9)
def test_import_of_a_hostile_number_is_refused_or_round_trips(
    register, index, cell, value
):
    sheet, header = cell
    # Rows whose period has a unit: a period alone breaks another rule.
    rows = [
        row
        for row, values in register.rows(sheet)
        if values.get("Period unit") or sheet == ACTIVITIES
    ]
    row = pick(rows, index)
    lowest, highest = NUMBER_CELLS[cell]
    highest = highest if highest is not None else integer_range()[1]
    number = _whole_number(value)
    refused = number is None or not lowest <= number <= highest

    with rolled_back(), register.edited({(sheet, row, header): value}) as path:
        before = snapshot()
        plan = import_register(path, file_name=FILE_NAME)

        if refused:
            assert_refused(plan, before, sheet, row, header)
        else:
            assert_round_trip(plan, path)


@settings(HOSTILE, max_examples=examples(5))
@given(
    cell=st.sampled_from(tuple(NUMBER_CELLS)), digits=st.integers(MAX_DIGITS + 1, 6000)
)
@example(cell=(RETENTION_RULES, "Period"), digits=5000)
def test_import_refuses_a_number_too_long_to_read(register, cell, digits):
    sheet, header = cell
    with rolled_back(), register.edited({(sheet, 2, header): "9" * digits}) as path:
        before = snapshot()
        plan = import_register(path, file_name=FILE_NAME)

        assert_refused(plan, before, sheet, 2, header)


@settings(HOSTILE, max_examples=examples(15))
@given(
    index=INDEXES,
    header=st.sampled_from(READ_COLUMNS),
    formula=st.sampled_from(("=1+1", '=HYPERLINK("https://evil.example","x")', "=A1")),
)
@example(index=0, header="Notice title", formula="=1+1")
def test_import_refuses_a_formula_cell(register, index, header, formula):
    rows = [
        row
        for row, values in register.rows(ACTIVITIES)
        if values.get(header) not in (None, "")
    ]
    assume(rows)
    row = pick(rows, index)

    with (
        rolled_back(),
        register.edited(formulas=[(ACTIVITIES, row, header, formula)]) as path,
    ):
        before = snapshot()
        plan = plan_import(path, file_name=FILE_NAME)

        blanked = [
            change
            for plan_row in plan.rows
            if plan_row.sheet == ACTIVITIES and plan_row.row == row
            for change in plan_row.changes
            if change.column == header and change.after == ""
        ]
        assert errors_at(plan, ACTIVITIES, row, header) or not blanked
        assert snapshot() == before


# ---------------------------------------------------------------------------
# Duplicates
# ---------------------------------------------------------------------------


def two_rows(rows, first, second):
    """Two rows of ``rows``, the first above the second, as indexes pick them."""
    above = pick(rows[:-1], first)
    return above, pick([row for row in rows if row > above], second)


@settings(HOSTILE, max_examples=examples(10))
@given(
    first=INDEXES,
    second=INDEXES,
    # An apostrophe typed before the reference in a spreadsheet is its quote
    # prefix, not part of the cell's text (test_export_labels).
    spelling=st.sampled_from(("{}", " {} ", "\u00a0{}", "{}\t")),
)
def test_import_refuses_a_duplicate_reference(register, first, second, spelling):
    first, second = two_rows(activity_rows(register), first, second)
    reference = register.value(ACTIVITIES, first, "Reference")

    edit = {(ACTIVITIES, second, "Reference"): spelling.format(reference)}
    with rolled_back(), register.edited(edit) as path:
        before = snapshot()
        plan = import_register(path, file_name=FILE_NAME)

        assert_refused(plan, before, ACTIVITIES, second, "Reference")
        assert f"row {first}" in errors_at(plan, ACTIVITIES, second, "Reference")[0]


@settings(HOSTILE, max_examples=examples(8))
@given(first=INDEXES, second=INDEXES)
def test_import_refuses_a_duplicate_name(register, first, second):
    first, second = two_rows(activity_rows(register), first, second)
    name = register.value(ACTIVITIES, first, "Name")

    with rolled_back(), register.edited({(ACTIVITIES, second, "Name"): name}) as path:
        before = snapshot()
        plan = import_register(path, file_name=FILE_NAME)

        assert_refused(plan, before, ACTIVITIES, second, "Name")
        assert f"row {first}" in errors_at(plan, ACTIVITIES, second, "Name")[0]


@settings(HOSTILE, max_examples=examples(8))
@given(index=INDEXES, sheet=st.sampled_from((LAWFUL_BASES, RETENTION_RULES)))
def test_import_refuses_a_duplicate_child_row(register, index, sheet):
    rows = register.rows(sheet)
    copied, values = pick(rows, index)

    with rolled_back(), register.edited(appended=[(sheet, values)]) as path:
        row = len(rows) + 2
        before = snapshot()
        plan = import_register(path, file_name=FILE_NAME)

        assert_refused(plan, before, sheet, row, "Reference")
        reason = errors_at(plan, sheet, row, "Reference")[0]
        assert reason == f"The same row as row {copied}."


@settings(HOSTILE, max_examples=examples(10))
@given(index=INDEXES, reference=xlsx_text(hostile_text(huge=False)))
@example(index=1, reference="pa-0001")
@example(index=1, reference="PA-0001; PA-0002")
def test_import_refuses_a_hostile_reference(register, index, reference):
    row = pick(activity_rows(register), index)
    assume(not re.fullmatch(r"[A-Z]{2,5}-\d{4,}", as_read(reference).strip()))

    with (
        rolled_back(),
        register.edited({(ACTIVITIES, row, "Reference"): reference}) as path,
    ):
        before = snapshot()
        plan = import_register(path, file_name=FILE_NAME)

        assert not plan.applied
        assert [error for error in plan.errors if error.row == row]
        assert snapshot() == before


# ---------------------------------------------------------------------------
# The ICO template
# ---------------------------------------------------------------------------

# A row the template import takes as it is, under a name the sample register
# does not use.
BASELINE = {**PAYROLL, PURPOSE: "Hostile input baseline\nPaying staff."}
ICO_COLUMNS = (
    BUSINESS_FUNCTION,
    PURPOSE,
    INDIVIDUALS,
    PERSONAL_DATA,
    RECIPIENTS,
    THIRD_COUNTRIES,
    SAFEGUARDS,
    RETENTION,
    ARTICLE_6,
    ARTICLE_9,
    DPIA_REQUIRED,
    DPIA_PROGRESS,
)
ICO_ROW = 5  # The template's header is on row 4.


@pytest.fixture
def controller():
    return GroupCompanyFactory(name="Hostile Input Ltd")


def import_template(path, controller):
    return import_register(
        path, file_name="ico.xlsx", format="ico", controller=controller
    )


def test_ico_import_baseline_row_imports(tmp_path, controller):
    with rolled_back():
        plan = import_template(
            write_template(tmp_path / "ico.xlsx", rows=[BASELINE]), controller
        )

        assert plan.applied, [str(error) for error in plan.errors]


@settings(HOSTILE, max_examples=examples(15))
@given(column=st.sampled_from(ICO_COLUMNS), text=xlsx_text(hostile_text()))
@example(column=THIRD_COUNTRIES, text="Atlantis")
@example(column=RETENTION, text="-5 years")
@example(column=RETENTION, text="1000000000 years")
@example(column=BUSINESS_FUNCTION, text="=cmd|' /C calc'!A0")
def test_ico_import_of_a_hostile_cell_is_refused_or_imported(
    tmp_path, controller, column, text
):
    path = write_template(tmp_path / "ico.xlsx", rows=[{**BASELINE, column: text}])

    with rolled_back():
        before = snapshot()
        plan = import_template(path, controller)

        if plan.has_errors:
            assert not plan.applied
            columns = {error.column for error in plan.errors if error.row == ICO_ROW}
            assert column in columns, [str(error) for error in plan.errors]
            assert all(error.reason.strip() for error in plan.errors)
            assert snapshot() == before
        else:
            assert plan.applied
            (activity,) = ProcessingActivity.objects.filter(organisations=controller)
            assert activity.status == ActivityStatus.DRAFT


@settings(HOSTILE, max_examples=examples(10))
@given(
    number=whole_numbers(),
    unit=st.sampled_from(("years", "months", "days", "Years", "yrs")),
)
def test_ico_import_keeps_an_absurd_retention_period_as_criteria(
    tmp_path, controller, number, unit
):
    text = f"{number} {unit} after the end of the contract"
    path = write_template(tmp_path / "ico.xlsx", rows=[{**BASELINE, RETENTION: text}])

    with rolled_back():
        plan = import_template(path, controller)

        assert plan.applied, [str(error) for error in plan.errors]
        rule = RetentionRule.objects.get(activity__organisations=controller)
        if rule.period is not None:
            # Read as a period only when it is one the register may hold.
            assert rule.period == number
            assert 1 <= number <= 200
        else:
            # Anything else is kept whole, never dropped.
            assert rule.criteria == text


@settings(HOSTILE, max_examples=examples(5))
@given(digits=st.integers(MAX_DIGITS + 1, 6000))
@example(digits=5000)
def test_ico_import_keeps_a_period_too_long_to_read(tmp_path, controller, digits):
    text = f"{'9' * digits} years"
    path = write_template(tmp_path / "ico.xlsx", rows=[{**BASELINE, RETENTION: text}])

    with rolled_back():
        plan = import_template(path, controller)

        assert plan.applied or plan.has_errors


# ---------------------------------------------------------------------------
# The import_register command
# ---------------------------------------------------------------------------


def run_import(*args, stderr=None):
    call_command(
        "import_register", *args, stdout=io.StringIO(), stderr=stderr or io.StringIO()
    )


@settings(HOSTILE, max_examples=examples(20))
@given(
    content=st.one_of(st.binary(max_size=2048), wrong_encodings()),
    cut=st.none() | st.floats(0.0, 1.0, exclude_max=True),
)
def test_import_command_refuses_a_file_that_is_not_a_register(
    exported, write, content, cut
):
    if cut is not None:
        content = exported[: int(len(exported) * cut)]
    path = write(content)
    before = snapshot()

    with pytest.raises(CommandError) as raised:
        run_import(str(path))

    assert FILE_NAME in str(raised.value)
    assert snapshot() == before


@settings(HOSTILE, max_examples=examples(10))
@given(period=st.sampled_from((-1, 0, 201, 10**9, "soon", 2.5, True)))
def test_import_command_reports_a_bad_row_and_writes_nothing(register, period):
    with (
        rolled_back(),
        register.edited({(RETENTION_RULES, 2, "Period"): period}) as path,
    ):
        before = snapshot()
        stderr = io.StringIO()
        with pytest.raises(CommandError) as raised:
            run_import(str(path), stderr=stderr)

        assert "nothing was imported" in str(raised.value)
        assert f"Sheet '{RETENTION_RULES}', row 2, column 'Period" in stderr.getvalue()
        assert snapshot() == before


@settings(HOSTILE, max_examples=examples(12))
@given(
    option=st.sampled_from(("--format", "--controller", "--user")),
    # The command line cannot carry a NUL character.
    value=odd_text(min_size=1, max_size=30).filter(lambda text: "\x00" not in text),
)
@example(option="--controller", value="../../etc/passwd")
def test_import_command_refuses_hostile_options(register, option, value):
    taken = {
        "--format": {"ours", "ico"},
        "--controller": set(Organisation.objects.values_list("slug", flat=True)),
        "--user": set(get_user_model().objects.values_list("username", flat=True)),
    }
    assume(value not in taken[option])
    args = [f"{option}={value}"]
    if option == "--controller":
        args.append("--format=ico")
    with register.edited() as path:
        before = snapshot()
        with pytest.raises(CommandError) as raised:
            run_import(str(path), *args)

        assert str(raised.value).strip()
        assert snapshot() == before


def test_import_command_refuses_a_damaged_workbook(exported, write):
    path = write(damaged_member(exported, "xl/workbook.xml"))
    before = snapshot()

    with pytest.raises(CommandError, match="cannot be read"):
        run_import(str(path))

    assert snapshot() == before


# ---------------------------------------------------------------------------
# The admin's "Import register" page
# ---------------------------------------------------------------------------

# The test client writes a file name into the multipart header unescaped: a
# browser would escape quotes and line breaks.
FILE_NAMES = st.one_of(
    st.just(FILE_NAME),
    st.sampled_from(("../../etc/passwd", "..\\..\\register.xlsx", "con.xlsx")),
    st.builds(
        "{}.xlsx".format,
        odd_text(min_size=1, max_size=60).filter(
            lambda name: not set(name) & set('"\\/\r\n\x00')
        ),
    ),
    st.just("a" * 300 + ".xlsx"),
)


def upload(client, content, name=FILE_NAME, **data):
    return client.post(
        reverse(IMPORT_URL),
        {"file": SimpleUploadedFile(name, content), "format": "ours", **data},
    )


def file_errors(response):
    return response.context["form"].errors.get("file", [])


@settings(HOSTILE, max_examples=examples(15))
@given(
    content=st.one_of(st.binary(max_size=2048), wrong_encodings()),
    name=FILE_NAMES,
)
@example(content=b"", name=FILE_NAME)
def test_admin_import_refuses_a_file_that_is_not_a_register(dpo_client, content, name):
    before = snapshot()

    response = upload(dpo_client, content, name)

    assert response.status_code == 200
    errors = file_errors(response)
    assert errors
    assert all(error.strip() for error in errors)
    if content:
        uploaded = response.wsgi_request.FILES["file"].name
        assert any(f"'{uploaded}'" in error for error in errors)
    assert waiting_uploads() == []
    assert snapshot() == before


@settings(HOSTILE, max_examples=examples(10))
@given(share=st.floats(0.0, 1.0, exclude_max=True))
def test_admin_import_refuses_a_file_over_the_size_limit(dpo_client, exported, share):
    limit = max(1, int(len(exported) * share))
    before = snapshot()

    with override_settings(ROPA_IMPORT_MAX_BYTES=limit):
        response = upload(dpo_client, exported)

    assert response.status_code == 200
    assert any(
        "the largest file that can be imported" in e for e in file_errors(response)
    )
    assert waiting_uploads() == []
    assert snapshot() == before


@settings(HOSTILE, max_examples=examples(8))
@given(
    period=st.one_of(
        st.integers(max_value=0),
        st.integers(min_value=201),
        xlsx_text(hostile_text(huge=False)),
    )
)
def test_admin_import_previews_bad_rows_and_offers_no_confirmation(
    dpo_client, register, period
):
    assume(_whole_number(period) is None or not 1 <= _whole_number(period) <= 200)
    with (
        rolled_back(),
        register.edited({(RETENTION_RULES, 2, "Period"): period}) as path,
    ):
        before = snapshot()
        response = upload(dpo_client, path.read_bytes())

        assert response.status_code == 200
        assert not response.context["can_confirm"]
        errors = [
            error
            for error in response.context["errors"]
            if (error.sheet, error.row) == (RETENTION_RULES, 2)
            and "Period" in error.column.split(" / ")
        ]
        assert errors
        page = response.content.decode()
        assert (
            f"<td>{RETENTION_RULES}</td><td>2</td><td>{errors[0].column}</td>" in page
        )
        assert escape(errors[0].reason) in page
        assert waiting_uploads() == []
        assert snapshot() == before


@settings(HOSTILE, max_examples=examples(12))
@given(
    format_=st.one_of(st.just("ico"), odd_text(max_size=12)),
    controller=st.one_of(st.just(""), odd_text(min_size=1, max_size=30)),
)
@example(format_="ico", controller="")
@example(format_="ico", controller="\x00")
def test_admin_import_refuses_hostile_choices(
    dpo_client, exported, format_, controller
):
    assume(format_ != "ours")
    assume(controller not in set(Organisation.objects.values_list("slug", flat=True)))
    before = snapshot()

    response = upload(dpo_client, exported, format=format_, controller=controller)

    if "\x00" in format_ + controller:
        # Refused before any form, with a sentence that says why
        # (ropa.core.middleware): PostgreSQL refuses NUL in a query.
        assert response.status_code == 400
        assert response.content.decode() == NUL_REFUSED
        assert waiting_uploads() == []
        assert snapshot() == before
        return
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors
    if format_ == "ico" and not controller:
        # No controller chosen: the file's header block would name it, but
        # our own export is no ICO template.
        assert "is a register exported from here" in form.errors["file"][0]
    assert waiting_uploads() == []
    assert snapshot() == before


def test_admin_import_refuses_a_damaged_workbook(dpo_client, exported):
    before = snapshot()

    response = upload(dpo_client, damaged_member(exported, "xl/workbook.xml"))

    assert response.status_code == 200
    assert file_errors(response)
    assert waiting_uploads() == []
    assert snapshot() == before


@settings(HOSTILE, max_examples=examples(5))
@given(name=FILE_NAMES)
def test_admin_import_records_a_hostile_file_name_as_it_was_uploaded(
    dpo_client, register, name
):
    edit = {(ACTIVITIES, 2, "Business function"): "Customer care"}
    with rolled_back(), register.edited(edit) as path:
        previewed = upload(dpo_client, path.read_bytes(), name)
        assert previewed.context["can_confirm"], previewed.context["errors"]
        uploaded = previewed.wsgi_request.FILES["file"].name
        # It waits under a name of its own in the upload folder, never the
        # name that was sent.
        (waiting,) = waiting_uploads()
        assert waiting.parent == import_files.folder()
        assert import_files.UPLOAD_NAME.fullmatch(waiting.name)

        response = dpo_client.post(
            reverse("admin:ropa_processingactivity_import_register_confirm"), {}
        )

        assert response.status_code == 302
        latest = ProcessingActivity.objects.get(reference="PA-0001").history.latest()
        assert latest.history_change_reason == import_reason(uploaded)
        assert waiting_uploads() == []


# ---------------------------------------------------------------------------
# The per-model import of the admin lists (django-import-export)
# ---------------------------------------------------------------------------

CSV, XLSX = "0", "1"
MODEL_LABELS = (
    "subjects.datasubjectcategory",
    "controllers.organisation",
    "ropa.processingactivity",
    "ropa.retentionrule",
    "ropa.internationaltransfer",
)


def model_url(label, view):
    app_label, model_name = label.split(".")
    return reverse(f"admin:{app_label}_{model_name}_{view}")


def model_preview(client, label, content, fmt_=CSV, name="register.csv"):
    return client.post(
        model_url(label, "import"),
        {
            "format": fmt_,
            "resource": "0",
            "import_file": SimpleUploadedFile(name, content),
        },
    )


def as_csv(headers, *rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode()


def as_csv_read(text):
    """
    ``text`` as the per-model import reads it from a CSV cell: the file is
    read in text mode (line breaks become "\\n"), and an apostrophe before
    formula-like text (as the export neutralises it) is removed.
    """
    return restore(text.replace("\r\n", "\n").replace("\r", "\n"))


def refused_by_model_import(response):
    """The preview names what is wrong and offers no confirmation."""
    assert response.status_code == 200
    context = response.context
    assert "confirm_form" not in context
    result = context.get("result")
    if result is None or not (result.has_errors() or result.has_validation_errors()):
        errors = context["form"].errors
        assert errors
        return [message for messages in errors.values() for message in messages]
    messages = [str(error.error) for error in result.base_errors]
    messages += [str(error.error) for row in result.rows for error in row.errors]
    messages += [
        message
        for row in result.invalid_rows
        for messages_ in row.error_dict.values()
        for message in messages_
    ]
    assert messages
    return messages


@settings(HOSTILE, max_examples=examples(15))
@given(
    label=st.sampled_from(MODEL_LABELS),
    fmt_=st.sampled_from((CSV, XLSX)),
    content=st.one_of(st.binary(max_size=2048), wrong_encodings()),
)
def test_model_import_refuses_a_file_it_cannot_read(dpo_client, label, fmt_, content):
    before = snapshot()

    response = model_preview(dpo_client, label, content, fmt_)

    messages = refused_by_model_import(response)
    assert all(str(message).strip() for message in messages)
    assert waiting_uploads() == []
    assert snapshot() == before


def _decimal(text):
    """The number import-export reads from ``text`` (Decimal), or None."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


MODEL_CELLS = {
    # label: (headers, a valid row, the column made hostile)
    "subjects.datasubjectcategory": (
        ("name", "description", "vulnerable", "is_sample"),
        {
            "name": "Hostile visitors",
            "description": "",
            "vulnerable": "0",
            "is_sample": "0",
        },
        "name",
    ),
    "controllers.organisation": (
        ("name", "country"),
        {"name": "Hostile Input AB", "country": "SE"},
        "country",
    ),
    "ropa.retentionrule": (
        (
            "activity",
            "personal_data_category",
            "period",
            "period_unit",
            "criteria",
            "end_action",
        ),
        {
            "activity": "PA-0950",
            "personal_data_category": "",
            "period": "3",
            "period_unit": RetentionUnit.YEARS,
            "criteria": "",
            "end_action": "erase",
        },
        "period",
    ),
}


@pytest.fixture
def bare_activity():
    """An activity without retention rules, for the retention rule rows."""
    return ProcessingActivityFactory(
        reference="PA-0950", name="Hostile input rules", retention=False
    )


@settings(HOSTILE, max_examples=examples(20))
@given(
    label=st.sampled_from(tuple(MODEL_CELLS)),
    value=st.one_of(hostile_text(huge=False), hostile_numbers().map(str)),
)
@example(label="ropa.retentionrule", value="-5")
@example(label="ropa.retentionrule", value="1000000000")
@example(label="controllers.organisation", value="XX")
@example(label="subjects.datasubjectcategory", value="=1+1")
@example(label="ropa.retentionrule", value="12")
@example(label="controllers.organisation", value="us")
@example(label="controllers.organisation", value=" se\t")
@example(label="ropa.retentionrule", value="2.5")
@example(label="ropa.retentionrule", value=" 3.0 ")
@example(label="subjects.datasubjectcategory", value="   ")
@example(label="subjects.datasubjectcategory", value=" Visitors\u00a0")
def test_model_import_of_a_hostile_cell_is_refused_or_round_trips(
    dpo_client, bare_activity, label, value
):
    headers, row, column = MODEL_CELLS[label]
    content = as_csv(headers, [{**row, column: value}[header] for header in headers])

    with rolled_back():
        before = snapshot()
        response = model_preview(dpo_client, label, content)

        if "confirm_form" not in response.context:
            refused_by_model_import(response)
            assert waiting_uploads() == []
            assert snapshot() == before
            return
        confirmed = dpo_client.post(
            model_url(label, "process_import"), confirm_import_data(response)
        )
        assert confirmed.status_code == 302
        assert snapshot() != before
        if label == "ropa.retentionrule":
            number = _decimal(value)
            assert number is not None
            assert 1 <= number <= 200
            assert RetentionRule.objects.get(activity=bare_activity).period == number
        elif label == "controllers.organisation":
            # Text is read as the admin's forms read it: stripped.
            code = countries.alpha2(value.strip())
            assert Organisation.objects.get(name=row["name"]).country == code
        else:
            name = as_csv_read(value).strip()
            assert DataSubjectCategory.objects.filter(name=name).exists()


@settings(HOSTILE, max_examples=examples(5))
@given(name=st.text(alphabet=" \t\u00a0\u2003", min_size=1, max_size=5))
@example(name="   ")
def test_model_import_refuses_a_whitespace_only_name(dpo_client, name):
    headers, row, _ = MODEL_CELLS["subjects.datasubjectcategory"]
    content = as_csv(headers, [{**row, "name": name}[h] for h in headers])

    with rolled_back():
        before = snapshot()
        response = model_preview(dpo_client, "subjects.datasubjectcategory", content)

        refused_by_model_import(response)
        assert snapshot() == before


@settings(HOSTILE, max_examples=examples(15))
@given(
    word=st.one_of(
        st.sampled_from(("yes", "Yes", "y", "maybe", "2")),
        odd_text(min_size=1, max_size=10),
    )
)
@example(word="yes")
def test_model_import_refuses_a_yes_no_cell_it_cannot_read(dpo_client, word):
    folded = word.strip().casefold()
    assume(folded not in {"1", "0", "true", "false", "", "null", "none"})
    headers = ("name", "description", "vulnerable", "is_sample")
    content = as_csv(headers, ["Hostile visitors", "", word, "0"])

    with rolled_back():
        before = snapshot()
        response = model_preview(dpo_client, "subjects.datasubjectcategory", content)

        if "confirm_form" in response.context:
            # Accepted: only when read with its meaning.
            dpo_client.post(
                model_url("subjects.datasubjectcategory", "process_import"),
                confirm_import_data(response),
            )
            vulnerable = DataSubjectCategory.objects.get(
                name="Hostile visitors"
            ).vulnerable
            assert folded in {"yes", "y"}
            assert vulnerable is True
        else:
            refused_by_model_import(response)
            assert snapshot() == before


@settings(HOSTILE, max_examples=examples(10))
@given(period=st.decimals(min_value=1, max_value=200, allow_nan=False, places=2))
@example(period=Decimal("2.5"))
def test_model_import_refuses_a_decimal_where_a_whole_number_goes(
    dpo_client, bare_activity, period
):
    assume(period != int(period))
    headers, row, _ = MODEL_CELLS["ropa.retentionrule"]
    content = as_csv(headers, [{**row, "period": str(period)}[h] for h in headers])

    with rolled_back():
        before = snapshot()
        response = model_preview(dpo_client, "ropa.retentionrule", content)

        refused_by_model_import(response)
        assert snapshot() == before


def _stored_upload(content):
    storage = import_files.ImportFileStorage()
    storage.save(content)
    return storage.name


@settings(HOSTILE, max_examples=examples(10))
@given(fmt_=st.sampled_from((CSV, XLSX)), content=st.binary(min_size=1, max_size=512))
@example(fmt_=XLSX, content=b"name,description\r\nVisitors,\r\n")
def test_model_import_confirmation_in_another_format_is_refused(
    dpo_client, fmt_, content
):
    label = "subjects.datasubjectcategory"
    before = snapshot()

    response = dpo_client.post(
        model_url(label, "process_import"),
        {
            "import_file_name": _stored_upload(content),
            "original_file_name": "register.csv",
            "format": fmt_,
            "resource": "0",
        },
    )

    assert response.status_code in (200, 302)
    assert snapshot() == before


def test_model_import_confirmation_whose_rows_fail_reports_the_errors(dpo_client):
    label = "subjects.datasubjectcategory"
    content = as_csv(
        ("name", "description", "vulnerable", "is_sample"),
        ["Visitors", "", "0", "0"],
        ["N" * 300, "", "0", "0"],
    )
    before = snapshot()

    response = dpo_client.post(
        model_url(label, "process_import"),
        {
            "import_file_name": _stored_upload(content),
            "original_file_name": "register.csv",
            "format": CSV,
            "resource": "0",
        },
    )

    assert snapshot() == before
    shown = [str(message) for message in get_messages(response.wsgi_request)]
    assert not any(message.startswith("Import finished") for message in shown)
