"""
The parties a filled ICO template names, and the records the import keeps
for them.

- The header block above the column headings names the controller, its data
  protection officer and its representative (Name, Address, Email,
  Telephone). It is read in either orientation: the parties across and the
  details down, as the template has it, or the parties down and the details
  across; a label naming both ("Controller name", "DPO email") is read with
  the cell to its right.
- Column 3 names the joint controllers as people write them: "name, address,
  email, telephone", one party per paragraph.
- Column 7 links processor contracts: a link no agreement of the register
  has becomes a processor agreement with that document reference, its
  processor the row's recipient marked as a processor.

An organisation, officer, arrangement or agreement is matched by name (in
any case) or created. Every record created is listed in the report as to
review, with the sheet, row and column it came from; none is written by a
dry run.
"""

import re
from dataclasses import dataclass, field
from functools import cached_property

from openpyxl.utils import get_column_letter

from controllers.models import (
    DataProtectionOfficer,
    JointControllerArrangement,
    Organisation,
    ProcessorAgreement,
)
from ropa.core.cells import CellError, country_code
from ropa.core.rows import NEW
from ropa.exchange import ico_layout
from ropa.exchange.columns import Column
from ropa.exchange.ico_text import fold, meaningful, not_applicable, says_yes
from ropa.exchange.plan import (
    CATALOGUE,
    Change,
    RowPlan,
    Save,
)
from ropa.exchange.plan import (
    CONTROLLER as CONTROLLER_PHASE,
)
from ropa.exchange.plan import (
    OFFICERS as OFFICERS_PHASE,
)
from ropa.exchange.plan import (
    PARTIES as PARTIES_PHASE,
)
from ropa.exchange.reading import Catalogue, cell_text, heading_text
from ropa.exchange.validation import validation_errors

EMAIL = re.compile(r"[^\s,;:<>()\[\]]+@[^\s,;:<>()\[\]]+\.[^\s,;:<>()\[\]]+")
PHONE = re.compile(r"\+?\d[\d\s().\-/]{5,}\d")
# "Email: …", "Tel. …": the labels people put before a detail.
DETAIL_LABEL = re.compile(
    r"^(?:name|address|e-?mail(?: address)?|tel(?:ephone)?|phone|mobile|"
    r"contact(?: details)?)\s*[.:]\s*",
    re.IGNORECASE,
)
CONTACT_POINT = re.compile(
    rf"^{re.escape(ico_layout.CONTACT_POINT)}\s*:\s*", re.IGNORECASE
)
# "Jointly with Beta GmbH (see the arrangement)": the words around the name.
JOINT_LEAD_IN = re.compile(
    r"^(?:jointly with|joint(?:ly)? controll(?:er|ers|ed)(?: with)?|shared with|"
    r"with)\b\s*:?\s*",
    re.IGNORECASE,
)
SEE_ALSO = re.compile(r"\s*\((?:see|cf\.?|as per)\b[^)]*\)", re.IGNORECASE)
URL = re.compile(r"^(?:https?://|www\.|file:|\\\\|[a-z]:\\)", re.IGNORECASE)

ORGANISATIONS = "Organisations"
OFFICERS = "Data protection officers"
ARRANGEMENTS = "Joint controller arrangements"
AGREEMENTS = "Processor agreements"
PARTY_GROUPS = (OFFICERS, ORGANISATIONS, ARRANGEMENTS, AGREEMENTS)

NO_CONTROLLER = (
    "The template names no controller: its header block (above the column "
    "headings on sheet '{sheet}') has no Controller Name. Fill it in, or choose "
    "the controller for the import."
)
NO_COUNTRY = (
    "{name}: the address names no country, so the country of establishment is "
    "left empty; record it in the admin."
)
OTHER_OFFICER = (
    "The register names {current} as the data protection officer of {controller}; "
    "the template names {named}. Change it in the admin first, or write the "
    "register's officer here."
)
OTHER_REPRESENTATIVE = (
    "The register names {current} as the representative of {controller}; the "
    "template names {named}. Change it in the admin first, or write {current} here."
)
OFFICER_EMAIL = (
    "The data protection officer {name} has no email: give the contact "
    "published for data subjects (Art. 37(7))."
)
OVERRIDDEN = (
    "The controller was chosen for the import ({controller}): the header block's "
    "controller, data protection officer and representative were not read."
)
NO_PROCESSOR = (
    "Kept on the activity, not recorded as a processor agreement: {why}. Record "
    "the agreement in the admin, with its processor."
)
NAMELESS = (
    "The {party} has contact details but no name: give the name, or clear the details."
)
AMBIGUOUS_OFFICER = (
    "Several data protection officers in the register are named {name}: give the "
    "officer's email to say which."
)
OTHER_DETAILS = (
    "{name} is in the register with other contact details than the template's "
    "({fields}): the register's are kept; change them in the admin if the "
    "template's are right."
)
ONLY_ITSELF = (
    "Sheet '{sheet}', row {row}, column '{column}': names no joint controller but "
    "{controller} itself: kept on the activity, no arrangement recorded."
)
UNNAMED_JOINT = (
    "Sheet '{sheet}', row {row}, column '{column}': says there is a joint "
    "controller without naming it: kept on the activity, no arrangement recorded."
)


