import datetime
import io
import re
import zipfile

import pytest
from django.apps import apps
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from ropa import stored_completeness
from ropa.core.cells import MAX_DIGITS, TOO_MANY_DIGITS, CellError
from ropa.core.history import historical_models
from ropa.core.rows import CHANGED, DELETED, INVALID, NEW, UNCHANGED
from ropa.core.spreadsheet import CELL_LIMIT, TOO_LONG_FOR_A_CELL
from ropa.enums import LawfulBasisChoice, RetentionUnit
from ropa.exchange import layout, reading, workbook
from ropa.exchange.apply import apply_plan
from ropa.exchange.export import export_register
from ropa.exchange.ico_layout import BUSINESS_FUNCTION, RETENTION
from ropa.exchange.imports import import_register, plan_import
from ropa.exchange.layout import CHILD_SHEETS
from ropa.exchange.ours import AS_OF_REFUSED, MISSING_SHEETS
from ropa.exchange.plan import ImportAborted, Save, import_reason
from ropa.exchange.reading import read_whole_number
from ropa.exchange.workbook import (
    EMPTY_FILE,
    FORMULA_SHOWN,
    FORMULA_WITHOUT_VALUE,
    NOT_A_WORKBOOK,
    ZIP_NOT_WORKBOOK,
    ImportFileError,
    Uncalculated,
    read_workbook,
)
from ropa.models import LawfulBasis, ProcessingActivity, RetentionRule
from subjects.models import DataSubjectCategory
from tests.factories import (
    GroupCompanyFactory,
    InternationalTransferFactory,
    LawfulBasisFactory,
    ProcessingActivityFactory,
    UserFactory,
)
from tests.hostile import (
    damaged_member,
    member_xml,
    patched_member,
    with_member,
    with_sheet_xml,
)
from tests.ropa.exchange.test_ico_import import PAYROLL, write_template

pytestmark = pytest.mark.django_db

REGISTER_APPS = ("controllers", "subjects", "ropa")
FILE_NAME = "register.xlsx"
# A reference the sample register does not use.
NEW_REFERENCE = "PA-0900"


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


@pytest.fixture
def exported(tmp_path):
    """A function writing the register's XLSX export; returns its path."""

    def export(name=FILE_NAME, **options):
        path = tmp_path / name
        with path.open("wb") as out:
            export_register(fmt=options.pop("fmt", "xlsx"), out=out, **options)
        return path

    return export


def edit(path, sheet, changes):
    """Set cells of ``sheet``: {(row key or row number, column header): value}."""
    workbook = load_workbook(path)
    worksheet = workbook[sheet]
    headers = {cell.value: cell.column for cell in worksheet[1]}
    for (row, column), value in changes.items():
        if isinstance(row, str):
            row = next(
                cells[0].row
                for cells in worksheet.iter_rows(min_row=2)
                if cells[headers["Reference"] - 1].value == row
            )
        worksheet.cell(row=row, column=headers[column], value=value)
    workbook.save(path)


def delete_rows(path, sheet, predicate):
    workbook = load_workbook(path)
    worksheet = workbook[sheet]
    headers = [cell.value for cell in worksheet[1]]
    rows = [
        cells[0].row
        for cells in worksheet.iter_rows(min_row=2)
        if predicate(dict(zip(headers, (cell.value for cell in cells), strict=False)))
    ]
    for row in reversed(rows):
        worksheet.delete_rows(row)
    workbook.save(path)


def append_row(path, sheet, values):
    workbook = load_workbook(path)
    worksheet = workbook[sheet]
    headers = [cell.value for cell in worksheet[1]]
    worksheet.append([values.get(header, "") for header in headers])
    workbook.save(path)
    return worksheet.max_row


def register_models():
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_label in REGISTER_APPS
        and not model.__name__.startswith("Historical")
        # Not the register: derived data (the stored completeness).
        and model._meta.default_permissions
    ]


def snapshot():
    """Every row of every register table (links included), but save stamps."""
    return {
        model._meta.label: [
            {
                key: value
                for key, value in row.items()
                if key not in ("updated_at", "version")
            }
            for row in model.objects.order_by("pk").values()
        ]
        for model in register_models()
    }


def history_ids():
    return {
        model._meta.label: set(model.objects.values_list("pk", flat=True))
        for model in historical_models()
    }


def new_history(before):
    return {
        label: ids - before[label]
        for label, ids in history_ids().items()
        if ids - before[label]
    }


def only_change(before, after):
    """The (table, row id, field) triples that differ between two snapshots."""
    differences = set()
    for label, rows in after.items():
        old = {row["id"]: row for row in before[label]}
        new = {row["id"]: row for row in rows}
        assert old.keys() == new.keys(), label
        for pk, row in new.items():
            differences |= {
                (label, pk, key) for key, value in row.items() if old[pk][key] != value
            }
    return differences


# ---------------------------------------------------------------------------
# The round trip of our own export
# ---------------------------------------------------------------------------


def test_import_round_trip_changes_only_the_edited_cell(sample_register, exported):
    user = UserFactory(username="importer")
    path = exported()
    edit(
        path,
        layout.ACTIVITIES.name,
        {("PA-0003", "Business function"): "Customer care"},
    )
    before, history = snapshot(), history_ids()

    plan = import_register(path, file_name=FILE_NAME, user=user)

    assert plan.applied
    activity = ProcessingActivity.objects.get(reference="PA-0003")
    assert only_change(before, snapshot()) == {
        ("ropa.ProcessingActivity", activity.pk, "business_function")
    }
    assert activity.business_function == "Customer care"
    written = new_history(history)
    assert list(written) == ["ropa.HistoricalProcessingActivity"]
    (record,) = ProcessingActivity.history.filter(
        pk__in=written["ropa.HistoricalProcessingActivity"]
    )
    assert record.reference == "PA-0003"
    assert record.history_change_reason == import_reason(FILE_NAME)
    assert record.history_user == user


