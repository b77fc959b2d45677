"""
Writing a plan that has no error: in one transaction, in batches with
simple-history's ``bulk_*_with_history`` (and the links of each history row
as a ``save()`` leaves them), falling back to row-by-row ``full_clean()`` and
``save()`` to name the row at fault; one bad row and nothing is written.
"""

from collections import defaultdict

from django.conf import settings
from django.core.exceptions import (
    ValidationError,
)
from django.db import DatabaseError, connections, router, transaction
from django.db.models import CheckConstraint, UniqueConstraint
from simple_history.models import HistoricalRecords
from simple_history.utils import (
    bulk_create_with_history,
    bulk_update_with_history,
    get_m2m_field_name,
)

from ropa import stored_completeness
from ropa.core.progress import no_progress
from ropa.core.staleness import STALE_ROW, who_and_when
from ropa.core.versioning import (
    RecordDeletedError,
    StaleRecordError,
    Versioned,
    what_changed,
)
from ropa.exchange.columns import VERSION
from ropa.exchange.plan import (
    ImportAborted,
    RowError,
    Save,
    import_reason,
    point_at_saved,
)
from ropa.exchange.since_export import DELETED_SINCE
from ropa.exchange.validation import ConstraintChecks


def apply_plan(plan, *, user=None, progress=None):
    """
    Write ``plan`` in one transaction; nothing is written if any row fails.

    Every history row records ``user`` (when given) and the reason
    "Imported from <file name>". Raises ``ImportAborted`` with the failing
    row when a write is refused, including a row whose record was saved by
    someone else since the plan was made. ``progress`` makes a progress bar
    (``ropa.core.progress.progress_bars``), advanced by each row written.
    """
    if plan.has_errors:
        raise ValueError("A plan with errors cannot be applied.")
    reason = import_reason(plan.file_name)

    def stamp(instance):
        instance._change_reason = reason
        if user is not None:
            instance._history_user = user

    operations = plan.operations()
    writer = _Writer(stamp)
    try:
        with (
            (progress or no_progress)(len(operations), "Importing") as bar,
            transaction.atomic(),
        ):
            for key, batch in _batches(operations):
                writer.write(key, batch)
                bar.advance(len(batch))
            # The Art. 30 gaps of what changed, current with the import, so
            # that the first list shown after a large one need not compute them.
            stored_completeness.refresh()
    except StaleRecordError as error:
        # Saved or deleted by someone else between the plan and now.
        current, stale = writer.row, error.instance
        if isinstance(error, RecordDeletedError):
            deletion = (
                type(stale)
                .history.filter(**{stale._meta.pk.attname: stale.pk})
                .order_by("-history_date", "-history_id")
                .first()
            )
            who = who_and_when(deletion) if deletion else {"user": "someone"}
            reason = DELETED_SINCE.format(key=current.key, **{"moment": "", **who})
        else:
            reason = STALE_ROW.format(
                key=current.key, **what_changed(stale, stale.version)
            )
        raise ImportAborted(
            RowError(current.sheet, current.row, VERSION, reason)
        ) from error
    except ValidationError as error:
        current = writer.row
        raise ImportAborted(
            RowError(current.sheet, current.row, "", " ".join(error.messages))
        ) from error
    except DatabaseError as error:
        current = writer.row
        raise ImportAborted(
            RowError(
                current.sheet, current.row, "", f"The database refused it: {error}"
            )
        ) from error
    plan.applied = True
    return plan


# Rows per batch: one statement writes them, one more their history.
BATCH = 500


class _OneByOne(Exception):
    """A batch the bulk writer leaves to ``Save.apply``, row by row."""


def _batches(operations):
    """
    The operations as (bulk key, [(row, operation)]) in the order to write them.

    Phases keep their order (catalogue entries, activities, removals, child
    rows). Within a phase no row depends on another: its saves of one model,
    new or existing, are written together in batches, and the others row by
    row (key None).
    """
    groups = {}
    for row, operation in operations:
        groups.setdefault((row.phase, _bulk_key(operation)), []).append(
            (row, operation)
        )
    for (_, key), items in groups.items():
        if key is None:
            yield from ((None, [item]) for item in items)
        else:
            for start in range(0, len(items), BATCH):
                yield key, items[start : start + BATCH]


