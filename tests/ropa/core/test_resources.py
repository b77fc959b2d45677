"""
Import and export from the admin lists: what every register resource and
admin shares (``ropa.core.resources``, ``ropa.core.admin_base``).
"""

import csv
import io
import os
import tempfile
import time
from io import StringIO

import openpyxl
import pytest
import tablib
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ropa.core import uploads as import_files
from ropa.core.admin_base import (
    IMPORT_CONFIRMATION_INVALID,
    IMPORT_FILE_EXPIRED,
    IMPORT_FILE_UNREADABLE,
    NO_RESOURCE,
    RegisterAdmin,
    import_problems,
)
from ropa.core.cells import (
    MAX_DIGITS,
    NOT_A_WHOLE_NUMBER,
    TOO_MANY_DIGITS,
)
from ropa.core.resources import NamedForeignKeyWidget, NamedManyToManyWidget
from ropa.enums import ActivityStatus
from ropa.models import ProcessingActivity, RetentionRule
from ropa.resources import (
    ProcessingActivityResource,
)
from ropa.roles import DPO
from subjects.models import DataSubjectCategory
from tests.admin_pages import confirm_import_data, form_data, multiple
from tests.factories import (
    DataProtectionOfficerFactory,
    DataSubjectCategoryFactory,
    FunctionMembershipFactory,
    GroupCompanyFactory,
    InternationalTransferFactory,
    JointControllerArrangementFactory,
    LawfulBasisFactory,
    OrganisationFactory,
    PersonalDataCategoryFactory,
    ProcessingActivityFactory,
    ProcessorAgreementFactory,
    RecipientFactory,
    RetentionRuleFactory,
    ReviewFactory,
    SecurityMeasureFactory,
    StaffUserFactory,
)

pytestmark = pytest.mark.django_db

REGISTER_APPS = ("controllers", "subjects", "ropa")
CSV, XLSX = "0", "1"
LIST_FORMATS = {"csv": CSV, "xlsx": XLSX}
#: The admin of each register model.
REGISTER_ADMINS = {
    model: model_admin
    for model, model_admin in admin.site._registry.items()
    if model._meta.app_label in REGISTER_APPS
}
#: The resource each register model's admin list offers.
RESOURCES = {
    model: model_admin.resource_classes[0]
    for model, model_admin in REGISTER_ADMINS.items()
}


@pytest.fixture(autouse=True)
def private_temp_folder(tmp_path, monkeypatch):
    """Uploaded files go to a folder of this test's own."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path / import_files.FOLDER_NAME


def waiting_files():
    folder = import_files.folder()
    return sorted(folder.iterdir()) if folder.exists() else []


def dpo_member():
    """A staff user in the DPO group, as ``setup_roles`` makes the group."""
    call_command("setup_roles", stdout=StringIO())
    user = StaffUserFactory(username="dpo-member")
    user.groups.add(Group.objects.get(name=DPO))
    return user


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def dpo(db):
    return dpo_member()


@pytest.fixture
def dpo_member_client(dpo):
    return logged_in(dpo)


def url(label, view):
    app_label, model_name = label.split(".")
    return reverse(f"admin:{app_label}_{model_name}_{view}")


def export_data(label, fmt=CSV, **extra):
    resource = RESOURCES[apps.get_model(label)]
    prefix = resource.__name__.lower()
    data = {"format": fmt, "resource": "0", **extra}
    data.update({f"{prefix}_{name}": "on" for name in resource().get_export_order()})
    return data


def export(client, label, fmt=CSV, params="", **extra):
    """Open the list's export page, choose ``fmt`` and press Submit."""
    page = client.get(url(label, "export") + params)
    assert page.status_code == 200
    data = {**form_data(page, containing="format", submit=None), "format": fmt}
    response = client.post(url(label, "export") + params, {**data, **extra})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    return response


