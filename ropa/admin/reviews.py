"""The review list, where reviews are marked reviewed in bulk."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from ropa.admin.children import ActivityChildAdmin
from ropa.admin.filters import ActivityStatusOfReviewFilter, ReviewStatusFilter
from ropa.admin.sign_off import (
    MARK_REVIEWED_TEMPLATE,
    NO_OPEN_REVIEW,
    MarkReviewedForm,
    complete_reviews,
    report_completed,
)
from ropa.core.admin_base import RegisterForm
from ropa.models import Review
from ropa.models.reviews import OPEN_REVIEW_EXISTS
from ropa.resources import ReviewResource


class ReviewForm(RegisterForm):
    """
    A review's form, which refuses a second open review of an activity.

    The database refuses it too (``ropa_review_one_open_per_activity``), but
    Django checks a constraint in a form only when the form has every field
    it names, and the sign-off fields are read-only here.
    """

    def clean(self):
        cleaned = super().clean()
        activity = cleaned.get("activity")
        if activity is None or self.instance.completed_on is not None:
            return cleaned
        others = activity.reviews.open()
        if self.instance.pk is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            self.add_error("activity", OPEN_REVIEW_EXISTS)
        return cleaned


@admin.register(Review)
class ReviewAdmin(ActivityChildAdmin):
    form = ReviewForm
    list_display = (
        "activity_reference",
        "activity_name",
        "cycle",
        "due_on",
        "review_status",
        "completed_on",
        "reviewer",
        "outcome",
    )
    list_filter = (
        ReviewStatusFilter,
        "cycle",
        "outcome",
        # Titled apart from the review's own status.
        ("activity__status", ActivityStatusOfReviewFilter),
    )
    list_select_related = ("activity", "reviewer")
    # Signed off through "Mark reviewed" only, so the reviewer is who signed.
    readonly_fields = ("completed_on", "reviewer", "outcome")
    resource_classes = (ReviewResource,)
    actions = ("mark_reviewed",)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.completed_on is not None:
            return ("activity", "cycle", "due_on", *self.readonly_fields)
        return self.readonly_fields

    @admin.display(description="activity name", ordering="activity__name")
    def activity_name(self, obj):
        return obj.activity.name

    @admin.display(description="status")
    def review_status(self, obj):
        labels = ReviewStatusFilter.LABELS
        if obj.completed_on is not None:
            return labels[ReviewStatusFilter.COMPLETED]
        if obj.due_on < timezone.localdate():
            return format_html(
                "<strong>{}</strong>", labels[ReviewStatusFilter.OVERDUE]
            )
        return labels[ReviewStatusFilter.DUE]

    @admin.action(description="Mark reviewed", permissions=["change"])
    def mark_reviewed(self, request, queryset):
        reviews = list(
            queryset.open().select_related("activity").order_by("activity__reference")
        )
        if not reviews:
            self.message_user(request, NO_OPEN_REVIEW, messages.WARNING)
            return None
        form = MarkReviewedForm(
            request.POST if "apply" in request.POST else None, user=request.user
        )
        if form.is_valid():
            done, refused = complete_reviews(request, reviews, form)
            report_completed(self, request, done, refused, form.cleaned_data["outcome"])
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Mark reviewed",
            "opts": self.opts,
            "reviews": reviews,
            "skipped": queryset.count() - len(reviews),
            "form": form,
            "action": "mark_reviewed",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "cancel_url": reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"
            ),
            "media": self.media + form.media,
        }
        return TemplateResponse(request, MARK_REVIEWED_TEMPLATE, context)
