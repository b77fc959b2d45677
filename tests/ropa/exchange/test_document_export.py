"""
The register as a PDF or Word document from ``manage.py export_register``
and from the admin's export page: who may download it, its file name and
type, and the choice of statuses.
"""

import io
import re
import zipfile
from io import StringIO

import lxml.html
import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone
from docx import Document as WordDocument

from ropa.enums import ActivityStatus
from ropa.exchange.export import (
    DOCX,
    FORMATS,
    PDF,
    XLSX,
    export_register,
    statuses_refused,
)
from ropa.exchange.pdf import CONTENT_TYPE as PDF_CONTENT_TYPE
from ropa.exchange.word import CONTENT_TYPE as DOCX_CONTENT_TYPE
from ropa.models import ProcessingActivity
from ropa.roles import CONTRIBUTOR
from tests.admin_pages import form_data
from tests.factories import (
    FunctionMembershipFactory,
    LawfulBasisFactory,
    OrganisationFactory,
    ProcessingActivityFactory,
    StaffUserFactory,
)
from tests.ropa.exchange.test_pdf_document import Pdf

pytestmark = pytest.mark.django_db

FORM = "export-register-form"


def _url():
    return reverse("admin:ropa_processingactivity_export_register")


@pytest.fixture
def activities():
    ProcessingActivityFactory(reference="PA-0001", name="To manage orders")
    ProcessingActivityFactory(
        reference="PA-0002", name="To plan a campaign", status=ActivityStatus.DRAFT
    )


def _download(client, data):
    response = client.get(_url(), data)
    # Reading the stream to its end closes it, as a server does; closing a
    # response again would end the test's database connection on PostgreSQL
    # (request_finished closes a connection inside a transaction).
    body = b"".join(response.streaming_content) if response.streaming else None
    return response, body


def _page_data(client, **choices):
    """The form as the page renders it, with the user's ``choices``."""
    page = client.get(_url())
    data = form_data(page, form_id=FORM, submit=None)
    data.update(choices)
    return page, data


# ---------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------


def test_command_writes_the_pdf_with_its_default_name(
    activities, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    stdout = StringIO()
    call_command("export_register", "--format", PDF, stdout=stdout, stderr=StringIO())
    path = tmp_path / f"ropa-register-all-{timezone.localdate().isoformat()}.pdf"
    pdf = Pdf(path.read_bytes())
    assert "PA-0001 To manage orders" in pdf.text
    assert "To plan a campaign" not in pdf.text
    assert "controller records 1, processor records 0, pages " in stdout.getvalue()


def test_command_includes_drafts_when_asked(activities, tmp_path):
    path = tmp_path / "register.pdf"
    call_command(
        "export_register",
        "--format",
        PDF,
        "--include-drafts",
        "--output",
        str(path),
        stdout=StringIO(),
        stderr=StringIO(),
    )
    assert "PA-0002 To plan a campaign" in Pdf(path.read_bytes()).text


def test_command_writes_the_word_document(activities, tmp_path):
    path = tmp_path / "register.docx"
    call_command(
        "export_register",
        "--format",
        DOCX,
        "--output",
        str(path),
        stdout=StringIO(),
        stderr=StringIO(),
    )
    word = WordDocument(str(path))
    assert "PA-0001 To manage orders" in [p.text for p in word.paragraphs]


def _word_text(path):
    """The Word document's text: its paragraphs and its tables' cells."""
    word = WordDocument(str(path))
    cells = [
        cell.text for table in word.tables for row in table.rows for cell in row.cells
    ]
    return " ".join([*(p.text for p in word.paragraphs), *cells])


@pytest.mark.parametrize("fmt", [PDF, DOCX])
def test_command_prints_control_characters_of_names_as_spaces(fmt, tmp_path):
    # The admin accepts a vertical tab or a unit separator pasted into a name;
    # XML (the PDF's markup, the Word file) cannot hold them. They read as
    # the space between the words, on the cover as in the record.
    controller = OrganisationFactory(slug="acme-ab", name="Acme\x0bAB\x1f")
    ProcessingActivityFactory(
        reference="PA-0001",
        name="To\x1fmanage orders",
        purpose="Orders\x0cand invoices\x07",
        organisations=[controller],
    )
    path = tmp_path / f"register.{fmt}"
    call_command(
        "export_register",
        "--format",
        fmt,
        "--controller",
        "acme-ab",
        "--output",
        str(path),
        stdout=StringIO(),
        stderr=StringIO(),
    )
    text = Pdf(path.read_bytes()).text if fmt == PDF else _word_text(path)
    assert "AcmeAB" not in text
    assert "Tomanage" not in text  # nor in the Word file's table of the flows
    assert text.count("Acme AB") >= 3  # the title, the cover, the record
    assert "PA-0001 To manage orders" in text
    assert "Orders and invoices" in text


@pytest.mark.parametrize("fmt", [PDF, DOCX])
def test_command_reads_a_text_of_only_a_control_character_as_not_recorded(
    fmt, tmp_path
):
    # The admin strips spaces, not a bell: the explanation is stored as it is.
    activity = ProcessingActivityFactory(reference="PA-0001", lawful_basis=False)
    LawfulBasisFactory(activity=activity, explanation="\x07")
    path = tmp_path / f"register.{fmt}"
    call_command(
        "export_register",
        "--format",
        fmt,
        "--output",
        str(path),
        stdout=StringIO(),
        stderr=StringIO(),
    )
    text = Pdf(path.read_bytes()).text if fmt == PDF else _word_text(path)
    assert re.search(r"Lawful basis: Contract \(Art\. 6\(1\)\(b\)\) Not recorded", text)


@pytest.mark.parametrize("option", ["--include-drafts", "--include-retired"])
def test_command_refuses_statuses_for_a_workbook(activities, tmp_path, option):
    with pytest.raises(CommandError) as error:
        call_command(
            "export_register",
            "--format",
            XLSX,
            option,
            "--output",
            str(tmp_path / "register.xlsx"),
            stdout=StringIO(),
            stderr=StringIO(),
        )
    assert str(error.value) == statuses_refused(FORMATS[XLSX])
    assert not list(tmp_path.iterdir())


def test_export_register_writes_nothing_to_out_when_refused(activities):
    out = io.BytesIO()
    with pytest.raises(ValueError, match="document formats"):
        export_register(fmt=XLSX, out=out, retired=True)
    assert out.getvalue() == b""


# ---------------------------------------------------------------------------
# The admin's export page
# ---------------------------------------------------------------------------


def test_export_page_offers_the_documents_and_their_options(viewer_client):
    page = viewer_client.get(_url())
    html = lxml.html.document_fromstring(page.content.decode())
    assert {PDF, DOCX} <= set(html.xpath('//select[@name="format"]/option/@value'))
    boxes = html.xpath('//fieldset[@id="document-options"]//input[@type="checkbox"]')
    assert [box.get("name") for box in boxes] == ["include_drafts", "include_retired"]


@pytest.mark.parametrize("client_fixture", ["dpo_client", "viewer_client"])
def test_dpo_and_auditor_download_the_pdf(request, client_fixture, activities):
    client = request.getfixturevalue(client_fixture)
    _, data = _page_data(client, format=PDF)
    response, body = _download(client, data)
    assert response["Content-Type"] == PDF_CONTENT_TYPE
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="ropa-register-all-{today}.pdf"'
    )
    text = Pdf(body).text
    assert "PA-0001 To manage orders" in text
    assert "To plan a campaign" not in text


