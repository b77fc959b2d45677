"""
What the import-export resources of every register model share.

Each app declares its models' resources in its own ``resources.py``, and
each admin list offers its own (``resource_classes``). What they share lives
in ``RegisterResource``:

- a cell that a spreadsheet would run as a formula is neutralised on export
  (``ropa.core.spreadsheet``), and restored on import, so a round trip of our
  own file changes nothing: in CSV with an apostrophe before it, in XLSX (the
  ``XLSX`` format below) as a text cell in Excel's quote-prefix style, its
  text as it is;
- a cell is read by the reader of its kind in ``ropa.core.cells``, the one the
  register import uses: text without the whitespace around it, yes / no only
  from words it understands, a whole number only from digits, a date from a
  date cell or year-month-day, a country from its name or code. What a reader
  refuses is an error of its row and field, never silently read as something
  else; an empty cell is empty, never the column's default;
- a related record is written as its name or reference, many-to-many columns
  as names joined with "; "; an unknown name is an error on its row and field,
  never silently dropped;
- a file of more rows or cells than an import reads (``ropa.core.rows``)
  is refused as it is read (``XLSX`` and ``CSV`` below count row by row),
  before any row is read against the register;
- an import applies whole or changes nothing, runs each model's
  ``full_clean()``, saves row by row so that history is written (never bulk),
  and records who imported from which file;
- every file carries each record's ``version``, which an import reads and
  never writes: a row that would change a record saved since the file was
  exported is refused as every import refuses it (``ropa.core.staleness``),
  and nothing is written. New rows make no claim, and a file without the
  column (written by hand, not exported) is not checked;
- an export fetches every related column in the same few queries, whatever
  the number of rows.
"""

import csv
import io
import warnings
import zipfile

import tablib
from django.contrib.auth import get_user_model
from django.core.exceptions import (
    FieldDoesNotExist,
    ImproperlyConfigured,
    ValidationError,
)
from django.db import models
from django.db.models.fields import NOT_PROVIDED
from django_countries.fields import CountryField
from import_export import fields, resources, widgets
from import_export.formats import base_formats
from import_export.results import Error
from openpyxl import load_workbook

from ropa.core.cells import (
    CONTROL_CHARACTERS,
    CellError,
    join_list,
    read_boolean,
    read_country,
    read_date,
    read_names,
    read_text,
    read_whole_number,
    unknown_names,
)
from ropa.core.rows import ReadLimits, TooLarge, check_package, check_table
from ropa.core.spreadsheet import needs_quote_prefix, neutralise, restore
from ropa.core.staleness import saved_meanwhile, stale_reason
from ropa.core.versioning import StaleRecordError

TEXT_FIELDS = (models.CharField, models.TextField)
#: The column holding each record's version: exported, checked on import.
VERSION = "version"
AMBIGUOUS_NAME = "More than one {model} is '{name}'."


def natural_key_field(model):
    """The unique field that names a row of ``model`` in a file, if it has one."""
    if model is get_user_model():
        return model.USERNAME_FIELD
    for name in ("reference", "name"):
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if field.unique:
            return name
    return None


def _blank(value):
    """Whether a cell holds nothing: empty, or whitespace only."""
    return value is None or (isinstance(value, str) and not value.strip())


def _this(instance):
    """The record of a row, as the staleness messages name it."""
    return f"this {instance._meta.verbose_name}"


def _read(reader, value, **options):
    """``reader``'s value of the cell, its refusal as the library expects it."""
    try:
        return reader(value, **options)
    except CellError as error:
        raise ValueError(str(error)) from None


class TextWidget(widgets.CharWidget):
    """
    Text (``ropa.core.cells.read_text``): empty is "" or, where the column
    may be null, None.
    """

    def clean(self, value, row=None, **kwargs):
        text = _read(read_text, value)
        if text == "" and not self.allow_blank:
            return None
        return text


class BooleanWidget(widgets.BooleanWidget):
    """
    Yes / no (``ropa.core.cells.read_boolean``); an empty cell is unknown
    where the model allows it (``nullable``), else an error.

    The library's widget reads any text it does not know as "no".
    """

    def __init__(self, *, nullable=False, **kwargs):
        super().__init__(**kwargs)
        self.nullable = nullable

    def clean(self, value, row=None, **kwargs):
        return _read(read_boolean, value, nullable=self.nullable)


class IntegerWidget(widgets.IntegerWidget):
    """
    A whole number (``ropa.core.cells.read_whole_number``).

    The library's widget truncates a decimal: a period of 2.5 years imported
    as 2.
    """

    def clean(self, value, row=None, **kwargs):
        return _read(read_whole_number, value)


