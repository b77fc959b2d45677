"""Loading the sample register into an empty database: options and refusals."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError

from controllers.models import Organisation
from ropa.models import (
    ProcessingActivity,
)
from ropa.sample import SAMPLE_REASON, SampleRegisterError, load_sample_register
from tests.ropa.sample.test_sample_register import _counts, _load, _models

pytestmark = pytest.mark.django_db


def test_load_sample_register_quiet_prints_the_summary_only():
    output = _load(verbosity=0)

    [line] = output.splitlines()
    assert re.fullmatch(
        rf"{SAMPLE_REASON}: [1-9]\d* created, 0 updated, 0 unchanged\.", line
    )


def test_load_sample_register_dry_run_writes_nothing():
    rows = _counts(historical=False)
    history = _counts(historical=True)

    output = _load("--dry-run")

    assert _counts(historical=False) == rows
    assert _counts(historical=True) == history
    assert "Dry run, nothing saved." in output
    assert "processing activities: 26 created" in output


def test_load_sample_register_records_reason_and_user_in_history():
    user = get_user_model().objects.create_user("dpo", password="not-used-here")

    _load(user="dpo")

    historical = [
        model
        for model in _models(historical=True)
        if hasattr(model, "history_change_reason")
    ]
    rows = [row for model in historical for row in model.objects.all()]
    assert rows
    assert {row.history_change_reason for row in rows} == {SAMPLE_REASON}
    assert {row.history_user_id for row in rows} == {user.pk}


def test_load_sample_register_refuses_a_name_taken_by_another_activity():
    ProcessingActivity.objects.create(
        reference="PA-0100",
        name="To manage orders",
        purpose="Orders.",
        business_function="Sales",
    )

    with pytest.raises(CommandError, match=r"PA-0001 To manage orders.*name"):
        _load()

    assert ProcessingActivity.objects.count() == 1
    assert not Organisation.objects.exists()


def test_load_sample_register_refuses_an_unknown_user():
    with pytest.raises(CommandError, match="No user with the username 'nobody'"):
        _load(user="nobody")

    assert not ProcessingActivity.objects.exists()


def test_load_sample_register_requires_a_reason():
    with pytest.raises(SampleRegisterError, match="A change reason is required"):
        load_sample_register(reason=" ")
