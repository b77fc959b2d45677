"""
What changed in an activity's record since its last completed review, read
from the history: its fields and links, compared between the history row at
the review and the latest one, with the edits that made each change; and its
lawful bases, transfers and retention rules created, changed or deleted since.

Every query covers all the activities asked for at once.
"""

import dataclasses
import datetime
from collections import defaultdict
from dataclasses import dataclass, is_dataclass, replace
from itertools import pairwise

from django.db.models import Min, Model, OuterRef, Q, Subquery
from django.utils import timezone

from ropa.models import (
    InternationalTransfer,
    LawfulBasis,
    ProcessingActivity,
    RetentionRule,
    Review,
)
from ropa.review.schedule import last_completed

NEVER_REVIEWED = "never reviewed"
HISTORY_STARTS_LATER = "history starts after the last review"

# A history row's type, as the report names it.
CHANGE_ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}

# The rows of an activity whose changes the report lists one by one.
CHILD_MODELS = (LawfulBasis, InternationalTransfer, RetentionRule)


@dataclass(frozen=True)
class Ref:
    """
    A related row named in a change. The report fills in the names of all its
    references at once; a row deleted since is named by its key.
    """

    model: type[Model]
    pk: object
    name: str = ""

    def __str__(self):
        return self.name


# A field's value in a change: a label, a date, or a related row.
Value = str | datetime.date | Ref


@dataclass(frozen=True)
class Edit:
    """One save in the history: who made it, when (to the second), and why."""

    by: str | None
    at: datetime.datetime
    reason: str


@dataclass(frozen=True)
class ValueChange:
    """A field's value before and after."""

    field: str
    label: str
    old: Value
    new: Value


@dataclass(frozen=True)
class FieldChange(ValueChange):
    """A field of the activity's record, with the edits that changed it."""

    edits: tuple[Edit, ...]


@dataclass(frozen=True)
class LinkChange:
    """Rows linked to the activity (many-to-many) since, or no longer linked."""

    field: str
    label: str
    added: tuple[Ref, ...]
    removed: tuple[Ref, ...]
    edits: tuple[Edit, ...]


@dataclass(frozen=True)
class RowEvent:
    """A lawful basis, transfer or retention rule created, changed or deleted."""

    model: str
    row: str | Ref
    action: str
    changes: tuple[ValueChange, ...]
    by: str | None
    at: datetime.datetime
    reason: str

    @property
    def edit(self) -> Edit:
        return Edit(by=self.by, at=self.at, reason=self.reason)


@dataclass(frozen=True)
class ActivityChanges:
    """What changed in one activity's record since its last completed review."""

    reference: str
    activity: str
    last_reviewed_on: datetime.date | None
    # The moment the changes count from: the sign-off of that review.
    since: datetime.datetime | None
    note: str
    fields: tuple[FieldChange, ...] = ()
    links: tuple[LinkChange, ...] = ()
    rows: tuple[RowEvent, ...] = ()


def change_report(*, activity_ids, on: datetime.date) -> list[ActivityChanges]:
    """
    For each activity, by reference, what changed in its record since its last
    completed review (as of the end of ``on``). A fixed number of queries for
    any number of activities.
    """
    activities = list(
        ProcessingActivity.objects.filter(pk__in=set(activity_ids))
        .annotate(
            last_review_id=last_completed("pk", on),
            last_reviewed_on=last_completed("completed_on", on),
        )
        .only("pk", "reference", "name")
        .order_by("reference")
    )
    cutoffs = _review_cutoffs(activities)
    until = _start_of_day(on + datetime.timedelta(days=1))
    entries = {
        activity.pk: ActivityChanges(
            reference=activity.reference,
            activity=activity.name,
            last_reviewed_on=activity.last_reviewed_on,
            since=cutoffs.get(activity.pk),
            note="" if activity.pk in cutoffs else NEVER_REVIEWED,
        )
        for activity in activities
    }
    if cutoffs:
        since = min(cutoffs.values())
        _record_changes(entries, cutoffs, since=since, until=until)
        _child_changes(entries, cutoffs, since=since, until=until)
    return _named([entries[activity.pk] for activity in activities])


