"""The filters of the activity list and of the review list."""

from itertools import combinations

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from controllers.models import Organisation
from ropa import completeness, stored_completeness
from ropa.core.admin_forms import holds
from ropa.enums import ActivityStatus, DPIAStatus
from ropa.models import InternationalTransfer, ProcessingActivity
from ropa.review import review_overdue_q
from ropa.roles import contributor_functions
from subjects.enums import Sensitivity

# ---------------------------------------------------------------------------
# The activity list
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


def _extras_only():
    """
    Every stored ``gaps`` value made only of gaps that are no letter of
    Art. 30, as ``stored_completeness`` writes them: keys in the rules' order.
    """
    extras = [rule.key for rule in completeness.RULES if not rule.element.art30]
    return [
        " ".join(keys)
        for size in range(1, len(extras) + 1)
        for keys in combinations(extras, size)
    ]


def art30_incomplete_q(*, current=False):
    """
    Matches activities that lack a letter of Art. 30, whatever the
    accountability extras (lawful basis, Art. 9(2), Art. 10) they lack besides:
    by their stored gaps where current, by the Art. 30 rules where not.
    """
    prefix = "stored_completeness__"
    stored = stored_completeness.incomplete_q(current=True) & ~Q(
        **{f"{prefix}gaps__in": _extras_only()}
    )
    if current:
        return stored
    return stored | (
        stored_completeness.stale_q(prefix=prefix)
        & completeness.incomplete_q(rules=completeness.ART30_RULES)
    )


class CompletenessFilter(admin.SimpleListFilter):
    """
    Gaps in Art. 30 and in what accountability adds to it (Art. 5(2)): the
    lawful basis, the Art. 9(2) condition and the Art. 10 authority.
    """

    title = "completeness"
    parameter_name = "completeness"
    COMPLETE = "complete"
    INCOMPLETE = "incomplete"
    ART30 = "art30"

    def lookups(self, request, model_admin):
        return (
            (self.COMPLETE, "Complete"),
            (self.INCOMPLETE, "Incomplete"),
            (self.ART30, "Incomplete (Art. 30 only)"),
        )

    def queryset(self, request, queryset):
        # The stored gaps, which the activity list (ActivityChangeList) has
        # brought up to date.
        current = getattr(request, "stored_completeness_current", False)
        if self.value() == self.COMPLETE:
            return queryset.filter(stored_completeness.complete_q(current=current))
        if self.value() == self.INCOMPLETE:
            return queryset.filter(stored_completeness.incomplete_q(current=current))
        if self.value() == self.ART30:
            return queryset.filter(art30_incomplete_q(current=current))
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
        # The organisations of the activities the list shows: a contributor's
        # list names none that only another function's activities have.
        links = ProcessingActivity.organisations.through.objects.filter(
            organisation=OuterRef("pk")
        )
        functions = contributor_functions(request.user)
        if functions is not None:
            links = links.filter(processingactivity__business_function__in=functions)
        organisations = Organisation.objects.filter(Exists(links))
        return [(str(org.pk), org.name) for org in organisations]

    def queryset(self, request, queryset):
        if self.value():
            if not holds(Organisation._meta.pk, self.value()):
                raise IncorrectLookupParameters(f"No organisation {self.value()!r}.")
            return queryset.filter(
                Exists(
                    ProcessingActivity.organisations.through.objects.filter(
                        processingactivity=OuterRef("pk"), organisation=self.value()
                    )
                )
            )
        return queryset


class ReviewDueFilter(admin.SimpleListFilter):
    """Where each activity stands in its review cycle."""

    title = "review"
    parameter_name = "review"
    OVERDUE = "overdue"
    OPEN = "open"
    NEVER = "never"

    def lookups(self, request, model_admin):
        return (
            (self.OVERDUE, "Overdue"),
            (self.OPEN, "Open review"),
            (self.NEVER, "Never reviewed"),
        )

    def queryset(self, request, queryset):
        # The list's queryset carries the review dates (see
        # ProcessingActivityAdmin.get_queryset).
        if self.value() == self.OVERDUE:
            return queryset.filter(review_overdue_q(timezone.localdate()))
        if self.value() == self.OPEN:
            return queryset.filter(open_review_due_on__isnull=False)
        if self.value() == self.NEVER:
            return queryset.filter(last_reviewed_on__isnull=True)
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
# The review list
# ---------------------------------------------------------------------------


class ReviewStatusFilter(admin.SimpleListFilter):
    title = "review status"
    parameter_name = "status"
    DUE = "due"
    OVERDUE = "overdue"
    COMPLETED = "completed"
    LABELS = {DUE: "Due", OVERDUE: "Overdue", COMPLETED: "Completed"}

    def lookups(self, request, model_admin):
        return tuple(self.LABELS.items())

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == self.DUE:
            return queryset.open().filter(due_on__gte=today)
        if self.value() == self.OVERDUE:
            return queryset.overdue(today)
        if self.value() == self.COMPLETED:
            return queryset.completed()
        return queryset


class ActivityStatusOfReviewFilter(admin.ChoicesFieldListFilter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = "activity status"
