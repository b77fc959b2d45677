"""
The two-factor pages of the admin.

- ``verify``: the code step after the password (an app's code or a
  recovery code). Wrong codes count as failed logins for the lockout.
- ``enrol``: setting up the authenticator app: QR code and secret, then a
  code to confirm; the recovery codes follow, shown once.
- ``manage``: the user's "Two-factor authentication" page (user tools):
  the state, new recovery codes, turning it off where it is optional.
- ``log_out``: the way out before the code is given.
"""

import functools

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_credentials, get_lockout_response
from django.contrib import admin, messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from qrcode import make as make_qr
from qrcode.image.svg import SvgPathImage

from ropa.login import two_factor
from ropa.login.forms import WRONG_CODE, WRONG_SETUP_CODE, CodeForm, SetupCodeForm
from ropa.login.lockout import login_completed

#: The session key of the recovery codes waiting to be shown (once).
CODES_TO_SHOW = "ropa_recovery_codes"

SET_UP_DONE = "Two-factor authentication is on."
CODES_RENEWED = "New recovery codes made: the old ones no longer work."
TURNED_OFF = "Two-factor authentication is off."
SET_UP_REPLACED = (
    "This set-up was started again elsewhere, which replaced its QR code. "
    "Scan the new QR code below, then enter the code your app shows."
)
MUST_KEEP = (
    "Superusers and DPOs must keep two-factor authentication on. If the "
    "phone is lost, an administrator resets it (manage.py reset_two_factor)."
)


def staff_only(view):
    """Send anyone who is not logged in as active staff to the admin's login."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not (user.is_active and user.is_staff):
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        return view(request, *args, **kwargs)

    return wrapped


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
@staff_only
def verify(request):
    """The code step: the second factor after the password."""
    user = request.user
    next_url = _next_url(request)
    if two_factor.is_verified(user) or not two_factor.needs_code(user):
        return redirect(next_url)
    if not two_factor.has_two_factor(user):
        return redirect(_with_next("two_factor:enrol", next_url))
    credentials = get_credentials(user.get_username())
    if not AxesProxyHandler.is_allowed(request, credentials):
        return _locked_out(request, credentials)
    form = CodeForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        device = two_factor.verify_code(user, form.cleaned_data["code"])
        if device is not None:
            _complete_login(request, device)
            return redirect(next_url)
        form.add_error("code", WRONG_CODE)
        # A wrong code is a failed login: it counts towards the lockout.
        user_login_failed.send(
            sender=__name__, credentials=credentials, request=request
        )
        if getattr(request, "axes_locked_out", False):
            return _locked_out(request, credentials)
    return _render(
        request,
        "two_factor/verify.html",
        title="Two-factor authentication",
        form=form,
        next=next_url,
    )


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
@staff_only
def enrol(request):
    """Setting up the authenticator app, confirmed by its first code."""
    user = request.user
    next_url = _next_url(request)
    if two_factor.has_two_factor(user) and not two_factor.is_verified(user):
        # Only the code step: a password alone does not replace a device.
        return redirect(_with_next("two_factor:verify", next_url))
    if two_factor.app_device(user) is not None:
        return redirect("two_factor:manage")
    if request.method == "POST":
        # Only this session's own secret is confirmed here.
        device = two_factor.pending_app_device(request.session, user, create=False)
        if device is None:
            messages.error(request, SET_UP_REPLACED)
            return redirect(_with_next("two_factor:enrol", next_url))
    else:
        device = two_factor.pending_app_device(request.session, user)
    form = SetupCodeForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        codes = two_factor.confirm_app_device(
            device, form.cleaned_data["code"], user=user
        )
        if codes is not None:
            request.session.pop(two_factor.PENDING_APP_DEVICE, None)
            _complete_login(request, device)
            request.session[CODES_TO_SHOW] = codes
            messages.success(request, SET_UP_DONE)
            return redirect(_with_next("two_factor:recovery_codes", next_url))
        form.add_error("code", WRONG_SETUP_CODE)
    return _render(
        request,
        "two_factor/enrol.html",
        title="Set up two-factor authentication",
        form=form,
        next=next_url,
        must=two_factor.must_use_two_factor(user),
        qr_code=qr_svg(device.config_url),
        secret=two_factor.secret_text(device),
    )


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
@staff_only
def recovery_codes(request):
    """
    The recovery codes just made, shown once (GET); POST, given a current
    code, makes new ones, which replace the old.
    """
    if request.method == "POST":
        user = request.user
        if not two_factor.has_two_factor(user):
            return redirect("two_factor:manage")
        # As for turning it off: an open session alone does not get new codes.
        form = CodeForm(request.POST)
        if not (
            form.is_valid() and two_factor.verify_code(user, form.cleaned_data["code"])
        ):
            messages.error(request, WRONG_CODE)
            return redirect("two_factor:manage")
        request.session[CODES_TO_SHOW] = two_factor.renew_recovery_codes(user)
        messages.success(request, CODES_RENEWED)
        return redirect("two_factor:recovery_codes")
    codes = request.session.pop(CODES_TO_SHOW, None)
    if not codes:
        return redirect("two_factor:manage")
    return _render(
        request,
        "two_factor/recovery_codes.html",
        title="Your recovery codes",
        codes=codes,
        next=_next_url(request),
    )


@never_cache
@staff_only
def manage(request):
    """The user's own two-factor page: its state and what they can do."""
    user = request.user
    device = two_factor.app_device(user)
    return _render(
        request,
        "two_factor/manage.html",
        title="Two-factor authentication",
        device=device,
        codes_left=two_factor.recovery_codes_left(user) if device else 0,
        must=two_factor.must_use_two_factor(user),
        turn_off_form=CodeForm(autofocus=False),
        renew_form=CodeForm(autofocus=False, auto_id="id_renew_%s"),
    )


