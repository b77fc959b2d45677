"""
The register as a document for a supervisory authority (Art. 30(4)): its
content as plain data, which the PDF and Word writers lay out.

``build_document`` reads the register (``ropa.exchange.snapshot``: as it
stands, or as it stood at the end of a past day, for one controller or all)
and returns a ``Document``:

- the cover: the controller with its address and contacts, its DPO and its
  representative (for all controllers, their names; each organisation's
  details are in the first part), the date of the record and of the export,
  the count of activities, the statuses included and the fingerprint;
- "Organisations named in the record": each responsible organisation, joint
  controller and client controller, with its DPO and representative, as the
  Controller sheet of the XLSX export lists them;
- the record of Art. 30(1): one section per controller record, in reference
  order (the order of every export), its elements (a)-(g) in the order of
  the Article under headings naming their letter, an element not recorded
  saying so, and each Art. 30 gap of the record (``snapshot.Gaps``, as of the
  record's date) under the element it concerns; then the activity's flow
  picture;
- the record of Art. 30(2), the processor records, with elements (a)-(d);
- the annexes (``ropa.exchange.document_annexes``).

Activities are those of ``statuses``: active only unless drafts or retired
records are asked for, as the cover says. Everything printed comes from the
snapshot's data, mapped to names and labels as the other exports map them
(``Names``, ``ropa.exchange.layout``, ``ropa.exchange.ico_layout``).

The fingerprint is the SHA-256 of a canonical serialisation (JSON, one line
per block) of everything the document prints but the two dates of the cover
and the fingerprint itself: two exports of the same data have the same
fingerprint, and an edit to anything printed changes it.
"""

import hashlib
import json
from collections import defaultdict
from dataclasses import astuple, dataclass

from django.utils import timezone

from ropa.charts.flows import flow_from_snapshot
from ropa.enums import (
    ActivityRole,
    ActivityStatus,
    DPIAStatus,
    LawfulBasisChoice,
    Profiling,
    RecipientType,
    SpecialCategoryCondition,
)
from ropa.exchange import layout
from ropa.exchange.books import Names, basis_order, local, transfer_order
from ropa.exchange.columns import label
from ropa.exchange.document_annexes import ORGANISATIONS, annexes, organisations_part
from ropa.exchange.document_blocks import (
    FLOWS,
    NOT_RECORDED,
    Field,
    Gap,
    Heading,
    Picture,
    Text,
    contact,
    country_name,
    field,
    measure_text,
    needs_representative,
    optional,
    organisation_fields,
    printable,
    retention_lines,
    transfer_field,
)
from ropa.exchange.snapshot import Gaps
from ropa.models import Recipient, SecurityMeasure
from subjects.enums import Sensitivity, SpecialCategory
from subjects.models import DataSubjectCategory, PersonalDataCategory

TITLE = layout.REGISTER_TITLE
ALL_CONTROLLERS = layout.ALL_CONTROLLERS

# The statuses a document holds unless asked for more: the record in force.
DEFAULT_STATUSES = (ActivityStatus.ACTIVE,)
STATUS_ORDER = (ActivityStatus.ACTIVE, ActivityStatus.DRAFT, ActivityStatus.RETIRED)

CONTROLLER_PART = "Record of processing activities (Art. 30(1))"
PROCESSOR_PART = (
    "Record of processing activities carried out on behalf of a controller (Art. 30(2))"
)
NO_ACTIVITIES = "The record holds no activity of the statuses included."
# An element with nothing recorded reads ``NOT_RECORDED``; but for transfers,
# none recorded is the common case and no gap, and says so.
NO_TRANSFER = (
    "No transfer to a third country or an international organisation is recorded."
)
NONE_RECORDED = dict.fromkeys(("30(1)(e)", "30(2)(c)"), NO_TRANSFER)
FACTS_SEPARATOR = " \u00b7 "

