import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone
from django_countries.fields import CountryField

from controllers.models import (
    JointControllerArrangement,
    Organisation,
    ProcessorAgreement,
)
from ropa import completeness
from ropa.core.constraints import choice_constraint
from ropa.core.history import history
from ropa.core.spreadsheet import validate_cell_length
from ropa.core.versioning import Versioned
from ropa.enums import (
    ActivityRole,
    ActivityStatus,
    DPIAStatus,
    LawfulBasisChoice,
    MeasureArea,
    MeasureType,
    Profiling,
    RecipientType,
    RetentionAction,
    RetentionUnit,
    ReviewOutcome,
    SpecialCategoryCondition,
    TransferMechanism,
)
from ropa.geography import adequacy_decision, in_eea
from subjects.models import SAMPLE_VALUE_HELP, DataSubjectCategory, PersonalDataCategory


class SecurityMeasure(Versioned):
    """A technical or organisational security measure (Art. 32(1)), reusable."""

    name = models.CharField(max_length=200, unique=True)
    measure_type = models.CharField("type", max_length=20, choices=MeasureType.choices)
    area = models.CharField(max_length=30, choices=MeasureArea.choices)
    description = models.TextField(blank=True, validators=[validate_cell_length])
    is_sample = models.BooleanField(
        "sample value", default=False, help_text=SAMPLE_VALUE_HELP
    )

    history = history()

    class Meta:
        ordering = ("area", "name")
        verbose_name = "security measure"
        constraints = (
            choice_constraint(
                "measure_type",
                MeasureType,
                name="ropa_securitymeasure_measure_type_valid",
            ),
            choice_constraint(
                "area", MeasureArea, name="ropa_securitymeasure_area_valid"
            ),
        )

    def __str__(self):
        return self.name


class Recipient(Versioned):
    """A recipient or category of recipients (Art. 30(1)(d)), reusable."""

    name = models.CharField(max_length=200, unique=True)
    recipient_type = models.CharField(
        "type", max_length=20, choices=RecipientType.choices
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="recipient_entries",
        help_text="The organisation, where it is known.",
    )
    country = CountryField(
        blank=True,
        help_text="Where the recipient receives the data. A recipient outside "
        "the EEA means a transfer (Art. 30(1)(e)).",
    )
    description = models.TextField(blank=True, validators=[validate_cell_length])

    history = history()

    class Meta:
        ordering = ("name",)
        constraints = (
            choice_constraint(
                "recipient_type",
                RecipientType,
                name="ropa_recipient_recipient_type_valid",
            ),
        )

    def __str__(self):
        return self.name

    @property
    def outside_eea(self):
        return bool(self.country) and not in_eea(self.country)


class ProcessingActivityQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status=ActivityStatus.ACTIVE)

    def controller_records(self):
        return self.filter(role=ActivityRole.CONTROLLER)

    def processor_records(self):
        return self.filter(role=ActivityRole.PROCESSOR)

    def with_completeness(self, on=None):
        """Annotate each Art. 30 rule as a boolean ``gap_<rule>`` column."""
        return self.annotate(**completeness.annotations(on))

    def incomplete(self, on=None):
        return self.with_completeness(on).filter(completeness.incomplete_q(on))

    def complete(self, on=None):
        return self.with_completeness(on).exclude(completeness.incomplete_q(on))

    def with_special_categories(self):
        return self.filter(
            personal_data_categories__sensitivity__in=("special", "criminal")
        ).distinct()

    def with_review_dates(self):
        """Annotate ``last_reviewed_on``: the latest completed review."""
        return self.annotate(last_reviewed_on=Max("reviews__completed_on"))

    def high_risk_without_dpia(self):
        return self.filter(dpia_required=True).exclude(dpia_status=DPIAStatus.COMPLETED)


