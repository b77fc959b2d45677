"""
Reading one cell of an imported sheet: text, choices, yes / no, whole
numbers, countries, and the names of catalogue entries (``Lookups``), each
refusing what it cannot read with a ``CellError`` that says why.
"""

import datetime
import re
import unicodedata
from collections import defaultdict
from functools import cached_property

from django.contrib.auth import get_user_model
from django_countries import countries

from controllers.models import (
    JointControllerArrangement,
    Organisation,
    ProcessorAgreement,
)
from ropa.exchange import layout as fmt
from ropa.exchange.workbook import FORMULA_WITHOUT_VALUE, Uncalculated
from ropa.models import (
    Recipient,
    SecurityMeasure,
)
from subjects.models import DataSubjectCategory, PersonalDataCategory

REQUIRED = "Required."
# More digits than any number column takes (the largest is a 64-bit integer):
# refused before int(), which reads at most a few thousand digits.
MAX_DIGITS = 20
TOO_MANY_DIGITS = (
    "A number of {digits:,} digits is too large to read: no number here has "
    "more than {limit}."
)
NOT_A_CHOICE = "'{text}' is not one of: {allowed}."
CHOICE_REQUIRED = REQUIRED + " Write one of: {allowed}."


class CellError(Exception):
    """A cell's value cannot be read; the message is the reason."""


