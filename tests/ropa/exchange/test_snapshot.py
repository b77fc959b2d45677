import datetime
from contextlib import contextmanager
from unittest import mock

import pytest
from django.utils import timezone

from ropa.core.progress import Progress
from ropa.enums import ActivityStatus, LawfulBasisChoice
from ropa.exchange import layout
from ropa.exchange.export import XLSX
from ropa.exchange.snapshot import Register, RegisterSnapshot, end_of_day, existed_then
from subjects.models import PersonalDataCategory
from tests.factories import (
    GroupCompanyFactory,
    InternationalTransferFactory,
    PersonalDataCategoryFactory,
    ProcessingActivityFactory,
    ProcessorAgreementFactory,
    RetentionRuleFactory,
)
from tests.ropa.exchange.test_exports import (
    by_reference,
    export_bytes,
    read_xlsx,
    records,
)

pytestmark = pytest.mark.django_db

DAY1 = datetime.date(2024, 3, 1)
BETWEEN = datetime.date(2024, 4, 15)
DAY2 = datetime.date(2024, 6, 3)


def moment(day, hour=12, minute=0):
    return datetime.datetime.combine(
        day, datetime.time(hour, minute), tzinfo=timezone.get_default_timezone()
    )


@contextmanager
def on(when):
    """Saves made inside are dated ``when``, in the records and their history."""
    with mock.patch("django.utils.timezone.now", return_value=when):
        yield


def _save(instance, reason="Changed in a test"):
    instance._change_reason = reason
    instance.save()


@pytest.fixture
def history():
    """
    A register changed on DAY2.

    On DAY1: PA-0001 "Old name" with "Old category", a contract basis and a
    transfer; PA-0002; PA-0003 active; agreement DPA-0001. On DAY2: PA-0001
    renamed, its category swapped for "New category", its basis changed to
    consent, its transfer deleted and a retention rule for the new category
    added; "Old category" renamed; PA-0002 deleted; PA-0003 retired; PA-0004
    and agreement DPA-0002 created.
    """
    with on(moment(DAY1)):
        company = GroupCompanyFactory(name="Acme AB")
        old = PersonalDataCategoryFactory(name="Old category")
        new = PersonalDataCategoryFactory(name="New category")
        first = ProcessingActivityFactory(
            reference="PA-0001",
            name="Old name",
            organisations=[company],
            personal_data_categories=[old],
        )
        InternationalTransferFactory(activity=first)
        doomed = ProcessingActivityFactory(reference="PA-0002", organisations=[company])
        retiring = ProcessingActivityFactory(
            reference="PA-0003", organisations=[company]
        )
        ProcessorAgreementFactory(reference="DPA-0001", controller=company)
    with on(moment(DAY2)):
        first.name = "New name"
        _save(first)
        first.personal_data_categories.set([new])
        basis = first.lawful_bases.get()
        basis.basis = LawfulBasisChoice.CONSENT
        _save(basis)
        first.transfers.get().delete()
        RetentionRuleFactory(activity=first, personal_data_category=new)
        old.name = "Renamed category"
        _save(old)
        doomed.delete()
        retiring.status = ActivityStatus.RETIRED
        _save(retiring)
        ProcessingActivityFactory(reference="PA-0004", organisations=[company])
        ProcessorAgreementFactory(reference="DPA-0002", controller=company)
    return {"company": company, "old": old, "new": new}


def _activities(register):
    return {row["reference"]: row for chunk in register.activities() for row in chunk}


# ---------------------------------------------------------------------------
# The end of a day
# ---------------------------------------------------------------------------


def test_end_of_day_is_the_next_midnight_in_the_project_time_zone(settings):
    settings.TIME_ZONE = "Europe/Stockholm"
    end = end_of_day(datetime.date(2024, 3, 30))
    assert end.isoformat() == "2024-03-31T00:00:00+01:00"
    # The night the clocks go forward still ends at local midnight.
    assert end_of_day(datetime.date(2024, 3, 31)).isoformat() == (
        "2024-04-01T00:00:00+02:00"
    )


@pytest.mark.parametrize(
    ("hour", "minute", "day", "name"),
    [
        (23, 30, DAY1, "Late change"),
        (0, 30, DAY1 + datetime.timedelta(days=1), "Late change"),
    ],
)
def test_snapshot_ends_at_midnight_local_time(hour, minute, day, name):
    with on(moment(DAY1, 9)):
        activity = ProcessingActivityFactory(name="Morning")
    with on(moment(day, hour, minute)):
        activity.name = name
        _save(activity)
    assert _activities(RegisterSnapshot(day=DAY1))[activity.reference]["name"] == (
        name if day == DAY1 else "Morning"
    )


# ---------------------------------------------------------------------------
# Activities as of a date
# ---------------------------------------------------------------------------


def test_snapshot_before_the_first_record_is_empty(history):
    assert _activities(RegisterSnapshot(day=DAY1 - datetime.timedelta(days=1))) == {}