class ProcessingActivity(Versioned):
    """
    One entry of the record of processing activities (Art. 30).

    A controller record (Art. 30(1)) or a processor record (Art. 30(2)); the
    fields follow the article's order, with the regulators' extras after.
    """

    reference = models.CharField(
        max_length=20,
        unique=True,
        validators=[
            RegexValidator(
                r"^[A-Z]{2,5}-\d{4,}$", "Use letters, a dash and digits: PA-0001."
            )
        ],
        help_text="Stable identifier, e.g. PA-0001. Never reused.",
    )
    status = models.CharField(
        max_length=20, choices=ActivityStatus.choices, default=ActivityStatus.DRAFT
    )
    role = models.CharField(
        "record type",
        max_length=20,
        choices=ActivityRole.choices,
        default=ActivityRole.CONTROLLER,
    )

    # Art. 30(1)(a) / 30(2)(a): who is responsible.
    organisations = models.ManyToManyField(
        Organisation,
        related_name="activities",
        verbose_name="responsible organisations",
        help_text="Art. 30(1)(a): the controller(s); for a processor record "
        "(Art. 30(2)(a)), the processor(s). Their DPO and representative are "
        "taken from each organisation.",
    )
    joint_arrangement = models.ForeignKey(
        JointControllerArrangement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name="joint controller arrangement",
        help_text="Art. 26 and 30(1)(a): the arrangement with the joint "
        "controllers, where the purpose is (or may be) jointly determined.",
    )
    joint_processing = models.CharField(
        "joint processing",
        max_length=255,
        blank=True,
        help_text="What the companies do jointly under the arrangement, completing "
        "'jointly responsible where the companies jointly …'.",
    )
    client_controllers = models.ManyToManyField(
        Organisation,
        blank=True,
        related_name="processed_for_activities",
        help_text="Art. 30(2)(a): each controller on whose behalf the processor "
        "acts (processor records only).",
    )

    # Art. 30(1)(b) / 30(2)(b): the purposes.
    name = models.CharField(
        max_length=200, unique=True, help_text="The purpose, as a short title."
    )
    purpose = models.TextField(
        help_text="Art. 30(1)(b): the purposes of the processing; for a processor "
        "record, the categories of processing (Art. 30(2)(b)).",
        validators=[validate_cell_length],
    )
    business_function = models.CharField(
        max_length=100, db_index=True, help_text="The business function that owns it."
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_activities",
    )

    # Art. 30(1)(c): whose data, which data, from where.
    data_subject_categories = models.ManyToManyField(
        DataSubjectCategory,
        related_name="activities",
        help_text="Art. 30(1)(c): categories of data subjects.",
    )
    personal_data_categories = models.ManyToManyField(
        PersonalDataCategory,
        related_name="activities",
        help_text="Art. 30(1)(c): categories of personal data.",
    )
    data_source = models.TextField(
        "source of the data",
        blank=True,
        help_text="Art. 14(2)(f): where the data comes from when not from the "
        "data subject.",
        validators=[validate_cell_length],
    )

    # Art. 30(1)(d): recipients.
    recipients = models.ManyToManyField(
        Recipient,
        blank=True,
        related_name="activities",
        help_text="Art. 30(1)(d): categories of recipients to whom the data have "
        "been or will be disclosed, including in third countries.",
    )
    processor_agreements = models.ManyToManyField(
        ProcessorAgreement,
        blank=True,
        related_name="activities",
        help_text="Processors used, each under an Art. 28(3) agreement.",
    )

    # Art. 30(1)(e): transfers are the InternationalTransfer rows.
    # Art. 30(1)(f): retention is the RetentionRule rows.

    # Art. 30(1)(g): security.
    security_measures = models.ManyToManyField(
        SecurityMeasure,
        blank=True,
        related_name="activities",
        help_text="Art. 30(1)(g): the technical and organisational measures "
        "of Art. 32(1).",
    )
    security_description = models.TextField(
        "general description of security measures",
        blank=True,
        help_text="Art. 30(1)(g): a general description, where possible.",
        validators=[validate_cell_length],
    )

    # What regulators' templates ask beside the legal minimum.
    systems = models.TextField(
        "systems and software",
        blank=True,
        help_text="Software used (CNIL).",
        validators=[validate_cell_length],
    )
    data_location = models.TextField(
        "location of the data",
        blank=True,
        help_text="Where the data is stored.",
        validators=[validate_cell_length],
    )
    profiling = models.CharField(
        max_length=30,
        choices=Profiling.choices,
        default=Profiling.NONE,
        help_text="Art. 13(2)(f) and 22: profiling and automated decision-making.",
    )
    profiling_description = models.TextField(
        "profiling and automated decision-making",
        blank=True,
        help_text="Art. 13(2)(f): the logic involved and the consequences.",
        validators=[validate_cell_length],
    )
    profiling_in_notice = models.BooleanField(
        "state profiling in the notice",
        default=False,
        help_text="Print the profiling statement (including 'no profiling') in "
        "the privacy notice.",
    )
    dpia_required = models.BooleanField(
        "DPIA required",
        default=False,
        help_text="Art. 35: the processing is likely to result in a high risk.",
    )
    dpia_status = models.CharField(
        "DPIA progress",
        max_length=20,
        choices=DPIAStatus.choices,
        blank=True,
    )
    dpia_reference = models.CharField("link to DPIA", max_length=255, blank=True)
    rights_information = models.TextField(
        "rights available",
        blank=True,
        help_text="Art. 13(2)(b): the rights available to data subjects.",
        validators=[validate_cell_length],
    )
    opt_out_information = models.TextField(
        "opt-out information",
        blank=True,
        help_text="How to object or unsubscribe (Art. 21), shown in the notice.",
        validators=[validate_cell_length],
    )
    consent_record_reference = models.CharField(
        "link to record of consent", max_length=255, blank=True
    )
    breach_reference = models.CharField(
        "link to personal data breach records",
        max_length=255,
        blank=True,
        help_text="Art. 33(5).",
    )
    retention_policy_reference = models.CharField(
        "link to retention and erasure policy", max_length=255, blank=True
    )
    retention_policy_followed = models.BooleanField(
        "retained and erased according to the policy", null=True, blank=True
    )
    retention_policy_deviation = models.TextField(
        "reason for not following the policy",
        blank=True,
        validators=[validate_cell_length],
    )

    # The public privacy notice.
    in_notice = models.BooleanField(
        "in the privacy notice", default=True, help_text="Art. 13 and 14."
    )
    notice_order = models.PositiveIntegerField(
        default=0, help_text="Position in the privacy notice."
    )
    notice_title = models.CharField(
        max_length=200, blank=True, help_text="Defaults to the name."
    )
    notice_text = models.TextField(
        blank=True,
        help_text="Defaults to the purpose description.",
        validators=[validate_cell_length],
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProcessingActivityQuerySet.as_manager()
    history = history(
        m2m_fields=(
            "organisations",
            "client_controllers",
            "data_subject_categories",
            "personal_data_categories",
            "recipients",
            "processor_agreements",
            "security_measures",
        )
    )

    class Meta:
        ordering = ("reference",)
        verbose_name = "processing activity"
        verbose_name_plural = "processing activities"
        indexes = (models.Index(fields=("status", "notice_order")),)
        constraints = (
            choice_constraint(
                "status", ActivityStatus, name="ropa_processingactivity_status_valid"
            ),
            choice_constraint(
                "role", ActivityRole, name="ropa_processingactivity_role_valid"
            ),
            choice_constraint(
                "profiling",
                Profiling,
                name="ropa_processingactivity_profiling_valid",
            ),
            choice_constraint(
                "dpia_status",
                DPIAStatus,
                allow_blank=True,
                name="ropa_processingactivity_dpia_status_valid",
            ),
            # Art. 35: a required DPIA has a progress; one not required has none.
            models.CheckConstraint(
                condition=Q(dpia_required=False, dpia_status="")
                | (Q(dpia_required=True) & ~Q(dpia_status="")),
                name="ropa_processingactivity_dpia_status_iff_required",
                violation_error_message="Give the DPIA progress exactly when a "
                "DPIA is required.",
            ),
        )

    def __str__(self):
        return f"{self.reference} {self.name}"

    def get_absolute_url(self):
        return reverse("admin:ropa_processingactivity_change", args=(self.pk,))

    @property
    def public_title(self):
        return self.notice_title or self.name

    @property
    def public_text(self):
        return self.notice_text or self.purpose

    def missing_elements(self, on=None):
        """The Art. 30 elements this record lacks, as ``completeness.Gap`` rows."""
        return completeness.gaps_for(self, on)

    @property
    def is_complete(self):
        return not self.missing_elements()

    def next_review_due(self, last_reviewed_on=None):
        """The date the next review falls due, derived from the reviews."""
        if last_reviewed_on is None:
            last_reviewed_on = getattr(self, "last_reviewed_on", None)
        if last_reviewed_on is None:
            return None
        interval = datetime.timedelta(days=settings.ROPA_REVIEW_INTERVAL_DAYS)
        return last_reviewed_on + interval


class LawfulBasis(Versioned):
    """A legal basis for an activity: Art. 6(1), and Art. 9(2) / 10 where needed."""

    activity = models.ForeignKey(
        ProcessingActivity, on_delete=models.CASCADE, related_name="lawful_bases"
    )
    basis = models.CharField(
        "Art. 6(1) basis", max_length=30, choices=LawfulBasisChoice.choices
    )
    explanation = models.TextField(
        blank=True,
        help_text="Why this basis applies, e.g. which contract or law.",
        validators=[validate_cell_length],
    )
    legitimate_interest = models.TextField(
        "legitimate interest pursued",
        blank=True,
        help_text="Art. 6(1)(f) and 13(1)(d): required for legitimate interests.",
        validators=[validate_cell_length],
    )
    assessment_reference = models.CharField(
        "legitimate interests assessment",
        max_length=255,
        blank=True,
        help_text="Link to the balancing test (LIA).",
    )
    special_category_condition = models.CharField(
        "Art. 9(2) condition",
        max_length=30,
        choices=SpecialCategoryCondition.choices,
        blank=True,
        help_text="Required where special categories of data are processed.",
    )
    criminal_data_authority = models.CharField(
        "Art. 10 authority",
        max_length=255,
        blank=True,
        help_text="The Union or member state law authorising the processing of "
        "criminal convictions data (Art. 10).",
    )
    is_sample = models.BooleanField(
        "sample value", default=False, help_text=SAMPLE_VALUE_HELP
    )

    history = history()

    class Meta:
        ordering = ("activity", "basis")
        verbose_name = "lawful basis"
        verbose_name_plural = "lawful bases"
        constraints = (
            choice_constraint(
                "basis", LawfulBasisChoice, name="ropa_lawfulbasis_basis_valid"
            ),
            choice_constraint(
                "special_category_condition",
                SpecialCategoryCondition,
                allow_blank=True,
                name="ropa_lawfulbasis_special_category_condition_valid",
            ),
            models.UniqueConstraint(
                fields=("activity", "basis"),
                name="ropa_lawfulbasis_unique_per_activity",
            ),
        )

    def __str__(self):
        return self.get_basis_display()

    def clean(self):
        if (
            self.basis == LawfulBasisChoice.LEGITIMATE_INTERESTS
            and not self.legitimate_interest.strip()
        ):
            raise ValidationError(
                {
                    "legitimate_interest": "State the legitimate interest pursued "
                    "(Art. 13(1)(d))."
                }
            )


class InternationalTransfer(Versioned):
    """A transfer to a third country or international organisation (Art. 30(1)(e))."""

    activity = models.ForeignKey(
        ProcessingActivity, on_delete=models.CASCADE, related_name="transfers"
    )
    country = CountryField(
        "destination country",
        blank=True,
        help_text="The third country, or leave empty for an international "
        "organisation.",
    )
    international_organisation = models.CharField(max_length=200, blank=True)
    recipient = models.ForeignKey(
        Recipient,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transfers",
    )
    mechanism = models.CharField(
        max_length=40,
        choices=TransferMechanism.choices,
        help_text="The Chapter V ground for the transfer.",
    )
    safeguards_documentation = models.TextField(
        "documentation of suitable safeguards",
        blank=True,
        help_text="Art. 30(1)(e) and 49(6): required for transfers on compelling "
        "legitimate interests (Art. 49(1) second subparagraph).",
        validators=[validate_cell_length],
    )
    tia_reference = models.CharField(
        "transfer impact assessment", max_length=255, blank=True
    )
    notes = models.TextField(blank=True, validators=[validate_cell_length])

    history = history()

    class Meta:
        ordering = ("activity", "country", "international_organisation")
        verbose_name = "international transfer"
        constraints = (
            choice_constraint(
                "mechanism",
                TransferMechanism,
                name="ropa_internationaltransfer_mechanism_valid",
            ),
            # Exactly one destination: a country or an international organisation.
            models.CheckConstraint(
                condition=(~Q(country="") & Q(international_organisation=""))
                | (Q(country="") & ~Q(international_organisation="")),
                name="ropa_internationaltransfer_one_destination",
                violation_error_message="Give a destination country or an "
                "international organisation, not both.",
            ),
        )

    def __str__(self):
        return f"{self.destination} ({self.get_mechanism_display()})"

    @property
    def destination(self):
        return self.country.name if self.country else self.international_organisation

    def clean(self):
        if (
            self.country
            and self.mechanism == TransferMechanism.ADEQUACY
            and adequacy_decision(self.country) is None
        ):
            raise ValidationError(
                {
                    "mechanism": f"{self.country.name} has no adequacy decision in "
                    "force: choose another Chapter V mechanism."
                }
            )
        if self.country and in_eea(self.country):
            raise ValidationError(
                {"country": f"{self.country.name} is in the EEA: not a transfer."}
            )


class RetentionRule(Versioned):
    """How long data is kept (Art. 30(1)(f)), per data category or for all of it."""

    activity = models.ForeignKey(
        ProcessingActivity, on_delete=models.CASCADE, related_name="retention_rules"
    )
    personal_data_category = models.ForeignKey(
        PersonalDataCategory,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="retention_rules",
        help_text="Leave empty for a rule covering all of the activity's data.",
    )
    period = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(200)],
        help_text="Art. 30(1)(f): the time limit for erasure, where possible.",
    )
    period_unit = models.CharField(
        max_length=10, choices=RetentionUnit.choices, blank=True
    )
    criteria = models.TextField(
        blank=True,
        help_text="Art. 13(2)(a): the criteria used when no period can be given.",
        validators=[validate_cell_length],
    )
    trigger = models.CharField(
        max_length=255,
        blank=True,
        help_text="When the period starts, e.g. 'after the end of the contract'.",
    )
    end_action = models.CharField(
        "action at the end",
        max_length=20,
        choices=RetentionAction.choices,
        default=RetentionAction.ERASE,
    )
    legal_reference = models.CharField(max_length=255, blank=True)
    is_sample = models.BooleanField(
        "sample value", default=False, help_text=SAMPLE_VALUE_HELP
    )

    history = history()

    class Meta:
        ordering = ("activity", "personal_data_category")
        verbose_name = "retention rule"
        constraints = (
            choice_constraint(
                "period_unit",
                RetentionUnit,
                allow_blank=True,
                name="ropa_retentionrule_period_unit_valid",
            ),
            choice_constraint(
                "end_action",
                RetentionAction,
                name="ropa_retentionrule_end_action_valid",
            ),
            models.CheckConstraint(
                # period IS NULL makes "period >= 1" NULL, which a CHECK passes:
                # the second branch needs period to be set explicitly.
                condition=Q(period__isnull=True, period_unit="")
                | (
                    Q(period__isnull=False, period__gte=1, period__lte=200)
                    & ~Q(period_unit="")
                ),
                name="ropa_retentionrule_period_with_unit",
                violation_error_message="Give a period of 1 to 200 with its unit, "
                "or neither.",
            ),
            models.CheckConstraint(
                condition=Q(period__isnull=False) | ~Q(criteria=""),
                name="ropa_retentionrule_period_or_criteria",
                violation_error_message="Give a period, or the criteria that "
                "determine it.",
            ),
            models.UniqueConstraint(
                fields=("activity", "personal_data_category"),
                name="ropa_retentionrule_unique_per_category",
            ),
            models.UniqueConstraint(
                fields=("activity",),
                condition=Q(personal_data_category__isnull=True),
                name="ropa_retentionrule_one_rule_for_all_data",
                violation_error_message="The activity already has a rule for all "
                "of its data.",
            ),
        )

    def __str__(self):
        scope = self.personal_data_category or "all data"
        return f"{scope}: {self.period_text}"

    @property
    def period_text(self):
        if self.period:
            text = f"{self.period} {self.get_period_unit_display().lower()}"
            return f"{text} {self.trigger}".strip()
        return self.criteria


