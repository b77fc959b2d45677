"""Imports never overwrite a change made after their file was exported."""

import datetime
import tempfile

import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from ropa.core import uploads as import_files
from ropa.core.cells import NOT_A_WHOLE_NUMBER
from ropa.core.rows import CHANGED, INVALID, UNCHANGED
from ropa.core.staleness import STALE_ROW, VERSION_AHEAD, VERSION_EMPTY
from ropa.enums import LawfulBasisChoice
from ropa.exchange import ico_layout, layout
from ropa.exchange.apply import apply_plan
from ropa.exchange.columns import VERSION
from ropa.exchange.export import export_register
from ropa.exchange.imports import import_register, plan_import
from ropa.exchange.ours import EXPORTED_AT_MISSING, NO_VERSION_COLUMN
from ropa.exchange.plan import ImportAborted
from ropa.exchange.since_export import DELETED_SINCE, NOT_IN_FILE
from ropa.exchange.workbook import ImportFileError
from ropa.models import LawfulBasis, ProcessingActivity
from ropa.resources import ProcessingActivityResource
from subjects.models import DataSubjectCategory
from subjects.resources import DataSubjectCategoryResource
from tests.factories import (
    DataSubjectCategoryFactory,
    LawfulBasisFactory,
    ProcessingActivityFactory,
    UserFactory,
)
from tests.ropa.core.test_resources import RESOURCES
from tests.ropa.exchange.test_imports import (
    append_row,
    delete_rows,
    edit,
    history_ids,
    new_history,
    snapshot,
)
from tests.ropa.exchange.test_snapshot import DAY1, DAY2, moment, on

pytestmark = pytest.mark.django_db

FILE_NAME = "register.xlsx"
ACTIVITIES = layout.ACTIVITIES.name
LAWFUL_BASES = layout.LAWFUL_BASES.name
# PA-0003 is on row 4 of the Activities sheet of the sample register.
ROW = 4
# A reference the sample register does not use.
NEW_REFERENCE = "PA-0900"


@pytest.fixture
def export_file(tmp_path):
    """A function writing the register's XLSX export; returns its path."""

    def export(name=FILE_NAME, **options):
        path = tmp_path / name
        with path.open("wb") as out:
            export_register(fmt="xlsx", out=out, **options)
        return path

    return export


@pytest.fixture
def colleague(db):
    return UserFactory(username="colleague")


def change(instance, user, **values):
    """Save ``values`` on ``instance`` as ``user`` would in the admin."""
    for name, value in values.items():
        setattr(instance, name, value)
    instance._history_user = user
    instance._change_reason = "Saved in the admin"
    instance.save()
    return instance


def activity(reference="PA-0003"):
    return ProcessingActivity.objects.get(reference=reference)


def first_basis(reference="PA-0003"):
    """The activity's first lawful basis, as the export orders them."""
    return min(
        activity(reference).lawful_bases.all(),
        key=lambda basis: LawfulBasisChoice.values.index(basis.basis),
    )


def when(record):
    """A history row's moment, as the messages write it."""
    return timezone.localtime(record.history_date).strftime("%Y-%m-%d %H:%M")


def stale_reason(key, instance, changes):
    latest = instance.history.latest()
    return STALE_ROW.format(
        key=key, user=latest.history_user, moment=when(latest), changes=changes
    )


def delete_column(path, sheets, column=VERSION):
    workbook = load_workbook(path)
    for name in sheets:
        worksheet = workbook[name]
        headers = [cell.value for cell in worksheet[1]]
        worksheet.delete_cols(headers.index(column) + 1)
    workbook.save(path)


def first_row(path, sheet, reference):
    """The first row of ``reference`` on ``sheet``, as a dict by column."""
    worksheet = load_workbook(path)[sheet]
    headers = [c.value for c in worksheet[1]]
    return next(
        row
        for row in (
            dict(zip(headers, values, strict=True))
            for values in worksheet.iter_rows(min_row=2, values_only=True)
        )
        if row["Reference"] == reference
    )


# ---------------------------------------------------------------------------
# The export writes each record's version
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sheet",
    [layout.ACTIVITIES, layout.LAWFUL_BASES, layout.TRANSFERS, layout.RETENTION_RULES],
)
def test_register_format_versions_every_imported_sheet(sheet):
    assert sheet.headers[-1] == VERSION
    assert sheet.checked == (VERSION,)
    assert VERSION not in sheet.read_only


