from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import Exists, OuterRef, Prefetch
from django.utils.html import format_html, format_html_join

from controllers.models import Organisation
from subjects.enums import Sensitivity

from . import completeness
from .admin_base import RegisterAdmin
from .enums import ActivityStatus, DPIAStatus
from .history import appears_in_history
from .models import (
    InternationalTransfer,
    LawfulBasis,
    ProcessingActivity,
    Recipient,
    RetentionRule,
    Review,
    SecurityMeasure,
)

User = get_user_model()

# ---------------------------------------------------------------------------
# Filters of the activity list
# ---------------------------------------------------------------------------


class StatusFilter(admin.SimpleListFilter):
    """Opens on the active register; drafts, retired and all are a click away."""

    title = "status"
    parameter_name = "status"
    ALL = "all"

    def lookups(self, request, model_admin):
        return (*ActivityStatus.choices, (self.ALL, "All"))

    def value(self):
        return super().value() or ActivityStatus.ACTIVE

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string(
                    {self.parameter_name: lookup}
                ),
                "display": title,
            }

    def queryset(self, request, queryset):
        if self.value() == self.ALL:
            return queryset
        return queryset.filter(status=self.value())


class CompletenessFilter(admin.SimpleListFilter):
    title = "Art. 30 completeness"
    parameter_name = "completeness"

    def lookups(self, request, model_admin):
        return (("complete", "Complete"), ("incomplete", "Incomplete"))

    def queryset(self, request, queryset):
        # The list's queryset carries the gap_* annotations (see get_queryset).
        if self.value() == "complete":
            return queryset.exclude(completeness.incomplete_q())
        if self.value() == "incomplete":
            return queryset.filter(completeness.incomplete_q())
        return queryset


