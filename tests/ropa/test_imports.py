import datetime
import zipfile

import pytest
from django.apps import apps
from django.db import DatabaseError
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from ropa import register_format as fmt
from ropa.enums import LawfulBasisChoice, RetentionUnit
from ropa.exports import export_register
from ropa.history import historical_models
from ropa.imports import (
    ACTIVITY_COLUMNS,
    AS_OF_REFUSED,
    CHANGED,
    CHILD_SHEETS,
    DELETED,
    EMPTY_FILE,
    INVALID,
    MISSING_SHEETS,
    NEW,
    NOT_A_WORKBOOK,
    UNCHANGED,
    ZIP_NOT_WORKBOOK,
    ImportAborted,
    ImportFileError,
    Save,
    apply_plan,
    import_reason,
    import_register,
    plan_import,
)
from ropa.models import LawfulBasis, ProcessingActivity, RetentionRule
from tests.factories import (
    InternationalTransferFactory,
    LawfulBasisFactory,
    ProcessingActivityFactory,
    UserFactory,
)

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
    edit(path, fmt.ACTIVITIES.name, {("PA-0003", "Business function"): "Customer care"})
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


def test_import_round_trip_plan_reports_the_edit(sample_register, exported):
    path = exported()
    edit(path, fmt.ACTIVITIES.name, {("PA-0003", "Business function"): "Customer care"})

    plan = plan_import(path, file_name=FILE_NAME)

    counts = plan.counts()
    assert counts[fmt.ACTIVITIES.name][CHANGED] == 1
    assert counts[fmt.ACTIVITIES.name][UNCHANGED] == 25
    assert (
        sum(counts[fmt.LAWFUL_BASES.name].values())
        == (counts[fmt.LAWFUL_BASES.name][UNCHANGED])
    )
    (row,) = [row for row in plan.rows if row.action == CHANGED]
    assert (row.sheet, row.row, row.key) == (fmt.ACTIVITIES.name, 4, "PA-0003")
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
        fmt.ACTIVITIES.name,
        {("PA-0002", "Data subject categories"): fmt.join_list(names[:1])},
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
        fmt.LAWFUL_BASES.name,
        lambda row: row["Reference"] == "PA-0001" and row["Basis"] == bases[0],
    )
    new_row = append_row(
        path,
        fmt.LAWFUL_BASES.name,
        {
            "Reference": "PA-0001",
            "Basis": LawfulBasisChoice.VITAL_INTERESTS,
            "Explanation": "Emergencies on site.",
            "Sample value": "no",
        },
    )
    edit(
        path,
        fmt.RETENTION_RULES.name,
        {("PA-0002", "Period"): 2, ("PA-0002", "Period unit"): RetentionUnit.YEARS},
    )

    plan = import_register(path, file_name=FILE_NAME)

    actions = {(row.sheet, row.action, row.key) for row in plan.rows}
    assert (fmt.LAWFUL_BASES.name, DELETED, f"PA-0001 / {bases[0]}") in actions
    assert (
        fmt.LAWFUL_BASES.name,
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
    sheet = workbook[fmt.ACTIVITIES.name]
    headers = [cell.value for cell in sheet[1]]
    values = dict(zip(headers, (cell.value for cell in sheet[2]), strict=True))
    values.update({"Reference": "PA-0100", "Name": "Visitor logs"})
    sheet.append([values[header] for header in headers])
    workbook.save(path)
    append_row(
        path,
        fmt.RETENTION_RULES.name,
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
    edit(path, fmt.TRANSFERS.name, {(NEW_REFERENCE, "Notes"): "Reviewed."})

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
        fmt.ACTIVITIES.name,
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
        "Sheet 'Activities', row 27, column 'Status': 'archived' is not one of: "
        "draft, active, retired."
    ]
    assert plan.counts()[fmt.ACTIVITIES.name][INVALID] == 1
    assert snapshot() == before
    assert new_history(history) == {}


def test_import_failure_while_writing_rolls_back(
    sample_register, exported, monkeypatch
):
    path = exported()
    edit(
        path,
        fmt.ACTIVITIES.name,
        {("PA-0001", "Business function"): "First", ("PA-0026", "Name"): "Last"},
    )
    plan = plan_import(path, file_name=FILE_NAME)
    last_row, last = plan.operations()[-1]
    original = Save.apply

    def fail_on_last(self, stamp):
        if self is last:
            raise DatabaseError("disk full")
        original(self, stamp)

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
            fmt.ACTIVITIES.name,
            {("PA-0001", "Data subject categories"): "Customers; Martians"},
            "Data subject categories",
            "Unknown data subject categories: 'Customers', 'Martians'.",
        ),
        (
            fmt.ACTIVITIES.name,
            {("PA-0001", "Recipients"): "Nobody we know"},
            "Recipients",
            "Unknown recipient: 'Nobody we know'.",
        ),
        (
            fmt.ACTIVITIES.name,
            {("PA-0001", "Owner"): "ghost"},
            "Owner",
            "Unknown user: 'ghost'.",
        ),
        (
            fmt.ACTIVITIES.name,
            {("PA-0001", "Personal data categories"): ""},
            "Personal data categories",
            "Required. Name at least one.",
        ),
        (
            fmt.ACTIVITIES.name,
            {("PA-0001", "DPIA required"): "maybe"},
            "DPIA required",
            "'maybe' is not yes or no.",
        ),
        (
            fmt.ACTIVITIES.name,
            {("PA-0001", "DPIA required"): "yes"},
            "DPIA required / DPIA progress",
            "Give the DPIA progress exactly when a DPIA is required.",
        ),
        (
            fmt.ACTIVITIES.name,
            {("PA-0001", "Name"): "To fulfil legal obligations"},
            "Name",
            "Processing activity with this Name already exists.",
        ),
        (
            fmt.ACTIVITIES.name,
            {("PA-0001", "Reference"): "PA-0002"},
            "Reference",
            "'PA-0002' is also on row 2.",
        ),
        (
            fmt.LAWFUL_BASES.name,
            {(2, "Reference"): "PA-0999"},
            "Reference",
            "No activity 'PA-0999' on the 'Activities' sheet: child rows are "
            "imported with their activity.",
        ),
        (
            fmt.RETENTION_RULES.name,
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
        fmt.ACTIVITIES.name,
        {("PA-0002", "Status"): "lost", ("PA-0005", "Profiling"): "lots"},
    )
    edit(path, fmt.TRANSFERS.name, {})

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
    del workbook[fmt.TRANSFERS.name]
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
    sheet = workbook[fmt.ACTIVITIES.name]
    sheet.delete_cols(fmt.ACTIVITY_COLUMNS.index(column) + 1)
    workbook.save(path)

    with pytest.raises(ImportFileError) as raised:
        plan_import(path, file_name=FILE_NAME)

    assert str(raised.value) == (
        f"Sheet 'Activities' lacks the columns '{column}' in row 1."
    )