def rows(response):
    """The exported rows as dicts, from a CSV or XLSX download."""
    if response["Content-Type"] == "text/csv":
        return list(csv.DictReader(io.StringIO(response.content.decode())))
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header, *body = sheet.iter_rows()
    names = [cell.value for cell in header]
    return [
        dict(zip(names, [cell.value for cell in line], strict=True)) for line in body
    ]


def as_csv(headers, *lines):
    out = StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(lines)
    return out.getvalue().encode()


def upload(content, name="register.csv"):
    return SimpleUploadedFile(name, content)


def preview(client, label, content, name="register.csv", fmt=CSV):
    return client.post(
        url(label, "import"),
        {"format": fmt, "resource": "0", "import_file": upload(content, name)},
    )


def confirm(client, label, previewed):
    return client.post(url(label, "process_import"), confirm_import_data(previewed))


def history_rows():
    return sum(
        model.objects.count()
        for app_label in REGISTER_APPS
        for model in apps.get_app_config(app_label).get_models()
        if hasattr(model, "instance_type")
    )


# ---------------------------------------------------------------------------
# The resources
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model", REGISTER_ADMINS, ids=lambda model: model._meta.label_lower
)
def test_every_register_admin_imports_and_exports_its_models_resource(model):
    model_admin = REGISTER_ADMINS[model]
    (resource,) = model_admin.resource_classes
    assert resource._meta.model is model
    # Declared in the model's own app, beside the model.
    assert resource.__module__ == f"{model._meta.app_label}.resources"
    assert list(model_admin.get_import_resource_classes(None)) == [resource]
    assert list(model_admin.get_export_resource_classes(None)) == [resource]


def test_a_register_admin_that_declares_no_resource_is_refused():
    class UndeclaredAdmin(RegisterAdmin):
        pass

    with pytest.raises(ImproperlyConfigured) as raised:
        UndeclaredAdmin(DataSubjectCategory, admin.AdminSite())

    assert str(raised.value) == NO_RESOURCE.format(
        admin="UndeclaredAdmin", model="DataSubjectCategory"
    )


@pytest.mark.parametrize("resource", RESOURCES.values(), ids=lambda r: r.__name__)
def test_resource_imports_safely(resource):
    options = resource._meta
    assert options.clean_model_instances is True
    assert options.skip_unchanged is True
    assert options.use_bulk is False
    assert options.use_transactions is True
    fields = resource().fields
    # Rows are found by natural keys, never by database ids.
    assert "id" not in fields
    assert set(options.import_id_fields) <= set(fields)


@pytest.mark.parametrize("resource", RESOURCES.values(), ids=lambda r: r.__name__)
def test_resource_writes_relations_by_name(resource):
    model = resource._meta.model
    fields = resource().fields
    for field in model._meta.get_fields():
        if field.concrete and field.is_relation:
            widget = fields[field.name].widget
            expected = (
                NamedManyToManyWidget if field.many_to_many else NamedForeignKeyWidget
            )
            assert isinstance(widget, expected), field.name


