"""
The review of the ICO template import (issue #13): each case it found, in a
template typed cell by cell (``ico_files``) and imported as a user does.
"""

import re

import pytest
from openpyxl import load_workbook

from controllers.models import (
    DataProtectionOfficer,
    JointControllerArrangement,
    Organisation,
    ProcessorAgreement,
)
from ropa.enums import (
    LawfulBasisChoice,
    RecipientType,
    RetentionAction,
    RetentionUnit,
    TransferMechanism,
)
from ropa.exchange.imports import import_register
from ropa.exchange.plan import ICO
from ropa.exchange.workbook import ImportFileError
from ropa.models import (
    InternationalTransfer,
    LawfulBasis,
    ProcessingActivity,
    Recipient,
    RetentionRule,
)
from subjects.models import PersonalDataCategory
from tests.admin_pages import database_state
from tests.factories import (
    DataProtectionOfficerFactory,
    GroupCompanyFactory,
    OrganisationFactory,
    ProcessingActivityFactory,
    ProcessorAgreementFactory,
    RecipientFactory,
)
from tests.ropa.exchange.ico_files import (
    HEADINGS,
    Party,
    export_command,
    import_command,
    refused_import,
    write_filled_template,
)

pytestmark = pytest.mark.django_db

FILE_NAME = "acme-ropa.xlsx"
SHEET = "Template"
JOINT = HEADINGS[2]
ACME = Party(name="Acme Ltd")
JO = Party(name="Jo Bloggs", email="dpo@acme.example")
TAX = {
    1: "Finance",
    2: "Tax returns",
    4: "Employees",
    5: "Contact details; Salary details",
    12: "Legal obligation",
}
PAY_RUN = {**TAX, 1: "Human resources", 2: "Pay run"}
NEWPAY_CONTRACT = "https://newpay.example/dpa.pdf"
BUREAU_CONTRACT = "https://bureau.example/dpa.pdf"
CLOUD_CONTRACT = "https://cloudhost.example/dpa"


@pytest.fixture
def acme():
    """The controller, already in the register with its DPO."""
    return GroupCompanyFactory(
        name="Acme Ltd",
        email="privacy@acme.example",
        dpo=DataProtectionOfficerFactory(name=JO.name, email=JO.email),
    )


def _template(tmp_path, rows, *, controller=ACME, officer=JO, **options):
    return write_filled_template(
        tmp_path / FILE_NAME, rows, controller=controller, officer=officer, **options
    )


def _activity(name):
    return ProcessingActivity.objects.get(name=name)


def _dry_run_then_import(path, *options):
    """Both runs succeed: the dry run reports no error, the import writes."""
    out, err = import_command(path, "--dry-run", *options)
    assert (err, out.splitlines()[-1]) == ("", "Dry run: nothing was written.")
    out, err = import_command(path, *options)
    assert (err, out.splitlines()[-1]) == ("", f"Imported from {FILE_NAME}.")
    return out


def _plan(path, **options):
    return import_register(path, file_name=FILE_NAME, format=ICO, **options)


# ---------------------------------------------------------------------------
# 1. Records written after the records they name
# ---------------------------------------------------------------------------


def _links():
    """Each activity's recipients, processor agreements and joint controllers."""
    return {
        activity.name: {
            "recipients": sorted(
                (
                    recipient.name,
                    recipient.recipient_type,
                    recipient.organisation and recipient.organisation.name,
                )
                for recipient in activity.recipients.all()
            ),
            "agreements": sorted(
                (
                    agreement.processor.name,
                    agreement.controller.name,
                    agreement.document_reference,
                )
                for agreement in activity.processor_agreements.all()
            ),
            "joint controllers": sorted(
                (party.name, party.country.code)
                for party in activity.joint_arrangement.parties.all()
            )
            if activity.joint_arrangement
            else [],
        }
        for activity in ProcessingActivity.objects.all()
    }


def _bureau():
    RecipientFactory(
        name="Payroll Bureau Ltd",
        processor=True,
        organisation=OrganisationFactory(name="Payroll Bureau Ltd"),
    )


