"""
Cells that a spreadsheet will never run as a formula (OWASP "CSV injection").

django-import-export's own escaping strips one leading "=" only; "==1+1", "+",
"-", "@", tab and carriage return pass through, and openpyxl writes any text
starting with "=" as a live formula. Every export goes through ``neutralise``.
"""

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


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
