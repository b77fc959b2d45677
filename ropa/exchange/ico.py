"""
Migrating a register kept in the UK ICO's documentation template for controllers.

The template (``ropa.exchange.ico_layout``) is one sheet: a header block naming
the controller, its DPO and its representative, then a row of column headings
(found wherever it is on the sheet, in the template's wordings, older ones
and other tools', whatever their case and spacing) and one processing
activity per row below. The controller comes from the header block, matched
by name or created with its DPO and representative
(``ropa.exchange.ico_parties``); one chosen for the import overrides it.

Each filled row becomes a new draft activity of that controller, with the
next free ``PA-NNNN`` reference. A row whose purpose title names an activity
already in the register is compared with the template as the export writes
that activity: unchanged, or refused with the columns that differ (so an
exported template imported back changes nothing). Its free-text columns are
mapped onto the model:

- categories of individuals, of personal data and of recipients, split on
  ";", "," line breaks or bullets, are matched by name in any case, or
  created; a recipient marked "(processor)" is created as a processor, with
  its organisation;
- the Art. 6 basis is read from its keywords ("consent", "contract", "legal
  obligation", "vital interests", "public task", "legitimate interests" or
  "6(1)(a)"-"6(1)(f)"), the Art. 9 condition likewise; text that names none is
  an error;
- third countries, by English name, usual short form ("USA", "UK") or ISO
  code, become transfers whose mechanism is read from the safeguards text
  (adequacy, SCCs, BCRs, code, certification, Art. 49 derogation); an unknown
  country or mechanism is an error;
- the retention schedule becomes a rule for all of the activity's data: a
  period and unit when it reads "N years|months|days ...", else criteria;
- the joint controller, by an arrangement's reference or name, or by the
  parties' names and contact details (an arrangement is then recorded);
- processor contracts, by an agreement's reference or document reference, or
  by a link recorded as a new agreement with the row's processor; a link
  with no processor to record it with is kept on the activity.

A column no field holds is named in the report and its cells kept on each
activity ("Kept from an import"), never dropped. Every record created is
listed to review with the sheet, row and column it comes from.
"""

import re
from functools import cached_property

from controllers.models import JointControllerArrangement, ProcessorAgreement
from ropa.core.cells import CellError
from ropa.core.rows import NEW
from ropa.enums import (
    ActivityRole,
    ActivityStatus,
    DPIAStatus,
    RecipientType,
)
from ropa.exchange import ico_layout, layout
from ropa.exchange.columns import Column, column_of
from ropa.exchange.ico_children import (
    LAWFUL_BASES,
    RETENTION_RULES,
    TRANSFERS,
    ChildRows,
    holds,
)
from ropa.exchange.ico_compare import agreement_link, compare_rows, remainders
from ropa.exchange.ico_layout import (
    AUTOMATED_DECISIONS,
    BREACH,
    BREACH_LINK,
    BUSINESS_FUNCTION,
    CONSENT_RECORD,
    DPIA_LINK,
    DPIA_PROGRESS,
    DPIA_REQUIRED,
    INDIVIDUALS,
    JOINT_CONTROLLER,
    LOCATION,
    PERSONAL_DATA,
    PROCESSOR_CONTRACT,
    PURPOSE,
    RECIPIENTS,
    RETENTION_DEVIATION,
    RETENTION_FOLLOWED,
    RETENTION_POLICY,
    RIGHTS,
    SECURITY,
    SOURCE,
)
from ropa.exchange.ico_parties import (
    NO_CONTROLLER,
    NO_PROCESSOR,
    PARTY_GROUPS,
    Contact,
    Parties,
    column_letter,
    looks_like_link,
    read_header_block,
)
from ropa.exchange.ico_text import (
    DPIA_PROGRESS_PATTERNS,
    fold,
    matching_choices,
    meaningful,
    not_applicable,
    processor_marked,
    read_profiling,
    says_yes,
    split_names,
    split_purpose,
    unqualified_header,
    yes_or_no,
)
from ropa.exchange.plan import CATALOGUE, ICO, ImportPlan, RowPlan, Save
from ropa.exchange.reading import (
    Catalogue,
    Lookups,
    cell_text,
    heading_text,
)
from ropa.exchange.validation import assign, validation_errors
from ropa.exchange.workbook import ImportFileError
from ropa.models import (
    ProcessingActivity,
    Recipient,
)
from subjects.models import DataSubjectCategory, PersonalDataCategory

