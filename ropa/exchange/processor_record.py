"""
The record a processor keeps (Art. 30(2)), in the layout of the UK ICO's
documentation template for processors.

One sheet, "Template", laid out as the controller template
(``ropa.exchange.ico_layout``): a header block in rows 1-6 naming the
processor, its data protection officer and its representative; the section
row 8; the column headings in row 9; then one row per processor record of
that organisation (an activity whose role is processor and which names it
among its responsible organisations) that is not retired, since the record
documents current processing. Its columns follow Art. 30(2)(a)-(d): each
controller on whose behalf the processor acts, with that controller's
representative and DPO; the categories of processing; the transfers and
their safeguards; the security measures. The last three are written as the
controller template writes them.
"""

from ropa.enums import ActivityRole, ActivityStatus
from ropa.exchange import ico_layout
from ropa.exchange.books import Names
from ropa.exchange.columns import Sheet
from ropa.exchange.ico_export import header_block, title
from ropa.exchange.ico_layout import (
    OFFICER,
    REPRESENTATIVE,
    IcoColumn,
    contact_line,
)

TITLE = (
    "Record of categories of processing activities carried out on behalf of "
    "controllers (GDPR Art. 30(2))"
)
PROCESSOR = "Processor"
PARTIES = (PROCESSOR, OFFICER, REPRESENTATIVE)
# The controller template's first section covers Art. 30: the only one here.
ARTICLE_30_SECTION, _ = ico_layout.SECTIONS[0]


def _contact(party):
    return contact_line(
        party.get("name", ""),
        party.get("address", ""),
        party.get("email", ""),
        party.get("phone", ""),
    )


def _controller(controller, names):
    """A controller's contact line, then its representative's and its DPO's."""
    lines = [_contact(controller)]
    # Art. 30(2)(a): the controller's representative and DPO, where it has them.
    for party, contact in (
        (REPRESENTATIVE, names.representative(controller)),
        (OFFICER, names.officer(controller)),
    ):
        if contact:
            lines.append(f"{party}: {_contact(contact)}")
    return "\n".join(lines)


def _controllers(activity, names):
    """Each controller the processor acts for, one paragraph each, by name."""
    organisations = names.catalogue.organisations
    controllers = sorted(
        (organisations[pk] for pk in activity["client_controllers"]),
        key=lambda controller: controller["name"],
    )
    return "\n\n".join(_controller(controller, names) for controller in controllers)


def _as_in_the_controller_template(header):
    """The controller template's column of that heading, written the same."""
    [column] = (column for column in ico_layout.ICO_COLUMNS if column.header == header)
    return column


# The template's columns, in its order: Art. 30(2)(a)-(d).
PROCESSOR_COLUMNS = (
    IcoColumn("Name and contact details of controller", _controllers),
    # Our name and purpose, as the controller template's purpose column.
    IcoColumn(
        "Categories of processing",
        _as_in_the_controller_template("Purpose of processing").write,
    ),
    _as_in_the_controller_template(
        "Names of third countries or international organisations that personal "
        "data are transferred to (if applicable)"
    ),
    _as_in_the_controller_template(
        "Safeguards for exceptional transfers of personal data to third "
        "countries or international organisations (if applicable)"
    ),
    _as_in_the_controller_template(
        "General description of technical and organisational security measures "
        "(if possible)"
    ),
)
HEADERS = tuple(column.header for column in PROCESSOR_COLUMNS)
TEMPLATE = Sheet(ico_layout.SHEET_NAME, "processor-template.csv", PROCESSOR_COLUMNS)


def section_row():
    """Row 8: the one section, above the first column."""
    return [ARTICLE_30_SECTION, *[""] * (len(PROCESSOR_COLUMNS) - 1)]


def write_processor_record(book, register, summary, exported_at, bar):
    # ``export_register`` sees that an organisation is chosen: the processor.
    processor = register.controller
    catalogue = register.catalogue()
    names = Names(catalogue)
    sheet = book.sheet(TEMPLATE, frozen_rows=ico_layout.HEADING_ROW)
    for row in header_block(
        catalogue.organisations[processor.pk],
        names,
        title=title(register, exported_at, TITLE),
        parties=PARTIES,
    ):
        sheet.append(row)
    sheet.append(())
    sheet.heading(section_row())
    sheet.heading(HEADERS)
    writers = [column.write for column in PROCESSOR_COLUMNS]
    count = 0
    # The register holds the activities naming the processor among their
    # organisations; its controller records are another template's.
    for chunk in register.activities(bar):
        for activity in chunk:
            if (
                activity["status"] == ActivityStatus.RETIRED
                or activity["role"] != ActivityRole.PROCESSOR
            ):
                continue
            sheet.append([write(activity, names) for write in writers])
            count += 1
    summary.rows = {TEMPLATE.name: count}