PROCESSOR = RecipientType.PROCESSOR
NOTHING = {"recipients": [], "agreements": [], "joint controllers": []}
# A new record on row 11 that a record of row 10 precedes in the plan: the
# batches once wrote them in that order, before the organisation they name.
ORDERINGS = [
    pytest.param(
        lambda: None,
        [
            {**TAX, 6: "HMRC"},
            {**PAY_RUN, 6: "Newpay Ltd (processor)", 7: NEWPAY_CONTRACT},
        ],
        {
            "Tax returns": {
                **NOTHING,
                "recipients": [("HMRC", RecipientType.EXTERNAL, None)],
            },
            "Pay run": {
                **NOTHING,
                "recipients": [("Newpay Ltd", PROCESSOR, "Newpay Ltd")],
                "agreements": [("Newpay Ltd", "Acme Ltd", NEWPAY_CONTRACT)],
            },
        },
        id="new processor after a plain recipient",
    ),
    pytest.param(
        lambda: OrganisationFactory(name="Harbour Foods Ltd", country="IE"),
        [
            {**TAX, 3: "Harbour Foods Ltd"},
            {**PAY_RUN, 3: "Zeta Corp, Paris, France"},
        ],
        {
            "Tax returns": {
                **NOTHING,
                "joint controllers": [("Acme Ltd", "SE"), ("Harbour Foods Ltd", "IE")],
            },
            "Pay run": {
                **NOTHING,
                "joint controllers": [("Acme Ltd", "SE"), ("Zeta Corp", "FR")],
            },
        },
        id="new joint controller after a known one",
    ),
    pytest.param(
        _bureau,
        [
            {**TAX, 6: "Payroll Bureau Ltd (processor)", 7: BUREAU_CONTRACT},
            {**PAY_RUN, 6: "Newpay Ltd (processor)", 7: NEWPAY_CONTRACT},
        ],
        {
            "Tax returns": {
                **NOTHING,
                "recipients": [("Payroll Bureau Ltd", PROCESSOR, "Payroll Bureau Ltd")],
                "agreements": [("Payroll Bureau Ltd", "Acme Ltd", BUREAU_CONTRACT)],
            },
            "Pay run": {
                **NOTHING,
                "recipients": [("Newpay Ltd", PROCESSOR, "Newpay Ltd")],
                "agreements": [("Newpay Ltd", "Acme Ltd", NEWPAY_CONTRACT)],
            },
        },
        id="new processor after a known one",
    ),
]


@pytest.mark.parametrize(("register", "rows", "links"), ORDERINGS)
@pytest.mark.parametrize(
    ("header", "options"),
    [
        pytest.param((ACME, JO), (), id="header block"),
        pytest.param((Party(), Party()), ("--controller", "acme-ltd"), id="chosen"),
    ],
)
def test_ico_review_new_records_are_written_after_those_they_name(
    tmp_path, acme, register, rows, links, header, options
):
    register()
    controller, officer = header
    path = _template(tmp_path, rows, controller=controller, officer=officer)

    _dry_run_then_import(path, *options)

    assert _links() == links
    for activity in ProcessingActivity.objects.all():
        assert list(activity.organisations.all()) == [acme]
        # The agreement's processor is the recipient's organisation itself.
        processors = {recipient.organisation for recipient in activity.recipients.all()}
        for agreement in activity.processor_agreements.all():
            assert agreement.processor in processors


# ---------------------------------------------------------------------------
# 2. A contract linked to this controller's agreement with the row's processor
# ---------------------------------------------------------------------------


@pytest.fixture
def alpha_agreement(acme):
    """The register's DPA-0001: Acme's agreement with another processor."""
    return ProcessorAgreementFactory(
        reference="DPA-0001",
        processor=OrganisationFactory(name="Alpha Hosting Ltd"),
        controller=acme,
        document_reference="https://alpha.example/dpa",
    )


