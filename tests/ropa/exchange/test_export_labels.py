"""
The register's XLSX as a person reads and edits it: labels, not codes (the
codes on the hidden For the import sheet), readable dates, the Art. 30 gaps,
formula-like text as typed; and the import that reads it back.
"""

import csv
import datetime
import io
import zipfile

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from ropa.completeness import RULES_BY_KEY, gaps_for
from ropa.core.resources import XLSX as ResourceXLSX
from ropa.core.rows import CHANGED, UNCHANGED
from ropa.enums import (
    ActivityStatus,
    LawfulBasisChoice,
    TransferMechanism,
)
from ropa.exchange import layout, reading, snapshot
from ropa.exchange.export import CSV, XLSX, export_register
from ropa.exchange.imports import import_register, plan_import
from ropa.models import ProcessingActivity
from ropa.resources import SecurityMeasureResource
from tests.factories import (
    GroupCompanyFactory,
    InternationalTransferFactory,
    JointControllerArrangementFactory,
    LawfulBasisFactory,
    OrganisationFactory,
    PersonalDataCategoryFactory,
    ProcessingActivityFactory,
    ProcessorAgreementFactory,
    RecipientFactory,
    RetentionRuleFactory,
    SecurityMeasureFactory,
)
from tests.ropa.exchange.test_snapshot import DAY1, DAY2, moment, on

pytestmark = pytest.mark.django_db

FILE_NAME = "register.xlsx"


@pytest.fixture
def exported(tmp_path):
    def export(**options):
        path = tmp_path / FILE_NAME
        with path.open("wb") as out:
            export_register(fmt=XLSX, out=out, **options)
        return path

    return export


def cells(path, sheet, reference, column):
    """The openpyxl cell of ``column`` in the first row of ``reference``."""
    worksheet = load_workbook(path)[sheet]
    header = [cell.value for cell in worksheet[1]]
    for row in worksheet.iter_rows(min_row=2):
        if row[0].value == reference:
            return row[header.index(column)]
    raise LookupError(reference)


def type_in(path, sheet, reference, column, value, *, quote_prefix=False):
    """Type ``value`` in a cell, as a spreadsheet saves what a person typed."""
    workbook = load_workbook(path)
    worksheet = workbook[sheet]
    header = [cell.value for cell in worksheet[1]]
    for row in worksheet.iter_rows(min_row=2):
        if row[0].value == reference:
            cell = row[header.index(column)]
            cell.value = value
            if quote_prefix:
                # What Excel saves for "'=1+1" typed in a cell.
                cell.data_type = "s"
                cell.quotePrefix = True
    workbook.save(path)


# ---------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------


def test_export_xlsx_writes_labels_and_keeps_the_codes_on_a_hidden_sheet(exported):
    activity = ProcessingActivityFactory(reference="PA-0901", lawful_basis=False)
    LawfulBasisFactory(activity=activity, legitimate_interests=True)

    path = exported()

    basis = cells(path, layout.LAWFUL_BASES.name, "PA-0901", "Basis")
    assert basis.value == "Legitimate interests (Art. 6(1)(f))"
    workbook = load_workbook(path)
    codes = workbook[layout.FOR_THE_IMPORT.name]
    assert codes.sheet_state == "hidden"
    rows = list(codes.iter_rows(values_only=True))
    assert rows[layout.CODES_HEADER_ROW - 1][:4] == layout.FOR_THE_IMPORT.headers
    assert (
        "Lawful bases",
        "Basis",
        "legitimate_interests",
        "Legitimate interests (Art. 6(1)(f))",
    ) in [row[:4] for row in rows]


def test_import_reads_a_label_typed_in_a_cell(sample_register, exported):
    path = exported()
    type_in(path, layout.ACTIVITIES.name, "PA-0003", "Status", "retired")

    plan = import_register(path, file_name=FILE_NAME)

    assert not plan.has_errors
    [row] = [row for row in plan.rows if row.action == CHANGED]
    assert (row.key, [change.column for change in row.changes]) == (
        "PA-0003",
        ["Status"],
    )
    status = ProcessingActivity.objects.get(reference="PA-0003").status
    assert status == ActivityStatus.RETIRED


