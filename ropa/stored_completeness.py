"""
Art. 30 completeness kept as data, so that the admin can list and count the
incomplete records of a large register without evaluating every rule over
every record on each request.

The rules in ``ropa.completeness`` stay the only definition of a gap: this
module stores their result per activity (``StoredCompleteness``) and knows
when a stored result may be out of date.

- Every write that can change an activity's gaps *touches* the activity in
  the same transaction: it bumps the stored row's ``generation`` (creating
  the row if needed). The receivers below do it for saves, deletions and
  link changes of everything the rules read; the bulk writers (import,
  generator) call ``touch_related`` themselves.
- A reader calls ``refresh()`` first: it recomputes, with the rules, the rows
  whose ``computed_generation`` is behind their ``generation``, or that were
  computed under other EEA or adequacy data than today's. The write is a
  compare-and-set on the generation read in the same statement as the gaps,
  so a change committed meanwhile leaves the row out of date for the next
  reader rather than hiding it. Rows a writer has locked are skipped, never
  waited for.
- Only current rows are trusted: what a reader could not bring up to date
  (a row a colleague's transaction holds, a change committed since, an
  activity with no stored row) is judged by the rules themselves, in the
  list's column (``gaps_by_pk``), in its filter (``incomplete_q``) and on the
  record's own page (``ropa.completeness.current_gaps``).
"""

from collections import defaultdict

from django.core.exceptions import EmptyResultSet
from django.db import OperationalError, connections, router, transaction
from django.db.models import F, Q
from django.db.models.signals import m2m_changed, post_delete, post_init, post_save
from django.utils import timezone

from controllers.models import JointControllerArrangement, Organisation
from ropa import completeness
from ropa.completeness import fresh_q
from ropa.geography import in_force_since
from ropa.models import (
    InternationalTransfer,
    LawfulBasis,
    ProcessingActivity,
    Recipient,
    RetentionRule,
    StoredCompleteness,
)
from subjects.models import PersonalDataCategory

# Stale rows recomputed per query: the ids are parameters, which SQLite limits.
CHUNK = 500

# The activity's own parts: their rows name it.
PARTS = (LawfulBasis, InternationalTransfer, RetentionRule)
# Shared records whose fields the rules read, and the activity's links to them.
SHARED = {
    Organisation: ("organisations", "client_controllers"),
    PersonalDataCategory: ("personal_data_categories",),
    Recipient: ("recipients",),
}
# Every link the rules read, and the arrangement's parties.
LINKS = (
    "organisations",
    "client_controllers",
    "data_subject_categories",
    "personal_data_categories",
    "recipients",
    "security_measures",
)


def _activities():
    return ProcessingActivity._base_manager


def _through(name):
    return getattr(ProcessingActivity, name).through


def _linked_to(name, target_pks):
    """The activities that link ``name`` to any of ``target_pks``."""
    field = ProcessingActivity._meta.get_field(name)
    rows = _through(name)._base_manager.filter(
        **{f"{field.m2m_reverse_field_name()}__in": target_pks}
    )
    return Q(pk__in=rows.values(field.m2m_field_name()))


def _party_or_representative_of(pks):
    """
    The activities whose arrangement has any of organisations ``pks`` as a
    party, or one of whose organisations has one of them as its representative:
    the rules read their contact details.
    """
    parties = JointControllerArrangement.parties.through._base_manager.filter(
        organisation__in=pks
    )
    represented = Organisation._base_manager.filter(representative__in=pks)
    return Q(
        joint_arrangement__in=parties.values("jointcontrollerarrangement")
    ) | _linked_to("organisations", represented.values("pk"))


def affected(model, pks):
    """The activities whose gaps may change when rows ``pks`` of ``model`` do."""
    pks = list(pks)
    if model is ProcessingActivity:
        condition = Q(pk__in=pks)
    elif model is JointControllerArrangement:
        condition = Q(joint_arrangement__in=pks)
    elif model in SHARED:
        condition = Q(pk__in=[])
        for name in SHARED[model]:
            condition |= _linked_to(name, pks)
        if model is Organisation:
            condition |= _party_or_representative_of(pks)
    elif model in PARTS:
        condition = Q(
            pk__in=model._base_manager.filter(pk__in=pks).values("activity_id")
        )
    else:
        return _activities().none()
    return _activities().filter(condition)


def touch(activities):
    """
    Mark the stored gaps of ``activities`` (a queryset of activities, or
    their ids) out of date, in the caller's transaction.
    """
    using = router.db_for_write(StoredCompleteness)
    quote = connections[using].ops.quote_name
    if hasattr(activities, "query"):
        # Each activity once, and only while it exists.
        activities = _activities().filter(pk__in=activities.values("pk"))
        try:
            select, params = (
                activities.values(touched=F("pk")).query.get_compiler(using).as_sql()
            )
        except EmptyResultSet:
            return
        _upsert(using, select, params)
        return
    # Ids, as every save signal gives them: plain SQL, no query to compile.
    ids = sorted({pk for pk in activities if pk is not None})
    meta = ProcessingActivity._meta
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        select = (
            f"SELECT {quote(meta.pk.column)} AS touched"  # noqa: S608
            f" FROM {quote(meta.db_table)}"
            f" WHERE {quote(meta.pk.column)} IN ({', '.join(['%s'] * len(chunk))})"
        )
        _upsert(using, select, chunk)


