"""
The chart of how the register's health moves (``ropa.health``), as an inline
SVG for the dashboard.

Two panels over the months: the activities by status as stacked bars, and
the figures that need attention as lines, each line with its own marker and
dash so that colour is never the only sign. Each month is a column over both
panels whose ``<title>`` gives every number of the month ("March 2026: Draft
2; Active 40; …"), which a screen reader and a test read, and which, for
users who may export, links to the as-of export of that month's end. The
table beside the chart (``templates/admin/index.html``) holds the same
numbers. A month not computed yet is a grey band saying so.

Drawn with artists placed in inches on a bare figure, as ``ropa.charts``
draws: matplotlib's axes and their tick objects cost more time than the rest
of the chart.
"""

from matplotlib.collections import PatchCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from ropa import health
from ropa.charts.svg import ACCENT, INK, LIGHT, MUTED, WARNING, figure_svg, new_figure

TITLE = "How the register's health moves, month by month"
NOT_COMPUTED_TEXT = "not computed yet"

# Sizes in inches and points.
WIDTH, HEIGHT = 7.6, 4.3
LEFT = 0.45  # the numbers of the scale
PLOT_WIDTH = 4.85
LEGEND = LEFT + PLOT_WIDTH + 0.2
PANEL_HEIGHT = 1.55
# Each panel's top, from the top of the figure: a heading above each.
PANELS = (0.35, 2.3)
TICKS = 0.4  # the months' names under the second panel
SIZE = 7

GRID = "#d0d7de"
NOT_COMPUTED_COLOUR = "#eeeeee"
# Bars from the bottom: the register in force first.
BARS = (
    (health.ACTIVE, ACCENT),
    (health.DRAFT, "#9db7d2"),
    (health.RETIRED, LIGHT),
)
# A line's colour, marker and dash.
LINES = {
    health.INCOMPLETE: (INK, "o", "-"),
    health.DRAFTS_WITH_GAPS: (MUTED, "s", "--"),
    health.OVERDUE: ("#8f5a00", "^", "-."),
    health.NO_MECHANISM: (WARNING, "D", ":"),
}


def month_label(start):
    """The month's name as the table and the titles give it: "March 2026"."""
    return f"{start:%B %Y}"


def month_title(month):
    """A month's column in words: "March 2026: Draft 2; Active 40; …"."""
    figures = "; ".join(
        f"{figure.label} {month.figures[figure.key]}" for figure in health.FIGURES
    )
    return f"{month_label(month.start)}: {figures}"


def describe(months):
    """The chart in a sentence: its span and the current month's figures."""
    if not months:
        return ""
    latest = months[-1]
    span = f"From {month_label(months[0].start)} to {month_label(latest.start)}."
    if latest.figures is None:
        return span
    figures = "; ".join(
        f"{figure.label}: {latest.figures[figure.key]}" for figure in health.FIGURES
    )
    return (
        f"{span} {month_label(latest.start)}: {figures}. The table gives every month."
    )


class _Panel:
    """One panel: months across, counts up, placed in inches."""

    def __init__(self, figure, top, count, highest):
        self.figure = figure
        self.transform = figure.dpi_scale_trans
        self.bottom = HEIGHT - top - PANEL_HEIGHT
        self.step = PLOT_WIDTH / max(count, 1)
        self.ticks = MaxNLocator(nbins=4, integer=True).tick_values(0, max(highest, 1))
        self.scale = PANEL_HEIGHT / self.ticks[-1]

    def x(self, n):
        """The middle of month ``n``'s column."""
        return LEFT + (n + 0.5) * self.step

    def y(self, value):
        return self.bottom + value * self.scale

    def scale_and_heading(self, heading):
        figure, transform = self.figure, self.transform
        for tick in self.ticks:
            y = self.y(tick)
            figure.add_artist(
                Line2D(
                    (LEFT, LEFT + PLOT_WIDTH),
                    (y, y),
                    color=INK if tick == 0 else GRID,
                    linewidth=0.8 if tick == 0 else 0.5,
                    transform=transform,
                    zorder=1,
                )
            )
            figure.text(
                LEFT - 0.06,
                y,
                f"{int(tick):,}",
                ha="right",
                va="center",
                fontsize=SIZE,
                color=MUTED,
                transform=transform,
            )
        figure.text(
            LEFT,
            self.bottom + PANEL_HEIGHT + 0.12,
            heading,
            fontsize=9,
            fontweight="bold",
            color=INK,
            transform=transform,
        )


def _legend(figure, top, entries):
    """Keys beside a panel: (label, artist drawing its sample at x, y)."""
    y = HEIGHT - top - 0.1
    for label, sample in entries:
        sample(LEGEND, y)
        figure.text(
            LEGEND + 0.32,
            y,
            label,
            va="center",
            fontsize=SIZE,
            color=INK,
            transform=figure.dpi_scale_trans,
        )
        y -= 0.2


