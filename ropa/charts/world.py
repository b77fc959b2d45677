"""
The map of transfers: where data leaves the EEA, and on which mechanism.

Countries are shaded by the number of activities that send data there; the
countries of the EEA are grey, the others white. Below the map a table lists
each destination (international organisations too, which the map cannot
show) with its number of activities in all and per mechanism, and the
activities whose transfer there needs a mechanism it does not have (or has
another gap of Art. 30(1)(e)) in the warning colour and in words. Every
country's path has its name as ``<title>``; the shaded ones are labelled on
the map too. Everything is text: the page's screen reader, the PDF's text
layer and the tests read it.

Drawn with the outlines of pygal_maps_world (``ropa.charts.geometry``) as
plain SVG elements with presentation attributes (no CSS, no script), then
cleaned like every picture (``svg.clean_svg``).
"""

import math
from collections import Counter

from django.utils import timezone
from django_countries import countries
from lxml import etree

from ropa.charts.geometry import world
from ropa.charts.svg import INK, MUTED, SVG_NS, WARNING, clean_svg, plain_text
from ropa.enums import TransferMechanism
from ropa.geography import eea_countries

# The mechanisms as the table's columns name them; the key below the table
# gives each in full.
SHORT = {
    TransferMechanism.ADEQUACY.label: "Adequacy",
    TransferMechanism.SCC.label: "SCC",
    TransferMechanism.BCR.label: "BCR",
    TransferMechanism.PUBLIC_AUTHORITY_INSTRUMENT.label: "Public bodies",
    TransferMechanism.CODE_OF_CONDUCT.label: "Code",
    TransferMechanism.CERTIFICATION.label: "Certification",
    TransferMechanism.AD_HOC_CLAUSES.label: "Ad hoc clauses",
    TransferMechanism.DEROGATION.label: "Derogation",
    TransferMechanism.COMPELLING_INTERESTS.label: "Compelling interests",
}
#: The shades of the countries, from one activity to the most.
SHADES = ("#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c")
EEA_FILL = "#d0d5db"
OTHER_FILL = "#f4f5f7"
BORDER = "#ffffff"
#: The legend's words for a country's red outline.
WANTING = "a transfer with a gap, named in the table"
#: The most rows the table lists; the rest are counted in one line.
MAX_ROWS = 25

# Sizes in the map's units (its width is 2475).
TEXT = 36
LABEL = 32
ROW = 50
# An average character's width, in font sizes (DejaVu Sans is wide).
CHAR = 0.6
BOLD_CHAR = 0.68
MARGIN = 30
GAP = 50
NAME_COLUMN = 1400


def _name(code):
    return str(countries.name(code)) or code


def _short(mechanism):
    return SHORT.get(mechanism, mechanism)


class _Tally:
    """Activities per destination: in all, per mechanism, per warning."""

    def __init__(self):
        self.activities = 0
        self.total = Counter()  # (country, name) -> activities
        self.columns = Counter()  # ((country, name), column) -> activities
        self.mechanisms = {}  # short name -> label, in the order met
        self.warnings = {}  # warning -> None, in the order met

    def add(self, flow):
        self.activities += 1
        destinations, cells = set(), set()
        for transfer in flow.transfers:
            if not transfer.third_country:
                continue
            destination = (transfer.country, transfer.country_name)
            destinations.add(destination)
            if transfer.mechanism:
                self.mechanisms.setdefault(
                    _short(transfer.mechanism), transfer.mechanism
                )
                cells.add((destination, _short(transfer.mechanism)))
            if transfer.warning:
                self.warnings.setdefault(transfer.warning, None)
                cells.add((destination, transfer.warning))
        self.total.update(destinations)
        self.columns.update(cells)

    def warned(self, destination):
        return any(self.columns[(destination, warning)] for warning in self.warnings)


