"""
Password rules beside Django's own (``AUTH_PASSWORD_VALIDATORS``).

Django's validators let through two kinds of long but guessable passwords
that attackers try early: one character or a short pattern repeated
("aaaaaaaaaaaa", "abcabcabcabc"), and a season or month followed by a year
and symbols ("Summer2024!!", "Januari2025#"), the shape that password expiry
policies breed. They apply wherever Django validates a password: the admin's
forms for adding a user and changing a password, ``createsuperuser`` and
``changepassword``.
"""

import re
import unicodedata

from django.core.exceptions import ValidationError

TOO_FEW_DISTINCT = (
    "This password repeats too few different characters: use at least "
    "{minimum} different ones."
)
SEASONAL = (
    "This password is a season or a month followed by digits or symbols "
    "(like “Summer2024!”), which is among the first things guessed."
)

#: Seasons and months, in English and Swedish (the register's default
#: language and time zone are British and Swedish), without accents.
CALENDAR_WORDS = frozenset(
    {
        # English
        "spring",
        "summer",
        "autumn",
        "fall",
        "winter",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        # Swedish
        "var",
        "sommar",
        "host",
        "vinter",
        "januari",
        "februari",
        "mars",
        "maj",
        "juni",
        "juli",
        "augusti",
        "oktober",
    }
)
#: Digits and symbols read as the letters they stand in for ("Summ3r").
LOOK_ALIKES = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)


class DistinctCharactersValidator:
    """Refuse a password made of fewer than ``min_distinct`` different characters."""

    def __init__(self, min_distinct=6):
        self.min_distinct = min_distinct

    def validate(self, password, user=None):
        if len(set(password.casefold())) < self.min_distinct:
            raise ValidationError(
                TOO_FEW_DISTINCT.format(minimum=self.min_distinct),
                code="password_too_few_distinct",
            )

    def get_help_text(self):
        return (
            f"Your password must use at least {self.min_distinct} different characters."
        )


class SeasonalPasswordValidator:
    """
    Refuse a season or month (in any case, with look-alike digits) followed
    only by digits and symbols: "Summer2024!!", "DECEMBER-2023", "Summ3r#2025".
    """

    def validate(self, password, user=None):
        if is_seasonal(password):
            raise ValidationError(SEASONAL, code="password_seasonal")

    def get_help_text(self):
        return (
            "Your password cannot be a season or a month followed by a year or symbols."
        )


def is_seasonal(password):
    """Whether ``password`` is a calendar word, then digits and symbols only."""
    folded = _without_accents(password).casefold()
    # The word is everything up to the last letter; digits and symbols before
    # it may be look-alikes ("summ3r"), those after it are the "year!!" tail.
    match = re.fullmatch(r"[^a-z]*?(?P<word>[a-z0-9@$]*[a-z])[^a-z]*", folded)
    if match is None:
        return False
    word = match["word"].translate(LOOK_ALIKES)
    return word in CALENDAR_WORDS


def _without_accents(text):
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))
