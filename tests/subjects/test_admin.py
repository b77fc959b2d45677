"""The admin of personal data categories: their CNIL group, filtered and edited."""

import lxml.html
import pytest
from django.urls import reverse

from subjects.enums import CnilGroup
from subjects.models import PersonalDataCategory
from tests.admin_pages import form_data
from tests.factories import PersonalDataCategoryFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:subjects_personaldatacategory_changelist")
ADD = reverse("admin:subjects_personaldatacategory_add")


def _document(response):
    return lxml.html.document_fromstring(response.content.decode())


def _follow_filter(client, choice):
    """The changelist after a click on the filter's link ``choice``."""
    page = client.get(CHANGELIST)
    [href] = _document(page).xpath(
        '//*[@id="changelist-filter"]//a[normalize-space()=$text]/@href', text=choice
    )
    return client.get(CHANGELIST + href)


def _listed(response):
    return {category.name for category in response.context["cl"].result_list}


@pytest.mark.parametrize(
    ("choice", "expected"),
    [("Not grouped", {"Visits"}), (CnilGroup.CONNECTION.label, {"IP address"})],
    ids=["not-grouped", "connection"],
)
def test_changelist_filters_on_the_cnil_group(dpo_client, choice, expected):
    PersonalDataCategoryFactory(name="Visits", ungrouped=True)
    PersonalDataCategoryFactory(name="IP address", cnil_group=CnilGroup.CONNECTION)
    PersonalDataCategoryFactory(name="Name", cnil_group=CnilGroup.IDENTITY)

    assert _listed(_follow_filter(dpo_client, choice)) == expected


def test_add_form_offers_every_cnil_group_and_saves_the_one_chosen(dpo_client):
    page = dpo_client.get(ADD)
    options = _document(page).xpath('//select[@name="cnil_group"]/option/@value')
    data = form_data(page)
    data.update(name="IP address", cnil_group=CnilGroup.CONNECTION)

    response = dpo_client.post(ADD, data)

    assert options == ["", *CnilGroup.values]
    assert response.status_code == 302
    assert PersonalDataCategory.objects.get().cnil_group == CnilGroup.CONNECTION
