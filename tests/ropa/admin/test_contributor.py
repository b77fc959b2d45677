"""
The Contributor role: a business owner adds and changes the activities of
their own business functions, and nothing else.

Other functions' records are not found through any admin page, their own
are never deleted, and nothing is imported or exported.
"""

import re
from io import StringIO

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from ropa.admin.people import FUNCTION_UNUSED
from ropa.enums import ActivityStatus, LawfulBasisChoice, TransferMechanism
from ropa.management.commands.setup_roles import (
    FUNCTIONS_NEED_CONTRIBUTOR,
    NO_FUNCTION_YET,
)
from ropa.models import FunctionMembership, ProcessingActivity
from ropa.roles import (
    CONTRIBUTOR,
    CONTRIBUTOR_EDITS,
    CONTRIBUTOR_VIEWS,
    DPO,
    contributor_functions,
    may_change_activity,
)
from tests import factories
from tests.admin_pages import change_form_data, database_state, form_data
from tests.factories.memberships import FunctionMembershipFactory

pytestmark = pytest.mark.django_db

ACTIVITY = "ropa.processingactivity"
# Beside the contract basis and the rule for all data a complete activity has.
PARTS = {
    "ropa.lawfulbasis": lambda activity: factories.LawfulBasisFactory(
        activity=activity, basis=LawfulBasisChoice.CONSENT
    ),
    "ropa.internationaltransfer": lambda activity: (
        factories.InternationalTransferFactory(activity=activity)
    ),
    "ropa.retentionrule": lambda activity: factories.RetentionRuleFactory(
        activity=activity,
        personal_data_category=factories.PersonalDataCategoryFactory(),
    ),
}
CHILDREN = {
    **PARTS,
    "ropa.review": lambda activity: factories.ReviewFactory(activity=activity),
}
EDITED = (ACTIVITY, *PARTS)
VIEWED_IN_ROPA = (*EDITED, "ropa.review", "ropa.securitymeasure", "ropa.recipient")


def url(label, view, *args):
    app_label, model_name = label.split(".")
    return reverse(f"admin:{app_label}_{model_name}_{view}", args=args)


def make(label, activity):
    """A record of ``label`` belonging to ``activity`` (the activity itself)."""
    if label == ACTIVITY:
        return activity
    return CHILDREN[label](activity)


def version_url(obj):
    version = obj.history.earliest()
    return url(obj._meta.label_lower, "simple_history", obj.pk, version.history_id)


def listed(response):
    return set(response.context["cl"].result_list)


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def member_of(*groups, functions=()):
    user = factories.StaffUserFactory()
    user.groups.add(*Group.objects.filter(name__in=groups))
    for name in functions:
        FunctionMembershipFactory(user=user, business_function=name)
    return user


def history_counts():
    return {
        label: apps.get_model(label).history.count() for label in (ACTIVITY, *CHILDREN)
    }


@pytest.fixture
def roles(db):
    call_command("setup_roles", stdout=StringIO())


@pytest.fixture
def contributor(roles):
    """A member of the Contributor group, for the Sales function."""
    return member_of(CONTRIBUTOR, functions=["Sales"])


@pytest.fixture
def contributor_client(contributor):
    return logged_in(contributor)


@pytest.fixture
def superuser_client(superuser):
    return logged_in(superuser)


@pytest.fixture
def ours():
    return factories.ProcessingActivityFactory(business_function="Sales")


@pytest.fixture
def theirs():
    return factories.ProcessingActivityFactory(business_function="HR")


# ---------------------------------------------------------------------------
# Whom the admin limits
# ---------------------------------------------------------------------------


def test_contributor_functions_are_their_memberships_sorted(roles):
    user = member_of(CONTRIBUTOR, functions=["Sales", "Marketing"])

    assert contributor_functions(user) == ("Marketing", "Sales")


def test_contributor_functions_are_empty_without_a_membership(roles):
    assert contributor_functions(member_of(CONTRIBUTOR)) == ()


