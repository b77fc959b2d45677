import csv
import datetime
import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from ropa import review
from ropa.enums import ActivityStatus, DPIAStatus, ReviewOutcome
from ropa.models import Review
from ropa.review import (
    ALREADY_COMPLETED,
    COMPLETED_REASON,
    NOTES_REQUIRED,
    OPENED_REASON,
    RETIRED_REASON,
    USER_REQUIRED,
    ReviewError,
    build_report,
    change_report,
    complete_review,
    criteria_say_nothing,
    due_date,
    open_reviews,
    review_cycle,
)
from tests.factories import (
    InternationalTransferFactory,
    JointControllerArrangementFactory,
    LawfulBasisFactory,
    PersonalDataCategoryFactory,
    ProcessingActivityFactory,
    ProcessorAgreementFactory,
    RetentionRuleFactory,
    ReviewFactory,
    StaffUserFactory,
)

pytestmark = pytest.mark.django_db

ON = datetime.date(2026, 3, 1)


def day(text):
    return datetime.date.fromisoformat(text)


def report_on(on=ON, cycle=None):
    """The report of a run on ``on`` that opened nothing."""
    return build_report(on=on, cycle=cycle or on.year, opened=[])


@pytest.fixture
def system(db):
    return StaffUserFactory(username="ropa-system", is_active=False)


# ---------------------------------------------------------------------------
# Cycles and due dates
# ---------------------------------------------------------------------------


def test_review_cycle_defaults_to_the_year_of_the_date():
    assert review_cycle(on=ON) == 2026


@pytest.mark.parametrize("year", [2026, 2027])
def test_review_cycle_accepts_the_current_and_the_coming_year(year):
    assert review_cycle(on=ON, year=year) == year


@pytest.mark.parametrize("year", [2025, 2028])
def test_review_cycle_refuses_other_years(year):
    with pytest.raises(ReviewError, match=f"The review cycle {year} is neither"):
        review_cycle(on=ON, year=year)


@pytest.mark.parametrize(
    ("last_reviewed_on", "cycle", "expected"),
    [
        (None, 2026, ON),
        # Opened ahead for the coming cycle: due when it starts.
        (None, 2027, day("2027-01-01")),
        (day("2025-03-01"), 2026, day("2026-03-01")),
    ],
)
def test_due_date(last_reviewed_on, cycle, expected):
    assert due_date(last_reviewed_on=last_reviewed_on, on=ON, cycle=cycle) == expected


def test_due_date_follows_the_interval_setting(settings):
    settings.ROPA_REVIEW_INTERVAL_DAYS = 180

    due = due_date(last_reviewed_on=day("2026-01-01"), on=ON, cycle=2026)

    assert due == day("2026-06-30")


# ---------------------------------------------------------------------------
# Opening reviews
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("completed_on", "cycle", "expected_due_on"),
    [
        # Reviewed a year before: due on the anniversary, within the cycle.
        ("2025-03-01", 2025, day("2026-03-01")),
        # Falls due late in the cycle: opened now, due then.
        ("2025-12-20", 2025, day("2026-12-20")),
        # The 2025 review signed off in January 2026: next due in 2027.
        ("2026-01-05", 2025, None),
        # Already reviewed in this cycle.
        ("2026-02-01", 2026, None),
    ],
)
def test_open_reviews_opens_what_falls_due_in_the_cycle(
    system, completed_on, cycle, expected_due_on
):
    activity = ProcessingActivityFactory()
    ReviewFactory(
        activity=activity, cycle=cycle, completed=True, completed_on=day(completed_on)
    )

    opened = open_reviews(on=ON, user=system)

    assert [(r.activity, r.cycle, r.due_on) for r in opened] == (
        [(activity, 2026, expected_due_on)] if expected_due_on else []
    )


