"""
The workbooks an export writes, and what its rows look names up in.

``XlsxBook`` streams an XLSX workbook (``ropa.exchange.xlsx``); ``CsvBook``
writes one CSV per sheet into temporary files zipped at the end. Both give
sheets with ``heading`` and ``append``; a book that fails writes nothing to
its ``out``. ``Rows`` writes a sheet's rows by its columns' declarations
(``ropa.exchange.columns.Column.write``), and ``Names`` maps the ids of a
register's rows to the names and references those writers look up.
"""

import csv
import io
import shutil
import tempfile
import zipfile
from collections import defaultdict
from contextlib import ExitStack

from django.utils import timezone
from openpyxl.utils import get_column_letter

from ropa.core.spreadsheet import CELL_LIMIT
from ropa.enums import LawfulBasisChoice
from ropa.exchange import layout, xlsx
from ropa.exchange.layout import name_list, to_cells
from ropa.models import Recipient, SecurityMeasure
from subjects.models import DataSubjectCategory, PersonalDataCategory

TOO_LONG_FOR_XLSX = (
    "The register cannot be exported as XLSX: on sheet '{sheet}', row "
    "{row}{row_key}, the '{column}' cell would hold {length:,} characters, and an "
    "XLSX cell holds at most {limit:,}. Shorten that text in the admin, or "
    "export as CSV, which holds it whole."
)


class ExportError(ValueError):
    """An export asked for something that cannot be written."""


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


class Rows:
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


def local(moment, time_zone):
    """An aware date-time as the naive one a reader in ``time_zone`` sees."""
    return moment.astimezone(time_zone).replace(tzinfo=None)


class Names:
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
        # The organisation a regulator's layout documents, where it is one.
        self.controller_id = None
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
        return local(moment, self.time_zone) if moment else ""

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


def basis_order(basis):
    return BASIS_ORDER.get(basis["basis"], len(BASIS_ORDER))


def transfer_order(transfer):
    return (
        transfer["country"],
        transfer["international_organisation"],
        transfer["mechanism"],
    )
