"""An activity's flows as data: from the database and from the snapshot."""

import datetime

import pytest

from ropa.charts.flows import (
    ADEQUACY_NOT_IN_FORCE,
    ADEQUACY_SCOPE_UNRECORDED,
    NO_MECHANISM,
    SAFEGUARDS_UNDOCUMENTED,
    TRANSFER_NOT_RECORDED,
    ActivityFlow,
    Transfer,
    flow_from_activity,
    flow_from_snapshot,
    flow_prefetches,
    flows_of_register,
)
from ropa.enums import ActivityStatus, TransferMechanism
from ropa.exchange.snapshot import Catalogue, Register
from ropa.models import ProcessingActivity, Recipient
from subjects.models import DataSubjectCategory
from tests.factories import (
    InternationalTransferFactory,
    ProcessingActivityFactory,
    RecipientFactory,
)
from tests.ropa.charts.conftest import RECIPIENTS, SUBJECTS

SCC = TransferMechanism.SCC.label
ADEQUACY = TransferMechanism.ADEQUACY.label
DEROGATION = TransferMechanism.DEROGATION.label


def _by_destination(flow):
    return {(t.country_name, t.recipient): t for t in flow.transfers}


@pytest.mark.django_db
def test_flow_from_activity_follows_the_transfer_rules(service_activity):
    flow = flow_from_activity(service_activity)

    assert flow.reference == "PA-0042"
    assert flow.business_function == "Support"
    assert flow.subjects == SUBJECTS
    assert set(flow.recipients) == set(RECIPIENTS)
    assert _by_destination(flow) == {
        ("United States of America", "US analytics Inc."): Transfer(
            "US", "United States of America", "US analytics Inc.", SCC, False
        ),
        ("India", "Bangalore call centre"): Transfer(
            "IN", "India", "Bangalore call centre", "", True
        ),
        ("Switzerland", "Zürich hosting AG"): Transfer(
            "CH", "Switzerland", "Zürich hosting AG", ADEQUACY, False
        ),
        ("Israel", "Tel Aviv support Ltd"): Transfer(
            "IL", "Israel", "Tel Aviv support Ltd", "", False, TRANSFER_NOT_RECORDED
        ),
        ("World Health Organization", ""): Transfer(
            "", "World Health Organization", "", DEROGATION, True
        ),
    }
    # The courier is in the EEA: no transfer.
    assert not [t for t in flow.transfers if t.recipient == "Nordic courier AB"]
    assert {t.country: t.warning for t in flow.warnings} == {
        "IN": NO_MECHANISM,
        "IL": TRANSFER_NOT_RECORDED,
    }


@pytest.mark.django_db
def test_the_snapshot_gives_the_flow_the_database_gives(service_activity):
    ProcessingActivityFactory(status=ActivityStatus.DRAFT)

    snapshot = list(flows_of_register(Register()))
    active = list(flows_of_register(Register(), statuses={ActivityStatus.ACTIVE}))

    assert flow_from_activity(service_activity) in snapshot
    assert len(snapshot) == 2
    assert [flow.reference for flow in active] == ["PA-0042"]


@pytest.mark.django_db
def test_the_gaps_are_those_of_the_registers_rules(service_activity):
    # Each flow's warnings name the Art. 30(1)(e) gaps ropa.completeness
    # finds in the record: a change to either shows here.
    gaps = {gap.key for gap in service_activity.missing_elements()}

    assert "transfer_not_recorded" in gaps
    InternationalTransferFactory(
        activity=service_activity,
        country="IN",
        recipient=Recipient.objects.get(name="Bangalore call centre"),
    )
    InternationalTransferFactory(
        activity=service_activity,
        country="IL",
        recipient=Recipient.objects.get(name="Tel Aviv support Ltd"),
        mechanism=TransferMechanism.ADEQUACY,
    )
    activity = ProcessingActivity.objects.get(pk=service_activity.pk)

    assert "transfer_not_recorded" not in {g.key for g in activity.missing_elements()}
    assert flow_from_activity(activity).warnings == ()


def _catalogue(recipients):
    return Catalogue(
        organisations={},
        officers={},
        agreements={},
        arrangements={},
        names={DataSubjectCategory: {}},
        usernames={},
        details={Recipient: recipients},
    )