def test_import_brings_the_stored_gaps_of_what_it_changes_up_to_date(
    sample_register, exported
):
    path = exported()
    edit(path, layout.ACTIVITIES.name, {("PA-0003", "Recipients"): ""})
    stored_completeness.refresh()
    activity = ProcessingActivity.objects.get(reference="PA-0003")
    assert activity.stored_completeness.gaps == ""

    assert import_register(path, file_name=FILE_NAME).applied

    # Brought up to date by the import itself.
    assert stored_completeness.refresh() == 0
    activity.stored_completeness.refresh_from_db()
    assert activity.stored_completeness.gaps == "no_recipients"


def test_import_round_trip_plan_reports_the_edit(sample_register, exported):
    path = exported()
    edit(
        path,
        layout.ACTIVITIES.name,
        {("PA-0003", "Business function"): "Customer care"},
    )

    plan = plan_import(path, file_name=FILE_NAME)

    counts = plan.counts()
    assert counts[layout.ACTIVITIES.name][CHANGED] == 1
    assert counts[layout.ACTIVITIES.name][UNCHANGED] == 25
    assert (
        sum(counts[layout.LAWFUL_BASES.name].values())
        == (counts[layout.LAWFUL_BASES.name][UNCHANGED])
    )
    (row,) = [row for row in plan.rows if row.action == CHANGED]
    assert (row.sheet, row.row, row.key) == (layout.ACTIVITIES.name, 4, "PA-0003")
    assert [(c.column, c.after) for c in row.changes] == [
        ("Business function", "Customer care")
    ]


def test_import_unchanged_export_writes_nothing(sample_register, exported):
    path = exported()
    before, history = snapshot(), history_ids()

    plan = import_register(path, file_name=FILE_NAME)

    assert not plan.has_writes
    assert {row.action for row in plan.rows} == {UNCHANGED}
    assert snapshot() == before
    assert new_history(history) == {}


@pytest.mark.parametrize("prefix", ["=", "==", "+", "-", "@", "\t", "'", "'="])
def test_import_round_trip_restores_neutralised_cells(
    sample_register, exported, prefix
):
    activity = ProcessingActivityFactory(
        reference=NEW_REFERENCE,
        purpose=f"{prefix}1+1 is the purpose",
        data_source=f"{prefix}cmd|' /C calc'!A0",
    )
    path = exported()

    plan = plan_import(path, file_name=FILE_NAME)

    assert not plan.has_errors
    assert not plan.has_writes
    assert ProcessingActivity.objects.get(pk=activity.pk).purpose.startswith(prefix)


def test_import_text_with_other_line_breaks_is_unchanged(sample_register, exported):
    ProcessingActivityFactory(
        reference=NEW_REFERENCE, purpose="First line.\r\nSecond line."
    )
    path = exported()

    plan = plan_import(path, file_name=FILE_NAME)

    assert not plan.has_writes


def test_import_edit_of_many_to_many_sets_the_links(sample_register, exported):
    activity = ProcessingActivity.objects.get(reference="PA-0002")
    names = sorted(c.name for c in activity.data_subject_categories.all())
    assert len(names) > 1
    path = exported()
    edit(
        path,
        layout.ACTIVITIES.name,
        {("PA-0002", "Data subject categories"): layout.join_list(names[:1])},
    )
    history = history_ids()

    import_register(path, file_name=FILE_NAME)

    assert [c.name for c in activity.data_subject_categories.all()] == names[:1]
    written = new_history(history)
    assert list(written) == ["ropa.HistoricalProcessingActivity"]
    assert set(
        ProcessingActivity.history.filter(
            pk__in=written["ropa.HistoricalProcessingActivity"]
        ).values_list("reference", "history_change_reason")
    ) == {("PA-0002", import_reason(FILE_NAME))}


def test_import_child_sheets_replace_the_rows_of_each_activity(
    sample_register, exported
):
    activity = ProcessingActivity.objects.get(reference="PA-0001")
    bases = list(activity.lawful_bases.values_list("basis", flat=True))
    path = exported()
    delete_rows(
        path,
        layout.LAWFUL_BASES.name,
        lambda row: (
            row["Reference"] == "PA-0001"
            and row["Basis"] == LawfulBasisChoice(bases[0]).label
        ),
    )
    new_row = append_row(
        path,
        layout.LAWFUL_BASES.name,
        {
            "Reference": "PA-0001",
            "Basis": LawfulBasisChoice.VITAL_INTERESTS,
            "Explanation": "Emergencies on site.",
            "Sample value": "no",
        },
    )
    edit(
        path,
        layout.RETENTION_RULES.name,
        {("PA-0002", "Period"): 2, ("PA-0002", "Period unit"): RetentionUnit.YEARS},
    )

    plan = import_register(path, file_name=FILE_NAME)

    actions = {(row.sheet, row.action, row.key) for row in plan.rows}
    assert (layout.LAWFUL_BASES.name, DELETED, f"PA-0001 / {bases[0]}") in actions
    assert (
        layout.LAWFUL_BASES.name,
        NEW,
        f"PA-0001 / {LawfulBasisChoice.VITAL_INTERESTS}",
    ) in actions
    assert [row.row for row in plan.rows if row.action == NEW] == [new_row]
    assert sorted(activity.lawful_bases.values_list("basis", flat=True)) == sorted(
        [*bases[1:], LawfulBasisChoice.VITAL_INTERESTS]
    )
    rule = RetentionRule.objects.get(
        activity__reference="PA-0002", personal_data_category=None
    )
    assert (rule.period, rule.period_unit) == (2, RetentionUnit.YEARS)
    deleted = LawfulBasis.history.get(history_type="-")
    assert deleted.history_change_reason == import_reason(FILE_NAME)


