"""
The review report as text, CSV or JSON, and by e-mail to the DPOs.

Dates and moments become text here only: ISO dates, and moments in the local
time zone to the second.
"""

import csv
import dataclasses
import datetime
import io
import json
from collections.abc import Iterable
from dataclasses import is_dataclass

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import Q
from django.utils import timezone

from controllers.models import DataProtectionOfficer
from ropa.completeness import Gap
from ropa.core.spreadsheet import neutralise
from ropa.enums import ActivityStatus
from ropa.review.changes import NEVER_REVIEWED, Edit, Ref
from ropa.review.report import (
    ART30_GAPS,
    CHANGES_SINCE_REVIEW,
    HIGH_RISK_WITHOUT_DPIA,
    JOINT_ARRANGEMENTS,
    PROCESSOR_AGREEMENTS,
    RETENTION_RULES,
    REVIEWS_DUE,
    REVIEWS_OPENED,
    REVIEWS_OVERDUE,
    SECTIONS,
    TITLES,
    Report,
)
from ropa.review.schedule import ReviewError

TEXT = "text"
CSV = "csv"
JSON = "json"
REPORT_FORMATS = (TEXT, CSV, JSON)
CSV_COLUMNS = ("section", "reference", "activity", "item", "detail", "date", "by")

#: What a dry run says instead: it opened nothing.
DRY_RUN_TITLES = {REVIEWS_OPENED: "Reviews that would be opened"}

NO_DPO_ADDRESS = (
    "No DPO e-mail address to send the report to: name a data protection "
    "officer on a group company (or on an organisation responsible for an "
    "active activity)."
)


def _moment(value: datetime.datetime) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds")


def _title(report, section):
    return (report.dry_run and DRY_RUN_TITLES.get(section)) or TITLES[section]


def summary_line(report: Report) -> str:
    opened = "would be opened" if report.dry_run else "opened"
    counts = [
        f"{len(report.reviews_opened)} {opened}",
        f"{len(report.reviews_overdue)} overdue",
        f"{len(report.reviews_due)} open",
    ]
    failures = report.check.failures
    state = "needs attention: " + "; ".join(failures) if failures else "all in order"
    return f"Reviews {', '.join(counts)}. Register {state}."


# ---------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------


def _edits_text(edits: Iterable[Edit]) -> str:
    shown = [
        f"{edit.by or 'unknown user'}, "
        f"{timezone.localtime(edit.at).strftime('%Y-%m-%d %H:%M')}"
        for edit in edits
    ]
    return f" ({'; '.join(shown)})" if shown else ""


def _quoted(value, limit=80):
    if value == "":
        return "(empty)"
    text = " ".join(str(value).split())
    return f'"{text[: limit - 1]}…"' if len(text) > limit else f'"{text}"'


def _names(refs):
    return ", ".join(str(ref) for ref in refs)


def _change_lines(entry):
    if entry.note == NEVER_REVIEWED:
        yield "never reviewed: the whole record is to be reviewed"
        return
    if entry.note:
        yield entry.note
    for change in entry.fields:
        yield (
            f"{change.label}: {_quoted(change.old)} → {_quoted(change.new)}"
            f"{_edits_text(change.edits)}"
        )
    for link in entry.links:
        parts = []
        if link.added:
            parts.append("added " + _names(link.added))
        if link.removed:
            parts.append("removed " + _names(link.removed))
        yield f"{link.label}: {'; '.join(parts)}{_edits_text(link.edits)}"
    for event in entry.rows:
        labels = ", ".join(change.label for change in event.changes)
        what = f"{event.action} {labels}".strip()
        yield f"{event.model} '{event.row}': {what}{_edits_text([event.edit])}"
    if not (entry.fields or entry.links or entry.rows):
        yield "no change"


def _days_overdue(row):
    days = row.days_overdue
    return f"{days} day overdue" if days == 1 else f"{days} days overdue"


def _head(reference, name):
    return f"{reference} {name}".strip()


def _section_lines(section, row):
    if section in (REVIEWS_OPENED, REVIEWS_OVERDUE, REVIEWS_DUE):
        line = (
            f"{_head(row.reference, row.activity)}: {row.cycle} cycle, due {row.due_on}"
        )
        yield f"{line}, {_days_overdue(row)}" if section == REVIEWS_OVERDUE else line
    elif section == ART30_GAPS:
        yield _head(row.reference, row.activity)
        yield from (f"  {gap}" for gap in row.missing)
    elif section == PROCESSOR_AGREEMENTS:
        yield (
            f"{row.reference} {row.processor} for {row.controller}: "
            f"{row.status} {row.expires_on}; used by {', '.join(row.activities)}"
        )
    elif section == JOINT_ARRANGEMENTS:
        yield (
            f"{_head(row.reference, row.name)}: {row.status}, "
            f"review on {row.review_on}; used by {', '.join(row.activities)}"
        )
    elif section == RETENTION_RULES:
        yield (
            f"{_head(row.reference, row.activity)}, {row.data}: "
            f"{'; '.join(row.reasons)}"
        )
    elif section == HIGH_RISK_WITHOUT_DPIA:
        yield f"{_head(row.reference, row.activity)}: DPIA {row.dpia_status.lower()}"