@pytest.mark.parametrize(
    ("groups", "superuser"),
    [
        ((DPO,), False),
        ((CONTRIBUTOR, DPO), False),
        ((CONTRIBUTOR,), True),
        ((), False),
    ],
)
def test_contributor_functions_do_not_limit_others(roles, groups, superuser):
    user = member_of(*groups, functions=["Sales"])
    user.is_superuser = superuser

    assert contributor_functions(user) is None


@pytest.mark.parametrize(
    ("function", "status", "may_change"),
    [
        ("Sales", ActivityStatus.DRAFT, True),
        ("Sales", ActivityStatus.ACTIVE, True),
        ("Sales", ActivityStatus.RETIRED, False),
        ("HR", ActivityStatus.ACTIVE, False),
    ],
)
def test_may_change_activity_for_a_contributor(
    contributor, function, status, may_change
):
    activity = factories.ProcessingActivityFactory.build(
        business_function=function, status=status
    )

    assert may_change_activity(contributor, activity) is may_change


# ---------------------------------------------------------------------------
# Only their functions' records are found
# ---------------------------------------------------------------------------


def test_changelist_lists_only_their_functions_activities(contributor_client, ours):
    draft = factories.ProcessingActivityFactory(
        business_function="Sales", status=ActivityStatus.DRAFT
    )
    factories.ProcessingActivityFactory(business_function="HR")

    response = contributor_client.get(url(ACTIVITY, "changelist"), {"status": "all"})

    assert listed(response) == {ours, draft}


def test_changelist_filters_offer_only_their_functions(contributor_client, ours):
    factories.ProcessingActivityFactory(business_function="HR")

    response = contributor_client.get(url(ACTIVITY, "changelist"))

    (function_filter,) = (
        spec
        for spec in response.context["cl"].filter_specs
        if getattr(spec, "field_path", None) == "business_function"
    )
    assert list(function_filter.lookup_choices) == ["Sales"]


def test_search_finds_only_their_functions_activities(contributor_client):
    mine = factories.ProcessingActivityFactory(
        business_function="Sales", name="Leads of the sales team"
    )
    factories.ProcessingActivityFactory(business_function="HR", name="Leads for HR")

    response = contributor_client.get(url(ACTIVITY, "changelist"), {"q": "leads"})

    assert listed(response) == {mine}


@pytest.mark.parametrize("label", sorted(CHILDREN))
def test_child_changelist_lists_only_their_activities_rows(
    contributor_client, ours, theirs, label
):
    mine = make(label, ours)
    make(label, theirs)

    response = contributor_client.get(url(label, "changelist"))

    assert mine in listed(response)
    assert listed(response) == set(type(mine).objects.filter(activity=ours))


def test_activity_autocomplete_offers_only_activities_they_may_change(
    contributor_client, ours, theirs
):
    draft = factories.ProcessingActivityFactory(
        business_function="Sales", status=ActivityStatus.DRAFT
    )
    factories.ProcessingActivityFactory(
        business_function="Sales", status=ActivityStatus.RETIRED
    )

    response = contributor_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "ropa",
            "model_name": "lawfulbasis",
            "field_name": "activity",
            "term": "",
        },
    )

    assert response.status_code == 200
    assert {int(row["id"]) for row in response.json()["results"]} == {
        ours.pk,
        draft.pk,
    }


@pytest.mark.parametrize("label", sorted((ACTIVITY, *CHILDREN)))
@pytest.mark.parametrize("view", ["change", "history", "version"])
def test_other_functions_records_are_not_found(contributor_client, theirs, label, view):
    obj = make(label, theirs)
    target = version_url(obj) if view == "version" else url(label, view, obj.pk)

    response = contributor_client.get(target)

    assert response.status_code == 302
    assert response.url == reverse("admin:index")
    assert any(
        "Perhaps it was deleted?" in message for message in messages_of(response)
    )


@pytest.mark.parametrize("label", sorted((ACTIVITY, *CHILDREN)))
@pytest.mark.parametrize("view", ["change", "history", "version"])
def test_their_functions_records_are_found(contributor_client, ours, label, view):
    obj = make(label, ours)
    target = version_url(obj) if view == "version" else url(label, view, obj.pk)

    assert contributor_client.get(target).status_code == 200


