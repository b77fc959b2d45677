"""
What the register's XLSX and CSV say of the categories, recipients and
parties the exported activities name: the Data categories and Recipients
sheets, and the role of each organisation of the Controller sheet; and the
import, which reads none of them.
"""

import pytest
from openpyxl import load_workbook

from ropa.core.rows import UNCHANGED
from ropa.enums import RecipientType
from ropa.exchange import layout
from ropa.exchange.export import XLSX
from ropa.exchange.imports import import_register
from ropa.models import ProcessingActivity, Recipient
from subjects.enums import CnilGroup, Sensitivity, SpecialCategory
from subjects.models import PersonalDataCategory
from tests.factories import (
    GroupCompanyFactory,
    InternationalTransferFactory,
    JointControllerArrangementFactory,
    OrganisationFactory,
    PersonalDataCategoryFactory,
    ProcessingActivityFactory,
    RecipientFactory,
    RetentionRuleFactory,
)
from tests.ropa.exchange.test_exports import (
    csv_records,
    export_bytes,
    read_xlsx,
    records,
    xlsx_records,
)
from tests.ropa.exchange.test_snapshot import DAY1, DAY2, moment, on

pytestmark = pytest.mark.django_db


def _names(rows):
    return [row["Name"] for row in rows]


def _controllers(**options):
    rows = read_xlsx(export_bytes(XLSX, **options))[layout.CONTROLLER.name]
    return {
        row["Name"]: row
        for row in records(rows[layout.CONTROLLER_HEADER_ROW - 1 :], layout.CONTROLLER)
    }


# ---------------------------------------------------------------------------
# Data categories
# ---------------------------------------------------------------------------


@pytest.fixture
def categories():
    """An activity with an ordinary, a special and a criminal category."""
    ProcessingActivityFactory(
        personal_data_categories=[
            PersonalDataCategoryFactory(name="Contact details"),
            PersonalDataCategoryFactory(
                name="Health data", special=True, description="Sick leave."
            ),
            PersonalDataCategoryFactory(
                name="Criminal records", criminal=True, ungrouped=True
            ),
        ]
    )
    PersonalDataCategoryFactory(name="Unused category")


def test_export_data_categories_sheet_states_the_sensitivity_of_each(categories):
    rows = {row["Name"]: row for row in xlsx_records(layout.DATA_CATEGORIES)}

    assert list(rows) == ["Contact details", "Criminal records", "Health data"]
    assert rows["Health data"] == {
        "Name": "Health data",
        "Sensitivity": Sensitivity.SPECIAL.label,
        "Art. 9(1) category": SpecialCategory.HEALTH.label,
        "CNIL group": CnilGroup.IDENTITY.label,
        "Description": "Sick leave.",
    }
    assert rows["Criminal records"]["Sensitivity"] == Sensitivity.CRIMINAL.label
    assert rows["Criminal records"]["Art. 9(1) category"] == ""
    assert rows["Criminal records"]["CNIL group"] == ""
    assert rows["Contact details"]["Sensitivity"] == Sensitivity.ORDINARY.label


def test_export_data_categories_lists_a_category_named_by_a_retention_rule_only():
    activity = ProcessingActivityFactory(retention=False)
    RetentionRuleFactory(
        activity=activity,
        personal_data_category=PersonalDataCategoryFactory(name="Invoices"),
    )

    assert "Invoices" in _names(xlsx_records(layout.DATA_CATEGORIES))


# ---------------------------------------------------------------------------
# Recipients
# ---------------------------------------------------------------------------


@pytest.fixture
def recipients():
    """Recipients in and outside the EEA, of each type, one of no country."""
    ProcessingActivityFactory(
        recipients=[
            RecipientFactory(name="Courier"),
            RecipientFactory(
                name="Support desk",
                outside_eea=True,
                processor=True,
                organisation=OrganisationFactory(name="Desk Pvt Ltd"),
            ),
            RecipientFactory(name="Tax authorities", country=""),
        ]
    )
    RecipientFactory(name="Unused recipient")


def test_export_recipients_sheet_states_type_organisation_and_country(recipients):
    rows = {row["Name"]: row for row in xlsx_records(layout.RECIPIENTS)}

    assert list(rows) == ["Courier", "Support desk", "Tax authorities"]
    assert rows["Support desk"] == {
        "Name": "Support desk",
        "Type": RecipientType.PROCESSOR.label,
        "Organisation": "Desk Pvt Ltd",
        "Country": "IN",
        "Outside the EEA": "yes",
    }
    assert rows["Courier"]["Type"] == RecipientType.EXTERNAL.label
    assert rows["Courier"]["Organisation"] == ""
    assert (rows["Courier"]["Country"], rows["Courier"]["Outside the EEA"]) == (
        "SE",
        "no",
    )
    # No country: whether it is outside the EEA is not known.
    assert rows["Tax authorities"]["Outside the EEA"] == ""


def test_export_recipients_lists_a_recipient_named_by_a_transfer_only():
    activity = ProcessingActivityFactory(recipients=[])
    InternationalTransferFactory(
        activity=activity,
        country="IN",
        recipient=RecipientFactory(name="Offshore team", outside_eea=True),
    )

    assert _names(xlsx_records(layout.RECIPIENTS)) == ["Offshore team"]


# ---------------------------------------------------------------------------
# Which categories and recipients: those of the exported activities
# ---------------------------------------------------------------------------


