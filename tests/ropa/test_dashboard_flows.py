"""
Where the data goes, on the admin's home page: the flow picture and the map
of the active register, filtered by controller and business function from
the query string, a bad value ignored with a notice; kept in the cache only
while the register is unchanged.
"""

from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse
from lxml import html

from ropa.dashboard_flows import UNKNOWN_CONTROLLER, UNKNOWN_FUNCTION
from ropa.enums import ActivityStatus, TransferMechanism
from ropa.roles import CONTRIBUTOR
from tests.factories import (
    GroupCompanyFactory,
    InternationalTransferFactory,
    ProcessingActivityFactory,
    RecipientFactory,
)
from tests.ropa.admin.test_contributor import member_of
from tests.ropa.charts.reading import (
    assert_inline_safe,
    parse,
    readable,
    shows,
    titled,
)

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")


@pytest.fixture(autouse=True)
def _drawn_afresh():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def register():
    """
    Two controllers' activities, each with a recipient of its own:

    - Acme AB, Sales: a call centre in India, no transfer recorded;
    - Acme AB, HR: a payroll bureau in Switzerland, on its adequacy decision;
    - Bolt Oy, Sales: a cloud in Brazil, on standard contractual clauses;
    - Bolt Oy, retired and draft activities, whose recipients are not drawn.
    """
    acme = GroupCompanyFactory(name="Acme AB")
    bolt = GroupCompanyFactory(name="Bolt Oy")
    ProcessingActivityFactory(
        organisations=[acme],
        business_function="Sales",
        recipients=[RecipientFactory(name="Bangalore call centre", country="IN")],
    )
    payroll = RecipientFactory(name="Zürich payroll AG", country="CH")
    hr = ProcessingActivityFactory(
        organisations=[acme], business_function="HR", recipients=[payroll]
    )
    InternationalTransferFactory(
        activity=hr,
        country="CH",
        recipient=payroll,
        mechanism=TransferMechanism.ADEQUACY,
    )
    cloud = RecipientFactory(name="São Paulo cloud", country="BR")
    sales = ProcessingActivityFactory(
        organisations=[bolt], business_function="Sales", recipients=[cloud]
    )
    InternationalTransferFactory(
        activity=sales, country="BR", recipient=cloud, mechanism=TransferMechanism.SCC
    )
    for status, name in (
        (ActivityStatus.RETIRED, "Retired recipient"),
        (ActivityStatus.DRAFT, "Draft recipient"),
    ):
        ProcessingActivityFactory(
            organisations=[bolt],
            status=status,
            recipients=[RecipientFactory(name=name, country="US")],
        )
    return {"acme": acme, "bolt": bolt, "hr": hr, "cloud": cloud}


RECIPIENTS = ("Bangalore call centre", "Zürich payroll AG", "São Paulo cloud")
COUNTRIES = ("India", "Switzerland", "Brazil")


def pictures(client, **params):
    """The page's notices, flow picture and map, as its browser gets them."""
    response = client.get(INDEX, params)
    assert response.status_code == 200
    page = response.content.decode()
    found = []
    for frame in ("register-flow-picture", "register-transfer-map"):
        start = page.index("<svg", page.index(f'id="{frame}"'))
        found.append(page[start : page.index("</svg>", start) + len("</svg>")])
    notices = [
        p.text_content()
        for p in html.fromstring(response.content).xpath(
            '//section[@id="register-flows"]//p[@class="errornote"]'
        )
    ]
    return notices, *found


def drawn(svg, names):
    return {name for name in names if shows(svg, name)}


def destinations(svg):
    """The countries the map shades as sent data: "India: 1 activity (…)"."""
    return {name for name in COUNTRIES if titled(svg, f"{name}: ")}


def test_the_home_page_draws_the_active_register(viewer_client, register):
    notices, flow, transfer_map = pictures(viewer_client)

    assert notices == []
    assert drawn(flow, RECIPIENTS) == set(RECIPIENTS)
    assert destinations(transfer_map) == set(COUNTRIES)
    assert not shows(flow, "Retired recipient")
    assert not shows(flow, "Draft recipient")
    assert_inline_safe(flow)
    assert_inline_safe(transfer_map)


def test_the_controller_filter_draws_its_activities_only(viewer_client, register):
    _, flow, transfer_map = pictures(viewer_client, controller="acme-ab")

    assert drawn(flow, RECIPIENTS) == {"Bangalore call centre", "Zürich payroll AG"}
    assert destinations(transfer_map) == {"India", "Switzerland"}


def test_the_business_function_filter_draws_its_activities_only(
    viewer_client, register
):
    _, flow, transfer_map = pictures(viewer_client, business_function="Sales")

    assert drawn(flow, RECIPIENTS) == {"Bangalore call centre", "São Paulo cloud"}
    assert destinations(transfer_map) == {"India", "Brazil"}


