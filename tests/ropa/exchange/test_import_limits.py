"""
Files under the size limit that hold more rows or cells than an import reads
(``ROPA_IMPORT_MAX_ROWS`` per sheet, ``ROPA_IMPORT_MAX_CELLS`` per file):
refused as they are read, before a row is checked against the register, in
the register import and in the import of each admin list; and workbooks that
would make openpyxl work without end (a sheet declaring a huge size, a huge
table of shared texts, a sheet that does not state its size) bounded too.

The workbooks are put together as a script writes SpreadsheetML (a million
tiny rows, written by no spreadsheet program), the CSV files by csv.writer.
How far openpyxl read is counted by wrapping its row parser and its sheets'
row iterator; time and memory are not asserted here.
"""

import csv
import io
import zipfile
from io import StringIO
from xml.sax.saxutils import quoteattr

import pytest
import tablib
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils.html import escape
from openpyxl import load_workbook
from openpyxl.reader import excel
from openpyxl.worksheet import _read_only, _reader
from openpyxl.xml.functions import fromstring

from ropa.core import resources
from ropa.core.rows import TOO_MANY_CELLS, TOO_MANY_ROWS, TOO_MANY_TEXTS
from ropa.exchange import layout
from ropa.exchange.export import export_register
from ropa.exchange.workbook import ImportFileError, read_workbook
from subjects.models import DataSubjectCategory

pytestmark = pytest.mark.django_db

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"
TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
SPREADSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml"
MILLION = 1_000_000
# The defaults of config/settings.py.
MAX_ROWS = 100_000
MAX_CELLS = 3_000_000
LIST_IMPORT = "admin:subjects_datasubjectcategory_import"


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------


def number_rows(count, *, first=1, columns=("A",)):
    """``count`` rows of a number in each of ``columns``, numbered from ``first``."""
    return "".join(
        f'<row r="{n}">'
        + "".join(f'<c r="{c}{n}"><v>{n}</v></c>' for c in columns)
        + "</row>"
        for n in range(first, first + count)
    )


def heading_row(*headings):
    cells = "".join(
        f'<c t="inlineStr"><is><t>{heading}</t></is></c>' for heading in headings
    )
    return f'<row r="1">{cells}</row>'


def write_workbook(sheets, *, shared_texts=None, dimension=None):
    """
    An XLSX workbook as a script writes one, as bytes: ``sheets`` is
    {title: the XML of its rows}; no styles, no sheet size unless
    ``dimension`` (a range, such as "A1:XFD1048576"), shared texts as given.
    """
    out = io.BytesIO()
    titles = list(sheets)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{n}.xml" '
            f'ContentType="{SPREADSHEET}.worksheet+xml"/>'
            for n in range(1, len(titles) + 1)
        )
        relations = "".join(
            f'<Relationship Id="rId{n}" Type="{RELATIONSHIPS}/worksheet" '
            f'Target="worksheets/sheet{n}.xml"/>'
            for n in range(1, len(titles) + 1)
        )
        if shared_texts is not None:
            overrides += (
                '<Override PartName="/xl/sharedStrings.xml" '
                f'ContentType="{SPREADSHEET}.sharedStrings+xml"/>'
            )
            relations += (
                f'<Relationship Id="rIdTexts" Type="{RELATIONSHIPS}/sharedStrings" '
                'Target="sharedStrings.xml"/>'
            )
            package.writestr(
                "xl/sharedStrings.xml", f'<sst xmlns="{MAIN}">{shared_texts}</sst>'
            )
        package.writestr(
            "[Content_Types].xml",
            f'<Types xmlns="{TYPES}">'
            '<Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            f'ContentType="{SPREADSHEET}.sheet.main+xml"/>{overrides}</Types>',
        )
        package.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{PACKAGE}"><Relationship Id="rId1" '
            f'Type="{RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        listed = "".join(
            f'<sheet name={quoteattr(title)} sheetId="{n}" r:id="rId{n}"/>'
            for n, title in enumerate(titles, start=1)
        )
        package.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">'
            f"<sheets>{listed}</sheets></workbook>",
        )
        package.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{PACKAGE}">{relations}</Relationships>',
        )
        size = f'<dimension ref="{dimension}"/>' if dimension else ""
        for n, title in enumerate(titles, start=1):
            package.writestr(
                f"xl/worksheets/sheet{n}.xml",
                f'<worksheet xmlns="{MAIN}">{size}'
                f"<sheetData>{sheets[title]}</sheetData></worksheet>",
            )
    return out.getvalue()


