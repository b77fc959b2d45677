"""
The register's health figures of a finished month, as last computed
(``ropa.health`` computes and keeps them).
"""

from django.db import models


class HealthMonth(models.Model):
    """
    The dashboard's health figures at the end of one finished month, rebuilt
    from the register's history, kept so that the dashboard does not rebuild
    two years of history on each visit.

    Derived data, not part of the register: no history, never edited by
    hand. ``rules`` is the version of the rules that computed the figures
    (``ropa.health.rules_version``): a row of another version is out of date
    and is computed again.
    """

    month = models.DateField(
        unique=True, help_text="The month's first day; the figures are at its end."
    )
    rules = models.CharField(max_length=64)
    figures = models.JSONField(
        help_text="The figures by business function: {function: {figure: count}}."
    )
    # What computing the month took: the dashboard's estimate of what
    # computing a missing month costs.
    seconds = models.FloatField()
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name = "health month"
        default_permissions = ()

    def __str__(self):
        return f"{self.month:%Y-%m}"
