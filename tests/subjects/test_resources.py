"""
Import and export of the categories of data subjects, from their admin list:
its cells read as the admin's forms read them.
"""

import tempfile

import pytest
import tablib

from ropa.core.cells import (
    NOT_YES_OR_NO,
    YES_OR_NO_REQUIRED,
)
from subjects.enums import CnilGroup
from subjects.models import DataSubjectCategory, PersonalDataCategory
from tests.factories import (
    DataSubjectCategoryFactory,
    PersonalDataCategoryFactory,
)
from tests.ropa.core.test_resources import (
    RESOURCES,
    _field_errors,
    as_csv,
    confirm,
    dpo_member,
    export,
    logged_in,
    preview,
    rows,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def dpo(db):
    return dpo_member()


@pytest.fixture
def dpo_member_client(dpo):
    return logged_in(dpo)


@pytest.fixture(autouse=True)
def private_temp_folder(tmp_path, monkeypatch):
    """Uploaded files go to a folder of this test's own."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


def test_import_of_a_changed_export_updates_with_history(dpo_member_client, dpo):
    label = "subjects.datasubjectcategory"
    category = DataSubjectCategoryFactory(name="Customers", description="Old.")
    exported = rows(export(dpo_member_client, label))
    exported[0]["description"] = "New."
    content = as_csv(exported[0].keys(), exported[0].values())

    confirm(dpo_member_client, label, preview(dpo_member_client, label, content))

    category.refresh_from_db()
    assert category.description == "New."
    latest = category.history.latest()
    assert latest.history_user == dpo
    assert latest.history_change_reason == "Imported from register.csv"


# ---------------------------------------------------------------------------
# Cells read as the admin's forms read them
# ---------------------------------------------------------------------------


def _category_import(**cells):
    """Import one data subject category row of ``cells``; return the result."""
    line = {"name": "Visitors", "description": "", **cells}
    dataset = tablib.Dataset(list(line.values()), headers=list(line))
    return RESOURCES[DataSubjectCategory]().import_data(dataset)


@pytest.mark.parametrize("name", ["   ", "\t", "\u00a0\u2003", " \n "])
def test_import_refuses_a_required_name_of_whitespace_only(name):
    # Every other cell holds its default: the row is still validated.
    result = _category_import(name=name, vulnerable="0", is_sample="0")

    assert _field_errors(result) == [{"name": ["This field cannot be blank."]}]
    assert not DataSubjectCategory.objects.exists()


def test_import_strips_the_whitespace_around_text():
    result = _category_import(name="  Visitors\t", description="\u00a0Who walk in. ")

    assert not result.has_validation_errors()
    category = DataSubjectCategory.objects.get()
    assert (category.name, category.description) == ("Visitors", "Who walk in.")


def test_import_finds_a_record_by_a_key_written_with_spaces():
    category = DataSubjectCategoryFactory(name="Visitors", description="Old.")

    result = _category_import(name=" Visitors ", description="New.")

    assert result.totals["update"] == 1
    category.refresh_from_db()
    assert category.description == "New."
    assert DataSubjectCategory.objects.count() == 1


def test_import_skips_a_blank_row():
    result = _category_import(name=" ", description="", vulnerable=None)

    assert not result.has_validation_errors()
    assert result.totals["skip"] == 1
    assert not DataSubjectCategory.objects.exists()


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        # What the export writes: 1 / 0 in CSV, TRUE / FALSE cells in XLSX.
        ("1", True),
        ("0", False),
        (True, True),
        (False, False),
        # A workbook's number cells, and the obvious words in any case.
        (1, True),
        (0.0, False),
        (" yes ", True),
        ("No", False),
        ("Y", True),
        ("n", False),
        ("TRUE", True),
        ("false", False),
    ],
)
def test_import_reads_a_yes_no_cell(cell, expected):
    result = _category_import(vulnerable=cell)

    assert not result.has_validation_errors(), _field_errors(result)
    assert DataSubjectCategory.objects.get().vulnerable is expected


@pytest.mark.parametrize("cell", ["maybe", "2", "null", "oui", 2, "-1", "yes!"])
def test_import_refuses_a_yes_no_cell_it_cannot_read(cell):
    result = _category_import(vulnerable=cell)

    assert _field_errors(result) == [{"vulnerable": [NOT_YES_OR_NO.format(text=cell)]}]
    assert not DataSubjectCategory.objects.exists()


@pytest.mark.parametrize("cell", ["", "  ", None])
def test_import_refuses_an_empty_yes_no_cell_where_the_model_needs_one(cell):
    # Once read as the column's default; the register import refuses it.
    result = _category_import(vulnerable=cell)

    assert _field_errors(result) == [{"vulnerable": [YES_OR_NO_REQUIRED]}]
    assert not DataSubjectCategory.objects.exists()


# ---------------------------------------------------------------------------
# Personal data categories: their CNIL group
# ---------------------------------------------------------------------------


def _data_category_import(**cells):
    """Import one personal data category row of ``cells``; return the result."""
    line = {
        "name": "Usage data",
        "description": "",
        "examples": "",
        "sensitivity": "ordinary",
        "special_category": "",
        "is_sample": "0",
        **cells,
    }
    dataset = tablib.Dataset(list(line.values()), headers=list(line))
    return RESOURCES[PersonalDataCategory]().import_data(dataset)


def test_export_of_personal_data_categories_carries_the_cnil_group(
    dpo_member_client,
):
    PersonalDataCategoryFactory(name="Usage data", cnil_group=CnilGroup.CONNECTION)
    PersonalDataCategoryFactory(name="Visits", ungrouped=True)

    exported = rows(export(dpo_member_client, "subjects.personaldatacategory"))

    assert {row["name"]: row["cnil_group"] for row in exported} == {
        "Usage data": "connection",
        "Visits": "",
    }


def test_import_of_a_changed_export_sets_the_cnil_group(dpo_member_client, dpo):
    label = "subjects.personaldatacategory"
    category = PersonalDataCategoryFactory(name="Visits", ungrouped=True)
    [row] = rows(export(dpo_member_client, label))
    row["cnil_group"] = "location"
    content = as_csv(row.keys(), row.values())

    confirm(dpo_member_client, label, preview(dpo_member_client, label, content))

    category.refresh_from_db()
    assert category.cnil_group == CnilGroup.LOCATION
    assert category.history.latest().history_user == dpo


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("connection", "connection"), (" economic ", "economic"), ("", ""), (None, "")],
)
def test_import_reads_the_cnil_group_by_its_code(cell, expected):
    result = _data_category_import(cnil_group=cell)

    assert not result.has_validation_errors(), _field_errors(result)
    assert PersonalDataCategory.objects.get().cnil_group == expected


@pytest.mark.parametrize(
    "cell",
    ["bogus", "Identity", CnilGroup.IDENTITY.label],
    ids=["unknown", "capitalised", "label"],
)
def test_import_refuses_a_cnil_group_that_is_not_a_code(cell):
    # As the other choice columns of the lists: their codes only.
    result = _data_category_import(cnil_group=cell)

    assert _field_errors(result) == [
        {"cnil_group": [f"Value {cell!r} is not a valid choice."]}
    ]
    assert not PersonalDataCategory.objects.exists()