def add_rows(path, title, rows):
    """Add the XML ``rows`` at the end of the sheet ``title`` of the workbook."""
    with zipfile.ZipFile(path) as package:
        parts = {info.filename: package.read(info) for info in package.infolist()}
    book = fromstring(parts["xl/workbook.xml"])
    relation = next(
        sheet.get(f"{{{RELATIONSHIPS}}}id")
        for sheet in book.iter(f"{{{MAIN}}}sheet")
        if sheet.get("name") == title
    )
    target = next(
        link.get("Target")
        for link in fromstring(parts["xl/_rels/workbook.xml.rels"])
        if link.get("Id") == relation
    )
    member = "xl/" + target.removeprefix("/xl/")
    parts[member] = parts[member].replace(
        b"</sheetData>", rows.encode() + b"</sheetData>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for name, data in parts.items():
            package.writestr(name, data)


def longest_sheet(path):
    """The title and number of rows of the sheet of most rows, as read."""
    book = load_workbook(path, read_only=True)
    counts = {}
    for sheet in book.worksheets:
        sheet.reset_dimensions()
        counts[sheet.title] = sum(1 for _ in sheet.iter_rows())
    book.close()
    return max(counts.items(), key=lambda item: item[1])


def csv_file(rows):
    out = StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "description", "vulnerable", "is_sample"])
    writer.writerows(rows)
    return out.getvalue().encode()


@pytest.fixture
def exported(tmp_path):
    """The register's XLSX export, as the DPO downloads it."""
    path = tmp_path / "register.xlsx"
    with path.open("wb") as out:
        export_register(fmt="xlsx", out=out)
    return path


# ---------------------------------------------------------------------------
# How far openpyxl reads
# ---------------------------------------------------------------------------


@pytest.fixture
def parsed(monkeypatch):
    """
    What openpyxl parses: {"rows": row elements of sheets, "sizes": sheets
    parsed to find their size, "texts": tables of shared texts}.
    """
    counts = {"rows": 0, "sizes": 0, "texts": 0}

    def counting(name, function):
        def wrapper(*args, **kwargs):
            counts[name] += 1
            return function(*args, **kwargs)

        return wrapper

    parser = _reader.WorkSheetParser
    monkeypatch.setattr(parser, "parse_row", counting("rows", parser.parse_row))
    monkeypatch.setattr(
        parser, "parse_dimensions", counting("sizes", parser.parse_dimensions)
    )
    monkeypatch.setattr(
        excel, "read_string_table", counting("texts", excel.read_string_table)
    )
    return counts


@pytest.fixture
def read(monkeypatch):
    """How many rows, and cells in them, the sheets' row iterator gave."""
    counts = {"rows": 0, "cells": 0}
    iter_rows = _read_only.ReadOnlyWorksheet.iter_rows

    def counted(self, *args, **kwargs):
        for row in iter_rows(self, *args, **kwargs):
            counts["rows"] += 1
            counts["cells"] += len(row)
            yield row

    monkeypatch.setattr(_read_only.ReadOnlyWorksheet, "iter_rows", counted)
    return counts


# ---------------------------------------------------------------------------
# The register import
# ---------------------------------------------------------------------------


@pytest.mark.usefixtures("sample_register")
def test_import_command_refuses_a_million_rows_before_reading_one(exported, parsed):
    add_rows(exported, layout.ACTIVITIES.name, number_rows(MILLION, first=100))

    with pytest.raises(CommandError) as refused:
        call_command(
            "import_register",
            str(exported),
            "--dry-run",
            stdout=StringIO(),
            stderr=StringIO(),
        )

    assert str(refused.value) == TOO_MANY_ROWS.format(
        where=f"Sheet '{layout.ACTIVITIES.name}'", limit=MAX_ROWS
    )
    assert "ROPA_IMPORT_MAX_ROWS" in str(refused.value)
    # Counted in the XML: openpyxl never parsed a row, nor the sheet to find
    # its size, which the rows added do not state.
    assert parsed == {"rows": 0, "sizes": 0, "texts": 0}


@pytest.mark.usefixtures("sample_register")
def test_the_register_export_with_rows_up_to_the_limit_is_read(exported, settings):
    _, rows = longest_sheet(exported)
    settings.ROPA_IMPORT_MAX_ROWS = rows

    tables = read_workbook(exported, file_name=exported.name)

    assert len(tables[layout.ACTIVITIES.name].rows) == 27


@pytest.mark.usefixtures("sample_register")
def test_the_register_export_one_row_past_the_limit_is_refused(exported, settings):
    title, rows = longest_sheet(exported)
    settings.ROPA_IMPORT_MAX_ROWS = rows - 1

    with pytest.raises(ImportFileError) as refused:
        read_workbook(exported, file_name=exported.name)

    assert str(refused.value) == TOO_MANY_ROWS.format(
        where=f"Sheet '{title}'", limit=rows - 1
    )


