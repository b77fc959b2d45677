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
from dataclasses import replace
from functools import cached_property

from django_countries import countries

from controllers.models import JointControllerArrangement, ProcessorAgreement
from ropa.core.cells import CellError
from ropa.core.rows import NEW
from ropa.enums import (
    ActivityRole,
    ActivityStatus,
    DPIAStatus,
    LawfulBasisChoice,
    Profiling,
    RecipientType,
    RetentionAction,
    TransferMechanism,
)
from ropa.exchange import layout
from ropa.exchange.ico_text import (
    BASIS_PATTERNS,
    CONDITION_PATTERNS,
    DPIA_PROGRESS_PATTERNS,
    ICO_NO_WORDS,
    MECHANISM_PATTERNS,
    RETENTION_CRITERIA,
    RETENTION_PERIOD,
    UNITS,
    destination,
    fold,
    matching_choices,
    meaningful,
    period_or_none,
    split_names,
    split_purpose,
    unqualified_header,
    yes_or_no,
)
from ropa.exchange.layout import Column, column_of
from ropa.exchange.plan import CATALOGUE, CHILD, ICO, ImportPlan, RowPlan, Save
from ropa.exchange.reading import (
    Catalogue,
    Lookups,
    cell_text,
    heading_text,
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
) = layout.ICO_TEMPLATE.headers

# Without these a row cannot be a record of processing.
REQUIRED_COLUMNS = (BUSINESS_FUNCTION, PURPOSE, INDIVIDUALS, PERSONAL_DATA)
# The header row is looked for in the first rows of each sheet.
HEADER_SEARCH_ROWS = 50
REFERENCE_PATTERN = re.compile(r"PA-(\d+)")

ACTIVITIES = layout.ACTIVITIES.name
LAWFUL_BASES = layout.LAWFUL_BASES.name
TRANSFERS = layout.TRANSFERS.name
RETENTION_RULES = layout.RETENTION_RULES.name

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


def _holds(header, columns, field):
    """
    The column of our own sheets (``columns``) holding ``field``, under the
    ICO template's ``header``: the field each row fills, by the column that
    feeds it (for errors).
    """
    return replace(column_of(columns, field), header=header)


ACTIVITY_FIELDS = tuple(
    _holds(header, layout.ACTIVITY_COLUMNS, field)
    for header, field in (
        (PURPOSE, "name"),
        (PURPOSE, "purpose"),
        (PURPOSE, "reference"),
        (BUSINESS_FUNCTION, "business_function"),
        (JOINT_CONTROLLER, "joint_arrangement"),
        (INDIVIDUALS, "data_subject_categories"),
        (PERSONAL_DATA, "personal_data_categories"),
        (RECIPIENTS, "recipients"),
        (PROCESSOR_CONTRACT, "processor_agreements"),
        (SECURITY, "security_description"),
        (RIGHTS, "rights_information"),
        (AUTOMATED_DECISIONS, "profiling"),
        (AUTOMATED_DECISIONS, "profiling_description"),
        (SOURCE, "data_source"),
        (CONSENT_RECORD, "consent_record_reference"),
        (LOCATION, "data_location"),
        (DPIA_REQUIRED, "dpia_required"),
        (DPIA_PROGRESS, "dpia_status"),
        (DPIA_LINK, "dpia_reference"),
        (BREACH_LINK, "breach_reference"),
        (RETENTION_POLICY, "retention_policy_reference"),
        (RETENTION_FOLLOWED, "retention_policy_followed"),
        (RETENTION_DEVIATION, "retention_policy_deviation"),
    )
)
LAWFUL_BASIS_FIELDS = tuple(
    _holds(header, layout.LAWFUL_BASIS_COLUMNS, field)
    for header, field in (
        (ARTICLE_6, "basis"),
        (ARTICLE_6, "explanation"),
        (LEGITIMATE_INTERESTS, "legitimate_interest"),
        (INTERESTS_ASSESSMENT, "assessment_reference"),
        (ARTICLE_9, "special_category_condition"),
        (SCHEDULE_1, "criminal_data_authority"),
    )
)
TRANSFER_FIELDS = tuple(
    _holds(header, layout.TRANSFER_COLUMNS, field)
    for header, field in (
        (THIRD_COUNTRIES, "country"),
        (SAFEGUARDS, "mechanism"),
        (SAFEGUARDS, "safeguards_documentation"),
    )
)
RETENTION_FIELDS = tuple(
    _holds(RETENTION, layout.RETENTION_RULE_COLUMNS, field)
    for field in ("period", "period_unit", "trigger", "criteria", "end_action")
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


def _header_columns(values):
    """Template column -> position for the cells of one row that are headers."""
    exact = {fold(column): column for column in layout.ICO_TEMPLATE.headers}
    loose = {
        unqualified_header(column): column for column in layout.ICO_TEMPLATE.headers
    }
    found = {}
    for position, value in enumerate(values):
        text = heading_text(value)
        if not text.strip():
            continue
        column = exact.get(fold(text)) or loose.get(unqualified_header(text))
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
                cells[column] = meaningful(cell_text(value))
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
            fields["retention_policy_followed"] = yes_or_no(
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
            answer = yes_or_no(text)
        except ValueError:
            answer = None
        labelled = next(
            (
                choice
                for choice in Profiling
                if fold(text).startswith(fold(str(choice.label)))
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
        description = "" if fold(text).rstrip(".") in ICO_NO_WORDS else text
        return {"profiling": kind, "profiling_description": description}

    def dpia(self, row, cells):
        try:
            required = bool(yes_or_no(cells.get(DPIA_REQUIRED, "")))
        except ValueError as error:
            row.error(DPIA_REQUIRED, str(error))
            return {}
        progress = cells.get(DPIA_PROGRESS, "")
        if not progress:
            # A DPIA that is required and not reported on has not started.
            status = DPIAStatus.NOT_STARTED if required else ""
            return {"dpia_required": required, "dpia_status": status}
        found = matching_choices(progress, DPIA_PROGRESS_PATTERNS)
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
            breach = yes_or_no(cells.get(BREACH, ""))
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
        bases = matching_choices(text, BASIS_PATTERNS) if text else []
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
            conditions = matching_choices(condition_text, CONDITION_PATTERNS)
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
        found = matching_choices(text, MECHANISM_PATTERNS)
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
        period = period_or_none(match[1]) if match else None
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