def test_ico_review_another_registers_reference_becomes_a_new_agreement(
    tmp_path, alpha_agreement
):
    path = _template(
        tmp_path,
        [
            {
                **TAX,
                6: "Cloud Host Inc (processor)",
                7: f"DPA-0001: {CLOUD_CONTRACT}",
            }
        ],
    )

    _dry_run_then_import(path)

    agreement = _activity("Tax returns").processor_agreements.get()
    assert agreement != alpha_agreement
    assert (
        agreement.reference,
        agreement.processor.name,
        agreement.controller.name,
        agreement.document_reference,
    ) == ("DPA-0002", "Cloud Host Inc", "Acme Ltd", CLOUD_CONTRACT)
    assert Recipient.objects.get(name="Cloud Host Inc").organisation == (
        agreement.processor
    )


def test_ico_review_one_link_for_two_processors_is_two_agreements(tmp_path, acme):
    path = _template(
        tmp_path,
        [
            {**TAX, 6: "Cloud Host Inc (processor)", 7: CLOUD_CONTRACT},
            {**PAY_RUN, 6: "Backup Co Ltd (processor)", 7: CLOUD_CONTRACT},
        ],
    )

    _dry_run_then_import(path)

    linked = {
        name: [
            (agreement.processor.name, agreement.document_reference)
            for agreement in _activity(name).processor_agreements.all()
        ]
        for name in ("Tax returns", "Pay run")
    }
    assert linked == {
        "Tax returns": [("Cloud Host Inc", CLOUD_CONTRACT)],
        "Pay run": [("Backup Co Ltd", CLOUD_CONTRACT)],
    }
    assert ProcessorAgreement.objects.count() == 2


def test_ico_review_another_controllers_agreement_is_not_linked(tmp_path, acme):
    cloud = OrganisationFactory(name="Cloud Host Inc")
    RecipientFactory(name="Cloud Host Inc", processor=True, organisation=cloud)
    theirs = ProcessorAgreementFactory(
        processor=cloud,
        controller=GroupCompanyFactory(name="Other Group Co Ltd"),
        document_reference=CLOUD_CONTRACT,
    )
    path = _template(
        tmp_path, [{**TAX, 6: "Cloud Host Inc (processor)", 7: CLOUD_CONTRACT}]
    )

    _dry_run_then_import(path)

    agreement = _activity("Tax returns").processor_agreements.get()
    assert agreement != theirs
    assert (agreement.processor, agreement.controller) == (cloud, acme)
    assert agreement.document_reference == CLOUD_CONTRACT
    assert list(theirs.activities.all()) == []


def test_ico_review_link_without_a_processor_names_this_controllers_agreement(
    tmp_path, alpha_agreement
):
    path = _template(
        tmp_path, [{**TAX, 6: "HMRC", 7: alpha_agreement.document_reference}]
    )

    _dry_run_then_import(path)

    activity = _activity("Tax returns")
    assert list(activity.processor_agreements.all()) == [alpha_agreement]
    assert activity.import_notes == ""
    assert ProcessorAgreement.objects.get() == alpha_agreement


# ---------------------------------------------------------------------------
# 3. Placeholders are no party
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["No", "N/A - we are the sole controller", "None"])
def test_ico_review_joint_controller_saying_none_is_no_party(tmp_path, acme, text):
    path = _template(tmp_path, [{**TAX, 3: text}])

    plan = _plan(path)

    assert plan.applied, plan.errors
    activity = _activity("Tax returns")
    assert (activity.joint_arrangement, activity.import_notes) == (None, "")
    assert not JointControllerArrangement.objects.exists()
    assert list(Organisation.objects.all()) == [acme]
    assert not [note for note in plan.notes if JOINT in note]


@pytest.mark.parametrize(
    ("text", "note"),
    [
        (
            "Yes",
            "says there is a joint controller without naming it: kept on the "
            "activity, no arrangement recorded.",
        ),
        (
            "Acme Ltd",
            "names no joint controller but Acme Ltd itself: kept on the activity, "
            "no arrangement recorded.",
        ),
    ],
    ids=["yes", "the controller itself"],
)
def test_ico_review_joint_controller_naming_nobody_else_is_kept(
    tmp_path, acme, text, note
):
    path = _template(tmp_path, [{**TAX, 3: text}])

    plan = _plan(path)

    assert plan.applied, plan.errors
    activity = _activity("Tax returns")
    assert activity.joint_arrangement is None
    assert activity.import_notes == f"{JOINT}: {text}"
    assert not JointControllerArrangement.objects.exists()
    assert list(Organisation.objects.all()) == [acme]
    assert f"Sheet '{SHEET}', row 10, column '{JOINT}': {note}" in plan.notes