def test_import_new_activity_with_its_child_rows(sample_register, exported):
    path = exported()
    template = ProcessingActivity.objects.get(reference="PA-0001")
    workbook = load_workbook(path)
    sheet = workbook[layout.ACTIVITIES.name]
    headers = [cell.value for cell in sheet[1]]
    values = dict(zip(headers, (cell.value for cell in sheet[2]), strict=True))
    values.update({"Reference": "PA-0100", "Name": "Visitor logs"})
    sheet.append([values[header] for header in headers])
    workbook.save(path)
    append_row(
        path,
        layout.RETENTION_RULES.name,
        {
            "Reference": "PA-0100",
            "Criteria": "Until the visit is over.",
            "Action at the end": "erase",
            "Sample value": "no",
        },
    )

    import_register(path, file_name=FILE_NAME)

    created = ProcessingActivity.objects.get(reference="PA-0100")
    assert set(created.organisations.all()) == set(template.organisations.all())
    assert created.retention_rules.get().criteria == "Until the visit is over."
    assert ProcessingActivity.objects.filter(name="Visitor logs").count() == 1


def test_import_transfer_rows_are_keyed(sample_register, exported):
    transfer = InternationalTransferFactory(activity__reference=NEW_REFERENCE)
    path = exported()
    edit(path, layout.TRANSFERS.name, {(NEW_REFERENCE, "Notes"): "Reviewed."})

    import_register(path, file_name=FILE_NAME)

    transfer.refresh_from_db()
    assert transfer.notes == "Reviewed."
    assert transfer.activity.transfers.count() == 1


# ---------------------------------------------------------------------------
# Row errors: every one reported, nothing written
# ---------------------------------------------------------------------------


def test_import_file_whose_last_row_is_bad_writes_nothing(sample_register, exported):
    path = exported()
    edit(
        path,
        layout.ACTIVITIES.name,
        {
            ("PA-0001", "Business function"): "Changed",
            ("PA-0002", "Name"): "A new name",
            ("PA-0026", "Status"): "archived",
        },
    )
    before, history = snapshot(), history_ids()

    plan = import_register(path, file_name=FILE_NAME)

    assert not plan.applied
    assert [str(error) for error in plan.errors] == [
        "Sheet 'Activities', row 27, column 'Status': "
        + reading.NOT_A_CHOICE.format(text="archived", allowed="Draft; Active; Retired")
    ]
    assert plan.counts()[layout.ACTIVITIES.name][INVALID] == 1
    assert snapshot() == before
    assert new_history(history) == {}


def test_import_failure_while_writing_rolls_back(
    sample_register, exported, monkeypatch
):
    path = exported()
    edit(
        path,
        layout.ACTIVITIES.name,
        {("PA-0001", "Business function"): "First", ("PA-0026", "Name"): "Last"},
    )
    plan = plan_import(path, file_name=FILE_NAME)
    last_row, last = plan.operations()[-1]
    original = Save.apply

    def fail_on_last(self, stamp):
        if self is last:
            raise DatabaseError("disk full")
        original(self, stamp)

    def disk_full(*args, **kwargs):
        raise DatabaseError("disk full")

    # The batch fails, and then its last row, written on its own to find
    # the row at fault.
    monkeypatch.setattr("ropa.exchange.apply.bulk_update_with_history", disk_full)
    monkeypatch.setattr(Save, "apply", fail_on_last)
    before, history = snapshot(), history_ids()

    with pytest.raises(ImportAborted) as raised:
        apply_plan(plan)

    assert raised.value.error.row == last_row.row
    assert snapshot() == before
    assert new_history(history) == {}


@pytest.mark.parametrize(
    ("sheet", "changes", "column", "reason"),
    [
        (
            layout.ACTIVITIES.name,
            {("PA-0001", "Data subject categories"): "Customers; Martians"},
            "Data subject categories",
            "Unknown data subject categories: 'Customers', 'Martians'.",
        ),
        (
            layout.ACTIVITIES.name,
            {("PA-0001", "Recipients"): "Nobody we know"},
            "Recipients",
            "Unknown recipient: 'Nobody we know'.",
        ),
        (
            layout.ACTIVITIES.name,
            {("PA-0001", "Owner"): "ghost"},
            "Owner",
            "Unknown user: 'ghost'.",
        ),
        (
            layout.ACTIVITIES.name,
            {("PA-0001", "Personal data categories"): ""},
            "Personal data categories",
            "Required. Name at least one.",
        ),
        (
            layout.ACTIVITIES.name,
            {("PA-0001", "DPIA required"): "maybe"},
            "DPIA required",
            "'maybe' is not yes or no.",
        ),
        (
            layout.ACTIVITIES.name,
            {("PA-0001", "DPIA required"): "yes"},
            "DPIA required / DPIA progress",
            "Give the DPIA progress exactly when a DPIA is required.",
        ),
        (
            layout.ACTIVITIES.name,
            {("PA-0001", "Name"): "To fulfil legal obligations"},
            "Name",
            "Processing activity with this Name already exists.",
        ),
        (
            layout.ACTIVITIES.name,
            {("PA-0001", "Reference"): "PA-0002"},
            "Reference",
            "'PA-0002' is also on row 2.",
        ),
        (
            layout.LAWFUL_BASES.name,
            {(2, "Reference"): "PA-0999"},
            "Reference",
            "No activity 'PA-0999' on the 'Activities' sheet: child rows are "
            "imported with their activity.",
        ),
        (
            layout.RETENTION_RULES.name,
            {(2, "Period"): 500},
            "Period",
            "Ensure this value is less than or equal to 200.",
        ),
    ],
)
def test_import_reports_row_errors(
    sample_register, exported, sheet, changes, column, reason
):
    path = exported()
    edit(path, sheet, changes)
    before = snapshot()

    plan = import_register(path, file_name=FILE_NAME)

    assert (sheet, column, reason) in [
        (error.sheet, error.column, error.reason) for error in plan.errors
    ]
    assert not plan.applied
    assert snapshot() == before