def test_import_reads_a_label_typed_in_a_child_row(sample_register, exported):
    activity = ProcessingActivityFactory(
        reference="PA-0901", lawful_basis=LawfulBasisChoice.CONTRACT
    )
    path = exported()
    type_in(
        path,
        layout.LAWFUL_BASES.name,
        "PA-0901",
        "Basis",
        LawfulBasisChoice.VITAL_INTERESTS.label,
    )

    plan = import_register(path, file_name=FILE_NAME)

    assert not plan.has_errors
    assert list(activity.lawful_bases.values_list("basis", flat=True)) == [
        LawfulBasisChoice.VITAL_INTERESTS
    ]


def test_import_refuses_an_unknown_label_naming_row_column_and_labels(
    sample_register, exported
):
    InternationalTransferFactory(activity__reference="PA-0901")
    path = exported()
    type_in(path, layout.TRANSFERS.name, "PA-0901", "Mechanism", "Handshake")
    row_number = next(
        cell.row
        for cell in load_workbook(path)[layout.TRANSFERS.name]["A"]
        if cell.value == "PA-0901"
    )

    plan = plan_import(path, file_name=FILE_NAME)

    [error] = plan.errors
    assert (error.sheet, error.row, error.column) == (
        layout.TRANSFERS.name,
        row_number,
        "Mechanism",
    )
    assert error.reason == reading.NOT_A_CHOICE.format(
        text="Handshake", allowed="; ".join(TransferMechanism.labels)
    )


def test_import_reads_a_label_reworded_since_the_export(sample_register, exported):
    # The file was written when "Retired" read "Withdrawn": its For the import
    # sheet says so, and the cells show the old wording.
    path = exported()
    workbook = load_workbook(path)
    for row in workbook[layout.FOR_THE_IMPORT.name].iter_rows():
        if [cell.value for cell in row[:3]] == ["Activities", "Status", "retired"]:
            row[3].value = "Withdrawn"
    workbook.save(path)
    type_in(path, layout.ACTIVITIES.name, "PA-0004", "Status", "Withdrawn")

    import_register(path, file_name=FILE_NAME)

    status = ProcessingActivity.objects.get(reference="PA-0004").status
    assert status == ActivityStatus.RETIRED


def test_import_ignores_the_gaps_column(sample_register, exported):
    path = exported()
    type_in(path, layout.ACTIVITIES.name, "PA-0002", "Art. 30 gaps", "None at all.")

    plan = plan_import(path, file_name=FILE_NAME)

    assert not plan.has_errors
    assert {row.action for row in plan.rows} == {UNCHANGED}


# ---------------------------------------------------------------------------
# Formula-like text: as typed, both ways
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["=1+1", "'quoted", "''twice", "'=1", " =1", "\uff1d1", "+46 8 123"]
)
def test_import_reads_a_quote_prefixed_cell_as_its_text(
    sample_register, exported, text
):
    ProcessingActivityFactory(reference="PA-0900", purpose=text)
    path = exported()
    cell = cells(path, layout.ACTIVITIES.name, "PA-0900", "Purpose")
    assert (cell.value, cell.quotePrefix) == (text, True)

    plan = plan_import(path, file_name=FILE_NAME)

    assert not plan.has_errors
    assert not plan.has_writes


def test_import_takes_formula_like_text_typed_in_a_cell(sample_register, exported):
    path = exported()
    type_in(
        path,
        layout.ACTIVITIES.name,
        "PA-0002",
        "Business function",
        "=Sales",
        quote_prefix=True,
    )
    type_in(
        path, layout.ACTIVITIES.name, "PA-0003", "Business function", "'s-Hertogenbosch"
    )

    import_register(path, file_name=FILE_NAME)

    functions = dict(
        ProcessingActivity.objects.filter(
            reference__in=("PA-0002", "PA-0003")
        ).values_list("reference", "business_function")
    )
    assert functions == {"PA-0002": "=Sales", "PA-0003": "'s-Hertogenbosch"}


