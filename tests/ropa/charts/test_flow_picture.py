"""The picture of where data goes, read back as its readers read it."""

import pytest

from ropa.charts.flows import (
    COUNTRY_UNRECORDED,
    ActivityFlow,
    Transfer,
    flow_from_activity,
    flow_svg,
)
from ropa.charts.picture import GROUPED_HEADING, MAX_NODES
from ropa.charts.svg import WARNING
from tests.factories import RecipientFactory
from tests.ropa.charts.conftest import RECIPIENTS, SUBJECTS
from tests.ropa.charts.reading import (
    assert_inline_safe,
    ids,
    parse,
    pdf_text,
    shows,
    texts,
    titled,
)

COUNTRIES = (
    "United States of America",
    "India",
    "Switzerland",
    "Israel",
    "World Health Organization",
)


@pytest.fixture
def picture(service_activity):
    return flow_svg(
        flow_from_activity(service_activity),
        title="Where the data of PA-0042 goes",
        id_prefix="flow",
    )


def _strokes(svg, start):
    """The stroke colours of the node boxes titled ``start``."""
    return {
        path.get("stroke")
        for group in titled(svg, start)
        for path in group.iter("{http://www.w3.org/2000/svg}path")
    }


@pytest.mark.django_db
def test_every_subject_recipient_and_country_is_text(picture):
    for name in (*SUBJECTS, *RECIPIENTS, *COUNTRIES):
        assert shows(picture, name), name
    assert "Customer service" in " ".join(texts(picture))
    assert parse(picture).get("aria-labelledby") == "flow-title"


@pytest.mark.django_db
def test_a_transfer_without_the_mechanism_it_needs_is_in_the_warning_colour(picture):
    assert _strokes(picture, "India") == {WARNING}
    assert _strokes(picture, "Israel") == {WARNING}
    # In words too: colour is never the only sign.
    warned = [
        text
        for text in parse(picture).iter("{http://www.w3.org/2000/svg}text")
        if text.get("fill") == WARNING and text.text in ("no mechanism",)
    ]
    assert len(warned) == 1
    assert "transfer not recorded" in texts(picture)
    # One dashed curve in the warning colour into each.
    (edges,) = [e for e in parse(picture).iter() if e.get("id") == "flow-warning-edges"]
    assert len(edges) == 2
    assert all(path.get("stroke") == WARNING for path in edges)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "country", ["United States of America", "Switzerland", "World Health Organization"]
)
def test_a_transfer_with_adequacy_or_a_mechanism_is_not_warned(picture, country):
    strokes = _strokes(picture, country)
    assert strokes
    assert WARNING not in strokes


@pytest.mark.django_db
def test_the_mechanism_labels_its_transfer(picture):
    assert shows(picture, "United States of America — Standard contractual clauses")
    assert shows(picture, "Switzerland — Adequacy decision (Art. 45)")


@pytest.mark.django_db
def test_the_picture_is_inline_safe_and_two_share_a_page(service_activity, picture):
    other = flow_svg(
        flow_from_activity(service_activity), title="Again", id_prefix="flow-2"
    )

    assert_inline_safe(picture)
    both = ids(picture) + ids(other)
    assert len(both) == len(set(both))


@pytest.mark.django_db
def test_svglib_draws_the_picture_with_its_text(picture):
    text = pdf_text(picture)

    for name in ("Customers", "India", "no mechanism", "Switzerland"):
        assert name in text


def _flow(number, function, *, subjects=(), recipients=(), transfers=()):
    return ActivityFlow(
        reference=f"PA-{number:04d}",
        name=f"Activity {number}",
        purpose="A purpose.",
        business_function=function,
        controllers=("Group company",),
        subjects=subjects,
        recipients=recipients,
        transfers=transfers,
    )


def _register(count):
    """``count`` activities over many subjects, recipients and countries."""
    for number in range(count):
        recipient = f"Recipient {number % 30:02d}"
        yield _flow(
            number,
            f"Function {number % 4}",
            subjects=(f"Subject {number % 20:02d}", "Customers"),
            recipients=(recipient,),
            transfers=(
                Transfer(
                    f"C{number % 25}",
                    f"Country {number % 25:02d}",
                    recipient,
                    "SCC",
                    True,
                ),
            ),
        )


def test_many_activities_are_grouped_and_each_column_cut():
    unmentioned = Transfer("IN", "India", "Recipient 00", "", True)
    flows = [*_register(200), _flow(999, "Function 0", transfers=(unmentioned,))]

    svg = flow_svg(iter(flows), title="The register", id_prefix="register")

    assert GROUPED_HEADING in texts(svg)
    # Groups with their counts, not activities.
    assert shows(svg, "Function 0")
    assert "51 activities" in texts(svg)
    assert not shows(svg, "Activity 1")
    # 21 subjects, 30 recipients, 26 destinations: each column cut.
    mores = [text for text in texts(svg) if text.startswith("and ")]
    assert mores == ["and 10 more", "and 19 more", "and 15 more"]
    assert sum(1 for e in ids(svg) if e.startswith("register-node-0-")) == MAX_NODES
    # The one transfer that needs a mechanism is shown, whatever its count.
    assert _strokes(svg, "India") == {WARNING}


def test_a_few_activities_are_drawn_each_with_its_counts():
    shared = ("Customers",)
    svg = flow_svg(
        [_flow(1, "Sales", subjects=shared), _flow(2, "Sales", subjects=shared)],
        title="Two",
        id_prefix="two",
    )

    assert shows(svg, "PA-0001 Activity 1")
    assert shows(svg, "PA-0002 Activity 2")
    assert "2 activities" in texts(svg)
    assert "none recorded" in texts(svg)


def test_no_activities_draws_a_picture_that_says_so():
    svg = flow_svg([], title="Nothing", id_prefix="none")

    assert "No activities." in texts(svg)


@pytest.mark.django_db
def test_a_recipient_whose_country_is_not_recorded_is_a_gap_not_a_clean_picture(
    service_activity,
):
    # The register's rule (recipient_location_unknown): whether data leaves
    # the EEA cannot be told, an Art. 30(1)(e) gap the picture names.
    service_activity.recipients.add(RecipientFactory(name="Somewhere Ltd", country=""))
    flow = flow_from_activity(service_activity)
    (unknown,) = [t for t in flow.transfers if t.recipient == "Somewhere Ltd"]
    assert unknown.warning == COUNTRY_UNRECORDED
    assert not unknown.third_country  # not on the map of third countries

    picture = flow_svg(flow, title="Where the data goes", id_prefix="flow")

    assert _strokes(picture, COUNTRY_UNRECORDED) == {WARNING}
    assert COUNTRY_UNRECORDED in texts(picture)


def test_a_name_the_font_has_no_glyph_for_is_kept_as_text():
    # DejaVu Sans has no CJK glyphs; the suite turns matplotlib's warning
    # about them into an error, as a server's log would fill with it.
    flow = ActivityFlow(
        reference="PA-0100",
        name="顧客サポート",
        purpose="",
        business_function="Support",
        controllers=(),
        subjects=("顧客",),
        recipients=("株式会社サンプル",),
        transfers=(
            Transfer(
                country="JP",
                country_name="Japan",
                recipient="株式会社サンプル",
                mechanism="Adequacy decision (Art. 45)",
                needs_mechanism=False,
            ),
        ),
    )

    picture = flow_svg(flow, title="顧客サポート", id_prefix="cjk")

    for name in ("顧客", "株式会社サンプル"):
        assert shows(picture, name), name