PAYLOADS = ["=1+1", "==1+1", "+SUM(A1)", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("escape_setting", [True, False])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("payload", PAYLOADS)
def test_export_neutralises_formula_text(
    dpo_member_client, settings, escape_setting, fmt, payload
):
    # Whatever the library's own (weaker) escaping is set to.
    settings.IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = escape_setting
    DataSubjectCategoryFactory(name=f"{payload} name", description=payload)

    response = export(
        dpo_member_client, "subjects.datasubjectcategory", LIST_FORMATS[fmt]
    )

    (row,) = rows(response)
    if fmt == "xlsx":
        # A text cell with Excel's quote prefix: shown as typed, never run.
        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
        assert {cell.data_type for cell in sheet[2]} <= {"s", "n", "b", "d"}
        cells = {sheet.cell(1, n).value: sheet.cell(2, n) for n in range(1, 20)}
        assert cells["description"].quotePrefix
        assert cells["name"].quotePrefix
        assert (row["description"], row["name"]) == (payload, f"{payload} name")
    else:
        assert (row["description"], row["name"]) == (f"'{payload}", f"'{payload} name")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_leaves_plain_text_as_it_is(dpo_member_client, fmt):
    DataSubjectCategoryFactory(name="Customers", description="Buy from us.")

    response = export(
        dpo_member_client, "subjects.datasubjectcategory", LIST_FORMATS[fmt]
    )

    (row,) = rows(response)
    assert (row["name"], row["description"]) == ("Customers", "Buy from us.")
    if fmt == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
        assert not any(cell.quotePrefix for cell in sheet[2])


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_neutralises_joined_names(dpo_member_client, fmt):
    ProcessingActivityFactory(organisations=[GroupCompanyFactory(name="=Evil AB")])

    (row,) = rows(
        export(dpo_member_client, "ropa.processingactivity", LIST_FORMATS[fmt])
    )

    # XLSX keeps the text as it is in a quote-prefixed cell (checked above).
    assert row["organisations"] == ("'=Evil AB" if fmt == "csv" else "=Evil AB")


# ---------------------------------------------------------------------------
# Export: queries
# ---------------------------------------------------------------------------


def _activity():
    return ProcessingActivityFactory(
        owner=StaffUserFactory(),
        joint_arrangement=JointControllerArrangementFactory(),
        client_controllers=[OrganisationFactory()],
        processor_agreements=[ProcessorAgreementFactory()],
    )


# One row each, with every foreign key and many-to-many column filled in.
ROW_MAKERS = {
    "controllers.dataprotectionofficer": DataProtectionOfficerFactory,
    "controllers.organisation": lambda: GroupCompanyFactory(
        parent=GroupCompanyFactory(), representative=OrganisationFactory()
    ),
    "controllers.jointcontrollerarrangement": JointControllerArrangementFactory,
    "controllers.processoragreement": lambda: ProcessorAgreementFactory(
        sub_processors=[OrganisationFactory()]
    ),
    "subjects.datasubjectcategory": DataSubjectCategoryFactory,
    "subjects.personaldatacategory": PersonalDataCategoryFactory,
    "ropa.securitymeasure": SecurityMeasureFactory,
    "ropa.recipient": lambda: RecipientFactory(organisation=OrganisationFactory()),
    "ropa.processingactivity": _activity,
    "ropa.lawfulbasis": LawfulBasisFactory,
    "ropa.internationaltransfer": lambda: InternationalTransferFactory(
        recipient=RecipientFactory(outside_eea=True)
    ),
    "ropa.retentionrule": lambda: RetentionRuleFactory(
        personal_data_category=PersonalDataCategoryFactory()
    ),
    "ropa.review": lambda: ReviewFactory(completed=True),
    "ropa.functionmembership": FunctionMembershipFactory,
}


def test_every_register_model_has_a_row_maker():
    assert {model._meta.label_lower for model in RESOURCES} == set(ROW_MAKERS)


def export_queries(client, label, django_assert_max_num_queries):
    """Rows and queries of the admin's export, and queries of the resource's own."""
    with django_assert_max_num_queries(1000) as admin_export:
        response = export(client, label, XLSX)
    resource = RESOURCES[apps.get_model(label)]
    with django_assert_max_num_queries(1000) as own_export:
        resource().export()
    return (
        len(rows(response)),
        len(admin_export.captured_queries),
        len(own_export.captured_queries),
    )


@pytest.mark.parametrize("label", sorted(ROW_MAKERS))
def test_export_query_count_does_not_grow_with_rows(
    dpo_member_client, django_assert_max_num_queries, label
):
    # From the admin: session, user, the user's permissions; the list's filters
    # that read the database; the count and the page of the paginator the
    # export reads through, with every foreign key joined; one query per
    # many-to-many column for the whole page. From the resource alone, the
    # same without the request's. None of them per row.
    make = ROW_MAKERS[label]
    make()
    one_row, *one = export_queries(
        dpo_member_client, label, django_assert_max_num_queries
    )
    for _ in range(9):
        make()
    ten_rows, *ten = export_queries(
        dpo_member_client, label, django_assert_max_num_queries
    )
    assert ten_rows >= 10 * one_row
    assert one == ten


def test_export_with_an_unknown_filter_returns_to_the_list(dpo_member_client):
    response = dpo_member_client.get(
        url("subjects.datasubjectcategory", "export"), {"colour": "blue"}
    )

    assert response.status_code == 302
    assert response.url == url("subjects.datasubjectcategory", "changelist") + "?e=1"


def test_export_selected_rows(dpo_member_client):
    # The "Export selected" action, then its form: no DeprecationWarning (the
    # suite turns warnings into errors), and only the selected rows.
    label = "ropa.processingactivity"
    first, _, third = ProcessingActivityFactory.create_batch(3)
    picked = sorted([first.pk, third.pk])

    page = dpo_member_client.post(
        url(label, "changelist") + "?status=all",
        {"action": "export_admin_action", "_selected_action": picked, "index": "0"},
    )
    assert page.status_code == 200
    data = form_data(page, containing="export_items", submit=None)
    assert sorted(int(pk) for pk in multiple(data, "export_items")) == picked
    # The user chooses a format; the rows chosen travel in the page.
    response = dpo_member_client.post(
        page.context["export_url"], {**data, "format": CSV}
    )

    assert response["Content-Disposition"].startswith("attachment;")
    assert {row["reference"] for row in rows(response)} == {
        first.reference,
        third.reference,
    }


def test_export_selected_refuses_rows_outside_the_list(dpo_member_client):
    label = "ropa.processingactivity"
    active = ProcessingActivityFactory()
    retired = ProcessingActivityFactory(status=ActivityStatus.RETIRED)

    response = dpo_member_client.post(
        url(label, "export"),
        export_data(label, export_items=[active.pk, retired.pk]),
    )

    assert "Content-Disposition" not in response
    assert "export_items" in response.context["form"].errors


@pytest.mark.parametrize("bad_id", ["x", "-", str(2**63), str(2**64)])
def test_export_selected_refuses_ids_the_table_cannot_hold(dpo_member_client, bad_id):
    label = "ropa.processingactivity"
    activity = ProcessingActivityFactory()

    response = dpo_member_client.post(
        url(label, "export"),
        export_data(label, export_items=[activity.pk, bad_id]),
    )

    assert response.status_code == 200
    assert "Content-Disposition" not in response
    assert "export_items" in response.context["form"].errors


# ---------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------

ACTIVITY_HEADERS = (
    "reference",
    "name",
    "purpose",
    "business_function",
    "organisations",
    "data_subject_categories",
    "personal_data_categories",
)


@pytest.fixture
def catalogue():
    GroupCompanyFactory(name="Alpha AB")
    GroupCompanyFactory(name="Beta AB")
    DataSubjectCategoryFactory(name="Customers")
    DataSubjectCategoryFactory(name="Employees")
    PersonalDataCategoryFactory(name="Contact details")


def activity_line(reference, **changes):
    line = {
        "reference": reference,
        "name": f"Activity {reference}",
        "purpose": "To deliver the service.",
        "business_function": "Sales",
        "organisations": "Alpha AB; Beta AB",
        "data_subject_categories": "Customers; Employees",
        "personal_data_categories": "Contact details",
        **changes,
    }
    return [line[name] for name in ACTIVITY_HEADERS]


def test_import_creates_rows_recording_user_and_file(dpo_member_client, dpo, catalogue):
    label = "ropa.processingactivity"
    content = as_csv(ACTIVITY_HEADERS, activity_line("PA-0101"))

    previewed = preview(dpo_member_client, label, content, name="activities.csv")
    response = confirm(dpo_member_client, label, previewed)

    assert response.status_code == 302
    activity = ProcessingActivity.objects.get(reference="PA-0101")
    assert sorted(activity.organisations.values_list("name", flat=True)) == [
        "Alpha AB",
        "Beta AB",
    ]
    assert activity.data_subject_categories.count() == 2
    # The row, then each many-to-many column: every version says who and why.
    versions = list(activity.history.all())
    assert len(versions) > 1
    assert {version.history_user for version in versions} == {dpo}
    assert {version.history_change_reason for version in versions} == {
        "Imported from activities.csv"
    }


def test_import_records_user_and_reason_outside_the_admin(dpo, catalogue):
    dataset = tablib.Dataset(activity_line("PA-0102"), headers=ACTIVITY_HEADERS)

    result = ProcessingActivityResource().import_data(
        dataset, file_name="register.xlsx", user=dpo
    )

    assert not result.has_errors()
    assert not result.has_validation_errors()
    latest = ProcessingActivity.objects.get(reference="PA-0102").history.latest()
    assert latest.history_user == dpo
    assert latest.history_change_reason == "Imported from register.xlsx"


def test_import_with_an_unknown_many_to_many_name_is_a_row_error(
    dpo_member_client, catalogue
):
    label = "ropa.processingactivity"
    content = as_csv(
        ACTIVITY_HEADERS,
        activity_line("PA-0101"),
        activity_line("PA-0102", data_subject_categories="Customers; Patients"),
    )
    before = history_rows()

    response = preview(dpo_member_client, label, content)

    result = response.context["result"]
    (invalid,) = result.invalid_rows
    assert invalid.number == 2
    assert invalid.error_dict == {
        "data_subject_categories": ["Unknown data subject category: 'Patients'."]
    }
    assert "confirm_form" not in response.context
    assert not ProcessingActivity.objects.exists()
    assert history_rows() == before


@pytest.mark.parametrize(
    "bad_line",
    [
        # An unknown name, a required value missing, a field's validator.
        activity_line("PA-0103", organisations="Gamma AB"),
        activity_line("PA-0103", name=""),
        activity_line("not a reference"),
    ],
)
def test_import_whose_last_row_is_bad_writes_nothing(dpo, catalogue, bad_line):
    dataset = tablib.Dataset(
        activity_line("PA-0101"),
        activity_line("PA-0102"),
        bad_line,
        headers=ACTIVITY_HEADERS,
    )
    before = history_rows()

    result = ProcessingActivityResource().import_data(dataset, user=dpo)

    assert [row.number for row in result.invalid_rows] == [3]
    assert not ProcessingActivity.objects.exists()
    assert history_rows() == before


def test_confirming_a_file_whose_last_row_is_bad_writes_nothing(
    dpo_member_client, catalogue
):
    # The preview would refuse the file; a crafted confirmation must too.
    label = "ropa.processingactivity"
    storage = import_files.ImportFileStorage()
    storage.save(
        as_csv(
            ACTIVITY_HEADERS,
            activity_line("PA-0101"),
            activity_line("PA-0102", data_subject_categories="Patients"),
        )
    )
    before = history_rows()

    dpo_member_client.post(
        url(label, "process_import"),
        {
            "import_file_name": storage.name,
            "original_file_name": "register.csv",
            "format": CSV,
            "resource": "0",
        },
    )

    assert not ProcessingActivity.objects.exists()
    assert history_rows() == before


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_import_of_our_own_export_changes_nothing(dpo_member_client, fmt):
    label = "ropa.processingactivity"
    ProcessingActivityFactory(purpose="=SUM(A1) looks like a formula")
    ProcessingActivityFactory(systems="-legacy CRM", lawful_basis=False)
    exported = export(dpo_member_client, label, LIST_FORMATS[fmt]).content
    before = history_rows()

    previewed = preview(
        dpo_member_client,
        label,
        exported,
        name=f"register.{fmt}",
        fmt=LIST_FORMATS[fmt],
    )
    response = confirm(dpo_member_client, label, previewed)

    assert response.status_code == 302
    assert previewed.context["result"].totals["skip"] == 2
    assert history_rows() == before
    assert ProcessingActivity.objects.filter(
        purpose="=SUM(A1) looks like a formula"
    ).exists()


@pytest.mark.parametrize("escape_setting", [True, False])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("label", sorted(ROW_MAKERS))
def test_every_models_own_export_imports_unchanged(
    dpo_member_client, settings, escape_setting, fmt, label
):
    settings.IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = escape_setting
    ROW_MAKERS[label]()
    exported = export(dpo_member_client, label, LIST_FORMATS[fmt])
    before = history_rows()

    previewed = preview(
        dpo_member_client,
        label,
        exported.content,
        name=f"register.{fmt}",
        fmt=LIST_FORMATS[fmt],
    )

    result = previewed.context["result"]
    assert not result.has_errors()
    assert not result.has_validation_errors()
    assert result.totals["skip"] == len(rows(exported))
    confirm(dpo_member_client, label, previewed)
    assert history_rows() == before


def test_import_never_resets_the_id_sequence(dpo, catalogue):
    dataset = tablib.Dataset(activity_line("PA-0101"), headers=ACTIVITY_HEADERS)

    with CaptureQueriesContext(connection) as captured:
        result = ProcessingActivityResource().import_data(dataset, user=dpo)

    assert result.totals["new"] == 1
    statements = " ".join(query["sql"].lower() for query in captured)
    assert "setval" not in statements
    assert "sqlite_sequence" not in statements


# ---------------------------------------------------------------------------
# The uploaded file
# ---------------------------------------------------------------------------


def test_failed_preview_leaves_no_file(dpo_member_client, catalogue):
    content = as_csv(ACTIVITY_HEADERS, activity_line("PA-0101", organisations="X"))

    response = preview(dpo_member_client, "ropa.processingactivity", content)

    assert response.context["result"].has_validation_errors()
    assert waiting_files() == []


def test_unreadable_file_leaves_no_file(dpo_member_client):
    response = preview(
        dpo_member_client,
        "subjects.datasubjectcategory",
        b"not a workbook",
        name="register.xlsx",
        fmt=XLSX,
    )

    assert response.context["form"].errors
    assert waiting_files() == []


def test_confirmed_import_leaves_no_file(dpo_member_client, catalogue):
    label = "ropa.processingactivity"
    previewed = preview(
        dpo_member_client, label, as_csv(ACTIVITY_HEADERS, activity_line("PA-0101"))
    )
    assert len(waiting_files()) == 1

    confirm(dpo_member_client, label, previewed)

    assert waiting_files() == []


def test_waiting_file_is_private(dpo_member_client, private_temp_folder):
    preview(
        dpo_member_client,
        "subjects.datasubjectcategory",
        as_csv(["name"], ["Customers"]),
    )

    (path,) = waiting_files()
    assert path.stat().st_mode & 0o777 == 0o600
    assert private_temp_folder.stat().st_mode & 0o777 == 0o700


def _abandon(client):
    """Preview an import, walk away, and let the file grow old."""
    before = set(waiting_files())
    preview(client, "subjects.datasubjectcategory", as_csv(["name"], ["Customers"]))
    (path,) = set(waiting_files()) - before
    old = time.time() - import_files.MAX_AGE.total_seconds() - 1
    os.utime(path, (old, old))
    return path


def test_abandoned_preview_is_removed_by_the_next_upload(dpo_member_client):
    abandoned = _abandon(dpo_member_client)

    preview(
        dpo_member_client,
        "subjects.datasubjectcategory",
        as_csv(["name"], ["Employees"]),
    )

    assert abandoned not in waiting_files()
    assert len(waiting_files()) == 1


@pytest.mark.parametrize("file_name", ["expired", "../../etc/passwd"])
def test_confirming_a_missing_file_asks_to_upload_again(dpo_member_client, file_name):
    label = "subjects.datasubjectcategory"
    previewed = preview(
        dpo_member_client, label, as_csv(["name"], ["Customers"]), name="c.csv"
    )
    data = confirm_import_data(previewed)
    if file_name == "expired":
        call_command("clear_import_files", "--max-age", "0", stdout=StringIO())
    else:
        data = {**data, "import_file_name": file_name}

    response = dpo_member_client.post(url(label, "process_import"), data, follow=True)

    assert response.redirect_chain == [(url(label, "import"), 302)]
    assert IMPORT_FILE_EXPIRED in [str(m) for m in response.context["messages"]]
    assert not DataSubjectCategory.objects.exists()


def _field_errors(result):
    return [row.error_dict for row in result.invalid_rows]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_import_of_exported_yes_no_columns_changes_nothing(dpo_member_client, fmt):
    label = "ropa.processingactivity"
    for followed in (True, False, None):
        ProcessingActivityFactory(
            retention_policy_followed=followed, in_notice=followed is not False
        )
    exported = export(dpo_member_client, label, LIST_FORMATS[fmt])
    before = history_rows()

    previewed = preview(
        dpo_member_client,
        label,
        exported.content,
        name=f"register.{fmt}",
        fmt=LIST_FORMATS[fmt],
    )

    result = previewed.context["result"]
    assert not result.has_validation_errors(), [
        r.error_dict for r in result.invalid_rows
    ]
    assert result.totals["skip"] == 3
    confirm(dpo_member_client, label, previewed)
    assert history_rows() == before


def _period_import(cell):
    activity = ProcessingActivityFactory(retention=False)
    line = {
        "activity": activity.reference,
        "personal_data_category": "",
        "period": cell,
        "period_unit": "years",
        "end_action": "erase",
    }
    dataset = tablib.Dataset(list(line.values()), headers=list(line))
    return RESOURCES[RetentionRule]().import_data(dataset)


@pytest.mark.parametrize("cell", ["3", " 3 ", "0003", 3, 3.0])
def test_import_reads_a_whole_number(cell):
    result = _period_import(cell)

    assert not result.has_validation_errors(), _field_errors(result)
    assert RetentionRule.objects.get().period == 3


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        # Read as 3 by this import once: the register import's stricter rule.
        ("3.0", NOT_A_WHOLE_NUMBER.format(text="3.0")),
        ("+3", NOT_A_WHOLE_NUMBER.format(text="+3")),
        ("-1", NOT_A_WHOLE_NUMBER.format(text="-1")),
        (-1, NOT_A_WHOLE_NUMBER.format(text="-1")),
        ("2.5", NOT_A_WHOLE_NUMBER.format(text="2.5")),
        (2.5, NOT_A_WHOLE_NUMBER.format(text="2.5")),
        (".5", NOT_A_WHOLE_NUMBER.format(text=".5")),
        ("three", NOT_A_WHOLE_NUMBER.format(text="three")),
        ("1e2", NOT_A_WHOLE_NUMBER.format(text="1e2")),
        ("3,0", NOT_A_WHOLE_NUMBER.format(text="3,0")),
        (True, NOT_A_WHOLE_NUMBER.format(text="TRUE")),
        (float("inf"), NOT_A_WHOLE_NUMBER.format(text="inf")),
        ("9" * 5000, TOO_MANY_DIGITS.format(digits=5000, limit=MAX_DIGITS)),
    ],
)
def test_import_refuses_a_number_that_is_not_whole(cell, message):
    result = _period_import(cell)

    assert _field_errors(result) == [{"period": [message]}]
    assert not RetentionRule.objects.exists()


