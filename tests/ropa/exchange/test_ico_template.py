"""
The UK ICO documentation template for controllers, exported and imported as
people fill it in (issue #13): files typed cell by cell (``ico_files``), read
back with openpyxl, through the commands a user runs.
"""

import re

import pytest
from django.db import transaction
from openpyxl import load_workbook

from controllers.models import (
    DataProtectionOfficer,
    JointControllerArrangement,
    Organisation,
    ProcessorAgreement,
)
from ropa.enums import (
    ActivityStatus,
    DPIAStatus,
    LawfulBasisChoice,
    Profiling,
    RecipientType,
    SpecialCategoryCondition,
    TransferMechanism,
)
from ropa.models import (
    InternationalTransfer,
    LawfulBasis,
    ProcessingActivity,
    Recipient,
    RetentionRule,
)
from subjects.models import DataSubjectCategory, PersonalDataCategory
from tests.admin_pages import database_state
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
)
from tests.ropa.exchange import ico_files
from tests.ropa.exchange.ico_files import (
    CONTROLLER,
    COUNTRIES,
    HEADINGS,
    OFFICER,
    OLDER_HEADINGS,
    OWNER,
    RECORDS,
    SECTIONS,
    Party,
    dropped,
    export_command,
    fingerprint,
    import_command,
    refused_import,
    write_filled_template,
    write_northwind,
)

pytestmark = pytest.mark.django_db

FILE_NAME = "northwind-ropa.xlsx"
SHEET = "Template"


# ---------------------------------------------------------------------------
# 1. The export: the template's layout, and a round trip that changes nothing
# ---------------------------------------------------------------------------


@pytest.fixture
def full_register():
    """
    A controller, its DPO and representative, and activities that fill every
    column of the template; a retired activity and a processor record too,
    which the template leaves out.
    """
    representative = OrganisationFactory(
        name="Example Representative BV",
        country="NL",
        address="Keizersgracht 1, Amsterdam, Netherlands",
        phone="+31 20 555 0100",
    )
    controller = GroupCompanyFactory(
        name="Example Ltd",
        country="GB",
        address="1 High Street, London, United Kingdom",
        email="privacy@example.co.uk",
        phone="+44 20 7946 0000",
        dpo=DataProtectionOfficerFactory(
            name="Jane Smith", email="dpo@example.co.uk", address="1 High Street"
        ),
        representative=representative,
    )
    partner = OrganisationFactory(name="Partner Ltd", phone="+44 161 496 0000")
    arrangement = JointControllerArrangementFactory(
        parties=[controller, partner], contact_point="privacy@partner.example"
    )
    bureau = OrganisationFactory(name="Payroll Bureau Ltd")
    agreement = ProcessorAgreementFactory(
        processor=bureau,
        controller=controller,
        document_reference="https://contracts.example.co.uk/payroll-bureau.pdf",
    )
    health = PersonalDataCategoryFactory(name="Health data", special=True)
    payroll = ProcessingActivityFactory(
        name="Payroll",
        purpose="Paying staff salaries and pension contributions.",
        business_function="Human resources",
        organisations=[controller],
        joint_arrangement=arrangement,
        personal_data_categories=[health, PersonalDataCategoryFactory()],
        recipients=[
            RecipientFactory(
                name="Payroll Bureau Ltd", processor=True, organisation=bureau
            ),
            RecipientFactory(name="Tax authority"),
        ],
        processor_agreements=[agreement],
        lawful_basis=False,
        retention=False,
        security_description="Role-based access; encrypted backups.",
        rights_information="Access, rectification, erasure.",
        profiling=Profiling.PROFILING,
        profiling_description="Absence patterns are flagged to managers.",
        data_source="The employee",
        consent_record_reference="https://intranet.example.co.uk/consents",
        data_location="Payroll system, London data centre",
        dpia_required=True,
        dpia_status=DPIAStatus.IN_PROGRESS,
        dpia_reference="https://intranet.example.co.uk/dpia/7",
        breach_reference="https://intranet.example.co.uk/breaches/3",
        retention_policy_reference="https://intranet.example.co.uk/retention",
        retention_policy_followed=False,
        retention_policy_deviation="Old payslips are still on the file server.",
    )
    LawfulBasisFactory(activity=payroll, legitimate_interests=True)
    LawfulBasisFactory(
        activity=payroll,
        basis=LawfulBasisChoice.LEGAL_OBLIGATION,
        special_category_condition=SpecialCategoryCondition.EMPLOYMENT,
        criminal_data_authority="Schedule 1, Part 1, paragraph 1",
    )
    InternationalTransferFactory(
        activity=payroll,
        mechanism=TransferMechanism.SCC,
        safeguards_documentation="SCCs (module 1) signed on 15 January 2024.",
    )
    InternationalTransferFactory(activity=payroll, adequacy=True)
    RetentionRuleFactory(activity=payroll)
    RetentionRuleFactory(
        activity=payroll, personal_data_category=health, by_criteria=True
    )
    ProcessingActivityFactory(name="Website analytics", organisations=[controller])
    ProcessingActivityFactory(
        name="Old newsletter", organisations=[controller], status=ActivityStatus.RETIRED
    )
    ProcessingActivityFactory(
        name="Hosting for a client", organisations=[controller], processor_record=True
    )
    return controller