def test_post_to_another_functions_activity_changes_nothing(
    contributor_client, superuser_client, theirs
):
    data = form_data(superuser_client.get(url(ACTIVITY, "change", theirs.pk)))
    data.update(name="Taken over", business_function="Sales")
    before = history_counts()

    response = contributor_client.post(url(ACTIVITY, "change", theirs.pk), data)

    assert response.status_code == 302
    assert response.url == reverse("admin:index")
    theirs.refresh_from_db()
    assert (theirs.name, theirs.business_function) != ("Taken over", "Sales")
    assert history_counts() == before


# ---------------------------------------------------------------------------
# The activity form
# ---------------------------------------------------------------------------


@pytest.fixture
def sales_colleague(contributor):
    return FunctionMembershipFactory(business_function="Sales").user


def test_add_form_defaults_to_their_function_and_to_them(
    contributor_client, contributor
):
    form = contributor_client.get(url(ACTIVITY, "add")).context["adminform"].form

    assert form.fields["business_function"].choices == [("Sales", "Sales")]
    assert form["business_function"].value() == "Sales"
    assert form["owner"].value() == contributor.pk
    assert [value for value, _ in form.fields["status"].choices] == [
        ActivityStatus.DRAFT,
        ActivityStatus.ACTIVE,
    ]


def test_add_form_asks_which_of_several_functions(roles):
    client = logged_in(member_of(CONTRIBUTOR, functions=["Sales", "Marketing"]))

    form = client.get(url(ACTIVITY, "add")).context["adminform"].form

    assert form.fields["business_function"].choices == [
        ("", "---------"),
        ("Marketing", "Marketing"),
        ("Sales", "Sales"),
    ]
    assert not form["business_function"].value()


def test_owner_is_picked_among_the_functions_people(
    contributor_client, contributor, sales_colleague, ours
):
    current_owner = factories.StaffUserFactory()
    ours.owner = current_owner
    ours.save()
    factories.StaffUserFactory()  # In no function of theirs.

    form = (
        contributor_client.get(url(ACTIVITY, "change", ours.pk))
        .context["adminform"]
        .form
    )

    assert set(form.fields["owner"].queryset) == {
        contributor,
        sales_colleague,
        current_owner,
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("business_function", "HR"),
        ("status", ActivityStatus.RETIRED),
        ("owner", "outsider"),
    ],
)
def test_forged_change_is_refused(contributor_client, ours, field, value):
    if value == "outsider":
        value = factories.StaffUserFactory().pk
    data = form_data(contributor_client.get(url(ACTIVITY, "change", ours.pk)))
    data[field] = value
    versions = ours.history.count()

    response = contributor_client.post(url(ACTIVITY, "change", ours.pk), data)

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert ours.history.count() == versions
    fresh = ProcessingActivity.objects.get(pk=ours.pk)
    assert (fresh.business_function, fresh.status, fresh.owner_id) == (
        "Sales",
        ActivityStatus.ACTIVE,
        None,
    )


def test_contributor_changes_their_activity(contributor_client, contributor, ours):
    data = form_data(contributor_client.get(url(ACTIVITY, "change", ours.pk)))
    data.update(purpose="To follow up leads.", change_reason="Clearer purpose")

    response = contributor_client.post(url(ACTIVITY, "change", ours.pk), data)

    assert response.status_code == 302
    latest = ours.history.latest()
    assert latest.purpose == "To follow up leads."
    assert latest.history_user == contributor
    assert latest.history_change_reason == "Clearer purpose"


def add_form_data(client):
    data = form_data(client.get(url(ACTIVITY, "add")))
    data.update(
        {
            "reference": "PA-0900",
            "name": "Sales pipeline",
            "purpose": "To follow up the leads of the sales team.",
            "organisations": [factories.GroupCompanyFactory().pk],
            "data_subject_categories": [factories.DataSubjectCategoryFactory().pk],
            "personal_data_categories": [factories.PersonalDataCategoryFactory().pk],
            "change_reason": "New CRM",
            "lawful_bases-TOTAL_FORMS": "1",
            "lawful_bases-0-basis": LawfulBasisChoice.CONTRACT,
            "lawful_bases-0-explanation": "Steps before entering a contract.",
            "transfers-TOTAL_FORMS": "1",
            "transfers-0-country": "IN",
            "transfers-0-mechanism": TransferMechanism.SCC,
            "retention_rules-TOTAL_FORMS": "1",
            "retention_rules-0-period": "2",
            "retention_rules-0-period_unit": "years",
            "retention_rules-0-trigger": "after the last contact",
            "retention_rules-0-end_action": "erase",
        }
    )
    return data