def test_open_reviews_opens_never_reviewed_activities_due_at_once(system):
    activity = ProcessingActivityFactory()

    (opened,) = open_reviews(on=ON, user=system)

    assert (opened.activity, opened.cycle, opened.due_on) == (activity, 2026, ON)
    assert opened.completed_on is None


@pytest.mark.parametrize("status", [ActivityStatus.DRAFT, ActivityStatus.RETIRED])
def test_open_reviews_skips_activities_not_active(system, status):
    ProcessingActivityFactory(status=status)

    assert open_reviews(on=ON, user=system) == []


def test_open_reviews_leaves_an_open_review_of_an_earlier_cycle(system):
    earlier = ReviewFactory(cycle=2025, due_on=day("2025-06-01"))

    assert open_reviews(on=ON, user=system) == []
    assert list(Review.objects.all()) == [earlier]


def test_open_reviews_never_opens_a_second_review_in_a_cycle(system):
    ProcessingActivityFactory.create_batch(2)

    first = open_reviews(on=ON, user=system)
    second = open_reviews(on=ON + datetime.timedelta(days=30), user=system)

    assert len(first) == 2
    assert second == []
    assert Review.objects.count() == 2


def test_open_reviews_records_user_and_reason_in_history(system):
    ProcessingActivityFactory()

    (opened,) = open_reviews(on=ON, user=system)

    record = Review.objects.get(pk=opened.pk).history.get()
    assert record.history_type == "+"
    assert record.history_user == system
    assert record.history_change_reason == OPENED_REASON.format(cycle=2026)


def test_open_reviews_records_a_given_reason(system):
    ProcessingActivityFactory()

    open_reviews(on=ON, user=system, reason="Opened after the audit")

    assert Review.history.get().history_change_reason == "Opened after the audit"


def test_open_reviews_dry_run_saves_nothing(system):
    activity = ProcessingActivityFactory()

    (planned,) = open_reviews(on=ON, user=None, dry_run=True)

    assert planned.pk is None
    assert planned.activity == activity
    assert not Review.objects.exists()
    assert not Review.history.exists()


def test_open_reviews_requires_a_user():
    ProcessingActivityFactory()

    with pytest.raises(ReviewError, match=USER_REQUIRED):
        open_reviews(on=ON, user=None)
    assert not Review.objects.exists()


def test_open_reviews_for_the_coming_cycle(system):
    ProcessingActivityFactory()

    (opened,) = open_reviews(on=day("2026-12-15"), user=system, cycle=2027)

    assert (opened.cycle, opened.due_on) == (2027, day("2027-01-01"))


# ---------------------------------------------------------------------------
# Signing off
# ---------------------------------------------------------------------------


def test_complete_review_signs_off_with_user_date_and_reason(dpo_user):
    open_review = ReviewFactory(notes="Ask sales about the CRM export.")

    completed = complete_review(
        review=open_review,
        user=dpo_user,
        outcome=ReviewOutcome.CONFIRMED,
        notes="Checked with sales.",
    )

    completed.refresh_from_db()
    assert completed.completed_on == timezone.localdate()
    assert completed.reviewer == dpo_user
    assert completed.outcome == ReviewOutcome.CONFIRMED
    assert completed.notes == "Ask sales about the CRM export.\n\nChecked with sales."
    record = completed.history.latest()
    assert record.history_user == dpo_user
    assert record.history_change_reason == COMPLETED_REASON.format(
        outcome=ReviewOutcome.CONFIRMED.label
    )


def test_complete_review_refuses_a_completed_review(dpo_user):
    done = ReviewFactory(completed=True)

    with pytest.raises(ValidationError, match=ALREADY_COMPLETED):
        complete_review(review=done, user=dpo_user, outcome=ReviewOutcome.CONFIRMED)


@pytest.mark.parametrize("outcome", [ReviewOutcome.CHANGED, ReviewOutcome.RETIRED])
def test_complete_review_needs_notes_for_a_change_or_retirement(dpo_user, outcome):
    open_review = ReviewFactory()

    with pytest.raises(ValidationError, match=NOTES_REQUIRED):
        complete_review(review=open_review, user=dpo_user, outcome=outcome, notes=" ")

    open_review.refresh_from_db()
    assert open_review.completed_on is None


