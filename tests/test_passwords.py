"""
The password rules of our own, beside Django's: no password of a few
repeated characters, no season or month followed by a year and symbols.
"""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import (
    password_validators_help_texts,
    validate_password,
)
from django.core.exceptions import ValidationError
from django.urls import reverse

from ropa.login.passwords import SEASONAL, TOO_FEW_DISTINCT, is_seasonal
from tests.admin_pages import form_data
from tests.factories import StaffUserFactory

pytestmark = pytest.mark.django_db

GOOD_PASSPHRASE = "correct-horse-battery-staple"


def refusals(password, user=None):
    """The codes of the rules ``password`` breaks (all validators of settings)."""
    try:
        validate_password(password, user)
    except ValidationError as error:
        return {item.code for item in error.error_list}
    return set()


@pytest.mark.parametrize(
    "password", ["aaaaaaaaaaaa", "abababababab", "abcabcabcabc", "AaAaAaAaAaAa!"]
)
def test_passwords_of_few_distinct_characters_are_refused(password):
    assert "password_too_few_distinct" in refusals(password)


@pytest.mark.parametrize(
    "password",
    [
        "Summer2024!!",
        "summer2024!!",
        "SUMMER-2024!",
        "Summ3r2024!!",
        "!!Winter2025!!",
        "December2023!",
        "Januari2025#!",
        "Höst2024!!!!",
        "autumn#####2024",
    ],
)
def test_a_season_or_month_with_a_year_and_symbols_is_refused(password):
    assert "password_seasonal" in refusals(password)


@pytest.mark.parametrize(
    "password",
    [
        GOOD_PASSPHRASE,
        "summer rain over the harbour",
        "tågluffa-genom-europa-2024",
        "Maybe-7-Owls-Listen",
    ],
)
def test_a_good_passphrase_is_accepted(password):
    assert refusals(password) == set()
    assert not is_seasonal(password)


def test_the_rules_are_explained_beside_the_password_field():
    help_texts = " ".join(password_validators_help_texts())

    assert "different characters" in help_texts
    assert "season or a month" in help_texts


# ---------------------------------------------------------------------------
# Where a password is set: the admin's forms
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Summer2024!!", SEASONAL),
        ("aaaaaaaaaaaa", TOO_FEW_DISTINCT.format(minimum=6)),
    ],
)
def test_the_admins_add_user_form_refuses_a_weak_password(
    superuser_client, password, message
):
    url = reverse("admin:auth_user_add")
    data = {
        **form_data(superuser_client.get(url)),
        "username": "new-dpo",
        "password1": password,
        "password2": password,
    }

    response = superuser_client.post(url, data)

    assert response.status_code == 200
    assert message in response.context["adminform"].form.errors["password2"]
    assert not get_user_model().objects.filter(username="new-dpo").exists()


def test_the_admins_add_user_form_takes_a_good_passphrase(superuser_client):
    url = reverse("admin:auth_user_add")
    data = {
        **form_data(superuser_client.get(url)),
        "username": "new-dpo",
        "password1": GOOD_PASSPHRASE,
        "password2": GOOD_PASSPHRASE,
    }

    response = superuser_client.post(url, data)

    assert response.status_code == 302
    assert (
        get_user_model().objects.get(username="new-dpo").check_password(GOOD_PASSPHRASE)
    )


def test_the_admins_password_change_form_refuses_a_seasonal_password(
    superuser_client,
):
    user = StaffUserFactory()
    url = reverse("admin:auth_user_password_change", args=(user.pk,))
    data = {
        **form_data(superuser_client.get(url), form_id="user_form"),
        "password1": "Summer2024!!",
        "password2": "Summer2024!!",
    }

    response = superuser_client.post(url, data)

    assert response.status_code == 200
    assert SEASONAL in response.context["form"].errors["password2"]