def _start_of_day(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _review_cutoffs(activities):
    """
    When each activity's last completed review was signed off.

    The moment of the sign-off from the review's history, but no later than
    the end of its completion day (a review entered afterwards, backdated).
    """
    review_ids = [a.last_review_id for a in activities if a.last_review_id]
    signed = dict(
        Review.history.model.objects.filter(
            id__in=review_ids, completed_on__isnull=False
        )
        .values("id")
        .annotate(at=Min("history_date"))
        .values_list("id", "at")
    )
    cutoffs = {}
    for activity in activities:
        if not activity.last_review_id:
            continue
        end_of_day = _start_of_day(
            activity.last_reviewed_on + datetime.timedelta(days=1)
        )
        at = signed.get(activity.last_review_id)
        cutoffs[activity.pk] = min(at, end_of_day) if at else end_of_day
    return cutoffs


def _history_window(history_model, condition, *, since, until):
    """
    History rows matching ``condition``: per object, the latest row at or
    before ``since`` and every row after it, up to ``until``; in two queries.
    """
    rows = history_model.objects.filter(condition, history_date__lt=until)
    latest_before = (
        history_model.objects.filter(id=OuterRef("id"), history_date__lte=since)
        .order_by("-history_date", "-history_id")
        .values("history_id")[:1]
    )
    before = rows.filter(
        history_date__lte=since, history_id=Subquery(latest_before)
    ).select_related("history_user")
    after = rows.filter(history_date__gt=since).select_related("history_user")
    return sorted([*before, *after], key=lambda row: (row.history_date, row.history_id))


# The rows one edit writes (a record and its links) follow each other within
# milliseconds, but may fall either side of a second's turn.
ONE_EDIT = datetime.timedelta(seconds=1)


def _edit(row):
    user = row.history_user
    return Edit(
        by=user.get_username() if user else None,
        at=row.history_date.replace(microsecond=0),
        reason=row.history_change_reason or "",
    )


def _edits(rows):
    """
    The edits of ``rows``, in order; one save writes several rows for a link
    change: rows by the same user for the same reason within ``ONE_EDIT`` of
    the previous one are one edit, shown at its first row's second.
    """
    edits = []
    last_at = None
    for row in rows:
        edit = _edit(row)
        if (
            not edits
            or (edits[-1].by, edits[-1].reason) != (edit.by, edit.reason)
            or row.history_date - last_at > ONE_EDIT
        ):
            edits.append(edit)
        last_at = row.history_date
    return tuple(edits)


def _value(model, name, value) -> Value:
    """A field's value for the report: a label, a date, or a ``Ref``."""
    field = model._meta.get_field(name)
    if value is None or value == "":
        return ""
    if field.is_relation:
        return Ref(field.related_model, value)
    if hasattr(value, "code"):  # a country
        return value.name or value.code
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime.date):
        return value
    return str(value)


def _verbose(model, name):
    return str(model._meta.get_field(name).verbose_name)


def _value_changes(model, new, old, excluded=()):
    delta = new.diff_against(old, excluded_fields=excluded)
    return [
        ValueChange(
            field=change.field,
            label=_verbose(model, change.field),
            old=_value(model, change.field, change.old),
            new=_value(model, change.field, change.new),
        )
        for change in delta.changes
    ]


def _m2m_links(history_model, rows):
    """``{history_id: {field: frozenset(pks)}}`` for the activity's links."""
    links = defaultdict(dict)
    history_ids = [row.history_id for row in rows]
    for field in history_model._history_m2m_fields:
        through = getattr(history_model, field.name).model
        target = field.m2m_reverse_field_name()
        found = defaultdict(set)
        pairs = through.objects.filter(history_id__in=history_ids).values_list(
            "history_id", f"{target}_id"
        )
        for history_id, pk in pairs:
            found[history_id].add(pk)
        for history_id in history_ids:
            links[history_id][field.name] = frozenset(found[history_id])
    return links


def _record_changes(entries, cutoffs, *, since, until):
    """Add to ``entries`` the changes of the activities' own fields and links."""
    model = ProcessingActivity
    history_model = model.history.model
    rows = _history_window(
        history_model, Q(id__in=list(cutoffs)), since=since, until=until
    )
    links = _m2m_links(history_model, rows)
    tracked = {field.name for field in history_model._history_m2m_fields}
    m2m_names = [f.name for f in model._meta.many_to_many if f.name in tracked]
    by_activity = defaultdict(list)
    for row in rows:
        by_activity[row.id].append(row)
    for pk, history in by_activity.items():
        cutoff = cutoffs[pk]
        note = entries[pk].note
        before = [row for row in history if row.history_date <= cutoff]
        later = [row for row in history if row.history_date > cutoff]
        if before:
            baseline = before[-1]
        else:
            # The record's history starts after the review (entered later).
            baseline, later = later[0], later[1:]
            note = HISTORY_STARTS_LATER
        if not later:
            entries[pk] = replace(entries[pk], note=note)
            continue
        touched = [
            (
                row,
                set(
                    row.diff_against(previous, excluded_fields=m2m_names).changed_fields
                ),
                {
                    name
                    for name in m2m_names
                    if links[row.history_id][name] != links[previous.history_id][name]
                },
            )
            for previous, row in pairwise([baseline, *later])
        ]
        current = later[-1]
        field_changes = tuple(
            FieldChange(
                field=change.field,
                label=change.label,
                old=change.old,
                new=change.new,
                edits=_edits(
                    row for row, changed, _ in touched if change.field in changed
                ),
            )
            for change in _value_changes(model, current, baseline, excluded=m2m_names)
        )
        link_changes = []
        for name in m2m_names:
            old = links[baseline.history_id][name]
            new = links[current.history_id][name]
            if old == new:
                continue
            target = model._meta.get_field(name).related_model
            link_changes.append(
                LinkChange(
                    field=name,
                    label=_verbose(model, name),
                    added=tuple(Ref(target, pk) for pk in sorted(new - old)),
                    removed=tuple(Ref(target, pk) for pk in sorted(old - new)),
                    edits=_edits(row for row, _, m2m in touched if name in m2m),
                )
            )
        entries[pk] = replace(
            entries[pk], note=note, fields=field_changes, links=tuple(link_changes)
        )