def _row(sheet, number, width=4):
    return [cell.value for cell in sheet[number][:width]]


def test_ico_export_lays_out_the_template(full_register, tmp_path):
    controller = full_register
    officer, representative = controller.dpo, controller.representative

    sheet = load_workbook(export_command("example-ltd", tmp_path / "ico.xlsx"))[SHEET]

    assert [cell.value for cell in sheet[9]] == list(HEADINGS)
    assert isinstance(sheet["A1"].value, str)
    assert sheet["A1"].value.strip()
    assert _row(sheet, 1)[1:] == [None, None, None]
    assert _row(sheet, 2) == [
        None,
        "Controller",
        "Data Protection Officer",
        "Representative",
    ]
    assert [_row(sheet, number) for number in range(3, 7)] == [
        ["Name", controller.name, officer.name, representative.name],
        ["Address", controller.address, officer.address, representative.address],
        ["Email", controller.email, officer.email, representative.email],
        ["Telephone", controller.phone, officer.phone, representative.phone],
    ]
    assert all(cell.value is None for cell in sheet[7])
    sections = {
        cell.column_letter: cell.value for cell in sheet[8] if cell.value is not None
    }
    assert sections == SECTIONS
    rows = list(sheet.iter_rows(min_row=10, values_only=True))
    assert [row[1].split("\n")[0] for row in rows] == ["Payroll", "Website analytics"]
    # The first activity fills every column: the round trip reads each back.
    assert all(rows[0])


@pytest.mark.parametrize(
    "register", ["full_register", "sample_register"], ids=["every column", "sample"]
)
def test_ico_export_imported_back_changes_nothing(register, request, tmp_path):
    request.getfixturevalue(register)
    slug = "example-ltd" if register == "full_register" else "infobric-ab"
    path = export_command(slug, tmp_path / "ico.xlsx")
    exported_rows = load_workbook(path)[SHEET].max_row - 9
    before = database_state()

    out, err = import_command(path)

    assert err == ""
    assert (
        f"Activities: 0 new, 0 changed, {exported_rows} unchanged, 0 deleted, 0 invalid"
        in out
    )
    assert set(re.findall(r"(\d+) (?:new|changed|deleted|invalid)", out)) == {"0"}
    assert "Nothing to change." in out
    assert database_state() == before


# ---------------------------------------------------------------------------
# 2-4. A template filled by hand, imported without choosing its controller
# ---------------------------------------------------------------------------

REVIEW_LINE = re.compile(
    r"^Created, to review: (?P<kind>[\w ]+) '(?P<name>[^']+)' \(from sheet "
    r"'Template', row (?P<row>\d+), column '(?P<column>[^']+)'\)$",
    re.MULTILINE,
)


@pytest.fixture
def filled(tmp_path):
    return write_northwind(tmp_path / FILE_NAME)


def _activities():
    return {activity.name: activity for activity in ProcessingActivity.objects.all()}


