"""
The layout of the exported Art. 30 register, shared by the export and the import.

The register is exported as an XLSX workbook or as a zip of CSV files, one CSV
per sheet, with the same cells: ``SHEETS`` names each sheet, its CSV file name
and its columns, in order. Each column (``Column``) is declared once, here:
its header, the field it holds, how the import reads its cell and how the
export writes it, and whether it is read-only, part of the row's natural key
or the record's version. The export writes the sheets from these
declarations, the import reads them, and the snapshot reads the fields they
name; an import of our own export reads this module, not the export's code.
A new column of the register is one more declaration.

Sheets
    ``Controller`` first: a header block, then a table of the controllers (see
    below). Then ``Activities`` (one row per processing activity), ``Lawful
    bases``, ``Transfers``, ``Retention rules``, ``Processors`` (one row per
    Art. 28 agreement), ``Joint arrangements`` (one row per Art. 26
    arrangement), ``Data categories`` (each personal data category the
    activities name: its sensitivity, Art. 9(1) category and CNIL group) and
    ``Recipients`` (each recipient the activities name: its type,
    organisation, country and whether that is outside the EEA on the
    export's date). Every sheet but ``Controller`` has its column headers in
    row 1 and one record per row below. Child rows name their activity by
    its ``Reference``.

The ``Controller`` sheet
    Rows 1 to 4 are the header block, a label in column A and its value in
    column B: the title (``REGISTER_TITLE``, no value), ``Controller`` (the
    organisation's name, or ``ALL_CONTROLLERS``), ``As of`` (a date, or
    ``CURRENT`` for the register as it stands) and ``Exported at`` (the moment
    the export began, to the minute, in the project's time zone). Row 5 is
    empty. Row 6 holds ``CONTROLLER_COLUMNS`` and each row below one
    organisation of the exported activities (Art. 30(1)(a) and 30(2)(a)): a
    responsible organisation, a party of their joint arrangements or a
    client controller of the processor records, its roles
    (``CONTROLLER_ROLES``), name, contact details, DPO and Art. 27
    representative.

The ``For the import`` sheet (``FOR_THE_IMPORT``, hidden in the workbook)
    What the import of the file needs and a reader does not: row 1 a note
    saying so, row 2 ``Exported at`` with the moment exactly (ISO 8601 to the
    microsecond, with its UTC offset), row 3 empty, row 4 ``CODE_COLUMNS``
    and, below, each choice of each choice column of the sheets
    (``Sheet.choices``): its sheet, column, stable code and label as written.
    The import reads the labels of the file from it, so a file stays
    importable when a label is reworded later. It is last in the workbook.

Natural keys (``Sheet.key``)
    Activities: Reference. Lawful bases: Reference + Basis. Transfers:
    Reference + Country + International organisation + Mechanism. Retention
    rules: Reference + Personal data category, where an empty category is the
    rule for all of the activity's data. Processors: the agreement's Reference.
    Joint arrangements: Reference.

How values are written
    For a person to read, and as the same cells in the XLSX workbook and the
    CSV files. Text is written as it is stored, whole: the register holds no
    text longer than an XLSX cell (``ropa.core.spreadsheet.CELL_LIMIT``), and the
    XLSX export refuses one rather than cut it. An import reads text of
    whitespace only as empty, as the admin's forms do. Choices are written as
    their labels ("Legitimate interests (Art. 6(1)(f))"); their stable codes
    (``legitimate_interests``) are on the ``For the import`` sheet, and the
    import reads a cell's label, or its code, as that code. Booleans are
    ``yes`` / ``no``; an unknown (null) boolean is an empty cell. Dates are
    date cells shown as ``2024-01-15``, date-times date cells in the project's
    time zone shown as ``2024-01-15 10:03`` (in CSV, that text). Countries are
    ISO 3166-1 alpha-2 codes. Numbers (notice order, retention period,
    version) are numbers. Related records are named by their unique name;
    processor agreements, joint arrangements and activities by their
    reference; the owner by username. Empty is an empty cell.

Columns added in a later release
    Declared ``optional``: a file exported before they existed lacks them, and
    the import then leaves their fields as they are (a new record gets the
    field's default).

Lists (many-to-many values)
    Joined with ``LIST_SEPARATOR`` ("; ", ``ropa.core.cells``). Names are
    not refused for holding a semicolon: each item is escaped instead, a
    backslash before every ``\\`` and ``;`` in it, so ``join_list`` /
    ``split_list`` round-trip any names. Items are sorted by name
    (``name_list``).

Formulas
    No cell is ever a formula (DESIGN: "Exports never emit a cell that a
    spreadsheet would run as a formula"). Text that a spreadsheet could take
    for a formula, or whose leading apostrophe it would take for the mark of
    text (``ropa.core.spreadsheet.needs_quote_prefix``), is kept as typed: in the
    workbook, as a text cell in Excel's quote-prefix style, its value
    unchanged, which the import reads as it is; in CSV, with an apostrophe
    before it (``to_cell``), which ``from_cell`` removes. Workbooks exported
    before the ``For the import`` sheet existed carry that apostrophe too,
    and the import removes it from them.

Read-only columns (``Sheet.read_only``)
    Written for readers, derived from other sheets or set by the system; an
    import ignores them. ``Art. 30 gaps`` lists, a line each, the elements of
    Art. 30 the activity lacks (``ropa.completeness``), as of the export's
    date.

Versions (``Sheet.checked``: the ``Version`` column)
    The Activities, Lawful bases, Transfers and Retention rules sheets end
    with ``VERSION``: the record's ``version`` (``ropa.core.versioning``), which
    counts its saves; an as-of export writes the version the record had then.
    The import reads the column and never writes it: a row that would change
    a record no longer at the file's version is refused, since the record was
    changed after the file was exported. A row added to the file leaves it
    empty. ``Exported at`` tells the import, likewise, which child rows
    missing from the file were added or changed after the export, and which
    exported rows (Version filled) name a record deleted since.

The layouts of the regulators' templates (the UK ICO's, the CNIL's) are
declared beside this one, in ``ropa.exchange.ico_layout`` and the modules of
their exports.
"""

