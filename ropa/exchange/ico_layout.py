"""
The UK ICO's documentation template for controllers, as its sheet is laid out.

Sheet "Template": a header block in rows 1-6 (the title, then Name, Address,
Email and Telephone of the controller, the data protection officer and the
representative, one column each), the template's section headings in row 8
and its 30 column headings in row 9 (columns A-AD), one processing activity
per row below.

Each column is declared once (``ICO_COLUMNS``): its heading as the template
has it, the wordings older templates and other tools use (``aliases``, which
the import matches as well), and how the export writes it. A column holding
one of the register's fields as it is names that field's column of our own
Activities sheet (``Column.same_as``); the others join or describe several
fields. The import (``ropa.exchange.ico``) reads the same columns.
"""

from dataclasses import dataclass, replace

from django_countries import countries

from ropa.core.cells import YES
from ropa.enums import (
    LawfulBasisChoice,
    Profiling,
    RecipientType,
    SpecialCategoryCondition,
    TransferMechanism,
)
from ropa.exchange.books import basis_order, transfer_order
from ropa.exchange.columns import Column, Sheet, column_of, label
from ropa.exchange.layout import (
    ACTIVITY_COLUMNS,
    name_list,
    retention_text,
    transfer_destination,
)
from ropa.models import Recipient

SHEET_NAME = "Template"
TITLE = "Record of processing activities (GDPR Art. 30)"

# The header block: the parties across, their contact details down.
PARTY_ROW = 2
CONTROLLER = "Controller"
OFFICER = "Data Protection Officer"
REPRESENTATIVE = "Representative"
PARTIES = (CONTROLLER, OFFICER, REPRESENTATIVE)
NAME, ADDRESS, EMAIL, TELEPHONE = CONTACT_LABELS = (
    "Name",
    "Address",
    "Email",
    "Telephone",
)
# Other wordings of the header block's labels, folded (``ico_text.fold``).
PARTY_ALIASES = {
    CONTROLLER: ("controller", "data controller", "organisation", "organization"),
    OFFICER: ("data protection officer", "dpo", "data protection officer (dpo)"),
    REPRESENTATIVE: (
        "representative",
        "representative (if applicable)",
        "art. 27 representative",
        "article 27 representative",
        "eu representative",
        "uk representative",
    ),
}
CONTACT_ALIASES = {
    NAME: ("name", "names"),
    ADDRESS: ("address", "postal address", "contact address"),
    EMAIL: ("email", "e-mail", "email address", "e-mail address"),
    TELEPHONE: ("telephone", "phone", "telephone number", "phone number", "tel"),
}
SECTION_ROW = 8
HEADING_ROW = 9


def _paragraphs(*texts):
    return "\n\n".join(text for text in texts if text)


def _bases(activity):
    return sorted(activity["lawful_bases"], key=basis_order)


def _transfers(activity):
    return sorted(activity["transfers"], key=transfer_order)


def _purpose(activity, names):
    # The title, then the description: one line when they are the same.
    if activity["purpose"].strip() == activity["name"].strip():
        return activity["name"]
    return _paragraphs(activity["name"], activity["purpose"])


PROCESSOR_MARK = "(processor)"


def _recipients(activity, names):
    """The recipients, processors marked as the import reads them."""
    details = names.catalogue.details[Recipient]
    return name_list(
        f"{details[pk]['name']} {PROCESSOR_MARK}"
        if details[pk]["recipient_type"] == RecipientType.PROCESSOR
        else details[pk]["name"]
        for pk in activity["recipients"]
    )


def contact_line(*details):
    """A party's name and contact details on one line, comma-separated."""
    return ", ".join(
        " ".join(detail.split()) for detail in details if detail and detail.strip()
    )


