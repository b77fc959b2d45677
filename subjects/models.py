from django.db import models

from ropa.core.constraints import choice_constraint
from ropa.core.history import history
from ropa.core.spreadsheet import validate_cell_length
from ropa.core.versioning import Versioned

from .enums import CnilGroup, Sensitivity, SpecialCategory

SAMPLE_VALUE_HELP = (
    "A plausible value filled in for the sample register where its source is "
    "silent; to be confirmed before the register is relied on."
)


class DataSubjectCategory(Versioned):
    """A category of data subjects (Art. 30(1)(c))."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True, validators=[validate_cell_length])
    vulnerable = models.BooleanField(
        default=False,
        help_text="Minors, patients, employees or others in a weaker position "
        "(a DPIA criterion, Art. 35 and WP248).",
    )
    is_sample = models.BooleanField(
        "sample value", default=False, help_text=SAMPLE_VALUE_HELP
    )

    history = history()

    class Meta:
        ordering = ("name",)
        verbose_name = "data subject category"
        verbose_name_plural = "data subject categories"

    def __str__(self):
        return self.name


class PersonalDataCategoryQuerySet(models.QuerySet):
    def special(self):
        return self.filter(sensitivity=Sensitivity.SPECIAL)

    def criminal(self):
        return self.filter(sensitivity=Sensitivity.CRIMINAL)


class PersonalDataCategory(Versioned):
    """A category of personal data (Art. 30(1)(c)), with its sensitivity."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True, validators=[validate_cell_length])
    examples = models.TextField(
        blank=True,
        help_text="E.g. the fields it covers.",
        validators=[validate_cell_length],
    )
    sensitivity = models.CharField(
        max_length=20,
        choices=Sensitivity.choices,
        default=Sensitivity.ORDINARY,
        help_text="Special categories need an Art. 9(2) condition, criminal data "
        "an Art. 10 basis.",
    )
    special_category = models.CharField(
        "Art. 9(1) category",
        max_length=20,
        choices=SpecialCategory.choices,
        blank=True,
        help_text="Which special category, when the sensitivity is Art. 9.",
    )
    cnil_group = models.CharField(
        "CNIL category group",
        max_length=20,
        choices=CnilGroup.choices,
        blank=True,
        help_text="The group of data the CNIL's model register lists it under "
        "(identity, personal life, professional life, economic and financial, "
        "connection, location). Left empty, the CNIL export lists it under "
        "other data.",
    )
    is_sample = models.BooleanField(
        "sample value", default=False, help_text=SAMPLE_VALUE_HELP
    )

    objects = PersonalDataCategoryQuerySet.as_manager()
    history = history()

    class Meta:
        ordering = ("name",)
        verbose_name = "personal data category"
        verbose_name_plural = "personal data categories"
        constraints = (
            choice_constraint(
                "sensitivity",
                Sensitivity,
                name="subjects_personaldatacategory_sensitivity_valid",
            ),
            choice_constraint(
                "special_category",
                SpecialCategory,
                allow_blank=True,
                name="subjects_personaldatacategory_special_category_valid",
            ),
            choice_constraint(
                "cnil_group",
                CnilGroup,
                allow_blank=True,
                name="subjects_personaldatacategory_cnil_group_valid",
            ),
            # The Art. 9(1) category is named exactly when the data is special.
            models.CheckConstraint(
                condition=(
                    models.Q(sensitivity=Sensitivity.SPECIAL)
                    & ~models.Q(special_category="")
                )
                | (
                    ~models.Q(sensitivity=Sensitivity.SPECIAL)
                    & models.Q(special_category="")
                ),
                name="subjects_personaldatacategory_special_category_iff_special",
                violation_error_message="Name the Art. 9(1) category exactly when "
                "the sensitivity is a special category.",
            ),
        )

    def __str__(self):
        return self.name

    @property
    def is_sensitive(self):
        return self.sensitivity != Sensitivity.ORDINARY
