"""
Whether a row of an imported file may change the record it names, for every
import: the register import (``ropa.exchange``) and the import of each admin
list (``ropa.core.resources``).

Every export writes each record's ``version`` (``ropa.core.versioning``). A
row that changes a record must carry the version the record had when the
file was exported: a record saved since is refused with who changed it,
when and what; a version the record has not reached, or none, is refused as
not from an export of the register as it stands. New rows make no claim, and
a row that changes nothing is not checked.
"""

from django.utils import timezone
from django.utils.text import capfirst

from ropa.core.versioning import what_changed

REDO = "export again and redo the edit in the new file."
STALE_ROW = (
    "{key} was changed by {user} at {moment} after this file was exported "
    "({changes}): " + REDO
)
VERSION_AHEAD = (
    "{key} is at version {current}, not {seen}: this file was not exported "
    "from the register as it stands; " + REDO
)
VERSION_EMPTY = (
    "The version is empty: a row that changes {key} needs the version it was "
    "exported at; " + REDO
)


def stale_reason(key, instance, seen):
    """
    Why a row that changes ``instance`` and carries version ``seen`` is
    refused, or "" when ``instance`` is still at that version. ``key`` names
    the record as the file does ("PA-0003", "this recipient").
    """
    current = instance.version
    if seen == current:
        return ""
    if seen is None:
        reason = VERSION_EMPTY.format(key=key)
    elif seen > current:
        reason = VERSION_AHEAD.format(key=key, seen=seen, current=current)
    else:
        reason = STALE_ROW.format(key=key, **what_changed(instance, seen))
    return capfirst(reason)


def saved_meanwhile(key, instance):
    """
    Why a row is refused whose record was saved by someone else between the
    check and the write (``StaleRecordError``).
    """
    return capfirst(
        STALE_ROW.format(key=key, **what_changed(instance, instance.version))
    )


def who_and_when(record):
    """The user and local time of a history row, as ``what_changed`` words them."""
    return {
        "user": record.history_user or "someone",
        "moment": timezone.localtime(record.history_date).strftime("%Y-%m-%d %H:%M"),
    }