TRANSFERS_TITLE = (
    "Transfers to third countries or international organisations, with the "
    "Art. 49(1) second subparagraph safeguards"
)
SECURITY_TITLE = "Technical and organisational security measures (Art. 32(1))"
# The elements of each record, in the order of the Article: (element, heading).
CONTROLLER_ELEMENTS = (
    (
        "30(1)(a)",
        "Art. 30(1)(a) Name and contact details of the controller, joint "
        "controller, representative and DPO",
    ),
    ("30(1)(b)", "Art. 30(1)(b) Purposes of the processing"),
    ("30(1)(c)", "Art. 30(1)(c) Categories of data subjects and of personal data"),
    ("30(1)(d)", "Art. 30(1)(d) Categories of recipients"),
    ("30(1)(e)", f"Art. 30(1)(e) {TRANSFERS_TITLE}"),
    ("30(1)(f)", "Art. 30(1)(f) Time limits for erasure (retention)"),
    ("30(1)(g)", f"Art. 30(1)(g) {SECURITY_TITLE}"),
)
PROCESSOR_ELEMENTS = (
    (
        "30(2)(a)",
        "Art. 30(2)(a) Name and contact details of the processor, of each "
        "controller on whose behalf it acts, their representatives and DPOs",
    ),
    (
        "30(2)(b)",
        "Art. 30(2)(b) Categories of processing carried out on behalf of each "
        "controller",
    ),
    ("30(2)(c)", f"Art. 30(2)(c) {TRANSFERS_TITLE}"),
    ("30(2)(d)", f"Art. 30(2)(d) {SECURITY_TITLE}"),
)
# Gaps of what a controller keeps beside the record (Art. 5(2)): the lawful
# basis and its conditions, printed with the purposes.
PURPOSES = "30(1)(b)"
ART30_GAP = "Art. 30 gap ({element}): {reason}."
ACCOUNTABILITY_GAP = "Gap (Art. {element}, accountability under Art. 5(2)): {reason}."

RECORD = "The record"
EXPORTED = "Exported"
FINGERPRINT = "Fingerprint (SHA-256)"
FINGERPRINT_NOTE = (
    "The fingerprint is the SHA-256 hash of everything this document prints, "
    "but for the date of the record, the date of the export and the "
    "fingerprint itself. Two copies of the same record have the same "
    "fingerprint; a change to anything printed changes it."
)


@dataclass
class Document:
    """The document: its cover, then its body, each a list of blocks."""

    title: str
    organisation: str
    # The day of the record, or None as it stands.
    as_of: object
    record_date: str
    exported: str
    cover: list
    blocks: list
    fingerprint: str
    controller_records: int
    processor_records: int

    @property
    def activities(self):
        return self.controller_records + self.processor_records

    def cover_blocks(self):
        """The cover's fields as printed: the dates, the rest, the fingerprint."""
        return [
            Field(RECORD, self.record_date),
            Field(EXPORTED, self.exported),
            *self.cover,
            Field(FINGERPRINT, self.fingerprint),
            Text(FINGERPRINT_NOTE),
        ]

    def contents(self):
        """The headings of the table of contents and the outline, in order."""
        return [
            block for block in self.blocks if isinstance(block, Heading) and block.key
        ]

    @property
    def subject(self):
        """The PDF's subject: the record, whose, and of when."""
        return f"{self.title}: {self.organisation}. {self.record_date}."


def statuses_of(*, drafts=False, retired=False):
    """The statuses a document includes: active, and drafts or retired if asked."""
    return tuple(
        status
        for status in STATUS_ORDER
        if status == ActivityStatus.ACTIVE
        or (status == ActivityStatus.DRAFT and drafts)
        or (status == ActivityStatus.RETIRED and retired)
    )


def fingerprint(blocks):
    """The SHA-256 of ``blocks``, one canonical JSON line each."""
    digest = hashlib.sha256()
    for block in blocks:
        line = json.dumps(
            [type(block).__name__, *astuple(block)],
            ensure_ascii=False,
            separators=(",", ":"),
            default=str,
        )
        digest.update(line.encode())
        digest.update(b"\n")
    return digest.hexdigest()


