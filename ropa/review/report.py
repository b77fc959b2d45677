"""
The yearly review's report: what needs the DPO's attention as of a day, and
whether the register passes ``--check``.

The report is a tree of frozen dataclasses holding dates, moments and numbers
as such; ``ropa.review.render`` turns it into text, CSV or JSON. Every query it
runs covers all the activities at once, so its cost does not grow with the
size of the register.

Retention rules "without a period or criteria". The database refuses a rule
with neither a period nor any criteria text; the report also lists rules whose
criteria say nothing (blank, punctuation only, or a placeholder such as "TBD"
or "n/a"), and rules for a category of personal data the activity no longer
processes, which give no time limit for any data the activity holds.
"""

import datetime
import string
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef, Prefetch, Q

from controllers.models import JointControllerArrangement, ProcessorAgreement
from ropa import completeness
from ropa.completeness import Gap
from ropa.enums import ActivityStatus
from ropa.models import ProcessingActivity, RetentionRule, Review
from ropa.review.changes import ActivityChanges, change_report

# Agreements and arrangements are reported this many days before they lapse.
EXPIRY_WARNING_DAYS = 60

# Criteria that name no criterion, compared lower-cased and without the
# punctuation around them.
PLACEHOLDER_CRITERIA = frozenset(
    {"na", "n/a", "n.a", "none", "tbd", "tba", "todo", "unknown"}
)

# The report's sections: each the name of a ``Report`` field (and of its key in
# the JSON), in the order every format shows them.
REVIEWS_OPENED = "reviews_opened"
REVIEWS_OVERDUE = "reviews_overdue"
REVIEWS_DUE = "reviews_due"
ART30_GAPS = "art30_gaps"
PROCESSOR_AGREEMENTS = "processor_agreements"
JOINT_ARRANGEMENTS = "joint_arrangements"
RETENTION_RULES = "retention_rules"
HIGH_RISK_WITHOUT_DPIA = "high_risk_without_dpia"
CHANGES_SINCE_REVIEW = "changes"
SECTIONS = (
    REVIEWS_OPENED,
    REVIEWS_OVERDUE,
    REVIEWS_DUE,
    ART30_GAPS,
    PROCESSOR_AGREEMENTS,
    JOINT_ARRANGEMENTS,
    RETENTION_RULES,
    HIGH_RISK_WITHOUT_DPIA,
)
TITLES = {
    REVIEWS_OPENED: "Reviews opened",
    REVIEWS_OVERDUE: "Reviews overdue",
    REVIEWS_DUE: "Reviews open, not overdue",
    ART30_GAPS: "Activities with Art. 30 gaps",
    PROCESSOR_AGREEMENTS: f"Processor agreements expired or expiring within "
    f"{EXPIRY_WARNING_DAYS} days",
    JOINT_ARRANGEMENTS: f"Joint controller arrangements due for review or expiring "
    f"within {EXPIRY_WARNING_DAYS} days",
    RETENTION_RULES: "Retention rules without a period or criteria",
    HIGH_RISK_WITHOUT_DPIA: "High-risk activities without a completed DPIA",
    CHANGES_SINCE_REVIEW: "Changes since the last completed review",
}

# Where an agreement or arrangement stands: lapsed, or lapsing within the warning.
EXPIRED = "expired"
EXPIRING = "expiring"


@dataclass(frozen=True)
class ReviewRow:
    """A review opened by the run, or still open."""

    reference: str
    activity: str
    cycle: int
    due_on: datetime.date
    days_overdue: int


@dataclass(frozen=True)
class GapRow:
    """An active activity that lacks Art. 30 elements."""

    reference: str
    activity: str
    missing: tuple[Gap, ...]


@dataclass(frozen=True)
class AgreementRow:
    """An Art. 28 agreement that has lapsed or lapses within the warning."""

    reference: str
    processor: str
    controller: str
    expires_on: datetime.date
    status: str
    days: int
    # The references of the active activities that use it.
    activities: tuple[str, ...]


