import importlib

import pytest
from django.apps import apps
from django.contrib import admin as django_admin
from django.contrib.admin import ModelAdmin
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from ropa.admin.activities import (
    InternationalTransferInline,
    LawfulBasisInline,
    ProcessingActivityAdmin,
    RetentionRuleInline,
)
from ropa.core.admin_base import RegisterAdmin
from ropa.dashboard import dashboard
from ropa.enums import ActivityStatus, DPIAStatus, LawfulBasisChoice
from ropa.models import ProcessingActivity
from subjects.enums import Sensitivity, SpecialCategory
from tests.admin_pages import add_inline_row
from tests.admin_pages import form_data as page_data
from tests.factories import (
    GroupCompanyFactory,
    InternationalTransferFactory,
    LawfulBasisFactory,
    OrganisationFactory,
    PersonalDataCategoryFactory,
    ProcessingActivityFactory,
    SuperuserFactory,
    UserFactory,
)
from tests.hostile import all_errors, field_errors

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:ropa_processingactivity_changelist")


def change_url(activity):
    return reverse("admin:ropa_processingactivity_change", args=(activity.pk,))


def listed(response):
    return {activity.reference for activity in response.context["cl"].result_list}


def count_queries(client, django_assert_max_num_queries, url, params=None):
    with django_assert_max_num_queries(1000) as captured:
        assert client.get(url, params or {}).status_code == 200
    return len(captured.captured_queries)


# ---------------------------------------------------------------------------
# The list
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"completeness": "incomplete"},
        {"q": "activity"},
        {"status": "all", "transfers": "yes", "special_data": "no"},
        {"lawful_bases__basis__exact": "contract", "dpia": "missing"},
    ],
)
def test_changelist_query_count_does_not_grow_with_rows(
    dpo_client, django_assert_max_num_queries, params
):
    # Session, user, whether the login needs a second factor (ropa.login),
    # permissions; the stored Art. 30 gaps checked for what
    # is missing or out of date (nothing, here); the count for the
    # paginator; the page with its stored gaps; one prefetch of the
    # organisations; one query per filter with choices from the database
    # (organisations, business functions). None of them per row.
    ProcessingActivityFactory()
    dpo_client.get(CHANGELIST)
    one = count_queries(dpo_client, django_assert_max_num_queries, CHANGELIST, params)
    # Ten rows show an N+1 as surely as fifty, at a fifth of the set-up.
    ProcessingActivityFactory.create_batch(9)
    dpo_client.get(CHANGELIST)
    ten = count_queries(dpo_client, django_assert_max_num_queries, CHANGELIST, params)
    assert one == ten <= 16


def test_changelist_opens_on_active_records(dpo_client):
    active = ProcessingActivityFactory()
    retired = ProcessingActivityFactory(status=ActivityStatus.RETIRED)
    draft = ProcessingActivityFactory(status=ActivityStatus.DRAFT)

    assert listed(dpo_client.get(CHANGELIST)) == {active.reference}
    assert listed(dpo_client.get(CHANGELIST, {"status": "retired"})) == {
        retired.reference
    }
    assert listed(dpo_client.get(CHANGELIST, {"status": "all"})) == {
        active.reference,
        retired.reference,
        draft.reference,
    }


def test_changelist_shows_gaps_and_filters_on_completeness(dpo_client):
    complete = ProcessingActivityFactory()
    incomplete = ProcessingActivityFactory(lawful_basis=False, retention=False)

    response = dpo_client.get(CHANGELIST)
    content = response.content.decode()
    assert "Art. 6(1), 30(1)(f)" in content
    assert "no Art. 6(1) lawful basis is recorded" in content

    incomplete_list = dpo_client.get(CHANGELIST, {"completeness": "incomplete"})
    assert listed(incomplete_list) == {incomplete.reference}
    complete_list = dpo_client.get(CHANGELIST, {"completeness": "complete"})
    assert listed(complete_list) == {complete.reference}


def test_changelist_filters_on_organisation(dpo_client):
    ours = GroupCompanyFactory()
    mine = ProcessingActivityFactory(organisations=[ours])
    ProcessingActivityFactory()

    response = dpo_client.get(CHANGELIST, {"organisation": ours.pk})
    assert listed(response) == {mine.reference}