import datetime

from controllers.enums import DPOEngagement, JointScope
from ropa.core.cells import join_list, yes_no
from ropa.core.spreadsheet import needs_quote_prefix
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
from ropa.exchange.columns import (
    REFERENCE,
    Column,
    Sheet,
    boolean,
    choice,
    field_value,
    label,
    label_of,
    many,
    number,
    one,
    parent_reference,
    summary,
    text,
    version,
    written,
    yes_no_of,
)
from ropa.exchange.reading import (
    read_country,
    read_reference,
)
from ropa.models import (
    InternationalTransfer,
    LawfulBasis,
    ProcessingActivity,
    RetentionRule,
)
from subjects.enums import CnilGroup, Sensitivity, SpecialCategory

REGISTER_TITLE = "Record of processing activities (GDPR Art. 30)"
ALL_CONTROLLERS = "All controllers"
CURRENT = "current"
HEADER_BLOCK = (REGISTER_TITLE, "Controller", "As of", "Exported at")
# Row numbers (1-based) of the Controller sheet's parts.
CONTROLLER_HEADER_ROW = len(HEADER_BLOCK) + 2


def name_list(names):
    """Names as one list cell, as the export writes them: sorted, then joined."""
    return join_list(sorted(names))


def _names(attribute, key):
    def write(row, names):
        return names.joined(getattr(names, attribute), row[key])

    return write


def _used_by(attribute):
    def write(row, names):
        return name_list(getattr(names, attribute)[row["id"]])

    return write


def transfer_destination(transfer):
    """A transfer's country, or its international organisation."""
    return transfer["country"] or transfer["international_organisation"]


def retention_text(rule, names):
    """``All data: 3 years after the end of the contract, then erase``."""
    scope = names.data_category(rule["personal_data_category_id"]) or "All data"
    if rule["period"]:
        unit = rule["period_unit"]
        how_long = " ".join(
            part for part in (str(rule["period"]), unit, rule["trigger"]) if part
        )
    else:
        how_long = rule["criteria"].strip().rstrip(".")
    action = label(RetentionAction, rule["end_action"]).lower()
    return f"{scope}: {how_long}, then {action}"


def _officer(key):
    def write(row, names):
        return names.officer(row).get(key, "")

    return write


def _representative(key):
    def write(row, names):
        return names.representative(row).get(key, "")

    return write


# The roles of an organisation of the Controller sheet in the exported
# activities (Art. 30(1)(a), 30(2)(a)), in the order a cell lists them.
RESPONSIBLE = "responsible"
JOINT_CONTROLLER = "joint controller"
CLIENT_CONTROLLER = "client controller"
CONTROLLER_ROLES = (RESPONSIBLE, JOINT_CONTROLLER, CLIENT_CONTROLLER)