def _joint_controllers(activity, names):
    """
    The other parties to the activity's arrangement, one paragraph each: name,
    address, email, telephone; then the contact point for data subjects.
    """
    arrangement_id = activity["joint_arrangement_id"]
    if arrangement_id is None:
        return ""
    arrangement = names.catalogue.arrangements[arrangement_id]
    # The parties but the controller the template documents (else but the
    # activity's own organisations).
    own = (
        {names.controller_id}
        if names.controller_id is not None
        else set(activity["organisations"])
    )
    parties = [
        names.catalogue.organisations[pk]
        for pk in arrangement["parties"]
        if pk not in own
    ]
    contact_point = arrangement["contact_point"]
    return _paragraphs(
        *(
            contact_line(
                party["name"], party["address"], party["email"], party["phone"]
            )
            for party in sorted(parties, key=lambda party: party["name"])
        ),
        f"{CONTACT_POINT}: {contact_point}" if contact_point else "",
    )


CONTACT_POINT = "Contact point for data subjects"


def _contracts(activity, names):
    agreements = names.catalogue.agreements
    return name_list(
        ": ".join(
            part
            for part in (
                agreements[pk]["reference"],
                agreements[pk]["document_reference"],
            )
            if part
        )
        for pk in activity["processor_agreements"]
    )


def _destinations(activity, names):
    return name_list(
        f"{countries.name(transfer['country']) or transfer_destination(transfer)} "
        f"({label(TransferMechanism, transfer['mechanism'])})"
        for transfer in _transfers(activity)
    )


def _safeguards(activity, names):
    return name_list(
        f"{transfer_destination(transfer)}: {transfer['safeguards_documentation']}"
        for transfer in _transfers(activity)
        if transfer["safeguards_documentation"]
    )


def _retention(activity, names):
    return name_list(
        retention_text(rule, names) for rule in activity["retention_rules"]
    )


def _security(activity, names):
    measures = names.joined(names.measures, activity["security_measures"])
    return _paragraphs(
        activity["security_description"],
        f"{MEASURES}: {measures}" if measures else "",
    )


MEASURES = "Measures"


def _article_6(activity, names):
    return name_list(
        label(LawfulBasisChoice, basis["basis"]) for basis in _bases(activity)
    )


def _article_9(activity, names):
    return name_list(
        label(SpecialCategoryCondition, basis["special_category_condition"])
        for basis in _bases(activity)
        if basis["special_category_condition"]
    )


def _legitimate_interests(activity, names):
    return _paragraphs(
        *(
            basis["legitimate_interest"]
            for basis in _bases(activity)
            if basis["legitimate_interest"]
        )
    )


def _interests_assessment(activity, names):
    return name_list(
        basis["assessment_reference"]
        for basis in _bases(activity)
        if basis["legitimate_interest"] and basis["assessment_reference"]
    )


def _automated_decisions(activity, names):
    return _paragraphs(
        label(Profiling, activity["profiling"]), activity["profiling_description"]
    )


def _breach(activity, names):
    # The register keeps a link to breach records, not a yes / no: only a
    # link answers it.
    return YES.capitalize() if activity["breach_reference"] else ""


def _schedule_1(activity, names):
    # Schedule 1 of the Act also conditions criminal offence data (s. 10(5)),
    # which the register's Art. 10 authority names.
    return name_list(
        basis["criminal_data_authority"]
        for basis in _bases(activity)
        if basis["criminal_data_authority"]
    )


def _special_bases(activity, names):
    """The Art. 6 bases of the processing of special or criminal data."""
    return name_list(
        label(LawfulBasisChoice, basis["basis"])
        for basis in _bases(activity)
        if basis["special_category_condition"] or basis["criminal_data_authority"]
    )


def _yes_no_label(key):
    def write(row, names):
        return {True: "Yes", False: "No"}.get(row[key], "")

    return write


@dataclass(frozen=True)
class IcoColumn:
    """
    A column of the template: its heading, older wordings of it, how the
    export writes it and, where it holds one field as it is, that field's
    column of our Activities sheet.
    """

    header: str
    write: object
    aliases: tuple = ()
    same_as: Column | None = None


