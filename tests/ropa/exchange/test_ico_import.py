import pytest
from openpyxl import Workbook

from controllers.models import Organisation
from ropa.core.history import historical_models
from ropa.core.rows import NEW
from ropa.enums import (
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
from ropa.exchange import ico_layout, layout
from ropa.exchange.export import export_register
from ropa.exchange.ico_layout import (
    ARTICLE_6,
    ARTICLE_9,
    BUSINESS_FUNCTION,
    DPIA_PROGRESS,
    DPIA_REQUIRED,
    INDIVIDUALS,
    INTERESTS_ASSESSMENT,
    JOINT_CONTROLLER,
    LEGITIMATE_INTERESTS,
    PERSONAL_DATA,
    PROCESSOR_CONTRACT,
    PURPOSE,
    RECIPIENTS,
    RETENTION,
    SAFEGUARDS,
    SCHEDULE_1,
    THIRD_COUNTRIES,
)
from ropa.exchange.ico_text import split_names, split_purpose
from ropa.exchange.imports import import_register, plan_import
from ropa.exchange.plan import ICO, import_reason
from ropa.exchange.workbook import ImportFileError
from ropa.models import InternationalTransfer, ProcessingActivity, Recipient
from subjects.enums import Sensitivity
from subjects.models import DataSubjectCategory, PersonalDataCategory
from tests.factories import (
    DataSubjectCategoryFactory,
    GroupCompanyFactory,
    JointControllerArrangementFactory,
    ProcessingActivityFactory,
    ProcessorAgreementFactory,
    RecipientFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

FILE_NAME = "ico-template.xlsx"
HEADER_ROW = 4

PAYROLL = {
    BUSINESS_FUNCTION: "Human resources",
    PURPOSE: "Payroll\nPaying staff salaries, expenses and pension contributions.",
    INDIVIDUALS: "employees; Contractors",
    PERSONAL_DATA: "Contact details, Bank details\nSalary and tax details",
    RECIPIENTS: "HMRC\n• Pension provider",
    RETENTION: "6 years after the end of employment",
    "General description of technical and organisational security measures "
    "(if possible)": "Role-based access to the payroll system; encrypted backups.",
    ARTICLE_6: "Legal obligation \u2013 Article 6(1)(c)",
    ARTICLE_9: "N/A",
    "Rights available to individuals": "Access, rectification",
    "The source of the personal data (if applicable)": "The employee",
    "Location of personal data": "Payroll system, UK data centre",
    DPIA_REQUIRED: "No",
    "Link to retention and erasure policy document": "https://intranet/retention",
    "Is personal data retained and erased in accordance with the policy "
    "document?": "Yes",
}
NEWSLETTER = {
    BUSINESS_FUNCTION: "Marketing",
    PURPOSE: "E-mail newsletters about our products",
    INDIVIDUALS: "Customers",
    PERSONAL_DATA: "Contact details; Purchase history",
    RECIPIENTS: "Mailing service provider",
    THIRD_COUNTRIES: "United States of America",
    SAFEGUARDS: "Standard contractual clauses with the mailing service",
    RETENTION: "Until the customer unsubscribes",
    ARTICLE_6: "Consent",
    "Existence of automated decision-making, including profiling (if "
    "applicable)": "Yes - profiling of purchases to tailor offers",
    DPIA_REQUIRED: "Yes",
    DPIA_PROGRESS: "In progress",
    "Link to Data Protection Impact Assessment": "DPIA-2025-04",
}
SICKNESS = {
    BUSINESS_FUNCTION: "Human resources",
    PURPOSE: "Sickness absence management",
    INDIVIDUALS: "Employees",
    PERSONAL_DATA: "Health data",
    RECIPIENTS: "Occupational health provider",
    THIRD_COUNTRIES: "IN",
    SAFEGUARDS: "Binding corporate rules of the group",
    RETENTION: "3 years",
    ARTICLE_6: "Legal obligation",
    ARTICLE_9: "Employment, social security and social protection (9(2)(b))",
    SCHEDULE_1: "Schedule 1, Part 1, paragraph 1",
}
SUPPORT = {
    BUSINESS_FUNCTION: "Customer service",
    PURPOSE: "Answering customer enquiries",
    INDIVIDUALS: "Customers",
    PERSONAL_DATA: "Contact details, Correspondence",
    RECIPIENTS: "",
    THIRD_COUNTRIES: "Japan",
    RETENTION: "Until the customer account is closed, then anonymise",
    ARTICLE_6: "Legitimate interests (6(1)(f))",
    LEGITIMATE_INTERESTS: "Answering the questions customers ask us",
    INTERESTS_ASSESSMENT: "LIA-007",
}
ROWS = (PAYROLL, None, NEWSLETTER, SICKNESS, SUPPORT)
ROW_NUMBERS = {"payroll": 5, "newsletter": 7, "sickness": 8, "support": 9}


def template_headers():
    """The template's headers, with the case and spacing people give them."""
    headers = list(ico_layout.HEADERS)
    headers[0] = "BUSINESS FUNCTION"
    headers[1] = "  Purpose of\nprocessing "
    headers[7] = "Names of third countries or international organisations that "
    headers[7] += "personal data are transferred to"
    return headers


def write_template(path, rows=ROWS, headers=None):
    """A filled ICO template: a guidance sheet, then the register below a title."""
    workbook = Workbook()
    guidance = workbook.active
    guidance.title = "Guidance"
    guidance.append(["How to use this template"])
    guidance.append(["Fill in one row per processing activity."])
    sheet = workbook.create_sheet("Controller")
    sheet.append(["Documentation of processing activities - requirements"])
    sheet.append(["Controller: Example Ltd, 1 High Street, London"])
    sheet.append([])
    headers = headers or template_headers()
    sheet.append(headers)
    for row in rows:
        values = row or {}
        sheet.append([values.get(column, "") for column in ico_layout.HEADERS])
    workbook.save(path)
    return path


@pytest.fixture
def controller():
    return GroupCompanyFactory(name="Example Ltd")


@pytest.fixture
def template(tmp_path):
    return write_template(tmp_path / FILE_NAME)


def test_ico_import_plans_each_row_as_a_new_draft(template, controller):
    plan = plan_import(template, file_name=FILE_NAME, format=ICO, controller=controller)

    assert not plan.errors
    activities = [row for row in plan.rows if row.group == layout.ACTIVITIES.name]
    assert [(row.row, row.action) for row in activities] == [
        (5, NEW),
        (7, NEW),
        (8, NEW),
        (9, NEW),
    ]
    assert activities[0].key == "PA-0001 Payroll"
    counts = plan.counts()
    assert counts[layout.LAWFUL_BASES.name][NEW] == 4
    assert counts[layout.TRANSFERS.name][NEW] == 3
    assert counts[layout.RETENTION_RULES.name][NEW] == 4
    assert ProcessingActivity.objects.count() == 0


def test_ico_import_creates_the_activities(template, controller):
    user = UserFactory(username="migrator")

    plan = import_register(
        template, file_name=FILE_NAME, format=ICO, controller=controller, user=user
    )

    assert plan.applied
    activities = ProcessingActivity.objects.order_by("reference")
    assert [(a.reference, a.name, a.status) for a in activities] == [
        ("PA-0001", "Payroll", ActivityStatus.DRAFT),
        ("PA-0002", "E-mail newsletters about our products", ActivityStatus.DRAFT),
        ("PA-0003", "Sickness absence management", ActivityStatus.DRAFT),
        ("PA-0004", "Answering customer enquiries", ActivityStatus.DRAFT),
    ]
    payroll = activities[0]
    assert payroll.purpose == (
        "Paying staff salaries, expenses and pension contributions."
    )
    assert payroll.business_function == "Human resources"
    assert list(payroll.organisations.all()) == [controller]
    assert payroll.security_description.startswith("Role-based access")
    assert payroll.rights_information == "Access, rectification"
    assert payroll.data_source == "The employee"
    assert payroll.data_location == "Payroll system, UK data centre"
    assert payroll.retention_policy_reference == "https://intranet/retention"
    assert payroll.retention_policy_followed is True
    assert (payroll.dpia_required, payroll.dpia_status) == (False, "")


def test_ico_import_matches_and_creates_catalogue_entries(template, controller):
    employees = DataSubjectCategoryFactory(name="Employees")
    hmrc = RecipientFactory(name="HMRC")

    plan = import_register(
        template, file_name=FILE_NAME, format=ICO, controller=controller
    )

    assert plan.created_lines() == [
        "Created 2 data subject categories: Contractors, Customers",
        "Created 6 personal data categories: Contact details, Bank details, "
        "Salary and tax details, Purchase history, Health data, Correspondence",
        "Created 3 recipients: Pension provider, Mailing service provider, "
        "Occupational health provider",
    ]
    payroll = ProcessingActivity.objects.get(reference="PA-0001")
    assert {c.name for c in payroll.data_subject_categories.all()} == {
        "Employees",
        "Contractors",
    }
    assert employees in payroll.data_subject_categories.all()
    assert set(payroll.recipients.all()) == {
        hmrc,
        Recipient.objects.get(name="Pension provider"),
    }
    assert DataSubjectCategory.objects.filter(name__iexact="employees").count() == 1
    assert Recipient.objects.get(name="Pension provider").recipient_type == (
        RecipientType.EXTERNAL
    )
    assert set(PersonalDataCategory.objects.values_list("sensitivity", flat=True)) == {
        Sensitivity.ORDINARY
    }
    assert any("recorded as external" in note for note in plan.notes)


def test_ico_import_maps_the_lawful_bases(template, controller):
    import_register(template, file_name=FILE_NAME, format=ICO, controller=controller)

    bases = {
        activity.reference: list(activity.lawful_bases.all())
        for activity in ProcessingActivity.objects.all()
    }
    assert [b.basis for b in bases["PA-0001"]] == [LawfulBasisChoice.LEGAL_OBLIGATION]
    assert bases["PA-0001"][0].explanation == "Legal obligation \u2013 Article 6(1)(c)"
    assert [b.basis for b in bases["PA-0002"]] == [LawfulBasisChoice.CONSENT]
    (sickness,) = bases["PA-0003"]
    assert sickness.special_category_condition == SpecialCategoryCondition.EMPLOYMENT
    assert sickness.criminal_data_authority == "Schedule 1, Part 1, paragraph 1"
    (support,) = bases["PA-0004"]
    assert support.basis == LawfulBasisChoice.LEGITIMATE_INTERESTS
    assert support.legitimate_interest == "Answering the questions customers ask us"
    assert support.assessment_reference == "LIA-007"


def test_ico_import_maps_transfers_retention_dpia_and_profiling(template, controller):
    import_register(template, file_name=FILE_NAME, format=ICO, controller=controller)

    activities = {a.reference: a for a in ProcessingActivity.objects.all()}
    transfers = {
        (t.activity.reference, str(t.country), t.mechanism)
        for t in InternationalTransfer.objects.select_related("activity")
    }
    assert transfers == {
        ("PA-0002", "US", TransferMechanism.SCC),
        ("PA-0003", "IN", TransferMechanism.BCR),
        ("PA-0004", "JP", TransferMechanism.ADEQUACY),
    }
    newsletter_transfer = activities["PA-0002"].transfers.get()
    assert newsletter_transfer.safeguards_documentation == NEWSLETTER[SAFEGUARDS]

    payroll_rule = activities["PA-0001"].retention_rules.get()
    assert (payroll_rule.period, payroll_rule.period_unit, payroll_rule.trigger) == (
        6,
        RetentionUnit.YEARS,
        "after the end of employment",
    )
    assert payroll_rule.personal_data_category is None
    sickness_rule = activities["PA-0003"].retention_rules.get()
    assert (sickness_rule.period, sickness_rule.trigger) == (3, "")
    newsletter_rule = activities["PA-0002"].retention_rules.get()
    assert (newsletter_rule.period, newsletter_rule.criteria) == (
        None,
        "Until the customer unsubscribes",
    )
    support_rule = activities["PA-0004"].retention_rules.get()
    assert (support_rule.criteria, support_rule.end_action) == (
        "Until the customer account is closed",
        RetentionAction.ANONYMISE,
    )

    newsletter = activities["PA-0002"]
    assert (newsletter.dpia_required, newsletter.dpia_status) == (
        True,
        DPIAStatus.IN_PROGRESS,
    )
    assert newsletter.dpia_reference == "DPIA-2025-04"
    assert newsletter.profiling == Profiling.PROFILING
    assert newsletter.profiling_description == (
        "Yes - profiling of purchases to tailor offers"
    )
    assert activities["PA-0001"].profiling == Profiling.NONE


def test_ico_import_records_user_and_reason_in_history(template, controller):
    user = UserFactory(username="migrator")
    before = {
        model: set(model.objects.values_list("pk", flat=True))
        for model in historical_models()
    }

    import_register(
        template, file_name=FILE_NAME, format=ICO, controller=controller, user=user
    )

    records = [
        record
        for model, ids in before.items()
        for record in model.objects.exclude(pk__in=ids)
    ]
    assert {type(record).__name__ for record in records} == {
        "HistoricalProcessingActivity",
        "HistoricalLawfulBasis",
        "HistoricalInternationalTransfer",
        "HistoricalRetentionRule",
        "HistoricalDataSubjectCategory",
        "HistoricalPersonalDataCategory",
        "HistoricalRecipient",
    }
    assert {(r.history_change_reason, r.history_user) for r in records} == {
        (import_reason(FILE_NAME), user)
    }


def test_ico_import_allocates_the_next_free_reference(tmp_path, controller):
    ProcessingActivityFactory(reference="PA-0007")
    ProcessingActivityFactory(reference="PA-0009").delete()
    path = write_template(tmp_path / FILE_NAME, rows=(PAYROLL,))

    import_register(path, file_name=FILE_NAME, format=ICO, controller=controller)

    assert ProcessingActivity.objects.get(name="Payroll").reference == "PA-0010"


def test_ico_import_whose_last_row_is_bad_writes_nothing(tmp_path, controller):
    bad = {**SUPPORT, ARTICLE_6: "Because we need it"}
    path = write_template(tmp_path / FILE_NAME, rows=(PAYROLL, NEWSLETTER, bad))
    counts = {
        model: model.objects.count()
        for model in (ProcessingActivity, DataSubjectCategory, Recipient)
    }
    history = sum(model.objects.count() for model in historical_models())

    plan = import_register(path, file_name=FILE_NAME, format=ICO, controller=controller)

    assert not plan.applied
    assert [str(error) for error in plan.errors] == [
        f"Sheet 'Controller', row 7, column '{ARTICLE_6}': Cannot tell the Art. "
        "6(1) basis from 'Because we need it': name consent, contract, legal "
        "obligation, vital interests, public task or legitimate interests (or "
        "6(1)(a) to (f))."
    ]
    assert {model: model.objects.count() for model in counts} == counts
    assert sum(model.objects.count() for model in historical_models()) == history


@pytest.mark.parametrize(
    ("changes", "column", "reason"),
    [
        (
            {THIRD_COUNTRIES: "Atlantis"},
            THIRD_COUNTRIES,
            "Unknown country 'Atlantis': name a country in English or by its "
            "ISO 3166-1 code, or an international organisation by its name.",
        ),
        (
            {THIRD_COUNTRIES: "Germany", SAFEGUARDS: ""},
            THIRD_COUNTRIES,
            "Germany is in the EEA: not a transfer.",
        ),
        (
            {THIRD_COUNTRIES: "India", SAFEGUARDS: ""},
            SAFEGUARDS,
            "Required for a country without an adequacy decision: name the "
            "mechanism (SCCs, BCRs, a code of conduct, a certification or an "
            "Art. 49 derogation).",
        ),
        (
            {THIRD_COUNTRIES: "India", SAFEGUARDS: "We trust them"},
            SAFEGUARDS,
            "Cannot tell the one transfer mechanism from 'We trust them': name "
            "adequacy, SCCs, BCRs, a code of conduct, a certification or an "
            "Art. 49 derogation (one per row, or one per country in brackets "
            "after it).",
        ),
        (
            {THIRD_COUNTRIES: "India", SAFEGUARDS: "Adequacy decision"},
            SAFEGUARDS,
            "India has no adequacy decision in force: choose another Chapter V "
            "mechanism.",
        ),
        (
            {ARTICLE_9: "Because it is sensitive"},
            ARTICLE_9,
            "Cannot tell the one Art. 9(2) condition",
        ),
        ({DPIA_REQUIRED: "Perhaps"}, DPIA_REQUIRED, "'Perhaps' is not yes or no."),
        (
            {DPIA_REQUIRED: "Yes", DPIA_PROGRESS: "Awaiting sign-off soon"},
            DPIA_PROGRESS,
            "Cannot tell the DPIA progress from 'Awaiting sign-off soon'",
        ),
        (
            {ARTICLE_6: "Consent"},
            LEGITIMATE_INTERESTS,
            "Given, but the Art. 6 basis is not legitimate interests (6(1)(f)).",
        ),
        (
            {LEGITIMATE_INTERESTS: ""},
            LEGITIMATE_INTERESTS,
            "State the legitimate interest pursued (Art. 13(1)(d)).",
        ),
        ({INDIVIDUALS: "n/a"}, INDIVIDUALS, "Required. Name at least one category."),
        ({BUSINESS_FUNCTION: ""}, BUSINESS_FUNCTION, "This field cannot be blank."),
        (
            {PURPOSE: "Payroll"},
            PURPOSE,
            "'Payroll' is also the purpose on row 5: each activity needs its own name.",
        ),
        (
            {PERSONAL_DATA: "y" * 201},
            PERSONAL_DATA,
            "Cannot create the personal data category",
        ),
    ],
)
def test_ico_import_reports_row_errors(tmp_path, controller, changes, column, reason):
    path = write_template(tmp_path / FILE_NAME, rows=(PAYROLL, {**SUPPORT, **changes}))

    plan = import_register(path, file_name=FILE_NAME, format=ICO, controller=controller)

    assert not plan.applied
    found = [(e.row, e.column, e.reason) for e in plan.errors]
    assert any(
        (row, found_column) == (6, column) and found_reason.startswith(reason)
        for row, found_column, found_reason in found
    ), found
    assert ProcessingActivity.objects.count() == 0


def test_ico_import_names_existing_agreements_and_arrangements(tmp_path, controller):
    agreement = ProcessorAgreementFactory(
        reference="DPA-0042",
        document_reference="https://contracts/42",
        controller=controller,
    )
    arrangement = JointControllerArrangementFactory(
        reference="JCA-0001", parties=[controller, GroupCompanyFactory()]
    )
    row = {
        **PAYROLL,
        PROCESSOR_CONTRACT: "https://contracts/42",
        JOINT_CONTROLLER: "JCA-0001",
    }
    path = write_template(tmp_path / FILE_NAME, rows=(row,))

    import_register(path, file_name=FILE_NAME, format=ICO, controller=controller)

    activity = ProcessingActivity.objects.get()
    assert list(activity.processor_agreements.all()) == [agreement]
    assert activity.joint_arrangement == arrangement


def test_ico_import_refuses_a_workbook_without_the_header_row(tmp_path, controller):
    path = tmp_path / FILE_NAME
    workbook = Workbook()
    workbook.active.append(["Activity", "Notes"])
    workbook.active.append(["Payroll", "Monthly"])
    workbook.save(path)

    with pytest.raises(ImportFileError, match="has the column headers of the ICO"):
        plan_import(path, file_name=FILE_NAME, format=ICO, controller=controller)


def test_ico_import_refuses_a_template_without_a_required_column(tmp_path, controller):
    headers = template_headers()
    headers[ico_layout.HEADERS.index(INDIVIDUALS)] = "Who"
    path = write_template(tmp_path / FILE_NAME, headers=headers)

    with pytest.raises(ImportFileError) as raised:
        plan_import(path, file_name=FILE_NAME, format=ICO, controller=controller)

    assert str(raised.value) == (
        f"Sheet 'Controller' lacks the columns '{INDIVIDUALS}' in its header row 4."
    )


def test_ico_import_of_a_template_without_rows_reads_its_header_block(tmp_path):
    path = write_template(tmp_path / FILE_NAME, rows=(None,))

    plan = import_register(path, file_name=FILE_NAME, format=ICO)

    assert plan.applied, plan.errors
    assert Organisation.objects.get().name == "Example Ltd"
    assert not ProcessingActivity.objects.exists()
    assert "lists no activities below its header row 4" in plan.notes[-1]


def test_ico_import_reads_our_own_template_export(tmp_path, controller):
    source = ProcessingActivityFactory(organisations=[controller])
    path = tmp_path / FILE_NAME
    with path.open("wb") as out:
        export_register(fmt="ico", out=out, controller=controller)
    source.name = "Renamed before the migration"
    source.save()

    plan = plan_import(path, file_name=FILE_NAME, format=ICO, controller=controller)

    assert not plan.errors, plan.errors
    assert plan.total(NEW) >= 1


@pytest.mark.parametrize(
    ("text", "known", "names"),
    [
        # A list separated by ";" may hold names with commas, as exported.
        ("A; B, C\nD", (), ["A", "B, C", "D"]),
        ("A, B\nC", (), ["A", "B", "C"]),
        ("• A\n- B\n* a", (), ["A", "B"]),
        (
            "Korea, Republic of; Chile",
            ("Korea, Republic of",),
            ["Korea, Republic of", "Chile"],
        ),
        ("N/A", (), []),
    ],
)
def test_ico_split_names(text, known, names):
    assert split_names(text, lambda part: part in known) == names


@pytest.mark.parametrize(
    ("text", "name", "purpose"),
    [
        ("Payroll", "Payroll", "Payroll"),
        ("Payroll\n\nPaying staff.", "Payroll", "Paying staff."),
        ("x" * 250, "x" * 200, "x" * 250),
    ],
)
def test_ico_split_purpose(text, name, purpose):
    assert split_purpose(text) == (name, purpose)


def test_ico_import_without_a_controller_named_or_chosen_is_refused(tmp_path):
    path = tmp_path / FILE_NAME
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(template_headers())
    sheet.append([PAYROLL.get(column, "") for column in ico_layout.HEADERS])
    workbook.save(path)

    with pytest.raises(ImportFileError, match="The template names no controller"):
        plan_import(path, file_name=FILE_NAME, format=ICO)


def test_ico_import_takes_the_controller_its_title_names(template):
    assert Organisation.objects.count() == 0

    import_register(template, file_name=FILE_NAME, format=ICO)

    controller = Organisation.objects.get()
    assert (controller.name, controller.address) == (
        "Example Ltd",
        "1 High Street, London",
    )
    assert set(ProcessingActivity.objects.values_list("organisations", flat=True)) == {
        controller.pk
    }


def test_ico_import_records_a_joint_controller_named_with_its_details(
    tmp_path, controller
):
    row = {**SUPPORT, JOINT_CONTROLLER: "Partner Ltd, partner@example.com"}
    path = write_template(tmp_path / FILE_NAME, rows=(row,))

    plan = import_register(path, file_name=FILE_NAME, format=ICO, controller=controller)

    assert plan.applied, plan.errors
    activity = ProcessingActivity.objects.get()
    partner = Organisation.objects.get(name="Partner Ltd")
    assert partner.email == "partner@example.com"
    assert set(activity.joint_arrangement.parties.all()) == {controller, partner}
    assert activity.joint_arrangement.responsibilities == ""
    assert [str(item) for item in plan.to_review][:2] == [
        f"Organisation 'Partner Ltd' (from sheet 'Controller', row 5, column "
        f"'{JOINT_CONTROLLER}')",
        f"Joint controller arrangement 'JCA-0001 Example Ltd with Partner Ltd' "
        f"(from sheet 'Controller', row 5, column '{JOINT_CONTROLLER}')",
    ]


def test_ico_import_keeps_a_contract_it_cannot_record(tmp_path, controller):
    row = {**SUPPORT, PROCESSOR_CONTRACT: "DPA-9999"}
    path = write_template(tmp_path / FILE_NAME, rows=(row,))

    plan = import_register(path, file_name=FILE_NAME, format=ICO, controller=controller)

    assert plan.applied, plan.errors
    activity = ProcessingActivity.objects.get()
    assert activity.import_notes == f"{PROCESSOR_CONTRACT}: DPA-9999"
    assert not activity.processor_agreements.exists()
    assert any(
        "no recipient of this row is marked as a processor" in note
        for note in plan.notes
    )
