"""
Marking open reviews reviewed: from the activity's page, its one open review;
from the review list, the reviews selected.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_permission_codename
from django.core.exceptions import ValidationError

from ropa.enums import ReviewOutcome
from ropa.models import Review
from ropa.review import NOTES_REQUIRED, complete_review, notes_missing

MARK_REVIEWED_TEMPLATE = "admin/ropa/review/mark_reviewed.html"
NO_OPEN_REVIEW = "None of the selected reviews is open: nothing was marked reviewed."
ACTIVITY_HAS_NO_OPEN_REVIEW = (
    "This activity has no open review to mark reviewed. The yearly review opens "
    "one when it falls due."
)
RETIRE_NOT_ALLOWED = (
    "Retiring the activity needs permission to change processing activities."
)


def _plural(count, noun):
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def may_mark_reviewed(user):
    """Signing off a review is changing it."""
    return user.has_perm(
        f"{Review._meta.app_label}.{get_permission_codename('change', Review._meta)}"
    )


class MarkReviewedForm(forms.Form):
    """The sign-off of one or more open reviews."""

    outcome = forms.ChoiceField(
        choices=ReviewOutcome.choices,
        initial=ReviewOutcome.CONFIRMED,
        widget=forms.RadioSelect,
        help_text="Retired also retires the activity.",
    )
    notes = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text="Added to the review's notes. Required when the record changed "
        "or the activity is retired.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self):
        cleaned = super().clean()
        outcome = cleaned.get("outcome")
        if outcome == ReviewOutcome.RETIRED and not self.user.has_perm(
            "ropa.change_processingactivity"
        ):
            self.add_error("outcome", RETIRE_NOT_ALLOWED)
        elif outcome and notes_missing(outcome, cleaned.get("notes", "")):
            self.add_error("notes", NOTES_REQUIRED)
        return cleaned


def complete_reviews(request, reviews, form):
    """Complete ``reviews`` with the form's sign-off; return (done, refused)."""
    done, refused = 0, []
    for review in reviews:
        try:
            complete_review(
                review=review,
                user=request.user,
                outcome=form.cleaned_data["outcome"],
                notes=form.cleaned_data["notes"],
            )
        except ValidationError as error:
            refused.append(f"{review}: {' '.join(error.messages)}")
        else:
            done += 1
    return done, refused


def report_completed(model_admin, request, done, refused, outcome):
    """Tell the user how many reviews were marked, and why any were refused."""
    if done:
        label = ReviewOutcome(outcome).label
        model_admin.message_user(
            request,
            f"Marked {_plural(done, 'review')} reviewed ({label}).",
            messages.SUCCESS,
        )
    for problem in refused:
        model_admin.message_user(request, problem, messages.ERROR)
