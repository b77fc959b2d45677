"""
The categories of data subjects and of personal data, in the admin.

What a contributor may not do here (import, export, look through a record at
another function's activities) is added by ``ropa.admin.catalogue``: the
register's roles live above this app.
"""

from django.contrib import admin

from ropa.core.admin_base import RegisterAdmin

from .enums import CnilGroup
from .models import DataSubjectCategory, PersonalDataCategory
from .resources import DataSubjectCategoryResource, PersonalDataCategoryResource


@admin.register(DataSubjectCategory)
class DataSubjectCategoryAdmin(RegisterAdmin):
    list_display = ("name", "vulnerable", "is_sample")
    list_filter = ("vulnerable", "is_sample")
    search_fields = ("name", "description")
    resource_classes = (DataSubjectCategoryResource,)


class CnilGroupFilter(admin.SimpleListFilter):
    """By CNIL group, with the categories not yet grouped as a choice of its own."""

    title = "CNIL category group"
    parameter_name = "cnil_group"
    NOT_GROUPED = "none"

    def lookups(self, request, model_admin):
        return [(self.NOT_GROUPED, "Not grouped"), *CnilGroup.choices]

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.NOT_GROUPED:
            return queryset.filter(cnil_group="")
        if value in CnilGroup.values:
            return queryset.filter(cnil_group=value)
        return queryset


@admin.register(PersonalDataCategory)
class PersonalDataCategoryAdmin(RegisterAdmin):
    list_display = ("name", "sensitivity", "special_category", "is_sample")
    list_filter = ("sensitivity", "special_category", CnilGroupFilter, "is_sample")
    search_fields = ("name", "description", "examples")
    resource_classes = (PersonalDataCategoryResource,)
