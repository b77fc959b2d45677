import datetime

import pytest
from django.apps import apps
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.test import override_settings

from ropa.enums import (
    ActivityRole,
    ActivityStatus,
    DPIAStatus,
    LawfulBasisChoice,
    RetentionUnit,
    ReviewOutcome,
    SpecialCategoryCondition,
    TransferMechanism,
)
from ropa.models import (
    InternationalTransfer,
    LawfulBasis,
    ProcessingActivity,
    RetentionRule,
    Review,
)
from tests.factories import (
    InternationalTransferFactory,
    LawfulBasisFactory,
    PersonalDataCategoryFactory,
    ProcessingActivityFactory,
    RecipientFactory,
    RetentionRuleFactory,
    ReviewFactory,
    SecurityMeasureFactory,
    StaffUserFactory,
)

pytestmark = pytest.mark.django_db

INVALID_CHOICE = "bogus"

# (factory, its arguments, the field set to an invalid value, its constraint).
# The other fields keep every other constraint satisfied.
CHOICE_FIELDS = [
    pytest.param(
        SecurityMeasureFactory,
        {},
        "measure_type",
        "ropa_securitymeasure_measure_type_valid",
        id="securitymeasure-measure_type",
    ),
    pytest.param(
        SecurityMeasureFactory,
        {},
        "area",
        "ropa_securitymeasure_area_valid",
        id="securitymeasure-area",
    ),
    pytest.param(
        RecipientFactory,
        {},
        "recipient_type",
        "ropa_recipient_recipient_type_valid",
        id="recipient-recipient_type",
    ),
    pytest.param(
        ProcessingActivityFactory,
        {"bare": True},
        "status",
        "ropa_processingactivity_status_valid",
        id="activity-status",
    ),
    pytest.param(
        ProcessingActivityFactory,
        {"bare": True},
        "role",
        "ropa_processingactivity_role_valid",
        id="activity-role",
    ),
    pytest.param(
        ProcessingActivityFactory,
        {"bare": True},
        "profiling",
        "ropa_processingactivity_profiling_valid",
        id="activity-profiling",
    ),
    pytest.param(
        ProcessingActivityFactory,
        {"bare": True, "dpia_required": True, "dpia_status": DPIAStatus.IN_PROGRESS},
        "dpia_status",
        "ropa_processingactivity_dpia_status_valid",
        id="activity-dpia_status",
    ),
    pytest.param(
        LawfulBasisFactory,
        {},
        "basis",
        "ropa_lawfulbasis_basis_valid",
        id="lawfulbasis-basis",
    ),
    pytest.param(
        LawfulBasisFactory,
        {},
        "special_category_condition",
        "ropa_lawfulbasis_special_category_condition_valid",
        id="lawfulbasis-special_category_condition",
    ),
    pytest.param(
        InternationalTransferFactory,
        {},
        "mechanism",
        "ropa_internationaltransfer_mechanism_valid",
        id="transfer-mechanism",
    ),
    pytest.param(
        RetentionRuleFactory,
        {},
        "period_unit",
        "ropa_retentionrule_period_unit_valid",
        id="retentionrule-period_unit",
    ),
    pytest.param(
        RetentionRuleFactory,
        {},
        "end_action",
        "ropa_retentionrule_end_action_valid",
        id="retentionrule-end_action",
    ),
    pytest.param(
        ReviewFactory,
        {"completed": True},
        "outcome",
        "ropa_review_outcome_valid",
        id="review-outcome",
    ),
]


def _changed(factory, **changes):
    def make():
        instance = factory()
        for field, value in changes.items():
            setattr(instance, field, value)
        return instance

    return make


def _second_basis():
    first = LawfulBasisFactory()
    return LawfulBasis(activity=first.activity, basis=first.basis)


def _second_rule_for_category():
    category = PersonalDataCategoryFactory()
    first = RetentionRuleFactory(personal_data_category=category)
    return RetentionRule(
        activity=first.activity,
        personal_data_category=category,
        period=1,
        period_unit=RetentionUnit.YEARS,
    )


