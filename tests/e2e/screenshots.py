"""
Take the README's screenshots in Chromium, as the browser tests drive it.

Run by ``scripts/screenshots``. Two scratch SQLite databases in a temporary
folder, served one after the other by ``manage.py runserver`` on a free
loopback port, each with a DPO login:

- the sample register: the dashboard, its pictures, the activity list and
  form, an activity's flow picture and the import preview; and the register
  as a PDF for a supervisory authority, downloaded from the export page as a
  DPO does and its cover and an activity's page drawn by PDFium (the engine
  Chrome opens PDFs with);
- a generated register (``manage.py generate_register``, a fixed size and
  seed): the dashboard's map of transfers outside the EEA, which the sample
  register has none of.

Chromium is set up as in the browser tests (``tests/e2e/conftest.py``: a
1440 x 900 window). The servers and the scratch databases are gone at the
end, whatever happens: the project's own database is never opened.
"""

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from io import StringIO
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
OUTPUT = BASE_DIR / "docs" / "screenshots"
USERNAME = "dpo"
#: The activity shown, and the change the import preview shows.
REFERENCE = "PA-0001"
#: The activity whose flow picture and PDF page are shown: the social
#: networks receive its data.
FLOW_ACTIVITY = "To communicate offers and marketing via various channels"
NEW_PURPOSE = (
    "When you order goods and services, we process your personal data to "
    "register the order, deliver it and answer your questions about it."
)
#: The generated register whose transfers the map shows.
GENERATED_ACTIVITIES = 200
GENERATED_SEED = 1
GENERATED = (
    f"a generated register of {GENERATED_ACTIVITIES} activities, seed {GENERATED_SEED}"
)
#: PDF points to pixels: an A4 page is 1190 x 1684 px, its small print readable.
PDF_SCALE = 2
SERVER_START_SECONDS = 60


def scratch_settings(database, folder):
    """The environment of a DEBUG project on the SQLite file ``database``."""
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{database}",
        "ROPA_IMPORT_UPLOAD_DIR": str(folder / "uploads"),
        # runserver's own request log would bury this script's output.
        "DJANGO_LOG_LEVEL": "WARNING",
    }


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def load_sample():
    """Fill the database with the sample register."""
    from django.core.management import call_command

    call_command("load_sample_register", stdout=StringIO())


def load_generated():
    """Fill the database with the generated register of ``GENERATED``."""
    from django.core.management import call_command

    call_command(
        "generate_register",
        activities=GENERATED_ACTIVITIES,
        seed=GENERATED_SEED,
        verbosity=0,
    )


def use_database(database):
    """
    Point this process's default connection at the SQLite file ``database``.

    Django's test runner points the connection at the test database the same
    way (``BaseDatabaseCreation.create_test_db``); the content types cached
    for the previous database are forgotten.
    """
    from django.conf import settings
    from django.contrib.contenttypes.models import ContentType
    from django.db import connections

    connections.close_all()
    settings.DATABASES["default"]["NAME"] = str(database)
    connections["default"].settings_dict["NAME"] = str(database)
    ContentType.objects.clear_cache()


def prepare_database(database, fill):
    """
    Migrate the SQLite file ``database``, ``fill`` it, and return a DPO's
    password and the secret of their authenticator app (a DPO's login asks
    for its code). This process's connection stays on ``database``.
    """
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connections

    from ropa.login.two_factor import issue_app_device
    from ropa.roles import DPO, assign_role, setup_roles

    use_database(database)
    call_command("migrate", verbosity=0)
    fill()
    setup_roles()
    password = secrets.token_urlsafe(16)
    user = get_user_model().objects.create_user(
        USERNAME, f"{USERNAME}@example.com", password, is_staff=True
    )
    assign_role(user, DPO)
    device, _ = issue_app_device(user)
    # The server writes to the same SQLite file from another process.
    connections.close_all()
    return password, device.bin_key