@pytest.mark.parametrize("limit", [1_000, MAX_ROWS])
def test_reading_stops_at_the_first_row_numbered_past_the_limit(
    tmp_path, settings, read, limit
):
    # Few rows, numbered far apart: the sheet has a row past the limit.
    settings.ROPA_IMPORT_MAX_ROWS = limit
    path = tmp_path / "sparse.xlsx"
    path.write_bytes(
        write_workbook({"Activities": number_rows(3) + number_rows(1, first=5 * limit)})
    )

    with pytest.raises(ImportFileError) as refused:
        read_workbook(path, file_name=path.name)

    assert str(refused.value) == TOO_MANY_ROWS.format(
        where="Sheet 'Activities'", limit=limit
    )
    assert read["rows"] == limit + 1


def test_reading_stops_at_the_row_whose_cells_pass_the_limit(tmp_path, settings, read):
    # Two cells a row in the XML, a row as wide as a sheet (16,384 columns)
    # as read: the fourth row's cells pass 50,000.
    settings.ROPA_IMPORT_MAX_CELLS = 50_000
    path = tmp_path / "wide.xlsx"
    path.write_bytes(
        write_workbook({"Activities": number_rows(10, columns=("A", "XFD"))})
    )

    with pytest.raises(ImportFileError) as refused:
        read_workbook(path, file_name="wide.xlsx")

    assert str(refused.value) == TOO_MANY_CELLS.format(
        file="'wide.xlsx'", limit=50_000, where="at row 4 of sheet 'Activities'"
    )
    assert "ROPA_IMPORT_MAX_CELLS" in str(refused.value)
    assert read == {"rows": 4, "cells": 4 * 16_384}


def test_cells_past_the_limit_are_refused_before_openpyxl_reads_them(
    tmp_path, settings, parsed
):
    # Across the file: 600 cells in each of two sheets.
    settings.ROPA_IMPORT_MAX_CELLS = 1_000
    path = tmp_path / "cells.xlsx"
    sheet = number_rows(100, columns="ABCDEF")
    path.write_bytes(write_workbook({"Activities": sheet, "Lawful bases": sheet}))

    with pytest.raises(ImportFileError) as refused:
        read_workbook(path, file_name="cells.xlsx")

    assert str(refused.value) == TOO_MANY_CELLS.format(
        file="'cells.xlsx'", limit=1_000, where="in sheet 'Lawful bases'"
    )
    assert parsed == {"rows": 0, "sizes": 0, "texts": 0}


def test_a_table_of_shared_texts_past_the_limit_is_refused_before_it_is_read(
    tmp_path, settings, parsed
):
    settings.ROPA_IMPORT_MAX_CELLS = 1_000
    path = tmp_path / "texts.xlsx"
    path.write_bytes(
        write_workbook(
            {"Activities": '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'},
            shared_texts="<si><t>x</t></si>" * 1_001,
        )
    )

    with pytest.raises(ImportFileError) as refused:
        read_workbook(path, file_name="texts.xlsx")

    assert str(refused.value) == TOO_MANY_TEXTS.format(file="'texts.xlsx'", limit=1_000)
    assert parsed["texts"] == 0


def test_a_sheet_declaring_the_largest_size_is_read_as_the_cells_it_has(tmp_path, read):
    path = tmp_path / "declared.xlsx"
    path.write_bytes(
        write_workbook({"Activities": number_rows(3)}, dimension="A1:XFD1048576")
    )

    tables = read_workbook(path, file_name=path.name)

    assert tables["Activities"].rows == [(1, (1,)), (2, (2,)), (3, (3,))]
    assert read == {"rows": 3, "cells": 3}


# ---------------------------------------------------------------------------
# The import of an admin list
# ---------------------------------------------------------------------------


def preview(client, name, content, fmt):
    page = client.get(reverse(LIST_IMPORT))
    assert page.status_code == 200
    return client.post(
        reverse(LIST_IMPORT),
        {
            "format": fmt,
            "resource": "0",
            "import_file": SimpleUploadedFile(name, content),
        },
    )


@pytest.fixture
def rows_imported(monkeypatch):
    """How many rows the list's resource read against the register."""
    count = [0]
    import_row = resources.RegisterResource.import_row

    def counted(self, *args, **kwargs):
        count[0] += 1
        return import_row(self, *args, **kwargs)

    monkeypatch.setattr(resources.RegisterResource, "import_row", counted)
    return count


CSV, XLSX = "0", "1"


def xlsx_categories(count):
    return write_workbook(
        {
            "Categories": heading_row("name", "description", "vulnerable", "is_sample")
            + "".join(
                f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>Group {n}</t></is>'
                f'</c><c r="C{n}" t="inlineStr"><is><t>no</t></is></c>'
                f'<c r="D{n}" t="inlineStr"><is><t>no</t></is></c></row>'
                for n in range(2, count + 2)
            )
        }
    )


