"""A DPO's daily tasks on the sample register, in a real browser."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from ropa.core.rows import CHANGED, DELETED, INVALID, NEW, UNCHANGED
from ropa.core.versioning import STALE
from ropa.enums import ReviewOutcome
from ropa.exchange import layout
from ropa.exchange.plan import import_reason
from ropa.models import ProcessingActivity, Recipient, Review
from ropa.review import NOTES_REQUIRED
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
    open_export_page,
)
from tests.factories import PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

NEW_PURPOSE = (
    "When you order goods and services, we process your personal data to "
    "register the order, deliver it and answer your questions about it."
)


def texts(locator):
    """The text of each element, as written (not as styled, e.g. in capitals)."""
    return [text.strip() for text in locator.all_text_contents()]


def new_text(cell):
    """What a preview's cell says the text becomes: its words less those struck
    out (``<del>``), spaces collapsed."""
    text = cell.evaluate(
        """cell => {
            const copy = cell.cloneNode(true);
            copy.querySelectorAll("del").forEach(gone => gone.remove());
            return copy.textContent;
        }"""
    )
    return " ".join(text.split())


def table(page, selector):
    """The HTML table ``selector`` as {row heading: {column heading: text}}."""
    headings = texts(page.locator(f"{selector} thead th"))
    rows = {}
    for row in page.locator(f"{selector} tbody tr").all():
        heading, *cells = texts(row.locator("th, td"))
        rows[heading] = dict(zip(headings[1:], cells, strict=True))
    return rows


def changed_successfully(activity):
    """The message the admin shows after a change is saved."""
    return f"The processing activity \u201c{activity}\u201d was changed successfully."


def test_dpo_edits_an_activity_with_its_inline_rows_and_finds_the_change(
    browser_page, sample_register
):
    page = browser_page
    dpo = member_of(DPO)
    log_in(page, dpo.username, PASSWORD)

    activity = open_activity(page, "PA-0001")
    assert page.locator("#id_name").input_value() == activity.name
    page.fill("#id_purpose", NEW_PURPOSE)
    page.locator(
        "#lawful_bases-group .add-row a", has_text="Add another Lawful basis"
    ).click()
    new_row = page.locator("#lawful_bases-group .inline-related:not(.empty-form)").last
    new_row.locator("select[name$=-basis]").select_option("contract")
    new_row.locator("textarea[name$=-explanation]").fill(
        "The order is a contract with the customer."
    )
    page.locator(
        "#retention_rules-group tr.form-row", has_text="Invoicing details"
    ).locator("input[name$=-DELETE]").check()
    page.fill("#id_change_reason", "Purpose reworded, contract basis added")
    page.click("input[name=_save]")

    page.wait_for_url(at(ACTIVITIES))
    fits_width(page)
    assert page.locator(".messagelist .success").inner_text() == changed_successfully(
        activity
    )
    assert "PA-0001" in page.locator("#result_list").inner_text()
    page.fill("#searchbar", "deliver it and answer")
    page.press("#searchbar", "Enter")
    page.wait_for_url("**q=deliver**")
    fits_width(page)
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "PA-0001" in rows.first.inner_text()

    activity.refresh_from_db()
    assert activity.purpose == NEW_PURPOSE
    assert sorted(activity.lawful_bases.values_list("basis", flat=True)) == [
        "contract",
        "legal_obligation",
        "legitimate_interests",
    ]
    assert not activity.retention_rules.filter(
        personal_data_category__name="Invoicing details"
    ).exists()
    assert activity.retention_rules.count() == 1

    rows.first.get_by_role("link", name="PA-0001").click()
    page.get_by_role("link", name="History").click()
    page.wait_for_url(
        at(reverse("admin:ropa_processingactivity_history", args=(activity.pk,)))
    )
    fits_width(page)
    latest = page.locator("#change-history tbody tr").first.inner_text()
    assert "Purpose reworded, contract basis added" in latest
    assert dpo.username in latest
    assert "Purpose:" in latest
    # The same save's rows, in the same entry.
    assert "Lawful basis added" in latest
    assert "Retention rule deleted" in latest


def test_dpo_adds_a_transfer_picking_the_country_by_typing(
    browser_page, sample_register
):
    page = browser_page
    log_in(page, member_of(DPO).username, PASSWORD)
    activity = open_activity(page, "PA-0001")
    outside = Recipient.objects.create(
        name="Support desk, India", recipient_type="processor", country="IN"
    )
    activity.recipients.add(outside)
    page.reload()

    page.locator(
        "#transfers-group .add-row a", has_text="Add another International transfer"
    ).click()
    row = page.locator("#transfers-group .inline-related:not(.empty-form)").last
    # The country list is searchable: type, then pick the match.
    row.locator(".field-country .select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").fill("Indi")
    page.locator(".select2-results").get_by_role(
        "option", name="India", exact=True
    ).click()
    recipient = row.locator("select[name$=-recipient]")
    assert recipient.locator("optgroup").first.get_attribute("label") == (
        "This activity's recipients outside the EEA"
    )
    recipient.select_option(label="Support desk, India")
    row.locator("select[name$=-mechanism]").select_option("scc")
    fits_width(page)
    page.click("input[name=_save]")

    page.wait_for_url(at(ACTIVITIES))
    transfer = activity.transfers.get()
    assert (transfer.country, transfer.recipient) == ("IN", outside)


def test_dpo_save_over_another_dpos_change_is_refused_and_says_who_changed_what(
    browser_page, second_page, sample_register
):
    first, second = member_of(DPO), member_of(DPO)
    log_in(browser_page, first.username, PASSWORD)
    log_in(second_page, second.username, PASSWORD)
    activity = open_activity(browser_page, "PA-0001")
    open_activity(second_page, "PA-0001")
    seen = activity.version

    browser_page.fill("#id_purpose", NEW_PURPOSE)
    browser_page.click("input[name=_save]")
    browser_page.wait_for_url(at(ACTIVITIES))
    assert browser_page.locator(".messagelist .success").count() == 1

    second_page.fill("#id_name", "To manage orders and deliveries")
    second_page.click("input[name=_save]")

    saved = activity.history.latest()
    assert saved.history_user == first
    refused = STALE.format(
        model="processing activity",
        user=first.username,
        moment=timezone.localtime(saved.history_date).strftime("%Y-%m-%d %H:%M"),
        changes="changed: purpose",
    )
    # Shown on the page the second DPO is on, above the form they filled in.
    second_page.get_by_text(refused, exact=True).wait_for(state="visible")
    assert second_page.url.endswith(
        change_url(activity) + "?_changelist_filters=q%3DPA-0001"
    )
    fits_width(second_page)
    assert second_page.locator("#id_name").input_value() == (
        "To manage orders and deliveries"
    )
    activity.refresh_from_db()
    assert (activity.purpose, activity.name) == (NEW_PURPOSE, "To manage orders")
    assert activity.version == seen + 1
    assert activity.history.latest() == saved


def test_dpo_exports_edits_and_imports_the_register_after_its_preview(
    browser_page, sample_register, tmp_path
):
    page = browser_page
    dpo = member_of(DPO)
    activity = ProcessingActivity.objects.get(reference="PA-0001")
    old_purpose = activity.purpose
    log_in(page, dpo.username, PASSWORD)

    page.goto(ACTIVITIES)
    fits_width(page)
    open_export_page(page)
    assert page.locator("#id_format").input_value() == "xlsx"
    with page.expect_download() as download_info:
        page.click("#export-register-form input[type=submit]")
    download = download_info.value
    assert download.failure() is None
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    edit_purpose(path, "PA-0001", NEW_PURPOSE)

    page.goto(ACTIVITIES)
    page.get_by_role("link", name="Import register", exact=True).click()
    page.wait_for_url(at(reverse("admin:ropa_processingactivity_import_register")))
    fits_width(page)
    page.set_input_files("#import-register-form input[type=file]", path)
    page.click("#import-register-form input[type=submit]")
    page.wait_for_selector("#import-counts")
    fits_width(page)

    others = ProcessingActivity.objects.count() - 1
    assert table(page, "#import-counts")[layout.ACTIVITIES.name] == {
        NEW.capitalize(): "0",
        CHANGED.capitalize(): "1",
        UNCHANGED.capitalize(): str(others),
        DELETED.capitalize(): "0",
        INVALID.capitalize(): "0",
    }
    # One row changes, one cell of it, and the preview shows the new words.
    changes = page.locator("#import-changes tbody tr")
    assert changes.count() == 1
    where = texts(changes.first.locator("td"))
    assert where[:5] == [CHANGED, layout.ACTIVITIES.name, "2", "PA-0001", "Purpose"]
    assert "deliver it and answer your questions about it." in new_text(
        changes.first.locator("td").last
    )
    activity.refresh_from_db()
    assert activity.purpose == old_purpose

    page.get_by_role("button", name="Confirm the import").click()
    page.wait_for_url(at(ACTIVITIES))
    fits_width(page)
    assert page.locator(".messagelist .success").inner_text() == (
        f"{import_reason(download.suggested_filename)}: Activities 1 {CHANGED}."
    )
    open_activity(page, "PA-0001")
    assert page.locator("#id_purpose").input_value() == NEW_PURPOSE
    activity.refresh_from_db()
    assert activity.purpose == NEW_PURPOSE
    saved = activity.history.latest()
    assert (saved.history_user, saved.history_change_reason) == (
        dpo,
        import_reason(download.suggested_filename),
    )


def test_dpo_signs_off_open_reviews_from_the_activity_and_from_the_review_list(
    browser_page, sample_register
):
    page = browser_page
    call_command("yearly_review", stdout=StringIO())
    dpo = member_of(DPO)
    today = timezone.localdate()
    log_in(page, dpo.username, PASSWORD)

    activity = open_activity(page, "PA-0001")
    page.locator(".object-tools").get_by_role("link", name="Mark reviewed").click()
    page.wait_for_url(
        at(reverse("admin:ropa_processingactivity_mark_reviewed", args=(activity.pk,)))
    )
    fits_width(page)
    assert "PA-0001" in page.locator("#reviews-to-mark").inner_text()
    assert page.get_by_label(ReviewOutcome.CONFIRMED.label).is_checked()
    page.click("#mark-reviewed-form input[type=submit]")
    page.wait_for_url(at(change_url(activity)))
    fits_width(page)
    assert page.locator(".messagelist .success").inner_text() == (
        f"Marked 1 review reviewed ({ReviewOutcome.CONFIRMED.label})."
    )
    assert page.locator(".object-tools .mark-reviewed-link").count() == 0
    review = activity.reviews.get()
    assert (review.completed_on, review.reviewer, review.outcome) == (
        today,
        dpo,
        ReviewOutcome.CONFIRMED,
    )

    page.goto("/admin/")
    page.locator("#content-main .app-ropa").get_by_role(
        "link", name="Reviews", exact=True
    ).click()
    page.wait_for_url(at(reverse("admin:ropa_review_changelist")))
    fits_width(page)
    for reference in ("PA-0002", "PA-0003"):
        page.locator("#result_list tbody tr", has_text=reference).locator(
            "input.action-select"
        ).check()
    page.select_option("select[name=action]", "mark_reviewed")
    page.click(".actions button[type=submit]")
    page.wait_for_selector("#mark-reviewed-form")
    fits_width(page)
    assert [
        line.split(":")[0] for line in texts(page.locator("#reviews-to-mark li"))
    ] == [
        str(ProcessingActivity.objects.get(reference=reference))
        for reference in ("PA-0002", "PA-0003")
    ]
    page.get_by_label(ReviewOutcome.CHANGED.label, exact=True).check()
    page.click("#mark-reviewed-form input[type=submit]")
    assert page.locator("#mark-reviewed-form .errorlist").inner_text() == NOTES_REQUIRED
    fits_width(page)
    page.fill("#mark-reviewed-form textarea[name=notes]", "Retention rules updated.")
    page.click("#mark-reviewed-form input[type=submit]")
    page.wait_for_url(at(reverse("admin:ropa_review_changelist")))
    fits_width(page)
    assert page.locator(".messagelist .success").inner_text() == (
        f"Marked 2 reviews reviewed ({ReviewOutcome.CHANGED.label})."
    )
    signed = Review.objects.filter(completed_on__isnull=False).exclude(pk=review.pk)
    assert sorted(
        (r.activity.reference, r.reviewer, r.outcome, r.notes) for r in signed
    ) == [
        (reference, dpo, ReviewOutcome.CHANGED, "Retention rules updated.")
        for reference in ("PA-0002", "PA-0003")
    ]
