"""
The register as a PDF, read back as a reader's tools read it (pypdf's text
extraction, outline and metadata): every activity and every heading of
Art. 30 in its place, names in any Latin script as written, long texts
whole, pages numbered "Page X of Y".
"""

import datetime
import io
import re

import pytest
from pypdf import PdfReader
from reportlab.graphics.shapes import String

from ropa.charts.flows import flow_from_activity, flow_svg
from ropa.enums import ActivityStatus
from ropa.exchange.document import (
    CONTROLLER_ELEMENTS,
    FINGERPRINT,
)
from ropa.exchange.export import PDF, export_register
from ropa.exchange.pdf import BOLD, FONT, drawing_of, register_fonts
from tests.factories import (
    DataProtectionOfficerFactory,
    DataSubjectCategoryFactory,
    GroupCompanyFactory,
    ProcessingActivityFactory,
    RecipientFactory,
)
from tests.ropa.exchange.test_snapshot import moment, on

pytestmark = pytest.mark.django_db

ELEMENT_HEADINGS = [heading for _, heading in CONTROLLER_ELEMENTS]
PAGE_FURNITURE = re.compile(r"\s*(Page \d+ of \d+|SHA-256 [0-9a-f]{16}\u2026)\s*")


def export_pdf(**options):
    out = io.BytesIO()
    export_register(fmt=PDF, out=out, **options)
    return out.getvalue()


def flat(text):
    """Text with each run of whitespace (line breaks too) as one space."""
    return " ".join(text.split())


class Pdf:
    """A PDF as its reader sees it: pages' text, outline, metadata."""

    def __init__(self, data):
        self.data = data
        self.reader = PdfReader(io.BytesIO(data))
        self.pages = [page.extract_text() for page in self.reader.pages]
        subject = self.reader.metadata.subject
        # Each page's text without its header and footer, which stand between
        # the parts of a paragraph split across pages.
        self.bodies = [
            "\n".join(
                line
                for line in text.splitlines()
                if line.strip() != subject and not PAGE_FURNITURE.fullmatch(line)
            )
            for text in self.pages
        ]

    @property
    def text(self):
        return flat(" ".join(self.bodies))

    def outline(self):
        """(title, page number from 1) of each bookmark, in order."""
        entries = []

        def walk(items):
            for item in items:
                if isinstance(item, list):
                    walk(item)
                else:
                    number = self.reader.get_destination_page_number(item) + 1
                    entries.append((item.title, number))

        walk(self.reader.outline)
        return entries

    def from_page(self, number):
        """The text of the pages from ``number`` (from 1) on."""
        return flat(" ".join(self.bodies[number - 1 :]))


def fingerprint_of(pdf):
    return re.search(rf"{re.escape(FINGERPRINT)} ([0-9a-f]{{64}})", pdf.text)[1]


def test_pdf_extracts_nordic_and_french_names_exactly():
    controller = GroupCompanyFactory(
        name="Jørgen Ødegård AS",
        country="NO",
        dpo=DataProtectionOfficerFactory(name="Françoise Lefèvre"),
    )
    ProcessingActivityFactory(
        reference="PA-0001",
        name="Åsa Ström kundregister",
        organisations=[controller],
        data_subject_categories=[DataSubjectCategoryFactory(name="Väinö Äärelä")],
        # Ł and ę are outside the standard PDF fonts' encoding: only the
        # embedded font draws them, in the text and in the picture.
        recipients=[RecipientFactory(name="Łęczyca Øst")],
    )
    pdf = Pdf(export_pdf())
    text = pdf.text
    for name in (
        "Åsa Ström kundregister",
        "Jørgen Ødegård AS",
        "Väinö Äärelä",
        "Françoise Lefèvre",
    ):
        assert name in text
    # In (d) and in the flow picture.
    assert text.count("Łęczyca Øst") >= 2


def _strings(node):
    """The text shapes of a ReportLab drawing."""
    if isinstance(node, String):
        yield node
    for child in getattr(node, "contents", ()):
        yield from _strings(child)


