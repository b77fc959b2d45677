"""The screens a DPO works in every day: what they show and where they lead."""

from urllib.parse import urlencode

import lxml.html
import pytest
from django import forms
from django.urls import reverse

from ropa.admin.activities import next_free_reference
from ropa.core.admin_forms import SearchableSelect
from ropa.enums import ActivityStatus
from ropa.views import REFUSED
from tests.admin_pages import form_data
from tests.factories import (
    DataSubjectCategoryFactory,
    GroupCompanyFactory,
    InternationalTransferFactory,
    PersonalDataCategoryFactory,
    ProcessingActivityFactory,
    RecipientFactory,
)

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:ropa_processingactivity_changelist")
ADD = reverse("admin:ropa_processingactivity_add")


def change_url(activity):
    return reverse("admin:ropa_processingactivity_change", args=(activity.pk,))


def page(response):
    return lxml.html.document_fromstring(response.content)


# -- after saving, the list shows the record ---------------------------------


def test_a_new_draft_is_listed_after_saving(dpo_client):
    page_data = form_data(dpo_client.get(ADD))
    # What the add page offers: a draft, under the next free reference.
    assert (page_data["status"], page_data["reference"]) == (
        ActivityStatus.DRAFT,
        "PA-0001",
    )
    data = {
        **page_data,
        "name": "Newsletter",
        "purpose": "To send the newsletter.",
        "business_function": "Marketing",
        "organisations": [str(GroupCompanyFactory().pk)],
        "data_subject_categories": [str(DataSubjectCategoryFactory().pk)],
        "personal_data_categories": [str(PersonalDataCategoryFactory().pk)],
    }

    response = dpo_client.post(ADD, data, follow=True)

    assert response.redirect_chain[-1][0] == f"{CHANGELIST}?status=draft"
    listed = {row.reference for row in response.context["cl"].result_list}
    assert listed == {"PA-0001"}


@pytest.mark.parametrize(
    ("shown", "status", "expected"),
    [
        ("", ActivityStatus.ACTIVE, CHANGELIST),
        ("status=all", ActivityStatus.DRAFT, f"{CHANGELIST}?status=all"),
        ("status=active", ActivityStatus.DRAFT, f"{CHANGELIST}?status=draft"),
        (
            "status=active&business_function=Sales",
            ActivityStatus.RETIRED,
            f"{CHANGELIST}?status=retired&business_function=Sales",
        ),
        # Page 3 of the active list may not exist among the drafts.
        ("status=active&p=3", ActivityStatus.DRAFT, f"{CHANGELIST}?status=draft"),
        ("p=2", ActivityStatus.ACTIVE, f"{CHANGELIST}?p=2"),
    ],
)
def test_saving_from_a_filtered_list_returns_to_a_list_that_shows_the_record(
    dpo_client, shown, status, expected
):
    activity = ProcessingActivityFactory(status=ActivityStatus.ACTIVE)
    url = change_url(activity)
    if shown:
        url += "?" + urlencode({"_changelist_filters": shown})
    data = {**form_data(dpo_client.get(url)), "status": status}

    response = dpo_client.post(url, data)

    assert response.status_code == 302
    assert response.url == expected


# -- the list fits a laptop's screen -----------------------------------------


def test_the_list_summarises_the_organisations(dpo_client):
    first, *others = [
        GroupCompanyFactory(name=name)
        for name in ("Infobric AB", "Infobric Ease AB", "Infobric Fleet AB")
    ]
    ProcessingActivityFactory(organisations=[first, *others])

    response = dpo_client.get(CHANGELIST)

    (cell,) = page(response).find_class("field-organisation_list")
    assert cell.text_content().strip() == "Infobric AB +2"
    (summary,) = cell.xpath(".//span[@title]")
    assert summary.get("title") == "Infobric AB, Infobric Ease AB, Infobric Fleet AB"


def test_the_list_shows_the_columns_a_dpo_scans_first(dpo_client):
    ProcessingActivityFactory()

    response = dpo_client.get(CHANGELIST)

    headers = [
        next(
            name.removeprefix("column-")
            for name in th.get("class").split()
            if name.startswith("column-")
        )
        for th in page(response).xpath('//table[@id="result_list"]/thead/tr/th')[1:]
    ]
    assert headers == [
        "reference",
        "name",
        "status",
        "business_function",
        "organisation_list",
        "art30_gaps",
        "dpia_required",
        "next_review",
        "updated_on",
    ]


def test_retention_rules_have_narrow_text_boxes(dpo_client):
    activity = ProcessingActivityFactory()

    document = page(dpo_client.get(change_url(activity)))

    (criteria,) = document.xpath('//textarea[@name="retention_rules-0-criteria"]')
    assert (criteria.get("cols"), criteria.get("rows")) == ("24", "2")
    assert "vLargeTextField" not in (criteria.get("class") or "")
    # A long trigger wraps in sight: "after the end of the calendar year of…"
    for name in ("trigger", "legal_reference"):
        (box,) = document.xpath(f'//textarea[@name="retention_rules-0-{name}"]')
        assert (box.get("cols"), box.get("rows")) == ("18", "2")


def test_the_admin_has_no_navigation_sidebar(dpo_client):
    response = dpo_client.get(CHANGELIST)

    assert not page(response).xpath('//nav[@id="nav-sidebar"]')


