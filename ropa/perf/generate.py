"""
A large synthetic register, for measuring the product at scale.

Everything is written with its history: activities and their child rows go
through simple-history's ``bulk_create_with_history`` /
``bulk_update_with_history``, and every history row of an activity gets the
snapshot of its many-to-many links, exactly as a save through the admin would
leave it. The live link rows and their historical snapshots are inserted
together, so the register read "as of" any version date shows the links.
The output depends only on the seed (and the date it runs, for history dates).
"""

import datetime
import random
from dataclasses import dataclass, field

from django.apps import apps
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from controllers.enums import DPOEngagement, JointScope
from controllers.models import (
    DataProtectionOfficer,
    JointControllerArrangement,
    Organisation,
    ProcessorAgreement,
    unique_slugs,
)
from ropa import stored_completeness
from ropa.enums import (
    ActivityStatus,
    LawfulBasisChoice,
    MeasureArea,
    MeasureType,
    RecipientType,
    RetentionAction,
    RetentionUnit,
    SpecialCategoryCondition,
    TransferMechanism,
)
from ropa.geography import scoped_countries
from ropa.models import (
    InternationalTransfer,
    LawfulBasis,
    ProcessingActivity,
    Recipient,
    RetentionRule,
    SecurityMeasure,
)
from subjects.enums import Sensitivity, SpecialCategory
from subjects.models import DataSubjectCategory, PersonalDataCategory

REASON = "Generated synthetic register"
BATCH = 500

FUNCTIONS = (
    "Sales",
    "Marketing",
    "Customer service",
    "Finance",
    "HR",
    "IT",
    "Legal",
    "Product",
    "Operations",
    "Procurement",
)
VERBS = ("manage", "follow up", "analyse", "archive", "communicate", "evaluate")
OBJECTS = (
    "orders",
    "contracts",
    "newsletters",
    "events",
    "support cases",
    "invoices",
    "job applications",
    "site access",
    "payroll",
    "surveys",
)
EEA = ("SE", "NO", "FI", "DK", "DE", "NL", "FR", "PL", "EE", "IE")
THIRD = (
    ("US", TransferMechanism.SCC),
    ("IN", TransferMechanism.SCC),
    ("GB", TransferMechanism.ADEQUACY),
    ("JP", TransferMechanism.ADEQUACY),
    ("CH", TransferMechanism.ADEQUACY),
    ("SG", TransferMechanism.BCR),
)
# One activity in this many lacks an Art. 30 element (its legitimate interest).
INCOMPLETE_EVERY = 15
# A second basis per activity, chosen so that (activity, basis) stays unique.
SECOND_BASIS = (
    LawfulBasisChoice.LEGAL_OBLIGATION,
    LawfulBasisChoice.LEGITIMATE_INTERESTS,
    LawfulBasisChoice.CONSENT,
)


@dataclass
class Sizes:
    activities: int
    organisations: int = 50
    data_categories: int = 300
    subject_categories: int = 60
    recipients: int = 150
    measures: int = 40
    subjects_per_activity: int = 5
    data_per_activity: int = 10
    recipients_per_activity: int = 3
    transfers_per_activity: int = 2
    retention_per_activity: int = 3
    versions: int = 5


@dataclass
class Result:
    created: dict = field(default_factory=dict)

    def add(self, label, count):
        self.created[label] = self.created.get(label, 0) + count


def prefix_for(seed):
    """Letters that tell one generated register from another: seed 1 -> "GB"."""
    letters = ""
    seed = abs(seed)
    while True:
        seed, digit = divmod(seed, 26)
        letters = chr(ord("A") + digit) + letters
        if not seed:
            return f"G{letters}"[:5]


def _history_m2m_model(name):
    return apps.get_model("ropa", f"HistoricalProcessingActivity_{name}")


