"""
Import and export of every register model, one resource per model.

The admin list of each model offers its resource (see ``RESOURCES``). What
they share lives in ``RegisterResource``:

- a cell that a spreadsheet would run as a formula is neutralised on export
  (``ropa.core.spreadsheet``), and restored on import, so a round trip of our own
  file changes nothing: in CSV with an apostrophe before it, in XLSX (the
  ``XLSX`` format below) as a text cell in Excel's quote-prefix style, its
  text as it is;
- a cell is read as the admin's forms read a field: text without the
  whitespace around it (a required column of spaces only is empty, an error
  of its row), a yes / no column only from words it understands, a whole
  number only from a whole number; anything else is an error of its row and
  field, never silently read as something else;
- a related record is written as its name or reference, many-to-many columns
  as names joined with "; "; an unknown name is an error on its row and field,
  never silently dropped;
- an import applies whole or changes nothing, runs each model's
  ``full_clean()``, saves row by row so that history is written (never bulk),
  and records who imported from which file;
- every file carries each record's ``version`` (``ropa.core.versioning``), which
  an import reads and never writes: a row that would change a record saved
  since the file was exported is an error saying who changed it, when and
  what, and nothing is written. New rows ignore it, and a file without the
  column (written by hand, not exported) is not checked;
- an export fetches every related column in the same few queries, whatever
  the number of rows.
"""

import datetime
import io
import math
import re
import warnings

from django.contrib.auth import get_user_model
from django.core.exceptions import (
    FieldDoesNotExist,
    ImproperlyConfigured,
    ValidationError,
)
from django.db import models
from import_export import fields, resources, widgets
from import_export.formats import base_formats
from openpyxl import load_workbook

from controllers.models import (
    DataProtectionOfficer,
    JointControllerArrangement,
    Organisation,
    ProcessorAgreement,
)
from ropa.core.spreadsheet import needs_quote_prefix, neutralise, restore
from ropa.core.versioning import StaleRecordError, what_changed
from ropa.exchange.reading import NO_WORDS, YES_WORDS
from ropa.models import (
    FunctionMembership,
    InternationalTransfer,
    LawfulBasis,
    ProcessingActivity,
    Recipient,
    RetentionRule,
    Review,
    SecurityMeasure,
)
from subjects.models import DataSubjectCategory, PersonalDataCategory

#: Joins the names of a many-to-many column; a name never contains it.
SEPARATOR = "; "
TEXT_FIELDS = (models.CharField, models.TextField)
COMPLETED_REVIEW_DUE_ON = "A completed review keeps the due date it was signed off on."
#: The column holding each record's version: exported, checked on import.
VERSION = "version"
REDO = "export the list again and redo the edit."
STALE = (
    "This {model} was changed by {user} at {moment} after this file was "
    "exported ({changes}): " + REDO
)
VERSION_AHEAD = (
    "This {model} is at version {current}, not {seen}: this file was not "
    "exported from the register as it stands; " + REDO
)
VERSION_EMPTY = (
    "Empty: a row that changes a {model} needs the version it was exported at; " + REDO
)


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


def _stripped(value):
    return value.strip() if isinstance(value, str) else value


def _blank(value):
    """Whether a cell holds nothing: empty, or whitespace only."""
    return value is None or (isinstance(value, str) and not value.strip())


def _shown(text, limit=60):
    """``text`` for an error message: cut when long, as a cell may be huge."""
    return text if len(text) <= limit else f"{text[:limit]}…"


class TextWidget(widgets.CharWidget):
    """
    Text as the admin's forms read it: without the whitespace around it, so
    that a cell of whitespace only is empty ("" or, where the column may be
    null, None), and a required column left empty is an error of its row.
    """

    def clean(self, value, row=None, **kwargs):
        value = super().clean(value, row, **kwargs)
        if isinstance(value, str):
            value = value.strip()
        if value == "" and not self.allow_blank:
            return None
        return value


class BooleanWidget(widgets.BooleanWidget):
    """
    A yes / no column that reads only what it understands.

    The library's widget reads any text it does not know as "no", so "yes"
    imported as no. Read here: what our exports write (1 and 0 in CSV, TRUE
    and FALSE cells in XLSX), and yes / no, y / n, true / false, 1 / 0 in any
    case. An empty cell is None: the column's default, or unknown where the
    model allows it. Anything else is an error naming the value.
    """

    def clean(self, value, row=None, **kwargs):
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            # A number cell of a workbook.
            return bool(value)
        text = str(value).strip()
        if not text:
            return None
        if text.casefold() in YES_WORDS:
            return True
        if text.casefold() in NO_WORDS:
            return False
        raise ValueError(f"'{_shown(text)}' is not yes or no: write yes or no.")


