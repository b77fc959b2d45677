"""
The register as a PDF: the document of ``ropa.exchange.document`` laid out
with ReportLab's platypus, its pictures drawn from the charts' SVG by svglib.

Text is text: every word is drawn in DejaVu Sans (the TrueType font that
matplotlib ships, so no system font is needed), embedded as a subset, so
Swedish, Norwegian, Finnish, French and any Latin text is drawn, searched and
copied as written; the pictures' labels too (svglib keeps SVG text as text).
Long texts are paragraphs, split across pages wherever they fall.

Pages: the cover, the table of contents, then the body, each activity and
annex on a page of its own. Every page ends with "Page X of Y", and the
outline (the PDF's bookmarks) lists the parts, activities and annexes.

Both the page count and the page numbers of the contents are known only once
the last page is laid out. Rather than lay the document out twice or more
(``multiBuild``), they are drawn as PDF form XObjects: each page's footer and
each line of the contents names a form that is defined after the last page,
when the numbers are known (a PDF may use a form before defining it). The
contents therefore take their final size from the start: one pass.

The document is laid out as it is read: its flowables are made from its
blocks one at a time (``_Story``), so that memory holds the document's plain
data, not a flowable for each of its paragraphs.
"""

import contextlib
import functools
import re
from pathlib import Path
from xml.sax.saxutils import escape

import matplotlib
from lxml import etree
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import registerFontFamily, stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
)
from reportlab.platypus.doctemplate import PageBreakIfNotEmpty
from svglib.fonts import register_font
from svglib.svglib import SvgRenderer

from ropa.charts.flows import flow_svg, transfer_map_svg
from ropa.charts.svg import ACCENT, INK, MUTED, WARNING
from ropa.exchange.document import build_document
from ropa.exchange.document_blocks import FLOWS, Field, Gap, Heading, Picture, Text
from ropa.exchange.xlsx import xml_safe

CONTENT_TYPE = "application/pdf"
CREATOR = "RoPA: the GDPR Art. 30 register"
CONTENTS = "Contents"

# DejaVu Sans, as matplotlib ships it, under the names the charts' SVG uses.
FONT, BOLD, ITALIC = "DejaVuSans", "DejaVuSans-Bold", "DejaVuSans-Oblique"
BOLD_ITALIC = "DejaVuSans-BoldOblique"
FONT_FILES = (
    # (ReportLab name, file, bold, italic)
    (FONT, "DejaVuSans.ttf", False, False),
    (BOLD, "DejaVuSans-Bold.ttf", True, False),
    (ITALIC, "DejaVuSans-Oblique.ttf", False, True),
    (BOLD_ITALIC, "DejaVuSans-BoldOblique.ttf", True, True),
)
SVG_FAMILY = "DejaVu Sans"
# The words of SVG's font-weight and font-style svglib matches exactly:
# matplotlib writes bold as the weight 700.
SVG_WEIGHTS = {False: ("normal", "400"), True: ("bold", "700")}
SVG_STYLES = {False: ("normal",), True: ("italic", "oblique")}

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
FRAME_WIDTH = PAGE_WIDTH - 2 * MARGIN
FRAME_HEIGHT = PAGE_HEIGHT - 2 * MARGIN - 8 * mm
FOOTER_SIZE = 8
# The width kept for a page number at the right of a line of the contents.
NUMBER_WIDTH = 14 * mm


@functools.cache
def register_fonts():
    """
    DejaVu Sans in its four faces, for paragraphs and for svglib's pictures,
    under each weight and style the SVG may name: a face svglib cannot match
    it looks for on the machine (fontconfig), or draws in Helvetica.
    """
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    for name, filename, bold, italic in FONT_FILES:
        for weight in SVG_WEIGHTS[bold]:
            for style in SVG_STYLES[italic]:
                # svglib registers the TrueType font with ReportLab as ``name``.
                registered, _ = register_font(
                    SVG_FAMILY, str(folder / filename), weight, style, rlgFontName=name
                )
                if registered is None:
                    raise RuntimeError(f"Cannot load the font {folder / filename}.")
    registerFontFamily(
        FONT, normal=FONT, bold=BOLD, italic=ITALIC, boldItalic=BOLD_ITALIC
    )


def _style(name, **options):
    return ParagraphStyle(
        name,
        **{
            "fontName": FONT,
            "fontSize": 9.5,
            "leading": 12.5,
            "textColor": INK_COLOUR,
            **options,
        },
    )


