"""
Reading one cell of an imported file: one reader per kind of cell, called by
both imports, the register import (``ropa.exchange``) and the import of each
admin list (``ropa.core.resources``), so that a cell typed the same way reads
the same, or is refused for the same reason, in both.

A cell arrives as openpyxl reads a workbook (text, a number, TRUE or FALSE, a
date) or as the text of a CSV file. A reader returns the value, or raises
``CellError`` saying why it cannot and how to write it:

text
    Without the whitespace around it, as the admin's forms read a field; a
    cell of whitespace only is empty. A number cell reads as the number ("3",
    not "3.0"), a date cell as its ISO date, TRUE / FALSE as yes / no. NUL,
    which PostgreSQL cannot store, is refused, as the admin's forms refuse it;
    so are the other control characters but tab, line feed and carriage
    return, which no spreadsheet cell can hold (XML 1.0 has no place for
    them): the register's XLSX exports could not write them back.
yes / no
    ``YES_WORDS`` and ``NO_WORDS`` in any case, TRUE / FALSE cells and number
    cells holding 1 or 0. Empty is unknown where the column allows it, else
    an error: a yes / no column never silently takes a default.
whole numbers
    Digits only (in any script, as ``int()`` reads them): every number column
    of the register counts something, from 0. "3.0", "+3", "-1", "2.5" and
    "1e3" are refused alike. A number cell holding a whole number is read,
    whether the file stores it as 3 or 3.0.
dates
    A date cell (its time, if any, dropped), or text written year-month-day
    (ISO 8601), as every export writes a date. "03/04/2024" is refused: it
    is a different day to a British and to an American reader.
countries
    An ISO 3166-1 code (alpha-2, alpha-3 or numeric) or an English name, in
    any case; the country's alpha-2 code.
lists
    Names joined with "; " (``join_list``): each name stripped, empty ones
    dropped, each once. A backslash before ";" or "\\" keeps it in the name.
"""

import datetime
import math
import re
import unicodedata

from django_countries import countries

#: Joins the names of a many-to-many cell.
LIST_SEPARATOR = "; "
YES = "yes"
NO = "no"
YES_WORDS = {"yes", "y", "true", "1"}
NO_WORDS = {"no", "n", "false", "0"}
# More digits than any number column takes (the largest is a 64-bit integer):
# refused before int(), which reads at most a few thousand digits.
MAX_DIGITS = 20
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: The most characters of a cell an error message quotes.
EXCERPT = 60

REQUIRED = "Required."
NUL_REFUSED = "Null characters are not allowed."
CONTROL_REFUSED = (
    "The text holds the invisible control character U+{code:04X}, which a "
    "spreadsheet cell cannot hold: delete it, or retype the text."
)
# What XML 1.0, and so an XLSX cell, cannot hold: the C0 controls but tab,
# line feed and carriage return (openpyxl refuses the same).
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
NOT_YES_OR_NO = "'{text}' is not yes or no."
YES_OR_NO_REQUIRED = f"{REQUIRED} Write {YES} or {NO}."
NOT_A_WHOLE_NUMBER = "'{text}' is not a whole number: write digits only, such as 3."
TOO_MANY_DIGITS = (
    "A number of {digits:,} digits is too large to read: no number here has "
    "more than {limit}."
)
NOT_A_DATE = "'{text}' is not a date: write it year-month-day, such as 2024-01-31."
UNKNOWN_COUNTRY = (
    "Unknown country '{text}': write its English name or its ISO 3166-1 code, "
    "such as US or IN."
)
UNKNOWN_NAMES = "Unknown {label}: {names}."


class CellError(Exception):
    """A cell's value cannot be read; the message is the reason."""


def excerpt(text):
    """``text`` as an error message quotes it: its start, when long."""
    return text if len(text) <= EXCERPT else f"{text[:EXCERPT]}…"


def yes_no(value):
    """A boolean as ``yes`` / ``no``; None (unknown) as an empty cell."""
    if value is None:
        return ""
    return YES if value else NO


def iso(value):
    """A date, time or date-time as ISO 8601 text; None as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.isoformat(timespec="seconds")
    return value.isoformat()


def cell_text(value):
    """A cell as the text it shows; empty is ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        # A spreadsheet's dates are date-times at midnight.
        return value.date().isoformat()
    if isinstance(value, (datetime.date, datetime.time)):
        return iso(value)
    return str(value)


def refuse_control_characters(text):
    """``text``, unless it holds a character no cell can hold (``CellError``)."""
    found = CONTROL_CHARACTERS.search(text)
    if found is None:
        return text
    if found[0] == "\x00":
        raise CellError(NUL_REFUSED)
    raise CellError(CONTROL_REFUSED.format(code=ord(found[0])))


def read_text(value):
    """The cell's text without the whitespace around it; "" when empty."""
    return refuse_control_characters(cell_text(value)).strip()