def test_changelist_filters_on_business_function_and_role(dpo_client):
    hr = ProcessingActivityFactory(business_function="HR")
    processor = ProcessingActivityFactory(processor_record=True)

    by_function = dpo_client.get(CHANGELIST, {"business_function": "HR"})
    assert listed(by_function) == {hr.reference}
    by_role = dpo_client.get(CHANGELIST, {"role__exact": "processor"})
    assert listed(by_role) == {processor.reference}


def test_changelist_filters_on_lawful_basis_without_duplicates(dpo_client):
    both = ProcessingActivityFactory(lawful_basis=LawfulBasisChoice.CONSENT)
    LawfulBasisFactory(activity=both, legitimate_interests=True)
    ProcessingActivityFactory()

    response = dpo_client.get(
        CHANGELIST, {"lawful_bases__basis__exact": LawfulBasisChoice.CONSENT}
    )
    assert listed(response) == {both.reference}
    assert response.context["cl"].result_count == 1


def test_changelist_filters_on_special_category_data(dpo_client):
    health = PersonalDataCategoryFactory(
        sensitivity=Sensitivity.SPECIAL, special_category=SpecialCategory.HEALTH
    )
    special = ProcessingActivityFactory(personal_data_categories=[health])
    ordinary = ProcessingActivityFactory()

    assert listed(dpo_client.get(CHANGELIST, {"special_data": "yes"})) == {
        special.reference
    }
    assert listed(dpo_client.get(CHANGELIST, {"special_data": "no"})) == {
        ordinary.reference
    }


def test_changelist_filters_on_transfers(dpo_client):
    transfer = InternationalTransferFactory()
    local = ProcessingActivityFactory()

    assert listed(dpo_client.get(CHANGELIST, {"transfers": "yes"})) == {
        transfer.activity.reference
    }
    assert listed(dpo_client.get(CHANGELIST, {"transfers": "no"})) == {local.reference}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("required", {"PA-R", "PA-D"}), ("missing", {"PA-R"}), ("not_required", {"PA-N"})],
)
def test_changelist_filters_on_dpia(dpo_client, value, expected):
    refs = {"PA-R": "PA-0901", "PA-D": "PA-0902", "PA-N": "PA-0903"}
    ProcessingActivityFactory(
        reference=refs["PA-R"], dpia_required=True, dpia_status=DPIAStatus.IN_PROGRESS
    )
    ProcessingActivityFactory(
        reference=refs["PA-D"], dpia_required=True, dpia_status=DPIAStatus.COMPLETED
    )
    ProcessingActivityFactory(reference=refs["PA-N"])

    response = dpo_client.get(CHANGELIST, {"dpia": value})
    assert listed(response) == {refs[key] for key in expected}


@pytest.mark.parametrize("field", ["reference", "name", "purpose"])
def test_changelist_search(dpo_client, field):
    wanted = ProcessingActivityFactory(
        reference="PA-7777", name="Payroll", purpose="To pay salaries."
    )
    ProcessingActivityFactory()
    term = {"reference": "PA-7777", "name": "payroll", "purpose": "salaries"}[field]

    assert listed(dpo_client.get(CHANGELIST, {"q": term})) == {wanted.reference}


# ---------------------------------------------------------------------------
# The form and its history
# ---------------------------------------------------------------------------


def editor_client():
    """A client of its own, logged in as someone who may save any record."""
    client = Client()
    client.force_login(SuperuserFactory())
    return client


def form_data(client, activity, **changes):
    """What the browser posts from ``activity``'s change page, ``changes`` typed."""
    return {**page_data(client.get(change_url(activity))), **changes}