class ReviewQuerySet(models.QuerySet):
    def open(self):
        return self.filter(completed_on__isnull=True)

    def completed(self):
        return self.filter(completed_on__isnull=False)

    def overdue(self, on=None):
        return self.open().filter(due_on__lt=on or timezone.localdate())


class Review(Versioned):
    """One review of an activity in one review cycle."""

    activity = models.ForeignKey(
        ProcessingActivity, on_delete=models.CASCADE, related_name="reviews"
    )
    cycle = models.PositiveIntegerField(
        validators=[MinValueValidator(2000), MaxValueValidator(2999)],
        help_text="The review cycle, by year.",
    )
    due_on = models.DateField()
    completed_on = models.DateField(null=True, blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reviews",
    )
    outcome = models.CharField(max_length=20, choices=ReviewOutcome.choices, blank=True)
    notes = models.TextField(blank=True, validators=[validate_cell_length])

    objects = ReviewQuerySet.as_manager()
    history = history()

    class Meta:
        ordering = ("-cycle", "activity")
        constraints = (
            choice_constraint(
                "outcome",
                ReviewOutcome,
                allow_blank=True,
                name="ropa_review_outcome_valid",
            ),
            models.UniqueConstraint(
                fields=("activity", "cycle"), name="ropa_review_one_per_cycle"
            ),
            # A completed review has an outcome and a reviewer; an open one neither.
            models.CheckConstraint(
                condition=Q(
                    completed_on__isnull=True, outcome="", reviewer__isnull=True
                )
                | (
                    Q(completed_on__isnull=False, reviewer__isnull=False)
                    & ~Q(outcome="")
                ),
                name="ropa_review_completed_with_outcome",
                violation_error_message="A completed review needs its date, "
                "reviewer and outcome.",
            ),
        )

    def __str__(self):
        return f"{self.activity.reference} review {self.cycle}"


