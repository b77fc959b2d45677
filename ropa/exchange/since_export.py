"""
What is stale in a whole-register file, beyond the rule every import follows
for a row that changes a record (``ropa.core.staleness``): a child row missing
from the file that was added or changed after the export, and an exported
row whose record was deleted after it, are errors naming who did it and when.
"""

from django.db import models

from ropa.core.cells import CellError
from ropa.core.staleness import REDO, stale_reason, who_and_when
from ropa.exchange.columns import VERSION
from ropa.exchange.reading import read_whole_number

NOT_IN_FILE = (
    "{key} was {done} by {user} at {moment} after this file was exported, and "
    "is not in the file: " + REDO
)
DELETED_SINCE = (
    "{key} was deleted by {user} at {moment} after this file was exported: " + REDO
)


def read_version(plan_row, cells, lookups):
    """The row's ``Version`` cell: its record's version as exported, or None."""
    try:
        return read_whole_number(cells.get(VERSION), lookups)
    except CellError as error:
        plan_row.error(VERSION, str(error))
        return None


def refuse_stale(plan_row, instance, seen):
    """
    Make the row, which changes ``instance``, an error unless the file has
    the version ``instance`` is at; return whether it is one.
    """
    if any(error.column == VERSION for error in plan_row.errors):
        return True
    reason = stale_reason(plan_row.key, instance, seen)
    if reason:
        plan_row.error(VERSION, reason)
    return bool(reason)


class SinceExport:
    """
    What the history of some rows of ``model`` holds after the export.

    One query, of the history rows written after ``exported_at`` that match
    ``filters`` (none when a filter is an empty list): the last change of
    each row, which rows were added, and which natural keys were deleted.
    """

    def __init__(self, model, exported_at, key_fields, **filters):
        self.last, self.added, self.deleted = {}, set(), {}
        if not all(filters.values()):
            return
        history = (
            model.history.filter(history_date__gt=exported_at, **filters)
            .select_related("history_user")
            .order_by("-history_date", "-history_id")
        )
        for record in history:
            self.last.setdefault(record.id, record)
            if record.history_type == "+":
                self.added.add(record.id)
            elif record.history_type == "-":
                key = (
                    getattr(record, "activity_id", None),
                    *stored_key(record, model, key_fields),
                )
                self.deleted.setdefault(key, record)

    def refuse_revival(self, plan_row, key, activity_id=None):
        """A row of the file whose record was deleted since would revive it."""
        record = self.deleted.get((activity_id, *key))
        if record is not None:
            plan_row.error(
                VERSION,
                DELETED_SINCE.format(key=plan_row.key, **who_and_when(record)),
            )

    def refuse_deletion(self, plan_row, instance):
        """A row missing from the file that changed since was never seen."""
        record = self.last.get(instance.pk)
        if record is not None:
            plan_row.error(
                "",
                NOT_IN_FILE.format(
                    key=plan_row.key,
                    done="added" if instance.pk in self.added else "changed",
                    **who_and_when(record),
                ),
            )


def key_part(value):
    if isinstance(value, models.Model):
        return value.pk
    return "" if value is None else str(value)


def stored_key(record, model, key_fields):
    """The natural key of a row or history row, as the plan compares keys."""
    parts = []
    for name in key_fields:
        model_field = model._meta.get_field(name)
        if model_field.is_relation:
            # The id, without fetching the related row.
            pk = getattr(record, model_field.attname)
            parts.append("" if pk is None else pk)
        else:
            parts.append(key_part(getattr(record, name)))
    return tuple(parts)
