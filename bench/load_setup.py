"""
The load test's setting up (bench/load.py): the scratch database it creates
and drops, the production-like environment of every process, the register
generated in it with one login per user, the workbook the DPOs upload, and
gunicorn on the loopback.
"""

import contextlib
import io
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path

import openpyxl
import psycopg
from psycopg import sql

# Beside the script: Python puts its folder first on the path.
from load_browser import fetch, opener
from load_users import LOGIN_PATH

REPO_ROOT = Path(__file__).resolve().parent.parent
MANAGE = REPO_ROOT / "manage.py"
GUNICORN = Path(sys.executable).with_name("gunicorn")
HOST = "127.0.0.1"

#: Every AUDITOR_EVERY-th user (the first included) is an auditor who exports.
AUDITOR_EVERY = 5

#: Marks a PostgreSQL database as this script's own (COMMENT ON DATABASE).
PG_MARKER = "Scratch database of bench/load.py: dropped and created again by it."
#: Marks an SQLite file as this script's own (PRAGMA application_id, "RoPL").
SQLITE_MARKER = 0x526F504C

#: The sheet and the column of the small workbook a DPO edits before uploading.
EDITED_SHEET = "Activities"
EDITED_COLUMN = "Location of the data"

# Run by ``manage.py shell -c``: the logins come in LOAD_TEST_LOGINS (kept out of
# the command line, where other local users could read the passwords). Each DPO
# gets an authenticator app (django-otp's TOTP device), where two-factor login
# is installed. Prints, as JSON, the activities' primary keys, those with an
# open review, the slug of the organisation with the fewest activities (its
# register is small), and the DPOs' authenticator keys.
CREATE_LOGINS = """
import json, os
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db.models import Count
from controllers.models import Organisation
from ropa.models import ProcessingActivity
from ropa.roles import ROLES, assign_role
User = get_user_model()
for login in json.loads(os.environ["LOAD_TEST_LOGINS"]):
    user = User.objects.create_user(
        login["username"], f"{login['username']}@example.com", login["password"]
    )
    assign_role(user, ROLES[login["role"]])
keys = {}
if apps.is_installed("django_otp.plugins.otp_totp"):
    from django_otp.plugins.otp_totp.models import TOTPDevice
    for login in json.loads(os.environ["LOAD_TEST_LOGINS"]):
        if login["role"] == "dpo":
            user = User.objects.get(username=login["username"])
            device = TOTPDevice.objects.create(
                user=user, name="Authenticator app", confirmed=True
            )
            keys[login["username"]] = device.key
activities = ProcessingActivity.objects.order_by("pk")
smallest = (
    Organisation.objects.annotate(count=Count("activities"))
    .filter(count__gt=0)
    .order_by("count", "slug")
    .first()
)
print(json.dumps({
    "activities": list(activities.values_list("pk", flat=True)),
    # A review that is there and open: "completed_on is null" alone also
    # matches an activity with no review at all (the join's empty row).
    "reviewable": list(
        activities.filter(reviews__isnull=False, reviews__completed_on__isnull=True)
        .distinct()
        .values_list("pk", flat=True)
    ),
    "controller": smallest.slug if smallest else None,
    "imported": list(
        activities.filter(organisations=smallest).values_list("pk", flat=True)
    ) if smallest else [],
    "authenticator_keys": keys,
}))
"""


class SetupError(Exception):
    """The load test cannot start; the message says why."""


def progress(text):
    print(f"... {text}", file=sys.stderr, flush=True)  # noqa: T201 - progress


def counted(number, noun):
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


# -- the scratch database ----------------------------------------------------


