"""
An activity's own rows: its lawful bases, its transfers to third countries
(Art. 30(1)(e)) and its retention rules (Art. 30(1)(f)).
"""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django_countries.fields import CountryField

from ropa.core.constraints import choice_constraint
from ropa.core.history import history
from ropa.core.spreadsheet import validate_cell_length
from ropa.core.versioning import Versioned
from ropa.enums import (
    LawfulBasisChoice,
    RetentionAction,
    RetentionUnit,
    SpecialCategoryCondition,
    TransferMechanism,
)
from ropa.geography import adequacy_decision, in_eea
from ropa.models.activities import ProcessingActivity
from ropa.models.catalogue import Recipient
from subjects.models import SAMPLE_VALUE_HELP, PersonalDataCategory


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
    adequacy_scope = models.CharField(
        "scope of the adequacy decision",
        max_length=255,
        blank=True,
        help_text="e.g. the recipient's entry in the Data Privacy Framework list. "
        "Required where the decision covers only some recipients of the country.",
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
            (self.country or self.international_organisation)
            and self.mechanism == TransferMechanism.ADEQUACY
            and adequacy_decision(
                self.country, organisation=self.international_organisation
            )
            is None
        ):
            raise ValidationError(
                {
                    "mechanism": f"{self.destination} has no adequacy decision in "
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
