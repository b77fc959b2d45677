"""
What a contributor reaches through the admin's lists beside their rows: the
lookups of the query string, the search, the sort, the filters' choices, the
"View on site" redirect, and the lists' import and export.

A contributor of Human resources must learn nothing of Marketing's activities
through any of them: not which categories, recipients, measures or parties a
Marketing activity uses, nor that its id exists. The relations are read from
the models, so that a relation added later is tested too.
"""

from io import StringIO

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin import ModelAdmin, SimpleListFilter
from django.contrib.admin.options import BaseModelAdmin
from django.contrib.admin.utils import NotRelationField, get_fields_from_path
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import reverse

from ropa.admin.scoping import FunctionScopedMixin
from ropa.models import ProcessingActivity
from ropa.roles import AUDITOR, CONTRIBUTOR, CONTRIBUTOR_EDITS, CONTRIBUTOR_VIEWS, DPO
from tests import factories
from tests.factories.memberships import FunctionMembershipFactory

pytestmark = pytest.mark.django_db

OURS = "Human resources"
THEIRS = "Marketing"
#: A word only Marketing's activity uses, in its purpose and name.
SECRET = "Zanzibar"
REGISTER_APPS = ("controllers", "subjects", "ropa")
ADMINS = {
    model._meta.label_lower: model_admin
    for model, model_admin in admin.site._registry.items()
    if model._meta.app_label in REGISTER_APPS
}
#: The lists a contributor opens.
VIEWED = sorted(set(CONTRIBUTOR_EDITS) | set(CONTRIBUTOR_VIEWS))


def activity_models():
    """The activity and the models that belong to one (a key to an activity)."""
    return {ProcessingActivity} | {
        model
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if field.is_relation and field.related_model is ProcessingActivity
    }


def relations(model):
    """Every relation a lookup on ``model`` can follow, forward and reverse."""
    return [field for field in model._meta.get_fields() if field.is_relation]


def relation_lookups():
    """
    For each list a contributor opens: each relation of its model, with and
    without the comparisons a query string can add, and each second step
    from it to an activity or a part of one.
    """
    for label in VIEWED:
        model = apps.get_model(label)
        for field in relations(model):
            for suffix in ("", "__pk", "__in", "__isnull"):
                yield label, f"{field.name}{suffix}"
            for second in relations(field.related_model):
                if second.related_model in activity_models():
                    yield label, f"{field.name}__{second.name}"
            if field.related_model is ProcessingActivity:
                yield label, f"{field.name}__business_function"
                yield label, f"{field.name}__purpose__icontains"


RELATION_LOOKUPS = list(relation_lookups())


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def member_of(group, functions=()):
    user = factories.StaffUserFactory()
    user.groups.add(Group.objects.get(name=group))
    for name in functions:
        FunctionMembershipFactory(user=user, business_function=name)
    return user


def url(label, view, *args):
    app_label, model_name = label.split(".")
    return reverse(f"admin:{app_label}_{model_name}_{view}", args=args)


def listed(response):
    return set(response.context["cl"].result_list)


@pytest.fixture
def roles(db):
    call_command("setup_roles", stdout=StringIO())


@pytest.fixture
def contributor(roles):
    """A contributor for Human resources."""
    return member_of(CONTRIBUTOR, functions=[OURS])


@pytest.fixture
def contributor_client(contributor):
    return logged_in(contributor)


@pytest.fixture
def dpo_client(roles):
    return logged_in(member_of(DPO))


@pytest.fixture
def ours(roles):
    return factories.ProcessingActivityFactory(business_function=OURS)


@pytest.fixture
def theirs(roles):
    """
    Marketing's activities, with a record of every catalogue that only they
    use, and a part of each kind: {model: that record}, the controller
    record under ProcessingActivity.
    """
    agreement = factories.ProcessorAgreementFactory()
    activity = factories.ProcessingActivityFactory(
        business_function=THEIRS,
        name=f"{SECRET} campaign",
        purpose=f"To send the {SECRET} newsletter.",
        joint_arrangement=factories.JointControllerArrangementFactory(),
        processor_agreements=[agreement],
    )
    # On behalf of a client controller (Art. 30(2)), another party it uses.
    factories.ProcessingActivityFactory(
        business_function=THEIRS,
        processor_record=True,
        purpose=f"To host the {SECRET} shop for a client.",
    )
    category = activity.personal_data_categories.get()
    return {
        ProcessingActivity: activity,
        type(agreement): agreement,
        type(activity.joint_arrangement): activity.joint_arrangement,
        type(category): category,
        **{
            type(obj): obj
            for obj in (
                activity.organisations.get(),
                activity.data_subject_categories.get(),
                activity.recipients.get(),
                activity.security_measures.get(),
                activity.organisations.get().dpo,
                activity.lawful_bases.get(),
                factories.InternationalTransferFactory(
                    activity=activity, recipient=factories.RecipientFactory()
                ),
                factories.RetentionRuleFactory(
                    activity=activity, personal_data_category=category
                ),
                factories.ReviewFactory(activity=activity),
            )
        },
    }