# -- where the links lead ----------------------------------------------------


def test_view_site_leads_to_the_privacy_notice(dpo_client):
    response = dpo_client.get(reverse("admin:index"))

    (link,) = page(response).xpath('//div[@id="user-tools"]//a[text()="View site"]')
    assert link.get("href") == reverse("privacy-notice")


def test_view_on_site_shows_a_published_purpose_in_the_notice(dpo_client):
    activity = ProcessingActivityFactory(reference="PA-0042", in_notice=True)

    response = dpo_client.get(change_url(activity))

    (link,) = page(response).find_class("viewsitelink")
    assert link.get("href") == f"{reverse('privacy-notice')}#pa-0042"
    assert dpo_client.get(link.get("href")).status_code == 200


@pytest.mark.parametrize(
    "values", [{"status": ActivityStatus.DRAFT}, {"in_notice": False}]
)
def test_view_on_site_is_not_offered_for_what_the_notice_does_not_show(
    dpo_client, values
):
    activity = ProcessingActivityFactory(**{"in_notice": True, **values})

    response = dpo_client.get(change_url(activity))

    assert not page(response).find_class("viewsitelink")


def test_a_refused_action_is_an_admin_page_that_says_why(viewer_client):
    activity = ProcessingActivityFactory()
    referrer = f"http://testserver{change_url(activity)}"

    response = viewer_client.post(
        change_url(activity), {"name": "X"}, headers={"referer": referrer}
    )

    assert response.status_code == 403
    document = page(response)
    assert document.xpath('//*[@id="header"]')
    assert REFUSED in document.text_content()
    (back,) = document.xpath('//a[text()="Go back"]')
    assert back.get("href") == referrer


def test_a_refusal_never_links_back_to_another_site(viewer_client):
    activity = ProcessingActivityFactory()

    response = viewer_client.post(
        change_url(activity), {}, headers={"referer": "https://evil.example/"}
    )

    (back,) = page(response).xpath('//a[text()="Go back"]')
    assert back.get("href") == reverse("admin:index")


# -- the add page suggests, the pickers search -------------------------------


def test_next_free_reference_follows_the_highest_ever_used():
    ProcessingActivityFactory(reference="PA-0007")
    deleted = ProcessingActivityFactory(reference="PA-0012")
    deleted.delete()
    ProcessingActivityFactory(reference="HR-0090")

    # PA-0012 was deleted, and stays used: references are never reused.
    assert next_free_reference() == "PA-0013"


def test_next_free_reference_of_an_empty_register():
    assert next_free_reference() == "PA-0001"


def test_the_add_page_suggests_the_next_free_reference(dpo_client):
    ProcessingActivityFactory(reference="PA-0041")

    document = page(dpo_client.get(ADD))

    (reference,) = document.xpath('//input[@name="reference"]')
    assert reference.get("value") == "PA-0042"


def test_countries_are_searchable_selects(dpo_client):
    activity = ProcessingActivityFactory()
    InternationalTransferFactory(activity=activity)

    response = dpo_client.get(change_url(activity))

    document = page(response)
    (country,) = document.xpath('//select[@name="transfers-0-country"]')
    assert "searchable-select" in country.get("class").split()
    scripts = {script.get("src") for script in document.xpath("//script[@src]")}
    assert any(src.endswith("ropa/searchable_select.js") for src in scripts)


def test_a_transfer_picks_the_activitys_recipients_outside_the_eea_first(
    dpo_client,
):
    ours = RecipientFactory(name="Support desk, India", outside_eea=True)
    other = RecipientFactory(name="Hosting, USA", country="US")
    in_eea = RecipientFactory(name="Carrier, Sweden", country="SE")
    activity = ProcessingActivityFactory(recipients=[ours, in_eea])
    InternationalTransferFactory(activity=activity, recipient=ours)

    document = page(dpo_client.get(change_url(activity)))

    (select,) = document.xpath('//select[@name="transfers-0-recipient"]')
    groups = {
        group.get("label"): [option.text for option in group.xpath("option")]
        for group in select.xpath("optgroup")
    }
    assert groups["This activity's recipients outside the EEA"] == [ours.name]
    assert groups["Other recipients outside the EEA"] == [other.name]
    assert in_eea.name not in select.text_content()
    (chosen,) = select.xpath(".//option[@selected]")
    assert chosen.get("value") == str(ours.pk)


@pytest.mark.parametrize("value", [None, "", "IN", "SE"])
def test_searchable_select_writes_what_djangos_select_writes(value):
    choices = [
        ("", "---------"),
        ("IN", "India"),
        ("Europe", [("SE", "Sweden"), ("FR", 'France <"&">')]),
    ]
    attrs = {"id": "id_country", "required": True}

    def parsed(widget):
        html = widget.render("country", value, attrs={**attrs})
        (select,) = lxml.html.fragments_fromstring(html)
        return [
            (element.tag, sorted(element.attrib.items()), (element.text or "").strip())
            for element in select.iter()
        ]

    ours = SearchableSelect(choices=choices)
    django_select = forms.Select(attrs={"class": "searchable-select"}, choices=choices)
    assert parsed(ours) == parsed(django_select)