@dataclass
class Contact:
    """A party as a spreadsheet names it, and where."""

    name: str = ""
    address: str = ""
    email: str = ""
    phone: str = ""
    # "row 3, column B": the cell of the name.
    where: str = ""

    def __bool__(self):
        return bool(self.name or self.address or self.email or self.phone)

    @property
    def country(self):
        """
        The country the address ends with, by name or three-letter code, or
        "": a last part of two letters is a state or county as often ("San
        Francisco, CA") as a country.
        """
        parts = [part.strip().rstrip(".") for part in re.split(r"[\n,]+", self.address)]
        last = next((part for part in reversed(parts) if part), "")
        return country_code(last) if len(last) > 2 else ""

    @property
    def details(self):
        """Whether it gives any detail besides its name."""
        return bool(self.address or self.email or self.phone)


@dataclass(frozen=True)
class ToReview:
    """A record the import creates, and the cell it comes from."""

    kind: str
    name: str
    where: str

    def __str__(self):
        return f"{self.kind} '{self.name}' (from {self.where})"


def column_letter(position):
    return get_column_letter(position + 1)


def parse_contact(text, where=""):
    """A party from "name, address, email, telephone" on one or several lines."""
    contact = Contact(where=where)
    address = []
    for part in re.split(r"[\n,;]+", text):
        part = meaningful(DETAIL_LABEL.sub("", part.strip().lstrip("-*\u2022 ")))
        if not part:
            continue
        email = EMAIL.search(part)
        if email and not contact.email:
            contact.email = email[0].rstrip(".")
        elif PHONE.fullmatch(part) and not contact.phone:
            contact.phone = part
        elif not contact.name:
            contact.name = part
        else:
            address.append(part)
    contact.address = ", ".join(address)
    return contact


def parse_joint_controllers(text, where=""):
    """The parties of column 3 (one per paragraph) and the contact point."""
    parties, contact_point = [], ""
    for block in re.split(r"\n\s*\n|;\s*\n?", text):
        block = block.strip()
        if not block:
            continue
        if CONTACT_POINT.match(block):
            contact_point = CONTACT_POINT.sub("", block).strip()
            continue
        block = JOINT_LEAD_IN.sub("", SEE_ALSO.sub("", block)).strip()
        contact = parse_contact(block, where)
        if contact:
            parties.append(contact)
    return parties, contact_point


# ---------------------------------------------------------------------------
# The header block
# ---------------------------------------------------------------------------


def _label(text, aliases):
    folded = fold(text).rstrip(":*. ")
    for key, wordings in aliases.items():
        if folded == fold(key) or folded in wordings:
            return key
    return None


def _mentions(text, aliases):
    folded = fold(text)
    # "The controller's representative" names the representative: the
    # controller, named in the others' labels too, is looked for last.
    for key, wordings in reversed(aliases.items()):
        for wording in (fold(key), *wordings):
            if re.search(rf"\b{re.escape(wording)}\b", folded):
                return key
    return None