def value_for(lookup, model, theirs):
    """What the query string gives ``lookup``: Marketing's record where it can."""
    if lookup.endswith("__isnull"):
        return "False"
    if lookup.endswith("__business_function"):
        return THEIRS
    if lookup.endswith("__icontains"):
        return SECRET
    path = [part for part in lookup.split("__") if part not in ("pk", "in")]
    field = get_fields_from_path(model, "__".join(path))[-1]
    target = theirs.get(field.related_model)
    return str(target.pk) if target is not None else "1"


def filter_parameters(model_admin, request):
    return {
        item.parameter_name
        for item in model_admin.get_list_filter(request)
        if isinstance(item, type) and issubclass(item, SimpleListFilter)
    }


@pytest.fixture
def djangos_rule_off(monkeypatch):
    """
    Django's own check of a lookup accepts everything, as Django 5.2.0 did
    with ``?activities=8`` on a catalogue list (a reverse relation): the
    contributors' rule must hold on its own.
    """
    monkeypatch.setattr(
        BaseModelAdmin, "lookup_allowed", lambda self, lookup, value, request=None: True
    )


# ---------------------------------------------------------------------------
# Lookups in the query string
# ---------------------------------------------------------------------------


FINDING = [
    ("subjects.personaldatacategory", "activities"),
    ("subjects.personaldatacategory", "retention_rules"),
    ("subjects.datasubjectcategory", "activities"),
    ("ropa.recipient", "activities"),
    ("ropa.recipient", "transfers"),
    ("ropa.securitymeasure", "activities"),
    ("controllers.organisation", "activities"),
    ("controllers.organisation", "processed_for_activities"),
    ("controllers.jointcontrollerarrangement", "activities"),
    ("controllers.processoragreement", "activities"),
    ("subjects.personaldatacategory", "activities__business_function"),
    ("subjects.personaldatacategory", "activities__purpose__icontains"),
]


@pytest.mark.parametrize(("label", "lookup"), FINDING)
@pytest.mark.parametrize("djangos_rule", ["on", "off"])
def test_catalogue_list_filtered_on_another_functions_activity_is_refused(
    request, contributor_client, ours, theirs, label, lookup, djangos_rule
):
    if djangos_rule == "off":
        request.getfixturevalue("djangos_rule_off")
    model = apps.get_model(label)
    value = value_for(lookup, model, theirs)

    response = contributor_client.get(url(label, "changelist"), {lookup: value})

    assert response.status_code == 400
    assert SECRET not in response.content.decode()


def answer(response, own_rows):
    """What a list's answer tells: refused, or the rows it shows (own or not)."""
    if response.status_code != 200:
        return response.status_code
    leaked = SECRET in response.content.decode()
    return "own rows" if listed(response) <= own_rows and not leaked else "LEAK"


@pytest.mark.usefixtures("djangos_rule_off")
@pytest.mark.parametrize("label", VIEWED)
def test_no_lookup_through_a_relation_reaches_another_functions_records(
    contributor, contributor_client, ours, theirs, label
):
    # Every lookup of the list's relations at once, so that one page of the
    # report names each that answers otherwise.
    model = apps.get_model(label)
    own_request = RequestFactory().get("/")
    own_request.user = contributor
    own_rows = set(ADMINS[label].get_queryset(own_request))
    # A filter of the list's own (TransferFilter's "transfers") reads its
    # value itself, on the contributor's rows; any other lookup is refused.
    filters = filter_parameters(ADMINS[label], own_request)
    lookups = [lookup for on, lookup in RELATION_LOOKUPS if on == label]

    answers = {
        lookup: answer(
            contributor_client.get(
                url(label, "changelist"), {lookup: value_for(lookup, model, theirs)}
            ),
            own_rows,
        )
        for lookup in lookups
    }

    assert answers == {
        lookup: "own rows" if lookup in filters else 400 for lookup in lookups
    }


@pytest.mark.usefixtures("djangos_rule_off")
@pytest.mark.parametrize(
    ("label", "lookup", "record"),
    [
        (
            "subjects.personaldatacategory",
            "activities",
            "subjects.personaldatacategory",
        ),
        ("ropa.recipient", "activities", "ropa.recipient"),
        ("controllers.organisation", "activities", "controllers.organisation"),
    ],
)
def test_dpo_keeps_the_lookups_django_allows(dpo_client, theirs, label, lookup, record):
    activity = theirs[ProcessingActivity]

    response = dpo_client.get(url(label, "changelist"), {lookup: activity.pk})

    assert response.status_code == 200
    assert listed(response) == {theirs[apps.get_model(record)]}


