"""
The Art. 30 register as a file: XLSX, a zip of CSV files, or the ICO template.

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
- Controller: the responsible organisations of the exported activities (and
  the chosen controller), with their DPO and representative.
- Processors and Joint arrangements: every agreement and arrangement, or, for
  one controller, those it is party to (as controller, processor or party)
  and those its activities use.
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

import csv
import io
import shutil
import tempfile
import zipfile
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field

from django.utils import timezone
from django_countries import countries
from openpyxl.utils import get_column_letter

from ropa.core.progress import no_progress
from ropa.core.spreadsheet import CELL_LIMIT
from ropa.enums import (
    ActivityStatus,
    LawfulBasisChoice,
    Profiling,
    SpecialCategoryCondition,
    TransferMechanism,
)
from ropa.exchange import layout, xlsx
from ropa.exchange.layout import (
    label,
    name_list,
    retention_text,
    to_cells,
    transfer_destination,
)
from ropa.exchange.snapshot import Gaps, Register, RegisterSnapshot, existed_then
from ropa.models import Recipient, SecurityMeasure
from subjects.models import DataSubjectCategory, PersonalDataCategory

XLSX = "xlsx"
CSV = "csv"
ICO = "ico"
EXPORT_FORMATS = (XLSX, CSV, ICO)
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTENT_TYPES = {
    XLSX: XLSX_CONTENT_TYPE,
    CSV: "application/zip",
    ICO: XLSX_CONTENT_TYPE,
}
EXTENSIONS = {XLSX: "xlsx", CSV: "zip", ICO: "xlsx"}
# The sheets whose rows the summary counts.
ROW_SHEETS = (
    layout.ACTIVITIES,
    layout.LAWFUL_BASES,
    layout.TRANSFERS,
    layout.RETENTION_RULES,
    layout.PROCESSORS,
    layout.JOINT_ARRANGEMENTS,
)


TOO_LONG_FOR_XLSX = (
    "The register cannot be exported as XLSX: on sheet '{sheet}', row "
    "{row}{row_key}, the '{column}' cell would hold {length:,} characters, and an "
    "XLSX cell holds at most {limit:,}. Shorten that text in the admin, or "
    "export as CSV, which holds it whole."
)


class ExportError(ValueError):
    """An export asked for something that cannot be written."""


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


def default_filename(*, fmt, controller=None, as_of=None):
    """``ropa-register-<controller slug|all>-<date>.<ext>``, the date as of."""
    scope = controller.slug if controller is not None else "all"
    day = f"as-of-{as_of.isoformat()}" if as_of else timezone.localdate().isoformat()
    kind = "-ico" if fmt == ICO else ""
    return f"ropa-register-{scope}-{day}{kind}.{EXTENSIONS[fmt]}"


def export_register(*, fmt, out, controller=None, as_of=None, progress=None):
    """
    Write the register to the binary file object ``out``.

    ``fmt`` is one of ``EXPORT_FORMATS``; ``controller`` an Organisation to limit the
    register to; ``as_of`` a past date for the register as it stood at the end
    of that day; ``progress`` makes a progress bar (``ropa.core.progress
    .progress_bars``), advanced by the activities written. Returns an
    ``ExportSummary``.
    """
    if fmt not in EXPORT_FORMATS:
        raise ExportError(
            f"Unknown format '{fmt}': use one of {', '.join(EXPORT_FORMATS)}."
        )
    if as_of is not None and as_of > timezone.localdate():
        raise ExportError(f"{as_of.isoformat()} is in the future.")
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
    book_class = CsvBook if fmt == CSV else XlsxBook
    # Counted only for a bar that is drawn: the count is a query of its own.
    total = register.count() if progress is not None else 0
    with (
        book_class(out) as book,
        (progress or no_progress)(total, "Exporting") as bar,
    ):
        if fmt == ICO:
            _write_ico(book, register, summary, bar)
        else:
            _write_register(book, register, summary, exported_at, bar)
    return summary


# ---------------------------------------------------------------------------
# Workbooks: XLSX and a zip of CSV files, written the same way
# ---------------------------------------------------------------------------


class XlsxBook:
    """A streamed workbook (``ropa.exchange.xlsx``), written to ``out`` on exit."""

    def __init__(self, out):
        self.workbook = xlsx.Workbook(out)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, traceback):
        if exc_type is None:
            self.workbook.close()
        else:
            # Failed: nothing is written to ``out``.
            self.workbook.discard()

    def sheet(self, sheet, *, frozen_rows=1, hidden=False):
        return XlsxSheet(
            self.workbook.sheet(sheet.name, frozen_rows=frozen_rows, hidden=hidden)
        )


class XlsxSheet:
    def __init__(self, worksheet):
        self.worksheet = worksheet
        self.headers = ()

    def heading(self, values):
        values = tuple(values)
        self.worksheet.append(self._cells(values), style=xlsx.BOLD)
        self.headers = values

    def append(self, values):
        self.worksheet.append(self._cells(values))

    def _cells(self, values):
        """The row's cells, refused when one is too long to be written whole."""
        cells = [_xml_text(value) for value in values]
        for position, cell in enumerate(cells):
            if isinstance(cell, str) and len(cell) > CELL_LIMIT:
                raise ExportError(self._too_long(position, cells))
        return cells

    def _too_long(self, position, cells):
        def header(index):
            if index < len(self.headers):
                return self.headers[index]
            return get_column_letter(index + 1)

        # The row's first cell (its Reference, mostly) says which record it is.
        key = str(cells[0])[:100] if position else ""
        return TOO_LONG_FOR_XLSX.format(
            sheet=self.worksheet.name,
            row=self.worksheet.rows + 1,
            row_key=f" ({header(0)} '{key}')" if key else "",
            column=header(position),
            length=len(cells[position]),
            limit=CELL_LIMIT,
        )