def test_contributor_adds_an_activity_with_its_parts_in_history(
    contributor_client, contributor
):
    response = contributor_client.post(
        url(ACTIVITY, "add"), add_form_data(contributor_client)
    )

    assert response.status_code == 302
    activity = ProcessingActivity.objects.get(reference="PA-0900")
    assert (activity.business_function, activity.owner) == ("Sales", contributor)
    assert activity.status == ActivityStatus.DRAFT
    records = [
        *activity.history.all(),
        activity.lawful_bases.get().history.get(),
        activity.transfers.get().history.get(),
        activity.retention_rules.get().history.get(),
    ]
    assert {(r.history_user, r.history_change_reason) for r in records} == {
        (contributor, "New CRM")
    }


def test_contributor_cannot_add_in_another_function(contributor_client):
    data = add_form_data(contributor_client)
    data["business_function"] = "HR"

    response = contributor_client.post(url(ACTIVITY, "add"), data)

    assert response.status_code == 200
    assert "business_function" in response.context["adminform"].form.errors
    assert not ProcessingActivity.objects.filter(reference="PA-0900").exists()


def test_contributor_without_a_function_cannot_add(roles):
    client = logged_in(member_of(CONTRIBUTOR))

    assert client.get(url(ACTIVITY, "add")).status_code == 403
    assert client.get(url("ropa.lawfulbasis", "add")).status_code == 403


def test_retired_activity_is_shown_read_only(contributor_client, ours):
    ours.status = ActivityStatus.RETIRED
    ours.save()
    factories.LawfulBasisFactory(activity=ours, legitimate_interests=True)

    page = contributor_client.get(url(ACTIVITY, "change", ours.pk))
    response = contributor_client.post(
        url(ACTIVITY, "change", ours.pk), {"name": "Revived"}
    )

    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    for inline in page.context["inline_admin_formsets"]:
        assert not inline.has_add_permission
        assert not inline.has_change_permission
    assert response.status_code == 403


# ---------------------------------------------------------------------------
# The parts' own lists
# ---------------------------------------------------------------------------


def lawful_basis_data(activity):
    return {
        "activity": activity.pk,
        "basis": LawfulBasisChoice.CONSENT,
        "explanation": "Newsletter sign-up.",
        "change_reason": "Newsletter",
    }


def test_contributor_adds_a_part_to_their_activity(contributor_client, ours):
    response = contributor_client.post(
        url("ropa.lawfulbasis", "add"), lawful_basis_data(ours)
    )

    assert response.status_code == 302
    assert ours.lawful_bases.filter(basis=LawfulBasisChoice.CONSENT).exists()


@pytest.mark.parametrize(
    ("function", "status"),
    [
        ("HR", ActivityStatus.ACTIVE),
        ("HR", ActivityStatus.RETIRED),
        ("Sales", ActivityStatus.RETIRED),
    ],
)
def test_contributor_cannot_add_a_part_elsewhere(contributor_client, function, status):
    activity = factories.ProcessingActivityFactory(
        business_function=function, status=status
    )

    response = contributor_client.post(
        url("ropa.lawfulbasis", "add"), lawful_basis_data(activity)
    )

    assert response.status_code == 200
    assert "activity" in response.context["adminform"].form.errors
    assert not activity.lawful_bases.filter(basis=LawfulBasisChoice.CONSENT).exists()


