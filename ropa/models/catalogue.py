"""
The catalogues activities pick from: security measures (Art. 32) and
recipients (Art. 30(1)(d)).
"""

from django.db import models
from django_countries.fields import CountryField

from controllers.models import (
    Organisation,
)
from ropa.core.constraints import choice_constraint
from ropa.core.history import history
from ropa.core.spreadsheet import validate_cell_length
from ropa.core.versioning import Versioned
from ropa.enums import (
    MeasureArea,
    MeasureType,
    RecipientType,
)
from ropa.geography import in_eea
from subjects.models import SAMPLE_VALUE_HELP


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
