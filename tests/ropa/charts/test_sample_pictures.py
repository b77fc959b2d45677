"""The sample register's pictures: the social networks, and its transfers."""

import pytest

from ropa.charts.flows import (
    flow_from_activity,
    flow_svg,
    flows_of_register,
    transfer_map_svg,
)
from ropa.charts.world import OTHER_FILL
from ropa.enums import TransferMechanism
from ropa.exchange.snapshot import Register
from ropa.models import ProcessingActivity
from ropa.sample.data import SOCIAL_NETWORKS
from tests.factories import InternationalTransferFactory, RecipientFactory
from tests.ropa.charts.reading import pdf_text, shows, texts, titled

pytestmark = pytest.mark.django_db

MARKETING = "To communicate offers and marketing via various channels"


@pytest.fixture
def marketing(sample_register):
    return ProcessingActivity.objects.get(name=MARKETING)


def test_the_marketing_purposes_picture_shows_the_social_networks(marketing):
    flow = flow_from_activity(marketing)
    svg = flow_svg(flow, title="Marketing", id_prefix="marketing")

    assert SOCIAL_NETWORKS == "Social networking platforms"
    assert SOCIAL_NETWORKS in flow.recipients
    assert shows(svg, SOCIAL_NETWORKS)
    assert SOCIAL_NETWORKS in pdf_text(svg)


def test_the_registers_picture_shows_the_social_networks_beside_marketing(
    sample_register,
):
    flows = list(flows_of_register(Register()))
    svg = flow_svg(iter(flows), title="The register", id_prefix="register")

    assert len(flows) == 26
    # Grouped by business function, each group a node titled by its name.
    assert titled(svg, "Marketing")
    assert titled(svg, SOCIAL_NETWORKS)


def test_the_samples_map_has_no_transfer_until_one_is_recorded(marketing):
    # Every recipient of the sample is in the EEA.
    empty = transfer_map_svg(
        flows_of_register(Register()), title="Transfers", id_prefix="map"
    )
    assert "No transfers to third countries or international organisations." in (
        texts(empty)
    )

    recipient = RecipientFactory(name="US newsletter service", country="US")
    marketing.recipients.add(recipient)
    InternationalTransferFactory(
        activity=marketing,
        country="US",
        recipient=recipient,
        mechanism=TransferMechanism.SCC,
    )
    svg = transfer_map_svg(
        flows_of_register(Register()), title="Transfers", id_prefix="map"
    )

    (us,) = [e for e in titled(svg, "United States") if e.tag.endswith("path")]
    assert us.get("fill") != OTHER_FILL
    assert "United States of America (1)" in texts(svg)
