"""
Migrating a register kept in the UK ICO's documentation template for controllers.

The template is one sheet with a header row (``ropa.exchange.layout.ICO_COLUMNS``,
found wherever it is on the sheet, whatever its case and spacing) and one
processing activity per row below. Each filled row becomes a new draft
activity of the controller named by the import, with the next free
``PA-NNNN`` reference. Its free-text columns are mapped onto the model:

- categories of individuals, of personal data and of recipients, split on
  ";", "," or line breaks, are matched by name in any case, or created (and
  listed in the report);
- the Art. 6 basis is read from its keywords ("consent", "contract", "legal
  obligation", "vital interests", "public task", "legitimate interests" or
  "6(1)(a)"-"6(1)(f)"), the Art. 9 condition likewise; text that names none is
  an error;
- third countries, by English name or ISO code, become transfers whose
  mechanism is read from the safeguards text (adequacy, SCCs, BCRs, code,
  certification, Art. 49 derogation); an unknown country or mechanism is an
  error;
- the retention schedule becomes a rule for all of the activity's data: a
  period and unit when it reads "N years|months|days …", else criteria.

Processor contracts and the joint controller are named by the reference of a
processor agreement or joint controller arrangement already in the register;
an unknown one is an error, never dropped.
"""

import re
from functools import cached_property

from django_countries import countries

from controllers.models import JointControllerArrangement, ProcessorAgreement
from ropa.core.rows import NEW
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
from ropa.exchange import layout as fmt
from ropa.exchange.columns import Column
from ropa.exchange.plan import CATALOGUE, CHILD, ICO, ImportPlan, RowPlan, Save
from ropa.exchange.reading import (
    Catalogue,
    CellError,
    Lookups,
    cell_text,
    country_code,
    heading_text,
    read_whole_number,
)
from ropa.exchange.validation import assign, validation_errors
from ropa.exchange.workbook import ImportFileError
from ropa.geography import adequacy_decision, in_eea
from ropa.models import (
    InternationalTransfer,
    LawfulBasis,
    ProcessingActivity,
    Recipient,
    RetentionRule,
)
from subjects.models import DataSubjectCategory, PersonalDataCategory

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
    RETENTION_POLICY,
    RETENTION_FOLLOWED,
    RETENTION_DEVIATION,
) = fmt.ICO_COLUMNS

# Without these a row cannot be a record of processing.
REQUIRED_COLUMNS = (BUSINESS_FUNCTION, PURPOSE, INDIVIDUALS, PERSONAL_DATA)
# The header row is looked for in the first rows of each sheet.
HEADER_SEARCH_ROWS = 50
NAME_LENGTH = ProcessingActivity._meta.get_field("name").max_length
REFERENCE_PATTERN = re.compile(r"PA-(\d+)")

ACTIVITIES = fmt.ACTIVITIES.name
LAWFUL_BASES = fmt.LAWFUL_BASES.name
TRANSFERS = fmt.TRANSFERS.name
RETENTION_RULES = fmt.RETENTION_RULES.name

NO_HEADER_ROW = (
    "No sheet of '{file_name}' has the column headers of the ICO documentation "
    "template for controllers (looked for '{purpose}', '{function}' and the "
    "other columns of the template in a row of the first {rows} rows). To "
    "import a register exported from here, choose our own format."
)
MISSING_COLUMNS = "Sheet '{sheet}' lacks the columns {names} in its header row {row}."
NO_ROWS = "Sheet '{sheet}' has no rows below its header row {row}: nothing to import."
CREATED_AS = {
    "recipients": "Created recipients are recorded as external recipients: "
    "correct the type of processors and group companies in the admin.",
    "personal data categories": "Created personal data categories are recorded "
    "as ordinary personal data: mark special categories (Art. 9) and criminal "
    "data (Art. 10) in the admin.",
}
CREATED_DESCRIPTION = "Created by importing the ICO template '{file_name}'."
DRAFT_NOTE = (
    "Each row becomes a draft activity of {controller}: review it, then set it active."
)

# Cells that say there is nothing to say ("-" and the en and em dashes too).
EMPTY_WORDS = {
    *("", "n/a", "na", "n.a.", "none", "not applicable", "nil"),
    *("-", "\u2013", "\u2014"),
}
YES_WORDS = {"yes", "y", "true"}
NO_WORDS = {"no", "n", "false"}


