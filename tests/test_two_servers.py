"""
A preview on one app server, its confirmation on another (issue #15, finding 9).

Behind a load balancer, the request that previews an import and the one that
confirms it may reach two app servers. Here two gunicorn processes play them:
each with a temporary folder of its own, as on two machines, sharing only
the database, the secret key (the session cookie works on both) and the
import store (``ROPA_IMPORT_UPLOAD_DIR``, as a folder both would mount; an
S3 bucket in production, tests/ropa/core/test_upload_storage.py). A user who
may import logs in on one, previews an import there and confirms it on the
other, as a browser would: cookies and posted forms over HTTP.

The servers use the test database: on PostgreSQL by its name, on SQLite
(kept in memory for the tests) through a file copy of it.
"""

import http.cookiejar
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from ropa.exchange import layout
from ropa.exchange.export import export_register
from tests.admin_pages import confirm_import_data, form_data
from tests.factories import ProcessingActivityFactory
from tests.factories.users import PASSWORD
from tests.ropa.exchange.test_imports import edit

pytestmark = pytest.mark.django_db(transaction=True)

REPO_ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")
#: How long a server may take to start on a busy machine.
START_TIMEOUT = 60
REFERENCE, CHANGED_FUNCTION = "PA-0001", "Customer care"


@dataclass
class Page:
    """A response as ``tests.admin_pages.form_data`` reads one."""

    url: str
    status: int
    content: bytes
    charset: str = "utf-8"

    @property
    def text(self):
        return self.content.decode(self.charset)


class Browser:
    """
    One browser's cookies and requests. Cookies do not tell ports apart, so
    the session cookie one server sets is sent to the other, as behind a
    load balancer that serves both under one name.
    """

    def __init__(self):
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, url):
        return self._open(urllib.request.Request(url))  # noqa: S310 - loopback

    def post(self, url, data, files=None):
        """Post ``data`` (and ``files``: name → (file name, bytes)) to ``url``."""
        if files:
            body, content_type = multipart(data, files)
        else:
            body = urllib.parse.urlencode(data, doseq=True).encode()
            content_type = "application/x-www-form-urlencoded"
        request = urllib.request.Request(  # noqa: S310 - loopback
            url, data=body, headers={"Content-Type": content_type}
        )
        return self._open(request)

    def _open(self, request):
        # Redirects are followed, a POST's as a GET, as browsers do.
        try:
            with self.opener.open(request, timeout=60) as response:
                return Page(response.url, response.status, response.read())
        except urllib.error.HTTPError as error:
            return Page(error.url, error.code, error.read())