class IntegerWidget(widgets.IntegerWidget):
    """
    A whole number, and nothing else.

    The library's widget truncates a decimal (a period of 2.5 years imported
    as 2). Read here: a whole number written in digits, or a workbook's number
    cell holding one (3 or 3.0); a decimal or text is an error naming it.
    """

    #: Longer text is no number a column of the register holds, and is not
    #: read: ``int()`` of a string refuses more than 4,300 digits.
    MAX_LENGTH = 40
    WHOLE = re.compile(r"[+-]?[0-9]+(?:\.0*)?")
    DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+)")

    def clean(self, value, row=None, **kwargs):
        if value is None:
            return None
        if isinstance(value, bool):
            # A TRUE or FALSE cell of a workbook.
            raise ValueError(f"'{value}' is not a number.")
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            # A number cell of a workbook: 3.0 is 3.
            if not math.isfinite(value):
                raise ValueError(f"'{value}' is not a number.")
            if not value.is_integer():
                raise ValueError(f"'{value}' is not a whole number.")
            return int(value)
        text = str(value).strip()
        if not text:
            return None
        if len(text) > self.MAX_LENGTH:
            raise ValueError(
                f"'{_shown(text)}' is too long to be a number "
                f"({len(text):,} characters)."
            )
        if self.WHOLE.fullmatch(text):
            return int(text.partition(".")[0])
        if self.DECIMAL.fullmatch(text):
            raise ValueError(f"'{text}' is not a whole number.")
        raise ValueError(f"'{text}' is not a number.")


class DateWidget(widgets.DateWidget):
    """A date, also from a spreadsheet cell that holds a date and a time."""

    def clean(self, value, row=None, **kwargs):
        value = super().clean(value, row, **kwargs)
        # A workbook's date cell reads as a datetime: compared with the stored
        # date, an unchanged row would look changed.
        if isinstance(value, datetime.datetime):
            return value.date()
        return value


class NamedForeignKeyWidget(widgets.ForeignKeyWidget):
    """A foreign key written as the related row's name or reference."""

    def clean(self, value, row=None, **kwargs):
        value = _stripped(value)
        try:
            return super().clean(value, row, **kwargs)
        except self.model.DoesNotExist:
            raise ValueError(
                f"There is no {self.model._meta.verbose_name} '{value}'."
            ) from None
        except self.model.MultipleObjectsReturned:
            raise ValueError(
                f"More than one {self.model._meta.verbose_name} is '{value}'."
            ) from None


class DataProtectionOfficerWidget(NamedForeignKeyWidget):
    """A DPO written as ``Name <email>``: two DPOs may share a name."""

    PATTERN = re.compile(r"^(?P<name>[^<>]*?)\s*<(?P<email>[^<>\s]+)>$")

    def __init__(self, **kwargs):
        super().__init__(DataProtectionOfficer, **kwargs)

    def get_lookup_kwargs(self, value, row, **kwargs):
        match = self.PATTERN.match(str(value))
        if match is None:
            raise ValueError(
                f"Write the data protection officer as 'Name <email>', not '{value}'."
            )
        return {"name": match["name"], "email": match["email"]}

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else str(value)


