"""
Who may do what in the admin of the register.

An auditor (a member of the Auditor group that ``setup_roles`` creates) views
and exports every register model and changes nothing, through any admin URL
of it; a staff user without permissions neither exports nor imports.
"""

import functools
import tempfile
from io import StringIO

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from ropa.roles import AUDITOR, DPO
from tests import factories
from tests.admin_pages import change_form_data, database_state
from tests.factories.memberships import FunctionMembershipFactory
from tests.ropa.core.test_resources import RESOURCES

pytestmark = pytest.mark.django_db

REGISTER_APPS = ("controllers", "subjects", "ropa")
FACTORIES = {
    "controllers.dataprotectionofficer": factories.DataProtectionOfficerFactory,
    "controllers.organisation": factories.OrganisationFactory,
    "controllers.jointcontrollerarrangement": (
        factories.JointControllerArrangementFactory
    ),
    "controllers.processoragreement": factories.ProcessorAgreementFactory,
    "subjects.datasubjectcategory": factories.DataSubjectCategoryFactory,
    "subjects.personaldatacategory": factories.PersonalDataCategoryFactory,
    "ropa.securitymeasure": factories.SecurityMeasureFactory,
    "ropa.recipient": factories.RecipientFactory,
    "ropa.processingactivity": factories.ProcessingActivityFactory,
    "ropa.lawfulbasis": factories.LawfulBasisFactory,
    "ropa.internationaltransfer": factories.InternationalTransferFactory,
    "ropa.retentionrule": factories.RetentionRuleFactory,
    "ropa.review": factories.ReviewFactory,
    "ropa.functionmembership": FunctionMembershipFactory,
}
LABELS = sorted(FACTORIES)
ADMINS = {
    model._meta.label_lower: model_admin
    for model, model_admin in admin.site._registry.items()
    if model._meta.app_label in REGISTER_APPS
}
# What the DPO role may delete (see ropa.roles): not activities, not reviews.
DPO_DELETES = {
    label: label not in ("ropa.processingactivity", "ropa.review") for label in LABELS
}


def _named_urls():
    for label, model_admin in sorted(ADMINS.items()):
        for pattern in model_admin.get_urls():
            if pattern.name:
                yield label, pattern.name, pattern.pattern.regex.groups


NAMED_URLS = list(_named_urls())


def _actions():
    for label, model_admin in sorted(ADMINS.items()):
        for _, name, _ in model_admin._get_base_actions():
            yield label, name


ACTIONS = list(_actions())


# ---------------------------------------------------------------------------
# Users and helpers
# ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def private_temp_folder(tmp_path, monkeypatch):
    """Files uploaded for an import preview go to a folder of this test's own."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


@pytest.fixture
def roles(db):
    call_command("setup_roles", stdout=StringIO())


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def member_of(group):
    user = factories.StaffUserFactory()
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def auditor_client(roles):
    return logged_in(member_of(AUDITOR))


@pytest.fixture
def dpo_member_client(roles):
    return logged_in(member_of(DPO))


@pytest.fixture
def staff_client(db):
    """Staff, in no group and without permissions."""
    return logged_in(factories.StaffUserFactory())


def url(label, view, *args):
    app_label, model_name = label.split(".")
    return reverse(f"admin:{app_label}_{model_name}_{view}", args=args)


def version_url(obj):
    version = obj.history.earliest()
    return url(obj._meta.label_lower, "simple_history", obj.pk, version.history_id)


@pytest.fixture
def saved_as_is(superuser):
    """``saved_as_is(obj)``: the change form's data for ``obj``, unchanged."""
    return functools.partial(change_form_data, superuser)


def exported_file(label):
    model = apps.get_model(label)
    csv = RESOURCES[model]().export().csv
    return SimpleUploadedFile("register.csv", csv.encode(), content_type="text/csv")


def test_every_register_model_is_covered():
    assert set(ADMINS) == set(FACTORIES)


# ---------------------------------------------------------------------------
# The auditor views and exports
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("view", ["changelist", "change", "history", "version"])
def test_auditor_views_every_page(auditor_client, label, view):
    obj = FACTORIES[label]()
    if view == "version":
        target = version_url(obj)
    else:
        target = url(label, view, *(() if view == "changelist" else (obj.pk,)))

    response = auditor_client.get(target)

    assert response.status_code == 200


@pytest.mark.parametrize("label", LABELS)
def test_auditor_exports(auditor_client, label):
    FACTORIES[label]()
    resource = RESOURCES[apps.get_model(label)]
    prefix = resource.__name__.lower()
    data = {"format": "0", "resource": "0"}
    data.update({f"{prefix}_{name}": "on" for name in resource().get_export_order()})

    form = auditor_client.get(url(label, "export"))
    response = auditor_client.post(url(label, "export"), data)

    assert form.status_code == 200
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize("label", LABELS)
def test_changelist_offers_export_but_not_import_to_an_auditor(auditor_client, label):
    FACTORIES[label]()

    content = auditor_client.get(url(label, "changelist")).content.decode()

    assert url(label, "export") in content
    assert url(label, "import") not in content