def test_import_reports_every_error_with_its_row(sample_register, exported):
    path = exported()
    edit(
        path,
        layout.ACTIVITIES.name,
        {("PA-0002", "Status"): "lost", ("PA-0005", "Profiling"): "lots"},
    )
    edit(path, layout.TRANSFERS.name, {})

    plan = plan_import(path, file_name=FILE_NAME)

    assert [(error.row, error.column) for error in plan.errors] == [
        (3, "Status"),
        (6, "Profiling"),
    ]


# ---------------------------------------------------------------------------
# Files that cannot be imported
# ---------------------------------------------------------------------------


def test_import_refuses_a_file_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "register.xlsx"
    path.write_text("Reference;Name\nPA-0001;Payroll\n", encoding="latin-1")

    with pytest.raises(ImportFileError) as raised:
        plan_import(path, file_name="register.xlsx")

    assert str(raised.value) == NOT_A_WORKBOOK.format(file_name="register.xlsx")


def test_import_refuses_the_zip_of_csv_files(sample_register, exported):
    path = exported("register.zip", fmt="csv")

    with pytest.raises(ImportFileError) as raised:
        plan_import(path, file_name="register.zip")

    assert str(raised.value) == ZIP_NOT_WORKBOOK.format(file_name="register.zip")


def test_import_refuses_a_broken_workbook(tmp_path):
    path = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types")
        archive.writestr("xl/workbook.xml", "<workbook")

    with pytest.raises(ImportFileError, match="cannot be read as an Excel workbook"):
        plan_import(path, file_name="broken.xlsx")


def test_import_refuses_an_empty_file(tmp_path):
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")

    with pytest.raises(ImportFileError) as raised:
        plan_import(path, file_name="empty.xlsx")

    assert str(raised.value) == EMPTY_FILE.format(file_name="empty.xlsx")


def test_import_refuses_an_oversized_file(sample_register, exported, settings):
    path = exported()
    settings.ROPA_IMPORT_MAX_BYTES = path.stat().st_size - 1

    with pytest.raises(ImportFileError, match="the largest file that can be imported"):
        plan_import(path, file_name=FILE_NAME)


def test_import_refuses_a_workbook_that_unpacks_too_large(tmp_path, settings):
    settings.ROPA_IMPORT_MAX_BYTES = 10_000
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "")
        archive.writestr("xl/worksheets/sheet1.xml", " " * 1_000_000)

    with pytest.raises(ImportFileError, match="unpacks to more than"):
        plan_import(path, file_name="bomb.xlsx")


def test_import_refuses_a_workbook_without_a_register_sheet(sample_register, exported):
    path = exported()
    workbook = load_workbook(path)
    del workbook[layout.TRANSFERS.name]
    workbook.save(path)

    with pytest.raises(ImportFileError) as raised:
        plan_import(path, file_name=FILE_NAME)

    assert str(raised.value) == MISSING_SHEETS.format(
        file_name=FILE_NAME, names="'Transfers'"
    )


@pytest.mark.parametrize("column", ["Reference", "Status", "Purpose"])
def test_import_refuses_a_sheet_without_a_required_column(
    sample_register, exported, column
):
    path = exported()
    workbook = load_workbook(path)
    sheet = workbook[layout.ACTIVITIES.name]
    sheet.delete_cols(layout.ACTIVITIES.headers.index(column) + 1)
    workbook.save(path)

    with pytest.raises(ImportFileError) as raised:
        plan_import(path, file_name=FILE_NAME)

    assert str(raised.value) == (
        f"Sheet 'Activities' lacks the columns '{column}' in row 1."
    )


def test_import_ignores_read_only_columns(sample_register, exported):
    path = exported()
    edit(path, layout.ACTIVITIES.name, {("PA-0001", "Updated at"): "2001-01-01"})
    workbook = load_workbook(path)
    sheet = workbook[layout.ACTIVITIES.name]
    sheet.delete_cols(layout.ACTIVITIES.headers.index("Lawful bases") + 1)
    workbook.save(path)

    plan = plan_import(path, file_name=FILE_NAME)

    assert not plan.has_errors
    assert not plan.has_writes


def test_import_refuses_an_as_of_export(sample_register, exported):
    day = timezone.localdate()
    path = exported(as_of=day)

    with pytest.raises(ImportFileError) as raised:
        plan_import(path, file_name=FILE_NAME)

    assert str(raised.value) == AS_OF_REFUSED.format(
        file_name=FILE_NAME, as_of=day.isoformat()
    )


def test_import_refuses_a_workbook_without_activities(tmp_path):
    path = tmp_path / "blank.xlsx"
    workbook = Workbook()
    workbook.active.title = layout.CONTROLLER.name
    workbook.active.append(("As of", layout.CURRENT))
    for sheet in layout.IMPORTED_SHEETS:
        workbook.create_sheet(sheet.name).append(sheet.headers)
    workbook.save(path)

    with pytest.raises(ImportFileError, match="nothing to import"):
        plan_import(path, file_name="blank.xlsx")


# ---------------------------------------------------------------------------
# The format
# ---------------------------------------------------------------------------


def test_import_columns_cover_the_activities_sheet():
    read = {column.header for column in layout.ACTIVITIES.imported}
    not_written = {*layout.ACTIVITIES.read_only, *layout.ACTIVITIES.checked}
    assert read | not_written == set(layout.ACTIVITIES.headers)
    assert not read & not_written


@pytest.mark.parametrize("child", CHILD_SHEETS, ids=lambda child: child.name)
def test_import_columns_cover_the_child_sheets(child):
    read = {"Reference", *(column.header for column in child.imported)}
    assert read | set(child.checked) == set(child.headers)
    key = {
        "Reference",
        *(c.header for c in child.imported if c.field in child.key_fields),
    }
    assert key == set(child.key)


