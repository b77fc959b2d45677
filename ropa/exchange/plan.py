"""
The plan of an import: what it would do with each row of the file, and why
not, before anything is written.

Both readers (our own export, ``ropa.exchange.ours``; the ICO template,
``ropa.exchange.ico``) build an ``ImportPlan``; ``ropa.exchange.apply`` writes
one that has no error.
"""

from collections import Counter
from dataclasses import dataclass, field

from django.db import models

from ropa.core.rows import ACTIONS, CHANGED, DELETED, INVALID, NEW, UNCHANGED
from ropa.core.versioning import (
    StaleRecordError,
)

OURS = "ours"
ICO = "ico"
IMPORT_FORMATS = (
    (OURS, "Our own XLSX export (round trip)"),
    (ICO, "A filled UK ICO controller template"),
)

IMPORT_REASON = "Imported from {file_name}"


class ImportAborted(Exception):
    """Writing a plan failed on a row; nothing was written."""

    def __init__(self, error):
        super().__init__(str(error))
        self.error = error


def import_reason(file_name):
    """The change reason every history row of an import records."""
    return IMPORT_REASON.format(file_name=file_name)


@dataclass(frozen=True)
class RowError:
    """One reason a row cannot be imported, where the spreadsheet shows it."""

    sheet: str
    row: int | None
    column: str
    reason: str

    def __str__(self):
        where = [f"Sheet '{self.sheet}'"]
        if self.row:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.reason}"


@dataclass(frozen=True)
class Change:
    """One field of a row, as the register has it and as the file has it."""

    column: str
    before: str
    after: str


@dataclass
class Save:
    """Write one instance and the many-to-many links that differ."""

    instance: models.Model
    links: dict = field(default_factory=dict)
    # A child row of a new activity: its activity is saved first.
    parent: "Save | None" = None

    def apply(self, stamp):
        if self.parent is not None:
            self.instance.activity = self.parent.instance
        point_at_saved(self.instance)
        # Saved even when only links change: the save counts the record's
        # version and refuses a stale copy (ropa.core.versioning), for the links too.
        stamp(self.instance)
        self.instance.full_clean()
        self.instance.save()
        for name, targets in self.links.items():
            # simple-history writes a history row for every change of links,
            # with the reason and user read from the instance.
            stamp(self.instance)
            getattr(self.instance, name).set(targets)


def point_at_saved(instance):
    """
    Fill the foreign keys of ``instance`` that name a record planned with it
    and saved before it (the import's new organisations, say), which
    ``full_clean()`` reads by id.
    """
    for model_field in instance._meta.concrete_fields:
        if not model_field.is_relation or not model_field.is_cached(instance):
            continue
        related = model_field.get_cached_value(instance)
        if related is not None and getattr(instance, model_field.attname) is None:
            setattr(instance, model_field.attname, related.pk)


@dataclass
class Delete:
    """Delete one child row that is no longer in the file."""

    instance: models.Model

    def apply(self, stamp):
        instance = self.instance
        current = (
            type(instance)
            ._base_manager.order_by()
            .select_for_update()
            .filter(pk=instance.pk)
            .values_list("version", flat=True)
            .first()
        )
        if current is None:
            # Deleted meanwhile: nothing left to delete.
            return
        if current != instance.version:
            raise StaleRecordError(instance, current)
        stamp(instance)
        instance.delete()


# The order writes happen in: records a row names before the row (officers;
# the organisations that name nothing new; the controller, which names its
# officer and representative; the catalogue entries, agreements and
# arrangements that name organisations), activities before their child rows,
# and deletions of child rows before new ones (a new row may take the natural
# key a deleted one had). Within a phase no record names another of the same
# phase.
OFFICERS, PARTIES, CONTROLLER, CATALOGUE, ACTIVITY, REMOVAL, CHILD = range(7)


@dataclass
class RowPlan:
    """What an import does with one row (or one record no longer in the file)."""

    group: str
    sheet: str
    row: int | None
    key: str
    action: str = UNCHANGED
    changes: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    operation: Save | Delete | None = None
    phase: int = ACTIVITY

    def error(self, column, reason):
        error = RowError(self.sheet, self.row, column, reason)
        if error not in self.errors:
            self.errors.append(error)

    def settle(self, operation):
        """Fix the action from the errors and changes found, and what to write."""
        if self.errors:
            self.action, self.operation = INVALID, None
        elif self.action in (NEW, DELETED) or self.changes:
            self.action = self.action if self.action in (NEW, DELETED) else CHANGED
            self.operation = operation
        else:
            self.action, self.operation = UNCHANGED, None


@dataclass
class ImportPlan:
    """Everything an import would do, and everything that stops it."""

    file_name: str
    format: str
    groups: tuple
    rows: list = field(default_factory=list)
    # Catalogue entries the import creates (ICO template), by kind.
    created: dict = field(default_factory=dict)
    # Every record it creates, and the cell it comes from
    # (``ropa.exchange.ico_parties.ToReview``).
    to_review: list = field(default_factory=list)
    # Headings of columns no field holds -> rows whose cells are kept.
    kept: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    applied: bool = False

    @property
    def errors(self):
        return [error for row in self.rows for error in row.errors]

    @property
    def has_errors(self):
        return any(row.errors for row in self.rows)

    def counts(self):
        """Per group (sheet), how many rows each action has, in group order."""
        counts = {group: Counter() for group in self.groups}
        for row in self.rows:
            counts.setdefault(row.group, Counter())[row.action] += 1
        return counts

    def total(self, action):
        return sum(1 for row in self.rows if row.action == action)

    def deletions(self):
        """Per group (sheet) that has any, how many records the plan deletes."""
        return {
            group: counter[DELETED]
            for group, counter in self.counts().items()
            if counter[DELETED]
        }

    @property
    def has_writes(self):
        return any(row.operation is not None for row in self.rows)

    def operations(self):
        ordered = sorted(
            (row for row in self.rows if row.operation is not None),
            key=lambda row: row.phase,
        )
        return [(row, row.operation) for row in ordered]

    def count_lines(self):
        return [
            f"{group}: "
            + ", ".join(f"{counter[action]} {action}" for action in ACTIONS)
            for group, counter in self.counts().items()
        ]

    def review_lines(self, *, done=True):
        """What the import creates, to review, each with where it comes from."""
        verb = "Created" if done else "Would create"
        return [f"{verb}, to review: {item}" for item in self.to_review]

    def kept_lines(self):
        return [
            f"Column '{heading}' is not a column of the template: its content "
            f"({rows} row{'s' if rows != 1 else ''}) is kept on each activity, "
            "under 'Kept from an import'."
            for heading, rows in self.kept.items()
        ]

    def created_lines(self, *, done=True):
        verb = "Created" if done else "Would create"
        return [
            f"{verb} {len(names)} {label}: {', '.join(names)}"
            for label, names in self.created.items()
            if names
        ]
