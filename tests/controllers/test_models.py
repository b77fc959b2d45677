import datetime

import pytest
from django.apps import apps
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction

from controllers.models import (
    SLUG_FALLBACK,
    SLUG_LENGTH,
    DataProtectionOfficer,
    Organisation,
    ProcessorAgreement,
    unique_slugs,
)
from tests.factories import (
    DataProtectionOfficerFactory,
    GroupCompanyFactory,
    JointControllerArrangementFactory,
    OrganisationFactory,
    ProcessorAgreementFactory,
)

pytestmark = pytest.mark.django_db

INVALID_CHOICE = "bogus"

CHOICE_FIELDS = [
    pytest.param(
        DataProtectionOfficerFactory,
        "engagement",
        "controllers_dataprotectionofficer_engagement_valid",
        id="dpo-engagement",
    ),
    pytest.param(
        JointControllerArrangementFactory,
        "joint_scope",
        "controllers_jointcontrollerarrangement_joint_scope_valid",
        id="arrangement-joint_scope",
    ),
]


def _dpo_with_same_name_and_email():
    first = DataProtectionOfficerFactory()
    return DataProtectionOfficer(name=first.name, email=first.email)


def _organisation_its_own_parent():
    organisation = OrganisationFactory(name="Acme AB")
    organisation.parent = organisation
    return organisation


def _organisation_exempt_without_reason():
    return OrganisationFactory.build(
        outside_eea=True, art27_exempt=True, art27_exemption_reason=""
    )


def _agreement_with_itself():
    agreement = ProcessorAgreementFactory()
    agreement.processor = agreement.controller
    return agreement


def _agreement_expiring_before_signature():
    return ProcessorAgreementFactory.build(
        processor=OrganisationFactory(),
        controller=GroupCompanyFactory(),
        signed_on=datetime.date(2024, 6, 1),
        expires_on=datetime.date(2024, 5, 31),
    )


def _arrangement_reviewed_before_signature():
    return JointControllerArrangementFactory.build(
        signed_on=datetime.date(2024, 6, 1), review_on=datetime.date(2024, 5, 31)
    )


# (constraint, a row violating it, the field full_clean() reports, its message)
RULE_VIOLATIONS = [
    pytest.param(
        "controllers_dataprotectionofficer_name_email_unique",
        _dpo_with_same_name_and_email,
        NON_FIELD_ERRORS,
        "Data protection officer with this Name and Email already exists.",
        id="dpo-name-email-unique",
    ),
    pytest.param(
        "controllers_organisation_not_own_parent",
        _organisation_its_own_parent,
        "parent",
        "An organisation cannot be its own parent company, directly or through "
        "others: Acme AB → Acme AB.",
        id="organisation-not-own-parent",
    ),
    pytest.param(
        "controllers_organisation_art27_reason_given",
        _organisation_exempt_without_reason,
        NON_FIELD_ERRORS,
        "Give the reason for the Art. 27(2) exemption.",
        id="organisation-art27-reason-given",
    ),
    pytest.param(
        "controllers_processoragreement_distinct_parties",
        _agreement_with_itself,
        "processor",
        "A processor cannot act on its own behalf.",
        id="agreement-distinct-parties",
    ),
    pytest.param(
        "controllers_processoragreement_expires_after_signed",
        _agreement_expiring_before_signature,
        "expires_on",
        "The agreement cannot expire before it was signed. It was signed on "
        "2024-06-01.",
        id="agreement-expires-after-signed",
    ),
    pytest.param(
        "controllers_jointcontrollerarrangement_review_after_signed",
        _arrangement_reviewed_before_signature,
        "review_on",
        "The next review cannot be before the arrangement was signed. It was "
        "signed on 2024-06-01.",
        id="arrangement-review-after-signed",
    ),
]


def _constraint_names(app_label):
    return {
        constraint.name
        for model in apps.get_app_config(app_label).get_models()
        for constraint in model._meta.constraints
    }


