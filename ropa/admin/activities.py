"""The processing activity's admin: its list, its form and the form's parts."""

from urllib.parse import urlsplit, urlunsplit

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ERROR_FLAG, PAGE_VAR, ChangeList
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import BigIntegerField, Max, Prefetch, Q
from django.db.models.functions import Cast, Substr
from django.http import QueryDict
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import slugify

from controllers.models import Organisation
from ropa import stored_completeness
from ropa.admin.filters import (
    CompletenessFilter,
    ControllerFilter,
    DPIAFilter,
    ReviewDueFilter,
    SpecialCategoryFilter,
    StatusFilter,
    TransferFilter,
)
from ropa.admin.scoping import (
    ActivityPartInlineMixin,
    FunctionScopedMixin,
    business_function_field,
    closed_to_contributors,
)
from ropa.admin.sign_off import (
    ACTIVITY_HAS_NO_OPEN_REVIEW,
    MARK_REVIEWED_TEMPLATE,
    MarkReviewedForm,
    complete_reviews,
    may_mark_reviewed,
    report_completed,
)
from ropa.charts.flows import activity_flow_svg
from ropa.core.admin_base import ReadOnlyInlineMixin, RegisterAdmin
from ropa.core.admin_forms import LineTextField, RegisterInlineFormSet
from ropa.core.versioning import VersionCheckedForm
from ropa.enums import ActivityStatus
from ropa.exchange.admin_export import export_urls
from ropa.exchange.admin_import import import_urls
from ropa.geography import eea_countries
from ropa.models import (
    FunctionMembership,
    InternationalTransfer,
    LawfulBasis,
    ProcessingActivity,
    Recipient,
    RetentionRule,
    Review,
)
from ropa.notice import notice_activities
from ropa.resources import ProcessingActivityResource
from ropa.review import change_report, next_review_on, with_review_schedule
from ropa.roles import CONTRIBUTOR_STATUSES, contributor_functions, is_contributor

User = get_user_model()


# ---------------------------------------------------------------------------
# The parts of the activity form
# ---------------------------------------------------------------------------


class LawfulBasisInline(ActivityPartInlineMixin, admin.StackedInline):
    # Inline rows are records too: a stale row is refused like its parent.
    form = VersionCheckedForm
    model = LawfulBasis
    extra = 0
    # A basis per purpose and condition: a handful per activity.
    max_num = 20
    fields = (
        ("basis", "special_category_condition"),
        "explanation",
        ("legitimate_interest", "assessment_reference"),
        "criminal_data_authority",
        "is_sample",
    )


class InternationalTransferInline(ActivityPartInlineMixin, admin.StackedInline):
    # Inline rows are records too: a stale row is refused like its parent.
    form = VersionCheckedForm
    model = InternationalTransfer
    extra = 0
    # One per destination country or organisation. (Each row's country list
    # is long to render: 50 take seconds.)
    max_num = 50
    fields = (
        ("country", "international_organisation"),
        ("recipient", "mechanism"),
        "adequacy_scope",
        "safeguards_documentation",
        "tia_reference",
        "notes",
    )

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        # The recipient is picked among the activity's recipients outside the
        # EEA, those a transfer is for (Art. 30(1)(d) and (e)); any other
        # recipient outside the EEA follows, and a row keeps the one it has.
        formset.form = type(
            formset.form.__name__,
            (formset.form,),
            {"__init__": _recipient_choices(formset.form.__init__, obj)},
        )
        return formset


def _recipient_choices(init, activity):
    """``init``, then the recipient's choices: read once for all of the rows."""
    cache = {}

    def choices(current):
        if "rows" not in cache:
            ours = set()
            if activity is not None and activity.pk is not None:
                ours = set(activity.recipients.values_list("pk", flat=True))
            outside = Recipient.objects.exclude(country="").exclude(
                country__in=eea_countries()
            )
            cache["ours"] = ours
            cache["rows"] = list(outside.order_by("name"))
            # The rows' own recipients that the list leaves out (in the EEA,
            # or without a country), read once for all of the rows.
            listed = {row.pk for row in cache["rows"]}
            used = set()
            if activity is not None and activity.pk is not None:
                used = set(activity.transfers.values_list("recipient", flat=True))
            cache["others"] = {
                recipient.pk: recipient
                for recipient in Recipient.objects.filter(pk__in=used - listed - {None})
            }
        ours, rows = cache["ours"], cache["rows"]
        if current in cache["others"]:
            rows = [*rows, cache["others"][current]]
        return ours, rows

    def __init__(form, *args, **kwargs):
        init(form, *args, **kwargs)
        field = form.fields.get("recipient")
        if field is None:
            return
        ours, rows = choices(form.initial.get("recipient"))
        field.queryset = Recipient.objects.filter(pk__in=[row.pk for row in rows])
        field.choices = [
            ("", "---------"),
            (
                "This activity's recipients outside the EEA",
                [(r.pk, str(r)) for r in rows if r.pk in ours and r.outside_eea],
            ),
            (
                "Other recipients outside the EEA",
                [(r.pk, str(r)) for r in rows if r.pk not in ours and r.outside_eea],
            ),
            (
                # Only a row's current recipient: a transfer inside the EEA
                # is none, and the record's gaps name it.
                "Recipients in the EEA",
                [(r.pk, str(r)) for r in rows if not r.outside_eea],
            ),
        ]
        field.help_text = (
            "The recipient outside the EEA that receives the data. A recipient "
            "added to the activity under (d) is listed first once the activity "
            "is saved."
        )

    return __init__


