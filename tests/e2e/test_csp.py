"""
The pages a DPO works in, and the public notice, under the site's
Content-Security-Policy (Chromium).

The policy runs only scripts and styles the site serves as files: an inline
script, style element, style attribute or event handler attribute anywhere
on these pages would be refused, and Chromium says so on the console: "Refused
to execute inline script because it violates the following Content Security
Policy directive..." or, in its newer words, "Applying inline style violates
the following Content Security Policy directive...".
The journey walks through each page and uses its scripts (filters, inline
rows, the add-another popup, the calendar, autocomplete, the export's
"Select all", the import preview), then asserts that nothing was refused.
"""

import csv
import io
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from ropa.models import ProcessingActivity, Recipient, SecurityMeasure
from ropa.resources import SecurityMeasureResource
from ropa.roles import DPO
from tests.e2e.conftest import (
    ACTIVITIES,
    at,
    change_url,
    edit_purpose,
    fits_width,
    log_in,
    member_of,
    open_activity,
)
from tests.factories import PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

#: What every refusal Chromium reports says, in its older and newer words.
REFUSED = "Content Security Policy"


@pytest.fixture
def refusals(browser_page):
    """
    What Chromium refuses under the policy, on the page and on any page it
    opens (the add-another popup): [(url, console message)].
    """
    found = []

    def heard(message):
        if REFUSED in message.text:
            found.append((message.page.url if message.page else "", message.text))

    browser_page.context.on("console", heard)
    return found


@pytest.fixture
def pages_without_policy(browser_page):
    """The pages (documents) the browser got without the policy: [url]."""
    found = []

    def received(response):
        if response.request.resource_type == "document" and (
            "content-security-policy" not in response.headers
        ):
            found.append(response.url)

    browser_page.context.on("response", received)
    return found


def computed(page, selector, prop):
    """The computed CSS ``prop`` of the first ``selector`` on ``page``."""
    return page.locator(selector).first.evaluate(
        f"element => getComputedStyle(element).{prop}"
    )


def edited_measures():
    """The security measures as their list exports them, one description edited."""
    rows = list(csv.reader(io.StringIO(SecurityMeasureResource().export().csv)))
    column = rows[0].index("description")
    rows[1][column] = f"{rows[1][column]} Reviewed every quarter."
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def test_the_listener_hears_a_refusal(browser_page, refusals, live_server):
    # The journey below can fail: a style element added to a served page is
    # refused and heard.
    page = browser_page
    page.goto(reverse("privacy-notice"))

    page.evaluate(
        """() => {
            const style = document.createElement("style");
            style.textContent = "body { color: red; }";
            document.head.append(style);
        }"""
    )
    page.wait_for_timeout(200)

    assert [text for _, text in refusals if "style-src" in text]


def test_dpo_pages_and_the_notice_run_under_the_policy(
    browser_page, refusals, pages_without_policy, sample_register, tmp_path
):
    page = browser_page
    dpo = member_of(DPO)

    # The public notice: its stylesheet is a file of the site.
    page.goto(reverse("privacy-notice"))
    assert "system-ui" in computed(page, "body", "fontFamily")

    # The index and its dashboard.
    log_in(page, dpo.username, PASSWORD)
    assert computed(page, "#register-dashboard td.count", "textAlign") == "right"
    # The health table's columns and the pictures fit the window.
    assert page.locator("#register-health svg.ropa-health-chart").is_visible()
    assert page.locator("#register-flow-picture svg.ropa-flow").is_visible()
    fits_width(page)

    # The activity list: a filter, a search.
    page.goto(ACTIVITIES)
    page.locator("#changelist-filter").get_by_role("link", name="All").first.click()
    page.wait_for_url("**status=all**")

    # The change form: autocomplete, an inline row added, a collapsed group.
    activity = open_activity(page, "PA-0001")
    # Where its data goes: an inline SVG, sized by the charts' stylesheet.
    assert page.locator("#flow-picture svg.ropa-flow").is_visible()
    assert computed(page, "#flow-picture svg.ropa-chart", "display") == "block"
    page.locator("#id_organisations + .select2 .select2-selection").click()
    page.wait_for_selector(".select2-results__option")
    page.keyboard.press("Escape")
    page.locator("#lawful_bases-group .add-row a").click()
    page.locator("summary", has_text="Systems, profiling and DPIA").click()

    # The add-another popup, which hands the new recipient to the form.
    with page.expect_popup() as opened:
        page.click("#add_id_recipients")
    popup = opened.value
    popup.wait_for_load_state()
    popup.fill("#id_name", "Courier for the CSP test")
    popup.select_option("#id_recipient_type", "external")
    with popup.expect_event("close"):
        popup.click("input[name=_save]")
    recipient = Recipient.objects.get(name="Courier for the CSP test")
    selected = page.locator("#id_recipients option:checked").all_inner_texts()
    assert recipient.name in selected

    # History: the list of changes and a version.
    page.goto(reverse("admin:ropa_processingactivity_history", args=(activity.pk,)))
    assert computed(page, "#change-history table", "tableLayout") == "fixed"
    page.locator("#change-history th a").first.click()
    page.wait_for_selector("#content-main form")

    # Date widgets: the calendar and "Today".
    page.goto(reverse("admin:controllers_processoragreement_add"))
    page.locator(".datetimeshortcuts a", has_text="Today").first.click()
    assert page.locator("#id_signed_on").input_value()
    page.click("#calendarlink1")
    page.locator("#calendarbox1 td a").first.click()
    assert page.locator("#id_expires_on").input_value()

    # A list's export: "Select all" unticks every field.
    page.goto(reverse("admin:ropa_securitymeasure_export"))
    page.uncheck("#select-all-toggle")
    fields = page.locator(".selectable-field-export-row input[type=checkbox]")
    assert fields.count() > 1
    assert not [box for box in fields.all() if box.is_checked()]
    assert computed(page, ".select-all-label", "fontWeight") == "700"

    # A list's import preview, with the changed words marked.
    page.goto(reverse("admin:ropa_securitymeasure_import"))
    path = tmp_path / "measures.csv"
    path.write_bytes(edited_measures())
    page.set_input_files("input[type=file]", str(path))
    page.select_option("#id_format", "0")
    page.click("input[type=submit]")
    page.wait_for_selector("#import-rows")
    assert page.locator(".import-diff ins").count() >= 1
    assert SecurityMeasure.objects.filter(description__contains="quarter").count() == 0

    # The register's import preview.
    workbook = tmp_path / "register.xlsx"
    call_command("export_register", "--output", str(workbook), stdout=StringIO())
    edit_purpose(workbook, "PA-0001", "To register and deliver orders, and no more.")
    page.goto(reverse("admin:ropa_processingactivity_import_register"))
    page.set_input_files("#import-register-form input[type=file]", str(workbook))
    page.click("#import-register-form input[type=submit]")
    page.wait_for_selector("#import-counts")
    assert page.locator("#import-changes ins").count() >= 1

    # The activity page again, after all of it.
    page.goto(change_url(activity))
    page.wait_for_url(at(change_url(activity)))
    assert ProcessingActivity.objects.get(pk=activity.pk).purpose == activity.purpose

    assert pages_without_policy == []
    assert refusals == []