def _roles(row, names):
    return join_list(role for role in CONTROLLER_ROLES if role in row["roles"])


CONTROLLER_COLUMNS = (
    written("Name", field_value("name"), key=True),
    written("Role in the register", _roles),
    written("Registration number", field_value("registration_number")),
    written("Country", field_value("country")),
    written("Address", field_value("address")),
    written("E-mail", field_value("email")),
    written("Phone", field_value("phone")),
    written("Website", field_value("website")),
    written("DPO", _officer("name")),
    written("DPO e-mail", _officer("email")),
    written("DPO phone", _officer("phone")),
    written(
        "DPO engagement",
        lambda row, names: label(
            DPOEngagement, names.officer(row).get("engagement", "")
        ),
        choices=DPOEngagement,
    ),
    written("Representative", _representative("name")),
    written("Representative address", _representative("address")),
    written("Representative e-mail", _representative("email")),
    written("Representative phone", _representative("phone")),
)

ACTIVITY_COLUMNS = (
    Column(REFERENCE, "reference", read_reference, field_value("reference"), key=True),
    text("Name", "name"),
    choice("Status", "status", ActivityStatus),
    choice("Record type", "role", ActivityRole),
    # Art. 30(1)(a) / 30(2)(a)
    many(
        "Responsible organisations",
        "organisations",
        "organisations",
        _names("organisation_names", "organisations"),
    ),
    one(
        "Joint controller arrangement",
        "joint_arrangement",
        "arrangements",
        lambda row, names: names.arrangement(row["joint_arrangement_id"]),
    ),
    text("Joint processing", "joint_processing"),
    many(
        "Client controllers",
        "client_controllers",
        "organisations",
        _names("organisation_names", "client_controllers"),
    ),
    # Art. 30(1)(b)
    text("Purpose", "purpose"),
    text("Business function", "business_function"),
    one(
        "Owner",
        "owner",
        "users",
        lambda row, names: names.username(row["owner_id"]),
    ),
    # Art. 30(1)(c)
    many(
        "Data subject categories",
        "data_subject_categories",
        "subjects",
        _names("subjects", "data_subject_categories"),
    ),
    many(
        "Personal data categories",
        "personal_data_categories",
        "data",
        _names("data", "personal_data_categories"),
    ),
    text("Source of the data", "data_source"),
    # Art. 30(1)(d)
    many("Recipients", "recipients", "recipients", _names("recipients", "recipients")),
    many(
        "Processor agreements",
        "processor_agreements",
        "agreements",
        _names("agreement_references", "processor_agreements"),
    ),
    # Art. 30(1)(g)
    many(
        "Security measures",
        "security_measures",
        "measures",
        _names("measures", "security_measures"),
    ),
    text("General description of security measures", "security_description"),
    # Regulators' templates
    text("Systems and software", "systems"),
    text("Location of the data", "data_location"),
    choice("Profiling", "profiling", Profiling),
    text("Profiling and automated decision-making", "profiling_description"),
    boolean("State profiling in the notice", "profiling_in_notice"),
    boolean("DPIA required", "dpia_required"),
    choice("DPIA progress", "dpia_status", DPIAStatus, blank=True),
    text("Link to DPIA", "dpia_reference"),
    text("Rights available", "rights_information"),
    text("Opt-out information", "opt_out_information"),
    text("Link to record of consent", "consent_record_reference"),
    text("Link to personal data breach records", "breach_reference"),
    text("Link to retention and erasure policy", "retention_policy_reference"),
    boolean(
        "Retained and erased according to the policy",
        "retention_policy_followed",
        nullable=True,
    ),
    text("Reason for not following the policy", "retention_policy_deviation"),
    # The privacy notice
    boolean("In the privacy notice", "in_notice"),
    number("Notice order", "notice_order"),
    text("Notice title", "notice_title"),
    text("Notice text", "notice_text"),
    text("Kept from an import", "import_notes", optional=True),
    # Read-only: summaries of the child sheets, the record's gaps and dates.
    summary(
        "Lawful bases",
        lambda row, names: name_list(
            label(LawfulBasisChoice, basis["basis"]) for basis in row["lawful_bases"]
        ),
    ),
    summary(
        "Transfer destinations",
        lambda row, names: name_list(
            {transfer_destination(transfer) for transfer in row["transfers"]}
        ),
    ),
    summary(
        "Retention",
        lambda row, names: name_list(
            retention_text(rule, names) for rule in row["retention_rules"]
        ),
    ),
    summary(
        "Art. 30 gaps",
        lambda row, names: "\n".join(str(gap) for gap in names.gaps.of(row)),
    ),
    summary(
        "Created at",
        lambda row, names: names.local(row["created_at"]),
        field="created_at",
    ),
    summary(
        "Updated at",
        lambda row, names: names.local(row["updated_at"]),
        field="updated_at",
    ),
    # Checked by the import, never written: the record's version.
    version(),
)

