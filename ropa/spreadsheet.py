"""
Cells that a spreadsheet will never run as a formula (OWASP "CSV injection"),
and text that a spreadsheet cell holds whole.

django-import-export's own escaping strips one leading "=" only; "==1+1", "+",
"-", "@", tab and carriage return pass through, and openpyxl writes any text
starting with "=" as a live formula. Every export goes through ``neutralise``.

An XLSX cell holds at most ``CELL_LIMIT`` characters, and openpyxl cuts longer
text without a word. The register is exported to XLSX, so its free text is
held to that length (``validate_cell_length``, on the models' text fields),
and the XLSX export refuses a longer text rather than cut it.
"""

from django.core.exceptions import ValidationError

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# The most characters an XLSX cell holds (Excel's limit; openpyxl cuts there).
CELL_LIMIT = 32_767
TOO_LONG_FOR_A_CELL = (
    "At most %(limit)s characters, the most a spreadsheet cell holds (the "
    "register is exported to spreadsheets): this text has %(length)s."
)


def neutralise(value):
    """
    ``value`` made safe for a spreadsheet cell.

    Text that a spreadsheet would evaluate is prefixed with an apostrophe, the
    prefix spreadsheets themselves use to mark a cell as text. Numbers, dates
    and other non-text values pass unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def validate_cell_length(value):
    """Refuse text longer than a spreadsheet cell holds (``CELL_LIMIT``)."""
    if len(value) > CELL_LIMIT:
        raise ValidationError(
            TOO_LONG_FOR_A_CELL,
            code="max_length",
            params={"limit": f"{CELL_LIMIT:,}", "length": f"{len(value):,}"},
        )
