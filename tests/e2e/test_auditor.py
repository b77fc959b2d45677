"""An auditor exports the register and changes nothing, in a real browser."""

from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from ropa.exchange import layout
from ropa.models import ProcessingActivity
from ropa.roles import AUDITOR, DPO
from tests.admin_pages import form_data
from tests.e2e.conftest import at, log_in, member_of, open_export_page
from tests.factories import PASSWORD, ProcessingActivityFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

ACTIVITIES = "/admin/ropa/processingactivity/"


def exported_activities(path):
    """The rows of the workbook's Activities sheet, as dicts keyed by column."""
    workbook = load_workbook(path, read_only=True)
    try:
        header, *rows = workbook[layout.ACTIVITIES.name].iter_rows(values_only=True)
        assert header[: len(layout.ACTIVITIES.headers)] == layout.ACTIVITIES.headers
        return [dict(zip(layout.ACTIVITIES.headers, row, strict=False)) for row in rows]
    finally:
        workbook.close()


def test_auditor_exports_the_register_as_xlsx_from_the_admin(
    browser_page, roles, tmp_path
):
    page = browser_page
    ProcessingActivityFactory(reference="PA-0001", name="To manage orders")
    ProcessingActivityFactory(
        reference="PA-0002", name="To pay salaries", business_function="Payroll"
    )
    ProcessingActivityFactory(reference="PA-0003", status="draft", bare=True)
    auditor = member_of(AUDITOR)
    log_in(page, auditor.username, PASSWORD)

    page.locator("#content-main .app-ropa").get_by_role(
        "link", name="Processing activities", exact=True
    ).click()
    page.wait_for_url(at(ACTIVITIES))
    open_export_page(page)
    assert page.locator("#id_format").input_value() == "xlsx"
    with page.expect_download() as download_info:
        page.click("#export-register-form input[type=submit]")
    download = download_info.value

    assert download.failure() is None
    today = timezone.localdate().isoformat()
    assert download.suggested_filename == f"ropa-register-all-{today}.xlsx"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    rows = exported_activities(path)
    assert {row["Reference"]: row["Name"] for row in rows} == {
        "PA-0001": "To manage orders",
        "PA-0002": "To pay salaries",
        "PA-0003": ProcessingActivity.objects.get(reference="PA-0003").name,
    }


def test_auditor_sees_an_activity_read_only_and_a_crafted_save_is_refused(
    browser_page, roles
):
    page = browser_page
    activity = ProcessingActivityFactory(reference="PA-0001", name="To manage orders")
    change_url = reverse("admin:ropa_processingactivity_change", args=(activity.pk,))
    # What the change form posts when a DPO renames the activity: a save that
    # the admin accepts from those who may change it (checked at the end).
    dpo = Client()
    dpo.force_login(member_of(DPO))
    payload = {**form_data(dpo.get(change_url)), "name": "Renamed by the auditor"}
    versions = activity.history.count()
    auditor = member_of(AUDITOR)
    log_in(page, auditor.username, PASSWORD)

    page.goto(ACTIVITIES)
    page.locator("#result_list").get_by_role("link", name="PA-0001").click()
    page.wait_for_url(at(change_url))
    assert page.locator("#content h1").inner_text() == "View processing activity"
    assert page.locator(".field-name .readonly").inner_text() == "To manage orders"
    assert page.locator("#id_name").count() == 0
    assert page.locator("#id_change_reason").count() == 0
    assert page.locator(".submit-row input[type=submit]").count() == 0
    assert page.locator(".submit-row .deletelink").count() == 0

    token = page.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    response = page.request.post(
        change_url,
        data=urlencode({**payload, "csrfmiddlewaretoken": token}, doseq=True),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        max_redirects=0,
    )

    assert response.status == 403
    # Refused for the user's rights, not for a missing or bad CSRF token.
    assert "CSRF verification failed" not in response.text()
    activity.refresh_from_db()
    assert activity.name == "To manage orders"
    assert activity.history.count() == versions
    # The same post from the DPO saves: it was refused for who sent it.
    assert dpo.post(change_url, payload).status_code == 302
    activity.refresh_from_db()
    assert activity.name == "Renamed by the auditor"