class ExistsFilter(admin.SimpleListFilter):
    """A yes / no filter on whether a related row exists."""

    def subquery(self):
        raise NotImplementedError

    def lookups(self, request, model_admin):
        return (("yes", "Yes"), ("no", "No"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(Exists(self.subquery()))
        if self.value() == "no":
            return queryset.exclude(Exists(self.subquery()))
        return queryset


class SpecialCategoryFilter(ExistsFilter):
    title = "special category or criminal data"
    parameter_name = "special_data"

    def subquery(self):
        return ProcessingActivity.personal_data_categories.through.objects.filter(
            processingactivity=OuterRef("pk"),
            personaldatacategory__sensitivity__in=(
                Sensitivity.SPECIAL,
                Sensitivity.CRIMINAL,
            ),
        )


class TransferFilter(ExistsFilter):
    title = "third-country transfers"
    parameter_name = "transfers"

    def subquery(self):
        return InternationalTransfer.objects.filter(activity=OuterRef("pk"))


class ControllerFilter(admin.SimpleListFilter):
    title = "responsible organisation"
    parameter_name = "organisation"

    def lookups(self, request, model_admin):
        organisations = Organisation.objects.filter(
            Exists(
                ProcessingActivity.organisations.through.objects.filter(
                    organisation=OuterRef("pk")
                )
            )
        )
        return [(str(org.pk), org.name) for org in organisations]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(
                Exists(
                    ProcessingActivity.organisations.through.objects.filter(
                        processingactivity=OuterRef("pk"), organisation=self.value()
                    )
                )
            )
        return queryset


class DPIAFilter(admin.SimpleListFilter):
    title = "DPIA"
    parameter_name = "dpia"

    def lookups(self, request, model_admin):
        return (
            ("required", "Required"),
            ("missing", "Required, not completed"),
            ("not_required", "Not required"),
        )

    def queryset(self, request, queryset):
        if self.value() == "required":
            return queryset.filter(dpia_required=True)
        if self.value() == "missing":
            return queryset.filter(dpia_required=True).exclude(
                dpia_status=DPIAStatus.COMPLETED
            )
        if self.value() == "not_required":
            return queryset.filter(dpia_required=False)
        return queryset


# ---------------------------------------------------------------------------
# The activity and its parts
# ---------------------------------------------------------------------------


class LawfulBasisInline(admin.StackedInline):
    model = LawfulBasis
    extra = 0
    fields = (
        ("basis", "special_category_condition"),
        "explanation",
        ("legitimate_interest", "assessment_reference"),
        "criminal_data_authority",
        "is_sample",
    )


class InternationalTransferInline(admin.StackedInline):
    model = InternationalTransfer
    extra = 0
    autocomplete_fields = ("recipient",)
    fields = (
        ("country", "international_organisation"),
        ("recipient", "mechanism"),
        "safeguards_documentation",
        "tia_reference",
        "notes",
    )


class RetentionRuleInline(admin.TabularInline):
    model = RetentionRule
    extra = 0
    autocomplete_fields = ("personal_data_category",)
    fields = (
        "personal_data_category",
        "period",
        "period_unit",
        "trigger",
        "criteria",
        "end_action",
        "legal_reference",
        "is_sample",
    )


def _gap_list(gaps):
    return format_html_join("", "<li>{}</li>", ((str(gap),) for gap in gaps))


@admin.register(ProcessingActivity)
class ProcessingActivityAdmin(RegisterAdmin):
    list_display = (
        "reference",
        "name",
        "status",
        "role",
        "business_function",
        "organisation_list",
        "art30_gaps",
        "dpia_required",
        "updated_at",
    )
    list_filter = (
        StatusFilter,
        CompletenessFilter,
        ControllerFilter,
        "business_function",
        "role",
        "lawful_bases__basis",
        SpecialCategoryFilter,
        TransferFilter,
        DPIAFilter,
    )
    search_fields = ("reference", "name", "purpose")
    list_select_related = ("joint_arrangement", "owner")
    autocomplete_fields = (
        "organisations",
        "joint_arrangement",
        "client_controllers",
        "owner",
        "data_subject_categories",
        "personal_data_categories",
        "recipients",
        "processor_agreements",
        "security_measures",
    )
    readonly_fields = ("art30_report", "created_at", "updated_at")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("reference", "status"),
                    "role",
                    "art30_report",
                )
            },
        ),
        (
            "(a) Controller, joint controllers, representative and DPO",
            {
                "description": "Art. 30(1)(a): the name and contact details of the "
                "controller and, where applicable, the joint controller, the "
                "representative and the DPO. For a processor record (Art. 30(2)(a)), "
                "the processor and each controller on whose behalf it acts.",
                "fields": (
                    "organisations",
                    ("joint_arrangement", "joint_processing"),
                    "client_controllers",
                ),
            },
        ),
        (
            "(b) Purposes",
            {
                "description": "Art. 30(1)(b): the purposes of the processing. "
                "The lawful bases are listed below the form.",
                "fields": ("name", "purpose", ("business_function", "owner")),
            },
        ),
        (
            "(c) Data subjects and personal data",
            {
                "description": "Art. 30(1)(c): the categories of data subjects and of "
                "personal data.",
                "fields": (
                    "data_subject_categories",
                    "personal_data_categories",
                    "data_source",
                ),
            },
        ),
        (
            "(d) Recipients",
            {
                "description": "Art. 30(1)(d): the categories of recipients, "
                "including those in third countries, and the processors used.",
                "fields": ("recipients", "processor_agreements"),
            },
        ),
        (
            "(e) Transfers and (f) retention",
            {
                "description": "Art. 30(1)(e) and (f): transfers and time limits for "
                "erasure are listed below the form.",
                "fields": (
                    "retention_policy_reference",
                    ("retention_policy_followed", "retention_policy_deviation"),
                ),
            },
        ),
        (
            "(g) Security measures",
            {
                "description": "Art. 30(1)(g): a general description of the "
                "technical and organisational measures of Art. 32(1).",
                "fields": ("security_measures", "security_description"),
            },
        ),
        (
            "Systems, profiling and DPIA",
            {
                "classes": ("collapse",),
                "description": "What supervisory authorities' templates ask beside "
                "the legal minimum (Art. 13, 22 and 35).",
                "fields": (
                    "systems",
                    "data_location",
                    ("profiling", "profiling_in_notice"),
                    "profiling_description",
                    ("dpia_required", "dpia_status", "dpia_reference"),
                    "rights_information",
                    "consent_record_reference",
                    "breach_reference",
                ),
            },
        ),
        (
            "Privacy notice",
            {
                "classes": ("collapse",),
                "description": "Art. 13 and 14: how the activity reads in the public "
                "privacy notice.",
                "fields": (
                    ("in_notice", "notice_order"),
                    "notice_title",
                    "notice_text",
                    "opt_out_information",
                ),
            },
        ),
        (
            "Record",
            {"classes": ("collapse",), "fields": ("created_at", "updated_at")},
        ),
    )
    inlines = (LawfulBasisInline, InternationalTransferInline, RetentionRuleInline)

    def get_queryset(self, request):
        # The Art. 30 rules are annotated as gap_* columns of the list's own
        # query, and the organisations come in one prefetch for the page.
        return (
            super()
            .get_queryset(request)
            .with_completeness()
            .prefetch_related(
                Prefetch("organisations", queryset=Organisation.objects.only("name"))
            )
        )

    @admin.display(description="organisations")
    def organisation_list(self, obj):
        return ", ".join(org.name for org in obj.organisations.all())

    @admin.display(description="Art. 30 gaps")
    def art30_gaps(self, obj):
        gaps = obj.missing_elements()
        if not gaps:
            return format_html('<span title="{}">✔</span>', "Complete")
        elements = dict.fromkeys(gap.element for gap in gaps)
        return format_html(
            '<span title="{}">{}</span>',
            "; ".join(str(gap) for gap in gaps),
            ", ".join(elements),
        )

    @admin.display(description="Art. 30 completeness")
    def art30_report(self, obj):
        if obj.pk is None:
            return "Computed once the record is saved."
        gaps = obj.missing_elements()
        if not gaps:
            return "Complete: every element of Art. 30 that applies is recorded."
        return format_html("<ul>{}</ul>", _gap_list(gaps))


