"""
End-to-end tests: Debian's Chromium driven by Playwright against a live server.

They run where Chromium is installed (``.ci/run`` installs it) and are skipped
elsewhere with the reason. Chromium starts once per session, headless, with no
network beyond the loopback live server.
"""

import os
import re
import shutil
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from tests.factories import FunctionMembershipFactory, StaffUserFactory

CHROMIUM = os.environ.get("ROPA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium():
    if not shutil.which(CHROMIUM):
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the ORM calls of
    # the tests themselves are synchronous and safe here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def log_in(page, username, password):
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")


def at(path):
    """What ``page.wait_for_url`` waits for: ``path``, with any query string."""
    return re.compile(rf"^[a-z]+://[^/]+{re.escape(path)}(\?.*)?$")


@pytest.fixture
def roles(transactional_db):
    """The role groups that ``manage.py setup_roles`` creates."""
    call_command("setup_roles", stdout=StringIO())


def member_of(group, *, functions=()):
    """
    A staff user in the role ``group``, a member of the business ``functions``.

    They log in with the factories' ``PASSWORD``.
    """
    user = StaffUserFactory()
    user.groups.add(Group.objects.get(name=group))
    for name in functions:
        FunctionMembershipFactory(user=user, business_function=name)
    return user