def build_document(register, *, exported_at, statuses=DEFAULT_STATUSES, progress=None):
    """
    The document of ``register`` (a ``Register`` or ``RegisterSnapshot``),
    exported at the aware ``exported_at``, holding the activities whose status
    is in ``statuses``; ``progress`` is advanced by the activities read.
    """
    catalogue = register.catalogue()
    book = _Book(register, catalogue, statuses)
    for chunk in register.activities(progress):
        for activity in chunk:
            if activity["status"] in statuses:
                book.add(activity)

    blocks = organisations_part(book)
    for part, sections in (
        (CONTROLLER_PART, book.controller_sections),
        (PROCESSOR_PART, book.processor_sections),
    ):
        if sections or (part == CONTROLLER_PART and not book.processor_sections):
            blocks.append(Heading(0, part, key=_key(part)))
            blocks.extend(sections or [Text(NO_ACTIVITIES)])
    blocks.extend(annexes(book))
    cover = book.cover()
    time_zone = timezone.get_current_timezone()
    moment = layout.readable(local(exported_at, time_zone))
    if register.as_of is None:
        record_date = f"As it stands, on {moment}"
    else:
        record_date = (
            f"As it stood at the end of {register.as_of.isoformat()}, "
            "rebuilt from its history"
        )
    return Document(
        title=TITLE,
        organisation=book.organisation_name,
        as_of=register.as_of,
        record_date=record_date,
        exported=f"{moment} ({time_zone})",
        cover=cover,
        blocks=blocks,
        fingerprint=fingerprint([*cover, *blocks]),
        controller_records=book.counts[ActivityRole.CONTROLLER],
        processor_records=book.counts[ActivityRole.PROCESSOR],
    )


def _key(text):
    """A destination name for the outline: letters, digits and dashes."""
    return "".join(char if char.isalnum() else "-" for char in text.lower())[:60]


