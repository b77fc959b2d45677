"""
Two-factor authentication for the admin: an authenticator app (TOTP) and
one-time recovery codes, kept by django-otp.

Who must use it is decided in one place, ``must_use_two_factor``: superusers
and members of the DPO group, who can change the whole register (and, for a
superuser, who may use it). Anyone else may turn it on from their
"Two-factor authentication" page; whoever has it on is asked for a code at
every login.

A user has at most one authenticator app (a ``TOTPDevice``) and one set of
recovery codes (a ``StaticDevice`` whose tokens are the codes, each consumed
when used). Setting up, turning off, renewing the codes and the reset by
``manage.py reset_two_factor`` are recorded in the admin's log of the user.
"""

import base64
import logging
import re
import secrets

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from ropa.roles import DPO

log = logging.getLogger(__name__)

#: How many recovery codes a user gets at a time.
RECOVERY_CODE_COUNT = 10
#: Letters and digits of a recovery code: base32's, without look-alikes
#: (0/O, 1/I/L) since people copy them from paper.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 12
APP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"

SET_UP = "Set up two-factor authentication (authenticator app and recovery codes)."
TURNED_OFF = "Turned off two-factor authentication."
CODES_RENEWED = "Replaced the two-factor recovery codes."
RESET = (
    "Two-factor authentication reset with manage.py reset_two_factor "
    "(run by {ran_by}): {devices} removed, {sessions} open session(s) ended; "
    "they set it up again at their next login."
)


def must_use_two_factor(user):
    """
    Whether ``user`` may use the admin only after a second factor: superusers
    and DPOs. The one place that decides it.
    """
    if not user.is_authenticated:
        return False
    return user.is_superuser or user.groups.filter(name=DPO).exists()


def app_device(user, *, confirmed=True):
    """The user's authenticator app (confirmed, or being set up), or None."""
    return (
        TOTPDevice.objects.devices_for_user(user, confirmed=confirmed)
        .order_by("pk")
        .first()
    )


def has_two_factor(user):
    """Whether ``user`` has set up a second factor (an app or recovery codes)."""
    return user.is_authenticated and user_has_device(user, confirmed=True)


def needs_code(user):
    """
    Whether the login of ``user`` ends only with a code: they must use two
    factors, or have set them up.

    Asked on every admin request of a user who gave no code: one query,
    whatever the answer, rather than one per reason.
    """
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    users = get_user_model()
    mine = {"user": OuterRef("pk")}
    reasons = (
        Exists(users.groups.through.objects.filter(**mine, group__name=DPO)),
        Exists(TOTPDevice.objects.filter(**mine, confirmed=True)),
        Exists(StaticDevice.objects.filter(**mine, confirmed=True)),
    )
    return users._default_manager.filter(
        reasons[0] | reasons[1] | reasons[2], pk=user.pk
    ).exists()


def is_verified(user):
    """
    Whether ``user`` gave a code in this session. False where django-otp's
    middleware did not look (a request it did not see).
    """
    check = getattr(user, "is_verified", None)
    return bool(check and check())


def two_factor_satisfied(request):
    """
    Whether the user of ``request`` has done all the login asks of them: an
    anonymous user has nothing to show yet (the admin sends them to its login).

    Computed once per request and user state: the admin asks many times.
    """
    user = request.user
    if not user.is_authenticated:
        return True
    key = (user.pk, is_verified(user))
    cached = getattr(request, "_two_factor_satisfied", None)
    if cached is None or cached[0] != key:
        cached = (key, key[1] or not needs_code(user))
        request._two_factor_satisfied = cached
    return cached[1]


#: The session key of the authenticator app this session is setting up.
PENDING_APP_DEVICE = "ropa_pending_app_device"


def pending_app_device(session, user, *, create=True):
    """
    The authenticator app that ``user`` is setting up in this ``session``:
    the same secret until they confirm it, so that reloading the page does not
    change the QR code they scanned.

    The secret belongs to one session only. Someone who knows the password
    but has not set two factors up could otherwise copy the secret of the
    set-up page, and later hold valid codes of the app the real user scans.
    A session that has no pending app of its own (with ``create``) removes
    the user's other unconfirmed apps and makes a new secret; without
    ``create`` it gets None (its set-up was replaced elsewhere).
    """
    pk = session.get(PENDING_APP_DEVICE)
    device = None
    if pk is not None:
        device = TOTPDevice.objects.filter(pk=pk, user=user, confirmed=False).first()
    if device is None and create:
        with transaction.atomic():
            for other in TOTPDevice.objects.filter(user=user, confirmed=False):
                other.delete()
            device = TOTPDevice.objects.create(
                user=user, name=APP_DEVICE_NAME, confirmed=False
            )
        session[PENDING_APP_DEVICE] = device.pk
    return device


def secret_text(device):
    """The device's secret as a person types it into an app: base32, by fours."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def normalise_code(code):
    """A code as typed, without spaces or dashes, lower case."""
    return re.sub(r"[\s-]+", "", code or "").lower()


def is_app_code(code):
    """Whether ``code`` (normalised) is an app's six digits, not a recovery code."""
    return bool(re.fullmatch(r"\d{6}", code))