@contextmanager
def server(env, log):
    """
    ``runserver`` on a free loopback port; its base URL while it runs. Its
    output goes to ``log``, shown if it fails to start.
    """
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 (our own manage.py, no shell)
            [
                sys.executable,
                "manage.py",
                "runserver",
                "--noreload",
                f"127.0.0.1:{port}",
            ],
            cwd=BASE_DIR,
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for(url, process)
        except SystemExit:
            sys.stderr.write(log.read_text(errors="replace"))
            raise
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(url, process):
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"The server stopped (exit status {process.returncode}).")
        try:
            with urllib.request.urlopen(f"{url}/admin/login/", timeout=2):  # noqa: S310
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    raise SystemExit(f"The server did not answer at {url} within a minute.")


@contextmanager
def served(folder, name, fill):
    """
    The scratch database ``name`` in ``folder``, filled by ``fill`` and
    served; ``(url, login)`` while the server runs, ``login`` as
    ``prepare_database`` returns it. This process's connection stays on the
    database: close it after reading, before the browser's first request.
    """
    database = folder / f"{name}.sqlite3"
    login = prepare_database(database, fill)
    with server(scratch_settings(database, folder), folder / f"{name}.log") as url:
        yield url, login


@contextmanager
def dpo_page(url, login):
    """Chromium's page, logged in as the DPO at ``url`` as a person does."""
    from django_otp.oath import totp
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import launch, new_page

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = new_page(browser, url)
            page.goto("/admin/login/?next=/admin/")
            page.fill("#id_username", USERNAME)
            password, key = login
            page.fill("#id_password", password)
            page.click("input[type=submit]")
            page.wait_for_url("**/admin/two-factor/verify/**")
            page.fill("#id_code", f"{totp(key):06d}")
            page.click("#two-factor-form input[type=submit]")
            page.wait_for_url("**/admin/")
            yield page
        finally:
            browser.close()


def saved(path, notes=()):
    """Say that ``path`` is written, with ``notes`` on what it shows."""
    said = "; ".join(notes)
    sys.stdout.write(f"{os.path.relpath(path)}{f' ({said})' if said else ''}\n")


def shoot(page, output, name):
    """Save the window as ``name``.png; say so, and whether the page is wider."""
    from tests.e2e.conftest import sideways_scroll

    path = output / f"{name}.png"
    page.screenshot(path=path)
    saved(
        path,
        [
            f"{what} scrolls sideways by {pixels} px"
            for what, pixels in sideways_scroll(page)
        ],
    )


# The page's rectangle around the elements of the given selectors.
BOUNDS = """selectors => {
    const boxes = selectors.map(selector => {
        const element = document.querySelector(selector);
        if (!element) throw new Error(`Nothing on the page matches ${selector}`);
        return element.getBoundingClientRect();
    });
    const left = Math.min(...boxes.map(box => box.left));
    const top = Math.min(...boxes.map(box => box.top));
    return {
        x: left + window.scrollX,
        y: top + window.scrollY,
        width: Math.max(...boxes.map(box => box.right)) - left,
        height: Math.max(...boxes.map(box => box.bottom)) - top,
    };
}"""


def shoot_part(page, output, name, *selectors, note=None):
    """
    Save as ``name``.png the part of the page around the elements of
    ``selectors`` (CSS, each matching one element), wherever it is on the
    page; say so, with ``note``.
    """
    path = output / f"{name}.png"
    clip = page.evaluate(BOUNDS, list(selectors))
    page.screenshot(path=path, clip=clip, full_page=True)
    saved(path, [note] if note else [])


def download(page, fmt, downloads):
    """
    Download the register in the export page's format ``fmt`` as a person
    does: the activity list's "Export register" link, the format, "Download".
    Returns the file's path in ``downloads``.
    """
    from tests.e2e.conftest import ACTIVITIES

    page.goto(ACTIVITIES)
    page.get_by_role("link", name="Export register", exact=True).click()
    page.select_option("#export-register-form select[name=format]", fmt)
    with page.expect_download() as download_info:
        page.click("#export-register-form input[type=submit]")
    file = download_info.value
    path = downloads / file.suggested_filename
    file.save_as(path)
    return path