@pytest.mark.parametrize("outcome", ["", "approved"])
def test_complete_review_refuses_an_invalid_outcome(dpo_user, outcome):
    open_review = ReviewFactory()

    with pytest.raises(ValidationError):
        complete_review(review=open_review, user=dpo_user, outcome=outcome)

    assert not Review.objects.completed().exists()


def test_complete_review_retired_retires_the_activity_with_history(dpo_user):
    open_review = ReviewFactory(cycle=2026)

    complete_review(
        review=open_review,
        user=dpo_user,
        outcome=ReviewOutcome.RETIRED,
        notes="The newsletter was discontinued.",
    )

    activity = open_review.activity
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.RETIRED
    record = activity.history.latest()
    assert record.status == ActivityStatus.RETIRED
    assert record.history_user == dpo_user
    assert record.history_change_reason == RETIRED_REASON.format(cycle=2026)


# ---------------------------------------------------------------------------
# Report sections
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

    assert report["reviews_overdue"] == [
        {
            "reference": overdue.activity.reference,
            "activity": overdue.activity.name,
            "cycle": 2026,
            "due_on": "2026-02-01",
            "days_overdue": 28,
        }
    ]
    assert [row["reference"] for row in report["reviews_due"]] == [
        due_today.activity.reference,
        later.activity.reference,
    ]
    assert report["check"]["failures"] == ["1 review overdue", "1 review due today"]


def test_report_check_passes_when_all_is_in_order():
    ReviewFactory(cycle=2026, due_on=day("2026-09-01"))
    ReviewFactory(cycle=2025, completed=True)

    assert report_on()["check"] == {"passed": True, "failures": []}


def test_report_names_the_missing_art30_elements():
    incomplete = ProcessingActivityFactory(lawful_basis=False, recipients=[])
    ProcessingActivityFactory()
    ProcessingActivityFactory(lawful_basis=False, status=ActivityStatus.DRAFT)

    report = report_on()

    (row,) = report["art30_gaps"]
    assert row["reference"] == incomplete.reference
    assert {(gap["element"], gap["reason"]) for gap in row["missing"]} == {
        ("30(1)(b)", "no Art. 6(1) lawful basis is recorded"),
        ("30(1)(d)", "no recipient is recorded"),
    }
    assert report["check"]["failures"] == ["1 activity with Art. 30 gaps"]


@pytest.mark.parametrize(
    ("expires_on", "expected"),
    [
        ("2026-02-28", ["expired"]),
        ("2026-03-01", ["expiring"]),
        ("2026-04-30", ["expiring"]),
        ("2026-05-01", []),
        (None, []),
    ],
)
def test_report_lists_processor_agreements_expired_or_expiring(expires_on, expected):
    agreement = ProcessorAgreementFactory(
        expires_on=day(expires_on) if expires_on else None
    )
    activity = ProcessingActivityFactory(processor_agreements=[agreement])

    rows = report_on()["processor_agreements"]

    assert [row["status"] for row in rows] == expected
    if expected:
        assert rows[0]["reference"] == agreement.reference
        assert rows[0]["activities"] == [activity.reference]


def test_report_ignores_agreements_no_active_activity_uses():
    ProcessorAgreementFactory(expires_on=day("2026-01-01"))
    retired_only = ProcessorAgreementFactory(expires_on=day("2026-01-01"))
    ProcessingActivityFactory(
        status=ActivityStatus.RETIRED, processor_agreements=[retired_only]
    )

    assert report_on()["processor_agreements"] == []