class _Book:
    """What the activities read add up to: their sections and the annexes' rows."""

    def __init__(self, register, catalogue, statuses):
        self.register = register
        self.catalogue = catalogue
        self.statuses = statuses
        self.names = Names(catalogue, gaps=Gaps(catalogue, on=register.as_of))
        self.controller_sections = []
        self.processor_sections = []
        self.counts = defaultdict(int)
        self.with_gaps = 0
        # Organisation id -> its roles (``layout.CONTROLLER_ROLES``).
        self.roles = defaultdict(set)
        # (heading of the activity, its rows) for the annexes.
        self.transfers = []
        self.retention = []
        self.measure_users = defaultdict(list)
        self.flows = []
        if register.controller is not None:
            self.roles[register.controller.pk].add(layout.RESPONSIBLE)

    @property
    def organisation_name(self):
        controller = self.register.controller
        if controller is None:
            return ALL_CONTROLLERS
        return printable(self.catalogue.organisations[controller.pk]["name"]).strip()

    def add(self, activity):
        names = self.names
        reference = activity["reference"]
        role = activity["role"]
        position = sum(self.counts.values()) + 1
        self.counts[role] += 1
        title = f"{reference} {activity['name']}"
        gaps = names.gaps.of(activity)
        self.with_gaps += any(gap.art30 for gap in gaps)
        by_element = defaultdict(list)
        for gap in gaps:
            element = gap.element if gap.art30 else PURPOSES
            template = ART30_GAP if gap.art30 else ACCOUNTABILITY_GAP
            by_element[element].append(
                Gap(template.format(element=gap.element, reason=gap.reason))
            )
        flow = flow_from_snapshot(activity, self.catalogue, on=self.register.as_of)
        self.flows.append(flow)
        self._note(activity, title)

        blocks = [
            Heading(1, title, key=f"activity-{position}"),
            *_about(activity, names),
            Picture(
                kind=FLOWS,
                title=f"Where the data goes: {title}",
                key=f"flows-{position}",
                flows=(flow,),
            ),
        ]
        if role == ActivityRole.PROCESSOR:
            elements = PROCESSOR_ELEMENTS
            contents = (_processors, _processing, _transfers, _security)
            sections = self.processor_sections
        else:
            elements = CONTROLLER_ELEMENTS
            contents = (
                _controllers,
                _purposes,
                _categories,
                _recipients,
                _transfers,
                _retention,
                _security,
            )
            sections = self.controller_sections
        for (element, heading), content in zip(elements, contents, strict=True):
            blocks.append(Heading(2, heading))
            fields = content(activity, names)
            empty = NONE_RECORDED.get(element, NOT_RECORDED)
            blocks.extend(fields or [Text(empty, missing=True)])
            blocks.extend(by_element[element])
        sections.extend(blocks)

    def _note(self, activity, title):
        """What the annexes and the organisations part need of ``activity``."""
        names = self.names
        reference = activity["reference"]
        for pk in activity["organisations"]:
            self.roles[pk].add(layout.RESPONSIBLE)
        if activity["role"] == ActivityRole.PROCESSOR:
            for pk in activity["client_controllers"]:
                self.roles[pk].add(layout.CLIENT_CONTROLLER)
        arrangement_id = activity["joint_arrangement_id"]
        if arrangement_id is not None:
            names.arrangement_users[arrangement_id].append(reference)
            for pk in self.catalogue.arrangements[arrangement_id]["parties"]:
                self.roles[pk].add(layout.JOINT_CONTROLLER)
        for pk in activity["processor_agreements"]:
            names.agreement_users[pk].append(reference)
        for pk in activity["security_measures"]:
            self.measure_users[pk].append(reference)
        if activity["transfers"]:
            self.transfers.append((title, activity["transfers"]))
        self.retention.append((title, activity["retention_rules"]))

    def cover(self):
        """The cover's fields, but for the dates and the fingerprint."""
        organisations = self.catalogue.organisations
        controller = self.register.controller
        if controller is not None:
            blocks = organisation_fields(organisations[controller.pk], self.names)
        else:
            responsible = sorted(
                organisations[pk]["name"]
                for pk, roles in self.roles.items()
                if layout.RESPONSIBLE in roles
            )
            blocks = [
                field("Controllers", responsible),
                Text(
                    "Each organisation's address, contact details, DPO and "
                    f"representative are listed under \u201c{ORGANISATIONS}\u201d."
                ),
            ]
        controllers = self.counts[ActivityRole.CONTROLLER]
        processors = self.counts[ActivityRole.PROCESSOR]
        blocks += [
            Field(
                "Activities",
                f"{controllers + processors}: {controllers} controller records "
                f"(Art. 30(1)), {processors} processor records (Art. 30(2))",
            ),
            Field("Statuses included", statuses_text(self.statuses)),
            Field("Records with an Art. 30 gap", str(self.with_gaps)),
        ]
        return blocks


def statuses_text(statuses):
    """``Active only (draft and retired records left out)`` and the like."""
    included = [label(ActivityStatus, status).lower() for status in statuses]
    left_out = [
        label(ActivityStatus, status).lower()
        for status in STATUS_ORDER
        if status not in statuses
    ]
    text = _and(included).capitalize()
    if len(included) == 1:
        text += " only"
    if left_out:
        text += f" ({_and(left_out)} records left out)"
    return text


