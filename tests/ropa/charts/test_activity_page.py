"""The activity's admin page shows where its data goes."""

import re
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from ropa.charts.svg import WARNING
from ropa.models import ProcessingActivity
from ropa.roles import CONTRIBUTOR
from tests.admin_pages import form_data
from tests.factories import (
    FunctionMembershipFactory,
    InternationalTransferFactory,
    ProcessingActivityFactory,
    RecipientFactory,
    StaffUserFactory,
)
from tests.ropa.charts.conftest import RECIPIENTS, SUBJECTS
from tests.ropa.charts.reading import assert_inline_safe, parse, shows, texts, titled

pytestmark = pytest.mark.django_db

PICTURE = re.compile(r'<fieldset [^>]*id="flow-picture".*?</fieldset>', re.DOTALL)
SVG = re.compile(r"<svg .*?</svg>", re.DOTALL)


def change_url(activity):
    return reverse("admin:ropa_processingactivity_change", args=(activity.pk,))


def picture(response):
    """The flow picture's SVG on the page; the page must have one."""
    assert response.status_code == 200
    page = response.content.decode()
    (fieldset,) = PICTURE.findall(page)
    assert "<h2>Where the data goes</h2>" in fieldset
    (svg,) = SVG.findall(fieldset)
    return svg


def contributor_for(function):
    call_command("setup_roles", stdout=StringIO())
    user = StaffUserFactory()
    user.groups.add(Group.objects.get(name=CONTRIBUTOR))
    FunctionMembershipFactory(user=user, business_function=function)
    client = Client()
    client.force_login(user)
    return client


def test_the_change_page_shows_the_activitys_flows(dpo_client, service_activity):
    svg = picture(dpo_client.get(change_url(service_activity)))

    for name in (*SUBJECTS, *RECIPIENTS, "India", "World Health Organization"):
        assert shows(svg, name), name
    assert {
        path.get("stroke")
        for group in titled(svg, "India")
        for path in group.iter("{http://www.w3.org/2000/svg}path")
    } == {WARNING}
    assert_inline_safe(svg)


@pytest.mark.parametrize("who", ["auditor", "contributor"])
def test_those_who_may_view_the_activity_see_its_flows(
    who, viewer_client, service_activity
):
    client = viewer_client if who == "auditor" else contributor_for("Support")

    svg = picture(client.get(change_url(service_activity)))

    assert shows(svg, "Bangalore call centre")


def test_the_add_page_has_no_picture(dpo_client):
    response = dpo_client.get(reverse("admin:ropa_processingactivity_add"))

    assert response.status_code == 200
    assert 'id="flow-picture"' not in response.content.decode()


def test_the_pages_queries_do_not_grow_with_recipients_and_transfers(
    dpo_client, django_assert_max_num_queries
):
    # The picture reads the activity's organisations, data subjects,
    # recipients and transfers (with their recipients) once each.
    activity = ProcessingActivityFactory()
    url = change_url(activity)

    def count():
        with django_assert_max_num_queries(1000) as captured:
            svg = picture(dpo_client.get(url))
        return len(captured.captured_queries), svg

    dpo_client.get(url)
    few, _ = count()
    recipients = RecipientFactory.create_batch(6, outside_eea=True)
    activity.recipients.add(*recipients)
    for recipient in recipients[:3]:
        InternationalTransferFactory(activity=activity, recipient=recipient)
    many, svg = count()

    assert few == many
    for recipient in recipients:
        assert shows(svg, recipient.name)
    assert ProcessingActivity.objects.get(pk=activity.pk).recipients.count() == 7


# What a person may type or paste into a name: dollar signs, which matplotlib
# would read as mathematics (and refuse when it cannot parse them), and
# control characters, which XML refuses. Typed as shown; pasted, the control
# characters are shown as spaces.
TYPED_NAMES = {
    "Costs $5 and $10 AB": "Costs $5 and $10 AB",
    r"Bad $\frac{$ AB": r"Bad $\frac{$ AB",
    "Vertical\x0btab AB": "Vertical tab AB",
    "Unit\x1fseparator AB": "Unit separator AB",
}


@pytest.mark.parametrize(("typed", "shown"), TYPED_NAMES.items())
def test_names_are_drawn_as_typed(dpo_client, typed, shown):
    outside = RecipientFactory(name=typed, country="IN")
    activity = ProcessingActivityFactory(name=typed, recipients=[outside])

    svg = picture(dpo_client.get(change_url(activity)))

    assert shows(svg, shown)
    assert any(text == shown for text in texts(svg))


def test_a_refused_change_shows_the_picture_as_saved(dpo_client, service_activity):
    # The form comes back with its error and what was typed; the picture
    # says "as saved", and is.
    ProcessingActivityFactory(name="Payroll")
    data = form_data(dpo_client.get(change_url(service_activity)))

    response = dpo_client.post(
        change_url(service_activity),
        {**data, "name": "Payroll", "change_reason": "Renamed"},
    )

    assert response.context["adminform"].form.errors
    svg = picture(response)
    assert parse(svg)[0].text == "Where the data goes: PA-0042 Customer service"
    assert not shows(svg, "Payroll")