def test_register_format_writes_no_version_in_the_ico_template():
    assert VERSION not in ico_layout.HEADERS


def test_export_writes_the_records_version(sample_register, export_file, colleague):
    change(activity(), colleague, purpose="Changed.")
    basis = change(first_basis(), colleague, explanation="Changed.")
    change(basis, colleague, explanation="Changed again.")

    path = export_file()

    assert first_row(path, ACTIVITIES, "PA-0003")[VERSION] == activity().version
    assert first_row(path, LAWFUL_BASES, "PA-0003")[VERSION] == basis.version
    assert basis.version == LawfulBasis.objects.get(pk=basis.pk).version > 2


def test_export_as_of_a_date_writes_the_version_of_that_date(export_file):
    with on(moment(DAY1)):
        record = ProcessingActivityFactory(reference=NEW_REFERENCE)
        then = ProcessingActivity.objects.get(pk=record.pk).version
    with on(moment(DAY2)):
        record.name = "Renamed"
        record.save()

    old = export_file("old.xlsx", as_of=DAY1 + datetime.timedelta(days=1))
    now = export_file("now.xlsx")

    assert first_row(old, ACTIVITIES, NEW_REFERENCE)[VERSION] == then
    assert first_row(now, ACTIVITIES, NEW_REFERENCE)[VERSION] == then + 1


def test_export_records_when_it_began_to_the_microsecond(export_file):
    ProcessingActivityFactory(reference=NEW_REFERENCE)
    before = timezone.now()

    path = export_file()

    text = load_workbook(path)[layout.FOR_THE_IMPORT.name]["B2"].value
    exported_at = layout.read_exported_at(text)
    assert before <= exported_at <= timezone.now()
    assert text == layout.exported_at_text(exported_at)


# ---------------------------------------------------------------------------
# The register import: a row changed since the export is refused
# ---------------------------------------------------------------------------


def test_import_refuses_an_activity_changed_since_the_export(
    sample_register, export_file, colleague
):
    path = export_file()
    change(activity(), colleague, purpose="Changed by a colleague.")
    edit(path, ACTIVITIES, {("PA-0003", "Business function"): "Customer care"})
    before, history = snapshot(), history_ids()

    plan = import_register(path, file_name=FILE_NAME, user=UserFactory())

    assert not plan.applied
    (error,) = plan.errors
    assert (error.sheet, error.row, error.column) == (ACTIVITIES, ROW, VERSION)
    assert error.reason == stale_reason("PA-0003", activity(), "changed: purpose")
    assert "colleague" in error.reason
    assert plan.counts()[ACTIVITIES][INVALID] == 1
    assert activity().purpose == "Changed by a colleague."
    assert snapshot() == before
    assert new_history(history) == {}


def test_import_refuses_an_untouched_row_that_would_undo_a_change(
    sample_register, export_file, colleague
):
    path = export_file()
    change(activity(), colleague, purpose="Changed by a colleague.")

    plan = plan_import(path, file_name=FILE_NAME)

    assert [(error.row, error.column) for error in plan.errors] == [(ROW, VERSION)]


def test_import_refuses_a_child_row_changed_since_the_export(
    sample_register, export_file, colleague
):
    path = export_file()
    basis = change(first_basis(), colleague, explanation="Theirs.")
    edit(path, LAWFUL_BASES, {("PA-0003", "Explanation"): "Mine."})
    before, history = snapshot(), history_ids()

    plan = import_register(path, file_name=FILE_NAME)

    assert not plan.applied
    (error,) = plan.errors
    assert (error.sheet, error.column) == (LAWFUL_BASES, VERSION)
    assert error.reason == stale_reason(
        f"PA-0003 / {basis.basis}", basis, "changed: explanation"
    )
    assert LawfulBasis.objects.get(pk=basis.pk).explanation == "Theirs."
    assert snapshot() == before
    assert new_history(history) == {}