def _article(number, paragraph, point):
    """A pattern for "Art. 6(1)(f)" written with or without spaces or brackets."""
    return rf"\b{number}\s*\(\s*{paragraph}\s*\)\s*\(?\s*{point}\b"


BASIS_PATTERNS = (
    (LawfulBasisChoice.CONSENT, (r"\bconsent", _article(6, 1, "a"))),
    (LawfulBasisChoice.CONTRACT, (r"\bcontract(s|ual)?\b", _article(6, 1, "b"))),
    (
        LawfulBasisChoice.LEGAL_OBLIGATION,
        (r"\blegal obligations?\b", _article(6, 1, "c")),
    ),
    (LawfulBasisChoice.VITAL_INTERESTS, (r"\bvital interests?\b", _article(6, 1, "d"))),
    (
        LawfulBasisChoice.PUBLIC_TASK,
        (r"\bpublic task\b", r"\bofficial authority\b", _article(6, 1, "e")),
    ),
    (
        LawfulBasisChoice.LEGITIMATE_INTERESTS,
        (r"\blegitimate interests?\b", _article(6, 1, "f")),
    ),
)
CONDITION_PATTERNS = (
    (
        SpecialCategoryCondition.EXPLICIT_CONSENT,
        (r"\bexplicit consent\b", _article(9, 2, "a")),
    ),
    (
        SpecialCategoryCondition.EMPLOYMENT,
        (r"\bemployment\b", r"\bsocial (security|protection)\b", _article(9, 2, "b")),
    ),
    (
        SpecialCategoryCondition.VITAL_INTERESTS,
        (r"\bvital interests?\b", _article(9, 2, "c")),
    ),
    (
        SpecialCategoryCondition.NOT_FOR_PROFIT,
        (r"\bnot[- ]for[- ]profit\b", _article(9, 2, "d")),
    ),
    (
        SpecialCategoryCondition.MADE_PUBLIC,
        (r"\bmade (manifestly )?public\b", _article(9, 2, "e")),
    ),
    (
        SpecialCategoryCondition.LEGAL_CLAIMS,
        (r"\blegal claims?\b", _article(9, 2, "f")),
    ),
    (
        SpecialCategoryCondition.SUBSTANTIAL_PUBLIC_INTEREST,
        (r"\bsubstantial public interest\b", _article(9, 2, "g")),
    ),
    (
        SpecialCategoryCondition.HEALTH_CARE,
        (
            r"\b(health or )?social care\b",
            r"\bmedical diagnosis\b",
            _article(9, 2, "h"),
        ),
    ),
    (
        SpecialCategoryCondition.PUBLIC_HEALTH,
        (r"\bpublic health\b", _article(9, 2, "i")),
    ),
    (
        SpecialCategoryCondition.ARCHIVING_RESEARCH,
        (r"\barchiving\b", r"\bresearch\b", r"\bstatistic", _article(9, 2, "j")),
    ),
)
MECHANISM_PATTERNS = (
    (TransferMechanism.ADEQUACY, (r"\badequa(cy|te)\b",)),
    (
        TransferMechanism.SCC,
        (
            r"\bstandard (contractual|data protection) clauses\b",
            r"\bsccs?\b",
            r"\bmodel clauses\b",
            r"\bidta\b",
            r"\binternational data transfer (agreement|addendum)\b",
        ),
    ),
    (TransferMechanism.BCR, (r"\bbinding corporate rules\b", r"\bbcrs?\b")),
    (
        TransferMechanism.PUBLIC_AUTHORITY_INSTRUMENT,
        (r"\binstrument between public authorities\b",),
    ),
    (TransferMechanism.CODE_OF_CONDUCT, (r"\bcode of conduct\b",)),
    (TransferMechanism.CERTIFICATION, (r"\bcertification\b",)),
    (
        TransferMechanism.AD_HOC_CLAUSES,
        (
            r"\bauthori[sz]ed contractual clauses\b",
            r"\bad[- ]hoc (contractual )?clauses\b",
        ),
    ),
    (
        TransferMechanism.COMPELLING_INTERESTS,
        (r"\bcompelling legitimate interests?\b",),
    ),
    (
        TransferMechanism.DEROGATION,
        (r"\bderogations?\b", r"\bart(icle|\.)?\s*49\b", r"\bexplicit consent\b"),
    ),
)
# The first that matches wins: "not started" before "started", "not
# completed" before "completed".
DPIA_PROGRESS_PATTERNS = (
    (DPIAStatus.NOT_STARTED, (r"\bnot (yet )?started\b", r"\bto do\b", r"\bplanned\b")),
    (
        DPIAStatus.IN_PROGRESS,
        (r"\bnot (yet )?complete", r"\bin progress\b", r"\bongoing\b", r"\bunderway\b"),
    ),
    (
        DPIAStatus.COMPLETED,
        (r"\bcomplete(d)?\b", r"\bdone\b", r"\bfinished\b", r"\bsigned off\b"),
    ),
    (DPIAStatus.IN_PROGRESS, (r"\bstarted\b", r"\bdraft\b")),
)
# A retention schedule: "[All data:] [kept for] N years|months|days [trigger]
# [, then erase|anonymise|archive|review]", or else the criteria.
_END_ACTION = r"(?:,?\s*then\s+(erase|anonymise|archive|review)\.?)?"
RETENTION_PERIOD = re.compile(
    r"(?:all data:\s*)?(?:(?:kept|retained|stored|held)\s+)?(?:for\s+)?"
    r"(\d+)\s*(year|month|day)s?\b[\s,.;:-]*(.*?)" + _END_ACTION,
    re.IGNORECASE | re.DOTALL,
)
RETENTION_CRITERIA = re.compile(
    r"(?:all data:\s*)?(.*?)" + _END_ACTION, re.IGNORECASE | re.DOTALL
)
UNITS = {
    "year": RetentionUnit.YEARS,
    "month": RetentionUnit.MONTHS,
    "day": RetentionUnit.DAYS,
}
BULLETS = "-*\u2022\u00b7\u2013\u2014"  # hyphen, star, bullet, dot, dashes

