"""
Take the README's screenshots in Chromium, as the browser tests drive it.

Run by ``scripts/screenshots``. A scratch SQLite database in a temporary
folder gets the sample register and a DPO login; ``manage.py runserver``
serves it on a free loopback port; Chromium, set up as in the browser tests
(``tests/e2e/conftest.py``: a 1440 x 900 window), logs in and saves each
screen as a PNG. The server and the scratch database are gone at the end,
whatever happens: the project's own database is never opened.
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
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
OUTPUT = BASE_DIR / "docs" / "screenshots"
USERNAME = "dpo"
#: The activity shown, and the change the import preview shows.
REFERENCE = "PA-0001"
#: The activity whose flow picture is shown: the social networks receive its data.
FLOW_ACTIVITY = "To communicate offers and marketing via various channels"
NEW_PURPOSE = (
    "When you order goods and services, we process your personal data to "
    "register the order, deliver it and answer your questions about it."
)
SERVER_START_SECONDS = 60


def scratch_settings(folder):
    """The environment of a DEBUG project on a database in ``folder``."""
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{folder / 'register.sqlite3'}",
        "ROPA_IMPORT_UPLOAD_DIR": str(folder / "uploads"),
        # runserver's own request log would bury this script's output.
        "DJANGO_LOG_LEVEL": "WARNING",
    }


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepare_database():
    """
    Migrate, load the sample register, and return a DPO's password and the
    secret of their authenticator app (a DPO's login asks for its code).
    """
    from io import StringIO

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connections

    from ropa.login.two_factor import issue_app_device
    from ropa.roles import DPO, assign_role, setup_roles

    call_command("migrate", verbosity=0)
    call_command("load_sample_register", stdout=StringIO())
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


def shoot(page, output, name):
    """Save the window as ``name``.png; say so, and whether the page is wider."""
    from tests.e2e.conftest import sideways_scroll

    path = output / f"{name}.png"
    page.screenshot(path=path)
    notes = "; ".join(
        f"{what} scrolls sideways by {pixels} px"
        for what, pixels in sideways_scroll(page)
    )
    sys.stdout.write(f"{os.path.relpath(path)}{f' ({notes})' if notes else ''}\n")


def take(url, login, output, downloads):
    from django.db import connections
    from django_otp.oath import totp
    from playwright.sync_api import sync_playwright

    from ropa.models import ProcessingActivity
    from tests.e2e.conftest import (
        ACTIVITIES,
        change_url,
        edit_purpose,
        launch,
        new_page,
    )

    activity = ProcessingActivity.objects.get(reference=REFERENCE)
    flow_activity = ProcessingActivity.objects.get(name=FLOW_ACTIVITY)
    # Only the server uses the database from here on.
    connections.close_all()
    with sync_playwright() as playwright:
        browser = launch(playwright)
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
        shoot(page, output, "dashboard")

        page.goto(ACTIVITIES)
        shoot(page, output, "activity-list")

        page.goto(change_url(activity))
        shoot(page, output, "activity-form")

        # Where the data goes: the flow picture on the activity's page.
        page.goto(change_url(flow_activity))
        path = output / "activity-flow.png"
        page.locator("#flow-picture").screenshot(path=path)
        sys.stdout.write(f"{os.path.relpath(path)}\n")

        page.goto(ACTIVITIES)
        page.get_by_role("link", name="Export register", exact=True).click()
        with page.expect_download() as download_info:
            page.click("#export-register-form input[type=submit]")
        download = download_info.value
        workbook = downloads / download.suggested_filename
        download.save_as(workbook)
        edit_purpose(workbook, REFERENCE, NEW_PURPOSE)
        page.goto(ACTIVITIES)
        page.get_by_role("link", name="Import register", exact=True).click()
        page.set_input_files("#import-register-form input[type=file]", workbook)
        page.click("#import-register-form input[type=submit]")
        page.wait_for_selector("#import-changes")
        shoot(page, output, "import-preview")
        # Leave the preview unconfirmed: the scratch database goes anyway.
        browser.close()


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
        env = scratch_settings(folder)
        # Before Django reads its settings: this process uses the scratch
        # database too, to prepare it and to read an activity's id.
        os.environ.update(env)
        import django

        django.setup()
        login = prepare_database()
        with server(env, folder / "server.log") as url:
            take(url, login, output, folder)


if __name__ == "__main__":
    main()
