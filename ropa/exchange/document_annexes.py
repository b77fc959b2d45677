"""
The parts of the register as a document that gather what its activities
name: the organisations of the record first, the annexes last.

They read what ``ropa.exchange.document`` collected while it read the
activities (the ``book``: the catalogue as of the record's date, the
organisations' roles, the references using each agreement and arrangement,
each activity's transfers and retention rules, the measures' users and the
flows), and write the catalogue's rows through the columns of the XLSX
export's Processors and Joint arrangements sheets (``ropa.exchange.layout``),
so that a value reads the same in every export.

- Organisations named in the record: each responsible organisation, joint
  controller and client controller, its role, contact details, DPO and
  representative (Art. 30(1)(a), 30(2)(a)).
- Annex 1, processors and their agreements (Art. 28); annex 2, the joint
  controller arrangements with the essence made available to data subjects
  (Art. 26(2)): those the activities use and, as the XLSX export lists them,
  the others the controller (or, for all controllers, anyone) is party to.
- Annex 3, the transfers with their mechanisms and safeguards; annex 4, the
  retention schedule; annex 5, the security measures with the activities
  applying them; annex 6, where the data goes: the flows of the whole
  register and the map of the transfers.
"""

from ropa.exchange import layout
from ropa.exchange.books import transfer_order
from ropa.exchange.document_blocks import (
    FLOWS,
    MAP,
    Field,
    Heading,
    Picture,
    Text,
    field,
    measure_text,
    organisation_fields,
    retention_lines,
    text_of,
    transfer_field,
)
from ropa.exchange.snapshot import existed_then
from ropa.models import SecurityMeasure

ORGANISATIONS = "Organisations named in the record"
ORGANISATIONS_KEY = "organisations"
ANNEXES = "Annexes"
PROCESSORS = "Annex 1 Processors and their agreements (Art. 28)"
ARRANGEMENTS = (
    "Annex 2 Joint controller arrangements and the essence made available to "
    "data subjects (Art. 26)"
)
TRANSFERS = (
    "Annex 3 Transfers to third countries and international organisations, "
    "with their mechanisms and safeguards (Chapter V)"
)
RETENTION = "Annex 4 Retention schedule (Art. 30(1)(f))"
SECURITY = "Annex 5 Security measures (Art. 32(1))"
WHERE_THE_DATA_GOES = "Annex 6 Where the data goes"
REGISTER_FLOWS = "Where the data goes: the whole register"
TRANSFER_MAP = "Transfers to third countries: activities by country of destination"

NONE_LISTED = "None recorded."
# The column headings of the XLSX export, as a reader of the document needs them.
RELABELLED = {
    "Essence for data subjects": (
        "Essence of the arrangement made available to data subjects (Art. 26(2))"
    ),
    "Activities": "Activities in this record",
}
# The users of an agreement or arrangement the record lists (in force, the
# controller a party) that no activity of the statuses included uses: not a
# value missing.
UNUSED = "None of the activities in this record (of the statuses included)"


def organisations_part(book):
    """Each organisation of the record, its role, contacts, DPO and representative."""
    organisations = book.catalogue.organisations
    blocks = [Heading(0, ORGANISATIONS, key=ORGANISATIONS_KEY)]
    for pk in sorted(book.roles, key=lambda pk: organisations[pk]["name"]):
        organisation = organisations[pk]
        roles = [role for role in layout.CONTROLLER_ROLES if role in book.roles[pk]]
        blocks.append(Heading(3, organisation["name"]))
        blocks.append(Field("Role in the record", ", ".join(roles).capitalize()))
        blocks += organisation_fields(organisation, book.names, role="Name")[1:]
    if not book.roles:
        blocks.append(Text(NONE_LISTED))
    return blocks


def annexes(book):
    """The annexes, in their order."""
    return [
        Heading(0, ANNEXES, key="annexes"),
        *_catalogue_annex(
            book,
            PROCESSORS,
            "annex-processors",
            book.catalogue.agreements,
            book.names.agreement_users,
            layout.PROCESSOR_COLUMNS,
            is_party=lambda row, pk: pk in (row["controller_id"], row["processor_id"]),
            title=lambda row: (
                f"{row['reference']} {book.names.organisation(row['processor_id'])}"
            ),
        ),
        *_catalogue_annex(
            book,
            ARRANGEMENTS,
            "annex-arrangements",
            book.catalogue.arrangements,
            book.names.arrangement_users,
            layout.JOINT_ARRANGEMENT_COLUMNS,
            is_party=lambda row, pk: pk in row["parties"],
            title=lambda row: f"{row['reference']} {row['name']}",
        ),
        *_transfers(book),
        *_retention(book),
        *_security(book),
        *_where_the_data_goes(book),
    ]


def _catalogue_annex(book, heading, key, rows, users, columns, *, is_party, title):
    """Agreements or arrangements: used by the activities, or then existing."""
    controller = book.register.controller
    listed = sorted(
        (
            row
            for pk, row in rows.items()
            if pk in users
            or (
                existed_then(row)
                and (controller is None or is_party(row, controller.pk))
            )
        ),
        key=lambda row: row["reference"],
    )
    blocks = [Heading(1, heading, key=key)]
    for row in listed:
        blocks.append(Heading(3, title(row)))
        # The first column is the reference, in the entry's heading.
        for column in columns[1:]:
            value = text_of(column.write(row, book.names))
            if column.header == "Activities" and not value:
                value = UNUSED
            blocks.append(field(RELABELLED.get(column.header, column.header), value))
    if not listed:
        blocks.append(Text(NONE_LISTED))
    return blocks


def _transfers(book):
    blocks = [Heading(1, TRANSFERS, key="annex-transfers")]
    for title, transfers in book.transfers:
        blocks.append(Heading(3, title))
        blocks += [
            transfer_field(transfer, book.names)
            for transfer in sorted(transfers, key=transfer_order)
        ]
    if not book.transfers:
        blocks.append(Text(NONE_LISTED))
    return blocks


def _retention(book):
    blocks = [Heading(1, RETENTION, key="annex-retention")]
    blocks += [
        field(title, retention_lines(rules, book.names))
        for title, rules in book.retention
    ]
    if not book.retention:
        blocks.append(Text(NONE_LISTED))
    return blocks


def _security(book):
    measures = book.catalogue.details[SecurityMeasure]
    blocks = [Heading(1, SECURITY, key="annex-security")]
    for pk in sorted(book.measure_users, key=lambda pk: measures[pk]["name"]):
        users = book.measure_users[pk]
        blocks.append(
            Field(
                measure_text(measures[pk]),
                f"Applied by {len(users)} "
                f"{'activity' if len(users) == 1 else 'activities'}: "
                + ", ".join(users),
            )
        )
    if not book.measure_users:
        blocks.append(Text(NONE_LISTED))
    return blocks


def _where_the_data_goes(book):
    blocks = [Heading(1, WHERE_THE_DATA_GOES, key="annex-flows")]
    if not book.flows:
        return [*blocks, Text(NONE_LISTED)]
    flows = tuple(book.flows)
    return [
        *blocks,
        Picture(FLOWS, REGISTER_FLOWS, key="flows-register", flows=flows),
        Picture(MAP, TRANSFER_MAP, key="transfer-map", flows=flows),
    ]
