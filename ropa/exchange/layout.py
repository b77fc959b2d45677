"""
The layout of the exported Art. 30 register, shared by the export and the import.

The register is exported as an XLSX workbook or as a zip of CSV files, one CSV
per sheet, with the same cells: ``SHEETS`` names each sheet, its CSV file name,
its ordered column headers and the columns that identify a row (its natural
key). An import of our own export reads this module, not the export's code.

Sheets
    ``Controller`` first: a header block, then a table of the controllers (see
    below). Then ``Activities`` (one row per processing activity), ``Lawful
    bases``, ``Transfers``, ``Retention rules``, ``Processors`` (one row per
    Art. 28 agreement) and ``Joint arrangements`` (one row per Art. 26
    arrangement). Every sheet but ``Controller`` has its column headers in row
    1 and one record per row below. Child rows name their activity by its
    ``Reference``.

The ``Controller`` sheet
    Rows 1 to 4 are the header block, a label in column A and its value in
    column B: the title (``REGISTER_TITLE``, no value), ``Controller`` (the
    organisation's name, or ``ALL_CONTROLLERS``), ``As of`` (a date, or
    ``CURRENT`` for the register as it stands) and ``Exported at`` (the moment
    the export began, to the minute, in the project's time zone). Row 5 is
    empty. Row 6 holds ``CONTROLLER_COLUMNS`` and each row below one
    responsible organisation of the exported activities (Art. 30(1)(a) and
    30(2)(a)): name, contact details, DPO and Art. 27 representative.

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

Lists (many-to-many values)
    Joined with ``LIST_SEPARATOR`` ("; "). Names are not refused for holding a
    semicolon: each item is escaped instead, a backslash before every ``\\``
    and ``;`` in it, so ``join_list`` / ``split_list`` round-trip any names.
    Items are sorted by name.

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

The ``ICO template`` sheet (``ICO_COLUMNS``) is a separate export shaped like
the UK ICO documentation template for controllers, for readers: its choices
are labels, and it is not read back by the import of our own format.
"""

import datetime
from dataclasses import dataclass

from controllers.enums import DPOEngagement, JointScope
from ropa.core.spreadsheet import needs_quote_prefix
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

REGISTER_TITLE = "Record of processing activities (GDPR Art. 30)"
ALL_CONTROLLERS = "All controllers"
CURRENT = "current"
HEADER_BLOCK = (REGISTER_TITLE, "Controller", "As of", "Exported at")
# Row numbers (1-based) of the Controller sheet's parts.
CONTROLLER_HEADER_ROW = len(HEADER_BLOCK) + 2

VERSION = "Version"

LIST_SEPARATOR = "; "
YES = "yes"
NO = "no"

CONTROLLER_COLUMNS = (
    "Name",
    "Registration number",
    "Country",
    "Address",
    "E-mail",
    "Phone",
    "Website",
    "DPO",
    "DPO e-mail",
    "DPO phone",
    "DPO engagement",
    "Representative",
    "Representative address",
    "Representative e-mail",
    "Representative phone",
)

ACTIVITY_COLUMNS = (
    "Reference",
    "Name",
    "Status",
    "Record type",
    # Art. 30(1)(a) / 30(2)(a)
    "Responsible organisations",
    "Joint controller arrangement",
    "Joint processing",
    "Client controllers",
    # Art. 30(1)(b)
    "Purpose",
    "Business function",
    "Owner",
    # Art. 30(1)(c)
    "Data subject categories",
    "Personal data categories",
    "Source of the data",
    # Art. 30(1)(d)
    "Recipients",
    "Processor agreements",
    # Art. 30(1)(g)
    "Security measures",
    "General description of security measures",
    # Regulators' templates
    "Systems and software",
    "Location of the data",
    "Profiling",
    "Profiling and automated decision-making",
    "State profiling in the notice",
    "DPIA required",
    "DPIA progress",
    "Link to DPIA",
    "Rights available",
    "Opt-out information",
    "Link to record of consent",
    "Link to personal data breach records",
    "Link to retention and erasure policy",
    "Retained and erased according to the policy",
    "Reason for not following the policy",
    # The privacy notice
    "In the privacy notice",
    "Notice order",
    "Notice title",
    "Notice text",
    # Read-only: summaries of the child sheets, the record's gaps and dates.
    "Lawful bases",
    "Transfer destinations",
    "Retention",
    "Art. 30 gaps",
    "Created at",
    "Updated at",
    # Checked by the import, never written: the record's version.
    "Version",
)