def test_ico_filled_template_imports_as_drafts_of_the_controller_it_names(filled):
    _, err = import_command(filled)

    assert err == ""
    controller = Organisation.objects.get(name=CONTROLLER.name)
    assert (
        controller.address,
        controller.email,
        controller.phone,
        controller.country.code,
    ) == (
        "14 Mill Lane, Dublin 2, Ireland",
        CONTROLLER.email,
        CONTROLLER.telephone,
        "IE",
    )
    officer = controller.dpo
    assert (officer.name, officer.email, officer.phone, officer.address) == (
        OFFICER.name,
        OFFICER.email,
        OFFICER.telephone,
        OFFICER.address,
    )
    assert controller.representative is None
    activities = _activities()
    assert sorted(activities) == [
        "Answering customer enquiries",
        "Loyalty card",
        "Payroll",
        "Sickness absence management",
    ]
    for activity in activities.values():
        assert activity.status == ActivityStatus.DRAFT
        assert list(activity.organisations.all()) == [controller]
    payroll = activities["Payroll"]
    assert payroll.business_function == "Human resources"
    assert (
        payroll.purpose == "Paying staff salaries, expenses and pension contributions."
    )
    assert sorted(c.name for c in payroll.data_subject_categories.all()) == [
        "Employees",
        "Former employees",
    ]
    assert payroll.security_description == (
        "Role-based access to the payroll system; encrypted backups."
    )
    assert payroll.joint_arrangement is None
    assert activities["Sickness absence management"].joint_arrangement is None


def test_ico_filled_template_records_the_joint_controller(filled):
    import_command(filled)

    partner = Organisation.objects.get(name="Harbour Foods Ltd")
    assert (partner.address, partner.email) == (
        "3 Quay Street, Cork",
        "hello@harbourfoods.example",
    )
    arrangement = _activities()["Loyalty card"].joint_arrangement
    assert {party.name for party in arrangement.parties.all()} == {
        CONTROLLER.name,
        "Harbour Foods Ltd",
    }
    assert JointControllerArrangement.objects.get() == arrangement


def test_ico_filled_template_records_processor_agreements_from_links(filled):
    import_command(filled)

    agreements = {
        agreement.document_reference: agreement
        for agreement in ProcessorAgreement.objects.select_related("processor")
    }
    processors = {
        ico_files.PAYROLL_CONTRACT: ("Payroll", "Payroll Bureau Ltd"),
        ico_files.MAILING_CONTRACT: ("Loyalty card", "Mailing Platform Inc"),
        ico_files.HELPDESK_CONTRACT: (
            "Answering customer enquiries",
            "Helpdesk Software Ltd",
        ),
    }
    assert sorted(agreements) == sorted(processors)
    activities = _activities()
    for link, (activity, name) in processors.items():
        recipient = Recipient.objects.get(name=name)
        assert recipient.recipient_type == RecipientType.PROCESSOR
        assert recipient.organisation.name == name
        assert agreements[link].processor == recipient.organisation
        assert agreements[link].controller.name == CONTROLLER.name
        assert list(activities[activity].processor_agreements.all()) == [
            agreements[link]
        ]
        assert recipient in activities[activity].recipients.all()
    assert Recipient.objects.get(name="Revenue Commissioners").recipient_type == (
        RecipientType.EXTERNAL
    )


def test_ico_filled_template_reads_countries_as_people_name_them(filled):
    import_command(filled)

    transfers = {
        (transfer.activity.name, transfer.country.code, transfer.mechanism)
        for transfer in InternationalTransfer.objects.select_related("activity")
    }
    assert transfers == {
        ("Loyalty card", "US", TransferMechanism.SCC),
        ("Sickness absence management", "GB", TransferMechanism.ADEQUACY),
        ("Answering customer enquiries", "US", TransferMechanism.SCC),
        ("Answering customer enquiries", "KR", TransferMechanism.ADEQUACY),
    }


