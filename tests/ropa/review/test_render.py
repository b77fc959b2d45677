import csv
import datetime
import io
import json

import pytest
from django.utils import timezone

from ropa.completeness import Gap
from ropa.models import Recipient
from ropa.review.changes import (
    NEVER_REVIEWED,
    ActivityChanges,
    Edit,
    FieldChange,
    LinkChange,
    Ref,
    RowEvent,
    ValueChange,
)
from ropa.review.render import (
    CSV_COLUMNS,
    render_csv,
    render_json,
    render_text,
)
from ropa.review.report import (
    EXPIRED,
    TITLES,
    AgreementRow,
    GapRow,
    Report,
    RetentionRow,
    ReviewRow,
    build_report,
)
from tests.factories import ProcessingActivityFactory, ReviewFactory

ON = datetime.date(2026, 3, 1)
# 10:30:15 in Stockholm, where the reports below are rendered.
SIGNED = datetime.datetime(2025, 2, 1, 9, 30, 15, 123456, tzinfo=datetime.UTC)
EDITED = datetime.datetime(2026, 2, 10, 14, 5, 9, tzinfo=datetime.UTC)


def report_on(on=ON, cycle=None):
    """The report of a run on ``on`` that opened nothing."""
    return build_report(on=on, cycle=cycle or on.year, opened=[])


@pytest.fixture
def stockholm():
    with timezone.override("Europe/Stockholm"):
        yield


def a_report():
    """A report built by hand: every kind of row, no database."""
    return Report(
        cycle=2026,
        as_of=ON,
        dry_run=False,
        review_interval_days=365,
        reviews_opened=(),
        reviews_overdue=(
            ReviewRow(
                reference="PA-0001",
                activity="Orders",
                cycle=2026,
                due_on=datetime.date(2026, 2, 1),
                days_overdue=28,
            ),
        ),
        reviews_due=(
            ReviewRow(
                reference="PA-0002",
                activity="=Payroll",
                cycle=2026,
                due_on=ON,
                days_overdue=0,
            ),
        ),
        art30_gaps=(
            GapRow(
                reference="PA-0002",
                activity="=Payroll",
                missing=(
                    Gap(
                        key="no_recipient",
                        element="30(1)(d)",
                        title="categories of recipients",
                        reason="no recipient is recorded",
                    ),
                ),
            ),
        ),
        processor_agreements=(
            AgreementRow(
                reference="DPA-0001",
                processor="Mailer AB",
                controller="Group AB",
                expires_on=datetime.date(2026, 2, 20),
                status=EXPIRED,
                days=-9,
                activities=("PA-0001", "PA-0002"),
            ),
        ),
        joint_arrangements=(),
        retention_rules=(
            RetentionRow(
                reference="PA-0001",
                activity="Orders",
                data="all data",
                criteria="TBD",
                reasons=("no period, and the criteria say nothing",),
            ),
        ),
        high_risk_without_dpia=(),
        changes=(
            ActivityChanges(
                reference="PA-0001",
                activity="Orders",
                last_reviewed_on=datetime.date(2025, 2, 1),
                since=SIGNED,
                note="",
                fields=(
                    FieldChange(
                        field="name",
                        label="name",
                        old="Order",
                        new="Orders",
                        edits=(Edit(by="dpo", at=EDITED, reason="Renamed"),),
                    ),
                ),
                links=(
                    LinkChange(
                        field="recipients",
                        label="recipients",
                        added=(Ref(Recipient, 7, "Courier AB"),),
                        removed=(),
                        edits=(Edit(by=None, at=EDITED, reason=""),),
                    ),
                ),
                rows=(
                    RowEvent(
                        model="retention rule",
                        row="all data",
                        action="changed",
                        changes=(
                            ValueChange(
                                field="period", label="period", old="3", new="7"
                            ),
                        ),
                        by="dpo",
                        at=EDITED,
                        reason="Longer",
                    ),
                ),
            ),
            ActivityChanges(
                reference="PA-0002",
                activity="=Payroll",
                last_reviewed_on=None,
                since=None,
                note=NEVER_REVIEWED,
            ),
        ),
    )