# ---------------------------------------------------------------------------
# A confirmation that cannot import what was previewed
# ---------------------------------------------------------------------------


def _confirmation(previewed, **changes):
    return {**confirm_import_data(previewed), **changes}


def _shown_messages(response):
    return [str(message) for message in response.context["messages"]]


@pytest.mark.parametrize(
    ("fmt", "other", "error"),
    [("csv", XLSX, "BadZipFile"), ("xlsx", CSV, "UnicodeDecodeError")],
)
def test_confirmation_in_another_format_than_the_previews_is_refused(
    dpo_member_client, fmt, other, error
):
    label = "subjects.datasubjectcategory"
    DataSubjectCategoryFactory(name="Visitors")
    exported = export(dpo_member_client, label, LIST_FORMATS[fmt]).content
    DataSubjectCategory.objects.get().delete()
    previewed = preview(
        dpo_member_client, label, exported, name=f"c.{fmt}", fmt=LIST_FORMATS[fmt]
    )
    assert previewed.context["result"].totals["new"] == 1

    response = dpo_member_client.post(
        url(label, "process_import"),
        _confirmation(previewed, format=other),
        follow=True,
    )

    assert response.redirect_chain == [(url(label, "import"), 302)]
    title = {CSV: "CSV", XLSX: "XLSX"}[other]
    assert _shown_messages(response) == [
        IMPORT_FILE_UNREADABLE.format(format=title, error=error)
    ]
    assert not DataSubjectCategory.objects.exists()
    assert waiting_files() == []


