"""
The health chart on the admin's home page, as its users' browsers get it:
the table and the chart give the same numbers, each month links to the
register as of its end, and the page's queries do not grow with the register.
"""

import re
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from lxml import html

from ropa import health
from ropa.exchange import layout
from ropa.health_chart import NOT_COMPUTED_TEXT, month_label
from ropa.roles import CONTRIBUTOR
from tests.factories import ProcessingActivityFactory
from tests.ropa.admin.test_contributor import member_of
from tests.ropa.charts.reading import NS, assert_inline_safe, parse, texts
from tests.ropa.exchange.test_exports import read_xlsx, records
from tests.ropa.test_health import EXPECTED, M0, M1, M2, M3, NOW, build_timeline, on

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
TITLE = re.compile(r"^(?P<month>\w+ \d{4}): (?P<figures>.*)$")


@pytest.fixture(autouse=True)
def _today():
    """Today is ``NOW`` of the health tests; the pictures drawn afresh."""
    cache.clear()
    with on(NOW):
        yield
    cache.clear()


@pytest.fixture
def timeline():
    return build_timeline()


def home(client, **params):
    response = client.get(INDEX, params)
    assert response.status_code == 200
    return response


def chart_svg(response):
    """The health chart's ``<svg>``, as the page holds it."""
    page = response.content.decode()
    start = page.index("<svg", page.index('class="ropa-chart-frame ropa-health'))
    return page[start : page.index("</svg>", start) + len("</svg>")]


def table(response):
    """The health table: {month: {figure label: count}}, None if not computed."""
    doc = html.fromstring(response.content)
    (found,) = doc.xpath('//table[@id="register-health-table"]')
    labels = [th.text_content() for th in found.xpath("./thead/tr/th")][1:]
    rows = {}
    for row in found.xpath("./tbody/tr"):
        (header,) = row.xpath("./th")
        name = (header.xpath("./a") or [header])[0].text.strip()
        cells = [td.text_content() for td in row.xpath("./td")]
        rows[name] = (
            None
            if cells == [NOT_COMPUTED_TEXT]
            else dict(zip(labels, map(int, cells), strict=True))
        )
    return rows


def table_links(response):
    doc = html.fromstring(response.content)
    return {
        link.text.strip(): link.get("href")
        for link in doc.xpath('//table[@id="register-health-table"]/tbody/tr/th/a')
    }


def chart_months(svg):
    """The chart's months, read from each column's title: {month: {label: n}}."""
    months = {}
    for title in parse(svg).iterfind(".//svg:g/svg:title", NS):
        match = TITLE.match(title.text or "")
        if match is None:
            continue
        pairs = (part.rpartition(" ") for part in match["figures"].split("; "))
        months[match["month"]] = {label: int(count) for label, _, count in pairs}
    return months


def chart_links(svg):
    """The chart's links, by the month whose column holds them."""
    links = {}
    for title in parse(svg).iterfind(".//svg:g/svg:title", NS):
        match = TITLE.match(title.text or "")
        for link in title.getparent().iterfind(".//svg:a", NS):
            links[match["month"]] = link.get(XLINK_HREF)
    return links


def labelled(figures):
    """Expected figures keyed by their labels, as the page gives them."""
    return {figure.label: figures[figure.key] for figure in health.FIGURES}


MONTHS = {month_label(start): labelled(figures) for start, figures in EXPECTED.items()}


def test_the_table_and_the_chart_give_each_months_figures(viewer_client, timeline):
    response = home(viewer_client)
    svg = chart_svg(response)

    assert table(response) == MONTHS
    assert chart_months(svg) == MONTHS
    assert_inline_safe(svg)


def test_each_month_links_to_the_register_as_of_its_end(viewer_client, timeline):
    response = home(viewer_client)
    ends = {
        M3: "2025-12-31",
        M2: "2026-01-31",
        M1: "2026-02-28",
        M0: NOW.date().isoformat(),
    }
    export = reverse("admin:ropa_processingactivity_export_register")
    expected = {
        month_label(start): f"{export}?as_of={day}" for start, day in ends.items()
    }

    assert table_links(response) == expected
    assert chart_links(chart_svg(response)) == expected


