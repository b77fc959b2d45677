"""
The picture of where data goes: data subjects → activity → recipients →
countries outside the EEA, four columns left to right, joined by curves.

One activity is drawn as it is recorded. Many are drawn together, summed:
up to ``DETAILED_UP_TO`` each as its own node, more grouped by business
function, every node with the number of activities it stands for and every
curve as thick as the activities that take it. A column shows at most
``MAX_NODES`` nodes, the rest counted in an "and N more" node (the full
lists are the register's tables), so the picture stays readable, and its cost
bounded, for a register of any size: the flows are read once, as a stream.

A destination node is a country (or an international organisation) with the
mechanism of the transfers to it; one that needs a mechanism and has none, or
whose transfer the register's rules find wanting, is drawn in the warning
colour, dashed, and says what is wrong in words ("no mechanism"), so that
colour is never the only sign. Such nodes come first when a column is cut.

Drawn with matplotlib artists placed in inches on a bare figure (no axes:
they cost time and draw nothing here), in ``svg.py``'s style.
"""

import textwrap
from collections import Counter
from dataclasses import dataclass, field
from itertools import islice

from matplotlib.collections import PathCollection
from matplotlib.patches import FancyBboxPatch
from matplotlib.path import Path

from ropa.charts.svg import ACCENT, INK, LIGHT, MUTED, WARNING, figure_svg, new_figure

#: Up to this many activities, each is its own node; more are grouped.
DETAILED_UP_TO = 6
#: The most nodes a column shows; the rest are counted in one node.
MAX_NODES = 12

SUBJECTS, ACTIVITIES, RECIPIENTS, DESTINATIONS = range(4)
HEADINGS = (
    "Data subjects",
    "Activity",
    "Recipients",
    "Outside the EEA",
)
GROUPED_HEADING = "Activities by business function"
NO_FUNCTION = "(no business function)"
NO_RECIPIENT = "Recipient not named"
NONE_RECORDED = "none recorded"
NO_TRANSFER = "no transfer outside the EEA"

# Sizes in inches and points.
COLUMN_WIDTH = 2.15
COLUMN_GAP = 0.6
MARGIN = 0.15
PAD = 0.06
NODE_GAP = 0.09
HEADING_HEIGHT = 0.32
NAME_SIZE = 9
DETAIL_SIZE = 7.5
# DejaVu Sans is wide: an average character of mixed text is a little over
# half its size. Labels wrap at this estimate, with a margin.
CHAR_WIDTH = 0.55
MAX_NAME_LINES = 3
MAX_PURPOSE_LINES = 6
WIDTH = 2 * MARGIN + 4 * COLUMN_WIDTH + 3 * COLUMN_GAP
WARNING_FILL = "#fbe9e7"


def _line_height(size):
    return size * 1.3 / 72


def _wrap(text, size, lines):
    width = int((COLUMN_WIDTH - 2 * PAD) * 72 / (size * CHAR_WIDTH))
    return textwrap.wrap(text, width=width, max_lines=lines, placeholder=" …") or [""]


@dataclass
class _Node:
    """One box of the picture and its lines of text."""

    key: object
    name: str
    details: tuple = ()  # (text, colour) lines under the name
    title: str = ""
    warning: bool = False
    muted: bool = False
    name_lines: int = MAX_NAME_LINES
    detail_lines: int = 2
    lines: list = field(default_factory=list)  # (text, size, colour, bold)
    top: float = 0.0
    height: float = 0.0

    def layout(self):
        colour = MUTED if self.muted else INK
        self.lines = [
            (line, NAME_SIZE, colour, False)
            for line in _wrap(self.name, NAME_SIZE, self.name_lines)
        ]
        for text, detail_colour in self.details:
            self.lines += [
                (line, DETAIL_SIZE, detail_colour, detail_colour == WARNING)
                for line in _wrap(text, DETAIL_SIZE, self.detail_lines)
            ]
        self.height = 2 * PAD + sum(_line_height(size) for _, size, _, _ in self.lines)


def _plural(count, word="activity", words="activities"):
    return f"{count} {word if count == 1 else words}"


