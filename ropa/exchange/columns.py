"""
How a sheet of our register file is declared: each ``Column`` once, with its
heading, the field it holds, how the import reads it and how the export writes
it; a ``Sheet`` derives its headings, key, read-only and checked columns and
the fields the snapshot reads from its columns (the declarations themselves
are in ``ropa.exchange.layout``).
"""

import functools
from dataclasses import dataclass

from ropa.core.cells import yes_no
from ropa.exchange.reading import (
    read_boolean,
    read_choice,
    read_key,
    read_many,
    read_one,
    read_text,
    read_whole_number,
)

REFERENCE = "Reference"
VERSION = "Version"


@dataclass(frozen=True)
class Column:
    """
    One column of a sheet, declared once: its header, the field it holds, how
    the import reads its cell and how the export writes it.

    ``write(row, names)`` is the cell of a row of the register as read by
    ``ropa.exchange.snapshot`` (a dict of the record's values), ``names``
    being the export's lookups of the names and references rows name
    (``ropa.exchange.export``). ``read(value, lookups)`` is a reader of
    ``ropa.exchange.reading``; a column without one is not imported.
    """

    header: str
    # The model field the column holds ("" for a summary of several).
    field: str = ""
    read: object = None
    write: object = None
    # The catalogue (``ropa.exchange.reading.Lookups``) naming a related row.
    catalogue: str = ""
    many: bool = False
    # Written as labels; their codes are on the For the import sheet.
    choices: type | None = None
    # Part of the row's natural key (``Sheet.key``).
    key: bool = False
    # Written for readers, derived from other sheets or set by the system.
    read_only: bool = False
    # Read by the import to check a row against the register, never written.
    checked: bool = False
    # The Reference of a child row: the activity it belongs to.
    parent: bool = False
    # Added after files were exported: a file without it is read as leaving
    # the field as it is (a new record takes the field's default).
    optional: bool = False

    @property
    def snapshot_key(self):
        """The key of the column's value in a row of ``ropa.exchange.snapshot``."""
        if self.catalogue and not self.many:
            return f"{self.field}_id"
        return self.field


@functools.cache
def choice_labels(choices):
    """{code: label} of ``choices``: built once per choices class."""
    return {code: str(label) for code, label in choices.choices}


def label(choices, value):
    """A choice's label; a code no longer among the choices (an old version's) as is."""
    return choice_labels(choices).get(value, value)


def field_value(key):
    def write(row, names):
        return row[key]

    return write


def label_of(key, choices):
    labels = choice_labels(choices)

    def write(row, names):
        value = row[key]
        return labels.get(value, value)

    return write


def yes_no_of(key):
    def write(row, names):
        return yes_no(row[key])

    return write


def text(header, field, **flags):
    return Column(header, field, read_text, field_value(field), **flags)


def choice(header, field, choices, *, blank=False, **flags):
    return Column(
        header,
        field,
        read_choice(choices, blank=blank),
        label_of(field, choices),
        choices=choices,
        **flags,
    )


def boolean(header, field, *, nullable=False, **flags):
    return Column(
        header, field, read_boolean(nullable=nullable), yes_no_of(field), **flags
    )


def number(header, field, **flags):
    return Column(header, field, read_whole_number, field_value(field), **flags)


def one(header, field, catalogue, write, **flags):
    """A foreign key, named by the natural key of its row (``write``)."""
    return Column(
        header, field, read_one(catalogue), write, catalogue=catalogue, **flags
    )


def many(header, field, catalogue, write):
    """A many-to-many field, its rows named and joined (``write``)."""
    return Column(
        header, field, read_many(catalogue), write, catalogue=catalogue, many=True
    )


def summary(header, write, field=""):
    """A read-only column: written for readers, never imported."""
    return Column(header, field, write=write, read_only=True)


def written(header, write, field="", **flags):
    """A column of a sheet the import does not read (``REFERENCE_SHEETS``)."""
    return Column(header, field, write=write, **flags)


def version():
    """The ``Version`` column: the record's version as exported."""
    return Column(VERSION, "version", write=field_value("version"), checked=True)


def parent_reference():
    """The Reference column of a child sheet: the activity the row belongs to."""
    return Column(
        REFERENCE,
        read=read_key,
        write=lambda row, names: names.activity["reference"],
        key=True,
        parent=True,
    )


def column_of(columns, field):
    """The column of ``columns`` holding ``field``."""
    return next(column for column in columns if column.field == field)


@dataclass(frozen=True)
class Sheet:
    """
    One sheet of the register: its name, CSV file and columns; what else the
    export and the import need to know of it is read from the columns.
    """

    name: str
    filename: str
    columns: tuple
    # The model whose records the rows are (the sheets the import reads).
    model: type | None = None

    @property
    def headers(self):
        return tuple(column.header for column in self.columns)

    @property
    def key(self):
        """The headers of the columns that identify a row (its natural key)."""
        return tuple(column.header for column in self.columns if column.key)

    @property
    def read_only(self):
        return tuple(column.header for column in self.columns if column.read_only)

    @property
    def checked(self):
        return tuple(column.header for column in self.columns if column.checked)

    @property
    def optional(self):
        """The headers of the columns a file exported before them lacks."""
        return tuple(column.header for column in self.columns if column.optional)

    @property
    def choices(self):
        """(header, TextChoices) of the columns of choices, written as labels."""
        return tuple(
            (column.header, column.choices)
            for column in self.columns
            if column.choices is not None
        )

    @property
    def imported(self):
        """The columns the import reads into the record's fields."""
        return tuple(
            column
            for column in self.columns
            if column.read is not None and not column.parent
        )

    @property
    def key_fields(self):
        """The fields that, with the activity, identify a child row."""
        return tuple(
            column.field for column in self.columns if column.key and column.field
        )

    @property
    def related(self):
        """The foreign keys of the imported columns, to read with the rows."""
        return tuple(
            column.field
            for column in self.imported
            if column.catalogue and not column.many
        )

    @property
    def snapshot_fields(self):
        """The keys of a row's values in ``ropa.exchange.snapshot``, links aside."""
        return tuple(
            column.snapshot_key
            for column in self.columns
            if column.field and not column.many
        )

    @property
    def links(self):
        """The many-to-many fields of the sheet's rows."""
        return tuple(column.field for column in self.columns if column.many)

    @property
    def model_fields(self):
        """
        The model's fields the sheet carries, in its order, the activity of a
        child row included: what the list's own import and export
        (``ropa.resources``) carry too.
        """
        return tuple(
            "activity" if column.parent else column.field
            for column in self.columns
            if column.parent or column.field
        )
