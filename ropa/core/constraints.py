"""Database constraints shared by the register's models."""

from django.db import models


def choice_constraint(field, choices, *, name, allow_blank=False):
    """A CheckConstraint that keeps ``field`` within ``choices`` in the database."""
    values = list(choices.values)
    if allow_blank:
        values.append("")
    return models.CheckConstraint(
        condition=models.Q(**{f"{field}__in": values}), name=name
    )