@dataclass(frozen=True)
class ArrangementRow:
    """An Art. 26 arrangement past or near its review date."""

    reference: str
    name: str
    review_on: datetime.date
    status: str
    days: int
    activities: tuple[str, ...]


@dataclass(frozen=True)
class RetentionRow:
    """A retention rule that gives no usable time limit, and why."""

    reference: str
    activity: str
    data: str
    criteria: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class DpiaRow:
    """A high-risk activity whose DPIA (Art. 35) is not completed."""

    reference: str
    activity: str
    dpia_status: str


@dataclass(frozen=True)
class Check:
    """Whether the register passes ``--check``, and what fails it."""

    passed: bool
    failures: tuple[str, ...]


@dataclass(frozen=True)
class Report:
    """The review report as of ``as_of``, for the ``cycle`` review cycle."""

    cycle: int
    as_of: datetime.date
    dry_run: bool
    review_interval_days: int
    reviews_opened: tuple[ReviewRow, ...]
    reviews_overdue: tuple[ReviewRow, ...]
    reviews_due: tuple[ReviewRow, ...]
    art30_gaps: tuple[GapRow, ...]
    processor_agreements: tuple[AgreementRow, ...]
    joint_arrangements: tuple[ArrangementRow, ...]
    retention_rules: tuple[RetentionRow, ...]
    high_risk_without_dpia: tuple[DpiaRow, ...]
    changes: tuple[ActivityChanges, ...]

    @property
    def check(self) -> Check:
        # Derived from the sections, so never out of step with them.
        return check(self)


def _review_row(review, on):
    return ReviewRow(
        reference=review.activity.reference,
        activity=review.activity.name,
        cycle=review.cycle,
        due_on=review.due_on,
        days_overdue=max((on - review.due_on).days, 0),
    )