# Colours as ReportLab colours: a text colour given as "#rrggbb" would be
# parsed again for every line drawn.
INK_COLOUR, MUTED_COLOUR, ACCENT_COLOUR, WARNING_COLOUR = (
    colors.HexColor(colour) for colour in (INK, MUTED, ACCENT, WARNING)
)
# A field is one paragraph: its label on the first line, out-dented, then the
# value. A label is thus never left alone at the foot of a page, and a field
# costs one paragraph to lay out, not two and a group keeping them together.
LABEL = f'<font name="{BOLD}" size="7.5" color="{MUTED}">{{label}}</font>'
BULLET = "\u2022\u00a0"
STYLES = {
    "title": _style("title", fontName=BOLD, fontSize=22, leading=27, spaceAfter=6),
    "subtitle": _style("subtitle", fontSize=14, leading=18, spaceAfter=18),
    0: _style(
        "part", fontName=BOLD, fontSize=16, leading=20, spaceAfter=10, keepWithNext=1
    ),
    1: _style(
        "section",
        fontName=BOLD,
        fontSize=13,
        leading=16,
        spaceBefore=4,
        spaceAfter=6,
        textColor=ACCENT_COLOUR,
        keepWithNext=1,
    ),
    2: _style(
        "element",
        fontName=BOLD,
        fontSize=10.5,
        leading=13.5,
        spaceBefore=9,
        spaceAfter=3,
        keepWithNext=1,
    ),
    3: _style(
        "entry", fontName=BOLD, fontSize=10, leading=13, spaceBefore=8, keepWithNext=1
    ),
    "field": _style("field", leftIndent=9, firstLineIndent=-9, spaceAfter=3),
    "more": _style("more", leftIndent=9, spaceAfter=3),
    "missing": _style(
        "missing",
        fontName=ITALIC,
        leftIndent=9,
        firstLineIndent=-9,
        spaceAfter=3,
        textColor=MUTED_COLOUR,
    ),
    "text": _style("text", spaceAfter=4),
    "absent": _style("absent", fontName=ITALIC, spaceAfter=4, textColor=MUTED_COLOUR),
    "gap": _style(
        "gap", fontSize=9, leading=12, spaceBefore=2, textColor=WARNING_COLOUR
    ),
    "caption": _style(
        "caption",
        fontName=ITALIC,
        fontSize=8.5,
        leading=11,
        spaceBefore=6,
        spaceAfter=4,
        textColor=MUTED_COLOUR,
        keepWithNext=1,
    ),
    "contents": _style("contents", fontSize=9, leading=12),
}


def markup(text):
    """Text as a paragraph's markup: escaped, its line breaks kept."""
    return escape(xml_safe(text)).replace("\n", "<br/>")


def _parts(text):
    """The paragraphs of ``text``: its parts a blank line apart."""
    return [part.strip("\n") for part in xml_safe(text).split("\n\n") if part.strip()]


def paragraphs(text, style):
    """A Paragraph per paragraph of ``text``."""
    return [Paragraph(markup(part), style) for part in _parts(text)]


class _Heading(Paragraph):
    """A heading; with a key, in the contents and the outline."""

    def __init__(self, heading):
        super().__init__(markup(heading.text), STYLES[heading.level])
        self.heading = heading


class _ContentsLine(Flowable):
    """A line of the contents: the heading, and its page number (a form)."""

    def __init__(self, heading):
        super().__init__()
        self.key = heading.key
        indent = 0 if heading.level == 0 else 12
        self.paragraph = Paragraph(
            markup(heading.text),
            ParagraphStyle(
                f"contents-{heading.level}",
                parent=STYLES["contents"],
                leftIndent=indent,
                fontName=BOLD if heading.level == 0 else FONT,
                spaceBefore=6 if heading.level == 0 else 0,
            ),
        )

    def wrap(self, width, height):
        self.width = width
        _, self.height = self.paragraph.wrap(width - NUMBER_WIDTH, height)
        return width, self.height

    def getSpaceBefore(self):
        return self.paragraph.getSpaceBefore()

    def draw(self):
        self.paragraph.drawOn(self.canv, 0, 0)
        canvas = self.canv
        # The number's form is drawn at the line's last baseline, right-aligned.
        canvas.saveState()
        canvas.translate(self.width, self.height - STYLES["contents"].leading + 3)
        canvas.doForm(_contents_form(self.key))
        canvas.restoreState()
        canvas.linkRect("", self.key, (0, 0, self.width, self.height), relative=1)


def _contents_form(key):
    return f"contents-{key}"


def _page_form(number):
    return f"page-{number}"


SVG = "{http://www.w3.org/2000/svg}"
REFERENCE = re.compile(r"(?:url\(|href=\")#([^)\"]+)")


def drawing_of(svg):
    """The SVG picture as a ReportLab drawing, converted by svglib."""
    root = etree.fromstring(svg.encode())
    _unwrap(root)
    return SvgRenderer("").render(root)