# ---------------------------------------------------------------------------
# Catalogues and child rows, each with its own list
# ---------------------------------------------------------------------------


@admin.register(SecurityMeasure)
class SecurityMeasureAdmin(RegisterAdmin):
    list_display = ("name", "measure_type", "area", "is_sample")
    list_filter = ("measure_type", "area", "is_sample")
    search_fields = ("name", "description")


@admin.register(Recipient)
class RecipientAdmin(RegisterAdmin):
    list_display = ("name", "recipient_type", "organisation", "country")
    list_filter = ("recipient_type", "country")
    search_fields = ("name", "description", "organisation__name")
    list_select_related = ("organisation",)
    autocomplete_fields = ("organisation",)


class ActivityChildAdmin(RegisterAdmin):
    """Lawful bases, transfers and retention rules, listed across activities."""

    list_select_related = ("activity",)
    autocomplete_fields = ("activity",)
    search_fields = ("activity__reference", "activity__name")

    @admin.display(description="activity", ordering="activity__reference")
    def activity_reference(self, obj):
        return obj.activity.reference


@admin.register(LawfulBasis)
class LawfulBasisAdmin(ActivityChildAdmin):
    list_display = ("activity_reference", "basis", "special_category_condition")
    list_filter = ("basis", "special_category_condition", "activity__status")


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


@admin.register(Review)
class ReviewAdmin(ActivityChildAdmin):
    list_display = (
        "activity_reference",
        "cycle",
        "due_on",
        "completed_on",
        "reviewer",
        "outcome",
    )
    list_filter = ("cycle", "outcome", "activity__status")
    list_select_related = ("activity", "reviewer")
    autocomplete_fields = ("activity", "reviewer")


# ---------------------------------------------------------------------------
# Users: deactivated, never deleted once they changed the register
# ---------------------------------------------------------------------------

admin.site.unregister(User)


@admin.register(User)
class RegisterUserAdmin(UserAdmin):
    """
    Deleting a user would blank ``history_user`` on every change they made
    (SET_NULL): a user who appears in history can only be deactivated.
    """

    def has_delete_permission(self, request, obj=None):
        if obj is not None and appears_in_history(obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs, request):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(
            objs, request
        )
        protected = list(protected) + [
            f"{user} appears in the register's history: deactivate the account instead"
            for user in objs
            if appears_in_history(user)
        ]
        return deleted, model_count, perms_needed, protected