@pytest.mark.parametrize(
    ("fmt", "name", "content", "where"),
    [
        (
            CSV,
            "groups.csv",
            csv_file([f"Group {n}", "", "no", "no"] for n in range(2_000)),
            # Counted as it is read, where the file's name is not known.
            "The file",
        ),
        (XLSX, "groups.xlsx", xlsx_categories(2_000), "Sheet 'Categories'"),
    ],
    ids=["csv", "xlsx"],
)
def test_list_import_refuses_rows_past_the_limit_before_reading_one(
    dpo_client, settings, rows_imported, fmt, name, content, where
):
    settings.ROPA_IMPORT_MAX_ROWS = 1_000

    response = preview(dpo_client, name, content, fmt)

    assert response.status_code == 200
    assert "confirm_form" not in response.context
    [error] = response.context["result"].base_errors
    assert str(error.error) == TOO_MANY_ROWS.format(where=where, limit=1_000)
    assert escape(str(error.error)) in response.content.decode()
    assert rows_imported == [0]
    assert not DataSubjectCategory.objects.filter(name__startswith="Group").exists()


def test_list_import_refuses_a_million_rows_before_openpyxl_reads_one(
    dpo_client, parsed, rows_imported
):
    content = write_workbook(
        {"Categories": heading_row("name") + number_rows(MILLION, first=2)}
    )

    response = preview(dpo_client, "groups.xlsx", content, XLSX)

    [error] = response.context["result"].base_errors
    assert str(error.error) == TOO_MANY_ROWS.format(
        where="Sheet 'Categories'", limit=MAX_ROWS
    )
    assert parsed == {"rows": 0, "sizes": 0, "texts": 0}
    assert rows_imported == [0]


def test_list_import_refuses_cells_past_the_limit(dpo_client, settings):
    settings.ROPA_IMPORT_MAX_CELLS = 1_000
    content = csv_file([f"Group {n}", "", "no", "no"] for n in range(300))

    response = preview(dpo_client, "groups.csv", content, CSV)

    # Four columns: the 251st row (the heading row is the first) passes 1,000.
    [error] = response.context["result"].base_errors
    assert str(error.error) == TOO_MANY_CELLS.format(
        file="The file", limit=1_000, where="at row 251"
    )
    assert not DataSubjectCategory.objects.filter(name__startswith="Group").exists()


def test_list_import_reads_a_workbook_as_the_cells_it_has_not_its_declared_size(
    dpo_client, read
):
    content = write_workbook(
        {
            "Categories": heading_row("name", "description", "vulnerable", "is_sample")
            + '<row r="2"><c r="A2" t="inlineStr"><is><t>Visitors</t></is></c>'
            '<c r="C2" t="inlineStr"><is><t>no</t></is></c>'
            '<c r="D2" t="inlineStr"><is><t>no</t></is></c></row>'
        },
        dimension="A1:XFD1048576",
    )

    response = preview(dpo_client, "groups.xlsx", content, XLSX)

    assert "confirm_form" in response.context
    assert response.context["result"].totals["new"] == 1
    # Not every row padded to 16,384 columns.
    assert read == {"rows": 2, "cells": 8}


def test_list_import_stops_reading_a_csv_file_at_the_first_row_past_the_limit(
    dpo_client, settings, rows_imported, monkeypatch
):
    settings.ROPA_IMPORT_MAX_ROWS = 1_000
    # A million short rows, in the 10 MB a file may have.
    content = b"name\r\n" + b"Visitors\r\n" * MILLION
    assert len(content) < settings.ROPA_IMPORT_MAX_BYTES
    appended = [0]
    append = tablib.Dataset.append

    def counted(self, *args, **kwargs):
        appended[0] += 1
        return append(self, *args, **kwargs)

    monkeypatch.setattr(tablib.Dataset, "append", counted)

    response = preview(dpo_client, "groups.csv", content, CSV)

    [error] = response.context["result"].base_errors
    assert str(error.error) == TOO_MANY_ROWS.format(where="The file", limit=1_000)
    # tablib kept every row of the file before it could be counted.
    assert appended[0] < 1_000
    assert rows_imported == [0]


@pytest.mark.parametrize("fmt", [CSV, XLSX], ids=["csv", "xlsx"])
def test_list_import_refuses_a_file_over_the_size_limit_before_reading_it(
    dpo_client, settings, rows_imported, fmt
):
    settings.ROPA_IMPORT_MAX_BYTES = 1_000
    content = csv_file([f"Group {n}", "", "no", "no"] for n in range(100))
    assert len(content) > 1_000

    response = preview(dpo_client, "groups.csv", content, fmt)

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "import_file": [
            "'groups.csv' is 1.7\xa0KB; the largest file that can be imported "
            "is 1000\xa0bytes."
        ]
    }
    assert rows_imported == [0]
    assert not DataSubjectCategory.objects.filter(name__startswith="Group").exists()