def build_report(
    *,
    on: datetime.date,
    cycle: int,
    opened: list[Review],
    dry_run: bool = False,
) -> Report:
    """
    The review report as of ``on``.

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
    return Report(
        cycle=cycle,
        as_of=on,
        dry_run=dry_run,
        review_interval_days=settings.ROPA_REVIEW_INTERVAL_DAYS,
        reviews_opened=tuple(_review_row(review, on) for review in opened),
        reviews_overdue=tuple(_review_row(r, on) for r in outstanding if r.due_on < on),
        reviews_due=tuple(_review_row(r, on) for r in outstanding if r.due_on >= on),
        art30_gaps=art30_gaps(on),
        processor_agreements=processor_agreements(on),
        joint_arrangements=joint_arrangements(on),
        retention_rules=retention_problems(),
        high_risk_without_dpia=high_risk_without_dpia(),
        changes=tuple(
            change_report(
                activity_ids=[review.activity_id for review in outstanding], on=on
            )
        ),
    )


def art30_gaps(on: datetime.date) -> tuple[GapRow, ...]:
    """Active activities that lack an Art. 30 element, with the elements."""
    columns = [completeness.column(rule) for rule in completeness.RULES]
    rows = (
        ProcessingActivity.objects.active()
        .incomplete(on)
        .order_by("reference")
        .values("reference", "name", "role", *columns)
    )
    return tuple(
        GapRow(
            reference=row["reference"],
            activity=row["name"],
            missing=tuple(completeness.gaps_from_row(row["role"], row)),
        )
        for row in rows
    )


def _lapse_status(date, on):
    return EXPIRED if date < on else EXPIRING


def _active_references(obj):
    return tuple(activity.reference for activity in obj.activities.all())


def _used_by_active(queryset):
    """The rows of ``queryset`` that active activities use, with those activities."""
    active = ProcessingActivity.objects.active().only("pk", "reference")
    return (
        queryset.filter(activities__status=ActivityStatus.ACTIVE)
        .distinct()
        .prefetch_related(Prefetch("activities", queryset=active.order_by("reference")))
    )


def processor_agreements(on: datetime.date) -> tuple[AgreementRow, ...]:
    """Art. 28 agreements used by active activities that lapse within the warning."""
    horizon = on + datetime.timedelta(days=EXPIRY_WARNING_DAYS)
    agreements = _used_by_active(
        ProcessorAgreement.objects.filter(expires_on__lte=horizon)
        .select_related("processor", "controller")
        .order_by("expires_on", "reference")
    )
    return tuple(
        AgreementRow(
            reference=agreement.reference,
            processor=agreement.processor.name,
            controller=agreement.controller.name,
            expires_on=agreement.expires_on,
            status=_lapse_status(agreement.expires_on, on),
            days=(agreement.expires_on - on).days,
            activities=_active_references(agreement),
        )
        for agreement in agreements
    )


def joint_arrangements(on: datetime.date) -> tuple[ArrangementRow, ...]:
    """Art. 26 arrangements used by active activities whose review date is near."""
    horizon = on + datetime.timedelta(days=EXPIRY_WARNING_DAYS)
    arrangements = _used_by_active(
        JointControllerArrangement.objects.filter(review_on__lte=horizon).order_by(
            "review_on", "reference"
        )
    )
    return tuple(
        ArrangementRow(
            reference=arrangement.reference,
            name=arrangement.name,
            review_on=arrangement.review_on,
            status=_lapse_status(arrangement.review_on, on),
            days=(arrangement.review_on - on).days,
            activities=_active_references(arrangement),
        )
        for arrangement in arrangements
    )


def criteria_say_nothing(criteria: str) -> bool:
    """Whether retention criteria are blank, punctuation or a placeholder."""
    text = criteria.lower().strip(string.punctuation + string.whitespace)
    return not any(char.isalnum() for char in text) or text in PLACEHOLDER_CRITERIA


def retention_problems() -> tuple[RetentionRow, ...]:
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
                RetentionRow(
                    reference=rule.activity.reference,
                    activity=rule.activity.name,
                    data=category.name if category else "all data",
                    criteria=rule.criteria,
                    reasons=tuple(reasons),
                )
            )
    return tuple(problems)


def high_risk_without_dpia() -> tuple[DpiaRow, ...]:
    """Active activities that need a DPIA (Art. 35) not yet completed."""
    activities = (
        ProcessingActivity.objects.active()
        .high_risk_without_dpia()
        .order_by("reference")
        .only("reference", "name", "dpia_required", "dpia_status")
    )
    return tuple(
        DpiaRow(
            reference=activity.reference,
            activity=activity.name,
            dpia_status=activity.get_dpia_status_display() or "not recorded",
        )
        for activity in activities
    )


def check(report: Report) -> Check:
    """Whether the register passes ``--check``, and what fails it."""
    fallen_due = [row for row in report.reviews_due if row.due_on <= report.as_of]
    counts = (
        (len(report.reviews_overdue), "review overdue", "reviews overdue"),
        (len(fallen_due), "review due today", "reviews due today"),
        (
            len(report.art30_gaps),
            "activity with Art. 30 gaps",
            "activities with Art. 30 gaps",
        ),
        (
            sum(row.status == EXPIRED for row in report.processor_agreements),
            "processor agreement expired",
            "processor agreements expired",
        ),
        (
            sum(row.status == EXPIRED for row in report.joint_arrangements),
            "joint controller arrangement past its review date",
            "joint controller arrangements past their review date",
        ),
        (
            len(report.retention_rules),
            "retention rule without a period or criteria",
            "retention rules without a period or criteria",
        ),
        (
            len(report.high_risk_without_dpia),
            "high-risk activity without a completed DPIA",
            "high-risk activities without a completed DPIA",
        ),
    )
    failures = tuple(
        f"{count} {singular if count == 1 else plural}"
        for count, singular, plural in counts
        if count
    )
    return Check(passed=not failures, failures=failures)
