"""
The review's writes: opening the reviews that fall due, signing one off, and
the system user the yearly run records its writes under.
"""

import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, router, transaction
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
REVIEW_DELETED = "This review was deleted meanwhile: nothing was marked reviewed."
NOTES_REQUIRED = "Say in the notes what changed, or why the activity is retired."
USER_REQUIRED = "Opening reviews records who opened them: give a user."
CONCURRENT_RUN = (
    "Another run opened reviews at the same time; nothing was saved by this "
    "run of the {cycle} cycle. Run it again."
)


#: The PostgreSQL advisory lock a run that opens reviews holds ("ROPAREVI").
REVIEW_RUN_LOCK = 0x524F5041_52455649


def hold_review_run_lock() -> None:
    """
    Wait for any other run that opens reviews to end, and keep the others
    waiting until the caller's transaction ends.

    Two runs at once (cron and a DPO by hand, or two years' runs) would each
    read that no review is open and each open one. On PostgreSQL a
    transaction-level advisory lock runs them one after the other: the second
    sees what the first opened, opens nothing twice and reports as usual. On
    SQLite, which writes one transaction at a time, the database's constraint
    of one open review per activity refuses the second run's reviews
    (``CONCURRENT_RUN``).
    """
    connection = connections[router.db_for_write(Review)]
    if connection.vendor != "postgresql":
        return
    if not connection.in_atomic_block:
        # Released at once outside a transaction: it would lock nothing.
        raise RuntimeError("The review run lock is held by a transaction.")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REVIEW_RUN_LOCK])


def system_user(*, username: str) -> AbstractBaseUser:
    """
    The user the review's own writes are recorded under, created if missing,
    also when another run creates it at the same moment.
    """
    model = get_user_model()
    try:
        return model._default_manager.get_by_natural_key(username)
    except model.DoesNotExist:
        pass
    # An account for the history only: nobody can log in with it.
    user = model(**{model.USERNAME_FIELD: username}, is_active=False)
    user.set_unusable_password()
    try:
        # The unique username is the database's to check: another run may be
        # creating the same user now.
        user.full_clean(validate_unique=False)
    except ValidationError as error:
        raise ReviewError(
            f"Cannot create the system user '{username}': {' '.join(error.messages)}"
        ) from error
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        # Created by another run since the look-up above: use theirs.
        try:
            return model._default_manager.get_by_natural_key(username)
        except model.DoesNotExist:
            pass
        raise
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

    Safe to run again, and twice at once: an activity never gets a second
    review in a cycle, nor a new one while one is open (a run waits for any
    other: ``hold_review_run_lock``). With ``dry_run`` the reviews are
    returned unsaved and nothing is written.
    """
    cycle = review_cycle(on=on, year=cycle)
    if dry_run:
        return _reviews_to_open(on=on, cycle=cycle)
    try:
        with transaction.atomic():
            hold_review_run_lock()
            # Read under the lock: what another run opened is open now.
            reviews = _reviews_to_open(on=on, cycle=cycle)
            if not reviews:
                return reviews
            if user is None:
                raise ReviewError(USER_REQUIRED)
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


def _reviews_to_open(*, on: datetime.date, cycle: int) -> list[Review]:
    """The reviews that fall due in ``cycle``, unsaved and validated."""
    reviews = reviews_to_open(on=on, cycle=cycle)
    for review in reviews:
        # The activities come from the query above; the database enforces the
        # foreign key, the one review per cycle, the one open review per
        # activity and the sign-off constraint. Validating those here would
        # cost queries per review.
        review.full_clean(
            exclude=("activity", "reviewer"),
            validate_unique=False,
            validate_constraints=False,
        )
    return reviews


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
    already completed or gone, or the sign-off is incomplete.
    """
    with transaction.atomic():
        # Locked, then read again: of two sign-offs at once, the second waits
        # here and finds the review completed.
        review = (
            Review.objects.select_for_update()
            .select_related("activity")
            .filter(pk=review.pk)
            .order_by("pk")
            .first()
        )
        if review is None:
            raise ValidationError(REVIEW_DELETED)
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
