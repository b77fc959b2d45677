"""
The yearly review of the register: opening reviews, signing them off, and the
report that ``manage.py yearly_review`` prints and e-mails.

- ``schedule``: cycles, due dates and the querysets that read them;
- ``services``: the writes (opening reviews, signing one off, the system user);
- ``changes``: what changed in a record since its last review, from history;
- ``report``: the report, typed, and whether the register passes ``--check``;
- ``render``: the report as text, CSV or JSON, and by e-mail.

Each module imports only modules listed before it. The names the rest of the project
uses are here.
"""

from ropa.review.changes import ActivityChanges, change_report
from ropa.review.render import (
    RENDERERS,
    REPORT_FORMATS,
    TEXT,
    dpo_addresses,
    email_report,
)
from ropa.review.report import Report, build_report
from ropa.review.schedule import (
    ReviewError,
    due_date,
    next_review_on,
    review_cycle,
    review_overdue_q,
    with_review_schedule,
)
from ropa.review.services import (
    DEFAULT_SYSTEM_USERNAME,
    NOTES_REQUIRED,
    complete_review,
    hold_review_run_lock,
    notes_missing,
    open_reviews,
    system_user,
)

__all__ = [
    "DEFAULT_SYSTEM_USERNAME",
    "NOTES_REQUIRED",
    "RENDERERS",
    "REPORT_FORMATS",
    "TEXT",
    "ActivityChanges",
    "Report",
    "ReviewError",
    "build_report",
    "change_report",
    "complete_review",
    "dpo_addresses",
    "due_date",
    "email_report",
    "hold_review_run_lock",
    "next_review_on",
    "notes_missing",
    "open_reviews",
    "review_cycle",
    "review_overdue_q",
    "system_user",
    "with_review_schedule",
]
