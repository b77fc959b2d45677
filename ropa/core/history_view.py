"""
The history page of a register record: one entry per save, read in full.

simple-history lists one line per history row: a save that changes a
many-to-many field writes several rows for one record, the rows of the
record's inline parts (an activity's lawful bases, transfers, retention
rules) are on their own pages, long texts are cut to two identical-looking
halves, codes are shown instead of labels, and a change no user made says
"None". Here a record's rows and its parts' rows are grouped into saves
(``group_saves``); each entry shows the fields the save changed with their
full old and new values (a word diff for long texts), labels, names and the
names added to or removed from many-to-many fields, then what it did to each
part, and "system" where no user is recorded.

The page's queries do not grow with its entries: the grouping reads a few
columns of every row, then the rows an entry compares are read by id, one
query per model, their many-to-many rows one query per field, and the names
they refer to one query per related model.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.admin.utils import quote, unquote
from django.contrib.admin.views.main import PAGE_VAR
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import models
from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.utils import formats
from django.utils.text import capfirst
from simple_history.utils import get_m2m_reverse_field_name

from ropa.core.admin_forms import holds
from ropa.core.text_diff import diff_html

TEMPLATE = "simple_history/register_history.html"
#: Who made a change that no user is recorded for (commands, cron, migrations).
SYSTEM = "system"
CREATED, CHANGED, DELETED = "Created", "Changed", "Deleted"
PART_ADDED, PART_CHANGED, PART_DELETED = "added", "changed", "deleted"
#: Rows of one save by the same user with the same reason are written within
#: this time of each other; rows further apart are separate changes.
SAME_SAVE_WINDOW = datetime.timedelta(minutes=2)
#: A text longer than this, or any multi-line text field, is shown as a diff.
LONG_TEXT = 80
#: Unchanged words a diff keeps around each change: all of them, so that the
#: entry holds the whole text as it became.
WHOLE_TEXT = 10**9


def register_history_view(model_admin, request, object_id, extra_context=None):
    """The history page of ``object_id`` for ``model_admin`` (a RegisterAdmin)."""
    request.current_app = model_admin.admin_site.name
    opts = model_admin.model._meta
    record = RecordHistory(model_admin.model, parts_of(model_admin))
    obj = _object_or_last_state(model_admin, request, record, unquote(object_id))
    if not model_admin.has_view_history_or_change_history_permission(request, obj):
        raise PermissionDenied

    keys = record.keys(obj.pk)
    saves = group_saves(keys)
    saves.reverse()
    paginator = Paginator(saves, model_admin.history_list_per_page)
    page_obj = paginator.get_page(request.GET.get(PAGE_VAR))
    entries = record.entries(
        page_obj.object_list,
        keys,
        record=obj,
        link_users=request.user.has_perm(_view_permission(get_user_model())),
        admin_site=model_admin.admin_site.name,
    )
    context = {
        **model_admin.admin_site.each_context(request),
        "title": model_admin.history_view_title(request, obj),
        "module_name": capfirst(opts.verbose_name_plural),
        "object": obj,
        "opts": opts,
        "app_label": opts.app_label,
        "entries": entries,
        "page_obj": page_obj,
        "page_range": paginator.get_elided_page_range(page_obj.number),
        "page_var": PAGE_VAR,
        "pagination_required": paginator.num_pages > 1,
        **(extra_context or {}),
    }
    return model_admin.render_history_view(request, TEMPLATE, context)


def _object_or_last_state(model_admin, request, record, object_id):
    obj = model_admin.get_object(request, object_id)
    if obj is not None:
        return obj
    # A deleted record's history stays readable, as in simple-history.
    if not holds(record.opts.pk, object_id):
        raise Http404
    last = (
        record.history.objects.filter(**{record.opts.pk.attname: object_id})
        .order_by("-history_date", "-history_id")
        .first()
    )
    if last is None:
        raise Http404
    return last.instance


def _view_permission(model):
    return f"{model._meta.app_label}.view_{model._meta.model_name}"


def _history_model(model):
    return getattr(model, model._meta.simple_history_manager_attribute).model


def is_tracked(model):
    return hasattr(model._meta, "simple_history_manager_attribute")


@dataclass(frozen=True)
class Part:
    """A model whose rows belong to the record, as an admin inline shows them."""

    model: type
    parent_field: models.ForeignKey

    @property
    def opts(self):
        return self.model._meta


def parts_of(model_admin):
    """The tracked models the admin's inlines edit, each with its key to the record."""
    parts = []
    for inline in model_admin.inlines:
        keys = [
            f
            for f in inline.model._meta.concrete_fields
            if f.many_to_one
            and f.related_model is model_admin.model
            and inline.fk_name in (None, f.name)
        ]
        if is_tracked(inline.model) and len(keys) == 1:
            parts.append(Part(inline.model, keys[0]))
    return parts


