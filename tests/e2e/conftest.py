"""
End-to-end tests: Debian's Chromium driven by Playwright against a live server.

They run where Chromium is installed (``.ci/run`` installs it) and are skipped
elsewhere with the reason. Chromium starts once per session, headless, with no
network beyond the loopback live server; every page is a window of
``VIEWPORT``, the width a DPO's laptop screen gives the admin.
``scripts/screenshots`` takes the README's screenshots with the same set-up.
"""

import os
import re
import shutil
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from ropa.exchange import layout
from ropa.models import ProcessingActivity
from tests.factories import FunctionMembershipFactory, StaffUserFactory
from tests.factories.users import current_code, login_device

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
VIEWPORT = {"width": 1440, "height": 900}
#: How long a page may take to answer (a save writes history, an import plans).
TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def chromium():
    if not shutil.which(CHROMIUM):
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API runs an event loop in this thread; the ORM calls of
    # the tests themselves are synchronous and safe here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


def launch(playwright):
    """Chromium, headless, as the tests and the screenshots run it."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )


def new_page(browser, base_url):
    """A page in a browser context of its own: its own cookies, so its own login."""
    context = browser.new_context(
        base_url=base_url, viewport=VIEWPORT, accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


@pytest.fixture
def browser_page(chromium, live_server):
    page = new_page(chromium, live_server.url)
    yield page
    page.context.close()


@pytest.fixture
def second_page(chromium, live_server):
    """Another person's browser beside ``browser_page``, against the same server."""
    page = new_page(chromium, live_server.url)
    yield page
    page.context.close()


# The page (the document wider than the window), then each box in it that
# scrolls its own content sideways: Django's changelist keeps its table in
# such a box (``.results``), so a list too wide for the window never widens
# the document. A long value inside a form field is not counted.
SIDEWAYS_SCROLL = """() => {
    const found = [];
    const page = document.documentElement;
    if (page.scrollWidth > window.innerWidth) {
        found.push(["the page", page.scrollWidth - window.innerWidth]);
    }
    for (const box of document.body.querySelectorAll("*")) {
        if (box.matches("input, textarea, select")) continue;
        const overflow = getComputedStyle(box).overflowX;
        if ((overflow === "auto" || overflow === "scroll")
                && box.scrollWidth > box.clientWidth) {
            const name = box.tagName.toLowerCase() + (box.id ? "#" + box.id : "")
                + [...box.classList].map(name => "." + name).join("");
            found.push([name, box.scrollWidth - box.clientWidth]);
        }
    }
    return found;
}"""


def sideways_scroll(page):
    """What scrolls sideways on ``page``: [(the page or a box in it, by px)]."""
    return [tuple(item) for item in page.evaluate(SIDEWAYS_SCROLL)]


def fits_width(page):
    """
    Assert that nothing on ``page`` scrolls sideways in its window.

    Content wider than the window hides columns and buttons behind a sideways
    scroll: at the 1440 px of ``VIEWPORT`` every page must fit.
    """
    scrolls = sideways_scroll(page)
    assert not scrolls, f"{page.url} is wider than its window: " + "; ".join(
        f"{what} scrolls sideways by {pixels} px" for what, pixels in scrolls
    )


TWO_FACTOR_STEP = "/admin/two-factor/verify/"


def log_in(page, username, password):
    """
    Log in as a person does: the password, then, where the user's login asks
    for one, the code their authenticator app shows (computed here from the
    app's secret; the app is set up first if they have none).
    """
    device = login_device(get_user_model().objects.get_by_natural_key(username))
    page.goto("/admin/login/?next=/admin/")
    fits_width(page)
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    if device is not None:
        page.wait_for_url(at(TWO_FACTOR_STEP))
        fits_width(page)
        page.fill("#id_code", current_code(device))
        page.click("#two-factor-form input[type=submit]")
    page.wait_for_url("**/admin/")
    fits_width(page)


def at(path):
    """What ``page.wait_for_url`` waits for: ``path``, with any query string."""
    return re.compile(rf"^[a-z]+://[^/]+{re.escape(path)}(\?.*)?$")


@pytest.fixture
def roles(transactional_db):
    """The role groups that ``manage.py setup_roles`` creates."""
    call_command("setup_roles", stdout=StringIO())


@pytest.fixture
def sample_register(roles):
    """
    The sample register (``manage.py load_sample_register``), committed for
    the live server to read; the role groups beside it.
    """
    call_command("load_sample_register", stdout=StringIO())


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


ACTIVITIES = "/admin/ropa/processingactivity/"


def open_activity(page, reference):
    """
    Find the activity ``reference`` as a user does: the activity list from
    the admin's index, a search, a click on the row.
    """
    page.goto("/admin/")
    page.locator("#content-main .app-ropa").get_by_role(
        "link", name="Processing activities", exact=True
    ).click()
    page.wait_for_url(at(ACTIVITIES))
    fits_width(page)
    page.fill("#searchbar", reference)
    page.press("#searchbar", "Enter")
    page.wait_for_url(f"**q={reference}**")
    fits_width(page)
    page.locator("#result_list").get_by_role("link", name=reference).click()
    activity = ProcessingActivity.objects.get(reference=reference)
    page.wait_for_url(at(change_url(activity)))
    fits_width(page)
    return activity


def open_export_page(page):
    """From the activity list, "Export register": the register export page."""
    page.get_by_role("link", name="Export register", exact=True).click()
    page.wait_for_url(at(reverse("admin:ropa_processingactivity_export_register")))
    fits_width(page)


def change_url(activity):
    return reverse("admin:ropa_processingactivity_change", args=(activity.pk,))


def edit_purpose(path, reference, purpose):
    """Change the purpose of activity ``reference`` in the register workbook at
    ``path``, as a person does in a spreadsheet: that one cell."""
    workbook = load_workbook(path)
    sheet = workbook[layout.ACTIVITIES.name]
    header = [cell.value for cell in sheet[1]]
    reference_column = header.index("Reference")
    for row in sheet.iter_rows(min_row=2):
        if row[reference_column].value == reference:
            row[header.index("Purpose")].value = purpose
            break
    else:
        raise AssertionError(f"{reference} is not in the workbook")
    workbook.save(path)