def _second_rule_for_all_data():
    first = RetentionRuleFactory()
    return RetentionRule(
        activity=first.activity, period=1, period_unit=RetentionUnit.YEARS
    )


def _second_review_in_cycle():
    first = ReviewFactory()
    return Review(activity=first.activity, cycle=first.cycle, due_on=first.due_on)


def _second_open_review():
    first = ReviewFactory()
    return Review(activity=first.activity, cycle=first.cycle + 1, due_on=first.due_on)


# (constraint, a row violating it, the field full_clean() reports, its message).
RULE_VIOLATIONS = [
    pytest.param(
        "ropa_processingactivity_dpia_status_iff_required",
        _changed(ProcessingActivityFactory, dpia_required=True, dpia_status=""),
        NON_FIELD_ERRORS,
        "Give the DPIA progress exactly when a DPIA is required.",
        id="activity-dpia-required-without-status",
    ),
    pytest.param(
        "ropa_processingactivity_dpia_status_iff_required",
        _changed(
            ProcessingActivityFactory,
            dpia_required=False,
            dpia_status=DPIAStatus.COMPLETED,
        ),
        NON_FIELD_ERRORS,
        "Give the DPIA progress exactly when a DPIA is required.",
        id="activity-dpia-status-without-requirement",
    ),
    pytest.param(
        "ropa_lawfulbasis_unique_per_activity",
        _second_basis,
        NON_FIELD_ERRORS,
        "Lawful basis with this Activity and Art. 6(1) basis already exists.",
        id="lawfulbasis-unique-per-activity",
    ),
    pytest.param(
        "ropa_internationaltransfer_one_destination",
        _changed(
            InternationalTransferFactory,
            international_organisation="World Health Organization",
        ),
        NON_FIELD_ERRORS,
        "Give a destination country or an international organisation, not both.",
        id="transfer-both-destinations",
    ),
    pytest.param(
        "ropa_internationaltransfer_one_destination",
        _changed(InternationalTransferFactory, country=""),
        NON_FIELD_ERRORS,
        "Give a destination country or an international organisation, not both.",
        id="transfer-no-destination",
    ),
    pytest.param(
        "ropa_retentionrule_period_with_unit",
        _changed(RetentionRuleFactory, period_unit=""),
        NON_FIELD_ERRORS,
        "Give a period of 1 to 200 with its unit, or neither.",
        id="retentionrule-period-without-unit",
    ),
    pytest.param(
        "ropa_retentionrule_period_with_unit",
        _changed(RetentionRuleFactory, period=None, criteria="Until unsubscribed."),
        NON_FIELD_ERRORS,
        "Give a period of 1 to 200 with its unit, or neither.",
        id="retentionrule-unit-without-period",
    ),
    pytest.param(
        "ropa_retentionrule_period_with_unit",
        _changed(RetentionRuleFactory, period=201),
        "period",
        "Ensure this value is less than or equal to 200.",
        id="retentionrule-period-too-long",
    ),
    pytest.param(
        "ropa_retentionrule_period_or_criteria",
        _changed(RetentionRuleFactory, period=None, period_unit=""),
        NON_FIELD_ERRORS,
        "Give a period, or the criteria that determine it.",
        id="retentionrule-neither-period-nor-criteria",
    ),
    pytest.param(
        "ropa_retentionrule_unique_per_category",
        _second_rule_for_category,
        NON_FIELD_ERRORS,
        "Retention rule with this Activity and Personal data category already exists.",
        id="retentionrule-unique-per-category",
    ),
    pytest.param(
        "ropa_retentionrule_one_rule_for_all_data",
        _second_rule_for_all_data,
        NON_FIELD_ERRORS,
        "The activity already has a rule for all of its data.",
        id="retentionrule-one-rule-for-all-data",
    ),
    pytest.param(
        "ropa_review_one_per_cycle",
        _second_review_in_cycle,
        NON_FIELD_ERRORS,
        "Review with this Activity and Cycle already exists.",
        id="review-one-per-cycle",
    ),
    pytest.param(
        "ropa_review_one_open_per_activity",
        _second_open_review,
        NON_FIELD_ERRORS,
        "This activity already has an open review: mark it reviewed before "
        "opening another.",
        id="review-one-open-per-activity",
    ),
    pytest.param(
        "ropa_review_completed_with_outcome",
        _changed(ReviewFactory, completed_on=datetime.date(2025, 11, 30)),
        NON_FIELD_ERRORS,
        "A completed review needs its date, reviewer and outcome.",
        id="review-completed-without-outcome",
    ),
    pytest.param(
        "ropa_review_completed_with_outcome",
        _changed(ReviewFactory, outcome=ReviewOutcome.CONFIRMED),
        NON_FIELD_ERRORS,
        "A completed review needs its date, reviewer and outcome.",
        id="review-outcome-while-open",
    ),
]

