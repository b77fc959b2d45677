"""
Every admin form saves what its page shows, for every role that may save it.

Each POST here is what a browser sends: the page's HTML read by
``tests.admin_pages.form_data`` (hidden inputs, checked boxes, selected
options, text areas with CRLF line breaks, management forms and the empty-form
templates of the inlines), with only the fields a user would type changed. A
field that a form declares but its page does not render is not posted, so a
form that cannot be saved in a browser fails here.

For every register model and every role that may add or change it:
- the add page, given the minimum a user must type, saves a record;
- the change page of a record with its inline rows, posted back as shown,
  saves and changes nothing;
- the same with one field changed saves that change and writes one history
  entry for it.
"""

import datetime
from io import StringIO

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse

from ropa.enums import LawfulBasisChoice
from ropa.roles import CONTRIBUTOR, DPO, role_permissions
from tests import factories
from tests.admin_pages import form_data

pytestmark = pytest.mark.django_db

FUNCTION = "Sales"
#: Line breaks as people type them, which a browser posts as CRLF.
MULTILINE = "First line of the text.\nSecond line, after a break."


def _activity(**kwargs):
    """An activity of the contributors' function with a row in every inline."""
    activity = factories.ProcessingActivityFactory(
        business_function=FUNCTION, purpose=MULTILINE, **kwargs
    )
    factories.InternationalTransferFactory(activity=activity)
    factories.RetentionRuleFactory(
        activity=activity,
        personal_data_category=activity.personal_data_categories.first(),
        trigger=MULTILINE,
    )
    return activity


def _typed_activity():
    """What a user types on a new activity: ids are those picked in the widgets."""
    organisation = factories.GroupCompanyFactory()
    subjects = factories.DataSubjectCategoryFactory()
    data = factories.PersonalDataCategoryFactory()
    return {
        "reference": "PA-9001",
        "name": "Newsletter",
        "purpose": MULTILINE,
        "business_function": FUNCTION,
        "organisations": [str(organisation.pk)],
        "data_subject_categories": [str(subjects.pk)],
        "personal_data_categories": [str(data.pk)],
    }


def _typed_part(**values):
    def typed():
        return {"activity": str(_activity().pk), **values}

    return typed


def _typed_rule():
    activity = _activity()
    return {
        "activity": str(activity.pk),
        "personal_data_category": str(factories.PersonalDataCategoryFactory().pk),
        "period": "2",
        "period_unit": "years",
    }


#: label: (a record with whatever rows its page shows, what a user types on the
#: add page, the field changed on the change page and its new value).
MODELS = {
    "controllers.dataprotectionofficer": (
        factories.DataProtectionOfficerFactory,
        lambda: {"name": "Dana Officer", "email": "dpo@example.com"},
        ("name", "Dana Officer-Renamed"),
    ),
    "controllers.organisation": (
        lambda: factories.OrganisationFactory(address=MULTILINE),
        lambda: {"name": "Example AB", "country": "SE"},
        ("name", "Example Renamed AB"),
    ),
    "controllers.jointcontrollerarrangement": (
        lambda: factories.JointControllerArrangementFactory(scope=MULTILINE),
        lambda: {
            "reference": "JCA-9001",
            "name": "Shared customer register",
            "scope": MULTILINE,
            "responsibilities": "Each party answers requests about its customers.",
            "parties": [
                str(factories.OrganisationFactory().pk),
                str(factories.OrganisationFactory().pk),
            ],
        },
        ("responsibilities", "Infobric AB answers every request."),
    ),
    "controllers.processoragreement": (
        lambda: factories.ProcessorAgreementFactory(services=MULTILINE),
        lambda: {
            "reference": "DPA-9001",
            "processor": str(factories.OrganisationFactory().pk),
            "controller": str(factories.GroupCompanyFactory().pk),
            "services": "Hosting of the CRM.",
        },
        ("services", "Hosting and support of the CRM."),
    ),
    "subjects.datasubjectcategory": (
        lambda: factories.DataSubjectCategoryFactory(description=MULTILINE),
        lambda: {"name": "Visitors"},
        ("name", "Site visitors"),
    ),
    "subjects.personaldatacategory": (
        lambda: factories.PersonalDataCategoryFactory(examples=MULTILINE),
        lambda: {"name": "Contact details"},
        ("description", "How to reach the person."),
    ),
    "ropa.securitymeasure": (
        factories.SecurityMeasureFactory,
        lambda: {"name": "Backups", "measure_type": "technical", "area": "backups"},
        ("description", "Nightly encrypted backups, restored every quarter."),
    ),
    "ropa.recipient": (
        factories.RecipientFactory,
        lambda: {"name": "Carrier", "recipient_type": "external"},
        ("description", "Delivers the parcels."),
    ),
    "ropa.processingactivity": (
        _activity,
        _typed_activity,
        ("purpose", "To send the newsletter the customer asked for."),
    ),
    "ropa.lawfulbasis": (
        lambda: _activity().lawful_bases.get(),
        _typed_part(basis=LawfulBasisChoice.CONSENT),
        ("explanation", "The customer ticked the box."),
    ),
    "ropa.internationaltransfer": (
        lambda: _activity().transfers.get(),
        _typed_part(country="IN", mechanism="scc"),
        ("notes", "Support desk in Bangalore."),
    ),
    "ropa.retentionrule": (
        lambda: _activity().retention_rules.get(trigger=MULTILINE),
        _typed_rule,
        ("trigger", "After the end of the contract."),
    ),
    "ropa.review": (
        lambda: factories.ReviewFactory(activity=_activity()),
        _typed_part(cycle="2031", due_on="2031-03-01"),
        ("due_on", "2031-04-01"),
    ),
    "ropa.functionmembership": (
        lambda: factories.FunctionMembershipFactory(business_function="Marketing"),
        lambda: {
            "user": str(factories.StaffUserFactory().pk),
            "business_function": FUNCTION,
        },
        ("business_function", "Human resources"),
    ),
}