LAWFUL_BASIS_COLUMNS = (
    "Reference",
    "Basis",
    "Explanation",
    "Legitimate interest pursued",
    "Legitimate interests assessment",
    "Art. 9(2) condition",
    "Art. 10 authority",
    "Sample value",
    "Version",
)

TRANSFER_COLUMNS = (
    "Reference",
    "Country",
    "International organisation",
    "Mechanism",
    "Recipient",
    "Documentation of suitable safeguards",
    "Transfer impact assessment",
    "Notes",
    "Version",
)

RETENTION_COLUMNS = (
    "Reference",
    "Personal data category",
    "Period",
    "Period unit",
    "Criteria",
    "Trigger",
    "Action at the end",
    "Legal reference",
    "Sample value",
    "Version",
)

PROCESSOR_COLUMNS = (
    "Reference",
    "Processor",
    "Controller",
    "Services",
    "Document reference",
    "Signed on",
    "Expires on",
    "Sub-processors",
    "Transfers covered",
    "Activities",
)

JOINT_ARRANGEMENT_COLUMNS = (
    "Reference",
    "Name",
    "Parties",
    "When joint",
    "Scope",
    "Allocation of responsibilities",
    "Contact point",
    "Essence for data subjects",
    "Essence made available",
    "Document reference",
    "Signed on",
    "Next review",
    "Activities",
)

# The UK ICO "documentation template for controllers", its columns in its order.
ICO_COLUMNS = (
    "Business function",
    "Purpose of processing",
    "Name and contact details of joint controller (if applicable)",
    "Categories of individuals",
    "Categories of personal data",
    "Categories of recipients",
    "Link to contract with processor",
    "Names of third countries or international organisations that personal data "
    "are transferred to (if applicable)",
    "Safeguards for exceptional transfers of personal data to third countries or "
    "international organisations (if applicable)",
    "Retention schedule (if possible)",
    "General description of technical and organisational security measures "
    "(if possible)",
    "Article 6 lawful basis for processing personal data",
    "Article 9 basis for processing special category data",
    "Legitimate interests for the processing (if applicable)",
    "Link to record of legitimate interests assessment (if applicable)",
    "Rights available to individuals",
    "Existence of automated decision-making, including profiling (if applicable)",
    "The source of the personal data (if applicable)",
    "Link to record of consent",
    "Location of personal data",
    "Data Protection Impact Assessment required?",
    "Data Protection Impact Assessment progress",
    "Link to Data Protection Impact Assessment",
    "Personal data breach?",
    "Link to record of personal data breach",
    "Data Protection Act 2018 Schedule 1 condition for processing",
    "Link to retention and erasure policy document",
    "Is personal data retained and erased in accordance with the policy document?",
    "Reason for not adhering to policy document",
)


# The For the import sheet: its note, its rows and its table's columns.
FOR_THE_IMPORT_NOTE = (
    "Written for the import of this file into the register: the exact moment "
    "of the export, and the code of each label. Leave this sheet as it is."
)
EXPORTED_AT = "Exported at"
CODES_HEADER_ROW = 4
CODE_COLUMNS = ("Sheet", "Column", "Code", "Label")


@dataclass(frozen=True)
class Sheet:
    """One sheet of the register: its name, CSV file, columns and natural key."""

    name: str
    filename: str
    columns: tuple
    key: tuple
    # Written for readers; the import ignores them.
    read_only: tuple = ()
    # Read by the import to check a row against the register, never written.
    checked: tuple = ()
    # (column, TextChoices) of the columns of choices, written as labels.
    choices: tuple = ()


