"""The way in: brute-force lockout, password rules and session expiry."""

import datetime

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.urls import reverse

from ropa.core.client_ip import client_ip
from tests.factories import PASSWORD, StaffUserFactory

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")
ATTACKER = "10.0.0.66"
OFFICE = "203.0.113.9"


def attempt(client, username, password, address=ATTACKER):
    return client.post(
        LOGIN,
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
    )


def logged_in(response):
    return response.status_code == 302 and response.url == "/admin/"


def fail_until_locked(client, username):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, username, "wrong password")


def test_login_with_the_right_password_succeeds(client):
    user = StaffUserFactory()

    assert logged_in(attempt(client, user.username, PASSWORD))


def test_login_is_locked_after_repeated_failures_even_with_the_right_password(client):
    user = StaffUserFactory()
    fail_until_locked(client, user.username)

    response = attempt(client, user.username, PASSWORD)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_username_and_address(client):
    victim, colleague = StaffUserFactory(), StaffUserFactory()
    fail_until_locked(client, victim.username)

    # The attacker's address does not lock the colleague out, nor does the
    # victim's name lock the victim out from the office.
    assert logged_in(attempt(client, colleague.username, PASSWORD))
    client.logout()
    assert logged_in(attempt(client, victim.username, PASSWORD, address="10.0.0.1"))


def test_lockout_ends_after_the_cool_off(client):
    user = StaffUserFactory()
    fail_until_locked(client, user.username)
    AccessAttempt.objects.update(
        attempt_time=datetime.datetime.now(tz=datetime.UTC)
        - settings.AXES_COOLOFF_TIME
        - datetime.timedelta(seconds=1)
    )

    assert logged_in(attempt(client, user.username, PASSWORD))


def fail_from_many_addresses(client, username, count):
    """``count`` wrong passwords for ``username``, each from another address."""
    for n in range(count):
        attempt(client, username, "wrong password", address=f"198.51.100.{n + 1}")


def time_passes(delta, *, exclude_address=None):
    """
    Move the failures recorded so far ``delta`` into the past: axes' rows of
    username and address, and its log of each failure.
    """
    for model in (AccessAttempt, AccessFailureLog):
        rows = model.objects.all()
        if exclude_address:
            rows = rows.exclude(ip_address=exclude_address)
        for row in rows:
            row.attempt_time -= delta
            row.save(update_fields=["attempt_time"])


def test_a_username_guessed_from_many_addresses_is_locked(client):
    user = StaffUserFactory()
    fail_from_many_addresses(client, user.username, 6)

    # The right password, from an address that never failed, is refused.
    response = attempt(client, user.username, PASSWORD, address=OFFICE)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_failure_that_reaches_the_username_limit_gets_the_lockout_page(client):
    user = StaffUserFactory()
    fail_from_many_addresses(client, user.username, 5)

    response = attempt(client, user.username, "wrong", address="198.51.100.99")

    assert response.status_code == 429


def test_fewer_failures_from_many_addresses_do_not_lock(client):
    user = StaffUserFactory()
    fail_from_many_addresses(client, user.username, 5)

    assert logged_in(attempt(client, user.username, PASSWORD, address=OFFICE))


def test_the_username_lock_is_short(client):
    user = StaffUserFactory()
    fail_from_many_addresses(client, user.username, 6)
    # Time passes: the cool-off of the username, not axes' longer one.
    time_passes(settings.ROPA_USERNAME_COOLOFF_TIME + datetime.timedelta(seconds=1))

    assert settings.ROPA_USERNAME_COOLOFF_TIME < settings.AXES_COOLOFF_TIME
    assert logged_in(attempt(client, user.username, PASSWORD, address=OFFICE))


def test_attempts_during_the_username_lock_do_not_prolong_it(client):
    user = StaffUserFactory()
    fail_from_many_addresses(client, user.username, 6)
    time_passes(settings.ROPA_USERNAME_COOLOFF_TIME - datetime.timedelta(seconds=30))
    # The user, still locked out, tries from the office again and again.
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert attempt(client, user.username, PASSWORD, OFFICE).status_code == 429
    # The attacker's failures age out; the office's tries counted for nothing.
    time_passes(datetime.timedelta(seconds=31), exclude_address=OFFICE)

    assert logged_in(attempt(client, user.username, PASSWORD, address=OFFICE))


def test_old_failures_do_not_keep_the_username_locked(client):
    # An attacker fails a few times from two addresses in every window: axes'
    # row of each address keeps its count while its time moves on.
    user = StaffUserFactory()
    window = settings.ROPA_USERNAME_COOLOFF_TIME + datetime.timedelta(seconds=1)
    for _ in range(2):
        for address in ("198.51.100.1", "198.51.100.2"):
            attempt(client, user.username, "wrong", address=address)
            attempt(client, user.username, "wrong", address=address)
        time_passes(window)
    for address in ("198.51.100.1", "198.51.100.2"):
        attempt(client, user.username, "wrong", address=address)

    # Two failures in the last window, eight from the start: not locked.
    assert logged_in(attempt(client, user.username, PASSWORD, address=OFFICE))


def test_the_username_lock_ends_as_its_failures_age_out(client):
    user = StaffUserFactory()
    fail_from_many_addresses(client, user.username, 3)
    time_passes(settings.ROPA_USERNAME_COOLOFF_TIME / 2)
    fail_from_many_addresses(client, user.username, 3)
    assert attempt(client, user.username, PASSWORD, OFFICE).status_code == 429

    time_passes(settings.ROPA_USERNAME_COOLOFF_TIME / 2 + datetime.timedelta(seconds=1))

    assert logged_in(attempt(client, user.username, PASSWORD, address=OFFICE))


def test_success_resets_the_failure_count(client):
    user = StaffUserFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, user.username, "wrong password")
    assert logged_in(attempt(client, user.username, PASSWORD))
    client.logout()

    attempt(client, user.username, "wrong password")

    assert logged_in(attempt(client, user.username, PASSWORD))


@pytest.mark.parametrize(
    ("behind_proxy", "meta", "expected"),
    [
        (False, {"REMOTE_ADDR": "10.0.0.1"}, "10.0.0.1"),
        (
            False,
            {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "1.2.3.4"},
            "10.0.0.1",
        ),
        (
            True,
            {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 1.2.3.4"},
            "1.2.3.4",
        ),
        (True, {"REMOTE_ADDR": "10.0.0.1"}, "10.0.0.1"),
    ],
    ids=["direct", "direct-ignores-header", "proxy-last-hop", "proxy-no-header"],
)
def test_client_ip(settings, behind_proxy, meta, expected):
    settings.BEHIND_PROXY = behind_proxy
    request = RequestFactory().get("/", **meta)

    assert client_ip(request) == expected


@pytest.mark.parametrize(
    "password", ["short1!", "password1234", "12345678901234", "dpo-username-dpo"]
)
def test_weak_passwords_are_refused(password):
    user = StaffUserFactory.build(username="dpo-username-dpo")

    with pytest.raises(ValidationError):
        validate_password(password, user)


def test_admin_sessions_expire():
    assert settings.SESSION_COOKIE_AGE <= 8 * 60 * 60
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