def _unwrap(root):
    """
    Take out of the picture what svglib spends its time on and draws nothing:
    the groups that only carry an id nothing refers to (matplotlib wraps each
    shape in one), whose children take their place, and each text's copy of
    the root's font family. svglib looks each inherited attribute up through
    every ancestor and parses each text's family list: this halves its time.
    """
    referred = set(REFERENCE.findall(etree.tostring(root, encoding="unicode")))
    for group in list(root.iter(f"{SVG}g")):
        parent = group.getparent()
        if set(group.attrib) == {"id"} and group.get("id") not in referred:
            position = parent.index(group)
            parent[position : position + 1] = list(group)
    family = root.get("font-family")
    for text in root.iter(f"{SVG}text"):
        if text.get("font-family") == family:
            del text.attrib["font-family"]


class _Picture(Flowable):
    """An SVG picture as a ReportLab drawing, scaled to fit the frame."""

    def __init__(self, svg):
        super().__init__()
        self.drawing = drawing_of(svg)

    def wrap(self, width, height):
        drawing = self.drawing
        self.scale = min(1, width / drawing.width, FRAME_HEIGHT / drawing.height)
        self.width = drawing.width * self.scale
        self.height = drawing.height * self.scale
        return self.width, self.height

    def draw(self):
        self.canv.saveState()
        self.canv.scale(self.scale, self.scale)
        self.drawing.drawOn(self.canv, 0, 0)
        self.canv.restoreState()


class _Story:
    """
    The flowables of a document, made as the layout asks for them.

    Holds a few flowables ahead of the layout (``LOOKAHEAD``: more than any
    heading and the paragraphs kept with it); the rest are made from the
    blocks when they come. Supports what ``BaseDocTemplate.build`` does with
    its list: look at the first flowables, remove them, put split parts back.
    """

    LOOKAHEAD = 16

    def __init__(self, flowables):
        self.coming = iter(flowables)
        self.buffer = []
        self._fill()

    def _fill(self):
        while len(self.buffer) < self.LOOKAHEAD:
            flowable = next(self.coming, None)
            if flowable is None:
                return
            self.buffer.append(flowable)

    def __len__(self):
        self._fill()
        return len(self.buffer)

    def __getitem__(self, index):
        self._fill()
        return self.buffer[index]

    def __setitem__(self, index, value):
        self.buffer[index] = value

    def __delitem__(self, index):
        del self.buffer[index]

    def insert(self, index, flowable):
        self.buffer.insert(index, flowable)


class _Template(BaseDocTemplate):
    """Pages with the record's header and "Page X of Y"; contents and outline."""

    def __init__(self, out, document):
        super().__init__(
            out,
            pagesize=A4,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN + 8 * mm,
            bottomMargin=MARGIN,
            title=f"{document.title}: {document.organisation}",
            author=document.organisation,
            subject=document.subject,
            creator=CREATOR,
            keywords=["GDPR", "Art. 30", "record of processing activities"],
            lang="en",
        )
        self.document = document
        self.pages_of = {}
        frame = Frame(
            MARGIN, MARGIN, FRAME_WIDTH, FRAME_HEIGHT, id="body", showBoundary=0
        )
        self.addPageTemplates([PageTemplate("page", [frame], onPage=self._page)])

    def _page(self, canvas, doc):
        canvas.saveState()
        canvas.setFont(FONT, FOOTER_SIZE)
        canvas.setFillColor(MUTED_COLOUR)
        top = PAGE_HEIGHT - MARGIN
        if doc.page > 1:
            canvas.drawString(MARGIN, top, _fit(self.document.subject, FRAME_WIDTH))
            canvas.line(MARGIN, top - 4, PAGE_WIDTH - MARGIN, top - 4)
        canvas.drawString(
            MARGIN, MARGIN - 10 * mm, f"SHA-256 {self.document.fingerprint[:16]}…"
        )
        canvas.translate(PAGE_WIDTH - MARGIN, MARGIN - 10 * mm)
        canvas.doForm(_page_form(doc.page))
        canvas.restoreState()

    def afterFlowable(self, flowable):
        if isinstance(flowable, _Heading) and flowable.heading.key:
            heading = flowable.heading
            self.pages_of[heading.key] = self.page
            self.canv.bookmarkPage(heading.key)
            self.canv.addOutlineEntry(
                heading.text, heading.key, level=heading.level, closed=True
            )

    def finish(self, canvas):
        """Define the forms of the page numbers, now that they are known."""
        pages = self.page
        for number in range(1, pages + 1):
            _number_form(canvas, _page_form(number), f"Page {number} of {pages}")
        for heading in self.document.contents():
            _number_form(
                canvas, _contents_form(heading.key), str(self.pages_of[heading.key])
            )