def test_import_reason_names_the_file():
    assert import_reason("ropa 2025.xlsx") == "Imported from ropa 2025.xlsx"


def test_import_reads_dates_typed_into_text_cells(sample_register, exported):
    path = exported()
    edit(
        path,
        layout.ACTIVITIES.name,
        {("PA-0001", "Link to DPIA"): datetime.date(2025, 3, 1)},
    )

    plan = import_register(path, file_name=FILE_NAME)

    activity = ProcessingActivity.objects.get(reference="PA-0001")
    assert activity.dpia_reference == "2025-03-01"
    assert plan.total(CHANGED) == 1


def test_import_does_not_validate_rows_it_leaves_alone(sample_register, exported):
    # Art. 6(1)(f) without the interest: the model's clean() refuses it, the
    # database does not; the row predates the rule.
    basis = LawfulBasisFactory(
        activity__reference=NEW_REFERENCE,
        basis=LawfulBasisChoice.LEGITIMATE_INTERESTS,
        legitimate_interest="",
    )
    path = exported()

    untouched = plan_import(path, file_name=FILE_NAME)
    edit(path, layout.LAWFUL_BASES.name, {(NEW_REFERENCE, "Explanation"): "Edited."})
    edited = plan_import(path, file_name=FILE_NAME)

    assert not untouched.has_errors
    assert [(error.column, error.reason) for error in edited.errors] == [
        (
            "Legitimate interest pursued",
            "State the legitimate interest pursued (Art. 13(1)(d)).",
        )
    ]
    assert basis.activity.lawful_bases.get().explanation != "Edited."


def test_import_reads_a_workbook_whatever_its_file_name(sample_register, exported):
    path = exported("register-without-extension")

    plan = plan_import(path, file_name=path.name)

    assert not plan.has_errors


# ---------------------------------------------------------------------------
# Damaged zips, formulas, whitespace, long numbers and texts
# ---------------------------------------------------------------------------


def parts_text(path):
    """The workbook's parts at ``path``, as one text."""
    with zipfile.ZipFile(path) as archive:
        return "".join(
            archive.read(info).decode("utf-8", "replace") for info in archive.infolist()
        )


def replaced_in_parts(path, old, new):
    """Rewrite the workbook at ``path``, ``old`` replaced by ``new`` in its parts."""
    buffer = io.BytesIO()
    found = 0
    with (
        zipfile.ZipFile(path) as source,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info)
            found += data.count(old.encode())
            target.writestr(info.filename, data.replace(old.encode(), new.encode()))
    assert found == 1, found
    path.write_bytes(buffer.getvalue())


UNPACKING_FAILURES = {
    "encrypted part": (
        lambda content: patched_member(content, "xl/workbook.xml", flags=0x1),
        "a part of it is encrypted",
    ),
    "unknown compression": (
        lambda content: patched_member(content, "xl/workbook.xml", method=99),
        "a part of it is packed in a way that cannot be unpacked",
    ),
    "damaged compressed data": (
        lambda content: damaged_member(content, "xl/workbook.xml"),
        "a part of it is damaged and cannot be unpacked",
    ),
    "undecodable part name": (
        lambda content: with_member(content, b"caf\xe9.xml", b"<x/>"),
        "the name of a part of it is not valid text",
    ),
}


@pytest.mark.parametrize(
    ("damage", "reason"), UNPACKING_FAILURES.values(), ids=UNPACKING_FAILURES
)
def test_import_refuses_a_workbook_whose_zip_cannot_be_unpacked(
    exported, damage, reason
):
    path = exported()
    path.write_bytes(damage(path.read_bytes()))
    before = snapshot()

    with pytest.raises(ImportFileError) as raised:
        plan_import(path, file_name=FILE_NAME)

    assert str(raised.value).startswith(
        f"'{FILE_NAME}' cannot be read as an Excel workbook: {reason} ("
    )
    assert snapshot() == before


def test_import_refuses_a_required_text_of_whitespace_only(sample_register, exported):
    path = exported()
    edit(path, layout.ACTIVITIES.name, {("PA-0001", "Name"): " \u00a0\t\u3000"})
    before = snapshot()

    plan = import_register(path, file_name=FILE_NAME)

    assert [(error.row, error.column, error.reason) for error in plan.errors] == [
        (2, "Name", "This field cannot be blank.")
    ]
    assert snapshot() == before


def test_import_reads_an_optional_text_of_whitespace_only_as_empty(
    sample_register, exported
):
    path = exported()
    edit(path, layout.ACTIVITIES.name, {("PA-0002", "Systems and software"): "  \t"})

    plan = import_register(path, file_name=FILE_NAME)

    assert plan.applied
    assert ProcessingActivity.objects.get(reference="PA-0002").systems == ""


def test_import_strips_the_spaces_around_text(sample_register, exported):
    path = exported()
    edit(path, layout.ACTIVITIES.name, {("PA-0002", "Systems and software"): " SAP "})

    import_register(path, file_name=FILE_NAME)

    assert ProcessingActivity.objects.get(reference="PA-0002").systems == "SAP"


def test_import_refuses_a_number_too_long_to_read(sample_register, exported):
    path = exported()
    edit(path, layout.RETENTION_RULES.name, {(2, "Period"): "9" * 5000})
    before = snapshot()

    plan = import_register(path, file_name=FILE_NAME)

    assert (layout.RETENTION_RULES.name, 2, "Period") in [
        (error.sheet, error.row, error.column) for error in plan.errors
    ]
    reasons = [error.reason for error in plan.errors if error.column == "Period"]
    assert reasons == [TOO_MANY_DIGITS.format(digits=5000, limit=MAX_DIGITS)]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("0" * 5000 + "12", 12),
        ("000", 0),
        ("\u0663", 3),
        ("9" * MAX_DIGITS, 10**MAX_DIGITS - 1),
    ],
)
def test_read_whole_number_reads_leading_zeros_and_any_digits(text, number):
    assert read_whole_number(text, None) == number


