import io
import os
import time
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from ropa.core.uploads import folder
from ropa.exchange import layout
from ropa.exchange.admin_import import (
    CANCELLED,
    SESSION_KEY,
    UPLOAD_GONE,
)
from ropa.exchange.export import export_register
from ropa.exchange.plan import import_reason
from ropa.models import ProcessingActivity
from tests.factories import StaffUserFactory
from tests.ropa.exchange.test_ico_import import PAYROLL, write_template

# Every test runs over the sample register, loaded once for the module.
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("sample_register"),
]

IMPORT_URL = "admin:ropa_processingactivity_import_register"
CONFIRM_URL = "admin:ropa_processingactivity_import_register_confirm"
FILE_NAME = "register.xlsx"
CHANGED_FUNCTION = "Customer care"


@pytest.fixture(autouse=True)
def uploads(settings, tmp_path):
    """The folder uploads wait in, empty, for each test."""
    settings.ROPA_IMPORT_UPLOAD_DIR = str(tmp_path / "uploads")
    return folder()


@pytest.fixture
def workbook(tmp_path):
    """Our export with one edit: PA-0003's business function."""
    path = tmp_path / FILE_NAME
    with path.open("wb") as out:
        export_register(fmt="xlsx", out=out)
    book = load_workbook(path)
    sheet = book[layout.ACTIVITIES.name]
    column = layout.ACTIVITIES.headers.index("Business function") + 1
    sheet.cell(row=4, column=column, value=CHANGED_FUNCTION)
    book.save(path)
    return path


