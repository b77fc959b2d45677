"""
Where the register's data goes, on the dashboard: the flow picture of the
whole register in force and the map of its third-country transfers
(``ropa.charts``), filtered by controller and business function.

The flows are read for the dashboard alone, narrowly: the active activities
that the filter and the viewer's business functions keep, and only the
fields, links and transfers that a flow holds, each table in one query
filtered in the database; of the organisations, data subject categories and
recipients, the names (and the recipients' countries). They are shaped as
the exports' snapshot data (``ropa.exchange.snapshot``), which
``flow_from_snapshot`` turns into flows.

Both pictures are kept in Django's cache under the register's state: for
each table a flow reads, how many history rows it has and the last one's id.
Every change writes history, so any change, committed in any order, gives a
new state and the pictures are drawn again; an unchanged register is drawn
once per day (the EEA and adequacy data are read on the day).
"""

import hashlib
from collections import defaultdict
from dataclasses import dataclass

from django import forms
from django.core.cache import cache
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.safestring import mark_safe

from controllers.models import Organisation
from ropa.charts.flows import flow_from_snapshot, flow_svg, transfer_map_svg
from ropa.exchange.snapshot import Catalogue
from ropa.models import InternationalTransfer, ProcessingActivity, Recipient
from subjects.models import DataSubjectCategory

ACTIVITY_FIELDS = ("id", "reference", "name", "purpose", "business_function", "status")
LINKS = ("organisations", "data_subject_categories", "recipients")
TRANSFER_FIELDS = (
    "activity_id",
    "country",
    "international_organisation",
    "mechanism",
    "adequacy_scope",
    "safeguards_documentation",
    "recipient_id",
)
# The tables whose rows a flow reads: any change to them writes history.
TRACKED = (
    ProcessingActivity,
    InternationalTransfer,
    Recipient,
    Organisation,
    DataSubjectCategory,
)
# A day: the key changes with the date anyway.
CACHE_SECONDS = 24 * 60 * 60

UNKNOWN_CONTROLLER = '"{value}" is no organisation of the register: all are shown.'
UNKNOWN_FUNCTION = '"{value}" is no business function you can see: all are shown.'
NOTICES = {"controller": UNKNOWN_CONTROLLER, "business_function": UNKNOWN_FUNCTION}


class FlowFilter(forms.Form):
    """The dashboard's filter of its pictures; read from the query string."""

    controller = forms.ModelChoiceField(
        queryset=Organisation.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="All controllers",
    )
    business_function = forms.ChoiceField(required=False)

    def __init__(self, *args, functions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["business_function"].choices = [
            ("", "All business functions"),
            *((name, name) for name in functions),
        ]


@dataclass(frozen=True)
class Pictures:
    form: FlowFilter
    notices: tuple
    flow: str
    map: str
    activities: int


def _scoped(functions):
    activities = ProcessingActivity.objects.active()
    if functions is not None:
        activities = activities.filter(business_function__in=functions)
    return activities


def read_filter(params, functions):
    """
    The filter read from the query string ``params``, and what it could not
    use, in words: a value that names nothing is ignored, never an error.
    """
    choices = sorted(
        _scoped(functions)
        .order_by()
        .values_list("business_function", flat=True)
        .distinct()
    )
    form = FlowFilter(params, functions=choices)
    form.is_valid()
    # A field's value is kept when valid, whatever the other's.
    notices = tuple(
        message.format(value=params.get(name, "")[:100])
        for name, message in NOTICES.items()
        if name in form.errors
    )
    return (
        form,
        notices,
        form.cleaned_data.get("controller"),
        form.cleaned_data.get("business_function", ""),
    )


def _links(name, keys):
    field = ProcessingActivity._meta.get_field(name)
    source = f"{field.m2m_field_name()}_id"
    target = f"{field.m2m_reverse_field_name()}_id"
    grouped = defaultdict(list)
    rows = field.remote_field.through.objects.filter(**{f"{source}__in": keys})
    for activity_id, target_id in rows.values_list(source, target):
        grouped[activity_id].append(target_id)
    return grouped


def read_flows(activities, on):
    """
    The flows of ``activities`` (a queryset), in reference order: eight
    queries whatever their number (the activities, their three links, their
    transfers, and the names of the organisations, data subject categories
    and recipients).
    """
    rows = list(activities.order_by("reference").values(*ACTIVITY_FIELDS))
    keys = activities.values("pk")
    links = {name: _links(name, keys) for name in LINKS}
    transfers = defaultdict(list)
    for row in InternationalTransfer.objects.filter(activity__in=keys).values(
        *TRANSFER_FIELDS
    ):
        transfers[row["activity_id"]].append(row)
    catalogue = Catalogue(
        organisations={
            row["id"]: row
            for row in Organisation.objects.order_by().values("id", "name")
        },
        officers={},
        agreements={},
        arrangements={},
        names={
            DataSubjectCategory: dict(
                DataSubjectCategory.objects.order_by().values_list("id", "name")
            )
        },
        usernames={},
        details={
            Recipient: {
                row["id"]: row
                for row in Recipient.objects.order_by().values("id", "name", "country")
            }
        },
    )
    for row in rows:
        for name, grouped in links.items():
            row[name] = grouped.get(row["id"], [])
        row["transfers"] = transfers.get(row["id"], [])
    return [flow_from_snapshot(row, catalogue, on=on) for row in rows]


def register_state():
    """For each table a flow reads: its history rows and the last one's id."""
    return tuple(
        tuple(
            model.history.aggregate(rows=Count("pk"), last=Max("history_id")).values()
        )
        for model in TRACKED
    )


def pictures(params, functions=None):
    """
    The filter read from ``params`` and the two pictures of the active
    activities it keeps, of ``functions`` (a contributor's) if not None.
    """
    form, notices, controller, function = read_filter(params, functions)
    activities = _scoped(functions)
    if controller is not None:
        activities = activities.filter(organisations=controller)
    if function:
        activities = activities.filter(business_function=function)
    on = timezone.localdate()
    drawn_for = repr(
        (
            controller.pk if controller else None,
            function,
            None if functions is None else sorted(functions),
            on.isoformat(),
            register_state(),
        )
    )
    key = "ropa-dashboard-flows:" + hashlib.sha256(drawn_for.encode()).hexdigest()
    drawn = cache.get(key)
    if drawn is None:
        flows = read_flows(activities, on)
        scope = _scope_words(controller, function, functions)
        drawn = (
            flow_svg(
                flows,
                title=f"Where the data goes: {scope}",
                id_prefix="register-flow",
            ),
            transfer_map_svg(
                flows,
                title=f"Transfers outside the EEA: {scope}",
                id_prefix="register-map",
                on=on,
            ),
            len(flows),
        )
        cache.set(key, drawn, CACHE_SECONDS)
    flow, transfer_map, count = drawn
    return Pictures(
        form=form,
        notices=notices,
        # Serialised by lxml, which escapes every text the pictures hold.
        flow=mark_safe(flow),  # noqa: S308
        map=mark_safe(transfer_map),  # noqa: S308
        activities=count,
    )


def _scope_words(controller, function, functions):
    words = "the active register"
    if controller is not None:
        words += f" of {controller.name}"
    if function:
        words += f", business function {function}"
    elif functions is not None:
        # A contributor's picture is not the register's.
        words += ", your business functions"
    return words