def test_read_whole_number_refuses_more_digits_than_any_column_takes():
    with pytest.raises(CellError) as raised:
        read_whole_number("1" + "0" * MAX_DIGITS, None)

    assert str(raised.value) == TOO_MANY_DIGITS.format(
        digits=MAX_DIGITS + 1, limit=MAX_DIGITS
    )


FORMULA = '=UPPER("payroll notice")'


def test_import_refuses_a_formula_saved_without_its_value(sample_register, exported):
    path = exported()
    # openpyxl saves a formula as it is, without calculating its value.
    edit(path, layout.ACTIVITIES.name, {("PA-0001", "Notice title"): FORMULA})
    before = snapshot()

    plan = import_register(path, file_name=FILE_NAME)

    assert [
        (error.sheet, error.row, error.column, error.reason) for error in plan.errors
    ] == [
        (
            layout.ACTIVITIES.name,
            2,
            "Notice title",
            FORMULA_WITHOUT_VALUE.format(formula=FORMULA),
        )
    ]
    assert snapshot() == before


def test_import_reads_the_value_a_formula_was_calculated_to(sample_register, exported):
    path = exported()
    edit(path, layout.ACTIVITIES.name, {("PA-0001", "Notice title"): FORMULA})
    # As a spreadsheet program saves it: the formula and its value.
    # (openpyxl writes the empty value as <v /> or <v></v>, as its XML
    # library does.)
    empty_value = "<v></v>" if "<v></v>" in parts_text(path) else "<v />"
    replaced_in_parts(
        path,
        f"><f>{FORMULA[1:]}</f>{empty_value}",
        f' t="str"><f>{FORMULA[1:]}</f><v>PAYROLL NOTICE</v>',
    )

    plan = import_register(path, file_name=FILE_NAME)

    assert plan.applied, [str(error) for error in plan.errors]
    activity = ProcessingActivity.objects.get(reference="PA-0001")
    assert activity.notice_title == "PAYROLL NOTICE"


@pytest.mark.parametrize("utf16", [False, True], ids=["utf-8", "utf-16"])
def test_read_workbook_finds_a_formula_whatever_the_xml_spelling(tmp_path, utf16):
    workbook = Workbook()
    workbook.active["A1"] = "Text"
    workbook.active["B2"] = "=1+1"
    path = tmp_path / "prefixed.xlsx"
    workbook.save(path)
    # Some programs write every element with a namespace prefix (x:c, x:f).
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    xml = re.sub(r"<(/?)(\w+)", r"<\1x:\2", xml).replace('xmlns="', 'xmlns:x="')
    if utf16:
        xml = '<?xml version="1.0" encoding="UTF-16"?>' + xml
    parts["xl/worksheets/sheet1.xml"] = xml.encode("utf-16" if utf16 else "utf-8")
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)

    tables = read_workbook(path, file_name="prefixed.xlsx")

    assert tables["Sheet"].rows == [
        (1, ("Text",)),
        (2, (None, Uncalculated("=1+1"))),
    ]


@pytest.mark.parametrize("size", ["A1:B2", "A1:XFD1048576"], ids=["smaller", "larger"])
def test_read_workbook_reads_the_cells_a_sheet_has_whatever_size_it_declares(
    tmp_path, size
):
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Sheet")
    for _ in range(3):
        sheet.append(["a", "b", "c"])
    path = tmp_path / "sized.xlsx"
    workbook.save(path)
    member = "xl/worksheets/sheet1.xml"
    xml = member_xml(path.read_bytes(), member)
    # A sheet's size is declared before its views (openpyxl writes none here).
    sized = xml.replace("<sheetViews>", f'<dimension ref="{size}" /><sheetViews>', 1)
    assert sized != xml
    path.write_bytes(with_sheet_xml(path.read_bytes(), member, sized))

    tables = read_workbook(path, file_name="sized.xlsx")

    assert tables["Sheet"].rows == [(row, ("a", "b", "c")) for row in (1, 2, 3)]


def test_import_refuses_a_formula_without_its_value_as_a_reference(
    sample_register, exported
):
    path = exported()
    edit(path, layout.ACTIVITIES.name, {(2, "Reference"): "=B2"})

    plan = plan_import(path, file_name=FILE_NAME)

    assert FORMULA_WITHOUT_VALUE.format(formula="=B2") in [
        error.reason
        for error in plan.errors
        if (error.row, error.column) == (2, "Reference")
    ]


def test_import_refuses_a_formula_without_its_value_in_a_child_sheet(
    sample_register, exported
):
    path = exported()
    edit(
        path,
        layout.RETENTION_RULES.name,
        {(2, "Reference"): "=B2", (3, "Period"): "=1"},
    )
    before = snapshot()

    plan = import_register(path, file_name=FILE_NAME)

    errors = [(error.row, error.column, error.reason) for error in plan.errors]
    assert (
        3,
        "Period",
        FORMULA_WITHOUT_VALUE.format(formula="=1"),
    ) in errors
    # A formula's row names no activity: refused, never taken for another.
    assert [row for row, column, _ in errors if column == "Reference"] == [2]
    assert snapshot() == before


def test_import_refuses_a_formula_without_its_value_as_a_header(exported):
    path = exported()
    edit(path, layout.ACTIVITIES.name, {(1, "Notice title"): '="Notice title"'})

    with pytest.raises(ImportFileError, match="lacks the columns 'Notice title'"):
        plan_import(path, file_name=FILE_NAME)


def test_import_quotes_the_start_of_a_long_formula(sample_register, exported):
    path = exported()
    formula = "=" + "+".join(["1"] * 200)
    edit(path, layout.ACTIVITIES.name, {("PA-0001", "Notice title"): formula})

    plan = plan_import(path, file_name=FILE_NAME)

    [reason] = [error.reason for error in plan.errors]
    assert reason == FORMULA_WITHOUT_VALUE.format(
        formula=formula[:FORMULA_SHOWN] + "\u2026"
    )