def test_export_page_downloads_the_word_document_with_drafts(viewer_client, activities):
    _, data = _page_data(viewer_client, format=DOCX, include_drafts="on")
    response, body = _download(viewer_client, data)
    assert response["Content-Type"] == DOCX_CONTENT_TYPE
    assert response["Content-Disposition"].endswith('.docx"')
    assert "word/document.xml" in zipfile.ZipFile(io.BytesIO(body)).namelist()
    headings = [p.text for p in WordDocument(io.BytesIO(body)).paragraphs]
    assert "PA-0002 To plan a campaign" in headings


def test_export_page_refuses_statuses_for_a_workbook(viewer_client, activities):
    _, data = _page_data(viewer_client, format=XLSX, include_retired="on")
    response, body = _download(viewer_client, data)
    assert body is None
    assert response.context["form"].errors == {
        "include_retired": [statuses_refused(FORMATS[XLSX])]
    }


def test_export_page_sends_a_document_too_large_for_a_request_to_the_command(
    viewer_client, activities, settings
):
    # Two active activities of one controller with their drafts: three.
    settings.ROPA_ADMIN_DOCUMENT_MAX_ACTIVITIES = 2
    controller = OrganisationFactory(slug="acme-ab")
    for activity in ProcessingActivity.objects.all():
        activity.organisations.add(controller)
    ProcessingActivityFactory(organisations=[controller])
    ProcessingActivityFactory()  # another controller's: not counted
    _, data = _page_data(
        viewer_client,
        format=PDF,
        controller="acme-ab",
        include_drafts="on",
        as_of=timezone.localdate().isoformat(),
    )

    response, body = _download(viewer_client, data)

    assert body is None
    assert response.context["form"].non_field_errors() == [
        "This document would hold 3 activities: written here it would take longer "
        "than the web server waits (the admin writes documents of at most 2). Run "
        "on the server: python manage.py export_register --format pdf --controller "
        f"acme-ab --as-of {timezone.localdate().isoformat()} --include-drafts"
    ]
    # Without the drafts it is small enough.
    del data["include_drafts"]
    response, body = _download(viewer_client, data)
    assert response["Content-Type"] == PDF_CONTENT_TYPE


@pytest.fixture
def contributor_client(client):
    call_command("setup_roles", stdout=StringIO())
    user = StaffUserFactory()
    user.groups.add(Group.objects.get(name=CONTRIBUTOR))
    FunctionMembershipFactory(user=user, business_function="Sales")
    client.force_login(user)
    return client


def test_a_contributor_cannot_download_the_document(contributor_client, activities):
    response = contributor_client.get(_url(), {"format": PDF})
    assert response.status_code == 403