def _case_names(cases, position):
    return {case.values[position] for case in cases}


def test_constraints_each_has_a_test_case():
    assert _constraint_names("controllers") == (
        _case_names(CHOICE_FIELDS, 2) | _case_names(RULE_VIOLATIONS, 0)
    )


@pytest.mark.parametrize(("factory", "field", "constraint"), CHOICE_FIELDS)
def test_choice_field_invalid_value_refused_by_database(factory, field, constraint):
    instance = factory()
    setattr(instance, field, INVALID_CHOICE)

    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        instance.save()


@pytest.mark.parametrize(("factory", "field", "constraint"), CHOICE_FIELDS)
def test_choice_field_invalid_value_reported_by_full_clean(factory, field, constraint):
    instance = factory()
    setattr(instance, field, INVALID_CHOICE)

    with pytest.raises(ValidationError) as excinfo:
        instance.full_clean()

    assert excinfo.value.message_dict == {
        field: [f"Value '{INVALID_CHOICE}' is not a valid choice."]
    }


@pytest.mark.parametrize(("constraint", "make", "field", "message"), RULE_VIOLATIONS)
def test_constraint_violation_refused_by_database(constraint, make, field, message):
    instance = make()

    with pytest.raises(IntegrityError), transaction.atomic():
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
        (OrganisationFactory, "name"),
        (OrganisationFactory, "slug"),
        (JointControllerArrangementFactory, "reference"),
        (JointControllerArrangementFactory, "name"),
        (ProcessorAgreementFactory, "reference"),
    ],
)
def test_unique_field_duplicate_refused_by_database(factory, field):
    first = factory()
    second = factory()
    setattr(second, field, getattr(first, field))

    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()


def test_data_protection_officer_str_shows_name_and_email():
    dpo = DataProtectionOfficerFactory(name="Kim Berg", email="dpo@group.example")

    assert str(dpo) == "Kim Berg <dpo@group.example>"


def test_organisation_str_is_its_name():
    assert str(OrganisationFactory(name="Infobric AB")) == "Infobric AB"


def test_joint_controller_arrangement_str_shows_reference_and_name():
    arrangement = JointControllerArrangementFactory(
        reference="JCA-0042", name="Shared customer register"
    )

    assert str(arrangement) == "JCA-0042 Shared customer register"


def test_processor_agreement_str_names_both_parties():
    agreement = ProcessorAgreementFactory(
        reference="DPA-0007",
        processor=OrganisationFactory(name="Hosting Ltd"),
        controller=GroupCompanyFactory(name="Infobric AB"),
    )

    assert str(agreement) == "DPA-0007 Hosting Ltd for Infobric AB"


def test_organisation_slug_filled_from_name():
    organisation = OrganisationFactory(name="Infobric Fleet Sverige AB")

    assert organisation.slug == "infobric-fleet-sverige-ab"
    assert Organisation.objects.get(slug="infobric-fleet-sverige-ab") == organisation


def test_organisation_slug_given_is_kept():
    organisation = OrganisationFactory(name="Infobric AB", slug="infobric")

    assert organisation.slug == "infobric"


def test_organisation_slug_kept_when_renamed():
    organisation = OrganisationFactory(name="Infobric AB")

    organisation.name = "Infobric Group AB"
    organisation.save()

    assert organisation.slug == "infobric-ab"


@pytest.mark.parametrize(
    ("email", "phone", "expected"),
    [
        ("privacy@example.com", "", True),
        ("", "+46 8 123 456 00", True),
        ("", "", False),
    ],
)
def test_organisation_has_contact_details(email, phone, expected):
    organisation = OrganisationFactory.build(email=email, phone=phone)

    assert organisation.has_contact_details is expected


def test_organisation_group_companies_excludes_others():
    group_company = GroupCompanyFactory()
    OrganisationFactory()

    assert list(Organisation.objects.group_companies()) == [group_company]


