"""
How the register's health moves (``ropa.health``): each month's figures
rebuilt from a history with known changes, kept once the month is over,
computed again under other rules, and the current month live.
"""

import datetime
from contextlib import contextmanager
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.utils import timezone

from ropa import dashboard, health
from ropa.charts.flows import NO_MECHANISM, flows_of_register
from ropa.enums import ActivityStatus, ReviewOutcome, TransferMechanism
from ropa.exchange.snapshot import Register, end_of_day
from ropa.models import HealthMonth
from tests.factories import (
    InternationalTransferFactory,
    LawfulBasisFactory,
    ProcessingActivityFactory,
    RecipientFactory,
    ReviewFactory,
    StaffUserFactory,
)

pytestmark = pytest.mark.django_db

# A fixed "today", so that the months do not depend on when the suite runs.
TODAY = datetime.date(2026, 3, 18)
M0 = datetime.date(2026, 3, 1)  # the current month
M1 = datetime.date(2026, 2, 1)
M2 = datetime.date(2026, 1, 1)
M3 = datetime.date(2025, 12, 1)


def moment(day, hour=12):
    return datetime.datetime.combine(
        day, datetime.time(hour), tzinfo=timezone.get_default_timezone()
    )


NOW = moment(TODAY)


@contextmanager
def on(when):
    """Everything inside, saves and their history included, happens ``when``."""
    with mock.patch("django.utils.timezone.now", return_value=when):
        yield


@pytest.fixture(autouse=True)
def _today():
    with on(NOW):
        yield


def _save(instance):
    instance._change_reason = "Changed in a test"
    instance.save()


def figures(**counts):
    """Every figure, zero unless given."""
    return {figure.key: counts.get(figure.key, 0) for figure in health.FIGURES}


def build_timeline():
    """
    The register's history, a change a month:

    - M3 (December 2025): PA-0001 (Sales) and PA-0003 (HR) active and
      complete, PA-0002 (HR) a draft without a lawful basis;
    - M2: PA-0001 gets a recipient in India with no transfer recorded;
      PA-0003's review opens, due on the 15th; PA-0004 (Sales) created;
    - M1: PA-0002 gets a basis and becomes active; PA-0003's review is
      completed; PA-0001's transfer to India is recorded;
    - M0 (today): PA-0003 retired.
    """
    with on(moment(M3.replace(day=10))):
        first = ProcessingActivityFactory(reference="PA-0001")
        draft = ProcessingActivityFactory(
            reference="PA-0002",
            business_function="HR",
            status=ActivityStatus.DRAFT,
            lawful_basis=False,
        )
        third = ProcessingActivityFactory(reference="PA-0003", business_function="HR")
    with on(moment(M2.replace(day=10))):
        abroad = RecipientFactory(name="Call centre", country="IN")
        first.recipients.add(abroad)
        review = ReviewFactory(activity=third, cycle=2026, due_on=M2.replace(day=15))
        ProcessingActivityFactory(reference="PA-0004")
    with on(moment(M1.replace(day=10))):
        LawfulBasisFactory(activity=draft)
        draft.status = ActivityStatus.ACTIVE
        _save(draft)
        review.completed_on = M1.replace(day=10)
        review.reviewer = StaffUserFactory()
        review.outcome = ReviewOutcome.CONFIRMED
        _save(review)
        InternationalTransferFactory(
            activity=first, country="IN", recipient=abroad, mechanism="scc"
        )
    third.status = ActivityStatus.RETIRED
    _save(third)
    return {"first": first, "draft": draft, "third": third}


@pytest.fixture
def timeline():
    return build_timeline()


EXPECTED = {
    M3: figures(draft=1, active=2, drafts_with_gaps=1),
    M2: figures(
        draft=1, active=3, incomplete=1, drafts_with_gaps=1, overdue=1, no_mechanism=1
    ),
    M1: figures(active=4),
    M0: figures(active=3, retired=1),
}


def shown(months):
    return {month.start: month.figures for month in months}


def current():
    return dashboard.current_health(dashboard.dashboard())


# ---------------------------------------------------------------------------
# Each month's figures
# ---------------------------------------------------------------------------


def test_each_month_has_the_figures_of_its_end(timeline):
    months = health.months(current=current())

    assert [month.start for month in months] == [M3, M2, M1, M0]
    assert shown(months) == EXPECTED
    assert [month.day for month in months] == [
        datetime.date(2025, 12, 31),
        datetime.date(2026, 1, 31),
        datetime.date(2026, 2, 28),
        TODAY,
    ]


def test_the_current_month_is_the_dashboards_and_what_history_says_today(timeline):
    rebuilt = health.total(health.figures_at(TODAY))

    assert current() == rebuilt == EXPECTED[M0]


