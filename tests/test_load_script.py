"""
The load script (bench/load.py): a short run against gunicorn and its report,
a DPO of the script against the live server (its writes, and the exit status
a server error gives), and its refusals.
"""

import contextlib
import datetime
import importlib.util
import os
import sqlite3
import subprocess
import sys
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.utils import timezone

from ropa.admin.activities import ProcessingActivityAdmin
from ropa.enums import LawfulBasisChoice
from ropa.models import ProcessingActivity, Review
from ropa.roles import ROLES, assign_role
from tests.factories import (
    LawfulBasisFactory,
    ProcessingActivityFactory,
    ReviewFactory,
    StaffUserFactory,
)
from tests.factories.users import PASSWORD, TOTPDeviceFactory

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH = REPO_ROOT / "bench"
SCRIPT = BENCH / "load.py"
GUNICORN = Path(sys.executable).with_name("gunicorn")


def _script_modules():
    """
    bench/load.py as a module, and the modules beside it that it imports,
    to drive one of its users from here.
    """
    # As when the script runs: its folder first on the path, for its modules.
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("bench_load", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        # Registered before it runs: its dataclasses look their module up.
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return (
            module,
            importlib.import_module("load_setup"),
            importlib.import_module("load_users"),
        )
    finally:
        sys.path.remove(str(BENCH))


load, load_setup, load_users = _script_modules()


def _run(*args, timeout=600):
    return subprocess.run(  # noqa: S603 - the project's own script
        [sys.executable, str(SCRIPT), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _scratch_database(tmp_path):
    """A database of its own: beside the suite's on PostgreSQL, else SQLite."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        parts = urlsplit(url)
        return parts._replace(path=f"{parts.path}_load_smoke").geturl(), "2"
    # One worker: concurrent logins would contend for SQLite's single writer.
    return f"sqlite:///{tmp_path / 'load.sqlite3'}", "1"


def test_load_script_reports_every_kind_of_request_without_errors(tmp_path):
    if not GUNICORN.exists():
        pytest.skip("gunicorn is not installed")
    url, workers = _scratch_database(tmp_path)

    # Two users: an auditor, and a DPO whose writes open each round.
    result = _run(
        *("--users", "2", "--seconds", "15", "--activities", "20"),
        *("--database-url", url, "--workers", workers),
    )

    report = result.stdout
    assert result.returncode == 0, report + result.stderr
    assert "Logins: 2 of 2" in report
    assert "Throughput: " in report
    assert "p95 " in report
    assert "Errors: 0" in report
    assert "Server errors (HTTP 5xx): 0" in report
    assert "Stale forms saved: 0" in report
    for kind in (
        "login",
        "export",
        "save",
        "stale save",
        "sign-off",
        "import preview",
        "import cancel",
        "all requests",
    ):
        assert f"\n{kind} " in report, kind
    assert f"stale save     {load_users.STALE_REFUSED} " in report
    assert "ERROR" not in report
    assert not (tmp_path / "load.sqlite3").exists()


# -- a DPO of the script, against the live server -----------------------------


@pytest.fixture
def desk(live_server, settings, tmp_path):
    """A DPO of the script, logged in (two factors), and the register it works on."""
    # Plain HTTP, as the script sets gunicorn up: cookies an HTTP client returns.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    call_command("setup_roles", stdout=StringIO())
    dpo = StaffUserFactory(username="load-001")
    assign_role(dpo, ROLES["dpo"])
    device = TOTPDeviceFactory(user=dpo)
    activities = ProcessingActivityFactory.create_batch(5)
    ReviewFactory(
        activity=activities[1],
        cycle=timezone.localdate().year,
        due_on=timezone.localdate() + datetime.timedelta(days=30),
    )
    # The workbook: the register of the last activity's controller.
    imported = activities[-1]
    workbook = tmp_path / "small.xlsx"
    call_command(
        "export_register",
        "--controller",
        imported.organisations.get().slug,
        "--output",
        str(workbook),
        stdout=StringIO(),
    )
    register = load_setup.Register(
        activity_ids=[activity.pk for activity in activities],
        reviewable_ids=[activities[1].pk],
        imported_ids=[imported.pk],
        workbook_name=workbook.name,
        workbook=load_setup.edited_workbook(workbook),
        authenticator_keys={dpo.username: device.key},
    )
    logins = [
        load_setup.Login("load-000", "unused", "auditor"),
        load_setup.Login(dpo.username, PASSWORD, "dpo"),
    ]
    user = load_users.User(
        1,
        logins[1],
        base=live_server.url,
        register=register,
        timeout=60,
        desk=load_users.desks(logins, register)[1],
    )
    user.log_in()
    assert user.logged_in, user.take_samples()
    return user


def _outcomes(samples):
    return {(sample.kind, sample.outcome) for sample in samples}


def test_a_dpo_saves_what_the_page_renders_and_a_stale_form_is_refused(desk):
    desk.save()
    desk.stale_save()

    samples = desk.take_samples()
    assert ("save", load_users.OK) in _outcomes(samples)
    assert ("changelist", load_users.OK) in _outcomes(samples)
    assert ("stale save", load_users.STALE_REFUSED) in _outcomes(samples)
    assert load.exit_status(samples) == 0, [s for s in samples if s.is_error]
    # The stale form's note was not saved over the save made after it was read.
    (stale,) = [s for s in samples if s.kind == "stale save"]
    activity = ProcessingActivity.objects.get(pk=stale.path.split("/")[-3])
    last_note = load_users.NOTE.format(username=desk.login_details.username, number=2)
    assert activity.security_description.endswith(last_note)
    assert activity.lawful_bases.get().explanation.endswith(last_note)


def test_a_dpo_fills_in_the_gap_a_generated_record_has_and_saves(desk):
    # As the generated register leaves one record in fifteen: no interest stated.
    activity = ProcessingActivity.objects.get(pk=desk.desk.own[0])
    LawfulBasisFactory(
        activity=activity,
        basis=LawfulBasisChoice.LEGITIMATE_INTERESTS,
        legitimate_interest="",
    )

    desk.save(activity.pk)

    samples = desk.take_samples()
    assert ("save", load_users.OK) in _outcomes(samples), [s.error for s in samples]
    basis = activity.lawful_bases.get(basis=LawfulBasisChoice.LEGITIMATE_INTERESTS)
    assert basis.legitimate_interest == load_users.STATED_INTEREST


def test_a_dpo_signs_off_a_review_and_previews_an_import_without_writing_it(desk):
    before = ProcessingActivity.history.count()

    desk.sign_off()
    desk.import_preview()

    samples = desk.take_samples()
    for kind in ("sign-off", "import preview", "import cancel"):
        assert (kind, load_users.OK) in _outcomes(samples), kind
    assert load.exit_status(samples) == 0, [s for s in samples if s.is_error]
    assert Review.objects.get().completed_on == timezone.localdate()
    assert ProcessingActivity.history.count() == before


def test_a_server_error_on_a_save_makes_the_run_fail(desk, monkeypatch, capsys):
    def fail(*args, **kwargs):
        raise RuntimeError("a fake server error")

    monkeypatch.setattr(ProcessingActivityAdmin, "save_model", fail)

    desk.save()

    samples = desk.take_samples()
    assert ("save", "HTTP 500") in _outcomes(samples)
    assert load.exit_status(samples) == 1
    load.report_outcomes(samples)
    assert f"{'save':<14} {'HTTP 500':<36} {1:>9}  ERROR" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        (load_users.OK, 0),
        (load_users.STALE_REFUSED, 0),
        (load_users.SAVED_FIRST, 0),
        (load_users.STALE_SAVED, 1),
        ("HTTP 500", 1),
        (load_users.UNEXPECTED, 1),
        (load_users.NO_ANSWER, 1),
    ],
)
def test_exit_status_fails_on_anything_but_a_correct_answer(outcome, status):
    samples = [
        load_users.Sample("changelist", "/admin/", 0.1, 200),
        load_users.Sample("save", "/admin/x/", 0.2, 200, outcome),
    ]

    assert load.exit_status(samples) == status


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (200, b"<p>... while you were editing it ...</p>", load_users.STALE_REFUSED),
        (302, b"", load_users.STALE_SAVED),
        (
            200,
            b'<p class="errornote">Please correct the errors</p>',
            load_users.UNEXPECTED,
        ),
        (500, b"Server Error (500)", "HTTP 500"),
    ],
)
def test_a_stale_save_is_judged_by_status_and_message(status, body, outcome):
    headers = {"Location": load_users.ACTIVITIES}

    assert load_users.judge_stale_save(status, headers, body)[0] == outcome


# -- refusals -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--database-url", "postgres://postgres@10.0.0.5:5432/ropa_load"], "10.0.0.5"),
        (
            ["--database-url", "postgres://postgres@db.example.com/ropa_load"],
            "127.0.0.1",
        ),
        (["--database-url", "mysql://root@127.0.0.1/ropa_load"], "not a PostgreSQL"),
        (["--database-url", "sqlite://:memory:"], "must be a file"),
        (["--users", "0"], "--users: 0 is not between 1 and 200"),
        (["--seconds", "100000"], "--seconds: 100000 is not between 1 and 3600"),
        (["--activities", "many"], "--activities: 'many' is not a whole number"),
    ],
)
def test_load_script_refuses_bad_arguments(args, message):
    result = _run(*args, timeout=60)

    assert result.returncode == 2
    assert message in result.stderr


def test_load_script_leaves_a_database_it_did_not_create(tmp_path):
    path = tmp_path / "precious.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE kept (value TEXT)")

    result = _run("--database-url", f"sqlite:///{path}", timeout=60)

    assert result.returncode == 1
    assert "was not created by this script" in result.stderr
    with contextlib.closing(sqlite3.connect(path)) as connection:
        assert connection.execute("SELECT count(*) FROM kept").fetchone() == (0,)
