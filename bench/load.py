"""
Load test: concurrent admin users against gunicorn, as in production.

Run it from the project root with the project's virtualenv:

    .venv/bin/python bench/load.py [--users 20] [--seconds 60] [--activities 1000]
        [--database-url postgres://postgres@127.0.0.1:5432/ropa_load]

It prepares a scratch database of its own (dropped and created again, migrated,
filled by ``generate_register``, with the role groups and one DPO or auditor
login per user, random passwords), collects the static files, and starts
gunicorn with production settings, bound to 127.0.0.1 on a free port. Each user
logs in once through the admin's login form, then loops over a mix of admin
pages (every fifth user is an auditor who also downloads the full register as
XLSX) until the time is up. It prints throughput, latency percentiles overall
and per page, and the errors; it exits 1 if there was any error.

Bounds: nothing but the loopback is used (gunicorn on 127.0.0.1, a database on
this host, no proxy); requests stop at ``--seconds``, each one has a socket
timeout, their total is capped at users x seconds x 50, and gunicorn is
stopped on every exit, Ctrl-C included. The database is dropped at the end
(unless ``--keep``), and only ever when this script created it: a PostgreSQL
database it made carries a comment, an SQLite file an application id.

Plain HTTP on the loopback: TLS is the proxy's job in production, so the HTTPS
redirect and the secure-cookie flags are switched off here (browsers would not
send secure cookies over HTTP).
"""

import argparse
import contextlib
import functools
import ipaddress
import json
import math
import os
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.client import HTTPException
from http.cookiejar import CookieJar
from pathlib import Path

import environ
import psycopg
from psycopg import sql

REPO_ROOT = Path(__file__).resolve().parent.parent
MANAGE = REPO_ROOT / "manage.py"
GUNICORN = Path(sys.executable).with_name("gunicorn")
HOST = "127.0.0.1"

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/ropa_load"
MAX_USERS = 200
MAX_SECONDS = 3600
MAX_ACTIVITIES = 100_000
#: The total number of timed requests is capped at users x seconds x this.
REQUESTS_PER_USER_SECOND = 50
#: Every AUDITOR_EVERY-th user (the first included) is an auditor who exports.
AUDITOR_EVERY = 5
#: An auditor downloads the full register once every EXPORT_EVERY rounds.
EXPORT_EVERY = 3
ERROR_SAMPLES = 5

#: Marks a PostgreSQL database as this script's own (COMMENT ON DATABASE).
PG_MARKER = "Scratch database of bench/load.py: dropped and created again by it."
#: Marks an SQLite file as this script's own (PRAGMA application_id, "RoPL").
SQLITE_MARKER = 0x526F504C

LOGIN_PATH = "/admin/login/"
ACTIVITIES = "/admin/ropa/processingactivity/"
EXPORT_PATH = f"{ACTIVITIES}export-register/"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: The page kinds, in the order the report lists them.
PAGES = {
    "login form": "GET /admin/login/",
    "login": "POST /admin/login/",
    "changelist": "activity list, first page",
    "filtered": "activity list, ?completeness=incomplete",
    "search": "activity list, ?q=orders",
    "change form": "one activity's change form",
    "history": "one activity's history",
    "dashboard": "admin index (dashboard)",
    "notice": "public privacy notice",
    "export": "full register, XLSX download",
}
#: One round of a user's visits (rotated per user so that users differ).
ROUND = (
    "changelist",
    "change form",
    "filtered",
    "history",
    "search",
    "changelist",
    "dashboard",
    "change form",
    "notice",
)

# Run by ``manage.py shell -c``: the logins come in LOAD_TEST_LOGINS (kept out of
# the command line, where other local users could read the passwords). Prints
# the activities' primary keys as JSON.
CREATE_LOGINS = """
import json, os
from django.contrib.auth import get_user_model
from ropa.models import ProcessingActivity
from ropa.roles import ROLES, assign_role
User = get_user_model()
for login in json.loads(os.environ["LOAD_TEST_LOGINS"]):
    user = User.objects.create_user(
        login["username"], f"{login['username']}@example.com", login["password"]
    )
    assign_role(user, ROLES[login["role"]])
ids = ProcessingActivity.objects.order_by("pk").values_list("pk", flat=True)
print(json.dumps(list(ids)))
"""


class SetupError(Exception):
    """The load test cannot start; the message says why."""


def say(text=""):
    print(text, flush=True)  # noqa: T201 - the script's report


def progress(text):
    print(f"... {text}", file=sys.stderr, flush=True)  # noqa: T201 - progress


def counted(number, noun):
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


# -- arguments ---------------------------------------------------------------


def available_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def bounded_int(low, high):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"'{text}' is not a whole number"
            ) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse


def is_loopback(host):
    """Whether ``host`` is this machine: a loopback address or a local socket."""
    if not host or host.startswith("/") or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def database_config(url):
    """The scratch database's settings from its URL, refusing what is not local."""
    if not url.startswith(("postgres://", "postgresql://", "sqlite:")):
        raise ValueError(
            f"'{url}' is not a PostgreSQL (postgres://) or SQLite (sqlite:///) URL."
        )
    config = environ.Env.db_url_config(url)
    if config["ENGINE"].endswith("sqlite3"):
        name = config["NAME"]
        if not name or name == ":memory:":
            raise ValueError(
                "An SQLite database for the load test must be a file that "
                "gunicorn's workers share: sqlite:////absolute/path.sqlite3."
            )
        config["NAME"] = str(Path(name).resolve())
        return config
    if not is_loopback(config["HOST"]):
        raise ValueError(
            "The load test only talks to this machine: the database host must "
            f"be 127.0.0.1, ::1 or localhost, not '{config['HOST']}'."
        )
    if not config["NAME"]:
        raise ValueError("The database URL names no database.")
    return config


def parse_args(argv=None):
    cores = available_cores()
    parser = argparse.ArgumentParser(
        description="Concurrent admin users against gunicorn on a scratch database "
        "(loopback only); prints throughput, latency and errors.",
    )
    parser.add_argument(
        "--users",
        type=bounded_int(1, MAX_USERS),
        default=20,
        help="concurrent users, each with its own login (default 20)",
    )
    parser.add_argument(
        "--seconds",
        type=bounded_int(1, MAX_SECONDS),
        default=60,
        help="how long the users keep requesting pages (default 60)",
    )
    parser.add_argument(
        "--activities",
        type=bounded_int(1, MAX_ACTIVITIES),
        default=1000,
        help="size of the generated register (default 1000)",
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help="scratch database on this machine, dropped and created again "
        f"(default {DEFAULT_DATABASE_URL}); sqlite:////path/file.sqlite3 works too",
    )
    parser.add_argument(
        "--workers",
        type=bounded_int(1, 64),
        default=2 * cores + 1,
        help=f"gunicorn sync workers (default 2 x cores + 1 = {2 * cores + 1})",
    )
    parser.add_argument(
        "--timeout",
        type=bounded_int(1, 600),
        default=60,
        help="socket timeout of each request, in seconds (default 60)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the scratch database at the end",
    )
    args = parser.parse_args(argv)
    try:
        args.database = database_config(args.database_url)
    except ValueError as error:
        parser.error(str(error))
    return args


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


def production_environ(database_url, static_root):
    """The environment of every manage.py and gunicorn process: production-like."""
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
        "DJANGO_STATIC_ROOT": str(static_root),
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


def prepare(env, args, logins):
    """Fill the scratch database; returns the activities' primary keys."""
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
    activity_ids = json.loads(output.strip().splitlines()[-1])
    if not activity_ids:
        raise SetupError("The generated register has no activities.")
    progress("collecting static files")
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    return activity_ids


