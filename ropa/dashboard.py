"""
The figures on the admin index: where the register needs the DPO's
attention, how its health moved month by month (``ropa.health``), and where
its data goes (``ropa.dashboard_flows``).
"""

import hashlib
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

from ropa import health, stored_completeness
from ropa.enums import ActivityStatus, TransferMechanism
from ropa.exchange.admin_export import URL_NAME as EXPORT_URL_NAME
from ropa.exchange.admin_export import can_export
from ropa.geography import adequate_countries, eea_countries
from ropa.health_chart import health_svg, month_label
from ropa.models import InternationalTransfer, ProcessingActivity, Review
from ropa.review import review_overdue_q, with_review_schedule


@dataclass(frozen=True)
class Figure:
    label: str
    count: int
    url: str
    # The figure's key in ``ropa.health`` ("" for those it does not chart).
    key: str = ""


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
        Figure(
            label, counts.get(value, 0), _url(ProcessingActivity, status=value), value
        )
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
            health.INCOMPLETE,
        ),
        Figure(
            "Overdue reviews",
            overdue.count(),
            _url(ProcessingActivity, status="active", review="overdue"),
            health.OVERDUE,
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
            health.DRAFTS_WITH_GAPS,
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


def transfers_without_mechanism(functions=None):
    """
    How many recipients of active activities need a transfer mechanism and
    have none today (``ropa.health.missing_mechanisms``): outside the EEA, in
    a country no adequacy decision covers, with no transfer recorded to their
    country. One query.
    """
    on = timezone.localdate()
    links = ProcessingActivity.recipients.through.objects
    recorded = InternationalTransfer.objects.filter(
        activity=OuterRef("processingactivity"), country=OuterRef("recipient__country")
    )
    return (
        links.filter(processingactivity__in=_activities(functions).active())
        .exclude(recipient__country="")
        .exclude(
            recipient__country__in=sorted(eea_countries(on) | adequate_countries(on))
        )
        .exclude(Exists(recorded))
        .count()
    )


def current_health(figures, functions=None):
    """
    The current month's health figures: the dashboard's own (``figures``,
    from ``dashboard(functions)``), and the transfers without a mechanism.
    """
    counts = {
        figure.key: figure.count
        for group in figures.values()
        for figure in group
        if figure.key
    }
    counts[health.NO_MECHANISM] = transfers_without_mechanism(functions)
    return {figure.key: counts[figure.key] for figure in health.FIGURES}


@dataclass(frozen=True)
class HealthRow:
    """A month of the table beside the chart."""

    month: health.Month
    label: str
    export_url: str
    counts: tuple  # in the order of ``health.FIGURES``; empty if not computed


def export_url(day):
    """The register export page with the as-of date filled in."""
    base = reverse(f"admin:{EXPORT_URL_NAME}")
    return f"{base}?{urlencode({'as_of': day.isoformat()})}"


def health_section(user, figures, functions=None):
    """
    The months of ``ropa.health`` for the table, and their chart. Each month
    links to the as-of export of its end for users who may export (not
    contributors, whose exports are refused).
    """
    months = health.months(
        current=current_health(figures, functions), functions=functions
    )
    may_export = functions is None and can_export(user)
    links = {month.start: export_url(month.day) for month in months if may_export}
    rows = [
        HealthRow(
            month=month,
            label=month_label(month.start),
            export_url=links.get(month.start, ""),
            counts=()
            if month.figures is None
            else tuple(month.figures[figure.key] for figure in health.FIGURES),
        )
        for month in months
    ]
    return {
        "figures": health.FIGURES,
        "rows": rows[::-1],
        "chart": _chart(months, links),
        "not_computed": sum(1 for month in months if month.figures is None),
    }


def _chart(months, links):
    """The chart, drawn once for the same months, figures and links."""
    drawn = repr([(month.start, month.figures) for month in months])
    drawn += repr(sorted(links.items()))
    key = "ropa-health-chart:" + hashlib.sha256(drawn.encode()).hexdigest()
    svg = cache.get(key)
    if svg is None:
        # matplotlib opens links in a new window: here they stay in the page,
        # as the table's do.
        svg = health_svg(months, links=links).replace(' target="_blank"', "")
        cache.set(key, svg, 24 * 60 * 60)
    # Serialised by lxml, which escapes every text the chart holds.
    return mark_safe(svg)  # noqa: S308