@pytest.mark.parametrize("day", [DAY1, BETWEEN])
def test_snapshot_shows_records_as_they_were(history, day):
    activities = _activities(RegisterSnapshot(day=day))
    assert list(activities) == ["PA-0001", "PA-0002", "PA-0003"]
    first = activities["PA-0001"]
    assert first["name"] == "Old name"
    assert first["personal_data_categories"] == [history["old"].pk]
    assert [basis["basis"] for basis in first["lawful_bases"]] == ["contract"]
    assert [transfer["country"] for transfer in first["transfers"]] == ["IN"]
    assert [rule["personal_data_category_id"] for rule in first["retention_rules"]] == [
        None
    ]
    assert activities["PA-0003"]["status"] == ActivityStatus.ACTIVE


def test_snapshot_after_the_changes_matches_the_register(history):
    then = _activities(RegisterSnapshot(day=DAY2))
    now = _activities(Register())
    assert list(then) == ["PA-0001", "PA-0003", "PA-0004"]
    for reference, row in now.items():
        version = {key: value for key, value in then[reference].items() if key in row}
        assert _children_sorted(version) == _children_sorted(row), reference


def _children_sorted(activity):
    # Neither links nor children come in any particular order.
    return {
        key: sorted(value, key=_id_of) if isinstance(value, list) else value
        for key, value in activity.items()
    }


def _id_of(item):
    return item["id"] if isinstance(item, dict) else item


def test_snapshot_includes_retired_records_and_excludes_deleted_ones(history):
    activities = _activities(RegisterSnapshot(day=DAY2))
    assert activities["PA-0003"]["status"] == ActivityStatus.RETIRED
    assert "PA-0002" not in activities


def test_snapshot_catalogue_names_are_those_of_the_date(history):
    names = RegisterSnapshot(day=DAY1).catalogue().names[PersonalDataCategory]
    assert names[history["old"].pk] == "Old category"
    names = RegisterSnapshot(day=DAY2).catalogue().names[PersonalDataCategory]
    assert names[history["old"].pk] == "Renamed category"


def test_snapshot_catalogue_marks_agreements_created_later(history):
    agreements = RegisterSnapshot(day=DAY1).catalogue().agreements.values()
    assert {row["reference"]: existed_then(row) for row in agreements} == {
        "DPA-0001": True,
        "DPA-0002": False,
    }


def test_snapshot_finds_a_child_row_moved_to_another_activity():
    with on(moment(DAY1)):
        giver = ProcessingActivityFactory(reference="PA-0001")
        taker = ProcessingActivityFactory(reference="PA-0002", lawful_basis=False)
    with on(moment(DAY2)):
        basis = giver.lawful_bases.get()
        basis.activity = taker
        _save(basis)
    then = _activities(RegisterSnapshot(day=DAY1))
    assert [len(then[ref]["lawful_bases"]) for ref in ("PA-0001", "PA-0002")] == [1, 0]
    later = _activities(RegisterSnapshot(day=DAY2))
    assert [len(later[ref]["lawful_bases"]) for ref in ("PA-0001", "PA-0002")] == [0, 1]


def test_snapshot_for_a_controller_uses_the_links_of_the_date():
    with on(moment(DAY1)):
        before, after = GroupCompanyFactory(), GroupCompanyFactory()
        activity = ProcessingActivityFactory(organisations=[before])
    with on(moment(DAY2)):
        activity.organisations.set([after])
    assert list(_activities(RegisterSnapshot(day=DAY1, controller=before))) == [
        activity.reference
    ]
    assert _activities(RegisterSnapshot(day=DAY1, controller=after)) == {}
    assert list(_activities(RegisterSnapshot(day=DAY2, controller=after))) == [
        activity.reference
    ]


# ---------------------------------------------------------------------------
# Chunks: a fixed number of queries each
# ---------------------------------------------------------------------------

# The activities, 7 many-to-many tables, 3 child tables: one query each for
# the register as it stands, and per chunk for a snapshot.
QUERIES_PER_CHUNK = 11


@pytest.mark.parametrize(("count", "sizes"), [(3, [2, 1]), (4, [2, 2]), (5, [2, 2, 1])])
def test_register_reads_every_chunk_from_one_query_per_table(
    django_assert_num_queries, count, sizes
):
    ProcessingActivityFactory.create_batch(count)
    with django_assert_num_queries(QUERIES_PER_CHUNK):
        assert [len(chunk) for chunk in Register(chunk_size=2).activities()] == sizes


def test_register_streams_give_each_activity_its_own_links_and_children():
    # References whose order differs between code points and a language's
    # collation ("pa" after "PB" by code point, before it in most languages).
    references = ["pa-0002", "PB-0001", "Pa_0003", "PA-0010", "pa-0001", "Ä-0001"]
    expected = {}
    for n, reference in enumerate(references):
        activity = ProcessingActivityFactory(reference=reference, retention=False)
        RetentionRuleFactory(activity=activity, period=n + 1)
        expected[reference] = (
            sorted(activity.recipients.values_list("pk", flat=True)),
            [n + 1],
        )

    read = {
        row["reference"]: (
            sorted(row["recipients"]),
            [rule["period"] for rule in row["retention_rules"]],
        )
        for chunk in Register(chunk_size=2).activities()
        for row in chunk
    }

    assert read == expected