@pytest.mark.parametrize("label", LABELS)
def test_changelist_offers_import_and_export_to_the_dpo(dpo_member_client, label):
    FACTORIES[label]()

    content = dpo_member_client.get(url(label, "changelist")).content.decode()

    assert url(label, "export") in content
    assert url(label, "import") in content


# ---------------------------------------------------------------------------
# The auditor changes nothing
# ---------------------------------------------------------------------------


REFUSED = [
    ("add", "get"),
    ("add", "post"),
    ("change", "post"),
    ("delete", "get"),
    ("delete", "post"),
    ("version", "post"),
    ("import", "get"),
    ("import", "post"),
    ("process_import", "get"),
    ("process_import", "post"),
]


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize(("view", "method"), REFUSED)
def test_auditor_is_refused(auditor_client, saved_as_is, label, view, method):
    obj = FACTORIES[label]()
    data = {**saved_as_is(obj), "post": "yes", "change_reason": "Auditor"}
    if view == "version":
        target = version_url(obj)
    elif view in ("change", "delete"):
        target = url(label, view, obj.pk)
    else:
        target = url(label, view)
    if view == "import":
        data = {"format": "0", "resource": "0", "import_file": exported_file(label)}
    if view == "process_import":
        data = {
            "import_file_name": "0" * 32,
            "original_file_name": "register.csv",
            "format": "0",
            "resource": "0",
        }
    before = database_state()

    response = getattr(auditor_client, method)(target, data)

    assert response.status_code == 403
    assert database_state() == before


@pytest.mark.parametrize(("label", "action"), ACTIONS)
def test_auditor_actions_change_nothing(auditor_client, label, action):
    obj = FACTORIES[label]()
    data = {
        "action": action,
        "_selected_action": [obj.pk],
        "index": "0",
        "post": "yes",
    }
    before = database_state()

    response = auditor_client.post(url(label, "changelist"), data)

    assert response.status_code in (200, 302)
    assert database_state() == before
    offered = auditor_client.get(url(label, "changelist")).context["action_form"]
    names = {name for name, _ in offered.fields["action"].choices}
    assert "delete_selected" not in names


@pytest.mark.parametrize(("label", "name", "arguments"), NAMED_URLS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_auditor_changes_nothing_through_any_admin_url(
    auditor_client, saved_as_is, label, name, arguments, method
):
    # Whatever the URL, the auditor sends what would save, delete or revert.
    obj = FACTORIES[label]()
    args = (obj.pk, obj.history.earliest().history_id)[:arguments]
    data = {
        **saved_as_is(obj),
        "change_reason": "Auditor",
        "post": "yes",
        "action": "delete_selected",
        "_selected_action": [obj.pk],
        "index": "0",
    }
    before = database_state()

    response = getattr(auditor_client, method)(
        reverse(f"admin:{name}", args=args), data
    )

    assert response.status_code < 500
    assert database_state() == before


# ---------------------------------------------------------------------------
# The same requests do change things for the DPO: the refusals above are
# refusals, not invalid requests.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("label", LABELS)
def test_dpo_saves_the_data_the_auditor_was_refused(
    dpo_member_client, saved_as_is, label
):
    obj = FACTORIES[label]()
    versions = obj.history.count()
    data = {**saved_as_is(obj), "change_reason": "Yearly check"}

    response = dpo_member_client.post(url(label, "change", obj.pk), data)

    assert response.status_code == 302
    assert obj.history.count() == versions + 1
    assert obj.history.latest().history_change_reason == "Yearly check"


@pytest.mark.parametrize("label", LABELS)
def test_dpo_deletes_by_role(dpo_member_client, label):
    obj = FACTORIES[label]()
    model = type(obj)

    response = dpo_member_client.post(url(label, "delete", obj.pk), {"post": "yes"})

    if DPO_DELETES[label]:
        assert response.status_code == 302
        assert not model.objects.filter(pk=obj.pk).exists()
    else:
        assert response.status_code == 403
        assert model.objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("label", LABELS)
def test_dpo_previews_the_file_the_auditor_was_refused(dpo_member_client, label):
    FACTORIES[label]()

    response = dpo_member_client.post(
        url(label, "import"),
        {"format": "0", "resource": "0", "import_file": exported_file(label)},
    )

    assert response.status_code == 200
    assert "confirm_form" in response.context


@pytest.mark.parametrize("label", LABELS)
def test_history_revert_is_refused_to_the_dpo_too(
    dpo_member_client, saved_as_is, label
):
    obj = FACTORIES[label]()
    data = saved_as_is(obj)
    before = database_state()

    response = dpo_member_client.post(version_url(obj), data)

    assert response.status_code == 403
    assert database_state() == before


# ---------------------------------------------------------------------------
# Staff without permissions
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("view", ["export", "import", "process_import"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_staff_without_permission_cannot_export_or_import(
    staff_client, label, view, method
):
    FACTORIES[label]()
    before = database_state()

    response = getattr(staff_client, method)(
        url(label, view), {"format": "0", "resource": "0"}
    )

    assert response.status_code == 403
    assert database_state() == before
