"""
What every register admin shares: read-only history, a reason on every save,
and import and export of its list.
"""

from django import forms
from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.shortcuts import redirect
from django.urls import reverse
from import_export.admin import ExportActionMixin, ImportExportMixin
from import_export.formats import base_formats
from simple_history.admin import SimpleHistoryAdmin

from .import_files import ImportFileExpired, ImportFileStorage
from .resources import RESOURCES
from .versioning import VersionCheckedForm

HISTORY_READ_ONLY = "History is a record of what happened: it cannot be changed."
IMPORT_FILE_EXPIRED = (
    "The uploaded file is no longer available (an import waits for its "
    "confirmation for a limited time): upload it again."
)
CHANGE_REASON = "change_reason"
# Fields of the form, not of the model: shown only to those who may save.
FORM_ONLY = (CHANGE_REASON, "seen_version")


class RegisterForm(VersionCheckedForm):
    """
    A model form that asks why the record changes, for its history, and
    refuses to save over a change made since it was shown.
    """

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
        if name not in FORM_ONLY
    ]
    if not changed:
        return "Saved in the admin"
    return f"Changed in the admin: {', '.join(changed)}"


class RegisterAdmin(ImportExportMixin, ExportActionMixin, SimpleHistoryAdmin):
    """
    A ModelAdmin for a register model.

    The history pages are read-only for everyone: simple-history's revert form
    saves on POST even for a view-only user and even with reverting disabled,
    so POST is refused here. (Deleting a record the register still links to is
    refused by the models: see ropa.signals.)

    The list exports what it shows (its filters and search apply), or the
    selected rows, to anyone who may view the model, through the model's
    resource in ``ropa.resources.RESOURCES``. Only who may add and change the
    model may import.
    """

    form = RegisterForm
    # Django 6 assumes https for URLs typed without a scheme; so do we, now.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    # Spreadsheets only: the formats whose cells the resources neutralise.
    formats = (base_formats.CSV, base_formats.XLSX)
    tmp_storage_class = ImportFileStorage
    # The change form's export button saves the record before exporting it.
    show_change_form_export = False

    # -- import and export ----------------------------------------------------

    def get_resource_classes(self, request):
        return [RESOURCES[self.model]]

    def has_import_permission(self, request):
        # An import adds and changes rows: it needs both permissions, and obeys
        # any restriction the model's admin puts on adding or changing.
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def import_action(self, request, **kwargs):
        response = super().import_action(request, **kwargs)
        context = getattr(response, "context_data", None) or {}
        if request.method == "POST" and "confirm_form" not in context:
            # The preview failed, so no confirmation can follow: the uploaded
            # file (personal data) goes now rather than when it expires.
            upload = request.FILES.get("import_file")
            name = getattr(upload, "tmp_storage_name", None)
            if name:
                self.get_tmp_storage_class()(name=name).remove()
        return response

    def process_import(self, request, **kwargs):
        # Checked before the library's POST-only check, so that a GET without
        # permission is refused like every other import URL.
        if not self.has_import_permission(request):
            raise PermissionDenied
        try:
            return super().process_import(request, **kwargs)
        except ImportFileExpired:
            self.message_user(request, IMPORT_FILE_EXPIRED, messages.ERROR)
            opts = self.opts
            return redirect(f"admin:{opts.app_label}_{opts.model_name}_import")

    def export_action(self, request):
        try:
            return super().export_action(request)
        except IncorrectLookupParameters:
            # As the list itself does with a filter it does not know.
            opts = self.opts
            changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
            return redirect(f"{changelist}?{ERROR_FLAG}=1")

    def get_valid_export_item_pks(self, request):
        # "Export selected" asks which posted ids may be exported. The
        # library's answer reads every id of the table and is deprecated
        # (#2056); here, the posted ids that the user's list returns.
        posted = []
        for value in request.POST.getlist("export_items"):
            try:
                posted.append(self.opts.pk.to_python(value))
            except ValidationError:
                continue
        return (
            self.get_export_queryset(request)
            .filter(pk__in=posted)
            .values_list("pk", flat=True)
        )

    # -- history and saving ---------------------------------------------------

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
        missing = tuple(name for name in FORM_ONLY if name not in names)
        if missing:
            fieldsets = [*fieldsets, ("History", {"fields": missing})]
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


def _without_reason(fields):
    return tuple(name for name in fields if name not in FORM_ONLY)


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
