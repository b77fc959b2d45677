"""
Writing the sample register (``ropa.sample.data``) into the register.

``load_sample_register`` writes the data idempotently: rows are found by
their natural key and saved only when they differ, so a second run writes
nothing, not even history. Every write goes through ``save()`` or a
many-to-many manager, so simple-history records it with the change reason and
the user. Models with an ``is_sample`` field are marked with it; the others
say so in their text, in a note starting with ``SAMPLE_VALUE`` (see
``ropa.sample.data``).
"""

from collections import Counter
from dataclasses import dataclass, field

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction

from controllers.models import (
    DataProtectionOfficer,
    JointControllerArrangement,
    Organisation,
)
from ropa import stored_completeness
from ropa.enums import ActivityRole, ActivityStatus
from ropa.models import (
    LawfulBasis,
    ProcessingActivity,
    Recipient,
    RetentionRule,
    SecurityMeasure,
)
from ropa.rights import rights_information
from ropa.sample.data import (
    ACTIVITIES,
    ARRANGEMENTS,
    COMPANIES,
    DATA_CATEGORIES,
    EXTERNAL_ORGANISATIONS,
    MEASURES,
    OFFICER,
    RECIPIENTS,
    SAMPLE_VALUE,
    SUBJECT_CATEGORIES,
    reference_for,
)
from subjects.models import DataSubjectCategory, PersonalDataCategory

SAMPLE_REASON = "Loaded the sample register"

# The notice is silent on where the data comes from: every source is a guess.
SAMPLE_SOURCE_NOTE = f"{SAMPLE_VALUE}: the source is to be confirmed."

CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"
OUTCOMES = (CREATED, UPDATED, UNCHANGED)


class SampleRegisterError(Exception):
    """The sample register cannot be loaded over the rows already present."""


@dataclass
class LoadReport:
    """What a load created, updated and left unchanged, per model."""

    counts: dict = field(default_factory=dict)

    def add(self, model, outcome):
        label = str(model._meta.verbose_name_plural)
        self.counts.setdefault(label, Counter())[outcome] += 1

    def total(self, outcome):
        return sum(counter[outcome] for counter in self.counts.values())

    @property
    def changed(self):
        return bool(self.total(CREATED) or self.total(UPDATED))

    def lines(self):
        """One line per model: its label and counts."""
        return [
            f"{label}: "
            + ", ".join(f"{counter[outcome]} {outcome}" for outcome in OUTCOMES)
            for label, counter in self.counts.items()
        ]


def _assign(instance, values):
    """Set ``values`` on ``instance``; return whether any field changed."""
    changed = False
    for name, value in values.items():
        model_field = instance._meta.get_field(name)
        before = model_field.value_from_object(instance)
        setattr(instance, name, value)
        if model_field.value_from_object(instance) != before:
            changed = True
    return changed


class _Loader:
    """Writes the declarations, saving and counting only what differs."""

    def __init__(self, *, user, reason):
        self.user = user
        self.reason = reason
        self.report = LoadReport()

    def _stamp(self, instance):
        # Read by simple-history on save and on every many-to-many change.
        instance._change_reason = self.reason
        if self.user is not None:
            instance._history_user = self.user

    def _save(self, model, key, values):
        instance = model._default_manager.filter(**key).first()
        created = instance is None
        if created:
            instance = model(**key)
        changed = _assign(instance, values)
        if created or changed:
            try:
                instance.full_clean()
            except ValidationError as error:
                raise SampleRegisterError(
                    f"Cannot load the {model._meta.verbose_name} '{instance}': "
                    f"{_describe(error)}"
                ) from error
            self._stamp(instance)
            instance.save()
        return instance, CREATED if created else UPDATED if changed else UNCHANGED

    def _link(self, instance, name, targets):
        manager = getattr(instance, name)
        wanted = {target.pk for target in targets}
        if set(manager.values_list("pk", flat=True)) == wanted:
            return False
        self._stamp(instance)
        manager.set(targets)
        return True

    def upsert(self, model, key, values, links=None):
        """Create or update one row by its natural ``key``; set its links."""
        instance, outcome = self._save(model, key, values)
        for name, targets in (links or {}).items():
            if self._link(instance, name, targets) and outcome == UNCHANGED:
                outcome = UPDATED
        self.report.add(model, outcome)
        return instance


def _describe(error):
    if hasattr(error, "error_dict"):
        return "; ".join(
            " ".join(messages)
            if name == NON_FIELD_ERRORS
            else f"{name}: {' '.join(messages)}"
            for name, messages in error.message_dict.items()
        )
    return " ".join(error.messages)


def _by_name(rows, names, kind):
    missing = [name for name in names if name not in rows]
    if missing:
        raise SampleRegisterError(f"Unknown {kind} in the sample data: {missing}.")
    return [rows[name] for name in names]


def load_sample_register(
    *,
    user: AbstractBaseUser | None = None,
    reason: str = SAMPLE_REASON,
    dry_run: bool = False,
) -> LoadReport:
    """
    Load the sample register; return a ``LoadReport``.

    Rows are found by their natural key (reference or name) and saved only
    when they differ from the sample, so loading twice writes nothing the
    second time. Every write records ``reason`` and, when given, ``user`` in
    the history. With ``dry_run`` the changes are rolled back and only
    reported.
    """
    if not reason or not reason.strip():
        raise SampleRegisterError("A change reason is required.")
    loader = _Loader(user=user, reason=reason)
    with transaction.atomic():
        _load(loader)
        if dry_run:
            transaction.set_rollback(True)
        else:
            # The Art. 30 gaps of what was loaded, ready for the first list.
            stored_completeness.refresh()
    return loader.report


