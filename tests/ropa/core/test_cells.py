"""
One reader per kind of cell (``ropa.core.cells``), the same in both imports.

Each case is a cell as a person types it in a spreadsheet, written with
openpyxl cell by cell, and read twice: by the import of an admin list
(django-import-export, through the model's resource and the list's XLSX
format) and by the register import (``plan_import`` of the register's own
export with the cell edited). Both must read the same value, or refuse the
cell with the same reason.

The register import reads no date column (its dates are written for
readers); a date cell typed into a text column is read by both, and the
date columns of the lists are pinned on their own below.
"""

import datetime
import io
from dataclasses import dataclass

import pytest
from openpyxl import Workbook

from controllers.models import Organisation
from ropa.core.cells import (
    MAX_DIGITS,
    NOT_A_DATE,
    NOT_A_WHOLE_NUMBER,
    NOT_YES_OR_NO,
    NUL_REFUSED,
    TOO_MANY_DIGITS,
    UNKNOWN_COUNTRY,
    YES_OR_NO_REQUIRED,
    CellError,
    country_code,
    join_list,
    read_whole_number,
    split_list,
)
from ropa.core.resources import XLSX
from ropa.exchange import layout
from ropa.exchange.apply import apply_plan
from ropa.exchange.export import export_register
from ropa.exchange.imports import plan_import
from ropa.models import ProcessingActivity, RetentionRule, Review
from tests.factories import (
    DataSubjectCategoryFactory,
    InternationalTransferFactory,
    ProcessingActivityFactory,
    ReviewFactory,
)
from tests.ropa.core.test_resources import RESOURCES
from tests.ropa.exchange.test_imports import edit

pytestmark = pytest.mark.django_db

REFERENCE = "PA-0001"


@dataclass(frozen=True)
class Refused:
    reason: str


@dataclass(frozen=True)
class Kind:
    """A kind of cell: where each import reads it, and what it stored."""

    model: type
    # The list's import: its column, and the other cells of a valid row.
    field: str
    row: dict
    # The register import: the sheet and column.
    sheet: str
    header: str


KINDS = {
    "text": Kind(
        ProcessingActivity,
        "systems",
        {"reference": REFERENCE},
        layout.ACTIVITIES.name,
        "Systems and software",
    ),
    "yes / no": Kind(
        ProcessingActivity,
        "in_notice",
        {"reference": REFERENCE},
        layout.ACTIVITIES.name,
        "In the privacy notice",
    ),
    "whole number": Kind(
        RetentionRule,
        "period",
        {
            "activity": REFERENCE,
            "personal_data_category": None,
            "period_unit": "years",
            "end_action": "erase",
        },
        layout.RETENTION_RULES.name,
        "Period",
    ),
    # The lists import a country as an organisation's seat.
    "country": Kind(
        Organisation,
        "country",
        {"name": "Cell Test AB"},
        layout.TRANSFERS.name,
        "Country",
    ),
    "list": Kind(
        ProcessingActivity,
        "data_subject_categories",
        {"reference": REFERENCE},
        layout.ACTIVITIES.name,
        "Data subject categories",
    ),
}

A_DATE = datetime.datetime(2024, 1, 15)  # noqa: DTZ001 (a spreadsheet's date cell)

