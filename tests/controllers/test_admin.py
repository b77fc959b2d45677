import pytest
from django.urls import reverse

from controllers.models import (
    JointControllerArrangement,
    Organisation,
    ProcessorAgreement,
)
from tests.admin_pages import form_data
from tests.factories import (
    GroupCompanyFactory,
    JointControllerArrangementFactory,
    OrganisationFactory,
    ProcessingActivityFactory,
    ProcessorAgreementFactory,
)

pytestmark = pytest.mark.django_db

ORGANISATION_ADD = reverse("admin:controllers_organisation_add")
# Text, and ids beyond the 64 bits of an id column (OverflowError on SQLite).
NOT_IDS = ("abc", str(2**63), str(2**64), str(-(2**63) - 1))


def organisation_form(client, **values):
    """The organisation's add form as the browser posts it, with ``values``."""
    return {**form_data(client.get(ORGANISATION_ADD)), "country": "SE", **values}


@pytest.mark.parametrize(
    ("name", "slug"),
    [("Acme-AB", "acme-ab-2"), ("\U0001f600", "organisation")],
)
def test_organisation_added_with_an_empty_slug_gets_a_unique_one(
    dpo_client, name, slug
):
    OrganisationFactory(name="Acme AB")

    response = dpo_client.post(
        ORGANISATION_ADD, organisation_form(dpo_client, name=name, slug="")
    )

    assert response.status_code == 302
    assert Organisation.objects.get(name=name).slug == slug


def test_organisation_slug_given_and_taken_is_refused(dpo_client):
    OrganisationFactory(name="Acme AB")

    response = dpo_client.post(
        ORGANISATION_ADD,
        organisation_form(dpo_client, name="Acme Nordic AB", slug="acme-ab"),
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["slug"] == [
        "Organisation with this Slug already exists."
    ]


@pytest.mark.parametrize("value", NOT_IDS)
def test_organisation_parent_that_cannot_be_an_id_is_refused(dpo_client, value):
    response = dpo_client.post(
        ORGANISATION_ADD,
        organisation_form(dpo_client, name="Acme AB", slug="", parent=value),
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["parent"]
    assert not Organisation.objects.exists()


@pytest.mark.parametrize("value", NOT_IDS)
def test_agreement_sub_processor_that_cannot_be_an_id_is_refused(dpo_client, value):
    agreement = ProcessorAgreementFactory()
    url = reverse("admin:controllers_processoragreement_change", args=(agreement.pk,))
    data = {**form_data(dpo_client.get(url)), "sub_processors": [value]}

    response = dpo_client.post(url, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["sub_processors"]
    assert ProcessorAgreement.objects.get().version == agreement.version


def test_organisation_saved_in_the_admin_needs_its_country(dpo_client):
    response = dpo_client.post(
        ORGANISATION_ADD, organisation_form(dpo_client, name="Acme AB", country="")
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["country"] == [
        "This field is required."
    ]
    assert not Organisation.objects.exists()


def test_organisation_an_import_left_without_a_country_is_completed_in_the_admin(
    dpo_client,
):
    organisation = OrganisationFactory(name="Partner Ltd", country="")
    change = reverse("admin:controllers_organisation_change", args=[organisation.pk])
    data = form_data(dpo_client.get(change))
    assert data["country"] == ""

    refused = dpo_client.post(change, data)
    saved = dpo_client.post(change, {**data, "country": "GB"})

    assert refused.status_code == 200
    assert saved.status_code == 302
    organisation.refresh_from_db()
    assert organisation.country == "GB"


def test_arrangement_saved_in_the_admin_needs_its_allocation_of_responsibilities(
    dpo_client,
):
    parties = GroupCompanyFactory.create_batch(2)
    add = reverse("admin:controllers_jointcontrollerarrangement_add")
    data = {
        **form_data(dpo_client.get(add)),
        "reference": "JCA-0100",
        "name": "Shared customer register",
        "parties": [str(party.pk) for party in parties],
        "scope": "The shared customer register.",
        "responsibilities": "",
    }

    response = dpo_client.post(add, data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "responsibilities": ["This field is required."]
    }
    assert not JointControllerArrangement.objects.exists()


def test_arrangement_an_import_left_without_responsibilities_is_completed_in_the_admin(
    dpo_client,
):
    arrangement = JointControllerArrangementFactory(responsibilities="")
    change = reverse(
        "admin:controllers_jointcontrollerarrangement_change", args=[arrangement.pk]
    )
    data = form_data(dpo_client.get(change))
    assert data["responsibilities"] == ""

    refused = dpo_client.post(change, data)
    saved = dpo_client.post(
        change, {**data, "responsibilities": "Each party answers its own customers."}
    )

    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["responsibilities"] == [
        "This field is required."
    ]
    assert saved.status_code == 302
    arrangement.refresh_from_db()
    assert arrangement.responsibilities == "Each party answers its own customers."


def test_organisation_art27_exemption_is_claimed_in_the_admin_with_its_reason(
    dpo_client,
):
    organisation = OrganisationFactory(name="Partner Inc", outside_eea=True)
    activity = ProcessingActivityFactory(organisations=[organisation])
    assert [gap.key for gap in activity.missing_elements()] == ["no_representative"]
    change = reverse("admin:controllers_organisation_change", args=[organisation.pk])
    page = dpo_client.get(change)
    data = form_data(page)
    # Rendered in the "Group and representation" fieldset: unchecked, empty.
    (fieldset,) = [
        fieldset
        for fieldset in page.context["adminform"]
        if fieldset.name == "Group and representation"
    ]
    assert {"art27_exempt", "art27_exemption_reason"} <= set(fieldset.fields)
    assert "art27_exempt" not in data
    assert data["art27_exemption_reason"] == ""

    refused = dpo_client.post(change, {**data, "art27_exempt": "on"})
    saved = dpo_client.post(
        change,
        {
            **data,
            "art27_exempt": "on",
            "art27_exemption_reason": "Occasional orders, no special category data.",
        },
    )

    assert refused.status_code == 200
    assert refused.context["adminform"].form.non_field_errors() == [
        "Give the reason for the Art. 27(2) exemption."
    ]
    assert saved.status_code == 302
    organisation.refresh_from_db()
    assert organisation.art27_exempt
    assert organisation.art27_exemption_reason == (
        "Occasional orders, no special category data."
    )
    assert activity.missing_elements() == []
