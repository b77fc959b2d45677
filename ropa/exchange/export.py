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
(``ropa.exchange.xlsx``); a CSV cell passes through ``register_format.to_cells``,
which puts an apostrophe before such text.

No text is ever cut: an XLSX cell holds at most ``ropa.core.spreadsheet.CELL_LIMIT``
characters, which the models hold their text to; a longer cell (text saved
past the models' validation, or a cell of the ICO template joining several
texts) makes the XLSX export fail with an ``ExportError`` naming it, rather
than be cut as openpyxl would. A CSV cell has no limit.
"""

import csv
import functools
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
    DPIAStatus,
    LawfulBasisChoice,
    Profiling,
    RetentionAction,
    SpecialCategoryCondition,
    TransferMechanism,
)
from ropa.exchange import layout, xlsx
from ropa.exchange.layout import join_list, to_cells, yes_no
from ropa.exchange.snapshot import Gaps, Register, RegisterSnapshot, existed_then
from ropa.models import Recipient, SecurityMeasure
from subjects.models import DataSubjectCategory, PersonalDataCategory

XLSX = "xlsx"
CSV = "csv"
ICO = "ico"
FORMATS = (XLSX, CSV, ICO)
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

    ``fmt`` is one of ``FORMATS``; ``controller`` an Organisation to limit the
    register to; ``as_of`` a past date for the register as it stood at the end
    of that day; ``progress`` makes a progress bar (``ropa.core.progress
    .progress_bars``), advanced by the activities written. Returns an
    ``ExportSummary``.
    """
    if fmt not in FORMATS:
        raise ExportError(f"Unknown format '{fmt}': use one of {', '.join(FORMATS)}.")
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
        return xlsx.cell_text(value)
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


def _labels(sheet):
    """{column: {code: label}} of the sheet's columns of choices."""
    return {column: dict(choices.choices) for column, choices in sheet.choices}


def _with_labels(row, labels):
    # A code no longer among the choices (an old version's) is written as is.
    for column, by_code in labels.items():
        row[column] = by_code.get(row[column], row[column])
    return row


class _Rows:
    """
    Writes dict rows to a sheet in its columns' order, choices as labels,
    counting them.
    """

    def __init__(self, sheet, writer):
        self.columns = sheet.columns
        self.labels = _labels(sheet)
        self.writer = writer
        self.count = 0
        writer.heading(self.columns)

    def write(self, row):
        row = _with_labels(row, self.labels)
        self.writer.append([row[column] for column in self.columns])
        self.count += 1


