"""
How the register behaves as it grows: latency, queries and memory at N activities.

Each size runs in a database of its own, created and destroyed like the test
runner's (``test_<name>``; a temporary file for SQLite), filled by
``generate_register``. Nothing touches the configured database itself.
"""

import contextlib
import csv
import datetime
import io
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import (
    CaptureQueriesContext,
    override_settings,
    setup_databases,
    teardown_databases,
)
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from import_export import resources

from ropa import health
from ropa.exchange.export import export_register
from ropa.models import HealthMonth, ProcessingActivity
from ropa.notice import build_notice, render_notice
from ropa.perf.generate import Sizes, generate_register

BASE_DIR = Path(settings.BASE_DIR)
UNTUNED_CAP = 1000

#: The yardstick of the admin pages: Django's own changelist of a model with no
#: rows, ``auth.Group`` under Django's unchanged ``GroupAdmin`` (the benchmark
#: creates no groups: the roles come from ``setup_roles``, which it does not
#: run). It passes through the same middleware, session, login, site templates
#: and client as the register's pages, so it is what any admin page costs on
#: this machine before it shows a record, and the pages' ratios to it say what
#: the register adds, whatever the machine.
REFERENCE = "reference: Django changelist, empty model"

#: The issue's bounds for the pages, as multiples of the reference.
PAGE_TARGETS = {
    "changelist: first page": 10,
    "changelist: search": 10,
    "change form": 20,
}


@dataclass
class Figure:
    name: str
    seconds: float | None = None
    queries: int | None = None
    rss_mb: float | None = None
    note: str = ""
    fastest: float | None = None


@dataclass
class Run:
    activities: int
    figures: list = field(default_factory=list)

    def add(self, *args, **kwargs):
        figure = Figure(*args, **kwargs)
        self.figures.append(figure)
        return figure

    def get(self, name):
        return next(figure for figure in self.figures if figure.name == name)

    def ratio(self, name):
        """A page's fastest time as a multiple of the reference's fastest."""
        return self.get(name).fastest / self.get(REFERENCE).fastest


class UntunedActivityResource(resources.ModelResource):
    """django-import-export as it comes: every field, no prefetching."""

    class Meta:
        model = ProcessingActivity


def timed(function, repeat=1):
    """The median wall time of ``repeat`` calls, with the last call's queries."""
    seconds = []
    for _ in range(repeat):
        # The query log keeps 9,000 entries: start each count from empty.
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            function()
            seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), len(queries)


def timed_pages(pages, repeat):
    """Each page's median and fastest wall time over ``repeat`` rounds, and queries.

    ``pages`` maps names to callables. A first, untimed call of each counts its
    queries (recording them costs time of its own) and warms what a running
    server has warm, such as its compiled templates. Each round then calls
    every page in turn, so that load from elsewhere on a shared machine slows
    the reference and the pages alike and their ratios hold.
    """
    queries = {}
    for name, page in pages.items():
        with CaptureQueriesContext(connection) as captured:
            response = page()
        # A redirect (to the login, to its code step) would time the wrong page.
        if getattr(response, "status_code", 200) != 200:
            raise RuntimeError(
                f"{name}: the page answered {response.status_code}, not 200."
            )
        queries[name] = len(captured)
    seconds = {name: [] for name in pages}
    for _ in range(repeat):
        for name, page in pages.items():
            started = time.perf_counter()
            page()
            seconds[name].append(time.perf_counter() - started)
    return {
        name: (statistics.median(seconds[name]), queries[name], min(seconds[name]))
        for name in pages
    }


def admin_client(username):
    """
    A test client logged in as a new superuser with both factors, as the
    admin asks of a superuser: with the password alone every admin page is
    the redirect to the code step (``ropa.login``).
    """
    user = get_user_model().objects.create_superuser(
        username, f"{username}@example.com", None
    )
    device = TOTPDevice.objects.create(user=user, name="benchmark", confirmed=True)
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def reference_changelist():
    """The URL of the reference page, refused if it is no longer Django's own."""
    model_admin = admin.site._registry.get(Group)
    if type(model_admin) is not GroupAdmin or Group.objects.exists():
        raise RuntimeError(
            "The reference page must be Django's own GroupAdmin changelist "
            "with no groups: choose another empty model."
        )
    return reverse("admin:auth_group_changelist")