def test_import_ignores_read_only_columns(sample_register, exported):
    path = exported()
    edit(path, fmt.ACTIVITIES.name, {("PA-0001", "Updated at"): "2001-01-01"})
    workbook = load_workbook(path)
    sheet = workbook[fmt.ACTIVITIES.name]
    sheet.delete_cols(fmt.ACTIVITY_COLUMNS.index("Lawful bases") + 1)
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
    workbook.active.title = fmt.CONTROLLER.name
    workbook.active.append(("As of", fmt.CURRENT))
    for sheet in (fmt.ACTIVITIES, *(child.sheet for child in CHILD_SHEETS)):
        workbook.create_sheet(sheet.name).append(sheet.columns)
    workbook.save(path)

    with pytest.raises(ImportFileError, match="nothing to import"):
        plan_import(path, file_name="blank.xlsx")


# ---------------------------------------------------------------------------
# The format
# ---------------------------------------------------------------------------


def test_import_columns_cover_the_activities_sheet():
    read = {column.header for column in ACTIVITY_COLUMNS}
    not_written = {*fmt.ACTIVITIES.read_only, *fmt.ACTIVITIES.checked}
    assert read | not_written == set(fmt.ACTIVITIES.columns)
    assert not read & not_written


@pytest.mark.parametrize("child", CHILD_SHEETS, ids=lambda child: child.sheet.name)
def test_import_columns_cover_the_child_sheets(child):
    read = {"Reference", *(column.header for column in child.columns)}
    assert read | set(child.sheet.checked) == set(child.sheet.columns)
    key = {
        "Reference",
        *(c.header for c in child.columns if c.field in child.key_fields),
    }
    assert key == set(child.sheet.key)


def test_import_reason_names_the_file():
    assert import_reason("ropa 2025.xlsx") == "Imported from ropa 2025.xlsx"


def test_import_reads_dates_typed_into_text_cells(sample_register, exported):
    path = exported()
    edit(
        path,
        fmt.ACTIVITIES.name,
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
    edit(path, fmt.LAWFUL_BASES.name, {(NEW_REFERENCE, "Explanation"): "Edited."})
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