def test_both_filters_together(viewer_client, register):
    _, flow, _ = pictures(viewer_client, controller="bolt-oy", business_function="HR")

    assert drawn(flow, RECIPIENTS) == set()
    assert any("No activities" in text for text in readable(flow))


def test_the_filter_shows_what_was_chosen(viewer_client, register):
    response = viewer_client.get(
        INDEX, {"controller": "acme-ab", "business_function": "HR"}
    )
    form = html.fromstring(response.content).get_element_by_id("register-flows-filter")

    assert form.xpath('.//select[@name="controller"]/option[@selected]/@value') == [
        "acme-ab"
    ]
    assert form.xpath(
        './/select[@name="business_function"]/option[@selected]/@value'
    ) == ["HR"]
    assert form.xpath('.//select[@name="business_function"]/option/@value') == [
        "",
        "HR",
        "Sales",
    ]


@pytest.mark.parametrize(
    ("params", "notice"),
    [
        ({"controller": "nobody"}, UNKNOWN_CONTROLLER.format(value="nobody")),
        (
            {"business_function": "Alchemy"},
            UNKNOWN_FUNCTION.format(value="Alchemy"),
        ),
        # Escaped, and cut at 100 characters.
        (
            {"controller": "<b>x</b>" * 50},
            UNKNOWN_CONTROLLER.format(value="<b>x</b>" * 12 + "<b>x"),
        ),
    ],
)
def test_a_bad_filter_value_is_ignored_with_a_notice(
    viewer_client, register, params, notice
):
    notices, flow, _ = pictures(viewer_client, **params)

    assert notices == [notice]
    assert drawn(flow, RECIPIENTS) == set(RECIPIENTS)


def test_a_bad_value_leaves_the_other_filter_working(viewer_client, register):
    notices, flow, _ = pictures(
        viewer_client, controller="nobody", business_function="HR"
    )

    assert notices == [UNKNOWN_CONTROLLER.format(value="nobody")]
    assert drawn(flow, RECIPIENTS) == {"Zürich payroll AG"}


def test_a_change_to_the_register_is_drawn_at_once(viewer_client, register):
    pictures(viewer_client)
    register["hr"].recipients.add(RecipientFactory(name="Oslo archive AS"))

    _, flow, _ = pictures(viewer_client)

    assert shows(flow, "Oslo archive AS")


def test_a_renamed_recipient_is_drawn_renamed(viewer_client, register):
    pictures(viewer_client)
    cloud = register["cloud"]
    cloud.name = "Rio cloud"
    cloud._change_reason = "Renamed in a test"
    cloud.save()

    _, flow, _ = pictures(viewer_client)

    assert shows(flow, "Rio cloud")
    assert not shows(flow, "São Paulo cloud")


def test_a_contributor_sees_their_functions_flows_only(client, register):
    call_command("setup_roles", stdout=StringIO())
    client.force_login(member_of(CONTRIBUTOR, functions=["HR"]))

    notices, flow, _ = pictures(client)
    assert drawn(flow, RECIPIENTS) == {"Zürich payroll AG"}
    assert parse(flow)[0].text == (
        "Where the data goes: the active register, your business functions"
    )

    notices, flow, _ = pictures(client, business_function="Sales")
    assert notices == [UNKNOWN_FUNCTION.format(value="Sales")]
    assert drawn(flow, RECIPIENTS) == {"Zürich payroll AG"}


def test_a_contributor_without_functions_sees_no_flows(client, register):
    call_command("setup_roles", stdout=StringIO())
    client.force_login(member_of(CONTRIBUTOR))

    notices, flow, transfer_map = pictures(client)

    assert notices == []
    assert drawn(flow, RECIPIENTS) == set()
    assert destinations(transfer_map) == set()


def test_names_are_drawn_as_typed(viewer_client):
    # Dollar signs are no formula; a control character pasted into a name
    # (which XML refuses) is drawn as a space.
    acme = GroupCompanyFactory(name="Acme\x0bAB")
    activity = ProcessingActivityFactory(
        organisations=[acme],
        recipients=[RecipientFactory(name=r"Costs $5 and $\frac{ Ltd", country="IN")],
    )
    InternationalTransferFactory(
        activity=activity,
        country="",
        international_organisation="Office\x1fof $1 and $2",
        mechanism=TransferMechanism.DEROGATION,
    )

    notices, flow, transfer_map = pictures(viewer_client, controller=acme.slug)

    assert notices == []
    assert shows(flow, r"Costs $5 and $\frac{ Ltd")
    assert parse(flow)[0].text == "Where the data goes: the active register of Acme AB"
    assert shows(transfer_map, "Office of $1 and $2")