CASES = [
    # Text: without the whitespace around it; a date or number cell as shown.
    ("text", " SAP ", "SAP"),
    ("text", "   ", ""),
    ("text", A_DATE, "2024-01-15"),
    ("text", "2024-01-15", "2024-01-15"),
    ("text", 3, "3"),
    # Yes / no: one set of words, in any case; empty only where allowed.
    ("yes / no", "yes", True),
    ("yes / no", "Y", True),
    ("yes / no", "no", False),
    ("yes / no", "true", True),
    ("yes / no", True, True),
    ("yes / no", 0, False),
    ("yes / no", "maybe", Refused(NOT_YES_OR_NO.format(text="maybe"))),
    ("yes / no", "", Refused(YES_OR_NO_REQUIRED)),
    # Whole numbers: digits only. The lists' import read "3.0" and "+3" as 3,
    # and "-1" as -1, left to the model; now both refuse them alike.
    ("whole number", "3", 3),
    ("whole number", " 3 ", 3),
    ("whole number", 3, 3),
    ("whole number", 3.0, 3),
    ("whole number", "3.0", Refused(NOT_A_WHOLE_NUMBER.format(text="3.0"))),
    ("whole number", "+3", Refused(NOT_A_WHOLE_NUMBER.format(text="+3"))),
    ("whole number", "-1", Refused(NOT_A_WHOLE_NUMBER.format(text="-1"))),
    ("whole number", -1, Refused(NOT_A_WHOLE_NUMBER.format(text="-1"))),
    ("whole number", "2.5", Refused(NOT_A_WHOLE_NUMBER.format(text="2.5"))),
    ("whole number", 2.5, Refused(NOT_A_WHOLE_NUMBER.format(text="2.5"))),
    ("whole number", "1e3", Refused(NOT_A_WHOLE_NUMBER.format(text="1e3"))),
    # Countries: an English name or an ISO code, in any case.
    ("country", "India", "IN"),
    ("country", " in ", "IN"),
    ("country", "IND", "IN"),
    ("country", "Atlantis", Refused(UNKNOWN_COUNTRY.format(text="Atlantis"))),
    # Lists: names joined with "; ", spaces and empty names ignored.
    ("list", " Customers ;Employees; ", ["Customers", "Employees"]),
    ("list", "Employees; Employees", ["Employees"]),
    (
        "list",
        "Customers; Martians",
        Refused("Unknown data subject category: 'Martians'."),
    ),
]


@pytest.fixture
def register():
    """An activity with a retention rule and a transfer, and two categories."""
    customers = DataSubjectCategoryFactory(name="Customers")
    DataSubjectCategoryFactory(name="Employees")
    activity = ProcessingActivityFactory(
        reference=REFERENCE, data_subject_categories=[customers]
    )
    InternationalTransferFactory(activity=activity)
    return activity


