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


def historical_models():
    """Every history model of the project (one per tracked model)."""
    from django.apps import apps

    return [
        model
        for model in apps.get_models()
        if any(field.name == "history_user" for field in model._meta.fields)
    ]


def appears_in_history(user):
    """Whether ``user`` made any recorded change to the register."""
    return any(
        model.objects.filter(history_user=user).exists()
        for model in historical_models()
    )