class PostgresScratch:
    """A PostgreSQL database this script creates, marked with a comment."""

    def __init__(self, config, url):
        self.config = config
        self.name = config["NAME"]
        self.url = url

    def _connect(self):
        # The maintenance database: a database cannot drop itself.
        try:
            return psycopg.connect(
                host=self.config["HOST"] or None,
                port=self.config["PORT"] or None,
                user=self.config["USER"] or None,
                password=self.config["PASSWORD"] or None,
                dbname="postgres",
                autocommit=True,
                connect_timeout=10,
            )
        except psycopg.OperationalError as error:
            raise SetupError(f"Cannot reach PostgreSQL: {error}".strip()) from error

    def _drop_own(self, connection):
        row = connection.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
            "WHERE datname = %s",
            [self.name],
        ).fetchone()
        if row is None:
            return
        if row[0] != PG_MARKER:
            raise SetupError(
                f"The database '{self.name}' exists and was not created by this "
                "script: it is left alone. Name another one with --database-url."
            )
        connection.execute(
            sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(self.name))
        )

    def recreate(self):
        with self._connect() as connection:
            self._drop_own(connection)
            name = sql.Identifier(self.name)
            connection.execute(sql.SQL("CREATE DATABASE {}").format(name))
            connection.execute(
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                    name, sql.Literal(PG_MARKER)
                )
            )
            version = connection.info.server_version
        self.description = f"PostgreSQL {version // 10000}.{version % 10000}"

    def drop(self):
        with self._connect() as connection:
            self._drop_own(connection)


class SqliteScratch:
    """An SQLite file this script creates, marked by its application id."""

    def __init__(self, config):
        self.path = Path(config["NAME"])
        self.url = f"sqlite:///{self.path}"
        self.description = f"SQLite {sqlite3.sqlite_version}"

    def _drop_own(self):
        if not self.path.exists():
            return
        try:
            with contextlib.closing(sqlite3.connect(self.path)) as connection:
                (application_id,) = connection.execute(
                    "PRAGMA application_id"
                ).fetchone()
        except sqlite3.DatabaseError:
            application_id = None
        if application_id != SQLITE_MARKER:
            raise SetupError(
                f"The file '{self.path}' exists and was not created by this "
                "script: it is left alone. Name another one with --database-url."
            )
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def recreate(self):
        self._drop_own()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(self.path)) as connection:
            connection.execute(f"PRAGMA application_id = {SQLITE_MARKER}")
            connection.commit()

    def drop(self):
        self._drop_own()


def scratch_database(args):
    if args.database["ENGINE"].endswith("sqlite3"):
        return SqliteScratch(args.database)
    return PostgresScratch(args.database, args.database_url)


# -- setting up --------------------------------------------------------------


def production_environ(database_url, folder):
    """
    The environment of every manage.py and gunicorn process: production-like,
    with the static files and the import uploads in the run's ``folder``.
    """
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "AXES_", "ROPA_"))
        and key not in ("DATABASE_URL", "LOAD_TEST_LOGINS")
    }
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": HOST,
        # Plain HTTP on the loopback (TLS is the proxy's job): no redirect to
        # HTTPS, and cookies that an HTTP client sends back.
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SESSION_COOKIE_SECURE": "false",
        "DJANGO_CSRF_COOKIE_SECURE": "false",
        "DJANGO_STATIC_ROOT": str(folder / "static"),
        # The uploads of the import previews (personal data) go with the run.
        "ROPA_IMPORT_UPLOAD_DIR": str(folder / "uploads"),
        "DATABASE_URL": database_url,
    }