CONTROLLER = Sheet(
    "Controller",
    "controller.csv",
    CONTROLLER_COLUMNS,
    ("Name",),
    choices=(("DPO engagement", DPOEngagement),),
)
ACTIVITIES = Sheet(
    "Activities",
    "activities.csv",
    ACTIVITY_COLUMNS,
    ("Reference",),
    read_only=(
        "Lawful bases",
        "Transfer destinations",
        "Retention",
        "Art. 30 gaps",
        "Created at",
        "Updated at",
    ),
    checked=(VERSION,),
    choices=(
        ("Status", ActivityStatus),
        ("Record type", ActivityRole),
        ("Profiling", Profiling),
        ("DPIA progress", DPIAStatus),
    ),
)
LAWFUL_BASES = Sheet(
    "Lawful bases",
    "lawful-bases.csv",
    LAWFUL_BASIS_COLUMNS,
    ("Reference", "Basis"),
    checked=(VERSION,),
    choices=(
        ("Basis", LawfulBasisChoice),
        ("Art. 9(2) condition", SpecialCategoryCondition),
    ),
)
TRANSFERS = Sheet(
    "Transfers",
    "transfers.csv",
    TRANSFER_COLUMNS,
    ("Reference", "Country", "International organisation", "Mechanism"),
    checked=(VERSION,),
    choices=(("Mechanism", TransferMechanism),),
)
RETENTION_RULES = Sheet(
    "Retention rules",
    "retention-rules.csv",
    RETENTION_COLUMNS,
    ("Reference", "Personal data category"),
    checked=(VERSION,),
    choices=(("Period unit", RetentionUnit), ("Action at the end", RetentionAction)),
)
PROCESSORS = Sheet(
    "Processors",
    "processors.csv",
    PROCESSOR_COLUMNS,
    ("Reference",),
    read_only=("Activities",),
)
JOINT_ARRANGEMENTS = Sheet(
    "Joint arrangements",
    "joint-arrangements.csv",
    JOINT_ARRANGEMENT_COLUMNS,
    ("Reference",),
    read_only=("Activities",),
    choices=(("When joint", JointScope),),
)
ICO_TEMPLATE = Sheet("ICO template", "ico-template.csv", ICO_COLUMNS, ())
FOR_THE_IMPORT = Sheet("For the import", "for-the-import.csv", CODE_COLUMNS, ())

# The register's sheets, in workbook order (the hidden FOR_THE_IMPORT last).
SHEETS = (
    CONTROLLER,
    ACTIVITIES,
    LAWFUL_BASES,
    TRANSFERS,
    RETENTION_RULES,
    PROCESSORS,
    JOINT_ARRANGEMENTS,
)

# CSV files are UTF-8 with a byte order mark, which Excel needs to read them as
# UTF-8; read them with the "utf-8-sig" codec.
CSV_ENCODING = "utf-8-sig"


def join_list(names):
    """Many-to-many names as one cell: sorted, escaped, joined with "; "."""
    return LIST_SEPARATOR.join(
        name.replace("\\", "\\\\").replace(";", "\\;") for name in sorted(names)
    )


def split_list(text):
    """The names ``join_list`` joined, unescaped; an empty cell is no names."""
    names, current, chars = [], [], iter(text or "")
    for char in chars:
        if char == "\\":
            current.append(next(chars, ""))
        elif char == ";":
            names.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    names.append("".join(current).strip())
    return [name for name in names if name]


def yes_no(value):
    """A boolean as ``yes`` / ``no``; None (unknown) as an empty cell."""
    if value is None:
        return ""
    return YES if value else NO


def iso(value):
    """A date or date-time as ISO 8601 text; None as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.isoformat(timespec="seconds")
    return value.isoformat()


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
