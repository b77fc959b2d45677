"""Import and export of the register's own records, from their admin lists."""

import datetime

import pytest
import tablib

from ropa.core.cells import (
    NOT_A_DATE,
    NOT_A_WHOLE_NUMBER,
)
from ropa.enums import ActivityStatus
from ropa.exchange import layout
from ropa.models import LawfulBasis
from ropa.resources import (
    COMPLETED_REVIEW_DUE_ON,
    InternationalTransferResource,
    LawfulBasisResource,
    ProcessingActivityResource,
    RetentionRuleResource,
    ReviewResource,
)
from tests.factories import (
    DataSubjectCategoryFactory,
    GroupCompanyFactory,
    JointControllerArrangementFactory,
    ProcessingActivityFactory,
    ReviewFactory,
    StaffUserFactory,
)
from tests.ropa.core.test_resources import (
    RESOURCES,
    _field_errors,
    dpo_member,
    export,
    logged_in,
    rows,
    url,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def dpo(db):
    return dpo_member()


@pytest.fixture
def dpo_member_client(dpo):
    return logged_in(dpo)


# ---------------------------------------------------------------------------
# Export: content
# ---------------------------------------------------------------------------


def test_export_writes_related_records_by_name_and_reference(dpo_member_client):
    owner = StaffUserFactory(username="kim")
    arrangement = JointControllerArrangementFactory(reference="JCA-0042")
    alpha = GroupCompanyFactory(name="Alpha AB")
    beta = GroupCompanyFactory(name="Beta AB")
    ProcessingActivityFactory(
        reference="PA-0042",
        owner=owner,
        joint_arrangement=arrangement,
        organisations=[beta, alpha],
        data_subject_categories=[DataSubjectCategoryFactory(name="Customers")],
    )

    (row,) = rows(export(dpo_member_client, "ropa.processingactivity"))

    assert row["reference"] == "PA-0042"
    assert row["organisations"] == "Alpha AB; Beta AB"
    assert row["data_subject_categories"] == "Customers"
    assert row["joint_arrangement"] == "JCA-0042"
    assert row["owner"] == "kim"


# ---------------------------------------------------------------------------
# Export: what the list shows
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        # The list opens on active records, and so does its export.
        ("", {"PA-7001", "PA-7002"}),
        ("?q=payroll", {"PA-7001"}),
        ("?status=all&q=payroll", {"PA-7001", "PA-7003"}),
        ("?status=retired", {"PA-7003"}),
        ("?business_function=HR", {"PA-7002"}),
    ],
)
def test_export_honours_the_lists_filters_and_search(
    dpo_member_client, params, expected
):
    ProcessingActivityFactory(reference="PA-7001", name="Payroll")
    ProcessingActivityFactory(reference="PA-7002", business_function="HR")
    ProcessingActivityFactory(
        reference="PA-7003",
        name="Payroll archive",
        status=ActivityStatus.RETIRED,
    )

    response = export(dpo_member_client, "ropa.processingactivity", params=params)

    assert {row["reference"] for row in rows(response)} == expected


def test_export_link_carries_the_lists_filters(dpo_member_client):
    ProcessingActivityFactory()

    response = dpo_member_client.get(
        url("ropa.processingactivity", "changelist"), {"q": "payroll"}
    )

    assert f"{url('ropa.processingactivity', 'export')}?q=payroll" in (
        response.content.decode()
    )


def test_import_with_an_unknown_name_in_a_key_column_is_a_field_error():
    resource = RESOURCES[LawfulBasis]
    dataset = tablib.Dataset(["PA-9999", "contract"], headers=["activity", "basis"])

    result = resource().import_data(dataset)

    (invalid,) = result.invalid_rows
    assert invalid.error_dict == {
        "activity": ["Unknown processing activity: 'PA-9999'."]
    }


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ("cycle", NOT_A_WHOLE_NUMBER.format(text="soon")),
        ("due_on", NOT_A_DATE.format(text="soon")),
    ],
)
def test_import_with_text_in_a_number_or_date_column_is_a_field_error(column, message):
    # Reviewed: a row whose cycle cannot be read is a new review of the
    # activity, which may not have two open ones (a second, other error).
    review = ReviewFactory(cycle=2025, completed=True)
    line = {
        "activity": review.activity.reference,
        "cycle": "2025",
        "due_on": "2025-12-31",
        column: "soon",
    }
    dataset = tablib.Dataset(list(line.values()), headers=list(line))

    result = ReviewResource().import_data(dataset)

    (invalid,) = result.invalid_rows
    assert invalid.error_dict == {column: [message]}


def test_import_never_signs_off_a_review(dpo):
    review = ReviewFactory(cycle=2025)
    dataset = tablib.Dataset(
        [
            review.activity.reference,
            "2025",
            "2025-12-31",
            "2025-11-30",
            "dpo-member",
            "confirmed",
            "Looked at it.",
        ],
        headers=[
            "activity",
            "cycle",
            "due_on",
            "completed_on",
            "reviewer",
            "outcome",
            "notes",
        ],
    )

    result = ReviewResource().import_data(dataset, user=dpo)

    assert not result.has_validation_errors()
    review.refresh_from_db()
    assert review.notes == "Looked at it."
    assert (review.completed_on, review.reviewer, review.outcome) == (None, None, "")


def test_import_keeps_a_completed_reviews_due_date(dpo):
    review = ReviewFactory(cycle=2025, completed=True)
    dataset = tablib.Dataset(
        [review.activity.reference, "2025", "2026-06-30"],
        headers=["activity", "cycle", "due_on"],
    )

    result = ReviewResource().import_data(dataset, user=dpo)

    (invalid,) = result.invalid_rows
    assert invalid.error_dict == {"due_on": [COMPLETED_REVIEW_DUE_ON]}
    review.refresh_from_db()
    assert review.due_on == datetime.date(2025, 12, 31)


@pytest.mark.parametrize(
    ("cell", "expected"), [("", None), ("yes", True), ("0", False)]
)
def test_import_reads_an_unknown_where_the_model_allows_it(cell, expected):
    activity = ProcessingActivityFactory(retention_policy_followed=True)
    dataset = tablib.Dataset(
        [activity.reference, cell], headers=["reference", "retention_policy_followed"]
    )

    result = ProcessingActivityResource().import_data(dataset)

    assert not result.has_validation_errors(), _field_errors(result)
    activity.refresh_from_db()
    assert activity.retention_policy_followed is expected


@pytest.mark.parametrize(
    ("resource", "sheet"),
    [
        (ProcessingActivityResource, layout.ACTIVITIES),
        (LawfulBasisResource, layout.LAWFUL_BASES),
        (InternationalTransferResource, layout.TRANSFERS),
        (RetentionRuleResource, layout.RETENTION_RULES),
    ],
    ids=lambda value: getattr(value, "name", ""),
)
def test_a_list_export_carries_the_register_files_fields_in_its_order(resource, sheet):
    # Declared once (ropa.exchange.layout): a new column reaches the list too.
    exported = tuple(field.column_name for field in resource().get_export_fields())

    assert exported == sheet.model_fields
