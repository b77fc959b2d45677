"""
The register as plain data: as it stands, or as it stood at the end of a day.

``Register`` reads the register's tables; ``RegisterSnapshot`` rebuilds the
register from the django-simple-history tables as it stood at the end of a
day in ``settings.TIME_ZONE``. Both give the same shape of data, so the
exports write either without knowing which:

- ``catalogue()``: the organisations, DPOs, processor agreements, joint
  arrangements, the names of the categories, recipients and security
  measures (with the categories' sensitivity and the recipients' country),
  and the owners' usernames, as dicts keyed by id;
- ``activities()``: the processing activities in reference order, in chunks of
  ``CHUNK_SIZE``, each activity a dict of its fields (attnames), its
  many-to-many links as lists of ids, and its lawful bases, transfers and
  retention rules as lists of dicts; ``count()`` is how many activities it
  reads, for a progress bar it advances chunk by chunk.

Reads cost a fixed number of queries whatever the size of the register: one
query per catalogue table (two as of a date: the table and its last
versions), then one for the activities, one per many-to-many field and one
per child table, each ordered by the activity's reference and read as a
stream, a chunk at a time. As of a date, one query ranks the activities'
versions, then each chunk costs that same fixed number (history rows are
found by history id, not in reference order). Rows are fetched as values,
never as model instances.

As of a date, each record is its last history row before the end of the day:
field values, the many-to-many links saved with that row (simple-history
copies the links into its historical through tables, one row set per history
row) and the child rows' own last history rows, keyed by ``activity_id``.
Records since changed, retired or deleted appear as they were; records created
later, or whose last row by then is a deletion ("-"), do not appear.
Catalogue rows come from history too, falling back to the current row for a
record without history by then (one created before history was kept); the
many-to-many links of such a row are unknown, hence empty.

``Gaps`` tells an activity's Art. 30 gaps from this data, as the rules of
``ropa.completeness`` find them in the database: so an export as of a past
day shows the gaps the record had then, at no query of its own.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F, Subquery, Window
from django.db.models.functions import Collate, RowNumber
from django.utils import timezone

from controllers.models import (
    DataProtectionOfficer,
    JointControllerArrangement,
    Organisation,
    ProcessorAgreement,
)
from ropa.completeness import CONTROLLER, PROCESSOR, RULES_BY_KEY
from ropa.enums import LawfulBasisChoice, TransferMechanism
from ropa.exchange import layout
from ropa.geography import adequacy_in_force, eea_countries
from ropa.models import ProcessingActivity, Recipient, SecurityMeasure
from subjects.enums import Sensitivity
from subjects.models import DataSubjectCategory, PersonalDataCategory

# Activities per chunk: large enough that per-chunk queries are few, small
# enough that a chunk's rows sit comfortably in memory.
CHUNK_SIZE = 2000


def _child(sheet):
    """(model, fields) of a child sheet's rows."""
    return sheet.model, ("id", "activity_id", *sheet.snapshot_fields)


# The fields and links of the activities and their child rows: those their
# sheets' columns hold (``ropa.exchange.layout``), with the ids that join them.
ACTIVITY_FIELDS = ("id", *layout.ACTIVITIES.snapshot_fields)
ACTIVITY_LINKS = layout.ACTIVITIES.links
CHILDREN = (
    ("lawful_bases", *_child(layout.LAWFUL_BASES)),
    ("transfers", *_child(layout.TRANSFERS)),
    ("retention_rules", *_child(layout.RETENTION_RULES)),
)

ORGANISATION_FIELDS = (
    "id",
    "name",
    "slug",
    "registration_number",
    "country",
    "address",
    "email",
    "phone",
    "website",
    "dpo_id",
    "representative_id",
    "art27_exempt",
)
OFFICER_FIELDS = ("id", "name", "email", "phone", "engagement", "address")
AGREEMENT_FIELDS = (
    "id",
    "reference",
    "processor_id",
    "controller_id",
    "services",
    "document_reference",
    "signed_on",
    "expires_on",
    "transfers_covered",
)
ARRANGEMENT_FIELDS = (
    "id",
    "reference",
    "name",
    "joint_scope",
    "scope",
    "responsibilities",
    "contact_point",
    "essence",
    "essence_published",
    "document_reference",
    "signed_on",
    "review_on",
)
# Catalogues the activities name by their ``name`` field, and the fields the
# completeness rules and the register's catalogue sheets read besides
# (``Catalogue.details``).
NAMED_MODELS = {
    DataSubjectCategory: (),
    PersonalDataCategory: (
        "sensitivity",
        "special_category",
        "cnil_group",
        "description",
    ),
    Recipient: ("country", "recipient_type", "organisation_id"),
    SecurityMeasure: ("area",),
}


