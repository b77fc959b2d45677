"""
How the register's health moves: the dashboard's figures at the end of each
month, over the last ``MONTHS`` months or since the register's first record.

The figures (``FIGURES``) count what the dashboard counts today:

- the activities by status;
- the active records with gaps ("Incomplete records") and the drafts with
  gaps, by the rules of ``ropa.completeness`` on the EEA and adequacy data in
  force that day;
- the overdue reviews: active activities whose open review was due before
  the day, or which have no open review and whose last completed review is
  older than ``ROPA_REVIEW_INTERVAL_DAYS``;
- the transfers without a mechanism where one is needed: for each active
  activity, each recipient outside the EEA, in a country no adequacy
  decision covers, with no transfer recorded to its country (what the flow
  pictures of ``ropa.charts.flows`` mark "no mechanism").

A month's figures are those at the end of its last day in
``settings.TIME_ZONE``, rebuilt from the history with the as-of machinery of
the exports (``RegisterSnapshot``, its ``Gaps``, and the reviews' own
history), so a month shows what the register said then, as the as-of export
of that day does. They are kept by business function, so that a contributor
sees the figures of their own functions only.

The current month is live: the dashboard's own figures (``ropa.dashboard``)
and one query. A finished month is computed once and kept (``HealthMonth``)
with the version of the rules that computed it (``rules_version``: the source
of the modules that define the figures and the settings they read), so that
a change of the rules, of the EEA or adequacy data, of the review interval or
of the time zone computes it again. A month is kept only from ``SETTLE``
after its end: a transaction still open at midnight writes history rows
dated before it, and commits after.

Nothing in normal use changes a finished month: every change, an import's
too, is dated when it is applied, and history is never edited. Two things
can: a record that has no history before a day (one created before history
was kept) is read as it stands now (see ``ropa.exchange.snapshot``), so
editing it changes what a rebuild says of the past; and history written with
past dates (``generate_register``, a data migration's ``populate_history``).
A kept month keeps the figures of when it was computed; ``manage.py
compute_health --rebuild`` computes the months again.

Rebuilding a month reads the whole register of that day: about 4 s at
10,000 activities (README, "Performance"). So ``manage.py compute_health``,
run from cron each night, computes the finished months that are not kept;
the dashboard computes what is missing only while its time budget
(``ROPA_HEALTH_BUDGET_SECONDS``) lasts, newest first, and shows the rest as
not computed yet.
"""

import datetime
import hashlib
import inspect
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.db import OperationalError, router, transaction
from django.db.models import Min
from django.utils import timezone

from ropa import completeness, geography
from ropa.enums import ActivityStatus
from ropa.exchange import snapshot
from ropa.exchange.snapshot import Gaps, RegisterSnapshot, end_of_day, last_versions
from ropa.models import HealthMonth, ProcessingActivity, Recipient, Review
from ropa.review import schedule

#: How many months the dashboard shows, the current one included.
MONTHS = 24
#: How long after its end a month is kept: longer than any transaction runs.
SETTLE = datetime.timedelta(hours=1)
#: Seconds a month costs per activity, until one was computed and timed: a
#: little over what 10,000 activities took on the benchmark's machine.
FIRST_ESTIMATE = 0.0005

DRAFT = ActivityStatus.DRAFT.value
ACTIVE = ActivityStatus.ACTIVE.value
RETIRED = ActivityStatus.RETIRED.value
INCOMPLETE = "incomplete"
DRAFTS_WITH_GAPS = "drafts_with_gaps"
OVERDUE = "overdue"
NO_MECHANISM = "no_mechanism"


@dataclass(frozen=True)
class Figure:
    key: str
    label: str


#: The figures, in the order of the table; the labels are the dashboard's.
STATUSES = tuple(Figure(value, label) for value, label in ActivityStatus.choices)
ATTENTION = (
    Figure(INCOMPLETE, "Incomplete records"),
    Figure(DRAFTS_WITH_GAPS, "Drafts with Art. 30 gaps"),
    Figure(OVERDUE, "Overdue reviews"),
    Figure(NO_MECHANISM, "Transfers without a mechanism"),
)
FIGURES = STATUSES + ATTENTION
FIGURE_LABELS = {figure.key: figure.label for figure in FIGURES}

#: How a month's figures were come by.
LIVE = "live"
KEPT = "kept"
COMPUTED = "computed"
NOT_COMPUTED = "not computed"


