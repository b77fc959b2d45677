"""
Cells that a spreadsheet will never run as a formula (OWASP "CSV injection"),
and text that a spreadsheet cell holds whole.

django-import-export's own escaping strips one leading "=" only; "==1+1", "+",
"-", "@", tab and carriage return pass through, and openpyxl writes any text
starting with "=" as a live formula. A formula can also hide behind leading
spaces (plain, non-breaking, zero-width), quotes, or start with a full-width
equals sign (U+FF1D). ``needs_quote_prefix`` tells such text, and the text
that starts with the apostrophe spreadsheets take as the mark of text.

Such text is kept text in two ways. In an XLSX file, it is a text cell with
Excel's quote-prefix style (``quotePrefix="1"``): shown and edited as typed,
its value unchanged (``ropa.exchange.xlsx``). In CSV, which has no styles, it is
prefixed with an apostrophe (``neutralise``), which an import of our own file
removes again.

An XLSX cell holds at most ``CELL_LIMIT`` characters, and openpyxl cuts longer
text without a word. The register is exported to XLSX, so its free text is
held to that length (``validate_cell_length``, on the models' text fields),
and the XLSX export refuses a longer text rather than cut it.
"""

import re

from django.core.exceptions import ValidationError

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# A formula's first character, behind what a reader may not see or may skip:
# white space (tab, non-breaking and ideographic spaces included), zero-width
# characters and quotes. Full-width signs are formulas to Excel's input method.
_FORMULA_START = re.compile(
    '[\\s\u200b\u200c\u200d\u2060\ufeff"\u201c\u201d\u201e\u2018\u2019]*'
    "[=+\\-@\uff1d\uff0b\uff0d\uff20]"
)

# The most characters an XLSX cell holds (Excel's limit; openpyxl cuts there).
CELL_LIMIT = 32_767
TOO_LONG_FOR_A_CELL = (
    "At most %(limit)s characters, the most a spreadsheet cell holds (the "
    "register is exported to spreadsheets): this text has %(length)s."
)


def needs_quote_prefix(text):
    """
    Whether ``text`` must be marked as text in a spreadsheet: a spreadsheet
    could run it as a formula, or would take its first apostrophe for the
    mark of text and drop it.
    """
    if not text or text[0].isalnum():
        # Most text: decided without the pattern (a register has a million cells).
        return False
    return text[0] in "'\t\r" or _FORMULA_START.match(text) is not None


def neutralise(value):
    """
    ``value`` made safe for a CSV cell.

    Text that ``needs_quote_prefix`` is prefixed with an apostrophe, the
    prefix spreadsheets themselves use to mark a cell as text (so text that
    starts with an apostrophe gets a second one, and ``restore`` can remove
    exactly one). Numbers, dates and other non-text values pass unchanged.
    """
    if isinstance(value, str) and needs_quote_prefix(value):
        return "'" + value
    return value


def restore(value):
    """The text ``neutralise`` was given: its apostrophe removed."""
    if (
        isinstance(value, str)
        and value.startswith("'")
        and needs_quote_prefix(value[1:])
    ):
        return value[1:]
    return value


def validate_cell_length(value):
    """Refuse text longer than a spreadsheet cell holds (``CELL_LIMIT``)."""
    if len(value) > CELL_LIMIT:
        raise ValidationError(
            TOO_LONG_FOR_A_CELL,
            code="max_length",
            params={"limit": f"{CELL_LIMIT:,}", "length": f"{len(value):,}"},
        )
