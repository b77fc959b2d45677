"""
When activities fall due for review: cycles, due dates and the querysets that
read them.

A review cycle is a calendar year. An active activity falls due in a cycle
when its next review date falls within it (by 31 December), it has no review
in that cycle yet, and no review of an earlier cycle is still open (the open
one stays, and goes overdue, rather than a second one piling up). Its next
review date, the review's ``due_on``, is its last completed review plus
``ROPA_REVIEW_INTERVAL_DAYS``; an activity never reviewed is due at once: on
the day the review is opened (1 January when opened ahead for the coming
cycle). A review is *overdue* when it is still open after its due date; from
its due date on, an open review counts against ``--check``.
"""

import datetime

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, Subquery

from ropa.models import ProcessingActivity, Review

CYCLE_OUT_OF_RANGE = (
    "The review cycle {cycle} is neither the year of the as-of date ({year}) nor "
    "the next one: reviews are opened for the current or the coming cycle."
)


class ReviewError(Exception):
    """The review cannot run as asked."""


def review_interval() -> datetime.timedelta:
    return datetime.timedelta(days=settings.ROPA_REVIEW_INTERVAL_DAYS)


def review_cycle(*, on: datetime.date, year: int | None = None) -> int:
    """The cycle a run on ``on`` works on: ``year``, by default ``on``'s year."""
    if year is None:
        return on.year
    if year not in (on.year, on.year + 1):
        raise ReviewError(CYCLE_OUT_OF_RANGE.format(cycle=year, year=on.year))
    return year


def due_date(
    *, last_reviewed_on: datetime.date | None, on: datetime.date, cycle: int
) -> datetime.date:
    """When the review of an activity falls due (see the module's docstring)."""
    if last_reviewed_on is None:
        return max(on, datetime.date(cycle, 1, 1))
    return last_reviewed_on + review_interval()


def last_completed(field: str, on: datetime.date | None = None) -> Subquery:
    """
    ``field`` of an activity's latest completed review (by ``on``), as a
    subquery on the activity's ``pk``.
    """
    reviews = Review.objects.completed().filter(activity=OuterRef("pk"))
    if on is not None:
        reviews = reviews.filter(completed_on__lte=on)
    return Subquery(reviews.order_by("-completed_on", "-pk").values(field)[:1])


def with_review_schedule(queryset):
    """
    Annotate activities with ``last_reviewed_on`` (their latest completed
    review) and ``open_review_due_on`` (the due date of their open review).

    Subqueries rather than aggregates: the admin list joins other relations
    for its filters, and an aggregate would group the whole list.
    """
    open_reviews = Review.objects.open().filter(activity=OuterRef("pk"))
    return queryset.annotate(
        last_reviewed_on=last_completed("completed_on"),
        open_review_due_on=Subquery(
            open_reviews.order_by("due_on").values("due_on")[:1]
        ),
    )


def next_review_on(activity) -> datetime.date | None:
    """The next review date of an activity from ``with_review_schedule``."""
    return activity.open_review_due_on or activity.next_review_due()


def review_overdue_q(on: datetime.date) -> Q:
    """Activities from ``with_review_schedule`` whose review is overdue on ``on``."""
    return Q(open_review_due_on__lt=on) | Q(
        open_review_due_on__isnull=True, last_reviewed_on__lt=on - review_interval()
    )


def reviews_to_open(*, on: datetime.date, cycle: int) -> list[Review]:
    """The reviews that fall due in ``cycle``, unsaved, by activity reference."""
    end_of_cycle = datetime.date(cycle, 12, 31)
    candidates = (
        ProcessingActivity.objects.active()
        .exclude(Exists(Review.objects.filter(activity=OuterRef("pk"), cycle=cycle)))
        .exclude(Exists(Review.objects.open().filter(activity=OuterRef("pk"))))
        .annotate(last_reviewed_on=last_completed("completed_on", on))
        .only("pk", "reference", "name", "status", "role")
        .order_by("reference")
    )
    reviews = []
    for activity in candidates:
        due_on = due_date(
            last_reviewed_on=activity.last_reviewed_on, on=on, cycle=cycle
        )
        if due_on <= end_of_cycle:
            reviews.append(Review(activity=activity, cycle=cycle, due_on=due_on))
    return reviews
