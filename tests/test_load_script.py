"""The load script (bench/load.py): a short run against gunicorn, and its refusals."""

import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "bench" / "load.py"
GUNICORN = Path(sys.executable).with_name("gunicorn")


def _run(*args, timeout=300):
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


def test_load_script_reports_figures_without_errors(tmp_path):
    if not GUNICORN.exists():
        pytest.skip("gunicorn is not installed")
    url, workers = _scratch_database(tmp_path)

    result = _run(
        *("--users", "2", "--seconds", "3", "--activities", "20"),
        *("--database-url", url, "--workers", workers),
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Logins: 2 of 2" in result.stdout
    assert "Throughput: " in result.stdout
    assert "p95 " in result.stdout
    assert "Errors: 0" in result.stdout
    assert "\nlogin " in result.stdout
    assert "\nall pages " in result.stdout
    assert not (tmp_path / "load.sqlite3").exists()


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