def _tally(flows):
    if hasattr(flows, "transfers"):
        flows = (flows,)
    tally = _Tally()
    for flow in flows:
        tally.add(flow)
    return tally


def _bins(most):
    """The lower bounds of the shades' ranges of counts, one to ``most``."""
    if most <= len(SHADES):
        return list(range(1, most + 1))
    # Geometric steps: a few countries get most of the data, most get little.
    steps = len(SHADES)
    return sorted({math.floor(most ** (i / steps)) for i in range(steps)})


def _shade(count, bounds):
    index = max(i for i, bound in enumerate(bounds) if count >= bound)
    # Spread over the shades, the darkest for the most.
    if len(bounds) == 1:
        return SHADES[-1]
    return SHADES[round(index * (len(SHADES) - 1) / (len(bounds) - 1))]


def _range(bounds, index, most):
    low = bounds[index]
    high = bounds[index + 1] - 1 if index + 1 < len(bounds) else most
    return str(low) if low == high else f"{low}\u2013{high}"


def _element(parent, tag, text=None, **attributes):
    element = etree.SubElement(
        parent,
        f"{{{SVG_NS}}}{tag}",
        {
            name.replace("_", "-"): plain_text(value)
            for name, value in attributes.items()
        },
    )
    if text is not None:
        element.text = plain_text(text)
    return element


def _text(parent, x, y, text, *, size=TEXT, colour=INK, bold=False, anchor="start"):
    attributes = {"font_size": size, "fill": colour, "text_anchor": anchor}
    if bold:
        attributes["font_weight"] = "bold"
    return _element(parent, "text", text, x=round(x), y=round(y), **attributes)


def _width(text, size, *, bold=False):
    return len(text) * size * (BOLD_CHAR if bold else CHAR)


def _breakdown(tally, destination, columns):
    parts = []
    for column in columns:
        count = tally.columns[(destination, column)]
        if count:
            parts.append(f"{column} {count}")
    return ", ".join(parts)


def _countries(root, tally, bounds, on):
    """Each country's outline, shaded, with its name as ``<title>``."""
    eea = eea_countries(on)
    group = _element(root, "g", id="countries", stroke=BORDER, stroke_width=1)
    by_code = {
        destination[0]: destination for destination in tally.total if destination[0]
    }
    for code, country in sorted(world().countries.items()):
        destination = by_code.get(code)
        fill = EEA_FILL if code in eea else OTHER_FILL
        name = _name(code)
        title = f"{name} (EEA)" if code in eea else name
        attributes = {}
        if destination is not None:
            count = tally.total[destination]
            fill = _shade(count, bounds)
            columns = [column for part in _columns(tally) for column in part]
            breakdown = _breakdown(tally, destination, columns)
            title = f"{name}: {_activities(count)} ({breakdown})"
            if tally.warned(destination):
                attributes = {"stroke": WARNING, "stroke_width": 5}
        path = _element(group, "path", d=country.path, fill=fill, **attributes)
        _element(path, "title", title)


def _activities(count):
    return f"{count} {'activity' if count == 1 else 'activities'}"


def _labels(root, tally, destinations):
    """The shaded countries' names on the map, moved apart where they meet."""
    group = _element(root, "g", id="country-labels")
    placed = []
    shapes = world().countries
    box = world().box
    for destination in destinations:
        code, name = destination
        if code not in shapes:
            continue
        warned = tally.warned(destination)
        text = f"{name} ({tally.total[destination]})"
        if warned:
            wanting = [w for w in tally.warnings if tally.columns[(destination, w)]]
            text = f"{text}: {', '.join(wanting)}"
        x, y = shapes[code].anchor
        width, height = _width(text, LABEL) + 16, LABEL * 1.3
        # Inside the map, whatever the country's place on it.
        left = min(max(x - width / 2, box[0]), box[2] - width)
        top = y - height / 2
        for _ in range(8):
            if not any(_overlap((left, top, width, height), box) for box in placed):
                break
            top += height
        placed.append((left, top, width, height))
        _element(
            group,
            "rect",
            x=round(left),
            y=round(top),
            width=round(width),
            height=round(height),
            rx=6,
            fill="#ffffff",
            fill_opacity=0.85,
            stroke=WARNING if warned else MUTED,
            stroke_width=2 if warned else 1,
        )
        _text(
            group,
            left + width / 2,
            top + height * 0.75,
            text,
            size=LABEL,
            colour=WARNING if warned else INK,
            bold=warned,
            anchor="middle",
        )