def test_a_months_link_opens_the_export_of_that_day_filled_in(viewer_client, timeline):
    link = table_links(home(viewer_client))[month_label(M3)]

    page = viewer_client.get(link)
    assert page.status_code == 200
    form = html.fromstring(page.content).get_element_by_id("export-register-form")
    (as_of,) = form.xpath('.//input[@name="as_of"]')
    assert as_of.get("value") == "2025-12-31"
    assert not page.context["form"].errors

    # Submitted as the page shows it: the format's selected option, the day.
    chosen = {
        select.get("name"): (select.xpath("./option[@selected]/@value") or [""])[0]
        for select in form.xpath(".//select")
    }
    download = viewer_client.get(
        urlsplit(link).path, {**chosen, "as_of": as_of.get("value")}
    )
    body = b"".join(download.streaming_content)
    download.close()
    rows = records(read_xlsx(body)[layout.ACTIVITIES.name], layout.ACTIVITIES)
    # PA-0004 was created in January 2026.
    assert [row["Reference"] for row in rows] == ["PA-0001", "PA-0002", "PA-0003"]
    assert parse_qs(urlsplit(link).query) == {"as_of": ["2025-12-31"]}


def test_the_months_not_computed_are_said_so(viewer_client, timeline, settings):
    settings.ROPA_HEALTH_BUDGET_SECONDS = 0

    response = home(viewer_client)

    rows = table(response)
    assert [rows[month_label(start)] for start in (M3, M2, M1)] == [None] * 3
    assert rows[month_label(M0)] == MONTHS[month_label(M0)]
    assert texts(chart_svg(response)).count(NOT_COMPUTED_TEXT) == 3
    assert "compute_health" in response.content.decode()
    # The chart has a column for the current month only; the table links
    # every month to its export all the same.
    assert list(chart_links(chart_svg(response))) == [month_label(M0)]
    assert len(table_links(response)) == 4


def test_a_contributor_sees_their_functions_health_and_no_export_links(
    client, timeline
):
    call_command("setup_roles", stdout=StringIO())
    client.force_login(member_of(CONTRIBUTOR, functions=["HR"]))
    response = home(client)

    hr = {
        M3: {"draft": 1, "active": 1, "drafts_with_gaps": 1},
        M2: {"draft": 1, "active": 1, "drafts_with_gaps": 1, "overdue": 1},
        M1: {"active": 2},
        M0: {"active": 1, "retired": 1},
    }
    assert table(response) == {
        month_label(start): labelled(
            {figure.key: counts.get(figure.key, 0) for figure in health.FIGURES}
        )
        for start, counts in hr.items()
    }
    assert table_links(response) == {}
    assert chart_links(chart_svg(response)) == {}


def queries(client):
    with CaptureQueriesContext(connection) as captured:
        home(client)
    return len(captured)


def test_the_home_pages_queries_do_not_grow_with_the_register(viewer_client, timeline):
    call_command("compute_health", stdout=StringIO())
    counts = []
    for _ in range(2):
        ProcessingActivityFactory(business_function="Marketing")
        # The new record's stored gaps are computed by the first page.
        home(viewer_client)
        cache.clear()
        cold = queries(viewer_client)
        counts.append((cold, queries(viewer_client)))

    # Each page: the session, the user, their roles and permissions (7); the
    # dashboard's figures (11, with the stored gaps' checks); the health
    # chart: the transfers without a mechanism, the first record's day, the
    # kept months; the pictures: the filter's business functions and its
    # organisations, the register's state (5 tables); the recent actions.
    # Not drawn yet, the pictures read the flows: the activities, 3 links,
    # the transfers and 3 catalogues.
    (cold, warm), again = counts
    assert again == (cold, warm)
    assert cold - warm == 8
    assert warm <= 30


@pytest.mark.parametrize("day", ["2026-03-19", "not a day", "2026-02-30"])
def test_a_link_with_a_day_the_export_refuses_opens_the_empty_form(viewer_client, day):
    page = viewer_client.get(
        reverse("admin:ropa_processingactivity_export_register"), {"as_of": day}
    )

    assert page.status_code == 200
    assert not page.context["form"].is_bound
    form = html.fromstring(page.content).get_element_by_id("export-register-form")
    assert form.xpath('.//input[@name="as_of"]/@value') == []
