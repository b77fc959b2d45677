"""
The dates a register can hold: when an agreement was signed, when it expires
or is reviewed, when a review is due or was completed.

A date outside them is a typing error (0202 for 2020, 2205 for 2025) or a
placeholder ("9999-12-31" for "never"), which a register says by leaving the
date empty. Each date field of the register names one of these validators;
the admin's forms and every import run them (``full_clean``).
"""

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

#: The first day a register date can fall on: the year of the Data Protection
#: Directive (95/46/EC, 24 October 1995), the first EU law to ask for a
#: contract with each processor (Art. 17(3)) and the ancestor of the Art. 30
#: record (the notification of Art. 18-21). No agreement, review or record
#: the register keeps is older.
EARLIEST_DATE = datetime.date(1995, 1, 1)
#: How far ahead a date can lie: longer than any agreement's term or review
#: interval the register keeps.
YEARS_AHEAD = 30

TOO_EARLY = (
    "{date} is before {earliest}: no date of the register is that old. Check the year."
)
TOO_LATE = (
    "{date} is more than {years} years ahead. Check the year; leave the date "
    "empty when there is none."
)
IN_THE_FUTURE = (
    "{date} is in the future: give the date once it has happened, and leave it "
    "empty until then."
)


def latest_date(today=None):
    """The last day a register date can fall on, seen from ``today``."""
    today = today or timezone.localdate()
    try:
        return today.replace(year=today.year + YEARS_AHEAD)
    except ValueError:
        # 29 February, in a year that has none.
        return today.replace(year=today.year + YEARS_AHEAD, day=28)


def validate_register_date(value):
    """Refuse a date before ``EARLIEST_DATE`` or more than ``YEARS_AHEAD`` ahead."""
    if value is None:
        return
    if value < EARLIEST_DATE:
        raise ValidationError(
            TOO_EARLY.format(date=value.isoformat(), earliest=EARLIEST_DATE.year),
            code="date_too_early",
        )
    if value > latest_date():
        raise ValidationError(
            TOO_LATE.format(date=value.isoformat(), years=YEARS_AHEAD),
            code="date_too_late",
        )


def validate_past_date(value):
    """A register date of something that has happened: not after today."""
    validate_register_date(value)
    if value is not None and value > timezone.localdate():
        raise ValidationError(
            IN_THE_FUTURE.format(date=value.isoformat()), code="date_in_future"
        )
