"""
The register of one controller in the UK ICO's documentation template for
controllers (``ropa.exchange.ico_layout``): the header block naming the
controller, its DPO and its representative; the section row; the 30 column
headings; one row per controller record (Art. 30(1)) that is not retired,
since the template documents current processing. Choices are written as
their labels, for readers; the import (``ropa.exchange.ico``) reads the file
back as it is.
"""

from ropa.enums import ActivityRole, ActivityStatus
from ropa.exchange import ico_layout
from ropa.exchange.books import Names
from ropa.exchange.snapshot import Register
from ropa.models import ProcessingActivity


def header_block(organisation, names, *, title, parties=ico_layout.PARTIES):
    """
    Rows 1-6 of a template: the title, then the parties across and their
    name, address, email and telephone down.
    """
    officer = names.officer(organisation)
    representative = names.representative(organisation)
    details = [
        (
            organisation["name"],
            organisation["address"],
            organisation["email"],
            organisation["phone"],
        ),
        tuple(officer.get(key, "") for key in ("name", "address", "email", "phone")),
        tuple(
            representative.get(key, "") for key in ("name", "address", "email", "phone")
        ),
    ]
    rows = [(title,), ("", *parties)]
    for position, contact in enumerate(ico_layout.CONTACT_LABELS):
        rows.append((contact, *(party[position] for party in details)))
    return rows


def title(register, exported_at, heading=ico_layout.TITLE):
    """Row 1: the layout's heading, and the day or moment the register is of."""
    when = (
        f"as of {register.as_of.isoformat()}"
        if register.as_of
        else f"as it stood on {exported_at:%Y-%m-%d %H:%M}"
    )
    return f"{heading}, {when}"


def write_ico(book, register, summary, exported_at, bar):
    # ``export_register`` sees that a controller is chosen.
    controller = register.controller
    catalogue = register.catalogue()
    names = Names(catalogue)
    names.controller_id = controller.pk
    sheet = book.sheet(ico_layout.TEMPLATE, frozen_rows=ico_layout.HEADING_ROW)
    for row in header_block(
        catalogue.organisations[controller.pk],
        names,
        title=title(register, exported_at),
    ):
        sheet.append(row)
    sheet.append(())
    sheet.heading(ico_layout.section_row())
    sheet.heading(ico_layout.HEADERS)
    writers = [column.write for column in ico_layout.ICO_COLUMNS]
    count = 0
    for chunk in register.activities(bar):
        for activity in chunk:
            if (
                activity["status"] == ActivityStatus.RETIRED
                or activity["role"] != ActivityRole.CONTROLLER
            ):
                continue
            sheet.append([write(activity, names) for write in writers])
            count += 1
    summary.rows = {ico_layout.TEMPLATE.name: count}


class _Activities(Register):
    """The register's activities of ``pks`` only, as they stand."""

    def __init__(self, pks):
        super().__init__()
        self.pks = pks

    def _current(self):
        return ProcessingActivity.objects.filter(pk__in=self.pks).order_by("reference")


def exported_cells(pks, controller):
    """
    {activity pk: {heading: cell}}: the rows of these activities in the
    template of ``controller``.
    """
    register = _Activities(pks)
    names = Names(register.catalogue())
    names.controller_id = controller.pk
    return {
        activity["id"]: {
            column.header: column.write(activity, names)
            for column in ico_layout.ICO_COLUMNS
        }
        for chunk in register.activities()
        for activity in chunk
    }