def render_text(report: Report) -> str:
    lines = [
        f"Yearly review of the register, {report.cycle} cycle, as of "
        f"{report.as_of} (review interval {report.review_interval_days} days)"
    ]
    if report.dry_run:
        lines.append("Dry run: nothing was saved.")
    for section in SECTIONS:
        rows = getattr(report, section)
        lines += ["", f"{_title(report, section)} ({len(rows)})"]
        lines += [f"  {line}" for row in rows for line in _section_lines(section, row)]
        if not rows:
            lines.append("  None.")
    entries = report.changes
    lines += ["", f"{TITLES[CHANGES_SINCE_REVIEW]} ({len(entries)} activities)"]
    for entry in entries:
        since = entry.last_reviewed_on
        lines.append(
            f"  {entry.reference} {entry.activity}"
            + (f" (last reviewed {since})" if since else "")
        )
        lines += [f"    {line}" for line in _change_lines(entry)]
    if not entries:
        lines.append("  None.")
    lines += ["", summary_line(report)]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------


def _last_edit(edits):
    if not edits:
        return ("", "")
    return (_moment(edits[-1].at), ", ".join(dict.fromkeys(e.by or "" for e in edits)))


def _section_cells(section, row):
    if section in (REVIEWS_OPENED, REVIEWS_OVERDUE, REVIEWS_DUE):
        yield (
            row.reference,
            row.activity,
            f"{row.cycle} cycle",
            _days_overdue(row) if section == REVIEWS_OVERDUE else "",
            row.due_on.isoformat(),
            "",
        )
    elif section == ART30_GAPS:
        for gap in row.missing:
            yield (
                row.reference,
                row.activity,
                f"Art. {gap.element} {gap.title}",
                gap.reason,
                "",
                "",
            )
    elif section == PROCESSOR_AGREEMENTS:
        yield (
            row.reference,
            "; ".join(row.activities),
            f"{row.processor} for {row.controller}",
            row.status,
            row.expires_on.isoformat(),
            "",
        )
    elif section == JOINT_ARRANGEMENTS:
        yield (
            row.reference,
            "; ".join(row.activities),
            row.name,
            row.status,
            row.review_on.isoformat(),
            "",
        )
    elif section == RETENTION_RULES:
        yield (row.reference, row.activity, row.data, "; ".join(row.reasons), "", "")
    elif section == HIGH_RISK_WITHOUT_DPIA:
        yield (row.reference, row.activity, "DPIA", row.dpia_status, "", "")


def _change_cells(entry):
    if entry.note:
        since = _moment(entry.since) if entry.since else ""
        yield ("", entry.note, since, "")
    for change in entry.fields:
        yield (
            change.label,
            f"{change.old} → {change.new}",
            *_last_edit(change.edits),
        )
    for link in entry.links:
        detail = "; ".join(
            part
            for part in (
                "added: " + _names(link.added) if link.added else "",
                "removed: " + _names(link.removed) if link.removed else "",
            )
            if part
        )
        yield (link.label, detail, *_last_edit(link.edits))
    for event in entry.rows:
        labels = ", ".join(change.label for change in event.changes)
        yield (
            f"{event.model}: {event.row}",
            f"{event.action} {labels}".strip(),
            _moment(event.at),
            event.by or "",
        )


def _csv_rows(report):
    for section in SECTIONS:
        for row in getattr(report, section):
            for cells in _section_cells(section, row):
                yield (section, *cells)
    for entry in report.changes:
        for cells in _change_cells(entry):
            yield (CHANGES_SINCE_REVIEW, entry.reference, entry.activity, *cells)


def render_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in _csv_rows(report):
        writer.writerow([neutralise(value) for value in row])
    return out.getvalue()


# ---------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------


def _plain(value):
    """``value`` as JSON data: rows as objects, dates and moments as ISO text."""
    if isinstance(value, Report):
        return {**_fields(value), "check": _plain(value.check)}
    if isinstance(value, Gap):
        # Its key names a completeness rule inside the register, not for readers.
        return {"element": value.element, "title": value.title, "reason": value.reason}
    if isinstance(value, Ref):
        return str(value)
    if is_dataclass(value):
        return _fields(value)
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if isinstance(value, datetime.datetime):
        return _moment(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _fields(value):
    return {
        field.name: _plain(getattr(value, field.name))
        for field in dataclasses.fields(value)
    }


def render_json(report: Report) -> str:
    return json.dumps(_plain(report), indent=2, ensure_ascii=False)


RENDERERS = {TEXT: render_text, CSV: render_csv, JSON: render_json}


# ---------------------------------------------------------------------------
# E-mail
# ---------------------------------------------------------------------------


def dpo_addresses() -> list[str]:
    """The DPOs of the group companies and of the register's controllers."""
    addresses = (
        DataProtectionOfficer.objects.filter(
            Q(organisations__is_group_company=True)
            | Q(organisations__activities__status=ActivityStatus.ACTIVE)
        )
        .exclude(email="")
        .order_by("email")
        .values_list("email", flat=True)
        .distinct()
    )
    addresses = list(addresses)
    if not addresses:
        raise ReviewError(NO_DPO_ADDRESS)
    return addresses


def email_report(report: Report, *, recipients: list[str]) -> None:
    """Send the report to ``recipients``: text in the body, the CSV attached."""
    message = EmailMessage(
        subject=f"Yearly review {report.cycle} as of {report.as_of}: "
        + ("all in order" if report.check.passed else "needs attention"),
        body=render_text(report),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.attach(f"yearly-review-{report.as_of}.csv", render_csv(report), "text/csv")
    message.send()