class RetentionRuleFormSet(RegisterInlineFormSet):
    """
    The retention rules of one activity, of which at most one covers all of
    its data. Django checks an inline row's constraints without its activity,
    and compares the rows posted on unconditional ones only, so the
    conditional unique constraint that says so is checked here: over the
    rows posted and the activity's rules they leave out.
    """

    def clean(self):
        super().clean()
        for_all_data = [
            form
            for form in self.forms
            if not (self.can_delete and self._should_delete_form(form))
            and "personal_data_category" in getattr(form, "cleaned_data", {})
            and form.cleaned_data["personal_data_category"] is None
        ]
        stored = [
            row
            for row in self.rows_not_shown()
            if row.personal_data_category_id is None
        ]
        if len(for_all_data) + len(stored) <= 1:
            return
        # The rows that become a rule for all data, not the one that was.
        added = [
            form
            for form in for_all_data
            if form.instance._state.adding
            or "personal_data_category" in form.changed_data
        ]
        message = _constraint(
            RetentionRule, "ropa_retentionrule_one_rule_for_all_data"
        ).violation_error_message
        for form in added or for_all_data:
            form.add_error("personal_data_category", message)


def _constraint(model, name):
    return next(c for c in model._meta.constraints if c.name == name)


class RetentionRuleInline(ActivityPartInlineMixin, admin.TabularInline):
    # Inline rows are records too: a stale row is refused like its parent.
    form = VersionCheckedForm
    formset = RetentionRuleFormSet
    model = RetentionRule
    extra = 0
    # One per category of personal data, and one for all of it.
    max_num = 100
    # Eight columns in a row of the form's width: narrow text boxes whose
    # text wraps downwards rather than past the window's edge or out of sight.
    formfield_overrides = {
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 24})},
        models.CharField: {
            "form_class": LineTextField,
            "widget": forms.Textarea(attrs={"rows": 2, "cols": 18}),
        },
    }
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


