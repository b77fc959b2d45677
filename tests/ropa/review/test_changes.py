import datetime
from types import SimpleNamespace

import pytest
from django.utils import timezone

from ropa.enums import DPIAStatus, ReviewOutcome
from ropa.review.changes import (
    HISTORY_STARTS_LATER,
    NEVER_REVIEWED,
    Ref,
    ValueChange,
    _edits,
    change_report,
)
from ropa.review.services import complete_review
from subjects.models import PersonalDataCategory
from tests.factories import (
    InternationalTransferFactory,
    JointControllerArrangementFactory,
    LawfulBasisFactory,
    PersonalDataCategoryFactory,
    ProcessingActivityFactory,
    RecipientFactory,
    ReviewFactory,
    StaffUserFactory,
)

pytestmark = pytest.mark.django_db


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


def names(refs):
    return [str(ref) for ref in refs]


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

    assert entry.last_reviewed_on == timezone.localdate()
    assert entry.note == ""
    assert [(c.field, c.old, c.new) for c in entry.fields] == [
        ("name", "Orders and returns", "Order management"),
        ("purpose", "To deliver the service the customer ordered.", activity.purpose),
    ]
    (edit,) = entry.fields[0].edits
    assert (edit.by, edit.reason) == ("editor", "Renamed after the merger")
    assert timezone.localdate(edit.at) == timezone.localdate()
    assert entry.links == entry.rows == ()


def test_change_report_moments_are_datetimes_to_the_second(dpo_user):
    activity = ProcessingActivityFactory(name="Orders")
    review = reviewed_today(activity, dpo_user)
    activity.name = "Order management"
    activity.save()

    entry = changes_of(activity)

    signed = review.history.latest().history_date
    assert entry.since == signed
    (edit,) = entry.fields[0].edits
    assert isinstance(edit.at, datetime.datetime)
    assert timezone.is_aware(edit.at)
    assert edit.at.microsecond == 0
    assert edit.at >= signed.replace(microsecond=0)


def test_change_report_names_choices_and_related_rows(dpo_user):
    activity = ProcessingActivityFactory()
    reviewed_today(activity, dpo_user)
    arrangement = JointControllerArrangementFactory(reference="JCA-0042")
    activity.dpia_required = True
    activity.dpia_status = DPIAStatus.NOT_STARTED
    activity.joint_arrangement = arrangement
    activity.save()

    changes = {c.field: (c.old, c.new) for c in changes_of(activity).fields}

    assert changes == {
        "dpia_required": ("no", "yes"),
        "dpia_status": ("", "Not started"),
        "joint_arrangement": (
            "",
            Ref(type(arrangement), arrangement.pk, f"JCA-0042 {arrangement.name}"),
        ),
    }


def test_change_report_shows_links_added_and_removed(dpo_user):
    old = PersonalDataCategoryFactory(name="Contact details")
    activity = ProcessingActivityFactory(personal_data_categories=[old])
    reviewed_today(activity, dpo_user)
    new = PersonalDataCategoryFactory(name="Order history")
    as_user(activity, dpo_user, "Categories corrected")
    activity.personal_data_categories.set([new])

    entry = changes_of(activity)

    (link,) = entry.links
    assert (link.field, names(link.added), names(link.removed)) == (
        "personal_data_categories",
        ["Order history"],
        ["Contact details"],
    )
    assert link.added == (Ref(PersonalDataCategory, new.pk, "Order history"),)
    # The removal and the addition are two history rows of one edit.
    assert [(e.by, e.reason) for e in link.edits] == [("dpo", "Categories corrected")]
    assert entry.fields == ()


def test_change_report_names_a_related_row_deleted_since(dpo_user):
    gone = RecipientFactory(name="Gone recipient")
    activity = ProcessingActivityFactory()
    activity.recipients.add(gone)
    reviewed_today(activity, dpo_user)
    activity.recipients.remove(gone)
    gone_pk = gone.pk
    gone.delete()

    (link,) = changes_of(activity).links

    assert (link.field, names(link.removed)) == (
        "recipients",
        [f"#{gone_pk} (deleted)"],
    )


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

    rows = changes_of(activity).rows

    assert [(r.model, r.row, r.action) for r in rows] == [
        ("retention rule", "all data", "changed"),
        ("international transfer", "India", "deleted"),
        ("lawful basis", "Legitimate interests (Art. 6(1)(f))", "created"),
    ]
    assert rows[0].changes == (
        ValueChange(field="period", label="period", old="3", new="7"),
    )
    assert (rows[0].by, rows[0].reason) == ("dpo", "Longer for tax law")


def test_change_report_leaves_out_changes_before_the_review(dpo_user):
    activity = ProcessingActivityFactory(name="Orders")
    activity.name = "Order management"
    activity.save()
    LawfulBasisFactory(activity=activity, basis="consent")
    reviewed_today(activity, dpo_user)

    entry = changes_of(activity)

    assert (entry.fields, entry.links, entry.rows) == ((), (), ())


def test_change_report_of_an_activity_never_reviewed():
    activity = ProcessingActivityFactory()

    entry = changes_of(activity)

    assert (entry.last_reviewed_on, entry.since, entry.note) == (
        None,
        None,
        NEVER_REVIEWED,
    )


def test_change_report_after_a_review_entered_backdated(dpo_user):
    # A review signed off on paper before the record was entered: its history
    # starts afterwards, and the changes count from its first row.
    activity = ProcessingActivityFactory(name="Orders")
    ReviewFactory(activity=activity, cycle=2024, completed=True)
    activity.name = "Order management"
    activity.save()

    entry = changes_of(activity)

    assert entry.note == HISTORY_STARTS_LATER
    assert entry.last_reviewed_on == datetime.date(2024, 11, 30)
    assert [(c.old, c.new) for c in entry.fields] == [("Orders", "Order management")]


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
        assert all(entry.fields and entry.links for entry in entries)
        return len(captured.captured_queries)

    activities = [reviewed_then_changed(dpo_user)]
    one = count(activities)
    activities += [reviewed_then_changed(dpo_user) for _ in range(2)]
    three = count(activities)

    assert one == three


def test_the_rows_of_one_edit_across_a_seconds_turn_are_one_edit(dpo_user):
    # A link change writes its rows milliseconds apart; on a busy machine
    # they may fall either side of a second's turn.
    turn = datetime.datetime(2026, 3, 2, 10, 0, 1, tzinfo=datetime.UTC)

    def row(at, reason="Categories corrected"):
        return SimpleNamespace(
            history_user=dpo_user, history_date=at, history_change_reason=reason
        )

    edits = _edits(
        [
            row(turn - datetime.timedelta(milliseconds=2)),
            row(turn + datetime.timedelta(milliseconds=3)),
            row(turn + datetime.timedelta(seconds=30)),
            row(turn + datetime.timedelta(seconds=30), reason="Another reason"),
        ]
    )

    assert [(edit.at.second, edit.reason) for edit in edits] == [
        (0, "Categories corrected"),
        (31, "Categories corrected"),
        (31, "Another reason"),
    ]
