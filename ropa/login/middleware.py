"""
No admin page before the second factor.

After the password, a user whose login needs a code (see
``ropa.login.two_factor.needs_code``) is logged in but not verified. Until
they give a code, every admin URL but the login, the logout and the
two-factor pages sends them to the code step, or, for a superuser or DPO who
has not set two factors up yet, to the set-up. The admin site refuses them as
well (``ropa.login.site``), should this middleware be left out.
"""

from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from ropa.login.two_factor import has_two_factor, two_factor_satisfied

#: The URL names an unverified user may open: the way in and out.
OPEN_TO_UNVERIFIED = (
    "admin:login",
    "admin:logout",
    "two_factor:verify",
    "two_factor:enrol",
    "two_factor:log_out",
)


class TwoFactorMiddleware:
    """
    Send a user who gave their password but not yet their code to the code
    step. Install after django-otp's ``OTPMiddleware``.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        detour = self.detour(request)
        if detour is not None:
            return detour
        return self.get_response(request)

    def detour(self, request):
        """Where ``request`` goes instead, or None when it may go on."""
        if not request.path.startswith(reverse("admin:index")):
            return None
        if request.path in {reverse(name) for name in OPEN_TO_UNVERIFIED}:
            return None
        if two_factor_satisfied(request):
            return None
        step = (
            "two_factor:verify" if has_two_factor(request.user) else "two_factor:enrol"
        )
        return redirect(
            f"{reverse(step)}?{urlencode({'next': request.get_full_path()})}"
        )