def _write_register(book, register, summary, exported_at, bar):
    catalogue = register.catalogue()
    names = _Names(catalogue)
    gaps = Gaps(catalogue, on=register.as_of)
    # Sheets are created in workbook order, the Controller sheet first, and
    # written in any order: it is filled last, once its controllers are known.
    controller_sheet = book.sheet(layout.CONTROLLER, frozen_rows=0)
    (activities, bases, transfers, retention, processors, arrangements) = sheets = [
        _Rows(sheet, book.sheet(sheet)) for sheet in ROW_SHEETS
    ]
    organisation_ids = set()
    agreement_users = defaultdict(list)
    arrangement_users = defaultdict(list)

    for chunk in register.activities(bar):
        for activity in chunk:
            reference = activity["reference"]
            activities.write(_activity_row(activity, names, gaps))
            for basis in sorted(activity["lawful_bases"], key=_basis_order):
                bases.write(_lawful_basis_row(reference, basis))
            for transfer in sorted(activity["transfers"], key=_transfer_order):
                transfers.write(_transfer_row(reference, transfer, names))
            for rule in names.sorted_rules(activity["retention_rules"]):
                retention.write(_retention_row(reference, rule, names))
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
        processors.write(
            _agreement_row(agreement, agreement_users[agreement["id"]], names)
        )
    for arrangement in _listed(
        catalogue.arrangements,
        arrangement_users,
        controller,
        lambda row: controller.pk in row["parties"],
    ):
        arrangements.write(
            _arrangement_row(arrangement, arrangement_users[arrangement["id"]], names)
        )

    if controller is not None:
        organisation_ids.add(controller.pk)
    _write_controller_sheet(
        controller_sheet, register, organisation_ids, catalogue, exported_at
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


def _write_controller_sheet(sheet, register, organisation_ids, catalogue, moment):
    controller = register.controller
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
    sheet.heading(layout.CONTROLLER_COLUMNS)
    organisations = sorted(
        (catalogue.organisations[pk] for pk in organisation_ids),
        key=lambda row: row["name"],
    )
    labels = _labels(layout.CONTROLLER)
    for organisation in organisations:
        row = _with_labels(_controller_row(organisation, catalogue), labels)
        sheet.append([row[column] for column in layout.CONTROLLER_COLUMNS])


def _write_for_the_import(book, moment):
    """The hidden sheet of the exact moment of the export and the codes."""
    sheet = book.sheet(layout.FOR_THE_IMPORT, frozen_rows=0, hidden=True)
    sheet.append((layout.FOR_THE_IMPORT_NOTE,))
    sheet.append((layout.EXPORTED_AT, layout.exported_at_text(moment)))
    sheet.append(())
    sheet.heading(layout.CODE_COLUMNS)
    for register_sheet in layout.SHEETS:
        for column, choices in register_sheet.choices:
            for code, label in choices.choices:
                sheet.append((register_sheet.name, column, code, str(label)))


def _local(moment, time_zone):
    """An aware date-time as the naive one a reader in ``time_zone`` sees."""
    return moment.astimezone(time_zone).replace(tzinfo=None)


def _controller_row(organisation, catalogue):
    officer = catalogue.officers.get(organisation["dpo_id"]) or {}
    representative = catalogue.organisations.get(organisation["representative_id"])
    representative = representative or {}
    return {
        "Name": organisation["name"],
        "Registration number": organisation["registration_number"],
        "Country": organisation["country"],
        "Address": organisation["address"],
        "E-mail": organisation["email"],
        "Phone": organisation["phone"],
        "Website": organisation["website"],
        "DPO": officer.get("name", ""),
        "DPO e-mail": officer.get("email", ""),
        "DPO phone": officer.get("phone", ""),
        "DPO engagement": officer.get("engagement", ""),
        "Representative": representative.get("name", ""),
        "Representative address": representative.get("address", ""),
        "Representative e-mail": representative.get("email", ""),
        "Representative phone": representative.get("phone", ""),
    }


class _Names:
    """Ids to the names and references the sheets write."""

    # Many activities share the same lists (the same companies, the same
    # categories): joined lists are kept, up to this many.
    CACHED_LISTS = 10_000

    def __init__(self, catalogue):
        self.catalogue = catalogue
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
        """``join_list`` of ``names[pk]`` for each of ``pks``."""
        key = (id(names), *pks)
        text = self._lists.get(key)
        if text is None:
            if len(self._lists) >= self.CACHED_LISTS:
                self._lists.clear()
            text = self._lists[key] = join_list(names[pk] for pk in pks)
        return text

    def organisation(self, pk):
        return self.organisation_names[pk]

    def organisations(self, pks):
        return self.joined(self.organisation_names, pks)

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


def _destination(transfer):
    return transfer["country"] or transfer["international_organisation"]


def _retention_text(rule, names):
    """``All data: 3 years after the end of the contract, then erase``."""
    scope = names.data_category(rule["personal_data_category_id"]) or "All data"
    if rule["period"]:
        unit = rule["period_unit"]
        how_long = " ".join(
            part for part in (str(rule["period"]), unit, rule["trigger"]) if part
        )
    else:
        how_long = rule["criteria"]
    action = _label(RetentionAction, rule["end_action"]).lower()
    return f"{scope}: {how_long}, then {action}"


def _activity_row(activity, names, gaps):
    return {
        "Reference": activity["reference"],
        "Name": activity["name"],
        "Status": activity["status"],
        "Record type": activity["role"],
        "Responsible organisations": names.organisations(activity["organisations"]),
        "Joint controller arrangement": names.arrangement(
            activity["joint_arrangement_id"]
        ),
        "Joint processing": activity["joint_processing"],
        "Client controllers": names.organisations(activity["client_controllers"]),
        "Purpose": activity["purpose"],
        "Business function": activity["business_function"],
        "Owner": names.username(activity["owner_id"]),
        "Data subject categories": names.joined(
            names.subjects, activity["data_subject_categories"]
        ),
        "Personal data categories": names.joined(
            names.data, activity["personal_data_categories"]
        ),
        "Source of the data": activity["data_source"],
        "Recipients": names.joined(names.recipients, activity["recipients"]),
        "Processor agreements": names.joined(
            names.agreement_references, activity["processor_agreements"]
        ),
        "Security measures": names.joined(
            names.measures, activity["security_measures"]
        ),
        "General description of security measures": activity["security_description"],
        "Systems and software": activity["systems"],
        "Location of the data": activity["data_location"],
        "Profiling": activity["profiling"],
        "Profiling and automated decision-making": activity["profiling_description"],
        "State profiling in the notice": yes_no(activity["profiling_in_notice"]),
        "DPIA required": yes_no(activity["dpia_required"]),
        "DPIA progress": activity["dpia_status"],
        "Link to DPIA": activity["dpia_reference"],
        "Rights available": activity["rights_information"],
        "Opt-out information": activity["opt_out_information"],
        "Link to record of consent": activity["consent_record_reference"],
        "Link to personal data breach records": activity["breach_reference"],
        "Link to retention and erasure policy": activity["retention_policy_reference"],
        "Retained and erased according to the policy": yes_no(
            activity["retention_policy_followed"]
        ),
        "Reason for not following the policy": activity["retention_policy_deviation"],
        "In the privacy notice": yes_no(activity["in_notice"]),
        "Notice order": activity["notice_order"],
        "Notice title": activity["notice_title"],
        "Notice text": activity["notice_text"],
        "Lawful bases": join_list(
            _label(LawfulBasisChoice, basis["basis"])
            for basis in activity["lawful_bases"]
        ),
        "Transfer destinations": join_list(
            {_destination(transfer) for transfer in activity["transfers"]}
        ),
        "Retention": join_list(
            _retention_text(rule, names) for rule in activity["retention_rules"]
        ),
        "Art. 30 gaps": "\n".join(str(gap) for gap in gaps.of(activity)),
        "Created at": names.local(activity["created_at"]),
        "Updated at": names.local(activity["updated_at"]),
        layout.VERSION: activity["version"],
    }


def _lawful_basis_row(reference, basis):
    return {
        "Reference": reference,
        "Basis": basis["basis"],
        "Explanation": basis["explanation"],
        "Legitimate interest pursued": basis["legitimate_interest"],
        "Legitimate interests assessment": basis["assessment_reference"],
        "Art. 9(2) condition": basis["special_category_condition"],
        "Art. 10 authority": basis["criminal_data_authority"],
        "Sample value": yes_no(basis["is_sample"]),
        layout.VERSION: basis["version"],
    }


def _transfer_row(reference, transfer, names):
    return {
        "Reference": reference,
        "Country": transfer["country"],
        "International organisation": transfer["international_organisation"],
        "Mechanism": transfer["mechanism"],
        "Recipient": names.recipient(transfer["recipient_id"]),
        "Documentation of suitable safeguards": transfer["safeguards_documentation"],
        "Transfer impact assessment": transfer["tia_reference"],
        "Notes": transfer["notes"],
        layout.VERSION: transfer["version"],
    }


def _retention_row(reference, rule, names):
    return {
        "Reference": reference,
        "Personal data category": names.data_category(
            rule["personal_data_category_id"]
        ),
        "Period": rule["period"],
        "Period unit": rule["period_unit"],
        "Criteria": rule["criteria"],
        "Trigger": rule["trigger"],
        "Action at the end": rule["end_action"],
        "Legal reference": rule["legal_reference"],
        "Sample value": yes_no(rule["is_sample"]),
        layout.VERSION: rule["version"],
    }


def _agreement_row(agreement, used_by, names):
    return {
        "Reference": agreement["reference"],
        "Processor": names.organisation(agreement["processor_id"]),
        "Controller": names.organisation(agreement["controller_id"]),
        "Services": agreement["services"],
        "Document reference": agreement["document_reference"],
        "Signed on": agreement["signed_on"],
        "Expires on": agreement["expires_on"],
        "Sub-processors": names.organisations(agreement["sub_processors"]),
        "Transfers covered": agreement["transfers_covered"],
        "Activities": join_list(used_by),
    }


def _arrangement_row(arrangement, used_by, names):
    return {
        "Reference": arrangement["reference"],
        "Name": arrangement["name"],
        "Parties": names.organisations(arrangement["parties"]),
        "When joint": arrangement["joint_scope"],
        "Scope": arrangement["scope"],
        "Allocation of responsibilities": arrangement["responsibilities"],
        "Contact point": arrangement["contact_point"],
        "Essence for data subjects": arrangement["essence"],
        "Essence made available": yes_no(arrangement["essence_published"]),
        "Document reference": arrangement["document_reference"],
        "Signed on": arrangement["signed_on"],
        "Next review": arrangement["review_on"],
        "Activities": join_list(used_by),
    }


# ---------------------------------------------------------------------------
# The ICO documentation template for controllers
# ---------------------------------------------------------------------------


def _write_ico(book, register, summary, bar):
    catalogue = register.catalogue()
    names = _Names(catalogue)
    sheet = book.sheet(layout.ICO_TEMPLATE)
    sheet.heading(layout.ICO_COLUMNS)
    count = 0
    for chunk in register.activities(bar):
        for activity in chunk:
            if activity["status"] == ActivityStatus.RETIRED:
                continue
            row = _ico_row(activity, names)
            sheet.append([row[column] for column in layout.ICO_COLUMNS])
            count += 1
    summary.rows = {layout.ICO_TEMPLATE.name: count}


@functools.cache
def _choice_labels(choices):
    # Built once per choices class, not once per cell.
    return dict(choices.choices)


def _label(choices, value):
    # A value no longer among the choices (an old version's) is shown as is.
    return _choice_labels(choices).get(value, value)


def _yes_no_label(value):
    return {True: "Yes", False: "No"}.get(value, "")


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
        join_list(parties),
        f"Contact point for data subjects: {contact_point}" if contact_point else "",
    )