@dataclass(frozen=True)
class Key:
    """What the grouping reads of one history row."""

    model: type
    history_id: int
    object_id: object
    date: datetime.datetime
    type: str
    user_id: object
    reason: str
    version: object
    is_record: bool

    @property
    def order(self):
        # The record's own row first: a save writes it before its parts'.
        return (self.date, not self.is_record, self.history_id)


@dataclass
class Save:
    """The history rows one save (or one command's change) wrote."""

    keys: list = field(default_factory=list)

    def admits(self, key):
        """Whether ``key`` was written by the same save as the rows so far."""
        last = self.keys[-1]
        if (key.user_id, key.reason) != (last.user_id, last.reason):
            return False
        if key.date - last.date > SAME_SAVE_WINDOW:
            return False
        # Every save of a versioned record bumps its version, and the rows a
        # save writes for its many-to-many fields carry the same version: a
        # record row of another version is another save, however close.
        versions = {k.version for k in self.keys if k.is_record}
        return not (key.is_record and versions and key.version not in versions)

    @property
    def record_keys(self):
        return [key for key in self.keys if key.is_record]


def group_saves(keys):
    """``keys`` (rows of a record and of its parts) grouped into saves, oldest first."""
    saves = []
    for key in sorted(keys, key=lambda key: key.order):
        if saves and saves[-1].admits(key):
            saves[-1].keys.append(key)
        else:
            saves.append(Save([key]))
    return saves


@dataclass
class Change:
    """One field's change, for display: full values, a diff, or names."""

    label: str
    old: str = ""
    new: str = ""
    diff: str = ""
    added: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    #: A value given where the record (or row) was created: nothing before it.
    initial: bool = False


@dataclass
class PartChange:
    action: str
    kind: str
    title: str
    changes: list


@dataclass
class Entry:
    date: datetime.datetime
    user: str
    user_url: str
    is_system: bool
    reason: str
    action: str
    changes: list
    parts: list
    version_url: str

    @property
    def saved_unchanged(self):
        """A save of the record that changed none of its fields."""
        return bool(self.version_url) and self.action == CHANGED and not self.changes