def test_ico_filled_template_keeps_a_column_the_template_lacks(filled):
    out, _ = import_command(filled)

    notes = {name: activity.import_notes for name, activity in _activities().items()}
    assert notes == {
        "Payroll": f"{OWNER}: Head of HR",
        "Loyalty card": (
            f"{HEADINGS[20]}: Yes - large-scale profiling of customers\n\n"
            f"{HEADINGS[21]}: In progress, awaiting DPO sign-off\n\n"
            f"{OWNER}: Marketing manager"
        ),
        "Sickness absence management": (
            f"{HEADINGS[12]}: Employment law (Art. 9(2)(b)): statutory sick pay"
        ),
        "Answering customer enquiries": f"{OWNER}: Customer service lead",
    }
    assert f"Column '{OWNER}' is not a column of the template" in out
    assert "(3 rows)" in out


def _scope(rule):
    category = rule.personal_data_category
    return category.name if category else "all data"


def test_ico_filled_template_lists_each_created_record_to_review(filled):
    out, _ = import_command(filled)

    listed = {(match["kind"], match["name"]) for match in REVIEW_LINE.finditer(out)}
    created = {
        *(("Organisation", o.name) for o in Organisation.objects.all()),
        *(
            ("Data protection officer", o.name)
            for o in DataProtectionOfficer.objects.all()
        ),
        *(
            ("Joint controller arrangement", f"{a.reference} {a.name}")
            for a in JointControllerArrangement.objects.all()
        ),
        *(
            ("Processor agreement", f"{a.reference}: {a.document_reference}")
            for a in ProcessorAgreement.objects.all()
        ),
        *(("Data subject category", c.name) for c in DataSubjectCategory.objects.all()),
        *(
            ("Personal data category", c.name)
            for c in PersonalDataCategory.objects.all()
        ),
        *(("Recipient", r.name) for r in Recipient.objects.all()),
        *(
            ("Activity", f"{a.reference} {a.name}")
            for a in ProcessingActivity.objects.all()
        ),
        *(
            ("Lawful basis", f"{b.activity.reference} / {b.basis}")
            for b in LawfulBasis.objects.select_related("activity")
        ),
        *(
            ("International transfer", f"{t.activity.reference} / {t.country}")
            for t in InternationalTransfer.objects.select_related("activity")
        ),
        *(
            ("Retention rule", f"{r.activity.reference} / {_scope(r)}")
            for r in RetentionRule.objects.select_related(
                "activity", "personal_data_category"
            )
        ),
    }
    assert listed == created
    where = {
        (match["name"], int(match["row"]), match["column"])
        for match in REVIEW_LINE.finditer(out)
    }
    assert {
        (CONTROLLER.name, 3, "Controller"),
        (OFFICER.name, 3, "Data Protection Officer"),
        ("Harbour Foods Ltd", 11, HEADINGS[2]),
        (f"DPA-0002: {ico_files.MAILING_CONTRACT}", 11, HEADINGS[6]),
        ("Helpdesk Software Ltd", 13, HEADINGS[5]),
        ("Health data", 12, HEADINGS[4]),
    } <= where
    for row, activity in enumerate(
        (
            "Payroll",
            "Loyalty card",
            "Sickness absence management",
            "Answering customer enquiries",
        ),
        start=10,
    ):
        reference = ProcessingActivity.objects.get(name=activity).reference
        assert f"new {reference} {activity} (sheet 'Template', row {row})" in out


# Columns whose text beyond what a field holds is lost: (column, reason).
# Every column of the file, the template's 30 and the one it lacks.
ALL_COLUMNS = range(1, len(HEADINGS) + 2)


@pytest.mark.parametrize(
    "columns",
    [
        pytest.param(
            [column for column in ALL_COLUMNS if column != COUNTRIES],
            id="header block and columns read whole",
        ),
        # Cells that say more than the import reads: kept on the activity.
        *(pytest.param([column], id=f"column {column}") for column in (13, 21, 22)),
    ],
)
def test_ico_filled_template_drops_nothing(filled, columns):
    # Before the import, the check finds the file's text nowhere.
    assert dropped(filled, columns)

    import_command(filled)

    assert dropped(filled, columns) == []


def _imported(path):
    """The register one import of ``path`` into this one makes, rolled back."""
    with transaction.atomic():
        import_command(path)
        register = fingerprint()
        transaction.set_rollback(True)
    return register


