"""
Reading one cell of an imported register: each column's reader takes the
cell and the import's ``Lookups``, and reads the cell with the reader of its
kind in ``ropa.core.cells`` (the one the admin lists' import uses too), or,
for a choice or a name of the catalogue, here. What it cannot read is a
``CellError`` that says why.

A formula saved without its value (``Uncalculated``) is refused wherever it
is read, never read as an empty cell; so is a control character no cell can
hold (``ropa.core.cells.refuse_control_characters``).
"""

from collections import defaultdict
from functools import cached_property

from django.contrib.auth import get_user_model

from controllers.models import (
    JointControllerArrangement,
    Organisation,
    ProcessorAgreement,
)
from ropa.core import cells
from ropa.core.cells import REQUIRED, CellError, unknown_names
from ropa.exchange.workbook import FORMULA_WITHOUT_VALUE, Uncalculated
from ropa.models import (
    Recipient,
    SecurityMeasure,
)
from subjects.models import DataSubjectCategory, PersonalDataCategory

NOT_A_CHOICE = "'{text}' is not one of: {allowed}."
CHOICE_REQUIRED = REQUIRED + " Write one of: {allowed}."


def _calculated(value):
    """``value``, unless it is a formula saved without its value."""
    if isinstance(value, Uncalculated):
        raise CellError(FORMULA_WITHOUT_VALUE.format(formula=value.shown))
    return value


def cell_text(value):
    """
    ``ropa.core.cells.cell_text``, refusing a formula without its value and
    a control character no cell can hold.
    """
    return cells.refuse_control_characters(cells.cell_text(_calculated(value)))


def read_text(value, lookups):
    return cells.read_text(_calculated(value))


def read_key(value, lookups):
    """
    A key (a Reference): the cell's text, stripped. A formula without its
    value keys its row by the formula, which no record has.
    """
    if isinstance(value, Uncalculated):
        return value.formula
    return cells.cell_text(value).strip()


def read_reference(value, lookups):
    """
    The Reference column as a column: a formula without its value, or a
    control character, is refused.
    """
    return cell_text(value).strip()


def heading_text(value):
    """A header or label cell as text; a formula without its value is empty."""
    if isinstance(value, Uncalculated):
        return ""
    return cells.cell_text(value)


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
        text = read_text(value, lookups)
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


def read_boolean(*, nullable=False):
    """A reader of a yes / no column; empty is unknown only where ``nullable``."""

    def read(value, lookups):
        return cells.read_boolean(_calculated(value), nullable=nullable)

    return read


def read_whole_number(value, lookups):
    return cells.read_whole_number(_calculated(value))


def read_country(value, lookups):
    return cells.read_country(_calculated(value))


class Catalogue:
    """The rows of one model, found by the texts the register names them by."""

    def __init__(self, queryset, *keys):
        self.keys = keys
        self.model = queryset.model
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
        return unknown_names(self.model, names)


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
        text = read_text(value, lookups)
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
        for name in cells.read_names(_calculated(value)):
            instance = getattr(lookups, catalogue).find(name)
            if instance is None:
                unknown.append(name)
            else:
                found[instance.pk] = instance
        if unknown:
            raise CellError(getattr(lookups, catalogue).unknown(unknown))
        return list(found.values())

    return read