def _bulk_key(operation):
    """
    (model, new) for a save the bulk writer can do as ``Save.apply`` would,
    else None.

    That is a model whose only ``save()`` is the version check (no other
    code runs on save), with history, whose uniqueness rules the database
    enforces as each row is written; new rows need the database to return
    their ids.
    """
    if not isinstance(operation, Save):
        return None
    model = type(operation.instance)
    if model.save is not Versioned.save or not _has_history(model):
        return None
    if any(
        field.unique_for_date or field.unique_for_month or field.unique_for_year
        for field in model._meta.fields
    ):
        return None
    for _, constraints in operation.instance.get_constraints():
        for constraint in constraints:
            if isinstance(constraint, UniqueConstraint):
                if constraint.deferrable is not None:
                    return None
            elif not isinstance(constraint, CheckConstraint):
                return None
    new = operation.instance._state.adding
    database = connections[router.db_for_write(model)]
    if new and not database.features.can_return_rows_from_bulk_insert:
        return None
    return model, new


def _has_history(model):
    return hasattr(model._meta, "simple_history_manager_attribute")


class _Writer:
    """
    Writes a plan's operations: batches in bulk, with their history, or row
    by row through ``Save.apply`` and ``Delete.apply``.

    A batch is written in bulk only when nothing is amiss: every row valid,
    none saved since the plan, none refused by the database. Otherwise it is
    rolled back and written row by row, which refuses the first row at fault
    with the error it has always given. ``row`` is the row being written.
    """

    def __init__(self, stamp):
        self.stamp = stamp
        self.checks = ConstraintChecks()
        self.row = None

    def write(self, key, items):
        if key is not None:
            saves = [save for _, save in items]
            state = [_State(save.instance) for save in saves]
            try:
                with transaction.atomic():
                    self._bulk(*key, items)
                return
            except (_OneByOne, DatabaseError):
                for each in state:
                    each.restore()
        for row, operation in items:
            self.row = row
            operation.apply(self.stamp)

    def _bulk(self, model, new, items):
        saves = [save for _, save in items]
        instances = [save.instance for save in saves]
        for row, save in items:
            self.row = row
            self._prepare(save)
        if new:
            bulk_create_with_history(instances, model, batch_size=BATCH)
            if any(instance.pk is None for instance in instances):
                raise _OneByOne
            _set_links(model, saves)
        else:
            fields = self._changed_fields(model, instances)
            _set_links(model, saves)
            bulk_update_with_history(instances, model, fields)
        _snapshot_links(model, instances)
        # No save signals in bulk: mark the gaps they can change out of date.
        stored_completeness.touch_related(model, instances)

    def _prepare(self, save):
        """What ``Save.apply`` does before saving, constraints checked once."""
        instance = save.instance
        if save.parent is not None:
            instance.activity = save.parent.instance
        point_at_saved(instance)
        self.stamp(instance)
        try:
            # Uniqueness is left to the database: a row it refuses rolls the
            # batch back, and Save.apply refuses it with full_clean()'s words.
            instance.full_clean(validate_unique=False, validate_constraints=False)
            for model, constraints in instance.get_constraints():
                for constraint in constraints:
                    if isinstance(constraint, CheckConstraint):
                        self.checks.validate(constraint, model, instance)
        except ValidationError:
            raise _OneByOne from None

    def _changed_fields(self, model, instances):
        """
        Lock the rows, check their versions as ``Versioned.save`` does, count
        the save in each, and return the fields whose value changes.
        """
        columns = [
            column for column in model._meta.concrete_fields if not column.primary_key
        ]
        version = columns.index(model._meta.get_field("version"))
        stored = {
            pk: values
            for pk, *values in model._base_manager.order_by("pk")
            .select_for_update()
            .filter(pk__in=[instance.pk for instance in instances])
            .values_list("pk", *(column.attname for column in columns))
        }
        changed = set()
        for instance in instances:
            values = stored.get(instance.pk)
            if values is None or values[version] != instance.version:
                # Deleted or saved since the plan: Save.apply says what to do.
                raise _OneByOne
            instance.version += 1
            for column, value in zip(columns, values, strict=True):
                # As Model.save() does: auto_now dates are set here.
                if column.pre_save(instance, False) != value:
                    changed.add(column.name)
        return [column.name for column in columns if column.name in changed]