@pytest.mark.parametrize(
    ("review_on", "expected"),
    [("2026-01-31", ["expired"]), ("2026-04-01", ["expiring"]), ("2026-06-01", [])],
)
def test_report_lists_joint_arrangements_due_for_review(review_on, expected):
    arrangement = JointControllerArrangementFactory(review_on=day(review_on))
    ProcessingActivityFactory(joint_arrangement=arrangement)

    rows = report_on()["joint_arrangements"]

    assert [row["status"] for row in rows] == expected


def test_report_check_fails_on_expired_agreements_only():
    expired = ProcessorAgreementFactory(expires_on=day("2026-02-01"))
    expiring = ProcessorAgreementFactory(expires_on=day("2026-03-15"))
    ProcessingActivityFactory(processor_agreements=[expired, expiring])
    arrangement = JointControllerArrangementFactory(review_on=day("2026-03-15"))
    ProcessingActivityFactory(joint_arrangement=arrangement)

    assert report_on()["check"]["failures"] == ["1 processor agreement expired"]


@pytest.mark.parametrize(
    "criteria", ["   ", "\n\t", "-", "...", "TBD", "n/a", "N/A.", "none", "Unknown"]
)
def test_report_lists_retention_rules_whose_criteria_say_nothing(criteria):
    activity = ProcessingActivityFactory(retention=False)
    RetentionRuleFactory(activity=activity, by_criteria=True, criteria=criteria)

    (row,) = report_on()["retention_rules"]

    assert row["reference"] == activity.reference
    assert row["data"] == "all data"
    assert row["reasons"] == ["no period, and the criteria say nothing"]


def test_report_lists_retention_rules_for_data_no_longer_processed():
    kept = PersonalDataCategoryFactory(name="Contact details")
    dropped = PersonalDataCategoryFactory(name="Payment history")
    activity = ProcessingActivityFactory(personal_data_categories=[kept])
    RetentionRuleFactory(activity=activity, personal_data_category=kept)
    RetentionRuleFactory(activity=activity, personal_data_category=dropped)

    report = report_on()

    (row,) = report["retention_rules"]
    assert row["data"] == "Payment history"
    assert row["reasons"] == [
        "it covers 'Payment history', which the activity no longer processes"
    ]
    assert report["check"]["failures"] == [
        "1 retention rule without a period or criteria"
    ]


def test_report_accepts_retention_criteria_that_say_something():
    activity = ProcessingActivityFactory(retention=False)
    RetentionRuleFactory(activity=activity, by_criteria=True)
    ProcessingActivityFactory(status=ActivityStatus.RETIRED, retention=False)

    assert report_on()["retention_rules"] == []


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

    assert report["high_risk_without_dpia"] == [
        {
            "reference": missing.reference,
            "activity": missing.name,
            "dpia_status": "In progress",
        }
    ]
    assert report["check"]["failures"] == [
        "1 high-risk activity without a completed DPIA"
    ]


def test_report_of_a_dry_run_counts_the_reviews_it_would_open():
    ProcessingActivityFactory()
    planned = open_reviews(on=ON, user=None, dry_run=True)

    report = build_report(on=ON, cycle=2026, opened=planned, dry_run=True)

    assert len(report["reviews_opened"]) == 1
    assert len(report["reviews_due"]) == 1
    assert [entry["note"] for entry in report["changes"]] == ["never reviewed"]
    assert report["check"]["failures"] == ["1 review due today"]


# ---------------------------------------------------------------------------
# What changed since the last review
# ---------------------------------------------------------------------------


def reviewed_today(activity, user):
    """Open and sign off a review of ``activity`` now."""
    today = timezone.localdate()
    open_review = ReviewFactory(activity=activity, cycle=today.year, due_on=today)
    return complete_review(
        review=open_review, user=user, outcome=ReviewOutcome.CONFIRMED
    )


def as_user(instance, user, reason):
    instance._history_user = user
    instance._change_reason = reason
    return instance


def changes_of(activity):
    (entry,) = change_report(activity_ids=[activity.pk], on=timezone.localdate())
    return entry