@pytest.mark.parametrize("group", [DPO, AUDITOR])
@pytest.mark.parametrize("label", VIEWED)
def test_dpo_and_auditor_lookups_are_djangos(roles, group, label):
    model_admin = ADMINS[label]
    request = RequestFactory().get("/")
    request.user = member_of(group)
    lookups = [lookup for on, lookup in RELATION_LOOKUPS if on == label]

    ours = {
        lookup: model_admin.lookup_allowed(lookup, "1", request) for lookup in lookups
    }
    djangos = {
        lookup: ModelAdmin.lookup_allowed(model_admin, lookup, "1", request)
        for lookup in lookups
    }

    assert ours == djangos


def test_contributor_filters_their_lists_as_the_dashboard_links_do(
    contributor_client, ours, theirs
):
    transfer = factories.InternationalTransferFactory(activity=ours)
    query = {
        "mechanism__exact": transfer.mechanism,
        "activity__status__exact": "active",
    }

    response = contributor_client.get(
        url("ropa.internationaltransfer", "changelist"), query
    )
    by_basis = contributor_client.get(
        url("ropa.processingactivity", "changelist"),
        {"lawful_bases__basis__exact": "contract", "transfers": "yes"},
    )

    assert listed(response) == {transfer}
    assert listed(by_basis) == {ours}


# ---------------------------------------------------------------------------
# Search, sort and the filters' choices
# ---------------------------------------------------------------------------


def path_models(model, path):
    """The models a field path passes through after ``model``; [] if no path."""
    try:
        fields = get_fields_from_path(model, path)
    except (FieldDoesNotExist, NotRelationField):
        # An annotation or a method: no path.
        return []
    return [field.related_model for field in fields if field.is_relation]


def reaches_others(model_admin, path):
    """
    Whether ``path`` may reach an activity the list does not show: any from a
    catalogue's list, one past a catalogue from a list of activities or parts.
    """
    inside = isinstance(model_admin, FunctionScopedMixin)
    for target in path_models(model_admin.model, path):
        if target in activity_models():
            if not inside:
                return True
        else:
            inside = False
    return False


def catalogue_activity_relations():
    """(catalogue list, relation to activities) pairs, from the models."""
    for label in VIEWED:
        if isinstance(ADMINS[label], FunctionScopedMixin):
            continue
        for field in relations(apps.get_model(label)):
            if field.related_model is ProcessingActivity:
                yield label, field.name


@pytest.mark.parametrize(("label", "relation"), list(catalogue_activity_relations()))
def test_search_through_activities_finds_nothing_for_a_contributor(
    monkeypatch, contributor_client, dpo_client, ours, theirs, label, relation
):
    # An admin that one day searches its rows' activities.
    model_admin = ADMINS[label]
    monkeypatch.setattr(
        model_admin,
        "search_fields",
        (*model_admin.search_fields, f"{relation}__purpose"),
    )

    found = contributor_client.get(url(label, "changelist"), {"q": SECRET})
    found_by_dpo = dpo_client.get(url(label, "changelist"), {"q": SECRET})

    assert found.status_code == 200
    assert listed(found) == set()
    assert listed(found_by_dpo)


@pytest.mark.parametrize("label", VIEWED)
def test_search_sort_and_filters_reach_only_the_lists_own_activities(label):
    model_admin = ADMINS[label]
    sort_fields = [
        getattr(getattr(model_admin, name, None), "admin_order_field", name)
        for name in model_admin.list_display
    ]
    filters = [
        item[0] if isinstance(item, (list, tuple)) else item
        for item in model_admin.list_filter
        if not (isinstance(item, type) and issubclass(item, SimpleListFilter))
    ]
    paths = [
        *(name.lstrip("^=@") for name in model_admin.search_fields),
        *(name for name in sort_fields if isinstance(name, str)),
        *filters,
        *(name.lstrip("-") for name in model_admin.ordering or ()),
    ]

    assert [path for path in paths if reaches_others(model_admin, path)] == []


@pytest.mark.parametrize("label", VIEWED)
def test_contributor_searches_and_sorts_without_seeing_others(
    contributor_client, ours, theirs, label
):
    model_admin = ADMINS[label]
    columns = range(1, len(model_admin.list_display) + 1)

    found = contributor_client.get(url(label, "changelist"), {"q": SECRET})
    sorted_pages = [
        contributor_client.get(url(label, "changelist"), {"o": str(n)}) for n in columns
    ]

    # Only Marketing's activity holds the word: no row of the list matches it.
    assert found.status_code == 200
    assert listed(found) == set()
    assert {page.status_code for page in sorted_pages} == {200}
    assert not [page for page in sorted_pages if SECRET in page.content.decode()]