def _child_label(model, row):
    if model is LawfulBasis:
        return row.get_basis_display()
    if model is InternationalTransfer:
        return (
            row.country.name if row.country else row.international_organisation
        ) or "transfer"
    if row.personal_data_category_id is None:
        return "all data"
    category = model._meta.get_field("personal_data_category").related_model
    return Ref(category, row.personal_data_category_id)


def _child_events(model, rows, cutoff):
    """
    Created, changed and deleted rows of one child object after ``cutoff``,
    as ``(history_date, event)`` pairs.
    """
    events = []
    for previous, row in pairwise([None, *rows]):
        if row.history_date <= cutoff:
            continue
        action = CHANGE_ACTIONS[row.history_type]
        changes = []
        if action == "changed" and previous is not None:
            changes = _value_changes(model, row, previous, excluded=("activity",))
            if not changes:
                continue
        edit = _edit(row)
        event = RowEvent(
            model=str(model._meta.verbose_name),
            row=_child_label(model, row),
            action=action,
            changes=tuple(changes),
            by=edit.by,
            at=edit.at,
            reason=edit.reason,
        )
        events.append((row.history_date, event))
    return events


def _child_changes(entries, cutoffs, *, since, until):
    """Add to ``entries`` the lawful bases, transfers and retention rules changed."""
    events = defaultdict(list)
    for model in CHILD_MODELS:
        rows = _history_window(
            model.history.model,
            Q(activity_id__in=list(cutoffs)),
            since=since,
            until=until,
        )
        by_object = defaultdict(list)
        for row in rows:
            by_object[row.id].append(row)
        for history in by_object.values():
            activity_id = history[-1].activity_id
            if activity_id in cutoffs:
                events[activity_id].extend(
                    _child_events(model, history, cutoffs[activity_id])
                )
    for activity_id, found in events.items():
        found.sort(key=lambda pair: pair[0])
        entries[activity_id] = replace(
            entries[activity_id], rows=tuple(event for _, event in found)
        )


def _label(obj):
    if hasattr(obj, "get_username"):
        return obj.get_username()
    reference = getattr(obj, "reference", "")
    name = getattr(obj, "name", "")
    return " ".join(part for part in (reference, name) if part) or str(obj)


def _refs(value):
    """Every ``Ref`` in ``value``, through dataclasses and tuples."""
    if isinstance(value, Ref):
        yield value
    elif is_dataclass(value):
        for field in dataclasses.fields(value):
            yield from _refs(getattr(value, field.name))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _refs(item)


def _named(entries: list[ActivityChanges]) -> list[ActivityChanges]:
    """``entries`` with every ``Ref`` named: one query per model."""
    wanted = defaultdict(set)
    for ref in _refs(entries):
        wanted[ref.model].add(ref.pk)
    names = {}
    for model, pks in wanted.items():
        # The name's own fields only: a label never costs a query per row.
        own = [f.name for f in model._meta.concrete_fields if not f.is_relation]
        for pk, obj in model._base_manager.only(*own).in_bulk(pks).items():
            names[model, pk] = _label(obj)

    def named(value):
        if isinstance(value, Ref):
            key = (value.model, value.pk)
            return replace(value, name=names.get(key, f"#{value.pk} (deleted)"))
        if is_dataclass(value):
            parts = dataclasses.fields(value)
            return replace(
                value, **{f.name: named(getattr(value, f.name)) for f in parts}
            )
        if isinstance(value, tuple):
            return tuple(named(item) for item in value)
        return value

    return [named(entry) for entry in entries]