class RecordHistory:
    """The history of records of ``model``, with the rows of its ``parts``."""

    def __init__(self, model, parts):
        self.model = model
        self.opts = model._meta
        self.history = _history_model(model)
        self.parts = parts
        self._versioned = self._has_field(model, "version")

    @staticmethod
    def _has_field(model, name):
        return any(f.name == name for f in model._meta.concrete_fields)

    # -- grouping ---------------------------------------------------------------

    def keys(self, pk):
        """What the grouping reads of every history row of ``pk`` and its parts."""
        columns = ("history_id", "history_date", "history_type")
        columns += ("history_user_id", "history_change_reason")
        pk_name = self.opts.pk.attname
        rows = self.history.objects.filter(**{pk_name: pk})
        if self._versioned:
            rows = rows.values_list(*columns, pk_name, "version")
        else:
            rows = ((*row, None) for row in rows.values_list(*columns, pk_name))
        keys = [
            Key(self.model, h, oid, d, t, u, r or "", version, True)
            for h, d, t, u, r, oid, version in rows
        ]
        for part in self.parts:
            part_rows = (
                _history_model(part.model)
                .objects.filter(**{part.parent_field.attname: pk})
                .values_list(*columns, part.opts.pk.attname)
            )
            keys += [
                Key(part.model, h, oid, d, t, u, r or "", None, False)
                for h, d, t, u, r, oid in part_rows
            ]
        return keys

    # -- the entries of a page ----------------------------------------------------

    def entries(self, saves, keys, *, record, link_users, admin_site):
        """
        The page's ``saves`` as entries, in a number of queries that does not
        grow with them; ``keys`` are all the rows the saves were grouped from,
        ``record`` the record (or its last state, when deleted).
        """
        timelines = defaultdict(list)
        for key in sorted(keys, key=lambda key: key.order):
            timelines[key.model, key.object_id].append(key)
        plans = [_SavePlan(save, timelines) for save in saves]
        wanted = defaultdict(set)
        for plan in plans:
            for before, after in plan.pairs():
                for key in (before, after):
                    if key is not None:
                        wanted[key.model].add(key.history_id)
        rows = {
            model: _history_model(model).objects.in_bulk(ids)
            for model, ids in wanted.items()
        }
        m2m = {model: self._m2m_values(model, ids) for model, ids in wanted.items()}
        names = Names()
        # A part's key to the record names the record itself: not shown.
        parents = {part.model: {part.parent_field.name} for part in self.parts}
        for model, by_id in rows.items():
            for row in by_id.values():
                m2m_values = m2m[model].get(row.history_id, {})
                names.want_row(model, row, m2m_values, skip=parents.get(model, ()))
        for plan in plans:
            for key in plan.save.keys:
                if key.user_id is not None:
                    names.want(get_user_model(), key.user_id)
        names.load()
        describe = _Describer(rows, m2m, names, record=record)
        return [
            self._entry(plan, describe, names, link_users, admin_site) for plan in plans
        ]

    def _m2m_values(self, model, history_ids):
        """For each history row, the ids each many-to-many field held."""
        values = defaultdict(lambda: defaultdict(set))
        for m2m_field in m2m_fields(model):
            through = getattr(_history_model(model), m2m_field.name).model
            target = _target_attname(m2m_field)
            for history_id, target_id in through.objects.filter(
                history_id__in=history_ids
            ).values_list("history_id", target):
                values[history_id][m2m_field.name].add(target_id)
        return values

    def _entry(self, plan, describe, names, link_users, admin_site):
        save = plan.save
        first = save.keys[0]
        record_keys = save.record_keys
        types = {key.type for key in record_keys}
        action = CREATED if "+" in types else DELETED if "-" in types else CHANGED
        changes = []
        version_url = ""
        if record_keys:
            before, after = plan.record_pair()
            if action != DELETED:
                # A deleted record's links go with it: not changes to list.
                changes = describe.changes(self.model, before, after)
            opts = self.opts
            version_url = reverse(
                f"{admin_site}:{opts.app_label}_{opts.model_name}_simple_history",
                args=(quote(after.object_id), after.history_id),
            )
        parts = []
        for part in self.parts:
            for before, after in plan.part_pairs(part.model):
                described = describe.part(part, before, after)
                if described is not None:
                    parts.append(described)
        user, user_url = SYSTEM, ""
        if first.user_id is not None:
            account = names.object(get_user_model(), first.user_id)
            user = (
                account.get_username()
                if account is not None
                else names.name(get_user_model(), first.user_id)
            )
            if link_users and account is not None:
                user_url = _admin_url(admin_site, account)
        return Entry(
            date=first.date,
            user=user,
            user_url=user_url,
            is_system=first.user_id is None,
            reason=first.reason,
            action=action,
            changes=changes,
            parts=parts,
            version_url=version_url,
        )


def _admin_url(admin_site, obj):
    opts = obj._meta
    try:
        return reverse(
            f"{admin_site}:{opts.app_label}_{opts.model_name}_change",
            args=(quote(obj.pk),),
        )
    except NoReverseMatch:
        return ""