def read_boolean(value, *, nullable=False):
    """
    True or False; None for an empty cell where the column may be unknown
    (``nullable``), else an error.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        # A number cell of a workbook.
        return bool(value)
    text = read_text(value)
    folded = text.casefold()
    if folded in YES_WORDS:
        return True
    if folded in NO_WORDS:
        return False
    if text:
        raise CellError(NOT_YES_OR_NO.format(text=excerpt(text)))
    if nullable:
        return None
    raise CellError(YES_OR_NO_REQUIRED)


def read_whole_number(value):
    """A whole number of 0 or more; None for an empty cell."""
    if isinstance(value, bool):
        raise CellError(NOT_A_WHOLE_NUMBER.format(text=str(value).upper()))
    if isinstance(value, (int, float)):
        # A number cell of a workbook: 3.0 is 3.
        if isinstance(value, float) and not (
            math.isfinite(value) and value.is_integer()
        ):
            raise CellError(NOT_A_WHOLE_NUMBER.format(text=value))
        if value < 0:
            raise CellError(NOT_A_WHOLE_NUMBER.format(text=cell_text(value)))
        return int(value)
    text = read_text(value)
    if not text:
        return None
    if not text.isdecimal():
        raise CellError(NOT_A_WHOLE_NUMBER.format(text=excerpt(text)))
    # Any decimal digit, in any script, as int() reads it.
    significant = "".join(str(unicodedata.decimal(digit)) for digit in text).lstrip("0")
    if len(significant) > MAX_DIGITS:
        raise CellError(
            TOO_MANY_DIGITS.format(digits=len(significant), limit=MAX_DIGITS)
        )
    return int(significant or "0")


def read_date(value):
    """A date; None for an empty cell."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = read_text(value)
    if not text:
        return None
    if ISO_DATE.fullmatch(text):
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            # A day the calendar does not have: 2024-02-30.
            pass
    raise CellError(NOT_A_DATE.format(text=excerpt(text)))


# The names people write for a country that are not its ISO 3166-1 English
# name, folded: short forms, former names, parts of a country.
COMMON_COUNTRY_NAMES = {
    **dict.fromkeys(
        ("united states", "u.s.", "u.s.a.", "america", "united states of america"),
        "US",
    ),
    **dict.fromkeys(
        (
            "uk",
            "u.k.",
            "great britain",
            "britain",
            "england",
            "scotland",
            "wales",
            "northern ireland",
        ),
        "GB",
    ),
    **dict.fromkeys(("korea", "republic of korea", "korea, republic of"), "KR"),
    **dict.fromkeys(("holland", "netherlands"), "NL"),
    **dict.fromkeys(("uae", "u.a.e.", "emirates"), "AE"),
    "russian federation": "RU",
    "czechia": "CZ",
    "ivory coast": "CI",
    "vatican": "VA",
    "macedonia": "MK",
    "swaziland": "SZ",
    "burma": "MM",
    "cape verde": "CV",
    "east timor": "TL",
}


def country_code(text):
    """
    The ISO 3166-1 alpha-2 code for a country's code, its English name or a
    name people commonly write for it ("USA", "UK", "South Korea"), or "".
    """
    text = " ".join(text.split())
    if not text:
        return ""
    if len(text) in (2, 3) or text.isdigit():
        code = countries.alpha2(text)
        if code:
            return code
    folded = text.casefold()
    if folded.startswith("the "):
        folded, text = folded[4:], text[4:]
    return COMMON_COUNTRY_NAMES.get(folded) or countries.by_name(text)


def read_country(value):
    """A country's ISO 3166-1 alpha-2 code; "" for an empty cell."""
    text = read_text(value)
    if not text:
        return ""
    code = country_code(text)
    if not code:
        raise CellError(UNKNOWN_COUNTRY.format(text=excerpt(text)))
    return code


def join_list(names):
    """Names as one cell, in the order given, escaped and joined with "; "."""
    return LIST_SEPARATOR.join(
        name.replace("\\", "\\\\").replace(";", "\\;") for name in names
    )


def split_list(text):
    """The names ``join_list`` joined, unescaped; an empty cell is no names."""
    names, current, chars = [], [], iter(text or "")
    for char in chars:
        if char == "\\":
            current.append(next(chars, ""))
        elif char == ";":
            names.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    names.append("".join(current).strip())
    return [name for name in names if name]


def read_names(value):
    """The names of a list cell, each once, in the order written."""
    text = refuse_control_characters(cell_text(value))
    return list(dict.fromkeys(split_list(text)))


def unknown_names(model, names):
    """The reason naming ``names``, which are no ``model`` the register has."""
    options = model._meta
    label = options.verbose_name if len(names) == 1 else options.verbose_name_plural
    return UNKNOWN_NAMES.format(
        label=label, names=", ".join(repr(name) for name in names)
    )