def _snapshot_activity(recipients=(), transfers=()):
    return {
        "reference": "PA-0001",
        "name": "Payroll",
        "purpose": "To pay salaries.",
        "business_function": "HR",
        "status": ActivityStatus.ACTIVE,
        "organisations": [],
        "data_subject_categories": [],
        "recipients": list(recipients),
        "transfers": list(transfers),
    }


def _transfer_row(country="", organisation="", mechanism="", recipient_id=None, **rest):
    return {
        "country": country,
        "international_organisation": organisation,
        "mechanism": mechanism,
        "recipient_id": recipient_id,
        "adequacy_scope": "",
        "safeguards_documentation": "",
        **rest,
    }


@pytest.mark.parametrize(
    ("row", "warning", "needs", "third"),
    [
        (_transfer_row("IN", mechanism="scc"), "", True, True),
        (_transfer_row("IN", mechanism="adequacy"), ADEQUACY_NOT_IN_FORCE, True, True),
        (
            _transfer_row("US", mechanism="adequacy"),
            ADEQUACY_SCOPE_UNRECORDED,
            False,
            True,
        ),
        (
            _transfer_row("US", mechanism="adequacy", adequacy_scope="DPF list"),
            "",
            False,
            True,
        ),
        (
            _transfer_row("IN", mechanism="compelling_interests"),
            SAFEGUARDS_UNDOCUMENTED,
            True,
            True,
        ),
        (_transfer_row("CH", mechanism="adequacy"), "", False, True),
        (_transfer_row("DE", mechanism="scc"), "", False, False),
        (
            _transfer_row(
                organisation="European Patent Organisation", mechanism="adequacy"
            ),
            "",
            False,
            True,
        ),
    ],
)
def test_flow_from_snapshot_reads_each_recorded_transfer(row, warning, needs, third):
    on = datetime.date(2026, 12, 1)
    flow = flow_from_snapshot(
        _snapshot_activity(transfers=[row]), _catalogue({}), on=on
    )

    (transfer,) = flow.transfers
    assert (transfer.warning, transfer.needs_mechanism, transfer.third_country) == (
        warning,
        needs,
        third,
    )
    assert transfer.mechanism == TransferMechanism(row["mechanism"]).label


def test_flow_from_snapshot_reads_the_rules_of_the_snapshots_day():
    # In the EEA until the end of 2020; adequate since mid-2021; a recipient
    # there with no transfer recorded is a gap only once it left the EEA.
    catalogue = _catalogue({7: {"id": 7, "name": "London agency", "country": "GB"}})
    activity = _snapshot_activity(recipients=[7])

    then = flow_from_snapshot(activity, catalogue, on=datetime.date(2020, 6, 1))
    now = flow_from_snapshot(activity, catalogue, on=datetime.date(2026, 12, 1))

    assert then.transfers == ()
    assert now.transfers == (
        Transfer(
            "GB", "United Kingdom", "London agency", "", False, TRANSFER_NOT_RECORDED
        ),
    )


@pytest.mark.django_db
def test_flow_from_activity_costs_the_same_queries_for_any_number_of_recipients(
    django_assert_num_queries,
):
    # Organisations, data subjects, recipients, transfers with their
    # recipients: one query each.
    few = ProcessingActivityFactory()
    many = ProcessingActivityFactory(
        recipients=RecipientFactory.create_batch(6, outside_eea=True)
    )
    for recipient in many.recipients.all()[:4]:
        InternationalTransferFactory(activity=many, recipient=recipient)

    for activity in (few, many):
        activity = ProcessingActivity.objects.get(pk=activity.pk)
        with django_assert_num_queries(4):
            flow_from_activity(activity)


@pytest.mark.django_db
def test_prefetched_activities_cost_no_query_per_activity(django_assert_num_queries):
    ProcessingActivityFactory.create_batch(3)
    for recipient in RecipientFactory.create_batch(2, outside_eea=True):
        InternationalTransferFactory(recipient=recipient)

    # The activities, then one query per relation.
    with django_assert_num_queries(5):
        flows = [
            flow_from_activity(activity)
            for activity in ProcessingActivity.objects.prefetch_related(
                *flow_prefetches()
            )
        ]
    assert len(flows) == 5
    assert all(isinstance(flow, ActivityFlow) for flow in flows)
