"""
The register import page of the admin, for the DPO: upload, preview, confirm.

The upload is validated in full (``ropa.exchange.imports.plan_import``) and previewed:
how many rows are new, changed, unchanged, deleted or invalid, each of those
rows but the unchanged ones with what changes (inside a text, word by word:
``ropa.core.text_diff``) or why it is invalid, and every error. Only a file
without errors can be confirmed; the confirmation validates it again and
writes it whole, recording the user and the reason "Imported from <file
name>".

Between the preview and the confirmation the file waits in the store of
both admin imports, ``ropa.core.uploads`` (a storage every app server
reaches: the confirmation may reach another one), and the session keeps its
name there, never a path. It is deleted when the import is confirmed, cancelled
or fails, when another file is uploaded, and, once abandoned at the preview,
by the purge every request to these pages runs (files older than an hour) or
by ``manage.py clear_import_files``.

Mount it with ``import_urls(admin_site)`` in ``ProcessingActivityAdmin.get_urls``
(beside the list's per-model import, which imports rows of this list only); it is then
``admin:ropa_processingactivity_import_register`` and
``admin:ropa_processingactivity_import_register_confirm``.
"""

from collections import Counter
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse

from controllers.models import Organisation
from ropa.core.rows import ACTIONS, INVALID, UNCHANGED
from ropa.core.text_diff import diff_html
from ropa.core.uploads import (
    discard_upload,
    local_upload,
    purge,
    save_upload,
    upload_exists,
)
from ropa.exchange.apply import apply_plan
from ropa.exchange.imports import plan_import
from ropa.exchange.plan import ICO, IMPORT_FORMATS, OURS, ImportAborted, import_reason
from ropa.exchange.workbook import ImportFileError, check_size, max_import_bytes
from ropa.models import ProcessingActivity

URL_NAME = "ropa_processingactivity_import_register"
CONFIRM_URL_NAME = "ropa_processingactivity_import_register_confirm"
FORM_TEMPLATE = "admin/ropa/import_register.html"
PREVIEW_TEMPLATE = "admin/ropa/import_preview.html"
SESSION_KEY = "ropa_register_import"
PERMISSIONS = ("ropa.add_processingactivity", "ropa.change_processingactivity")

UPLOAD_GONE = (
    "The uploaded file is no longer there: a preview waits an hour at most, "
    "and ends when it is confirmed or cancelled. Upload the file again."
)
CONTROLLER_GONE = (
    "The controller chosen for the template no longer exists: nothing was "
    "imported. Upload the file again."
)
CANCELLED = "Import cancelled: nothing was written, and the uploaded file was deleted."
NOTHING_TO_DO = "The file matches the register: there is nothing to import."


def can_import(user):
    """Whether ``user`` may import: they create and change activities."""
    return user.has_perms(PERMISSIONS)


class RegisterImportForm(forms.Form):
    file = forms.FileField(
        label="Workbook",
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx"}),
    )
    format = forms.ChoiceField(
        choices=IMPORT_FORMATS, initial=OURS, widget=forms.RadioSelect
    )
    controller = forms.ModelChoiceField(
        queryset=Organisation.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="The one its header block names",
        help_text="For an ICO template: the organisation responsible for its "
        "activities (Art. 30(1)(a)), when not the controller the template's "
        "header block names.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = (
            "An .xlsx workbook of at most "
            f"{filesizeformat(max_import_bytes())}: the register exported "
            "from here, or a filled ICO template."
        )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            check_size(upload.size, upload.name)
        except ImportFileError as error:
            raise forms.ValidationError(str(error)) from error
        return upload


def _context(request, admin_site, **extra):
    return {
        **admin_site.each_context(request),
        "opts": ProcessingActivity._meta,
        "title": "Import the register",
        **extra,
    }


@dataclass(frozen=True)
class PreviewRow:
    """A row of the file (or a record the file no longer lists), as previewed."""

    action: str
    group: str
    sheet: str
    row: int | None
    key: str
    # (column, what changed in it as HTML) pairs.
    changes: list
    errors: list

    @property
    def lines(self):
        """The table lines the row takes: one per error and per change."""
        return len(self.errors) + len(self.changes)


def preview_rows(plan):
    """The rows of ``plan`` as the preview lists and counts them."""
    rows = []
    for row in plan.rows:
        # A row with an error is invalid, whatever the plan would do with it.
        action = INVALID if row.errors else row.action
        changes = [
            (change.column, diff_html(change.before, change.after))
            for change in row.changes
        ]
        rows.append(
            PreviewRow(
                action, row.group, row.sheet, row.row, row.key, changes, row.errors
            )
        )
    return rows


