"""
The Art. 30 register as a file: XLSX, a zip of CSV files, a regulator's
template, or a document (PDF, DOCX: ``ropa.exchange.document``, whose writers
receive the binary ``out`` themselves, and which hold the active activities
unless drafts or retired ones are asked for).

``export_register`` writes the register (or one controller's part of it, as it
stands or as it stood at the end of a past day) to a binary file object, in
the layout of ``ropa.exchange.layout``: choices as their labels, dates as
date cells, each activity's Art. 30 gaps, and the codes and the exact moment
of the export on the hidden ``For the import`` sheet. It streams: the register
is read in chunks of activities by ``ropa.exchange.snapshot`` with a fixed number of
queries (per chunk, as of a past day), rows are built from plain values with
ids mapped to names through dicts, and written as they come, through the
streaming writer of ``ropa.exchange.xlsx`` or ``csv.writer`` into temporary files that
are zipped at the end. Memory holds the catalogues and one chunk of
activities, never the whole register. The Art. 30 gaps are found in the data
read (``ropa.exchange.snapshot.Gaps``), at no query of their own.

Which records a sheet holds:

- Activities and their lawful bases, transfers and retention rules: every
  activity, whatever its status (the status is a column), or, for one
  controller, those naming it among their responsible organisations.
- Controller: the organisations of the exported activities (and the chosen
  controller), with their DPO and representative and their roles: the
  responsible organisations, the parties of the activities' joint
  arrangements, the client controllers of the processor records.
- Processors and Joint arrangements: every agreement and arrangement, or, for
  one controller, those it is party to (as controller, processor or party)
  and those its activities use.
- Data categories and Recipients: those the exported activities name (in
  their lists, retention rules and transfers), as the catalogue holds them
  (as of the date, for an as-of export).
- The ICO template (format ``ico``, a workbook of that one sheet): the
  activities not retired, since the template documents current processing;
  its choices are written as labels, for readers.

No cell is ever a formula: an XLSX cell of text is a text cell, in Excel's
quote-prefix style where a spreadsheet could take it for a formula
(``ropa.exchange.xlsx``); a CSV cell passes through ``layout.to_cells``, which
puts an apostrophe before such text.

No text is ever cut: an XLSX cell holds at most ``ropa.core.spreadsheet.CELL_LIMIT``
characters, which the models hold their text to; a longer cell (text saved
past the models' validation, or a cell of the ICO template joining several
texts) makes the XLSX export fail with an ``ExportError`` naming it, rather
than be cut as openpyxl would. A CSV cell has no limit.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.utils import timezone

from ropa.core.progress import no_progress
from ropa.enums import ActivityRole
from ropa.exchange import layout
from ropa.exchange.books import (
    CsvBook,
    ExportError,
    Names,
    Rows,
    XlsxBook,
    basis_order,
    local,
    transfer_order,
)
from ropa.exchange.cnil import CNIL, write_cnil
from ropa.exchange.document import statuses_of
from ropa.exchange.ico_export import write_ico
from ropa.exchange.pdf import CONTENT_TYPE as PDF_CONTENT_TYPE
from ropa.exchange.pdf import write_pdf
from ropa.exchange.processor_record import write_processor_record
from ropa.exchange.snapshot import Gaps, Register, RegisterSnapshot, existed_then
from ropa.exchange.word import CONTENT_TYPE as DOCX_CONTENT_TYPE
from ropa.exchange.word import write_docx
from ropa.models import Recipient
from subjects.models import PersonalDataCategory

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class ExportFormat:
    """One way to write the register: its code, its label, its file and writer."""

    code: str
    label: str
    extension: str
    content_type: str
    # ``write(book, register, summary, exported_at, bar)``
    write: object
    # Each sheet a CSV file in a zip, rather than an XLSX workbook.
    csv: bool = False
    # Added to the file name, after its date: ``-ico``.
    suffix: str = ""
    # The layout documents one organisation, named in its header block.
    one_organisation: bool = False
    # A document (``ropa.exchange.document``), not a workbook: ``write(out,
    # register, summary, exported_at, bar, statuses=...)`` writes the binary
    # ``out`` itself, with the activities of the statuses asked for.
    document: bool = False


ONE_ORGANISATION = (
    "The {label} documents one organisation, named in its header: choose the "
    "organisation (a controller, or the processor for a processor's record)."
)
STATUSES_FOR_DOCUMENTS = (
    "Drafts and retired activities are chosen for the document formats ({codes}) "
    "only: the {code} export holds the activities {held}."
)
XLSX = "xlsx"
CSV = "csv"
ICO = "ico"
PDF = "pdf"
DOCX = "docx"
# The sheets whose rows the summary counts.
ROW_SHEETS = (
    layout.ACTIVITIES,
    layout.LAWFUL_BASES,
    layout.TRANSFERS,
    layout.RETENTION_RULES,
    layout.PROCESSORS,
    layout.JOINT_ARRANGEMENTS,
)


def _write_register(book, register, summary, exported_at, bar):
    catalogue = register.catalogue()
    names = Names(catalogue, gaps=Gaps(catalogue, on=register.as_of))
    # Sheets are created in workbook order, the Controller sheet first, and
    # written in any order: it is filled last, once its controllers are known.
    controller_sheet = book.sheet(layout.CONTROLLER, frozen_rows=0)
    (activities, bases, transfers, retention, processors, arrangements) = sheets = [
        Rows(sheet, book.sheet(sheet), names) for sheet in ROW_SHEETS
    ]
    # Lists of the catalogue, not of the register's records: not counted.
    categories = Rows(layout.DATA_CATEGORIES, book.sheet(layout.DATA_CATEGORIES), names)
    recipients = Rows(layout.RECIPIENTS, book.sheet(layout.RECIPIENTS), names)
    # Organisation id -> its roles (``layout.CONTROLLER_ROLES``).
    roles = defaultdict(set)
    category_ids, recipient_ids = set(), set()
    agreement_users = names.agreement_users
    arrangement_users = names.arrangement_users

    for chunk in register.activities(bar):
        for activity in chunk:
            reference = activity["reference"]
            # The activity whose child rows are written next (their Reference).
            names.activity = activity
            activities.write(activity)
            for basis in sorted(activity["lawful_bases"], key=basis_order):
                bases.write(basis)
            for transfer in sorted(activity["transfers"], key=transfer_order):
                transfers.write(transfer)
                recipient_ids.add(transfer["recipient_id"])
            for rule in names.sorted_rules(activity["retention_rules"]):
                retention.write(rule)
                category_ids.add(rule["personal_data_category_id"])
            category_ids.update(activity["personal_data_categories"])
            recipient_ids.update(activity["recipients"])
            for pk in activity["organisations"]:
                roles[pk].add(layout.RESPONSIBLE)
            # Art. 30(2)(a): the controllers a processor acts for.
            if activity["role"] == ActivityRole.PROCESSOR:
                for pk in activity["client_controllers"]:
                    roles[pk].add(layout.CLIENT_CONTROLLER)
            for agreement_id in activity["processor_agreements"]:
                agreement_users[agreement_id].append(reference)
            if activity["joint_arrangement_id"] is not None:
                arrangement_users[activity["joint_arrangement_id"]].append(reference)

    # Art. 30(1)(a): the joint controllers, the parties of the arrangements
    # the exported activities are under (before the Joint arrangements sheet
    # adds the arrangements no activity uses to ``arrangement_users``).
    for arrangement_id in arrangement_users:
        for pk in catalogue.arrangements[arrangement_id]["parties"]:
            roles[pk].add(layout.JOINT_CONTROLLER)
    controller = register.controller
    for agreement in _listed(
        catalogue.agreements,
        agreement_users,
        controller,
        lambda row: controller.pk in (row["controller_id"], row["processor_id"]),
    ):
        processors.write(agreement)
    for arrangement in _listed(
        catalogue.arrangements,
        arrangement_users,
        controller,
        lambda row: controller.pk in row["parties"],
    ):
        arrangements.write(arrangement)

    for pk in _by_name(catalogue.details[PersonalDataCategory], category_ids):
        categories.write(catalogue.details[PersonalDataCategory][pk])
    for pk in _by_name(catalogue.details[Recipient], recipient_ids):
        recipients.write(catalogue.details[Recipient][pk])

    if controller is not None:
        roles[controller.pk].add(layout.RESPONSIBLE)
    _write_controller_sheet(controller_sheet, register, roles, names, exported_at)
    _write_for_the_import(book, exported_at)
    summary.rows = {
        sheet.name: rows.count for sheet, rows in zip(ROW_SHEETS, sheets, strict=True)
    }


def _listed(rows, used, controller, is_party):
    """Agreements or arrangements to list: then existing, or used; by reference."""
    listed = [
        row
        for pk, row in rows.items()
        if pk in used or (existed_then(row) and (controller is None or is_party(row)))
    ]
    return sorted(listed, key=lambda row: row["reference"])


def _by_name(rows, ids):
    """The ids of ``rows`` among ``ids`` (None aside), in the order of their names."""
    return sorted((pk for pk in ids if pk is not None), key=lambda pk: rows[pk]["name"])


def _write_controller_sheet(sheet, register, roles, names, moment):
    controller = register.controller
    catalogue = names.catalogue
    title, *labels = layout.HEADER_BLOCK
    values = (
        controller.name if controller is not None else layout.ALL_CONTROLLERS,
        register.as_of or layout.CURRENT,
        local(moment, timezone.get_current_timezone()),
    )
    sheet.append((title,))
    for line in zip(labels, values, strict=True):
        sheet.append(line)
    sheet.append(())
    rows = Rows(layout.CONTROLLER, sheet, names)
    for pk in _by_name(catalogue.organisations, roles):
        rows.write({**catalogue.organisations[pk], "roles": roles[pk]})


def _write_for_the_import(book, moment):
    """The hidden sheet of the exact moment of the export and the codes."""
    sheet = book.sheet(layout.FOR_THE_IMPORT, frozen_rows=0, hidden=True)
    sheet.append((layout.FOR_THE_IMPORT_NOTE,))
    sheet.append((layout.EXPORTED_AT, layout.exported_at_text(moment)))
    sheet.append(())
    sheet.heading(layout.FOR_THE_IMPORT.headers)
    for register_sheet in layout.SHEETS:
        for column, choices in register_sheet.choices:
            for code, text in choices.choices:
                sheet.append((register_sheet.name, column, code, str(text)))


FORMATS = {
    export_format.code: export_format
    for export_format in (
        ExportFormat(
            XLSX,
            "Excel workbook: the register's sheets (XLSX)",
            "xlsx",
            XLSX_CONTENT_TYPE,
            _write_register,
        ),
        ExportFormat(
            CSV,
            "CSV files, one per sheet, in a zip",
            "zip",
            "application/zip",
            _write_register,
            csv=True,
        ),
        ExportFormat(
            ICO,
            "UK ICO documentation template for controllers (XLSX)",
            "xlsx",
            XLSX_CONTENT_TYPE,
            write_ico,
            suffix="-ico",
            one_organisation=True,
        ),
        ExportFormat(
            CNIL,
            "CNIL register of processing activities, in French (XLSX)",
            "xlsx",
            XLSX_CONTENT_TYPE,
            write_cnil,
            suffix="-cnil",
            one_organisation=True,
        ),
        ExportFormat(
            "processor",
            "Processor's record (Art. 30(2)), ICO processor template layout (XLSX)",
            "xlsx",
            XLSX_CONTENT_TYPE,
            write_processor_record,
            suffix="-processor",
            one_organisation=True,
        ),
        ExportFormat(
            PDF,
            "Document for a supervisory authority (PDF)",
            "pdf",
            PDF_CONTENT_TYPE,
            write_pdf,
            document=True,
        ),
        ExportFormat(
            DOCX,
            "Document to edit before sending (Word, DOCX)",
            "docx",
            DOCX_CONTENT_TYPE,
            write_docx,
            document=True,
        ),
    )
}
DOCUMENT_FORMATS = tuple(code for code, fmt in FORMATS.items() if fmt.document)
EXPORT_FORMATS = tuple(FORMATS)
CONTENT_TYPES = {code: fmt.content_type for code, fmt in FORMATS.items()}
EXTENSIONS = {code: fmt.extension for code, fmt in FORMATS.items()}


@dataclass
class ExportSummary:
    """What an export wrote: rows per sheet, for the one-line report."""

    fmt: str
    controller: str
    as_of: object
    rows: dict = field(default_factory=dict)

    def line(self):
        counts = ", ".join(f"{sheet} {count}" for sheet, count in self.rows.items())
        when = f"as of {self.as_of.isoformat()}" if self.as_of else "as it stands"
        return (
            f"Exported the register of {self.controller} {when} ({self.fmt}): {counts}."
        )


def statuses_refused(export_format):
    """Why ``export_format``, not a document, takes no choice of statuses."""
    return STATUSES_FOR_DOCUMENTS.format(
        codes=", ".join(DOCUMENT_FORMATS),
        code=export_format.code,
        held=(
            "not retired"
            if export_format.one_organisation
            else "of every status, in a column of their own"
        ),
    )


def default_filename(*, fmt, controller=None, as_of=None):
    """``ropa-register-<controller slug|all>-<date>.<ext>``, the date as of."""
    scope = controller.slug if controller is not None else "all"
    day = f"as-of-{as_of.isoformat()}" if as_of else timezone.localdate().isoformat()
    export_format = FORMATS[fmt]
    return (
        f"ropa-register-{scope}-{day}{export_format.suffix}.{export_format.extension}"
    )


def export_register(
    *,
    fmt,
    out,
    controller=None,
    as_of=None,
    progress=None,
    drafts=False,
    retired=False,
):
    """
    Write the register to the binary file object ``out``.

    ``fmt`` is one of ``EXPORT_FORMATS``; ``controller`` an Organisation to limit the
    register to; ``as_of`` a past date for the register as it stood at the end
    of that day; ``progress`` makes a progress bar (``ropa.core.progress
    .progress_bars``), advanced by the activities written. A document
    (``DOCUMENT_FORMATS``) holds the active activities, and the drafts or the
    retired ones when ``drafts`` or ``retired``. Returns an ``ExportSummary``.
    """
    if fmt not in EXPORT_FORMATS:
        raise ExportError(
            f"Unknown format '{fmt}': use one of {', '.join(EXPORT_FORMATS)}."
        )
    if as_of is not None and as_of > timezone.localdate():
        raise ExportError(f"{as_of.isoformat()} is in the future.")
    export_format = FORMATS[fmt]
    if export_format.one_organisation and controller is None:
        raise ExportError(ONE_ORGANISATION.format(label=export_format.label))
    if (drafts or retired) and not export_format.document:
        raise ExportError(statuses_refused(export_format))
    # Taken before anything is read: a change made while the export runs is
    # after it, and an import of the file treats it as unseen (see
    # ropa.exchange.imports).
    exported_at = timezone.localtime()
    if as_of is None:
        register = Register(controller=controller)
    else:
        register = RegisterSnapshot(day=as_of, controller=controller)
    summary = ExportSummary(
        fmt=fmt,
        controller=controller.name if controller is not None else "all controllers",
        as_of=as_of,
    )
    book_class = CsvBook if export_format.csv else XlsxBook
    # Counted only for a bar that is drawn: the count is a query of its own.
    total = register.count() if progress is not None else 0
    if export_format.document:
        with (progress or no_progress)(total, "Exporting") as bar:
            export_format.write(
                out,
                register,
                summary,
                exported_at,
                bar,
                statuses=statuses_of(drafts=drafts, retired=retired),
            )
        return summary
    with (
        book_class(out) as book,
        (progress or no_progress)(total, "Exporting") as bar,
    ):
        export_format.write(book, register, summary, exported_at, bar)
    return summary