CHECK_CONSTRAINT_VIOLATIONS = [
    case
    for case in RULE_VIOLATIONS
    if case.values[0]
    not in {
        # SQLite names the columns, not the constraint, of a unique violation.
        "ropa_lawfulbasis_unique_per_activity",
        "ropa_retentionrule_unique_per_category",
        "ropa_retentionrule_one_rule_for_all_data",
        "ropa_review_one_per_cycle",
        "ropa_review_one_open_per_activity",
    }
]


def test_constraints_each_has_a_test_case():
    names = {
        constraint.name
        for model in apps.get_app_config("ropa").get_models()
        for constraint in model._meta.constraints
    }

    # The function membership's uniqueness: test_function_membership_is_unique.
    assert names - {"ropa_functionmembership_unique_per_user"} == {
        case.values[3] for case in CHOICE_FIELDS
    } | {case.values[0] for case in RULE_VIOLATIONS}


@pytest.mark.parametrize(("factory", "kwargs", "field", "constraint"), CHOICE_FIELDS)
def test_choice_field_invalid_value_refused_by_database(
    factory, kwargs, field, constraint
):
    instance = factory(**kwargs)
    setattr(instance, field, INVALID_CHOICE)

    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        instance.save()


@pytest.mark.parametrize(("factory", "kwargs", "field", "constraint"), CHOICE_FIELDS)
def test_choice_field_invalid_value_reported_by_full_clean(
    factory, kwargs, field, constraint
):
    instance = factory(**kwargs)
    setattr(instance, field, INVALID_CHOICE)

    with pytest.raises(ValidationError) as excinfo:
        instance.full_clean()

    assert excinfo.value.message_dict == {
        field: [f"Value '{INVALID_CHOICE}' is not a valid choice."]
    }


@pytest.mark.parametrize(("factory", "kwargs", "field", "constraint"), CHOICE_FIELDS)
def test_choice_field_factory_default_passes_full_clean(
    factory, kwargs, field, constraint
):
    factory(**kwargs).full_clean()


@pytest.mark.parametrize(("constraint", "make", "field", "message"), RULE_VIOLATIONS)
def test_constraint_violation_refused_by_database(constraint, make, field, message):
    instance = make()

    with pytest.raises(IntegrityError), transaction.atomic():
        instance.save()


@pytest.mark.parametrize(
    ("constraint", "make", "field", "message"), CHECK_CONSTRAINT_VIOLATIONS
)
def test_check_constraint_violation_names_constraint(constraint, make, field, message):
    instance = make()

    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        instance.save()


@pytest.mark.parametrize(("constraint", "make", "field", "message"), RULE_VIOLATIONS)
def test_constraint_violation_reported_by_full_clean(constraint, make, field, message):
    instance = make()

    with pytest.raises(ValidationError) as excinfo:
        instance.full_clean()

    assert message in excinfo.value.message_dict[field]


@pytest.mark.parametrize(
    ("factory", "field"),
    [
        (ProcessingActivityFactory, "reference"),
        (ProcessingActivityFactory, "name"),
        (SecurityMeasureFactory, "name"),
        (RecipientFactory, "name"),
    ],
)
def test_unique_field_duplicate_refused_by_database(factory, field):
    first = factory(bare=True) if factory is ProcessingActivityFactory else factory()
    second = factory(bare=True) if factory is ProcessingActivityFactory else factory()
    setattr(second, field, getattr(first, field))

    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()


