"""The yearly review of an activity: due, signed off, by whom and with what outcome."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ropa.core.constraints import choice_constraint
from ropa.core.dates import validate_past_date, validate_register_date
from ropa.core.history import history
from ropa.core.spreadsheet import validate_cell_length
from ropa.core.versioning import Versioned
from ropa.enums import (
    ReviewOutcome,
)
from ropa.models.activities import ProcessingActivity

OPEN_REVIEW_EXISTS = (
    "This activity already has an open review: mark it reviewed before opening another."
)


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
    due_on = models.DateField(validators=[validate_register_date])
    completed_on = models.DateField(
        null=True, blank=True, validators=[validate_past_date]
    )
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
            # The schedule reads an activity's open review as the one it is
            # due for: two runs of the yearly review at once, for two cycles,
            # must not leave it two.
            models.UniqueConstraint(
                fields=("activity",),
                condition=Q(completed_on__isnull=True),
                name="ropa_review_one_open_per_activity",
                violation_error_message=OPEN_REVIEW_EXISTS,
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
