"""The figures on the admin index: where the register needs the DPO's attention."""

from dataclasses import dataclass

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from ropa import stored_completeness
from ropa.enums import ActivityStatus, TransferMechanism
from ropa.models import InternationalTransfer, ProcessingActivity, Review
from ropa.review import review_overdue_q, with_review_schedule


@dataclass(frozen=True)
class Figure:
    label: str
    count: int
    url: str


def _url(model, **params):
    opts = model._meta
    base = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{base}?{urlencode(params)}" if params else base


def _activities(functions):
    """The activities the figures count: those of ``functions``, or all if None."""
    activities = ProcessingActivity.objects.all()
    if functions is not None:
        activities = activities.filter(business_function__in=functions)
    return activities


def by_status(functions=None):
    counts = dict(_activities(functions).values_list("status").annotate(n=Count("pk")))
    return [
        Figure(label, counts.get(value, 0), _url(ProcessingActivity, status=value))
        for value, label in ActivityStatus.choices
    ]


def attention(functions=None):
    """
    Active records that are incomplete, overdue for review, due for a review
    that is open, or high-risk without a finished DPIA; and drafts with gaps,
    which cannot become active as they are.
    """
    activities = _activities(functions)
    active = activities.active()
    today = timezone.localdate()
    # The stored gaps, as the list the figure links to counts them.
    current = stored_completeness.refresh_for_reading()
    incomplete = stored_completeness.incomplete_q(current=current)
    overdue = with_review_schedule(active).filter(review_overdue_q(today))
    due = Review.objects.open().filter(due_on__gte=today, activity__in=active)
    return [
        Figure(
            "Incomplete records",
            active.filter(incomplete).count(),
            _url(ProcessingActivity, status="active", completeness="incomplete"),
        ),
        Figure(
            "Overdue reviews",
            overdue.count(),
            _url(ProcessingActivity, status="active", review="overdue"),
        ),
        Figure(
            "Reviews open and due, not yet overdue",
            due.count(),
            # The review list's "Due" filter (ropa.admin.filters.ReviewStatusFilter).
            _url(Review, status="due", activity__status__exact=ActivityStatus.ACTIVE),
        ),
        Figure(
            "Drafts with Art. 30 gaps",
            activities.filter(status=ActivityStatus.DRAFT).filter(incomplete).count(),
            _url(ProcessingActivity, status="draft", completeness="incomplete"),
        ),
        Figure(
            "High-risk activities without a completed DPIA",
            active.high_risk_without_dpia().count(),
            _url(ProcessingActivity, status="active", dpia="missing"),
        ),
    ]


def transfers_by_mechanism(functions=None):
    transfers = InternationalTransfer.objects.filter(
        activity__in=_activities(functions).active()
    )
    counts = dict(transfers.values_list("mechanism").annotate(n=Count("pk")))
    return [
        Figure(
            label,
            counts[value],
            _url(
                InternationalTransfer,
                mechanism__exact=value,
                activity__status__exact=ActivityStatus.ACTIVE,
            ),
        )
        for value, label in TransferMechanism.choices
        if value in counts
    ]


def dashboard(functions=None):
    """
    The figures of the activities of ``functions`` (a contributor's business
    functions), or of the whole register if None: a contributor's home page
    tells nothing about the records of other functions.
    """
    return {
        "by_status": by_status(functions),
        "attention": attention(functions),
        "transfers": transfers_by_mechanism(functions),
    }