class DateWidget(widgets.DateWidget):
    """
    A date (``ropa.core.cells.read_date``).

    The library's widget reads "03/04/2024" as March 4th, and a workbook's
    date cell as a date-time, which an unchanged row would compare unequal to.
    """

    def clean(self, value, row=None, **kwargs):
        return _read(read_date, value)


class CountryWidget(widgets.CharWidget):
    """A country from its code or English name (``ropa.core.cells.read_country``)."""

    def clean(self, value, row=None, **kwargs):
        return _read(read_country, value)


class NamedForeignKeyWidget(widgets.ForeignKeyWidget):
    """A foreign key written as the related row's name or reference."""

    def clean(self, value, row=None, **kwargs):
        name = _read(read_text, value)
        try:
            return super().clean(name, row, **kwargs)
        except self.model.DoesNotExist:
            raise ValueError(unknown_names(self.model, [name])) from None
        except self.model.MultipleObjectsReturned:
            raise ValueError(
                AMBIGUOUS_NAME.format(model=self.model._meta.verbose_name, name=name)
            ) from None


class NamedManyToManyWidget(widgets.ManyToManyWidget):
    """
    A many-to-many column as names (``ropa.core.cells.read_names``).

    Unlike the library's widget, which drops a name it does not know, an
    unknown name is an error: a category silently missing from an activity
    would be a gap in the record nobody sees.
    """

    def __init__(self, model, field, **kwargs):
        super().__init__(model, separator=";", field=field, **kwargs)

    def clean(self, value, row=None, **kwargs):
        names = _read(read_names, value)
        if not names:
            return []
        found = {
            str(getattr(obj, self.field)): obj
            for obj in self.model.objects.filter(**{f"{self.field}__in": names})
        }
        unknown = [name for name in names if name not in found]
        if unknown:
            raise ValueError(unknown_names(self.model, unknown))
        return [found[name] for name in names]

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return join_list(str(getattr(item, self.field)) for item in value.all())


class Refusal(Error):
    """A file's refusal, as the import page lists it: its reason, no traceback."""

    traceback = ""