def test_ico_older_wordings_of_the_headings_give_the_same_register(tmp_path):
    # One file name: created records name the file they come from.
    (tmp_path / "older").mkdir()
    current = write_northwind(tmp_path / FILE_NAME)
    older = write_northwind(tmp_path / "older" / FILE_NAME, headings=OLDER_HEADINGS)

    register = _imported(current)

    assert ProcessingActivity.objects.count() == 0
    assert len(register["ropa.ProcessingActivity"]) == 4
    assert _imported(older) == register


def test_ico_dry_run_shows_everything_and_writes_nothing(filled):
    before = database_state()

    dry_out, dry_err = import_command(filled, "--dry-run")

    assert database_state() == before
    assert "Dry run: nothing was written." in dry_out
    out, err = import_command(filled)
    assert (dry_err, err) == ("", "")

    def report(text, verb):
        # "Created, to review: …" and "Created 3 recipients: …", whichever verb.
        return [
            re.sub(rf"^{verb}(?=,| \d)", "", line)
            for line in text.splitlines()
            if not line.startswith(("Dry run", "Imported from"))
        ]

    assert report(dry_out, "Would create") == report(out, "Created")
    # Every record created is listed, the activities and their rows too.
    assert dry_out.count("Would create, to review: ") == sum(
        model.objects.count() for model in RECORDS
    )
    assert f"Column '{OWNER}'" in dry_out


# ---------------------------------------------------------------------------
# 5. A row naming an activity already in the register
# ---------------------------------------------------------------------------

RECRUITMENT = {
    1: "Human resources",
    2: "Recruitment",
    4: "Job applicants",
    5: "CVs",
    12: "Consent",
}


def test_ico_row_changing_an_activity_in_the_register_is_refused(filled, tmp_path):
    import_command(filled)
    path = export_command("northwind-bakeries-ltd", tmp_path / "export.xlsx")
    book = load_workbook(path)
    sheet = book[SHEET]
    payroll = next(
        row for row in sheet.iter_rows(min_row=10) if row[1].value.startswith("Payroll")
    )
    payroll[9].value = "7 years after the end of employment"
    new_row = sheet.max_row + 1
    for column, value in RECRUITMENT.items():
        sheet.cell(row=new_row, column=column, value=value)
    book.save(path)
    before = database_state()

    message, _, err = refused_import(path)

    assert message.startswith("1 error(s): nothing was imported.")
    reference = ProcessingActivity.objects.get(name="Payroll").reference
    assert err.strip() == (
        f"Sheet 'Template', row {payroll[9].row}, column '{HEADINGS[9]}': 'Payroll' "
        f"is already in the register ({reference}), and this row differs from it in "
        f"'{HEADINGS[9]}'. The template adds activities: change {reference} in the "
        "admin or through our own export, or give this row another purpose title to "
        "add it as another activity."
    )
    assert database_state() == before


def test_ico_filled_template_imported_again_changes_nothing(filled):
    import_command(filled)
    before = database_state()

    out, _ = import_command(filled)

    assert "Nothing to change." in out
    assert database_state() == before


def test_ico_export_writes_a_one_line_purpose_once(filled, tmp_path):
    import_command(filled)

    path = export_command("northwind-bakeries-ltd", tmp_path / "export.xlsx")

    purposes = [
        row[1]
        for row in load_workbook(path)[SHEET].iter_rows(min_row=10, values_only=True)
    ]
    assert "Sickness absence management" in purposes


# ---------------------------------------------------------------------------
# 6. The header block as people lay it out
# ---------------------------------------------------------------------------

NOBODY = Party()
EXAMPLE = Party(name="Example Ltd", address="1 High Street, London, United Kingdom")
EXAMPLE_OFFICER = Party(
    name="Jane Smith", email="jane.smith@example.co.uk", telephone="+44 20 7946 0001"
)
HEADER_RECORDS = ("controllers.Organisation", "controllers.DataProtectionOfficer")


def _parties(path):
    """The organisations and officers one import of ``path`` records, rolled back."""
    with transaction.atomic():
        import_command(path)
        register = fingerprint()
        transaction.set_rollback(True)
    return {label: register[label] for label in HEADER_RECORDS}


def _header_template(tmp_path, header, representative=NOBODY):
    (tmp_path / header).mkdir()
    return write_filled_template(
        tmp_path / header / FILE_NAME,
        [RECRUITMENT],
        controller=EXAMPLE,
        officer=EXAMPLE_OFFICER,
        representative=representative,
        header=header,
    )