# -- HTTP ----------------------------------------------------------------------


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Each response is measured on its own: a redirect is returned, not followed."""

    def redirect_request(self, *args, **kwargs):
        return None


def opener(jar=None):
    handlers = [
        # No proxy, whatever the environment says: only the loopback is used.
        urllib.request.ProxyHandler({}),
        NoRedirect(),
    ]
    if jar is not None:
        handlers.append(urllib.request.HTTPCookieProcessor(jar))
    return urllib.request.build_opener(*handlers)


@dataclass(frozen=True)
class Sample:
    kind: str
    path: str
    seconds: float
    status: int | None
    error: str = ""


def fetch(client, base, path, *, timeout, data=None):
    """Status, headers and body of one request to ``base``; raises on no answer."""
    if not path.startswith("/"):
        raise ValueError(f"Not a path on the test server: {path}")
    request = urllib.request.Request(f"{base}{path}", data=data)  # noqa: S310 - http://127.0.0.1 only
    try:
        with client.open(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


@dataclass
class Budget:
    """The cap on timed requests, shared by the users."""

    left: int
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self):
        with self.lock:
            if self.left <= 0:
                return False
            self.left -= 1
            return True


class User:
    """One admin user: a cookie jar of its own, a login, a loop over pages."""

    def __init__(self, number, login, *, base, activity_ids, timeout):
        self.number = number
        self.login_details = login
        self.base = base
        self.activity_ids = activity_ids
        self.timeout = timeout
        self.samples = []
        self.client = opener(CookieJar())
        self.logged_in = False

    def take_samples(self):
        """The samples recorded so far, and a fresh list for the next ones."""
        samples, self.samples = self.samples, []
        return samples

    def request(self, kind, path, *, data=None, expect=200, check=None):
        started = time.perf_counter()
        try:
            status, headers, body = fetch(
                self.client, self.base, path, timeout=self.timeout, data=data
            )
        except (OSError, HTTPException) as error:
            self.samples.append(
                Sample(kind, path, time.perf_counter() - started, None, repr(error))
            )
            return None
        seconds = time.perf_counter() - started
        error = ""
        if status != expect:
            snippet = re.sub(
                r"\s+", " ", re.sub(r"<[^>]+>", " ", body.decode(errors="replace"))
            )
            error = f"HTTP {status}, expected {expect}: {snippet.strip()[:160]}"
        elif check is not None:
            error = check(headers, body)
        self.samples.append(Sample(kind, path, seconds, status, error))
        return None if error else body

    def log_in(self):
        """The login form, then the credentials: logged in when redirected."""
        form = self.request("login form", f"{LOGIN_PATH}?next=/admin/")
        if form is None:
            return
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', form)
        data = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": token.group(1).decode() if token else "",
                "username": self.login_details.username,
                "password": self.login_details.password,
                "next": "/admin/",
            }
        ).encode()
        # A wrong password shows the form again (200): only a redirect is a login.
        self.logged_in = (
            self.request("login", LOGIN_PATH, data=data, expect=302) is not None
        )

    def visits(self):
        """The user's endless sequence of (kind, path, check)."""
        is_auditor = self.login_details.role == "auditor"
        shift = self.number % len(ROUND)
        kinds = ROUND[shift:] + ROUND[:shift]
        ids = self.activity_ids
        # Spread over the register, the same for every run.
        step = max(1, len(ids) // 97)
        position = self.number * step
        round_number = 0
        while True:
            if is_auditor and (round_number + self.number) % EXPORT_EVERY == 0:
                yield "export", f"{EXPORT_PATH}?format=xlsx", is_xlsx
            for kind in kinds:
                activity = ids[position % len(ids)]
                if kind in ("change form", "history"):
                    position += step
                path = {
                    "changelist": ACTIVITIES,
                    "filtered": f"{ACTIVITIES}?completeness=incomplete",
                    "search": f"{ACTIVITIES}?q=orders",
                    "change form": f"{ACTIVITIES}{activity}/change/",
                    "history": f"{ACTIVITIES}{activity}/history/",
                    "dashboard": "/admin/",
                    "notice": "/privacy-notice/",
                }[kind]
                yield kind, path, None
            round_number += 1

    def run(self, *, deadline, budget, stop):
        for kind, path, check in self.visits():
            if stop.is_set() or time.perf_counter() >= deadline or not budget.take():
                return
            self.request(kind, path, check=check)


def is_xlsx(headers, body):
    if headers.get_content_type() != XLSX_TYPE or not body.startswith(b"PK"):
        return f"not an XLSX download: {headers.get_content_type()}, {len(body)} bytes"
    return ""


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
            raise SetupError(f"gunicorn stopped:\n{_tail(log_path)}")
        try:
            status, _, _ = fetch(client, base, LOGIN_PATH, timeout=5)
        except (OSError, HTTPException):
            time.sleep(0.2)
            continue
        if status == 200:
            return
        raise SetupError(
            f"gunicorn answers {status} on {LOGIN_PATH}:\n{_tail(log_path)}"
        )
    raise SetupError(f"gunicorn did not answer within 60 s:\n{_tail(log_path)}")


def _tail(path, lines=30):
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# -- the run -------------------------------------------------------------------


def run_threads(targets, *, limit):
    """Run each callable in a thread of its own; wait up to ``limit`` seconds."""
    threads = [threading.Thread(target=target, daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    # Daemon threads: a request stuck past its timeout cannot hold up the exit.
    deadline = time.monotonic() + limit
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return sum(thread.is_alive() for thread in threads)


@dataclass
class Outcome:
    logins: list
    samples: list
    seconds: float
    capped: bool
    stuck: int


def load(base, logins, activity_ids, args):
    users = [
        User(number, login, base=base, activity_ids=activity_ids, timeout=args.timeout)
        for number, login in enumerate(logins)
    ]
    progress(f"logging in {counted(len(users), 'user')}")
    stuck = run_threads([user.log_in for user in users], limit=2 * args.timeout + 30)
    # The logins are reported apart: they are not part of the timed run.
    login_samples = [sample for user in users for sample in user.take_samples()]
    budget = Budget(args.users * args.seconds * REQUESTS_PER_USER_SECOND)
    stop = threading.Event()
    progress(f"{counted(len(users), 'user')} for {args.seconds} s")
    started = time.perf_counter()
    deadline = started + args.seconds
    try:
        stuck += run_threads(
            [
                functools.partial(user.run, deadline=deadline, budget=budget, stop=stop)
                for user in users
                if user.logged_in
            ],
            limit=args.seconds + args.timeout + 30,
        )
    finally:
        stop.set()
    return Outcome(
        logins=login_samples,
        samples=[sample for user in users for sample in user.take_samples()],
        seconds=time.perf_counter() - started,
        capped=budget.left <= 0,
        stuck=stuck,
    )


# -- the report ----------------------------------------------------------------


def percentile(sorted_values, share):
    """The nearest-rank percentile of already sorted values."""
    rank = max(1, math.ceil(share / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def latency_row(label, samples):
    values = sorted(sample.seconds * 1000 for sample in samples)
    figures = [percentile(values, share) for share in (50, 95, 99)] + [values[-1]]
    return f"{label:<14} {len(values):>9,} " + " ".join(
        f"{value:>8,.0f}" for value in figures
    )


def report(outcome, args, *, database, workers, base, load_average):
    samples = outcome.samples
    errors = [s for s in outcome.logins + samples if s.error]
    say(
        f"Load test: {counted(args.users, 'user')} for {args.seconds} s against "
        f"gunicorn ({counted(workers, 'sync worker')}) at {base}"
    )
    say(
        f"Register: {args.activities:,} generated activities on {database}; "
        f"Python {sys.version.split()[0]}"
    )
    say(
        f"Machine: {available_cores()} cores shared by client, gunicorn and the "
        f"database; load average {load_average:.2f} before the script started"
    )
    logged_in = sum(1 for s in outcome.logins if s.kind == "login" and not s.error)
    say(f"Logins: {logged_in} of {args.users}")
    say()
    say(f"Requests: {len(samples):,} in {outcome.seconds:.1f} s")
    say(f"Throughput: {len(samples) / outcome.seconds:.1f} requests/s")
    if samples:
        values = sorted(sample.seconds * 1000 for sample in samples)
        say(
            "Latency: "
            + ", ".join(
                f"p{share} {percentile(values, share):,.0f} ms"
                for share in (50, 95, 99)
            )
        )
    say(f"Errors: {len(errors)}")
    if outcome.capped:
        cap = args.users * args.seconds * REQUESTS_PER_USER_SECOND
        say(f"Stopped at the cap of {cap:,} requests.")
    if outcome.stuck:
        say(f"Users still waiting for an answer at the end: {outcome.stuck}")
    say()
    columns = ("p50 ms", "p95 ms", "p99 ms", "max ms")
    say(
        f"{'page':<14} {'requests':>9} "
        + " ".join(f"{column:>8}" for column in columns)
        + "  what"
    )
    for kind, what in PAGES.items():
        of_kind = [s for s in outcome.logins + samples if s.kind == kind]
        if of_kind:
            say(f"{latency_row(kind, of_kind)}  {what}")
    if samples:
        say(latency_row("all pages", samples) + "  timed requests (logins excluded)")
    if errors:
        say()
        say(f"First errors (of {len(errors)}):")
        for sample in errors[:ERROR_SAMPLES]:
            say(f"  {sample.kind} {sample.path}: {sample.error}")
    return 1 if errors or outcome.stuck else 0


# -- main ------------------------------------------------------------------------


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    args = parse_args(argv)
    # Other work on the machine skews the figures: the report says how much
    # there was (read before this script adds its own).
    load_average = os.getloadavg()[0]
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    database = scratch_database(args)
    logins = make_logins(args.users)
    created = False
    try:
        with tempfile.TemporaryDirectory(prefix="ropa-load-") as folder:
            folder = Path(folder)
            env = production_environ(database.url, folder / "static")
            progress(f"creating the scratch database ({database.url.split('@')[-1]})")
            database.recreate()
            created = True
            activity_ids = prepare(env, args, logins)
            progress(f"starting gunicorn with {counted(args.workers, 'worker')}")
            with gunicorn(
                env, workers=args.workers, log_path=folder / "gunicorn.log"
            ) as base:
                outcome = load(base, logins, activity_ids, args)
            status = report(
                outcome,
                args,
                database=database.description,
                workers=args.workers,
                base=base,
                load_average=load_average,
            )
            if status:
                say()
                say(f"gunicorn's log (last lines):\n{_tail(folder / 'gunicorn.log')}")
            return status
    except SetupError as error:
        sys.stderr.write(f"load test: {error}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("load test: interrupted\n")
        return 130
    finally:
        if created and not args.keep:
            progress("dropping the scratch database")
            try:
                database.drop()
            except SetupError as error:
                sys.stderr.write(f"load test: the database was not dropped: {error}\n")


if __name__ == "__main__":
    sys.exit(main())