def test_ico_review_joint_controller_named_in_a_sentence(tmp_path, acme):
    path = _template(tmp_path, [{**TAX, 3: "Jointly with Beta GmbH (see arrangement)"}])

    _dry_run_then_import(path)

    arrangement = _activity("Tax returns").joint_arrangement
    assert sorted(party.name for party in arrangement.parties.all()) == [
        "Acme Ltd",
        "Beta GmbH",
    ]
    assert sorted(Organisation.objects.values_list("name", flat=True)) == [
        "Acme Ltd",
        "Beta GmbH",
    ]


@pytest.mark.parametrize("text", ["No", "Not required"])
def test_ico_review_representative_saying_none_is_no_party(tmp_path, text):
    path = _template(tmp_path, [TAX], representative=Party(name=text, address="-"))

    _dry_run_then_import(path)

    controller = Organisation.objects.get()
    assert (controller.name, controller.representative) == ("Acme Ltd", None)
    assert controller.dpo.name == JO.name


@pytest.mark.parametrize(
    ("party", "details"),
    [
        ("Data Protection Officer", {"officer": Party(email="dpo@acme.example")}),
        ("Representative", {"representative": Party(email="rep@acme.example")}),
    ],
    ids=["officer", "representative"],
)
def test_ico_review_party_without_a_name_is_refused(tmp_path, party, details):
    path = _template(tmp_path, [TAX], **{"officer": JO, **details})
    before = database_state()

    message, _, err = refused_import(path)

    assert message == (
        "1 error(s): nothing was imported. Correct the file and import it again."
    )
    # The row of the details is welcome; the column names the party.
    assert re.fullmatch(
        rf"Sheet '{SHEET}'(, row \d+)?, column '{party}': The {party} has contact "
        r"details but no name: give the name, or clear the details\.",
        err.strip(),
    ), err
    assert database_state() == before


# ---------------------------------------------------------------------------
# 4. Read as meant
# ---------------------------------------------------------------------------


# A negation rules out every choice after it up to ".", ";", "," or a bracket
# (ico_text.NEGATION, ico_text._named): "but", ":" and "-" do not end it.


@pytest.mark.parametrize(
    "text",
    [
        "Legitimate interests (we do not rely on consent)",
        "Not consent but legitimate interests",
        "No consent needed - legitimate interests",
    ],
)
def test_ico_review_basis_ruled_out_is_not_recorded(tmp_path, acme, text):
    interest = "Keeping the tax records the business needs"
    path = _template(tmp_path, [{**TAX, 12: text, 14: interest}])

    _dry_run_then_import(path)

    basis = LawfulBasis.objects.get()
    assert (basis.basis, basis.explanation, basis.legitimate_interest) == (
        LawfulBasisChoice.LEGITIMATE_INTERESTS,
        text,
        interest,
    )


def test_ico_review_state_code_is_no_country(tmp_path, acme):
    path = _template(
        tmp_path, [{**TAX, 3: "Westco Inc, 1 Market St, San Francisco, CA"}]
    )

    plan = _plan(path)

    assert plan.applied, plan.errors
    westco = Organisation.objects.get(name="Westco Inc")
    assert (westco.address, westco.country) == ("1 Market St, San Francisco, CA", "")
    assert (
        "Westco Inc: the address names no country, so the country of establishment "
        "is left empty; record it in the admin." in plan.notes
    )


def _transfers():
    return [
        (
            transfer.country.code or "",
            transfer.international_organisation,
            transfer.mechanism,
            transfer.safeguards_documentation,
        )
        for transfer in InternationalTransfer.objects.order_by("pk")
    ]


