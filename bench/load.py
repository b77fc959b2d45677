"""
Load test: concurrent admin users against gunicorn, as in production.

Run it from the project root with the project's virtualenv:

    .venv/bin/python bench/load.py [--users 20] [--seconds 60] [--activities 1000]
        [--database-url postgres://postgres@127.0.0.1:5432/ropa_load]

It prepares a scratch database of its own (dropped and created again, migrated,
filled by ``generate_register``, the year's reviews opened by ``yearly_review``,
with the role groups and one DPO or auditor login per user, random passwords),
exports one small controller's register as the workbook the DPOs upload,
collects the static files, and starts gunicorn with production settings, bound
to 127.0.0.1 on a free port. Each user logs in once through the admin's login
form (``User.log_in``, the one place that logs in), then loops over a mix of
admin pages until the time is up. Every fifth user is an auditor, who reads and
downloads the full register as XLSX. The others are DPOs, who also write, as a
browser does: they post back what the change page renders (every input, the
inline formsets and the hidden version fields) with a small change, and follow
the redirect; now and then from a form read before another save landed, which
must be refused with the stale-form message (a 200, never a redirect, never a
500); they sign off open reviews; and they upload the small register workbook
to the import page, read the preview and cancel it, so that nothing but their
saves and sign-offs changes the register.

It prints throughput, latency percentiles overall and per kind of request, and
what each kind of request came to (the outcome: ok, a stale form refused as
expected, an HTTP status, unexpected content, a stale form saved). It exits 1
on any error: any HTTP 500, any stale form saved, any unexpected answer.

Bounds: nothing but the loopback is used (gunicorn on 127.0.0.1, a database on
this host, no proxy); requests stop at ``--seconds``, each one has a socket
timeout, their total is capped at users x seconds x 50, and gunicorn is
stopped on every exit, Ctrl-C included. The database is dropped at the end
(unless ``--keep``), and only ever when this script created it: a PostgreSQL
database it made carries a comment, an SQLite file an application id. The
import uploads wait in the run's own temporary folder, removed at the end.

Plain HTTP on the loopback: TLS is the proxy's job in production, so the HTTPS
redirect and the secure-cookie flags are switched off here (browsers would not
send secure cookies over HTTP).

The script is in four modules, side by side in bench/: this one reads the
arguments, runs the users, prints the report and sets the exit status;
``load_setup.py`` prepares the scratch database, the logins and the workbook
and starts gunicorn; ``load_users.py`` is the users (what they request, and
how each answer is judged); ``load_browser.py`` is HTTP and forms as a
browser does them.
"""

import argparse
import functools
import ipaddress
import math
import os
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import environ

# Beside the script: Python puts its folder first on the path.
from load_setup import (
    SetupError,
    counted,
    gunicorn,
    log_tail,
    make_logins,
    prepare,
    production_environ,
    progress,
    scratch_database,
)
from load_users import FINE, STALE_SAVED, Budget, User, desks

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/ropa_load"
MAX_USERS = 200
MAX_SECONDS = 3600
MAX_ACTIVITIES = 100_000
#: The total number of timed requests is capped at users x seconds x this.
REQUESTS_PER_USER_SECOND = 50
ERROR_SAMPLES = 5

#: The kinds of request, in the order the report lists them.
PAGES = {
    "login form": "GET /admin/login/",
    "login": "POST /admin/login/",
    "login redirect": "a page the login leads through (GET)",
    "code": "POST the authenticator app's code (two-factor login)",
    "changelist": "activity list, first page (or the one a save returns to)",
    "filtered": "activity list, ?completeness=incomplete",
    "search": "activity list, ?q=orders",
    "change form": "one activity's change form",
    "history": "one activity's history",
    "dashboard": "admin index (dashboard)",
    "notice": "public privacy notice",
    "export": "full register, XLSX download",
    "save": "POST the change form as rendered, with a small change",
    "stale save": "POST a change form read before another save",
    "sign-off form": "an open review's Mark reviewed page",
    "sign-off": "POST Mark reviewed (confirmed)",
    "import form": "the register import page",
    "import preview": "upload a small register workbook, its preview",
    "import cancel": "cancel at the preview: nothing imported",
}


def say(text=""):
    print(text, flush=True)  # noqa: T201 - the script's report


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
    #: How many users completed their login (the code step included).
    logged_in: int
    samples: list
    seconds: float
    capped: bool
    stuck: int


def load(base, logins, register, args):
    shares = desks(logins, register)
    users = [
        User(
            number,
            login,
            base=base,
            register=register,
            timeout=args.timeout,
            desk=shares.get(number),
        )
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
        logged_in=sum(user.logged_in for user in users),
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
    everything = outcome.logins + samples
    errors = [s for s in everything if s.is_error]
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
    say(f"Logins: {outcome.logged_in} of {args.users}")
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
    server_errors = sum(1 for s in everything if s.status and s.status >= 500)
    say(f"Server errors (HTTP 5xx): {server_errors}")
    say(f"Stale forms saved: {sum(1 for s in everything if s.outcome == STALE_SAVED)}")
    if outcome.capped:
        cap = args.users * args.seconds * REQUESTS_PER_USER_SECOND
        say(f"Stopped at the cap of {cap:,} requests.")
    if outcome.stuck:
        say(f"Users still waiting for an answer at the end: {outcome.stuck}")
    say()
    columns = ("p50 ms", "p95 ms", "p99 ms", "max ms")
    say(
        f"{'kind':<14} {'requests':>9} "
        + " ".join(f"{column:>8}" for column in columns)
        + "  what"
    )
    for kind, what in PAGES.items():
        of_kind = [s for s in everything if s.kind == kind]
        if of_kind:
            say(f"{latency_row(kind, of_kind)}  {what}")
    if samples:
        say(latency_row("all requests", samples) + "  timed (logins excluded)")
    say()
    report_outcomes(everything)
    if errors:
        say()
        say(f"First errors (of {len(errors)}):")
        for sample in errors[:ERROR_SAMPLES]:
            say(f"  {sample.kind} {sample.path}: {sample.outcome}: {sample.error}")
    return exit_status(everything, stuck=outcome.stuck)


def report_outcomes(samples):
    """What each kind of request came to, errors marked."""
    counts = Counter((sample.kind, sample.outcome) for sample in samples)
    say(f"{'kind':<14} {'outcome':<36} {'requests':>9}")
    for kind in PAGES:
        for (of_kind, outcome), count in sorted(counts.items()):
            if of_kind == kind:
                mark = "" if outcome in FINE else "  ERROR"
                say(f"{kind:<14} {outcome:<36} {count:>9,}{mark}")


def exit_status(samples, *, stuck=0):
    """
    1 when anything went wrong: an HTTP 500 or any other unexpected answer,
    a stale form saved, no answer, or a user still waiting at the end.
    """
    return 1 if stuck or any(sample.is_error for sample in samples) else 0


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
            env = production_environ(database.url, folder)
            progress(f"creating the scratch database ({database.url.split('@')[-1]})")
            database.recreate()
            created = True
            register = prepare(env, args, logins, folder)
            progress(f"starting gunicorn with {counted(args.workers, 'worker')}")
            with gunicorn(
                env, workers=args.workers, log_path=folder / "gunicorn.log"
            ) as base:
                outcome = load(base, logins, register, args)
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
                log = log_tail(folder / "gunicorn.log")
                say(f"gunicorn's log (last lines):\n{log}")
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