def test_the_figures_count_at_the_end_of_the_day_in_the_time_zone(timeline):
    # PA-0004 was created on M2's 10th at noon: not there the day before.
    day = M2.replace(day=10)
    before = health.total(health.figures_at(day - datetime.timedelta(days=1)))
    after = health.total(health.figures_at(day))
    assert (before["active"], after["active"]) == (2, 3)


def test_a_contributor_sees_the_figures_of_their_functions(timeline):
    # Today, a transfer without a mechanism in Sales: not in HR's figures.
    ProcessingActivityFactory(recipients=[RecipientFactory(country="IN")])

    months = health.months(
        current=dashboard.current_health(dashboard.dashboard(["HR"]), ["HR"]),
        functions=["HR"],
    )

    assert shown(months) == {
        M3: figures(draft=1, active=1, drafts_with_gaps=1),
        M2: figures(draft=1, active=1, drafts_with_gaps=1, overdue=1),
        M1: figures(active=2),
        M0: figures(active=1, retired=1),
    }


def test_a_later_change_does_not_change_a_past_month(timeline):
    before = health.figures_at(M1.replace(day=28))
    timeline["first"].recipients.add(RecipientFactory(country="CN"))

    assert health.figures_at(M1.replace(day=28)) == before
    assert current()["no_mechanism"] == 1


def test_months_go_back_24_months_at_most():
    far_back = datetime.date(2019, 5, 3)
    assert len(health.months_shown(TODAY, far_back)) == health.MONTHS
    assert health.months_shown(TODAY, far_back)[0] == datetime.date(2024, 4, 1)
    assert health.months_shown(TODAY, M1.replace(day=28)) == [M1, M0]
    assert health.months_shown(TODAY, None) == [M0]


# ---------------------------------------------------------------------------
# Transfers without a mechanism: as the flow pictures mark them
# ---------------------------------------------------------------------------


def test_transfers_without_a_mechanism_are_the_flow_pictures_warnings():
    unrecorded = ProcessingActivityFactory(
        recipients=[
            RecipientFactory(country="IN"),
            RecipientFactory(country="IN"),
            RecipientFactory(country="CN"),  # its transfer is recorded
            RecipientFactory(country="US"),  # adequacy in force (the DPF)
            RecipientFactory(country="NO"),  # in the EEA
            RecipientFactory(country=""),  # unknown: a gap, not a transfer
        ]
    )
    InternationalTransferFactory(
        activity=unrecorded, country="CN", mechanism=TransferMechanism.SCC
    )
    ProcessingActivityFactory(
        status=ActivityStatus.DRAFT, recipients=[RecipientFactory(country="IN")]
    )

    warnings = sum(
        1
        for flow in flows_of_register(Register(), statuses={ActivityStatus.ACTIVE})
        for transfer in flow.transfers
        if transfer.warning == NO_MECHANISM
    )

    # The two in India, of the active activity only.
    assert warnings == 2
    assert dashboard.transfers_without_mechanism() == 2
    assert health.total(health.figures_at(TODAY))["no_mechanism"] == 2


def test_a_transfer_needs_a_mechanism_where_adequacy_was_not_in_force_then():
    with on(moment(M3.replace(day=10))):
        ProcessingActivityFactory(recipients=[RecipientFactory(country="BR")])

    assert health.total(health.figures_at(M3.replace(day=31)))["no_mechanism"] == 1
    assert health.total(health.figures_at(TODAY))["no_mechanism"] == 0


# ---------------------------------------------------------------------------
# Kept once over; live while current
# ---------------------------------------------------------------------------


def test_a_finished_month_is_kept_and_read_back(timeline, django_assert_num_queries):
    live = current()
    health.months(current=live)

    assert set(HealthMonth.objects.values_list("month", flat=True)) == {M3, M2, M1}
    # The first record's day and the kept months: nothing rebuilt.
    with django_assert_num_queries(2):
        months = health.months(current=live)
    assert [month.state for month in months] == [health.KEPT] * 3 + [health.LIVE]
    assert shown(months) == EXPECTED


def test_a_busy_database_shows_the_months_without_keeping_them(timeline):
    # SQLite refuses a write while another writer (a long import) holds it.
    busy = OperationalError("database is locked")
    with mock.patch.object(health, "keep", side_effect=busy):
        months = health.months(current=current())

        assert shown(months) == EXPECTED
        assert not HealthMonth.objects.exists()
        # The nightly command says so, rather than reporting months kept.
        with pytest.raises(OperationalError):
            call_command("compute_health", stdout=StringIO())


