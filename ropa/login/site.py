"""The admin site, refusing those whose login still needs a code."""

from django.contrib.admin import AdminSite
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.shortcuts import redirect
from django.urls import reverse

from ropa.login.middleware import code_step_url
from ropa.login.two_factor import two_factor_satisfied


class RegisterAdminSite(AdminSite):
    """
    Django's admin site, open only to staff who gave the second factor where
    their login needs one. ``ropa.login.middleware`` sends them to the code
    step before they get here; this holds if it does not.
    """

    def has_permission(self, request):
        return super().has_permission(request) and two_factor_satisfied(request)

    def login(self, request, extra_context=None):
        """
        The login page; a user who gave the password but not yet the code
        goes on to the code step (keeping ``next``) rather than being told
        they are not authorised. Posting the form still logs in anew.
        """
        user = request.user
        if (
            request.method == "GET"
            and user.is_active
            and user.is_staff
            and not two_factor_satisfied(request)
        ):
            next_url = request.GET.get(REDIRECT_FIELD_NAME) or reverse(
                "admin:index", current_app=self.name
            )
            return redirect(code_step_url(user, next_url))
        return super().login(request, extra_context)