class RegisterResource(resources.ModelResource):
    """
    What every register resource shares; see the module docstring.

    Subclasses name their columns in ``Meta.fields`` and the natural key that
    finds an existing row in ``Meta.import_id_fields``. Relations become
    ``Named*Widget`` columns by themselves; a relation whose model has no
    unique name or reference needs a declared field.
    """

    class Meta:
        clean_model_instances = True
        skip_unchanged = True
        # Bulk mode writes no history and drops many-to-many columns.
        use_bulk = False
        use_transactions = True

    @classmethod
    def field_from_django_field(cls, field_name, django_field, readonly):
        if field_name == VERSION:
            # Counted by each save: exported, read to check the row, never set.
            return fields.Field(
                attribute=VERSION,
                column_name=VERSION,
                widget=IntegerWidget(),
                readonly=True,
            )
        if not django_field.is_relation:
            field = super().field_from_django_field(field_name, django_field, readonly)
            # An empty cell is empty, as in the register import: never the
            # column's default, which would hide a value left out.
            field.default = NOT_PROVIDED
            if isinstance(django_field, CountryField):
                field.widget = CountryWidget()
            elif isinstance(django_field, TEXT_FIELDS):
                # An empty spreadsheet cell reads as None; text columns store ""
                # unless they may be null. (The library does this for CharField
                # only, not TextField.)
                field.widget = TextWidget(allow_blank=not django_field.null)
            elif isinstance(django_field, models.BooleanField):
                field.widget = BooleanWidget(nullable=django_field.null)
            elif isinstance(django_field, models.IntegerField):
                field.widget = IntegerWidget()
            elif type(django_field) is models.DateField:
                field.widget = DateWidget()
            return field
        related = django_field.related_model
        key = natural_key_field(related)
        if key is None:
            raise ImproperlyConfigured(
                f"{cls.__name__}: declare the field '{field_name}', "
                f"{related.__name__} has no unique name or reference."
            )
        widget_class = (
            NamedManyToManyWidget
            if django_field.many_to_many
            else NamedForeignKeyWidget
        )
        return fields.Field(
            attribute=field_name,
            column_name=field_name,
            widget=widget_class(related, field=key),
            readonly=readonly,
        )

    # -- export ---------------------------------------------------------------

    def filter_export(self, queryset, **kwargs):
        # One join per foreign-key column and one query per many-to-many column,
        # for the whole export instead of once per row.
        joined, prefetched = [], []
        for field in self.fields.values():
            if isinstance(field.widget, widgets.ManyToManyWidget):
                prefetched.append(field.attribute)
            elif isinstance(field.widget, widgets.ForeignKeyWidget):
                joined.append(field.attribute)
        return queryset.select_related(*joined).prefetch_related(*prefetched)

    def export_field(self, field, instance, **kwargs):
        value = super().export_field(field, instance, **kwargs)
        # An empty cell, not None: with IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT
        # the library writes every cell as str(), and "None" reads back as text.
        if value is None:
            return ""
        return neutralise(value)

    # -- import ---------------------------------------------------------------

    def import_data(self, dataset, **kwargs):
        # An import applies whole or changes nothing: a row that fails
        # validation rolls back the valid ones too.
        kwargs["rollback_on_validation_errors"] = True
        refusal = getattr(dataset, "refusal", None)
        if refusal is None:
            # A table read by another reader than ours (code, tests).
            try:
                check_table(len(dataset) + 1, dataset.width, kwargs.get("file_name"))
            except TooLarge as error:
                refusal = str(error)
        if refusal is not None:
            # Before any row is read against the register.
            result = self.get_result_class()()
            result.diff_headers = self.get_diff_headers()
            result.append_base_error(Refusal(TooLarge(refusal)))
            return result
        return super().import_data(dataset, **kwargs)

    def before_import_row(self, row, **kwargs):
        for column, value in row.items():
            row[column] = restore(value)

    def get_instance(self, instance_loader, row):
        try:
            return super().get_instance(instance_loader, row)
        except ValueError:
            # An unknown name or an unreadable cell in a key column: the row
            # is new, and import_instance reports the value against its field.
            return None

    def import_instance(self, instance, row, **kwargs):
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        if VERSION in row:
            # Kept for validate_instance, which runs only for rows that would
            # change something (skip_unchanged).
            try:
                instance._seen_version = read_whole_number(row[VERSION])
            except CellError as error:
                errors[VERSION] = ValidationError(str(error), code="invalid")
        # Many-to-many columns are written after the row is saved; their names
        # are checked now, so that an unknown one is an error of this row.
        for field in self.get_import_fields():
            if (
                isinstance(field.widget, widgets.ManyToManyWidget)
                and field.column_name in row
            ):
                try:
                    field.clean(row)
                except ValueError as error:
                    errors[field.attribute] = ValidationError(
                        str(error), code="invalid"
                    )
        if errors:
            raise ValidationError(errors)

    def skip_row(self, instance, original, row, import_validation_errors=None):
        # A blank row is skipped. The library would also skip, unvalidated, a
        # new row equal to an empty record: a row whose required name is
        # spaces and whose other cells hold their defaults would pass.
        if instance._state.adding:
            return all(map(_blank, row.values()))
        return super().skip_row(instance, original, row, import_validation_errors)

    def validate_instance(
        self, instance, import_validation_errors=None, validate_unique=True
    ):
        errors = dict(import_validation_errors or {})
        # A new row, or one from a file without the column, makes no claim.
        if (
            VERSION not in errors
            and not instance._state.adding
            and hasattr(instance, "_seen_version")
        ):
            stale = stale_reason(_this(instance), instance, instance._seen_version)
            if stale:
                errors[VERSION] = ValidationError(stale, code="stale")
        super().validate_instance(instance, errors, validate_unique)

    def do_instance_save(self, instance, is_create):
        try:
            super().do_instance_save(instance, is_create)
        except StaleRecordError as error:
            # Saved by someone else since the row was checked: the row is
            # invalid, and the import rolls back.
            reason = saved_meanwhile(_this(instance), instance)
            raise ValidationError(
                {VERSION: ValidationError(reason, code="stale")}
            ) from error

    def before_save_instance(self, instance, row, **kwargs):
        file_name = kwargs.get("file_name")
        instance._change_reason = (
            f"Imported from {file_name}" if file_name else "Imported"
        )
        user = kwargs.get("user")
        if getattr(user, "pk", None) is not None:
            instance._history_user = user

    def after_import(self, dataset, result, **kwargs):
        # ModelResource resets the id sequence here, for files that carry ids.
        # Ours never do (rows are found by natural keys), and on PostgreSQL the
        # reset can move the sequence back under a concurrent import (#2166).
        return resources.Resource.after_import(self, dataset, result, **kwargs)


