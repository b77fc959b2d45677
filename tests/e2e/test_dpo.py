"""A DPO keeps the register in a real browser."""

import re

import pytest

from ropa.models import ProcessingActivity
from tests.e2e.conftest import log_in
from tests.factories import (
    PASSWORD,
    DataSubjectCategoryFactory,
    GroupCompanyFactory,
    PersonalDataCategoryFactory,
    RecipientFactory,
    SecurityMeasureFactory,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def choose(page, field, text):
    """Pick ``text`` in the admin's autocomplete (select2) widget for ``field``."""
    page.locator(f"#id_{field} + .select2 .select2-selection").click()
    # The focused search box is the one of the widget just opened.
    page.keyboard.type(text)
    page.locator(".select2-results__option", has_text=text).first.click()


def test_dpo_creates_an_activity_with_inlines_finds_it_and_reads_its_history(
    browser_page, dpo_user
):
    page = browser_page
    GroupCompanyFactory(name="Infobric AB")
    DataSubjectCategoryFactory(name="Customer contacts")
    PersonalDataCategoryFactory(name="Contact details")
    RecipientFactory(name="IT service provider")
    SecurityMeasureFactory(name="Multi-factor authentication")
    log_in(page, dpo_user.username, PASSWORD)

    page.goto("/admin/ropa/processingactivity/add/")
    page.fill("#id_reference", "PA-0100")
    page.select_option("#id_status", "active")
    choose(page, "organisations", "Infobric AB")
    page.fill("#id_name", "To manage orders")
    page.fill("#id_purpose", "To register orders and talk to the customer about them.")
    page.fill("#id_business_function", "Sales")
    choose(page, "data_subject_categories", "Customer contacts")
    choose(page, "personal_data_categories", "Contact details")
    choose(page, "recipients", "IT service provider")
    choose(page, "security_measures", "Multi-factor authentication")
    page.locator("#lawful_bases-group .add-row a").click()
    page.select_option("#id_lawful_bases-0-basis", "contract")
    page.fill("#id_lawful_bases-0-explanation", "The order is a contract.")
    page.locator("#retention_rules-group .add-row a").click()
    page.fill("#id_retention_rules-0-period", "7")
    page.select_option("#id_retention_rules-0-period_unit", "years")
    page.fill("#id_retention_rules-0-trigger", "after the end of the financial year")
    page.fill("#id_change_reason", "New purpose from the sales team")
    page.click("input[name=_save]")
    page.wait_for_url(re.compile(r"/admin/ropa/processingactivity/(\?.*)?$"))

    activity = ProcessingActivity.objects.get(reference="PA-0100")
    assert activity.lawful_bases.get().basis == "contract"
    assert activity.retention_rules.get().period == 7
    assert activity.missing_elements() == []

    page.fill("#searchbar", "PA-0100")
    page.press("#searchbar", "Enter")
    page.wait_for_url("**q=PA-0100**")
    row = page.locator("#result_list tbody tr")
    assert row.count() == 1
    assert "To manage orders" in row.first.inner_text()

    row.first.locator("a").first.click()
    page.get_by_role("link", name="History").click()
    history = page.locator("#change-history").inner_text()
    assert "New purpose from the sales team" in history
    assert dpo_user.username in history