@pytest.mark.parametrize(
    ("countries", "safeguards", "transfers"),
    [
        pytest.param(
            "World Health Organization",
            "Standard contractual clauses",
            [
                (
                    "",
                    "World Health Organization",
                    TransferMechanism.SCC,
                    "Standard contractual clauses",
                )
            ],
            id="international organisation",
        ),
        pytest.param(
            "India (Compelling legitimate interests (Art. 49(1) second "
            "subparagraph)); United States of America (Standard contractual "
            "clauses (Art. 46(2)(c)))",
            "IN: assessment on file; US: SCCs signed 2024",
            [
                (
                    "IN",
                    "",
                    TransferMechanism.COMPELLING_INTERESTS,
                    "assessment on file",
                ),
                ("US", "", TransferMechanism.SCC, "SCCs signed 2024"),
            ],
            id="safeguards per destination",
        ),
        pytest.param(
            "United States",
            "No adequacy decision: SCCs signed 2024",
            [
                (
                    "US",
                    "",
                    TransferMechanism.SCC,
                    "No adequacy decision: SCCs signed 2024",
                )
            ],
            id="adequacy ruled out",
        ),
    ],
)
def test_ico_review_transfers_are_read_per_destination(
    tmp_path, acme, countries, safeguards, transfers
):
    path = _template(tmp_path, [{**TAX, 8: countries, 9: safeguards}])

    _dry_run_then_import(path)

    assert _transfers() == transfers


def test_ico_review_list_with_semicolons_keeps_commas_in_names(tmp_path, acme):
    path = _template(
        tmp_path, [{**TAX, 5: "Contact details; Health data, incl. sick notes"}]
    )

    _dry_run_then_import(path)

    assert sorted(
        _activity("Tax returns").personal_data_categories.values_list("name", flat=True)
    ) == ["Contact details", "Health data, incl. sick notes"]
    assert PersonalDataCategory.objects.count() == 2


def test_ico_review_retention_schedule_per_category(tmp_path, acme):
    path = _template(
        tmp_path,
        [
            {
                **TAX,
                5: "Contact details; Health data",
                10: "All data: 3 years after the end of the contract, then erase; "
                "Health data: 6 months after the ticket closes, then anonymise",
            }
        ],
    )

    _dry_run_then_import(path)

    rules = [
        (
            rule.personal_data_category and rule.personal_data_category.name,
            rule.period,
            rule.period_unit,
            rule.trigger,
            rule.end_action,
        )
        for rule in RetentionRule.objects.order_by("pk")
    ]
    assert rules == [
        (
            None,
            3,
            RetentionUnit.YEARS,
            "after the end of the contract",
            RetentionAction.ERASE,
        ),
        (
            "Health data",
            6,
            RetentionUnit.MONTHS,
            "after the ticket closes",
            RetentionAction.ANONYMISE,
        ),
    ]


def test_ico_review_adequacy_for_some_recipients_is_noted(tmp_path, acme):
    path = _template(tmp_path, [{**TAX, 8: "United States"}])

    plan = _plan(path)

    assert plan.applied, plan.errors
    assert _transfers() == [("US", "", TransferMechanism.ADEQUACY, "")]
    assert (
        f"Sheet '{SHEET}', row 10: the transfer to United States of America is "
        "recorded on the adequacy decision, which covers only organisations "
        "certified under the EU-US Data Privacy Framework: check that the "
        "recipient is covered, or record the safeguards the transfer relies on."
        in plan.notes
    )


# ---------------------------------------------------------------------------
# 5. Kept, not dropped
# ---------------------------------------------------------------------------


def test_ico_review_second_sheet_with_the_headings_is_refused(tmp_path, acme):
    path = _template(tmp_path, [TAX])
    workbook = load_workbook(path)
    copy = workbook.create_sheet("Template (2)")
    for column, heading in enumerate(HEADINGS, start=1):
        copy.cell(row=1, column=column, value=heading)
    for column, value in {**PAY_RUN, 2: "Pay run abroad"}.items():
        copy.cell(row=2, column=column, value=value)
    workbook.save(path)
    before = database_state()

    with pytest.raises(ImportFileError) as refused:
        _plan(path)

    assert str(refused.value) == (
        "Sheets 'Template', 'Template (2)' each have the column headings of the "
        "ICO template: import them one workbook at a time, so that each "
        "controller's activities go to it."
    )
    assert database_state() == before