@contextlib.contextmanager
def benchmark_database():
    """A fresh database for one size, destroyed afterwards."""
    database = settings.DATABASES["default"]
    scratch = None
    if database["ENGINE"].endswith("sqlite3"):
        # A file, not the test runner's in-memory database: the export
        # subprocess measured for memory must see it.
        scratch = tempfile.NamedTemporaryFile(suffix=".sqlite3", delete=False)  # noqa: SIM115
        scratch.close()
        database.setdefault("TEST", {})["NAME"] = scratch.name
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        yield
    finally:
        teardown_databases(old_config, verbosity=0)
        if scratch:
            Path(scratch.name).unlink(missing_ok=True)


def database_url():
    """The URL of the benchmark database, for subprocesses."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    host = db["HOST"] or "localhost"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{db['NAME']}"


def command_rss(*args):
    """Wall time and peak resident memory (MB) of ``manage.py <args>``."""
    environ = {**os.environ, "DATABASE_URL": database_url()}
    environ.pop("DJANGO_SETTINGS_MODULE", None)
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 - our own manage.py, fixed arguments
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        cwd=BASE_DIR,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)}: {process.stderr.read()}")
    # ru_maxrss is in kilobytes on Linux.
    return seconds, usage.ru_maxrss / 1024


def pdf_figure(path):
    """
    The register as a PDF (``export_register --format pdf``), run once: it
    takes minutes at 10,000 activities. Its time and peak resident memory are
    those of the command's process (``command_rss``: ru_maxrss of the child,
    Django's start included); the note gives its pages and its size.
    """
    seconds, rss = command_rss(
        "export_register", "--format", "pdf", "--output", str(path)
    )
    data = path.read_bytes()
    # The page tree's count: ReportLab writes one tree of every page.
    pages = int(re.search(rb"/Count (\d+) /Kids", data)[1])
    return Figure(
        "export PDF document (full register)",
        seconds,
        rss_mb=rss,
        note=f"one run, of the export_register process; {pages:,} pages, "
        f"{len(data) / 2**20:.1f} MB",
    )


def floor_csv(out):
    """One SQL query per table the register export reads, into csv.writer."""
    tables = [ProcessingActivity._meta.db_table]
    for name in (
        "organisations",
        "client_controllers",
        "data_subject_categories",
        "personal_data_categories",
        "recipients",
        "processor_agreements",
        "security_measures",
    ):
        tables.append(getattr(ProcessingActivity, name).through._meta.db_table)
    for related in ("lawful_bases", "transfers", "retention_rules"):
        tables.append(
            ProcessingActivity._meta.get_field(related).related_model._meta.db_table
        )
    for label in (
        "controllers.Organisation",
        "controllers.DataProtectionOfficer",
        "controllers.JointControllerArrangement",
        "controllers.ProcessorAgreement",
        "subjects.DataSubjectCategory",
        "subjects.PersonalDataCategory",
        "ropa.Recipient",
        "ropa.SecurityMeasure",
    ):
        tables.append(apps.get_model(label)._meta.db_table)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for table in tables:
            text = io.StringIO()
            writer = csv.writer(text)
            with connection.cursor() as cursor:
                cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - our table names
                writer.writerow(column[0] for column in cursor.description)
                writer.writerows(cursor)
            archive.writestr(f"{table}.csv", text.getvalue())


def measure(activities, *, repeat, progress):
    run = Run(activities)
    # As production runs, whatever the environment says: with DEBUG on, the
    # templates keep debugging information and every query is logged.
    with benchmark_database(), override_settings(DEBUG=False):
        progress(f"{activities:,} activities: generating the register")
        started = time.perf_counter()
        generate_register(sizes=Sizes(activities=activities), seed=1)
        run.add("generate_register", time.perf_counter() - started)
        # A register that grew over the years has statistics (autovacuum
        # gathers them on PostgreSQL); one loaded a second ago has none, and
        # the planner would guess at its tables' sizes.
        with connection.cursor() as cursor:
            # VACUUM too on PostgreSQL (autovacuum does it to inserted
            # tables): without it no index-only scan is index-only.
            cursor.execute(
                "ANALYZE" if connection.vendor == "sqlite" else "VACUUM ANALYZE"
            )
        client = admin_client("benchmark")
        changelist = reverse("admin:ropa_processingactivity_changelist")

        progress(f"{activities:,} activities: admin pages")
        activity = ProcessingActivity.objects.order_by("pk")[activities // 2]
        change = reverse("admin:ropa_processingactivity_change", args=(activity.pk,))
        pages = {
            REFERENCE: (reference_changelist(), {}),
            "changelist: first page": (changelist, {}),
            "changelist: filter (business function)": (
                changelist,
                {"business_function": "Sales"},
            ),
            "changelist: filter (incomplete)": (
                changelist,
                {"completeness": "incomplete"},
            ),
            "changelist: search": (changelist, {"q": "orders"}),
            "change form": (change, {}),
        }
        timings = timed_pages(
            {
                name: lambda url=url, params=params: client.get(
                    url, params, secure=True
                )
                for name, (url, params) in pages.items()
            },
            repeat,
        )
        for name, (seconds, queries, fastest) in timings.items():
            run.add(name, seconds, queries, fastest=fastest)
        run.get(REFERENCE).note = (
            f"fastest of {repeat}: {run.get(REFERENCE).fastest:.4f} s; "
            "the pages' ratios are to this"
        )
        for name in list(pages)[1:]:
            figure = run.get(name)
            figure.note = (
                f"fastest of {repeat}: {figure.fastest:.4f} s = "
                f"{run.ratio(name):.1f}x the reference"
            )
            if name in PAGE_TARGETS:
                figure.note += f" (target <= {PAGE_TARGETS[name]}x)"

        progress(f"{activities:,} activities: exports")
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            for fmt in ("xlsx", "csv"):
                path = folder / f"register.{fmt}"

                def export(fmt=fmt, path=path):
                    with path.open("wb") as out:
                        export_register(fmt=fmt, out=out)

                seconds, queries = timed(export)
                _, rss = command_rss(
                    "export_register", "--format", fmt, "--output", str(path)
                )
                run.add(f"export {fmt.upper()} (full register)", seconds, queries, rss)
            # The day of its first version where the register keeps its days.
            first_day = timezone.localdate(activity.history.earliest().history_date)
            as_of = first_day.isoformat()

            def export_as_of(path=folder / "as-of.xlsx"):
                with path.open("wb") as out:
                    export_register(
                        fmt="xlsx",
                        out=out,
                        as_of=first_day,
                    )

            run.add(f"export XLSX as of {as_of}", *timed(export_as_of))

            progress(f"{activities:,} activities: the register as a PDF")
            run.figures.append(pdf_figure(folder / "register.pdf"))

            floor = run.add(
                "floor: one query per table into csv.writer",
                *timed(lambda: floor_csv(folder / "floor.zip")),
            )
            untuned_n = min(activities, UNTUNED_CAP)
            untuned_ids = list(
                ProcessingActivity.objects.order_by("pk").values_list("pk", flat=True)[
                    :untuned_n
                ]
            )
            seconds, queries = timed(
                lambda: (
                    UntunedActivityResource()
                    .export(ProcessingActivity.objects.filter(pk__in=untuned_ids))
                    .csv
                )
            )
            run.add(
                "untuned ModelResource export (activities only)",
                seconds,
                queries,
                note=f"measured at {untuned_n:,} activities",
            )
            ours = run.get("export CSV (full register)")
            floor.note = f"our CSV export: {ours.seconds / floor.seconds:.2f}x this"
            if untuned_n == activities:
                run.get(
                    "untuned ModelResource export (activities only)"
                ).note += f"; {seconds / ours.seconds:.1f}x our CSV export"

            progress(f"{activities:,} activities: import of the XLSX export")
            xlsx = folder / "register.xlsx"
            edited = folder / "edited.xlsx"
            _edit_every_purpose(xlsx, edited)
            seconds, queries = timed(
                lambda: call_command(
                    "import_register",
                    str(edited),
                    user="benchmark",
                    stdout=io.StringIO(),
                    stderr=io.StringIO(),
                )
            )
            run.add(
                "import of the full XLSX export (every row changed)", seconds, queries
            )

        progress(f"{activities:,} activities: yearly review and notice")
        run.add(
            "yearly_review",
            *timed(
                lambda: call_command(
                    "yearly_review", stdout=io.StringIO(), stderr=io.StringIO()
                )
            ),
        )
        run.add(
            "privacy notice (HTML)",
            *timed(lambda: render_notice(build_notice()), repeat),
        )
        run.add(
            "privacy notice page",
            *timed(
                lambda: Client().get(reverse("privacy-notice"), secure=True), repeat
            ),
        )
        measure_health(run, repeat=repeat, progress=progress)
    return run


#: The reference page, fetched by the client of ``measure_health``.
HEALTH_REFERENCE = "reference, for the home page (two-factor login)"


def measure_health(run, *, repeat, progress):
    """
    The health chart (``ropa.health``): the admin's home page before any
    month is kept, one month rebuilt from history, the cold fill of every
    month that is over (``compute_health``), then the home page with the
    months kept, its pictures drawn afresh and from the cache, as multiples
    of the reference page fetched alongside.

    Its client gives both factors of the login (``admin_client``).
    """
    activities = run.activities
    progress(f"{activities:,} activities: health chart and home page")
    client = admin_client("health-benchmark")
    home = reverse("admin:index")

    def page(url, *, drawn_afresh=False):
        if drawn_afresh:
            cache.clear()
        response = client.get(url, secure=True)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")

    HealthMonth.objects.all().delete()
    cache.clear()
    figure = run.add("admin home, no month kept yet", *timed(lambda: page(home)))
    figure.note = (
        "the months the budget allows "
        f"({settings.ROPA_HEALTH_BUDGET_SECONDS:g} s) and the pictures, drawn"
    )
    today = timezone.localdate()
    last_month = health.month_start(today) - datetime.timedelta(days=1)
    run.add(
        f"health: one month rebuilt from history ({last_month:%Y-%m})",
        *timed(lambda: health.figures_at(last_month)),
    )
    filled = []
    HealthMonth.objects.all().delete()
    seconds, queries = timed(lambda: filled.extend(health.fill()))
    run.add(
        f"health: cold fill of {len(filled)} months (compute_health)",
        seconds,
        queries,
        note=f"{seconds / max(len(filled), 1):.1f} s a month",
    )
    pages = {
        HEALTH_REFERENCE: lambda: page(reference_changelist()),
        "admin home: months kept, pictures drawn": lambda: page(
            home, drawn_afresh=True
        ),
        "admin home: months kept, pictures cached": lambda: page(home),
    }
    for name, (median, queries, fastest) in timed_pages(pages, repeat).items():
        run.add(name, median, queries, fastest=fastest)
    reference = run.get(HEALTH_REFERENCE).fastest
    run.get(HEALTH_REFERENCE).note = f"fastest of {repeat}: {reference:.4f} s"
    for name in list(pages)[1:]:
        figure = run.get(name)
        figure.note = (
            f"fastest of {repeat}: {figure.fastest:.4f} s = "
            f"{figure.fastest / reference:.1f}x the reference"
        )


def _edit_every_purpose(source, target):
    """The export with every activity's purpose changed, as a DPO's edit."""
    from openpyxl import load_workbook

    from ropa.exchange import layout
    from ropa.exchange.columns import column_of

    purpose = column_of(layout.ACTIVITY_COLUMNS, "purpose").header
    book = load_workbook(source)
    sheet = book[layout.ACTIVITIES.name]
    header_row = next(
        row
        for row in sheet.iter_rows(min_row=1, max_row=10)
        if any(cell.value == purpose for cell in row)
    )
    column = next(cell.column for cell in header_row if cell.value == purpose)
    for row in range(header_row[0].row + 1, sheet.max_row + 1):
        cell = sheet.cell(row=row, column=column)
        if cell.value:
            cell.value = f"{cell.value} (reviewed)"
    book.save(target)


def format_runs(runs, database):
    lines = [
        f"Database: {database}; DEBUG off; Python {sys.version.split()[0]}; "
        f"{os.cpu_count()} cores",
        "",
        f"{'measure':58} {'N':>7} {'seconds':>9} {'queries':>8} {'RSS MB':>8}  note",
    ]
    for run in runs:
        for figure in run.figures:
            lines.append(
                f"{figure.name:58} {run.activities:>7,} "
                f"{_or_dash(figure.seconds, '.3f'):>9} "
                f"{_or_dash(figure.queries, 'd'):>8} "
                f"{_or_dash(figure.rss_mb, '.0f'):>8}  {figure.note}"
            )
        lines.append("")
        for name, bound in PAGE_TARGETS.items():
            ratio = run.ratio(name)
            lines.append(
                f"target at {run.activities:,}: {name} <= {bound}x the reference: "
                f"{ratio:.1f}x, {'met' if ratio <= bound else 'MISSED'}"
            )
        lines.append("")
    return "\n".join(lines)


def _or_dash(value, spec):
    return "-" if value is None else format(value, spec)
