"""
The sample register's PDF, built once for the module, read back: its 26
activities in the seed's order with every element of Art. 30, its outline
and contents, its page numbers, its metadata and its fonts.
"""

import re

import pypdfium2
import pytest

from ropa.exchange.document import CONTROLLER_PART, TITLE
from ropa.exchange.document_annexes import ANNEXES, ORGANISATIONS
from ropa.exchange.pdf import CONTENTS, CREATOR
from ropa.sample.data import ACTIVITIES, reference_for
from tests.ropa.exchange.test_pdf_document import (
    ELEMENT_HEADINGS,
    Pdf,
    export_pdf,
    flat,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def sample_pdf(_sample_register_once, django_db_blocker):
    """The sample register's PDF, built once for the module."""
    with django_db_blocker.unblock():
        return Pdf(export_pdf())


def seed_headings():
    """The sample's activities as their sections are headed, in the seed's order."""
    return [
        f"{reference_for(position)} {activity.title}"
        for position, activity in enumerate(ACTIVITIES, start=1)
    ]


def test_sample_pdf_holds_the_seeds_activities_in_order_with_every_art30_element(
    sample_pdf,
):
    # The headings name their letters, in the order of the Article.
    assert [heading[: len("Art. 30(1)(a)")] for heading in ELEMENT_HEADINGS] == [
        f"Art. 30(1)({letter})" for letter in "abcdefg"
    ]
    outline = dict(sample_pdf.outline())
    body = sample_pdf.from_page(outline[CONTROLLER_PART])
    sections = seed_headings()
    assert len(sections) == 26
    starts = [body.index(heading) for heading in sections]
    assert starts == sorted(starts)
    ends = [*starts[1:], body.index(ANNEXES, starts[-1])]
    for heading, start, end in zip(sections, starts, ends, strict=True):
        section = body[start:end]
        positions = [section.find(element) for element in ELEMENT_HEADINGS]
        assert -1 not in positions, heading
        assert positions == sorted(positions), heading
        # Each element says something: its heading is never the last word.
        assert not section.endswith(ELEMENT_HEADINGS[-1])
    assert "Art. 30 gap" not in body


def test_sample_pdf_outline_and_contents_give_each_activity_its_page(sample_pdf):
    outline = sample_pdf.outline()
    titles = [title for title, _ in outline]
    assert titles[:3] == [CONTENTS, ORGANISATIONS, CONTROLLER_PART]
    assert titles[3:29] == seed_headings()
    assert titles[29] == ANNEXES
    contents = sample_pdf.from_page(dict(outline)[CONTENTS])
    for title, page in outline[1:]:
        # The bookmark's page starts with the heading (after the page header)…
        assert title in flat(sample_pdf.pages[page - 1])
        # … and the contents give that page's number after the title.
        assert re.search(rf"{re.escape(title)} {page}\b", contents), title


def test_sample_pdf_numbers_every_page_page_x_of_y(sample_pdf):
    total = len(sample_pdf.pages)
    assert total > 30
    assert f"Page 1 of {total}" in sample_pdf.pages[0]
    assert f"Page {total} of {total}" in sample_pdf.pages[-1]
    for number, text in enumerate(sample_pdf.pages, start=1):
        assert f"Page {number} of {total}" in text


def test_sample_pdf_draws_the_social_networks_as_recipients_of_marketing(sample_pdf):
    marketing = "PA-0008 To communicate offers and marketing via various channels"
    picture = f"Where the data goes: {marketing}"
    outline = dict(sample_pdf.outline())
    pages = sample_pdf.from_page(outline[marketing])
    # The picture stands between its caption and the first element.
    drawn = pages[pages.index(picture) : pages.index(ELEMENT_HEADINGS[0])]
    assert "Recipients" in drawn
    assert "Social networking platforms" in drawn


def test_sample_pdf_says_what_it_is(sample_pdf):
    metadata = sample_pdf.reader.metadata
    assert metadata.title == f"{TITLE}: All controllers"
    assert metadata.author == "All controllers"
    assert metadata.subject.startswith(f"{TITLE}: All controllers. As it stands, on ")
    assert metadata.creator == CREATOR
    cover = flat(sample_pdf.pages[0])
    assert "Activities 26: 26 controller records (Art. 30(1))" in cover
    assert "Statuses included Active only (draft and retired records left out)" in cover


def test_sample_pdf_embeds_dejavu_sans_subsets(sample_pdf):
    embedded = set()
    for page in sample_pdf.reader.pages[:8]:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            if "/FontDescriptor" in font:
                assert "/FontFile2" in font["/FontDescriptor"].get_object()
                embedded.add(str(font["/BaseFont"]).split("+")[-1])
    assert {"DejaVuSans", "DejaVuSans-Bold", "DejaVuSans-Oblique"} <= embedded


def test_sample_pdf_opens_in_pdfium_with_the_same_pages_and_text(sample_pdf):
    # PDFium is the engine Chrome opens PDFs with: a reader other than pypdf
    # finds the same pages, reads the same words (the embedded fonts map their
    # glyphs back to Unicode) and draws them.
    document = pypdfium2.PdfDocument(sample_pdf.data)
    try:
        assert len(document) == len(sample_pdf.pages)
        page_number = dict(sample_pdf.outline())[seed_headings()[7]]
        page = document[page_number - 1]
        text = page.get_textpage().get_text_range()
        assert seed_headings()[7] in " ".join(text.split())
        assert "Social networking platforms" in " ".join(text.split())
        image = page.render(scale=0.5).to_pil().convert("L")
        # Ink on the page, not a blank sheet: dark pixels of text and lines.
        dark = image.point(lambda value: 255 if value < 128 else 0)
        assert sum(dark.histogram()[255:]) > 1000
    finally:
        document.close()