def _preview(request, admin_site, plan, *, can_confirm):
    rows = preview_rows(plan)
    counted = {group: Counter() for group in plan.groups}
    for row in rows:
        counted.setdefault(row.group, Counter())[row.action] += 1
    counts = [
        (group, [counter[action] for action in ACTIONS])
        for group, counter in counted.items()
    ]
    context = _context(
        request,
        admin_site,
        title=f"Import {plan.file_name}",
        plan=plan,
        actions=ACTIONS,
        counts=counts,
        changed_rows=[row for row in rows if row.action != UNCHANGED],
        errors=plan.errors,
        created=[
            *plan.created_lines(done=False),
            *plan.review_lines(done=False),
            *plan.kept_lines(),
        ],
        can_confirm=can_confirm,
        nothing_to_do=not plan.has_errors and not plan.has_writes,
        confirm_url=reverse(f"{admin_site.name}:{CONFIRM_URL_NAME}"),
        import_url=reverse(f"{admin_site.name}:{URL_NAME}"),
    )
    return TemplateResponse(request, PREVIEW_TEMPLATE, context)


def plan_upload(name, **options):
    """
    The plan (``plan_import`` with ``options``) for the waiting file ``name``,
    read from the import store, wherever it keeps the file.
    """
    with local_upload(name) as path:
        if path is None:
            # Purged, or removed by another request, since it was looked for.
            raise ImportFileError(UPLOAD_GONE)
        return plan_import(path, **options)


def _forget_pending(request):
    """Delete the upload waiting for this session's confirmation, if any."""
    pending = request.session.pop(SESSION_KEY, None) or {}
    discard_upload(pending.get("upload"))


def import_register_view(request, admin_site):
    """The upload form; a valid upload is validated and previewed."""
    if not can_import(request.user):
        raise PermissionDenied
    purge()
    form = RegisterImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        _forget_pending(request)
        upload = form.cleaned_data["file"]
        fmt = form.cleaned_data["format"]
        controller = form.cleaned_data["controller"] if fmt == ICO else None
        name = save_upload(upload)
        try:
            plan = plan_upload(
                name,
                file_name=upload.name,
                format=fmt,
                controller=controller,
            )
        except ImportFileError as error:
            discard_upload(name)
            form.add_error("file", str(error))
        except BaseException:
            discard_upload(name)
            raise
        else:
            can_confirm = not plan.has_errors and plan.has_writes
            if can_confirm:
                request.session[SESSION_KEY] = {
                    "upload": name,
                    "file_name": upload.name,
                    "format": fmt,
                    "controller": controller.pk if controller else None,
                }
            else:
                # Nothing can follow this preview: the file goes now.
                discard_upload(name)
            return _preview(request, admin_site, plan, can_confirm=can_confirm)
    context = _context(request, admin_site, form=form)
    return TemplateResponse(request, FORM_TEMPLATE, context)


def confirm_import_view(request, admin_site):
    """Confirm (validate again and write) or cancel the previewed import."""
    if not can_import(request.user):
        raise PermissionDenied
    purge()
    import_url = reverse(f"{admin_site.name}:{URL_NAME}")
    if request.method != "POST":
        return redirect(import_url)
    pending = request.session.pop(SESSION_KEY, None) or {}
    name = pending.get("upload")
    try:
        waiting = upload_exists(name)
        if "cancel" in request.POST:
            messages.info(request, CANCELLED)
            return redirect(import_url)
        if not waiting:
            messages.error(request, UPLOAD_GONE)
            return redirect(import_url)
        controller = None
        if pending.get("format") == ICO and pending.get("controller") is not None:
            controller = Organisation.objects.filter(
                pk=pending.get("controller")
            ).first()
            if controller is None:
                messages.error(request, CONTROLLER_GONE)
                return redirect(import_url)
        try:
            plan = plan_upload(
                name,
                file_name=pending["file_name"],
                format=pending.get("format", OURS),
                controller=controller,
            )
            if plan.has_errors or not plan.has_writes:
                # The register changed since the preview.
                return _preview(request, admin_site, plan, can_confirm=False)
            apply_plan(plan, user=request.user)
        except (ImportFileError, ImportAborted) as error:
            messages.error(request, f"{error} Nothing was imported.")
            return redirect(import_url)
    finally:
        discard_upload(name)
    messages.success(request, f"{import_reason(plan.file_name)}: {done(plan)}.")
    return redirect(f"{admin_site.name}:ropa_processingactivity_changelist")


def done(plan):
    """What an applied plan wrote, per sheet: "Activities 4 new; Lawful bases 6 new"."""
    return "; ".join(
        f"{group} "
        + ", ".join(
            f"{counter[action]} {action}"
            for action in ACTIONS
            if counter[action] and action != UNCHANGED
        )
        for group, counter in plan.counts().items()
        if any(counter[action] for action in ACTIONS if action != UNCHANGED)
    )


def import_urls(admin_site):
    """The import pages' URLs, relative to the processing activity admin's."""

    def upload(request):
        return import_register_view(request, admin_site)

    def confirm(request):
        return confirm_import_view(request, admin_site)

    return [
        path("import-register/", admin_site.admin_view(upload), name=URL_NAME),
        path(
            "import-register/confirm/",
            admin_site.admin_view(confirm),
            name=CONFIRM_URL_NAME,
        ),
    ]
