"""
The gaps shown on an activity's own page: its stored gaps where they are
current, the rules' answer where they are not.
"""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ropa import completeness, stored_completeness
from ropa.enums import ActivityRole, TransferMechanism
from ropa.models import ProcessingActivity, StoredCompleteness
from tests.factories import InternationalTransferFactory, ProcessingActivityFactory
from tests.ropa.test_completeness import RULE_CASES

pytestmark = pytest.mark.django_db

BEFORE_DPF = datetime.date(2023, 1, 1)
AFTER_DPF = datetime.date(2024, 1, 1)


def keys(activity, on=None):
    return [gap.key for gap in activity.missing_elements(on=on)]


def stored(activity):
    return StoredCompleteness.objects.get(pk=activity.pk)


def test_missing_elements_come_from_a_current_stored_row():
    incomplete = RULE_CASES["no_recipients"][0]()
    complete = ProcessingActivityFactory()
    stored_completeness.refresh()

    for activity, expected in ((incomplete, ["no_recipients"]), (complete, [])):
        record = ProcessingActivity.objects.get(pk=activity.pk)
        with CaptureQueriesContext(connection) as queries:
            assert keys(record) == expected
        # One read of the stored row, none of the rules' subqueries.
        (query,) = queries.captured_queries
        assert StoredCompleteness._meta.db_table in query["sql"]
        assert "EXISTS" not in query["sql"].upper()


@pytest.mark.parametrize(
    "unlink",
    [
        lambda activity: activity.organisations.clear(),
        lambda activity: activity.organisations.get().activities.clear(),
    ],
    ids=["clear", "reverse-clear"],
)
def test_missing_elements_of_a_record_changed_since_come_from_the_rules(unlink):
    activity = ProcessingActivityFactory()
    stored_completeness.refresh()
    record = ProcessingActivity.objects.select_related("stored_completeness").get(
        pk=activity.pk
    )
    assert keys(record) == []

    unlink(record)

    # The stored row the record holds was current when read, and is not now.
    assert keys(record) == ["no_organisation"]
    assert stored(activity).gaps == ""


def test_missing_elements_on_a_day_of_other_adequacy_decisions_come_from_the_rules():
    activity = ProcessingActivityFactory()
    InternationalTransferFactory(
        activity=activity,
        country="US",
        mechanism=TransferMechanism.ADEQUACY,
        adequacy_scope="Listed in the Data Privacy Framework list.",
    )
    stored_completeness.refresh(AFTER_DPF)
    record = ProcessingActivity.objects.get(pk=activity.pk)

    assert keys(record, on=AFTER_DPF) == []
    # Stored under the EU-US Data Privacy Framework: not the answer before it.
    assert keys(record, on=BEFORE_DPF) == ["adequacy_not_in_force"]


def test_stored_gaps_are_not_read_for_a_role_the_record_does_not_have_stored():
    activity = ProcessingActivityFactory()
    stored_completeness.refresh()
    # As a form shown again with its errors holds it: the role not saved.
    activity.role = ActivityRole.PROCESSOR

    assert completeness.current_gaps(activity) is None
    assert "no_client_controller" in {gap.key for gap in activity.missing_elements()}