class _Tally:
    """The flows summed: nodes by column with their activities, and edges."""

    def __init__(self, grouped):
        self.grouped = grouped
        self.activities = 0
        self.names = {}  # activity node key -> (name, purpose) when detailed
        self.counts = [Counter() for _ in range(4)]
        self.edges = Counter()  # ((column, key), (column, key)) -> activities
        self.warnings = {}  # destination key -> its warning

    def add(self, flow):
        self.activities += 1
        if self.grouped:
            middle = flow.business_function or NO_FUNCTION
        else:
            middle = flow.reference
            self.names[middle] = (f"{flow.reference} {flow.name}", flow.purpose)
        subjects = set(flow.subjects)
        recipients = set(flow.recipients)
        sent = set()  # (recipient, destination)
        for transfer in flow.transfers:
            destination = (transfer.country_name, transfer.mechanism, transfer.warning)
            if transfer.warning:
                self.warnings[destination] = transfer.warning
            sent.add((transfer.recipient or NO_RECIPIENT, destination))
        recipients.update(recipient for recipient, _ in sent)
        self.counts[ACTIVITIES][middle] += 1
        self.counts[SUBJECTS].update(subjects)
        self.counts[RECIPIENTS].update(recipients)
        self.counts[DESTINATIONS].update({destination for _, destination in sent})
        edges = {((SUBJECTS, subject), (ACTIVITIES, middle)) for subject in subjects}
        edges.update(
            ((ACTIVITIES, middle), (RECIPIENTS, recipient)) for recipient in recipients
        )
        edges.update(
            ((RECIPIENTS, recipient), (DESTINATIONS, destination))
            for recipient, destination in sent
        )
        # Each edge counts the activities that take it, once each.
        self.edges.update(edges)


def _tally(flows):
    """The flows summed, reading them once; ``flows`` may be a stream."""
    if hasattr(flows, "transfers"):
        flows = (flows,)
    flows = iter(flows)
    first = list(islice(flows, DETAILED_UP_TO + 1))
    tally = _Tally(grouped=len(first) > DETAILED_UP_TO)
    for flow in first:
        tally.add(flow)
    for flow in flows:
        tally.add(flow)
    return tally


def _chosen(counter, column, tally):
    """The keys a column shows, in order, and how many it leaves out."""
    keys = sorted(
        counter,
        key=lambda key: (
            column == DESTINATIONS and key not in tally.warnings,
            -counter[key],
            _sort_name(column, key).casefold(),
        ),
    )
    if len(keys) > MAX_NODES:
        return keys[: MAX_NODES - 1], len(keys) - (MAX_NODES - 1)
    return keys, 0


def _sort_name(column, key):
    if column == DESTINATIONS:
        return f"{key[0]} {key[1]}"
    return str(key)


def _node(column, key, tally):
    count = tally.counts[column][key]
    many = tally.activities > 1
    counted = ((_plural(count), MUTED),) if many else ()
    if column == ACTIVITIES and not tally.grouped:
        name, purpose = tally.names[key]
        details = counted
        if not many and purpose:
            details = ((purpose, MUTED),)
        node = _Node(key, name, details, title=f"{name}: {purpose}")
        node.detail_lines = MAX_PURPOSE_LINES
        return node
    if column == DESTINATIONS:
        country, mechanism, warning = key
        details = []
        if mechanism:
            details.append((mechanism, MUTED))
        if warning:
            details.append((warning, WARNING))
        details += counted
        title = " — ".join(part for part in (country, mechanism, warning) if part)
        return _Node(key, country, tuple(details), title=title, warning=bool(warning))
    if column == RECIPIENTS and key == NO_RECIPIENT:
        return _Node(key, NO_RECIPIENT, counted, title=NO_RECIPIENT, muted=True)
    return _Node(key, str(key), counted, title=str(key))


def _columns(tally):
    columns = []
    for column in range(4):
        counter = tally.counts[column]
        keys, left_out = _chosen(counter, column, tally)
        nodes = [_node(column, key, tally) for key in keys]
        if left_out:
            nodes.append(
                _Node(
                    ("more", column),
                    f"and {left_out} more",
                    (("listed in the register's tables", MUTED),),
                    title=f"and {left_out} more",
                    muted=True,
                )
            )
        if not nodes and tally.activities:
            empty = NO_TRANSFER if column == DESTINATIONS else NONE_RECORDED
            nodes.append(_Node(("none", column), empty, title=empty, muted=True))
        columns.append(nodes)
    _order_recipients(columns, tally)
    return columns