def manage(env, *args, extra_env=None):
    """Run ``manage.py <args>``; its standard output, or SetupError."""
    result = subprocess.run(  # noqa: S603 - our own manage.py, fixed arguments
        [sys.executable, str(MANAGE), *args],
        cwd=REPO_ROOT,
        env={**env, **(extra_env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        raise SetupError(
            f"manage.py {args[0]} failed:\n{(result.stderr or result.stdout).strip()}"
        )
    return result.stdout


@dataclass(frozen=True)
class Login:
    username: str
    password: str
    role: str


def make_logins(users):
    return [
        Login(
            username=f"load-{number:03d}",
            password=secrets.token_urlsafe(18),
            role="auditor" if number % AUDITOR_EVERY == 0 else "dpo",
        )
        for number in range(users)
    ]


@dataclass(frozen=True)
class Register:
    """What the users work on: the activities, and the workbook DPOs upload."""

    activity_ids: list
    #: The activities with an open review, to sign off.
    reviewable_ids: list
    #: The activities of the workbook: nobody saves them, so that its preview
    #: stays one that could be confirmed.
    imported_ids: list
    workbook_name: str
    workbook: bytes
    #: Each DPO's authenticator app key (hex), by username, where two-factor
    #: login is installed.
    authenticator_keys: dict


def prepare(env, args, logins, folder):
    """Fill the scratch database and export the workbook the DPOs upload."""
    progress("migrating")
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    progress(f"generating {args.activities:,} activities")
    manage(
        env,
        "generate_register",
        "--activities",
        str(args.activities),
        "--verbosity",
        "0",
    )
    progress("creating the role groups")
    manage(env, "setup_roles")
    progress("opening the year's reviews")
    manage(env, "yearly_review")
    progress(f"creating {counted(len(logins), 'login')}")
    output = manage(
        env,
        "shell",
        "--verbosity",
        "0",
        "--command",
        CREATE_LOGINS,
        extra_env={
            "LOAD_TEST_LOGINS": json.dumps(
                [login.__dict__ for login in logins], separators=(",", ":")
            )
        },
    )
    found = json.loads(output.strip().splitlines()[-1])
    if not found["activities"] or not found["controller"]:
        raise SetupError("The generated register has no activities.")
    progress(f"exporting the register of {found['controller']}, to upload")
    workbook = folder / f"ropa-register-{found['controller']}.xlsx"
    manage(
        env,
        "export_register",
        "--controller",
        found["controller"],
        "--output",
        str(workbook),
        "--verbosity",
        "0",
    )
    progress("collecting static files")
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    return Register(
        activity_ids=found["activities"],
        reviewable_ids=found["reviewable"],
        imported_ids=found["imported"],
        workbook_name=workbook.name,
        workbook=edited_workbook(workbook),
        authenticator_keys=found["authenticator_keys"],
    )


def edited_workbook(path):
    """
    The exported workbook as a DPO uploads it back: one cell changed in a
    spreadsheet, so that the preview has something to show.
    """
    book = openpyxl.load_workbook(path)
    sheet = book[EDITED_SHEET]
    headings = [cell.value for cell in sheet[1]]
    if EDITED_COLUMN not in headings or sheet.max_row < 2:
        raise SetupError(
            f"The exported workbook has no '{EDITED_COLUMN}' column with a row "
            f"on its '{EDITED_SHEET}' sheet."
        )
    cell = sheet.cell(row=2, column=headings.index(EDITED_COLUMN) + 1)
    cell.value = f"{cell.value or ''} (checked with IT)".strip()
    edited = io.BytesIO()
    book.save(edited)
    return edited.getvalue()


# -- gunicorn ------------------------------------------------------------------


def free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def gunicorn(env, *, workers, log_path):
    """gunicorn serving the project on 127.0.0.1; stopped on the way out."""
    if not GUNICORN.exists():
        raise SetupError(
            f"gunicorn is not installed beside {sys.executable}: "
            "pip install -r requirements.txt"
        )
    port = free_port()
    base = f"http://{HOST}:{port}"
    with log_path.open("wb") as log:
        # No --access-logfile: gunicorn writes no access log by default. Its own
        # session, so that Ctrl-C reaches this script, which stops it in order.
        server = subprocess.Popen(  # noqa: S603 - gunicorn on the loopback
            [
                str(GUNICORN),
                "config.wsgi",
                "--bind",
                f"{HOST}:{port}",
                "--workers",
                str(workers),
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_serving(server, base, log_path)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _wait_until_serving(server, base, log_path):
    client = opener()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SetupError(f"gunicorn stopped:\n{log_tail(log_path)}")
        try:
            status, _, _ = fetch(client, base, LOGIN_PATH, timeout=5)
        except (OSError, HTTPException):
            time.sleep(0.2)
            continue
        if status == 200:
            return
        raise SetupError(
            f"gunicorn answers {status} on {LOGIN_PATH}:\n{log_tail(log_path)}"
        )
    raise SetupError(f"gunicorn did not answer within 60 s:\n{log_tail(log_path)}")


def log_tail(path, lines=30):
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
