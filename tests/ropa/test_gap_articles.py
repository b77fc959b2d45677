"""
The gaps as the exports find them in the data they read, rule by rule, and
the article each gap names: a letter of Art. 30, or the accountability extras
(Art. 5(2)) kept beside it.
"""

import pytest
from django.utils import timezone

from ropa.completeness import ART30_RULES, RULES, RULES_BY_KEY
from ropa.exchange.snapshot import Gaps, Register, RegisterSnapshot
from tests.factories import (
    GroupCompanyFactory,
    JointControllerArrangementFactory,
    ProcessingActivityFactory,
)
from tests.ropa.test_completeness import COMPLETE_CASES, GAP_CASES, ROLE_KWARGS

pytestmark = pytest.mark.django_db


def _exported_keys(register):
    """The gap keys the exports find in ``register``'s data, by activity id."""
    gaps = Gaps(register.catalogue())
    return {
        row["id"]: [gap.key for gap in gaps.of(row)]
        for chunk in register.activities()
        for row in chunk
    }


@pytest.mark.parametrize(
    "register",
    [Register, lambda: RegisterSnapshot(day=timezone.localdate())],
    ids=["current", "as-of-today"],
)
@pytest.mark.parametrize(("key", "build", "role", "element"), GAP_CASES)
def test_exports_find_the_gap_the_rule_finds(key, build, role, element, register):
    activity = build(**ROLE_KWARGS[role])

    assert _exported_keys(register()) == {activity.pk: [key]}


@pytest.mark.parametrize("build", COMPLETE_CASES)
def test_exports_find_no_gap_where_conditions_hold(build):
    activity = build()

    assert _exported_keys(Register()) == {activity.pk: []}


def test_joint_controller_that_is_a_responsible_organisation_is_one_gap():
    company = GroupCompanyFactory(email="", phone="")
    arrangement = JointControllerArrangementFactory(
        parties=[company, GroupCompanyFactory()]
    )
    activity = ProcessingActivityFactory(
        organisations=[company], joint_arrangement=arrangement
    )

    assert [gap.key for gap in activity.missing_elements()] == ["no_contact_details"]
    assert _exported_keys(Register()) == {activity.pk: ["no_contact_details"]}


@pytest.mark.parametrize(
    ("key", "text", "label"),
    [
        (
            "no_lawful_basis",
            "Art. 6(1) lawful basis: no Art. 6(1) lawful basis is recorded",
            "Art. 6(1)",
        ),
        (
            "special_without_condition",
            "Art. 9(2) condition for special category data: special category "
            "data is processed without an Art. 9(2) condition",
            "Art. 9(2)",
        ),
        (
            "criminal_without_authority",
            "Art. 10 authority for criminal offence data: criminal offence data "
            "is processed without an Art. 10 authority",
            "Art. 10",
        ),
        (
            "no_recipients",
            "Art. 30(1)(d) categories of recipients: no recipient is recorded",
            "30(1)(d)",
        ),
    ],
)
def test_gap_names_the_article_it_comes_from(key, text, label):
    gap = RULES_BY_KEY[key].gap("controller")

    assert (str(gap), gap.label) == (text, label)
    assert gap.art30 is (key == "no_recipients")


def test_art30_rules_leave_out_only_the_accountability_extras():
    assert {rule.key for rule in RULES} - {rule.key for rule in ART30_RULES} == {
        "no_lawful_basis",
        "legitimate_interest_unstated",
        "special_without_condition",
        "criminal_without_authority",
    }