def _order_recipients(columns, tally):
    """
    The recipients that send data abroad first, in the order of their first
    destination, so that their curves cross less; the others as chosen.
    """
    place = {node.key: i for i, node in enumerate(columns[DESTINATIONS])}
    first = {}
    for (source, target), _ in tally.edges.items():
        if source[0] == RECIPIENTS and target[1] in place:
            first[source[1]] = min(first.get(source[1], len(place)), place[target[1]])
    # A stable sort: the nodes without destinations (and "and N more") keep
    # their order, after the others.
    columns[RECIPIENTS].sort(key=lambda node: first.get(node.key, len(place)))


def _place(columns):
    """Each node's top and height; the height of the tallest column."""
    heights = []
    for nodes in columns:
        for node in nodes:
            node.layout()
        heights.append(
            sum(node.height for node in nodes) + NODE_GAP * max(len(nodes) - 1, 0)
        )
    tallest = max(heights, default=0.0)
    for nodes, height in zip(columns, heights, strict=True):
        top = HEADING_HEIGHT + (tallest - height) / 2
        for node in nodes:
            node.top = top
            top += node.height + NODE_GAP
    return tallest


def _left(column):
    return MARGIN + column * (COLUMN_WIDTH + COLUMN_GAP)


def _curve(start, end):
    (x0, y0), (x1, y1) = start, end
    middle = (x0 + x1) / 2
    return Path(
        [(x0, y0), (middle, y0), (middle, y1), (x1, y1)],
        [Path.MOVETO, Path.CURVE4, Path.CURVE4, Path.CURVE4],
    )


def _edges(figure, tally, columns, at):
    """The curves between shown nodes, warnings dashed in the warning colour."""
    shown = {
        (column, node.key): node
        for column, nodes in enumerate(columns)
        for node in nodes
    }
    most = max(tally.edges.values(), default=1)
    plain, warned = ([], []), ([], [])
    for (source, target), count in sorted(tally.edges.items(), key=str):
        if source not in shown or target not in shown:
            continue
        a, b = shown[source], shown[target]
        start = (_left(source[0]) + COLUMN_WIDTH, at(a.top + a.height / 2))
        end = (_left(target[0]), at(b.top + b.height / 2))
        width = 0.5 + 2.5 * count / most if tally.activities > 1 else 1.0
        paths, widths = warned if b.warning else plain
        paths.append(_curve(start, end))
        widths.append(width)
    transform = figure.dpi_scale_trans
    if plain[0]:
        figure.add_artist(
            PathCollection(
                plain[0],
                facecolors="none",
                edgecolors=ACCENT,
                linewidths=plain[1],
                alpha=0.45 if tally.activities <= DETAILED_UP_TO else 0.3,
                transform=transform,
                zorder=1,
            )
        )
    if warned[0]:
        figure.add_artist(
            PathCollection(
                warned[0],
                facecolors="none",
                edgecolors=WARNING,
                linewidths=[max(width, 1.6) for width in warned[1]],
                linestyles=(0, (4, 2)),
                transform=transform,
                zorder=1,
                gid="warning-edges",
            )
        )


def _nodes(figure, columns, at, titles):
    transform = figure.dpi_scale_trans
    for column, nodes in enumerate(columns):
        left = _left(column)
        for index, node in enumerate(nodes):
            gid = f"node-{column}-{index}"
            titles[gid] = node.title or node.name
            face, edge, style = "white", ACCENT, "-"
            if node.warning:
                face, edge = WARNING_FILL, WARNING
                style = "--"
            elif node.muted:
                edge, style = MUTED, ":"
            elif column == ACTIVITIES:
                face = LIGHT
            box = FancyBboxPatch(
                (left, at(node.top + node.height)),
                COLUMN_WIDTH,
                node.height,
                boxstyle="round,pad=0,rounding_size=0.05",
                facecolor=face,
                edgecolor=edge,
                linewidth=1.4 if node.warning else 0.8,
                linestyle=style,
                transform=transform,
                zorder=2,
                gid=gid,
            )
            figure.add_artist(box)
            y = node.top + PAD
            for text, size, colour, bold in node.lines:
                y += _line_height(size)
                figure.text(
                    left + PAD,
                    at(y - 0.28 * size / 72),
                    text,
                    fontsize=size,
                    color=colour,
                    fontweight="bold" if bold else "normal",
                    transform=transform,
                    zorder=3,
                )


