"""The catalogues that activities pick from, each with its own list."""

from django.contrib import admin

# Registered first, to be limited below.
import controllers.admin  # noqa: F401
import subjects.admin  # noqa: F401
from ropa.admin.scoping import ContributorLimitsMixin, limit_contributors
from ropa.core.admin_base import RegisterAdmin
from ropa.models import Recipient, SecurityMeasure
from ropa.resources import RecipientResource, SecurityMeasureResource


@admin.register(SecurityMeasure)
class SecurityMeasureAdmin(ContributorLimitsMixin, RegisterAdmin):
    list_display = ("name", "measure_type", "area", "is_sample")
    list_filter = ("measure_type", "area", "is_sample")
    search_fields = ("name", "description")
    resource_classes = (SecurityMeasureResource,)


@admin.register(Recipient)
class RecipientAdmin(ContributorLimitsMixin, RegisterAdmin):
    list_display = ("name", "recipient_type", "organisation", "country")
    list_filter = ("recipient_type", "country")
    search_fields = ("name", "description", "organisation__name")
    list_select_related = ("organisation",)
    autocomplete_fields = ("organisation",)
    resource_classes = (RecipientResource,)


# The parties (controllers) and the categories (subjects) of the register: a
# contributor neither imports nor exports them, nor looks through them at
# another function's activities.
limit_contributors(admin.site, ("controllers", "subjects"))
