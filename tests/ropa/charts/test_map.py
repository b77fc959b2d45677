"""The map of transfers, read back as its readers read it."""

import pytest

from ropa.charts.flows import ActivityFlow, Transfer, flow_svg, transfer_map_svg
from ropa.charts.geometry import world
from ropa.charts.svg import WARNING
from ropa.charts.world import EEA_FILL, OTHER_FILL, SHADES
from tests.ropa.charts.reading import (
    assert_inline_safe,
    ids,
    parse,
    pdf_text,
    texts,
    titled,
    titles,
)

# An empty cell.
DASH = "\u2013"
SCC = "Standard contractual clauses (Art. 46(2)(c))"
BCR = "Binding corporate rules (Art. 47)"


def _flow(number, *transfers):
    return ActivityFlow(
        reference=f"PA-{number:04d}",
        name=f"Activity {number}",
        purpose="A purpose.",
        business_function="Sales",
        controllers=(),
        subjects=(),
        recipients=tuple(t.recipient for t in transfers if t.recipient),
        transfers=transfers,
    )


US_SCC = Transfer("US", "United States of America", "Cloud Inc.", SCC, False)
US_BCR = Transfer("US", "United States of America", "Group US Inc.", BCR, False)
IN_NONE = Transfer("IN", "India", "Call centre", "", True)
WHO = Transfer("", "World Health Organization", "", "Derogation (Art. 49(1))", True)
# Recorded to a country of the EEA: not a transfer, not on the map.
DE = Transfer("DE", "Germany", "Berlin GmbH", SCC, False, third_country=False)

FLOWS = (
    _flow(1, US_SCC, US_BCR, DE),
    _flow(2, US_SCC),
    _flow(3, US_SCC, WHO),
    _flow(4, IN_NONE),
)


@pytest.fixture(scope="module")
def svg():
    return transfer_map_svg(iter(FLOWS), title="Transfers", id_prefix="map")


def _country(svg, name):
    (path,) = [e for e in titled(svg, name) if e.tag.endswith("path")]
    return path


def test_countries_are_shaded_by_their_number_of_activities(svg):
    us, india = _country(svg, "United States of America"), _country(svg, "India:")

    assert us.get("fill") == SHADES[-1]
    assert india.get("fill") == SHADES[0]
    assert _country(svg, "Brazil").get("fill") == OTHER_FILL
    assert _country(svg, "Germany").get("fill") == EEA_FILL
    assert us[0].text == ("United States of America: 3 activities (SCC 3, BCR 1)")


def test_a_country_sent_data_without_a_mechanism_is_in_the_warning_colour(svg):
    india = _country(svg, "India:")

    assert india.get("stroke") == WARNING
    assert _country(svg, "United States of America").get("stroke") != WARNING
    # In words too.
    assert "India (1): no mechanism" in texts(svg)
    labels = [
        text
        for text in parse(svg).iter("{http://www.w3.org/2000/svg}text")
        if text.text == "India (1): no mechanism"
    ]
    assert labels[0].get("fill") == WARNING


def test_every_country_is_named_and_the_shaded_ones_labelled(svg):
    names = titles(svg)

    assert len([name for name in names if name]) == len(world().countries)
    assert "Norway (EEA)" in names
    assert "Brazil" in names
    assert "United States of America (3)" in texts(svg)


def test_the_table_breaks_each_destination_down_by_mechanism(svg):
    rows = texts(svg)
    header = rows.index("Destination")

    assert rows[header : header + 6] == [
        "Destination",
        "Activities",
        "SCC",
        "BCR",
        "Derogation (Art. 49(1))",
        "no mechanism",
    ]
    # The wanting first, then by activities.
    assert rows[header + 6 : header + 12] == ["India", "1", DASH, DASH, DASH, "1"]
    assert rows[header + 12 : header + 18] == [
        "United States of America",
        "3",
        "3",
        "1",
        DASH,
        DASH,
    ]
    assert "World Health Organization (international organisation)" in rows
    assert "SCC: " + SCC in rows
    assert "Germany" not in rows


def test_the_map_is_inline_safe_and_shares_a_page(svg):
    flow = flow_svg(FLOWS[0], title="Flow", id_prefix="flow")
    other = transfer_map_svg(FLOWS[:1], title="Again", id_prefix="map-2")

    assert_inline_safe(svg)
    every = ids(svg) + ids(other) + ids(flow)
    assert len(every) == len(set(every))


def test_svglib_draws_the_map_with_its_text(svg):
    text = pdf_text(svg)

    for words in ("United States of America", "no mechanism", "Destination"):
        assert words in text


def test_a_map_without_transfers_says_so():
    svg = transfer_map_svg([_flow(1, DE)], title="None", id_prefix="none")

    assert "No transfers to third countries or international organisations." in texts(
        svg
    )
    fills = {e.get("fill") for e in parse(svg).iter() if e.tag.endswith("path")}
    assert fills <= {OTHER_FILL, EEA_FILL}