def _headings(figure, tally, at):
    for column, heading in enumerate(HEADINGS):
        if column == ACTIVITIES and tally.grouped:
            heading = GROUPED_HEADING
        elif column == ACTIVITIES and tally.activities > 1:
            heading = "Activities"
        figure.text(
            _left(column),
            at(HEADING_HEIGHT - 0.12),
            heading,
            fontsize=NAME_SIZE,
            fontweight="bold",
            color=MUTED,
            transform=figure.dpi_scale_trans,
        )


def _footnotes(tally, columns):
    notes = []
    if tally.warnings:
        notes.append(
            "Dashed, in red: a transfer that needs a mechanism and has none "
            "recorded, or another gap of Art. 30(1)(e), named in its box."
        )
    if any(
        node.key == ("more", column)
        for column, nodes in enumerate(columns)
        for node in nodes
    ):
        notes.append(
            f"Each column shows its {MAX_NODES - 1} largest entries; the register's "
            "tables list all of them."
        )
    return notes


def describe(tally):
    """A sentence or two of what the picture shows, for a screen reader."""
    if not tally.activities:
        return "No activities."
    parts = []
    if tally.grouped:
        functions = len(tally.counts[ACTIVITIES])
        parts.append(
            f"{_plural(tally.activities)} in "
            f"{_plural(functions, 'business function', 'business functions')}."
        )
    else:
        parts.append("; ".join(name for name, _ in tally.names.values()) + ".")
    for column, label in (
        (SUBJECTS, "Data subjects"),
        (RECIPIENTS, "Recipients"),
    ):
        keys, left_out = _chosen(tally.counts[column], column, tally)
        listed = ", ".join(str(key) for key in keys) or NONE_RECORDED
        more = f" and {left_out} more" if left_out else ""
        parts.append(f"{label}: {listed}{more}.")
    keys, left_out = _chosen(tally.counts[DESTINATIONS], DESTINATIONS, tally)
    destinations = [
        f"{country} ({', '.join(part for part in (mechanism, warning) if part)})"
        for country, mechanism, warning in keys
    ]
    more = f" and {left_out} more" if left_out else ""
    parts.append(f"Outside the EEA: {'; '.join(destinations) or NO_TRANSFER}{more}.")
    return " ".join(parts)


def flow_svg(flows, *, title, id_prefix, description=""):
    """
    The picture of ``flows`` (one ``ActivityFlow``, or many, which may be a
    stream) as an inline-safe ``<svg>``; ``description`` defaults to a summary.
    """
    tally = _tally(flows)
    columns = _columns(tally)
    height = _place(columns)
    notes = _footnotes(tally, columns)
    total = HEADING_HEIGHT + height + MARGIN + len(notes) * _line_height(DETAIL_SIZE)
    if not tally.activities:
        total = HEADING_HEIGHT + 0.4
    figure = new_figure(WIDTH, total)

    def at(y):
        """Inches from the top, as the figure's inches from the bottom."""
        return total - y

    titles = {}
    if tally.activities:
        _headings(figure, tally, at)
        _edges(figure, tally, columns, at)
        _nodes(figure, columns, at, titles)
    else:
        figure.text(
            MARGIN,
            at(0.3),
            "No activities.",
            color=MUTED,
            transform=figure.dpi_scale_trans,
        )
    y = HEADING_HEIGHT + height + MARGIN / 2
    for note in notes:
        y += _line_height(DETAIL_SIZE)
        figure.text(
            MARGIN,
            at(y),
            note,
            fontsize=DETAIL_SIZE,
            color=WARNING if note.startswith("Dashed") else MUTED,
            transform=figure.dpi_scale_trans,
        )
    return figure_svg(
        figure,
        title=title,
        description=description or describe(tally),
        id_prefix=id_prefix,
        css_class="ropa-chart ropa-flow",
        titles=titles,
    )