def workbook(headers, values):
    """A one-row workbook, typed cell by cell."""
    book = Workbook()
    sheet = book.active
    for column, (header, value) in enumerate(zip(headers, values, strict=True), 1):
        sheet.cell(row=1, column=column, value=header)
        sheet.cell(row=2, column=column, value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def list_import(model, row):
    """Import ``row`` through the admin list of ``model``: its errors, or None."""
    content = workbook(list(row), list(row.values()))
    dataset = XLSX().create_dataset(content)
    result = RESOURCES[model]().import_data(dataset)
    assert not result.has_errors(), [
        e.error for r in result.error_rows for e in r.errors
    ]
    (row_errors,) = [r.error_dict for r in result.invalid_rows] or [None]
    return row_errors


def stored(kind, activity):
    """What the import stored for the kind's cell of the register's activity."""
    activity = ProcessingActivity.objects.get(pk=activity.pk)
    if kind == "text":
        return activity.systems
    if kind == "yes / no":
        return activity.in_notice
    if kind == "whole number":
        return activity.retention_rules.get().period
    if kind == "country":
        return activity.transfers.get().country.code
    return sorted(category.name for category in activity.data_subject_categories.all())


def read_by_the_list(kind, cell, activity):
    spec = KINDS[kind]
    if kind == "whole number":
        # A rule of its own: the activity's rule for all data is the register's.
        activity = ProcessingActivityFactory(retention=False)
        row = {**spec.row, "activity": activity.reference, spec.field: cell}
    else:
        row = {**spec.row, spec.field: cell}
    errors = list_import(spec.model, row)
    if errors:
        assert list(errors) == [spec.field], errors
        return Refused(" ".join(errors[spec.field]))
    if kind == "country":
        return Organisation.objects.get(**spec.row).country.code
    return stored(kind, activity)


def read_by_the_register(kind, cell, activity, tmp_path):
    spec = KINDS[kind]
    path = tmp_path / "register.xlsx"
    with path.open("wb") as out:
        export_register(fmt="xlsx", out=out)
    edit(path, spec.sheet, {(REFERENCE, spec.header): cell})
    plan = plan_import(path, file_name=path.name)
    if plan.has_errors:
        reasons = [error.reason for error in plan.errors]
        assert [error.column for error in plan.errors] == [spec.header], reasons
        return Refused(" ".join(reasons))
    apply_plan(plan)
    return stored(kind, activity)


@pytest.mark.parametrize(
    ("kind", "cell", "expected"),
    CASES,
    ids=[f"{kind}: {cell!r}" for kind, cell, _ in CASES],
)
def test_both_imports_read_a_cell_alike(register, tmp_path, kind, cell, expected):
    by_the_list = read_by_the_list(kind, cell, register)
    by_the_register = read_by_the_register(kind, cell, register, tmp_path)

    assert by_the_list == expected
    assert by_the_register == expected


# ---------------------------------------------------------------------------
# Dates: the lists' date columns
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (A_DATE, datetime.date(2024, 1, 15)),
        ("2024-01-15", datetime.date(2024, 1, 15)),
        (" 2024-01-15 ", datetime.date(2024, 1, 15)),
        # Once read as March 4th (the library's US formats); a British reader
        # means 3 April.
        ("03/04/2024", Refused(NOT_A_DATE.format(text="03/04/2024"))),
        ("2024-02-30", Refused(NOT_A_DATE.format(text="2024-02-30"))),
        ("15 January 2024", Refused(NOT_A_DATE.format(text="15 January 2024"))),
    ],
    ids=repr,
)
def test_a_list_reads_a_date_cell(cell, expected):
    review = ReviewFactory(cycle=2025)
    errors = list_import(
        Review,
        {"activity": review.activity.reference, "cycle": 2025, "due_on": cell},
    )

    if errors:
        assert Refused(" ".join(errors["due_on"])) == expected
    else:
        assert Review.objects.get(pk=review.pk).due_on == expected


# ---------------------------------------------------------------------------
# The readers themselves
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "number"),
    [(3.0, 3), (0, 0), ("0" * 50 + "7", 7), ("\u0663", 3), ("", None), (None, None)],
)
def test_read_whole_number(value, number):
    assert read_whole_number(value) == number


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (float("nan"), NOT_A_WHOLE_NUMBER.format(text="nan")),
        (True, NOT_A_WHOLE_NUMBER.format(text="TRUE")),
        ("1" * (MAX_DIGITS + 1), TOO_MANY_DIGITS.format(digits=21, limit=MAX_DIGITS)),
        ("x" * 100, NOT_A_WHOLE_NUMBER.format(text="x" * 60 + "…")),
        ("3\x00", NUL_REFUSED),
    ],
)
def test_read_whole_number_refuses(value, reason):
    with pytest.raises(CellError) as raised:
        read_whole_number(value)

    assert str(raised.value) == reason


@pytest.mark.parametrize(
    "names", [["Customers"], ["A; B", "C\\D", "E"], ["Trailing \\"]], ids=repr
)
def test_a_list_of_names_round_trips(names):
    assert split_list(join_list(names)) == names


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("United States", "US"),
        ("the United States", "US"),
        ("USA", "US"),
        ("U.S.", "US"),
        ("UK", "GB"),
        ("Great Britain", "GB"),
        ("England", "GB"),
        ("South Korea", "KR"),
        ("Korea, Republic of", "KR"),
        ("the Netherlands", "NL"),
        ("Holland", "NL"),
        ("  India ", "IN"),
        ("DEU", "DE"),
        ("276", "DE"),
        ("Atlantis", ""),
    ],
)
def test_country_code_reads_the_names_people_write(text, code):
    assert country_code(text) == code
