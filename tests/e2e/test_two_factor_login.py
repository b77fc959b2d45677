"""
A DPO's login with two factors, in Chromium: the first login sets up the
authenticator app (its code computed here from the secret the page shows, as
the app computes it), the next ones ask for its code, and a recovery code
stands in for a lost phone once.
"""

import base64

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from ropa.login import two_factor
from ropa.roles import DPO
from tests.e2e.conftest import (
    ACTIVITIES,
    TWO_FACTOR_STEP,
    at,
    fits_width,
    member_of,
)
from tests.factories import PASSWORD
from tests.factories.users import current_code

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

SET_UP = "/admin/two-factor/set-up/"
RECOVERY_CODES = "/admin/two-factor/recovery-codes/"


def give_password(page, username):
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form input[type=submit]")


def give_code(page, code):
    page.wait_for_url(at(TWO_FACTOR_STEP))
    fits_width(page)
    page.fill("#id_code", code)
    page.click("#two-factor-form input[type=submit]")


def log_out(page):
    page.click("#logout-form button")
    page.wait_for_url(at("/admin/logout/"))


def test_dpo_sets_up_two_factors_then_logs_in_with_the_app_and_a_recovery_code(
    browser_page, roles
):
    page = browser_page
    refused = []
    # The pages run under the site's Content-Security-Policy: no inline
    # script or style of theirs (the QR code is SVG paths) may be refused.
    page.on(
        "console",
        lambda message: (
            refused.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    dpo = member_of(DPO)

    # First login: the password, then the set-up, before any other page.
    give_password(page, dpo.username)
    page.wait_for_url(at(SET_UP))
    fits_width(page)
    assert page.locator(".two-factor-qr svg").is_visible()
    secret = page.locator("#two-factor-secret").inner_text()
    page.goto(ACTIVITIES)
    page.wait_for_url(at(SET_UP))
    # The app, given the secret, shows the code of the current 30 seconds.
    key = base64.b32decode(secret.replace(" ", ""))
    page.fill("#id_code", f"{TOTP(key).token():06d}")
    page.click("#two-factor-form input[type=submit]")

    page.wait_for_url(at(RECOVERY_CODES))
    fits_width(page)
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == two_factor.RECOVERY_CODE_COUNT
    # On to the page asked for before the set-up.
    page.click("#two-factor-continue")
    page.wait_for_url(at(ACTIVITIES))
    assert page.get_by_role("link", name="Two-factor authentication").is_visible()
    log_out(page)

    # Next login: the password, then the app's code.
    give_password(page, dpo.username)
    give_code(page, current_code(TOTPDevice.objects.get(user=dpo)))
    page.wait_for_url(at("/admin/"))
    fits_width(page)
    log_out(page)

    # The phone is lost: a recovery code, once.
    give_password(page, dpo.username)
    give_code(page, codes[0])
    page.wait_for_url(at("/admin/"))
    log_out(page)
    give_password(page, dpo.username)
    give_code(page, codes[0])
    assert page.locator(".errornote").is_visible()
    page.wait_for_url(at(TWO_FACTOR_STEP))
    assert two_factor.recovery_codes_left(dpo) == len(codes) - 1
    assert refused == []