def test_import_refuses_a_change_of_links_since_the_export(
    sample_register, export_file, colleague
):
    # A colleague's import that changes only the links counts the version too.
    path = export_file()
    names = sorted(c.name for c in activity("PA-0002").data_subject_categories.all())
    assert len(names) > 1
    theirs = export_file("theirs.xlsx")
    edit(theirs, ACTIVITIES, {("PA-0002", "Data subject categories"): names[0]})
    version = activity("PA-0002").version
    import_register(theirs, file_name="theirs.xlsx", user=colleague)
    assert activity("PA-0002").version == version + 1
    edit(path, ACTIVITIES, {("PA-0002", "Name"): "Renamed in my file"})

    plan = import_register(path, file_name=FILE_NAME)

    (error,) = plan.errors
    assert error.column == VERSION
    assert error.reason.startswith("PA-0002 was changed by colleague at ")
    assert "(changed: data subject categories)" in error.reason
    assert [c.name for c in activity("PA-0002").data_subject_categories.all()] == names[
        :1
    ]


@pytest.mark.parametrize(
    ("theirs", "mine"),
    [
        # Saved again without a change: nothing in the file differs.
        ({}, {}),
        # The same edit made in the admin and in the file.
        (
            {"business_function": "Customer care"},
            {"Business function": "Customer care"},
        ),
    ],
)
def test_import_of_a_stale_row_that_changes_nothing_is_unchanged(
    sample_register, export_file, colleague, theirs, mine
):
    path = export_file()
    change(activity(), colleague, **theirs)
    edit(
        path, ACTIVITIES, {("PA-0003", column): value for column, value in mine.items()}
    )
    before = snapshot()

    plan = import_register(path, file_name=FILE_NAME)

    assert not plan.has_errors
    assert not plan.has_writes
    assert {row.action for row in plan.rows} == {UNCHANGED}
    assert snapshot() == before


def test_import_of_a_fresh_export_applies_the_edit(
    sample_register, export_file, colleague
):
    export_file()
    change(activity(), colleague, purpose="Changed by a colleague.")
    path = export_file("fresh.xlsx")
    edit(path, ACTIVITIES, {("PA-0003", "Business function"): "Customer care"})

    plan = import_register(path, file_name="fresh.xlsx")

    assert plan.applied
    assert plan.total(CHANGED) == 1
    record = activity()
    assert (record.purpose, record.business_function) == (
        "Changed by a colleague.",
        "Customer care",
    )


@pytest.mark.parametrize(
    ("version", "reason"),
    [
        ("", VERSION_EMPTY.format(key="PA-0003")),
        ("many", NOT_A_WHOLE_NUMBER.format(text="many")),
    ],
)
def test_import_refuses_a_changed_row_without_a_readable_version(
    sample_register, export_file, version, reason
):
    path = export_file()
    edit(
        path,
        ACTIVITIES,
        {
            ("PA-0003", "Business function"): "Customer care",
            ("PA-0003", VERSION): version,
        },
    )

    plan = plan_import(path, file_name=FILE_NAME)

    assert [(e.row, e.column, e.reason) for e in plan.errors] == [
        (ROW, VERSION, reason)
    ]


def test_import_refuses_a_version_the_register_has_not_reached(
    sample_register, export_file
):
    path = export_file()
    current = activity().version
    edit(
        path,
        ACTIVITIES,
        {
            ("PA-0003", "Business function"): "Customer care",
            ("PA-0003", VERSION): current + 5,
        },
    )

    plan = plan_import(path, file_name=FILE_NAME)

    assert [e.reason for e in plan.errors] == [
        VERSION_AHEAD.format(key="PA-0003", seen=current + 5, current=current)
    ]


def test_import_ignores_the_version_of_an_unchanged_row(sample_register, export_file):
    path = export_file()
    edit(path, ACTIVITIES, {("PA-0003", VERSION): ""})

    plan = plan_import(path, file_name=FILE_NAME)

    assert not plan.has_errors
    assert not plan.has_writes


def test_import_ignores_the_version_of_a_new_row(sample_register, export_file):
    path = export_file()
    append_row(
        path,
        LAWFUL_BASES,
        {
            "Reference": "PA-0003",
            "Basis": LawfulBasisChoice.VITAL_INTERESTS,
            "Sample value": "no",
            VERSION: 42,
        },
    )

    plan = import_register(path, file_name=FILE_NAME)

    assert plan.applied
    assert (
        activity().lawful_bases.filter(basis=LawfulBasisChoice.VITAL_INTERESTS).exists()
    )


# ---------------------------------------------------------------------------
# Rows missing from the file, and records deleted since the export
# ---------------------------------------------------------------------------