def _ico_row(activity, names):
    """The activity in the ICO template's columns, in their order."""
    bases = sorted(activity["lawful_bases"], key=_basis_order)
    legitimate = [basis for basis in bases if basis["legitimate_interest"]]
    transfers = sorted(activity["transfers"], key=_transfer_order)
    catalogue = names.catalogue
    agreements = (catalogue.agreements[pk] for pk in activity["processor_agreements"])
    measures = names.joined(names.measures, activity["security_measures"])
    values = (
        # Business function; Purpose of processing
        activity["business_function"],
        _paragraphs(activity["name"], activity["purpose"]),
        # Joint controller; categories of individuals, data and recipients
        _joint_controllers(activity, names),
        names.joined(names.subjects, activity["data_subject_categories"]),
        names.joined(names.data, activity["personal_data_categories"]),
        names.joined(names.recipients, activity["recipients"]),
        # Link to contract with processor
        join_list(
            ": ".join(
                part for part in (row["reference"], row["document_reference"]) if part
            )
            for row in agreements
        ),
        # Third countries or international organisations; safeguards
        join_list(
            f"{countries.name(transfer['country']) or _destination(transfer)} "
            f"({_label(TransferMechanism, transfer['mechanism'])})"
            for transfer in transfers
        ),
        join_list(
            f"{_destination(transfer)}: {transfer['safeguards_documentation']}"
            for transfer in transfers
            if transfer["safeguards_documentation"]
        ),
        # Retention schedule; security measures
        join_list(_retention_text(rule, names) for rule in activity["retention_rules"]),
        _paragraphs(
            activity["security_description"],
            f"Measures: {measures}" if measures else "",
        ),
        # Article 6 basis; Article 9 basis
        join_list(_label(LawfulBasisChoice, basis["basis"]) for basis in bases),
        join_list(
            _label(SpecialCategoryCondition, basis["special_category_condition"])
            for basis in bases
            if basis["special_category_condition"]
        ),
        # Legitimate interests; link to the assessment
        _paragraphs(*(basis["legitimate_interest"] for basis in legitimate)),
        join_list(
            basis["assessment_reference"]
            for basis in legitimate
            if basis["assessment_reference"]
        ),
        # Rights; automated decision-making; source; consent; location
        activity["rights_information"],
        _paragraphs(
            _label(Profiling, activity["profiling"]), activity["profiling_description"]
        ),
        activity["data_source"],
        activity["consent_record_reference"],
        activity["data_location"],
        # DPIA required, progress, link
        _yes_no_label(activity["dpia_required"]),
        _label(DPIAStatus, activity["dpia_status"]),
        activity["dpia_reference"],
        # Personal data breach?: the register keeps a link to breach records,
        # not a yes / no, so only a link answers it.
        "Yes" if activity["breach_reference"] else "",
        activity["breach_reference"],
        # DPA 2018 Schedule 1 condition: Schedule 1 also conditions criminal
        # offence data (s. 10(5)), which the register's Art. 10 authority names.
        join_list(
            basis["criminal_data_authority"]
            for basis in bases
            if basis["criminal_data_authority"]
        ),
        # Retention policy: link, adherence, reason
        activity["retention_policy_reference"],
        _yes_no_label(activity["retention_policy_followed"]),
        activity["retention_policy_deviation"],
    )
    return dict(zip(layout.ICO_COLUMNS, values, strict=True))