@sensitive_post_parameters("code")
@never_cache
@require_POST
@staff_only
def turn_off(request):
    """Turn two-factor login off, for a user who chose it, given a current code."""
    user = request.user
    if two_factor.must_use_two_factor(user):
        messages.error(request, MUST_KEEP)
        return redirect("two_factor:manage")
    form = CodeForm(request.POST)
    if form.is_valid() and two_factor.verify_code(user, form.cleaned_data["code"]):
        two_factor.turn_off(user)
        messages.success(request, TURNED_OFF)
    else:
        messages.error(request, WRONG_CODE)
    return redirect("two_factor:manage")


@require_POST
def log_out(request):
    """
    Log out from the code step or the set-up. The admin's own log-out sends
    whoever it does not admit (no code yet) to its index instead.
    """
    logout(request)
    return redirect("admin:login")


def qr_svg(uri):
    """
    The QR code of ``uri`` as inline SVG markup (paths, no style), which a
    strict Content-Security-Policy lets through where a data: image is not.
    """
    image = make_qr(uri, image_factory=SvgPathImage, border=2)
    # Our own data, drawn by the library as paths: nothing from a user's input.
    return mark_safe(image.to_string(encoding="unicode"))  # noqa: S308


def _complete_login(request, device):
    """Mark the session verified by ``device``, under a new session key."""
    request.session.cycle_key()
    otp_login(request, device)
    login_completed(request, request.user)


def _locked_out(request, credentials):
    """End the half-done login and answer with axes' lockout page."""
    logout(request)
    return get_lockout_response(request, credentials=credentials)


def _next_url(request):
    """Where to go after the step: ``next`` if it is on this site, or the index."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("admin:index")


def _with_next(name, next_url):
    return f"{reverse(name)}?{urlencode({'next': next_url})}"


def _render(request, template, **context):
    return render(request, template, {**admin.site.each_context(request), **context})