def test_import_keeps_a_child_row_added_since_the_export(
    sample_register, export_file, colleague
):
    path = export_file()
    added = LawfulBasisFactory.build(
        activity=activity(), basis=LawfulBasisChoice.VITAL_INTERESTS
    )
    change(added, colleague)
    before, history = snapshot(), history_ids()

    plan = import_register(path, file_name=FILE_NAME)

    (error,) = plan.errors
    assert (error.sheet, error.row, error.column) == (LAWFUL_BASES, None, "")
    assert error.reason == NOT_IN_FILE.format(
        key=f"PA-0003 / {LawfulBasisChoice.VITAL_INTERESTS}",
        done="added",
        user="colleague",
        moment=when(added.history.latest()),
    )
    assert LawfulBasis.objects.filter(pk=added.pk).exists()
    assert snapshot() == before
    assert new_history(history) == {}


def test_import_keeps_a_child_row_changed_since_the_export(
    sample_register, export_file, colleague
):
    path = export_file()
    basis = change(first_basis(), colleague, explanation="Theirs.")
    delete_rows(
        path,
        LAWFUL_BASES,
        lambda row: (
            row["Reference"] == "PA-0003" and row["Basis"] == basis.get_basis_display()
        ),
    )

    plan = import_register(path, file_name=FILE_NAME)

    (error,) = plan.errors
    assert error.reason == NOT_IN_FILE.format(
        key=f"PA-0003 / {basis.basis}",
        done="changed",
        user="colleague",
        moment=when(basis.history.latest()),
    )
    assert LawfulBasis.objects.filter(pk=basis.pk).exists()


def test_import_does_not_bring_back_a_child_row_deleted_since_the_export(
    sample_register, export_file, colleague
):
    path = export_file()
    basis = first_basis()
    pk = basis.pk
    basis._history_user = colleague
    basis.delete()
    history = history_ids()

    plan = import_register(path, file_name=FILE_NAME)

    (error,) = plan.errors
    assert (error.sheet, error.column) == (LAWFUL_BASES, VERSION)
    deletion = LawfulBasis.history.get(id=pk, history_type="-")
    assert error.reason == DELETED_SINCE.format(
        key=f"PA-0003 / {basis.basis}", user="colleague", moment=when(deletion)
    )
    assert not activity().lawful_bases.filter(basis=basis.basis).exists()
    assert new_history(history) == {}


def test_import_does_not_bring_back_an_activity_deleted_since_the_export(
    sample_register, export_file, colleague
):
    doomed = ProcessingActivityFactory(reference=NEW_REFERENCE)
    path = export_file()
    doomed._history_user = colleague
    doomed.delete()

    plan = import_register(path, file_name=FILE_NAME)

    assert [(e.sheet, e.column) for e in plan.errors] == [(ACTIVITIES, VERSION)]
    assert plan.errors[0].reason.startswith(
        f"{NEW_REFERENCE} was deleted by colleague at "
    )
    assert not ProcessingActivity.objects.filter(reference=NEW_REFERENCE).exists()


def test_import_deletes_a_child_row_nobody_changed_since_the_export(
    sample_register, export_file
):
    path = export_file()
    basis = first_basis()
    delete_rows(
        path,
        LAWFUL_BASES,
        lambda row: (
            row["Reference"] == "PA-0003" and row["Basis"] == basis.get_basis_display()
        ),
    )

    plan = import_register(path, file_name=FILE_NAME)

    assert plan.applied
    assert not LawfulBasis.objects.filter(pk=basis.pk).exists()


# ---------------------------------------------------------------------------
# Files that cannot say what they saw
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sheets",
    [
        (ACTIVITIES,),
        (ACTIVITIES, LAWFUL_BASES, layout.TRANSFERS.name, layout.RETENTION_RULES.name),
    ],
)
def test_import_refuses_a_file_without_the_version_column(
    sample_register, export_file, sheets
):
    path = export_file()
    delete_column(path, sheets)

    with pytest.raises(ImportFileError) as raised:
        plan_import(path, file_name=FILE_NAME)

    assert str(raised.value) == NO_VERSION_COLUMN.format(
        column=VERSION, names=", ".join(f"'{name}'" for name in sheets)
    )


@pytest.mark.parametrize("value", ["", "yesterday", "2025-01-01T10:00:00"])
def test_import_refuses_a_file_without_its_export_moment(
    sample_register, export_file, value
):
    path = export_file()
    workbook = load_workbook(path)
    workbook[layout.FOR_THE_IMPORT.name]["B2"] = value
    workbook.save(path)

    with pytest.raises(ImportFileError) as raised:
        plan_import(path, file_name=FILE_NAME)

    assert str(raised.value) == EXPORTED_AT_MISSING.format(
        sheet=layout.FOR_THE_IMPORT.name, label="Exported at"
    )