class NamedManyToManyWidget(widgets.ManyToManyWidget):
    """
    A many-to-many column as names joined with ``SEPARATOR``.

    Unlike the library's widget, which drops a name it does not know, an
    unknown name is an error: a category silently missing from an activity
    would be a gap in the record nobody sees.
    """

    def __init__(self, model, field, **kwargs):
        super().__init__(model, separator=SEPARATOR.strip(), field=field, **kwargs)

    def clean(self, value, row=None, **kwargs):
        if value is None:
            return []
        names = [name.strip() for name in str(value).split(self.separator)]
        names = list(dict.fromkeys(name for name in names if name))
        if not names:
            return []
        found = {
            str(getattr(obj, self.field)): obj
            for obj in self.model.objects.filter(**{f"{self.field}__in": names})
        }
        unknown = [name for name in names if name not in found]
        if unknown:
            plural = self.model._meta.verbose_name_plural
            listed = ", ".join(f"'{name}'" for name in unknown)
            raise ValueError(f"Unknown {plural}: {listed}.")
        return [found[name] for name in names]

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return SEPARATOR.join(str(getattr(item, self.field)) for item in value.all())


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
            if isinstance(django_field, TEXT_FIELDS):
                # An empty spreadsheet cell reads as None; text columns store ""
                # unless they may be null. (The library does this for CharField
                # only, not TextField.)
                field.widget = TextWidget(allow_blank=not django_field.null)
            elif isinstance(django_field, models.BooleanField):
                field.widget = BooleanWidget()
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
        return super().import_data(dataset, **kwargs)

    def before_import_row(self, row, **kwargs):
        for column, value in row.items():
            row[column] = restore(value)

    def get_instance(self, instance_loader, row):
        try:
            return super().get_instance(instance_loader, row)
        except (ValueError, ArithmeticError):
            # An unknown name or a bad number in a key column: the row is new,
            # and import_instance reports the value against its field.
            return None

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        try:
            super().import_field(field, instance, row, is_m2m, **kwargs)
        except ArithmeticError:
            # What the number widgets raise for text, which reads as a crash.
            raise ValueError(f"'{row[field.column_name]}' is not a number.") from None

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
                instance._seen_version = self.fields[VERSION].clean(row)
            except (ValueError, ArithmeticError):
                errors[VERSION] = ValidationError(
                    f"'{row[VERSION]}' is not a version number.", code="invalid"
                )
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
        # The library skips a new row equal to an empty record, unvalidated: a
        # row whose required name is spaces and whose other cells hold their
        # defaults would pass as "skipped". Only a blank row is skipped so.
        if instance._state.adding and not all(map(_blank, row.values())):
            return False
        return super().skip_row(instance, original, row, import_validation_errors)

    def validate_instance(
        self, instance, import_validation_errors=None, validate_unique=True
    ):
        errors = dict(import_validation_errors or {})
        if VERSION not in errors:
            stale = self.stale_reason(instance)
            if stale:
                errors[VERSION] = ValidationError(stale, code="stale")
        super().validate_instance(instance, errors, validate_unique)

    @staticmethod
    def stale_reason(instance):
        """
        Why a row that changes ``instance`` is refused, or "" when the file has
        the version ``instance`` is at (or, new or from a file without the
        column, makes no claim).
        """
        if instance._state.adding or not hasattr(instance, "_seen_version"):
            return ""
        seen, current = instance._seen_version, instance.version
        model = instance._meta.verbose_name
        if seen == current:
            return ""
        if seen is None:
            return VERSION_EMPTY.format(model=model)
        if seen > current:
            return VERSION_AHEAD.format(model=model, seen=seen, current=current)
        return STALE.format(model=model, **what_changed(instance, seen))

    def do_instance_save(self, instance, is_create):
        try:
            super().do_instance_save(instance, is_create)
        except StaleRecordError as error:
            # Saved by someone else since the row was checked: the row is
            # invalid, and the import rolls back.
            reason = STALE.format(
                model=instance._meta.verbose_name,
                **what_changed(instance, instance.version),
            )
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


# ---------------------------------------------------------------------------
# controllers
# ---------------------------------------------------------------------------


class DataProtectionOfficerResource(RegisterResource):
    class Meta:
        model = DataProtectionOfficer
        fields = ("name", "email", "phone", "engagement", "address", "version")
        import_id_fields = ("name", "email")


class OrganisationResource(RegisterResource):
    dpo = fields.Field(
        attribute="dpo", column_name="dpo", widget=DataProtectionOfficerWidget()
    )

    class Meta:
        model = Organisation
        fields = (
            "name",
            "slug",
            "registration_number",
            "country",
            "address",
            "email",
            "phone",
            "website",
            "is_group_company",
            "parent",
            "dpo",
            "representative",
            "version",
        )
        import_id_fields = ("name",)


class JointControllerArrangementResource(RegisterResource):
    class Meta:
        model = JointControllerArrangement
        fields = (
            "reference",
            "name",
            "parties",
            "joint_scope",
            "scope",
            "responsibilities",
            "contact_point",
            "essence",
            "essence_published",
            "document_reference",
            "signed_on",
            "review_on",
            "version",
        )
        import_id_fields = ("reference",)


class ProcessorAgreementResource(RegisterResource):
    class Meta:
        model = ProcessorAgreement
        fields = (
            "reference",
            "processor",
            "controller",
            "services",
            "document_reference",
            "signed_on",
            "expires_on",
            "sub_processors",
            "transfers_covered",
            "version",
        )
        import_id_fields = ("reference",)


# ---------------------------------------------------------------------------
# subjects
# ---------------------------------------------------------------------------


class DataSubjectCategoryResource(RegisterResource):
    class Meta:
        model = DataSubjectCategory
        fields = ("name", "description", "vulnerable", "is_sample", "version")
        import_id_fields = ("name",)


class PersonalDataCategoryResource(RegisterResource):
    class Meta:
        model = PersonalDataCategory
        fields = (
            "name",
            "description",
            "examples",
            "sensitivity",
            "special_category",
            "is_sample",
            "version",
        )
        import_id_fields = ("name",)


# ---------------------------------------------------------------------------
# ropa
# ---------------------------------------------------------------------------


class SecurityMeasureResource(RegisterResource):
    class Meta:
        model = SecurityMeasure
        fields = ("name", "measure_type", "area", "description", "is_sample", "version")
        import_id_fields = ("name",)


class RecipientResource(RegisterResource):
    class Meta:
        model = Recipient
        fields = (
            "name",
            "recipient_type",
            "organisation",
            "country",
            "description",
            "version",
        )
        import_id_fields = ("name",)


