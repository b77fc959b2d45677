import pytest
from django.apps import apps
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction

from subjects.enums import CnilGroup, Sensitivity, SpecialCategory
from subjects.models import PersonalDataCategory
from tests.factories import DataSubjectCategoryFactory, PersonalDataCategoryFactory

pytestmark = pytest.mark.django_db

INVALID_CHOICE = "bogus"
IFF_SPECIAL = "subjects_personaldatacategory_special_category_iff_special"
IFF_SPECIAL_MESSAGE = (
    "Name the Art. 9(1) category exactly when the sensitivity is a special category."
)

CHOICE_FIELDS = [
    pytest.param(
        {},
        "sensitivity",
        "subjects_personaldatacategory_sensitivity_valid",
        id="sensitivity",
    ),
    pytest.param(
        {"special": True},
        "special_category",
        "subjects_personaldatacategory_special_category_valid",
        id="special_category",
    ),
    pytest.param(
        {},
        "cnil_group",
        "subjects_personaldatacategory_cnil_group_valid",
        id="cnil_group",
    ),
]

# The Art. 9(1) category named exactly when the data is special, both ways.
IFF_SPECIAL_VIOLATIONS = [
    pytest.param(Sensitivity.SPECIAL, "", id="special-without-category"),
    pytest.param(Sensitivity.ORDINARY, SpecialCategory.HEALTH, id="ordinary-with-one"),
    pytest.param(Sensitivity.CRIMINAL, SpecialCategory.HEALTH, id="criminal-with-one"),
]


def test_constraints_each_has_a_test_case():
    names = {
        constraint.name
        for model in apps.get_app_config("subjects").get_models()
        for constraint in model._meta.constraints
    }

    assert names == {case.values[2] for case in CHOICE_FIELDS} | {IFF_SPECIAL}


@pytest.mark.parametrize(("traits", "field", "constraint"), CHOICE_FIELDS)
def test_choice_field_invalid_value_refused_by_database(traits, field, constraint):
    category = PersonalDataCategoryFactory(**traits)
    setattr(category, field, INVALID_CHOICE)

    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        category.save()


@pytest.mark.parametrize(("traits", "field", "constraint"), CHOICE_FIELDS)
def test_choice_field_invalid_value_reported_by_full_clean(traits, field, constraint):
    category = PersonalDataCategoryFactory(**traits)
    setattr(category, field, INVALID_CHOICE)

    with pytest.raises(ValidationError) as excinfo:
        category.full_clean()

    assert excinfo.value.message_dict == {
        field: [f"Value '{INVALID_CHOICE}' is not a valid choice."]
    }


@pytest.mark.parametrize(("sensitivity", "special_category"), IFF_SPECIAL_VIOLATIONS)
def test_personal_data_category_special_category_refused_by_database(
    sensitivity, special_category
):
    category = PersonalDataCategoryFactory()
    category.sensitivity = sensitivity
    category.special_category = special_category

    with pytest.raises(IntegrityError, match=IFF_SPECIAL), transaction.atomic():
        category.save()


@pytest.mark.parametrize(("sensitivity", "special_category"), IFF_SPECIAL_VIOLATIONS)
def test_personal_data_category_special_category_reported_by_full_clean(
    sensitivity, special_category
):
    category = PersonalDataCategoryFactory.build(
        sensitivity=sensitivity, special_category=special_category
    )

    with pytest.raises(ValidationError) as excinfo:
        category.full_clean()

    assert excinfo.value.message_dict == {NON_FIELD_ERRORS: [IFF_SPECIAL_MESSAGE]}


@pytest.mark.parametrize(
    "traits",
    [{}, {"special": True}, {"criminal": True}, {"national_id": True}],
    ids=["ordinary", "special", "criminal", "national_id"],
)
def test_personal_data_category_valid_sensitivities_pass_full_clean(traits):
    PersonalDataCategoryFactory(**traits).full_clean()


@pytest.mark.parametrize(
    "factory", [DataSubjectCategoryFactory, PersonalDataCategoryFactory]
)
def test_category_name_duplicate_refused_by_database(factory):
    first = factory()
    second = factory()
    second.name = first.name

    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()


@pytest.mark.parametrize(
    "factory", [DataSubjectCategoryFactory, PersonalDataCategoryFactory]
)
def test_category_str_is_its_name(factory):
    assert str(factory(name="Customers")) == "Customers"


@pytest.mark.parametrize(
    ("traits", "expected"),
    [
        ({}, False),
        ({"special": True}, True),
        ({"criminal": True}, True),
        ({"national_id": True}, True),
    ],
    ids=["ordinary", "special", "criminal", "national_id"],
)
def test_personal_data_category_is_sensitive(traits, expected):
    assert PersonalDataCategoryFactory.build(**traits).is_sensitive is expected


def test_personal_data_category_special_and_criminal_querysets():
    PersonalDataCategoryFactory()
    special = PersonalDataCategoryFactory(special=True)
    criminal = PersonalDataCategoryFactory(criminal=True)

    assert list(PersonalDataCategory.objects.special()) == [special]
    assert list(PersonalDataCategory.objects.criminal()) == [criminal]


@pytest.mark.parametrize("group", ["", *CnilGroup.values])
def test_personal_data_category_cnil_group_may_be_any_group_or_none(group):
    category = PersonalDataCategoryFactory(cnil_group=group)

    category.full_clean()
    category.refresh_from_db()

    assert category.cnil_group == group


def test_personal_data_category_history_keeps_the_cnil_group():
    category = PersonalDataCategoryFactory(cnil_group=CnilGroup.IDENTITY)
    category.cnil_group = CnilGroup.CONNECTION
    category.save()

    assert [row.cnil_group for row in category.history.order_by("history_id")] == [
        CnilGroup.IDENTITY,
        CnilGroup.CONNECTION,
    ]
