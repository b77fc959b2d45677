from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from ropa.models import (
    InternationalTransfer,
    LawfulBasis,
    ProcessingActivity,
    RetentionRule,
)
from ropa.perf.generate import (
    INCOMPLETE_EVERY,
    REASON,
    Sizes,
    generate_register,
    prefix_for,
)

pytestmark = pytest.mark.django_db

SMALL = {
    "activities": 12,
    "organisations": 12,
    "data_categories": 30,
    "subject_categories": 8,
    "recipients": 10,
    "measures": 6,
    "versions": 3,
}


class Rollback(Exception):
    pass


def snapshot():
    return sorted(
        (
            activity.reference,
            activity.name,
            tuple(sorted(c.name for c in activity.personal_data_categories.all())),
            tuple(sorted(r.name for r in activity.recipients.all())),
            tuple(sorted(t.country.code for t in activity.transfers.all())),
        )
        for activity in ProcessingActivity.objects.prefetch_related(
            "personal_data_categories", "recipients", "transfers"
        )
    )


def test_generate_register_writes_the_requested_sizes():
    result = generate_register(sizes=Sizes(**SMALL), seed=3)

    assert ProcessingActivity.objects.count() == 12
    assert result.created["processing activities"] == 12
    activity = ProcessingActivity.objects.first()
    assert activity.data_subject_categories.count() == 5
    assert activity.personal_data_categories.count() == 10
    assert activity.recipients.count() == 3
    assert activity.transfers.count() == 2
    assert activity.retention_rules.count() == 3
    assert activity.lawful_bases.count() == 2


def test_generate_register_records_every_version_with_its_links():
    generate_register(sizes=Sizes(**SMALL), seed=3)

    activity = ProcessingActivity.objects.first()
    versions = list(activity.history.order_by("history_date"))
    assert len(versions) == 3
    assert [v.history_change_reason for v in versions] == [
        REASON,
        f"{REASON}: version 2",
        f"{REASON}: version 3",
    ]
    live = set(activity.personal_data_categories.values_list("pk", flat=True))
    for version in versions:
        linked = set(
            version.personal_data_categories.values_list(
                "personaldatacategory", flat=True
            )
        )
        assert linked == live
    assert versions[0].history_date < versions[-1].history_date


def test_generate_register_writes_history_for_child_rows():
    generate_register(sizes=Sizes(**SMALL), seed=3)

    for model in (LawfulBasis, InternationalTransfer, RetentionRule):
        assert model.history.count() == model.objects.count() > 0


def test_generated_register_has_the_gaps_it_is_made_with():
    generate_register(sizes=Sizes(**SMALL), seed=3)

    gaps = {
        activity.reference: [gap.key for gap in activity.missing_elements()]
        for activity in ProcessingActivity.objects.with_completeness()
    }
    # One in fifteen (the 2nd, 17th, ...) leaves its legitimate interest unstated.
    assert {reference: keys for reference, keys in gaps.items() if keys} == {
        reference: ["legitimate_interest_unstated"]
        for n, reference in enumerate(sorted(gaps))
        if n % INCOMPLETE_EVERY == 1
    }


def generated_then_rolled_back(seed):
    try:
        with transaction.atomic():
            generate_register(sizes=Sizes(**SMALL), seed=seed)
            result = snapshot()
            raise Rollback
    except Rollback:
        return result


def test_generate_register_is_deterministic_for_a_seed():
    first = generated_then_rolled_back(seed=7)
    assert ProcessingActivity.objects.count() == 0

    generate_register(sizes=Sizes(**SMALL), seed=7)

    assert snapshot() == first


def test_generate_register_refuses_a_seed_already_loaded():
    generate_register(sizes=Sizes(**SMALL), seed=3)

    with pytest.raises(ValueError, match="seed 3 is already loaded"):
        generate_register(sizes=Sizes(**SMALL), seed=3)


@pytest.mark.parametrize(("seed", "prefix"), [(0, "GA"), (1, "GB"), (27, "GBB")])
def test_prefix_for_seed(seed, prefix):
    assert prefix_for(seed) == prefix


def test_generate_register_command_reports_counts_quietly_off_a_terminal():
    out, err = StringIO(), StringIO()

    call_command("generate_register", activities=3, versions=2, stdout=out, stderr=err)

    assert "3 processing activities" in out.getvalue()
    assert err.getvalue() == ""


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"activities": 0}, "--activities must be at least 1"),
        ({"activities": 1, "versions": 0}, "--versions must be between 1 and 50"),
    ],
)
def test_generate_register_command_rejects_bad_options(options, message):
    with pytest.raises(CommandError, match=message):
        call_command("generate_register", stdout=StringIO(), **options)