@pytest.mark.parametrize(
    ("header", "controller_cell"),
    [
        ("down", ("A3", "Controller")),
        (
            "in cells",
            ("A2", "Controller: Example Ltd, 1 High Street, London, United Kingdom"),
        ),
    ],
)
def test_ico_header_block_is_read_in_any_layout(tmp_path, header, controller_cell):
    across = _parties(_header_template(tmp_path, "across"))
    path = _header_template(tmp_path, header)
    coordinate, text = controller_cell
    assert load_workbook(path)[SHEET][coordinate].value == text

    import_command(path)

    register = fingerprint()
    assert {label: register[label] for label in HEADER_RECORDS} == across
    controller = Organisation.objects.get()
    assert (controller.name, controller.address, controller.country.code) == (
        "Example Ltd",
        "1 High Street, London, United Kingdom",
        "GB",
    )
    assert (controller.dpo.name, controller.dpo.email, controller.dpo.phone) == (
        "Jane Smith",
        "jane.smith@example.co.uk",
        "+44 20 7946 0001",
    )


@pytest.mark.parametrize(
    "header",
    [
        "across",
        "down",
        "in cells",
    ],
)
def test_ico_header_block_party_written_as_not_applicable_is_none(tmp_path, header):
    path = _header_template(tmp_path, header, representative=Party(name="N/A"))

    import_command(path)

    assert Organisation.objects.get().representative is None
    assert not Organisation.objects.filter(name="N/A").exists()


# ---------------------------------------------------------------------------
# 8. Bad input: a clear message, nothing written
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("controller", "officer", "error"),
    [
        (
            EXAMPLE,
            Party(name="Jane Smith", telephone="+44 20 7946 0001"),
            "Sheet 'Template', row 3, column 'Data Protection Officer': The data "
            "protection officer Jane Smith has no email: give the contact published "
            "for data subjects (Art. 37(7)).",
        ),
        (
            Party(name="Example Ltd", email="privacy at example.co.uk"),
            EXAMPLE_OFFICER,
            "Sheet 'Template', row 3, column 'Controller': Cannot create Example "
            "Ltd: Enter a valid email address.",
        ),
    ],
    ids=["officer without email", "invalid controller email"],
)
def test_ico_header_block_bad_party_is_refused(tmp_path, controller, officer, error):
    path = write_filled_template(
        tmp_path / FILE_NAME, [RECRUITMENT], controller=controller, officer=officer
    )
    before = database_state()

    message, _, err = refused_import(path)

    assert message == (
        "1 error(s): nothing was imported. Correct the file and import it again."
    )
    assert err.strip() == error
    assert database_state() == before


def test_ico_header_block_naming_another_officer_of_the_controller_is_refused(
    tmp_path,
):
    GroupCompanyFactory(
        name="Example Ltd",
        dpo=DataProtectionOfficerFactory(
            name="John Doe", email="john.doe@example.co.uk"
        ),
    )
    path = write_filled_template(
        tmp_path / FILE_NAME, [RECRUITMENT], controller=EXAMPLE, officer=EXAMPLE_OFFICER
    )
    before = database_state()

    _, _, err = refused_import(path)

    assert err.strip() == (
        "Sheet 'Template', row 3, column 'Data Protection Officer': The register "
        "names John Doe <john.doe@example.co.uk> as the data protection officer of "
        "Example Ltd; the template names Jane Smith <jane.smith@example.co.uk>. "
        "Change it in the admin first, or write the register's officer here."
    )
    assert database_state() == before


def test_ico_joint_controller_written_as_a_dash_is_none(tmp_path):
    path = write_filled_template(
        tmp_path / FILE_NAME,
        [{**RECRUITMENT, 3: "-"}],
        controller=EXAMPLE,
        officer=EXAMPLE_OFFICER,
    )

    _, err = import_command(path)

    assert err == ""
    assert ProcessingActivity.objects.get().joint_arrangement is None
    assert not JointControllerArrangement.objects.exists()
    assert list(Organisation.objects.values_list("name", flat=True)) == ["Example Ltd"]