def test_admin_edit_records_user_and_change_in_history(dpo_client, dpo_user):
    activity = ProcessingActivityFactory(name="Orders")
    old_category = activity.personal_data_categories.get()
    new_category = PersonalDataCategoryFactory(name="Order history")

    response = dpo_client.post(
        change_url(activity),
        form_data(
            dpo_client,
            activity,
            name="Order management",
            personal_data_categories=[new_category.pk],
            change_reason="Renamed after the yearly review",
        ),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    latest = activity.history.latest()
    assert latest.history_user == dpo_user
    assert latest.history_change_reason == "Renamed after the yearly review"
    assert latest.name == "Order management"
    assert list(
        latest.personal_data_categories.values_list("personaldatacategory", flat=True)
    ) == [new_category.pk]
    before = activity.history.filter(name="Orders").latest()
    delta = latest.diff_against(before)
    assert {change.field for change in delta.changes} == {
        "name",
        "personal_data_categories",
    }
    (m2m_change,) = [c for c in delta.changes if c.field == "personal_data_categories"]
    assert [row["personaldatacategory"] for row in m2m_change.old] == [old_category.pk]
    assert [row["personaldatacategory"] for row in m2m_change.new] == [new_category.pk]


def test_admin_edit_without_reason_records_the_changed_fields(dpo_client):
    activity = ProcessingActivityFactory()

    dpo_client.post(
        change_url(activity), form_data(dpo_client, activity, purpose="New purpose.")
    )

    assert activity.history.latest().history_change_reason == (
        "Changed in the admin: Purpose"
    )


def test_admin_inline_rows_record_user_and_reason(dpo_client, dpo_user):
    activity = ProcessingActivityFactory(lawful_basis=False)
    data = add_inline_row(
        form_data(dpo_client, activity, change_reason="Basis documented"),
        "lawful_bases",
        basis=LawfulBasisChoice.CONTRACT,
        explanation="The customer contract.",
    )

    response = dpo_client.post(change_url(activity), data)

    assert response.status_code == 302
    basis = activity.lawful_bases.get()
    record = basis.history.get()
    assert record.history_user == dpo_user
    assert record.history_change_reason == "Basis documented"


def test_change_form_reports_missing_elements(dpo_client):
    activity = ProcessingActivityFactory(recipients=[])

    response = dpo_client.get(change_url(activity))

    assert "Art. 30(1)(d) categories of recipients: no recipient is recorded" in (
        response.content.decode()
    )


def test_view_only_user_sees_the_form_without_a_reason_field(viewer_client):
    activity = ProcessingActivityFactory()

    response = viewer_client.get(change_url(activity))

    assert response.status_code == 200
    assert b'name="change_reason"' not in response.content


def test_view_only_user_cannot_save(viewer_client):
    activity = ProcessingActivityFactory(name="Orders")
    # What a user who may save would post: the viewer's page has no form.
    data = form_data(editor_client(), activity, name="X")

    response = viewer_client.post(change_url(activity), data)

    assert response.status_code == 403
    activity.refresh_from_db()
    assert activity.name == "Orders"


# ---------------------------------------------------------------------------
# History is read-only
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("client_fixture", ["viewer_client", "dpo_client"])
def test_history_revert_post_is_refused(request, client_fixture):
    client = request.getfixturevalue(client_fixture)
    activity = ProcessingActivityFactory(name="Orders")
    data = form_data(editor_client(), activity, name="Orders")
    first = activity.history.earliest()
    activity.name = "Renamed"
    activity.save()
    count = activity.history.count()
    url = reverse(
        "admin:ropa_processingactivity_simple_history",
        args=(activity.pk, first.history_id),
    )

    response = client.post(url, data)

    assert response.status_code == 403
    activity.refresh_from_db()
    assert activity.name == "Renamed"
    assert activity.history.count() == count


# ---------------------------------------------------------------------------
# Deletion
# ---------------------------------------------------------------------------


def test_deleting_a_used_organisation_is_refused_with_the_activities(dpo_client):
    organisation = OrganisationFactory(email="info@example.com")
    activity = ProcessingActivityFactory(organisations=[organisation])
    url = reverse("admin:controllers_organisation_delete", args=(organisation.pk,))

    page = dpo_client.get(url)
    assert activity.reference in page.content.decode()
    response = dpo_client.post(url, {"post": "yes"})

    # The admin answers a refused delete with the confirmation page again.
    assert response.status_code == 200
    content = response.content.decode()
    assert "would require deleting the following protected related objects" in content
    assert change_url(activity) in content
    assert type(organisation).objects.filter(pk=organisation.pk).exists()


def test_deleting_a_user_in_history_is_refused(superuser_client, dpo_user):
    activity = ProcessingActivityFactory()
    activity._history_user = dpo_user
    activity.name = "Changed by the DPO"
    activity.save()
    url = reverse("admin:auth_user_delete", args=(dpo_user.pk,))

    response = superuser_client.post(url, {"post": "yes"})

    assert response.status_code == 403
    assert get_user_model().objects.filter(pk=dpo_user.pk).exists()


def test_deleting_a_user_without_history_is_allowed(superuser_client):
    user = UserFactory()
    url = reverse("admin:auth_user_delete", args=(user.pk,))

    response = superuser_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not get_user_model().objects.filter(pk=user.pk).exists()


# ---------------------------------------------------------------------------
# Dashboard
# ---------------------------------------------------------------------------


def test_dashboard_counts_link_to_the_filtered_lists(dpo_client):
    ProcessingActivityFactory.create_batch(2)
    ProcessingActivityFactory(status=ActivityStatus.DRAFT)
    ProcessingActivityFactory(lawful_basis=False)
    ProcessingActivityFactory(dpia_required=True, dpia_status=DPIAStatus.NOT_STARTED)
    InternationalTransferFactory()

    content = dpo_client.get(reverse("admin:index")).content.decode()
    figures = dashboard()

    counts = {
        figure.label: figure.count for group in figures.values() for figure in group
    }
    assert counts == {
        "Draft": 1,
        "Active": 5,
        "Retired": 0,
        "Incomplete records": 1,
        "High-risk activities without a completed DPIA": 1,
        "Overdue reviews": 0,
        "Reviews open and due, not yet overdue": 0,
        "Drafts with Art. 30 gaps": 0,
        "Standard contractual clauses (Art. 46(2)(c))": 1,
    }
    for group in figures.values():
        for figure in group:
            assert escape(figure.url) in content
            listing = dpo_client.get(figure.url)
            assert listing.context["cl"].result_count == figure.count, figure.label


def test_dashboard_is_hidden_from_staff_without_register_access(client):
    user = UserFactory(is_staff=True)
    client.force_login(user)

    response = client.get(reverse("admin:index"))

    assert b"register-dashboard" not in response.content


def test_processing_activity_is_listed_in_admin_menu(dpo_client):
    response = dpo_client.get(reverse("admin:index"))
    assert CHANGELIST.encode() in response.content
    assert ProcessingActivity._meta.verbose_name_plural.encode() in (
        response.content.lower()
    )


# ---------------------------------------------------------------------------
# Values no record has: refused with the form, never looked up as they come
# ---------------------------------------------------------------------------

# Text, and ids beyond the 64 bits of an id column (OverflowError on SQLite).
NOT_IDS = ("abc", str(2**63), str(2**64), str(-(2**63) - 1))


def shown_form(client, activity):
    """The change form of ``activity`` as the browser posts it unchanged."""
    return page_data(client.get(change_url(activity)))


def with_row(data, prefix, values):
    """``data`` with one more row in the inline formset ``prefix``."""
    total = int(data[f"{prefix}-TOTAL_FORMS"])
    data = {**data, f"{prefix}-TOTAL_FORMS": str(total + 1)}
    data.update({f"{prefix}-{total}-{name}": value for name, value in values.items()})
    return data


@pytest.mark.parametrize("value", NOT_IDS)
@pytest.mark.parametrize(
    ("field", "many"),
    [("owner", False), ("organisations", True), ("recipients", True)],
)
def test_autocomplete_value_that_cannot_be_an_id_is_refused(
    dpo_client, field, many, value
):
    activity = ProcessingActivityFactory()
    data = {**shown_form(dpo_client, activity), field: [value] if many else value}

    response = dpo_client.post(change_url(activity), data)

    assert response.status_code == 200
    assert field_errors(response, field)
    activity.refresh_from_db()
    assert activity.version == 1


@pytest.mark.parametrize("value", NOT_IDS)
def test_inline_autocomplete_value_that_cannot_be_an_id_is_refused(dpo_client, value):
    activity = ProcessingActivityFactory()
    data = with_row(
        shown_form(dpo_client, activity),
        "retention_rules",
        {"personal_data_category": value, "period": "2", "period_unit": "years"},
    )

    response = dpo_client.post(change_url(activity), data)

    assert response.status_code == 200
    assert field_errors(response, "personal_data_category", prefix="retention_rules")
    assert activity.retention_rules.count() == 1


def test_autocomplete_search_with_nul_is_refused(dpo_client):
    # PostgreSQL refuses NUL in a query; no stored text holds one anyway: the
    # request is refused before any view (ropa.core.middleware).
    GroupCompanyFactory(name="Acme AB")
    params = {
        "app_label": "ropa",
        "model_name": "processingactivity",
        "field_name": "organisations",
    }

    found = dpo_client.get(reverse("admin:autocomplete"), {**params, "term": "Acme"})
    nul = dpo_client.get(reverse("admin:autocomplete"), {**params, "term": "Ac\x00me"})

    assert [row["text"] for row in found.json()["results"]] == ["Acme AB"]
    assert nul.status_code == 400


@pytest.mark.parametrize("value", NOT_IDS)
def test_list_action_on_ids_that_cannot_exist_changes_nothing(dpo_client, value):
    activity = ProcessingActivityFactory(status=ActivityStatus.DRAFT)

    response = dpo_client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [value]},
        follow=True,
    )

    assert response.status_code == 200
    assert "Items must be selected" in response.content.decode()
    assert ProcessingActivity.objects.filter(pk=activity.pk).exists()