def read_header_block(rows):
    """
    {party: Contact} from the rows above the column headings (``rows``: the
    table's (number, values) pairs before the heading row).
    """
    cells = {}
    for number, values in rows:
        for position, value in enumerate(values):
            text = heading_text(value).strip()
            if text:
                cells[number, position] = text
    parties = {
        at: party
        for at, text in cells.items()
        if (party := _label(text, ico_layout.PARTY_ALIASES))
    }
    details = {
        at: detail
        for at, text in cells.items()
        if (detail := _label(text, ico_layout.CONTACT_ALIASES))
    }
    found = {}

    def value(row, position):
        text = cells.get((row, position), "")
        if (row, position) in parties or (row, position) in details:
            return ""
        try:
            return meaningful(cell_text(text))
        except CellError:
            return ""

    # Parties across, details down (the template's way), or the other way.
    for (party_row, party_column), party in parties.items():
        for (detail_row, detail_column), detail in details.items():
            if detail_row > party_row and detail_column < party_column:
                row, position = detail_row, party_column
            elif party_row > detail_row and party_column < detail_column:
                row, position = party_row, detail_column
            else:
                continue
            text = value(row, position)
            if text:
                contact = found.setdefault(party, Contact())
                setattr(contact, _ATTRIBUTES[detail], text)
                if detail == ico_layout.NAME:
                    contact.where = f"row {row}, column {column_letter(position)}"
    # "Controller name | …", "Name and contact details of the DPO | …", or
    # "Controller: Example Ltd, 1 High Street" in one cell.
    for (row, position), text in cells.items():
        if (row, position) in parties or (row, position) in details:
            continue
        label, colon, after = text.partition(":")
        if colon and after.strip():
            text, following = label, after.strip()
        else:
            following = next(
                (
                    cells[row, later]
                    for later in range(position + 1, position + 30)
                    if (row, later) in cells
                ),
                "",
            )
        party = _mentions(text, ico_layout.PARTY_ALIASES)
        if party is None or party in found or not following:
            continue
        detail = _mentions(text, ico_layout.CONTACT_ALIASES)
        where = f"row {row}, column {column_letter(position + 1)}"
        if detail in (None, ico_layout.NAME) and (
            "contact" in fold(text) or detail is None
        ):
            found[party] = parse_contact(following, where)
        else:
            contact = found.setdefault(party, Contact(where=where))
            setattr(contact, _ATTRIBUTES[detail], following.strip())
    return found


_ATTRIBUTES = {
    ico_layout.NAME: "name",
    ico_layout.ADDRESS: "address",
    ico_layout.EMAIL: "email",
    ico_layout.TELEPHONE: "phone",
}


# ---------------------------------------------------------------------------
# Finding or creating the parties
# ---------------------------------------------------------------------------


