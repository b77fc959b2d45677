"""
The sample register as a Word document, opened with python-docx as Word
would read it: the same headings as the PDF, the fields as tables, the
contents and page numbers as Word fields, the pictures as tables.
"""

import io

import pytest
from django.utils import timezone
from docx import Document as WordDocument
from docx.oxml.ns import qn

from ropa.exchange.document import CONTROLLER_ELEMENTS, build_document
from ropa.exchange.document_blocks import Heading
from ropa.exchange.export import DOCX, export_register
from ropa.exchange.snapshot import Register
from ropa.exchange.word import CONTENTS
from ropa.sample.data import ACTIVITIES, reference_for

pytestmark = pytest.mark.django_db

HEADING_STYLES = {f"Heading {level + 1}": level for level in range(4)}


@pytest.fixture(scope="module")
def sample(_sample_register_once, django_db_blocker):
    """The sample register's document (as data) and its Word file, built once."""
    with django_db_blocker.unblock():
        out = io.BytesIO()
        export_register(fmt=DOCX, out=out)
        document = build_document(Register(), exported_at=timezone.now())
    out.seek(0)
    return document, WordDocument(out)


def headings(word):
    return [
        Heading(HEADING_STYLES[paragraph.style.name], paragraph.text)
        for paragraph in word.paragraphs
        if paragraph.style.name in HEADING_STYLES
    ]


def test_word_holds_the_documents_headings_in_order(sample):
    document, word = sample
    expected = [
        Heading(block.level, block.text)
        for block in document.blocks
        if isinstance(block, Heading)
    ]
    assert headings(word) == expected


def test_word_holds_the_seeds_activities_in_order_with_every_art30_element(sample):
    _, word = sample
    found = headings(word)
    activities = [heading.text for heading in found if heading.level == 1][:26]
    assert activities == [
        f"{reference_for(position)} {activity.title}"
        for position, activity in enumerate(ACTIVITIES, start=1)
    ]
    elements = [Heading(2, heading) for _, heading in CONTROLLER_ELEMENTS]
    for activity in activities:
        start = found.index(Heading(1, activity)) + 1
        assert found[start : start + len(elements)] == elements, activity


def _field_codes(element):
    return [code.text.strip() for code in element.iter(qn("w:instrText"))]


def test_word_has_a_contents_field_and_page_x_of_y_fields(sample):
    _, word = sample
    assert CONTENTS in [paragraph.text for paragraph in word.paragraphs]
    assert 'TOC \\o "1-2" \\h \\z \\u' in _field_codes(word.element.body)
    footer = word.sections[0].footer.paragraphs[0]
    assert _field_codes(footer._p) == ["PAGE", "NUMPAGES"]
    assert "Page" in footer.text
    assert " of " in footer.text
    update = word.settings.element.find(qn("w:updateFields"))
    assert update.get(qn("w:val")) == "true"


def test_word_prints_fields_as_tables_and_the_flows_as_a_table(sample):
    _, word = sample
    cells = [
        [cell.text for cell in row.cells] for table in word.tables for row in table.rows
    ]
    assert ["Purpose", ACTIVITIES[0].description] in cells
    marketing = next(
        row
        for row in cells
        if row[0] == "Activity"
        and row[1] == "PA-0008 To communicate offers and marketing via various channels"
    )
    recipients = cells[cells.index(marketing) + 1]
    assert recipients[0] == "Recipients"
    assert "Social networking platforms" in recipients[1].split("\n")


def test_word_says_what_it_is(sample):
    document, word = sample
    properties = word.core_properties
    assert properties.title == f"{document.title}: {document.organisation}"
    assert properties.comments == f"Fingerprint (SHA-256): {document.fingerprint}"
    # The same data, the same fingerprint, whenever exported.
    texts = [cell.text for table in word.tables for cell in table.columns[-1].cells]
    assert document.fingerprint in texts