def test_render_text_of_a_report(stockholm):
    assert render_text(a_report()) == "\n".join(
        [
            "Yearly review of the register, 2026 cycle, as of 2026-03-01 "
            "(review interval 365 days)",
            "",
            "Reviews opened (0)",
            "  None.",
            "",
            "Reviews overdue (1)",
            "  PA-0001 Orders: 2026 cycle, due 2026-02-01, 28 days overdue",
            "",
            "Reviews open, not overdue (1)",
            "  PA-0002 =Payroll: 2026 cycle, due 2026-03-01",
            "",
            "Activities with Art. 30 gaps (1)",
            "  PA-0002 =Payroll",
            "    Art. 30(1)(d) categories of recipients: no recipient is recorded",
            "",
            "Processor agreements expired or expiring within 60 days (1)",
            "  DPA-0001 Mailer AB for Group AB: expired 2026-02-20; "
            "used by PA-0001, PA-0002",
            "",
            "Joint controller arrangements due for review or expiring within 60 "
            "days (0)",
            "  None.",
            "",
            "Retention rules without a period or criteria (1)",
            "  PA-0001 Orders, all data: no period, and the criteria say nothing",
            "",
            "High-risk activities without a completed DPIA (0)",
            "  None.",
            "",
            "Changes since the last completed review (2 activities)",
            "  PA-0001 Orders (last reviewed 2025-02-01)",
            '    name: "Order" → "Orders" (dpo, 2026-02-10 15:05)',
            "    recipients: added Courier AB (unknown user, 2026-02-10 15:05)",
            "    retention rule 'all data': changed period (dpo, 2026-02-10 15:05)",
            "  PA-0002 =Payroll",
            "    never reviewed: the whole record is to be reviewed",
            "",
            "Reviews 0 opened, 1 overdue, 1 open. Register needs attention: "
            "1 review overdue; 1 review due today; 1 activity with Art. 30 gaps; "
            "1 processor agreement expired; "
            "1 retention rule without a period or criteria.",
        ]
    )


def test_render_csv_of_a_report(stockholm):
    assert render_csv(a_report()) == (
        "section,reference,activity,item,detail,date,by\r\n"
        "reviews_overdue,PA-0001,Orders,2026 cycle,28 days overdue,2026-02-01,\r\n"
        "reviews_due,PA-0002,'=Payroll,2026 cycle,,2026-03-01,\r\n"
        "art30_gaps,PA-0002,'=Payroll,Art. 30(1)(d) categories of recipients,"
        "no recipient is recorded,,\r\n"
        "processor_agreements,DPA-0001,PA-0001; PA-0002,Mailer AB for Group AB,"
        "expired,2026-02-20,\r\n"
        "retention_rules,PA-0001,Orders,all data,"
        '"no period, and the criteria say nothing",,\r\n'
        "changes,PA-0001,Orders,name,Order → Orders,2026-02-10T15:05:09+01:00,dpo\r\n"
        "changes,PA-0001,Orders,recipients,added: Courier AB,"
        "2026-02-10T15:05:09+01:00,\r\n"
        "changes,PA-0001,Orders,retention rule: all data,changed period,"
        "2026-02-10T15:05:09+01:00,dpo\r\n"
        "changes,PA-0002,'=Payroll,,never reviewed,,\r\n"
    )