@pytest.mark.parametrize(
    ("field", "value"), [("format", "7"), ("format", "-1"), ("resource", "1")]
)
def test_confirmation_of_a_format_or_resource_never_offered_is_refused(
    dpo_member_client, field, value
):
    label = "subjects.datasubjectcategory"
    previewed = preview(dpo_member_client, label, as_csv(["name"], ["Visitors"]))

    response = dpo_member_client.post(
        url(label, "process_import"),
        _confirmation(previewed, **{field: value}),
        follow=True,
    )

    assert response.redirect_chain == [(url(label, "import"), 302)]
    assert _shown_messages(response) == [
        IMPORT_CONFIRMATION_INVALID.format(fields=field)
    ]
    assert not DataSubjectCategory.objects.exists()
    assert waiting_files() == []


def test_confirmation_whose_row_fails_reports_it_and_imports_nothing(
    dpo_member_client,
):
    # Previewed against the register as it was; changed before the confirmation.
    label = "subjects.datasubjectcategory"
    category = DataSubjectCategoryFactory(name="Visitors", description="Old.")
    (line,) = rows(export(dpo_member_client, label))
    content = as_csv(
        line.keys(),
        {**line, "description": "Mine."}.values(),
        {**line, "name": "Newcomers", "version": ""}.values(),
    )
    previewed = preview(dpo_member_client, label, content)
    totals = previewed.context["result"].totals
    assert (totals["new"], totals["update"]) == (1, 1)
    category.description = "Theirs."
    category.save()
    before, logged = history_rows(), LogEntry.objects.count()

    response = confirm(dpo_member_client, label, previewed)

    assert response.status_code == 302
    assert response.url == url(label, "import")
    (message,) = get_messages(response.wsgi_request)
    assert message.level == messages.ERROR
    assert str(message).startswith("Nothing was imported: at the confirmation,")
    assert " Row 1, version: This data subject category was changed by" in str(message)
    assert not DataSubjectCategory.objects.filter(name="Newcomers").exists()
    assert DataSubjectCategory.objects.get().description == "Theirs."
    assert history_rows() == before
    assert LogEntry.objects.count() == logged
    assert waiting_files() == []


def test_import_problems_names_the_first_few_and_counts_the_rest():
    dataset = tablib.Dataset(
        *[["", "maybe"] for _ in range(4)], headers=["name", "vulnerable"]
    )

    result = RESOURCES[DataSubjectCategory]().import_data(dataset)

    assert import_problems(result) == (
        "Row 1, vulnerable: 'maybe' is not yes or no. "
        "Row 1, name: This field cannot be blank. "
        "Row 2, vulnerable: 'maybe' is not yes or no. "
        "Row 2, name: This field cannot be blank. "
        "Row 3, vulnerable: 'maybe' is not yes or no. "
        "And 3 more."
    )


def test_import_reads_an_empty_cell_as_empty_not_as_the_columns_default():
    # As the register import reads it: a value left out is an error of the
    # model's, never silently its default (here a position of 0).
    activity = ProcessingActivityFactory(notice_order=5)
    dataset = tablib.Dataset(
        [activity.reference, ""], headers=["reference", "notice_order"]
    )

    result = ProcessingActivityResource().import_data(dataset)

    assert _field_errors(result) == [{"notice_order": ["This field cannot be null."]}]
    activity.refresh_from_db()
    assert activity.notice_order == 5