@pytest.mark.parametrize(
    "reference", ["PA-1", "pa-0001", "P-0001", "PROCES-0001", "PA0001", "PA-0001 "]
)
def test_activity_reference_malformed_reported_by_full_clean(reference):
    activity = ProcessingActivityFactory(bare=True)
    activity.reference = reference

    with pytest.raises(ValidationError) as excinfo:
        activity.full_clean()

    assert excinfo.value.message_dict == {
        "reference": ["Use letters, a dash and digits: PA-0001."]
    }


@pytest.mark.parametrize("reference", ["PA-0001", "HR-12345", "GROUP-0042"])
def test_activity_reference_well_formed_passes_full_clean(reference):
    activity = ProcessingActivityFactory(reference=reference)

    activity.full_clean()


# __str__


def test_security_measure_str_is_its_name():
    assert str(SecurityMeasureFactory(name="Encrypted backups")) == "Encrypted backups"


def test_recipient_str_is_its_name():
    assert str(RecipientFactory(name="Payment providers")) == "Payment providers"


def test_activity_str_shows_reference_and_name():
    activity = ProcessingActivityFactory(
        bare=True, reference="PA-0042", name="Customer support"
    )

    assert str(activity) == "PA-0042 Customer support"


def test_lawful_basis_str_is_the_basis_label():
    basis = LawfulBasisFactory(legitimate_interests=True)

    assert str(basis) == "Legitimate interests (Art. 6(1)(f))"


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"country": "IN"},
            "India (Standard contractual clauses (Art. 46(2)(c)))",
        ),
        (
            {"to_international_organisation": True},
            "World Health Organization (Standard contractual clauses (Art. 46(2)(c)))",
        ),
    ],
    ids=["country", "international-organisation"],
)
def test_international_transfer_str_shows_destination_and_mechanism(kwargs, expected):
    assert str(InternationalTransferFactory(**kwargs)) == expected


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "all data: 3 years after the end of the contract"),
        ({"trigger": ""}, "all data: 3 years"),
        ({"by_criteria": True}, "all data: Until the customer unsubscribes."),
    ],
    ids=["period", "period-without-trigger", "criteria"],
)
def test_retention_rule_str_for_all_data(kwargs, expected):
    assert str(RetentionRuleFactory(**kwargs)) == expected


def test_retention_rule_str_names_its_category():
    category = PersonalDataCategoryFactory(name="Invoices")
    rule = RetentionRuleFactory(
        personal_data_category=category,
        period=7,
        trigger="after the end of the financial year",
    )

    assert str(rule) == "Invoices: 7 years after the end of the financial year"


def test_review_str_shows_activity_and_cycle():
    review = ReviewFactory(
        activity=ProcessingActivityFactory(reference="PA-0042"), cycle=2026
    )

    assert str(review) == "PA-0042 review 2026"


# clean()


def test_lawful_basis_clean_requires_legitimate_interest_for_basis_f():
    basis = LawfulBasisFactory.build(
        activity=ProcessingActivityFactory(lawful_basis=False),
        basis=LawfulBasisChoice.LEGITIMATE_INTERESTS,
        legitimate_interest="   ",
    )

    with pytest.raises(ValidationError) as excinfo:
        basis.full_clean()

    assert excinfo.value.message_dict == {
        "legitimate_interest": [
            "State the legitimate interest pursued (Art. 13(1)(d))."
        ]
    }


def test_lawful_basis_clean_accepts_stated_legitimate_interest():
    LawfulBasisFactory(legitimate_interests=True).full_clean()


@pytest.mark.parametrize(
    "basis",
    [
        choice
        for choice in LawfulBasisChoice
        if choice != LawfulBasisChoice.LEGITIMATE_INTERESTS
    ],
)
def test_lawful_basis_clean_other_bases_need_no_interest(basis):
    LawfulBasisFactory(basis=basis, legitimate_interest="").full_clean()