def multipart(data, files):
    """``data`` and ``files`` as a browser encodes a form with a file input."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, values in data.items():
        for value in values if isinstance(values, list) else [values]:
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
                f"\r\n\r\n{value}\r\n".encode()
            )
    for name, (file_name, content) in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{file_name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url(tmp_path):
    """The test database, as a server process reaches it."""
    if connection.vendor == "postgresql":
        db = connection.settings_dict
        credentials = urllib.parse.quote(db["USER"] or "")
        if db["PASSWORD"]:
            credentials += ":" + urllib.parse.quote(db["PASSWORD"])
        host = db["HOST"] or "127.0.0.1"
        return f"postgres://{credentials}@{host}:{db['PORT'] or 5432}/{db['NAME']}"
    if connection.vendor == "sqlite":
        # The test database lives in this process's memory: the servers get
        # a file copy of it as it stands, written data included.
        copy = tmp_path / "ropa.sqlite3"
        with connection.cursor() as cursor:
            cursor.execute("VACUUM INTO %s", [str(copy)])
        return f"sqlite:///{copy}"
    pytest.skip(f"No way to share a {connection.vendor} test database")


def start_server(name, tmp_path, shared_environ):
    """A gunicorn serving the project, with a temporary folder of its own."""
    own_tmp = tmp_path / name / "tmp"
    own_tmp.mkdir(parents=True)
    port = _free_port()
    log = (tmp_path / name / "server.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - gunicorn on the loopback
        [str(GUNICORN), "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=REPO_ROOT,
        env={**shared_environ, "TMPDIR": str(own_tmp)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    return process, f"http://127.0.0.1:{port}", tmp_path / name / "server.log"


def wait_until_serving(process, base, log):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{base}/admin/login/", timeout=5):  # noqa: S310
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"The server at {base} did not start:\n{log.read_text()[-3000:]}")


@pytest.fixture
def servers(dpo_user, tmp_path):
    """Two app servers, A and B, sharing the database and the import store."""
    if not GUNICORN.exists():
        pytest.skip("gunicorn is not installed")
    shared_store = tmp_path / "shared" / "ropa-imports"
    environ = {
        **{
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("DJANGO_", "ROPA_")) and name != "DATABASE_URL"
        },
        # The test settings: the real ones, with a fast password hasher and
        # static files served without collectstatic.
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        # Plain HTTP on the loopback: TLS is the proxy's job in production.
        "DJANGO_SESSION_COOKIE_SECURE": "false",
        "DJANGO_CSRF_COOKIE_SECURE": "false",
        "DATABASE_URL": database_url(tmp_path),
        "ROPA_IMPORT_UPLOAD_DIR": str(shared_store),
    }
    started = [start_server(name, tmp_path, environ) for name in ("a", "b")]
    try:
        for process, base, log in started:
            wait_until_serving(process, base, log)
        yield started[0][1], started[1][1], shared_store
    finally:
        for process, _, _ in started:
            process.terminate()
        for process, _, _ in started:
            process.wait(timeout=10)


@pytest.fixture
def workbook(db, tmp_path):
    """Our export of a one-activity register, its business function edited."""
    ProcessingActivityFactory(reference=REFERENCE, business_function="Sales")
    path = tmp_path / "register.xlsx"
    with path.open("wb") as out:
        export_register(fmt="xlsx", out=out)
    edit(
        path,
        layout.ACTIVITIES.name,
        {(REFERENCE, "Business function"): CHANGED_FUNCTION},
    )
    return path


def log_in(browser, base, username):
    login = browser.get(f"{base}/admin/login/")
    data = form_data(login, form_id="login-form", submit=None)
    data.update(username=username, password=PASSWORD)
    return browser.post(f"{base}/admin/login/?next=/admin/", data)


def waiting(store):
    return sorted(path.name for path in store.iterdir()) if store.exists() else []


def test_preview_on_one_server_is_confirmed_on_another(workbook, dpo_user, servers):
    server_a, server_b, store = servers
    browser = Browser()

    index = log_in(browser, server_a, dpo_user.username)
    assert index.url == f"{server_a}/admin/"
    # Sessions are in the database: server B knows the user too.
    assert browser.get(f"{server_b}/admin/").url == f"{server_b}/admin/"

    # The register import: previewed on A, confirmed on B.
    url = reverse("admin:ropa_processingactivity_import_register")
    data = form_data(
        browser.get(f"{server_a}{url}"), form_id="import-register-form", submit=None
    )
    preview = browser.post(
        f"{server_a}{url}", data, files={"file": (workbook.name, workbook.read_bytes())}
    )
    assert preview.status == 200
    assert len(waiting(store)) == 1
    confirm = form_data(preview, form_id="import-confirm-form", submit="confirm")
    url = reverse("admin:ropa_processingactivity_import_register_confirm")
    done = browser.post(f"{server_b}{url}", confirm)

    assert "Imported from register.xlsx" in done.text
    assert waiting(store) == []
    changelist = reverse("admin:ropa_processingactivity_changelist")
    found = browser.get(f"{server_a}{changelist}?q={REFERENCE}")
    assert CHANGED_FUNCTION in found.text

    # A list's import: previewed on B, confirmed on A.
    url = reverse("admin:subjects_datasubjectcategory_import")
    data = form_data(
        browser.get(f"{server_b}{url}"), containing="import_file", submit=None
    )
    data["format"] = "0"  # CSV
    preview = browser.post(
        f"{server_b}{url}",
        data,
        files={"import_file": ("categories.csv", b"name\r\nVisitors\r\n")},
    )
    assert len(waiting(store)) == 1
    url = reverse("admin:subjects_datasubjectcategory_process_import")
    browser.post(f"{server_a}{url}", confirm_import_data(preview))

    assert waiting(store) == []
    changelist = reverse("admin:subjects_datasubjectcategory_changelist")
    assert "Visitors" in browser.get(f"{server_b}{changelist}?q=Visitors").text
