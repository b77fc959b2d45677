"""
The sample register against the privacy notice it comes from.

Expectations are read from the notice as published (``ropa/fixtures/
sample_notice.txt``), not from ``ropa.sample``: the titles, texts, joint
purposes, profiling and opt-out statements the register must carry.
"""

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError

import ropa
from controllers.models import Organisation
from ropa.models import (
    ProcessingActivity,
)
from ropa.sample import SAMPLE_REASON, SampleRegisterError, load_sample_register
from tests.ropa.test_sample_register import _counts, _load, _models

pytestmark = pytest.mark.django_db

NOTICE = Path(ropa.__file__).resolve().parent / "fixtures" / "sample_notice.txt"

# Words the notice's PDF broke at a line end, as they appear in it.
HYPHENATION_ARTEFACTS = {
    "ar-chive": "archive",
    "com-pany": "company",
    "con-duct": "conduct",
    "cus-tomer": "customer",
    "custom-er": "customer",
    "digi-tal": "digital",
    "ex-ample": "example",
    "in-formation": "information",
    "joint-ly": "jointly",
    "newslet-ter": "newsletter",
    "other-wise": "otherwise",
    "partici-pation": "participation",
    "pat-terns": "patterns",
    "per-sonal": "personal",
    "pro-cess": "process",
    "pur-pose": "purpose",
    "reg-istering": "registering",
    "require-ment": "requirement",
    "under-take": "undertake",
}
# Hyphenated words the notice spells so.
HYPHENATED_WORDS = {
    "back-ups",
    "co-operation",
    "decision-making",
    "e-mail",
    "follow-up",
    "follow-ups",
    "so-called",
}
HYPHENATED = re.compile(r"\b[A-Za-z]+-[A-Za-z]+\b")

JOINT_STATEMENT = re.compile(
    r"^Each company covered by this privacy policy is, as a starting point, "
    r"responsible for its own use of your personal data for this purpose\. "
    r"Companies within the Infobric group are, however, jointly responsible for "
    r"the use of your personal data for this purpose where the companies jointly "
    r"(?P<processing>.+)\.$"
)
ALWAYS_JOINT_STATEMENT = re.compile(
    r"^The companies are jointly responsible for the processing of your personal "
    r"data in order to (?P<processing>.+)\.$"
)
# Words of the sentences the register keeps in fields of their own.
OPT_OUT_WORDS = ("unsubscribe", "opt out")
PROFILING_WORDS = ("profiling",)
JOINT_WORDS = ("jointly responsible",)
SOCIAL_NETWORKS = "Social networking platforms"


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