def test_lawful_basis_special_category_condition_passes_full_clean():
    LawfulBasisFactory(
        special_category_condition=SpecialCategoryCondition.EMPLOYMENT
    ).full_clean()


def test_international_transfer_clean_refuses_adequacy_without_decision():
    transfer = InternationalTransferFactory(
        country="IN", mechanism=TransferMechanism.ADEQUACY
    )

    with pytest.raises(ValidationError) as excinfo:
        transfer.full_clean()

    assert excinfo.value.message_dict == {
        "mechanism": [
            "India has no adequacy decision in force: choose another Chapter V "
            "mechanism."
        ]
    }


@pytest.mark.parametrize("country", ["JP", "CH", "GB", "US"])
def test_international_transfer_clean_accepts_adequacy_in_force(country):
    InternationalTransferFactory(
        country=country, mechanism=TransferMechanism.ADEQUACY
    ).full_clean()


@pytest.mark.parametrize(("country", "name"), [("DE", "Germany"), ("NO", "Norway")])
def test_international_transfer_clean_refuses_eea_destination(country, name):
    transfer = InternationalTransferFactory(country=country)

    with pytest.raises(ValidationError) as excinfo:
        transfer.full_clean()

    assert excinfo.value.message_dict == {
        "country": [f"{name} is in the EEA: not a transfer."]
    }


def test_international_transfer_clean_accepts_international_organisation():
    InternationalTransferFactory(to_international_organisation=True).full_clean()


# Properties and querysets


@pytest.mark.parametrize(
    ("country", "expected"), [("IN", True), ("SE", False), ("", False)]
)
def test_recipient_outside_eea(country, expected):
    assert RecipientFactory.build(country=country).outside_eea is expected


def test_activity_public_title_and_text_default_to_name_and_purpose():
    activity = ProcessingActivityFactory.build(name="Support", purpose="To help.")

    assert (activity.public_title, activity.public_text) == ("Support", "To help.")


def test_activity_public_title_and_text_prefer_notice_fields():
    activity = ProcessingActivityFactory.build(
        notice_title="Customer support", notice_text="We answer your questions."
    )

    assert (activity.public_title, activity.public_text) == (
        "Customer support",
        "We answer your questions.",
    )


def test_activity_querysets_filter_status_and_role():
    active = ProcessingActivityFactory(status=ActivityStatus.ACTIVE)
    ProcessingActivityFactory(status=ActivityStatus.RETIRED)
    processor = ProcessingActivityFactory(
        processor_record=True, status=ActivityStatus.DRAFT
    )

    assert list(ProcessingActivity.objects.active()) == [active]
    assert list(ProcessingActivity.objects.processor_records()) == [processor]
    assert processor not in ProcessingActivity.objects.controller_records()
    assert ProcessingActivity.objects.controller_records().count() == 2


def test_activity_with_special_categories_lists_each_once():
    ProcessingActivityFactory()
    special = ProcessingActivityFactory(
        personal_data_categories=[
            PersonalDataCategoryFactory(special=True),
            PersonalDataCategoryFactory(criminal=True),
        ]
    )

    assert list(ProcessingActivity.objects.with_special_categories()) == [special]


def test_activity_high_risk_without_dpia():
    ProcessingActivityFactory()
    ProcessingActivityFactory(dpia_required=True, dpia_status=DPIAStatus.COMPLETED)
    pending = ProcessingActivityFactory(
        dpia_required=True, dpia_status=DPIAStatus.IN_PROGRESS
    )

    assert list(ProcessingActivity.objects.high_risk_without_dpia()) == [pending]


@override_settings(ROPA_REVIEW_INTERVAL_DAYS=365)
def test_activity_next_review_due_from_latest_completed_review():
    activity = ProcessingActivityFactory()
    ReviewFactory(activity=activity, cycle=2024, completed=True)
    ReviewFactory(activity=activity, cycle=2025, completed=True)
    ReviewFactory(activity=activity, cycle=2026)

    annotated = ProcessingActivity.objects.with_review_dates().get(pk=activity.pk)

    assert annotated.last_reviewed_on == datetime.date(2025, 11, 30)
    assert annotated.next_review_due() == datetime.date(2026, 11, 30)


