"""The one way register models get their change history."""

from django.db import models
from simple_history.models import HistoricalRecords


def history(*, m2m_fields=(), **kwargs):
    """
    Historical records for a register model.

    History ids are 64-bit: every save of an activity also copies its
    many-to-many links, so history tables outgrow the register quickly.
    """
    return HistoricalRecords(
        history_id_field=models.BigAutoField(),
        m2m_fields=list(m2m_fields),
        **kwargs,
    )