def test_import_removes_the_apostrophe_of_a_file_exported_before_the_codes(
    sample_register, exported
):
    # Such a file wrote "'=1+1" for "=1+1", codes for choices, and the moment
    # of its export in the header block.
    ProcessingActivityFactory(reference="PA-0900", purpose="x")
    path = exported()
    workbook = load_workbook(path)
    moment = workbook[layout.FOR_THE_IMPORT.name]["B2"].value
    del workbook[layout.FOR_THE_IMPORT.name]
    workbook[layout.CONTROLLER.name]["B4"] = moment
    activities = workbook[layout.ACTIVITIES.name]
    header = [cell.value for cell in activities[1]]
    for row in activities.iter_rows(min_row=2):
        if row[0].value == "PA-0900":
            row[header.index("Purpose")].value = "'=1+1"
            row[header.index("Status")].value = "active"
    workbook.save(path)

    import_register(path, file_name=FILE_NAME)

    activity = ProcessingActivity.objects.get(reference="PA-0900")
    assert (activity.purpose, activity.status) == ("=1+1", ActivityStatus.ACTIVE)


# ---------------------------------------------------------------------------
# Dates and the exact moment of the export
# ---------------------------------------------------------------------------


def test_export_xlsx_dates_are_date_cells(exported):
    activity = ProcessingActivityFactory(reference="PA-0901")
    ProcessorAgreementFactory(
        reference="DPA-0901", signed_on=datetime.date(2024, 1, 15)
    )

    path = exported()

    created = cells(path, layout.ACTIVITIES.name, "PA-0901", "Created at")
    assert created.is_date
    assert created.number_format == "yyyy-mm-dd hh:mm"
    local = timezone.localtime(activity.created_at).replace(tzinfo=None)
    assert abs(created.value - local) < datetime.timedelta(milliseconds=1)
    signed = cells(path, layout.PROCESSORS.name, "DPA-0901", "Signed on")
    assert (signed.value, signed.number_format) == (
        datetime.datetime(2024, 1, 15),  # noqa: DTZ001 (a date cell is naive)
        "yyyy-mm-dd",
    )


def test_export_keeps_the_exact_moment_for_the_import(exported):
    before = timezone.now()

    path = exported()

    workbook = load_workbook(path)
    shown = workbook[layout.CONTROLLER.name]["B4"]
    exact = layout.read_exported_at(workbook[layout.FOR_THE_IMPORT.name]["B2"].value)
    assert before <= exact <= timezone.now()
    assert shown.is_date
    assert shown.number_format == "yyyy-mm-dd hh:mm"
    local = timezone.localtime(exact).replace(tzinfo=None)
    assert abs(shown.value - local) < datetime.timedelta(milliseconds=1)


# ---------------------------------------------------------------------------
# Art. 30 gaps
# ---------------------------------------------------------------------------


def test_gap_tests_are_the_completeness_rules():
    assert set(snapshot.GAP_TESTS) == set(RULES_BY_KEY)


@pytest.fixture
def register_with_every_gap():
    """Activities that, together, lack every element a rule looks for."""
    outside = OrganisationFactory(name="Outside Ltd", country="IN", email="", phone="")
    # References of their own: the module's sample register may be loaded.
    ProcessingActivityFactory(
        reference="PA-0951", bare=True, purpose="", organisations=[outside]
    )
    ProcessingActivityFactory(reference="PA-0952", bare=True, processor_record=True)
    lonely = JointControllerArrangementFactory(
        reference="JCA-0951", parties=[GroupCompanyFactory()]
    )
    special = PersonalDataCategoryFactory(special=True)
    criminal = PersonalDataCategoryFactory(criminal=True)
    activity = ProcessingActivityFactory(
        reference="PA-0953",
        joint_arrangement=lonely,
        personal_data_categories=[special, criminal],
        recipients=[RecipientFactory(outside_eea=True, country="US")],
        lawful_basis=False,
        retention=False,
    )
    LawfulBasisFactory(
        activity=activity, legitimate_interests=True, legitimate_interest=""
    )
    RetentionRuleFactory(activity=activity, personal_data_category=special)
    InternationalTransferFactory(
        activity=activity, country="IN", mechanism=TransferMechanism.ADEQUACY
    )
    InternationalTransferFactory(
        activity=activity,
        country="BR",
        mechanism=TransferMechanism.COMPELLING_INTERESTS,
        safeguards_documentation="",
    )
    # Canada's decision covers PIPEDA organisations only; no scope recorded.
    InternationalTransferFactory(
        activity=activity, country="CA", mechanism=TransferMechanism.ADEQUACY
    )
    activity.recipients.add(RecipientFactory(country=""))
    unreachable = {"email": "", "phone": ""}
    ProcessingActivityFactory(
        reference="PA-0954",
        organisations=[
            OrganisationFactory(
                outside_eea=True, representative=OrganisationFactory(**unreachable)
            )
        ],
        joint_arrangement=JointControllerArrangementFactory(
            reference="JCA-0952",
            parties=[GroupCompanyFactory(), OrganisationFactory(**unreachable)],
        ),
    )
    ProcessingActivityFactory(
        reference="PA-0955",
        processor_record=True,
        client_controllers=[OrganisationFactory(**unreachable)],
    )
    SecurityMeasureFactory()


