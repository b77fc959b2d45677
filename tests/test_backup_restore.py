"""
Backups and restores as cron and an operator run them: ``manage.py`` in a
process of its own, against databases of the test's own (a register loaded,
edited by an import and a review run, then backed up and restored into a new,
empty database), compared through connections of their own.
"""

import contextlib
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command
from django.db import connection
from openpyxl import load_workbook

from ropa.exchange import layout
from ropa.management.commands import backup_database
from ropa.management.commands.backup_database import (
    TOOL_MISSING,
    TOOL_TOO_OLD,
    postgres_tool,
    tool_major_version,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DPO = "dpo"
#: The cell of the Controller sheet that says when the file was written.
EXPORTED_AT = layout.HEADER_BLOCK[-1]


def manage(database_url, *args, check=True):
    """``manage.py <args>`` against ``database_url``, with production settings."""
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "ROPA_", "DATABASE_"))
    }
    result = subprocess.run(  # noqa: S603 - the project's own manage.py
        [sys.executable, str(REPO_ROOT / "manage.py"), *args],
        cwd=REPO_ROOT,
        env={
            **environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url,
            "DJANGO_SUPERUSER_PASSWORD": "a long password for the backup test",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


# -- databases of the test's own ---------------------------------------------


class SqliteDatabases:
    """New SQLite files in the test's folder."""

    def __init__(self, folder):
        self.folder = folder

    def new(self, name):
        return f"sqlite:///{self.folder / f'{name}.sqlite3'}"

    def drop_all(self):
        """Nothing to do: the files go with the test's folder."""

    @staticmethod
    @contextlib.contextmanager
    def connect(url):
        with contextlib.closing(sqlite3.connect(urlsplit(url).path[1:])) as db:
            yield db


class PostgresDatabases:
    """New PostgreSQL databases beside the suite's, made with createdb."""

    def __init__(self, url):
        self.parts = urlsplit(url)
        self.made = []

    def _client(self, tool, *arguments):
        parts = self.parts
        where = ["-h", parts.hostname or "127.0.0.1", "-U", parts.username or ""]
        if parts.port:
            where += ["-p", str(parts.port)]
        subprocess.run([tool, *where, *arguments], check=True, capture_output=True)  # noqa: S603

    def new(self, name):
        database = f"{self.parts.path.lstrip('/')}_{name}"
        self._client("dropdb", "--if-exists", database)
        self._client("createdb", database)
        self.made.append(database)
        return self.parts._replace(path=f"/{database}").geturl()

    def drop_all(self):
        for database in self.made:
            self._client("dropdb", "--if-exists", database)

    @staticmethod
    @contextlib.contextmanager
    def connect(url):
        with psycopg.connect(url) as db:
            yield db


# -- what must come back identical -------------------------------------------


def history_models():
    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model.__name__.startswith("Historical")
    ]


def auth_models():
    user = get_user_model()
    return [
        user,
        Group,
        Permission,
        user.groups.through,
        user.user_permissions.through,
        Group.permissions.through,
        apps.get_model("contenttypes", "ContentType"),
    ]


def table_rows(databases, url, model):
    """Every row of ``model``'s table, every column, in primary key order."""
    table = model._meta.db_table
    key = model._meta.pk.column
    with databases.connect(url) as db:
        return db.execute(f'SELECT * FROM "{table}" ORDER BY "{key}"').fetchall()  # noqa: S608 - names from the models


def most_versions(databases, url):
    """The most history entries any one activity has."""
    table = apps.get_model("ropa", "HistoricalProcessingActivity")._meta.db_table
    with databases.connect(url) as db:
        (count,) = db.execute(
            f'SELECT max(n) FROM (SELECT count(*) AS n FROM "{table}" GROUP BY id) AS v'  # noqa: S608
        ).fetchone()
    return count


def exported_cells(url, folder, name):
    """Every cell of the register exported from ``url``, by sheet, but its date."""
    path = folder / f"{name}.xlsx"
    manage(url, "export_register", "--output", str(path), "--verbosity", "0")
    book = load_workbook(path, read_only=True)
    return {
        sheet.title: [
            row
            for row in sheet.iter_rows(values_only=True)
            if row[:1] != (EXPORTED_AT,)
        ]
        for sheet in book.worksheets
    }


def edit_cell(path, sheet_name, heading, value):
    """A DPO's edit of the first activity's ``heading``, in a spreadsheet."""
    book = load_workbook(path)
    sheet = book[sheet_name]
    headings = [cell.value for cell in sheet[1]]
    sheet.cell(row=2, column=headings.index(heading) + 1).value = value
    book.save(path)


def a_register_with_history(url, folder):
    """
    The sample register, loaded by a DPO, its year's reviews opened, then
    edited twice by importing the exported workbook changed in a spreadsheet.
    """
    manage(url, "migrate", "--noinput", "--verbosity", "0")
    manage(url, "setup_roles")
    manage(url, "createsuperuser", "--noinput", "--username", DPO, "--email", "d@x.eu")
    manage(url, "load_sample_register", "--user", DPO)
    manage(url, "yearly_review", "--as-of", "2026-03-01")
    for number, value in enumerate(("In the EU (Sweden)", "In the EU (Ireland)")):
        workbook = folder / f"edited-{number}.xlsx"
        manage(url, "export_register", "--output", str(workbook), "--verbosity", "0")
        edit_cell(workbook, layout.ACTIVITIES.name, "Location of the data", value)
        manage(url, "import_register", str(workbook), "--user", DPO)


@dataclass(frozen=True)
class BackedUp:
    databases: object
    source: str
    backup: Path
    output: str


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backed_up(request, tmp_path_factory):
    """A register with history, in a database of its own, and its backup."""
    folder = tmp_path_factory.mktemp(request.param)
    url = os.environ.get("DATABASE_URL", "")
    on_postgresql = url.startswith(("postgres://", "postgresql://"))
    if request.param == "sqlite":
        if on_postgresql:
            # The suite runs on SQLite too (CI runs both): once is enough.
            pytest.skip("the SQLite round trip runs where the suite runs on SQLite")
        databases = SqliteDatabases(folder)
    else:
        if not on_postgresql:
            pytest.skip("the PostgreSQL round trip runs where the suite runs on it")
        databases = PostgresDatabases(url)
    try:
        source = databases.new("backup_source")
        a_register_with_history(source, folder)
        made = manage(source, "backup_database", str(folder / "backups"))
        (backup,) = (folder / "backups").iterdir()
        yield BackedUp(databases, source, backup, made.stdout)
    finally:
        databases.drop_all()


def test_a_restored_backup_has_the_same_register_history_and_users(backed_up, tmp_path):
    databases, source = backed_up.databases, backed_up.source
    restored = databases.new("backup_restored")

    done = manage(restored, "restore_database", str(backed_up.backup))

    assert f"Backed up the database to {backed_up.backup}" in backed_up.output
    assert stat.S_IMODE(backed_up.backup.stat().st_mode) == 0o600
    assert f"Restored {backed_up.backup.name}" in done.stdout
    if isinstance(databases, SqliteDatabases):
        # As private as the backup it came from.
        restored_file = Path(urlsplit(restored).path[1:])
        assert stat.S_IMODE(restored_file.stat().st_mode) == 0o600
    assert exported_cells(restored, tmp_path, "restored") == exported_cells(
        source, tmp_path, "source"
    )
    for model in [*history_models(), *auth_models()]:
        rows = table_rows(databases, source, model)
        assert table_rows(databases, restored, model) == rows, model.__name__
    # The edits are in what was compared: an activity with several versions.
    assert most_versions(databases, restored) >= 3


def test_restore_reads_a_sqlite_backup_whose_name_holds_uri_characters(
    backed_up, tmp_path
):
    if not isinstance(backed_up.databases, SqliteDatabases):
        pytest.skip("SQLite opens its backup by URI")
    odd = tmp_path / "ropa backup ?#%41.sqlite3"
    shutil.copyfile(backed_up.backup, odd)
    restored = backed_up.databases.new("odd_name")

    manage(restored, "restore_database", str(odd))

    tables = "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
    with (
        SqliteDatabases.connect(restored) as db,
        SqliteDatabases.connect(backed_up.source) as source,
    ):
        assert db.execute(tables).fetchone() == source.execute(tables).fetchone()


def test_restore_refuses_a_database_that_is_not_empty(backed_up):
    databases, source = backed_up.databases, backed_up.source
    model = apps.get_model("ropa", "HistoricalProcessingActivity")
    before = table_rows(databases, source, model)

    refused = manage(source, "restore_database", str(backed_up.backup), check=False)

    assert refused.returncode == 1
    assert "is not empty" in refused.stderr
    assert "new, empty database" in refused.stderr
    assert table_rows(databases, source, model) == before


# -- the commands' refusals and housekeeping, in this process -----------------


class Server:
    """A PostgreSQL connection as the version check sees it: a 15.4 server."""

    pg_version = 150004


def test_backup_names_the_client_package_when_pg_dump_is_missing(monkeypatch):
    monkeypatch.setattr(backup_database.shutil, "which", lambda tool: None)

    with pytest.raises(CommandError) as error:
        postgres_tool("pg_dump", Server())

    assert str(error.value) == TOOL_MISSING.format(tool="pg_dump", major=15)


def test_backup_refuses_a_pg_dump_older_than_the_server(monkeypatch, tmp_path):
    # The client tools of an older PostgreSQL first on the PATH.
    old = tmp_path / "pg_dump"
    old.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 14.11 (Debian 14.11-1)'\n")
    old.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(CommandError) as error:
        postgres_tool("pg_dump", Server())

    assert str(error.value) == TOOL_TOO_OLD.format(tool="pg_dump", client=14, server=15)


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ("pg_dump (PostgreSQL) 15.10 (Debian 15.10-0+deb12u1)\n", 15),
        ("pg_restore (PostgreSQL) 17.2\n", 17),
        ("pg_dump (PostgreSQL) 9.6.24\n", 9),
        ("something else\n", None),
    ],
)
def test_tool_major_version_reads_the_version_line(output, major):
    assert tool_major_version(output) == major