def _xml_text(value):
    # XML cannot hold most control characters: they go before the writer
    # looks for formulas, so that "\x01=cmd" is seen as "=cmd".
    if isinstance(value, str):
        return xlsx.xml_safe(value)
    return value


class CsvBook:
    """One CSV per sheet, in temporary files zipped to ``out`` on a clean exit."""

    def __init__(self, out):
        self.out = out
        self.files = []
        self.stack = ExitStack()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, traceback):
        with self.stack:
            if exc_type is None:
                self._zip()

    def _zip(self):
        with zipfile.ZipFile(self.out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for filename, text in self.files:
                text.flush()
                text.buffer.seek(0)
                with zf.open(filename, "w") as entry:
                    shutil.copyfileobj(text.buffer, entry)

    def sheet(self, sheet, *, frozen_rows=1, hidden=False):
        # Deleted on close, which the stack does when the book closes.
        buffer = self.stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115
        text = io.TextIOWrapper(buffer, encoding=layout.CSV_ENCODING, newline="")
        self.files.append((sheet.filename, text))
        return CsvSheet(csv.writer(text))


class CsvSheet:
    def __init__(self, writer):
        self.writer = writer

    def append(self, values):
        self.writer.writerow(to_cells(values))

    heading = append


# ---------------------------------------------------------------------------
# The register's sheets
# ---------------------------------------------------------------------------


class _Rows:
    """
    Writes the rows of a sheet, each cell by its column's declaration
    (``layout.Column.write``), counting them.
    """

    def __init__(self, sheet, writer, names):
        self.writers = [column.write for column in sheet.columns]
        self.writer = writer
        self.names = names
        self.count = 0
        writer.heading(sheet.headers)

    def write(self, row):
        names = self.names
        self.writer.append([write(row, names) for write in self.writers])
        self.count += 1


def _write_register(book, register, summary, exported_at, bar):
    catalogue = register.catalogue()
    names = _Names(catalogue, gaps=Gaps(catalogue, on=register.as_of))
    # Sheets are created in workbook order, the Controller sheet first, and
    # written in any order: it is filled last, once its controllers are known.
    controller_sheet = book.sheet(layout.CONTROLLER, frozen_rows=0)
    (activities, bases, transfers, retention, processors, arrangements) = sheets = [
        _Rows(sheet, book.sheet(sheet), names) for sheet in ROW_SHEETS
    ]
    organisation_ids = set()
    agreement_users = names.agreement_users
    arrangement_users = names.arrangement_users

    for chunk in register.activities(bar):
        for activity in chunk:
            reference = activity["reference"]
            # The activity whose child rows are written next (their Reference).
            names.activity = activity
            activities.write(activity)
            for basis in sorted(activity["lawful_bases"], key=_basis_order):
                bases.write(basis)
            for transfer in sorted(activity["transfers"], key=_transfer_order):
                transfers.write(transfer)
            for rule in names.sorted_rules(activity["retention_rules"]):
                retention.write(rule)
            organisation_ids.update(activity["organisations"])
            for agreement_id in activity["processor_agreements"]:
                agreement_users[agreement_id].append(reference)
            if activity["joint_arrangement_id"] is not None:
                arrangement_users[activity["joint_arrangement_id"]].append(reference)

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

    if controller is not None:
        organisation_ids.add(controller.pk)
    _write_controller_sheet(
        controller_sheet, register, organisation_ids, names, exported_at
    )
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


def _write_controller_sheet(sheet, register, organisation_ids, names, moment):
    controller = register.controller
    catalogue = names.catalogue
    title, *labels = layout.HEADER_BLOCK
    values = (
        controller.name if controller is not None else layout.ALL_CONTROLLERS,
        register.as_of or layout.CURRENT,
        _local(moment, timezone.get_current_timezone()),
    )
    sheet.append((title,))
    for line in zip(labels, values, strict=True):
        sheet.append(line)
    sheet.append(())
    rows = _Rows(layout.CONTROLLER, sheet, names)
    organisations = sorted(
        (catalogue.organisations[pk] for pk in organisation_ids),
        key=lambda row: row["name"],
    )
    for organisation in organisations:
        rows.write(organisation)


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


def _local(moment, time_zone):
    """An aware date-time as the naive one a reader in ``time_zone`` sees."""
    return moment.astimezone(time_zone).replace(tzinfo=None)


class _Names:
    """
    Ids to the names and references the sheets write: what a column's writer
    (``layout.Column.write``) looks up besides the row it writes.
    """

    # Many activities share the same lists (the same companies, the same
    # categories): joined lists are kept, up to this many.
    CACHED_LISTS = 10_000

    def __init__(self, catalogue, gaps=None):
        self.catalogue = catalogue
        self.gaps = gaps
        # The activity whose rows are being written, and the references of
        # the activities using each agreement and arrangement.
        self.activity = None
        self.agreement_users = defaultdict(list)
        self.arrangement_users = defaultdict(list)
        self.organisation_names = {
            pk: row["name"] for pk, row in catalogue.organisations.items()
        }
        self.agreement_references = {
            pk: row["reference"] for pk, row in catalogue.agreements.items()
        }
        self.subjects = catalogue.names[DataSubjectCategory]
        self.data = catalogue.names[PersonalDataCategory]
        self.recipients = catalogue.names[Recipient]
        self.measures = catalogue.names[SecurityMeasure]
        self._lists = {}
        self.time_zone = timezone.get_current_timezone()

    def local(self, moment):
        """A stored date-time, naive in the project's time zone; None as empty."""
        return _local(moment, self.time_zone) if moment else ""

    def joined(self, names, pks):
        """``layout.name_list`` of ``names[pk]`` for each of ``pks``."""
        key = (id(names), *pks)
        text = self._lists.get(key)
        if text is None:
            if len(self._lists) >= self.CACHED_LISTS:
                self._lists.clear()
            text = self._lists[key] = name_list(names[pk] for pk in pks)
        return text

    def organisation(self, pk):
        return self.organisation_names[pk]

    def officer(self, organisation):
        return self.catalogue.officers.get(organisation["dpo_id"]) or {}

    def representative(self, organisation):
        pk = organisation["representative_id"]
        return self.catalogue.organisations.get(pk) or {}

    def arrangement(self, pk):
        if pk is None:
            return ""
        return self.catalogue.arrangements[pk]["reference"]

    def username(self, pk):
        return "" if pk is None else self.catalogue.usernames.get(pk, "")

    def data_category(self, pk):
        return "" if pk is None else self.data[pk]

    def recipient(self, pk):
        return "" if pk is None else self.recipients[pk]

    def sorted_rules(self, rules):
        # The rule for all data first, then by category name.
        return sorted(
            rules,
            key=lambda rule: (
                rule["personal_data_category_id"] is not None,
                self.data_category(rule["personal_data_category_id"]),
            ),
        )


# Lawful bases in the order of Art. 6(1).
BASIS_ORDER = {
    basis: position for position, basis in enumerate(LawfulBasisChoice.values)
}


def _basis_order(basis):
    return BASIS_ORDER.get(basis["basis"], len(BASIS_ORDER))


def _transfer_order(transfer):
    return (
        transfer["country"],
        transfer["international_organisation"],
        transfer["mechanism"],
    )


# ---------------------------------------------------------------------------
# The ICO documentation template for controllers
# ---------------------------------------------------------------------------


def _write_ico(book, register, summary, bar):
    catalogue = register.catalogue()
    names = _Names(catalogue)
    sheet = book.sheet(layout.ICO_TEMPLATE)
    sheet.heading(layout.ICO_TEMPLATE.headers)
    # A column holding one of the register's fields is written by its
    # declaration; the others from several fields, by ``_ico_values``.
    writers = [column.write for column in layout.ICO_COLUMNS]
    unwritten = writers.count(None)
    count = 0
    for chunk in register.activities(bar):
        for activity in chunk:
            if activity["status"] == ActivityStatus.RETIRED:
                continue
            values = _ico_values(activity, names)
            # One value for each column without a writer, in their order.
            if len(values) != unwritten:
                raise ExportError("The ICO columns and their values are out of step.")
            values = iter(values)
            sheet.append(
                [write(activity, names) if write else next(values) for write in writers]
            )
            count += 1
    summary.rows = {layout.ICO_TEMPLATE.name: count}


def _paragraphs(*texts):
    return "\n\n".join(text for text in texts if text)


def _joint_controllers(activity, names):
    arrangement_id = activity["joint_arrangement_id"]
    if arrangement_id is None:
        return ""
    arrangement = names.catalogue.arrangements[arrangement_id]
    parties = []
    for pk in arrangement["parties"]:
        party = names.catalogue.organisations[pk]
        contact = ", ".join(
            detail for detail in (party["email"], party["phone"]) if detail
        )
        parties.append(f"{party['name']} ({contact})" if contact else party["name"])
    contact_point = arrangement["contact_point"]
    return _paragraphs(
        name_list(parties),
        f"Contact point for data subjects: {contact_point}" if contact_point else "",
    )


def _ico_values(activity, names):
    """
    The ICO template's cells that join or describe several fields, in the
    order of their columns (those without a declared writer).
    """
    bases = sorted(activity["lawful_bases"], key=_basis_order)
    legitimate = [basis for basis in bases if basis["legitimate_interest"]]
    transfers = sorted(activity["transfers"], key=_transfer_order)
    catalogue = names.catalogue
    agreements = (catalogue.agreements[pk] for pk in activity["processor_agreements"])
    measures = names.joined(names.measures, activity["security_measures"])
    return (
        # Purpose of processing
        _paragraphs(activity["name"], activity["purpose"]),
        # Joint controller
        _joint_controllers(activity, names),
        # Link to contract with processor
        name_list(
            ": ".join(
                part for part in (row["reference"], row["document_reference"]) if part
            )
            for row in agreements
        ),
        # Third countries or international organisations; safeguards
        name_list(
            f"{countries.name(transfer['country']) or transfer_destination(transfer)} "
            f"({label(TransferMechanism, transfer['mechanism'])})"
            for transfer in transfers
        ),
        name_list(
            f"{transfer_destination(transfer)}: {transfer['safeguards_documentation']}"
            for transfer in transfers
            if transfer["safeguards_documentation"]
        ),
        # Retention schedule; security measures
        name_list(retention_text(rule, names) for rule in activity["retention_rules"]),
        _paragraphs(
            activity["security_description"],
            f"Measures: {measures}" if measures else "",
        ),
        # Article 6 basis; Article 9 basis
        name_list(label(LawfulBasisChoice, basis["basis"]) for basis in bases),
        name_list(
            label(SpecialCategoryCondition, basis["special_category_condition"])
            for basis in bases
            if basis["special_category_condition"]
        ),
        # Legitimate interests; link to the assessment
        _paragraphs(*(basis["legitimate_interest"] for basis in legitimate)),
        name_list(
            basis["assessment_reference"]
            for basis in legitimate
            if basis["assessment_reference"]
        ),
        # Automated decision-making
        _paragraphs(
            label(Profiling, activity["profiling"]), activity["profiling_description"]
        ),
        # Personal data breach?: the register keeps a link to breach records,
        # not a yes / no, so only a link answers it.
        "Yes" if activity["breach_reference"] else "",
        # DPA 2018 Schedule 1 condition: Schedule 1 also conditions criminal
        # offence data (s. 10(5)), which the register's Art. 10 authority names.
        name_list(
            basis["criminal_data_authority"]
            for basis in bases
            if basis["criminal_data_authority"]
        ),
    )
