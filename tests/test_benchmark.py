"""The benchmark command: a tiny run on a scratch database, and its refusals."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
MANAGE = REPO_ROOT / "manage.py"

#: Every figure the issue asks for, as the table names it.
FIGURES = (
    "generate_register",
    "changelist: first page",
    "changelist: filter (business function)",
    "changelist: filter (incomplete)",
    "changelist: search",
    "change form",
    "export XLSX (full register)",
    "export CSV (full register)",
    "export XLSX as of ",
    "floor: one query per table into csv.writer",
    "untuned ModelResource export (activities only)",
    "import of the full XLSX export (every row changed)",
    "yearly_review",
    "privacy notice (HTML)",
    "privacy notice page",
)


def _manage(*args, database_url):
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("DJANGO_") and name != "DATABASE_URL"
    }
    environ.update(DJANGO_DEBUG="true", DATABASE_URL=database_url)
    return subprocess.run(  # noqa: S603 - the project's own command
        [sys.executable, str(MANAGE), *args],
        cwd=REPO_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _database_url(tmp_path):
    """A database beside the suite's on PostgreSQL, else an SQLite file."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        parts = urlsplit(url)
        return parts._replace(path=f"{parts.path}_bench_smoke").geturl()
    return f"sqlite:///{tmp_path / 'configured.sqlite3'}"


def test_benchmark_prints_every_figure_for_each_size(tmp_path):
    url = _database_url(tmp_path)

    # Two sizes, as the README's run; each builds a database of its own, so
    # the smallest that differ.
    result = _manage(
        "benchmark", "--activities", "1,2", "--repeat", "1", database_url=url
    )

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for size in (1, 2):
        for figure in FIGURES:
            assert any(
                line.startswith(figure) and f" {size} " in line for line in lines
            ), (figure, size, result.stdout)
    assert "our CSV export: " in result.stdout
    assert "x our CSV export" in result.stdout
    # The configured database is not touched: the benchmark has its own.
    assert not (tmp_path / "configured.sqlite3").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--activities", "many"], "--activities takes numbers"),
        (["--activities", "0"], "at least 1"),
        (["--repeat", "0"], "at least 1"),
    ],
)
def test_benchmark_refuses_bad_arguments(tmp_path, args, message):
    result = _manage("benchmark", *args, database_url=_database_url(tmp_path))

    assert result.returncode == 1
    assert message in result.stderr
