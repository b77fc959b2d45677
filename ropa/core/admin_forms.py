"""
What the register's admin forms share beside their models' rules.

Posted ids: a value that the table's key cannot hold (text for a numeric id,
an id beyond the column's range) is refused, as not a choice, before any
query. Django looks such values up as they come: the autocomplete widget does
so even to show the form again with its errors (a ValueError), and a list of
ids beyond 64 bits raises OverflowError on SQLite.

Inline rows: a formset builds at most ``max_num`` rows (or the rows the record
already has, if more), so that a tampered TOTAL_FORMS is refused with the
formset's error instead of building thousands of forms; and the rows it adds
or changes are checked for uniqueness against the record's rows it did not
show, which Django leaves to the database.
"""

from django import forms
from django.conf import settings
from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.core.exceptions import ValidationError
from django.db import models
from django.forms.formsets import TOTAL_FORM_COUNT
from django.forms.utils import flatatt
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django_countries.fields import CountryField


def holds(key, value):
    """Whether ``value``, as posted, can be a value of the model field ``key``."""
    while key.is_relation:
        key = key.target_field
    try:
        # The validators of an integer key include its column's range.
        key.run_validators(key.to_python(value))
    except ValidationError:
        return False
    return True


def _key_of(form_field):
    """The model field a model choice field finds its records by."""
    opts = form_field.queryset.model._meta
    if form_field.to_field_name:
        return opts.get_field(form_field.to_field_name)
    return opts.pk


class RecordChoiceField(forms.ModelChoiceField):
    """A record picked by its id: an id the table cannot hold is not a choice."""

    def to_python(self, value):
        if (
            value not in self.empty_values
            and not isinstance(value, self.queryset.model)
            and not holds(_key_of(self), value)
        ):
            raise ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return super().to_python(value)


class RecordMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Records picked by their ids: an id the table cannot hold is not a choice."""

    def clean(self, value):
        values = self.prepare_value(value)
        if isinstance(values, (list, tuple)):
            key = _key_of(self)
            for pk in values:
                if not holds(key, pk):
                    raise ValidationError(
                        self.error_messages["invalid_pk_value"],
                        code="invalid_pk_value",
                        params={"pk": pk},
                    )
        return super().clean(value)


class CheckedAutocompleteMixin:
    """
    An autocomplete widget that shows again only the posted values its table
    can hold: Django's filters the related table on every posted value.
    """

    def optgroups(self, name, value, attr=None):
        remote = self.field.remote_field
        opts = remote.model._meta
        key = opts.get_field(getattr(remote, "field_name", opts.pk.name))
        return super().optgroups(
            name, [choice for choice in value if holds(key, choice)], attr
        )


class CheckedAutocompleteSelect(CheckedAutocompleteMixin, AutocompleteSelect):
    pass


class CheckedAutocompleteSelectMultiple(
    CheckedAutocompleteMixin, AutocompleteSelectMultiple
):
    pass


class LineTextField(forms.CharField):
    """
    A text area's text with its line breaks as stored: browsers send every
    line break of a text area as CRLF, so a record saved unchanged would
    otherwise have each multi-line text rewritten, recorded as changed in its
    history, and compared unequal with its own export.
    """

    def to_python(self, value):
        value = super().to_python(value)
        if isinstance(value, str):
            value = value.replace("\r\n", "\n").replace("\r", "\n")
        return value


def _options(choices, selected):
    """The ``<option>`` (and ``<optgroup>``) elements of ``choices``, escaped."""
    for value, label in choices:
        if isinstance(label, list | tuple):
            options = "".join(_options(label, selected))
            yield f'<optgroup label="{escape(value)}">{options}</optgroup>'
        else:
            mark = " selected" if str(value) in selected else ""
            yield f'<option value="{escape(value)}"{mark}>{escape(label)}</option>'


class SearchableSelect(forms.Select):
    """A select of many options (the countries) that the user can type into."""

    def __init__(self, attrs=None, choices=()):
        super().__init__({"class": "searchable-select", **(attrs or {})}, choices)

    def render(self, name, value, attrs=None, renderer=None):
        # The options written in one pass: through Django's select template, a
        # template per option, the ~250 countries of each transfer row (and of
        # the empty row) took ~8 ms a list on the activity's page.
        selected = set(self.format_value(value))
        return format_html(
            '<select name="{}"{}>\n{}\n</select>',
            name,
            flatatt(self.build_attrs(self.attrs, attrs)),
            # Each option's value and label are escaped in _options.
            mark_safe("\n".join(_options(self.choices, selected))),  # noqa: S308
        )

    @property
    def media(self):
        # The admin's own jQuery and select2, named as its autocomplete
        # widgets name them, so that a page with both loads each once.
        extra = "" if settings.DEBUG else ".min"
        return forms.Media(
            js=(
                f"admin/js/vendor/jquery/jquery{extra}.js",
                f"admin/js/vendor/select2/select2.full{extra}.js",
                "admin/js/jquery.init.js",
                "ropa/searchable_select.js",
            ),
            css={"screen": (f"admin/css/vendor/select2/select2{extra}.css",)},
        )


class CheckedRelatedFieldsMixin:
    """
    For a ModelAdmin or an inline: its foreign key and many-to-many fields,
    autocomplete or not, check the posted ids before looking them up; its
    text areas keep line breaks as stored (``LineTextField``).
    """

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.TextField) and not db_field.choices:
            kwargs.setdefault("form_class", LineTextField)
        if isinstance(db_field, CountryField):
            kwargs.setdefault("widget", SearchableSelect)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(
            request
        ):
            kwargs["widget"] = CheckedAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        kwargs.setdefault("form_class", RecordChoiceField)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(
            request
        ):
            kwargs["widget"] = CheckedAutocompleteSelectMultiple(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        kwargs.setdefault("form_class", RecordMultipleChoiceField)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class CheckedInputMixin(CheckedRelatedFieldsMixin):
    """
    For a ModelAdmin: its related fields check the posted ids, its list the
    ids of the rows selected for an action, and its search (the list's and
    the autocomplete's of the fields that pick its records) the term.
    """

    def get_search_results(self, request, queryset, search_term):
        if "\x00" in search_term:
            # No text the register stores holds NUL, and PostgreSQL refuses
            # it in a query. The list's search form refuses it already; the
            # autocomplete view passes its term on unchecked.
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)

    def response_action(self, request, queryset):
        # Django filters the list on the selected ids as posted; those that
        # cannot be an id select nothing ("Items must be selected...").
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        usable = [pk for pk in selected if holds(self.opts.pk, pk)]
        if usable != selected:
            request.POST = request.POST.copy()
            request.POST.setlist(helpers.ACTION_CHECKBOX_NAME, usable)
        return super().response_action(request, queryset)


ROW_NOT_SHOWN = "{message} It was not shown here: reload the page to see it."
ROWS_GONE = (
    "{rows} deleted by someone else while the page was open. Nothing was "
    "saved: reload the page to see the record as it is now."
)


class RegisterInlineFormSet(forms.BaseInlineFormSet):
    """
    The rows of a record in its form.

    When more rows are posted than it accepts, it builds only the record's own
    rows to show again with the error, not the posted count.

    Django checks that the rows posted are unique among themselves; a row of
    the record that the post leaves out (added since the page was shown, or
    left out of a crafted INITIAL_FORMS) is compared here, so that a row
    repeating it is refused with the form rather than by the database.
    """

    def total_form_count(self):
        total = super().total_form_count()
        if (
            self.is_bound
            and self.management_form.cleaned_data[TOTAL_FORM_COUNT] > self.absolute_max
        ):
            return min(total, len(self.get_queryset()))
        return total

    def rows_not_shown(self):
        """The record's rows that no form of this post stands for."""
        shown = {form.instance.pk for form in self.initial_forms}
        return [row for row in self.get_queryset() if row.pk not in shown]

    def changed_forms(self):
        """The forms whose rows this post adds or changes."""
        return [
            form
            for form in self.forms
            if not (self.can_delete and self._should_delete_form(form))
            and hasattr(form, "cleaned_data")
            and form.has_changed()
        ]

    def clean(self):
        super().clean()
        self._refuse_rows_gone()
        hidden = self.rows_not_shown()
        if not hidden:
            return
        for fields in self._unique_with_record():
            attnames = [self.model._meta.get_field(name).attname for name in fields]
            taken = {tuple(getattr(row, name) for name in attnames) for row in hidden}
            for form in self.changed_forms():
                values = tuple(getattr(form.instance, name) for name in attnames)
                if None not in values and values in taken:
                    message = form.instance.unique_error_message(self.model, fields)
                    form.add_error(
                        None, ROW_NOT_SHOWN.format(message=" ".join(message.messages))
                    )

    def _refuse_rows_gone(self):
        # A row deleted since the page was shown has no form on the page shown
        # again (the admin pairs forms with the rows that exist): its error
        # is the formset's, shown above the rows.
        gone = sum(
            1
            for form in self.initial_forms
            if form.instance._state.adding
            and not (self.can_delete and self._should_delete_form(form))
        )
        if not gone:
            return
        opts = self.model._meta
        rows = (
            f"A {opts.verbose_name} you were editing was"
            if gone == 1
            else f"{gone} {opts.verbose_name_plural} you were editing were"
        )
        raise ValidationError(ROWS_GONE.format(rows=rows), code="rows_gone")

    def _unique_with_record(self):
        """The sets of fields unique among the rows of one record."""
        opts = self.model._meta
        sets = [
            *opts.unique_together,
            *(constraint.fields for constraint in opts.total_unique_constraints),
        ]
        return [tuple(fields) for fields in sets if self.fk.name in fields]


class RegisterInlineMixin:
    """
    An inline of a ``RegisterInlineFormSet`` of at most ``max_num`` rows. Its
    formset accepts no more, or no more than the record already has if it
    has more (an import may add them): a posted TOTAL_FORMS beyond is refused
    with the formset's own error ("Please submit at most ... forms") without
    building the posted rows.
    """

    formset = RegisterInlineFormSet
    max_num = 50

    def get_fieldsets(self, request, obj=None):
        # A field the form declares is validated whether or not the page shows
        # it: the version a row was shown at is rendered (hidden) with the row,
        # or the browser never posts it and no row with it could be saved.
        fieldsets = super().get_fieldsets(request, obj)
        declared = [
            name
            for name, field in self.form.base_fields.items()
            if field.widget.is_hidden and name in self.form.declared_fields
        ]
        shown = set(flatten_fieldsets(fieldsets))
        missing = [name for name in declared if name not in shown]
        # Rows the user may not change are shown read-only, and never saved.
        if not missing or not self.has_change_permission(request, obj):
            return fieldsets
        *before, (title, options) = fieldsets
        return [
            *before,
            (title, {**options, "fields": (*options["fields"], *missing)}),
        ]

    def get_formset(self, request, obj=None, **kwargs):
        limit = self.get_max_num(request, obj, **kwargs)
        if limit is None:
            return super().get_formset(request, obj, **kwargs)
        formset = super().get_formset(request, obj, absolute_max=limit, **kwargs)
        if obj is not None and obj.pk is not None:
            # The record's rows are all shown: a save never fails for having them.
            rows = self.get_queryset(request).filter(**{formset.fk.name: obj}).count()
            formset.absolute_max = max(limit, rows)
        return formset