@pytest.mark.django_db
def test_backup_makes_a_private_folder_and_keeps_the_newest_backups(tmp_path):
    folder = tmp_path / "backups"
    made = [_backup(folder, "--keep", "2")]
    mine = folder / "notes.txt"
    mine.write_text("not a backup")

    made += [_backup(folder, "--keep", "2") for _ in range(2)]

    assert sorted(folder.iterdir()) == sorted([mine, *made[1:]])
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert {stat.S_IMODE(path.stat().st_mode) for path in made[1:]} == {0o600}


def _backup(folder, *options):
    """Run backup_database; the path of the backup it made."""
    output = StringIO()
    call_command("backup_database", str(folder), *options, stdout=output)
    (path,) = [path for path in folder.iterdir() if f" {path} (" in output.getvalue()]
    return path


@pytest.mark.django_db
def test_restore_refuses_a_file_that_is_not_a_backup_of_this_database(tmp_path):
    other = tmp_path / "register.xlsx"
    other.write_bytes(b"PK\x03\x04 a workbook, not a backup")
    expected = "an SQLite" if connection.vendor == "sqlite" else "a pg_dump"

    with pytest.raises(CommandError) as error:
        call_command("restore_database", str(other), stdout=StringIO())

    assert f"is not {expected} backup" in str(error.value)