def cell_text(value):
    """
    A cell as text; empty is "". A formula saved without its value is
    refused (``CellError``), never read as empty.
    """
    if isinstance(value, Uncalculated):
        raise CellError(FORMULA_WITHOUT_VALUE.format(formula=value.shown))
    if value is None:
        return ""
    if isinstance(value, bool):
        return fmt.yes_no(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        # A spreadsheet's dates are date-times at midnight.
        return value.date().isoformat()
    if hasattr(value, "isoformat"):
        return fmt.iso(value)
    return str(value)


def read_text(value, lookups):
    """The cell's text as it is; text of whitespace only is empty (as in a form)."""
    text = cell_text(value)
    return text if text.strip() else ""


def read_key(value, lookups):
    """
    A key (a Reference): the cell's text, stripped. A formula without its
    value keys its row by the formula, which no record has.
    """
    if isinstance(value, Uncalculated):
        return value.formula
    return cell_text(value).strip()


def read_reference(value, lookups):
    """The Reference column as a column: a formula without its value is refused."""
    cell_text(value)
    return read_key(value, lookups)


def heading_text(value):
    """A header or label cell as text; a formula without its value is empty."""
    if isinstance(value, Uncalculated):
        return ""
    return cell_text(value)


class ChoiceReader:
    """
    A reader of a choice: from its label, as the export writes it, or its
    stable code, in any case; or from a label the file was written with
    (``Lookups.file_labels``), should it have been reworded since.
    """

    def __init__(self, choices, *, blank=False):
        self.choices = choices
        self.blank = blank
        self.by_text = {}
        for code, label in choices.choices:
            self.by_text[code.casefold()] = code
            self.by_text[str(label).casefold()] = code
        # What a person is told to write: the labels, as the cells show them.
        self.allowed = "; ".join(str(label) for label in choices.labels)

    def __call__(self, value, lookups):
        text = cell_text(value).strip()
        if not text:
            if self.blank:
                return ""
            raise CellError(CHOICE_REQUIRED.format(allowed=self.allowed))
        folded = text.casefold()
        code = self.by_text.get(folded)
        if code is None:
            code = lookups.file_labels.get(self.choices, {}).get(folded)
        if code is None:
            raise CellError(NOT_A_CHOICE.format(text=text, allowed=self.allowed))
        return code


def read_choice(choices, *, blank=False):
    """A reader of a choice of ``choices`` (a ``ChoiceReader``)."""
    return ChoiceReader(choices, blank=blank)


YES_WORDS = {"yes", "y", "true", "1"}
NO_WORDS = {"no", "n", "false", "0"}


def read_boolean(*, nullable=False):
    def read(value, lookups):
        if isinstance(value, bool):
            return value
        text = cell_text(value).strip().casefold()
        if text in YES_WORDS:
            return True
        if text in NO_WORDS:
            return False
        if not text and nullable:
            return None
        if not text:
            raise CellError(f"{REQUIRED} Write {fmt.YES} or {fmt.NO}.")
        raise CellError(f"'{cell_text(value)}' is not {fmt.YES} or {fmt.NO}.")

    return read


def read_whole_number(value, lookups):
    if isinstance(value, bool):
        raise CellError("Write a whole number.")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = cell_text(value).strip()
    if not text:
        return None
    if re.fullmatch(r"\d+", text):
        # Any decimal digit, in any script, as int() reads it.
        digits = "".join(str(unicodedata.decimal(digit)) for digit in text)
        significant = digits.lstrip("0")
        if len(significant) > MAX_DIGITS:
            raise CellError(
                TOO_MANY_DIGITS.format(digits=len(significant), limit=MAX_DIGITS)
            )
        return int(significant or "0")
    raise CellError(f"'{text}' is not a whole number.")


def country_code(text):
    """The ISO 3166-1 alpha-2 code for a country's code or English name, or ""."""
    text = text.strip()
    if not text:
        return ""
    if len(text) in (2, 3) or text.isdigit():
        code = countries.alpha2(text)
        if code:
            return code
    return countries.by_name(text)


def read_country(value, lookups):
    text = cell_text(value).strip()
    if not text:
        return ""
    code = country_code(text)
    if not code:
        raise CellError(
            f"Unknown country '{text}': write its ISO 3166-1 code, e.g. US or IN."
        )
    return code


class Catalogue:
    """The rows of one model, found by the texts the register names them by."""

    def __init__(self, queryset, *keys):
        self.keys = keys
        self.label = str(queryset.model._meta.verbose_name)
        self.plural = str(queryset.model._meta.verbose_name_plural)
        self.exact = {}
        self.folded = defaultdict(dict)
        for instance in queryset:
            self.add(instance)

    def add(self, instance):
        for key in self.keys:
            text = getattr(instance, key)
            if text:
                self.exact[text] = instance
                self.folded[text.casefold()][instance.pk or id(instance)] = instance

    def find(self, text):
        """The one row named ``text`` (exactly, else in any case), or None."""
        if text in self.exact:
            return self.exact[text]
        matches = list(self.folded.get(text.casefold(), {}).values())
        return matches[0] if len(matches) == 1 else None

    def name_of(self, instance):
        return getattr(instance, self.keys[0])

    def unknown(self, names):
        """The reason naming rows that are not in the catalogue."""
        label = self.label if len(names) == 1 else self.plural
        return f"Unknown {label}: {', '.join(repr(name) for name in names)}."


class Lookups:
    """The catalogues an import names records by, each read once, when needed."""

    def __init__(self, file_labels=None):
        # {TextChoices: {folded label: code}}: the labels a file was written
        # with (its For the import sheet).
        self.file_labels = file_labels or {}

    @cached_property
    def organisations(self):
        return Catalogue(Organisation.objects.all(), "name", "slug")

    @cached_property
    def arrangements(self):
        return Catalogue(JointControllerArrangement.objects.all(), "reference")

    @cached_property
    def agreements(self):
        return Catalogue(ProcessorAgreement.objects.all(), "reference")

    @cached_property
    def subjects(self):
        return Catalogue(DataSubjectCategory.objects.all(), "name")

    @cached_property
    def data(self):
        return Catalogue(PersonalDataCategory.objects.all(), "name")

    @cached_property
    def recipients(self):
        return Catalogue(Recipient.objects.all(), "name")

    @cached_property
    def measures(self):
        return Catalogue(SecurityMeasure.objects.all(), "name")

    @cached_property
    def users(self):
        model = get_user_model()
        return Catalogue(model._default_manager.all(), model.USERNAME_FIELD)


def read_one(catalogue):
    """A reader of a foreign key named by its natural key; empty is none."""

    def read(value, lookups):
        text = cell_text(value).strip()
        if not text:
            return None
        found = getattr(lookups, catalogue).find(text)
        if found is None:
            raise CellError(getattr(lookups, catalogue).unknown([text]))
        return found

    return read


def read_many(catalogue):
    """A reader of a many-to-many list; every unknown name is an error."""

    def read(value, lookups):
        found, unknown = {}, []
        for name in fmt.split_list(cell_text(value)):
            instance = getattr(lookups, catalogue).find(name)
            if instance is None:
                unknown.append(name)
            else:
                found[instance.pk] = instance
        if unknown:
            raise CellError(getattr(lookups, catalogue).unknown(unknown))
        return list(found.values())

    return read