def _load(loader):
    officer = loader.upsert(
        DataProtectionOfficer,
        {"name": OFFICER.name, "email": OFFICER.email},
        {
            "phone": OFFICER.phone,
            "address": OFFICER.address,
            "engagement": OFFICER.engagement,
        },
    )

    companies = {}
    for company in COMPANIES:
        companies[company.name] = loader.upsert(
            Organisation,
            {"name": company.name},
            {
                "registration_number": company.registration_number,
                "country": company.country,
                "address": company.address,
                "email": company.email,
                "phone": company.phone,
                "website": company.website,
                "is_group_company": True,
                "parent": companies[company.parent] if company.parent else None,
                "dpo": officer,
                "representative": None,
            },
        )
    group = list(companies.values())
    for organisation in EXTERNAL_ORGANISATIONS:
        companies[organisation.name] = loader.upsert(
            Organisation,
            {"name": organisation.name},
            {
                "registration_number": organisation.registration_number,
                "country": organisation.country,
                "address": organisation.address,
                "email": organisation.email,
                "phone": organisation.phone,
                "website": organisation.website,
                "is_group_company": False,
                "parent": None,
                "dpo": None,
                "representative": None,
            },
        )

    arrangements = {
        arrangement.reference: loader.upsert(
            JointControllerArrangement,
            {"reference": arrangement.reference},
            {
                "name": arrangement.name,
                "joint_scope": arrangement.joint_scope,
                "scope": arrangement.scope,
                "responsibilities": arrangement.responsibilities,
                "contact_point": arrangement.contact_point,
                "essence": arrangement.essence,
                "essence_published": True,
            },
            links={
                "parties": group
                + [companies[name] for name in arrangement.other_parties]
            },
        )
        for arrangement in ARRANGEMENTS
    }

    subjects = {
        category.name: loader.upsert(
            DataSubjectCategory,
            {"name": category.name},
            {
                "description": category.description,
                "vulnerable": category.vulnerable,
                "is_sample": True,
            },
        )
        for category in SUBJECT_CATEGORIES
    }
    data = {
        category.name: loader.upsert(
            PersonalDataCategory,
            {"name": category.name},
            {
                "description": category.description,
                "examples": category.examples,
                "sensitivity": category.sensitivity,
                "special_category": category.special_category,
                "cnil_group": category.cnil_group,
                "is_sample": True,
            },
        )
        for category in DATA_CATEGORIES
    }
    recipients = {
        entry.name: loader.upsert(
            Recipient,
            {"name": entry.name},
            {
                "recipient_type": entry.recipient_type,
                "country": entry.country,
                "organisation": companies[entry.organisation]
                if entry.organisation
                else None,
                "description": entry.description,
            },
        )
        for entry in RECIPIENTS
    }
    measures = [
        loader.upsert(
            SecurityMeasure,
            {"name": measure.name},
            {
                "measure_type": measure.measure_type,
                "area": measure.area,
                "description": measure.description,
                "is_sample": True,
            },
        )
        for measure in MEASURES
    ]

    for position, activity in enumerate(ACTIVITIES, start=1):
        record = loader.upsert(
            ProcessingActivity,
            {"reference": reference_for(position)},
            {
                "status": ActivityStatus.ACTIVE,
                "role": ActivityRole.CONTROLLER,
                "name": activity.title,
                "purpose": activity.description,
                "business_function": activity.business_function,
                "joint_arrangement": arrangements[activity.arrangement]
                if activity.arrangement
                else None,
                "joint_processing": activity.joint_processing,
                "data_source": f"{activity.data_source} {SAMPLE_SOURCE_NOTE}"
                if activity.data_source
                else "",
                "profiling": activity.profiling,
                "profiling_description": activity.profiling_description,
                "profiling_in_notice": activity.profiling_in_notice,
                "dpia_required": activity.dpia[0],
                "dpia_status": activity.dpia[1],
                "dpia_reference": activity.dpia[2],
                "rights_information": rights_information(
                    basis.basis for basis in activity.bases
                ),
                "opt_out_information": activity.opt_out_information,
                "in_notice": True,
                "notice_order": position,
                "notice_title": activity.title,
                "notice_text": activity.text,
            },
            links={
                "organisations": group,
                "data_subject_categories": _by_name(
                    subjects, activity.subjects, "data subject category"
                ),
                "personal_data_categories": _by_name(
                    data, activity.data, "personal data category"
                ),
                "recipients": _by_name(recipients, activity.recipients, "recipient"),
                "security_measures": measures,
            },
        )
        for basis in activity.bases:
            loader.upsert(
                LawfulBasis,
                {"activity": record, "basis": basis.basis},
                {
                    "explanation": basis.explanation,
                    "legitimate_interest": basis.legitimate_interest,
                    "special_category_condition": basis.special_category_condition,
                    "is_sample": True,
                },
            )
        for rule in activity.retention:
            category = (
                _by_name(data, [rule.data], "personal data category")[0]
                if rule.data
                else None
            )
            loader.upsert(
                RetentionRule,
                {"activity": record, "personal_data_category": category},
                {
                    "period": rule.period,
                    "period_unit": rule.unit,
                    "criteria": rule.criteria,
                    "trigger": rule.trigger,
                    "end_action": rule.end_action,
                    "legal_reference": rule.legal_reference,
                    "is_sample": True,
                },
            )
