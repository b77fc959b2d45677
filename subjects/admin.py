from django.contrib import admin

from ropa.core.admin_base import RegisterAdmin

from .models import DataSubjectCategory, PersonalDataCategory
from .resources import DataSubjectCategoryResource, PersonalDataCategoryResource


@admin.register(DataSubjectCategory)
class DataSubjectCategoryAdmin(RegisterAdmin):
    list_display = ("name", "vulnerable", "is_sample")
    list_filter = ("vulnerable", "is_sample")
    search_fields = ("name", "description")
    resource_classes = (DataSubjectCategoryResource,)


@admin.register(PersonalDataCategory)
class PersonalDataCategoryAdmin(RegisterAdmin):
    list_display = ("name", "sensitivity", "special_category", "is_sample")
    list_filter = ("sensitivity", "special_category", "is_sample")
    search_fields = ("name", "description", "examples")
    resource_classes = (PersonalDataCategoryResource,)
