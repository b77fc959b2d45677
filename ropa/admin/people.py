"""Who contributes which business function, and the users themselves."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import Exists, OuterRef
from django_otp.plugins.otp_totp.models import TOTPDevice

from ropa.admin.scoping import ContributorLimitsMixin
from ropa.core.admin_base import RegisterAdmin
from ropa.core.admin_forms import CheckedInputMixin
from ropa.core.history import appears_in_history
from ropa.models import FunctionMembership, ProcessingActivity
from ropa.resources import FunctionMembershipResource
from ropa.roles import CONTRIBUTOR

User = get_user_model()

FUNCTION_UNUSED = (
    "No activity names the business function '{function}' yet: check that it "
    "is written as the activities write it."
)


@admin.register(FunctionMembership)
class FunctionMembershipAdmin(ContributorLimitsMixin, RegisterAdmin):
    """The business functions whose activities each contributor edits."""

    list_display = ("business_function", "user", "user_name", "in_contributor_group")
    list_filter = ("business_function",)
    search_fields = (
        "business_function",
        "user__username",
        "user__first_name",
        "user__last_name",
        "user__email",
    )
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    resource_classes = (FunctionMembershipResource,)

    def get_queryset(self, request):
        # A membership limits its user only while they are in the Contributor
        # group: the list says so from its own query.
        return (
            super()
            .get_queryset(request)
            .annotate(
                user_is_contributor=Exists(
                    User.groups.through.objects.filter(
                        user=OuterRef("user"), group__name=CONTRIBUTOR
                    )
                )
            )
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        function = obj.business_function
        if not ProcessingActivity.objects.filter(business_function=function).exists():
            self.message_user(
                request, FUNCTION_UNUSED.format(function=function), messages.WARNING
            )

    @admin.display(description="name", ordering="user__last_name")
    def user_name(self, obj):
        return obj.user.get_full_name()

    @admin.display(
        description="in the Contributor group",
        boolean=True,
        ordering="user_is_contributor",
    )
    def in_contributor_group(self, obj):
        return obj.user_is_contributor


# ---------------------------------------------------------------------------
# Users: deactivated, never deleted once they changed the register
# ---------------------------------------------------------------------------


class TwoFactorFilter(admin.SimpleListFilter):
    """Users by whether they have set up an authenticator app."""

    title = "two-factor login"
    parameter_name = "two_factor"

    def lookups(self, request, model_admin):
        return (("yes", "Set up"), ("no", "Not set up"))

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(two_factor_set_up=self.value() == "yes")
        return queryset


admin.site.unregister(User)


@admin.register(User)
class RegisterUserAdmin(CheckedInputMixin, UserAdmin):
    """
    Deleting a user would blank ``history_user`` on every change they made
    (SET_NULL): a user who appears in history can only be deactivated.

    The list shows, and filters by, who has set up two-factor login, for the
    DPO who must chase those who have not and the auditor who checks it.
    """

    list_display = (*UserAdmin.list_display, "two_factor")
    list_filter = (*UserAdmin.list_filter, TwoFactorFilter)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                two_factor_set_up=Exists(
                    TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
                )
            )
        )

    @admin.display(boolean=True, description="Two-factor", ordering="two_factor_set_up")
    def two_factor(self, user):
        return user.two_factor_set_up

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
