"""The SVG every picture is drawn as: matplotlib's, made safe for the page."""

import io

from ropa.charts.svg import RC, clean_svg, figure_svg, new_figure
from tests.ropa.charts.reading import assert_inline_safe, ids, parse, texts, titles


def _figure():
    figure = new_figure(4, 2)
    axes = figure.add_subplot()
    axes.bar(["Sales", "Marketing"], [3, 5], color="#2f5f8f")
    axes.set_title("Activities — Åland, Tromsø")
    figure.text(0.5, 0.05, "Centred", ha="center", va="center", gid="note")
    return figure


def test_figure_svg_draws_what_savefig_draws():
    # The renderer that measures each string once per process changes
    # nothing in the drawing.
    figure = _figure()
    out = io.BytesIO()
    figure.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    assert figure_svg(figure, title="t", id_prefix="a") == clean_svg(
        out.getvalue(), title="t", id_prefix="a"
    )


def test_figure_svg_is_inline_safe_titled_and_text_stays_text():
    svg = figure_svg(_figure(), title="Bars", description="Two bars.", id_prefix="bars")

    assert_inline_safe(svg)
    root = parse(svg)
    assert root.get("aria-labelledby") == "bars-title"
    assert root.get("aria-describedby") == "bars-desc"
    assert "Activities — Åland, Tromsø" in texts(svg)
    assert all(element_id.startswith("bars-") for element_id in ids(svg))


def test_text_added_after_new_figure_has_the_projects_font_size():
    # The style is set for the process, not only while the figure is made.
    figure = new_figure(2, 1)
    figure.text(0.1, 0.5, "Later")

    (text,) = parse(figure_svg(figure, title="t", id_prefix="x")).iter(
        "{http://www.w3.org/2000/svg}text"
    )
    assert text.get("font-size") == f"{RC['font.size']}px"


def test_titles_go_to_the_elements_of_their_gid():
    svg = figure_svg(
        _figure(), title="Bars", id_prefix="bars", titles={"note": "A note in full"}
    )

    assert titles(svg) == ["A note in full"]
    (note,) = [e for e in parse(svg).iter() if e.get("id") == "bars-note"]
    assert note[0].text == "A note in full"