class XLSX(base_formats.XLSX):
    """
    The library's XLSX format, with formula-like text kept as typed.

    The resources neutralise a cell for every format (``export_field``),
    which in CSV is the apostrophe a spreadsheet takes as the mark of text.
    In a workbook the cell is written instead as a text cell in Excel's
    quote-prefix style, without the apostrophe: the spreadsheet shows it and
    keeps it as the person typed it, and reads back as that text.
    """

    def export_data(self, dataset, **kwargs):
        # A control character no cell can hold (stored before the imports
        # refused it, or typed in a form) is left out, as the register's
        # export leaves it out, rather than fail the whole export.
        for index, row in enumerate(dataset):
            dataset[index] = [
                CONTROL_CHARACTERS.sub("", value) if isinstance(value, str) else value
                for value in row
            ]
        data = super().export_data(dataset, **kwargs)
        with warnings.catch_warnings():
            # The library silences openpyxl's deprecation warnings likewise.
            warnings.simplefilter("ignore", DeprecationWarning)
            workbook = load_workbook(io.BytesIO(data))
        for row in workbook.active.iter_rows(min_row=2):
            for cell in row:
                text = restore(cell.value)
                if text is not cell.value and needs_quote_prefix(text):
                    cell.value = text
                    # Text, though it starts with "=": openpyxl would write a
                    # formula.
                    cell.data_type = "s"
                    cell.quotePrefix = True
        out = io.BytesIO()
        workbook.save(out)
        return out.getvalue()

    def create_dataset(self, in_stream):
        # A workbook's text is as typed, with no apostrophe added: "'=1" is
        # that text. Marked as its CSV cell would be, so that the apostrophe
        # every imported row has removed (``before_import_row``) is that mark.
        dataset = read_active_sheet(in_stream)
        for index, row in enumerate(dataset):
            dataset[index] = [neutralise(value) for value in row]
        return dataset


class CSV(base_formats.CSV):
    """
    The library's CSV format, read row by row within the limits of
    ``ropa.core.rows``: tablib reads the whole file into a table before a
    single row is counted, so a file of a million rows took its time and
    memory before it could be refused.
    """

    def create_dataset(self, in_stream, **kwargs):
        if isinstance(in_stream, bytes) and self.encoding:
            in_stream = in_stream.decode(self.encoding)
        return read_csv(in_stream)


def read_csv(text):
    """
    The table of the CSV ``text`` as tablib reads it (its first row the
    headers, blank lines skipped, a short row padded, a long one refused as
    tablib refuses it), counted row by row; past the limits, a
    ``RefusedDataset``.
    """
    limits = ReadLimits()
    rows = csv.reader(io.StringIO(text))
    try:
        headers = next(rows, [])
        limits.row(1, len(headers))
        dataset = tablib.Dataset(headers=headers)
        for number, values in enumerate(rows, start=2):
            limits.row(number, len(values))
            if values:
                dataset.append([*values, *[""] * (len(headers) - len(values))])
    except TooLarge as error:
        return RefusedDataset(str(error))
    return dataset


class RefusedDataset(tablib.Dataset):
    """
    A file the import does not read, for ``refusal``: no rows, yet true, so
    that the admin's import passes it to the resource, which reports why
    (``RegisterResource.import_data``) rather than "no data to import".
    """

    def __init__(self, refusal):
        super().__init__()
        self.refusal = refusal

    def __bool__(self):
        return True


def read_active_sheet(data):
    """
    The sheet of the workbook ``data`` (bytes) that the library reads (the
    active one: the first, unless the workbook was saved on another; its first
    row the headers), within the limits of ``ropa.core.rows``, which count
    every sheet of the file; past them, a ``RefusedDataset``.

    The library reads every row to the size the sheet declares, padding each
    to its width: a sheet that declares 1,048,576 rows of 16,384 columns is
    read as that. Here each row is as wide as the cells it has, and counted
    before it is kept.
    """
    limits = ReadLimits()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            check_package(archive, None)
        book = load_workbook(
            io.BytesIO(data), read_only=True, data_only=True, keep_links=False
        )
        try:
            sheet = book.active
            sheet.reset_dimensions()
            rows = sheet.iter_rows(values_only=True)
            headers = list(next(rows, ()))
            limits.row(1, len(headers), sheet=sheet.title)
            dataset = tablib.Dataset(headers=headers)
            for number, values in enumerate(rows, start=2):
                limits.row(number, len(values), sheet=sheet.title)
                # As wide as the headers: a cell under no heading is no field's.
                values = values[: len(headers)]
                dataset.append([*values, *[None] * (len(headers) - len(values))])
        finally:
            book.close()
    except TooLarge as error:
        return RefusedDataset(str(error))
    return dataset