class Generator:
    def __init__(self, *, sizes, seed, user=None, progress=None):
        self.sizes = sizes
        # Synthetic data, reproducible from the seed: not for secrets.
        self.rng = random.Random(seed)  # noqa: S311
        self.user = user
        self.progress = progress
        self.result = Result()
        self.now = timezone.now()
        self.prefix = prefix_for(seed)

    # -- catalogues ------------------------------------------------------

    def _create(self, model, objects):
        created = bulk_create_with_history(
            objects,
            model,
            batch_size=BATCH,
            default_user=self.user,
            default_change_reason=REASON,
        )
        self.result.add(model._meta.verbose_name_plural, len(created))
        return list(model.objects.filter(pk__in=[obj.pk for obj in created]))

    def catalogues(self):
        s, p = self.sizes, self.prefix
        dpo = self._create(
            DataProtectionOfficer,
            [
                DataProtectionOfficer(
                    name=f"Group DPO {p}",
                    email=f"dpo-{p.lower()}@example.com",
                    engagement=DPOEngagement.INTERNAL,
                )
            ],
        )[0]
        names = [f"{p} Company {n:03d}" for n in range(s.organisations)]
        # Created in bulk, not through save(): the slugs it would derive.
        slugs = unique_slugs(names)
        self.organisations = self._create(
            Organisation,
            [
                Organisation(
                    name=names[n],
                    slug=slugs[n],
                    registration_number=f"556{self.rng.randrange(10**6):06d}-{n:04d}",
                    country=EEA[n % len(EEA)],
                    address=f"Street {n}, City",
                    email=f"info{n}@{p.lower()}.example.com",
                    is_group_company=n < 10,
                    dpo=dpo,
                )
                for n in range(s.organisations)
            ],
        )
        self.group = [org for org in self.organisations if org.is_group_company]
        others = [org for org in self.organisations if not org.is_group_company]
        self.subject_categories = self._create(
            DataSubjectCategory,
            [
                DataSubjectCategory(
                    name=f"{p} Data subjects {n:03d}", vulnerable=n % 15 == 0
                )
                for n in range(s.subject_categories)
            ],
        )
        specials = list(SpecialCategory)
        self.data_categories = self._create(
            PersonalDataCategory,
            [
                PersonalDataCategory(
                    name=f"{p} Personal data {n:03d}",
                    sensitivity=Sensitivity.SPECIAL
                    if n % 50 == 0
                    else Sensitivity.ORDINARY,
                    special_category=specials[n % len(specials)] if n % 50 == 0 else "",
                )
                for n in range(s.data_categories)
            ],
        )
        self.recipients = self._create(
            Recipient,
            [
                Recipient(
                    name=f"{p} Recipient {n:03d}",
                    recipient_type=list(RecipientType)[n % 3],
                    organisation=others[n % len(others)] if others else None,
                    country=EEA[n % len(EEA)],
                )
                for n in range(s.recipients)
            ],
        )
        self.measures = self._create(
            SecurityMeasure,
            [
                SecurityMeasure(
                    name=f"{p} Security measure {n:03d}",
                    measure_type=list(MeasureType)[n % 2],
                    area=list(MeasureArea)[n % len(MeasureArea)],
                )
                for n in range(s.measures)
            ],
        )
        self.arrangements = []
        if len(self.group) >= 2:
            self.arrangements = self._create(
                JointControllerArrangement,
                [
                    JointControllerArrangement(
                        reference=f"{p}-JCA-{n}",
                        name=f"{p} Joint arrangement {n}",
                        joint_scope=list(JointScope)[n % 2],
                        scope="Group-wide processing",
                        responsibilities="Each party answers requests about its data.",
                    )
                    for n in range(2)
                ],
            )
            for arrangement in self.arrangements:
                arrangement._change_reason = REASON
                arrangement.parties.set(self.group)
        self.agreements = []
        if others and self.group:
            self.agreements = self._create(
                ProcessorAgreement,
                [
                    ProcessorAgreement(
                        reference=f"{p}-DPA-{n:03d}",
                        processor=others[n % len(others)],
                        controller=self.group[n % len(self.group)],
                        services="Hosting and support",
                        signed_on=datetime.date(2022, 1, 1),
                    )
                    for n in range(min(20, len(others)))
                ],
            )

    # -- activities -------------------------------------------------------

    def _links(self, activity_ids):
        """The many-to-many links of a batch, drawn from the seeded generator."""
        s, rng = self.sizes, self.rng
        links = {
            "organisations": self.group or self.organisations[:1],
            "data_subject_categories": self.subject_categories,
            "personal_data_categories": self.data_categories,
            "recipients": self.recipients,
            "security_measures": self.measures,
            "processor_agreements": self.agreements,
        }
        counts = {
            "organisations": 2,
            "data_subject_categories": s.subjects_per_activity,
            "personal_data_categories": s.data_per_activity,
            "recipients": s.recipients_per_activity,
            "security_measures": 3,
            "processor_agreements": 1,
        }
        return {
            name: {
                activity_id: rng.sample(pool, min(counts[name], len(pool)))
                for activity_id in activity_ids
            }
            for name, pool in links.items()
        }

    def _version_dates(self):
        versions = self.sizes.versions
        # Versions spread over the past years, the last one today.
        return [
            self.now - datetime.timedelta(days=180 * (versions - 1 - n))
            for n in range(versions)
        ]

    def activities(self):
        s, rng, p = self.sizes, self.rng, self.prefix
        dates = self._version_dates()
        total = s.activities
        for offset in range(0, total, BATCH):
            numbers = range(offset + 1, min(offset + BATCH, total) + 1)
            objs = []
            for n in numbers:
                function = FUNCTIONS[n % len(FUNCTIONS)]
                activity = ProcessingActivity(
                    reference=f"{p}-{n:06d}",
                    name=f"{p} To {rng.choice(VERBS)} {rng.choice(OBJECTS)} {n:06d}",
                    purpose=f"To {rng.choice(VERBS)} {rng.choice(OBJECTS)} for the "
                    f"{function.lower()} function.",
                    business_function=function,
                    status=ActivityStatus.ACTIVE if n % 20 else ActivityStatus.RETIRED,
                    joint_arrangement=(
                        self.arrangements[n % 2]
                        if self.arrangements and n % 7 == 0
                        else None
                    ),
                    security_description="Access control, logging and backups.",
                    systems="CRM; ERP",
                    data_location="EU data centre",
                    notice_order=n,
                    # A public notice lists a few dozen purposes, not thousands.
                    in_notice=n % 200 == 1,
                )
                activity._history_date = dates[0]
                objs.append(activity)
            created = bulk_create_with_history(
                objs,
                ProcessingActivity,
                batch_size=BATCH,
                default_user=self.user,
                default_change_reason=REASON,
            )
            activities = list(
                ProcessingActivity.objects.filter(
                    reference__in=[a.reference for a in created]
                ).order_by("pk")
            )
            ids = [a.pk for a in activities]
            self.result.add("processing activities", len(activities))
            links = self._links(ids)
            self._write_links(links)
            self._snapshot_links(ids, links)
            self._children(activities)
            for version, date in enumerate(dates[1:], start=2):
                for activity in activities:
                    activity.purpose = (
                        f"{activity.purpose.split(' (rev')[0]} (rev {version})"
                    )
                    activity._history_date = date
                bulk_update_with_history(
                    activities,
                    ProcessingActivity,
                    ["purpose"],
                    batch_size=BATCH,
                    default_user=self.user,
                    default_change_reason=f"{REASON}: version {version}",
                )
                self._snapshot_links(ids, links)
            if self.progress:
                self.progress.advance(len(activities))

    def _write_links(self, links):
        for name, by_activity in links.items():
            through = getattr(ProcessingActivity, name).through
            target = through._meta.get_field(
                getattr(ProcessingActivity, name).field.m2m_reverse_field_name()
            ).attname
            rows = [
                through(processingactivity_id=activity_id, **{target: obj.pk})
                for activity_id, objects in by_activity.items()
                for obj in objects
            ]
            # The link rows are not a tracked model: their history is the
            # snapshot written by _snapshot_links for every activity version.
            through.objects.bulk_create(rows, batch_size=5000)
            self.result.add(f"{name} links", len(rows))

    def _snapshot_links(self, ids, links):
        """Attach the current links to each activity's latest history row."""
        latest = {}
        for history_id, activity_id in (
            ProcessingActivity.history.filter(id__in=ids)
            .order_by("id", "-history_date", "-history_id")
            .values_list("history_id", "id")
        ):
            latest.setdefault(activity_id, history_id)
        for name, by_activity in links.items():
            through = getattr(ProcessingActivity, name).through
            target = through._meta.get_field(
                getattr(ProcessingActivity, name).field.m2m_reverse_field_name()
            ).attname
            live = {
                (row[0], row[1]): row[2]
                for row in through.objects.filter(
                    processingactivity_id__in=ids
                ).values_list("processingactivity_id", target, "id")
            }
            model = _history_m2m_model(name)
            rows = [
                model(
                    history_id=latest[activity_id],
                    processingactivity_id=activity_id,
                    id=live[(activity_id, obj.pk)],
                    **{target: obj.pk},
                )
                for activity_id, objects in by_activity.items()
                for obj in objects
            ]
            model.objects.bulk_create(rows, batch_size=5000)

    def _children(self, activities):
        s, rng = self.sizes, self.rng
        bases, transfers, rules = [], [], []
        for n, activity in enumerate(activities):
            bases.append(
                LawfulBasis(
                    activity=activity,
                    basis=LawfulBasisChoice.CONTRACT,
                    explanation="The customer contract.",
                    special_category_condition=SpecialCategoryCondition.EXPLICIT_CONSENT,
                )
            )
            second = SECOND_BASIS[n % len(SECOND_BASIS)]
            bases.append(
                LawfulBasis(
                    activity=activity,
                    basis=second,
                    explanation="Generated basis.",
                    legitimate_interest=(
                        "Running the business efficiently."
                        if second == LawfulBasisChoice.LEGITIMATE_INTERESTS
                        # As in a real register, some records have a gap: one
                        # in fifteen does not state its legitimate interest.
                        and n % INCOMPLETE_EVERY != 1
                        else ""
                    ),
                )
            )
            for country, mechanism in rng.sample(THIRD, s.transfers_per_activity):
                transfers.append(
                    InternationalTransfer(
                        activity=activity,
                        country=country,
                        mechanism=mechanism,
                        # A decision limited to some recipients (Japan's private
                        # sector) records that the recipient is covered.
                        adequacy_scope=(
                            "Generated: the recipient is covered."
                            if mechanism == TransferMechanism.ADEQUACY
                            and country in scoped_countries()
                            else ""
                        ),
                    )
                )
            categories = rng.sample(
                self.data_categories, min(s.retention_per_activity - 1, 10)
            )
            rules.append(
                RetentionRule(
                    activity=activity,
                    period=3,
                    period_unit=RetentionUnit.YEARS,
                    trigger="after the end of the relationship",
                    end_action=RetentionAction.ERASE,
                )
            )
            rules.extend(
                RetentionRule(
                    activity=activity,
                    personal_data_category=category,
                    period=rng.randint(1, 10),
                    period_unit=RetentionUnit.YEARS,
                    end_action=RetentionAction.ANONYMISE,
                )
                for category in categories
            )
        for model, objs in (
            (LawfulBasis, bases),
            (InternationalTransfer, transfers),
            (RetentionRule, rules),
        ):
            for obj in objs:
                obj._history_date = self._version_dates()[0]
            bulk_create_with_history(
                objs,
                model,
                batch_size=BATCH,
                default_user=self.user,
                default_change_reason=REASON,
            )
            self.result.add(model._meta.verbose_name_plural, len(objs))


def generate_register(*, sizes, seed=1, user=None, progress=None):
    """Add a synthetic register of ``sizes.activities`` activities; returns counts."""
    prefix = prefix_for(seed)
    if Organisation.objects.filter(name__startswith=f"{prefix} ").exists():
        raise ValueError(
            f"A register generated with seed {seed} is already loaded "
            f"(names start with '{prefix} '): use another seed."
        )
    with transaction.atomic():
        generator = Generator(sizes=sizes, seed=seed, user=user, progress=progress)
        generator.catalogues()
        generator.activities()
        # Written in bulk, without save signals: their gaps are computed here.
        stored_completeness.touch(
            ProcessingActivity.objects.filter(stored_completeness__isnull=True)
        )
        stored_completeness.refresh()
    return generator.result