# ---------------------------------------------------------------------------
# A change between the plan and its writing
# ---------------------------------------------------------------------------


#: The rows an edit of PA-0003 is imported with: alone, or in one batch with
#: others, where the stale row still stops the import with its own row and error.
COMPANIONS = {
    "alone": {},
    "in a batch": {
        ("PA-0002", "Business function"): "Sales",
        ("PA-0004", "Business function"): "Finance",
    },
}


@pytest.mark.parametrize("companions", COMPANIONS.values(), ids=COMPANIONS)
def test_apply_refuses_a_record_saved_since_the_plan(
    sample_register, export_file, colleague, companions
):
    path = export_file()
    edit(
        path,
        ACTIVITIES,
        {("PA-0003", "Business function"): "Customer care", **companions},
    )
    plan = plan_import(path, file_name=FILE_NAME)
    change(activity(), colleague, purpose="Changed meanwhile.")
    before, history = snapshot(), history_ids()

    with pytest.raises(ImportAborted) as raised:
        apply_plan(plan)

    error = raised.value.error
    assert (error.sheet, error.row, error.column) == (ACTIVITIES, ROW, VERSION)
    assert error.reason == stale_reason("PA-0003", activity(), "changed: purpose")
    assert snapshot() == before
    assert new_history(history) == {}


@pytest.mark.parametrize("companions", COMPANIONS.values(), ids=COMPANIONS)
def test_apply_refuses_to_revive_a_record_deleted_since_the_plan(
    sample_register, export_file, colleague, companions
):
    # Saving the planned copy of a deleted record would insert it again.
    path = export_file()
    edit(
        path,
        ACTIVITIES,
        {("PA-0003", "Business function"): "Customer care", **companions},
    )
    plan = plan_import(path, file_name=FILE_NAME)
    deleted = activity()
    deleted._history_user = colleague
    deleted.delete()
    deletion = ProcessingActivity.history.filter(
        reference="PA-0003", history_type="-"
    ).get()
    before, history = snapshot(), history_ids()

    with pytest.raises(ImportAborted) as raised:
        apply_plan(plan)

    error = raised.value.error
    assert (error.sheet, error.row, error.column) == (ACTIVITIES, ROW, VERSION)
    assert error.reason == DELETED_SINCE.format(
        key="PA-0003", user="colleague", moment=when(deletion)
    )
    assert snapshot() == before
    assert new_history(history) == {}
    assert not ProcessingActivity.objects.filter(reference="PA-0003").exists()


def test_apply_refuses_to_delete_a_row_saved_since_the_plan(
    sample_register, export_file, colleague
):
    path = export_file()
    basis = first_basis()
    delete_rows(
        path,
        LAWFUL_BASES,
        lambda row: (
            row["Reference"] == "PA-0003" and row["Basis"] == basis.get_basis_display()
        ),
    )
    plan = plan_import(path, file_name=FILE_NAME)
    change(LawfulBasis.objects.get(pk=basis.pk), colleague, explanation="Theirs.")
    history = history_ids()

    with pytest.raises(ImportAborted) as raised:
        apply_plan(plan)

    assert raised.value.error.column == VERSION
    assert "changed: explanation" in raised.value.error.reason
    assert LawfulBasis.objects.get(pk=basis.pk).explanation == "Theirs."
    assert new_history(history) == {}


# ---------------------------------------------------------------------------
# The import of each model's list (django-import-export)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("resource", RESOURCES.values(), ids=lambda r: r.__name__)
def test_resource_exports_the_version_and_never_imports_it(resource):
    field = resource().fields["version"]
    assert "version" in resource().get_export_order()
    assert field.readonly


def _export(resource, *records):
    """The resource's export of ``records`` only (the sample may be loaded)."""
    model = resource._meta.model
    return resource().export(
        queryset=model.objects.filter(pk__in=[record.pk for record in records])
    )


def _category_export(colleague):
    category = DataSubjectCategoryFactory(name="Stale visitors", description="Old.")
    dataset = _export(DataSubjectCategoryResource, category)
    change(category, colleague, description="Theirs.")
    return category, dataset