def test_export_for_one_controller_lists_its_categories_and_recipients_only():
    mine, other = GroupCompanyFactory(), GroupCompanyFactory()
    ProcessingActivityFactory(
        organisations=[mine],
        personal_data_categories=[PersonalDataCategoryFactory(name="Mine")],
        recipients=[RecipientFactory(name="My courier")],
    )
    ProcessingActivityFactory(
        organisations=[other],
        personal_data_categories=[PersonalDataCategoryFactory(name="Theirs")],
        recipients=[RecipientFactory(name="Their courier")],
    )

    assert _names(xlsx_records(layout.DATA_CATEGORIES, controller=mine)) == ["Mine"]
    assert _names(xlsx_records(layout.RECIPIENTS, controller=mine)) == ["My courier"]
    assert _names(xlsx_records(layout.DATA_CATEGORIES)) == ["Mine", "Theirs"]


def test_export_as_of_lists_the_categories_and_recipients_as_they_were():
    with on(moment(DAY1)):
        category = PersonalDataCategoryFactory(name="Medical notes")
        recipient = RecipientFactory(name="Clinic")
        activity = ProcessingActivityFactory(
            personal_data_categories=[category], recipients=[recipient]
        )
    with on(moment(DAY2)):
        category.sensitivity = Sensitivity.SPECIAL
        category.special_category = SpecialCategory.HEALTH
        category.save()
        recipient.country = "IN"
        recipient.save()
        activity.recipients.add(RecipientFactory(name="Added later"))

    [then] = xlsx_records(layout.DATA_CATEGORIES, as_of=DAY1)
    recipients_then = xlsx_records(layout.RECIPIENTS, as_of=DAY1)

    assert (then["Sensitivity"], then["Art. 9(1) category"]) == (
        Sensitivity.ORDINARY.label,
        "",
    )
    assert [(row["Name"], row["Country"]) for row in recipients_then] == [
        ("Clinic", "SE")
    ]
    [now] = xlsx_records(layout.DATA_CATEGORIES)
    assert now["Sensitivity"] == Sensitivity.SPECIAL.label


def test_export_csv_has_the_data_categories_and_recipients_files(
    categories, recipients
):
    for sheet in (layout.DATA_CATEGORIES, layout.RECIPIENTS):
        assert csv_records(sheet) == xlsx_records(sheet), sheet.name


# ---------------------------------------------------------------------------
# The Controller sheet: every controller, with its role
# ---------------------------------------------------------------------------


def test_export_controller_sheet_lists_joint_and_client_controllers_with_roles():
    acme = GroupCompanyFactory(name="Acme AB", email="privacy@acme.example")
    partner = OrganisationFactory(name="Partner AS", phone="+47 22 00 00 00")
    client = OrganisationFactory(name="Client GmbH", email="dpo@client.example")
    ProcessingActivityFactory(
        organisations=[acme],
        joint_arrangement=JointControllerArrangementFactory(parties=[acme, partner]),
    )
    ProcessingActivityFactory(
        processor_record=True, organisations=[acme], client_controllers=[client]
    )
    # Their parties are no controllers of the exported activities.
    JointControllerArrangementFactory(parties=[OrganisationFactory(name="Idle AB")])

    controllers = _controllers()

    assert list(controllers) == ["Acme AB", "Client GmbH", "Partner AS"]
    assert controllers["Acme AB"]["Role in the register"] == (
        "responsible; joint controller"
    )
    assert controllers["Partner AS"]["Role in the register"] == "joint controller"
    assert controllers["Partner AS"]["Phone"] == "+47 22 00 00 00"
    assert controllers["Client GmbH"]["Role in the register"] == "client controller"
    assert controllers["Client GmbH"]["E-mail"] == "dpo@client.example"


def test_export_for_one_controller_lists_its_joint_and_client_controllers():
    mine = GroupCompanyFactory(name="Mine AB")
    ProcessingActivityFactory(
        organisations=[mine],
        joint_arrangement=JointControllerArrangementFactory(
            parties=[mine, OrganisationFactory(name="Partner AS")]
        ),
    )
    ProcessingActivityFactory(
        processor_record=True,
        client_controllers=[OrganisationFactory(name="Someone else's client")],
    )

    roles = {
        name: row["Role in the register"]
        for name, row in _controllers(controller=mine).items()
    }

    assert roles == {
        "Mine AB": "responsible; joint controller",
        "Partner AS": ("joint controller"),
    }


# ---------------------------------------------------------------------------
# The import reads none of them
# ---------------------------------------------------------------------------


def test_import_ignores_the_data_categories_and_recipients_sheets(
    tmp_path, categories, recipients
):
    path = tmp_path / "register.xlsx"
    path.write_bytes(export_bytes(XLSX))
    workbook = load_workbook(path)
    # A person edits the sheets written for readers: nothing of it is read.
    workbook[layout.DATA_CATEGORIES.name]["B2"] = Sensitivity.ORDINARY.label
    workbook[layout.DATA_CATEGORIES.name]["A3"] = "Renamed category"
    workbook[layout.RECIPIENTS.name]["B2"] = RecipientType.INTERNAL.label
    workbook[layout.RECIPIENTS.name]["A5"] = "New recipient"
    workbook.save(path)
    before = {
        "categories": list(PersonalDataCategory.objects.values().order_by("pk")),
        "recipients": list(Recipient.objects.values().order_by("pk")),
        "activities": list(ProcessingActivity.objects.values().order_by("pk")),
    }

    plan = import_register(path, file_name=path.name)

    assert not plan.has_errors
    assert {row.action for row in plan.rows} == {UNCHANGED}
    assert before == {
        "categories": list(PersonalDataCategory.objects.values().order_by("pk")),
        "recipients": list(Recipient.objects.values().order_by("pk")),
        "activities": list(ProcessingActivity.objects.values().order_by("pk")),
    }
