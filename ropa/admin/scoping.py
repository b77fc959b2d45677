"""
Who sees and changes what in the register's admin: a contributor, the records
of their own business functions and nothing else (``ropa.roles``).
"""

from functools import cache, wraps

from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.admin import SimpleListFilter
from django.contrib.admin.utils import unquote
from django.contrib.contenttypes.models import ContentType
from django.contrib.contenttypes.views import shortcut
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db.models.constants import LOOKUP_SEP
from django.http import Http404
from django.urls import URLPattern
from django.utils.text import capfirst

from ropa.core.admin_forms import CheckedRelatedFieldsMixin, RegisterInlineMixin
from ropa.models import ProcessingActivity
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


# ---------------------------------------------------------------------------
# What a contributor's list lookups may reach
# ---------------------------------------------------------------------------


@cache
def activity_models():
    """
    The processing activity and every model that belongs to one (its lawful
    bases, transfers, retention rules, reviews, stored gaps, their history):
    the records a contributor sees of their own business functions only.
    """
    return frozenset(
        {ProcessingActivity}
        | {
            model
            for model in apps.get_models(include_auto_created=True)
            for field in model._meta.concrete_fields
            if field.is_relation and field.related_model is ProcessingActivity
        }
    )


def walk(model, lookup):
    """
    The fields that ``lookup`` names from ``model`` (what follows them is a
    transform or a comparison: ``__icontains``, ``__in``), and the models it
    passes through, ``model`` first. A relation's primary key at the end
    names the relation itself: ``activity__id__exact`` filters on ``activity``.
    """
    names, models = [], [model]
    for part in lookup.split(LOOKUP_SEP):
        if part == "pk":
            part = model._meta.pk.name
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            break
        if len(models) > 1 and field is model._meta.pk and not field.is_relation:
            break
        names.append(part)
        path_infos = getattr(field, "path_infos", None)
        if not path_infos:
            break
        model = path_infos[-1].to_opts.model
        models.append(model)
    return names, models


def stays_with_own_activities(model_admin, models):
    """
    Whether a path through ``models`` reaches only the activities the list
    itself shows: from a list limited to the contributor's functions, their
    activity and its parts; from any other list (a catalogue), none. Once a
    path has left the activity (to a recipient, an organisation), any
    activity it reaches again may be another function's.
    """
    inside = isinstance(model_admin, FunctionScopedMixin)
    for model in models[1:]:
        if model in activity_models():
            if not inside:
                return False
        else:
            inside = False
    return True


def _field_filter_path(filter_item):
    """The field path of a ``list_filter`` item; None for a SimpleListFilter."""
    if isinstance(filter_item, (list, tuple)):
        filter_item = filter_item[0]
    return filter_item if isinstance(filter_item, str) else None


class ContributorLookupsMixin:
    """
    A contributor's list filters, searches and lookups reach no other
    function's records, whatever the query string names.

    Django's admin filters a list on any lookup its ``lookup_allowed``
    accepts, and what it accepts changes between releases (Django 5.2.0
    accepted a reverse relation such as ``?activities=8`` on a catalogue
    list; later 5.2 releases refuse it): for a contributor the rule is ours. A
    lookup through a relation must be one of the list's own filters, and
    neither a filter, a search field nor a lookup may reach an activity (or
    a part of one) that the list does not itself show. The DPO and the
    auditor keep Django's rule.
    """

    def lookup_allowed(self, lookup, value, request=None):
        allowed = super().lookup_allowed(lookup, value, request)
        if not allowed or request is None or not is_contributor(request.user):
            return allowed
        list_filter = self.get_list_filter(request)
        parameters = {
            item.parameter_name
            for item in list_filter
            if isinstance(item, type) and issubclass(item, SimpleListFilter)
        }
        if lookup in parameters:
            # The filter's own code reads the value, on the list's own rows.
            return True
        names, models = walk(self.model, lookup)
        if len(models) == 1:
            # A field of the list's own rows.
            return True
        declared = {_field_filter_path(item) for item in list_filter}
        return LOOKUP_SEP.join(names) in declared and stays_with_own_activities(
            self, models
        )

    def get_list_filter(self, request):
        list_filter = super().get_list_filter(request)
        if not is_contributor(request.user):
            return list_filter
        return [item for item in list_filter if self._filter_shown(item)]

    def _filter_shown(self, filter_item):
        """
        Whether a contributor sees ``filter_item``: not when it follows a
        relation to activities they may not see, nor when it lists activities
        as its choices (a relation's filter lists every row of its model).
        """
        path = _field_filter_path(filter_item)
        if path is None:
            return True
        names, models = walk(self.model, path)
        ends_on_relation = len(models) > len(names)
        return stays_with_own_activities(self, models) and not (
            ends_on_relation and models[-1] in activity_models()
        )

    def get_search_fields(self, request):
        search_fields = super().get_search_fields(request)
        if not is_contributor(request.user):
            return search_fields
        return tuple(
            name
            for name in search_fields
            if stays_with_own_activities(self, walk(self.model, name.lstrip("^=@"))[1])
        )


class ContributorLimitsMixin(
    ContributorLookupsMixin, NoImportExportForContributorsMixin
):
    """
    For every register admin a contributor may open: no import or export, and
    lookups that reach only what the list itself shows them.
    """


def limit_contributors(site, app_labels):
    """
    Give the admins that the apps ``app_labels`` register on ``site`` the
    contributors' limits (``ContributorLimitsMixin``).

    Those apps sit below the register and know nothing of its roles: their
    admins are limited here, every one of them, so that an admin they add
    later is limited too.
    """
    for app_label in app_labels:
        for model in apps.get_app_config(app_label).get_models():
            if not site.is_registered(model):
                continue
            model_admin = type(site.get_model_admin(model))
            if issubclass(model_admin, ContributorLimitsMixin):
                continue
            limited = type(
                model_admin.__name__,
                (ContributorLimitsMixin, model_admin),
                {"__module__": model_admin.__module__, "__doc__": model_admin.__doc__},
            )
            site.unregister(model)
            site.register(model, limited)


class FunctionScopedMixin(ContributorLimitsMixin):
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


def view_on_site(request, content_type_id, object_id):
    """
    Django's "View on site" redirect (``/admin/r/<content type>/<id>/``), for
    a record that the user may view through its admin.

    Django's own redirects for any staff user, and so tells whether an id
    exists. Here another function's activity, a record of a model the user
    may not view and an id that does not exist get the same answer: not
    found.
    """
    try:
        model = ContentType.objects.get_for_id(content_type_id).model_class()
    except ContentType.DoesNotExist:
        raise Http404 from None
    if model is None or not admin.site.is_registered(model):
        raise Http404
    model_admin = admin.site.get_model_admin(model)
    if not model_admin.has_view_or_change_permission(request):
        raise Http404
    obj = model_admin.get_object(request, unquote(object_id))
    if obj is None or not model_admin.has_view_or_change_permission(request, obj):
        raise Http404
    return shortcut(request, content_type_id, object_id)


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