def ico(header, write=None, *, same_as=None, aliases=()):
    if same_as is not None:
        same_as = column_of(ACTIVITY_COLUMNS, same_as)
        write = write or same_as.write
    return IcoColumn(header, write, aliases=tuple(aliases), same_as=same_as)


# The UK ICO "documentation template for controllers", its columns in its
# order (A-AD), with the wordings of earlier templates and of other tools.
ICO_COLUMNS = (
    ico("Business function", same_as="business_function"),
    ico(
        "Purpose of processing",
        _purpose,
        aliases=("Purpose of the processing", "Purposes of processing", "Purpose"),
    ),
    ico(
        "Name and contact details of joint controller (if applicable)",
        _joint_controllers,
        aliases=("Joint controller", "Name and contact details of joint controllers"),
    ),
    ico(
        "Categories of individuals",
        same_as="data_subject_categories",
        aliases=("Categories of data subjects", "Data subjects"),
    ),
    ico(
        "Categories of personal data",
        same_as="personal_data_categories",
        aliases=("Personal data categories", "Types of personal data"),
    ),
    ico(
        "Categories of recipients",
        _recipients,
        same_as="recipients",
        aliases=("Recipients", "Categories of recipient"),
    ),
    ico(
        "Link to contract with processor",
        _contracts,
        aliases=(
            "Link to contracts with processors",
            "Contract with processor",
            "Processor contract",
        ),
    ),
    ico(
        "Names of third countries or international organisations that personal "
        "data are transferred to (if applicable)",
        _destinations,
        aliases=(
            "Names of third countries or international organisations that "
            "personal data is transferred to",
            "Third countries or international organisations",
            "International transfers",
            "Third countries",
        ),
    ),
    ico(
        "Safeguards for exceptional transfers of personal data to third "
        "countries or international organisations (if applicable)",
        _safeguards,
        aliases=(
            "Safeguards for exceptional transfers",
            "Safeguards for transfers",
            "Transfer safeguards",
        ),
    ),
    ico(
        "Retention schedule (if possible)",
        _retention,
        aliases=("Retention period", "Retention periods", "Retention"),
    ),
    ico(
        "General description of technical and organisational security measures "
        "(if possible)",
        _security,
        aliases=(
            "General description of technical and organizational security measures",
            "Technical and organisational security measures",
            "Security measures",
        ),
    ),
    ico(
        "Article 6 lawful basis for processing personal data",
        _article_6,
        aliases=(
            "Article 6 basis for processing personal data",
            "Lawful basis for processing personal data",
            "Lawful basis for processing",
            "Lawful basis",
        ),
    ),
    ico(
        "Article 9 condition for processing special category data",
        _article_9,
        aliases=(
            "Article 9 basis for processing special category data",
            "Article 9 condition for processing special categories of data",
            "Condition for processing special category data",
            "Special category condition",
        ),
    ),
    ico(
        "Legitimate interests for the processing (if applicable)",
        _legitimate_interests,
        aliases=("Legitimate interests", "Legitimate interest"),
    ),
    ico(
        "Link to record of legitimate interests assessment (if applicable)",
        _interests_assessment,
        aliases=(
            "Link to legitimate interests assessment",
            "Legitimate interests assessment",
            "Link to LIA",
        ),
    ),
    ico(
        "Rights available to individuals",
        same_as="rights_information",
        aliases=("Rights available", "Individuals' rights"),
    ),
    ico(
        "Existence of automated decision-making, including profiling (if applicable)",
        _automated_decisions,
        aliases=(
            "Existence of automated decision making, including profiling",
            "Automated decision-making, including profiling",
            "Automated decision-making",
        ),
    ),
    ico(
        "The source of the personal data (if applicable)",
        same_as="data_source",
        aliases=("Source of the personal data", "Source of personal data", "Source"),
    ),
    ico(
        "Link to record of consent",
        same_as="consent_record_reference",
        aliases=("Link to consent record", "Record of consent"),
    ),
    ico(
        "Location of personal data",
        same_as="data_location",
        aliases=("Location of the personal data", "Location"),
    ),
    ico(
        "Data Protection Impact Assessment required?",
        _yes_no_label("dpia_required"),
        same_as="dpia_required",
        aliases=("DPIA required?", "Is a DPIA required?"),
    ),
    ico(
        "Data Protection Impact Assessment progress",
        same_as="dpia_status",
        aliases=("DPIA progress", "DPIA status"),
    ),
    ico(
        "Link to Data Protection Impact Assessment",
        same_as="dpia_reference",
        aliases=("Link to DPIA", "DPIA link"),
    ),
    ico(
        "Has a personal data breach occurred?",
        _breach,
        aliases=("Personal data breach?", "Breach?"),
    ),
    ico(
        "Link to record of personal data breach",
        same_as="breach_reference",
        aliases=("Link to personal data breach record", "Link to breach record"),
    ),
    ico(
        "Data Protection Act 2018 Schedule 1 Condition for processing",
        _schedule_1,
        aliases=(
            "DPA 2018 Schedule 1 condition for processing",
            "Schedule 1 condition for processing",
            "Schedule 1 condition",
        ),
    ),
    ico(
        "GDPR Article 6 lawful basis for processing",
        _special_bases,
        aliases=("UK GDPR Article 6 lawful basis for processing",),
    ),
    ico(
        "Link to retention and erasure policy document",
        same_as="retention_policy_reference",
        aliases=(
            "Link to retention and erasure policy",
            "Retention and erasure policy document",
        ),
    ),
    ico(
        "Is personal data retained and erased in accordance with the policy document?",
        _yes_no_label("retention_policy_followed"),
        same_as="retention_policy_followed",
        aliases=(
            "Is the personal data retained and erased in accordance with the "
            "policy document?",
            "Retained and erased in accordance with the policy document?",
        ),
    ),
    ico(
        "Reasons for not adhering to policy document (if applicable)",
        same_as="retention_policy_deviation",
        aliases=(
            "Reason for not adhering to policy document",
            "Reasons for not adhering to the policy document",
        ),
    ),
)

