"""
No admin page before the second factor.

After the password, a user whose login needs a code (see
``ropa.login.two_factor.needs_code``) is logged in but not verified. Until
they give a code, every admin URL but the login and the two-factor pages
sends them to the code step, or, for a superuser or DPO who has not set two
factors up yet, to the set-up. They log out with the code step's own button
(``two_factor:log_out``): the admin's logout admits only those it lets in.
The admin site refuses them as well (``ropa.login.site``), should this
middleware be left out, and sends them from its login page to the code step.
"""

from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from ropa.login.two_factor import has_two_factor, two_factor_satisfied

#: The URL names an unverified user may open: the way in and out.
OPEN_TO_UNVERIFIED = (
    "admin:login",
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
        next_url = request.get_full_path()
        if request.path == reverse("admin:logout"):
            # After the code, not back to a logout (POST only).
            next_url = reverse("admin:index")
        return redirect(code_step_url(request.user, next_url))


def code_step_url(user, next_url):
    """
    The page that finishes the login of ``user``, who gave their password
    only: the code step, or the set-up if they have no device yet.
    """
    step = "two_factor:verify" if has_two_factor(user) else "two_factor:enrol"
    return f"{reverse(step)}?{urlencode({'next': next_url})}"
