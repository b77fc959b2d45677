"""
The second factor: who must give it, setting it up, the code step, recovery
codes, and the reset of a lost device; each through the pages as a browser
posts them.
"""

import base64
import getpass
import re
from io import StringIO

import lxml.html
import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import AnonymousUser, Group
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.test import Client, RequestFactory
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from ropa.login import two_factor
from ropa.login.forms import WRONG_CODE, WRONG_SETUP_CODE
from ropa.roles import AUDITOR, CONTRIBUTOR, DPO
from tests.admin_pages import form_data
from tests.factories import PASSWORD, StaffUserFactory, SuperuserFactory
from tests.factories.users import current_code

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")
INDEX = reverse("admin:index")
VERIFY = reverse("two_factor:verify")
ENROL = reverse("two_factor:enrol")
MANAGE = reverse("two_factor:manage")
CODES = reverse("two_factor:recovery_codes")
TURN_OFF = reverse("two_factor:turn_off")
ADDRESS = "10.0.0.7"


@pytest.fixture
def roles(db):
    call_command("setup_roles", stdout=StringIO())


@pytest.fixture
def dpo(roles):
    """A DPO who has not set up two factors yet."""
    user = StaffUserFactory()
    user.groups.add(Group.objects.get(name=DPO))
    return user


@pytest.fixture
def enrolled_dpo(dpo):
    """A DPO with an authenticator app and recovery codes; the codes."""
    _, codes = two_factor.issue_app_device(dpo)
    return dpo, codes


@pytest.fixture
def client():
    # Every request from the same address: the lockout counts by address.
    return Client(REMOTE_ADDR=ADDRESS)


def html(response):
    return lxml.html.document_fromstring(response.content.decode())


def submit(client, page, form_id, **values):
    """
    Fill ``values`` into the form ``form_id`` on ``page`` and post it where a
    browser does: its action, or the page's own URL when it has none.
    """
    action = html(page).get_element_by_id(form_id).get("action")
    if not action:
        query = page.request.get("QUERY_STRING")
        action = page.request["PATH_INFO"] + (f"?{query}" if query else "")
    data = {**form_data(page, form_id=form_id, submit=None), **values}
    return client.post(action, data)


def log_in_with_password(client, user, password=PASSWORD):
    """The admin's login page, filled in and sent; the response to it."""
    page = client.get(f"{LOGIN}?next={INDEX}")
    return submit(client, page, "login-form", username=user.username, password=password)


def give_code(client, code, *, path=None):
    """The code step's page, filled in with ``code`` and sent."""
    page = client.get(path or f"{VERIFY}?next={INDEX}")
    assert page.status_code == 200, page
    return submit(client, page, "two-factor-form", code=code)


def logged_in(client):
    return "_auth_user_id" in client.session


def code_from_secret(secret_text):
    """What an authenticator app shows for the secret the set-up page prints."""
    key = base64.b32decode(secret_text.replace(" ", ""))
    return f"{TOTP(key).token():06d}"


# ---------------------------------------------------------------------------
# Who must
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "must"),
    [
        ("superuser", True),
        (DPO, True),
        (AUDITOR, False),
        (CONTRIBUTOR, False),
        ("staff", False),
    ],
)
def test_must_use_two_factor_for_superusers_and_dpos_only(roles, kind, must):
    if kind == "superuser":
        user = SuperuserFactory()
    else:
        user = StaffUserFactory()
        if kind != "staff":
            user.groups.add(Group.objects.get(name=kind))

    assert two_factor.must_use_two_factor(user) is must


def test_must_use_two_factor_not_for_anonymous():
    assert not two_factor.must_use_two_factor(AnonymousUser())


# ---------------------------------------------------------------------------
# Setting it up after the password
# ---------------------------------------------------------------------------