@dataclass(frozen=True)
class Catalogue:
    """
    What the activities refer to, as dicts of rows keyed by id.

    Rows are looked up by id whenever an activity names them; whether a
    processor agreement or joint arrangement existed at the date is
    ``existed_then(row)``.
    """

    organisations: dict
    officers: dict
    agreements: dict
    arrangements: dict
    names: dict  # model -> {id: name}
    usernames: dict
    details: dict  # model -> {id: row of its NAMED_MODELS fields}


def existed_then(row):
    """
    Whether a catalogue row existed at the snapshot's date.

    Rows read from the tables carry no ``history_type`` (they exist); rows
    rebuilt from history carry their last version's type, and rows a snapshot
    only knows from the tables carry None (see ``RegisterSnapshot._lookup``).
    """
    return row.get("history_type", "+") not in (None, "-")


def end_of_day(day):
    """The first moment after ``day`` in the project's time zone (aware)."""
    midnight = datetime.datetime.combine(
        day + datetime.timedelta(days=1), datetime.time.min
    )
    return timezone.make_aware(midnight, timezone.get_default_timezone())


def last_versions(history_model, before, **filters):
    """
    Each record's last history row before ``before``, deletions included.

    One query: the rows are ranked per record by date (then history id, for
    two rows saved in the same instant) with a window function.
    """
    rank = Window(
        RowNumber(),
        partition_by=F("id"),
        order_by=(F("history_date").desc(), F("history_id").desc()),
    )
    return (
        history_model.objects.filter(history_date__lt=before, **filters)
        .annotate(version_rank=rank)
        .filter(version_rank=1)
        .order_by()
    )


def _link_columns(model, name):
    field = model._meta.get_field(name)
    return f"{field.m2m_field_name()}_id", f"{field.m2m_reverse_field_name()}_id"


def _group(pairs):
    grouped = defaultdict(list)
    for key, value in pairs:
        grouped[key].append(value)
    return grouped


def _chunks(items, size):
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Register:
    """The register as it stands; ``controller`` limits it to one organisation."""

    as_of = None

    def __init__(self, *, controller=None, chunk_size=CHUNK_SIZE):
        self.controller = controller
        self.chunk_size = chunk_size

    def catalogue(self):
        organisations = self._lookup(Organisation, ORGANISATION_FIELDS)
        agreements = self._lookup(ProcessorAgreement, AGREEMENT_FIELDS)
        arrangements = self._lookup(JointControllerArrangement, ARRANGEMENT_FIELDS)
        self._add_links(ProcessorAgreement, agreements, ("sub_processors",))
        self._add_links(JointControllerArrangement, arrangements, ("parties",))
        user_model = get_user_model()
        details = {
            model: self._lookup(model, ("id", "name", *fields))
            for model, fields in NAMED_MODELS.items()
        }
        return Catalogue(
            organisations=organisations,
            officers=self._lookup(DataProtectionOfficer, OFFICER_FIELDS),
            agreements=agreements,
            arrangements=arrangements,
            names={
                model: {pk: row["name"] for pk, row in rows.items()}
                for model, rows in details.items()
            },
            usernames=dict(
                user_model._default_manager.values_list("pk", user_model.USERNAME_FIELD)
            ),
            details=details,
        )

    def count(self):
        """How many activities ``activities()`` reads."""
        return self._current().count()

    def activities(self, progress=None):
        """
        The activities in reference order, in lists of at most ``chunk_size``.

        Each table is read by one query for the whole register, ordered by the
        activity's reference and consumed as a stream a list at a time: the
        queries stay the same whatever the register's size, and only one list
        of activities is in memory at once (PostgreSQL sends each stream in
        batches from a server-side cursor). ``progress`` (a
        ``ropa.core.progress.Progress``) is advanced by the activities read, once
        each list has been used.
        """
        # One order the database and Python agree on, to merge the streams.
        activities = self._current().order_by(_code_point_order("reference"))
        keys = activities.values("id")
        links = {name: _Stream(self._link_rows(name, keys)) for name in ACTIVITY_LINKS}
        children = {
            name: _Stream(self._child_rows(model, fields, keys))
            for name, model, fields in CHILDREN
        }
        stream = activities.values(*ACTIVITY_FIELDS).iterator(
            chunk_size=self.chunk_size
        )
        for chunk in _batched(stream, self.chunk_size):
            last = chunk[-1]["reference"]
            rows = {row["id"]: row for row in chunk}
            for name, following in links.items():
                grouped = following.grouped(last)
                for pk, row in rows.items():
                    row[name] = grouped.get(pk, [])
            for name, following in children.items():
                grouped = following.grouped(last)
                for pk, row in rows.items():
                    row[name] = grouped.get(pk, [])
            yield list(rows.values())
            if progress is not None:
                progress.advance(len(chunk))

    def _link_rows(self, name, keys):
        """(activity reference, activity id, target id) of every link."""
        field = ProcessingActivity._meta.get_field(name)
        source, target = _link_columns(ProcessingActivity, name)
        reference = f"{field.m2m_field_name()}__reference"
        return (
            field.remote_field.through._default_manager.filter(
                **{f"{source}__in": keys}
            )
            .order_by(_code_point_order(reference))
            .values_list(reference, source, target)
            .iterator(chunk_size=self.chunk_size)
        )

    def _child_rows(self, model, fields, keys):
        """(activity reference, activity id, child row) of every child row."""
        rows = (
            model._default_manager.filter(activity_id__in=keys)
            .order_by(_code_point_order("activity__reference"))
            .values(*fields, in_reference_order=F("activity__reference"))
            .iterator(chunk_size=self.chunk_size)
        )
        return (
            (row.pop("in_reference_order"), row["activity_id"], row) for row in rows
        )

    # What a snapshot reads differently.

    def _lookup(self, model, fields=("id", "name")):
        """The records of ``model`` to look up by id, as they were then."""
        rows = model._default_manager.order_by().values(*fields)
        return {row["id"]: row for row in rows}

    def _add_links(self, model, rows, names):
        """Put each many-to-many field's target ids in ``rows``, one query each."""
        for name in names:
            source, target = _link_columns(model, name)
            through = model._meta.get_field(name).remote_field.through
            links = _group(through._default_manager.values_list(source, target))
            for pk, row in rows.items():
                row[name] = links.get(pk, [])

    def _current(self):
        activities = ProcessingActivity.objects.order_by("reference")
        if self.controller is not None:
            activities = activities.filter(organisations=self.controller)
        return activities