def test_ico_import_refuses_a_formula_saved_without_its_value(tmp_path):
    controller = GroupCompanyFactory(name="Example Ltd")
    path = write_template(
        tmp_path / "ico.xlsx", rows=[{**PAYROLL, BUSINESS_FUNCTION: "=A1"}]
    )
    before = snapshot()

    plan = import_register(
        path, file_name="ico.xlsx", format="ico", controller=controller
    )

    assert (5, BUSINESS_FUNCTION, FORMULA_WITHOUT_VALUE.format(formula="=A1")) in [
        (error.row, error.column, error.reason) for error in plan.errors
    ]
    assert snapshot() == before


def test_ico_import_keeps_a_period_too_long_to_read_as_criteria(tmp_path):
    controller = GroupCompanyFactory(name="Example Ltd")
    text = "9" * 5000 + " years"
    path = write_template(tmp_path / "ico.xlsx", rows=[{**PAYROLL, RETENTION: text}])

    plan = import_register(
        path, file_name="ico.xlsx", format="ico", controller=controller
    )

    assert plan.applied, [str(error) for error in plan.errors]
    rule = RetentionRule.objects.get(activity__organisations=controller)
    assert (rule.period, rule.criteria) == (None, text)


def test_import_refuses_a_text_longer_than_a_cell(sample_register, exported):
    path = exported()
    edit(path, layout.ACTIVITIES.name, {("PA-0001", "Purpose"): "LONG PURPOSE"})
    # openpyxl cuts what it writes to a cell; a file of another program may not.
    replaced_in_parts(path, ">LONG PURPOSE<", f">{'x' * (CELL_LIMIT + 1)}<")
    before = snapshot()

    plan = import_register(path, file_name=FILE_NAME)

    assert [(error.row, error.column, error.reason) for error in plan.errors] == [
        (
            2,
            "Purpose",
            TOO_LONG_FOR_A_CELL
            % {"limit": f"{CELL_LIMIT:,}", "length": f"{CELL_LIMIT + 1:,}"},
        )
    ]
    assert snapshot() == before


# Chunks of more bytes than the longest element name: each cuts the XML at
# another place before, in or after the formula's tag.
@pytest.mark.parametrize("chunk", range(14, 50))
def test_the_look_for_formulas_finds_a_tag_cut_between_chunks(monkeypatch, chunk):
    xml = '<x:worksheet xmlns:x="main"><x:c r="A1"><x:f>1+1</x:f></x:c>'
    cases = {xml: True, xml.replace("x:f>", "x:fx>"): False}
    monkeypatch.setattr(workbook, "_CHUNK", chunk)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for number, text in enumerate(cases):
            archive.writestr(f"sheet{number}.xml", text)

    with zipfile.ZipFile(buffer) as archive:
        found = [
            workbook._has_formulas(archive, f"sheet{number}.xml")
            for number in range(len(cases))
        ]

    assert found == list(cases.values())


# ---------------------------------------------------------------------------
# Writing in batches
# ---------------------------------------------------------------------------


def live_links(activity):
    return {
        field.name: set(getattr(activity, field.name).values_list("pk", flat=True))
        for field in ProcessingActivity.history.model._history_m2m_fields
    }


def recorded_links(record):
    """The links simple-history copied with a history row of an activity."""
    return {
        field.name: set(
            getattr(record, field.name).values_list(
                field.m2m_reverse_field_name(), flat=True
            )
        )
        for field in type(record)._history_m2m_fields
    }


def test_import_writes_one_history_row_per_change_with_its_links(
    sample_register, exported
):
    user = UserFactory(username="importer")
    # PA-0002 loses categories; PA-0004 keeps one and gains another.
    second = ProcessingActivity.objects.get(reference="PA-0002")
    names = sorted(c.name for c in second.data_subject_categories.all())
    fourth = ProcessingActivity.objects.get(reference="PA-0004")
    wanted = sorted(
        [
            fourth.data_subject_categories.values_list("name", flat=True)[0],
            DataSubjectCategory.objects.exclude(activities=fourth)
            .values_list("name", flat=True)
            .first(),
        ]
    )
    path = exported()
    edit(
        path,
        layout.ACTIVITIES.name,
        {
            ("PA-0002", "Data subject categories"): layout.join_list(names[:1]),
            ("PA-0003", "Purpose"): "Reviewed.",
            ("PA-0004", "Purpose"): "Reviewed too.",
            ("PA-0004", "Data subject categories"): layout.join_list(wanted),
        },
    )
    before = {
        activity.reference: activity
        for activity in ProcessingActivity.objects.filter(
            reference__in=["PA-0002", "PA-0003", "PA-0004"]
        )
    }
    history = history_ids()

    import_register(path, file_name=FILE_NAME, user=user)

    written = ProcessingActivity.history.filter(
        pk__in=new_history(history)["ropa.HistoricalProcessingActivity"]
    )
    assert sorted(record.reference for record in written) == sorted(before)
    for record in written:
        activity = ProcessingActivity.objects.get(pk=record.id)
        old = before[activity.reference]
        assert activity.version == old.version + 1 == record.version
        assert activity.updated_at > old.updated_at
        assert (record.history_type, record.history_user) == ("~", user)
        assert record.history_change_reason == import_reason(FILE_NAME)
        assert (record.purpose, record.updated_at) == (
            activity.purpose,
            activity.updated_at,
        )
        assert recorded_links(record) == live_links(activity)
    assert [c.name for c in second.data_subject_categories.all()] == names[:1]
    assert [c.name for c in fourth.data_subject_categories.all()] == wanted
    assert ProcessingActivity.objects.get(reference="PA-0003").purpose == "Reviewed."