def test_dpo_without_device_is_sent_to_set_up_after_the_password(client, dpo):
    response = log_in_with_password(client, dpo)
    assert response.status_code == 302
    response = client.get(response.url)

    assert response.status_code == 302
    assert response.url == f"{ENROL}?next=%2Fadmin%2F"
    page = client.get(response.url)
    assert page.status_code == 200
    assert html(page).get_element_by_id("two-factor-secret").text_content().strip()
    assert b"<svg" in page.content


def test_set_up_page_keeps_its_secret_until_confirmed(client, dpo):
    log_in_with_password(client, dpo)

    first = client.get(ENROL)
    second = client.get(ENROL)

    def secret(page):
        return html(page).get_element_by_id("two-factor-secret").text_content()

    assert secret(first) == secret(second)


def test_set_up_with_the_apps_code_shows_ten_recovery_codes_once(client, dpo):
    log_in_with_password(client, dpo)
    page = client.get(f"{ENROL}?next={INDEX}")
    secret = html(page).get_element_by_id("two-factor-secret").text_content()

    response = submit(client, page, "two-factor-form", code=code_from_secret(secret))

    assert response.status_code == 302
    assert response.url == f"{CODES}?next=%2Fadmin%2F"
    codes_page = client.get(response.url)
    codes = [
        item.text_content().strip()
        for item in html(codes_page).get_element_by_id("recovery-codes")
    ]
    assert len(codes) == two_factor.RECOVERY_CODE_COUNT
    assert len(set(codes)) == len(codes)
    assert all(re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", c) for c in codes)
    # Shown once: the page does not show them again.
    assert client.get(CODES).url == MANAGE
    assert client.get(INDEX).status_code == 200
    assert TOTPDevice.objects.get(user=dpo).confirmed
    assert LogEntry.objects.get(object_id=str(dpo.pk)).get_change_message() == (
        two_factor.SET_UP
    )


def test_set_up_refuses_a_wrong_code(client, dpo):
    log_in_with_password(client, dpo)
    page = client.get(ENROL)

    response = submit(client, page, "two-factor-form", code="000000")

    assert response.status_code == 200
    assert WRONG_SETUP_CODE in html(response).text_content()
    assert not TOTPDevice.objects.get(user=dpo).confirmed
    assert client.get(INDEX).url.startswith(ENROL)


def test_each_session_sets_up_its_own_secret(dpo):
    # Someone who knows only the password opens the set-up first, copies the
    # secret and leaves; the DPO sets up later, on a secret of their own.
    intruder, owner = Client(REMOTE_ADDR=ADDRESS), Client(REMOTE_ADDR="10.0.0.8")
    log_in_with_password(intruder, dpo)
    log_in_with_password(owner, dpo)
    intruder_page = intruder.get(f"{ENROL}?next={INDEX}")
    owner_page = owner.get(f"{ENROL}?next={INDEX}")

    def secret(page):
        return html(page).get_element_by_id("two-factor-secret").text_content()

    assert secret(intruder_page) != secret(owner_page)
    response = submit(
        intruder,
        intruder_page,
        "two-factor-form",
        code=code_from_secret(secret(intruder_page)),
    )
    assert response.status_code == 302
    assert not response.url.startswith(CODES)
    assert not TOTPDevice.objects.filter(user=dpo, confirmed=True).exists()

    response = submit(
        owner, owner_page, "two-factor-form", code=code_from_secret(secret(owner_page))
    )

    assert response.url == f"{CODES}?next=%2Fadmin%2F"
    app = TOTPDevice.objects.get(user=dpo)
    assert app.confirmed
    assert two_factor.secret_text(app) == secret(owner_page)
    # The intruder, left with the password only, is asked for the new app's code.
    assert intruder.get(INDEX).url.startswith(VERIFY)


def test_a_password_alone_does_not_replace_a_device(client, enrolled_dpo):
    dpo, _ = enrolled_dpo
    app = TOTPDevice.objects.get(user=dpo)
    log_in_with_password(client, dpo)

    response = client.get(ENROL)

    assert response.status_code == 302
    assert response.url.startswith(VERIFY)
    assert list(TOTPDevice.objects.filter(user=dpo)) == [app]


# ---------------------------------------------------------------------------
# The code step
# ---------------------------------------------------------------------------


def test_enrolled_user_gives_the_apps_code_after_the_password(client, enrolled_dpo):
    dpo, _ = enrolled_dpo
    response = log_in_with_password(client, dpo)
    assert client.get(response.url).url == f"{VERIFY}?next=%2Fadmin%2F"

    response = give_code(client, current_code(TOTPDevice.objects.get(user=dpo)))

    assert response.status_code == 302
    assert response.url == INDEX
    assert client.get(INDEX).status_code == 200


def _admin_urls(user):
    return [
        INDEX,
        reverse("admin:ropa_processingactivity_changelist"),
        reverse("admin:ropa_processingactivity_add"),
        reverse("admin:auth_user_change", args=(user.pk,)),
        reverse("admin:password_change"),
        MANAGE,
        CODES,
    ]


@pytest.mark.parametrize("method", ["get", "post"])
def test_no_admin_page_before_the_code(client, enrolled_dpo, method):
    dpo, _ = enrolled_dpo
    log_in_with_password(client, dpo)

    for url in _admin_urls(dpo):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response.url.startswith(f"{VERIFY}?next="), url


def test_the_admin_site_itself_refuses_an_unverified_dpo(enrolled_dpo):
    # Without the middleware (a request it did not see), the site says no.
    dpo, _ = enrolled_dpo
    request = RequestFactory().get(INDEX)
    request.user = dpo

    assert not admin.site.has_permission(request)


def test_a_wrong_code_is_refused(client, enrolled_dpo):
    dpo, _ = enrolled_dpo
    log_in_with_password(client, dpo)

    response = give_code(client, "123456")

    assert response.status_code == 200
    assert WRONG_CODE in html(response).text_content()
    assert client.get(INDEX).status_code == 302


@pytest.mark.parametrize("step", [VERIFY, ENROL])
def test_log_out_before_the_code(client, roles, step):
    dpo = StaffUserFactory()
    dpo.groups.add(Group.objects.get(name=DPO))
    if step == VERIFY:
        two_factor.issue_app_device(dpo)
    log_in_with_password(client, dpo)
    page = client.get(step)

    response = submit(client, page, "two-factor-logout")

    assert response.url == LOGIN
    assert not logged_in(client)


@pytest.mark.parametrize("enrolled", [True, False])
def test_the_login_page_leads_an_unverified_user_to_the_code_step(
    client, dpo, enrolled
):
    if enrolled:
        two_factor.issue_app_device(dpo)
    log_in_with_password(client, dpo)
    target = reverse("admin:ropa_processingactivity_changelist")

    response = client.get(f"{LOGIN}?next={target}")

    step = VERIFY if enrolled else ENROL
    assert response.status_code == 302
    assert response.url == f"{step}?next={target.replace('/', '%2F')}"


def test_the_admins_logout_is_not_open_before_the_code(client, enrolled_dpo):
    dpo, _ = enrolled_dpo
    log_in_with_password(client, dpo)

    response = client.post(reverse("admin:logout"))

    assert response.status_code == 302
    assert response.url == f"{VERIFY}?next=%2Fadmin%2F"


def test_next_leads_to_this_site_only(client, enrolled_dpo):
    dpo, _ = enrolled_dpo
    log_in_with_password(client, dpo)
    code = current_code(TOTPDevice.objects.get(user=dpo))

    response = give_code(client, code, path=f"{VERIFY}?next=https://evil.example/")

    assert response.url == INDEX


def test_the_session_key_changes_with_the_code(client, enrolled_dpo):
    dpo, _ = enrolled_dpo
    log_in_with_password(client, dpo)
    before = client.cookies[settings.SESSION_COOKIE_NAME].value

    give_code(client, current_code(TOTPDevice.objects.get(user=dpo)))

    assert client.cookies[settings.SESSION_COOKIE_NAME].value != before


# ---------------------------------------------------------------------------
# Wrong codes and the lockout
# ---------------------------------------------------------------------------


@pytest.fixture
def no_throttle(settings):
    """django-otp's own delay after a wrong code, off: we count attempts here."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def test_wrong_codes_lock_the_login_out(client, enrolled_dpo, no_throttle):
    dpo, _ = enrolled_dpo
    log_in_with_password(client, dpo)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert give_code(client, "000000").status_code == 200

    response = give_code(client, "000000")

    assert response.status_code == 429
    assert not logged_in(client)
    # Locked: the right password is refused too.
    assert log_in_with_password(client, dpo).status_code == 429


def test_the_password_does_not_reset_the_count_of_wrong_codes(
    client, enrolled_dpo, no_throttle
):
    dpo, _ = enrolled_dpo
    log_in_with_password(client, dpo)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        give_code(client, "000000")
    client.logout()
    log_in_with_password(client, dpo)

    response = give_code(client, "000000")

    assert response.status_code == 429
    assert not logged_in(client)


def test_a_wrong_code_is_not_kept_in_the_failed_attempt(
    client, enrolled_dpo, no_throttle
):
    dpo, codes = enrolled_dpo
    log_in_with_password(client, dpo)

    give_code(client, "314159")
    give_code(client, codes[0][:-1] + "x")

    post_data = AccessAttempt.objects.get(username=dpo.username).post_data
    assert "code=" in post_data
    assert "314159" not in post_data
    assert codes[0][:-1] not in post_data


def test_the_right_code_resets_the_count(client, enrolled_dpo, no_throttle):
    dpo, _ = enrolled_dpo
    log_in_with_password(client, dpo)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        give_code(client, "000000")

    give_code(client, current_code(TOTPDevice.objects.get(user=dpo)))

    assert not AccessAttempt.objects.filter(username=dpo.username).exists()


# ---------------------------------------------------------------------------
# Recovery codes
# ---------------------------------------------------------------------------


def test_a_recovery_code_logs_in_once(client, enrolled_dpo):
    dpo, codes = enrolled_dpo
    log_in_with_password(client, dpo)

    response = give_code(client, codes[3].upper())

    assert response.url == INDEX
    assert two_factor.recovery_codes_left(dpo) == len(codes) - 1
    client.logout()
    log_in_with_password(client, dpo)
    assert give_code(client, codes[3]).status_code == 200
    assert client.get(INDEX).status_code == 302


def test_new_recovery_codes_replace_the_old(client, enrolled_dpo):
    dpo, old_codes = enrolled_dpo
    client.force_login(dpo)
    page = client.get(MANAGE)

    response = submit(
        client,
        page,
        "new-recovery-codes",
        code=current_code(TOTPDevice.objects.get(user=dpo)),
    )

    assert response.url == CODES
    new_codes = [
        item.text_content().strip()
        for item in html(client.get(CODES)).get_element_by_id("recovery-codes")
    ]
    assert len(new_codes) == two_factor.RECOVERY_CODE_COUNT
    assert not set(new_codes) & set(old_codes)
    # (The new one first: a wrong code delays the next try by a second.)
    assert two_factor.verify_code(dpo, new_codes[0]) is not None
    assert two_factor.verify_code(dpo, old_codes[0]) is None


def test_new_recovery_codes_keep_a_recovery_code_login_verified(
    client, enrolled_dpo, no_throttle
):
    dpo, old_codes = enrolled_dpo
    log_in_with_password(client, dpo)
    give_code(client, old_codes[0])
    page = client.get(MANAGE)

    submit(client, page, "new-recovery-codes", code=old_codes[1])

    new_codes = [
        item.text_content().strip()
        for item in html(client.get(CODES)).get_element_by_id("recovery-codes")
    ]
    assert len(new_codes) == two_factor.RECOVERY_CODE_COUNT
    # Still verified: the admin opens, without another code.
    assert client.get(INDEX).status_code == 200
    assert client.get(MANAGE).status_code == 200
    client.logout()
    log_in_with_password(client, dpo)
    assert give_code(client, old_codes[2]).status_code == 200
    assert give_code(client, new_codes[0]).url == INDEX


@pytest.mark.parametrize("code", ["", "000000", "aaaa-bbbb-cccc"])
def test_new_recovery_codes_need_a_current_code(client, enrolled_dpo, code):
    dpo, old_codes = enrolled_dpo
    log_in_with_password(client, dpo)
    give_code(client, current_code(TOTPDevice.objects.get(user=dpo)))
    page = client.get(MANAGE)

    response = submit(client, page, "new-recovery-codes", code=code)

    assert response.url == MANAGE
    assert WRONG_CODE in html(client.get(MANAGE)).text_content()
    assert two_factor.recovery_codes_left(dpo) == len(old_codes)
    assert client.get(CODES).url == MANAGE
    assert not LogEntry.objects.filter(object_id=str(dpo.pk)).exists()


# ---------------------------------------------------------------------------
# Optional for everyone else
# ---------------------------------------------------------------------------


def test_staff_without_two_factor_log_in_with_the_password(client):
    user = StaffUserFactory()

    response = log_in_with_password(client, user)

    assert response.url == INDEX
    assert client.get(INDEX).status_code == 200


def test_the_user_tools_lead_to_the_two_factor_page(client):
    client.force_login(StaffUserFactory())

    page = html(client.get(INDEX))

    links = page.get_element_by_id("user-tools").xpath(".//a/@href")
    assert MANAGE in links


def test_staff_may_turn_two_factor_on_and_off(client):
    user = StaffUserFactory()
    log_in_with_password(client, user)
    manage = client.get(MANAGE)
    assert "is <strong>off</strong>" in manage.content.decode()
    page = client.get(ENROL)
    secret = html(page).get_element_by_id("two-factor-secret").text_content()
    submit(client, page, "two-factor-form", code=code_from_secret(secret))
    client.logout()

    # On: the next login asks for the code.
    log_in_with_password(client, user)
    assert client.get(INDEX).url.startswith(VERIFY)
    device = TOTPDevice.objects.get(user=user)
    give_code(client, current_code(device))
    page = client.get(MANAGE)
    submit(client, page, "two-factor-turn-off", code=current_code(device))

    assert not two_factor.has_two_factor(user)
    client.logout()
    assert log_in_with_password(client, user).url == INDEX
    assert client.get(INDEX).status_code == 200


def test_a_dpo_cannot_turn_two_factor_off(client, enrolled_dpo):
    dpo, codes = enrolled_dpo
    client.force_login(dpo)
    page = client.get(MANAGE)
    assert b"two-factor-turn-off" not in page.content

    client.post(TURN_OFF, {"code": codes[0]})

    assert two_factor.has_two_factor(dpo)
    assert two_factor.recovery_codes_left(dpo) == len(codes)


# ---------------------------------------------------------------------------
# Resetting a lost device
# ---------------------------------------------------------------------------


def reset(*args):
    out = StringIO()
    call_command("reset_two_factor", *args, stdout=out)
    return out.getvalue()


def test_reset_two_factor_removes_the_devices_and_the_sessions(enrolled_dpo):
    dpo, _ = enrolled_dpo
    phone = Client()
    phone.force_login(dpo)
    assert phone.get(INDEX).status_code == 200

    output = reset(dpo.username)

    assert f"Removed the two-factor devices of {dpo.username}" in output
    assert not TOTPDevice.objects.filter(user=dpo).exists()
    assert not StaticDevice.objects.filter(user=dpo).exists()
    assert not Session.objects.exists()
    assert phone.get(INDEX).status_code == 302
    entry = LogEntry.objects.get(object_id=str(dpo.pk))
    assert entry.user.username == settings.ROPA_SYSTEM_USERNAME
    assert "reset_two_factor" in entry.get_change_message()


def test_reset_two_factor_records_who_ran_it(enrolled_dpo):
    dpo, _ = enrolled_dpo
    admin_user = SuperuserFactory()

    reset(dpo.username, "--by", admin_user.username)

    message = LogEntry.objects.get(object_id=str(dpo.pk)).get_change_message()
    assert f"server account {getpass.getuser()}" in message
    assert f"for {admin_user.username}" in message


def test_reset_two_factor_records_the_server_account_without_by(enrolled_dpo):
    dpo, _ = enrolled_dpo

    reset(dpo.username)

    message = LogEntry.objects.get(object_id=str(dpo.pk)).get_change_message()
    assert f"run by server account {getpass.getuser()})" in message


@pytest.mark.parametrize(
    ("by", "error"),
    [
        ("nobody", "There is no user 'nobody'"),
        ("not-staff", "--by not-staff: not an active staff login"),
    ],
)
def test_reset_two_factor_by_must_be_a_staff_login(
    enrolled_dpo, django_user_model, by, error
):
    dpo, _ = enrolled_dpo
    django_user_model.objects.create_user("not-staff", password=PASSWORD)

    with pytest.raises(CommandError, match=error):
        reset(dpo.username, "--by", by)

    assert two_factor.has_two_factor(dpo)


def test_after_a_reset_the_next_login_sets_two_factor_up_again(client, enrolled_dpo):
    dpo, _ = enrolled_dpo
    reset(dpo.username)

    response = log_in_with_password(client, dpo)

    assert client.get(response.url).url.startswith(ENROL)


def test_reset_two_factor_refuses_an_unknown_user(db):
    with pytest.raises(CommandError, match="There is no user 'nobody'"):
        reset("nobody")


def test_reset_two_factor_of_a_user_without_devices(db):
    user = StaffUserFactory()

    assert "had no two-factor device" in reset(user.username)


# ---------------------------------------------------------------------------
# The demo
# ---------------------------------------------------------------------------


def test_the_demo_dpo_logs_in_with_the_printed_secret(client, settings):
    settings.DEBUG = True
    out = StringIO()
    call_command("create_demo_user", stdout=out)
    output = out.getvalue()
    password = re.search(r"username: dpo\s+password: (\S+)", output).group(1)
    secret = re.search(r"\n\s+((?:[A-Z2-7]{4} ?)+)\n", output).group(1)
    dpo = TOTPDevice.objects.get(user__username="dpo").user

    log_in_with_password(client, dpo, password)
    response = give_code(client, code_from_secret(secret))

    assert response.url == INDEX
    assert client.get(INDEX).status_code == 200


def test_the_demo_prints_recovery_codes_that_work(client, settings):
    settings.DEBUG = True
    out = StringIO()
    call_command("create_demo_user", stdout=out)
    output = out.getvalue()
    password = re.search(r"username: dpo\s+password: (\S+)", output).group(1)
    codes = re.findall(r"\b[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}\b", output)
    dpo = TOTPDevice.objects.get(user__username="dpo").user

    assert len(codes) == two_factor.RECOVERY_CODE_COUNT
    log_in_with_password(client, dpo, password)
    assert give_code(client, codes[0]).url == INDEX


def test_the_user_list_shows_and_filters_who_has_set_up_two_factors(
    superuser_client, django_assert_max_num_queries
):
    two_factor.issue_app_device(StaffUserFactory(username="with-app"))
    StaffUserFactory(username="without-app")
    url = reverse("admin:auth_user_changelist")

    # One annotation for the column, not a query per row.
    with django_assert_max_num_queries(12):
        page = html(superuser_client.get(url))

    def row_of(username):
        (row,) = page.xpath(f'//tr[.//a[normalize-space()="{username}"]]')
        cell = './/td[contains(@class, "field-two_factor")]//img/@alt'
        return row.xpath(f"string({cell})")

    assert row_of("with-app") == "True"
    assert row_of("without-app") == "False"
    listed = html(superuser_client.get(url, {"two_factor": "no"}))
    names = {a.text_content().strip() for a in listed.xpath("//th/a")}
    assert "without-app" in names
    assert "with-app" not in names
