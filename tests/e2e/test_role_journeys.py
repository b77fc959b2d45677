"""A contributor edits their function's activity; an auditor reads it (Chromium)."""

import re

import pytest

from ropa.roles import AUDITOR, CONTRIBUTOR
from tests.e2e.conftest import (
    ACTIVITIES,
    at,
    fits_width,
    log_in,
    member_of,
    open_activity,
)
from tests.factories import PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

PURPOSE = (
    "When you order goods and services, we process your personal data to "
    "register, deliver and invoice the order."
)
EXPLANATION = "Bookkeeping law requires us to keep the order's invoicing records."


def test_contributor_edits_their_functions_activity_and_the_auditor_reads_it(
    browser_page, second_page, sample_register
):
    page = browser_page
    contributor = member_of(CONTRIBUTOR, functions=["Sales"])
    log_in(page, contributor.username, PASSWORD)

    activity = open_activity(page, "PA-0001")
    assert activity.business_function == "Sales"
    page.fill("#id_purpose", PURPOSE)
    legal_obligation = page.locator(
        "#lawful_bases-group .inline-related:not(.empty-form)",
        has=page.locator(
            "select[name$=-basis] option[value=legal_obligation][selected]"
        ),
    )
    legal_obligation.locator("textarea[name$=-explanation]").fill(EXPLANATION)
    page.locator(
        "#lawful_bases-group .add-row a", has_text="Add another Lawful basis"
    ).click()
    new_basis = page.locator(
        "#lawful_bases-group .inline-related:not(.empty-form)"
    ).last
    new_basis.locator("select[name$=-basis]").select_option("contract")
    new_basis.locator("textarea[name$=-explanation]").fill("The order is a contract.")
    all_data = page.locator("#retention_rules-group tr.form-row", has_text="all data")
    all_data.locator("input[name$=-period]").fill("4")
    page.click("input[name=_save]")

    page.wait_for_url(at(ACTIVITIES))
    fits_width(page)
    assert page.locator(".messagelist .success").count() == 1
    activity.refresh_from_db()
    assert activity.purpose == PURPOSE
    assert dict(activity.lawful_bases.values_list("basis", "explanation")) == {
        "legal_obligation": EXPLANATION,
        "legitimate_interests": activity.lawful_bases.get(
            basis="legitimate_interests"
        ).explanation,
        "contract": "The order is a contract.",
    }
    assert activity.retention_rules.get(personal_data_category=None).period == 4
    assert activity.history.latest().history_user == contributor

    auditor = member_of(AUDITOR)
    log_in(second_page, auditor.username, PASSWORD)
    open_activity(second_page, "PA-0001")
    form = second_page.locator("#processingactivity_form")
    assert second_page.locator("#content h1").inner_text() == "View processing activity"
    assert form.locator(".field-purpose .readonly").inner_text() == PURPOSE
    assert EXPLANATION in form.locator("#lawful_bases-group").inner_text()
    # Nothing to type in, pick or tick, and nothing to save with.
    assert (
        form.locator(
            "input:not([type=hidden]), textarea, select, [contenteditable=true]"
        ).count()
        == 0
    )
    assert form.locator("input[type=submit], button[type=submit]").count() == 0
    # Role locators skip hidden elements: the inline's script adds an "Add
    # another" link to every inline, hidden where no row may be added.
    assert form.get_by_role("button", name=re.compile("^Add another")).count() == 0
    assert form.get_by_role("link", name=re.compile("^Delete")).count() == 0