def test_resource_import_refuses_a_row_changed_since_the_export(colleague):
    category, dataset = _category_export(colleague)
    dataset.dict = [{**dataset.dict[0], "description": "Mine."}]
    history = category.history.count()

    result = DataSubjectCategoryResource().import_data(dataset, user=UserFactory())

    (invalid,) = result.invalid_rows
    latest = category.history.latest()
    assert invalid.error_dict == {
        "version": [
            STALE_ROW.format(
                key="This data subject category",
                user="colleague",
                moment=when(latest),
                changes="changed: description",
            )
        ]
    }
    assert DataSubjectCategory.objects.get(pk=category.pk).description == "Theirs."
    assert category.history.count() == history


def test_resource_import_refuses_a_stale_row_among_valid_ones(colleague):
    record = ProcessingActivityFactory(reference=NEW_REFERENCE, name="Stale orders")
    other = ProcessingActivityFactory(reference="PA-0901", name="Stale invoices")
    dataset = _export(ProcessingActivityResource, record, other)
    change(record, colleague, purpose="Theirs.")
    rows = {row["reference"]: row for row in dataset.dict}
    rows[NEW_REFERENCE]["name"] = "Stale orders and returns"
    rows[other.reference]["name"] = "Stale invoices and credits"
    dataset.dict = list(rows.values())

    result = ProcessingActivityResource().import_data(dataset)

    assert [set(row.error_dict) for row in result.invalid_rows] == [{"version"}]
    assert ProcessingActivity.objects.get(pk=record.pk).name == "Stale orders"
    assert ProcessingActivity.objects.get(pk=other.pk).name == "Stale invoices"


def test_resource_import_of_a_stale_row_that_changes_nothing_skips_it(colleague):
    _, dataset = _category_export(colleague)
    dataset.dict = [{**dataset.dict[0], "description": "Theirs."}]

    result = DataSubjectCategoryResource().import_data(dataset)

    assert not result.has_validation_errors()
    assert result.totals["skip"] == 1


def test_resource_import_ignores_the_version_of_a_new_row():
    dataset = tablib.Dataset(["Stale newcomers", "7"], headers=["name", "version"])

    result = DataSubjectCategoryResource().import_data(dataset)

    assert not result.has_validation_errors()
    assert DataSubjectCategory.objects.get(name="Stale newcomers").version == 1


def test_resource_import_refuses_a_record_saved_while_it_runs(colleague, monkeypatch):
    category = DataSubjectCategoryFactory(name="Stale visitors", description="Old.")
    dataset = _export(DataSubjectCategoryResource, category)
    dataset.dict = [{**dataset.dict[0], "description": "Mine."}]
    original = DataSubjectCategoryResource.before_save_instance

    def colleague_first(self, instance, row, **kwargs):
        theirs = DataSubjectCategory.objects.get(pk=instance.pk)
        change(theirs, colleague, description="Theirs.")
        original(self, instance, row, **kwargs)

    monkeypatch.setattr(
        DataSubjectCategoryResource, "before_save_instance", colleague_first
    )

    result = DataSubjectCategoryResource().import_data(dataset)

    (invalid,) = result.invalid_rows
    assert list(invalid.error_dict) == ["version"]
    # The colleague's save ran inside the import's transaction, which the
    # refusal rolled back with it: the import wrote nothing.
    assert DataSubjectCategory.objects.get(pk=category.pk).description == "Old."


@pytest.fixture
def private_temp_folder(tmp_path, monkeypatch):
    """Uploaded files go to a folder of this test's own."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path / import_files.FOLDER_NAME


def test_admin_import_refuses_a_row_changed_since_the_export(
    dpo_client, colleague, private_temp_folder
):
    category, dataset = _category_export(colleague)
    dataset.dict = [{**dataset.dict[0], "description": "Mine."}]
    url = reverse("admin:subjects_datasubjectcategory_import")

    response = dpo_client.post(
        url,
        {
            "format": "0",
            "resource": "0",
            "import_file": SimpleUploadedFile(
                "categories.csv", dataset.export("csv").encode()
            ),
        },
    )

    (invalid,) = response.context["result"].invalid_rows
    assert list(invalid.error_dict) == ["version"]
    assert "was changed by colleague" in invalid.error_dict["version"][0]
    assert "confirm_form" not in response.context
    assert DataSubjectCategory.objects.get(pk=category.pk).description == "Theirs."
