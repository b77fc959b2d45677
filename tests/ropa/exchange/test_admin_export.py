import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from ropa.exchange import ico_layout, layout
from ropa.exchange.admin_export import FUTURE_DATE, can_export
from ropa.exchange.export import XLSX_CONTENT_TYPE
from tests.factories import (
    GroupCompanyFactory,
    ProcessingActivityFactory,
    StaffUserFactory,
    UserFactory,
)
from tests.ropa.exchange.test_exports import read_xlsx, read_zip, records

pytestmark = pytest.mark.django_db


def _url():
    return reverse("admin:ropa_processingactivity_export_register")


def _download(client, **params):
    """The response and its body; the streamed file is closed after reading."""
    response = client.get(_url(), params)
    # Reading the stream to its end closes it, as a server does; closing a
    # response again would end the test's database connection on PostgreSQL
    # (request_finished closes a connection inside a transaction).
    body = b"".join(response.streaming_content) if response.streaming else None
    return response, body


def test_export_page_url_sits_under_the_activity_admin():
    assert _url() == "/admin/ropa/processingactivity/export-register/"


def test_export_page_sends_anonymous_users_to_the_login(client):
    response = client.get(_url())
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_export_page_refuses_staff_without_view_permission(client):
    client.force_login(StaffUserFactory())
    response = client.get(_url(), {"format": "xlsx"})
    assert response.status_code == 403


def test_export_page_shows_the_form_to_a_viewer(viewer_client):
    response = viewer_client.get(_url())
    assert response.status_code == 200
    assert b'id="export-register-form"' in response.content
    assert b"All controllers" in response.content


def test_export_page_downloads_xlsx_for_a_viewer(viewer_client):
    ProcessingActivityFactory(reference="PA-0001")
    response, body = _download(viewer_client, format="xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="ropa-register-all-{today}.xlsx"'
    )
    rows = records(read_xlsx(body)["Activities"], layout.ACTIVITIES)
    assert [row["Reference"] for row in rows] == ["PA-0001"]


def test_export_page_downloads_a_csv_zip_for_one_controller(viewer_client):
    mine = GroupCompanyFactory(name="Mine AB")
    ProcessingActivityFactory(reference="PA-0001", organisations=[mine])
    ProcessingActivityFactory(reference="PA-0002")
    response, body = _download(viewer_client, format="csv", controller="mine-ab")
    assert response["Content-Type"] == "application/zip"
    assert "ropa-register-mine-ab-" in response["Content-Disposition"]
    rows = records(read_zip(body)["activities.csv"], layout.ACTIVITIES)
    assert [row["Reference"] for row in rows] == ["PA-0001"]


def test_export_page_downloads_the_ico_template_as_of_a_date(viewer_client):
    controller = GroupCompanyFactory(name="Mine AB")
    ProcessingActivityFactory(organisations=[controller])
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    response, body = _download(
        viewer_client, format="ico", controller="mine-ab", as_of=yesterday.isoformat()
    )
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    assert f"as-of-{yesterday.isoformat()}-ico.xlsx" in response["Content-Disposition"]
    rows = read_xlsx(body)[ico_layout.SHEET_NAME]
    assert rows[0][0].endswith(f"as of {yesterday.isoformat()}")
    # Created today: not in the register as it stood yesterday.
    assert rows[8] == list(ico_layout.HEADERS)
    assert rows[9:] == []


def test_export_page_asks_for_the_controller_of_a_regulators_layout(viewer_client):
    ProcessingActivityFactory()
    response, body = _download(viewer_client, format="ico")
    assert body is None
    assert (
        "documents one organisation" in response.context["form"].errors["controller"][0]
    )


def test_export_page_refuses_a_future_date(viewer_client):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response, body = _download(viewer_client, format="xlsx", as_of=tomorrow.isoformat())
    assert response.status_code == 200
    assert body is None
    assert response.context["form"].errors == {"as_of": [FUTURE_DATE]}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"format": "odt"}, "format"),
        ({"format": "xlsx", "controller": "nope"}, "controller"),
        ({"format": "xlsx", "as_of": "not a date"}, "as_of"),
    ],
)
def test_export_page_reports_bad_choices(viewer_client, params, field):
    response, body = _download(viewer_client, **params)
    assert response.status_code == 200
    assert body is None
    assert list(response.context["form"].errors) == [field]


@pytest.mark.parametrize(
    ("permissions", "allowed"),
    [([], False), (["ropa.view_processingactivity"], True)],
)
def test_can_export_needs_the_view_permission(permissions, allowed):
    assert can_export(UserFactory(permissions=permissions)) is allowed
