"""
The yearly review of the register: opening reviews, signing them off, and the
report that ``manage.py yearly_review`` prints and e-mails.

Cycles. A review cycle is a calendar year. An active activity falls due in a
cycle when its next review date falls within it (by 31 December), it has no
review in that cycle yet, and no review of an earlier cycle is still open (the
open one stays, and goes overdue, rather than a second one piling up). Its next
review date, the review's ``due_on``, is its last completed review plus
``ROPA_REVIEW_INTERVAL_DAYS``; an activity never reviewed is due at once: on
the day the review is opened (1 January when opened ahead for the coming
cycle). A review is *overdue* when it is still open after its due date; from
its due date on, an open review counts against ``--check``.

Retention rules "without a period or criteria". The database refuses a rule
with neither a period nor any criteria text; the report also lists rules whose
criteria say nothing (blank, punctuation only, or a placeholder such as "TBD"
or "n/a"), and rules for a category of personal data the activity no longer
processes, which give no time limit for any data the activity holds.

The report is plain data (dicts, lists, strings, numbers), rendered as text,
CSV or JSON. Every query it runs covers all the activities at once, so its
cost does not grow with the size of the register.
"""

import csv
import datetime
import io
import json
import string
from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Exists, Min, OuterRef, Prefetch, Q, Subquery
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from controllers.models import (
    DataProtectionOfficer,
    JointControllerArrangement,
    ProcessorAgreement,
)
from ropa import completeness
from ropa.core.spreadsheet import neutralise
from ropa.enums import ActivityStatus, ReviewOutcome
from ropa.models import (
    InternationalTransfer,
    LawfulBasis,
    ProcessingActivity,
    RetentionRule,
    Review,
)

DEFAULT_SYSTEM_USERNAME = "ropa-system"
# Agreements and arrangements are reported this many days before they lapse.
EXPIRY_WARNING_DAYS = 60

OPENED_REASON = "Opened by the yearly review of the {cycle} cycle"
COMPLETED_REASON = "Marked reviewed: {outcome}"
RETIRED_REASON = "Retired on review ({cycle} cycle)"

ALREADY_COMPLETED = "This review is already completed."
NOTES_REQUIRED = "Say in the notes what changed, or why the activity is retired."
USER_REQUIRED = "Opening reviews records who opened them: give a user."
CYCLE_OUT_OF_RANGE = (
    "The review cycle {cycle} is neither the year of the as-of date ({year}) nor "
    "the next one: reviews are opened for the current or the coming cycle."
)
CONCURRENT_RUN = (
    "Another run opened reviews of the {cycle} cycle at the same time; nothing "
    "was saved by this one. Run it again."
)
NO_DPO_ADDRESS = (
    "No DPO e-mail address to send the report to: name a data protection "
    "officer on a group company (or on an organisation responsible for an "
    "active activity)."
)

# Criteria that name no criterion, compared lower-cased and without the
# punctuation around them.
PLACEHOLDER_CRITERIA = frozenset(
    {"na", "n/a", "n.a", "none", "tbd", "tba", "todo", "unknown"}
)

# Report sections, in the order every format shows them.
OPENED = "reviews_opened"
OVERDUE = "reviews_overdue"
DUE = "reviews_due"
GAPS = "art30_gaps"
AGREEMENTS = "processor_agreements"
ARRANGEMENTS = "joint_arrangements"
RETENTION = "retention_rules"
DPIA = "high_risk_without_dpia"
CHANGES = "changes"
SECTIONS = (OPENED, OVERDUE, DUE, GAPS, AGREEMENTS, ARRANGEMENTS, RETENTION, DPIA)
TITLES = {
    OPENED: "Reviews opened",
    OVERDUE: "Reviews overdue",
    DUE: "Reviews open, not overdue",
    GAPS: "Activities with Art. 30 gaps",
    AGREEMENTS: f"Processor agreements expired or expiring within "
    f"{EXPIRY_WARNING_DAYS} days",
    ARRANGEMENTS: f"Joint controller arrangements due for review or expiring "
    f"within {EXPIRY_WARNING_DAYS} days",
    RETENTION: "Retention rules without a period or criteria",
    DPIA: "High-risk activities without a completed DPIA",
    CHANGES: "Changes since the last completed review",
}
EXPIRED = "expired"
EXPIRING = "expiring"