def _bars(figure, panel, months):
    width = panel.step * 0.7
    bottoms = {n: 0 for n, month in enumerate(months) if month.figures is not None}
    entries = []
    for status, colour in BARS:
        boxes = []
        for n, below in bottoms.items():
            value = months[n].figures[status]
            if value:
                boxes.append(
                    Rectangle(
                        (panel.x(n) - width / 2, panel.y(below)),
                        width,
                        value * panel.scale,
                    )
                )
            bottoms[n] = below + value
        figure.add_artist(
            PatchCollection(
                boxes,
                facecolors=colour,
                edgecolors=INK,
                linewidths=0.3,
                transform=panel.transform,
                zorder=2,
            )
        )

        def sample(x, y, colour=colour):
            figure.add_artist(
                Rectangle(
                    (x, y - 0.05),
                    0.22,
                    0.1,
                    facecolor=colour,
                    edgecolor=INK,
                    linewidth=0.3,
                    transform=panel.transform,
                )
            )

        entries.append((health.FIGURE_LABELS[status], sample))
    # The legend lists the top of the stack first, as it is drawn.
    _legend(figure, PANELS[0], entries[::-1])


def _lines(figure, panel, months):
    entries = []
    for figure_ in health.ATTENTION:
        colour, marker, dash = LINES[figure_.key]
        style = {
            "color": colour,
            "linestyle": dash,
            "linewidth": 1.2,
            "marker": marker,
            "markersize": 4,
            "transform": panel.transform,
        }
        xs = [panel.x(n) for n in range(len(months))]
        ys = [
            float("nan")
            if month.figures is None
            else panel.y(month.figures[figure_.key])
            for month in months
        ]
        figure.add_artist(Line2D(xs, ys, zorder=3, **style))

        def sample(x, y, style=style):
            figure.add_artist(Line2D((x, x + 0.22), (y, y), **style))

        entries.append((figure_.label, sample))
    _legend(figure, PANELS[1], entries)


def _columns(figure, panels, months, links, titles):
    """Each month's column over both panels: its title, its link, its name."""
    top, bottom = panels
    transform = figure.dpi_scale_trans
    for n, month in enumerate(months):
        left = top.x(n) - top.step / 2
        first = n == 0 or month.start.month == 1
        figure.text(
            top.x(n),
            bottom.bottom - 0.08,
            f"{month.start:%b}\n{month.start:%Y}" if first else f"{month.start:%b}",
            ha="center",
            va="top",
            fontsize=SIZE - 0.5,
            color=MUTED,
            transform=transform,
        )
        if month.figures is None:
            for panel in panels:
                figure.add_artist(
                    Rectangle(
                        (left + 0.02, panel.bottom),
                        top.step - 0.04,
                        PANEL_HEIGHT,
                        facecolor=NOT_COMPUTED_COLOUR,
                        linewidth=0,
                        transform=transform,
                        zorder=0,
                    )
                )
            figure.text(
                top.x(n),
                top.bottom + PANEL_HEIGHT / 2,
                NOT_COMPUTED_TEXT,
                rotation=90,
                ha="center",
                va="center",
                fontsize=SIZE - 1,
                color=MUTED,
                transform=transform,
            )
            continue
        gid = f"month-{n}"
        # Transparent, on top: the stylesheet makes it take the pointer.
        column = Rectangle(
            (left, bottom.bottom),
            top.step,
            top.bottom + PANEL_HEIGHT - bottom.bottom,
            fill=False,
            linewidth=0,
            transform=transform,
            zorder=5,
            gid=gid,
        )
        column.set_url(links.get(month.start))
        figure.add_artist(column)
        titles[gid] = month_title(month)


def health_svg(months, *, links=None, id_prefix="health"):
    """
    The chart of ``months`` (``ropa.health.Month``, oldest first) as an
    ``<svg>``; ``links`` maps a month's start to the URL its column links to.
    """
    links = links or {}
    figure = new_figure(WIDTH, HEIGHT)
    shown = [month.figures for month in months if month.figures is not None]
    status_panel = _Panel(
        figure,
        PANELS[0],
        len(months),
        max((sum(f[key] for key, _ in BARS) for f in shown), default=0),
    )
    attention_panel = _Panel(
        figure,
        PANELS[1],
        len(months),
        max((f[key.key] for f in shown for key in health.ATTENTION), default=0),
    )
    status_panel.scale_and_heading("Activities by status")
    attention_panel.scale_and_heading("Needs attention")
    _bars(figure, status_panel, months)
    _lines(figure, attention_panel, months)
    titles = {}
    _columns(figure, (status_panel, attention_panel), months, links, titles)
    return figure_svg(
        figure,
        title=TITLE,
        description=describe(months),
        id_prefix=id_prefix,
        css_class="ropa-chart ropa-health-chart",
        titles=titles,
    )
