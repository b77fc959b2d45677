"""
The register's columns are declared once (``ropa.exchange.layout``): the
export writes them, the import reads them, the snapshot reads their fields and
the ICO template names them, all from the same declarations.
"""

import pytest
from django.db import models
from django_countries.fields import CountryField

from ropa.exchange import ico, ico_children, ico_layout, layout, snapshot
from ropa.exchange.columns import column_of
from ropa.exchange.ico_text import unqualified_header
from ropa.exchange.reading import Lookups


def _plain_columns():
    """The imported columns that name no catalogue row, with their sheet."""
    return [
        pytest.param(sheet, column, id=f"{sheet.name}: {column.header}")
        for sheet in layout.IMPORTED_SHEETS
        for column in sheet.imported
        if not column.catalogue
    ]


def _samples(sheet, column):
    """Values of the column's field, as the snapshot gives them to the export."""
    if column.choices is not None:
        return list(column.choices.values)
    field = sheet.model._meta.get_field(column.field)
    if isinstance(field, models.BooleanField):
        return [True, False, None] if field.null else [True, False]
    if isinstance(field, models.IntegerField):
        return [0, 3, 2_000_000]
    if isinstance(field, CountryField):
        return ["IN", "US"]
    return ["PA-0001", "Payroll; monthly\nsecond line", "=1+1"]


@pytest.mark.parametrize("sheet", layout.IMPORTED_SHEETS, ids=lambda s: s.name)
def test_layout_import_reads_every_column_it_does_not_leave_to_readers(sheet):
    read = {column.header for column in sheet.columns if column.read is not None}
    not_read = {*sheet.read_only, *sheet.checked}

    assert read | not_read == set(sheet.headers)
    assert not read & not_read


@pytest.mark.parametrize("sheet", layout.REFERENCE_SHEETS, ids=lambda s: s.name)
def test_layout_reference_sheets_are_not_read(sheet):
    assert sheet.imported == ()
    assert sheet not in layout.IMPORTED_SHEETS


@pytest.mark.parametrize(("sheet", "column"), _plain_columns())
def test_layout_reader_reads_back_what_the_writer_wrote(sheet, column):
    for value in _samples(sheet, column):
        cell = column.write({column.snapshot_key: value}, None)

        assert column.read(cell, Lookups()) == value


@pytest.mark.parametrize(
    "sheet", [*layout.SHEETS, ico_layout.TEMPLATE], ids=lambda s: s.name
)
def test_layout_every_column_is_written(sheet):
    written = [column.header for column in sheet.columns if column.write is not None]
    assert sorted(written) == sorted(sheet.headers)


def test_layout_choices_are_the_columns_of_choices():
    assert layout.ACTIVITIES.choices == (
        ("Status", column_of(layout.ACTIVITY_COLUMNS, "status").choices),
        ("Record type", column_of(layout.ACTIVITY_COLUMNS, "role").choices),
        ("Profiling", column_of(layout.ACTIVITY_COLUMNS, "profiling").choices),
        (
            "DPIA progress",
            column_of(layout.ACTIVITY_COLUMNS, "dpia_status").choices,
        ),
    )


def test_layout_child_sheets_are_keyed_by_their_key_columns():
    assert {sheet.name: sheet.key_fields for sheet in layout.CHILD_SHEETS} == {
        "Lawful bases": ("basis",),
        "Transfers": ("country", "international_organisation", "mechanism"),
        "Retention rules": ("personal_data_category",),
    }
    for sheet in layout.CHILD_SHEETS:
        assert sheet.key[0] == layout.REFERENCE
        assert sheet.model is not None


def test_layout_snapshot_reads_the_fields_of_the_activity_columns():
    fields = {
        column.snapshot_key
        for column in layout.ACTIVITY_COLUMNS
        if column.field and not column.many
    }

    assert set(snapshot.ACTIVITY_FIELDS) == {"id", *fields}
    assert set(snapshot.ACTIVITY_LINKS) == {
        column.field for column in layout.ACTIVITY_COLUMNS if column.many
    }


@pytest.mark.parametrize(
    ("name", "sheet"),
    [
        ("lawful_bases", layout.LAWFUL_BASES),
        ("transfers", layout.TRANSFERS),
        ("retention_rules", layout.RETENTION_RULES),
    ],
)
def test_layout_snapshot_reads_the_fields_of_the_child_columns(name, sheet):
    model, fields = {child[0]: child[1:] for child in snapshot.CHILDREN}[name]

    assert model is sheet.model
    assert set(fields) == {
        "id",
        "activity_id",
        *(column.snapshot_key for column in sheet.imported),
        "version",
    }


def test_layout_ico_columns_of_a_register_field_use_its_declaration():
    same = [column for column in ico_layout.ICO_COLUMNS if column.same_as is not None]

    assert same
    for column in same:
        assert column.same_as in layout.ACTIVITY_COLUMNS


def test_layout_ico_headings_and_their_older_wordings_name_one_column_each():
    wordings = [
        wording
        for column in ico_layout.ICO_COLUMNS
        for wording in (column.header, *column.aliases)
    ]
    folded = [unqualified_header(wording) for wording in wordings]

    assert len(set(folded)) == len(folded)


@pytest.mark.parametrize(
    ("fields", "columns"),
    [
        (ico.ACTIVITY_FIELDS, layout.ACTIVITY_COLUMNS),
        (ico_children.LAWFUL_BASIS_FIELDS, layout.LAWFUL_BASIS_COLUMNS),
        (ico_children.TRANSFER_FIELDS, layout.TRANSFER_COLUMNS),
        (ico_children.RETENTION_FIELDS, layout.RETENTION_RULE_COLUMNS),
    ],
    ids=["activities", "lawful bases", "transfers", "retention rules"],
)
def test_layout_ico_import_fills_the_fields_our_columns_declare(fields, columns):
    for column in fields:
        ours = column_of(columns, column.field)
        assert column.header in ico_layout.HEADERS or column.header == ico.KEPT
        assert (column.catalogue, column.many) == (ours.catalogue, ours.many)
    same = {
        column.same_as.field: column.header
        for column in ico_layout.ICO_COLUMNS
        if column.same_as is not None
    }
    for column in fields:
        if column.field in same and columns is layout.ACTIVITY_COLUMNS:
            assert column.header == same[column.field]
