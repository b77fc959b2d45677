"""
Cells that a spreadsheet will never run as a formula (OWASP "CSV injection"),
and text that a spreadsheet cell holds whole.

django-import-export's own escaping strips one leading "=" only; "==1+1", "+",
"-", "@", tab and carriage return pass through, and openpyxl writes any text
starting with "=" as a live formula. A formula can also hide behind what a
reader does not see or may skip before it: white space of any kind (spaces,
tabs, line breaks, non-breaking and ideographic spaces), invisible format
characters (zero-width spaces and joiners, the byte order mark, direction
marks, the soft hyphen), combining marks, blank letters (the Hangul fillers,
the blank Braille pattern), and quotes, straight or typographic. Its sign can
be a compatibility form of "=", "+", "-" or "@" (full-width, as Japanese and
Chinese input methods type them, small or superscript) or the minus sign
(U+2212). ``needs_quote_prefix`` tells such text, text whose leading blanks
hold a tab or a carriage return (OWASP's other prefixes), and the text that
starts with the apostrophe spreadsheets take as the mark of text.

Such text is kept text in two ways. In an XLSX file, it is a text cell with
Excel's quote-prefix style (``quotePrefix="1"``): shown and edited as typed,
its value unchanged (``ropa.exchange.xlsx``). In CSV, which has no styles, it is
prefixed with an apostrophe (``neutralise``), which an import of our own file
removes again (``restore``): an import gives back exactly the text exported.

An XLSX cell holds at most ``CELL_LIMIT`` characters, and openpyxl cuts longer
text without a word. The register is exported to XLSX, so its free text is
held to that length (``validate_cell_length``, on the models' text fields),
and the XLSX export refuses a longer text rather than cut it.
"""

import unicodedata

from django.core.exceptions import ValidationError

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# The signs a formula starts with. A character stands for one when Unicode's
# compatibility normalisation (NFKC) makes it one: the full-width (U+FF1D),
# small (U+FE66) and superscript (U+207C) equals signs are "=". The minus
# sign (U+2212), which superscript and subscript minus normalise to, reads as
# "-" too.
SIGNS = frozenset("=+-@\u2212")
# Before the sign, what a reader skips or does not show: white space, format
# and control characters, combining marks (Unicode categories), and quotes.
SKIPPED_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Mn", "Me", "Pi", "Pf"})
# Letters and symbols shown as nothing: the Hangul fillers, the blank Braille
# pattern. (Letters, so that the quick test below must not pass them.)
BLANK_CHARACTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Quotes that are not of the categories above (Pi, Pf): straight, low-9,
# full-width, CJK corner brackets and double primes, accents and primes
# typed for quotes.
QUOTES = frozenset(
    "'\"`\u00b4\u201a\u201e\u2032\u2033\uff02\uff07\uff40\uff62\uff63"
    "\u300c\u300d\u300e\u300f\u301d\u301e\u301f\ufe41\ufe42\ufe43\ufe44"
)
# OWASP's prefixes that are not signs: a tab or carriage return among the
# blanks before the text.
BLANK_PREFIXES = frozenset("\t\r")
# The mark of text a spreadsheet takes away from the start of a cell.
APOSTROPHE = "'"

# The most characters an XLSX cell holds (Excel's limit; openpyxl cuts there).
CELL_LIMIT = 32_767
TOO_LONG_FOR_A_CELL = (
    "At most %(limit)s characters, the most a spreadsheet cell holds (the "
    "register is exported to spreadsheets): this text has %(length)s."
)


def is_skipped(character):
    """
    Whether a spreadsheet, or a reader, may skip ``character`` before a
    formula's sign: white space, what is shown as nothing, a quote.
    """
    return (
        character.isspace()
        or character in QUOTES
        or character in BLANK_CHARACTERS
        or unicodedata.category(character) in SKIPPED_CATEGORIES
    )


def is_formula_sign(character):
    """Whether ``character`` is, or stands for, "=", "+", "-" or "@"."""
    if character in SIGNS:
        return True
    return unicodedata.normalize("NFKC", character)[:1] in SIGNS


def needs_quote_prefix(text):
    """
    Whether ``text`` must be marked as text in a spreadsheet: a spreadsheet
    could run it as a formula, or would take its first apostrophe for the
    mark of text and drop it.
    """
    if not text:
        return False
    first = text[0]
    if first.isalnum() and first not in BLANK_CHARACTERS:
        # Most text: decided at its first character (a register has a
        # million cells). No letter or digit stands for a formula's sign.
        return False
    if first == APOSTROPHE:
        return True
    for character in text:
        if character in BLANK_PREFIXES:
            return True
        if not is_skipped(character):
            return is_formula_sign(character)
    return False


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