LAWFUL_BASIS_COLUMNS = (
    parent_reference(),
    choice("Basis", "basis", LawfulBasisChoice, key=True),
    text("Explanation", "explanation"),
    text("Legitimate interest pursued", "legitimate_interest"),
    text("Legitimate interests assessment", "assessment_reference"),
    choice(
        "Art. 9(2) condition",
        "special_category_condition",
        SpecialCategoryCondition,
        blank=True,
    ),
    text("Art. 10 authority", "criminal_data_authority"),
    boolean("Sample value", "is_sample"),
    version(),
)

TRANSFER_COLUMNS = (
    parent_reference(),
    Column("Country", "country", read_country, field_value("country"), key=True),
    text("International organisation", "international_organisation", key=True),
    choice("Mechanism", "mechanism", TransferMechanism, key=True),
    one(
        "Recipient",
        "recipient",
        "recipients",
        lambda row, names: names.recipient(row["recipient_id"]),
    ),
    text("Documentation of suitable safeguards", "safeguards_documentation"),
    text("Transfer impact assessment", "tia_reference"),
    text("Scope of the adequacy decision", "adequacy_scope", optional=True),
    text("Notes", "notes"),
    version(),
)

RETENTION_RULE_COLUMNS = (
    parent_reference(),
    one(
        "Personal data category",
        "personal_data_category",
        "data",
        lambda row, names: names.data_category(row["personal_data_category_id"]),
        key=True,
    ),
    number("Period", "period"),
    choice("Period unit", "period_unit", RetentionUnit, blank=True),
    text("Criteria", "criteria"),
    text("Trigger", "trigger"),
    choice("Action at the end", "end_action", RetentionAction),
    text("Legal reference", "legal_reference"),
    boolean("Sample value", "is_sample"),
    version(),
)

PROCESSOR_COLUMNS = (
    written(REFERENCE, field_value("reference"), key=True),
    written("Processor", lambda row, names: names.organisation(row["processor_id"])),
    written("Controller", lambda row, names: names.organisation(row["controller_id"])),
    written("Services", field_value("services")),
    written("Document reference", field_value("document_reference")),
    written("Signed on", field_value("signed_on")),
    written("Expires on", field_value("expires_on")),
    written("Sub-processors", _names("organisation_names", "sub_processors")),
    written("Transfers covered", field_value("transfers_covered")),
    summary("Activities", _used_by("agreement_users")),
)

JOINT_ARRANGEMENT_COLUMNS = (
    written(REFERENCE, field_value("reference"), key=True),
    written("Name", field_value("name")),
    written("Parties", _names("organisation_names", "parties")),
    written("When joint", label_of("joint_scope", JointScope), choices=JointScope),
    written("Scope", field_value("scope")),
    written("Allocation of responsibilities", field_value("responsibilities")),
    written("Contact point", field_value("contact_point")),
    written("Essence for data subjects", field_value("essence")),
    written("Essence made available", yes_no_of("essence_published")),
    written("Document reference", field_value("document_reference")),
    written("Signed on", field_value("signed_on")),
    written("Next review", field_value("review_on")),
    summary("Activities", _used_by("arrangement_users")),
)

DATA_CATEGORY_COLUMNS = (
    written("Name", field_value("name"), key=True),
    written("Sensitivity", label_of("sensitivity", Sensitivity), choices=Sensitivity),
    written(
        "Art. 9(1) category",
        label_of("special_category", SpecialCategory),
        choices=SpecialCategory,
    ),
    written("CNIL group", label_of("cnil_group", CnilGroup), choices=CnilGroup),
    written("Description", field_value("description")),
)


def _recipient_organisation(row, names):
    pk = row["organisation_id"]
    return "" if pk is None else names.organisation(pk)