# Without these a row cannot be a record of processing.
REQUIRED_COLUMNS = (BUSINESS_FUNCTION, PURPOSE, INDIVIDUALS, PERSONAL_DATA)
# The header row is looked for in the first rows of each sheet.
HEADER_SEARCH_ROWS = 50
REFERENCE_PATTERN = re.compile(r"PA-(\d+)")

ACTIVITIES = layout.ACTIVITIES.name

NO_HEADER_ROW = (
    "No sheet of '{file_name}' has the column headers of the ICO documentation "
    "template for controllers (looked for '{purpose}', '{function}' and the "
    "other columns of the template in a row of the first {rows} rows). To "
    "import a register exported from here, choose our own format."
)
OUR_OWN = (
    "'{file_name}' is a register exported from here (its Activities and For the "
    "import sheets), not an ICO template: import it as our own export."
)
MISSING_COLUMNS = "Sheet '{sheet}' lacks the columns {names} in its header row {row}."
NO_ROWS = (
    "Sheet '{sheet}' lists no activities below its header row {row}: only its "
    "header block is read."
)
SEVERAL_TEMPLATES = (
    "Sheets {sheets} each have the column headings of the ICO template: import "
    "them one workbook at a time, so that each controller's activities go to it."
)
NOT_A_PROCESSOR = (
    "'{name}' is marked as a processor but is in the register as another kind of "
    "recipient: it is linked as it is; correct its type in the admin if it is a "
    "processor."
)
CREATED_AS = {
    "recipients": "Created recipients are recorded as external recipients, or as "
    "processors where marked '(processor)': correct the type of group companies "
    "in the admin.",
    "personal data categories": "Created personal data categories are recorded "
    "as ordinary personal data: mark special categories (Art. 9) and criminal "
    "data (Art. 10) in the admin.",
}
CREATED_DESCRIPTION = "Created by importing the ICO template '{file_name}'."
DRAFT_NOTE = (
    "Each new row becomes a draft activity of {controller}: review it, then set "
    "it active."
)


# The cells of columns no field holds, under their headings.
KEPT = column_of(layout.ACTIVITY_COLUMNS, "import_notes").header
ACTIVITY_FIELDS = tuple(
    holds(header, layout.ACTIVITY_COLUMNS, field)
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
        (KEPT, "import_notes"),
    )
)


class TemplateLookups(Lookups):
    """
    The catalogues, with agreements and arrangements found by more names, and
    the activities by name.
    """

    @cached_property
    def activities(self):
        return Catalogue(
            ProcessingActivity.objects.prefetch_related("organisations"), "name"
        )

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


def _header_columns(values, unplaced=None):
    """
    Template column -> position for the cells of one row that are headers;
    the other headings of the row go into ``unplaced`` (position -> text).
    """
    exact = {}
    for column in ico_layout.ICO_COLUMNS:
        for wording in (column.header, *column.aliases):
            exact.setdefault(fold(wording), column.header)
    loose = {}
    for column in ico_layout.ICO_COLUMNS:
        for wording in (column.header, *column.aliases):
            loose.setdefault(unqualified_header(wording), column.header)
    found = {}
    for position, value in enumerate(values):
        text = heading_text(value)
        if not text.strip():
            continue
        column = exact.get(fold(text)) or loose.get(unqualified_header(text))
        if column and column not in found:
            found[column] = position
        elif unplaced is not None:
            unplaced[position] = " ".join(text.split())
    return found