@pytest.mark.parametrize("value", NOT_IDS)
def test_changelist_organisation_filter_on_a_value_that_is_not_an_id(dpo_client, value):
    ProcessingActivityFactory()  # The filter shows once an activity names one.

    response = dpo_client.get(CHANGELIST, {"organisation": value})

    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


@pytest.mark.parametrize("value", NOT_IDS)
def test_user_group_that_cannot_be_an_id_is_refused(superuser_client, value):
    user = UserFactory()
    url = reverse("admin:auth_user_change", args=(user.pk,))
    data = {**page_data(superuser_client.get(url)), "groups": [value]}

    response = superuser_client.post(url, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["groups"]


# ---------------------------------------------------------------------------
# The inlines' rows
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "limit"),
    [
        ("lawful_bases", LawfulBasisInline.max_num),
        ("transfers", InternationalTransferInline.max_num),
        ("retention_rules", RetentionRuleInline.max_num),
    ],
)
def test_inline_refuses_more_rows_than_it_accepts_without_building_them(
    dpo_client, prefix, limit
):
    activity = ProcessingActivityFactory()
    rows = {"lawful_bases": 1, "transfers": 0, "retention_rules": 1}[prefix]
    data = {**shown_form(dpo_client, activity), f"{prefix}-TOTAL_FORMS": "1000"}

    response = dpo_client.post(change_url(activity), data)

    assert response.status_code == 200
    (formset,) = [
        inline.formset
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.prefix == prefix
    ]
    assert [str(e) for e in formset.non_form_errors()] == [
        f"Please submit at most {limit} forms."
    ]
    # Only the record's own rows are built to show the form again.
    assert len(formset.forms) == rows
    activity.refresh_from_db()
    assert activity.version == 1