def _overlap(a, b):
    return not (
        a[0] + a[2] <= b[0]
        or b[0] + b[2] <= a[0]
        or a[1] + a[3] <= b[1]
        or b[1] + b[3] <= a[1]
    )


def _legend(root, top, bounds, most, warned, width):
    """The shades' key, the EEA's, and the warning's, in lines ``width`` wide."""
    x = MARGIN
    entries = [
        (_range(bounds, i, most), _shade(bound, bounds), None)
        for i, bound in enumerate(bounds)
    ]
    _text(root, x, top + TEXT, "Activities sending data there:", colour=MUTED)
    x += _width("Activities sending data there:", TEXT) + 20
    entries.append(("EEA", EEA_FILL, None))
    if warned:
        entries.append((WANTING, "#ffffff", WARNING))
    for label, fill, stroke in entries:
        if x + 56 + _width(label, TEXT) > width - MARGIN:
            x, top = MARGIN, top + ROW
        _element(
            root,
            "rect",
            x=round(x),
            y=round(top + 8),
            width=44,
            height=32,
            fill=fill,
            stroke=stroke or MUTED,
            stroke_width=5 if stroke else 1,
        )
        x += 56
        _text(root, x, top + TEXT, label, colour=WARNING if stroke else INK)
        x += _width(label, TEXT) + 40
    return top + ROW


def _cut(text, size, room):
    """``text``, cut with "…" to fit ``room`` units at ``size``."""
    most = int(room / (size * CHAR))
    return text if len(text) <= most else text[: most - 1].rstrip() + "…"


def _columns(tally):
    """The table's columns: the mechanisms in the law's order, then the gaps."""
    order = {short: i for i, short in enumerate(SHORT.values())}
    mechanisms = sorted(tally.mechanisms, key=lambda short: order.get(short, 99))
    return mechanisms, list(tally.warnings)


def _table(root, top, tally, destinations, width):
    """Each destination, its activities in all, per mechanism and per gap."""
    mechanisms, warnings = _columns(tally)
    columns = [*mechanisms, *warnings]
    shown = destinations[:MAX_ROWS]
    labels = [
        name if code else f"{name} (international organisation)" for code, name in shown
    ]
    # Column widths at the full size; all shrink together when too wide.
    first = min(max(_width(label, TEXT) for label in labels) + GAP, NAME_COLUMN)
    cells = [
        max(_width(heading, TEXT, bold=True), _width("0000", TEXT)) + GAP
        for heading in ("Activities", *columns)
    ]
    room = width - 2 * MARGIN
    scale = min(1.0, room / (first + sum(cells)))
    size = TEXT * scale
    group = _element(root, "g", id="transfer-table")
    y = top + ROW
    _text(group, MARGIN, y, "Destination", bold=True, size=size)
    rights = []
    x = MARGIN + first * scale
    for heading, cell in zip(("Activities", *columns), cells, strict=True):
        x += cell * scale
        rights.append(x - GAP * scale)
        _text(
            group,
            rights[-1],
            y,
            heading,
            bold=True,
            size=size,
            colour=WARNING if heading in warnings else INK,
            anchor="end",
        )
    _element(
        group,
        "line",
        x1=MARGIN,
        x2=round(width - MARGIN),
        y1=round(y + 14),
        y2=round(y + 14),
        stroke=MUTED,
        stroke_width=2,
    )
    for destination, label in zip(shown, labels, strict=True):
        y += ROW
        warned = tally.warned(destination)
        _text(
            group,
            MARGIN,
            y,
            _cut(label, size, (first - GAP) * scale),
            size=size,
            colour=WARNING if warned else INK,
        )
        counts = [tally.total[destination]] + [
            tally.columns[(destination, column)] for column in columns
        ]
        for heading, right, count in zip(
            ("Activities", *columns), rights, counts, strict=True
        ):
            warning = heading in warnings and bool(count)
            _text(
                group,
                right,
                y,
                str(count) if count else "\u2013",
                size=size,
                colour=WARNING if warning else (INK if count else MUTED),
                bold=warning,
                anchor="end",
            )
    if len(destinations) > len(shown):
        y += ROW
        _text(
            group,
            MARGIN,
            y,
            f"and {len(destinations) - len(shown)} more destinations, listed in "
            "the register's tables",
            size=size,
            colour=MUTED,
        )
    y += ROW * 0.4
    for short in mechanisms:
        label = tally.mechanisms[short]
        if short != label:
            y += ROW * 0.85
            _text(group, MARGIN, y, f"{short}: {label}", size=size * 0.85, colour=MUTED)
    return y + MARGIN