# The model fields each row fills, by the column that feeds them (for errors).
ACTIVITY_FIELDS = (
    Column(PURPOSE, "name", None),
    Column(PURPOSE, "purpose", None),
    Column(PURPOSE, "reference", None),
    Column(BUSINESS_FUNCTION, "business_function", None),
    Column(JOINT_CONTROLLER, "joint_arrangement", None, catalogue="arrangements"),
    Column(
        INDIVIDUALS, "data_subject_categories", None, catalogue="subjects", many=True
    ),
    Column(
        PERSONAL_DATA, "personal_data_categories", None, catalogue="data", many=True
    ),
    Column(RECIPIENTS, "recipients", None, catalogue="recipients", many=True),
    Column(
        PROCESSOR_CONTRACT,
        "processor_agreements",
        None,
        catalogue="agreements",
        many=True,
    ),
    Column(SECURITY, "security_description", None),
    Column(RIGHTS, "rights_information", None),
    Column(AUTOMATED_DECISIONS, "profiling", None),
    Column(AUTOMATED_DECISIONS, "profiling_description", None),
    Column(SOURCE, "data_source", None),
    Column(CONSENT_RECORD, "consent_record_reference", None),
    Column(LOCATION, "data_location", None),
    Column(DPIA_REQUIRED, "dpia_required", None),
    Column(DPIA_PROGRESS, "dpia_status", None),
    Column(DPIA_LINK, "dpia_reference", None),
    Column(BREACH_LINK, "breach_reference", None),
    Column(RETENTION_POLICY, "retention_policy_reference", None),
    Column(RETENTION_FOLLOWED, "retention_policy_followed", None),
    Column(RETENTION_DEVIATION, "retention_policy_deviation", None),
)
LAWFUL_BASIS_FIELDS = (
    Column(ARTICLE_6, "basis", None),
    Column(ARTICLE_6, "explanation", None),
    Column(LEGITIMATE_INTERESTS, "legitimate_interest", None),
    Column(INTERESTS_ASSESSMENT, "assessment_reference", None),
    Column(ARTICLE_9, "special_category_condition", None),
    Column(SCHEDULE_1, "criminal_data_authority", None),
)
TRANSFER_FIELDS = (
    Column(THIRD_COUNTRIES, "country", None),
    Column(SAFEGUARDS, "mechanism", None),
    Column(SAFEGUARDS, "safeguards_documentation", None),
)
RETENTION_FIELDS = (
    Column(RETENTION, "period", None),
    Column(RETENTION, "period_unit", None),
    Column(RETENTION, "trigger", None),
    Column(RETENTION, "criteria", None),
    Column(RETENTION, "end_action", None),
)


