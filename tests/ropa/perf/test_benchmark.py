"""The benchmark command: a tiny run on a scratch database, and its refusals."""

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ropa.perf.benchmark import PAGE_TARGETS, REFERENCE

REPO_ROOT = Path(__file__).resolve().parents[3]
MANAGE = REPO_ROOT / "manage.py"

#: The admin pages printed as a ratio to the reference page.
PAGES = (
    "changelist: first page",
    "changelist: filter (business function)",
    "changelist: filter (incomplete)",
    "changelist: search",
    "change form",
)

#: Every figure the issue asks for, as the table names it.
FIGURES = (
    "generate_register",
    REFERENCE,
    "changelist: first page",
    "changelist: filter (business function)",
    "changelist: filter (incomplete)",
    "changelist: search",
    "change form",
    "export XLSX (full register)",
    "export CSV (full register)",
    "export XLSX as of ",
    "export PDF document (full register)",
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


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The benchmark at 1 and 2 activities, each page timed twice."""
    folder = tmp_path_factory.mktemp("benchmark")
    # Two sizes, as the README's run; each builds a database of its own, so
    # the smallest that differ.
    result = _manage(
        "benchmark",
        "--activities",
        "1,2",
        "--repeat",
        "2",
        database_url=_database_url(folder),
    )
    return result, folder


def _row(lines, name, size):
    return next(line for line in lines if line.startswith(name) and f" {size} " in line)


def _ratio_bounds(page, reference):
    """The ratios two times printed to 4 decimals allow, ±0.05 for its own rounding."""
    half = 0.00005
    low = (page - half) / (reference + half) - 0.05
    high = (page + half) / (reference - half) + 0.05
    return low, high


def test_benchmark_prints_every_figure_for_each_size(tiny_run):
    result, folder = tiny_run

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
    assert not (folder / "configured.sqlite3").exists()


@pytest.mark.parametrize("size", [1, 2])
def test_benchmark_prints_pages_as_ratios_to_the_reference(tiny_run, size):
    result, _ = tiny_run

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # The suite runs with DEBUG on; the pages are measured as production has it.
    assert "DEBUG off" in lines[0]
    reference = re.search(
        r"fastest of 2: ([\d.]+) s; the pages' ratios are to this$",
        _row(lines, REFERENCE, size),
    )
    assert reference, result.stdout
    reference = float(reference[1])
    assert reference > 0
    ratios = {}
    for name in PAGES:
        row = _row(lines, name, size)
        printed = re.search(r"fastest of 2: ([\d.]+) s = ([\d.]+)x the reference", row)
        assert printed, row
        fastest, ratio = float(printed[1]), float(printed[2])
        low, high = _ratio_bounds(fastest, reference)
        assert low <= ratio <= high, row
        # The fastest run is no slower than the median (printed to 3 decimals).
        median = float(row[len(name) :].split()[1])
        assert fastest <= median + 0.0005, row
        ratios[name] = ratio
        if name in PAGE_TARGETS:
            assert row.endswith(f"(target <= {PAGE_TARGETS[name]}x)"), row
    for name, bound in PAGE_TARGETS.items():
        verdict = re.search(
            rf"^target at {size}: {re.escape(name)} <= {bound}x the reference: "
            r"([\d.]+)x, (met|MISSED)$",
            result.stdout,
            re.MULTILINE,
        )
        assert verdict, (name, result.stdout)
        assert float(verdict[1]) == ratios[name]
        if ratios[name] != bound:
            assert verdict[2] == ("met" if ratios[name] < bound else "MISSED")


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