@dataclass(frozen=True)
class Month:
    """One month of the chart: its figures at the end of ``day``, or None."""

    start: datetime.date
    day: datetime.date  # the month's last day; today for the current month
    state: str
    figures: dict | None  # figure key -> count; None when not computed yet

    @property
    def current(self):
        return self.state == LIVE


# ---------------------------------------------------------------------------
# The rules' version
# ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _sources_digest():
    digest = hashlib.sha256()
    # What decides a figure: this module, the completeness rules and their
    # reading of a snapshot, the EEA and adequacy data, the review schedule.
    for module in (
        sys.modules[__name__],
        completeness,
        snapshot,
        geography,
        schedule,
    ):
        digest.update(inspect.getsource(module).encode())
    return digest


def rules_version():
    """
    The version of the rules that compute a month: a kept month of another
    version is computed again. The settings are read on each call, as tests
    and deployments change them.
    """
    digest = _sources_digest().copy()
    digest.update(f"{settings.ROPA_REVIEW_INTERVAL_DAYS}|{settings.TIME_ZONE}".encode())
    return digest.hexdigest()[:32]


# ---------------------------------------------------------------------------
# Months
# ---------------------------------------------------------------------------


def month_start(day):
    return day.replace(day=1)


def next_month(start):
    return (start + datetime.timedelta(days=32)).replace(day=1)


def last_day(start):
    return next_month(start) - datetime.timedelta(days=1)


def first_record_day():
    """The day of the register's first history record, or None."""
    first = ProcessingActivity.history.aggregate(first=Min("history_date"))["first"]
    return None if first is None else timezone.localdate(first)


def months_shown(today, first_day):
    """
    The first days of the months shown, oldest first: the last ``MONTHS``
    months up to ``today``'s, none before ``first_day``'s.
    """
    start = month_start(today)
    starts = [start]
    for _ in range(MONTHS - 1):
        start = month_start(start - datetime.timedelta(days=1))
        if first_day is None or start < month_start(first_day):
            break
        starts.append(start)
    return starts[::-1]


def is_final(start, now):
    """Whether the month is over long enough to be kept (see ``SETTLE``)."""
    return now >= end_of_day(last_day(start)) + SETTLE


# ---------------------------------------------------------------------------
# A month rebuilt from history
# ---------------------------------------------------------------------------


def overdue_activities(day):
    """
    The ids of the activities whose review was overdue at the end of ``day``,
    as ``review_overdue_q(day)`` finds them, from the reviews' history.
    """
    versions = last_versions(Review.history.model, end_of_day(day)).values_list(
        "activity_id", "due_on", "completed_on", "history_type"
    )
    open_due, last_completed = {}, {}
    for activity_id, due_on, completed_on, kind in versions:
        if kind == "-":
            continue
        if completed_on is None:
            known = open_due.get(activity_id)
            open_due[activity_id] = due_on if known is None else min(known, due_on)
        else:
            known = last_completed.get(activity_id)
            if known is None or completed_on > known:
                last_completed[activity_id] = completed_on
    since = day - schedule.review_interval()
    overdue = {pk for pk, due_on in open_due.items() if due_on < day}
    overdue.update(
        pk
        for pk, completed_on in last_completed.items()
        if pk not in open_due and completed_on < since
    )
    return overdue


def missing_mechanisms(activity, recipients, eea, adequate):
    """
    How many recipients of ``activity`` (a snapshot's dict) need a transfer
    mechanism and have none: outside the EEA, in a country no adequacy
    decision covers, with no transfer recorded to their country.
    """
    recorded = {str(transfer["country"] or "") for transfer in activity["transfers"]}
    count = 0
    for pk in activity["recipients"]:
        country = str(recipients[pk]["country"] or "")
        if (
            country
            and country not in eea
            and country not in recorded
            and not adequate.covers(country)
        ):
            count += 1
    return count


def figures_at(day):
    """
    The figures at the end of ``day``, rebuilt from history, by business
    function: ``{function: {figure key: count}}`` (counts of zero left out).
    """
    register = RegisterSnapshot(day=day)
    catalogue = register.catalogue()
    gaps = Gaps(catalogue, on=day)
    recipients = catalogue.details[Recipient]
    overdue = overdue_activities(day)
    by_function = defaultdict(Counter)
    for chunk in register.activities():
        for activity in chunk:
            counts = by_function[activity["business_function"]]
            status = activity["status"]
            counts[status] += 1
            if status == RETIRED:
                continue
            if gaps.of(activity):
                counts[INCOMPLETE if status == ACTIVE else DRAFTS_WITH_GAPS] += 1
            if status == ACTIVE:
                counts[OVERDUE] += activity["id"] in overdue
                counts[NO_MECHANISM] += missing_mechanisms(
                    activity, recipients, gaps.eea, gaps.adequate
                )
    return {
        function: {key: count for key, count in counts.items() if count}
        for function, counts in by_function.items()
    }