def test_inline_saves_a_record_with_more_rows_than_it_adds(dpo_client, monkeypatch):
    # Rows an import added beyond the inline's limit never block a save.
    monkeypatch.setattr(LawfulBasisInline, "max_num", 1)
    activity = ProcessingActivityFactory()
    LawfulBasisFactory(activity=activity, basis=LawfulBasisChoice.CONSENT)
    data = shown_form(dpo_client, activity)

    saved = dpo_client.post(change_url(activity), data)
    one_more = dpo_client.post(
        change_url(activity),
        with_row(
            shown_form(dpo_client, activity),
            "lawful_bases",
            {"basis": LawfulBasisChoice.LEGAL_OBLIGATION, "explanation": "Tax law."},
        ),
    )

    assert saved.status_code == 302
    assert one_more.status_code == 200
    assert field_errors(one_more, "basis", prefix="lawful_bases") == [
        "Please submit at most 1 form."
    ]
    assert activity.lawful_bases.count() == 2


def test_inline_row_repeating_a_row_the_form_did_not_show_is_refused(dpo_client):
    # A row added since the page was shown (here: left out of INITIAL_FORMS)
    # is compared with the rows posted, as the database would.
    activity = ProcessingActivityFactory()
    data = shown_form(dpo_client, activity)
    data["lawful_bases-INITIAL_FORMS"] = "0"

    response = dpo_client.post(change_url(activity), data)

    assert response.status_code == 200
    assert all_errors(response) == [
        "Lawful basis with this Activity and Art. 6(1) basis already exists. It "
        "was not shown here: reload the page to see it."
    ]
    assert activity.lawful_bases.count() == 1


