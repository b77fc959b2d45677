"""The streaming XLSX writer: what openpyxl reads back is what was written."""

import datetime
import io
import zipfile

import pytest
from lxml import etree
from openpyxl import load_workbook

from ropa.exchange import xlsx

TEXTS = [
    "plain",
    "a & b < c > d",
    "line\r\nbreaks\nand\rreturns",
    "  leading and trailing spaces  ",
    "\ttab first",
    "åäö ÅÄÖ — “quotes” 'apostrophes' \"double\" 🙂",
    "=1+1",
    # Excel's escape of a character, "_xHHHH_", typed as text.
    "_x0041_ as typed",
    "x" * 32767,
]


def written(build):
    out = io.BytesIO()
    book = xlsx.Workbook(out)
    build(book)
    book.close()
    out.seek(0)
    return out


def test_text_and_numbers_read_back_unchanged():
    def build(book):
        sheet = book.sheet("Activities", frozen_rows=1)
        sheet.append(["Text", "Number", "Flag"], style=xlsx.BOLD)
        for n, text in enumerate(TEXTS):
            sheet.append([text, n, n % 2 == 0])
        sheet.append([None, "", 2**53, 0.5])

    for read_only in (False, True):
        book = load_workbook(written(build), read_only=read_only)
        rows = [_trimmed(row) for row in book["Activities"].iter_rows(values_only=True)]
        assert rows[0] == ("Text", "Number", "Flag")
        assert rows[1:-1] == [(text, n, n % 2 == 0) for n, text in enumerate(TEXTS)]
        assert rows[-1] == (None, None, 2**53, 0.5)


def _trimmed(row):
    while row and row[-1] is None:
        row = row[:-1]
    return row


def test_heading_is_bold_and_frozen():
    def build(book):
        sheet = book.sheet("Activities", frozen_rows=1)
        sheet.append(["Reference"], style=xlsx.BOLD)
        sheet.append(["PA-0001"])
        book.sheet("Notes", frozen_rows=0).append(["free"])

    book = load_workbook(written(build))
    activities, notes = book["Activities"], book["Notes"]
    assert activities["A1"].font.b
    assert not activities["A2"].font.b
    assert activities.freeze_panes == "A2"
    assert notes.freeze_panes is None
    assert book.sheetnames == ["Activities", "Notes"]


def test_characters_xml_cannot_hold_are_removed_by_xml_safe():
    assert xlsx.xml_safe("a\x00b\x01c\x0bd\x1fe\ufffef\uffffg\ttab\nline") == (
        "abcdefg\ttab\nline"
    )


def test_every_part_is_well_formed_xml_and_sheet_names_are_escaped():
    def build(book):
        book.sheet('A & "B" <C>').append(["x"])

    archive = zipfile.ZipFile(written(build))
    for name in archive.namelist():
        etree.fromstring(archive.read(name))
    assert load_workbook(io.BytesIO(_zip_bytes(archive))).sheetnames == ['A & "B" <C>']


def _zip_bytes(archive):
    archive.fp.seek(0)
    return archive.fp.read()


def test_a_discarded_book_writes_nothing():
    out = io.BytesIO()
    book = xlsx.Workbook(out)
    book.sheet("Activities").append(["x"])

    book.discard()

    assert out.getvalue() == b""


def test_a_value_no_cell_can_hold_is_refused():
    book = xlsx.Workbook(io.BytesIO())
    sheet = book.sheet("Activities")

    for value in (float("nan"), float("inf"), object()):
        with pytest.raises(TypeError, match="cannot hold"):
            sheet.append([value])
    with pytest.raises(TypeError, match="no time zone"):
        sheet.append([datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)])
    book.discard()


FORMULA_LIKE = [
    "=1+1",
    "==1+1",
    "+SUM(A1)",
    "-2",
    "@SUM(A1)",
    "\tx",
    "\r=1",
    " =1",
    "\u00a0=1",
    "\u200b=1",
    "\uff1d1",
    "'quoted",
]


def test_formula_like_text_is_a_text_cell_with_the_quote_prefix():
    def build(book):
        sheet = book.sheet("Activities", frozen_rows=1)
        sheet.append(["Text"], style=xlsx.BOLD)
        for text in [*FORMULA_LIKE, "plain", "a=b"]:
            sheet.append([text])

    worksheet = load_workbook(written(build))["Activities"]
    cells = [row[0] for row in worksheet.iter_rows(min_row=2)]
    assert [cell.value for cell in cells] == [*FORMULA_LIKE, "plain", "a=b"]
    assert {cell.data_type for cell in cells} == {"s"}
    assert [cell.quotePrefix for cell in cells] == [True] * len(FORMULA_LIKE) + [
        False,
        False,
    ]


def test_quote_prefix_is_on_the_cells_xf_in_styles():
    def build(book):
        book.sheet("Activities").append(["=1+1", "plain"])

    archive = zipfile.ZipFile(written(build))
    namespaces = {"x": xlsx.NS}
    styles = etree.fromstring(archive.read("xl/styles.xml"))
    xfs = styles.xpath("x:cellXfs/x:xf", namespaces=namespaces)
    cells = etree.fromstring(archive.read("xl/worksheets/sheet1.xml")).xpath(
        "//x:c", namespaces=namespaces
    )
    assert [cell.get("t") for cell in cells] == ["inlineStr", "inlineStr"]
    assert xfs[int(cells[0].get("s"))].get("quotePrefix") == "1"
    assert cells[1].get("s") is None
    assert not archive.read("xl/worksheets/sheet1.xml").count(b"<f")


def test_dates_are_date_cells_shown_as_a_person_reads_them():
    # Naive: a cell holds the time a reader in the project's time zone sees.
    moment = datetime.datetime(2024, 1, 15, 10, 3, 12)  # noqa: DTZ001

    def build(book):
        book.sheet("Activities").append([datetime.date(2024, 1, 15), moment])

    worksheet = load_workbook(written(build))["Activities"]
    day, when = worksheet["A1"], worksheet["B1"]
    assert day.is_date
    assert when.is_date
    assert day.value == datetime.datetime(2024, 1, 15)  # noqa: DTZ001
    assert day.number_format == xlsx.DATE_FORMAT == "yyyy-mm-dd"
    assert when.value == moment
    assert when.number_format == xlsx.DATE_TIME_FORMAT == "yyyy-mm-dd hh:mm"
    # Wide enough not to show "#####".
    assert worksheet.column_dimensions["A"].width == xlsx.DATE_WIDTH
    assert worksheet.column_dimensions["B"].width == xlsx.DATE_TIME_WIDTH


def test_a_hidden_sheet_is_hidden():
    def build(book):
        book.sheet("Activities").append(["x"])
        book.sheet("Codes", hidden=True).append(["y"])

    book = load_workbook(written(build))
    assert [sheet.sheet_state for sheet in book.worksheets] == ["visible", "hidden"]
    assert book["Codes"]["A1"].value == "y"