def m2m_fields(model):
    """The many-to-many fields of ``model`` that its history records."""
    tracked = {f.name for f in _history_model(model)._history_m2m_fields}
    return [f for f in model._meta.many_to_many if f.name in tracked]


def _target_attname(m2m_field):
    return f"{get_m2m_reverse_field_name(m2m_field)}_id"


class _SavePlan:
    """Which history rows each change of a save is read from and compared with."""

    def __init__(self, save, timelines):
        self.save = save
        self.timelines = timelines
        self._objects = list(dict.fromkeys((k.model, k.object_id) for k in save.keys))

    def _pair(self, model, object_id):
        in_save = [
            k for k in self.save.keys if (k.model, k.object_id) == (model, object_id)
        ]
        timeline = self.timelines[model, object_id]
        index = timeline.index(in_save[0])
        before = timeline[index - 1] if index and in_save[0].type != "+" else None
        return before, in_save[-1]

    def record_pair(self):
        (record,) = {(k.model, k.object_id) for k in self.save.record_keys}
        return self._pair(*record)

    def part_pairs(self, model):
        return [
            self._pair(m, object_id) for m, object_id in self._objects if m is model
        ]

    def pairs(self):
        return [self._pair(*obj) for obj in self._objects]


class Names:
    """The objects history rows refer to, read once per related model."""

    def __init__(self):
        self._wanted = defaultdict(set)
        self._objects = {}
        self._deleted = {}

    def want(self, model, pk):
        if pk is not None:
            self._wanted[model].add(pk)

    def want_row(self, model, row, m2m_values, *, skip=()):
        for model_field in tracked_fields(model):
            if model_field.name in skip:
                continue
            if model_field.many_to_one or model_field.one_to_one:
                self.want(model_field.related_model, getattr(row, model_field.attname))
        for m2m_field in m2m_fields(model):
            for pk in m2m_values.get(m2m_field.name, ()):
                self.want(m2m_field.related_model, pk)

    def load(self):
        for model, pks in self._wanted.items():
            # Names may read their own foreign keys (an agreement names its
            # parties): one join instead of a query per name.
            related = [f.name for f in model._meta.concrete_fields if f.many_to_one]
            found = model._default_manager.select_related(*related).in_bulk(pks)
            self._objects.update({(model, pk): obj for pk, obj in found.items()})
            missing = pks - found.keys()
            if missing and is_tracked(model):
                # Deleted since: named as they last stood.
                pk_name = model._meta.pk.attname
                for row in (
                    _history_model(model)
                    .objects.filter(**{f"{pk_name}__in": missing})
                    .order_by("history_date", "history_id")
                ):
                    self._deleted[model, getattr(row, pk_name)] = row.instance
        self._wanted.clear()

    def object(self, model, pk):
        return self._objects.get((model, pk)) or self._deleted.get((model, pk))

    def name(self, model, pk):
        if (model, pk) in self._objects:
            return str(self._objects[model, pk])
        if (model, pk) in self._deleted:
            return f"{self._deleted[model, pk]} (deleted)"
        return f"{capfirst(model._meta.verbose_name)} {pk} (deleted)"


def tracked_fields(model):
    """The fields a person edits, as the model declares them (no keys, no stamps)."""
    return [
        f
        for f in _history_model(model).tracked_fields
        if f.editable and not f.primary_key
    ]