def test_organisation_filter_offers_only_their_activities_organisations(
    contributor_client, ours, theirs
):
    response = contributor_client.get(url("ropa.processingactivity", "changelist"))
    choices = {
        choice["display"]
        for spec in response.context["cl"].filter_specs
        if getattr(spec, "parameter_name", None) == "organisation"
        for choice in spec.choices(response.context["cl"])
    }

    assert ours.organisations.get().name in choices
    assert theirs[type(ours.organisations.get())].name not in choices


# ---------------------------------------------------------------------------
# "View on site": /admin/r/<content type>/<id>/
# ---------------------------------------------------------------------------


def view_on_site(obj_or_model, pk=None):
    model = obj_or_model if pk is not None else type(obj_or_model)
    content_type = ContentType.objects.get_for_model(model)
    return reverse(
        "admin:view_on_site",
        args=(content_type.pk, obj_or_model.pk if pk is None else pk),
    )


def missing_id(model):
    return (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1


@pytest.mark.parametrize("who", ["contributor", "staff without a role"])
def test_view_on_site_answers_for_a_hidden_activity_as_for_a_missing_one(
    roles, contributor, ours, theirs, who
):
    user = contributor if who == "contributor" else factories.StaffUserFactory()
    client = logged_in(user)

    hidden = client.get(view_on_site(theirs[ProcessingActivity]))
    missing = client.get(
        view_on_site(ProcessingActivity, missing_id(ProcessingActivity))
    )

    assert hidden.status_code == missing.status_code == 404
    assert hidden.content == missing.content


def test_view_on_site_redirects_to_a_record_they_may_see(
    contributor_client, dpo_client, ours, theirs
):
    own = contributor_client.get(view_on_site(ours))
    dpo = dpo_client.get(view_on_site(theirs[ProcessingActivity]))

    assert own.status_code == dpo.status_code == 302
    assert own["Location"].endswith(ours.get_absolute_url())
    assert dpo["Location"].endswith(theirs[ProcessingActivity].get_absolute_url())


def test_view_on_site_asks_a_visitor_to_log_in(ours):
    response = Client().get(view_on_site(ours))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("object_id", ["not-an-id", "99999999999999999999999"])
def test_view_on_site_answers_an_impossible_id_as_a_missing_one(dpo_client, object_id):
    content_type = ContentType.objects.get_for_model(ProcessingActivity)

    response = dpo_client.get(f"/admin/r/{content_type.pk}/{object_id}/")

    assert response.status_code == 404


# ---------------------------------------------------------------------------
# Import and export: never a contributor's
# ---------------------------------------------------------------------------

IMPORT_EXPORT_URLS = [
    (label, view, method)
    for label, model_admin in sorted(ADMINS.items())
    if hasattr(model_admin, "has_export_permission")
    for view, method in [
        ("export", "get"),
        ("export", "post"),
        ("import", "get"),
        ("import", "post"),
        ("process_import", "post"),
    ]
]


@pytest.mark.parametrize(("label", "view", "method"), IMPORT_EXPORT_URLS)
def test_contributor_neither_exports_nor_imports_any_list(
    contributor_client, ours, label, view, method
):
    response = getattr(contributor_client, method)(
        url(label, view), {"format": "0", "resource": "0"}
    )

    assert response.status_code == 403


@pytest.mark.parametrize("label", VIEWED)
def test_contributor_list_offers_no_export_import_or_export_action(
    contributor, contributor_client, ours, label
):
    request = RequestFactory().get("/")
    request.user = contributor
    content = contributor_client.get(url(label, "changelist")).content.decode()

    assert not ADMINS[label].has_export_permission(request)
    assert not ADMINS[label].has_import_permission(request)
    assert "export_admin_action" not in ADMINS[label].get_actions(request)
    assert url(label, "export") not in content
    assert url(label, "import") not in content
    assert "export_admin_action" not in content


@pytest.mark.parametrize("label", VIEWED)
def test_contributor_export_action_exports_nothing(
    contributor_client, ours, theirs, label
):
    row = apps.get_model(label).objects.first()
    data = {"action": "export_admin_action", "_selected_action": [row.pk]}

    response = contributor_client.post(url(label, "changelist"), data)

    # The list again (it offers no action), neither a file nor the export form.
    assert response.status_code == 200
    assert "Content-Disposition" not in response
    assert b'name="export_items"' not in response.content