# ---------------------------------------------------------------------------
# Never delete, never import or export, never sign off a review
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("label", EDITED)
@pytest.mark.parametrize("whose", ["ours", "theirs"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_contributor_deletes_nothing(
    contributor_client, ours, theirs, label, whose, method
):
    obj = make(label, ours if whose == "ours" else theirs)
    model = type(obj)

    response = getattr(contributor_client, method)(
        url(label, "delete", obj.pk), {"post": "yes"}
    )

    assert response.status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("label", EDITED)
def test_delete_action_is_not_offered(contributor_client, ours, label):
    obj = make(label, ours)
    data = {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"}

    page = contributor_client.get(url(label, "changelist"))
    response = contributor_client.post(url(label, "changelist"), data)

    assert page.context["action_form"] is None
    assert response.status_code in (200, 302)
    assert type(obj).objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("label", VIEWED_IN_ROPA)
@pytest.mark.parametrize(
    ("view", "method"),
    [
        ("export", "get"),
        ("export", "post"),
        ("import", "get"),
        ("import", "post"),
        ("process_import", "post"),
    ],
)
def test_contributor_neither_exports_nor_imports(
    contributor_client, ours, label, view, method
):
    response = getattr(contributor_client, method)(
        url(label, view), {"format": "0", "resource": "0"}
    )

    assert response.status_code == 403


@pytest.mark.parametrize(
    "view", ["export_register", "import_register", "import_register_confirm"]
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_contributor_neither_exports_nor_imports_the_register(
    contributor_client, ours, view, method
):
    response = getattr(contributor_client, method)(url(ACTIVITY, view))

    assert response.status_code == 403


@pytest.mark.parametrize("label", VIEWED_IN_ROPA)
def test_changelist_offers_no_import_or_export(contributor_client, ours, label):
    response = contributor_client.get(url(label, "changelist"))
    content = response.content.decode()

    assert response.status_code == 200
    assert not response.context["has_export_permission"]
    assert not response.context["has_import_permission"]
    assert url(label, "export") not in content
    assert url(label, "import") not in content
    assert url(ACTIVITY, "export_register") not in content


def test_contributor_does_not_sign_off_reviews(contributor_client, ours):
    review = factories.ReviewFactory(activity=ours)
    data = {
        "action": "mark_reviewed",
        "_selected_action": [review.pk],
        "apply": "yes",
        "outcome": "confirmed",
    }

    form = contributor_client.get(url(ACTIVITY, "mark_reviewed", ours.pk))
    action = contributor_client.post(url("ropa.review", "changelist"), data)

    assert form.status_code == 403
    assert action.status_code in (200, 302)
    review.refresh_from_db()
    assert review.completed_on is None


# ---------------------------------------------------------------------------
# Whatever the URL, another function's records and the catalogues stay as
# they are
# ---------------------------------------------------------------------------

REGISTER_APPS = ("controllers", "subjects", "ropa")
ADMINS = {
    model._meta.label_lower: model_admin
    for model, model_admin in admin.site._registry.items()
    if model._meta.app_label in REGISTER_APPS
}
CATALOGUES = {
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
    "ropa.functionmembership": FunctionMembershipFactory,
}


def not_theirs(label):
    """A record of ``label`` that the contributor may not change."""
    if label in CATALOGUES:
        return CATALOGUES[label]()
    return make(label, factories.ProcessingActivityFactory(business_function="HR"))


def named_urls():
    for label, model_admin in sorted(ADMINS.items()):
        for pattern in model_admin.get_urls():
            if pattern.name:
                yield label, pattern.name, pattern.pattern.regex.groups


def test_every_register_admin_is_covered():
    assert set(ADMINS) == {ACTIVITY, *CHILDREN, *CATALOGUES}


@pytest.mark.parametrize(("label", "name", "arguments"), list(named_urls()))
@pytest.mark.parametrize("method", ["get", "post"])
def test_contributor_changes_nothing_not_theirs_through_any_admin_url(
    contributor_client, superuser, label, name, arguments, method
):
    # Whatever the URL, the contributor sends what would save, delete or revert.
    obj = not_theirs(label)
    args = (obj.pk, obj.history.earliest().history_id)[:arguments]
    data = {
        **change_form_data(superuser, obj),
        "business_function": "Sales",
        "change_reason": "Contributor",
        "post": "yes",
        "action": "delete_selected",
        "_selected_action": [obj.pk],
        "index": "0",
    }
    before = database_state()

    response = getattr(contributor_client, method)(
        reverse(f"admin:{name}", args=args), data
    )

    assert response.status_code < 500
    assert database_state() == before


# ---------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------


def test_changelist_query_count_does_not_grow_with_rows(
    contributor_client, django_assert_max_num_queries
):
    # Session, user; the user's groups and business functions; their
    # permissions; the count and the page (every Art. 30 rule as a column,
    # limited to their functions); the organisations' prefetch; the filters'
    # choices. None of them per row.
    def count():
        with django_assert_max_num_queries(1000) as captured:
            response = contributor_client.get(url(ACTIVITY, "changelist"))
        assert response.status_code == 200
        return len(captured.captured_queries), len(listed(response))

    factories.ProcessingActivityFactory(business_function="Sales")
    factories.ProcessingActivityFactory(business_function="HR")
    one, one_row = count()
    factories.ProcessingActivityFactory.create_batch(19, business_function="Sales")
    twenty, twenty_rows = count()

    assert (one_row, twenty_rows) == (1, 20)
    assert one == twenty


# ---------------------------------------------------------------------------
# The role, and who is a member of which function
# ---------------------------------------------------------------------------


def setup_roles(*args):
    out = StringIO()
    call_command("setup_roles", *args, stdout=out)
    return out.getvalue()


def held(group):
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Group.objects.get(name=group).permissions.select_related(
            "content_type"
        )
    }


def expected_contributor_permissions():
    expected = set()
    for label in (*CONTRIBUTOR_EDITS, *CONTRIBUTOR_VIEWS):
        app_label, model_name = label.split(".")
        actions = ("add", "change", "view") if label in CONTRIBUTOR_EDITS else ("view",)
        expected.update(f"{app_label}.{action}_{model_name}" for action in actions)
        expected.add(f"{app_label}.view_historical{model_name}")
    return expected


def test_setup_roles_creates_the_contributor_group_once():
    first = setup_roles()
    permissions = held(CONTRIBUTOR)

    second = setup_roles()

    assert permissions == expected_contributor_permissions()
    assert f"Contributor: created, {len(permissions)} permissions" in first
    assert f"Contributor: unchanged, {len(permissions)} permissions." in second
    assert held(CONTRIBUTOR) == permissions
    assert Group.objects.filter(name=CONTRIBUTOR).count() == 1


def test_contributor_deletes_nothing_and_sees_no_memberships_or_users():
    setup_roles()
    permissions = held(CONTRIBUTOR)

    assert not {p for p in permissions if ".delete_" in p}
    assert not {p for p in permissions if "functionmembership" in p}
    assert not {p for p in permissions if p.startswith("auth.")}


def test_setup_roles_assigns_a_contributor_with_functions():
    user = factories.UserFactory(username="kim")

    output = setup_roles(
        "--assign", "kim", "--role", "contributor", "--function", "Sales"
    )
    again = setup_roles(
        "--assign", "kim", "--role", "contributor", "--function", " Sales "
    )

    user.refresh_from_db()
    assert list(user.groups.values_list("name", flat=True)) == [CONTRIBUTOR]
    assert user.is_staff
    (membership,) = user.function_memberships.all()
    assert membership.business_function == "Sales"
    assert membership.history.get().history_change_reason == "Assigned by setup_roles"
    assert "kim now has the role Contributor." in output
    assert "  + business function Sales" in output
    assert "+ business function" not in again


def test_setup_roles_warns_of_a_contributor_without_function():
    factories.UserFactory(username="kim")

    output = setup_roles("--assign", "kim", "--role", "contributor")

    assert NO_FUNCTION_YET.format(user="kim") in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--assign", "kim", "--role", "dpo", "--function", "Sales"),
            FUNCTIONS_NEED_CONTRIBUTOR,
        ),
        (("--function", "Sales"), FUNCTIONS_NEED_CONTRIBUTOR),
        (
            ("--assign", "kim", "--role", "contributor", "--function", " "),
            "Business function refused: This field cannot be blank.",
        ),
        (
            ("--assign", "kim", "--role", "contributor", "--function", "x" * 101),
            "Business function refused: Ensure this value has at most 100 characters",
        ),
    ],
)
def test_setup_roles_refuses_bad_functions(args, message):
    user = factories.UserFactory(username="kim")

    with pytest.raises(CommandError) as refused:
        setup_roles(*args)

    assert str(refused.value).startswith(message)
    assert not user.groups.exists()
    assert not Group.objects.filter(name=CONTRIBUTOR).exists()
    assert not FunctionMembership.objects.exists()