def _code_point_order(field):
    """
    ``field`` ordered by code point, as Python compares strings, whatever the
    database's collation: PostgreSQL's "C" collation is byte order, which in
    UTF-8 is code point order; SQLite's BINARY is its default.
    """
    if connection.vendor == "postgresql":
        return Collate(F(field), "C")
    return F(field)


class _Stream:
    """Rows (key, activity id, value) in key order, read up to a key at a time."""

    def __init__(self, rows):
        self.rows = iter(rows)
        self.next = next(self.rows, None)

    def grouped(self, last):
        """The values of the rows whose key is at most ``last``, by activity."""
        # A tight loop: a large register has hundreds of thousands of links.
        groups = defaultdict(list)
        rows, row = self.rows, self.next
        while row is not None and row[0] <= last:
            groups[row[1]].append(row[2])
            row = next(rows, None)
        self.next = row
        return groups


def _batched(rows, size):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class RegisterSnapshot(Register):
    """The register as it stood at the end of ``day``, rebuilt from history."""

    def __init__(self, *, day, controller=None, chunk_size=CHUNK_SIZE):
        super().__init__(controller=controller, chunk_size=chunk_size)
        self.as_of = day
        self.before = end_of_day(day)

    def _versions(self, model, **filters):
        return last_versions(model.history.model, self.before, **filters)

    def count(self):
        # Counted here: a filter beside the window function's would be
        # applied before the ranking.
        kinds = self._versions(ProcessingActivity).values_list(
            "history_type", flat=True
        )
        return sum(1 for kind in kinds if kind != "-")

    def _lookup(self, model, fields=("id", "name")):
        # A record deleted by then is looked up as it was when deleted; one
        # without history by then (created later, or before history was kept)
        # as it is now, marked with a history_type of None.
        rows = {
            pk: {**row, "history_type": None}
            for pk, row in super()._lookup(model, fields).items()
        }
        versions = self._versions(model).values(*fields, "history_id", "history_type")
        rows.update((row["id"], row) for row in versions)
        return rows

    def _add_links(self, model, rows, names):
        """The links saved with each row's version (its ``history_id``)."""
        # Rows known only from the tables have no version, hence no links.
        record_of = {
            row["history_id"]: pk for pk, row in rows.items() if "history_id" in row
        }
        for name in names:
            _, target = _link_columns(model, name)
            history_links = getattr(model.history.model, name).model
            links = _group(
                (record_of[history_id], target_id)
                for history_id, target_id in history_links.objects.filter(
                    history_id__in=list(record_of)
                ).values_list("history_id", target)
            )
            for pk, row in rows.items():
                row[name] = links.get(pk, [])

    def activities(self, progress=None):
        """
        The activities in that day's reference order, in lists of at most
        ``chunk_size``, with a fixed number of queries per list: their
        versions, the links saved with them and their children's versions.
        """
        for keys, rows in self._activity_chunks():
            read = len(rows)
            self._add_links(ProcessingActivity, rows, ACTIVITY_LINKS)
            if self.controller is not None:
                # As of a date, the responsible organisations are only known
                # from the links saved with each version.
                rows = {
                    pk: row
                    for pk, row in rows.items()
                    if self.controller.pk in row["organisations"]
                }
            for name, model, fields in CHILDREN:
                children = _group(
                    (child["activity_id"], child)
                    for child in self._children(model, fields, keys, rows)
                )
                for pk, row in rows.items():
                    row[name] = children.get(pk, [])
            yield list(rows.values())
            if progress is not None:
                progress.advance(read)

    def _activity_chunks(self):
        """
        (ids, rows by id) per chunk, in that day's reference order.

        The activities' last versions are ranked once; each chunk then reads
        its versions by history id.
        """
        versions = self._versions(ProcessingActivity).values_list(
            "id", "history_id", "history_type", "reference"
        )
        current = sorted(
            (version for version in versions if version[2] != "-"),
            key=lambda version: version[3],
        )
        history_model = ProcessingActivity.history.model
        for chunk in _chunks(current, self.chunk_size):
            rows = history_model.objects.filter(
                history_id__in=[version[1] for version in chunk]
            ).values(*ACTIVITY_FIELDS, "history_id")
            by_id = {row["id"]: row for row in rows}
            yield (
                [version[0] for version in chunk],
                {version[0]: by_id[version[0]] for version in chunk},
            )

    def _children(self, model, fields, keys, rows):
        # Ranked over every version of the children that ever belonged to
        # these activities, so that a child moved to another activity is
        # found where its last version puts it.
        history_model = model.history.model
        ever_linked = history_model.objects.filter(activity_id__in=keys).values("id")
        versions = self._versions(model, id__in=Subquery(ever_linked)).values(
            *fields, "history_type"
        )
        children = []
        for row in versions:
            if row.pop("history_type") != "-" and row["activity_id"] in rows:
                children.append(row)
        return children


