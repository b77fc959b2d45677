"""The rows of an activity that have their own list across activities."""

from django.contrib import admin

from ropa.admin.scoping import FunctionScopedMixin
from ropa.core.admin_base import RegisterAdmin
from ropa.models import (
    InternationalTransfer,
    LawfulBasis,
    ProcessingActivity,
    RetentionRule,
)
from ropa.resources import (
    InternationalTransferResource,
    LawfulBasisResource,
    RetentionRuleResource,
)
from ropa.roles import CONTRIBUTOR_STATUSES, contributor_functions


def lock_activities(pks):
    """
    Lock the rows of activities ``pks`` until the request's transaction ends.

    A row of an activity saved from its own list locks the activity first,
    as the activity's page does when it saves the activity and then its
    rows. Otherwise the two would deadlock: the page holding the activity's
    stored gaps (``ropa.stored_completeness``) and waiting for the row, the
    row's save holding the row and waiting for the gaps.
    """
    pks = [pk for pk in pks if pk is not None]
    if pks:
        list(
            ProcessingActivity._base_manager.order_by("pk")
            .select_for_update()
            .filter(pk__in=pks)
            .values_list("pk", flat=True)
        )


class ActivityChildAdmin(FunctionScopedMixin, RegisterAdmin):
    """Lawful bases, transfers and retention rules, listed across activities."""

    activity_path = "activity"
    list_select_related = ("activity",)
    autocomplete_fields = ("activity",)
    search_fields = ("activity__reference", "activity__name")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        functions = contributor_functions(request.user)
        if db_field.name == "activity" and functions is not None:
            kwargs["queryset"] = ProcessingActivity.objects.filter(
                business_function__in=functions, status__in=CONTRIBUTOR_STATUSES
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        # The activity the row belongs to, and the one it leaves, if it moves.
        moved_from = form.initial.get("activity") if change else None
        lock_activities({obj.activity_id, moved_from})
        super().save_model(request, obj, form, change)

    @admin.display(description="activity", ordering="activity__reference")
    def activity_reference(self, obj):
        return obj.activity.reference


@admin.register(LawfulBasis)
class LawfulBasisAdmin(ActivityChildAdmin):
    list_display = ("activity_reference", "basis", "special_category_condition")
    list_filter = ("basis", "special_category_condition", "activity__status")
    resource_classes = (LawfulBasisResource,)


@admin.register(InternationalTransfer)
class InternationalTransferAdmin(ActivityChildAdmin):
    list_display = (
        "activity_reference",
        "country",
        "international_organisation",
        "mechanism",
    )
    list_filter = ("mechanism", "activity__status", "country")
    list_select_related = ("activity", "recipient")
    autocomplete_fields = ("activity", "recipient")
    resource_classes = (InternationalTransferResource,)


@admin.register(RetentionRule)
class RetentionRuleAdmin(ActivityChildAdmin):
    list_display = (
        "activity_reference",
        "personal_data_category",
        "period_text",
        "end_action",
    )
    list_filter = ("end_action", "period_unit", "activity__status")
    list_select_related = ("activity", "personal_data_category")
    autocomplete_fields = ("activity", "personal_data_category")
    resource_classes = (RetentionRuleResource,)