RULE_FOR_ALL_DATA = "The activity already has a rule for all of its data."


def test_retention_inline_second_rule_for_all_data_is_refused(dpo_client):
    activity = ProcessingActivityFactory()
    data = with_row(
        shown_form(dpo_client, activity),
        "retention_rules",
        {"criteria": "Until the customer unsubscribes.", "end_action": "erase"},
    )

    response = dpo_client.post(change_url(activity), data)

    assert response.status_code == 200
    assert field_errors(
        response, "personal_data_category", prefix="retention_rules"
    ) == [RULE_FOR_ALL_DATA]
    assert activity.retention_rules.count() == 1


def test_retention_inline_rule_for_all_data_not_shown_is_counted(dpo_client):
    activity = ProcessingActivityFactory()
    data = shown_form(dpo_client, activity)
    # The activity's rule for all data left out of INITIAL_FORMS: its row is
    # posted as a new rule for all data.
    data["retention_rules-INITIAL_FORMS"] = "0"

    response = dpo_client.post(change_url(activity), data)

    assert response.status_code == 200
    assert RULE_FOR_ALL_DATA in all_errors(response)
    assert activity.retention_rules.count() == 1


@pytest.mark.parametrize("how", ["given a category", "deleted"])
def test_retention_inline_rule_for_all_data_may_move_to_a_new_row(dpo_client, how):
    activity = ProcessingActivityFactory()
    category = activity.personal_data_categories.get()
    data = shown_form(dpo_client, activity)
    if how == "deleted":
        data["retention_rules-0-DELETE"] = "on"
    else:
        data["retention_rules-0-personal_data_category"] = str(category.pk)
    data = with_row(
        data,
        "retention_rules",
        {"criteria": "Until the customer unsubscribes.", "end_action": "erase"},
    )

    response = dpo_client.post(change_url(activity), data)

    assert response.status_code == 302, all_errors(response)
    rule = activity.retention_rules.get(personal_data_category=None)
    assert rule.criteria == "Until the customer unsubscribes."


def test_list_checkboxes_are_djangos_markup():
    activity = ProcessingActivity(pk=7, reference="PA-0007", name="<b>\"&'</b>")
    register_admins = [
        model_admin
        for model_admin in django_admin.site._registry.values()
        if isinstance(model_admin, RegisterAdmin)
    ]

    assert register_admins
    for model_admin in register_admins:
        assert model_admin.action_checkbox(activity) == ModelAdmin.action_checkbox(
            model_admin, activity
        )


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="planner statistics of PostgreSQL"
)
def test_activity_search_columns_have_statistics_on_postgresql():
    # Without them PostgreSQL misjudges how many records a search matches.
    # (The test database is built without migrations: apply this one's step.)
    migration = importlib.import_module("ropa.migrations.0007_search_statistics")
    with connection.schema_editor() as editor:
        migration.create_statistics(apps, editor)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_statisticsobjdef(oid) FROM pg_statistic_ext"
            " WHERE stxrelid = %s::regclass",
            [ProcessingActivity._meta.db_table],
        )
        definitions = " ".join(row[0] for row in cursor.fetchall())

    for name in ProcessingActivityAdmin.search_fields:
        assert f"ON upper({name}::text) " in definitions or (
            f"ON upper({name}) " in definitions
        ), name