def draw_pdf_pages(pdf_path, output):
    """
    Draw the PDF's cover as ``pdf-cover.png`` and the first page of the
    activity ``FLOW_ACTIVITY`` as ``pdf-page.png``, found by the PDF's
    outline as a reader's bookmarks find it.
    """
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf_path)
    try:
        pages = {
            bookmark.get_dest().get_index(): bookmark.get_title()
            for bookmark in document.get_toc()
            if FLOW_ACTIVITY in bookmark.get_title()
        }
        if len(pages) != 1:
            raise SystemExit(
                f"The PDF's outline has {len(pages)} entries for {FLOW_ACTIVITY!r}."
            )
        [(index, title)] = pages.items()
        for number, name, note in (
            (0, "pdf-cover", "the cover"),
            (index, "pdf-page", f"page {index + 1}: {title}"),
        ):
            path = output / f"{name}.png"
            document[number].render(scale=PDF_SCALE).to_pil().save(path)
            saved(path, [f"{note}, of {len(document)} pages"])
    finally:
        document.close()


def sample_screens(folder, output):
    """The sample register's screens, and the pages of its PDF."""
    from django.db import connections

    from ropa.exchange.export import PDF, XLSX
    from ropa.models import ProcessingActivity
    from tests.e2e.conftest import ACTIVITIES, change_url, edit_purpose

    with served(folder, "sample", load_sample) as (url, login):
        activity = change_url(ProcessingActivity.objects.get(reference=REFERENCE))
        flow_activity = change_url(ProcessingActivity.objects.get(name=FLOW_ACTIVITY))
        # Only the server uses the database from here on.
        connections.close_all()
        with dpo_page(url, login) as page:
            shoot(page, output, "dashboard")
            # The health chart and its table, and the register's flow picture
            # (its map below is empty: the sample has no such transfers).
            shoot_part(
                page,
                output,
                "dashboard-pictures",
                "#register-health",
                "#register-flow-picture",
            )

            page.goto(ACTIVITIES)
            shoot(page, output, "activity-list")

            page.goto(activity)
            shoot(page, output, "activity-form")

            # Where the data goes: the flow picture on the activity's page.
            page.goto(flow_activity)
            shoot_part(page, output, "activity-flow", "#flow-picture")

            draw_pdf_pages(download(page, PDF, folder), output)

            workbook = download(page, XLSX, folder)
            edit_purpose(workbook, REFERENCE, NEW_PURPOSE)
            page.goto(ACTIVITIES)
            page.get_by_role("link", name="Import register", exact=True).click()
            page.set_input_files("#import-register-form input[type=file]", workbook)
            page.click("#import-register-form input[type=submit]")
            page.wait_for_selector("#import-changes")
            shoot(page, output, "import-preview")
            # Leave the preview unconfirmed: the scratch database goes anyway.


def generated_screens(folder, output):
    """The dashboard's map of transfers outside the EEA, of ``GENERATED``."""
    with (
        served(folder, "generated", load_generated) as (url, login),
        dpo_page(url, login) as page,
    ):
        shoot_part(
            page,
            output,
            "transfer-map",
            "#register-transfer-map",
            note=f"the map of {GENERATED}",
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument(
        "--output",
        type=Path,
        default=OUTPUT,
        help="Folder of the PNG files (default: docs/screenshots).",
    )
    output = parser.parse_args().output.resolve()
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ropa-screenshots-") as folder:
        folder = Path(folder)
        # Before Django reads its settings: this process prepares each
        # scratch database, and reads activities' ids, on the database of
        # the moment (``use_database``); the project's own is never opened.
        os.environ.update(scratch_settings(folder / "sample.sqlite3", folder))
        import django

        django.setup()
        sample_screens(folder, output)
        generated_screens(folder, output)


if __name__ == "__main__":
    main()