@pytest.mark.parametrize(("count", "sizes"), [(3, [2, 1]), (4, [2, 2])])
def test_snapshot_reads_chunks_at_a_fixed_query_cost(
    django_assert_num_queries, count, sizes
):
    ProcessingActivityFactory.create_batch(count)
    register = RegisterSnapshot(day=timezone.localdate(), chunk_size=2)
    # One query ranks the activities' versions, then the chunks'.
    with django_assert_num_queries(1 + QUERIES_PER_CHUNK * len(sizes)):
        assert [len(chunk) for chunk in register.activities()] == sizes


@pytest.mark.parametrize(
    "register",
    [
        lambda: Register(chunk_size=2),
        lambda: RegisterSnapshot(day=DAY1, chunk_size=2),
        lambda: RegisterSnapshot(day=DAY2, chunk_size=2),
    ],
    ids=["as it stands", "as of day 1", "as of day 2"],
)
def test_count_is_where_the_progress_of_reading_ends(history, register):
    register = register()
    progress = Progress(None, register.count(), "Exporting", enabled=False)

    read = [
        row["reference"] for chunk in register.activities(progress) for row in chunk
    ]

    # Deleted activities are neither counted nor read.
    assert register.count() == len(read) == progress.done == 3


def test_register_chunks_follow_the_reference_order():
    for reference in ("PA-0005", "PA-0001", "PA-0004", "PA-0002", "PA-0003"):
        ProcessingActivityFactory(reference=reference)
    chunks = [
        [row["reference"] for row in chunk]
        for chunk in Register(chunk_size=2).activities()
    ]
    assert chunks == [["PA-0001", "PA-0002"], ["PA-0003", "PA-0004"], ["PA-0005"]]


# ---------------------------------------------------------------------------
# Exports as of a date
# ---------------------------------------------------------------------------


def _sheets(day):
    return read_xlsx(export_bytes(XLSX, as_of=day))


def test_export_as_of_shows_field_values_and_links_of_the_date(history):
    activities = by_reference(records(_sheets(DAY1)["Activities"], layout.ACTIVITIES))
    assert activities["PA-0001"]["Name"] == "Old name"
    assert activities["PA-0001"]["Personal data categories"] == "Old category"
    later = by_reference(records(_sheets(DAY2)["Activities"], layout.ACTIVITIES))
    assert later["PA-0001"]["Name"] == "New name"
    assert later["PA-0001"]["Personal data categories"] == "New category"


def test_export_as_of_includes_then_excludes_a_deleted_activity(history):
    before = records(_sheets(DAY1)["Activities"], layout.ACTIVITIES)
    after = records(_sheets(DAY2)["Activities"], layout.ACTIVITIES)
    assert [row["Reference"] for row in before] == ["PA-0001", "PA-0002", "PA-0003"]
    assert [(row["Reference"], row["Status"]) for row in after] == [
        ("PA-0001", ActivityStatus.ACTIVE.label),
        ("PA-0003", ActivityStatus.RETIRED.label),
        ("PA-0004", ActivityStatus.ACTIVE.label),
    ]


def test_export_as_of_shows_child_rows_of_the_date(history):
    def child_rows(day, sheet, column):
        rows = records(_sheets(day)[sheet.name], sheet)
        return [(row["Reference"], row[column]) for row in rows]

    contract, consent = (
        LawfulBasisChoice.CONTRACT.label,
        LawfulBasisChoice.CONSENT.label,
    )
    assert child_rows(DAY1, layout.LAWFUL_BASES, "Basis") == [
        ("PA-0001", contract),
        ("PA-0002", contract),
        ("PA-0003", contract),
    ]
    assert child_rows(DAY2, layout.LAWFUL_BASES, "Basis") == [
        ("PA-0001", consent),
        ("PA-0003", contract),
        ("PA-0004", contract),
    ]
    assert child_rows(DAY1, layout.TRANSFERS, "Country") == [("PA-0001", "IN")]
    assert child_rows(DAY2, layout.TRANSFERS, "Country") == []
    assert child_rows(DAY2, layout.RETENTION_RULES, "Personal data category")[:2] == [
        ("PA-0001", ""),
        ("PA-0001", "New category"),
    ]


def test_export_as_of_lists_the_agreements_of_the_date(history):
    agreements = records(_sheets(DAY1)["Processors"], layout.PROCESSORS)
    assert [row["Reference"] for row in agreements] == ["DPA-0001"]


def test_export_as_of_states_the_date_in_the_header_block(history):
    rows = _sheets(DAY1)[layout.CONTROLLER.name]
    assert rows[2][:2] == ["As of", "2024-03-01"]


def test_export_as_of_for_a_controller(history):
    rows = records(
        read_xlsx(export_bytes(XLSX, as_of=DAY1, controller=history["company"]))[
            "Activities"
        ],
        layout.ACTIVITIES,
    )
    assert [row["Reference"] for row in rows] == ["PA-0001", "PA-0002", "PA-0003"]
