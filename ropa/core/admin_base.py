"""
What every register admin shares: read-only history, a reason on every save,
and import and export of its list.
"""

import contextlib
import logging

from django import forms
from django.contrib import messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import (
    NON_FIELD_ERRORS,
    ImproperlyConfigured,
    PermissionDenied,
    ValidationError,
)
from django.db import IntegrityError, OperationalError, models
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from import_export.admin import ExportActionMixin, ImportExportMixin
from import_export.forms import ConfirmImportForm, ImportForm
from simple_history.admin import SimpleHistoryAdmin

from ropa.core.admin_forms import CheckedInputMixin, holds
from ropa.core.history_view import register_history_view
from ropa.core.import_preview import preview
from ropa.core.resources import CSV as BoundedCSV
from ropa.core.resources import XLSX as QuotePrefixXLSX
from ropa.core.rows import FILE_TOO_LARGE, max_import_bytes
from ropa.core.uploads import ImportFileExpired, ImportFileStorage
from ropa.core.versioning import StaleRecordError, VersionCheckedForm, lost_a_race

logger = logging.getLogger(__name__)

NO_RESOURCE = (
    "{admin} imports and exports {model}: declare its resource in resource_classes."
)
HISTORY_READ_ONLY = "History is a record of what happened: it cannot be changed."
IMPORT_FILE_EXPIRED = (
    "The uploaded file is no longer available (an import waits for its "
    "confirmation for a limited time): upload it again."
)
IMPORT_CONFIRMATION_INVALID = (
    "Nothing was imported: this confirmation is not one the import page "
    "offered ({fields}). Upload the file again."
)
IMPORT_FILE_UNREADABLE = (
    "Nothing was imported: the uploaded file cannot be read as {format} "
    "({error}), the format this confirmation asked for. Upload the file again "
    "and choose its format."
)
IMPORT_FILE_EMPTY = (
    "Nothing was imported: the uploaded file has no rows to import. Upload "
    "the file again."
)
IMPORT_FAILED = (
    "Nothing was imported: at the confirmation, the file no longer passed the "
    "checks its preview did (the register may have changed since). "
    "{problems} Upload the file again to preview what it would change now."
)
SAVED_AT_THE_SAME_TIME = (
    "Someone else saved this {model} at the same moment, several times over. "
    "Nothing was saved: make your change again on the record as it is now."
)
#: How often a save that lost a race to another save is checked again.
SAVE_ATTEMPTS = 3
#: The problems an import's failure message names; it counts the others.
SHOWN_PROBLEMS = 5
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


class RegisterImportForm(ImportForm):
    """
    A list's import form, refusing a file over ``ROPA_IMPORT_MAX_BYTES``
    before it is read, as the register's import does.
    """

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        limit = max_import_bytes()
        if upload.size > limit:
            raise ValidationError(
                FILE_TOO_LARGE.format(
                    file_name=upload.name,
                    size=filesizeformat(upload.size),
                    limit=filesizeformat(limit),
                ),
                code="too_large",
            )
        return upload


class RegisterConfirmImportForm(ConfirmImportForm):
    """
    The confirmation of an import, refusing a format or a resource the import
    page never offered: the library takes both as list indexes, unchecked.
    """

    def __init__(self, *args, formats, resources, **kwargs):
        super().__init__(*args, **kwargs)
        self.formats, self.resources = formats, resources

    def clean_format(self):
        value = self.cleaned_data["format"]
        if value not in {str(index) for index in range(self.formats)}:
            raise ValidationError("Not a format of this import.", code="invalid")
        return value

    def clean_resource(self):
        value = self.cleaned_data["resource"]
        if value not in {"", *(str(index) for index in range(self.resources))}:
            raise ValidationError("Not a resource of this import.", code="invalid")
        return value


def import_problems(result):
    """What went wrong in an import's ``result``, as sentences for a message."""
    problems = [(0, str(error.error)) for error in result.base_errors]
    for row in result.error_rows:
        problems += [(row.number, f"Row {row.number}: {e.error}") for e in row.errors]
    for row in result.invalid_rows:
        for field, reasons in row.error_dict.items():
            where = f"Row {row.number}"
            if field != NON_FIELD_ERRORS:
                where += f", {field}"
            problems += [(row.number, f"{where}: {reason}") for reason in reasons]
    problems.sort(key=lambda problem: problem[0])
    shown = [_sentence(text) for _, text in problems[:SHOWN_PROBLEMS]]
    if len(problems) > SHOWN_PROBLEMS:
        shown.append(f"And {len(problems) - SHOWN_PROBLEMS} more.")
    return " ".join(shown)