def _number_form(canvas, name, text):
    width = stringWidth(text, FONT, FOOTER_SIZE + 1)
    canvas.beginForm(name, lowerx=-width - 2, lowery=-3, upperx=0, uppery=12)
    canvas.setFont(FONT, FOOTER_SIZE if text.startswith("Page") else 9)
    canvas.setFillColor(INK_COLOUR)
    canvas.drawRightString(0, 0, text)
    canvas.endForm()


class _Canvas(Canvas):
    """A canvas that lets the template define its forms before it is saved."""

    def __init__(self, *args, finish, **kwargs):
        super().__init__(*args, **kwargs)
        self._finish = finish

    def save(self):
        self._finish(self)
        self.showOutline()
        super().save()


def _fit(text, width):
    """``text`` cut with an ellipsis to ``width`` at the footer's size."""
    if stringWidth(text, FONT, FOOTER_SIZE) <= width:
        return text
    while text and stringWidth(text + "…", FONT, FOOTER_SIZE) > width:
        text = text[:-1]
    return text + "…"


def _cover(document):
    yield Spacer(0, 30 * mm)
    yield Paragraph(markup(document.title), STYLES["title"])
    yield Paragraph(markup(document.organisation), STYLES["subtitle"])
    for block in document.cover_blocks():
        yield from _flowables(block, document)
    yield PageBreak()
    yield _Heading(Heading(0, CONTENTS, key="contents"))
    for heading in document.contents():
        yield _ContentsLine(heading)


def _flowables(block, document):
    """The flowables of one block."""
    if isinstance(block, Field):
        yield from _field(block)
    elif isinstance(block, Text):
        yield from paragraphs(block.text, STYLES["absent" if block.missing else "text"])
    elif isinstance(block, Gap):
        yield Paragraph(markup(block.text), STYLES["gap"])
    elif isinstance(block, Heading):
        yield _Heading(block)
    elif isinstance(block, Picture):
        yield Paragraph(markup(block.title), STYLES["caption"])
        yield _Picture(_svg(block, document))


def _field(field):
    """A field's paragraphs: the label and the value's first paragraph, the rest."""
    label = LABEL.format(label=markup(field.label))
    if field.listed:
        items = "<br/>".join(BULLET + markup(item) for item in field.value.split("\n"))
        yield Paragraph(f"{label}<br/>{items}", STYLES["field"])
        return
    first, *rest = _parts(field.value)
    style = STYLES["missing" if field.missing else "field"]
    yield Paragraph(f"{label}<br/>{markup(first)}", style)
    for part in rest:
        yield Paragraph(markup(part), STYLES["more"])


def _svg(picture, document):
    if picture.kind == FLOWS:
        return flow_svg(picture.flows, title=picture.title, id_prefix=picture.key)
    return transfer_map_svg(
        picture.flows, title=picture.title, id_prefix=picture.key, on=document.as_of
    )


def _story(document):
    yield from _cover(document)
    previous = None
    for block in document.blocks:
        # Parts, activities and annexes start a page; an activity just after
        # its part's heading shares its page.
        if isinstance(block, Heading) and block.level <= 1:
            after_part = isinstance(previous, Heading) and previous.level == 0
            if not after_part:
                yield PageBreakIfNotEmpty()
        yield from _flowables(block, document)
        previous = block


@contextlib.contextmanager
def _settings(**values):
    """ReportLab's global settings ``values`` while the document is made."""
    previous = {name: getattr(rl_config, name) for name in values}
    for name, value in values.items():
        setattr(rl_config, name, value)
    try:
        yield
    finally:
        for name, value in previous.items():
            setattr(rl_config, name, value)


def render_pdf(document, out):
    """Lay ``document`` out as a PDF written to the binary file ``out``; its pages."""
    register_fonts()
    template = _Template(out, document)
    # Streams compressed only, not also ASCII85-encoded: a fifth smaller and
    # faster to write. And svglib's drawings unchecked: ReportLab checks each
    # attribute set on a shape, some 5% of the time of a large document.
    with _settings(useA85=0, shapeChecking=0):
        template.build(
            _Story(_story(document)),
            canvasmaker=functools.partial(_Canvas, finish=template.finish),
        )
    return template.page


def write_pdf(out, register, summary, exported_at, bar, *, statuses):
    """The register as a PDF (``ropa.exchange.export.FORMATS``)."""
    document = build_document(
        register, exported_at=exported_at, statuses=statuses, progress=bar
    )
    pages = render_pdf(document, out)
    summary.rows = {
        "controller records": document.controller_records,
        "processor records": document.processor_records,
        "pages": pages,
    }