@transaction.atomic
def confirm_app_device(device, code, *, user):
    """
    Finish setting up ``device`` if ``code`` is the one its app shows now.

    Returns the new recovery codes (to be shown once), or None for a wrong
    code. Any earlier app or recovery codes of the user are replaced.
    """
    if device.user_id != user.pk or device.confirmed:
        return None
    if not device.verify_token(normalise_code(code)):
        return None
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _replace_recovery_codes(user)
    _record(user, actor=user, message=SET_UP)
    log.info("Two-factor authentication set up by %s.", user.get_username())
    return codes


@transaction.atomic
def issue_app_device(user):
    """
    Give ``user`` a confirmed authenticator app secret and new recovery codes,
    replacing any they had: for the demo, which prints them. Returns the
    device and the codes.
    """
    _remove_devices(user)
    device = TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=True)
    return device, _replace_recovery_codes(user)


def verify_code(user, code):
    """
    The device of ``user`` that accepts ``code`` (an app's code or a recovery
    code, which is then used up), or None.

    A code is tried against one device only, the one its shape names, so that
    a wrong app code does not also count as a wrong recovery code.
    """
    code = normalise_code(code)
    if not code:
        return None
    model = TOTPDevice if is_app_code(code) else StaticDevice
    with transaction.atomic():
        device = (
            model.objects.devices_for_user(user, confirmed=True)
            .select_for_update()
            .order_by("pk")
            .first()
        )
        if device is not None and device.verify_token(code):
            return device
    return None


def recovery_codes_left(user):
    """How many unused recovery codes ``user`` has."""
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


@transaction.atomic
def renew_recovery_codes(user):
    """Replace the recovery codes of ``user``; the new ones, to be shown once."""
    codes = _replace_recovery_codes(user)
    _record(user, actor=user, message=CODES_RENEWED)
    return codes


@transaction.atomic
def turn_off(user):
    """
    Remove the second factor of ``user``, who chose it. Refused (ValueError)
    for those who must use it.
    """
    if must_use_two_factor(user):
        raise ValueError("Superusers and DPOs cannot turn two-factor login off.")
    _remove_devices(user)
    _record(user, actor=user, message=TURNED_OFF)


@transaction.atomic
def reset_two_factor(user, *, actor, ran_by):
    """
    Remove every device of ``user`` (a lost phone, used-up recovery codes) and
    end their open sessions, so that they set two factors up again at their
    next login. Recorded under ``actor``, naming who ran it (``ran_by``: the
    server account, and the staff member who asked); returns (devices,
    sessions) removed.
    """
    devices = _remove_devices(user)
    sessions = end_sessions(user)
    _record(
        user,
        actor=actor,
        message=RESET.format(
            ran_by=ran_by, devices=_devices_text(devices), sessions=sessions
        ),
    )
    log.warning(
        "Two-factor authentication of %s reset by %s: %s removed, %d session(s) ended.",
        user.get_username(),
        ran_by,
        _devices_text(devices),
        sessions,
    )
    return devices, sessions


def end_sessions(user):
    """
    Delete the stored sessions of ``user``: a session verified by a device
    that is gone would otherwise lead straight to setting up a new one.
    """
    ended = 0
    sessions = Session.objects.filter(expire_date__gt=timezone.now())
    for session in sessions.iterator():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()
            ended += 1
    return ended


def new_recovery_code():
    """A random recovery code: 12 characters of ``RECOVERY_ALPHABET`` (~59 bits)."""
    return "".join(
        secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH)
    )


def shown_code(code):
    """A recovery code as printed: in groups of four, easier to copy."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def _replace_recovery_codes(user):
    """
    New recovery codes for ``user``, in place of the old: the device stays,
    only its codes change, so that a session verified by a recovery code
    stays verified (django-otp keeps the device's id in the session).
    """
    devices = StaticDevice.objects.filter(user=user).order_by("pk")
    device = devices.first()
    if device is None:
        device = StaticDevice.objects.create(
            user=user, name=RECOVERY_DEVICE_NAME, confirmed=True
        )
    else:
        for extra in devices.exclude(pk=device.pk):
            extra.delete()
        if not device.confirmed:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
        device.token_set.all().delete()
    codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    for code in codes:
        StaticToken.objects.create(device=device, token=code)
    return [shown_code(code) for code in codes]


def _remove_devices(user):
    """Delete every device of ``user``; the names of those deleted."""
    removed = []
    for model in (TOTPDevice, StaticDevice):
        for device in model.objects.filter(user=user):
            removed.append(device.name)
            device.delete()
    return removed


def _devices_text(devices):
    return ", ".join(devices) if devices else "no device"


def _record(user, *, actor, message):
    """A line in the admin's history of ``user``, as for a change in the admin."""
    LogEntry.objects.log_actions(
        user_id=actor.pk,
        queryset=[user],
        action_flag=CHANGE,
        change_message=message,
        single_object=True,
    )