def broken_workbook():
    """A zip that names a workbook part, which is not XML."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types")
        archive.writestr("xl/workbook.xml", "<workbook")
    return buffer.getvalue()


def upload(client, path, **data):
    with path.open("rb") as file:
        return client.post(
            reverse(IMPORT_URL),
            {
                "file": SimpleUploadedFile(path.name, file.read()),
                "format": "ours",
                **data,
            },
        )


def waiting(uploads):
    return sorted(path.name for path in uploads.iterdir()) if uploads.exists() else []


def business_function():
    return ProcessingActivity.objects.get(reference="PA-0003").business_function


def test_import_page_opens_for_the_dpo(dpo_client):
    response = dpo_client.get(reverse(IMPORT_URL))

    assert response.status_code == 200
    assert b'enctype="multipart/form-data"' in response.content


@pytest.mark.parametrize("url", [IMPORT_URL, CONFIRM_URL])
def test_import_pages_are_refused_to_an_auditor(viewer_client, url):
    assert viewer_client.get(reverse(url)).status_code == 403
    assert viewer_client.post(reverse(url)).status_code == 403


@pytest.mark.parametrize(
    "permissions",
    [["ropa.view_processingactivity", "ropa.change_processingactivity"]],
)
def test_import_page_needs_add_permission_too(client, permissions):
    client.force_login(StaffUserFactory(permissions=permissions))

    assert client.get(reverse(IMPORT_URL)).status_code == 403


def test_import_page_sends_anonymous_users_to_the_login(client):
    response = client.get(reverse(IMPORT_URL))

    assert response.status_code == 302
    assert reverse("admin:login") in response.url


def test_import_upload_previews_without_writing(dpo_client, workbook, uploads):
    before = business_function()

    response = upload(dpo_client, workbook)

    assert response.status_code == 200
    assert response.templates[0].name == "admin/ropa/import_preview.html"
    counts = dict(response.context["counts"])
    assert counts[layout.ACTIVITIES.name] == [0, 1, 25, 0, 0]
    assert [row.key for row in response.context["changed_rows"]] == ["PA-0003"]
    assert b"Confirm the import" in response.content
    assert CHANGED_FUNCTION.encode() in response.content
    assert business_function() == before
    pending = dpo_client.session[SESSION_KEY]
    assert waiting(uploads) == [pending["upload"]]
    assert "/" not in pending["upload"]


def test_import_confirm_writes_with_user_and_reason(
    dpo_client, dpo_user, workbook, uploads
):
    upload(dpo_client, workbook)

    response = dpo_client.post(reverse(CONFIRM_URL), {"confirm": "1"})

    assert response.status_code == 302
    assert response.url == reverse("admin:ropa_processingactivity_changelist")
    assert business_function() == CHANGED_FUNCTION
    record = ProcessingActivity.objects.get(reference="PA-0003").history.first()
    assert (record.history_user, record.history_change_reason) == (
        dpo_user,
        import_reason(FILE_NAME),
    )
    assert waiting(uploads) == []
    assert SESSION_KEY not in dpo_client.session


def test_import_cancel_deletes_the_upload(dpo_client, workbook, uploads):
    before = business_function()
    upload(dpo_client, workbook)

    response = dpo_client.post(reverse(CONFIRM_URL), {"cancel": "1"}, follow=True)

    assert CANCELLED in [str(message) for message in response.context["messages"]]
    assert business_function() == before
    assert waiting(uploads) == []
    assert SESSION_KEY not in dpo_client.session


def test_import_preview_with_errors_cannot_be_confirmed(dpo_client, workbook, uploads):
    book = load_workbook(workbook)
    sheet = book[layout.ACTIVITIES.name]
    sheet.cell(
        row=7, column=layout.ACTIVITIES.headers.index("Status") + 1, value="gone"
    )
    book.save(workbook)

    response = upload(dpo_client, workbook)

    assert response.status_code == 200
    assert [str(error) for error in response.context["errors"]] == [
        "Sheet 'Activities', row 7, column 'Status': 'gone' is not one of: Draft; "
        "Active; Retired."
    ]
    assert b"Confirm the import" not in response.content
    assert waiting(uploads) == []
    assert SESSION_KEY not in dpo_client.session


def test_import_unchanged_file_has_nothing_to_confirm(dpo_client, tmp_path, uploads):
    path = tmp_path / FILE_NAME
    with path.open("wb") as out:
        export_register(fmt="xlsx", out=out)

    response = upload(dpo_client, path)

    assert response.context["nothing_to_do"]
    assert b"Confirm the import" not in response.content
    assert waiting(uploads) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"Reference,Name\n", "is not an Excel workbook (.xlsx)"),
        (broken_workbook(), "cannot be read as an Excel workbook"),
    ],
)
def test_import_bad_file_is_refused_on_the_form(
    dpo_client, tmp_path, uploads, content, message
):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(content)

    response = upload(dpo_client, path)

    assert response.status_code == 200
    assert response.templates[0].name == "admin/ropa/import_register.html"
    assert any(message in error for error in response.context["form"].errors["file"])
    assert waiting(uploads) == []


def test_import_oversized_file_is_refused_before_it_is_kept(
    dpo_client, workbook, uploads, settings
):
    settings.ROPA_IMPORT_MAX_BYTES = 1024

    response = upload(dpo_client, workbook)

    (error,) = response.context["form"].errors["file"]
    assert "the largest file that can be imported is 1.0" in error
    assert waiting(uploads) == []


def test_import_ico_takes_the_controller_the_template_names(dpo_client, tmp_path):
    path = write_template(tmp_path / "ico.xlsx", rows=(PAYROLL,))

    preview = upload(dpo_client, path, format="ico")
    response = dpo_client.post(reverse(CONFIRM_URL), {"confirm": "1"})

    assert "Example Ltd" in preview.content.decode()
    assert response.status_code == 302
    activity = ProcessingActivity.objects.get(name="Payroll")
    assert [org.name for org in activity.organisations.all()] == ["Example Ltd"]


def test_import_ico_template_through_the_admin(dpo_client, dpo_user, tmp_path):
    path = write_template(tmp_path / "ico.xlsx", rows=(PAYROLL,))

    preview = upload(dpo_client, path, format="ico", controller="infobric-ab")
    response = dpo_client.post(reverse(CONFIRM_URL), {"confirm": "1"})

    assert (
        "Would create 2 data subject categories: employees, Contractors"
        in (preview.context["created"])
    )
    assert response.status_code == 302
    activity = ProcessingActivity.objects.get(name="Payroll")
    assert [org.slug for org in activity.organisations.all()] == ["infobric-ab"]
    assert activity.history.first().history_user == dpo_user


def test_import_confirm_without_a_pending_upload(dpo_client):
    response = dpo_client.post(reverse(CONFIRM_URL), {"confirm": "1"}, follow=True)

    assert UPLOAD_GONE in [str(message) for message in response.context["messages"]]


def test_import_confirm_refuses_a_name_that_is_not_an_upload(
    dpo_client, workbook, uploads, tmp_path
):
    outside = tmp_path / "outside.xlsx"
    outside.write_bytes(workbook.read_bytes())
    session = dpo_client.session
    session[SESSION_KEY] = {
        "upload": "../outside.xlsx",
        "file_name": FILE_NAME,
        "format": "ours",
        "controller": None,
    }
    session.save()
    before = business_function()

    response = dpo_client.post(reverse(CONFIRM_URL), {"confirm": "1"}, follow=True)

    assert UPLOAD_GONE in [str(message) for message in response.context["messages"]]
    assert business_function() == before
    assert outside.exists()


def test_import_confirm_after_expiry_asks_for_the_file_again(
    dpo_client, workbook, uploads
):
    upload(dpo_client, workbook)
    (path,) = uploads.iterdir()
    an_hour_ago = time.time() - 3601
    os.utime(path, (an_hour_ago, an_hour_ago))

    response = dpo_client.post(reverse(CONFIRM_URL), {"confirm": "1"}, follow=True)

    assert UPLOAD_GONE in [str(message) for message in response.context["messages"]]
    assert business_function() != CHANGED_FUNCTION
    assert waiting(uploads) == []


def test_import_page_sweeps_abandoned_uploads(dpo_client, workbook, uploads):
    upload(dpo_client, workbook)
    (abandoned,) = uploads.iterdir()
    an_hour_ago = time.time() - 3601
    os.utime(abandoned, (an_hour_ago, an_hour_ago))

    dpo_client.get(reverse(IMPORT_URL))

    assert waiting(uploads) == []


def test_import_new_upload_replaces_the_pending_one(dpo_client, workbook, uploads):
    upload(dpo_client, workbook)
    first = dpo_client.session[SESSION_KEY]["upload"]

    upload(dpo_client, workbook)

    assert waiting(uploads) == [dpo_client.session[SESSION_KEY]["upload"]]
    assert first not in waiting(uploads)


def test_import_confirm_by_get_goes_back_to_the_form(dpo_client):
    response = dpo_client.get(reverse(CONFIRM_URL))

    assert response.status_code == 302
    assert response.url == reverse(IMPORT_URL)
