import datetime

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from ropa.admin.sign_off import (
    ACTIVITY_HAS_NO_OPEN_REVIEW,
    MARK_REVIEWED_TEMPLATE,
    NO_OPEN_REVIEW,
    RETIRE_NOT_ALLOWED,
)
from ropa.dashboard import dashboard
from ropa.enums import ActivityStatus, ReviewOutcome
from ropa.models import ProcessingActivity
from ropa.review import NOTES_REQUIRED, complete_review
from tests.factories import ProcessingActivityFactory, ReviewFactory, UserFactory

pytestmark = pytest.mark.django_db

REVIEWS = reverse("admin:ropa_review_changelist")
ACTIVITIES = reverse("admin:ropa_processingactivity_changelist")
TODAY = timezone.localdate()


def days(n):
    return TODAY + datetime.timedelta(days=n)


def change_url(activity):
    return reverse("admin:ropa_processingactivity_change", args=(activity.pk,))


def mark_reviewed_url(activity):
    return reverse("admin:ropa_processingactivity_mark_reviewed", args=(activity.pk,))


def listed(response):
    return set(response.context["cl"].result_list)


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def open_review(due_in=10, **kwargs):
    return ReviewFactory(cycle=TODAY.year, due_on=days(due_in), **kwargs)


def completed_review(completed_on=TODAY, **kwargs):
    return ReviewFactory(
        cycle=completed_on.year, completed=True, completed_on=completed_on, **kwargs
    )


def count_queries(client, django_assert_max_num_queries, url, params=None):
    with django_assert_max_num_queries(1000) as captured:
        assert client.get(url, params or {}).status_code == 200
    return len(captured.captured_queries)


# ---------------------------------------------------------------------------
# The review list
# ---------------------------------------------------------------------------


@pytest.fixture
def three_reviews():
    return {
        "due": open_review(due_in=10),
        "overdue": open_review(due_in=-1),
        "completed": completed_review(),
    }


@pytest.mark.parametrize("status", ["due", "overdue", "completed"])
def test_review_changelist_filters_on_status(dpo_client, three_reviews, status):
    response = dpo_client.get(REVIEWS, {"status": status})

    assert listed(response) == {three_reviews[status]}


def test_review_changelist_shows_the_status_of_each_review(dpo_client, three_reviews):
    response = dpo_client.get(REVIEWS)

    content = response.content.decode()
    assert '<td class="field-review_status"><strong>Overdue</strong></td>' in content
    assert '<td class="field-review_status">Due</td>' in content
    assert '<td class="field-review_status">Completed</td>' in content


def test_review_changelist_filters_have_distinct_titles(dpo_client, three_reviews):
    response = dpo_client.get(REVIEWS)

    titles = [str(spec.title) for spec in response.context["cl"].filter_specs]
    assert len(titles) == len(set(titles)), titles
    assert {"review status", "activity status"} <= set(titles)


def test_review_changelist_filters_show_labels(dpo_client, three_reviews):
    response = dpo_client.get(REVIEWS)

    shown = {
        str(spec.title): [str(choice["display"]) for choice in spec.choices(cl)]
        for cl in [response.context["cl"]]
        for spec in cl.filter_specs
    }
    assert shown["review status"] == ["All", "Due", "Overdue", "Completed"]
    assert shown["activity status"] == ["All", "Draft", "Active", "Retired"]
    assert shown["outcome"] == ["All", "Confirmed, no change", "Changed", "Retired"]


def test_review_changelist_filters_on_cycle_and_outcome(dpo_client):
    earlier = completed_review(completed_on=datetime.date(2024, 11, 30))
    changed = completed_review(outcome=ReviewOutcome.CHANGED)

    by_cycle = dpo_client.get(REVIEWS, {"cycle": 2024})
    by_outcome = dpo_client.get(REVIEWS, {"outcome__exact": ReviewOutcome.CHANGED})

    assert listed(by_cycle) == {earlier}
    assert listed(by_outcome) == {changed}


