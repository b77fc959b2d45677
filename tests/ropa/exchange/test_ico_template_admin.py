"""
A filled ICO template imported through the admin's import page, as a browser
uploads it: no controller chosen, the header block names it (issue #13).
"""

import lxml.html
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from controllers.models import Organisation
from ropa.core.uploads import folder
from ropa.enums import ActivityStatus
from ropa.exchange.plan import import_reason
from ropa.models import ProcessingActivity
from tests.admin_pages import database_state, form_data
from tests.factories import GroupCompanyFactory
from tests.ropa.exchange import ico_files
from tests.ropa.exchange.ico_files import CONTROLLER, HEADINGS, OFFICER, OWNER

pytestmark = pytest.mark.django_db

IMPORT_URL = "admin:ropa_processingactivity_import_register"
CONFIRM_URL = "admin:ropa_processingactivity_import_register_confirm"
FILE_NAME = "northwind-ropa.xlsx"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def uploads(settings, tmp_path):
    """The folder uploads wait in, empty, for each test."""
    settings.ROPA_IMPORT_UPLOAD_DIR = str(tmp_path / "uploads")
    return folder()


def _listed(page, list_id):
    document = lxml.html.document_fromstring(page.content.decode())
    return [
        " ".join(item.text_content().split())
        for item in document.xpath(f'//ul[@id="{list_id}"]/li')
    ]


def test_ico_template_imported_through_the_admin_page(dpo_client, dpo_user, tmp_path):
    # Another controller in the register: the user leaves the choice empty.
    GroupCompanyFactory(name="Other Group Ltd")
    path = ico_files.write_northwind(tmp_path / FILE_NAME)
    form = dpo_client.get(reverse(IMPORT_URL))
    data = form_data(form, form_id="import-register-form", submit=None)
    assert data["format"] == "ours"
    assert data["controller"] == ""
    document = lxml.html.document_fromstring(form.content.decode())
    assert document.xpath('//input[@name="format"][@type="radio"][@value="ico"]')
    before = database_state()

    preview = dpo_client.post(
        reverse(IMPORT_URL),
        {
            **data,
            "format": "ico",
            "file": SimpleUploadedFile(FILE_NAME, path.read_bytes(), XLSX),
        },
    )

    assert preview.status_code == 200
    assert preview.templates[0].name == "admin/ropa/import_preview.html"
    created = _listed(preview, "import-created")
    for kind, name, row, column in (
        ("Organisation", CONTROLLER.name, 3, "Controller"),
        ("Data protection officer", OFFICER.name, 3, "Data Protection Officer"),
        ("Organisation", "Harbour Foods Ltd", 11, HEADINGS[2]),
        (
            "Joint controller arrangement",
            f"JCA-0001 {CONTROLLER.name} with Harbour Foods Ltd",
            11,
            HEADINGS[2],
        ),
        (
            "Processor agreement",
            f"DPA-0001: {ico_files.PAYROLL_CONTRACT}",
            10,
            HEADINGS[6],
        ),
        ("Recipient", "Payroll Bureau Ltd", 10, HEADINGS[5]),
    ):
        assert (
            f"Would create, to review: {kind} '{name}' (from sheet 'Template', "
            f"row {row}, column '{column}')"
        ) in created
    assert any(line.startswith(f"Column '{OWNER}'") for line in created)
    assert not preview.context["errors"]
    assert database_state() == before

    confirmed = dpo_client.post(
        reverse(CONFIRM_URL),
        form_data(preview, form_id="import-confirm-form", submit="confirm"),
    )

    assert confirmed.status_code == 302
    assert confirmed.url == reverse("admin:ropa_processingactivity_changelist")
    controller = Organisation.objects.get(name=CONTROLLER.name)
    assert controller.dpo.email == OFFICER.email
    activities = ProcessingActivity.objects.all()
    assert sorted(activity.name for activity in activities) == [
        "Answering customer enquiries",
        "Loyalty card",
        "Payroll",
        "Sickness absence management",
    ]
    for activity in activities:
        assert activity.status == ActivityStatus.DRAFT
        assert list(activity.organisations.all()) == [controller]
        record = activity.history.first()
        assert (record.history_user, record.history_change_reason) == (
            dpo_user,
            import_reason(FILE_NAME),
        )
    assert ProcessingActivity.objects.get(name="Payroll").import_notes == (
        f"{OWNER}: Head of HR"
    )
