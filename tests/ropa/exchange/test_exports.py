import csv
import datetime
import io
import re
import tempfile
import zipfile

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import models
from django.urls import reverse
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from openpyxl import load_workbook

from controllers.enums import JointScope
from controllers.models import Organisation
from ropa.completeness import gaps_for
from ropa.core.cells import split_list
from ropa.core.spreadsheet import CELL_LIMIT, TOO_LONG_FOR_A_CELL, validate_cell_length
from ropa.enums import (
    ActivityRole,
    ActivityStatus,
    DPIAStatus,
    LawfulBasisChoice,
    Profiling,
    RecipientType,
    RetentionAction,
    RetentionUnit,
    SpecialCategoryCondition,
    TransferMechanism,
)
from ropa.exchange import ico_layout, layout, xlsx
from ropa.exchange.export import (
    CSV,
    EXPORT_FORMATS,
    ICO,
    XLSX,
    ExportError,
    export_register,
)
from ropa.exchange.layout import from_cell, name_list, to_cell, to_cells
from subjects.models import DataSubjectCategory
from tests.admin_pages import form_data
from tests.factories import (
    DataProtectionOfficerFactory,
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
    UserFactory,
)
from tests.hostile import field_errors
from tests.ropa.exchange import ico_files

pytestmark = pytest.mark.django_db

FORMULA_PREFIXES = ("=", "==", "+", "-", "@", "\t", "\r")
# A formula behind what a reader may not see (STACK.md), or the apostrophe a
# spreadsheet takes for the mark of text.
HIDDEN_FORMULA_PREFIXES = (
    " =",
    "\u00a0=",
    "\u200b=",
    "\ufeff+",
    "\u3000@",
    "\uff1d",
    '"=',
    "'",
    "'=",
)

# ---------------------------------------------------------------------------
# Reading exports back (used by the command and admin tests too)
# ---------------------------------------------------------------------------


def export_bytes(fmt=XLSX, **options):
    out = io.BytesIO()
    export_register(fmt=fmt, out=out, **options)
    return out.getvalue()


def _text(cell):
    """A cell's value as a spreadsheet shows it: dates in their number format."""
    value = cell.value
    if value is None:
        return ""
    if cell.is_date:
        shown = "%Y-%m-%d %H:%M" if "h" in cell.number_format else "%Y-%m-%d"
        return value.strftime(shown)
    return str(value)


def read_xlsx(data):
    """Sheet name -> rows of cell values as text, as a reader sees them."""
    workbook = load_workbook(io.BytesIO(data))
    return {
        worksheet.title: [
            [_text(cell) for cell in row] for row in worksheet.iter_rows()
        ]
        for worksheet in workbook.worksheets
    }