def test_the_current_month_is_live(timeline):
    health.months(current=current())
    ProcessingActivityFactory(status=ActivityStatus.DRAFT, business_function="HR")

    months = health.months(current=current())

    assert months[-1].state == health.LIVE
    assert months[-1].figures == {**EXPECTED[M0], "draft": 1}
    assert shown(months)[M1] == EXPECTED[M1]
    assert not HealthMonth.objects.filter(month=M0).exists()


def test_a_month_over_for_less_than_the_settling_time_is_not_kept(timeline):
    just_over = end_of_day(M1.replace(day=28)) + health.SETTLE / 2
    with on(just_over):
        months = health.months(current=current(), now=just_over)

    assert shown(months)[M1] == EXPECTED[M1]
    assert months[-2].state == health.COMPUTED
    assert set(HealthMonth.objects.values_list("month", flat=True)) == {M3, M2}


def test_other_rules_compute_a_kept_month_again(timeline, settings):
    health.months(current=current())
    kept = HealthMonth.objects.get(month=M2)
    # Counting completed reviews overdue after 10 days: PA-0003's, completed
    # on M1's 10th, is overdue at the end of M1.
    settings.ROPA_REVIEW_INTERVAL_DAYS = 10

    months = health.months(current=current())

    assert [month.state for month in months][:3] == [health.COMPUTED] * 3
    assert shown(months)[M1]["overdue"] == 1
    again = HealthMonth.objects.get(month=M2)
    assert again.rules == health.rules_version() != kept.rules
    assert HealthMonth.objects.count() == 3


def test_a_change_of_the_rules_code_changes_the_version(monkeypatch):
    before = health.rules_version()
    source = health.inspect.getsource
    health._sources_digest.cache_clear()
    monkeypatch.setattr(
        health.inspect,
        "getsource",
        lambda module: source(module) + ("#" if module is health.geography else ""),
    )
    try:
        assert health.rules_version() != before
    finally:
        health._sources_digest.cache_clear()


def test_a_month_kept_by_other_rules_is_not_shown(timeline):
    health.months(current=current())
    HealthMonth.objects.filter(month=M2).update(rules="older rules")

    months = health.months(current=current(), budget=0)

    assert shown(months)[M2] is None
    assert months[1].state == health.NOT_COMPUTED
    assert shown(months)[M1] == EXPECTED[M1]


# ---------------------------------------------------------------------------
# The dashboard's budget
# ---------------------------------------------------------------------------


def test_without_budget_the_dashboard_computes_nothing(timeline):
    months = health.months(current=current(), budget=0)

    assert [month.state for month in months] == [health.NOT_COMPUTED] * 3 + [
        health.LIVE
    ]
    assert not HealthMonth.objects.exists()


def test_the_budget_stops_at_what_the_last_month_took(timeline):
    health.months(current=current())
    HealthMonth.objects.filter(month__in=[M3, M2]).delete()
    # The month left kept took 5 seconds to compute: none fits 1 second.
    HealthMonth.objects.filter(month=M1).update(seconds=5.0)

    months = health.months(current=current(), budget=1.0)

    assert [month.state for month in months] == [
        health.NOT_COMPUTED,
        health.NOT_COMPUTED,
        health.KEPT,
        health.LIVE,
    ]


def test_before_any_month_is_computed_the_register_size_is_the_estimate(timeline):
    # 4 activities at FIRST_ESTIMATE each: over a budget of a millisecond.
    months = health.months(current=current(), budget=0.001)

    assert months[0].state == health.NOT_COMPUTED
    assert not HealthMonth.objects.exists()


# ---------------------------------------------------------------------------
# The command cron runs
# ---------------------------------------------------------------------------


def test_compute_health_keeps_the_months_that_are_over(timeline):
    out = StringIO()
    call_command("compute_health", stdout=out)

    assert out.getvalue() == "Computed 3 month(s): 2025-12, 2026-01, 2026-02.\n"
    kept = {row.month: health.total(row.figures) for row in HealthMonth.objects.all()}
    assert kept == {month: EXPECTED[month] for month in (M3, M2, M1)}

    again = StringIO()
    call_command("compute_health", stdout=again)
    assert again.getvalue() == "Every month that is over is kept already.\n"


def test_compute_health_rebuild_computes_kept_months_again(timeline):
    call_command("compute_health", stdout=StringIO())
    HealthMonth.objects.update(figures={})

    out = StringIO()
    call_command("compute_health", "--rebuild", "-v2", stdout=out)

    assert out.getvalue().count(" s\n") == 3
    assert {row.month: health.total(row.figures) for row in HealthMonth.objects.all()}[
        M2
    ] == EXPECTED[M2]
