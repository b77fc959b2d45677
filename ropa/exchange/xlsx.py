"""
A streaming XLSX writer for the register's exports: text, numbers, dates, a
bold heading row, frozen rows, column widths, hidden sheets, nothing else.

Text is never a formula: every text is an inline string. Text a spreadsheet
could take for a formula on editing, or whose first apostrophe it would take
for the mark of text (``ropa.core.spreadsheet.needs_quote_prefix``), is written
in Excel's quote-prefix style (``QUOTED``): shown, edited and read back as
it is, with no apostrophe added. Dates and naive date-times are date cells
(``DATE``, ``DATE_TIME``), shown as ``2024-01-15`` and ``2024-01-15 10:03``.

openpyxl's write-only mode builds a cell object per value and serialises it
through lxml; for a large register's million cells that was most of the
export's time. This writes the same SpreadsheetML openpyxl writes for such
cells (inline strings, numbers; the same styles, sheet views and package
parts) as text, each sheet into a temporary file, and zips the package when
the book is closed. The files open in spreadsheet programs and in openpyxl,
which the exports' own import reads them with.

XlsxWriter's streaming mode was measured in its place on a register of 10,000
activities (80,000 rows): the export took twice the CPU time, the writing
alone four times. It also writes a carriage return, and text such as
"_x0041_", as Excel's "_xHHHH_" escapes, which openpyxl, and so the import,
reads back as those characters rather than the text.
"""

import datetime
import math
import re
import shutil
import tempfile
import zipfile
from contextlib import ExitStack
from xml.sax.saxutils import quoteattr

from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel

from ropa.core.spreadsheet import needs_quote_prefix

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
XML_HEADER = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

# Characters XML 1.0 cannot hold at all: removed, as openpyxl's writer must.
ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# What text must escape; a carriage return too, or a reader turns it into a
# line feed (openpyxl's lxml writes it as a character reference likewise).
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})

# Styles, as cellXfs indexes: heading cells; text kept as text on editing;
# dates; date-times.
BOLD = 1
QUOTED = 2
DATE = 3
DATE_TIME = 4
DATE_FORMAT = "yyyy-mm-dd"
DATE_TIME_FORMAT = "yyyy-mm-dd hh:mm"
# Columns wide enough for a date and a date-time, which a narrower column
# shows as "#####": a column of dates is made so wide.
DATE_WIDTH = 11
DATE_TIME_WIDTH = 17

STYLES = (
    f'<styleSheet xmlns="{NS}">'
    '<numFmts count="2">'
    f'<numFmt numFmtId="164" formatCode="{DATE_FORMAT}"/>'
    f'<numFmt numFmtId="165" formatCode="{DATE_TIME_FORMAT}"/>'
    "</numFmts>"
    '<fonts count="2">'
    '<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b val="1"/><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    "</fonts>"
    '<fills count="2"><fill><patternFill/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
    "</borders>"
    '<cellStyleXfs count="1">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="5">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" quotePrefix="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" '
    'applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" '
    'applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
    "</cellStyles>"
    "</styleSheet>"
)


def xml_safe(value):
    """``value`` without the characters XML cannot hold."""
    return ILLEGAL.sub("", value)


HIDDEN = ' state="hidden"'


class _Columns(dict):
    """Column letters by index (0 is A), computed once each."""

    def __missing__(self, index):
        letter = self[index] = get_column_letter(index + 1)
        return letter


COLUMNS = _Columns()


