"""
What every request meets before a view, and every response carries.

- A NUL character anywhere in a request (path, query or form parameter, name
  or value, cookie, header) is a 400 with a plain sentence: PostgreSQL
  refuses NUL in a query, which was a 500 from the first view that passed it
  on (the public privacy notice, the activity list's filters, the login).
- Every response carries the Content-Security-Policy: no inline script or
  style runs, nothing frames the admin. The browser side is
  ``tests/e2e/test_csp.py``.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.http import HttpResponse
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from ropa.core.middleware import (
    CSP_HEADER,
    NUL_REFUSED,
    ContentSecurityPolicyMiddleware,
)
from tests import factories
from tests.test_settings import _environ, _setting

pytestmark = pytest.mark.django_db

NOTICE = reverse("privacy-notice")
ACTIVITIES = reverse("admin:ropa_processingactivity_changelist")
LOGIN = reverse("admin:login")
TEMPLATES = Path(settings.BASE_DIR) / "templates"


@pytest.fixture
def dpo_client(dpo_user):
    client = Client()
    client.force_login(dpo_user)
    return client


def assert_refused_for_nul(response):
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == NUL_REFUSED


# ---------------------------------------------------------------------------
# NUL
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "controller=a%00b",
        "controller=%00",
        "a%00b=1",
        # Typed as is, not written %00.
        "controller=a\x00b",
    ],
)
def test_nul_in_the_notices_query_is_a_bad_request(client, query):
    response = client.get(NOTICE, QUERY_STRING=query)

    assert_refused_for_nul(response)


@pytest.mark.parametrize(
    "query",
    [
        "business_function=a%00b",
        "q=a%00b",
        "status=all&business_function__exact=%00",
        "o=1%00",
    ],
)
def test_nul_in_the_activity_lists_query_is_a_bad_request(dpo_client, query):
    factories.ProcessingActivityFactory()

    response = dpo_client.get(ACTIVITIES, QUERY_STRING=query)

    assert_refused_for_nul(response)


@pytest.mark.parametrize(
    "path",
    [
        "/privacy-notice/%00/",
        "/admin/ropa/processingactivity/1%00/change/",
        "/admin/controllers/organisation/%00/change/",
    ],
)
def test_nul_in_the_path_is_a_bad_request(dpo_client, path):
    response = dpo_client.get(path)

    assert_refused_for_nul(response)


def test_nul_in_a_login_is_a_bad_request(client):
    user = factories.StaffUserFactory()

    response = client.post(
        LOGIN, {"username": f"{user.username}\x00", "password": "wrong"}
    )

    assert_refused_for_nul(response)


def test_nul_in_a_posted_field_name_is_a_bad_request(dpo_client):
    organisation = factories.OrganisationFactory()
    change = reverse("admin:controllers_organisation_change", args=(organisation.pk,))

    response = dpo_client.post(change, {"name\x00": "x"})

    assert_refused_for_nul(response)


def test_nul_in_a_header_is_a_bad_request(client):
    response = client.post(
        LOGIN, {"username": "nobody", "password": "wrong"}, HTTP_USER_AGENT="a\x00b"
    )

    assert_refused_for_nul(response)


def test_nul_in_a_cookie_is_a_bad_request(client):
    # A quoted cookie value may write NUL as an octal escape.
    nuls = "\\000" * 32
    client.cookies.load(f'{settings.SESSION_COOKIE_NAME}="{nuls}"')

    response = client.get(LOGIN)

    assert_refused_for_nul(response)


@pytest.mark.parametrize(
    ("query", "status"),
    [
        # A percent sign followed by "00", written out: no NUL.
        ("controller=a%2500b", 404),
        ("controller=", 200),
    ],
)
def test_a_query_without_nul_is_answered_as_before(client, query, status):
    response = client.get(NOTICE, QUERY_STRING=query)

    assert response.status_code == status


def test_an_uploaded_files_bytes_are_the_imports_to_check(dpo_client):
    upload = SimpleUploadedFile("measures.csv", b"Name\nBackups\x00\n")

    response = dpo_client.post(
        reverse("admin:ropa_securitymeasure_import"),
        {"format": "0", "resource": "0", "import_file": upload},
    )

    assert response.status_code == 200


# ---------------------------------------------------------------------------
# Content-Security-Policy
# ---------------------------------------------------------------------------

DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def directives(policy):
    return dict(
        part.strip().split(" ", 1) for part in policy.split(";") if part.strip()
    )


def test_default_policy_is_strict():
    assert directives(settings.CONTENT_SECURITY_POLICY) == DIRECTIVES


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("public", NOTICE),
        ("public", "/privacy-notice/notice.css"),
        ("public", LOGIN),
        ("public", "/no-such-page/"),
        ("public", f"{NOTICE}?controller=%00"),
        ("dpo", reverse("admin:index")),
        ("dpo", ACTIVITIES),
        ("dpo", reverse("admin:ropa_processingactivity_add")),
        ("dpo", reverse("admin:ropa_securitymeasure_export")),
    ],
)
def test_every_response_carries_the_policy(client, dpo_client, who, path):
    response = (dpo_client if who == "dpo" else client).get(path)

    assert response[CSP_HEADER] == settings.CONTENT_SECURITY_POLICY


def test_a_refusal_carries_the_policy(client):
    # Staff without a permission.
    client.force_login(factories.StaffUserFactory())
    activity = factories.ProcessingActivityFactory()

    response = client.get(
        reverse("admin:ropa_processingactivity_delete", args=(activity.pk,))
    )

    assert response.status_code == 403
    assert response[CSP_HEADER] == settings.CONTENT_SECURITY_POLICY


def test_a_responses_own_policy_is_kept():
    own = "default-src 'none'"

    def view(request):
        response = HttpResponse("x")
        response[CSP_HEADER] = own
        return response

    response = ContentSecurityPolicyMiddleware(view)(RequestFactory().get("/"))

    assert response[CSP_HEADER] == own


@override_settings(CONTENT_SECURITY_POLICY="")
def test_an_empty_setting_sends_no_policy(client):
    response = client.get(NOTICE)

    assert CSP_HEADER not in response


def test_the_policy_is_read_from_the_environment():
    policy = "default-src 'self'; img-src 'self' https://cdn.example"
    environ = _environ(DJANGO_DEBUG="true", DJANGO_CONTENT_SECURITY_POLICY=policy)

    assert _setting("settings.CONTENT_SECURITY_POLICY", environ) == policy


# What the policy refuses to run: an inline <style> or <script>, a style
# attribute, an event handler attribute, a javascript: link.
INLINE = re.compile(
    r"<style[\s>]|<script(?![^>]*\bsrc=)[^>]*>|\sstyle=|\son[a-z]+=|javascript:",
    re.IGNORECASE,
)


def test_served_notice_links_its_stylesheet_and_inlines_nothing(client):
    factories.ProcessingActivityFactory(in_notice=True)

    page = client.get(NOTICE).content.decode()
    stylesheet = client.get(reverse("privacy-notice-style"))

    assert f'href="{reverse("privacy-notice-style")}"' in page
    assert INLINE.findall(page) == []
    assert stylesheet["Content-Type"] == "text/css; charset=utf-8"
    assert ".purpose" in stylesheet.content.decode()


def test_rendered_notice_file_carries_its_stylesheet(tmp_path):
    factories.ProcessingActivityFactory(in_notice=True)
    path = tmp_path / "notice.html"

    call_command("render_notice", "--output", str(path), verbosity=0)
    text = path.read_text()

    assert "<style>" in text
    assert ".purpose" in text
    assert "privacy-notice/notice.css" not in text


@pytest.mark.parametrize(
    "template",
    sorted(
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*.html")
        # The notice written to a file of its own carries its stylesheet.
        if path.name != "public_base.html"
    ),
)
def test_templates_hold_no_inline_script_or_style(template):
    assert INLINE.findall((TEMPLATES / template).read_text()) == []
