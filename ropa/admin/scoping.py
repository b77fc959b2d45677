"""
Who sees and changes what in the register's admin: a contributor, the records
of their own business functions and nothing else (``ropa.roles``).
"""

from functools import wraps

from django import forms
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.urls import URLPattern
from django.utils.text import capfirst

from ropa.core.admin_forms import CheckedRelatedFieldsMixin, RegisterInlineMixin
from ropa.roles import contributor_functions, is_contributor, may_change_activity


def _refuse_contributors(view):
    @wraps(view)
    def refuse(request, *args, **kwargs):
        if is_contributor(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return refuse


def closed_to_contributors(patterns):
    """``patterns`` with views that refuse contributors."""
    return [
        URLPattern(
            pattern.pattern,
            _refuse_contributors(pattern.callback),
            pattern.default_args,
            pattern.name,
        )
        for pattern in patterns
    ]


class NoImportExportForContributorsMixin:
    """Contributors never import or export, whatever they may view or change."""

    def has_import_permission(self, request):
        return not is_contributor(request.user) and super().has_import_permission(
            request
        )

    def has_export_permission(self, request):
        return not is_contributor(request.user) and super().has_export_permission(
            request
        )


class FunctionScopedMixin(NoImportExportForContributorsMixin):
    """
    Limits a contributor to the records of their business functions.

    Every page of a record finds it through ``get_queryset`` (the list, its
    search and filters, autocomplete, change, delete, history): a record of
    another function is not found, and the admin answers as it does for a
    record that does not exist. Records of a retired activity are shown,
    never changed (``ropa.roles.may_change_activity``).
    """

    #: The path from this model to its processing activity; empty for the activity.
    activity_path = ""

    def activity_of(self, obj):
        return getattr(obj, self.activity_path) if self.activity_path else obj

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        functions = contributor_functions(request.user)
        if functions is None:
            return queryset
        lookup = "business_function__in"
        if self.activity_path:
            lookup = f"{self.activity_path}__{lookup}"
        return queryset.filter(**{lookup: functions})

    def has_add_permission(self, request):
        # A contributor in no business function has nowhere to add a record.
        return (
            super().has_add_permission(request)
            and contributor_functions(request.user) != ()
        )

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        if obj is None or not is_contributor(request.user):
            return True
        return may_change_activity(request.user, self.activity_of(obj))

    def history_view(self, request, object_id, extra_context=None):
        # simple-history shows the history of a record that the queryset does
        # not find (one deleted since): not to a contributor.
        if self._hidden(request, object_id):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if self._hidden(request, object_id):
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def _hidden(self, request, object_id):
        return (
            is_contributor(request.user)
            and self.get_object(request, unquote(object_id)) is None
        )


class ActivityPartInlineMixin(CheckedRelatedFieldsMixin, RegisterInlineMixin):
    """
    A part of the activity form, changed as far as the activity may be, of at
    most ``max_num`` rows, whose related fields check the ids posted.
    """

    def has_add_permission(self, request, obj):
        return super().has_add_permission(request, obj) and (
            obj is None or may_change_activity(request.user, obj)
        )

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (
            obj is None or may_change_activity(request.user, obj)
        )


def business_function_field(db_field, functions):
    """The business function of a contributor's activity: one of theirs."""
    choices = [(name, name) for name in functions]
    if len(functions) != 1:
        choices.insert(0, ("", "---------"))
    return forms.ChoiceField(
        label=capfirst(db_field.verbose_name),
        choices=choices,
        help_text="One of the business functions you contribute for.",
    )
