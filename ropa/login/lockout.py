"""
Password guessing, locked out two ways (django-axes' handler, extended).

- A username guessed from one address: after ``AXES_FAILURE_LIMIT`` failures
  that pair is locked for ``AXES_COOLOFF_TIME`` (axes' own rule,
  ``AXES_LOCKOUT_PARAMETERS``). The user logs in from anywhere else.
- A username guessed from many addresses (a botnet, or an attacker who
  changes address): after ``ROPA_USERNAME_FAILURE_LIMIT`` failures within
  the last ``ROPA_USERNAME_COOLOFF_TIME``, from whatever addresses, the
  username is locked everywhere. Each failure counts for one window from its
  own time (axes' ``AccessFailureLog``, one row per failure), so the lock
  ends at most one cool-off after the last failure that reached the limit;
  attempts refused during the lock are not recorded and do not prolong it.

  What this does not prevent: an attacker who keeps guessing, a limit's
  worth of failures per window, keeps the username locked for as long as
  they keep doing it (the user gets in between their windows). Their own
  addresses meanwhile run into axes' username + address lock above, so the
  guessing stays slow: a few tries per cool-off.

Wrong codes at the second step count as failures too (``ropa.login.views``).
A success resets the failures of its username and address only once the
whole login is done: after the password for a user without two factors,
after the code for the others, so that a known password does not reset the
count of wrong codes.
"""

import datetime

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_credentials
from axes.models import AccessAttempt, AccessFailureLog
from axes.signals import user_locked_out
from django.conf import settings
from django.db.models import Exists, OuterRef

from ropa.login.two_factor import needs_code

DEFAULT_USERNAME_FAILURE_LIMIT = 6
DEFAULT_USERNAME_COOLOFF = datetime.timedelta(minutes=5)


def username_failure_limit():
    return getattr(
        settings, "ROPA_USERNAME_FAILURE_LIMIT", DEFAULT_USERNAME_FAILURE_LIMIT
    )


def username_cool_off():
    return getattr(settings, "ROPA_USERNAME_COOLOFF_TIME", DEFAULT_USERNAME_COOLOFF)


class LockoutHandler(AxesDatabaseHandler):
    """Axes' database handler, with the lock of a username from any address."""

    def is_locked(self, request, credentials=None):
        return super().is_locked(request, credentials) or self.username_locked(
            request, credentials
        )

    def username_locked(self, request, credentials=None):
        """
        Whether the username of this attempt failed too often lately, from
        whatever addresses.
        """
        username = get_client_username(request, credentials)
        if not username:
            return False
        return username_failures(username, request.axes_attempt_time) >= (
            username_failure_limit()
        )

    def user_login_failed(self, sender, credentials, request=None, **kwargs):
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None or request.axes_locked_out:
            return
        if self.username_locked(request, credentials):
            # The failure that reaches the limit gets the lockout page, as
            # axes gives it for its own rule.
            request.axes_locked_out = True
            request.axes_credentials = credentials
            user_locked_out.send(
                "axes",
                request=request,
                username=get_client_username(request, credentials),
                ip_address=request.axes_ip_address,
            )

    def user_logged_in(self, sender, request, user, **kwargs):
        super().user_logged_in(sender, request, user, **kwargs)
        if not needs_code(user):
            login_completed(request, user)


def login_completed(request, user):
    """
    Forget the failures of ``user`` from this address: they got in, both
    factors given. Their failures from other addresses still count.
    """
    AxesProxyHandler.update_request(request)
    handler = AxesProxyHandler.get_implementation()
    return handler.reset_user_attempts(request, get_credentials(user.get_username()))


def username_failures(username, now):
    """
    How many times ``username`` failed, from any address, within the last
    cool-off before ``now``: each failure once, at its own time.

    A failure from an address where the user then got in (both factors,
    ``login_completed``, which removes axes' row of that username and
    address) no longer counts, as it did not before the failure log.
    """
    since = now - username_cool_off()
    still_counted = AccessAttempt.objects.filter(
        username=OuterRef("username"), ip_address=OuterRef("ip_address")
    )
    return AccessFailureLog.objects.filter(
        Exists(still_counted), username=username, attempt_time__gte=since
    ).count()
