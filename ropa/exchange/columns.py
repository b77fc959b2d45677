"""
The columns our own export's import reads, per sheet: the heading, the
field it fills and how its cell is read (``ropa.exchange.reading``).
"""

from dataclasses import dataclass

from ropa.enums import (
    ActivityRole,
    ActivityStatus,
    DPIAStatus,
    LawfulBasisChoice,
    Profiling,
    RetentionAction,
    RetentionUnit,
    SpecialCategoryCondition,
    TransferMechanism,
)
from ropa.exchange import layout as fmt
from ropa.exchange.reading import (
    read_boolean,
    read_choice,
    read_country,
    read_many,
    read_one,
    read_reference,
    read_text,
    read_whole_number,
)
from ropa.models import (
    InternationalTransfer,
    LawfulBasis,
    RetentionRule,
)


@dataclass(frozen=True)
class Column:
    """A column of a sheet and the model field it fills."""

    header: str
    field: str
    read: object
    # The catalogue naming a related row (foreign key or many-to-many).
    catalogue: str = ""
    many: bool = False


def _text_column(header, name):
    return Column(header, name, read_text)


def _one(header, name, catalogue):
    return Column(header, name, read_one(catalogue), catalogue=catalogue)


def _many(header, name, catalogue):
    return Column(header, name, read_many(catalogue), catalogue=catalogue, many=True)


REFERENCE = "Reference"
VERSION = fmt.VERSION

# Every column of the Activities sheet but the read-only ones.
ACTIVITY_COLUMNS = (
    Column(REFERENCE, "reference", read_reference),
    _text_column("Name", "name"),
    Column("Status", "status", read_choice(ActivityStatus)),
    Column("Record type", "role", read_choice(ActivityRole)),
    _many("Responsible organisations", "organisations", "organisations"),
    _one("Joint controller arrangement", "joint_arrangement", "arrangements"),
    _text_column("Joint processing", "joint_processing"),
    _many("Client controllers", "client_controllers", "organisations"),
    _text_column("Purpose", "purpose"),
    _text_column("Business function", "business_function"),
    _one("Owner", "owner", "users"),
    _many("Data subject categories", "data_subject_categories", "subjects"),
    _many("Personal data categories", "personal_data_categories", "data"),
    _text_column("Source of the data", "data_source"),
    _many("Recipients", "recipients", "recipients"),
    _many("Processor agreements", "processor_agreements", "agreements"),
    _many("Security measures", "security_measures", "measures"),
    _text_column("General description of security measures", "security_description"),
    _text_column("Systems and software", "systems"),
    _text_column("Location of the data", "data_location"),
    Column("Profiling", "profiling", read_choice(Profiling)),
    _text_column("Profiling and automated decision-making", "profiling_description"),
    Column("State profiling in the notice", "profiling_in_notice", read_boolean()),
    Column("DPIA required", "dpia_required", read_boolean()),
    Column("DPIA progress", "dpia_status", read_choice(DPIAStatus, blank=True)),
    _text_column("Link to DPIA", "dpia_reference"),
    _text_column("Rights available", "rights_information"),
    _text_column("Opt-out information", "opt_out_information"),
    _text_column("Link to record of consent", "consent_record_reference"),
    _text_column("Link to personal data breach records", "breach_reference"),
    _text_column("Link to retention and erasure policy", "retention_policy_reference"),
    Column(
        "Retained and erased according to the policy",
        "retention_policy_followed",
        read_boolean(nullable=True),
    ),
    _text_column("Reason for not following the policy", "retention_policy_deviation"),
    Column("In the privacy notice", "in_notice", read_boolean()),
    Column("Notice order", "notice_order", read_whole_number),
    _text_column("Notice title", "notice_title"),
    _text_column("Notice text", "notice_text"),
)

LAWFUL_BASIS_COLUMNS = (
    Column("Basis", "basis", read_choice(LawfulBasisChoice)),
    _text_column("Explanation", "explanation"),
    _text_column("Legitimate interest pursued", "legitimate_interest"),
    _text_column("Legitimate interests assessment", "assessment_reference"),
    Column(
        "Art. 9(2) condition",
        "special_category_condition",
        read_choice(SpecialCategoryCondition, blank=True),
    ),
    _text_column("Art. 10 authority", "criminal_data_authority"),
    Column("Sample value", "is_sample", read_boolean()),
)

TRANSFER_COLUMNS = (
    Column("Country", "country", read_country),
    _text_column("International organisation", "international_organisation"),
    Column("Mechanism", "mechanism", read_choice(TransferMechanism)),
    _one("Recipient", "recipient", "recipients"),
    _text_column("Documentation of suitable safeguards", "safeguards_documentation"),
    _text_column("Transfer impact assessment", "tia_reference"),
    _text_column("Notes", "notes"),
)

RETENTION_COLUMNS = (
    _one("Personal data category", "personal_data_category", "data"),
    Column("Period", "period", read_whole_number),
    Column("Period unit", "period_unit", read_choice(RetentionUnit, blank=True)),
    _text_column("Criteria", "criteria"),
    _text_column("Trigger", "trigger"),
    Column("Action at the end", "end_action", read_choice(RetentionAction)),
    _text_column("Legal reference", "legal_reference"),
    Column("Sample value", "is_sample", read_boolean()),
)


@dataclass(frozen=True)
class ChildSheet:
    """A sheet of rows that belong to an activity, and how they are keyed."""

    sheet: fmt.Sheet
    model: type
    columns: tuple
    # The fields that, with the activity, identify a row (the sheet's key).
    key_fields: tuple
    related: tuple = ()


CHILD_SHEETS = (
    ChildSheet(fmt.LAWFUL_BASES, LawfulBasis, LAWFUL_BASIS_COLUMNS, ("basis",)),
    ChildSheet(
        fmt.TRANSFERS,
        InternationalTransfer,
        TRANSFER_COLUMNS,
        ("country", "international_organisation", "mechanism"),
        related=("recipient",),
    ),
    ChildSheet(
        fmt.RETENTION_RULES,
        RetentionRule,
        RETENTION_COLUMNS,
        ("personal_data_category",),
        related=("personal_data_category",),
    ),
)

IMPORTED_SHEETS = (fmt.ACTIVITIES, *(child.sheet for child in CHILD_SHEETS))
REFERENCE_SHEETS = (fmt.CONTROLLER, fmt.PROCESSORS, fmt.JOINT_ARRANGEMENTS)