def _header_row_of(table):
    """The number of ``table``'s row of the template's headings, or None."""
    for row_number, values in table.rows[:HEADER_SEARCH_ROWS]:
        columns = _header_columns(values)
        if PURPOSE in columns and len(columns) >= len(REQUIRED_COLUMNS):
            return row_number
    return None


def _repeats_the_headings(values, columns):
    """Whether a row is the headings again (a page's heading, pasted)."""
    again = _header_columns(values)
    return len(again) >= len(REQUIRED_COLUMNS) and all(
        again.get(column) == position
        for column, position in columns.items()
        if column in again
    )


def find_template(tables, file_name):
    """
    The first sheet with the template's header row: (table, row, columns,
    unplaced), ``unplaced`` the row's other headings by position.
    """
    for table in tables.values():
        for row_number, values in table.rows[:HEADER_SEARCH_ROWS]:
            unplaced = {}
            columns = _header_columns(values, unplaced)
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
                return table, row_number, columns, unplaced
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

    group = ACTIVITIES

    CREATED_KINDS = {
        "subjects": (DataSubjectCategory, {}),
        "data": (PersonalDataCategory, {}),
        "recipients": (Recipient, {"recipient_type": RecipientType.EXTERNAL}),
    }

    def __init__(self, plan, table, columns, controller, *, unplaced, parties):
        self.plan = plan
        self.table = table
        self.columns = columns
        self.controller = controller
        self.unplaced = unplaced
        self.parties = parties
        self.lookups = TemplateLookups()
        self.children = ChildRows(plan, self.lookups, parties.review)
        self.next_number = next_reference_number()
        self.names = {}
        self.existing = {}
        # Rows of activities already in the register: compared, not added.
        self.compared = []

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

    def kept(self, values, row=None):
        """
        The row's cells no column of the template holds, as (heading, text):
        kept on the activity under their heading, never dropped. A cell that
        cannot be read (a formula saved without its value) is an error of
        ``row``.
        """
        placed = set(self.columns.values())
        kept = []
        for position, value in enumerate(values):
            if position in placed:
                continue
            heading = self.unplaced.get(position) or f"Column {column_letter(position)}"
            try:
                text = meaningful(cell_text(value))
            except CellError as error:
                if row is not None:
                    row.error(heading, str(error))
                continue
            if text:
                kept.append((heading, text))
        return kept

    def plan_row(self, row_number, values):
        cells, unreadable = self.cells(values)
        name, _ = split_purpose(cells.get(PURPOSE, ""))
        existing = self.lookups.activities.find(name) if name else None
        if existing is not None:
            self.compared.append(
                (row_number, existing, cells, [*remainders(cells), *self.kept(values)])
            )
            return
        reference = reference_for(self.next_number)
        self.next_number += 1
        self.kept_links = []
        row = RowPlan(ACTIVITIES, self.table.name, row_number, reference, action=NEW)
        self.plan.rows.append(row)
        for column, reason in unreadable.items():
            row.error(column, reason)
        values_read = self.activity_values(row, cells, reference)
        unplaced = self.kept(values, row)
        for heading, _ in unplaced:
            self.plan.kept[heading] = self.plan.kept.get(heading, 0) + 1
        kept = [*self.kept_links, *remainders(cells), *unplaced]
        if kept:
            values_read["import_notes"] = "\n\n".join(
                f"{heading}: {text}" for heading, text in kept
            )
        activity = ProcessingActivity()
        row.key = f"{reference} {values_read.get('name', '')}".strip()
        row.changes, links = assign(
            activity, ACTIVITY_FIELDS, values_read, self.lookups, new=True
        )
        for column, reason in validation_errors(
            activity, ACTIVITY_FIELDS, exclude=("joint_arrangement",)
        ):
            row.error(column, reason)
        save = Save(activity, links={**links, "organisations": [self.controller]})
        row.settle(save)
        self.parties.review("Activity", row.key, row.row, PURPOSE)
        self.children.lawful_bases(row, cells, reference, save)
        self.children.transfers(row, cells, reference, save)
        self.children.retention(
            row,
            cells,
            reference,
            save,
            values_read.get("personal_data_categories", []),
        )

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
        joint = cells.get(JOINT_CONTROLLER, "")
        if joint:
            # An arrangement's reference or name, or the joint controllers'
            # names and contact details, as people write them.
            arrangement = self.lookups.arrangements.find(joint)
            if arrangement is None:
                arrangement, kept = self.parties.arrangement(
                    self.controller,
                    joint,
                    row=row.row,
                    column=JOINT_CONTROLLER,
                    scope=name or purpose,
                )
                if kept:
                    self.kept_links.append((JOINT_CONTROLLER, kept))
            fields["joint_arrangement"] = arrangement
        links = {
            "data_subject_categories": self.named(row, INDIVIDUALS, cells, "subjects"),
            "personal_data_categories": self.named(row, PERSONAL_DATA, cells, "data"),
            "recipients": self.named(row, RECIPIENTS, cells, "recipients"),
        }
        links["processor_agreements"] = self.agreements(
            row, cells, links["recipients"], services=name or purpose
        )
        for column, name in (
            (INDIVIDUALS, "data_subject_categories"),
            (PERSONAL_DATA, "personal_data_categories"),
        ):
            if not links[name] and column not in {error.column for error in row.errors}:
                row.error(column, "Required. Name at least one category.")
        return {**fields, **links}

    def profiling(self, cells):
        return read_profiling(cells.get(AUTOMATED_DECISIONS, ""))

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
        for written in split_names(
            text, lambda part: catalogue.find(processor_marked(part)[0]) is not None
        ):
            name, processor = (
                processor_marked(written)
                if kind == "recipients"
                else (
                    written,
                    False,
                )
            )
            instance = catalogue.find(name)
            if instance is None:
                instance = self.create(row, column, kind, name, processor=processor)
            elif processor and instance.recipient_type != RecipientType.PROCESSOR:
                note = NOT_A_PROCESSOR.format(name=instance.name)
                if note not in self.plan.notes:
                    self.plan.notes.append(note)
            found[id(instance)] = instance
        return list(found.values())

    def create(self, row, column, kind, name, *, processor=False):
        model, defaults = self.CREATED_KINDS[kind]
        instance = model(
            name=name,
            description=CREATED_DESCRIPTION.format(file_name=self.plan.file_name),
            **defaults,
        )
        if processor:
            # "Payroll Ltd (processor)": a processor (Art. 28). Its
            # organisation is recorded when an agreement needs one: a
            # category ("IT service providers") names no company.
            instance.recipient_type = RecipientType.PROCESSOR
        label = str(model._meta.verbose_name_plural)
        entry = RowPlan(
            label.capitalize(), row.sheet, row.row, name, action=NEW, phase=CATALOGUE
        )
        for _, reason in validation_errors(
            instance,
            (Column(column, "name", None), Column(column, "description", None)),
            exclude=("organisation",),
        ):
            entry.error(
                column,
                f"Cannot create the {model._meta.verbose_name} '{name}': {reason}",
            )
        self.plan.rows.append(entry)
        entry.settle(Save(instance))
        getattr(self.lookups, kind).add(instance)
        self.plan.created.setdefault(label, []).append(name)
        self.parties.review(
            str(model._meta.verbose_name).capitalize(), name, row.row, column
        )
        return instance

    def agreements(self, row, cells, recipients, *, services):
        """
        The processor agreements column 7 links: this controller's agreement
        with one of the row's processors by its reference or document
        reference, else recorded with the processor among the row's
        recipients; a link without one is kept on the activity.
        """
        found, kept = {}, []
        processors = [
            recipient
            for recipient in recipients
            if recipient.recipient_type == RecipientType.PROCESSOR
        ]
        for link in split_names(cells.get(PROCESSOR_CONTRACT, ""), looks_like_link):
            if says_yes(link) or not_applicable(link):
                # "Yes": a contract, not where it is; "No": none.
                if says_yes(link):
                    kept.append(link)
                continue
            # "DPA-0001: https://…", as the template export writes it.
            agreement = self.parties.find_agreement(link, self.controller, processors)
            if agreement is None:
                # An agreement of another register: its document, not its
                # reference, is what this one can record.
                link = agreement_link(link)
                processor = self.processor_of(link, processors, row.row)
                if processor is None:
                    kept.append(link)
                    continue
                agreement = self.parties.agreement(
                    processor,
                    self.controller,
                    link,
                    row=row.row,
                    column=PROCESSOR_CONTRACT,
                    services=services,
                )
            found[id(agreement)] = agreement
        if kept:
            if len(processors) > 1:
                why = (
                    "the row's processors are "
                    + ", ".join(sorted(p.name for p in processors))
                    + ", and the link names none of them"
                )
            elif processors:
                why = "it names no document"
            else:
                why = "no recipient of this row is marked as a processor"
            self.plan.notes.append(
                f"Sheet '{row.sheet}', row {row.row}, column '{PROCESSOR_CONTRACT}': "
                + NO_PROCESSOR.format(why=why)
            )
            self.kept_links.append((PROCESSOR_CONTRACT, "; ".join(kept)))
        return list(found.values())

    def processor_of(self, link, processors, row_number):
        """
        The organisation of the one processor ``link`` is with, or None:
        the recipient's, else one of its name, recorded for a new recipient.
        """
        named = [
            recipient
            for recipient in processors
            if recipient.name.casefold() in link.casefold()
        ]
        candidates = named or processors
        if len(candidates) != 1:
            return None
        recipient = candidates[0]
        if recipient.organisation_id or recipient.organisation is not None:
            return recipient.organisation
        organisation = self.parties.organisation(
            Contact(name=recipient.name), row_number, RECIPIENTS
        )
        if recipient.pk is None:
            # Written after the organisation (ropa.exchange.plan's phases).
            recipient.organisation = organisation
        return organisation


