import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from ropa.enums import ActivityStatus, ReviewOutcome
from ropa.models import Review
from ropa.review.schedule import ReviewError
from ropa.review.services import (
    ALREADY_COMPLETED,
    COMPLETED_REASON,
    NOTES_REQUIRED,
    OPENED_REASON,
    RETIRED_REASON,
    USER_REQUIRED,
    complete_review,
    open_reviews,
)
from tests.factories import ProcessingActivityFactory, ReviewFactory, StaffUserFactory

pytestmark = pytest.mark.django_db

ON = datetime.date(2026, 3, 1)


def day(text):
    return datetime.date.fromisoformat(text)


@pytest.fixture
def system(db):
    return StaffUserFactory(username="ropa-system", is_active=False)


# ---------------------------------------------------------------------------
# Opening reviews
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("completed_on", "cycle", "expected_due_on"),
    [
        # Reviewed a year before: due on the anniversary, within the cycle.
        ("2025-03-01", 2025, day("2026-03-01")),
        # Falls due late in the cycle: opened now, due then.
        ("2025-12-20", 2025, day("2026-12-20")),
        # The 2025 review signed off in January 2026: next due in 2027.
        ("2026-01-05", 2025, None),
        # Already reviewed in this cycle.
        ("2026-02-01", 2026, None),
    ],
)
def test_open_reviews_opens_what_falls_due_in_the_cycle(
    system, completed_on, cycle, expected_due_on
):
    activity = ProcessingActivityFactory()
    ReviewFactory(
        activity=activity, cycle=cycle, completed=True, completed_on=day(completed_on)
    )

    opened = open_reviews(on=ON, user=system)

    assert [(r.activity, r.cycle, r.due_on) for r in opened] == (
        [(activity, 2026, expected_due_on)] if expected_due_on else []
    )


def test_open_reviews_opens_never_reviewed_activities_due_at_once(system):
    activity = ProcessingActivityFactory()

    (opened,) = open_reviews(on=ON, user=system)

    assert (opened.activity, opened.cycle, opened.due_on) == (activity, 2026, ON)
    assert opened.completed_on is None


@pytest.mark.parametrize("status", [ActivityStatus.DRAFT, ActivityStatus.RETIRED])
def test_open_reviews_skips_activities_not_active(system, status):
    ProcessingActivityFactory(status=status)

    assert open_reviews(on=ON, user=system) == []


def test_open_reviews_leaves_an_open_review_of_an_earlier_cycle(system):
    earlier = ReviewFactory(cycle=2025, due_on=day("2025-06-01"))

    assert open_reviews(on=ON, user=system) == []
    assert list(Review.objects.all()) == [earlier]


def test_open_reviews_never_opens_a_second_review_in_a_cycle(system):
    ProcessingActivityFactory.create_batch(2)

    first = open_reviews(on=ON, user=system)
    second = open_reviews(on=ON + datetime.timedelta(days=30), user=system)

    assert len(first) == 2
    assert second == []
    assert Review.objects.count() == 2


def test_open_reviews_records_user_and_reason_in_history(system):
    ProcessingActivityFactory()

    (opened,) = open_reviews(on=ON, user=system)

    record = Review.objects.get(pk=opened.pk).history.get()
    assert record.history_type == "+"
    assert record.history_user == system
    assert record.history_change_reason == OPENED_REASON.format(cycle=2026)


def test_open_reviews_records_a_given_reason(system):
    ProcessingActivityFactory()

    open_reviews(on=ON, user=system, reason="Opened after the audit")

    assert Review.history.get().history_change_reason == "Opened after the audit"


def test_open_reviews_dry_run_saves_nothing(system):
    activity = ProcessingActivityFactory()

    (planned,) = open_reviews(on=ON, user=None, dry_run=True)

    assert planned.pk is None
    assert planned.activity == activity
    assert not Review.objects.exists()
    assert not Review.history.exists()


def test_open_reviews_requires_a_user():
    ProcessingActivityFactory()

    with pytest.raises(ReviewError, match=USER_REQUIRED):
        open_reviews(on=ON, user=None)
    assert not Review.objects.exists()


def test_open_reviews_for_the_coming_cycle(system):
    ProcessingActivityFactory()

    (opened,) = open_reviews(on=day("2026-12-15"), user=system, cycle=2027)

    assert (opened.cycle, opened.due_on) == (2027, day("2027-01-01"))


# ---------------------------------------------------------------------------
# Signing off
# ---------------------------------------------------------------------------


def test_complete_review_signs_off_with_user_date_and_reason(dpo_user):
    open_review = ReviewFactory(notes="Ask sales about the CRM export.")

    completed = complete_review(
        review=open_review,
        user=dpo_user,
        outcome=ReviewOutcome.CONFIRMED,
        notes="Checked with sales.",
    )

    completed.refresh_from_db()
    assert completed.completed_on == timezone.localdate()
    assert completed.reviewer == dpo_user
    assert completed.outcome == ReviewOutcome.CONFIRMED
    assert completed.notes == "Ask sales about the CRM export.\n\nChecked with sales."
    record = completed.history.latest()
    assert record.history_user == dpo_user
    assert record.history_change_reason == COMPLETED_REASON.format(
        outcome=ReviewOutcome.CONFIRMED.label
    )


def test_complete_review_refuses_a_completed_review(dpo_user):
    done = ReviewFactory(completed=True)

    with pytest.raises(ValidationError, match=ALREADY_COMPLETED):
        complete_review(review=done, user=dpo_user, outcome=ReviewOutcome.CONFIRMED)


@pytest.mark.parametrize("outcome", [ReviewOutcome.CHANGED, ReviewOutcome.RETIRED])
def test_complete_review_needs_notes_for_a_change_or_retirement(dpo_user, outcome):
    open_review = ReviewFactory()

    with pytest.raises(ValidationError, match=NOTES_REQUIRED):
        complete_review(review=open_review, user=dpo_user, outcome=outcome, notes=" ")

    open_review.refresh_from_db()
    assert open_review.completed_on is None


@pytest.mark.parametrize("outcome", ["", "approved"])
def test_complete_review_refuses_an_invalid_outcome(dpo_user, outcome):
    open_review = ReviewFactory()

    with pytest.raises(ValidationError):
        complete_review(review=open_review, user=dpo_user, outcome=outcome)

    assert not Review.objects.completed().exists()


def test_complete_review_retired_retires_the_activity_with_history(dpo_user):
    open_review = ReviewFactory(cycle=2026)

    complete_review(
        review=open_review,
        user=dpo_user,
        outcome=ReviewOutcome.RETIRED,
        notes="The newsletter was discontinued.",
    )

    activity = open_review.activity
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.RETIRED
    record = activity.history.latest()
    assert record.status == ActivityStatus.RETIRED
    assert record.history_user == dpo_user
    assert record.history_change_reason == RETIRED_REASON.format(cycle=2026)