class ProcessingActivityResource(RegisterResource):
    # Set by the database on save: exported, never imported.
    created_at = fields.Field(
        attribute="created_at",
        column_name="created_at",
        widget=widgets.DateTimeWidget(),
        readonly=True,
    )
    updated_at = fields.Field(
        attribute="updated_at",
        column_name="updated_at",
        widget=widgets.DateTimeWidget(),
        readonly=True,
    )

    class Meta:
        model = ProcessingActivity
        fields = (
            "reference",
            "status",
            "role",
            "organisations",
            "joint_arrangement",
            "joint_processing",
            "client_controllers",
            "name",
            "purpose",
            "business_function",
            "owner",
            "data_subject_categories",
            "personal_data_categories",
            "data_source",
            "recipients",
            "processor_agreements",
            "security_measures",
            "security_description",
            "systems",
            "data_location",
            "profiling",
            "profiling_description",
            "profiling_in_notice",
            "dpia_required",
            "dpia_status",
            "dpia_reference",
            "rights_information",
            "opt_out_information",
            "consent_record_reference",
            "breach_reference",
            "retention_policy_reference",
            "retention_policy_followed",
            "retention_policy_deviation",
            "in_notice",
            "notice_order",
            "notice_title",
            "notice_text",
            "created_at",
            "updated_at",
            "version",
        )
        import_id_fields = ("reference",)


class LawfulBasisResource(RegisterResource):
    class Meta:
        model = LawfulBasis
        fields = (
            "activity",
            "basis",
            "explanation",
            "legitimate_interest",
            "assessment_reference",
            "special_category_condition",
            "criminal_data_authority",
            "is_sample",
            "version",
        )
        import_id_fields = ("activity", "basis")


class InternationalTransferResource(RegisterResource):
    class Meta:
        model = InternationalTransfer
        fields = (
            "activity",
            "country",
            "international_organisation",
            "recipient",
            "mechanism",
            "safeguards_documentation",
            "tia_reference",
            "notes",
            "version",
        )
        # No database key: a transfer is its activity, destination and recipient.
        import_id_fields = (
            "activity",
            "country",
            "international_organisation",
            "recipient",
        )


class RetentionRuleResource(RegisterResource):
    class Meta:
        model = RetentionRule
        fields = (
            "activity",
            "personal_data_category",
            "period",
            "period_unit",
            "criteria",
            "trigger",
            "end_action",
            "legal_reference",
            "is_sample",
            "version",
        )
        import_id_fields = ("activity", "personal_data_category")


class ReviewResource(RegisterResource):
    # Signed off through "Mark reviewed" only (see ReviewAdmin), which records
    # who signed: exported, never imported.
    completed_on = fields.Field(
        attribute="completed_on",
        column_name="completed_on",
        widget=DateWidget(),
        readonly=True,
    )
    reviewer = fields.Field(
        attribute="reviewer",
        column_name="reviewer",
        widget=NamedForeignKeyWidget(
            get_user_model(), field=get_user_model().USERNAME_FIELD
        ),
        readonly=True,
    )
    outcome = fields.Field(
        attribute="outcome",
        column_name="outcome",
        widget=widgets.CharWidget(),
        readonly=True,
    )

    class Meta:
        model = Review
        fields = (
            "activity",
            "cycle",
            "due_on",
            "completed_on",
            "reviewer",
            "outcome",
            "notes",
            "version",
        )
        import_id_fields = ("activity", "cycle")

    def import_instance(self, instance, row, **kwargs):
        signed_off_due_on = instance.due_on if instance.completed_on else None
        super().import_instance(instance, row, **kwargs)
        if signed_off_due_on is not None and instance.due_on != signed_off_due_on:
            raise ValidationError({"due_on": COMPLETED_REVIEW_DUE_ON})


class FunctionMembershipResource(RegisterResource):
    user = fields.Field(
        attribute="user",
        column_name="user",
        widget=NamedForeignKeyWidget(
            get_user_model(), field=get_user_model().USERNAME_FIELD
        ),
    )

    class Meta:
        model = FunctionMembership
        fields = ("user", "business_function", "version")
        import_id_fields = ("user", "business_function")


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


#: The resource of each register model, as its admin list offers it.
RESOURCES = {
    resource._meta.model: resource
    for resource in (
        DataProtectionOfficerResource,
        OrganisationResource,
        JointControllerArrangementResource,
        ProcessorAgreementResource,
        DataSubjectCategoryResource,
        PersonalDataCategoryResource,
        SecurityMeasureResource,
        RecipientResource,
        ProcessingActivityResource,
        LawfulBasisResource,
        InternationalTransferResource,
        RetentionRuleResource,
        ReviewResource,
        FunctionMembershipResource,
    )
}
