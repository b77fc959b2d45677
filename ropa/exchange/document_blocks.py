"""
The blocks the register as a document is made of, and how values read in it.

A document (``ropa.exchange.document``) is a cover and a flat list of blocks,
plain frozen data that the PDF (``ropa.exchange.pdf``) and Word
(``ropa.exchange.word``) writers lay out, each in its own way, and that the
fingerprint is computed from: what a block says is exactly what is printed.

- ``Heading``: a part (level 0), an activity or an annex (level 1), an
  element of Art. 30 (level 2) or an entry of an annex (level 3). Levels 0
  and 1 carry a ``key``: they are in the table of contents and the outline.
- ``Field``: a label and its value, text or a list (``listed``: a line per
  item). A value not recorded reads ``NOT_RECORDED``, marked ``missing``.
- ``Text``: paragraphs of text, separated by a blank line; an element of
  Art. 30 with nothing recorded reads ``NOT_RECORDED``, marked ``missing``.
- ``Gap``: an Art. 30 gap of the record (``ropa.completeness``), in words.
- ``Picture``: a picture of the charts (``ropa.charts.flows``): the flows of
  one activity or of the register, or the map of the transfers; the writer
  draws it from ``flows``, which are the data it shows.

A block's text is printable: a control character the admin let through (a
vertical tab or a unit separator pasted between two words) reads as the
space it stands for, in every writer and in the fingerprint alike. XML, and
so the PDF's markup and the Word file, cannot hold it.
"""

import datetime
import re
from dataclasses import dataclass

from django_countries import countries

from ropa.enums import MeasureArea, TransferMechanism
from ropa.exchange.columns import label
from ropa.exchange.ico_layout import contact_line
from ropa.exchange.layout import readable, retention_text, transfer_destination

NOT_RECORDED = "Not recorded"

# The C0 control characters but tab, line feed and carriage return, and DEL.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# The kinds of ``Picture``.
FLOWS = "flows"
MAP = "map"


def printable(text):
    """``text`` with each control character as a space."""
    return CONTROL.sub(" ", text)


class _Printable:
    """A block whose ``TEXTS`` attributes are kept ``printable``."""

    TEXTS = ("text",)

    def __post_init__(self):
        for name in self.TEXTS:
            # The dataclass is frozen: its own constructor sets it thus too.
            object.__setattr__(self, name, printable(getattr(self, name)))


@dataclass(frozen=True)
class Heading(_Printable):
    level: int
    text: str
    key: str = ""


@dataclass(frozen=True)
class Field(_Printable):
    label: str
    value: str
    missing: bool = False
    # The value's lines are the items of a list.
    listed: bool = False

    TEXTS = ("label", "value")

    def __post_init__(self):
        super().__post_init__()
        # A value of only spaces or control characters (a bell pasted into a
        # text) is no value: it reads so, as ``field`` writes it.
        if not self.value.strip():
            object.__setattr__(self, "value", NOT_RECORDED)
            object.__setattr__(self, "missing", True)
            object.__setattr__(self, "listed", False)


@dataclass(frozen=True)
class Text(_Printable):
    text: str
    # ``NOT_RECORDED`` said of a whole element.
    missing: bool = False


@dataclass(frozen=True)
class Gap(_Printable):
    text: str


@dataclass(frozen=True)
class Picture(_Printable):
    kind: str
    title: str
    # Unique in the document: the picture's ids are prefixed with it.
    key: str
    flows: tuple

    TEXTS = ("title",)


def field(label, value):
    """A ``Field`` of ``value``, text or lines (a list); ``NOT_RECORDED`` if empty."""
    listed = not isinstance(value, str)
    if listed:
        lines = (printable(line).strip() for line in value)
        value = "\n".join(line for line in lines if line)
    value = printable(value).strip()
    if not value:
        return Field(label, NOT_RECORDED, missing=True)
    return Field(label, value, listed=listed)


def optional(label, value):
    """``[field(label, value)]`` when there is a value, else nothing."""
    return [field(label, value)] if value else []


def text_of(value):
    """A value as the document prints it: dates ISO, booleans yes / no."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime.date):
        return readable(value)
    return str(value)


def country_name(code):
    """``India (IN)``; an unknown code as itself."""
    name = countries.name(code) if code else ""
    return f"{name} ({code})" if name else code


def contact(party):
    """
    A party's name, address, e-mail and telephone on one line, the address's
    lines separated by commas too ("Storgatan 1, 111 22 Stockholm").
    """
    address = ", ".join(
        line.strip() for line in party.get("address", "").splitlines() if line.strip()
    )
    return contact_line(
        party.get("name", ""), address, party.get("email", ""), party.get("phone", "")
    )


def needs_representative(organisation, names):
    """Whether Art. 27 asks ``organisation`` for a representative in the Union."""
    return not organisation["art27_exempt"] and (
        organisation["country"] not in names.gaps.eea
    )


def organisation_fields(organisation, names, role="Controller"):
    """An organisation's name and contact details, its DPO and representative."""
    officer = names.officer(organisation)
    representative = names.representative(organisation)
    if representative:
        represented = contact(representative)
    elif organisation["art27_exempt"]:
        represented = "None: exempt under Art. 27(2)"
    elif not needs_representative(organisation, names):
        represented = "None needed: established in the EEA"
    else:
        represented = ""
    return [
        field(role, organisation["name"]),
        *optional("Registration number", organisation["registration_number"]),
        *optional("Country", country_name(organisation["country"])),
        field("Address", organisation["address"]),
        field("E-mail", organisation["email"]),
        field("Telephone", organisation["phone"]),
        *optional("Website", organisation["website"]),
        field("Data protection officer", contact(officer) if officer else ""),
        field("Representative (Art. 27)", represented),
    ]


def transfer_field(transfer, names):
    """A transfer as a field: its destination, then recipient, mechanism, safeguards."""
    destination = (
        country_name(transfer["country"])
        if transfer["country"]
        else transfer_destination(transfer)
    )
    lines = [
        f"Recipient: {names.recipient(transfer['recipient_id']) or 'not named'}",
        f"Mechanism: {label(TransferMechanism, transfer['mechanism'])}",
    ]
    if transfer["adequacy_scope"]:
        lines.append(f"Scope of the adequacy decision: {transfer['adequacy_scope']}")
    if (
        transfer["mechanism"] == TransferMechanism.COMPELLING_INTERESTS
        or transfer["safeguards_documentation"]
    ):
        lines.append(
            "Suitable safeguards (Art. 49(1) second subparagraph): "
            + (transfer["safeguards_documentation"] or "not documented")
        )
    if transfer["tia_reference"]:
        lines.append(f"Transfer impact assessment: {transfer['tia_reference']}")
    if transfer["notes"]:
        lines.append(f"Notes: {transfer['notes']}")
    return Field(f"Transfer to {destination}", "\n".join(lines))


def retention_lines(rules, names):
    """Each rule as ``retention_text``, and its legal reference."""
    return [
        retention_text(rule, names)
        + (f" ({rule['legal_reference']})" if rule["legal_reference"] else "")
        for rule in names.sorted_rules(rules)
    ]


def measure_text(row):
    """A security measure and its area."""
    return f"{row['name']} ({label(MeasureArea, row['area'])})"