class FunctionMembership(Versioned):
    """
    A user who contributes the activities of one business function.

    A member of the Contributor group adds and changes the activities whose
    business function is one of their memberships, and sees no others.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="function_memberships",
    )
    business_function = models.CharField(
        max_length=100,
        help_text="Exactly as the activities name it, e.g. Sales.",
    )

    history = history()

    class Meta:
        ordering = ("business_function", "user")
        verbose_name = "function membership"
        constraints = (
            models.UniqueConstraint(
                fields=("user", "business_function"),
                name="ropa_functionmembership_unique_per_user",
                violation_error_message="The user is already a member of this "
                "business function.",
            ),
        )

    def __str__(self):
        return f"{self.user} in {self.business_function}"


class StoredCompleteness(models.Model):
    """
    The Art. 30 gaps of one activity as last computed, so that the admin can
    filter a large register by completeness without evaluating every rule
    over every record (see ``ropa.stored_completeness``).

    Derived data, not part of the register: no history, never edited by hand,
    and rebuilt from the rules whenever it may be out of date. A change to
    the activity or to anything its gaps depend on bumps ``generation``; the
    gaps are current when ``computed_generation`` equals it and they were
    computed under the EEA and adequacy data in force today
    (``geography_as_of``).
    """

    activity = models.OneToOneField(
        ProcessingActivity,
        # The row is removed with its activity (post_delete receiver); no
        # database constraint, so that marking it out of date while the
        # activity's child rows are being deleted never trips over the order
        # in which Django deletes them.
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        primary_key=True,
        related_name="stored_completeness",
    )
    generation = models.PositiveBigIntegerField(default=0)
    computed_generation = models.PositiveBigIntegerField(null=True, blank=True)
    geography_as_of = models.DateField(null=True, blank=True)
    gaps = models.CharField(
        max_length=1000,
        blank=True,
        help_text="The keys of the rules the activity fails, separated by spaces.",
    )
    # Until computed, a record counts as incomplete.
    incomplete = models.BooleanField(default=True)

    class Meta:
        verbose_name = "stored completeness"
        verbose_name_plural = "stored completeness"
        default_permissions = ()

    def __str__(self):
        return f"{self.activity_id}: {self.gaps or 'complete'}"