def plan_ico_template(tables, *, file_name, controller=None):
    """
    The plan for a filled ICO template: each row a new draft activity, or one
    already in the register found unchanged. ``controller`` overrides the
    controller the header block names.
    """
    if {layout.ACTIVITIES.name, layout.FOR_THE_IMPORT.name} <= set(tables):
        raise ImportFileError(OUR_OWN.format(file_name=file_name))
    table, header_row, columns, unplaced = find_template(tables, file_name)
    others = [
        other.name
        for other in tables.values()
        if other is not table and _header_row_of(other) is not None
    ]
    if others:
        raise ImportFileError(
            SEVERAL_TEMPLATES.format(
                sheets=", ".join(f"'{name}'" for name in (table.name, *others))
            )
        )
    rows = [
        (number, values)
        for number, values in table.rows
        if number > header_row and not _repeats_the_headings(values, columns)
    ]
    plan = ImportPlan(
        file_name=file_name,
        format=ICO,
        groups=(
            *PARTY_GROUPS,
            ACTIVITIES,
            LAWFUL_BASES,
            TRANSFERS,
            RETENTION_RULES,
            *(
                str(model._meta.verbose_name_plural).capitalize()
                for model, _ in TemplatePlanner.CREATED_KINDS.values()
            ),
        ),
    )
    parties = Parties(plan, table.name, to_review=plan.to_review)
    block = read_header_block(
        [(number, values) for number, values in table.rows if number < header_row]
    )
    controller = parties.controller(block, controller)
    if controller is None:
        raise ImportFileError(NO_CONTROLLER.format(sheet=table.name))

    planner = TemplatePlanner(
        plan, table, columns, controller, unplaced=unplaced, parties=parties
    )
    for row_number, values in rows:
        planner.plan_row(row_number, values)
    if not rows:
        plan.notes.append(NO_ROWS.format(sheet=table.name, row=header_row))
    compare_rows(planner, planner.compared)
    if any(row.group == ACTIVITIES and row.action == NEW for row in plan.rows):
        plan.notes.insert(0, DRAFT_NOTE.format(controller=controller))
    plan.notes.extend(
        note for label, note in CREATED_AS.items() if plan.created.get(label)
    )
    return plan