class TemplateLookups(Lookups):
    """The catalogues, with agreements and arrangements found by more names."""

    @cached_property
    def arrangements(self):
        return Catalogue(JointControllerArrangement.objects.all(), "reference", "name")

    @cached_property
    def agreements(self):
        return Catalogue(
            ProcessorAgreement.objects.all(), "reference", "document_reference"
        )


# ---------------------------------------------------------------------------
# Reading cells
# ---------------------------------------------------------------------------


def _fold(text):
    return re.sub(r"\s+", " ", text).strip().casefold()


def _unqualified(text):
    """A header without its "(if applicable)"-style remarks or end punctuation."""
    return _fold(re.sub(r"\([^)]*\)", " ", text)).rstrip("?:*. ")


def _value(text):
    """A cell's text, "" for the words that say there is nothing."""
    text = text.strip()
    return "" if text.casefold().rstrip(".") in EMPTY_WORDS else text


def _matches(text, patterns):
    """The choices whose patterns occur in ``text``, in declaration order."""
    return [
        choice
        for choice, expressions in patterns
        if any(re.search(expression, text, re.IGNORECASE) for expression in expressions)
    ]


def _yes_no(text):
    """True, False or None (empty) for a yes / no cell; raises ValueError."""
    if not text:
        return None
    first = re.split(r"[\s,.;:!-]+", text.strip().casefold(), maxsplit=1)[0]
    if first in YES_WORDS:
        return True
    if first in NO_WORDS:
        return False
    raise ValueError(f"'{text}' is not yes or no.")


def _period(digits):
    """The number ``digits`` write, or None when too long to be any period."""
    try:
        return read_whole_number(digits, None)
    except CellError:
        return None


def split_names(text, known=lambda name: False):
    """
    The names in a list cell: separated by ";", line breaks or ",", bullets
    removed, each once. A part between semicolons that is ``known`` as a
    whole is one name, commas and all ("Korea, Republic of").
    """
    names = {}
    for part in re.split(r"[;\n]+", text):
        part = _value(part.strip().lstrip(BULLETS).strip())
        pieces = [part] if known(part) else part.split(",")
        for piece in pieces:
            name = _value(piece)
            if name:
                names.setdefault(name.casefold(), name)
    return list(names.values())


def destination(text):
    """
    A destination as (country code or "", mechanism text): "India" or "India
    (Standard contractual clauses)", as the template export writes it.
    """
    code = country_code(text)
    if code:
        return code, ""
    qualified = re.fullmatch(r"(.+?)\s*\((.*)\)", text, re.DOTALL)
    if qualified and country_code(qualified[1]):
        return country_code(qualified[1]), qualified[2].strip()
    return "", ""


def split_purpose(text):
    """
    The activity's name and purpose from "Purpose of processing".

    The name is the first line, cut to the name's length. When that line is a
    title followed by more text, the purpose is the text after it; otherwise
    the whole cell.
    """
    text = text.strip()
    if not text:
        return "", ""
    first, _, rest = text.partition("\n")
    first, rest = first.strip(), rest.strip()
    if rest and len(first) <= NAME_LENGTH:
        return first, rest
    return first[:NAME_LENGTH].strip(), text


def next_reference_number():
    """The number after the highest PA-NNNN ever used, deleted records included."""
    references = set(
        ProcessingActivity.objects.filter(reference__startswith="PA-").values_list(
            "reference", flat=True
        )
    ) | set(
        ProcessingActivity.history.filter(reference__startswith="PA-").values_list(
            "reference", flat=True
        )
    )
    numbers = [
        int(match[1])
        for reference in references
        if (match := REFERENCE_PATTERN.fullmatch(reference))
    ]
    return max(numbers, default=0) + 1


def reference_for(number):
    return f"PA-{number:04d}"


# ---------------------------------------------------------------------------
# Finding the header row
# ---------------------------------------------------------------------------


def _header_columns(values):
    """Template column -> position for the cells of one row that are headers."""
    exact = {_fold(column): column for column in fmt.ICO_COLUMNS}
    loose = {_unqualified(column): column for column in fmt.ICO_COLUMNS}
    found = {}
    for position, value in enumerate(values):
        text = heading_text(value)
        if not text.strip():
            continue
        column = exact.get(_fold(text)) or loose.get(_unqualified(text))
        if column and column not in found:
            found[column] = position
    return found


