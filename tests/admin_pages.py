"""
The admin's forms as a browser posts them.

``form_data`` reads the POST data of an admin change (or add) form from the
page that shows it; ``change_form_data`` builds the same for a record without
rendering the page, which the permission matrices do hundreds of times.
``database_state`` is what those matrices compare before and after a request.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.test import RequestFactory
from django.urls import reverse

from ropa.roles import is_historical, register_models


def form_data(page):
    """
    The POST data of the admin form on ``page`` (a response, or a change
    view's unrendered response), as a browser sends it unchanged: the model
    form, then each inline formset with its management form and its rows.
    """
    context = getattr(page, "context_data", None) or page.context
    data = {}
    _add_form(data, context["adminform"].form)
    for inline in context["inline_admin_formsets"]:
        _add_form(data, inline.formset.management_form)
        for form in inline.formset.forms:
            _add_form(data, form)
    return data


def change_form_data(user, obj):
    """What the admin change form of ``obj`` posts for ``user`` when saved as it is."""
    model_admin = admin.site._registry[type(obj)]
    opts = obj._meta
    request = RequestFactory().get(
        reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=(obj.pk,))
    )
    request.user = user
    # The change view returns its page unrendered: the forms are in its context.
    page = model_admin.change_view(request, str(obj.pk))
    assert page.status_code == 200, page.status_code
    return form_data(page)


def _add_form(data, form):
    for name, field in form.fields.items():
        key = form.add_prefix(name)
        value = form[name].value()
        # The admin wraps the widget of a relation to add its "+" links.
        widget = getattr(field.widget, "widget", field.widget)
        if isinstance(widget, forms.CheckboxInput):
            # An unchecked box is not sent at all.
            if value:
                data[key] = "on"
        elif isinstance(widget, forms.NullBooleanSelect):
            data[key] = {True: "true", False: "false"}.get(value, "unknown")
        elif isinstance(
            field, (forms.MultipleChoiceField, forms.ModelMultipleChoiceField)
        ):
            data[key] = [str(item) for item in field.prepare_value(value) or ()]
        else:
            prepared = field.prepare_value(value)
            data[key] = "" if prepared is None else str(prepared)


def database_state():
    """
    Every register row, and the number of history rows and admin log
    entries. Derived data (the stored completeness, which any list brings up
    to date) is not the register.
    """
    state = {"admin.logentry": LogEntry.objects.count()}
    for model in register_models():
        label = model._meta.label_lower
        if is_historical(model):
            state[label] = model.objects.count()
        else:
            state[label] = list(model.objects.order_by("pk").values())
    return state
