import dataclasses
import datetime

import pytest
from django.utils import timezone

from ropa.completeness import Gap
from ropa.enums import ActivityStatus, DPIAStatus, ReviewOutcome
from ropa.review.changes import NEVER_REVIEWED
from ropa.review.report import (
    CHANGES_SINCE_REVIEW,
    EXPIRED,
    EXPIRING,
    SECTIONS,
    Check,
    DpiaRow,
    Report,
    ReviewRow,
    build_report,
    criteria_say_nothing,
)
from ropa.review.services import complete_review, open_reviews
from tests.factories import (
    JointControllerArrangementFactory,
    PersonalDataCategoryFactory,
    ProcessingActivityFactory,
    ProcessorAgreementFactory,
    RetentionRuleFactory,
    ReviewFactory,
)

pytestmark = pytest.mark.django_db

ON = datetime.date(2026, 3, 1)


def day(text):
    return datetime.date.fromisoformat(text)


def report_on(on=ON, cycle=None):
    """The report of a run on ``on`` that opened nothing."""
    return build_report(on=on, cycle=cycle or on.year, opened=[])


# ---------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------


def test_report_splits_open_reviews_into_overdue_and_due():
    overdue = ReviewFactory(cycle=2026, due_on=day("2026-02-01"))
    due_today = ReviewFactory(cycle=2026, due_on=ON)
    later = ReviewFactory(cycle=2026, due_on=day("2026-09-01"))
    ReviewFactory(cycle=2025, completed=True)
    ReviewFactory(
        cycle=2026,
        due_on=day("2026-01-01"),
        activity=ProcessingActivityFactory(status=ActivityStatus.RETIRED),
    )

    report = report_on()

    assert report.reviews_overdue == (
        ReviewRow(
            reference=overdue.activity.reference,
            activity=overdue.activity.name,
            cycle=2026,
            due_on=day("2026-02-01"),
            days_overdue=28,
        ),
    )
    assert [row.reference for row in report.reviews_due] == [
        due_today.activity.reference,
        later.activity.reference,
    ]
    assert report.check.failures == ("1 review overdue", "1 review due today")


def test_report_check_passes_when_all_is_in_order():
    ReviewFactory(cycle=2026, due_on=day("2026-09-01"))
    ReviewFactory(cycle=2025, completed=True)

    assert report_on().check == Check(passed=True, failures=())


def test_report_names_the_missing_art30_elements():
    incomplete = ProcessingActivityFactory(lawful_basis=False, recipients=[])
    ProcessingActivityFactory()
    ProcessingActivityFactory(lawful_basis=False, status=ActivityStatus.DRAFT)

    report = report_on()

    (row,) = report.art30_gaps
    assert row.reference == incomplete.reference
    assert all(isinstance(gap, Gap) for gap in row.missing)
    assert {(gap.element, gap.reason) for gap in row.missing} == {
        ("6(1)", "no Art. 6(1) lawful basis is recorded"),
        ("30(1)(d)", "no recipient is recorded"),
    }
    assert report.check.failures == ("1 activity with Art. 30 gaps",)


@pytest.mark.parametrize(
    ("expires_on", "expected"),
    [
        ("2026-02-28", [EXPIRED]),
        ("2026-03-01", [EXPIRING]),
        ("2026-04-30", [EXPIRING]),
        ("2026-05-01", []),
        (None, []),
    ],
)
def test_report_lists_processor_agreements_expired_or_expiring(expires_on, expected):
    agreement = ProcessorAgreementFactory(
        expires_on=day(expires_on) if expires_on else None
    )
    activity = ProcessingActivityFactory(processor_agreements=[agreement])

    rows = report_on().processor_agreements

    assert [row.status for row in rows] == expected
    if expected:
        assert rows[0].reference == agreement.reference
        assert rows[0].activities == (activity.reference,)
        assert rows[0].expires_on == agreement.expires_on
        assert rows[0].days == (agreement.expires_on - ON).days


def test_report_ignores_agreements_no_active_activity_uses():
    ProcessorAgreementFactory(expires_on=day("2026-01-01"))
    retired_only = ProcessorAgreementFactory(expires_on=day("2026-01-01"))
    ProcessingActivityFactory(
        status=ActivityStatus.RETIRED, processor_agreements=[retired_only]
    )

    assert report_on().processor_agreements == ()


@pytest.mark.parametrize(
    ("review_on", "expected"),
    [("2026-01-31", [EXPIRED]), ("2026-04-01", [EXPIRING]), ("2026-06-01", [])],
)
def test_report_lists_joint_arrangements_due_for_review(review_on, expected):
    arrangement = JointControllerArrangementFactory(review_on=day(review_on))
    ProcessingActivityFactory(joint_arrangement=arrangement)

    rows = report_on().joint_arrangements

    assert [row.status for row in rows] == expected


def test_report_check_fails_on_expired_agreements_only():
    expired = ProcessorAgreementFactory(expires_on=day("2026-02-01"))
    expiring = ProcessorAgreementFactory(expires_on=day("2026-03-15"))
    ProcessingActivityFactory(processor_agreements=[expired, expiring])
    arrangement = JointControllerArrangementFactory(review_on=day("2026-03-15"))
    ProcessingActivityFactory(joint_arrangement=arrangement)

    assert report_on().check.failures == ("1 processor agreement expired",)


