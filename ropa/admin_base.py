"""What every register admin shares: read-only history and protected deletes."""

from django import forms
from django.core.exceptions import PermissionDenied
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from .signals import ACTIVITY_LINKS, activities_using

HISTORY_READ_ONLY = "History is a record of what happened: it cannot be changed."
CHANGE_REASON = "change_reason"


class RegisterForm(forms.ModelForm):
    """A model form that asks why the record changes, for its history."""

    change_reason = forms.CharField(
        label="Reason for the change",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Recorded in the history with your name. When left empty, the "
        "changed fields are recorded.",
    )


def change_reason(form, change):
    """The reason a save records: the user's words, else what changed."""
    reason = form.cleaned_data.get(CHANGE_REASON, "").strip()
    if reason:
        return reason
    if not change:
        return "Created in the admin"
    changed = [
        str(form.fields[name].label or name)
        for name in form.changed_data
        if name != CHANGE_REASON
    ]
    if not changed:
        return "Saved in the admin"
    return f"Changed in the admin: {', '.join(changed)}"


class RegisterAdmin(SimpleHistoryAdmin):
    """
    A ModelAdmin for a register model.

    The history pages are read-only for everyone: simple-history's revert form
    saves on POST even for a view-only user and even with reverting disabled,
    so POST is refused here. Deleting a record the register still links to is
    refused with the list of activities that use it.
    """

    form = RegisterForm
    # Django 6 assumes https for URLs typed without a scheme; so do we, now.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied(HISTORY_READ_ONLY)
        return super().history_form_view(
            request, object_id, version_id, extra_context=extra_context
        )

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        may_save = (
            self.has_change_permission(request, obj)
            if obj is not None
            else self.has_add_permission(request)
        )
        names = {
            name
            for _, options in fieldsets
            for line in options["fields"]
            for name in (line if isinstance(line, (list, tuple)) else (line,))
        }
        if not may_save:
            return [
                (title, {**options, "fields": _without_reason(options["fields"])})
                for title, options in fieldsets
            ]
        if CHANGE_REASON not in names:
            fieldsets = [*fieldsets, ("History", {"fields": (CHANGE_REASON,)})]
        return fieldsets

    def save_model(self, request, obj, form, change):
        obj._change_reason = change_reason(form, change)
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        # Inline rows are register records too: same user, same reason.
        reason = getattr(form.instance, "_change_reason", "Saved in the admin")
        for obj in formset.save(commit=False):
            obj._change_reason = reason
            obj._history_user = request.user
            obj.save()
        for obj in formset.deleted_objects:
            obj._change_reason = reason
            obj._history_user = request.user
            obj.delete()
        formset.save_m2m()

    def get_deleted_objects(self, objs, request):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(
            objs, request
        )
        if self.model in ACTIVITY_LINKS:
            protected = list(protected)
            for obj in objs:
                protected.extend(
                    self._used_by(obj, activity) for activity in activities_using(obj)
                )
        return deleted, model_count, perms_needed, protected

    @staticmethod
    def _used_by(obj, activity):
        try:
            url = reverse("admin:ropa_processingactivity_change", args=(activity.pk,))
        except NoReverseMatch:
            return f"{obj} is used by processing activity {activity}"
        return format_html(
            '{} is used by processing activity <a href="{}">{}</a>', obj, url, activity
        )


def _without_reason(fields):
    return tuple(name for name in fields if name != CHANGE_REASON)


class ReadOnlyInlineMixin:
    """An inline that shows rows but never adds, changes or deletes them."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
