"""
Each activity's Art. 30 gaps as last computed (``ropa.stored_completeness``
keeps them current).
"""

from django.db import models

from ropa.models.activities import ProcessingActivity


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
