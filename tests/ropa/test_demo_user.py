from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django_otp.plugins.otp_totp.models import TOTPDevice

from ropa.login.two_factor import secret_text
from ropa.management.commands.create_demo_user import terminal_qr
from ropa.roles import AUDITOR, DPO

pytestmark = pytest.mark.django_db


def demo(**options):
    out = StringIO()
    call_command("create_demo_user", stdout=out, **options)
    return {
        line.split("username: ")[1].split()[0]: line.split("password: ")[1].strip()
        for line in out.getvalue().splitlines()
        # The DPO's two-factor secret and codes follow their login line.
        if "username: " in line
    }


def test_create_demo_user_prints_working_logins_in_their_roles(settings):
    settings.DEBUG = True

    logins = demo()

    assert set(logins) == {"dpo", "auditor"}
    for username, role in (("dpo", DPO), ("auditor", AUDITOR)):
        request = RequestFactory().post("/admin/login/")
        user = authenticate(request, username=username, password=logins[username])
        assert user is not None
        assert user.is_staff
        assert list(user.groups.values_list("name", flat=True)) == [role]


def test_create_demo_user_prints_the_dpos_qr_code_in_the_terminal(settings):
    settings.DEBUG = True
    out = StringIO()

    call_command("create_demo_user", stdout=out)

    output = out.getvalue()
    device = TOTPDevice.objects.get(user__username="dpo")
    # The QR code of the app's otpauth:// link, the same secret as text, and
    # no link to open on a phone from a terminal.
    assert terminal_qr(device.config_url) in output
    assert secret_text(device) in output
    assert "otpauth://" not in output
    qr_lines = terminal_qr(device.config_url).splitlines()
    assert len(qr_lines) > 10
    assert set("".join(qr_lines)) <= {"\u00a0", "\u2588", "\u2580", "\u2584"}


def test_create_demo_user_resets_the_password_each_run(settings):
    settings.DEBUG = True

    first, second = demo(), demo()

    assert first["dpo"] != second["dpo"]


def test_create_demo_user_is_refused_without_debug(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="only runs with DJANGO_DEBUG=true"):
        demo()
