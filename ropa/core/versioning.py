"""
Optimistic locking: a save from an outdated copy of a record is refused.

Every register model counts its saves in ``version``. A save checks, under a
row lock, that the row still has the version the copy was read at, and bumps
it; otherwise it raises ``StaleRecordError`` and writes nothing (and
``RecordDeletedError`` when the row is gone: the save would revive it). Forms carry
the version the user saw (``VersionCheckedForm``), so when two people edit the
same record the second save is refused with what changed in between, taken
from the history, instead of silently overwriting the first.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, models, router, transaction
from django.utils import timezone

STALE = (
    "This {model} was changed by {user} at {moment} while you were editing it "
    "({changes}). Nothing was saved: reload the page to see the current "
    "record, then make your change again."
)
MISSING = "This form is out of date: reload the page and make your change again."
ROW_GONE = (
    "This row was deleted by someone else while you were editing it. Nothing "
    "was saved: reload the page to see the record as it is now."
)
HIDDEN_FIELD_INVALID = (
    "This form was changed outside the page ({field}: {error}) and cannot be "
    "saved: reload the page and make your change again."
)


class StaleRecordError(Exception):
    def __init__(self, instance, current):
        self.instance = instance
        self.current = current
        super().__init__(
            f"{instance._meta.verbose_name} {instance.pk} is at version {current}, "
            f"this copy at {instance.version}: refusing to overwrite."
        )


class RecordDeletedError(StaleRecordError):
    """The record was deleted since the copy was read: saving would revive it."""

    def __init__(self, instance):
        self.instance = instance
        self.current = None
        Exception.__init__(
            self,
            f"{instance._meta.verbose_name} {instance.pk} was deleted since this "
            "copy was read: refusing to bring it back.",
        )


#: PostgreSQL's codes for a transaction that lost to a concurrent one: a
#: deadlock and a serialization failure. Run again, it may pass.
CONCURRENCY_FAILURES = frozenset({"40P01", "40001"})
#: PostgreSQL's SQLSTATE for a unique constraint or index a write broke.
UNIQUE_VIOLATION = "23505"


def lost_a_race(error):
    """
    Whether ``error`` ended a write because another write got there first:
    the record was saved or deleted since it was read, the database broke a
    deadlock between the two, or another write added the same unique value
    (a name, an activity's open review) after the form checked it. Checked
    and written again from the start, the write either passes or meets the
    version check, or the uniqueness check, of its form.
    """
    if isinstance(error, StaleRecordError):
        return True
    cause = error.__cause__
    code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    if isinstance(error, IntegrityError):
        # SQLite names no SQLSTATE; its message does.
        return code == UNIQUE_VIOLATION or (
            code is None and "UNIQUE constraint failed" in str(error)
        )
    return isinstance(error, OperationalError) and code in CONCURRENCY_FAILURES


class Versioned(models.Model):
    version = models.PositiveIntegerField(
        default=1,
        editable=False,
        help_text="Counts the saves of this record; a save from an outdated copy "
        "is refused.",
    )

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self._state.adding or self.pk is None:
            return super().save(*args, **kwargs)
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "version"}
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using):
            current = (
                type(self)
                ._base_manager.using(using)
                # No ordering: a default ordering on a nullable relation would
                # join it, and PostgreSQL refuses FOR UPDATE on an outer join.
                .order_by()
                .select_for_update()
                .filter(pk=self.pk)
                .values_list("version", flat=True)
                .first()
            )
            if current is None:
                # Django would turn the update of no row into an insert.
                raise RecordDeletedError(self)
            if current != self.version:
                raise StaleRecordError(self, current)
            self.version += 1
            try:
                return super().save(*args, **kwargs)
            except BaseException:
                self.version -= 1
                raise


def what_changed(instance, seen):
    """Who changed ``instance`` since version ``seen``, when, and which fields."""
    history = instance.history.order_by("-history_date", "-history_id")
    latest = history.first()
    before = history.filter(version=seen).first()
    if latest is None:
        return {"user": "someone", "moment": "", "changes": "changes not recorded"}
    changed = []
    if before is not None and before.history_id != latest.history_id:
        delta = latest.diff_against(before)
        changed = [
            str(instance._meta.get_field(change.field).verbose_name)
            for change in delta.changes
            if change.field != "version"
        ]
    return {
        "user": latest.history_user or "someone",
        "moment": timezone.localtime(latest.history_date).strftime("%Y-%m-%d %H:%M"),
        "changes": "changed: " + ", ".join(changed) if changed else "saved again",
    }


class VersionCheckedForm(forms.ModelForm):
    """
    A model form that refuses to save over a change made since it was shown.

    The version it was shown at travels in a hidden field, so its errors are
    the form's own (``non_field_errors``): the admin shows a hidden field's
    errors nowhere, and a form whose only error is invisible leaves the user
    with "Please correct the errors below" and nothing to correct.
    """

    seen_version = forms.IntegerField(
        widget=forms.HiddenInput, required=False, min_value=1
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["seen_version"].initial = self.instance.version

    def full_clean(self):
        super().full_clean()
        if self._errors is None:
            return
        for name, field in self.fields.items():
            if field.widget.is_hidden and name in self._errors:
                for error in self._errors.pop(name):
                    self.add_error(None, self._hidden_field_error(name, error))

    def _hidden_field_error(self, name, error):
        if name == "seen_version":
            return ValidationError(MISSING, code="missing_version")
        if name == self._meta.model._meta.pk.name:
            # A formset's row whose id is no longer one of the record's rows.
            return ValidationError(ROW_GONE, code="row_gone")
        label = self.fields[name].label or name
        return ValidationError(
            HIDDEN_FIELD_INVALID.format(field=label, error=error), code="hidden"
        )

    def clean(self):
        cleaned = super().clean()
        instance = self.instance
        if instance.pk is None or "seen_version" not in cleaned:
            return cleaned
        seen = cleaned["seen_version"]
        if seen is None:
            raise ValidationError(MISSING, code="missing_version")
        if seen != instance.version:
            raise ValidationError(
                STALE.format(
                    model=instance._meta.verbose_name, **what_changed(instance, seen)
                ),
                code="stale",
            )
        return cleaned