def test_import_new_activity_is_one_history_row_with_its_links(
    sample_register, exported
):
    user = UserFactory(username="importer")
    path = exported()
    workbook = load_workbook(path)
    sheet = workbook[layout.ACTIVITIES.name]
    headers = [cell.value for cell in sheet[1]]
    values = dict(zip(headers, (cell.value for cell in sheet[2]), strict=True))
    values.update({"Reference": "PA-0100", "Name": "Visitor logs", "Version": None})
    sheet.append([values[header] for header in headers])
    workbook.save(path)
    append_row(
        path,
        layout.RETENTION_RULES.name,
        {
            "Reference": "PA-0100",
            "Criteria": "Until the visit is over.",
            "Action at the end": "erase",
            "Sample value": "no",
        },
    )

    import_register(path, file_name=FILE_NAME, user=user)

    created = ProcessingActivity.objects.get(reference="PA-0100")
    (record,) = created.history.all()
    assert (record.history_type, record.history_user, record.version) == (
        "+",
        user,
        1,
    )
    assert record.history_change_reason == import_reason(FILE_NAME)
    assert recorded_links(record) == live_links(created)
    assert all(live_links(created)[name] for name in ("organisations", "recipients"))
    (rule,) = created.retention_rules.get().history.all()
    assert (rule.history_type, rule.history_user) == ("+", user)
    assert rule.history_change_reason == import_reason(FILE_NAME)


def test_import_queries_per_changed_row_stay_few(sample_register, exported):
    def queries_to_change(references):
        path = exported()
        edit(
            path,
            layout.ACTIVITIES.name,
            {
                (reference, "Purpose"): f"Reviewed {reference}."
                for reference in references
            },
        )
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as queries:
            plan = import_register(path, file_name=FILE_NAME)
        assert plan.total(CHANGED) == len(references)
        return len(queries)

    few = queries_to_change(["PA-0001", "PA-0002"])
    many = queries_to_change([f"PA-{number:04d}" for number in range(3, 27)])

    # Per extra row at most the owner and the joint arrangement, checked to
    # exist when written (about 1.5 queries a row); row by row it was over 40.
    # Besides, the database's verdict on a check constraint is asked once per
    # combination of the values it reads (ConstraintChecks): the sample's
    # DPIA screenings and profiling bring a few more combinations.
    assert many - few <= 2 * (24 - 2) + 6


def test_import_batch_refused_by_the_database_names_the_row(sample_register, exported):
    path = exported()
    edit(
        path,
        layout.ACTIVITIES.name,
        {
            ("PA-0001", "Purpose"): "First.",
            ("PA-0003", "Name"): "Taken meanwhile",
            ("PA-0005", "Purpose"): "Last.",
        },
    )
    plan = plan_import(path, file_name=FILE_NAME)
    ProcessingActivityFactory(reference=NEW_REFERENCE, name="Taken meanwhile")
    before, history = snapshot(), history_ids()

    with pytest.raises(ImportAborted) as raised:
        apply_plan(plan)

    error = raised.value.error
    assert (error.sheet, error.row) == (layout.ACTIVITIES.name, 4)
    assert error.reason == "Processing activity with this Name already exists."
    assert snapshot() == before
    assert new_history(history) == {}


# ---------------------------------------------------------------------------
# Files exported before a column was added
# ---------------------------------------------------------------------------

KEPT = "Kept from an import"


def without_column(path, sheet, header):
    """Delete the column ``header`` of ``sheet``, as a file older than it lacks it."""
    workbook = load_workbook(path)
    worksheet = workbook[sheet]
    headers = [cell.value for cell in worksheet[1]]
    worksheet.delete_cols(headers.index(header) + 1)
    workbook.save(path)


def test_import_of_a_file_exported_before_a_column_leaves_its_field(
    sample_register, exported
):
    kept = ProcessingActivity.objects.get(reference="PA-0002")
    kept.import_notes = "Controller: Infobric AB"
    kept.save()
    notes = dict(ProcessingActivity.objects.values_list("reference", "import_notes"))
    path = exported()
    without_column(path, layout.ACTIVITIES.name, KEPT)
    edit(path, layout.ACTIVITIES.name, {("PA-0002", "Purpose"): "Rewritten."})

    plan = import_register(path, file_name=FILE_NAME)

    assert plan.applied
    assert not plan.has_errors
    assert ProcessingActivity.objects.get(reference="PA-0002").purpose == "Rewritten."
    assert (
        dict(ProcessingActivity.objects.values_list("reference", "import_notes"))
        == notes
    )
    assert notes["PA-0002"] == "Controller: Infobric AB"


def test_import_of_a_file_exported_before_a_column_gives_a_new_activity_its_default(
    sample_register, exported
):
    path = exported()
    without_column(path, layout.ACTIVITIES.name, KEPT)
    workbook = load_workbook(path)
    sheet = workbook[layout.ACTIVITIES.name]
    headers = [cell.value for cell in sheet[1]]
    values = dict(zip(headers, (cell.value for cell in sheet[2]), strict=True))
    values.update({"Reference": NEW_REFERENCE, "Name": "Visitor logs"})
    sheet.append([values[header] for header in headers])
    workbook.save(path)

    import_register(path, file_name=FILE_NAME)

    created = ProcessingActivity.objects.get(reference=NEW_REFERENCE)
    assert created.import_notes == ""


def test_import_of_a_file_exported_before_a_column_still_needs_the_others(
    sample_register, exported
):
    path = exported()
    without_column(path, layout.ACTIVITIES.name, KEPT)
    without_column(path, layout.ACTIVITIES.name, "Purpose")

    with pytest.raises(ImportFileError) as raised:
        plan_import(path, file_name=FILE_NAME)

    assert (
        str(raised.value) == "Sheet 'Activities' lacks the columns 'Purpose' in row 1."
    )