class ReviewError(Exception):
    """The review cannot run as asked."""


# ---------------------------------------------------------------------------
# Cycles and schedules
# ---------------------------------------------------------------------------


def review_interval():
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


def _last_completed(field, on=None):
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
        last_reviewed_on=_last_completed("completed_on"),
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


# ---------------------------------------------------------------------------
# Writes
# ---------------------------------------------------------------------------


def system_user(*, username: str):
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


def reviews_to_open(*, on: datetime.date, cycle: int) -> list[Review]:
    """The reviews that fall due in ``cycle``, unsaved, by activity reference."""
    end_of_cycle = datetime.date(cycle, 12, 31)
    candidates = (
        ProcessingActivity.objects.active()
        .exclude(Exists(Review.objects.filter(activity=OuterRef("pk"), cycle=cycle)))
        .exclude(Exists(Review.objects.open().filter(activity=OuterRef("pk"))))
        .annotate(last_reviewed_on=_last_completed("completed_on", on))
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


def open_reviews(
    *,
    on: datetime.date,
    user,
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


def complete_review(*, review: Review, user, outcome: str, notes: str = "") -> Review:
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


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------


def _iso(value):
    return value.isoformat() if value is not None else None


def _moment(value):
    return timezone.localtime(value).isoformat(timespec="seconds")


def _review_row(review, on):
    return {
        "reference": review.activity.reference,
        "activity": review.activity.name,
        "cycle": review.cycle,
        "due_on": _iso(review.due_on),
        "days_overdue": max((on - review.due_on).days, 0),
    }


def build_report(
    *,
    on: datetime.date,
    cycle: int,
    opened: list[Review],
    dry_run: bool = False,
) -> dict:
    """
    The review report as of ``on``: plain data for every format.

    ``opened`` are the reviews this run opened (or would open, unsaved, in a
    dry run); the outstanding reviews include them either way.
    """
    outstanding = list(
        Review.objects.open()
        .filter(activity__status=ActivityStatus.ACTIVE)
        .select_related("activity")
        .order_by("due_on", "activity__reference")
    )
    if dry_run:
        outstanding = sorted(
            [*outstanding, *opened],
            key=lambda review: (review.due_on, review.activity.reference),
        )
    report = {
        "cycle": cycle,
        "as_of": on.isoformat(),
        "dry_run": dry_run,
        "review_interval_days": settings.ROPA_REVIEW_INTERVAL_DAYS,
        OPENED: [_review_row(review, on) for review in opened],
        OVERDUE: [_review_row(r, on) for r in outstanding if r.due_on < on],
        DUE: [_review_row(r, on) for r in outstanding if r.due_on >= on],
        GAPS: art30_gaps(on),
        AGREEMENTS: processor_agreements(on),
        ARRANGEMENTS: joint_arrangements(on),
        RETENTION: retention_problems(),
        DPIA: high_risk_without_dpia(),
        CHANGES: change_report(
            activity_ids=[review.activity_id for review in outstanding], on=on
        ),
    }
    report["check"] = check(report)
    return report


def art30_gaps(on):
    """Active activities that lack an Art. 30 element, with the elements."""
    columns = [completeness.column(rule) for rule in completeness.RULES]
    rows = (
        ProcessingActivity.objects.active()
        .incomplete(on)
        .order_by("reference")
        .values("reference", "name", "role", *columns)
    )
    return [
        {
            "reference": row["reference"],
            "activity": row["name"],
            "missing": [
                {"element": gap.element, "title": gap.title, "reason": gap.reason}
                for gap in completeness.gaps_from_row(row["role"], row)
            ],
        }
        for row in rows
    ]


def _lapse(date, on):
    return {
        "status": EXPIRED if date < on else EXPIRING,
        "days": (date - on).days,
    }


def _active_references(obj):
    return [activity.reference for activity in obj.activities.all()]


def _used_by_active(queryset):
    """The rows of ``queryset`` that active activities use, with those activities."""
    active = ProcessingActivity.objects.active().only("pk", "reference")
    return (
        queryset.filter(activities__status=ActivityStatus.ACTIVE)
        .distinct()
        .prefetch_related(Prefetch("activities", queryset=active.order_by("reference")))
    )


def processor_agreements(on):
    """Art. 28 agreements used by active activities that lapse within the warning."""
    horizon = on + datetime.timedelta(days=EXPIRY_WARNING_DAYS)
    agreements = _used_by_active(
        ProcessorAgreement.objects.filter(expires_on__lte=horizon)
        .select_related("processor", "controller")
        .order_by("expires_on", "reference")
    )
    return [
        {
            "reference": agreement.reference,
            "processor": agreement.processor.name,
            "controller": agreement.controller.name,
            "expires_on": _iso(agreement.expires_on),
            **_lapse(agreement.expires_on, on),
            "activities": _active_references(agreement),
        }
        for agreement in agreements
    ]


def joint_arrangements(on):
    """Art. 26 arrangements used by active activities whose review date is near."""
    horizon = on + datetime.timedelta(days=EXPIRY_WARNING_DAYS)
    arrangements = _used_by_active(
        JointControllerArrangement.objects.filter(review_on__lte=horizon).order_by(
            "review_on", "reference"
        )
    )
    return [
        {
            "reference": arrangement.reference,
            "name": arrangement.name,
            "review_on": _iso(arrangement.review_on),
            **_lapse(arrangement.review_on, on),
            "activities": _active_references(arrangement),
        }
        for arrangement in arrangements
    ]


def criteria_say_nothing(criteria: str) -> bool:
    """Whether retention criteria are blank, punctuation or a placeholder."""
    text = criteria.lower().strip(string.punctuation + string.whitespace)
    return not any(char.isalnum() for char in text) or text in PLACEHOLDER_CRITERIA


def retention_problems():
    """Retention rules of active activities that give no usable time limit."""
    processed = ProcessingActivity.personal_data_categories.through.objects.filter(
        processingactivity=OuterRef("activity"),
        personaldatacategory=OuterRef("personal_data_category"),
    )
    rules = (
        RetentionRule.objects.filter(activity__status=ActivityStatus.ACTIVE)
        .annotate(category_processed=Exists(processed))
        .filter(
            Q(period__isnull=True)
            | Q(personal_data_category__isnull=False, category_processed=False)
        )
        .select_related("activity", "personal_data_category")
        .order_by("activity__reference", "personal_data_category__name")
    )
    problems = []
    for rule in rules:
        category = rule.personal_data_category
        reasons = []
        if rule.period is None and criteria_say_nothing(rule.criteria):
            reasons.append("no period, and the criteria say nothing")
        if category is not None and not rule.category_processed:
            reasons.append(
                f"it covers '{category.name}', which the activity no longer processes"
            )
        if reasons:
            problems.append(
                {
                    "reference": rule.activity.reference,
                    "activity": rule.activity.name,
                    "data": category.name if category else "all data",
                    "criteria": rule.criteria,
                    "reasons": reasons,
                }
            )
    return problems


def high_risk_without_dpia():
    """Active activities that need a DPIA (Art. 35) not yet completed."""
    activities = (
        ProcessingActivity.objects.active()
        .high_risk_without_dpia()
        .order_by("reference")
        .only("reference", "name", "dpia_required", "dpia_status")
    )
    return [
        {
            "reference": activity.reference,
            "activity": activity.name,
            "dpia_status": activity.get_dpia_status_display() or "not recorded",
        }
        for activity in activities
    ]


def check(report) -> dict:
    """Whether the register passes ``--check``, and what fails it."""
    on = datetime.date.fromisoformat(report["as_of"])
    fallen_due = [
        row for row in report[DUE] if datetime.date.fromisoformat(row["due_on"]) <= on
    ]
    counts = (
        (len(report[OVERDUE]), "review overdue", "reviews overdue"),
        (len(fallen_due), "review due today", "reviews due today"),
        (
            len(report[GAPS]),
            "activity with Art. 30 gaps",
            "activities with Art. 30 gaps",
        ),
        (
            sum(row["status"] == EXPIRED for row in report[AGREEMENTS]),
            "processor agreement expired",
            "processor agreements expired",
        ),
        (
            sum(row["status"] == EXPIRED for row in report[ARRANGEMENTS]),
            "joint controller arrangement past its review date",
            "joint controller arrangements past their review date",
        ),
        (
            len(report[RETENTION]),
            "retention rule without a period or criteria",
            "retention rules without a period or criteria",
        ),
        (
            len(report[DPIA]),
            "high-risk activity without a completed DPIA",
            "high-risk activities without a completed DPIA",
        ),
    )
    failures = [
        f"{count} {singular if count == 1 else plural}"
        for count, singular, plural in counts
        if count
    ]
    return {"passed": not failures, "failures": failures}


# ---------------------------------------------------------------------------
# What changed since the last review, from history
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """A related row named in a change, resolved to its name in bulk."""

    model: type
    pk: object


def _start_of_day(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _history_window(history_model, condition, *, since, until):
    """
    History rows matching ``condition``: per object, the latest row at or
    before ``since`` and every row after it, up to ``until``; in two queries.
    """
    rows = history_model.objects.filter(condition, history_date__lt=until)
    latest_before = (
        history_model.objects.filter(id=OuterRef("id"), history_date__lte=since)
        .order_by("-history_date", "-history_id")
        .values("history_id")[:1]
    )
    before = rows.filter(
        history_date__lte=since, history_id=Subquery(latest_before)
    ).select_related("history_user")
    after = rows.filter(history_date__gt=since).select_related("history_user")
    return sorted([*before, *after], key=lambda row: (row.history_date, row.history_id))


def _edit(row):
    user = row.history_user
    return {
        "by": user.get_username() if user else None,
        "at": _moment(row.history_date),
        "reason": row.history_change_reason or "",
    }


def _edits(rows):
    """The edits of ``rows``; one save writes several rows for a link change."""
    edits = []
    for row in rows:
        edit = _edit(row)
        if not edits or edits[-1] != edit:
            edits.append(edit)
    return edits


def _value(model, name, value):
    """A field's value for the report: a label, or a ``Ref`` to name later."""
    field = model._meta.get_field(name)
    if value is None or value == "":
        return ""
    if field.is_relation:
        return Ref(field.related_model, value)
    if hasattr(value, "code"):  # a country
        return value.name or value.code
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _verbose(model, name):
    return str(model._meta.get_field(name).verbose_name)


def _field_changes(model, new, old, excluded=()):
    delta = new.diff_against(old, excluded_fields=excluded)
    return [
        {
            "field": change.field,
            "label": _verbose(model, change.field),
            "old": _value(model, change.field, change.old),
            "new": _value(model, change.field, change.new),
        }
        for change in delta.changes
    ]


def _m2m_links(history_model, rows):
    """``{history_id: {field: frozenset(pks)}}`` for the activity's links."""
    links = defaultdict(dict)
    history_ids = [row.history_id for row in rows]
    for field in history_model._history_m2m_fields:
        through = getattr(history_model, field.name).model
        target = field.m2m_reverse_field_name()
        found = defaultdict(set)
        pairs = through.objects.filter(history_id__in=history_ids).values_list(
            "history_id", f"{target}_id"
        )
        for history_id, pk in pairs:
            found[history_id].add(pk)
        for history_id in history_ids:
            links[history_id][field.name] = frozenset(found[history_id])
    return links


CHILD_MODELS = (LawfulBasis, InternationalTransfer, RetentionRule)


def _child_label(model, row):
    if model is LawfulBasis:
        return row.get_basis_display()
    if model is InternationalTransfer:
        return (
            row.country.name if row.country else row.international_organisation
        ) or "transfer"
    if row.personal_data_category_id is None:
        return "all data"
    category = model._meta.get_field("personal_data_category").related_model
    return Ref(category, row.personal_data_category_id)


ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}


def _child_events(model, rows, cutoff):
    """
    Created, changed and deleted rows of one child object after ``cutoff``,
    as ``(history_date, event)`` pairs.
    """
    events = []
    for previous, row in pairwise([None, *rows]):
        if row.history_date <= cutoff:
            continue
        action = ACTIONS[row.history_type]
        changes = []
        if action == "changed" and previous is not None:
            changes = _field_changes(model, row, previous, excluded=("activity",))
            if not changes:
                continue
        event = {
            "model": str(model._meta.verbose_name),
            "row": _child_label(model, row),
            "action": action,
            "changes": changes,
            **_edit(row),
        }
        events.append((row.history_date, event))
    return events


def _review_cutoffs(activities):
    """
    When each activity's last completed review was signed off.

    The moment of the sign-off from the review's history, but no later than
    the end of its completion day (a review entered afterwards, backdated).
    """
    review_ids = [a.last_review_id for a in activities if a.last_review_id]
    signed = dict(
        Review.history.model.objects.filter(
            id__in=review_ids, completed_on__isnull=False
        )
        .values("id")
        .annotate(at=Min("history_date"))
        .values_list("id", "at")
    )
    cutoffs = {}
    for activity in activities:
        if not activity.last_review_id:
            continue
        end_of_day = _start_of_day(
            activity.last_reviewed_on + datetime.timedelta(days=1)
        )
        at = signed.get(activity.last_review_id)
        cutoffs[activity.pk] = min(at, end_of_day) if at else end_of_day
    return cutoffs


def change_report(*, activity_ids, on: datetime.date) -> list[dict]:
    """
    For each activity, what changed in its record since its last completed
    review (as of the end of ``on``): fields and links, compared between the
    history row at the review and the latest one, with the edits that made
    each change; and the lawful bases, transfers and retention rules created,
    changed or deleted since. A fixed number of queries for any number of
    activities.
    """
    activities = list(
        ProcessingActivity.objects.filter(pk__in=set(activity_ids))
        .annotate(
            last_review_id=_last_completed("pk", on),
            last_reviewed_on=_last_completed("completed_on", on),
        )
        .only("pk", "reference", "name")
        .order_by("reference")
    )
    cutoffs = _review_cutoffs(activities)
    until = _start_of_day(on + datetime.timedelta(days=1))
    entries = {
        activity.pk: {
            "reference": activity.reference,
            "activity": activity.name,
            "last_reviewed_on": _iso(activity.last_reviewed_on),
            "since": _moment(cutoffs[activity.pk]) if activity.pk in cutoffs else None,
            "note": "" if activity.pk in cutoffs else "never reviewed",
            "fields": [],
            "links": [],
            "rows": [],
        }
        for activity in activities
    }
    if cutoffs:
        since = min(cutoffs.values())
        reviewed = list(cutoffs)
        _activity_changes(entries, cutoffs, reviewed, since, until)
        _child_changes(entries, cutoffs, reviewed, since, until)
    return _resolve([entries[activity.pk] for activity in activities])


def _activity_changes(entries, cutoffs, reviewed, since, until):
    model = ProcessingActivity
    history_model = model.history.model
    rows = _history_window(history_model, Q(id__in=reviewed), since=since, until=until)
    links = _m2m_links(history_model, rows)
    tracked = {field.name for field in history_model._history_m2m_fields}
    m2m_names = [f.name for f in model._meta.many_to_many if f.name in tracked]
    by_activity = defaultdict(list)
    for row in rows:
        by_activity[row.id].append(row)
    for pk, history in by_activity.items():
        cutoff = cutoffs[pk]
        entry = entries[pk]
        before = [row for row in history if row.history_date <= cutoff]
        later = [row for row in history if row.history_date > cutoff]
        if before:
            baseline = before[-1]
        else:
            # The record's history starts after the review (entered later).
            baseline, later = later[0], later[1:]
            entry["note"] = "history starts after the last review"
        if not later:
            continue
        steps = list(pairwise([baseline, *later]))
        touched = [
            (
                row,
                set(
                    row.diff_against(previous, excluded_fields=m2m_names).changed_fields
                ),
                {
                    name
                    for name in m2m_names
                    if links[row.history_id][name] != links[previous.history_id][name]
                },
            )
            for previous, row in steps
        ]
        current = later[-1]
        for change in _field_changes(model, current, baseline, excluded=m2m_names):
            change["edits"] = _edits(
                row for row, fields, _ in touched if change["field"] in fields
            )
            entry["fields"].append(change)
        for name in m2m_names:
            old = links[baseline.history_id][name]
            new = links[current.history_id][name]
            if old == new:
                continue
            target = model._meta.get_field(name).related_model
            entry["links"].append(
                {
                    "field": name,
                    "label": _verbose(model, name),
                    "added": [Ref(target, pk) for pk in sorted(new - old)],
                    "removed": [Ref(target, pk) for pk in sorted(old - new)],
                    "edits": _edits(row for row, _, m2m in touched if name in m2m),
                }
            )


def _child_changes(entries, cutoffs, reviewed, since, until):
    events = defaultdict(list)
    for model in CHILD_MODELS:
        rows = _history_window(
            model.history.model, Q(activity_id__in=reviewed), since=since, until=until
        )
        by_object = defaultdict(list)
        for row in rows:
            by_object[row.id].append(row)
        for history in by_object.values():
            activity_id = history[-1].activity_id
            if activity_id in cutoffs:
                events[activity_id].extend(
                    _child_events(model, history, cutoffs[activity_id])
                )
    for activity_id, found in events.items():
        found.sort(key=lambda pair: pair[0])
        entries[activity_id]["rows"] = [event for _, event in found]


def _label(obj):
    if hasattr(obj, "get_username"):
        return obj.get_username()
    reference = getattr(obj, "reference", "")
    name = getattr(obj, "name", "")
    return " ".join(part for part in (reference, name) if part) or str(obj)


def _resolve(data):
    """Replace every ``Ref`` in ``data`` by its name: one query per model."""
    wanted = defaultdict(set)

    def collect(value):
        if isinstance(value, Ref):
            wanted[value.model].add(value.pk)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    collect(data)
    names = {}
    for model, pks in wanted.items():
        # The name's own fields only: a label never costs a query per row.
        fields = [f.name for f in model._meta.concrete_fields if not f.is_relation]
        for pk, obj in model._base_manager.only(*fields).in_bulk(pks).items():
            names[model, pk] = _label(obj)

    def replace(value):
        if isinstance(value, Ref):
            return names.get((value.model, value.pk), f"#{value.pk} (deleted)")
        if isinstance(value, dict):
            return {key: replace(item) for key, item in value.items()}
        if isinstance(value, list):
            return [replace(item) for item in value]
        return value

    return replace(data)


# ---------------------------------------------------------------------------
# Formats
# ---------------------------------------------------------------------------

TEXT = "text"
CSV = "csv"
JSON = "json"
FORMATS = (TEXT, CSV, JSON)
CSV_COLUMNS = ("section", "reference", "activity", "item", "detail", "date", "by")


#: What a dry run says instead: it opened nothing.
DRY_RUN_TITLES = {OPENED: "Reviews that would be opened"}


def _title(report, section):
    return (report["dry_run"] and DRY_RUN_TITLES.get(section)) or TITLES[section]


def summary_line(report) -> str:
    opened = "would be opened" if report["dry_run"] else "opened"
    counts = [
        f"{len(report[OPENED])} {opened}",
        f"{len(report[OVERDUE])} overdue",
        f"{len(report[DUE])} open",
    ]
    failures = report["check"]["failures"]
    state = "needs attention: " + "; ".join(failures) if failures else "all in order"
    return f"Reviews {', '.join(counts)}. Register {state}."


def _edits_text(edits):
    shown = [
        f"{edit['by'] or 'unknown user'}, {edit['at'][:16].replace('T', ' ')}"
        for edit in edits
    ]
    return f" ({'; '.join(shown)})" if shown else ""


def _quoted(value, limit=80):
    if value == "":
        return "(empty)"
    text = " ".join(str(value).split())
    return f'"{text[: limit - 1]}…"' if len(text) > limit else f'"{text}"'


def _change_lines(entry):
    if entry["note"] == "never reviewed":
        yield "never reviewed: the whole record is to be reviewed"
        return
    if entry["note"]:
        yield entry["note"]
    for change in entry["fields"]:
        yield (
            f"{change['label']}: {_quoted(change['old'])} → {_quoted(change['new'])}"
            f"{_edits_text(change['edits'])}"
        )
    for link in entry["links"]:
        parts = []
        if link["added"]:
            parts.append("added " + ", ".join(link["added"]))
        if link["removed"]:
            parts.append("removed " + ", ".join(link["removed"]))
        yield f"{link['label']}: {'; '.join(parts)}{_edits_text(link['edits'])}"
    for event in entry["rows"]:
        fields = ", ".join(change["label"] for change in event["changes"])
        what = f"{event['action']} {fields}".strip()
        yield f"{event['model']} '{event['row']}': {what}{_edits_text([event])}"
    if not (entry["fields"] or entry["links"] or entry["rows"]):
        yield "no change"


def _days_overdue(row):
    days = row["days_overdue"]
    return f"{days} day overdue" if days == 1 else f"{days} days overdue"


def _section_lines(section, row):
    head = f"{row['reference']} {row.get('activity') or row.get('name', '')}".strip()
    if section in (OPENED, DUE):
        yield f"{head}: {row['cycle']} cycle, due {row['due_on']}"
    elif section == OVERDUE:
        yield (
            f"{head}: {row['cycle']} cycle, due {row['due_on']}, {_days_overdue(row)}"
        )
    elif section == GAPS:
        yield head
        for gap in row["missing"]:
            yield f"  Art. {gap['element']} {gap['title']}: {gap['reason']}"
    elif section == AGREEMENTS:
        yield (
            f"{row['reference']} {row['processor']} for {row['controller']}: "
            f"{row['status']} {row['expires_on']}; used by "
            f"{', '.join(row['activities'])}"
        )
    elif section == ARRANGEMENTS:
        yield (
            f"{head}: {row['status']}, review on {row['review_on']}; used by "
            f"{', '.join(row['activities'])}"
        )
    elif section == RETENTION:
        yield f"{head}, {row['data']}: {'; '.join(row['reasons'])}"
    elif section == DPIA:
        yield f"{head}: DPIA {row['dpia_status'].lower()}"


def render_text(report) -> str:
    lines = [
        f"Yearly review of the register, {report['cycle']} cycle, as of "
        f"{report['as_of']} (review interval {report['review_interval_days']} days)"
    ]
    if report["dry_run"]:
        lines.append("Dry run: nothing was saved.")
    for section in SECTIONS:
        rows = report[section]
        lines += ["", f"{_title(report, section)} ({len(rows)})"]
        lines += [f"  {line}" for row in rows for line in _section_lines(section, row)]
        if not rows:
            lines.append("  None.")
    entries = report[CHANGES]
    lines += ["", f"{TITLES[CHANGES]} ({len(entries)} activities)"]
    for entry in entries:
        since = entry["last_reviewed_on"]
        lines.append(
            f"  {entry['reference']} {entry['activity']}"
            + (f" (last reviewed {since})" if since else "")
        )
        lines += [f"    {line}" for line in _change_lines(entry)]
    if not entries:
        lines.append("  None.")
    lines += ["", summary_line(report)]
    return "\n".join(lines)


def _csv_rows(report):
    for section in SECTIONS:
        for row in report[section]:
            reference = row["reference"]
            activity = row.get("activity", row.get("name", ""))
            if section in (OPENED, OVERDUE, DUE):
                yield (
                    section,
                    reference,
                    activity,
                    f"{row['cycle']} cycle",
                    _days_overdue(row) if section == OVERDUE else "",
                    row["due_on"],
                    "",
                )
            elif section == GAPS:
                for gap in row["missing"]:
                    yield (
                        section,
                        reference,
                        activity,
                        f"Art. {gap['element']} {gap['title']}",
                        gap["reason"],
                        "",
                        "",
                    )
            elif section == AGREEMENTS:
                yield (
                    section,
                    reference,
                    "; ".join(row["activities"]),
                    f"{row['processor']} for {row['controller']}",
                    row["status"],
                    row["expires_on"],
                    "",
                )
            elif section == ARRANGEMENTS:
                yield (
                    section,
                    reference,
                    "; ".join(row["activities"]),
                    row["name"],
                    row["status"],
                    row["review_on"],
                    "",
                )
            elif section == RETENTION:
                yield (
                    section,
                    reference,
                    activity,
                    row["data"],
                    "; ".join(row["reasons"]),
                    "",
                    "",
                )
            elif section == DPIA:
                yield (section, reference, activity, "DPIA", row["dpia_status"], "", "")
    for entry in report[CHANGES]:
        head = (CHANGES, entry["reference"], entry["activity"])
        if entry["note"]:
            yield (*head, "", entry["note"], entry["since"] or "", "")
        for change in entry["fields"]:
            yield (
                *head,
                change["label"],
                f"{change['old']} → {change['new']}",
                *_last_edit(change["edits"]),
            )
        for link in entry["links"]:
            detail = "; ".join(
                part
                for part in (
                    "added: " + ", ".join(link["added"]) if link["added"] else "",
                    "removed: " + ", ".join(link["removed"]) if link["removed"] else "",
                )
                if part
            )
            yield (*head, link["label"], detail, *_last_edit(link["edits"]))
        for event in entry["rows"]:
            fields = ", ".join(change["label"] for change in event["changes"])
            yield (
                *head,
                f"{event['model']}: {event['row']}",
                f"{event['action']} {fields}".strip(),
                event["at"],
                event["by"] or "",
            )


def _last_edit(edits):
    if not edits:
        return ("", "")
    return (edits[-1]["at"], ", ".join(dict.fromkeys(e["by"] or "" for e in edits)))


def render_csv(report) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in _csv_rows(report):
        writer.writerow([neutralise(value) for value in row])
    return out.getvalue()


def render_json(report) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False)


RENDERERS = {TEXT: render_text, CSV: render_csv, JSON: render_json}


# ---------------------------------------------------------------------------
# E-mail
# ---------------------------------------------------------------------------


def dpo_addresses() -> list[str]:
    """The DPOs of the group companies and of the register's controllers."""
    addresses = (
        DataProtectionOfficer.objects.filter(
            Q(organisations__is_group_company=True)
            | Q(organisations__activities__status=ActivityStatus.ACTIVE)
        )
        .exclude(email="")
        .order_by("email")
        .values_list("email", flat=True)
        .distinct()
    )
    addresses = list(addresses)
    if not addresses:
        raise ReviewError(NO_DPO_ADDRESS)
    return addresses


def email_report(report, *, recipients: list[str]) -> None:
    """Send the report to ``recipients``: text in the body, the CSV attached."""
    message = EmailMessage(
        subject=f"Yearly review {report['cycle']} as of {report['as_of']}: "
        + ("all in order" if report["check"]["passed"] else "needs attention"),
        body=render_text(report),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.attach(
        f"yearly-review-{report['as_of']}.csv", render_csv(report), "text/csv"
    )
    message.send()