def test_render_json_of_a_report(stockholm):
    data = json.loads(render_json(a_report()))

    assert list(data) == [
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
    ]
    assert data["as_of"] == "2026-03-01"
    assert data["reviews_overdue"] == [
        {
            "reference": "PA-0001",
            "activity": "Orders",
            "cycle": 2026,
            "due_on": "2026-02-01",
            "days_overdue": 28,
        }
    ]
    # A gap's key names a rule inside the register; readers get the element.
    assert data["art30_gaps"][0]["missing"] == [
        {
            "element": "30(1)(d)",
            "title": "categories of recipients",
            "reason": "no recipient is recorded",
        }
    ]
    assert data["processor_agreements"][0]["expires_on"] == "2026-02-20"
    reviewed, never = data["changes"]
    assert reviewed == {
        "reference": "PA-0001",
        "activity": "Orders",
        "last_reviewed_on": "2025-02-01",
        "since": "2025-02-01T10:30:15+01:00",
        "note": "",
        "fields": [
            {
                "field": "name",
                "label": "name",
                "old": "Order",
                "new": "Orders",
                "edits": [
                    {
                        "by": "dpo",
                        "at": "2026-02-10T15:05:09+01:00",
                        "reason": "Renamed",
                    }
                ],
            }
        ],
        "links": [
            {
                "field": "recipients",
                "label": "recipients",
                "added": ["Courier AB"],
                "removed": [],
                "edits": [
                    {"by": None, "at": "2026-02-10T15:05:09+01:00", "reason": ""}
                ],
            }
        ],
        "rows": [
            {
                "model": "retention rule",
                "row": "all data",
                "action": "changed",
                "changes": [
                    {"field": "period", "label": "period", "old": "3", "new": "7"}
                ],
                "by": "dpo",
                "at": "2026-02-10T15:05:09+01:00",
                "reason": "Longer",
            }
        ],
    }
    assert (never["last_reviewed_on"], never["since"]) == (None, None)
    assert data["check"] == {
        "passed": False,
        "failures": [
            "1 review overdue",
            "1 review due today",
            "1 activity with Art. 30 gaps",
            "1 processor agreement expired",
            "1 retention rule without a period or criteria",
        ],
    }


def test_render_json_twice_gives_the_same_bytes(stockholm):
    assert render_json(a_report()).encode() == render_json(a_report()).encode()


def test_render_json_round_trip_keeps_iso_dates(stockholm):
    report = a_report()

    data = json.loads(render_json(report))

    assert datetime.date.fromisoformat(data["as_of"]) == report.as_of
    (overdue,) = report.reviews_overdue
    assert (
        datetime.date.fromisoformat(data["reviews_overdue"][0]["due_on"])
        == overdue.due_on
    )
    entry = report.changes[0]
    assert (
        datetime.date.fromisoformat(data["changes"][0]["last_reviewed_on"])
        == entry.last_reviewed_on
    )
    # Moments to the second, in local time: the same instant.
    since = datetime.datetime.fromisoformat(data["changes"][0]["since"])
    assert since == entry.since.replace(microsecond=0)
    at = datetime.datetime.fromisoformat(
        data["changes"][0]["fields"][0]["edits"][0]["at"]
    )
    assert at == EDITED


# ---------------------------------------------------------------------------
# Reports from the register
# ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_render_json_is_valid_json_with_every_section():
    ReviewFactory(cycle=2026, due_on=datetime.date(2026, 2, 1))

    data = json.loads(render_json(report_on()))

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


@pytest.mark.django_db
def test_render_json_of_the_same_register_twice_gives_the_same_bytes():
    ProcessingActivityFactory.create_batch(2, lawful_basis=False)
    ReviewFactory(cycle=2026, due_on=datetime.date(2026, 2, 1))
    ReviewFactory(cycle=2026, due_on=ON)

    first, second = report_on(), report_on()

    assert first == second
    assert render_json(first).encode() == render_json(second).encode()


@pytest.mark.django_db
def test_render_text_shows_every_section_and_the_result():
    overdue = ReviewFactory(cycle=2026, due_on=datetime.date(2026, 2, 1))

    text = render_text(report_on())

    for title in TITLES.values():
        assert title in text
    assert (
        f"{overdue.activity.reference} {overdue.activity.name}: 2026 cycle, due "
        in (text)
    )
    assert text.endswith("Register needs attention: 1 review overdue.")


@pytest.mark.django_db
@pytest.mark.parametrize("prefix", ["=", "+", "-", "@"])
def test_render_csv_neutralises_formula_cells(prefix):
    activity = ProcessingActivityFactory(name=f"{prefix}HYPERLINK(1)")
    ReviewFactory(activity=activity, cycle=2026, due_on=datetime.date(2026, 2, 1))

    rows = list(csv.reader(io.StringIO(render_csv(report_on()))))

    assert rows[0] == list(CSV_COLUMNS)
    overdue = [row for row in rows if row[0] == "reviews_overdue"]
    assert overdue[0][2] == f"'{prefix}HYPERLINK(1)"
