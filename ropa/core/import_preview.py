"""
The preview of a list's import (django-import-export), as the register
import's preview reads: every row of the file with its number and what the
import does with it, in the register import's words (new, changed,
unchanged, deleted, invalid), the reasons of an invalid row shown beside it,
counts that are those of the rows listed, and what changed inside a text
word by word (``ropa.core.text_diff``).

The library computes each cell's difference as diff-match-patch HTML, which
marks changed characters, cutting words; ``preview`` reads both texts back
from it and compares them word by word.
"""

from dataclasses import dataclass

from django.core.exceptions import NON_FIELD_ERRORS
from django.utils.html import escape
from import_export.results import RowResult

from ropa.core.rows import ACTIONS, CHANGED, DELETED, INVALID, NEW, UNCHANGED
from ropa.core.text_diff import diff_html, texts_of_pretty_html

ERROR = "error"
#: The register import's word for each of the library's import types.
ACTION_OF = {
    RowResult.IMPORT_TYPE_NEW: NEW,
    RowResult.IMPORT_TYPE_UPDATE: CHANGED,
    RowResult.IMPORT_TYPE_SKIP: UNCHANGED,
    RowResult.IMPORT_TYPE_DELETE: DELETED,
    RowResult.IMPORT_TYPE_INVALID: INVALID,
    RowResult.IMPORT_TYPE_ERROR: ERROR,
}


@dataclass(frozen=True)
class PreviewLine:
    """One row of the file as the preview lists it."""

    number: int | None
    action: str
    # The reasons an invalid row is refused, as "column: reason".
    errors: list
    # One HTML cell per column of the file.
    cells: list


def _cell(html):
    before, after = texts_of_pretty_html(html)
    if before == after:
        return escape(after)
    return diff_html(before, after)


def _reasons(invalid):
    reasons = []
    for field, messages in invalid.error_dict.items():
        where = "" if field == NON_FIELD_ERRORS else f"{field}: "
        reasons += [f"{where}{message}" for message in messages]
    return reasons


def preview(result):
    """
    The lines and the counts of the preview of ``result`` (a dry run's), as
    (lines, [(action, count)]).
    """
    invalid_rows = iter(result.invalid_rows)
    # A row result per row of the file, skipped ones too (report_skipped), in
    # the file's order: their positions are the rows' numbers.
    numbered = len(result.rows) == result.total_rows
    lines = []
    for position, row in enumerate(result.rows, start=1):
        action = ACTION_OF.get(row.import_type, row.import_type)
        if action == INVALID:
            invalid = next(invalid_rows)
            lines.append(
                PreviewLine(
                    invalid.number,
                    action,
                    _reasons(invalid),
                    [
                        escape("" if value is None else value)
                        for value in invalid.values
                    ],
                )
            )
            continue
        lines.append(
            PreviewLine(
                position if numbered else None,
                action,
                [str(error.error) for error in row.errors],
                [_cell(html) for html in row.diff or ()],
            )
        )
    counts = [
        (action, sum(1 for line in lines if line.action == action))
        for action in (*ACTIONS, ERROR)
    ]
    return lines, counts