# ---------------------------------------------------------------------------
# Art. 30 gaps, from the data read
# ---------------------------------------------------------------------------


class _Facts:
    """What the completeness rules read of one activity, from the snapshot."""

    def __init__(self, activity, catalogue, *, eea, adequate):
        self.activity = activity
        self.catalogue = catalogue
        self.eea = eea
        self.adequate = adequate
        self.organisations = [
            catalogue.organisations[pk] for pk in activity["organisations"]
        ]
        details = catalogue.details
        self.sensitivities = {
            details[PersonalDataCategory][pk]["sensitivity"]
            for pk in activity["personal_data_categories"]
        }
        self.recipient_countries = {
            details[Recipient][pk]["country"] for pk in activity["recipients"]
        }
        self.bases = activity["lawful_bases"]
        self.transfers = activity["transfers"]
        self.rules = activity["retention_rules"]


def _joint_without_parties(facts):
    arrangement_id = facts.activity["joint_arrangement_id"]
    if arrangement_id is None:
        return False
    arrangement = facts.catalogue.arrangements[arrangement_id]
    return len(arrangement["parties"]) < 2 or not arrangement["responsibilities"]


def _without_contact_details(rows):
    return any(not row["email"] and not row["phone"] for row in rows)


def _representative_without_contact_details(facts):
    organisations = facts.catalogue.organisations
    return _without_contact_details(
        organisations[row["representative_id"]]
        for row in facts.organisations
        if row["representative_id"] is not None
    )


def _joint_controller_without_contact_details(facts):
    arrangement_id = facts.activity["joint_arrangement_id"]
    if arrangement_id is None:
        return False
    responsible = set(facts.activity["organisations"])
    organisations = facts.catalogue.organisations
    return _without_contact_details(
        organisations[pk]
        for pk in facts.catalogue.arrangements[arrangement_id]["parties"]
        if pk not in responsible
    )