@pytest.mark.parametrize("params", [{}, {"status": "overdue"}, {"q": "PA"}])
def test_review_changelist_query_count_does_not_grow_with_rows(
    dpo_client, django_assert_max_num_queries, params
):
    # Session, user, permissions; the count for the paginator; the page with
    # its activity and reviewer joined; the cycles for their filter.
    open_review(due_in=-1)
    one = count_queries(dpo_client, django_assert_max_num_queries, REVIEWS, params)
    for _ in range(5):
        open_review(due_in=-1)
        completed_review()
    many = count_queries(dpo_client, django_assert_max_num_queries, REVIEWS, params)

    assert one == many


def test_review_change_form_keeps_the_sign_off_read_only(dpo_client):
    review = completed_review()

    response = dpo_client.get(reverse("admin:ropa_review_change", args=(review.pk,)))

    form = response.context["adminform"].form
    assert not {"reviewer", "outcome", "completed_on", "activity"} & set(form.fields)


# ---------------------------------------------------------------------------
# The "Mark reviewed" action
# ---------------------------------------------------------------------------


def action_data(reviews, **form):
    return {
        "action": "mark_reviewed",
        ACTION_CHECKBOX_NAME: [review.pk for review in reviews],
        **form,
    }


def test_mark_reviewed_action_asks_for_outcome_and_notes(dpo_client):
    reviews = [open_review(), open_review(due_in=-5)]

    response = dpo_client.post(REVIEWS, {**action_data(reviews), "index": 0})

    assert response.status_code == 200
    assert response.templates[0].name == MARK_REVIEWED_TEMPLATE
    assert set(response.context["form"].fields) == {"outcome", "notes"}
    assert response.context["reviews"] == sorted(
        reviews, key=lambda review: review.activity.reference
    )
    assert all(review.completed_on is None for review in reviews)


def test_mark_reviewed_action_completes_the_open_reviews(dpo_client, dpo_user):
    reviews = [open_review(), open_review(due_in=-5)]
    done = completed_review()

    response = dpo_client.post(
        REVIEWS,
        action_data(
            [*reviews, done], apply="1", outcome=ReviewOutcome.CONFIRMED, notes="OK"
        ),
        follow=True,
    )

    assert messages_of(response) == [
        "Marked 2 reviews reviewed (Confirmed, no change)."
    ]
    for review in reviews:
        review.refresh_from_db()
        assert (review.completed_on, review.reviewer, review.outcome) == (
            # Today when the action ran (the suite may have passed midnight).
            timezone.localdate(),
            dpo_user,
            ReviewOutcome.CONFIRMED,
        )
        assert review.history.latest().history_user == dpo_user
    history = done.history.count()
    done.refresh_from_db()
    assert done.reviewer != dpo_user
    assert done.history.count() == history


def test_mark_reviewed_action_without_open_reviews_warns(dpo_client):
    done = completed_review()

    response = dpo_client.post(
        REVIEWS, {**action_data([done]), "index": 0}, follow=True
    )

    assert messages_of(response) == [NO_OPEN_REVIEW]


