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
from tests.factories import (
    FunctionMembershipFactory,
    InternationalTransferFactory,
    ProcessingActivityFactory,
    RecipientFactory,
    StaffUserFactory,
)
from tests.ropa.charts.conftest import RECIPIENTS, SUBJECTS
from tests.ropa.charts.reading import assert_inline_safe, shows, titled

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