def test_change_report_shows_field_changes_with_who_and_when(dpo_user):
    activity = ProcessingActivityFactory(name="Orders")
    activity.name = "Orders and returns"
    activity.save()
    reviewed_today(activity, dpo_user)
    editor = StaffUserFactory(username="editor")
    as_user(activity, editor, "Renamed after the merger")
    activity.name = "Order management"
    activity.purpose = "To deliver and invoice orders."
    activity.save()

    entry = changes_of(activity)

    assert entry["last_reviewed_on"] == timezone.localdate().isoformat()
    assert entry["note"] == ""
    assert [(c["field"], c["old"], c["new"]) for c in entry["fields"]] == [
        ("name", "Orders and returns", "Order management"),
        ("purpose", "To deliver the service the customer ordered.", activity.purpose),
    ]
    (edit,) = entry["fields"][0]["edits"]
    assert (edit["by"], edit["reason"]) == ("editor", "Renamed after the merger")
    assert edit["at"].startswith(timezone.localdate().isoformat())
    assert entry["links"] == entry["rows"] == []


def test_change_report_names_choices_and_related_rows(dpo_user):
    activity = ProcessingActivityFactory()
    reviewed_today(activity, dpo_user)
    arrangement = JointControllerArrangementFactory(reference="JCA-0042")
    activity.dpia_required = True
    activity.dpia_status = DPIAStatus.NOT_STARTED
    activity.joint_arrangement = arrangement
    activity.save()

    changes = {c["field"]: (c["old"], c["new"]) for c in changes_of(activity)["fields"]}

    assert changes == {
        "dpia_required": ("no", "yes"),
        "dpia_status": ("", "Not started"),
        "joint_arrangement": ("", f"JCA-0042 {arrangement.name}"),
    }


def test_change_report_shows_links_added_and_removed(dpo_user):
    old = PersonalDataCategoryFactory(name="Contact details")
    activity = ProcessingActivityFactory(personal_data_categories=[old])
    reviewed_today(activity, dpo_user)
    new = PersonalDataCategoryFactory(name="Order history")
    as_user(activity, dpo_user, "Categories corrected")
    activity.personal_data_categories.set([new])

    entry = changes_of(activity)

    (link,) = entry["links"]
    assert (link["field"], link["added"], link["removed"]) == (
        "personal_data_categories",
        ["Order history"],
        ["Contact details"],
    )
    # The removal and the addition are two history rows of one edit.
    assert [(e["by"], e["reason"]) for e in link["edits"]] == [
        ("dpo", "Categories corrected")
    ]
    assert entry["fields"] == []


def test_change_report_shows_child_rows_created_changed_and_deleted(dpo_user):
    activity = ProcessingActivityFactory()
    rule = activity.retention_rules.get()
    transfer = InternationalTransferFactory(activity=activity, country="IN")
    reviewed_today(activity, dpo_user)
    as_user(rule, dpo_user, "Longer for tax law")
    rule.period = 7
    rule.save()
    as_user(transfer, dpo_user, "Supplier replaced")
    transfer.delete()
    LawfulBasisFactory(activity=activity, legitimate_interests=True)

    rows = changes_of(activity)["rows"]

    assert [(r["model"], r["row"], r["action"]) for r in rows] == [
        ("retention rule", "all data", "changed"),
        ("international transfer", "India", "deleted"),
        ("lawful basis", "Legitimate interests (Art. 6(1)(f))", "created"),
    ]
    assert rows[0]["changes"] == [
        {"field": "period", "label": "period", "old": "3", "new": "7"}
    ]
    assert (rows[0]["by"], rows[0]["reason"]) == ("dpo", "Longer for tax law")


def test_change_report_leaves_out_changes_before_the_review(dpo_user):
    activity = ProcessingActivityFactory(name="Orders")
    activity.name = "Order management"
    activity.save()
    LawfulBasisFactory(activity=activity, basis="consent")
    reviewed_today(activity, dpo_user)

    entry = changes_of(activity)

    assert (entry["fields"], entry["links"], entry["rows"]) == ([], [], [])