def find_template(tables, file_name):
    """The first sheet with the template's header row: (table, row, columns)."""
    for table in tables.values():
        for row_number, values in table.rows[:HEADER_SEARCH_ROWS]:
            columns = _header_columns(values)
            if PURPOSE in columns and len(columns) >= len(REQUIRED_COLUMNS):
                missing = [
                    column for column in REQUIRED_COLUMNS if column not in columns
                ]
                if missing:
                    raise ImportFileError(
                        MISSING_COLUMNS.format(
                            sheet=table.name,
                            names=", ".join(f"'{name}'" for name in missing),
                            row=row_number,
                        )
                    )
                return table, row_number, columns
    raise ImportFileError(
        NO_HEADER_ROW.format(
            file_name=file_name,
            purpose=PURPOSE,
            function=BUSINESS_FUNCTION,
            rows=HEADER_SEARCH_ROWS,
        )
    )


# ---------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------


class TemplatePlanner:
    """Plans the rows of one filled template."""

    CREATED_KINDS = {
        "subjects": (DataSubjectCategory, {}),
        "data": (PersonalDataCategory, {}),
        "recipients": (Recipient, {"recipient_type": RecipientType.EXTERNAL}),
    }

    def __init__(self, plan, table, columns, controller):
        self.plan = plan
        self.table = table
        self.columns = columns
        self.controller = controller
        self.lookups = TemplateLookups()
        self.next_number = next_reference_number()
        self.names = {}

    def cells(self, values):
        """The row's text by column, and the reason for each cell not read."""
        cells, unreadable = {}, {}
        for column, position in self.columns.items():
            value = values[position] if position < len(values) else None
            try:
                cells[column] = _value(cell_text(value))
            except CellError as error:
                cells[column] = ""
                unreadable[column] = str(error)
        return cells, unreadable

    def plan_row(self, row_number, values):
        cells, unreadable = self.cells(values)
        reference = reference_for(self.next_number)
        self.next_number += 1
        row = RowPlan(ACTIVITIES, self.table.name, row_number, reference, action=NEW)
        self.plan.rows.append(row)
        for column, reason in unreadable.items():
            row.error(column, reason)
        values = self.activity_values(row, cells, reference)
        activity = ProcessingActivity()
        row.key = f"{reference} {values.get('name', '')}".strip()
        row.changes, links = assign(
            activity, ACTIVITY_FIELDS, values, self.lookups, new=True
        )
        for column, reason in validation_errors(activity, ACTIVITY_FIELDS):
            row.error(column, reason)
        save = Save(activity, links={**links, "organisations": [self.controller]})
        row.settle(save)
        self.lawful_bases(row, cells, reference, save)
        self.transfers(row, cells, reference, save)
        self.retention(row, cells, reference, save)

    # The activity --------------------------------------------------------

    def activity_values(self, row, cells, reference):
        name, purpose = split_purpose(cells.get(PURPOSE, ""))
        fields = {
            "reference": reference,
            "status": ActivityStatus.DRAFT,
            "role": ActivityRole.CONTROLLER,
            "name": name,
            "purpose": purpose,
            "business_function": cells.get(BUSINESS_FUNCTION, ""),
            "security_description": cells.get(SECURITY, ""),
            "rights_information": cells.get(RIGHTS, ""),
            "data_source": cells.get(SOURCE, ""),
            "consent_record_reference": cells.get(CONSENT_RECORD, ""),
            "data_location": cells.get(LOCATION, ""),
            "dpia_reference": cells.get(DPIA_LINK, ""),
            "retention_policy_reference": cells.get(RETENTION_POLICY, ""),
            "retention_policy_deviation": cells.get(RETENTION_DEVIATION, ""),
        }
        if name:
            if name.casefold() in self.names:
                other = self.names[name.casefold()]
                row.error(
                    PURPOSE,
                    f"'{name}' is also the purpose on row {other}: each activity "
                    "needs its own name.",
                )
            else:
                self.names[name.casefold()] = row.row
        fields.update(self.profiling(cells))
        fields.update(self.dpia(row, cells))
        fields["breach_reference"] = self.breach(row, cells)
        try:
            fields["retention_policy_followed"] = _yes_no(
                cells.get(RETENTION_FOLLOWED, "")
            )
        except ValueError as error:
            row.error(RETENTION_FOLLOWED, str(error))
        arrangement = cells.get(JOINT_CONTROLLER, "")
        if arrangement:
            found = self.lookups.arrangements.find(arrangement)
            if found is None:
                row.error(
                    JOINT_CONTROLLER,
                    f"No joint controller arrangement with the reference or name "
                    f"'{arrangement}': record the Art. 26 arrangement in the admin "
                    "first, then write its reference here.",
                )
            fields["joint_arrangement"] = found
        links = {
            "data_subject_categories": self.named(row, INDIVIDUALS, cells, "subjects"),
            "personal_data_categories": self.named(row, PERSONAL_DATA, cells, "data"),
            "recipients": self.named(row, RECIPIENTS, cells, "recipients"),
            "processor_agreements": self.agreements(row, cells),
        }
        for column, name in (
            (INDIVIDUALS, "data_subject_categories"),
            (PERSONAL_DATA, "personal_data_categories"),
        ):
            if not links[name] and column not in {error.column for error in row.errors}:
                row.error(column, "Required. Name at least one category.")
        return {**fields, **links}

    def profiling(self, cells):
        text = cells.get(AUTOMATED_DECISIONS, "")
        if not text:
            return {"profiling": Profiling.NONE, "profiling_description": ""}
        try:
            answer = _yes_no(text)
        except ValueError:
            answer = None
        labelled = next(
            (
                choice
                for choice in Profiling
                if _fold(text).startswith(_fold(str(choice.label)))
            ),
            None,
        )
        if labelled is not None:
            # The template export writes the label, then the description.
            description = text.strip()[len(str(labelled.label)) :].strip()
            return {"profiling": labelled, "profiling_description": description}
        if answer is False:
            kind = Profiling.NONE
        elif re.search(r"\bautomated decision", text, re.IGNORECASE) and not re.search(
            r"\b(no|without) automated decision", text, re.IGNORECASE
        ):
            kind = Profiling.AUTOMATED_DECISIONS
        else:
            kind = Profiling.PROFILING
        # "No" alone says it all; anything more is kept as the description.
        description = "" if _fold(text).rstrip(".") in NO_WORDS else text
        return {"profiling": kind, "profiling_description": description}

    def dpia(self, row, cells):
        try:
            required = bool(_yes_no(cells.get(DPIA_REQUIRED, "")))
        except ValueError as error:
            row.error(DPIA_REQUIRED, str(error))
            return {}
        progress = cells.get(DPIA_PROGRESS, "")
        if not progress:
            # A DPIA that is required and not reported on has not started.
            status = DPIAStatus.NOT_STARTED if required else ""
            return {"dpia_required": required, "dpia_status": status}
        found = _matches(progress, DPIA_PROGRESS_PATTERNS)
        if not found:
            row.error(
                DPIA_PROGRESS,
                f"Cannot tell the DPIA progress from '{progress}': write not started, "
                "in progress or completed.",
            )
            return {"dpia_required": required}
        return {"dpia_required": required, "dpia_status": found[0]}

    def breach(self, row, cells):
        link = cells.get(BREACH_LINK, "")
        try:
            breach = _yes_no(cells.get(BREACH, ""))
        except ValueError as error:
            row.error(BREACH, str(error))
            return link
        if breach and not link:
            row.error(
                BREACH_LINK,
                "A personal data breach is reported: give the link to its record "
                "(Art. 33(5)).",
            )
        return link

    def named(self, row, column, cells, kind):
        """The catalogue entries a list cell names, created when unknown."""
        catalogue = getattr(self.lookups, kind)
        found = {}
        text = cells.get(column, "")
        for name in split_names(text, lambda part: catalogue.find(part) is not None):
            instance = catalogue.find(name) or self.create(row, column, kind, name)
            if instance is not None:
                found[id(instance)] = instance
        return list(found.values())

    def create(self, row, column, kind, name):
        model, defaults = self.CREATED_KINDS[kind]
        instance = model(
            name=name,
            description=CREATED_DESCRIPTION.format(file_name=self.plan.file_name),
            **defaults,
        )
        label = str(model._meta.verbose_name_plural)
        entry = RowPlan(
            label.capitalize(), row.sheet, row.row, name, action=NEW, phase=CATALOGUE
        )
        for _, reason in validation_errors(
            instance,
            (Column(column, "name", None), Column(column, "description", None)),
        ):
            entry.error(
                column,
                f"Cannot create the {model._meta.verbose_name} '{name}': {reason}",
            )
        self.plan.rows.append(entry)
        entry.settle(Save(instance))
        getattr(self.lookups, kind).add(instance)
        self.plan.created.setdefault(label, []).append(name)
        return instance

    def agreements(self, row, cells):
        found, unknown = {}, []
        for name in split_names(cells.get(PROCESSOR_CONTRACT, "")):
            # "DPA-0001: https://…", as the template export writes it.
            agreement = self.lookups.agreements.find(
                name
            ) or self.lookups.agreements.find(name.split(":", 1)[0].strip())
            if agreement is None:
                unknown.append(name)
            else:
                found[agreement.pk] = agreement
        if unknown:
            row.error(
                PROCESSOR_CONTRACT,
                "No processor agreement with the reference or document reference "
                + ", ".join(f"'{name}'" for name in unknown)
                + ": record the Art. 28 agreement in the admin first.",
            )
        return list(found.values())

    # Child rows ----------------------------------------------------------

    def child(self, group, row, key, instance, fields, values, parent):
        child_row = RowPlan(group, row.sheet, row.row, key, action=NEW, phase=CHILD)
        self.plan.rows.append(child_row)
        child_row.changes, _ = assign(instance, fields, values, self.lookups, new=True)
        for column, reason in validation_errors(
            instance, fields, exclude=("activity",)
        ):
            child_row.error(column, reason)
        child_row.settle(Save(instance, parent=parent))

    def lawful_bases(self, row, cells, reference, parent):
        text = cells.get(ARTICLE_6, "")
        interest = cells.get(LEGITIMATE_INTERESTS, "")
        assessment = cells.get(INTERESTS_ASSESSMENT, "")
        condition_text = cells.get(ARTICLE_9, "")
        schedule = cells.get(SCHEDULE_1, "")
        bases = _matches(text, BASIS_PATTERNS) if text else []
        if text and not bases:
            row.error(
                ARTICLE_6,
                f"Cannot tell the Art. 6(1) basis from '{text}': name consent, "
                "contract, legal obligation, vital interests, public task or "
                "legitimate interests (or 6(1)(a) to (f)).",
            )
            return
        condition = ""
        if condition_text:
            conditions = _matches(condition_text, CONDITION_PATTERNS)
            if len(conditions) != 1:
                row.error(
                    ARTICLE_9,
                    f"Cannot tell the one Art. 9(2) condition from '{condition_text}': "
                    "name explicit consent, employment, vital interests, "
                    "not-for-profit, made public, legal claims, substantial public "
                    "interest, health or social care, public health or archiving "
                    "and research (or 9(2)(a) to (j)).",
                )
                return
            condition = conditions[0]
        if not bases:
            for column, value in (
                (ARTICLE_9, condition_text),
                (LEGITIMATE_INTERESTS, interest),
                (INTERESTS_ASSESSMENT, assessment),
                (SCHEDULE_1, schedule),
            ):
                if value:
                    row.error(column, f"Give the Art. 6 basis in '{ARTICLE_6}' too.")
            return
        if LawfulBasisChoice.LEGITIMATE_INTERESTS not in bases:
            for column, value in (
                (LEGITIMATE_INTERESTS, interest),
                (INTERESTS_ASSESSMENT, assessment),
            ):
                if value:
                    row.error(
                        column,
                        "Given, but the Art. 6 basis is not legitimate interests "
                        "(6(1)(f)).",
                    )
        for basis in bases:
            legitimate = basis == LawfulBasisChoice.LEGITIMATE_INTERESTS
            self.child(
                LAWFUL_BASES,
                row,
                f"{reference} / {basis}",
                LawfulBasis(),
                LAWFUL_BASIS_FIELDS,
                {
                    "basis": basis,
                    "explanation": text,
                    "legitimate_interest": interest if legitimate else "",
                    "assessment_reference": assessment if legitimate else "",
                    "special_category_condition": condition,
                    # Schedule 1 of the Act also conditions criminal offence
                    # data (s. 10(5)): the law the Art. 10 authority names.
                    "criminal_data_authority": schedule,
                },
                parent,
            )

    def transfers(self, row, cells, reference, parent):
        safeguards = cells.get(SAFEGUARDS, "")
        names = split_names(
            cells.get(THIRD_COUNTRIES, ""), lambda part: bool(destination(part)[0])
        )
        if not names and safeguards:
            row.error(SAFEGUARDS, f"Given, but '{THIRD_COUNTRIES}' names no country.")
        seen = set()
        for name in names:
            code, stated = destination(name)
            if not code:
                row.error(
                    THIRD_COUNTRIES,
                    f"Unknown country '{name}': name a country in English or by "
                    "its ISO 3166-1 code.",
                )
                continue
            if code in seen:
                continue
            seen.add(code)
            if in_eea(code):
                row.error(
                    THIRD_COUNTRIES,
                    f"{countries.name(code)} is in the EEA: not a transfer.",
                )
                continue
            if stated:
                mechanism = self.mechanism(row, THIRD_COUNTRIES, stated, code)
            else:
                mechanism = self.mechanism(row, SAFEGUARDS, safeguards, code)
            if mechanism:
                self.child(
                    TRANSFERS,
                    row,
                    f"{reference} / {code}",
                    InternationalTransfer(),
                    TRANSFER_FIELDS,
                    {
                        "country": code,
                        "mechanism": mechanism,
                        "safeguards_documentation": safeguards,
                    },
                    parent,
                )

    def mechanism(self, row, column, text, code):
        """The Chapter V mechanism ``text`` names for a transfer to ``code``."""
        if not text:
            # The template asks for the safeguards of exceptional transfers
            # only: a country with an adequacy decision needs none.
            if adequacy_decision(code):
                return TransferMechanism.ADEQUACY
            row.error(
                column,
                "Required for a country without an adequacy decision: name the "
                "mechanism (SCCs, BCRs, a code of conduct, a certification or an "
                "Art. 49 derogation).",
            )
            return ""
        found = _matches(text, MECHANISM_PATTERNS)
        if TransferMechanism.COMPELLING_INTERESTS in found:
            # Compelling legitimate interests are themselves an Art. 49 case.
            found = [item for item in found if item != TransferMechanism.DEROGATION]
        if len(found) != 1:
            row.error(
                column,
                f"Cannot tell the one transfer mechanism from '{text}': name "
                "adequacy, SCCs, BCRs, a code of conduct, a certification or an "
                "Art. 49 derogation (one per row, or one per country in brackets "
                "after it).",
            )
            return ""
        return found[0]

    def retention(self, row, cells, reference, parent):
        text = cells.get(RETENTION, "")
        if not text:
            return
        criteria = RETENTION_CRITERIA.fullmatch(text.strip())
        values = {"criteria": criteria[1].strip()}
        if criteria[2]:
            values["end_action"] = criteria[2].casefold()
        match = RETENTION_PERIOD.fullmatch(text.strip())
        trigger = match[3].strip() if match else ""
        period = _period(match[1]) if match else None
        if period is not None and 1 <= period <= 200 and len(trigger) <= 255:
            values = {
                "period": period,
                "period_unit": UNITS[match[2].casefold()],
                "trigger": trigger,
                "end_action": (match[4] or RetentionAction.ERASE).casefold(),
            }
        self.child(
            RETENTION_RULES,
            row,
            f"{reference} / all data",
            RetentionRule(personal_data_category=None),
            RETENTION_FIELDS,
            values,
            parent,
        )


def plan_ico_template(tables, *, file_name, controller):
    """The plan for a filled ICO template; each row a new draft activity."""
    if controller is None:
        raise ValueError("An ICO template is imported for a controller.")
    table, header_row, columns = find_template(tables, file_name)
    rows = [(number, values) for number, values in table.rows if number > header_row]
    if not rows:
        raise ImportFileError(NO_ROWS.format(sheet=table.name, row=header_row))
    plan = ImportPlan(
        file_name=file_name,
        format=ICO,
        groups=(
            ACTIVITIES,
            LAWFUL_BASES,
            TRANSFERS,
            RETENTION_RULES,
            *(
                str(model._meta.verbose_name_plural).capitalize()
                for model, _ in TemplatePlanner.CREATED_KINDS.values()
            ),
        ),
        notes=[DRAFT_NOTE.format(controller=controller)],
    )
    planner = TemplatePlanner(plan, table, columns, controller)
    for row_number, values in rows:
        planner.plan_row(row_number, values)
    plan.notes.extend(
        note for label, note in CREATED_AS.items() if plan.created.get(label)
    )
    return plan