def test_mark_reviewed_action_needs_notes_for_a_change(dpo_client):
    review = open_review()

    response = dpo_client.post(
        REVIEWS,
        action_data([review], apply="1", outcome=ReviewOutcome.CHANGED, notes=""),
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {"notes": [NOTES_REQUIRED]}
    review.refresh_from_db()
    assert review.completed_on is None


def test_mark_reviewed_action_retired_retires_the_activities(dpo_client):
    review = open_review()

    dpo_client.post(
        REVIEWS,
        action_data(
            [review], apply="1", outcome=ReviewOutcome.RETIRED, notes="Discontinued."
        ),
    )

    review.activity.refresh_from_db()
    assert review.activity.status == ActivityStatus.RETIRED


def test_mark_reviewed_action_is_not_offered_to_view_only_users(viewer_client):
    review = open_review()

    page = viewer_client.get(REVIEWS)
    response = viewer_client.post(
        REVIEWS,
        action_data([review], apply="1", outcome=ReviewOutcome.CONFIRMED),
        follow=True,
    )

    choices = dict(page.context["action_form"].fields["action"].choices)
    assert "mark_reviewed" not in choices
    assert response.status_code == 200
    review.refresh_from_db()
    assert review.completed_on is None


def test_mark_reviewed_action_retiring_needs_permission_to_change_activities(client):
    reviewer = UserFactory(
        is_staff=True,
        permissions=[
            "ropa.view_review",
            "ropa.change_review",
            "ropa.view_processingactivity",
        ],
    )
    client.force_login(reviewer)
    review = open_review()

    response = client.post(
        REVIEWS,
        action_data([review], apply="1", outcome=ReviewOutcome.RETIRED, notes="Gone."),
    )

    assert response.context["form"].errors == {"outcome": [RETIRE_NOT_ALLOWED]}
    review.activity.refresh_from_db()
    assert review.activity.status == ActivityStatus.ACTIVE


# ---------------------------------------------------------------------------
# The activity: its reviews and the "Mark reviewed" button
# ---------------------------------------------------------------------------


def test_activity_change_form_lists_reviews_and_offers_mark_reviewed(dpo_client):
    review = open_review()
    completed_review(
        completed_on=datetime.date(2024, 11, 30),
        activity=review.activity,
        notes="Checked with sales.",
    )

    content = dpo_client.get(change_url(review.activity)).content.decode()

    assert f'href="{mark_reviewed_url(review.activity)}"' in content
    assert "Checked with sales." in content
    assert 'name="reviews-TOTAL_FORMS"' in content


def test_activity_change_form_hides_mark_reviewed_without_an_open_review(
    dpo_client,
):
    review = completed_review()

    content = dpo_client.get(change_url(review.activity)).content.decode()

    assert mark_reviewed_url(review.activity) not in content


def test_activity_change_form_hides_mark_reviewed_from_view_only_users(
    viewer_client,
):
    review = open_review()

    response = viewer_client.get(change_url(review.activity))

    assert response.status_code == 200
    assert mark_reviewed_url(review.activity) not in response.content.decode()


def test_mark_reviewed_page_shows_what_changed_since_the_last_review(
    dpo_client, dpo_user
):
    activity = ProcessingActivityFactory(name="Orders")
    earlier = ReviewFactory(activity=activity, cycle=TODAY.year, due_on=TODAY)
    complete_review(review=earlier, user=dpo_user, outcome=ReviewOutcome.CONFIRMED)
    activity.name = "Order management"
    activity.save()
    ReviewFactory(activity=activity, cycle=TODAY.year + 1, due_on=days(365))

    response = dpo_client.get(mark_reviewed_url(activity))

    assert response.status_code == 200
    (change,) = response.context["changes"].fields
    assert (change.old, change.new) == ("Orders", "Order management")
    assert "Changes since the last completed review" in response.content.decode()


def test_mark_reviewed_page_completes_the_open_review(dpo_client, dpo_user):
    review = open_review(due_in=-3)

    response = dpo_client.post(
        mark_reviewed_url(review.activity),
        {"outcome": ReviewOutcome.CHANGED, "notes": "Recipients updated."},
        follow=True,
    )

    assert response.redirect_chain == [(change_url(review.activity), 302)]
    assert messages_of(response) == ["Marked 1 review reviewed (Changed)."]
    review.refresh_from_db()
    assert (review.reviewer, review.outcome, review.notes) == (
        dpo_user,
        ReviewOutcome.CHANGED,
        "Recipients updated.",
    )


def test_mark_reviewed_page_without_an_open_review_redirects(dpo_client):
    activity = ProcessingActivityFactory()

    response = dpo_client.get(mark_reviewed_url(activity), follow=True)

    assert response.redirect_chain == [(change_url(activity), 302)]
    assert messages_of(response) == [ACTIVITY_HAS_NO_OPEN_REVIEW]


@pytest.mark.parametrize("method", ["get", "post"])
def test_mark_reviewed_page_is_refused_to_view_only_users(viewer_client, method):
    review = open_review()

    response = getattr(viewer_client, method)(
        mark_reviewed_url(review.activity), {"outcome": ReviewOutcome.CONFIRMED}
    )

    assert response.status_code == 403
    review.refresh_from_db()
    assert review.completed_on is None


# ---------------------------------------------------------------------------
# The activity list: last reviewed, next due, overdue
# ---------------------------------------------------------------------------


def test_activity_changelist_shows_next_review_due(dpo_client, settings):
    settings.ROPA_REVIEW_INTERVAL_DAYS = 365
    reviewed = completed_review(completed_on=days(-30)).activity
    with_open = open_review(due_in=-2).activity
    never = ProcessingActivityFactory()
    model_admin = admin.site._registry[ProcessingActivity]

    response = dpo_client.get(ACTIVITIES)

    rows = {row.pk: row for row in response.context["cl"].result_list}
    shown = {pk: model_admin.next_review(row) for pk, row in rows.items()}
    assert shown == {
        reviewed.pk: days(335),
        with_open.pk: f'<strong title="Overdue">{days(-2)} overdue</strong>',
        never.pk: "-",
    }
    assert "field-next_review" in response.content.decode()


def test_activity_changelist_filters_on_review(dpo_client):
    overdue_open = open_review(due_in=-1).activity
    # Reviewed more than an interval ago, and no review opened since.
    overdue_late = completed_review(completed_on=days(-400)).activity
    due = open_review(due_in=30).activity
    reviewed = completed_review(completed_on=days(-10)).activity
    never = ProcessingActivityFactory()

    def filtered(value):
        return listed(dpo_client.get(ACTIVITIES, {"review": value}))

    assert filtered("overdue") == {overdue_open, overdue_late}
    assert filtered("open") == {overdue_open, due}
    assert filtered("never") == {overdue_open, due, never}
    assert reviewed not in filtered("overdue") | filtered("never")


def test_activity_changelist_query_count_with_reviews(
    dpo_client, django_assert_max_num_queries
):
    # The review dates are two columns of the list's own query: no query per row.
    completed_review(completed_on=days(-400))
    params = {"review": "overdue"}
    one = count_queries(dpo_client, django_assert_max_num_queries, ACTIVITIES, params)
    for _ in range(5):
        completed_review(completed_on=days(-400))
        open_review(due_in=-1)
    many = count_queries(dpo_client, django_assert_max_num_queries, ACTIVITIES, params)

    assert one == many


# ---------------------------------------------------------------------------
# Dashboard
# ---------------------------------------------------------------------------


def test_dashboard_counts_overdue_reviews_and_links_to_them(dpo_client):
    open_review(due_in=-1)
    completed_review(completed_on=days(-400))
    open_review(due_in=5)
    open_review(due_in=-1, activity=ProcessingActivityFactory(status="retired"))

    content = dpo_client.get(reverse("admin:index")).content.decode()

    (figure,) = [f for f in dashboard()["attention"] if f.label == "Overdue reviews"]
    assert figure.count == 2
    assert escape(figure.url) in content
    assert dpo_client.get(figure.url).context["cl"].result_count == 2


def test_dashboard_counts_reviews_open_and_due_and_links_to_them(dpo_client):
    due = [open_review(due_in=0), open_review(due_in=30)]
    open_review(due_in=-1)
    completed_review()
    open_review(due_in=5, activity=ProcessingActivityFactory(status="retired"))

    content = dpo_client.get(reverse("admin:index")).content.decode()

    (figure,) = [
        f
        for f in dashboard()["attention"]
        if f.label == "Reviews open and due, not yet overdue"
    ]
    assert figure.count == 2
    assert escape(figure.url) in content
    assert listed(dpo_client.get(figure.url)) == set(due)


def test_dashboard_counts_drafts_with_gaps(dpo_client):
    ProcessingActivityFactory(status="draft", lawful_basis=False)
    ProcessingActivityFactory(status="draft")
    ProcessingActivityFactory(status="active", lawful_basis=False)

    (figure,) = [
        f for f in dashboard()["attention"] if f.label == "Drafts with Art. 30 gaps"
    ]
    assert figure.count == 1
    listing = dpo_client.get(figure.url)
    assert [row.status for row in listing.context["cl"].result_list] == ["draft"]
