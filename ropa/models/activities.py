"""
The processing activity: one entry of the Art. 30 record, and the querysets
that read the register.
"""

import datetime

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Max, Q
from django.urls import reverse

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
    Profiling,
)
from ropa.models.catalogue import Recipient, SecurityMeasure
from subjects.models import DataSubjectCategory, PersonalDataCategory


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

    # Whatever an import found and could not place in a field: kept, never
    # dropped, until the DPO has moved it where it belongs.
    import_notes = models.TextField(
        "kept from an import",
        blank=True,
        help_text="Columns of an imported spreadsheet that have no field here, "
        "each under its heading. Move what matters into the fields above, then "
        "clear this.",
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