def test_processor_agreement_clean_accepts_distinct_parties():
    agreement = ProcessorAgreementFactory(
        signed_on=datetime.date(2024, 1, 1), expires_on=datetime.date(2024, 1, 1)
    )

    agreement.full_clean()


def test_processor_agreement_clean_refuses_processor_acting_for_itself():
    organisation = OrganisationFactory()
    agreement = ProcessorAgreement(
        reference="DPA-0100",
        processor=organisation,
        controller=organisation,
        services="Hosting",
    )

    with pytest.raises(ValidationError) as excinfo:
        agreement.clean()

    assert excinfo.value.message_dict == {
        "processor": ["A processor cannot act on its own behalf."]
    }


def test_joint_controller_arrangement_history_records_parties():
    first, second, third = OrganisationFactory.create_batch(3)
    arrangement = JointControllerArrangementFactory(parties=[first, second])

    arrangement.parties.add(third)

    snapshot = arrangement.history.first().parties.all()
    assert {row.organisation for row in snapshot} == {first, second, third}


# ---------------------------------------------------------------------------
# The slug derived from the name
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Acme-AB", "acme-ab-2"),
        ("ACME AB!", "acme-ab-2"),
        ("\u00c1cme AB", "acme-ab-2"),
        ("Acme Nordic AB", "acme-nordic-ab"),
        ("\U0001f600", SLUG_FALLBACK),
        ("\u4e2d\u6587", SLUG_FALLBACK),
    ],
)
def test_organisation_slug_left_empty_is_unique(name, slug):
    OrganisationFactory(name="Acme AB")

    assert OrganisationFactory(name=name, slug="").slug == slug


def test_organisation_slug_numbered_after_the_numbers_taken():
    OrganisationFactory(name="\U0001f600")
    OrganisationFactory(name="\u4e2d\u6587")
    OrganisationFactory(name="Organisation", slug="organisation-3")

    assert OrganisationFactory(name="\u0639\u0631\u0628\u064a").slug == (
        "organisation-4"
    )


def test_unique_slugs_differ_among_the_names_given():
    OrganisationFactory(name="Acme AB")

    assert unique_slugs(["acme ab", "Acme-AB", "Beta AB"]) == [
        "acme-ab-2",
        "acme-ab-3",
        "beta-ab",
    ]


def test_unique_slugs_of_a_long_name_fit_the_field():
    name = "A" * 120 + " " + "B" * 79
    first = OrganisationFactory(name=name)

    second = unique_slugs([name + "!"])[0]

    assert len(first.slug) == len(second) == SLUG_LENGTH
    assert second.endswith("-2")
    assert second != first.slug


def test_organisation_full_clean_checks_the_slug_it_will_save():
    # The unique checks (the admin form's too) see the slug derived from the
    # name, not an empty one.
    OrganisationFactory(name="Acme AB")
    organisation = Organisation(name="Acme-AB", country="SE")

    organisation.full_clean()

    assert organisation.slug == "acme-ab-2"


def test_organisation_slug_derived_again_when_taken_before_the_save():
    # An import checks every row before it saves the first.
    first = Organisation(name="Acme AB", country="SE")
    second = Organisation(name="Acme-AB", country="SE")
    first.full_clean()
    second.full_clean()
    assert first.slug == second.slug == "acme-ab"

    first.save()
    second.save()

    assert (first.slug, second.slug) == ("acme-ab", "acme-ab-2")


def test_organisation_slug_left_empty_is_saved_with_update_fields():
    organisation = OrganisationFactory(name="Acme AB")
    organisation.slug = ""

    organisation.save(update_fields=["name"])

    organisation.refresh_from_db()
    assert organisation.slug == "acme-ab"


def test_organisation_art27_exemption_with_its_reason_is_accepted():
    organisation = OrganisationFactory.build(
        outside_eea=True,
        art27_exempt=True,
        art27_exemption_reason="Occasional orders; no special category data.",
    )

    organisation.full_clean()
    organisation.save()

    assert Organisation.objects.get().art27_exempt