@dataclass
class Parties:
    """The organisations, officers, arrangements and agreements of an import."""

    plan: object
    sheet: str
    to_review: list = field(default_factory=list)
    # The planned creation of each new organisation, by id().
    entries: dict = field(default_factory=dict)

    @cached_property
    def organisations(self):
        return Catalogue(Organisation.objects.all(), "name")

    @cached_property
    def officers(self):
        return list(DataProtectionOfficer.objects.all())

    @cached_property
    def arrangements(self):
        """Arrangements by the set of their parties' names, folded."""
        found = {}
        for arrangement in JointControllerArrangement.objects.prefetch_related(
            "parties"
        ):
            key = frozenset(
                party.name.casefold() for party in arrangement.parties.all()
            )
            found.setdefault(key, arrangement)
        return found

    @cached_property
    def numbers(self):
        return {
            model: _next_number(model, prefix)
            for model, prefix in (
                (JointControllerArrangement, "JCA"),
                (ProcessorAgreement, "DPA"),
            )
        }

    def reference(self, model, prefix):
        number = self.numbers[model]
        self.numbers[model] += 1
        return f"{prefix}-{number:04d}"

    def entry(
        self, group, row, key, instance, column, *, phase, exclude=(), columns=()
    ):
        """Plan the creation of ``instance``; its errors refuse the import."""
        entry = RowPlan(group, self.sheet, row, key, action=NEW, phase=phase)
        columns = columns or tuple(
            Column(column, model_field.name)
            for model_field in instance._meta.concrete_fields
        )
        for _, reason in validation_errors(instance, columns, exclude=exclude):
            entry.error(column, f"Cannot create {key}: {reason}")
        self.plan.rows.append(entry)
        return entry

    def review(self, kind, name, row, column):
        where = f"sheet '{self.sheet}'"
        if row:
            where += f", row {row}"
        if column:
            where += f", column '{column}'"
        self.to_review.append(ToReview(kind, name, where))

    # Organisations ---------------------------------------------------------

    def organisation(self, contact, row, column, *, phase=PARTIES_PHASE):
        """
        The organisation ``contact`` names: found by name (other contact
        details in the template are noted, not written), else created.
        """
        found = self.organisations.find(contact.name)
        if found is not None:
            self._compare_details(found, contact)
            return found
        organisation = Organisation(
            name=contact.name,
            address=contact.address,
            email=contact.email,
            phone=contact.phone,
            country=contact.country,
        )
        entry = self.entry(
            ORGANISATIONS,
            row,
            contact.name,
            organisation,
            column,
            phase=phase,
            exclude=("slug", "parent", "dpo", "representative"),
        )
        entry.settle(Save(organisation))
        self.entries[id(organisation)] = entry
        self.organisations.add(organisation)
        self.review("Organisation", contact.name, row, column)
        if not organisation.country:
            self.plan.notes.append(NO_COUNTRY.format(name=contact.name))
        return organisation

    def _compare_details(self, organisation, contact):
        differing = [
            label
            for label, ours, theirs in (
                ("address", organisation.address, contact.address),
                ("email", organisation.email, contact.email),
                ("telephone", organisation.phone, contact.phone),
            )
            if theirs
            and " ".join(ours.split()).casefold() != " ".join(theirs.split()).casefold()
        ]
        note = OTHER_DETAILS.format(name=organisation.name, fields=", ".join(differing))
        if differing and note not in self.plan.notes:
            self.plan.notes.append(note)

    def officer(self, contact, row, column):
        """The officer ``contact`` names, found by name and email, or created."""
        named = [
            officer
            for officer in self.officers
            if officer.name.casefold() == contact.name.casefold()
        ]
        if contact.email:
            named = [
                officer
                for officer in named
                if officer.email.casefold() == contact.email.casefold()
            ]
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            self._refuse(
                contact, AMBIGUOUS_OFFICER.format(name=contact.name), column=column
            )
            return None
        officer = DataProtectionOfficer(
            name=contact.name,
            email=contact.email,
            phone=contact.phone,
            address=contact.address,
        )
        entry = self.entry(
            OFFICERS, row, contact.name, officer, column, phase=OFFICERS_PHASE
        )
        if not contact.email:
            entry.errors.clear()
            entry.error(column, OFFICER_EMAIL.format(name=contact.name))
        entry.settle(Save(officer))
        self.officers.append(officer)
        self.review("Data protection officer", contact.name, row, column)
        return officer

    def controller(self, block, override):
        """
        The controller of the template's activities: ``override`` when
        chosen, else the header block's, found or created with its DPO and
        representative.
        """
        if override is not None:
            if block:
                self.plan.notes.append(OVERRIDDEN.format(controller=override))
            return override
        for party, contact in list(block.items()):
            if not contact.name and contact.details:
                self._refuse(contact, NAMELESS.format(party=party), column=party)
            elif not_applicable(contact.name):
                # "Representative: not required": none to record.
                del block[party]
        named = block.get(ico_layout.CONTROLLER)
        if not named or not named.name:
            return None
        # The officer and the representative first: the controller's record
        # names them, so they are saved before it.
        officer = representative = None
        officer_contact = block.get(ico_layout.OFFICER)
        if officer_contact and officer_contact.name:
            officer = self.officer(
                officer_contact, _row_of(officer_contact.where), ico_layout.OFFICER
            )
        representative_contact = block.get(ico_layout.REPRESENTATIVE)
        if representative_contact and representative_contact.name:
            representative = self.organisation(
                representative_contact,
                _row_of(representative_contact.where),
                ico_layout.REPRESENTATIVE,
            )
        where_row = _row_of(named.where)
        controller = self.organisation(named, where_row, ico_layout.CONTROLLER)
        changes = {}
        for name, named_party, contact, refusal, party in (
            ("dpo", officer, officer_contact, OTHER_OFFICER, ico_layout.OFFICER),
            (
                "representative",
                representative,
                representative_contact,
                OTHER_REPRESENTATIVE,
                ico_layout.REPRESENTATIVE,
            ),
        ):
            if named_party is None:
                continue
            current = (
                getattr(controller, name) if getattr(controller, f"{name}_id") else None
            )
            if current is None:
                changes[name] = named_party
            elif current != named_party:
                self._refuse(
                    contact,
                    refusal.format(
                        current=current, controller=controller, named=named_party
                    ),
                    column=party,
                    key=controller.name,
                )
        if changes:
            for name, value in changes.items():
                setattr(controller, name, value)
            if controller.pk is None:
                # Saved after the officer and representative it names.
                self.entries[id(controller)].phase = CONTROLLER_PHASE
            else:
                # An organisation already in the register gains its DPO or
                # representative: a change of its record, with history.
                entry = RowPlan(
                    ORGANISATIONS,
                    self.sheet,
                    where_row,
                    controller.name,
                    phase=CONTROLLER_PHASE,
                )
                entry.changes = [
                    Change(name, "", str(value)) for name, value in changes.items()
                ]
                self.plan.rows.append(entry)
                entry.settle(Save(controller))
        return controller

    def _refuse(self, contact, reason, *, column="", key=""):
        entry = RowPlan(
            ORGANISATIONS,
            self.sheet,
            _row_of(contact.where) if contact else None,
            key or (contact.name if contact else ""),
            phase=CATALOGUE,
        )
        entry.error(column, reason)
        entry.settle(None)
        self.plan.rows.append(entry)

    # Joint controllers -----------------------------------------------------

    def arrangement(self, controller, text, *, row, column, scope):
        """
        The arrangement with the joint controllers ``text`` names, and the
        text kept on the activity when it names none to record one with.
        """
        if not_applicable(text):
            return None, ""
        if says_yes(text):
            self.plan.notes.append(
                UNNAMED_JOINT.format(sheet=self.sheet, row=row, column=column)
            )
            return None, text
        contacts, contact_point = parse_joint_controllers(text, f"row {row}")
        parties = [
            self.organisation(contact, row, column)
            for contact in contacts
            if contact.name and not not_applicable(contact.name)
        ]
        parties = [controller, *(party for party in parties if party is not controller)]
        if len(parties) < 2:
            self.plan.notes.append(
                ONLY_ITSELF.format(
                    sheet=self.sheet, row=row, column=column, controller=controller
                )
            )
            return None, text
        key = frozenset(party.name.casefold() for party in parties)
        found = self.arrangements.get(key)
        if found is not None:
            return found, ""
        reference = self.reference(JointControllerArrangement, "JCA")
        others = " and ".join(party.name for party in parties[1:])
        name = f"{controller.name} with {others}"[:200]
        arrangement = JointControllerArrangement(
            reference=reference,
            name=name,
            scope=scope,
            contact_point=contact_point,
        )
        entry = self.entry(
            ARRANGEMENTS,
            row,
            f"{reference} {name}",
            arrangement,
            column,
            phase=CATALOGUE,
        )
        entry.settle(Save(arrangement, links={"parties": parties}))
        self.arrangements[key] = arrangement
        self.review("Joint controller arrangement", f"{reference} {name}", row, column)
        return arrangement, ""

    # Processor agreements --------------------------------------------------

    def find_agreement(self, link, controller, processors):
        """
        The agreement ``link`` names (its reference, its document reference,
        or both as "DPA-0001: …"), if it is ``controller``'s with one of
        ``processors`` (any, when the row names none).
        """
        written = {link.casefold(), link.split(":", 1)[0].strip().casefold()}
        for agreement in self.known_agreements:
            if not written & {
                agreement.reference.casefold(),
                agreement.document_reference.casefold(),
            }:
                continue
            if agreement.controller is not controller and (
                controller.pk is None or agreement.controller_id != controller.pk
            ):
                continue
            if processors and not any(
                agreement.processor is processor
                or (processor.pk is not None and agreement.processor_id == processor.pk)
                for processor in processors
            ):
                continue
            return agreement
        return None

    @cached_property
    def known_agreements(self):
        return list(ProcessorAgreement.objects.all())

    def agreement(self, processor, controller, link, *, row, column, services):
        """The agreement with ``processor`` whose document is ``link``."""
        found = self.find_agreement(link, controller, [processor])
        if found is not None:
            return found
        reference = self.reference(ProcessorAgreement, "DPA")
        agreement = ProcessorAgreement(
            reference=reference,
            processor=processor,
            controller=controller,
            services=services,
            document_reference=link,
        )
        entry = self.entry(
            AGREEMENTS,
            row,
            f"{reference} {processor.name}",
            agreement,
            column,
            phase=CATALOGUE,
            # Checked once both are saved: either may be new.
            exclude=("processor", "controller"),
        )
        entry.settle(Save(agreement))
        self.known_agreements.append(agreement)
        self.review("Processor agreement", f"{reference}: {link}", row, column)
        return agreement


def looks_like_link(text):
    return bool(URL.match(text.strip())) or "/" in text or "\\" in text


def _row_of(where):
    match = re.match(r"row (\d+)", where or "")
    return int(match[1]) if match else None


def _next_number(model, prefix):
    pattern = re.compile(rf"{prefix}-(\d+)")
    references = set(
        model._default_manager.filter(reference__startswith=f"{prefix}-").values_list(
            "reference", flat=True
        )
    ) | set(
        model.history.filter(reference__startswith=f"{prefix}-").values_list(
            "reference", flat=True
        )
    )
    numbers = [
        int(match[1])
        for reference in references
        if (match := pattern.fullmatch(reference))
    ]
    return max(numbers, default=0) + 1
