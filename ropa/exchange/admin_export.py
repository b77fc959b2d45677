"""
The register export page of the admin, for the DPO and auditors.

A form (controller, format, optional as-of date, and for the PDF and Word
documents whether drafts and retired activities are included) whose
submission downloads the register written by
``ropa.exchange.export.export_register``. The file is written
to a temporary file first, then streamed from it, so an export that fails
shows its error on the page instead of a broken download.

Mount it with ``export_urls(admin_site)`` in ``ProcessingActivityAdmin.get_urls``
(before the model admin's own URLs); it is then
``admin:ropa_processingactivity_export_register``.
"""

import tempfile

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import FileResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from controllers.models import Organisation
from ropa.exchange.document import statuses_of
from ropa.exchange.export import (
    CONTENT_TYPES,
    FORMATS,
    ONE_ORGANISATION,
    XLSX,
    ExportError,
    default_filename,
    export_register,
    statuses_refused,
)
from ropa.models import ProcessingActivity

URL_NAME = "ropa_processingactivity_export_register"
TEMPLATE = "admin/ropa/export_register.html"
FUTURE_DATE = "The register's history ends today: choose today or an earlier day."
TOO_LARGE = (
    "This document would hold {count:,} activities: written here it would take "
    "longer than the web server waits (the admin writes documents of at most "
    "{limit:,}). Run on the server: python manage.py export_register {options}"
)


def can_export(user):
    """Whether ``user`` may export the register."""
    return user.has_perm("ropa.view_processingactivity")


class RegisterExportForm(forms.Form):
    controller = forms.ModelChoiceField(
        queryset=Organisation.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="All controllers",
        help_text="Only the activities this organisation is responsible for. "
        "The regulators' layouts document one organisation: choose it.",
    )
    format = forms.ChoiceField(
        choices=[(code, fmt.label) for code, fmt in FORMATS.items()],
        initial=XLSX,
    )
    as_of = forms.DateField(
        label="As of",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Leave empty for the register as it stands; give a past day for "
        "the register as it stood at the end of that day, rebuilt from its history.",
    )
    # The document formats' options, in a fieldset of their own on the page.
    include_drafts = forms.BooleanField(
        label="Include drafts",
        required=False,
        help_text="The document holds the active activities; tick to add the drafts.",
    )
    include_retired = forms.BooleanField(
        label="Include retired activities",
        required=False,
        help_text="Tick to add the retired activities too.",
    )
    DOCUMENT_OPTIONS = ("include_drafts", "include_retired")

    def clean(self):
        cleaned = super().clean()
        fmt = FORMATS.get(cleaned.get("format"))
        if fmt is not None and fmt.one_organisation and not cleaned.get("controller"):
            self.add_error("controller", ONE_ORGANISATION.format(label=fmt.label))
        if fmt is not None and not fmt.document:
            for name in self.DOCUMENT_OPTIONS:
                if cleaned.get(name):
                    self.add_error(name, statuses_refused(fmt))
        if fmt is not None and fmt.document and not self.errors:
            self._check_document_size(cleaned)
        return cleaned

    def _check_document_size(self, cleaned):
        """Refuse, before writing, a document too large for one web request."""
        limit = settings.ROPA_ADMIN_DOCUMENT_MAX_ACTIVITIES
        controller = cleaned.get("controller")
        # The register as it stands: an as-of document of a register that has
        # since grown or shrunk is near enough in size.
        activities = ProcessingActivity.objects.filter(
            status__in=statuses_of(
                drafts=cleaned.get("include_drafts"),
                retired=cleaned.get("include_retired"),
            )
        )
        if controller is not None:
            activities = activities.filter(organisations=controller)
        count = activities.count()
        if count > limit:
            options = [f"--format {cleaned['format']}"]
            if controller is not None:
                options.append(f"--controller {controller.slug}")
            if cleaned.get("as_of"):
                options.append(f"--as-of {cleaned['as_of'].isoformat()}")
            options += [
                f"--{name.replace('_', '-')}"
                for name in self.DOCUMENT_OPTIONS
                if cleaned.get(name)
            ]
            raise forms.ValidationError(
                TOO_LARGE.format(count=count, limit=limit, options=" ".join(options))
            )

    def main_fields(self):
        return [field for field in self if field.name not in self.DOCUMENT_OPTIONS]

    def document_fields(self):
        return [self[name] for name in self.DOCUMENT_OPTIONS]

    def clean_as_of(self):
        day = self.cleaned_data["as_of"]
        if day is not None and day > timezone.localdate():
            raise forms.ValidationError(FUTURE_DATE)
        return day


def export_register_view(request, admin_site):
    if not (
        request.user.has_perm("ropa.view_processingactivity")
        and can_export(request.user)
    ):
        raise PermissionDenied
    # A download changes nothing: the form is a GET, so a link can repeat it.
    # A query without a format only fills the form in (the dashboard's link
    # to the register as of a month's end): the user chooses the rest.
    if "format" in request.GET:
        form = RegisterExportForm(request.GET)
    else:
        form = RegisterExportForm(initial=_prefilled(request.GET))
    if form.is_bound and form.is_valid():
        response = _download(form)
        if response is not None:
            return response
    context = {
        **admin_site.each_context(request),
        "title": "Export the register",
        "opts": ProcessingActivity._meta,
        "form": form,
    }
    return TemplateResponse(request, TEMPLATE, context)


def _prefilled(params):
    """The form's fields that ``params`` give valid values for, as initial data."""
    bound = RegisterExportForm(params)
    bound.is_valid()
    return {
        name: value
        for name, value in bound.cleaned_data.items()
        if name in params and value not in (None, "")
    }


def _download(form):
    fmt = form.cleaned_data["format"]
    controller = form.cleaned_data["controller"]
    as_of = form.cleaned_data["as_of"]
    # Closed by FileResponse once sent, or here when the export fails.
    out = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        export_register(
            fmt=fmt,
            out=out,
            controller=controller,
            as_of=as_of,
            drafts=form.cleaned_data["include_drafts"],
            retired=form.cleaned_data["include_retired"],
        )
    except ExportError as error:
        out.close()
        form.add_error(None, str(error))
        return None
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return FileResponse(
        out,
        as_attachment=True,
        filename=default_filename(fmt=fmt, controller=controller, as_of=as_of),
        content_type=CONTENT_TYPES[fmt],
    )


def export_urls(admin_site):
    """The export page's URL, relative to the processing activity admin's."""

    def view(request):
        return export_register_view(request, admin_site)

    return [path("export-register/", admin_site.admin_view(view), name=URL_NAME)]
