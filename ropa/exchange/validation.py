"""
One row against its record: assigning the values read, what changed, and the
model's own validation and database constraints, reported against the
columns of the file.
"""

from django.core.exceptions import (
    NON_FIELD_ERRORS,
    FieldDoesNotExist,
    ValidationError,
)
from django.db import connections, models, router
from django.db.models import CheckConstraint, UniqueConstraint

from ropa.core.cells import CellError, yes_no
from ropa.exchange.layout import name_list
from ropa.exchange.plan import Change


def _same_text(before, after):
    # A spreadsheet stores line breaks as "\n"; the admin's text areas send
    # "\r\n". The same text with other line breaks is not a change, nor is a
    # stored text with whitespace around it, which the import reads without.
    def lines(text):
        return text.replace("\r\n", "\n").replace("\r", "\n")

    return (
        isinstance(before, str)
        and isinstance(after, str)
        and lines(before).strip() == lines(after).strip()
    )


def shown(value, column=None, lookups=None):
    """A value as the preview and the report show it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, models.Model):
        if column is not None and column.catalogue and lookups is not None:
            return getattr(lookups, column.catalogue).name_of(value)
        return str(value)
    if isinstance(value, (list, tuple)):
        return name_list(shown(item, column, lookups) for item in value)
    return str(value)


def assign(instance, columns, values, lookups, *, new, stored_links=None):
    """
    Set ``values`` (by field name) on ``instance``; return the changes.

    Many-to-many values are compared, not set: the returned ``links`` hold
    those that differ, for ``Save`` to set after the instance is saved.
    ``stored_links`` has the links ``instance`` has (``_stored_links``), by
    field; a field it lacks is read.
    """
    changes, links = [], {}
    stored_links = stored_links or {}
    for column in columns:
        if column.field not in values:
            continue
        value = values[column.field]
        if column.many:
            if new:
                before = []
            elif column.field in stored_links:
                before = stored_links[column.field]
            else:
                before = list(getattr(instance, column.field).all())
            if {item.pk for item in before} != {item.pk for item in value}:
                links[column.field] = value
                changes.append(
                    Change(
                        column.header,
                        shown(before, column, lookups),
                        shown(value, column, lookups),
                    )
                )
            continue
        model_field = instance._meta.get_field(column.field)
        before_value = model_field.value_from_object(instance)
        before_shown = (
            "" if new else shown(getattr(instance, column.field), column, lookups)
        )
        if _same_text(before_value, value):
            continue
        setattr(instance, column.field, value)
        if model_field.value_from_object(instance) != before_value or (
            new and value not in (None, "")
        ):
            changes.append(
                Change(column.header, before_shown, shown(value, column, lookups))
            )
    return changes, links


class ConstraintChecks:
    """
    The database's answers to validation, asked once for all the rows of an
    import rather than a query per row.

    Django asks the database for the verdict of a ``CheckConstraint``. The
    verdict depends on nothing but the values of the fields the constraint
    names, so it is asked once for each combination of values and remembered.

    With ``whole_columns``, for the many rows of an import, a field declared
    ``unique`` is checked against the values the table holds, read once (one
    query per field): the check ``validate_unique()`` makes with a query per
    row and field. Other uniqueness rules are left to Django.
    """

    EXCLUDED = object()

    def __init__(self, *, whole_columns=True):
        self.whole_columns = whole_columns
        self.verdicts = {}
        self.holders = {}

    def unique_errors(self, instance, exclude):
        """
        ``validate_unique()`` of ``instance`` as (field name, message) pairs,
        the fields in ``exclude`` (and those already in error) left out.
        """
        model = type(instance)
        cached = []
        if self.whole_columns and not model._meta.parents:
            cached = [
                column
                for column in model._meta.local_fields
                if column.unique
                and not column.primary_key
                and column.name not in exclude
            ]
        errors = {}
        database = connections[router.db_for_read(model)]
        for column in cached:
            value = getattr(instance, column.attname)
            if value is None or (
                value == "" and database.features.interprets_empty_strings_as_nulls
            ):
                continue
            holder = self._holders(model, column).get(value)
            if holder is not None and (instance._state.adding or holder != instance.pk):
                errors[column.name] = [
                    instance.unique_error_message(model, (column.name,))
                ]
        try:
            instance.validate_unique(
                exclude={*exclude, *(column.name for column in cached)}
            )
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        return _by_field(ValidationError(errors)) if errors else []

    def _holders(self, model, field):
        """The value of ``field`` -> the primary key of the row holding it."""
        key = (model, field.name)
        if key not in self.holders:
            self.holders[key] = dict(
                model._default_manager.order_by().values_list(field.attname, "pk")
            )
        return self.holders[key]

    def validate(self, constraint, model, instance, exclude=()):
        key = self._key(constraint, model, instance, exclude)
        if key is None:
            constraint.validate(model, instance, exclude=exclude)
            return
        if key not in self.verdicts:
            try:
                constraint.validate(model, instance, exclude=exclude)
            except ValidationError as error:
                self.verdicts[key] = error.error_list
            else:
                self.verdicts[key] = None
        if self.verdicts[key] is not None:
            raise ValidationError(self.verdicts[key])

    def _key(self, constraint, model, instance, exclude):
        if not isinstance(constraint, CheckConstraint):
            return None
        values = []
        for name in sorted(constraint.condition.referenced_base_fields):
            if name in exclude:
                values.append((name, self.EXCLUDED))
                continue
            if name == "pk":
                value = instance.pk
            else:
                try:
                    model_field = model._meta.get_field(name)
                except FieldDoesNotExist:
                    return None
                if not model_field.concrete or model_field.generated:
                    return None
                value = getattr(instance, model_field.attname)
            if hasattr(value, "resolve_expression"):
                return None
            values.append((name, type(value), value))
        key = (model, constraint.name, tuple(values))
        try:
            hash(key)
        except TypeError:
            return None
        return key


def validation_errors(instance, columns, *, exclude=(), checks=None):
    """
    ``full_clean()`` of ``instance`` as (column header, reason) pairs.

    Constraints are checked one by one, after the fields, so that a broken
    constraint names the columns of the fields it is about, and a field
    already in error is not reported twice. ``checks``, a ``ConstraintChecks``
    shared by the rows of an import, spares a query per row and constraint.
    """
    if checks is None:
        checks = ConstraintChecks(whole_columns=False)
    headers = {column.field: column.header for column in columns}
    exclude = set(exclude) | {column.field for column in columns if column.many}
    found = []
    try:
        instance.full_clean(
            exclude=exclude, validate_unique=False, validate_constraints=False
        )
    except ValidationError as error:
        found.extend(_by_field(error))
    found.extend(checks.unique_errors(instance, exclude | {name for name, _ in found}))
    failed = {name for name, _ in found}
    for constraint in instance._meta.constraints:
        fields = _constraint_fields(constraint)
        if fields & (exclude | failed):
            continue
        try:
            checks.validate(constraint, type(instance), instance, exclude=exclude)
        except ValidationError as error:
            found.extend((tuple(sorted(fields)), message) for message in error.messages)
    return [(_column_of(names, headers), message) for names, message in found]


def _by_field(error):
    if not hasattr(error, "error_dict"):
        return [(NON_FIELD_ERRORS, message) for message in error.messages]
    return [
        (name, message)
        for name, messages in error.message_dict.items()
        for message in messages
    ]


def _column_of(names, headers):
    """The column header(s) of a field, or of the fields of a constraint."""
    if names == NON_FIELD_ERRORS:
        return ""
    if isinstance(names, str):
        return headers.get(names, names)
    return " / ".join(dict.fromkeys(headers[name] for name in names if name in headers))


def _constraint_fields(constraint):
    names = set()
    if isinstance(constraint, UniqueConstraint):
        names |= set(constraint.fields)
    if constraint.condition is not None:
        names |= set(constraint.condition.referenced_base_fields)
    return names


def read_row(plan_row, columns, cells, lookups):
    """The row's values by field name; unreadable cells become row errors."""
    values = {}
    for column in columns:
        if column.header not in cells:
            continue
        try:
            values[column.field] = column.read(cells[column.header], lookups)
        except CellError as error:
            plan_row.error(column.header, str(error))
    return values
