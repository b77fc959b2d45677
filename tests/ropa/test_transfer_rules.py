"""
Transfers under the adequacy data as it stands in December 2026: decisions for
countries and for an international organisation, decisions covering some
recipients only, and recipients whose country is unknown.
"""

import datetime
import io

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from openpyxl import load_workbook

from ropa import geography
from ropa.completeness import RULES_BY_KEY
from ropa.enums import TransferMechanism
from ropa.exchange import layout
from ropa.exchange.export import XLSX, export_register
from ropa.models import InternationalTransfer
from tests.admin_pages import add_inline_row, form_data
from tests.factories import (
    InternationalTransferFactory,
    ProcessingActivityFactory,
    RecipientFactory,
)
from tests.ropa.exchange.test_snapshot import moment, on

pytestmark = pytest.mark.django_db

# A day of December 2026, when every decision below is in force.
DECEMBER_2026 = datetime.date(2026, 12, 1)
# Under the EU-UK Trade and Cooperation Agreement's bridge.
MARCH_2021 = datetime.date(2021, 3, 15)
NO_DECISION = (
    "{} has no adequacy decision in force: choose another Chapter V mechanism."
)


@pytest.fixture
def december_2026(monkeypatch):
    monkeypatch.setattr(geography, "_today", lambda: DECEMBER_2026)


@pytest.mark.usefixtures("december_2026")
@pytest.mark.parametrize(
    ("country", "organisation"),
    [
        ("BR", ""),
        ("GB", ""),
        ("", "European Patent Organisation"),
        ("", "EUROPEAN PATENT organisation"),
    ],
)
def test_transfer_clean_accepts_adequacy_in_force(country, organisation):
    InternationalTransferFactory(
        country=country,
        international_organisation=organisation,
        mechanism=TransferMechanism.ADEQUACY,
    ).full_clean()


@pytest.mark.usefixtures("december_2026")
def test_transfer_clean_refuses_adequacy_for_an_organisation_without_one():
    transfer = InternationalTransferFactory(
        to_international_organisation=True, mechanism=TransferMechanism.ADEQUACY
    )

    with pytest.raises(ValidationError) as excinfo:
        transfer.full_clean()

    assert excinfo.value.message_dict == {
        "mechanism": [NO_DECISION.format("World Health Organization")]
    }


def test_transfer_clean_refuses_adequacy_for_the_uk_once_its_renewal_lapses(
    monkeypatch,
):
    monkeypatch.setattr(geography, "_today", lambda: datetime.date(2031, 12, 28))
    transfer = InternationalTransferFactory(
        country="GB", mechanism=TransferMechanism.ADEQUACY
    )

    with pytest.raises(ValidationError) as excinfo:
        transfer.full_clean()

    assert excinfo.value.message_dict == {
        "mechanism": [NO_DECISION.format("United Kingdom")]
    }


def test_scoped_adequacy_is_a_gap_until_the_scope_is_recorded():
    activity = ProcessingActivityFactory()
    transfer = InternationalTransferFactory(
        activity=activity, country="CA", mechanism=TransferMechanism.ADEQUACY
    )

    assert activity.missing_elements(on=DECEMBER_2026) == [
        RULES_BY_KEY["adequacy_scope_unrecorded"].gap("controller")
    ]

    transfer.adequacy_scope = "A commercial organisation subject to PIPEDA."
    transfer.save()

    assert activity.missing_elements(on=DECEMBER_2026) == []


def test_recipient_without_country_is_a_gap_not_inside_the_eea():
    activity = ProcessingActivityFactory(recipients=[RecipientFactory(country="")])

    [gap] = activity.missing_elements()

    assert gap == RULES_BY_KEY["recipient_location_unknown"].gap("controller")
    assert str(gap).startswith("Art. 30(1)(e) transfers to third countries: ")


def _exported_gaps(as_of):
    out = io.BytesIO()
    export_register(fmt=XLSX, out=out, as_of=as_of)
    worksheet = load_workbook(out)[layout.ACTIVITIES.name]
    header = [cell.value for cell in worksheet[1]]
    return {
        row[0]: row[header.index("Art. 30 gaps")]
        for row in worksheet.iter_rows(min_row=2, values_only=True)
    }


def test_export_as_of_the_tca_bridge_shows_no_gap_for_a_uk_transfer():
    with on(moment(datetime.date(2021, 3, 1))):
        activity = ProcessingActivityFactory(
            reference="PA-0961", recipients=[RecipientFactory(country="GB")]
        )
        InternationalTransferFactory(
            activity=activity, country="GB", mechanism=TransferMechanism.ADEQUACY
        )

    assert _exported_gaps(MARCH_2021) == {"PA-0961": None}
    assert activity.missing_elements(on=MARCH_2021) == []
    # Before the bridge, the transfer claimed a decision not yet in force.
    assert [
        gap.key for gap in activity.missing_elements(on=datetime.date(2020, 12, 31))
    ] == ["adequacy_not_in_force"]


def test_export_writes_the_scope_of_the_adequacy_decision():
    activity = ProcessingActivityFactory(reference="PA-0962")
    InternationalTransferFactory(
        activity=activity,
        country="US",
        mechanism=TransferMechanism.ADEQUACY,
        adequacy_scope="Listed in the Data Privacy Framework list.",
    )
    out = io.BytesIO()
    export_register(fmt=XLSX, out=out)

    worksheet = load_workbook(out)[layout.TRANSFERS.name]
    header = [cell.value for cell in worksheet[1]]
    [row] = list(worksheet.iter_rows(min_row=2, values_only=True))

    assert row[header.index("Scope of the adequacy decision")] == (
        "Listed in the Data Privacy Framework list."
    )
    assert "Scope of the adequacy decision" in layout.TRANSFERS.optional


def test_admin_transfer_inline_records_the_scope(dpo_client):
    activity = ProcessingActivityFactory()
    url = reverse("admin:ropa_processingactivity_change", args=(activity.pk,))
    page = form_data(dpo_client.get(url))
    assert "transfers-__prefix__-adequacy_scope" in page
    data = add_inline_row(
        {**page, "change_reason": "Transfer to a certified organisation"},
        "transfers",
        country="US",
        mechanism=TransferMechanism.ADEQUACY,
        adequacy_scope="Listed in the Data Privacy Framework list.",
    )

    response = dpo_client.post(url, data)

    assert response.status_code == 302
    transfer = InternationalTransfer.objects.get(activity=activity)
    assert transfer.adequacy_scope == "Listed in the Data Privacy Framework list."
    assert activity.missing_elements() == []