class _Describer:
    """Turns pairs of history rows into the changes a person reads."""

    def __init__(self, rows, m2m, names, *, record):
        self.rows = rows
        self.m2m = m2m
        self.names = names
        self.record = record

    def _row(self, key):
        return None if key is None else self.rows[key.model][key.history_id]

    def changes(self, model, before_key, after_key, *, skip=()):
        """What changed in ``model``'s fields from ``before_key`` to ``after_key``."""
        before, after = self._row(before_key), self._row(after_key)
        before_m2m = (
            {} if before is None else self.m2m[model].get(before.history_id, {})
        )
        after_m2m = self.m2m[model].get(after.history_id, {})
        ordered = sorted(
            [*tracked_fields(model), *m2m_fields(model)],
            key=lambda f: f.creation_counter,
        )
        changes = []
        for model_field in ordered:
            if model_field.name in skip:
                continue
            if model_field.many_to_many:
                change = self._m2m_change(
                    model_field,
                    before_m2m.get(model_field.name, set()),
                    after_m2m.get(model_field.name, set()),
                )
            else:
                change = self._field_change(model_field, before, after)
            if change is not None:
                changes.append(change)
        return changes

    def _field_change(self, model_field, before, after):
        new = getattr(after, model_field.attname)
        if before is None:
            if _unset(model_field, new):
                return None
            label = capfirst(model_field.verbose_name)
            return Change(label, new=self.show(model_field, new), initial=True)
        old = getattr(before, model_field.attname)
        if old == new:
            return None
        label = capfirst(model_field.verbose_name)
        old_text, new_text = self.show(model_field, old), self.show(model_field, new)
        if _is_long(model_field, old_text, new_text):
            diff = diff_html(old_text, new_text, context=WHOLE_TEXT)
            return Change(label, diff=diff)
        return Change(label, old=old_text, new=new_text)

    def _m2m_change(self, m2m_field, old, new):
        if old == new:
            return None
        model = m2m_field.related_model
        return Change(
            capfirst(m2m_field.verbose_name),
            added=sorted(self.names.name(model, pk) for pk in new - old),
            removed=sorted(self.names.name(model, pk) for pk in old - new),
        )

    def show(self, model_field, value):
        """``value`` of ``model_field`` as the admin shows it: labels and names."""
        if value is None or value == "":
            if isinstance(model_field, models.BooleanField):
                return "Unknown"
            return ""
        if model_field.many_to_one or model_field.one_to_one:
            return self.names.name(model_field.related_model, value)
        if model_field.choices:
            return str(_choice_labels(model_field).get(value, value))
        if isinstance(model_field, models.BooleanField):
            return "Yes" if value else "No"
        if isinstance(model_field, (models.DateField, models.TimeField)):
            return formats.localize(value)
        return str(value)

    def part(self, part, before_key, after_key):
        """What the save did to one row of a part, or None when nothing."""
        kind = capfirst(part.opts.verbose_name)
        after = self._row(after_key)
        title = self._title(part.model, after)
        if after_key.type == "-":
            return PartChange(PART_DELETED, kind, title, [])
        skip = (part.parent_field.name,)
        if before_key is None or before_key.type == "-":
            changes = self.changes(part.model, None, after_key, skip=skip)
            return PartChange(PART_ADDED, kind, title, changes)
        changes = self.changes(part.model, before_key, after_key, skip=skip)
        if not changes:
            return None
        return PartChange(PART_CHANGED, kind, title, changes)

    def _title(self, model, row):
        """The row's name (its ``__str__``), from the names already read."""
        instance = row.instance
        for model_field in model._meta.concrete_fields:
            if not model_field.many_to_one:
                continue
            pk = getattr(instance, model_field.attname)
            if pk is None:
                continue
            if (
                isinstance(self.record, model_field.related_model)
                and pk == self.record.pk
            ):
                related = self.record
            else:
                related = self.names.object(model_field.related_model, pk)
            if related is None:
                pk_value = getattr(row, model._meta.pk.attname)
                return f"{capfirst(model._meta.verbose_name)} {pk_value}"
            model_field.set_cached_value(instance, related)
        return str(instance)


_LABELS = {}


def _choice_labels(model_field):
    # A country field has some 250 choices: their labels are read once.
    labels = _LABELS.get(model_field)
    if labels is None:
        labels = _LABELS[model_field] = dict(model_field.flatchoices)
    return labels


def _unset(model_field, value):
    if value is None or value == "":
        return True
    return (
        isinstance(model_field, models.BooleanField)
        and value == model_field.get_default()
    )


def _is_long(model_field, old, new):
    if not (old and new):
        return False
    return (
        isinstance(model_field, models.TextField) or max(len(old), len(new)) > LONG_TEXT
    )