def _and(words):
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _about(activity, names):
    """The record's status and owner, and what the regulators' templates add."""
    dpia = "Not required"
    if activity["dpia_required"]:
        dpia = "; ".join(
            part
            for part in (
                "Required",
                label(DPIAStatus, activity["dpia_status"]),
                activity["dpia_reference"],
            )
            if part
        )
    profiling = label(Profiling, activity["profiling"])
    if activity["profiling_description"]:
        profiling += f"\n{activity['profiling_description']}"
    facts = [
        label(ActivityRole, activity["role"]),
        f"Status: {label(ActivityStatus, activity['status'])}",
        f"Business function: {activity['business_function'] or NOT_RECORDED}",
    ]
    if activity["owner_id"] is not None:
        facts.append(f"Owner: {names.username(activity['owner_id'])}")
    if activity["updated_at"]:
        facts.append(
            f"Last updated: {layout.readable(names.local(activity['updated_at']))}"
        )
    return [
        Text(FACTS_SEPARATOR.join(facts)),
        *optional("Systems and software", activity["systems"]),
        *optional("Location of the data", activity["data_location"]),
        Field("Profiling and automated decision-making (Art. 22)", profiling),
        Field("Data protection impact assessment (Art. 35)", dpia),
    ]


def _organisations(pks, names):
    organisations = names.catalogue.organisations
    return sorted((organisations[pk] for pk in pks), key=lambda row: row["name"])


def _parties(title, organisations, names):
    """
    Organisations' names and contact details, then their DPOs' and their
    representatives', each named once, with the organisations it serves when
    there are several. A DPO not recorded says so, as does a representative
    not recorded for an organisation that needs one (Art. 27): the element
    names both "where applicable", and a reader cannot tell a line left out
    from a party forgotten.
    """
    several = len(organisations) > 1
    blocks = [field(title, [contact(row) for row in organisations])]
    for role, of, needed in (
        ("Data protection officer", names.officer, lambda row: True),
        (
            "Representative (Art. 27)",
            names.representative,
            lambda row: needs_representative(row, names),
        ),
    ):
        served = defaultdict(list)
        for organisation in organisations:
            party = of(organisation)
            if party:
                served[contact(party)].append(organisation["name"])
            elif needed(organisation):
                served[NOT_RECORDED].append(organisation["name"])
        if list(served) == [NOT_RECORDED]:
            blocks.append(field(role, ""))
            continue
        lines = [
            f"{line} (for {_and(parties)})" if several else line
            for line, parties in served.items()
        ]
        blocks += optional(role, lines)
    return blocks


def _controllers(activity, names):
    """30(1)(a): the controllers, the joint controllers, DPOs and representatives."""
    organisations = _organisations(activity["organisations"], names)
    blocks = _parties("Controller", organisations, names) if organisations else []
    arrangement_id = activity["joint_arrangement_id"]
    if arrangement_id is not None:
        arrangement = names.catalogue.arrangements[arrangement_id]
        blocks.append(
            Field(
                "Joint controller arrangement (Art. 26)",
                f"{arrangement['reference']} {arrangement['name']}",
            )
        )
        own = set(activity["organisations"])
        others = [
            party
            for party in _organisations(arrangement["parties"], names)
            if party["id"] not in own
        ]
        if others:
            blocks += _parties("Joint controller", others, names)
        blocks += optional(
            "Contact point for data subjects", arrangement["contact_point"]
        )
    blocks += optional("Joint processing", activity["joint_processing"])
    return blocks


def _bases(activity):
    return sorted(activity["lawful_bases"], key=basis_order)


def _purposes(activity, names):
    """30(1)(b): the purpose, with its lawful bases and their conditions."""
    blocks = [field("Purpose", activity["purpose"])]
    bases = _bases(activity)
    if not bases:
        blocks.append(field("Lawful basis (Art. 6(1))", ""))
    for basis in bases:
        blocks.append(
            Field(
                f"Lawful basis: {label(LawfulBasisChoice, basis['basis'])}",
                basis["explanation"] or "No explanation recorded",
            )
        )
        blocks += optional("Legitimate interest pursued", basis["legitimate_interest"])
        blocks += optional(
            "Legitimate interests assessment", basis["assessment_reference"]
        )
        if basis["special_category_condition"]:
            blocks.append(
                Field(
                    "Condition for special category data",
                    label(
                        SpecialCategoryCondition, basis["special_category_condition"]
                    ),
                )
            )
        blocks += optional(
            "Authority for criminal offence data (Art. 10)",
            basis["criminal_data_authority"],
        )
    return blocks