def total(by_function, functions=None):
    """The figures of ``functions`` (all when None), summed, every key present."""
    summed = Counter()
    for function, counts in by_function.items():
        if functions is None or function in functions:
            summed.update(counts)
    return {figure.key: summed[figure.key] for figure in FIGURES}


def keep(start, by_function, seconds, now=None):
    """Keep a finished month's figures, replacing any of another version."""
    HealthMonth.objects.bulk_create(
        [
            HealthMonth(
                month=start,
                rules=rules_version(),
                figures=by_function,
                seconds=seconds,
                computed_at=now or timezone.now(),
            )
        ],
        # One statement, whoever computed the month first: the dashboards of
        # several servers and the nightly command compute the same figures.
        update_conflicts=True,
        unique_fields=("month",),
        update_fields=("rules", "figures", "seconds", "computed_at"),
    )


def compute(start, now=None, *, busy_ok=False):
    """
    A month's figures by business function, rebuilt from history and kept if
    the month is final; and the seconds that took.

    With ``busy_ok`` (a page computing it), a database that refuses the write
    (SQLite busy with another writer, such as a long import) leaves the month
    shown but not kept, for a later visit or the nightly command to keep.
    """
    now = now or timezone.now()
    started = time.perf_counter()
    by_function = figures_at(last_day(start))
    seconds = time.perf_counter() - started
    if is_final(start, now):
        try:
            # A savepoint: a refused write leaves the page's transaction usable.
            with transaction.atomic(using=router.db_for_write(HealthMonth)):
                keep(start, by_function, seconds, now)
        except OperationalError:
            if not busy_ok:
                raise
    return by_function, seconds


# ---------------------------------------------------------------------------
# What the dashboard and the command ask for
# ---------------------------------------------------------------------------


def months(*, current, functions=None, budget=None, now=None):
    """
    The months shown, oldest first, with the figures of ``functions`` (a
    contributor's business functions; all when None).

    ``current`` is the current month's figures (``ropa.dashboard``'s, live).
    A finished month comes from what is kept; one not kept (or kept by other
    rules) is computed while ``budget`` seconds last (default
    ``ROPA_HEALTH_BUDGET_SECONDS``), newest first, each only if the last
    month computed took no longer than what is left (before any month was
    computed, ``FIRST_ESTIMATE`` per activity); the others are
    ``NOT_COMPUTED``. A budget of 0 computes none.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    if budget is None:
        budget = settings.ROPA_HEALTH_BUDGET_SECONDS
    starts = months_shown(today, first_record_day())
    past = starts[:-1]
    rows = {row.month: row for row in HealthMonth.objects.filter(month__in=past)}
    version = rules_version()
    newest = max(rows.values(), key=lambda row: row.computed_at, default=None)
    if newest is not None:
        estimate = newest.seconds
    else:
        estimate = ProcessingActivity.objects.count() * FIRST_ESTIMATE
    started = time.perf_counter()
    shown = [Month(starts[-1], today, LIVE, current)]
    for start in reversed(past):
        row = rows.get(start)
        if row is not None and row.rules == version:
            figures, state = total(row.figures, functions), KEPT
        elif time.perf_counter() - started + estimate <= budget:
            by_function, estimate = compute(start, now, busy_ok=True)
            figures, state = total(by_function, functions), COMPUTED
        else:
            figures, state = None, NOT_COMPUTED
        shown.append(Month(start, last_day(start), state, figures))
    return shown[::-1]


def fill(*, rebuild=False, now=None, progress=None):
    """
    Compute and keep the final months shown that are not kept by the current
    rules (all of them with ``rebuild``), newest first; returns the months
    computed. ``progress(start, seconds)`` is called after each.
    """
    now = now or timezone.now()
    starts = months_shown(timezone.localdate(now), first_record_day())
    final = [start for start in starts if is_final(start, now)]
    kept = set()
    if not rebuild:
        kept = set(
            HealthMonth.objects.filter(
                month__in=final, rules=rules_version()
            ).values_list("month", flat=True)
        )
    done = []
    for start in reversed(final):
        if start in kept:
            continue
        _, seconds = compute(start, now)
        done.append(start)
        if progress is not None:
            progress(start, seconds)
    return done
