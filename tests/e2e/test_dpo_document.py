"""A DPO downloads the register as a PDF from the admin, in a real browser."""

import pytest
from django.utils import timezone

from ropa.roles import DPO
from tests.e2e.conftest import at, log_in, member_of, open_export_page
from tests.factories import PASSWORD, ProcessingActivityFactory
from tests.ropa.exchange.test_pdf_document import Pdf

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

ACTIVITIES = "/admin/ropa/processingactivity/"


def test_dpo_downloads_the_register_as_a_pdf_with_drafts(browser_page, roles, tmp_path):
    page = browser_page
    ProcessingActivityFactory(reference="PA-0001", name="Åsa Ström's orders")
    ProcessingActivityFactory(reference="PA-0002", name="A draft", status="draft")
    dpo = member_of(DPO)
    log_in(page, dpo.username, PASSWORD)

    page.locator("#content-main .app-ropa").get_by_role(
        "link", name="Processing activities", exact=True
    ).click()
    page.wait_for_url(at(ACTIVITIES))
    open_export_page(page)
    page.select_option("#id_format", "pdf")
    page.get_by_label("Include drafts").check()
    with page.expect_download() as download_info:
        page.click("#export-register-form input[type=submit]")
    download = download_info.value

    assert download.failure() is None
    today = timezone.localdate().isoformat()
    assert download.suggested_filename == f"ropa-register-all-{today}.pdf"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    text = Pdf(path.read_bytes()).text
    assert "PA-0001 Åsa Ström's orders" in text
    assert "PA-0002 A draft" in text
    assert "Statuses included Active and draft (retired records left out)" in text
