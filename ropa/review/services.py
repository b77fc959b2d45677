"""
The review's writes: opening the reviews that fall due, signing one off, and
the system user the yearly run records its writes under.
"""

import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from ropa.enums import ActivityStatus, ReviewOutcome
from ropa.models import Review
from ropa.review.schedule import ReviewError, review_cycle, reviews_to_open

DEFAULT_SYSTEM_USERNAME = "ropa-system"

OPENED_REASON = "Opened by the yearly review of the {cycle} cycle"
COMPLETED_REASON = "Marked reviewed: {outcome}"
RETIRED_REASON = "Retired on review ({cycle} cycle)"

ALREADY_COMPLETED = "This review is already completed."
NOTES_REQUIRED = "Say in the notes what changed, or why the activity is retired."
USER_REQUIRED = "Opening reviews records who opened them: give a user."
CONCURRENT_RUN = (
    "Another run opened reviews of the {cycle} cycle at the same time; nothing "
    "was saved by this one. Run it again."
)


def system_user(*, username: str) -> AbstractBaseUser:
    """The user the review's own writes are recorded under, created if missing."""
    model = get_user_model()
    try:
        return model._default_manager.get_by_natural_key(username)
    except model.DoesNotExist:
        pass
    # An account for the history only: nobody can log in with it.
    user = model(**{model.USERNAME_FIELD: username}, is_active=False)
    user.set_unusable_password()
    try:
        user.full_clean()
    except ValidationError as error:
        raise ReviewError(
            f"Cannot create the system user '{username}': {' '.join(error.messages)}"
        ) from error
    user.save()
    return user


def open_reviews(
    *,
    on: datetime.date,
    user: AbstractBaseUser | None,
    dry_run: bool = False,
    cycle: int | None = None,
    reason: str | None = None,
) -> list[Review]:
    """
    Open the reviews that fall due in ``cycle`` (by default ``on``'s year).

    Safe to run again: an activity never gets a second review in a cycle,
    nor a new one while one is open. With ``dry_run`` the reviews are
    returned unsaved and nothing is written.
    """
    cycle = review_cycle(on=on, year=cycle)
    reviews = reviews_to_open(on=on, cycle=cycle)
    for review in reviews:
        # The activities come from the query above; the database enforces the
        # foreign key, the one review per cycle and the sign-off constraint.
        # Validating those here would cost queries per review.
        review.full_clean(
            exclude=("activity", "reviewer"),
            validate_unique=False,
            validate_constraints=False,
        )
    if dry_run or not reviews:
        return reviews
    if user is None:
        raise ReviewError(USER_REQUIRED)
    try:
        with transaction.atomic():
            # One insert for the reviews and one for their history rows, so
            # the run costs the same however many activities fall due.
            return bulk_create_with_history(
                reviews,
                Review,
                default_user=user,
                default_change_reason=reason or OPENED_REASON.format(cycle=cycle),
            )
    except IntegrityError as error:
        raise ReviewError(CONCURRENT_RUN.format(cycle=cycle)) from error


def notes_missing(outcome: str, notes: str) -> bool:
    """Whether sign-off with ``outcome`` needs notes that ``notes`` lacks."""
    return outcome in (ReviewOutcome.CHANGED, ReviewOutcome.RETIRED) and not (
        notes.strip()
    )


def complete_review(
    *, review: Review, user: AbstractBaseUser, outcome: str, notes: str = ""
) -> Review:
    """
    Sign off an open review as ``user`` today, with an outcome and notes;
    return the completed review.

    Notes are added to those the review already has. The outcome "retired"
    retires the activity too. Raises ``ValidationError`` when the review is
    already completed or the sign-off is incomplete.
    """
    with transaction.atomic():
        review = (
            Review.objects.select_for_update()
            .select_related("activity")
            .get(pk=review.pk)
        )
        if review.completed_on is not None:
            raise ValidationError(ALREADY_COMPLETED)
        notes = notes.strip()
        if notes_missing(outcome, notes or review.notes):
            raise ValidationError({"notes": NOTES_REQUIRED})
        if notes and notes != review.notes.strip():
            review.notes = f"{review.notes.strip()}\n\n{notes}".strip()
        review.completed_on = timezone.localdate()
        review.reviewer = user
        review.outcome = outcome
        review.full_clean()
        review._history_user = user
        review._change_reason = COMPLETED_REASON.format(
            outcome=review.get_outcome_display()
        )
        review.save()
        if outcome == ReviewOutcome.RETIRED:
            activity = review.activity
            activity.status = ActivityStatus.RETIRED
            activity.full_clean()
            activity._history_user = user
            activity._change_reason = RETIRED_REASON.format(cycle=review.cycle)
            activity.save()
    return review