class Workbook:
    """
    Sheets written as rows come, zipped into ``out`` by ``close()``;
    ``discard()`` drops them and writes nothing.
    """

    def __init__(self, out):
        self.out = out
        self.sheets = []
        self.stack = ExitStack()

    def sheet(self, name, *, frozen_rows=0, hidden=False):
        """
        A new sheet, after the others. A ``hidden`` sheet is not shown
        (Excel's "Unhide" shows it); the first sheet must be visible.
        """
        # Deleted on close, which the stack does when the book closes.
        buffer = self.stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115
        sheet = Sheet(name, buffer, frozen_rows=frozen_rows, hidden=hidden)
        self.sheets.append(sheet)
        return sheet

    def close(self):
        with self.stack, zipfile.ZipFile(self.out, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("[Content_Types].xml", self._content_types())
            zf.writestr("_rels/.rels", self._package_rels())
            zf.writestr("xl/workbook.xml", self._workbook())
            zf.writestr("xl/_rels/workbook.xml.rels", self._workbook_rels())
            zf.writestr("xl/styles.xml", XML_HEADER + STYLES)
            for number, sheet in enumerate(self.sheets, start=1):
                part = f"xl/worksheets/sheet{number}.xml"
                with zf.open(part, "w", force_zip64=True) as entry:
                    sheet.copy_to(entry)

    def discard(self):
        self.stack.close()

    def _content_types(self):
        sheets = "".join(
            f'<Override PartName="/xl/worksheets/sheet{number}.xml" ContentType='
            '"application/vnd.openxmlformats-officedocument.spreadsheetml.'
            'worksheet+xml"/>'
            for number in range(1, len(self.sheets) + 1)
        )
        return (
            XML_HEADER + '<Types xmlns="http://schemas.openxmlformats.org/package/'
            '2006/content-types">'
            '<Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            f"{sheets}</Types>"
        )

    def _package_rels(self):
        return (
            XML_HEADER + f'<Relationships xmlns="{PKG_REL_NS}">'
            f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>'
        )

    def _workbook(self):
        sheets = "".join(
            f'<sheet name={quoteattr(sheet.name)} sheetId="{number}"'
            f'{HIDDEN if sheet.hidden else ""} r:id="rId{number}"/>'
            for number, sheet in enumerate(self.sheets, start=1)
        )
        return (
            XML_HEADER + f'<workbook xmlns="{NS}" xmlns:r="{REL_NS}">'
            '<bookViews><workbookView activeTab="0"/></bookViews>'
            f"<sheets>{sheets}</sheets></workbook>"
        )

    def _workbook_rels(self):
        sheets = "".join(
            f'<Relationship Id="rId{number}" Type="{REL_NS}/worksheet" '
            f'Target="worksheets/sheet{number}.xml"/>'
            for number in range(1, len(self.sheets) + 1)
        )
        styles = len(self.sheets) + 1
        return (
            XML_HEADER + f'<Relationships xmlns="{PKG_REL_NS}">{sheets}'
            f'<Relationship Id="rId{styles}" Type="{REL_NS}/styles" '
            'Target="styles.xml"/></Relationships>'
        )


class Sheet:
    def __init__(self, name, buffer, *, frozen_rows=0, hidden=False):
        self.name = name
        self.buffer = buffer
        self.frozen_rows = frozen_rows
        self.hidden = hidden
        self.rows = 0
        self.widths = {}

    def set_width(self, index, width):
        """Column ``index`` (0 is A) ``width`` characters wide."""
        self.widths[index] = width

    def append(self, values, *, style=None):
        """
        A row of text, numbers, dates and naive date-times; None and ""
        leave the cell out (a spreadsheet reads both as empty). ``style``
        is the row's (``BOLD`` for a heading); without one, each cell's
        value chooses.
        """
        self.rows += 1
        number = self.rows
        styled = "" if style is None else f' s="{style}"'
        parts = [f'<row r="{number}">']
        for index, value in enumerate(values):
            if value is None or value == "":
                continue
            reference = f"{COLUMNS[index]}{number}"
            if isinstance(value, str):
                space = (
                    ' xml:space="preserve"'
                    if value[0].isspace() or value[-1].isspace()
                    else ""
                )
                quoted = (
                    f' s="{QUOTED}"'
                    if style is None and needs_quote_prefix(value)
                    else styled
                )
                parts.append(
                    f'<c r="{reference}"{quoted} t="inlineStr"><is><t{space}>'
                    f"{value.translate(_ESCAPES)}</t></is></c>"
                )
            elif isinstance(value, datetime.datetime):
                if value.tzinfo is not None:
                    raise TypeError(
                        f"An XLSX cell holds no time zone: {value!r} must be "
                        "made naive, in the time zone it is shown in."
                    )
                parts.append(
                    f'<c r="{reference}" s="{DATE_TIME}"><v>{to_excel(value)!r}</v></c>'
                )
                self._widen(index, DATE_TIME_WIDTH)
            elif isinstance(value, datetime.date):
                parts.append(
                    f'<c r="{reference}" s="{DATE}"><v>{to_excel(value)!r}</v></c>'
                )
                self._widen(index, DATE_WIDTH)
            elif isinstance(value, bool):
                parts.append(f'<c r="{reference}"{styled} t="b"><v>{value:d}</v></c>')
            elif isinstance(value, int) or (
                isinstance(value, float) and math.isfinite(value)
            ):
                parts.append(f'<c r="{reference}"{styled} t="n"><v>{value!r}</v></c>')
            else:
                raise TypeError(f"An XLSX cell cannot hold {value!r}.")
        parts.append("</row>")
        self.buffer.write("".join(parts).encode())

    def _widen(self, index, width):
        if self.widths.get(index, 0) < width:
            self.widths[index] = width

    def copy_to(self, entry):
        entry.write(self._head().encode())
        self.buffer.seek(0)
        shutil.copyfileobj(self.buffer, entry)
        entry.write(b"</sheetData></worksheet>")

    def _head(self):
        if self.frozen_rows:
            first = self.frozen_rows + 1
            view = (
                f'<pane ySplit="{self.frozen_rows}" topLeftCell="A{first}" '
                'activePane="bottomLeft" state="frozen"/>'
                f'<selection pane="bottomLeft" activeCell="A{first}" '
                f'sqref="A{first}"/>'
            )
        else:
            view = ""
        columns = "".join(
            f'<col min="{index + 1}" max="{index + 1}" width="{width}" '
            'customWidth="1"/>'
            for index, width in sorted(self.widths.items())
        )
        if columns:
            columns = f"<cols>{columns}</cols>"
        return (
            XML_HEADER + f'<worksheet xmlns="{NS}">'
            f'<sheetViews><sheetView workbookViewId="0">{view}</sheetView>'
            f"</sheetViews>{columns}<sheetData>"
        )