@pytest.fixture
def dpo_member_client(roles):
    return logged_in(member_of(DPO))


def test_dpo_lists_and_searches_memberships(dpo_member_client, contributor):
    outsider = FunctionMembershipFactory(business_function="HR")

    response = dpo_member_client.get(
        url("ropa.functionmembership", "changelist"), {"q": contributor.username}
    )

    assert listed(response) == set(contributor.function_memberships.all())
    assert outsider.user.username not in response.content.decode()


def test_membership_list_tells_whether_the_user_is_a_contributor(
    dpo_member_client, contributor
):
    FunctionMembershipFactory(business_function="HR")

    response = dpo_member_client.get(url("ropa.functionmembership", "changelist"))

    assert {
        (row.user, row.user_is_contributor)
        for row in response.context["cl"].result_list
    } == {
        (contributor, True),
        (FunctionMembership.objects.get(business_function="HR").user, False),
    }


def test_dpo_picks_the_user_by_autocomplete(dpo_member_client, contributor):
    response = dpo_member_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "ropa",
            "model_name": "functionmembership",
            "field_name": "user",
            "term": contributor.username,
        },
    )

    assert response.status_code == 200
    assert [row["text"] for row in response.json()["results"]] == [contributor.username]


@pytest.mark.parametrize(
    ("function", "warned"), [("Sales", False), ("Sales & Marketing", True)]
)
def test_dpo_adds_a_membership(dpo_member_client, ours, function, warned):
    user = factories.StaffUserFactory()

    response = dpo_member_client.post(
        url("ropa.functionmembership", "add"),
        {"user": user.pk, "business_function": function, "change_reason": "Joined"},
    )

    assert response.status_code == 302
    membership = FunctionMembership.objects.get(user=user, business_function=function)
    assert membership.history.get().history_change_reason == "Joined"
    warning = FUNCTION_UNUSED.format(function=function)
    assert (warning in messages_of(response)) is warned


