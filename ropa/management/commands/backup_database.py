"""
A backup of the whole database (the register, its history, the users), to a
new file of its own that only this user may read.

SQLite is copied with SQLite's online backup, a consistent copy even while
the application writes; PostgreSQL with ``pg_dump --format=custom``, read
back by ``pg_restore`` (``restore_database``). A backup is written beside its
final name and renamed once complete, so that a failed run leaves no
half-written file that looks like a backup.
"""

import os
import re
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

#: Backup file names: ropa-backup-<UTC time>.<sqlite3|pgdump>, sortable by time.
PREFIX = "ropa-backup-"
SUFFIXES = {"sqlite": ".sqlite3", "postgresql": ".pgdump"}
BACKUP_NAME = re.compile(
    rf"{re.escape(PREFIX)}\d{{8}}T\d{{6}}\.\d{{6}}Z(?:\.sqlite3|\.pgdump)"
)
#: Owner read and write only: a backup holds every record of the register.
FILE_MODE = 0o600
DIRECTORY_MODE = 0o700

TOOL_MISSING = (
    "{tool} is not installed, or not on the PATH: install the PostgreSQL client "
    "tools of the server's major version ({major}), e.g. postgresql-client-{major}."
)
TOOL_TOO_OLD = (
    "{tool} is PostgreSQL {client}'s, older than the server ({server}): it cannot "
    "read this server's databases. Install the client tools of PostgreSQL "
    "{server} or later (postgresql-client-{server}) and put them first on the PATH."
)
UNSUPPORTED = "Backups are made of SQLite and PostgreSQL databases, not of {vendor}."


def postgres_tool(tool, connection):
    """
    The path of a PostgreSQL client ``tool`` (pg_dump, pg_restore) that can
    talk to ``connection``'s server; CommandError when it is missing or older
    than the server (pg_dump refuses a newer server, mid-way through cron).
    """
    server = connection.pg_version // 10000
    path = shutil.which(tool)
    if path is None:
        raise CommandError(TOOL_MISSING.format(tool=tool, major=server))
    output = subprocess.run(  # noqa: S603 - the client tool found on the PATH
        [path, "--version"], capture_output=True, text=True, check=False
    ).stdout
    client = tool_major_version(output)
    if client is None or client < server:
        raise CommandError(
            TOOL_TOO_OLD.format(tool=tool, client=client or "?", server=server)
        )
    return path


def tool_major_version(version_output):
    """The major version in "pg_dump (PostgreSQL) 15.10 (Debian ...)", or None."""
    match = re.search(r"\(PostgreSQL\)\s+(\d+)", version_output)
    return int(match.group(1)) if match else None


def postgres_environ(connection):
    """
    The environment the client tools connect with: Django's own for psql
    (password, SSL settings, service), so that nothing secret is an argument
    other local users could read.
    """
    _, extra = connection.client.settings_to_cmd_args_env(connection.settings_dict, [])
    settings = connection.settings_dict
    where = {
        "PGHOST": settings.get("HOST"),
        "PGPORT": str(settings.get("PORT") or ""),
        "PGUSER": settings.get("USER"),
        "PGDATABASE": settings.get("NAME"),
    }
    return {
        **os.environ,
        **{key: value for key, value in where.items() if value},
        **(extra or {}),
    }


def run_tool(arguments, connection):
    """Run a client tool; CommandError with what it said when it fails."""
    result = subprocess.run(  # noqa: S603 - a PostgreSQL client tool, fixed arguments
        arguments,
        env=postgres_environ(connection),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode:
        message = (result.stderr or result.stdout).strip()
        raise CommandError(f"{Path(arguments[0]).name} failed: {message}")


def private_file(path):
    """Create ``path``, empty, readable and writable by this user only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    os.close(descriptor)


def backup_sqlite(connection, target):
    """Copy the SQLite database with its online backup: a consistent snapshot."""
    connection.ensure_connection()
    with closing(sqlite3.connect(target)) as copy:
        connection.connection.backup(copy)


def backup_postgresql(connection, target):
    """Dump the PostgreSQL database in pg_dump's custom format."""
    pg_dump = postgres_tool("pg_dump", connection)
    run_tool(
        [pg_dump, "--format=custom", "--no-password", f"--file={target}"],
        connection,
    )


BACKUPS = {"sqlite": backup_sqlite, "postgresql": backup_postgresql}


def make_backup(directory, *, using=DEFAULT_DB_ALIAS):
    """Back up the database ``using`` to a new file in ``directory``; its path."""
    connection = connections[using]
    if connection.vendor not in BACKUPS:
        raise CommandError(UNSUPPORTED.format(vendor=connection.vendor))
    directory.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S.%fZ")
    path = directory / f"{PREFIX}{stamp}{SUFFIXES[connection.vendor]}"
    partial = directory / f".{path.name}.part"
    private_file(partial)
    try:
        BACKUPS[connection.vendor](connection, partial)
        # The dump tools keep the mode of the file they are given; checked anyway.
        os.chmod(partial, FILE_MODE)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path


def prune(directory, keep):
    """Delete all but the ``keep`` newest backups in ``directory``; their paths."""
    backups = sorted(
        path for path in directory.iterdir() if BACKUP_NAME.fullmatch(path.name)
    )
    old = backups[:-keep]
    for path in old:
        path.unlink()
    return old


class Command(BaseCommand):
    help = (
        "Back up the whole database (register, history, users) to a new file "
        "readable by this user only: SQLite's online backup, or pg_dump."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "directory",
            help="Where the backup goes (created, private, when missing). Copy "
            "it off this machine too.",
        )
        parser.add_argument(
            "--keep",
            type=int,
            metavar="N",
            help="Then delete all but the N newest backups in the directory "
            "(only files this command named). Default: delete none.",
        )
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            help="The database to back up (default: %(default)s).",
        )

    def handle(self, *args, directory, keep, database, **options):
        if keep is not None and keep < 1:
            raise CommandError("--keep must be 1 or more: the new backup is kept.")
        directory = Path(directory).absolute()
        if directory.exists() and not directory.is_dir():
            raise CommandError(f"'{directory}' is not a directory.")
        path = make_backup(directory, using=database)
        size = path.stat().st_size
        self.stdout.write(
            self.style.SUCCESS(f"Backed up the database to {path} ({size:,} bytes).")
        )
        if keep is not None:
            for old in prune(directory, keep):
                self.stdout.write(f"Deleted the older backup {old.name}.")