def _upsert(using, select, params):
    """Bump the generation of the activities ``select`` lists (a row each)."""
    database = connections[using]
    table = database.ops.quote_name(StoredCompleteness._meta.db_table)
    with database.cursor() as cursor:
        cursor.execute(
            # Table and column names from the model, values as parameters.
            f"INSERT INTO {table} (activity_id, generation, gaps, incomplete)"  # noqa: S608
            f" SELECT touched.touched, 1, '', %s FROM ({select}) touched"
            # SQLite needs the WHERE to tell ON CONFLICT from a join's ON.
            " WHERE 1 = 1"
            " ON CONFLICT (activity_id) DO UPDATE"
            f" SET generation = {table}.generation + 1",
            [True, *params],
        )


def touch_related(model, instances):
    """Touch the activities that rows written in bulk can change."""
    if model in PARTS:
        touch(_part_activities(instances))
    else:
        touch(affected(model, [instance.pk for instance in instances]))


def _part_activities(instances):
    """The activities a part belongs to now and belonged to when it was read."""
    ids = set()
    for instance in instances:
        ids.add(instance.activity_id)
        ids.add(getattr(instance, "_completeness_activity_id", None))
    return ids


def refresh(on=None):
    """
    Recompute the stored gaps that are out of date or missing; return how
    many rows were brought up to date. With nothing to do, two queries.
    """
    return _refresh_and_check(on)[0]


def refresh_for_reading(on=None):
    """
    ``refresh()`` for a reader: whether every stored row is current now, in
    which case ``incomplete_q(current=True)`` need not consult the rules.
    """
    return _refresh_and_check(on)[1]