def _outside_eea(row, names):
    # The EEA of the export's date, as the Art. 30 gaps read it; no country
    # is unknown, an empty cell.
    country = row["country"]
    return yes_no(country not in names.gaps.eea) if country else ""


RECIPIENT_COLUMNS = (
    written("Name", field_value("name"), key=True),
    written("Type", label_of("recipient_type", RecipientType), choices=RecipientType),
    written("Organisation", _recipient_organisation),
    written("Country", field_value("country")),
    written("Outside the EEA", _outside_eea),
)


# The For the import sheet: its note, its rows and its table's columns.
FOR_THE_IMPORT_NOTE = (
    "Written for the import of this file into the register: the exact moment "
    "of the export, and the code of each label. Leave this sheet as it is."
)
EXPORTED_AT = "Exported at"
CODES_HEADER_ROW = 4
CODE_COLUMNS = tuple(Column(header) for header in ("Sheet", "Column", "Code", "Label"))


CONTROLLER = Sheet("Controller", "controller.csv", CONTROLLER_COLUMNS)
ACTIVITIES = Sheet("Activities", "activities.csv", ACTIVITY_COLUMNS, ProcessingActivity)
LAWFUL_BASES = Sheet(
    "Lawful bases", "lawful-bases.csv", LAWFUL_BASIS_COLUMNS, LawfulBasis
)
TRANSFERS = Sheet("Transfers", "transfers.csv", TRANSFER_COLUMNS, InternationalTransfer)
RETENTION_RULES = Sheet(
    "Retention rules", "retention-rules.csv", RETENTION_RULE_COLUMNS, RetentionRule
)
PROCESSORS = Sheet("Processors", "processors.csv", PROCESSOR_COLUMNS)
JOINT_ARRANGEMENTS = Sheet(
    "Joint arrangements", "joint-arrangements.csv", JOINT_ARRANGEMENT_COLUMNS
)
DATA_CATEGORIES = Sheet("Data categories", "data-categories.csv", DATA_CATEGORY_COLUMNS)
RECIPIENTS = Sheet("Recipients", "recipients.csv", RECIPIENT_COLUMNS)
FOR_THE_IMPORT = Sheet("For the import", "for-the-import.csv", CODE_COLUMNS)

# The register's sheets, in workbook order (the hidden FOR_THE_IMPORT last).
SHEETS = (
    CONTROLLER,
    ACTIVITIES,
    LAWFUL_BASES,
    TRANSFERS,
    RETENTION_RULES,
    PROCESSORS,
    JOINT_ARRANGEMENTS,
    DATA_CATEGORIES,
    RECIPIENTS,
)
# The sheets of each activity's rows, which the import replaces with it.
CHILD_SHEETS = (LAWFUL_BASES, TRANSFERS, RETENTION_RULES)
# The sheets the import reads, and those it leaves to the admin.
IMPORTED_SHEETS = (ACTIVITIES, *CHILD_SHEETS)
REFERENCE_SHEETS = (
    CONTROLLER,
    PROCESSORS,
    JOINT_ARRANGEMENTS,
    DATA_CATEGORIES,
    RECIPIENTS,
)

# CSV files are UTF-8 with a byte order mark, which Excel needs to read them as
# UTF-8; read them with the "utf-8-sig" codec.
CSV_ENCODING = "utf-8-sig"


def readable(value):
    """A date or date-time as a person reads it: ``2024-01-15 10:03``."""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def exported_at_text(moment):
    """The ``Exported at`` value: ISO 8601 to the microsecond, with its offset."""
    return moment.isoformat(timespec="microseconds")


def read_exported_at(text):
    """The moment ``exported_at_text`` wrote, or None for any other text."""
    try:
        moment = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def to_cell(value):
    """
    A value as a CSV cell that never runs as a formula (text, number or
    empty): text that ``needs_quote_prefix`` gets an apostrophe before it,
    dates are ``readable``.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if needs_quote_prefix(value) else value
    if isinstance(value, datetime.date):
        return readable(value)
    return value


def to_cells(values):
    """``to_cell`` of each value, as a list: the CSV writer's path for rows."""
    return [to_cell(value) for value in values]


def from_cell(value):
    """
    The value ``to_cell`` wrote: the apostrophe removed. (Text starting with
    an apostrophe always got one more.)
    """
    if isinstance(value, str) and value.startswith("'"):
        return value[1:]
    return value
