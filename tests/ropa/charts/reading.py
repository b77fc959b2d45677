"""Reading the pictures back, as a screen reader or a PDF's text layer does."""

import io

from lxml import etree
from pypdf import PdfReader
from reportlab.graphics import renderPDF
from svglib.svglib import svg2rlg

from ropa.charts.svg import SVG_NS

NS = {"svg": SVG_NS}


def parse(svg):
    """The picture's root element; it must be one well-formed ``<svg>``."""
    root = etree.fromstring(svg.encode())
    assert root.tag == f"{{{SVG_NS}}}svg"
    return root


def texts(svg):
    """The text of every ``<text>`` element, in document order."""
    return ["".join(t.itertext()) for t in parse(svg).iterfind(".//svg:text", NS)]


def titles(svg):
    """The text of every ``<title>`` but the picture's own."""
    root = parse(svg)
    return [t.text or "" for t in root.iterfind(".//svg:title", NS)][1:]


def readable(svg):
    """Everything a reader of the picture finds as text: labels and titles."""
    return texts(svg) + titles(svg)


def shows(svg, name):
    """Whether ``name`` is in a label or a title of the picture."""
    return any(name in text for text in readable(svg))


def titled(svg, start):
    """The elements whose ``<title>`` starts with ``start``."""
    return [
        title.getparent()
        for title in parse(svg).iterfind(".//svg:title", NS)
        if (title.text or "").startswith(start)
    ]


def ids(svg):
    return [element.get("id") for element in parse(svg).iter() if element.get("id")]


def pdf_text(svg):
    """The text of a one-page PDF on which svglib drew the picture."""
    drawing = svg2rlg(io.BytesIO(svg.encode()))
    assert drawing is not None
    out = io.BytesIO()
    renderPDF.drawToFile(drawing, out)
    reader = PdfReader(io.BytesIO(out.getvalue()))
    assert len(reader.pages) == 1
    return reader.pages[0].extract_text()


def assert_inline_safe(svg):
    """Nothing the site's CSP refuses: no style, no script, no handler."""
    root = parse(svg)
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        assert etree.QName(element).localname not in ("style", "script")
        assert "style" not in element.attrib
        assert not [name for name in element.attrib if name.startswith("on")]
        for value in element.attrib.values():
            assert "javascript:" not in value