def test_pdf_pictures_keep_their_text_in_the_embedded_font():
    activity = ProcessingActivityFactory(
        reference="PA-0001", recipients=[RecipientFactory(name="Łęczyca Øst")]
    )
    register_fonts()
    svg = flow_svg([flow_from_activity(activity)], title="Flows", id_prefix="t")
    strings = list(_strings(drawing_of(svg)))
    assert "Łęczyca Øst" in [string.text for string in strings]
    # Not a font svglib found on this machine: the one the PDF embeds.
    assert {string.fontName for string in strings} <= {FONT, BOLD}


def test_pdf_escapes_markup_in_the_register_text():
    ProcessingActivityFactory(
        reference="PA-0001",
        name="R&D <b>tools</b> & more",
        purpose="To compare a < b and c > d, <i>not</i> italic; &amp; stays.",
    )
    pdf = Pdf(export_pdf())
    # Where paragraphs print them (the pictures draw text as it is).
    contents = flat(pdf.bodies[1])
    assert "PA-0001 R&D <b>tools</b> & more" in contents
    text = pdf.text
    purposes = text[text.index(ELEMENT_HEADINGS[1]) : text.index(ELEMENT_HEADINGS[2])]
    assert "To compare a < b and c > d, <i>not</i> italic; &amp; stays." in purposes


def test_pdf_prints_a_very_long_purpose_whole_across_pages():
    paragraphs = [
        f"Paragraph {n:03d}: " + " ".join(f"w{n:03d}x{k:02d}" for k in range(55))
        for n in range(50)
    ]
    purpose = "\n\n".join(paragraphs)
    assert len(purpose) > 20_000
    ProcessingActivityFactory(reference="PA-0001", name="Long", purpose=purpose)
    pdf = Pdf(export_pdf())
    body = pdf.text
    positions = [body.index(flat(paragraph)) for paragraph in paragraphs]
    assert positions == sorted(positions)
    pages_with_it = [n for n, text in enumerate(pdf.pages) if "w0" in text]
    assert len(pages_with_it) >= 4


def test_pdf_as_of_shows_the_record_as_it_stood():
    day1, day2 = datetime.date(2024, 3, 1), datetime.date(2024, 6, 3)
    with on(moment(day1)):
        activity = ProcessingActivityFactory(reference="PA-0001", name="Old name")
    with on(moment(day2)):
        activity.name = "New name"
        activity._change_reason = "Renamed"
        activity.save()

    then = Pdf(export_pdf(as_of=day1 + datetime.timedelta(days=10))).text
    assert "PA-0001 Old name" in then
    assert "New name" not in then
    assert "As it stood at the end of 2024-03-11, rebuilt from its history" in then
    now = Pdf(export_pdf()).text
    assert "PA-0001 New name" in now
    assert "Old name" not in now


@pytest.mark.parametrize(
    ("options", "included"),
    [
        ({}, {"Active one"}),
        ({"drafts": True, "retired": True}, {"Active one", "Draft one", "Retired one"}),
    ],
)
def test_pdf_leaves_drafts_and_retired_out_unless_asked(options, included):
    ProcessingActivityFactory(reference="PA-0001", name="Active one")
    ProcessingActivityFactory(
        reference="PA-0002", name="Draft one", status=ActivityStatus.DRAFT
    )
    ProcessingActivityFactory(
        reference="PA-0003", name="Retired one", status=ActivityStatus.RETIRED
    )
    text = Pdf(export_pdf(**options)).text
    shown = {
        name for name in ("Active one", "Draft one", "Retired one") if name in text
    }
    assert shown == included


def test_pdf_fingerprint_holds_for_the_same_data_and_changes_after_an_edit():
    activity = ProcessingActivityFactory(reference="PA-0001", name="To manage orders")
    first = fingerprint_of(Pdf(export_pdf()))
    assert fingerprint_of(Pdf(export_pdf())) == first
    activity.purpose = "To deliver what the customer ordered."
    activity._change_reason = "Clearer purpose"
    activity.save()
    assert fingerprint_of(Pdf(export_pdf())) != first