@pytest.mark.parametrize(
    "criteria", ["   ", "\n\t", "-", "...", "TBD", "n/a", "N/A.", "none", "Unknown"]
)
def test_report_lists_retention_rules_whose_criteria_say_nothing(criteria):
    activity = ProcessingActivityFactory(retention=False)
    RetentionRuleFactory(activity=activity, by_criteria=True, criteria=criteria)

    (row,) = report_on().retention_rules

    assert row.reference == activity.reference
    assert row.data == "all data"
    assert row.reasons == ("no period, and the criteria say nothing",)


def test_report_lists_retention_rules_for_data_no_longer_processed():
    kept = PersonalDataCategoryFactory(name="Contact details")
    dropped = PersonalDataCategoryFactory(name="Payment history")
    activity = ProcessingActivityFactory(personal_data_categories=[kept])
    RetentionRuleFactory(activity=activity, personal_data_category=kept)
    RetentionRuleFactory(activity=activity, personal_data_category=dropped)

    report = report_on()

    (row,) = report.retention_rules
    assert row.data == "Payment history"
    assert row.reasons == (
        "it covers 'Payment history', which the activity no longer processes",
    )
    assert report.check.failures == ("1 retention rule without a period or criteria",)


def test_report_accepts_retention_criteria_that_say_something():
    activity = ProcessingActivityFactory(retention=False)
    RetentionRuleFactory(activity=activity, by_criteria=True)
    ProcessingActivityFactory(status=ActivityStatus.RETIRED, retention=False)

    assert report_on().retention_rules == ()


@pytest.mark.parametrize(
    ("criteria", "expected"),
    [
        ("", True),
        (" - ", True),
        ("TBA", True),
        ("Until the customer unsubscribes.", False),
        ("None of the data is kept after the call.", False),
    ],
)
def test_criteria_say_nothing(criteria, expected):
    assert criteria_say_nothing(criteria) is expected


def test_report_lists_high_risk_activities_without_a_completed_dpia():
    missing = ProcessingActivityFactory(
        dpia_required=True, dpia_status=DPIAStatus.IN_PROGRESS
    )
    ProcessingActivityFactory(dpia_required=True, dpia_status=DPIAStatus.COMPLETED)
    ProcessingActivityFactory()

    report = report_on()

    assert report.high_risk_without_dpia == (
        DpiaRow(
            reference=missing.reference,
            activity=missing.name,
            dpia_status="In progress",
        ),
    )
    assert report.check.failures == ("1 high-risk activity without a completed DPIA",)


def test_report_of_a_dry_run_counts_the_reviews_it_would_open():
    ProcessingActivityFactory()
    planned = open_reviews(on=ON, user=None, dry_run=True)

    report = build_report(on=ON, cycle=2026, opened=planned, dry_run=True)

    assert len(report.reviews_opened) == 1
    assert len(report.reviews_due) == 1
    assert [entry.note for entry in report.changes] == [NEVER_REVIEWED]
    assert report.check.failures == ("1 review due today",)


# ---------------------------------------------------------------------------
# A typed report
# ---------------------------------------------------------------------------


def test_report_fields_are_its_header_and_sections():
    assert [field.name for field in dataclasses.fields(Report)] == [
        "cycle",
        "as_of",
        "dry_run",
        "review_interval_days",
        *SECTIONS,
        CHANGES_SINCE_REVIEW,
    ]


def test_report_holds_dates_and_moments_as_such(dpo_user):
    today = timezone.localdate()
    activity = ProcessingActivityFactory(
        processor_agreements=[ProcessorAgreementFactory(expires_on=today)],
        joint_arrangement=JointControllerArrangementFactory(review_on=today),
    )
    complete_review(
        review=ReviewFactory(activity=activity, cycle=today.year, due_on=today),
        user=dpo_user,
        outcome=ReviewOutcome.CONFIRMED,
    )
    activity.name = "Renamed after the review"
    activity.save()
    ReviewFactory(activity=activity, cycle=today.year + 1, due_on=today)

    report = build_report(on=today, cycle=today.year, opened=[])

    assert type(report.as_of) is datetime.date
    ((due,), (agreement,), (arrangement,)) = (
        report.reviews_due,
        report.processor_agreements,
        report.joint_arrangements,
    )
    assert (due.due_on, agreement.expires_on, arrangement.review_on) == (
        today,
        today,
        today,
    )
    assert all(
        type(value) is datetime.date
        for value in (due.due_on, agreement.expires_on, arrangement.review_on)
    )
    (entry,) = report.changes
    assert type(entry.last_reviewed_on) is datetime.date
    assert isinstance(entry.since, datetime.datetime)
    (change,) = entry.fields
    assert isinstance(change.edits[0].at, datetime.datetime)


def test_report_is_frozen():
    report = report_on()

    with pytest.raises(dataclasses.FrozenInstanceError):
        report.cycle = 2027