class _State:
    """What the bulk writer changes on an instance, put back after a rollback."""

    def __init__(self, instance):
        self.instance = instance
        self.pk = instance.pk
        self.version = instance.version
        self.adding = instance._state.adding
        self.db = instance._state.db

    def restore(self):
        self.instance.pk = self.pk
        self.instance.version = self.version
        self.instance._state.adding = self.adding
        self.instance._state.db = self.db


def _set_links(model, saves):
    """
    Set the links of bulk-written saves as ``.set()`` would, with a query per
    link table to read them and at most two to write, rather than several per
    record. Their history is the copy ``_snapshot_links`` makes for the
    history row of each save, not a history row per change of links as
    ``Save.apply`` writes.
    """
    wanted = defaultdict(dict)
    for save in saves:
        for name, targets in save.links.items():
            wanted[name][save.instance.pk] = {target.pk for target in targets}
    for name, targets_of in wanted.items():
        link_field = model._meta.get_field(name)
        through = link_field.remote_field.through
        source = through._meta.get_field(link_field.m2m_field_name()).attname
        target = through._meta.get_field(link_field.m2m_reverse_field_name()).attname
        stored = defaultdict(dict)
        for link_id, pk, target_pk in through._base_manager.filter(
            **{f"{source}__in": list(targets_of)}
        ).values_list("pk", source, target):
            stored[pk][target_pk] = link_id
        removed = [
            link_id
            for pk, targets in targets_of.items()
            for target_pk, link_id in stored[pk].items()
            if target_pk not in targets
        ]
        added = [
            through(**{source: pk, target: target_pk})
            for pk, targets in targets_of.items()
            for target_pk in sorted(targets - stored[pk].keys())
        ]
        if removed:
            through._base_manager.filter(pk__in=removed).delete()
        if added:
            through._base_manager.bulk_create(added)


def _snapshot_links(model, instances):
    """
    Copy the links of ``instances`` to their latest history rows, as
    simple-history does for each history row it writes itself: the rows of
    each link table, with the history row's id, into its history table.

    One INSERT ... SELECT per link table: the links are copied inside the
    database, never fetched.
    """
    history = model.history.model
    if not history._history_m2m_fields or not getattr(
        settings, "SIMPLE_HISTORY_ENABLED", True
    ):
        return
    ids = [instance.pk for instance in instances]
    database = connections[router.db_for_write(history)]
    quote = database.ops.quote_name
    marks = ", ".join(["%s"] * len(ids))
    record = quote(history._meta.get_field("id").column)
    # Each record's latest history row: the one the batch has just written
    # (the records are locked, or new).
    row_id = quote(history._meta.pk.column)
    latest = (
        f"SELECT {record} AS record, MAX({row_id}) AS row_id"  # noqa: S608
        f" FROM {quote(history._meta.db_table)} WHERE {record} IN ({marks})"
        f" GROUP BY {record}"
    )
    for link_field in history._history_m2m_fields:
        through = link_field.remote_field.through
        snapshot = HistoricalRecords.m2m_models[link_field]
        table = quote(through._meta.db_table)
        source = quote(through._meta.get_field(get_m2m_field_name(link_field)).column)
        names = [column.name for column in through._meta.fields]
        columns = ", ".join(
            quote(snapshot._meta.get_field(name).column) for name in ["history", *names]
        )
        values = ", ".join(
            f"{table}.{quote(through._meta.get_field(name).column)}" for name in names
        )
        with database.cursor() as cursor:
            cursor.execute(
                # Table and column names from the models, values as parameters.
                f"INSERT INTO {quote(snapshot._meta.db_table)} ({columns})"  # noqa: S608
                f" SELECT latest.row_id, {values} FROM {table}"
                f" INNER JOIN ({latest}) latest ON latest.record = {table}.{source}"
                f" WHERE {table}.{source} IN ({marks})",
                [*ids, *ids],
            )