def test_activity_next_review_due_none_when_never_reviewed():
    activity = ProcessingActivity.objects.with_review_dates().get(
        pk=ProcessingActivityFactory().pk
    )

    assert activity.next_review_due() is None


def test_review_querysets_open_completed_overdue():
    completed = ReviewFactory(cycle=2024, completed=True)
    overdue = ReviewFactory(cycle=2024)
    upcoming = ReviewFactory(cycle=2026)

    assert set(Review.objects.open()) == {overdue, upcoming}
    assert list(Review.objects.completed()) == [completed]
    assert list(Review.objects.overdue(on=datetime.date(2025, 6, 1))) == [overdue]


# History


def test_activity_history_records_creation_and_change():
    user = StaffUserFactory()
    activity = ProcessingActivityFactory(bare=True, name="Support")

    activity.name = "Customer support"
    activity._change_reason = "Renamed after the yearly review"
    activity._history_user = user
    activity.save()

    latest, created = activity.history.all()[0], activity.history.last()
    assert created.history_type == "+"
    assert created.name == "Support"
    assert (latest.history_type, latest.name) == ("~", "Customer support")
    assert latest.history_change_reason == "Renamed after the yearly review"
    assert latest.history_user == user


def test_activity_history_snapshots_many_to_many_changes():
    kept, added = PersonalDataCategoryFactory.create_batch(2)
    activity = ProcessingActivityFactory(personal_data_categories=[kept])
    before = activity.history.first()

    activity.personal_data_categories.add(added)
    after_add = activity.history.first()
    activity.personal_data_categories.remove(kept)
    after_remove = activity.history.first()

    def snapshot(record):
        return {
            row.personaldatacategory for row in record.personal_data_categories.all()
        }

    assert snapshot(before) == {kept}
    assert snapshot(after_add) == {kept, added}
    assert snapshot(after_remove) == {added}
    assert activity.history.count() > 2


@pytest.mark.parametrize(
    ("field", "through_field", "factory"),
    [
        ("recipients", "recipient", RecipientFactory),
        ("security_measures", "securitymeasure", SecurityMeasureFactory),
    ],
)
def test_activity_history_snapshot_covers_each_many_to_many(
    field, through_field, factory
):
    activity = ProcessingActivityFactory(bare=True)
    linked = factory()

    getattr(activity, field).add(linked)

    rows = getattr(activity.history.first(), field).all()
    assert [getattr(row, through_field) for row in rows] == [linked]


def test_activity_history_keeps_a_long_change_reason_intact():
    activity = ProcessingActivityFactory(bare=True)
    reason = ("Scope extended to the Norwegian subsidiary after the DPIA. " * 6)[:300]

    activity._change_reason = reason
    activity.save()

    assert len(reason) == 300
    assert activity.history.first().history_change_reason == reason


@pytest.mark.parametrize(
    "factory",
    [
        LawfulBasisFactory,
        InternationalTransferFactory,
        RetentionRuleFactory,
        ReviewFactory,
        RecipientFactory,
        SecurityMeasureFactory,
    ],
)
def test_register_model_history_records_creation(factory):
    instance = factory()

    assert instance.history.get().history_type == "+"


def test_activity_factory_bare_writes_one_history_row():
    # skip_postgeneration_save: no second save after the post-generation hooks.
    assert ProcessingActivityFactory(bare=True).history.count() == 1


def test_transfer_model_is_international_transfer():
    # Guards the model the transfer factory builds.
    assert InternationalTransferFactory._meta.model is InternationalTransfer


def test_activity_factory_processor_record_role():
    assert ProcessingActivityFactory(processor_record=True).role == (
        ActivityRole.PROCESSOR
    )


def test_function_membership_is_unique():
    from django.db import IntegrityError, transaction

    from tests.factories.memberships import FunctionMembershipFactory

    membership = FunctionMembershipFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        FunctionMembershipFactory(
            user=membership.user, business_function=membership.business_function
        )
