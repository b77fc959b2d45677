"""The catalogues that activities pick from, each with its own list."""

from django.contrib import admin

from ropa.admin.scoping import NoImportExportForContributorsMixin
from ropa.core.admin_base import RegisterAdmin
from ropa.models import Recipient, SecurityMeasure
from ropa.resources import RecipientResource, SecurityMeasureResource


@admin.register(SecurityMeasure)
class SecurityMeasureAdmin(NoImportExportForContributorsMixin, RegisterAdmin):
    list_display = ("name", "measure_type", "area", "is_sample")
    list_filter = ("measure_type", "area", "is_sample")
    search_fields = ("name", "description")
    resource_classes = (SecurityMeasureResource,)


@admin.register(Recipient)
class RecipientAdmin(NoImportExportForContributorsMixin, RegisterAdmin):
    list_display = ("name", "recipient_type", "organisation", "country")
    list_filter = ("recipient_type", "country")
    search_fields = ("name", "description", "organisation__name")
    list_select_related = ("organisation",)
    autocomplete_fields = ("organisation",)
    resource_classes = (RecipientResource,)
