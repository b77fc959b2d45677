"""
The admin's forms as a browser posts them.

``form_data`` reads the POST data of an admin change (or add) form from the
HTML of the page that shows it, as a browser builds it when the user presses
Save without touching anything: every input the page renders (hidden ones,
the formsets' management forms and the empty-form templates included),
checked boxes only, selected options, textareas without the newline that
follows their opening tag and with their line breaks as CRLF. A field the
form declares but the page does not render is therefore not posted, as in a
browser. ``change_form_data`` does the same for a record's change page
rendered without a client, which the permission matrices do hundreds of
times. ``database_state`` is what those matrices compare before and after a
request.
"""

import lxml.html
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.test import RequestFactory
from django.urls import reverse

from ropa.roles import is_historical, register_models

#: Input types a browser does not send unless they are the button pressed.
NOT_SENT = frozenset({"submit", "image", "reset", "button", "file"})


def form_data(page, *, form_id=None, action=None, containing=None, submit="_save"):
    """
    The POST data of the admin form on ``page`` (a response, rendered or
    not), as a browser sends it when ``submit`` (a submit button's name, or
    None) is pressed. Repeated names map to lists. The form is the model's
    ("<model>_form"), or the one with the id ``form_id``, the one whose
    action ends with ``action``, or the one with a field named ``containing``.
    """
    if hasattr(page, "render") and not getattr(page, "is_rendered", True):
        page.render()
    html = page.content.decode(getattr(page, "charset", None) or "utf-8")
    form = _admin_form(lxml.html.document_fromstring(html), form_id, action, containing)
    pairs = _successful_controls(form)
    if submit is not None:
        button = form.xpath(
            './/input[@type="submit"][@name=$name] | .//button[@name=$name]',
            name=submit,
        )
        if button:
            pairs.append((submit, button[0].get("value", "")))
    data = {}
    for name, value in pairs:
        if name in data:
            previous = data[name]
            data[name] = (
                [*previous, value]
                if isinstance(previous, list)
                else [
                    previous,
                    value,
                ]
            )
        else:
            data[name] = value
    return data


def multiple(data, name):
    """The values posted under ``name`` as a list (one value is not a list)."""
    value = data.get(name, [])
    return list(value) if isinstance(value, list) else [value]


def _admin_form(document, form_id, action, containing):
    forms = document.forms
    if containing is not None:
        matches = [form for form in forms if form.xpath(".//*[@name=$n]", n=containing)]
    elif form_id is not None:
        matches = [form for form in forms if form.get("id") == form_id]
    elif action is not None:
        matches = [
            form for form in forms if (form.get("action") or "").endswith(action)
        ]
    else:
        # The model form: "<model>_form"; the header's log-out form is not one.
        matches = [
            form
            for form in forms
            if (form.get("id") or "").endswith("_form")
            and form.get("id") != "logout-form"
        ]
    assert len(matches) == 1, [form.get("id") for form in forms]
    return matches[0]


def _disabled(element):
    return element.get("disabled") is not None or bool(
        element.xpath("ancestor::fieldset[@disabled]")
    )


def _successful_controls(form):
    """The (name, value) pairs a browser submits for ``form`` (HTML, 4.10.21.4)."""
    pairs = []
    for element in form.xpath(".//input | .//select | .//textarea"):
        name = element.get("name")
        if not name or _disabled(element):
            continue
        if element.tag == "textarea":
            text = element.text or ""
            # The parser keeps the newline after <textarea>; browsers drop it.
            if text.startswith("\r\n"):
                text = text[2:]
            elif text.startswith("\n"):
                text = text[1:]
            text = text.replace("\r\n", "\n").replace("\r", "\n")
            pairs.append((name, text.replace("\n", "\r\n")))
        elif element.tag == "select":
            options = [
                option for option in element.xpath(".//option") if not _disabled(option)
            ]
            selected = [o for o in options if o.get("selected") is not None]
            if element.get("multiple") is not None:
                pairs += [(name, _option_value(option)) for option in selected]
            elif selected:
                pairs.append((name, _option_value(selected[-1])))
            elif options:
                pairs.append((name, _option_value(options[0])))
        else:
            kind = (element.get("type") or "text").lower()
            if kind in NOT_SENT:
                continue
            if kind in ("checkbox", "radio"):
                if element.get("checked") is None:
                    continue
                pairs.append((name, element.get("value", "on")))
            else:
                pairs.append((name, element.get("value", "")))
    return pairs


def _option_value(option):
    value = option.get("value")
    return value if value is not None else " ".join((option.text or "").split())


def confirm_import_data(page):
    """What the import preview's "Confirm import" button posts."""
    return form_data(page, action="/process_import/", submit=None)


def change_form_data(user, obj):
    """What the admin change page of ``obj`` posts for ``user`` when saved as it is."""
    model_admin = admin.site._registry[type(obj)]
    opts = obj._meta
    request = RequestFactory().get(
        reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=(obj.pk,))
    )
    request.user = user
    page = model_admin.change_view(request, str(obj.pk))
    assert page.status_code == 200, page.status_code
    return form_data(page)


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


def add_inline_row(data, prefix, **values):
    """
    ``data`` after pressing an inline's "Add another" and typing ``values``:
    the admin's script copies the empty-form template (``__prefix__``) to the
    next index, and the management form counts one more row.
    """
    total = f"{prefix}-TOTAL_FORMS"
    index = int(data[total])
    template = f"{prefix}-__prefix__-"
    row = {
        f"{prefix}-{index}-{key[len(template) :]}": value
        for key, value in data.items()
        if key.startswith(template)
    }
    for name, value in values.items():
        row[f"{prefix}-{index}-{name}"] = value
    return {**data, **row, total: str(index + 1)}