def test_ico_review_other_contact_details_of_the_controller_are_noted(tmp_path, acme):
    path = _template(
        tmp_path, [TAX], controller=Party(name="Acme Ltd", email="new@acme.example")
    )

    plan = _plan(path)

    assert plan.applied, plan.errors
    assert (
        "Acme Ltd is in the register with other contact details than the "
        "template's (email): the register's are kept; change them in the admin "
        "if the template's are right." in plan.notes
    )
    acme.refresh_from_db()
    assert acme.email == "privacy@acme.example"
    assert list(_activity("Tax returns").organisations.all()) == [acme]


def test_ico_review_exported_address_on_several_lines_is_the_same(tmp_path, acme):
    acme.address = "Järnvägsgatan 12\n262 32 Ängelholm\nSweden"
    acme.save()
    ProcessingActivityFactory(organisations=[acme], name="Tax returns")
    path = export_command(acme.slug, tmp_path / "export.xlsx")

    plan = _plan(path)

    assert not plan.errors
    assert not [note for note in plan.notes if "other contact details" in note]


def test_ico_review_headings_repeated_below_are_skipped(tmp_path, acme):
    headings = dict(enumerate(HEADINGS, start=1))
    path = _template(tmp_path, [TAX, headings, PAY_RUN])

    out = _dry_run_then_import(path)

    assert "Activities: 2 new, 0 changed, 0 unchanged, 0 deleted, 0 invalid" in out
    assert sorted(ProcessingActivity.objects.values_list("name", "reference")) == [
        ("Pay run", "PA-0002"),
        ("Tax returns", "PA-0001"),
    ]


# ---------------------------------------------------------------------------
# 6. Every record created is listed to review
# ---------------------------------------------------------------------------


def _listed(out, kind):
    """The lines of ``out`` listing a created record of ``kind`` to review."""
    prefix = f"Created, to review: {kind} '"
    return [line for line in out.splitlines() if line.startswith(prefix)]


def _to_review(kind, name, row, column):
    return (
        f"Created, to review: {kind} '{name}' (from sheet '{SHEET}', row {row}, "
        f"column '{HEADINGS[column - 1]}')"
    )


def test_ico_review_activities_and_their_rows_are_listed_to_review(tmp_path, acme):
    path = _template(
        tmp_path,
        [
            {**TAX, 8: "Switzerland", 10: "6 years after the tax year, then erase"},
            {**PAY_RUN, 12: "Contract; Legal obligation"},
        ],
    )

    out = _dry_run_then_import(path)

    assert _listed(out, "Activity") == [
        _to_review("Activity", "PA-0001 Tax returns", 10, 2),
        _to_review("Activity", "PA-0002 Pay run", 11, 2),
    ]
    assert _listed(out, "Lawful basis") == [
        _to_review("Lawful basis", "PA-0001 / legal_obligation", 10, 12),
        _to_review("Lawful basis", "PA-0002 / contract", 11, 12),
        _to_review("Lawful basis", "PA-0002 / legal_obligation", 11, 12),
    ]
    assert _listed(out, "International transfer") == [
        _to_review("International transfer", "PA-0001 / CH", 10, 8)
    ]
    assert _listed(out, "Retention rule") == [
        _to_review("Retention rule", "PA-0001 / all data", 10, 10)
    ]
    assert (
        ProcessingActivity.objects.count(),
        LawfulBasis.objects.count(),
        InternationalTransfer.objects.count(),
        RetentionRule.objects.count(),
    ) == (2, 3, 1, 1)


# ---------------------------------------------------------------------------
# 7. A template with its header block and no rows
# ---------------------------------------------------------------------------


def test_ico_review_header_block_without_rows_is_imported(tmp_path):
    path = _template(tmp_path, [])

    out = _dry_run_then_import(path)

    controller = Organisation.objects.get()
    assert (controller.name, controller.dpo.name, controller.dpo.email) == (
        "Acme Ltd",
        JO.name,
        JO.email,
    )
    assert DataProtectionOfficer.objects.get() == controller.dpo
    assert not ProcessingActivity.objects.exists()
    assert (
        f"Sheet '{SHEET}' lists no activities below its header row 9: only its "
        "header block is read." in out.splitlines()
    )