def _refresh_and_check(on):
    on = on or timezone.localdate()
    since = in_force_since(on)
    missing = list(
        _activities()
        .filter(stored_completeness__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not missing and not StoredCompleteness.objects.exclude(fresh_q(on)).exists():
        return 0, True
    try:
        # A savepoint: a refresh the database refuses (SQLite busy with
        # another writer, a lock conflict) leaves the caller's transaction
        # usable, and the list falls back on the rules for what is not current.
        with transaction.atomic(using=router.db_for_write(StoredCompleteness)):
            done = _refresh(missing, on, since)
    except OperationalError:
        return 0, False
    # Rows a colleague's transaction held were skipped.
    return done, not StoredCompleteness.objects.exclude(fresh_q(on)).exists()


def _refresh(missing, on, since):
    if missing:
        # Left behind by a write that touched nothing: judged by the rules
        # until now, and computed here.
        StoredCompleteness.objects.bulk_create(
            [StoredCompleteness(activity_id=pk, generation=1) for pk in missing],
            ignore_conflicts=True,
        )
    # Rows a colleague's transaction holds are skipped, never waited for.
    stale = list(
        StoredCompleteness.objects.exclude(fresh_q(on))
        .order_by("pk")
        .select_for_update(skip_locked=True)
        .values_list("pk", flat=True)
    )
    for start in range(0, len(stale), CHUNK):
        _write(_compute(stale[start : start + CHUNK], on), since)
    return len(stale)


def _compute(pks, on):
    """
    The gaps of activities ``pks``, as {(gap keys, generation read): [pk]}.
    """
    columns = [completeness.column(rule) for rule in completeness.RULES]
    rows = (
        _activities()
        .filter(pk__in=pks)
        .annotate(**completeness.annotations(on))
        # Read in the same statement as the gaps: ``_write`` writes them only
        # where no change was committed since.
        .values("pk", "role", "stored_completeness__generation", *columns)
    )
    groups = defaultdict(list)
    for row in rows:
        keys = " ".join(gap.key for gap in completeness.gaps_from_row(row["role"], row))
        groups[keys, row["stored_completeness__generation"]].append(row["pk"])
    return groups


def _write(groups, since):
    """Store computed gaps, each only if its row is at the generation read."""
    for (keys, generation), ids in groups.items():
        StoredCompleteness.objects.filter(pk__in=ids, generation=generation).update(
            gaps=keys,
            incomplete=bool(keys),
            computed_generation=generation,
            geography_as_of=since,
        )


def stale_q(on=None, prefix=""):
    """Matches stored rows that are not current for ``on``, or missing."""
    return (
        Q(**{f"{prefix}computed_generation__isnull": True})
        | ~Q(**{f"{prefix}computed_generation": F(f"{prefix}generation")})
        | ~Q(**{f"{prefix}geography_as_of": in_force_since(on)})
    )


def incomplete_q(on=None, *, current=False):
    """
    Matches activities that lack an Art. 30 element: by their stored gaps
    where those are current, by the rules themselves where not (a row a
    colleague's transaction held while the list refreshed, or changed since).
    ``current``: every row was current a moment ago (``refresh_for_reading``),
    so the rules are left out of the query (19 subqueries to compile).
    """
    prefix = "stored_completeness__"
    stored = fresh_q(on, prefix) & Q(**{f"{prefix}incomplete": True})
    if current:
        return stored
    return stored | (stale_q(on, prefix) & completeness.incomplete_q(on))


def complete_q(on=None, *, current=False):
    prefix = "stored_completeness__"
    stored = fresh_q(on, prefix) & Q(**{f"{prefix}incomplete": False})
    if current:
        return stored
    return stored | (stale_q(on, prefix) & ~completeness.incomplete_q(on))


def gaps_by_pk(activities, on=None):
    """
    The ``gap_<key>`` values of ``activities`` (a page of a list, with their
    ``stored_completeness`` selected), from the stored rows where they are
    current, else from the rules in one query.
    """
    since = in_force_since(on)
    values = {}
    live = []
    for activity in activities:
        stored = getattr(activity, "stored_completeness", None)
        if (
            stored is not None
            and stored.computed_generation == stored.generation
            and stored.geography_as_of == since
        ):
            keys = set(stored.gaps.split())
            values[activity.pk] = {
                completeness.column(rule): rule.key in keys
                for rule in completeness.RULES
            }
        else:
            live.append(activity.pk)
    if live:
        columns = [completeness.column(rule) for rule in completeness.RULES]
        for row in (
            _activities()
            .filter(pk__in=live)
            .annotate(**completeness.annotations(on))
            .values("pk", "role", *columns)
        ):
            # As stored: a rule that does not apply to the record is no gap.
            values[row["pk"]] = {
                completeness.column(rule): row["role"] in rule.roles
                and row[completeness.column(rule)]
                for rule in completeness.RULES
            }
    return values


# ---------------------------------------------------------------------------
# Receivers: every change the rules can see touches the activities it affects
# ---------------------------------------------------------------------------


def _remember_activity(sender, instance, **kwargs):
    # A part moved to another activity leaves a gap behind in the first.
    instance._completeness_activity_id = instance.__dict__.get("activity_id")


def _part_changed(sender, instance, **kwargs):
    touch(_part_activities([instance]))
    # Saved again later, it leaves a gap behind where it is now.
    instance._completeness_activity_id = instance.activity_id


def _activity_saved(sender, instance, **kwargs):
    touch([instance.pk])


def _activity_deleted(sender, instance, **kwargs):
    StoredCompleteness.objects.filter(pk=instance.pk).delete()


def _shared_saved(sender, instance, **kwargs):
    touch(affected(sender, [instance.pk]))


def _links_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    """Links of an activity, from either side, or of an arrangement's parties."""
    if action not in ("pre_clear", "post_add", "post_remove"):
        return
    if isinstance(instance, ProcessingActivity):
        touch([instance.pk])
        return
    if isinstance(instance, JointControllerArrangement):
        touch(affected(JointControllerArrangement, [instance.pk]))
        return
    # The other side: ``organisation.activities.add(...)`` and the like.
    if action == "pre_clear":
        # Whose links the clear removes, read before they go.
        field = next(
            field
            for field in sender._meta.fields
            if field.many_to_one and isinstance(instance, field.related_model)
        )
        (other,) = (
            field
            for field in sender._meta.fields
            if field.many_to_one and field.related_model is model
        )
        pk_set = set(
            sender._base_manager.filter(**{field.name: instance.pk}).values_list(
                other.attname, flat=True
            )
        )
    if model is ProcessingActivity:
        touch(pk_set)
    elif model is JointControllerArrangement:
        touch(affected(JointControllerArrangement, pk_set))


def connect():
    uid = "stored-completeness"
    post_save.connect(_activity_saved, ProcessingActivity, dispatch_uid=uid)
    post_delete.connect(_activity_deleted, ProcessingActivity, dispatch_uid=uid)
    for model in PARTS:
        post_init.connect(_remember_activity, model, dispatch_uid=uid)
        post_save.connect(_part_changed, model, dispatch_uid=uid)
        post_delete.connect(_part_changed, model, dispatch_uid=uid)
    for model in (*SHARED, JointControllerArrangement):
        post_save.connect(_shared_saved, model, dispatch_uid=uid)
    for name in LINKS:
        m2m_changed.connect(_links_changed, _through(name), dispatch_uid=uid)
    m2m_changed.connect(
        _links_changed, JointControllerArrangement.parties.through, dispatch_uid=uid
    )
