"""The streaming XLSX writer: what openpyxl reads back is what was written."""

import datetime
import io
import zipfile

import pytest
from lxml import etree
from openpyxl import load_workbook

from ropa import xlsx

TEXTS = [
    "plain",
    "a & b < c > d",
    "line\r\nbreaks\nand\rreturns",
    "  leading and trailing spaces  ",
    "\ttab first",
    "åäö ÅÄÖ — “quotes” 'apostrophes' \"double\" 🙂",
    "=1+1",
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


def test_characters_xml_cannot_hold_are_removed_by_cell_text():
    assert xlsx.cell_text("a\x00b\x01c\x0bd\x1fe\ufffef\uffffg\ttab\nline") == (
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

    for value in (datetime.date(2024, 1, 1), float("nan"), float("inf")):
        with pytest.raises(TypeError, match="cannot hold"):
            sheet.append([value])
    book.discard()