def read_zip(data):
    """CSV file name -> rows of cells."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            name: list(
                csv.reader(io.StringIO(archive.read(name).decode(layout.CSV_ENCODING)))
            )
            for name in archive.namelist()
        }


def records(rows, sheet):
    """The rows below the header of ``sheet`` as dicts keyed by column."""
    header, *body = rows
    assert tuple(header[: len(sheet.headers)]) == sheet.headers
    return [dict(zip(sheet.headers, row, strict=False)) for row in body]


def xlsx_records(sheet=layout.ACTIVITIES, fmt=XLSX, **options):
    return records(read_xlsx(export_bytes(fmt, **options))[sheet.name], sheet)


def csv_records(sheet=layout.ACTIVITIES, **options):
    return records(read_zip(export_bytes(CSV, **options))[sheet.filename], sheet)


def by_reference(rows):
    return {row["Reference"]: row for row in rows}


# ---------------------------------------------------------------------------
# The layout's helpers
# ---------------------------------------------------------------------------


def test_ico_columns_follow_the_ico_template_in_order():
    # The template's 30 headings, typed out in the builder of filled templates.
    assert ico_layout.HEADERS == ico_files.HEADINGS


def test_sheets_keys_and_read_only_columns_are_columns_of_their_sheet():
    for sheet in layout.SHEETS:
        assert set(sheet.key) <= set(sheet.headers), sheet.name
        assert set(sheet.read_only) <= set(sheet.headers), sheet.name
        assert len(set(sheet.headers)) == len(sheet.headers), sheet.name


@pytest.mark.parametrize(
    "names",
    [
        ["Customers", "Suppliers"],
        ["Name; with a semicolon", "Back\\slash", "Both \\;"],
        ["Trailing backslash\\", "x"],
    ],
)
def test_name_list_round_trips_through_split_list(names):
    assert split_list(name_list(names)) == sorted(names)


def test_name_list_sorts_and_escapes_semicolons():
    assert name_list(["b", "a;c"]) == "a\\;c; b"


def test_split_list_of_an_empty_cell_is_no_names():
    assert split_list("") == []


@pytest.mark.parametrize(
    "value", ["=1+1", "'quoted", "''twice", "plain", "+46 8 123", "", "'=x"]
)
def test_from_cell_undoes_to_cell(value):
    assert from_cell(to_cell(value)) == value


def test_to_cells_is_to_cell_of_each_value():
    values = ["=1", "'x", "plain", 3, None, "", "\tx", "\r=1", "a=1", "1-2"]
    values += [prefix + "x" for prefix in FORMULA_PREFIXES]
    assert to_cells(values) == [to_cell(value) for value in values]


@settings(derandomize=True, database=None)
@given(st.one_of(st.text(), st.integers(), st.none()))
def test_to_cells_agrees_with_to_cell_on_any_value(value):
    assert to_cells([value]) == [to_cell(value)]


def test_to_cell_leaves_numbers_and_writes_none_as_empty():
    assert to_cell(3) == 3
    assert to_cell(None) == ""


# ---------------------------------------------------------------------------
# XLSX: the register's sheets
# ---------------------------------------------------------------------------


def test_export_xlsx_has_the_register_sheets_in_order_with_their_headers():
    ProcessingActivityFactory()
    data = export_bytes()
    workbook = read_xlsx(data)
    assert list(workbook) == [
        *(sheet.name for sheet in layout.SHEETS),
        layout.FOR_THE_IMPORT.name,
    ]
    for sheet in layout.SHEETS[1:]:
        assert tuple(workbook[sheet.name][0]) == sheet.headers
    states = {
        sheet.title: sheet.sheet_state
        for sheet in load_workbook(io.BytesIO(data)).worksheets
    }
    assert states.pop(layout.FOR_THE_IMPORT.name) == "hidden"
    assert set(states.values()) == {"visible"}


@pytest.fixture
def full_activity():
    """A controller record with every Art. 30 element and extra filled."""
    representative = OrganisationFactory(name="EU Representative GmbH", country="DE")
    controller = GroupCompanyFactory(
        name="Acme AB",
        dpo=DataProtectionOfficerFactory(name="Dana DPO", email="dpo@acme.example"),
        representative=representative,
    )
    partner = GroupCompanyFactory(name="Acme Norge AS")
    arrangement = JointControllerArrangementFactory(
        reference="JCA-0042",
        parties=[controller, partner],
        joint_scope=JointScope.ALWAYS,
        contact_point="privacy@acme.example",
    )
    agreement = ProcessorAgreementFactory(
        reference="DPA-0007",
        controller=controller,
        processor=OrganisationFactory(name="Hosting Ltd"),
        document_reference="contracts/dpa-0007.pdf",
        sub_processors=[OrganisationFactory(name="Backup Ltd")],
    )
    activity = ProcessingActivityFactory(
        reference="PA-0100",
        name="Customer support",
        purpose="To answer customers' questions.",
        business_function="Support",
        owner=UserFactory(username="owner1"),
        organisations=[controller, partner],
        joint_arrangement=arrangement,
        joint_processing="answer support requests",
        data_subject_categories=[],
        personal_data_categories=[
            PersonalDataCategoryFactory(name="Contact details"),
            PersonalDataCategoryFactory(name="Health data", special=True),
        ],
        recipients=[RecipientFactory(name="Courier")],
        processor_agreements=[agreement],
        security_measures=[SecurityMeasureFactory(name="Encryption")],
        security_description="Encrypted at rest.",
        data_source="The customer.",
        systems="Helpdesk",
        data_location="EU",
        profiling=Profiling.PROFILING,
        profiling_description="Tickets are routed by topic.",
        profiling_in_notice=True,
        dpia_required=True,
        dpia_status=DPIAStatus.IN_PROGRESS,
        dpia_reference="DPIA-1",
        rights_information="Access, rectification.",
        opt_out_information="Write to us.",
        consent_record_reference="consents/1",
        breach_reference="breaches/1",
        retention_policy_reference="policy/1",
        retention_policy_followed=False,
        retention_policy_deviation="Migration pending.",
        in_notice=False,
        notice_order=4,
        notice_title="Support",
        notice_text="We answer you.",
        lawful_basis=LawfulBasisChoice.CONTRACT,
        retention=True,
    )
    LawfulBasisFactory(
        activity=activity,
        legitimate_interests=True,
        special_category_condition=SpecialCategoryCondition.EXPLICIT_CONSENT,
        criminal_data_authority="Act 2018:1",
    )
    health = activity.personal_data_categories.get(name="Health data")
    RetentionRuleFactory(
        activity=activity,
        personal_data_category=health,
        period=6,
        period_unit=RetentionUnit.MONTHS,
        trigger="after the ticket closes",
        end_action=RetentionAction.ANONYMISE,
        legal_reference="Law 1",
    )
    InternationalTransferFactory(
        activity=activity,
        country="IN",
        mechanism=TransferMechanism.COMPELLING_INTERESTS,
        safeguards_documentation="Assessment on file.",
    )
    InternationalTransferFactory(activity=activity, to_international_organisation=True)
    return activity


def test_export_xlsx_activity_row_holds_every_element(full_activity):
    [row] = xlsx_records()
    activity = full_activity
    categories = sorted(c.name for c in activity.personal_data_categories.all())
    assert row == {
        **row,
        "Reference": "PA-0100",
        "Name": "Customer support",
        "Status": "Active",
        "Record type": "Controller record (Art. 30(1))",
        "Responsible organisations": "Acme AB; Acme Norge AS",
        "Joint controller arrangement": "JCA-0042",
        "Joint processing": "answer support requests",
        "Client controllers": "",
        "Purpose": "To answer customers' questions.",
        "Business function": "Support",
        "Owner": "owner1",
        "Data subject categories": "",
        "Personal data categories": "; ".join(categories),
        "Source of the data": "The customer.",
        "Recipients": "Courier",
        "Processor agreements": "DPA-0007",
        "Security measures": "Encryption",
        "General description of security measures": "Encrypted at rest.",
        "Systems and software": "Helpdesk",
        "Location of the data": "EU",
        "Profiling": "Profiling, without automated decisions (Art. 4(4))",
        "Profiling and automated decision-making": "Tickets are routed by topic.",
        "State profiling in the notice": "yes",
        "DPIA required": "yes",
        "DPIA progress": "In progress",
        "Link to DPIA": "DPIA-1",
        "Rights available": "Access, rectification.",
        "Opt-out information": "Write to us.",
        "Link to record of consent": "consents/1",
        "Link to personal data breach records": "breaches/1",
        "Link to retention and erasure policy": "policy/1",
        "Retained and erased according to the policy": "no",
        "Reason for not following the policy": "Migration pending.",
        "In the privacy notice": "no",
        "Notice order": "4",
        "Notice title": "Support",
        "Notice text": "We answer you.",
        "Lawful bases": (
            "Contract (Art. 6(1)(b)); Legitimate interests (Art. 6(1)(f))"
        ),
        "Transfer destinations": "IN; World Health Organization",
        "Retention": (
            "All data: 3 years after the end of the contract, then erase; "
            "Health data: 6 months after the ticket closes, then anonymise"
        ),
        # The fixture leaves out the data subjects: a gap (Art. 30(1)(c)).
        "Art. 30 gaps": "\n".join(str(gap) for gap in gaps_for(activity)),
    }
    assert row["Art. 30 gaps"].startswith("Art. 30(1)(c) ")
    created = timezone.localtime(activity.created_at)
    assert row["Created at"] == created.strftime("%Y-%m-%d %H:%M")


def test_export_xlsx_writes_an_unknown_boolean_as_empty():
    ProcessingActivityFactory(retention_policy_followed=None)
    [row] = xlsx_records()
    assert row["Retained and erased according to the policy"] == ""


def test_export_xlsx_writes_numbers_as_numbers():
    ProcessingActivityFactory(notice_order=7)
    workbook = load_workbook(io.BytesIO(export_bytes()))
    header = [cell.value for cell in workbook["Activities"][1]]
    cell = workbook["Activities"][2][header.index("Notice order")]
    assert cell.value == 7
    assert cell.data_type == "n"


def test_export_xlsx_child_sheets(full_activity):
    bases = xlsx_records(layout.LAWFUL_BASES)
    assert [(row["Reference"], row["Basis"]) for row in bases] == [
        ("PA-0100", "Contract (Art. 6(1)(b))"),
        ("PA-0100", "Legitimate interests (Art. 6(1)(f))"),
    ]
    assert bases[1] == {
        "Reference": "PA-0100",
        "Basis": "Legitimate interests (Art. 6(1)(f))",
        "Explanation": "Needed to perform the contract with the customer.",
        "Legitimate interest pursued": "Keeping customers informed of our products.",
        "Legitimate interests assessment": "LIA-0001",
        "Art. 9(2) condition": "Explicit consent (Art. 9(2)(a))",
        "Art. 10 authority": "Act 2018:1",
        "Sample value": "no",
        "Version": "1",
    }
    transfers = xlsx_records(layout.TRANSFERS)
    assert [
        (row["Country"], row["International organisation"], row["Mechanism"])
        for row in transfers
    ] == [
        ("", "World Health Organization", TransferMechanism.SCC.label),
        ("IN", "", TransferMechanism.COMPELLING_INTERESTS.label),
    ]
    assert transfers[1]["Documentation of suitable safeguards"] == (
        "Assessment on file."
    )
    rules = xlsx_records(layout.RETENTION_RULES)
    assert [
        (row["Personal data category"], row["Period"], row["Period unit"])
        for row in rules
    ] == [("", "3", "Years"), ("Health data", "6", "Months")]
    assert rules[1]["Action at the end"] == "Anonymise"
    assert rules[1]["Legal reference"] == "Law 1"


def test_export_xlsx_processors_and_joint_arrangements(full_activity):
    [agreement] = xlsx_records(layout.PROCESSORS)
    assert agreement == {
        "Reference": "DPA-0007",
        "Processor": "Hosting Ltd",
        "Controller": "Acme AB",
        "Services": "Hosting of the customer relationship management system.",
        "Document reference": "contracts/dpa-0007.pdf",
        "Signed on": "2024-01-15",
        "Expires on": "",
        "Sub-processors": "Backup Ltd",
        "Transfers covered": "",
        "Activities": "PA-0100",
    }
    [arrangement] = xlsx_records(layout.JOINT_ARRANGEMENTS)
    assert arrangement["Reference"] == "JCA-0042"
    assert arrangement["Parties"] == "Acme AB; Acme Norge AS"
    assert arrangement["When joint"] == "Always jointly responsible"
    assert arrangement["Essence made available"] == "yes"
    assert arrangement["Activities"] == "PA-0100"


def test_export_xlsx_controller_sheet_has_the_header_block_and_controllers(
    full_activity,
):
    rows = read_xlsx(export_bytes())[layout.CONTROLLER.name]
    assert rows[0][0] == layout.REGISTER_TITLE
    assert rows[1][:2] == ["Controller", layout.ALL_CONTROLLERS]
    assert rows[2][:2] == ["As of", layout.CURRENT]
    assert rows[3][0] == "Exported at"
    # To the minute, in the project's time zone, as a person reads it.
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", rows[3][1])
    assert not any(rows[4])
    controllers = records(rows[layout.CONTROLLER_HEADER_ROW - 1 :], layout.CONTROLLER)
    assert [row["Name"] for row in controllers] == ["Acme AB", "Acme Norge AS"]
    acme = controllers[0]
    assert acme["DPO"] == "Dana DPO"
    assert acme["DPO e-mail"] == "dpo@acme.example"
    assert acme["DPO engagement"] == "Internal (staff member)"
    assert acme["Representative"] == "EU Representative GmbH"
    assert acme["Country"] == "SE"


def test_export_xlsx_lists_every_status():
    for status in ActivityStatus.values:
        ProcessingActivityFactory(status=status)
    assert sorted(row["Status"] for row in xlsx_records()) == sorted(
        ActivityStatus.labels
    )


def test_export_xlsx_orders_activities_by_reference():
    for reference in ("PA-0003", "PA-0001", "PA-0002"):
        ProcessingActivityFactory(reference=reference)
    assert [row["Reference"] for row in xlsx_records()] == [
        "PA-0001",
        "PA-0002",
        "PA-0003",
    ]


def test_export_xlsx_of_an_empty_register_has_headers_only():
    workbook = read_xlsx(export_bytes())
    assert [len(workbook[sheet.name]) for sheet in layout.SHEETS[1:]] == [1] * 8


def test_export_xlsx_strips_characters_xml_cannot_hold():
    ProcessingActivityFactory(purpose="\x01=cmd|' /C calc'!A0\x0b")
    [row] = xlsx_records()
    assert row["Purpose"] == "=cmd|' /C calc'!A0"


# ---------------------------------------------------------------------------
# CSV: the same cells, one file per sheet
# ---------------------------------------------------------------------------


def test_export_csv_has_one_file_per_sheet_with_the_xlsx_cells(full_activity):
    archive = read_zip(export_bytes(CSV))
    workbook = read_xlsx(export_bytes(XLSX))
    sheets = (*layout.SHEETS, layout.FOR_THE_IMPORT)
    assert list(archive) == [sheet.filename for sheet in sheets]

    def as_read(rows):
        # CSV marks formula-like text with an apostrophe; XLSX with a style.
        return [[from_cell(cell) for cell in row] for row in _trimmed(rows)]

    for sheet in layout.SHEETS[1:]:
        csv_rows = as_read(archive[sheet.filename])
        assert csv_rows == _trimmed(workbook[sheet.name]), sheet.name
    # The DPO's phone number, "+46 …".
    assert "'+46 8 123 456 00" in archive[layout.CONTROLLER.filename][6]
    # The same cells but for the moment of the export, which may differ.
    for sheet in (layout.CONTROLLER, layout.FOR_THE_IMPORT):
        csv_rows = as_read(archive[sheet.filename])
        xlsx_rows = _trimmed(workbook[sheet.name])
        assert len(csv_rows) == len(xlsx_rows)
        assert [row[:1] for row in csv_rows] == [row[:1] for row in xlsx_rows]
        assert csv_rows[4:] == xlsx_rows[4:]


def _trimmed(rows):
    # openpyxl reads every row as wide as the widest row of its sheet.
    trimmed = []
    for row in rows:
        cells = list(row)
        while cells and not cells[-1]:
            cells.pop()
        trimmed.append(cells)
    return trimmed


def test_export_csv_files_start_with_a_byte_order_mark():
    ProcessingActivityFactory()
    with zipfile.ZipFile(io.BytesIO(export_bytes(CSV))) as archive:
        assert archive.read(layout.ACTIVITIES.filename).startswith(b"\xef\xbb\xbf")


# ---------------------------------------------------------------------------
# The ICO template
# ---------------------------------------------------------------------------


def ico_sheet(controller, **options):
    """The rows of the ICO template of ``controller``, as text."""
    return read_xlsx(export_bytes(ICO, controller=controller, **options))[
        ico_layout.SHEET_NAME
    ]


def ico_rows(controller, **options):
    """The activity rows of the ICO template, by heading (row 9)."""
    rows = ico_sheet(controller, **options)
    return [dict(zip(rows[8], row, strict=False)) for row in rows[9:]]


def test_export_ico_is_the_template_sheet_with_its_header_block(full_activity):
    controller = Organisation.objects.get(name="Acme AB")
    workbook = read_xlsx(export_bytes(ICO, controller=controller))
    rows = workbook[ico_layout.SHEET_NAME]

    assert list(workbook) == ["Template"]
    assert rows[0][0].startswith("Record of processing activities (GDPR Art. 30), ")
    assert rows[1][:4] == [
        "",
        "Controller",
        "Data Protection Officer",
        "Representative",
    ]
    assert [row[0] for row in rows[2:6]] == ["Name", "Address", "Email", "Telephone"]
    assert rows[2][1:4] == ["Acme AB", "Dana DPO", "EU Representative GmbH"]
    assert rows[4][2] == "dpo@acme.example"
    assert rows[7][0] == "Article 30 Record of Processing Activities"
    assert rows[7][11] == "Privacy Notices"
    assert tuple(rows[8]) == ico_layout.HEADERS


def test_export_ico_row_fills_the_template_from_the_register(full_activity):
    [row] = ico_rows(Organisation.objects.get(name="Acme AB"))
    column = dict(enumerate(ico_layout.HEADERS))
    assert row[column[0]] == "Support"
    assert row[column[1]] == "Customer support\n\nTo answer customers' questions."
    assert row[column[2]].startswith("Acme Norge AS")
    assert "Acme AB" not in row[column[2]]
    assert row[column[2]].endswith(
        "Contact point for data subjects: privacy@acme.example"
    )
    assert row[column[5]] == "Courier"
    assert row[column[6]] == "DPA-0007: contracts/dpa-0007.pdf"
    assert row[column[7]] == (
        "India (Compelling legitimate interests (Art. 49(1) second subparagraph)); "
        "World Health Organization (Standard contractual clauses (Art. 46(2)(c)))"
    )
    assert row[column[8]] == "IN: Assessment on file."
    assert row[column[9]] == (
        "All data: 3 years after the end of the contract, then erase; "
        "Health data: 6 months after the ticket closes, then anonymise"
    )
    assert row[column[10]] == "Encrypted at rest.\n\nMeasures: Encryption"
    assert row[column[11]] == (
        "Contract (Art. 6(1)(b)); Legitimate interests (Art. 6(1)(f))"
    )
    assert row[column[12]] == "Explicit consent (Art. 9(2)(a))"
    assert row[column[13]] == "Keeping customers informed of our products."
    assert row[column[14]] == "LIA-0001"
    assert row[column[16]].startswith("Profiling, without automated decisions")
    assert row[column[20]] == "Yes"
    assert row[column[21]] == "In progress"
    assert row[column[23]] == "Yes"
    assert row[column[24]] == "breaches/1"
    assert row[column[25]] == "Act 2018:1"
    assert row[column[26]] == "Legitimate interests (Art. 6(1)(f))"
    assert row[column[27]] == "policy/1"
    assert row[column[28]] == "No"
    assert row[column[29]] == "Migration pending."


def test_export_ico_marks_processors_among_the_recipients():
    activity = ProcessingActivityFactory(
        recipients=[
            RecipientFactory(name="Courier"),
            RecipientFactory(name="Hosting", recipient_type=RecipientType.PROCESSOR),
        ]
    )

    [row] = ico_rows(activity.organisations.get())

    assert row["Categories of recipients"] == "Courier; Hosting (processor)"


def test_export_ico_lists_the_controllers_current_controller_records():
    controller = GroupCompanyFactory()
    ProcessingActivityFactory(business_function="Kept", organisations=[controller])
    ProcessingActivityFactory(
        business_function="Gone",
        status=ActivityStatus.RETIRED,
        organisations=[controller],
    )
    ProcessingActivityFactory(
        business_function="For a client",
        role=ActivityRole.PROCESSOR,
        organisations=[controller],
    )
    ProcessingActivityFactory(business_function="Another controller's")

    rows = ico_rows(controller)

    assert [row["Business function"] for row in rows] == ["Kept"]


def test_export_ico_needs_the_controller_it_documents():
    with pytest.raises(ExportError, match="documents one organisation"):
        export_bytes(ICO)


# ---------------------------------------------------------------------------
# Formulas: never emitted, in any format
# ---------------------------------------------------------------------------


def xlsx_cell(data, sheet, column, row=2):
    """The openpyxl cell of ``column`` (a header) in ``row`` of ``sheet``."""
    worksheet = load_workbook(io.BytesIO(data))[sheet]
    header = [cell.value for cell in worksheet[1]]
    return worksheet.cell(row=row, column=header.index(column) + 1)


@pytest.mark.parametrize("prefix", FORMULA_PREFIXES + HIDDEN_FORMULA_PREFIXES)
def test_export_xlsx_writes_formula_like_text_as_quote_prefixed_text(prefix):
    value = f'{prefix}HYPERLINK("http://attacker.example","x")'
    ProcessingActivityFactory(purpose=value)

    cell = xlsx_cell(export_bytes(), "Activities", "Purpose")

    assert cell.data_type == "s"
    assert cell.quotePrefix
    assert cell.value == value


def test_export_xlsx_writes_plain_text_without_the_quote_prefix():
    ProcessingActivityFactory(purpose="To pay salaries = 12 a year - on time.")

    cell = xlsx_cell(export_bytes(), "Activities", "Purpose")

    assert not cell.quotePrefix
    assert cell.value == "To pay salaries = 12 a year - on time."


@pytest.mark.parametrize("prefix", FORMULA_PREFIXES + HIDDEN_FORMULA_PREFIXES)
def test_export_csv_neutralises_formula_prefixes(prefix):
    value = f"{prefix}1+1"
    ProcessingActivityFactory(purpose=value)
    [row] = csv_records()
    assert row["Purpose"] == "'" + value


def test_export_xlsx_quotes_formulas_in_lists_and_child_rows():
    activity = ProcessingActivityFactory(
        recipients=[RecipientFactory(name="=1+2")], lawful_basis=False
    )
    LawfulBasisFactory(activity=activity, explanation="@SUM(A1)")
    data = export_bytes()

    recipients = xlsx_cell(data, layout.ACTIVITIES.name, "Recipients")
    explanation = xlsx_cell(data, layout.LAWFUL_BASES.name, "Explanation")

    assert (recipients.value, recipients.quotePrefix) == ("=1+2", True)
    assert (explanation.value, explanation.quotePrefix) == ("@SUM(A1)", True)


def test_export_csv_neutralises_formulas_in_lists_and_child_rows():
    activity = ProcessingActivityFactory(
        recipients=[RecipientFactory(name="=1+2")], lawful_basis=False
    )
    LawfulBasisFactory(activity=activity, explanation="@SUM(A1)")
    [row] = csv_records()
    [basis] = csv_records(layout.LAWFUL_BASES)
    assert row["Recipients"] == "'=1+2"
    assert basis["Explanation"] == "'@SUM(A1)"


def test_export_ico_quotes_formulas():
    activity = ProcessingActivityFactory(business_function="=cmd")
    controller = activity.organisations.get()
    workbook = load_workbook(io.BytesIO(export_bytes(ICO, controller=controller)))
    cell = workbook[ico_layout.SHEET_NAME]["A10"]
    assert cell.data_type == "s"
    assert cell.quotePrefix
    assert cell.value == "=cmd"


def test_export_xlsx_styles_mark_the_quote_prefix_on_the_cells_xf():
    ProcessingActivityFactory(purpose="=1+1")
    archive = zipfile.ZipFile(io.BytesIO(export_bytes()))
    styles = etree.fromstring(archive.read("xl/styles.xml"))
    sheet = etree.fromstring(archive.read("xl/worksheets/sheet2.xml"))
    namespaces = {"x": xlsx.NS}
    [cell] = sheet.xpath("//x:c[x:is/x:t='=1+1']", namespaces=namespaces)
    xfs = styles.xpath("x:cellXfs/x:xf", namespaces=namespaces)

    assert cell.get("t") == "inlineStr"
    assert xfs[int(cell.get("s"))].get("quotePrefix") == "1"


# ---------------------------------------------------------------------------
# One controller
# ---------------------------------------------------------------------------


@pytest.fixture
def two_controllers():
    mine, other = GroupCompanyFactory(name="Mine AB"), GroupCompanyFactory()
    mine_agreement = ProcessorAgreementFactory(controller=mine)
    other_agreement = ProcessorAgreementFactory(controller=other)
    ProcessingActivityFactory(
        reference="PA-0001", organisations=[mine], processor_agreements=[]
    )
    ProcessingActivityFactory(
        reference="PA-0002",
        organisations=[other],
        processor_agreements=[other_agreement],
        joint_arrangement=JointControllerArrangementFactory(parties=[other, mine]),
    )
    ProcessingActivityFactory(reference="PA-0003", organisations=[other])
    JointControllerArrangementFactory()
    return mine, other, mine_agreement, other_agreement


@pytest.mark.parametrize("fmt", [XLSX, CSV])
def test_export_for_one_controller_holds_its_activities_only(fmt, two_controllers):
    mine, other, *_ = two_controllers
    read = xlsx_records if fmt == XLSX else csv_records
    assert [row["Reference"] for row in read(controller=mine)] == ["PA-0001"]
    assert [row["Reference"] for row in read(controller=other)] == [
        "PA-0002",
        "PA-0003",
    ]
    assert [row["Reference"] for row in read(layout.LAWFUL_BASES, controller=mine)] == [
        "PA-0001"
    ]


def test_export_for_one_controller_lists_its_agreements_and_arrangements(
    two_controllers,
):
    mine, _, mine_agreement, _ = two_controllers
    agreements = xlsx_records(layout.PROCESSORS, controller=mine)
    assert [row["Reference"] for row in agreements] == [mine_agreement.reference]
    arrangements = xlsx_records(layout.JOINT_ARRANGEMENTS, controller=mine)
    # Mine is a party of PA-0002's arrangement, not of the other one.
    assert len(arrangements) == 1
    assert "Mine AB" in arrangements[0]["Parties"]


def test_export_for_one_controller_names_it_in_the_header_block(two_controllers):
    mine, *_ = two_controllers
    rows = read_xlsx(export_bytes(controller=mine))[layout.CONTROLLER.name]
    assert rows[1][:2] == ["Controller", "Mine AB"]
    controllers = records(rows[layout.CONTROLLER_HEADER_ROW - 1 :], layout.CONTROLLER)
    assert [row["Name"] for row in controllers] == ["Mine AB"]


def test_export_for_a_controller_without_activities_has_its_header_only():
    lonely = GroupCompanyFactory(name="Lonely AB")
    ProcessingActivityFactory()
    rows = read_xlsx(export_bytes(controller=lonely))
    assert len(rows[layout.ACTIVITIES.name]) == 1
    controllers = records(
        rows[layout.CONTROLLER.name][layout.CONTROLLER_HEADER_ROW - 1 :],
        layout.CONTROLLER,
    )
    assert [row["Name"] for row in controllers] == ["Lonely AB"]


# ---------------------------------------------------------------------------
# Bad requests
# ---------------------------------------------------------------------------


def test_export_refuses_an_unknown_format():
    with pytest.raises(ExportError, match="Unknown format 'odt'"):
        export_bytes("odt")


def test_export_refuses_a_future_date():
    tomorrow = timezone.localdate() + datetime.timedelta(days=2)
    with pytest.raises(ExportError, match="is in the future"):
        export_bytes(as_of=tomorrow)


# ---------------------------------------------------------------------------
# Text longer than an XLSX cell holds: never cut
# ---------------------------------------------------------------------------

REGISTER_APPS = ("controllers", "subjects", "ropa")


def test_every_text_field_of_the_register_holds_what_a_cell_holds():
    text_fields = [
        field
        for app_label in REGISTER_APPS
        for model in apps.get_app_config(app_label).get_models()
        # A historical model copies its model's fields, and adds its own.
        if not model.__name__.startswith("Historical")
        for field in model._meta.get_fields()
        if isinstance(field, models.TextField)
    ]

    assert text_fields
    assert [
        str(field)
        for field in text_fields
        if validate_cell_length not in field.validators
    ] == []


def test_validate_cell_length_takes_a_cell_and_refuses_more():
    validate_cell_length("x" * CELL_LIMIT)

    with pytest.raises(ValidationError) as raised:
        validate_cell_length("x" * (CELL_LIMIT + 1))

    assert raised.value.messages == [
        "At most 32,767 characters, the most a spreadsheet cell holds (the "
        "register is exported to spreadsheets): this text has 32,768."
    ]


def test_admin_form_refuses_a_text_longer_than_a_cell(dpo_client):
    url = reverse("admin:subjects_datasubjectcategory_add")
    data = form_data(dpo_client.get(url))
    data.update(name="Visitors", description="x" * (CELL_LIMIT + 1))

    response = dpo_client.post(url, data)

    assert response.status_code == 200
    assert field_errors(response, "description") == [
        TOO_LONG_FOR_A_CELL
        % {"limit": f"{CELL_LIMIT:,}", "length": f"{CELL_LIMIT + 1:,}"}
    ]
    assert not DataSubjectCategory.objects.filter(name="Visitors").exists()


def test_export_xlsx_writes_a_text_of_a_cell_whole():
    ProcessingActivityFactory(notice_text="x" * CELL_LIMIT)

    [row] = xlsx_records()

    assert row["Notice text"] == "x" * CELL_LIMIT


def test_export_xlsx_refuses_a_text_longer_than_a_cell(tmp_path, monkeypatch):
    # Saved past the model's validation (an older version, the database).
    ProcessingActivityFactory(reference="PA-0001", notice_text="x" * (CELL_LIMIT + 1))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    out = io.BytesIO()

    with pytest.raises(ExportError) as raised:
        export_register(fmt=XLSX, out=out)

    assert str(raised.value) == (
        "The register cannot be exported as XLSX: on sheet 'Activities', row 2 "
        "(Reference 'PA-0001'), the 'Notice text' cell would hold 32,768 "
        "characters, and an XLSX cell holds at most 32,767. Shorten that text in "
        "the admin, or export as CSV, which holds it whole."
    )
    assert out.getvalue() == b""
    # The sheets begun are closed and their temporary files deleted.
    assert list(tmp_path.iterdir()) == []


def test_export_xlsx_writes_a_formula_like_text_of_a_cell_whole():
    # The quote prefix is a style: it takes no place in the cell.
    purpose = "=" + "x" * (CELL_LIMIT - 1)
    ProcessingActivityFactory(reference="PA-0001", purpose=purpose)

    [row] = xlsx_records()

    assert row["Purpose"] == purpose


def test_export_csv_keeps_a_text_longer_than_a_cell():
    ProcessingActivityFactory(notice_text="x" * (CELL_LIMIT + 1))

    [row] = csv_records()

    assert row["Notice text"] == "x" * (CELL_LIMIT + 1)


def test_export_ico_refuses_a_cell_joining_texts_longer_than_a_cell():
    activity = ProcessingActivityFactory(name="Payroll", purpose="x" * CELL_LIMIT)

    with pytest.raises(ExportError) as raised:
        export_bytes(ICO, controller=activity.organisations.get())

    assert "on sheet 'Template', row 10" in str(raised.value)
    assert "the 'Purpose of processing' cell would hold 32,776" in str(raised.value)


# ---------------------------------------------------------------------------
# Queries: a fixed number, whatever the number of activities
# ---------------------------------------------------------------------------

# The register as it stands, for 1 or 50 activities (one chunk):
#   catalogue: organisations, processor agreements, joint arrangements, their
#     parties, DPOs, data subject categories, personal data categories,
#     recipients, security measures, usernames (10; the agreements'
#     sub-processors cost none here: there are no agreements);
#   the activities' ids in reference order (1);
#   the chunk: activities, 7 many-to-many tables, lawful bases, transfers,
#     retention rules (11).
QUERIES_NOW = 22
# As of a date, every catalogue table is read twice (as it is, and its last
# versions) but usernames and links: 10 + 8 = 18 (the arrangements' parties
# links only when an arrangement has a version); then 1 + 11 as above.
QUERIES_AS_OF = 30


def _register_of(count):
    """``count`` activities of one controller; the controller."""
    controller = GroupCompanyFactory()
    arrangement = JointControllerArrangementFactory()
    for _ in range(count):
        ProcessingActivityFactory(
            joint_arrangement=arrangement, organisations=[controller]
        )
    return controller


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
@pytest.mark.parametrize("count", [1, 10])
def test_export_queries_do_not_grow_with_the_register(
    django_assert_num_queries, fmt, count
):
    controller = _register_of(count)
    with django_assert_num_queries(QUERIES_NOW):
        export_bytes(fmt, controller=controller)


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
@pytest.mark.parametrize("count", [1, 10])
def test_export_as_of_queries_do_not_grow_with_the_register(
    django_assert_num_queries, fmt, count
):
    controller = _register_of(count)
    with django_assert_num_queries(QUERIES_AS_OF):
        export_bytes(fmt, controller=controller, as_of=timezone.localdate())


# ---------------------------------------------------------------------------
# The sample register, end to end
# ---------------------------------------------------------------------------


def test_export_of_the_sample_register():
    call_command("load_sample_register", stdout=io.StringIO())
    rows = xlsx_records()
    assert len(rows) == 26
    assert len(csv_records()) == 26
    assert rows[0]["Reference"] == "PA-0001"
    assert all(row["Responsible organisations"] for row in rows)