def transfer_map_svg(flows, *, title, id_prefix, description="", on=None):
    """
    The map of the transfers of ``flows`` (one ``ActivityFlow``, or many,
    which may be a stream) as an inline-safe ``<svg>``: the EEA as of ``on``
    (today by default).
    """
    on = on or timezone.localdate()
    tally = _tally(flows)
    left, top, right, bottom = world().box
    width = right - left + 2 * MARGIN
    root = etree.Element(f"{{{SVG_NS}}}svg", nsmap={None: SVG_NS})
    _element(
        root,
        "rect",
        x=left - MARGIN,
        y=top - MARGIN,
        width=width,
        height=0,
        fill="#ffffff",
    )
    most = max(tally.total.values(), default=0)
    bounds = _bins(most) if most else []
    # The most activities first, then by name; the wanting ones before all.
    destinations = sorted(
        tally.total,
        key=lambda d: (not tally.warned(d), -tally.total[d], d[1].casefold()),
    )
    _countries(root, tally, bounds, on)
    _labels(root, tally, [d for d in destinations if d[0]])
    # Below the map, in coordinates from its left edge.
    below = etree.SubElement(
        root,
        f"{{{SVG_NS}}}g",
        transform=f"translate({left - MARGIN} {bottom + MARGIN})",
    )
    if destinations:
        warned = any(tally.warned(d) for d in destinations)
        y = _legend(below, 0, bounds, most, warned, width)
        y = _table(below, y, tally, destinations, width)
    else:
        y = ROW
        _text(
            below,
            MARGIN,
            y,
            "No transfers to third countries or international organisations.",
            colour=MUTED,
        )
        y += MARGIN
    height = bottom + MARGIN + y - (top - MARGIN)
    background = root[0]
    background.set("height", str(round(height)))
    root.set(
        "viewBox", f"{left - MARGIN} {top - MARGIN} {round(width)} {round(height)}"
    )
    return clean_svg(
        etree.tostring(root),
        title=title,
        description=description or describe(tally, destinations),
        id_prefix=id_prefix,
        css_class="ropa-chart ropa-map",
    )


def describe(tally, destinations):
    """What the map shows, in a sentence, for a screen reader."""
    if not destinations:
        return "No transfers to third countries or international organisations."
    columns = [column for part in _columns(tally) for column in part]
    parts = [
        f"{d[1]}: {_activities(tally.total[d])} ({_breakdown(tally, d, columns)})"
        for d in destinations
    ]
    return (
        "Activities sending data outside the EEA, by destination: "
        + "; ".join(parts)
        + "."
    )