def _data_category(row):
    """A personal data category, its sensitivity said where it is not ordinary."""
    if row["sensitivity"] == Sensitivity.ORDINARY:
        return row["name"]
    sensitivity = label(Sensitivity, row["sensitivity"])
    if row["special_category"]:
        sensitivity += f": {label(SpecialCategory, row['special_category'])}"
    return f"{row['name']} ({sensitivity})"


def _subjects_and_data(activity, names):
    details = names.catalogue.details
    subjects = details[DataSubjectCategory]
    data = details[PersonalDataCategory]
    return [
        field(
            "Categories of data subjects",
            sorted(subjects[pk]["name"] for pk in activity["data_subject_categories"]),
        ),
        field(
            "Categories of personal data",
            sorted(
                _data_category(data[pk]) for pk in activity["personal_data_categories"]
            ),
        ),
    ]


def _categories(activity, names):
    """30(1)(c): the categories of data subjects and of personal data."""
    return [
        *_subjects_and_data(activity, names),
        *optional("Source of the data", activity["data_source"]),
    ]


def _recipient(row, names):
    """``Name: type, country (outside the EEA)``."""
    parts = [label(RecipientType, row["recipient_type"])]
    country = row["country"]
    if country:
        where = country_name(country)
        if country not in names.gaps.eea:
            where += ", outside the EEA"
        parts.append(where)
    else:
        parts.append("country not recorded")
    return f"{row['name']}: {'; '.join(parts)}"


def _recipients(activity, names):
    """30(1)(d): the recipients, and the processors' agreements."""
    recipients = names.catalogue.details[Recipient]
    agreements = names.catalogue.agreements
    return [
        field(
            "Recipients",
            sorted(_recipient(recipients[pk], names) for pk in activity["recipients"]),
        ),
        *optional(
            "Processor agreements (Art. 28)",
            sorted(
                ": ".join(
                    part
                    for part in (
                        agreements[pk]["reference"],
                        names.organisation(agreements[pk]["processor_id"]),
                        agreements[pk]["document_reference"],
                    )
                    if part
                )
                for pk in activity["processor_agreements"]
            ),
        ),
    ]


def _transfers(activity, names):
    """30(1)(e) and 30(2)(c): the transfers, each with its mechanism."""
    return [
        transfer_field(transfer, names)
        for transfer in sorted(activity["transfers"], key=transfer_order)
    ]


def _retention(activity, names):
    """30(1)(f): the time limits for erasure, per category of data."""
    rules = activity["retention_rules"]
    return [field("Retention", retention_lines(rules, names))] if rules else []


def _security(activity, names):
    """30(1)(g) and 30(2)(d): the general description and the measures."""
    measures = names.catalogue.details[SecurityMeasure]
    return [
        *optional("General description", activity["security_description"]),
        *optional(
            "Measures",
            sorted(measure_text(measures[pk]) for pk in activity["security_measures"]),
        ),
    ]


def _processors(activity, names):
    """30(2)(a): the processor, and each controller it acts for."""
    blocks = []
    for title, pks in (
        ("Processor", activity["organisations"]),
        ("On behalf of the controller", activity["client_controllers"]),
    ):
        organisations = _organisations(pks, names)
        if organisations:
            blocks += _parties(title, organisations, names)
    return blocks


def _processing(activity, names):
    """30(2)(b): the categories of processing carried out."""
    clients = [
        row["name"] for row in _organisations(activity["client_controllers"], names)
    ]
    return [
        field("Categories of processing", activity["purpose"]),
        *optional("For the controllers", clients),
        *_subjects_and_data(activity, names),
    ]