@pytest.mark.parametrize("as_of", [False, True])
def test_export_gaps_column_lists_what_completeness_finds(
    register_with_every_gap, as_of
):
    options = {"as_of": timezone.localdate()} if as_of else {}
    out = io.BytesIO()
    export_register(fmt=XLSX, out=out, **options)
    worksheet = load_workbook(out)[layout.ACTIVITIES.name]
    header = [cell.value for cell in worksheet[1]]
    exported = {
        row[0]: row[header.index("Art. 30 gaps")] or ""
        for row in worksheet.iter_rows(min_row=2, values_only=True)
    }

    expected = {
        activity.reference: "\n".join(str(gap) for gap in gaps_for(activity))
        for activity in ProcessingActivity.objects.all()
    }
    assert exported == expected
    found = {
        gap.key
        for activity in ProcessingActivity.objects.all()
        for gap in gaps_for(activity)
    }
    assert found == set(RULES_BY_KEY)


def test_export_as_of_shows_the_gaps_of_that_day(exported):
    with on(moment(DAY1)):
        activity = ProcessingActivityFactory(reference="PA-0901", recipients=[])
    with on(moment(DAY2)):
        activity.recipients.add(RecipientFactory())

    then = cells(
        exported(as_of=DAY1), layout.ACTIVITIES.name, "PA-0901", "Art. 30 gaps"
    )
    now = cells(exported(), layout.ACTIVITIES.name, "PA-0901", "Art. 30 gaps")

    assert then.value == str(RULES_BY_KEY["no_recipients"].gap("controller"))
    assert now.value is None


def test_export_csv_has_the_labels_and_gaps_of_the_xlsx():
    ProcessingActivityFactory(reference="PA-0901", recipients=[])
    out = io.BytesIO()
    export_register(fmt=CSV, out=out)

    with zipfile.ZipFile(out) as archive:
        text = archive.read(layout.ACTIVITIES.filename).decode(layout.CSV_ENCODING)
        assert layout.FOR_THE_IMPORT.filename in archive.namelist()
    [row] = [
        row
        for row in csv.DictReader(io.StringIO(text))
        if row["Reference"] == "PA-0901"
    ]
    assert row["Status"] == "Active"
    assert row["Art. 30 gaps"].startswith("Art. 30(1)(d) ")
    assert row["Created at"][:10] == timezone.localdate().isoformat()


# ---------------------------------------------------------------------------
# The per-model XLSX of the admin lists
# ---------------------------------------------------------------------------


def test_resource_xlsx_writes_formula_like_text_as_quote_prefixed_text():
    SecurityMeasureFactory(name="=Firewall", description="'s-Hertogenbosch office")
    SecurityMeasureFactory(name="Plain")
    dataset = SecurityMeasureResource().export()

    data = ResourceXLSX().export_data(dataset)

    worksheet = load_workbook(io.BytesIO(data)).active
    header = [cell.value for cell in worksheet[1]]
    by_name = {row[0].value: row for row in worksheet.iter_rows(min_row=2)}
    quoted = by_name["=Firewall"][0]
    assert (quoted.data_type, quoted.quotePrefix) == ("s", True)
    description = by_name["=Firewall"][header.index("description")]
    assert description.value == "'s-Hertogenbosch office"
    assert description.quotePrefix
    assert not by_name["Plain"][0].quotePrefix


def test_resource_xlsx_round_trip_changes_nothing():
    SecurityMeasureFactory(name="=Firewall", description="'quoted")
    data = ResourceXLSX().export_data(SecurityMeasureResource().export())

    dataset = ResourceXLSX().create_dataset(data)
    result = SecurityMeasureResource().import_data(dataset, dry_run=True)

    assert not result.has_errors()
    assert not result.has_validation_errors()
    assert {row.import_type for row in result.rows} == {"skip"}
