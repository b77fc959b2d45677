"""The admin site, refusing those whose login still needs a code."""

from django.contrib.admin import AdminSite

from ropa.login.two_factor import two_factor_satisfied


class RegisterAdminSite(AdminSite):
    """
    Django's admin site, open only to staff who gave the second factor where
    their login needs one. ``ropa.login.middleware`` sends them to the code
    step before they get here; this holds if it does not.
    """

    def has_permission(self, request):
        return super().has_permission(request) and two_factor_satisfied(request)