def test_change_report_of_an_activity_never_reviewed():
    activity = ProcessingActivityFactory()

    entry = changes_of(activity)

    assert (entry["last_reviewed_on"], entry["since"], entry["note"]) == (
        None,
        None,
        "never reviewed",
    )


def test_change_report_after_a_review_entered_backdated(dpo_user):
    # A review signed off on paper before the record was entered: its history
    # starts afterwards, and the changes count from its first row.
    activity = ProcessingActivityFactory(name="Orders")
    ReviewFactory(activity=activity, cycle=2024, completed=True)
    activity.name = "Order management"
    activity.save()

    entry = changes_of(activity)

    assert entry["note"] == "history starts after the last review"
    assert [(c["old"], c["new"]) for c in entry["fields"]] == [
        ("Orders", "Order management")
    ]


def reviewed_then_changed(user):
    """An activity reviewed today, then changed in a field, a link and a row."""
    activity = ProcessingActivityFactory()
    reviewed_today(activity, user)
    as_user(activity, user, "After the review")
    activity.name = f"{activity.name} (renamed)"
    activity.save()
    activity.recipients.set([])
    rule = activity.retention_rules.get()
    as_user(rule, user, "After the review")
    rule.period = 5
    rule.save()
    LawfulBasisFactory(activity=activity, basis="consent")
    return activity


def test_change_report_query_count_does_not_grow_with_activities(
    dpo_user, django_assert_max_num_queries
):
    # The activities and their last reviews; the sign-off moments; the
    # activities' history (two queries: before and after the earliest review)
    # and one query per linked model's history; the history of lawful bases,
    # transfers and retention rules (two each); one query per related model
    # named in a change.
    def count(activities):
        with django_assert_max_num_queries(1000) as captured:
            entries = change_report(
                activity_ids=[a.pk for a in activities], on=timezone.localdate()
            )
        assert all(entry["fields"] and entry["links"] for entry in entries)
        return len(captured.captured_queries)

    activities = [reviewed_then_changed(dpo_user)]
    one = count(activities)
    activities += [reviewed_then_changed(dpo_user) for _ in range(2)]
    three = count(activities)

    assert one == three


# ---------------------------------------------------------------------------
# Formats
# ---------------------------------------------------------------------------


def test_render_json_is_valid_json_with_every_section():
    ReviewFactory(cycle=2026, due_on=day("2026-02-01"))

    data = json.loads(review.render_json(report_on()))

    assert set(data) == {
        "cycle",
        "as_of",
        "dry_run",
        "review_interval_days",
        "reviews_opened",
        "reviews_overdue",
        "reviews_due",
        "art30_gaps",
        "processor_agreements",
        "joint_arrangements",
        "retention_rules",
        "high_risk_without_dpia",
        "changes",
        "check",
    }


def test_render_text_shows_every_section_and_the_result():
    overdue = ReviewFactory(cycle=2026, due_on=day("2026-02-01"))

    text = review.render_text(report_on())

    for title in review.TITLES.values():
        assert title in text
    assert (
        f"{overdue.activity.reference} {overdue.activity.name}: 2026 cycle, due "
        in (text)
    )
    assert text.endswith("Register needs attention: 1 review overdue.")


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@"])
def test_render_csv_neutralises_formula_cells(prefix):
    activity = ProcessingActivityFactory(name=f"{prefix}HYPERLINK(1)")
    ReviewFactory(activity=activity, cycle=2026, due_on=day("2026-02-01"))

    rows = list(csv.reader(io.StringIO(review.render_csv(report_on()))))

    assert rows[0] == list(review.CSV_COLUMNS)
    overdue = [row for row in rows if row[0] == "reviews_overdue"]
    assert overdue[0][2] == f"'{prefix}HYPERLINK(1)"
