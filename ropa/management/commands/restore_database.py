"""
A backup of ``backup_database`` restored into an empty database.

Only into an empty one: a restore over a live register would mix two
registers' rows and histories, so a database with any table is refused.
Create a new database (``createdb``, or a new SQLite file), point
``DATABASE_URL`` at it, restore, check, then switch the application over.
"""

import sqlite3
from contextlib import closing
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections

from ropa.management.commands.backup_database import (
    UNSUPPORTED,
    postgres_tool,
    run_tool,
)

#: The first bytes of each kind of backup file.
SQLITE_HEADER = b"SQLite format 3\x00"
PGDUMP_HEADER = b"PGDMP"
KINDS = {
    "sqlite": (SQLITE_HEADER, "an SQLite"),
    "postgresql": (PGDUMP_HEADER, "a pg_dump"),
}

NOT_EMPTY = (
    "The database '{name}' is not empty ({count} tables): a backup is restored "
    "into a new, empty database only. Create one, point DATABASE_URL at it, "
    "and run this again."
)
WRONG_KIND = (
    "'{path}' is not {expected} backup, which this {vendor} database needs: "
    "restore a backup of the same kind of database."
)
DAMAGED = "'{path}' is not a sound SQLite database: {problem}"


def table_count(connection):
    """How many tables the database has (those Django can see)."""
    with connection.cursor() as cursor:
        return len(connection.introspection.table_names(cursor))


def check_kind(path, vendor):
    """Refuse a file that is not a backup of this kind of database."""
    header, expected = KINDS[vendor]
    with path.open("rb") as backup:
        start = backup.read(len(header))
    if start != header:
        raise CommandError(
            WRONG_KIND.format(path=path, expected=expected, vendor=vendor)
        )


def restore_sqlite(connection, path):
    """
    Copy the backup into the database with SQLite's online backup; the
    database file is then as private as the backup was (0600).
    """
    # As a URI, so that a name holding "?", "#" or "%" opens that file.
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as backup:
        (problem,) = backup.execute("PRAGMA quick_check").fetchone()
        if problem != "ok":
            raise CommandError(DAMAGED.format(path=path, problem=problem))
        connection.ensure_connection()
        backup.backup(connection.connection)
    target = connection.settings_dict["NAME"]
    if str(target) != ":memory:" and Path(target).is_file():
        Path(target).chmod(0o600)


def restore_postgresql(connection, path):
    """Read the dump back with pg_restore, all of it or nothing."""
    pg_restore = postgres_tool("pg_restore", connection)
    # Objects belong to the role that restores (the application's), not to
    # the one that dumped; the dump's grants name roles this server may lack.
    run_tool(
        [
            pg_restore,
            "--no-password",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={connection.settings_dict['NAME']}",
            str(path),
        ],
        connection,
    )


RESTORES = {"sqlite": restore_sqlite, "postgresql": restore_postgresql}


class Command(BaseCommand):
    help = (
        "Restore a backup made by backup_database into an empty database "
        "(a non-empty one is refused)."
    )

    def add_arguments(self, parser):
        parser.add_argument("backup", help="The backup file to restore.")
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            help="The empty database to restore into (default: %(default)s).",
        )

    def handle(self, *args, backup, database, **options):
        connection = connections[database]
        name = connection.settings_dict["NAME"]
        path = Path(backup).absolute()
        if connection.vendor not in RESTORES:
            raise CommandError(UNSUPPORTED.format(vendor=connection.vendor))
        if not path.is_file():
            raise CommandError(f"No backup file '{path}'.")
        check_kind(path, connection.vendor)
        count = table_count(connection)
        if count:
            raise CommandError(NOT_EMPTY.format(name=name, count=count))
        RESTORES[connection.vendor](connection, path)
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {path.name} into the database '{name}' "
                f"({table_count(connection)} tables)."
            )
        )