# The template's sections (row 8), each above the first of its columns.
SECTIONS = (
    ("Article 30 Record of Processing Activities", 0),
    ("Privacy Notices", 11),
    ("Consent", 18),
    ("Access Requests", 19),
    ("Data Protection Impact Assessments", 20),
    ("Personal Data Breaches", 23),
    (
        "Data Protection Act 2018 \u2013 Special Category or Criminal Conviction "
        "and Offence data",
        25,
    ),
)

HEADERS = tuple(column.header for column in ICO_COLUMNS)
# Each column's heading, by what it holds, in the template's order.
(
    BUSINESS_FUNCTION,
    PURPOSE,
    JOINT_CONTROLLER,
    INDIVIDUALS,
    PERSONAL_DATA,
    RECIPIENTS,
    PROCESSOR_CONTRACT,
    THIRD_COUNTRIES,
    SAFEGUARDS,
    RETENTION,
    SECURITY,
    ARTICLE_6,
    ARTICLE_9,
    LEGITIMATE_INTERESTS,
    INTERESTS_ASSESSMENT,
    RIGHTS,
    AUTOMATED_DECISIONS,
    SOURCE,
    CONSENT_RECORD,
    LOCATION,
    DPIA_REQUIRED,
    DPIA_PROGRESS,
    DPIA_LINK,
    BREACH,
    BREACH_LINK,
    SCHEDULE_1,
    SPECIAL_BASES,
    RETENTION_POLICY,
    RETENTION_FOLLOWED,
    RETENTION_DEVIATION,
) = HEADERS
TEMPLATE = Sheet(
    SHEET_NAME,
    "ico-template.csv",
    tuple(replace(Column(column.header), write=column.write) for column in ICO_COLUMNS),
)


def section_row():
    """Row 8: each section's heading above its first column."""
    cells = [""] * len(ICO_COLUMNS)
    for title, position in SECTIONS:
        cells[position] = title
    return cells