def test_a_membership_is_not_given_twice(dpo_member_client, contributor):
    response = dpo_member_client.post(
        url("ropa.functionmembership", "add"),
        {"user": contributor.pk, "business_function": "Sales"},
    )

    assert response.status_code == 200
    assert "The user is already a member of this business function." in (
        response.context["adminform"].form.non_field_errors()
    )
    assert contributor.function_memberships.count() == 1


# ---------------------------------------------------------------------------
# The admin's home page
# ---------------------------------------------------------------------------


FIGURE = re.compile(
    r'<th scope="row"><a href="[^"]*">([^<]+)</a></th>\s*'
    r'<td class="count"><a href="[^"]*">(\d+)</a></td>'
)


def home_page_figures(client):
    content = client.get(reverse("admin:index")).content.decode()
    return {label: int(count) for label, count in FIGURE.findall(content)}


def test_contributor_home_page_counts_only_their_functions_records(
    contributor_client, ours, theirs
):
    factories.InternationalTransferFactory(activity=theirs)
    factories.ProcessingActivityFactory(
        business_function="HR", status=ActivityStatus.RETIRED
    )

    figures = home_page_figures(contributor_client)

    assert figures["Active"] == 1
    assert figures["Retired"] == 0
    assert TransferMechanism.SCC.label not in figures


def test_dpo_home_page_counts_every_function(roles, ours, theirs):
    factories.InternationalTransferFactory(activity=theirs)

    figures = home_page_figures(logged_in(member_of(DPO)))

    assert figures["Active"] == 2
    assert figures[TransferMechanism.SCC.label] == 1