class ReviewInline(ReadOnlyInlineMixin, admin.TabularInline):
    """The activity's reviews, signed off through "Mark reviewed" only."""

    model = Review
    fields = ("cycle", "due_on", "completed_on", "reviewer", "outcome", "notes")
    readonly_fields = fields
    ordering = ("-cycle",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("reviewer")


# ---------------------------------------------------------------------------
# The activity
# ---------------------------------------------------------------------------


def next_free_reference(prefix="PA"):
    """
    The reference after the highest ``<prefix>-<digits>`` ever used, by a
    record that exists or one deleted since: references are never reused.
    """
    pattern = rf"^{prefix}-[0-9]{{1,18}}$"
    number = Cast(Substr("reference", len(prefix) + 2), BigIntegerField())
    highest = max(
        (
            model.objects.filter(reference__regex=pattern).aggregate(
                highest=Max(number)
            )["highest"]
            or 0
        )
        for model in (ProcessingActivity, ProcessingActivity.history.model)
    )
    return f"{prefix}-{highest + 1:04d}"


def _gap_list(gaps):
    return format_html_join("", "<li>{}</li>", ((str(gap),) for gap in gaps))


def _is_autocomplete(request):
    match = request.resolver_match
    return match is not None and match.url_name == "autocomplete"


class ActivityChangeList(ChangeList):
    """
    The activity list, whose Art. 30 gaps (column and filter) are the stored
    ones, brought up to date before the list is built.
    """

    def get_queryset(self, request, exclude_parameters=None):
        # Read by CompletenessFilter.
        request.stored_completeness_current = stored_completeness.refresh_for_reading()
        return super().get_queryset(request, exclude_parameters)

    def get_results(self, request):
        super().get_results(request)
        gaps = stored_completeness.gaps_by_pk(self.result_list)
        for activity in self.result_list:
            for name, value in gaps[activity.pk].items():
                setattr(activity, name, value)


@admin.register(ProcessingActivity)
class ProcessingActivityAdmin(FunctionScopedMixin, RegisterAdmin):
    import_export_change_list_template = (
        "admin/ropa/processingactivity/change_list.html"
    )
    # What a DPO scans first, narrow enough for a laptop's screen: the last
    # review and the record type are on the record's page.
    list_display = (
        "reference",
        "name",
        "status",
        "business_function",
        "organisation_list",
        "art30_gaps",
        "dpia_required",
        "next_review",
        "updated_on",
    )
    list_filter = (
        StatusFilter,
        CompletenessFilter,
        ReviewDueFilter,
        ControllerFilter,
        "business_function",
        "role",
        "lawful_bases__basis",
        SpecialCategoryFilter,
        TransferFilter,
        DPIAFilter,
    )
    search_fields = ("reference", "name", "purpose")
    list_select_related = ("joint_arrangement", "owner", "stored_completeness")
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
    resource_classes = (ProcessingActivityResource,)
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
            "Kept from an import",
            {
                "classes": ("collapse",),
                "description": "Columns of an imported spreadsheet that no field "
                "holds, each under its heading: move what matters into the fields "
                "above, then clear this.",
                "fields": ("import_notes",),
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
    change_form_template = "admin/ropa/processingactivity/change_form.html"

    def get_queryset(self, request):
        # The review dates are two columns of the list's own query, and the
        # organisations come in one prefetch for the page; the Art. 30 rules
        # in one query for the page's rows (ActivityChangeList).
        return with_review_schedule(
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch("organisations", queryset=Organisation.objects.only("name"))
            )
        )

    def get_changelist(self, request, **kwargs):
        return ActivityChangeList

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(
            request, queryset, search_term
        )
        if _is_autocomplete(request) and is_contributor(request.user):
            # A contributor picks an activity to add a part to: one they may change.
            queryset = queryset.filter(status__in=CONTRIBUTOR_STATUSES)
        return queryset, may_have_duplicates

    def get_autocomplete_fields(self, request):
        if is_contributor(request.user):
            # Contributors do not browse users: they pick a colleague from a list.
            return tuple(name for name in self.autocomplete_fields if name != "owner")
        return self.autocomplete_fields

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        functions = contributor_functions(request.user)
        if functions is not None:
            if db_field.name == "business_function":
                return business_function_field(db_field, functions)
            if db_field.name == "status":
                kwargs["choices"] = [(s.value, s.label) for s in CONTRIBUTOR_STATUSES]
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        functions = contributor_functions(request.user)
        if db_field.name == "owner" and functions is not None:
            # The members of the contributor's functions, and whoever owns one
            # of their activities now.
            kwargs["queryset"] = User.objects.filter(
                Q(
                    pk__in=FunctionMembership.objects.filter(
                        business_function__in=functions
                    ).values("user")
                )
                | Q(
                    pk__in=ProcessingActivity.objects.filter(
                        business_function__in=functions
                    ).values("owner")
                )
            ).order_by(User.USERNAME_FIELD)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        if "reference" not in initial:
            initial["reference"] = next_free_reference()
        functions = contributor_functions(request.user)
        if functions:
            # A contributor adds an activity they own, in their function.
            initial.setdefault("owner", request.user.pk)
            if len(functions) == 1:
                initial.setdefault("business_function", functions[0])
        return initial

    def view_on_site(self, obj):
        # The record's own page is the admin's: "View on site" shows the
        # purpose where the public reads it, when the notice shows it.
        if obj.pk is None or not notice_activities().filter(pk=obj.pk).exists():
            return None
        return f"{reverse('privacy-notice')}#{slugify(obj.reference)}"

    def response_post_save_add(self, request, obj):
        return self._list_showing(obj, super().response_post_save_add(request, obj))

    def response_post_save_change(self, request, obj):
        return self._list_showing(obj, super().response_post_save_change(request, obj))

    def _list_showing(self, obj, response):
        """
        ``response``, a redirect to the list, with a status filter that shows
        ``obj``: the list opens on active records, and a draft just saved
        would vanish from it.
        """
        url = urlsplit(response.url)
        changelist = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"
        )
        if url.path != changelist:
            return response
        query = QueryDict(url.query, mutable=True)
        shown = query.get(StatusFilter.parameter_name) or ActivityStatus.ACTIVE
        if shown not in (StatusFilter.ALL, obj.status):
            query[StatusFilter.parameter_name] = obj.status
            # The page of another list: the first of this one.
            for name in (PAGE_VAR, ERROR_FLAG):
                query.pop(name, None)
            response["Location"] = urlunsplit(url._replace(query=query.urlencode()))
        return response

    def get_inlines(self, request, obj):
        if obj is None:
            return self.inlines
        return (*self.inlines, ReviewInline)

    def get_inline_instances(self, request, obj=None):
        instances = super().get_inline_instances(request, obj)
        if request.method == "POST":
            # The reviews are shown, never saved, from this form: a save does
            # not depend on their (read-only) formset being posted.
            return [
                inline for inline in instances if not isinstance(inline, ReviewInline)
            ]
        return instances

    def get_urls(self):
        opts = self.opts
        return [
            path(
                "<path:object_id>/mark-reviewed/",
                self.admin_site.admin_view(self.mark_reviewed_view),
                name=f"{opts.app_label}_{opts.model_name}_mark_reviewed",
            ),
            # The whole register, as its own workbook: beside the list's
            # per-model import and export of activity rows. Contributors'
            # import and export are refused here, as on the list.
            *closed_to_contributors(import_urls(self.admin_site)),
            *closed_to_contributors(export_urls(self.admin_site)),
            *super().get_urls(),
        ]

    def render_change_form(
        self, request, context, add=False, change=False, form_url="", obj=None
    ):
        # Extends whatever change form the base admin uses (import-export's).
        context["base_change_form_template"] = (
            RegisterAdmin.change_form_template or "admin/change_form.html"
        )
        if (
            obj is not None
            and may_mark_reviewed(request.user)
            and obj.reviews.open().exists()
        ):
            context["mark_reviewed_url"] = reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_mark_reviewed",
                args=(obj.pk,),
            )
        if obj is not None and obj.pk is not None:
            # As saved: the picture reads the record's relations, not the form.
            context["flow_picture"] = activity_flow_svg(obj)
        return super().render_change_form(
            request, context, add=add, change=change, form_url=form_url, obj=obj
        )

    def mark_reviewed_view(self, request, object_id):
        """Sign off the activity's open review, showing what changed since the last."""
        activity = self.get_object(request, unquote(object_id))
        if activity is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not (
            self.has_view_or_change_permission(request, activity)
            and may_mark_reviewed(request.user)
        ):
            raise PermissionDenied
        change_url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
            args=(activity.pk,),
        )
        review = activity.reviews.open().order_by("due_on").first()
        if review is None:
            self.message_user(request, ACTIVITY_HAS_NO_OPEN_REVIEW, messages.WARNING)
            return redirect(change_url)
        form = MarkReviewedForm(
            request.POST if request.method == "POST" else None, user=request.user
        )
        if form.is_valid():
            done, refused = complete_reviews(request, [review], form)
            report_completed(self, request, done, refused, form.cleaned_data["outcome"])
            return redirect(change_url)
        (changes,) = change_report(activity_ids=[activity.pk], on=timezone.localdate())
        context = {
            **self.admin_site.each_context(request),
            "title": f"Mark reviewed: {activity}",
            "opts": self.opts,
            "activity": activity,
            "reviews": [review],
            "changes": changes,
            "form": form,
            "cancel_url": change_url,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, MARK_REVIEWED_TEMPLATE, context)

    @admin.display(description="next review due", ordering="open_review_due_on")
    def next_review(self, obj):
        due = next_review_on(obj)
        if due is None:
            return "-"
        if due < timezone.localdate():
            return format_html('<strong title="{}">{} overdue</strong>', "Overdue", due)
        return due

    @admin.display(description="organisations")
    def organisation_list(self, obj):
        # The first, and how many more: every name is in the tooltip.
        names = [org.name for org in obj.organisations.all()]
        if len(names) <= 1:
            return names[0] if names else "-"
        return format_html(
            '<span title="{}">{} +{}</span>', ", ".join(names), names[0], len(names) - 1
        )

    @admin.display(description="updated", ordering="updated_at")
    def updated_on(self, obj):
        return timezone.localdate(obj.updated_at)

    @admin.display(description="Art. 30 gaps")
    def art30_gaps(self, obj):
        gaps = obj.missing_elements()
        if not gaps:
            return format_html('<span title="{}">✔</span>', "Complete")
        elements = dict.fromkeys(gap.label for gap in gaps)
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