def _sentence(text, limit=300):
    """``text`` cut when long (a reason may quote a huge cell), with a stop."""
    text = text.strip()
    if len(text) > limit:
        text = f"{text[:limit]}…"
    return text if text.endswith((".", "!", "?")) else f"{text}."


class RegisterAdmin(
    CheckedInputMixin, ImportExportMixin, ExportActionMixin, SimpleHistoryAdmin
):
    """
    A ModelAdmin for a register model.

    The history pages are read-only for everyone: simple-history's revert form
    saves on POST even for a view-only user and even with reverting disabled,
    so POST is refused here. (Deleting a record the register still links to is
    refused by the models: see ropa.signals.)

    The list exports what it shows (its filters and search apply), or the
    selected rows, to anyone who may view the model, through the resource its
    admin declares in ``resource_classes``. Only who may add and change the
    model may import. The confirmation of an import validates the file again:
    a file it cannot read in the format it names, or a row that now fails, is
    an error message, and nothing is imported or logged.
    """

    form = RegisterForm
    # Django 6 assumes https for URLs typed without a scheme; so do we, now.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    # Spreadsheets only: the formats whose cells the resources neutralise.
    formats = (BoundedCSV, QuotePrefixXLSX)
    tmp_storage_class = ImportFileStorage
    import_form_class = RegisterImportForm
    confirm_form_class = RegisterConfirmImportForm
    # The change form's export button saves the record before exporting it.
    show_change_form_export = False

    def action_checkbox(self, obj):
        # Django's markup, without rendering a form widget's template for each
        # row: that was a fifth of the time a list page of 100 rows took.
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" '
            'aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            format_html(_("Select this object for an action - {}"), str(obj)),
        )

    # -- import and export ----------------------------------------------------

    def __init__(self, model, admin_site):
        super().__init__(model, admin_site)
        if not self.resource_classes:
            # The library would make up a resource of every field, which
            # reads cells and names relations as no register import does.
            raise ImproperlyConfigured(
                NO_RESOURCE.format(admin=type(self).__name__, model=model.__name__)
            )

    def has_import_permission(self, request):
        # An import adds and changes rows: it needs both permissions, and obeys
        # any restriction the model's admin puts on adding or changing.
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def import_action(self, request, **kwargs):
        response = super().import_action(request, **kwargs)
        context = getattr(response, "context_data", None) or {}
        if context.get("result") is not None:
            # Read by admin/import_export/import.html: the rows in the register
            # import's words, and what changed inside a text, word by word.
            context["preview_lines"], context["preview_counts"] = preview(
                context["result"]
            )
        if request.method == "POST" and "confirm_form" not in context:
            # The preview failed, so no confirmation can follow: the uploaded
            # file (personal data) goes now rather than when it expires.
            upload = request.FILES.get("import_file")
            name = getattr(upload, "tmp_storage_name", None)
            if name:
                self.get_tmp_storage_class()(name=name).remove()
        return response

    def get_confirm_form_kwargs(self, request, import_form=None):
        kwargs = super().get_confirm_form_kwargs(request, import_form)
        kwargs["formats"] = len(self.get_import_formats())
        kwargs["resources"] = len(self.get_import_resource_classes(request))
        return kwargs

    def process_import(self, request, **kwargs):
        # Checked before the library's POST-only check, so that a GET without
        # permission is refused like every other import URL.
        if not self.has_import_permission(request):
            raise PermissionDenied
        try:
            refusal = self.confirmation_refusal(request)
            if refusal:
                self.message_user(request, refusal, messages.ERROR)
                return self._import_page()
            return super().process_import(request, **kwargs)
        except ImportFileExpired:
            self.message_user(request, IMPORT_FILE_EXPIRED, messages.ERROR)
            return self._import_page()

    def confirmation_refusal(self, request):
        """
        Why the posted confirmation cannot import its waiting file, or "".

        The library reads the file in the format the form posts, which may
        not be the preview's (a CSV file is no workbook, a workbook no text),
        and fails as it reads. The file is read here first, and refused as the
        preview refuses a file it cannot read; so is an empty one.
        """
        if request.method != "POST":
            return ""
        form = self.create_confirm_form(request)
        if not form.is_valid():
            self._discard(form.cleaned_data.get("import_file_name"))
            return IMPORT_CONFIRMATION_INVALID.format(fields=", ".join(form.errors))
        data = form.cleaned_data
        input_format = self.get_import_formats()[int(data["format"])](
            encoding=self.from_encoding
        )
        storage = self.get_tmp_storage_class()(
            name=data["import_file_name"],
            encoding=None if input_format.is_binary() else self.from_encoding,
            read_mode=input_format.get_read_mode(),
            **self.get_tmp_storage_class_kwargs(),
        )
        try:
            dataset = input_format.create_dataset(storage.read())
        except ImportFileExpired:
            raise
        except Exception as error:  # Whatever a reader raises, as the preview.
            storage.remove()
            return IMPORT_FILE_UNREADABLE.format(
                format=input_format.get_title().upper(), error=type(error).__name__
            )
        if not dataset:
            storage.remove()
            return IMPORT_FILE_EMPTY
        return ""

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            # A row failed at the confirmation (the register changed since the
            # preview, or the form was crafted): the resource rolled the whole
            # import back, so nothing is logged or reported as imported.
            message = IMPORT_FAILED.format(problems=import_problems(result))
            self.message_user(request, message, messages.ERROR)
            return self._import_page()
        return super().process_result(result, request)

    def _import_page(self):
        opts = self.opts
        return redirect(f"admin:{opts.app_label}_{opts.model_name}_import")

    def _discard(self, name):
        """Remove a waiting file, if ``name`` is one of the storage's."""
        with contextlib.suppress(ImportFileExpired):
            self.get_tmp_storage_class()(name=name).remove()

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
        # An id the table cannot hold (not a number, or beyond 64 bits, which
        # SQLite refuses with an OverflowError) is no row of it.
        posted = [
            self.opts.pk.to_python(value)
            for value in request.POST.getlist("export_items")
            if holds(self.opts.pk, value)
        ]
        return (
            self.get_export_queryset(request)
            .filter(pk__in=posted)
            .values_list("pk", flat=True)
        )

    # -- history and saving ---------------------------------------------------

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """
        Django's add and change page, whose save never ends in a server error
        for having lost a race to another save.

        Two forms posted at the same moment from the same version both pass
        the form's version check; the row lock of ``Versioned.save`` lets one
        save, and the other raises ``StaleRecordError`` (or
        ``RecordDeletedError``) on the record or on one of its inline rows,
        or the database breaks a deadlock between two saves by failing one,
        or two adds of the same unique value both passed their form's check
        and the second breaks the unique index.
        Django runs each save, its inlines and its log entry in a transaction
        of their own (a savepoint of the request's), so the failure rolls all
        of it back; the post is then checked again, as if posted just after
        the other save, and shown again with the message that a stale form
        gets (or, if the record is gone, Django's "does not exist"; for a
        taken name, the form's "already exists"), or saved
        if the other save changed nothing it shows. Only a post that loses
        every one of ``SAVE_ATTEMPTS`` races gets a message of its own.
        """
        for _attempt in range(SAVE_ATTEMPTS):
            try:
                return super().changeform_view(
                    request, object_id, form_url, extra_context
                )
            except (StaleRecordError, OperationalError, IntegrityError) as error:
                if not lost_a_race(error):
                    raise
                last = error
        # Three races lost in a row is no longer a coincidence: say so in the
        # log, with what failed.
        logger.warning(
            "%s of %s lost %d races in a row: %s",
            request.method,
            request.path,
            SAVE_ATTEMPTS,
            last,
        )
        self.message_user(
            request,
            SAVED_AT_THE_SAME_TIME.format(model=self.opts.verbose_name),
            messages.ERROR,
        )
        return redirect(request.get_full_path())

    def history_view(self, request, object_id, extra_context=None):
        # One entry per save, with its inline rows' changes, full values and
        # "system" for changes no user made: see ropa.core.history_view.
        return register_history_view(self, request, object_id, extra_context)

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
        saved = formset.save(commit=False)
        # Deleted first, as Django's own save does: a row may take the place
        # of one deleted (the same lawful basis, the rule for all data).
        for obj in formset.deleted_objects:
            obj._change_reason = reason
            obj._history_user = request.user
            obj.delete()
        for obj in saved:
            obj._change_reason = reason
            obj._history_user = request.user
            obj.save()
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