def _client_controller_without_contact_details(facts):
    organisations = facts.catalogue.organisations
    return _without_contact_details(
        organisations[pk] for pk in facts.activity["client_controllers"]
    )


def _transfer_not_recorded(facts):
    recorded = {transfer["country"] for transfer in facts.transfers}
    return any(
        country and country not in facts.eea and country not in recorded
        for country in facts.recipient_countries
    )


def _category_without_retention(facts):
    covered = {rule["personal_data_category_id"] for rule in facts.rules}
    return (
        bool(facts.rules)
        and None not in covered
        and any(pk not in covered for pk in facts.activity["personal_data_categories"])
    )


# The rules of ``ropa.completeness``, each as a test of the data read; keyed
# as there (a test checks that both hold the same keys and agree).
GAP_TESTS = {
    "no_organisation": lambda facts: not facts.organisations,
    "no_contact_details": lambda facts: _without_contact_details(facts.organisations),
    "no_representative": lambda facts: any(
        row["representative_id"] is None
        and not row["art27_exempt"]
        and row["country"] not in facts.eea
        for row in facts.organisations
    ),
    "representative_without_contact_details": _representative_without_contact_details,
    "joint_without_parties": _joint_without_parties,
    "joint_controller_without_contact_details": (
        _joint_controller_without_contact_details
    ),
    "no_client_controller": lambda facts: not facts.activity["client_controllers"],
    "client_controller_without_contact_details": (
        _client_controller_without_contact_details
    ),
    "no_purpose": lambda facts: not facts.activity["purpose"],
    "no_lawful_basis": lambda facts: not facts.bases,
    "legitimate_interest_unstated": lambda facts: any(
        basis["basis"] == LawfulBasisChoice.LEGITIMATE_INTERESTS
        and not basis["legitimate_interest"]
        for basis in facts.bases
    ),
    "special_without_condition": lambda facts: (
        Sensitivity.SPECIAL in facts.sensitivities
        and not any(basis["special_category_condition"] for basis in facts.bases)
    ),
    "criminal_without_authority": lambda facts: (
        Sensitivity.CRIMINAL in facts.sensitivities
        and not any(basis["criminal_data_authority"] for basis in facts.bases)
    ),
    "no_data_subjects": lambda facts: not facts.activity["data_subject_categories"],
    "no_data_categories": lambda facts: not facts.activity["personal_data_categories"],
    "no_recipients": lambda facts: not facts.activity["recipients"],
    "transfer_not_recorded": _transfer_not_recorded,
    "adequacy_not_in_force": lambda facts: any(
        transfer["mechanism"] == TransferMechanism.ADEQUACY
        and not facts.adequate.covers(
            transfer["country"], transfer["international_organisation"]
        )
        for transfer in facts.transfers
    ),
    "adequacy_scope_unrecorded": lambda facts: any(
        transfer["mechanism"] == TransferMechanism.ADEQUACY
        and facts.adequate.limited(transfer["country"])
        and not transfer["adequacy_scope"]
        for transfer in facts.transfers
    ),
    "recipient_location_unknown": lambda facts: any(
        not country for country in facts.recipient_countries
    ),
    "safeguards_undocumented": lambda facts: any(
        transfer["mechanism"] == TransferMechanism.COMPELLING_INTERESTS
        and not transfer["safeguards_documentation"]
        for transfer in facts.transfers
    ),
    "no_retention": lambda facts: not facts.rules,
    "category_without_retention": _category_without_retention,
    "no_security": lambda facts: (
        not facts.activity["security_measures"]
        and not facts.activity["security_description"]
    ),
}


class Gaps:
    """The Art. 30 gaps of the activities read with ``catalogue``, on ``on``."""

    def __init__(self, catalogue, on=None):
        self.catalogue = catalogue
        # Which countries are in the EEA, which destinations adequate: once.
        self.eea = eea_countries(on)
        self.adequate = adequacy_in_force(on)

    def of(self, activity):
        """
        The gaps (``ropa.completeness.Gap``) of ``activity``, a dict of
        ``activities()``, in the rules' order.
        """
        role = activity["role"]
        if role not in (CONTROLLER, PROCESSOR):
            return []
        facts = _Facts(activity, self.catalogue, eea=self.eea, adequate=self.adequate)
        return [
            rule.gap(role)
            for key, rule in RULES_BY_KEY.items()
            if role in rule.roles and GAP_TESTS[key](facts)
        ]