def _may(group, action, label):
    app_label, model_name = label.split(".")
    return (app_label, f"{action}_{model_name}") in role_permissions(group)


def _cases(action):
    return [
        pytest.param(group, label, id=f"{group}-{label}")
        for group in (DPO, CONTRIBUTOR)
        for label in sorted(MODELS)
        if _may(group, action, label)
    ]


@pytest.fixture
def client_of():
    """A logged-in client for a member of a role group (and of the function)."""
    call_command("setup_roles", stdout=StringIO())

    def client_of(group):
        user = factories.StaffUserFactory()
        user.groups.add(Group.objects.get(name=group))
        factories.FunctionMembershipFactory(user=user, business_function=FUNCTION)
        client = Client()
        client.force_login(user)
        return client

    return client_of


def _url(label, view, *args):
    app_label, model_name = label.split(".")
    return reverse(f"admin:{app_label}_{model_name}_{view}", args=args)


def _stored(obj):
    """The record's own values and links, without what every save changes."""
    obj = type(obj)._base_manager.get(pk=obj.pk)
    values = model_to_dict(obj)
    for name in ("version", "updated_at"):
        values.pop(name, None)
    return values


def _rows(obj):
    """The inline rows of an activity, as stored."""
    if obj._meta.label_lower != "ropa.processingactivity":
        return {}
    return {
        name: sorted(
            tuple(sorted(_stored(row).items(), key=lambda item: item[0]))
            for row in getattr(obj, name).all()
        )
        for name in ("lawful_bases", "transfers", "retention_rules")
    }


def _refused(response):
    """What the page says is wrong, for an assertion message."""
    context = getattr(response, "context", None)
    if response.status_code != 200 or not context or "adminform" not in context:
        return response.status_code
    problems = [response.context["adminform"].form.errors]
    for inline in response.context["inline_admin_formsets"]:
        problems += [inline.formset.errors, inline.formset.non_form_errors()]
    return problems


def test_every_admin_model_is_covered():
    registered = {
        model._meta.label_lower
        for model in admin.site._registry
        if model._meta.app_label in ("controllers", "subjects", "ropa")
    }
    assert registered == set(MODELS)


def test_every_role_that_edits_is_covered():
    # The contributors' activity and its parts are among the cases.
    assert {label for _, label in (p.values for p in _cases("change"))} >= {
        "ropa.processingactivity",
        "ropa.lawfulbasis",
    }
    assert {group for group, _ in (p.values for p in _cases("change"))} == {
        DPO,
        CONTRIBUTOR,
    }


@pytest.mark.parametrize(("group", "label"), _cases("add"))
def test_add_page_saves_the_minimum_a_user_types(client_of, group, label):
    client = client_of(group)
    model = apps.get_model(label)
    typed = MODELS[label][1]()
    page = client.get(_url(label, "add"))
    assert page.status_code == 200
    before = set(model._base_manager.values_list("pk", flat=True))

    response = client.post(_url(label, "add"), {**form_data(page), **typed})

    assert response.status_code == 302, _refused(response)
    (added,) = model._base_manager.exclude(pk__in=before)
    # Saving the links of a new record writes a history row per link field.
    assert added.history.earliest().history_type == "+"
    assert {row.history_user for row in added.history.all()} == {
        response.wsgi_request.user
    }


@pytest.mark.parametrize(("group", "label"), _cases("change"))
def test_change_page_posted_as_shown_saves_and_changes_nothing(client_of, group, label):
    client = client_of(group)
    obj = MODELS[label][0]()
    stored, rows = _stored(obj), _rows(obj)
    url = _url(label, "change", obj.pk)

    response = client.post(url, form_data(client.get(url)))

    assert response.status_code == 302, _refused(response)
    assert _stored(obj) == stored
    assert _rows(obj) == rows


@pytest.mark.parametrize(("group", "label"), _cases("change"))
def test_change_page_saves_one_changed_field_with_one_history_entry(
    client_of, group, label
):
    client = client_of(group)
    obj = MODELS[label][0]()
    name, value = MODELS[label][2]
    stored, rows = _stored(obj), _rows(obj)
    history = obj.history.count()
    url = _url(label, "change", obj.pk)

    response = client.post(url, {**form_data(client.get(url)), name: value})

    assert response.status_code == 302, _refused(response)
    after = _stored(obj)
    if isinstance(stored[name], datetime.date):
        value = datetime.date.fromisoformat(value)
    assert after.pop(name) == value
    stored.pop(name)
    assert after == stored
    assert _rows(obj) == rows
    assert obj.history.count() == history + 1
    assert name.replace("_", " ") in obj.history.latest().history_change_reason.lower()
