"""
SVG from matplotlib that can sit inline in an admin page under the site's CSP.

matplotlib writes its SVG with ``style`` attributes and a ``<style>`` element;
the site's Content Security Policy (``style-src 'self'``) refuses both in a
page. ``figure_svg`` saves the figure with its text as ``<text>`` elements
(``svg.fonttype: none``), then rewrites every declaration as the SVG
presentation attribute of the same name, which CSP does not govern. It also
prefixes every id, so several pictures share one page, gives the picture a
``<title>`` and a ``<desc>`` (its accessible name and description), and drops
matplotlib's metadata and the creation date, so the same figure gives the
same bytes. Text is drawn as typed: a "$" is no formula (``RC``), and a
control character that XML refuses, pasted into a name, is drawn as a space
(``plain_text``).

Figures are made with ``new_figure`` (``matplotlib.figure.Figure``, not
pyplot), safe in a threaded server. The style (``RC``) is set once, when this
module is imported, for every picture of the project: matplotlib reads it
when an artist is made, so a figure made inside ``rc_context`` still draws
text added after the block with the defaults, and ``rc_context`` swaps the
process-wide settings, which two threads drawing at once would undo for each
other.

The figure is drawn by matplotlib's SVG renderer, as ``savefig`` draws it,
except that the size of each string of text is measured once per process
(``_Renderer``): matplotlib measures every label it draws, the measure
(FreeType's layout) costs about as much as the rest of a picture, and the
same names (categories, recipients, headings) recur in every picture of a
register.
"""

import io
import re
import warnings
from contextlib import contextmanager
from functools import lru_cache

import matplotlib
from lxml import etree
from matplotlib.backends.backend_mixed import MixedModeRenderer
from matplotlib.backends.backend_svg import RendererSVG
from matplotlib.figure import Figure
from matplotlib.textpath import TextToPath

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_NS = {"svg": SVG_NS}

# One family, the font matplotlib ships (DejaVu Sans), which the PDF export
# embeds too: the same glyphs in the page and in the document.
FONT_FAMILY = "DejaVu Sans, sans-serif"

RC = {
    "svg.fonttype": "none",
    "svg.hashsalt": "ropa",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    # Names are drawn as typed: "$5 and $10" is no formula, and one that
    # matplotlib could not parse would fail the page.
    "text.parse_math": False,
}
matplotlib.rcParams.update(RC)

# The warning colour (a transfer without a mechanism, a gap), and the rest of
# the palette, shared by the pictures and the dashboard's CSS.
WARNING = "#b3261e"
INK = "#1f2328"
MUTED = "#57606a"
ACCENT = "#2f5f8f"
LIGHT = "#dfe7ef"

_URL_REF = re.compile(r"url\(#([^)]+)\)")
# What XML 1.0 refuses in a document: the C0 control characters but tab, line
# feed and carriage return, and two non-characters.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# SVG's unit is the point: figures are drawn at 72 dots per inch.
DPI = 72
_METADATA = {"Date": None, "Creator": None}
_TEXT_TO_PATH = TextToPath()


@lru_cache(maxsize=8192)
def _text_metrics(text, prop):
    with _glyphs_may_be_missing():
        return _TEXT_TO_PATH.get_text_width_height_descent(text, prop, ismath=False)


@contextmanager
def _glyphs_may_be_missing():
    """
    Quiet matplotlib's warning for a character DejaVu Sans has no glyph for
    (a name in Chinese or Japanese): the SVG keeps the character as text,
    which a browser draws in a font of its own; only its measured width and
    the PDF's drawing of it are a box's.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning
        )
        yield


def plain_text(text):
    """
    ``text`` as an SVG document may hold it: a control character that XML
    refuses (one pasted into a name, which the admin keeps) as a space.
    """
    return _NOT_XML.sub(" ", str(text))


class _Renderer(RendererSVG):
    """
    matplotlib's SVG renderer, measuring each string once per process, and
    drawing each as ``plain_text``.
    """

    def get_text_width_height_descent(self, s, prop, ismath):
        if ismath:
            return super().get_text_width_height_descent(s, prop, ismath)
        # A copy: font properties are mutable, and the copy is the cache's key.
        return _text_metrics(plain_text(s), prop.copy())

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        super().draw_text(gc, x, y, plain_text(s), prop, angle, ismath, mtext)


def new_figure(width, height):
    """A figure ``width`` inches wide and ``height`` high, white, with our fonts."""
    return Figure(figsize=(width, height), dpi=DPI, facecolor="white")


def _draw(figure):
    """The figure as SVG text, as ``savefig(format="svg")`` writes it."""
    figure.set_dpi(DPI)
    width, height = figure.get_size_inches()
    out = io.StringIO()
    renderer = MixedModeRenderer(
        figure,
        width,
        height,
        DPI,
        _Renderer(width * DPI, height * DPI, out, image_dpi=DPI, metadata=_METADATA),
    )
    with _glyphs_may_be_missing():
        figure.draw(renderer)
    renderer.finalize()
    return out.getvalue()


def figure_svg(
    figure,
    *,
    title,
    description="",
    id_prefix,
    css_class="ropa-chart",
    titles=None,
):
    """
    The figure as one ``<svg>`` element (text, no XML declaration).

    ``title`` and ``description`` name and describe it for a screen reader;
    ``id_prefix`` makes its ids unique on the page (letters, digits, ``-``);
    ``titles`` maps an artist's gid to the ``<title>`` its element gets (the
    full text of a label the picture shortens, a tooltip in a browser).
    """
    return clean_svg(
        _draw(figure),
        title=title,
        description=description,
        id_prefix=id_prefix,
        css_class=css_class,
        titles=titles,
    )


def _declarations(text):
    for declaration in text.split(";"):
        name, sep, value = declaration.partition(":")
        if sep and name.strip():
            yield name.strip(), value.strip()


def _set_declarations(element, text):
    for name, value in _declarations(text):
        if name == "font-family":
            value = FONT_FAMILY
        # A declaration wins over an attribute already there, as in CSS.
        element.set(name, value)


def clean_svg(
    data, *, title, description="", id_prefix, css_class="ropa-chart", titles=None
):
    """
    ``data`` (SVG bytes or text) made CSP-safe, titled and with prefixed ids;
    ``titles`` as for ``figure_svg``.
    """
    if isinstance(data, str):
        data = data.encode()
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, remove_comments=True
    )
    root = etree.fromstring(data, parser)
    for metadata in root.findall("svg:metadata", _NS):
        root.remove(metadata)
    # matplotlib's only rule is ``*{stroke-linejoin: round; stroke-linecap:
    # butt}``: inherited properties, so set on the root they reach everything.
    for style in root.iter(f"{{{SVG_NS}}}style"):
        rules = style.text or ""
        for block in re.findall(r"\*\s*\{([^}]*)\}", rules):
            _set_declarations(root, block)
        style.getparent().remove(style)
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if titles and element.get("id") in titles:
            tooltip = etree.Element(f"{{{SVG_NS}}}title")
            tooltip.text = plain_text(titles[element.get("id")])
            element.insert(0, tooltip)
        style = element.attrib.pop("style", None)
        if style:
            _set_declarations(element, style)
        _prefix_ids(element, id_prefix)
    for empty in root.findall("svg:defs", _NS):
        if len(empty) == 0:
            root.remove(empty)
    for old in root.findall("svg:title", _NS) + root.findall("svg:desc", _NS):
        root.remove(old)
    title_element = etree.Element(f"{{{SVG_NS}}}title", id=f"{id_prefix}-title")
    title_element.text = plain_text(title)
    root.insert(0, title_element)
    labelled_by = f"{id_prefix}-title"
    if description:
        desc = etree.Element(f"{{{SVG_NS}}}desc", id=f"{id_prefix}-desc")
        desc.text = plain_text(description)
        root.insert(1, desc)
        root.set("aria-describedby", f"{id_prefix}-desc")
    root.set("aria-labelledby", labelled_by)
    root.set("role", "img" if not root.findall(".//svg:text", _NS) else "group")
    root.set("class", css_class)
    root.set("font-family", FONT_FAMILY)
    # The picture scales to its container; the viewBox keeps its proportions.
    for size in ("width", "height"):
        root.attrib.pop(size, None)
    return etree.tostring(root, encoding="unicode")


def _prefix_ids(element, prefix):
    element_id = element.get("id")
    if element_id:
        element.set("id", f"{prefix}-{element_id}")
    href = element.get(XLINK_HREF) or element.get("href")
    if href and href.startswith("#"):
        name = XLINK_HREF if element.get(XLINK_HREF) else "href"
        element.set(name, f"#{prefix}-{href[1:]}")
    for name, value in element.attrib.items():
        if "url(#" in value:
            value = _URL_REF.sub(lambda m: f"url(#{prefix}-{m.group(1)})", value)
            element.set(name, value)
