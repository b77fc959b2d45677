import pytest
from django.db import transaction
from django.db.models import ProtectedError

from controllers.models import (
    JointControllerArrangement,
    Organisation,
    ProcessorAgreement,
)
from ropa.enums import ActivityStatus
from ropa.signals import register_links
from tests.factories import (
    DataSubjectCategoryFactory,
    JointControllerArrangementFactory,
    OrganisationFactory,
    PersonalDataCategoryFactory,
    ProcessingActivityFactory,
    ProcessorAgreementFactory,
    RecipientFactory,
    SecurityMeasureFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# (factory of the linked object, the activity's many-to-many field).
LINKS = [
    pytest.param(OrganisationFactory, "organisations", id="organisation"),
    pytest.param(
        OrganisationFactory, "client_controllers", id="organisation-as-client"
    ),
    pytest.param(
        DataSubjectCategoryFactory, "data_subject_categories", id="subject-category"
    ),
    pytest.param(
        PersonalDataCategoryFactory, "personal_data_categories", id="data-category"
    ),
    pytest.param(RecipientFactory, "recipients", id="recipient"),
    pytest.param(SecurityMeasureFactory, "security_measures", id="security-measure"),
    pytest.param(
        ProcessorAgreementFactory, "processor_agreements", id="processor-agreement"
    ),
]


def _used(factory, field, **activity_fields):
    linked = factory()
    activity = ProcessingActivityFactory(**{field: [linked]}, **activity_fields)
    return linked, activity


def test_links_cover_every_protected_field():
    activity_links = {
        link.model.__name__.removeprefix("ProcessingActivity_")
        for link in register_links()
        if link.model.__name__.startswith("ProcessingActivity_")
    }

    assert activity_links == {case.values[1] for case in LINKS}


@pytest.mark.parametrize(("factory", "field"), LINKS)
def test_delete_refused_when_an_activity_uses_it(factory, field):
    linked, activity = _used(factory, field, reference="PA-0042")

    with pytest.raises(ProtectedError) as excinfo, transaction.atomic():
        linked.delete()

    assert excinfo.value.protected_objects == {activity}
    assert type(linked).objects.filter(pk=linked.pk).exists()
    assert list(getattr(activity, field).all()) == [linked]


@pytest.mark.parametrize(("factory", "field"), LINKS)
def test_queryset_delete_refused_when_an_activity_uses_it(factory, field):
    linked, activity = _used(factory, field)

    with pytest.raises(ProtectedError) as excinfo, transaction.atomic():
        type(linked).objects.filter(pk=linked.pk).delete()

    assert excinfo.value.protected_objects == {activity}
    assert type(linked).objects.filter(pk=linked.pk).exists()


@pytest.mark.parametrize(("factory", "field"), LINKS)
def test_delete_refused_when_a_retired_activity_uses_it(factory, field):
    # A retired activity is still part of the register and of its history.
    linked, _activity = _used(factory, field, status=ActivityStatus.RETIRED)

    with pytest.raises(ProtectedError), transaction.atomic():
        linked.delete()


@pytest.mark.parametrize(("factory", "field"), LINKS)
def test_delete_allowed_when_unused(factory, field):
    ProcessingActivityFactory()
    unused = factory()

    unused.delete()

    assert not type(unused).objects.filter(pk=unused.pk).exists()


@pytest.mark.parametrize(("factory", "field"), LINKS)
def test_delete_allowed_once_removed_from_the_activity(factory, field):
    linked, activity = _used(factory, field)

    getattr(activity, field).remove(linked)
    linked.delete()

    assert not type(linked).objects.filter(pk=linked.pk).exists()


def test_delete_refused_leaves_the_transaction_usable():
    linked, _activity = _used(DataSubjectCategoryFactory, "data_subject_categories")

    with pytest.raises(ProtectedError):
        linked.delete()

    assert type(linked).objects.filter(pk=linked.pk).exists()


def test_delete_refusal_names_every_activity_once():
    organisation = OrganisationFactory(name="Infobric AB")
    first = ProcessingActivityFactory(
        organisations=[organisation], client_controllers=[organisation]
    )
    second = ProcessingActivityFactory(organisations=[organisation])

    with pytest.raises(ProtectedError) as excinfo, transaction.atomic():
        organisation.delete()

    assert excinfo.value.protected_objects == {first, second}


@pytest.mark.parametrize(
    ("make", "owner"),
    [
        pytest.param(
            lambda org: JointControllerArrangementFactory(parties=[org]),
            JointControllerArrangement,
            id="joint-arrangement-party",
        ),
        pytest.param(
            lambda org: ProcessorAgreementFactory(sub_processors=[org]),
            ProcessorAgreement,
            id="sub-processor",
        ),
    ],
)
def test_delete_refused_while_an_agreement_names_the_organisation(make, owner):
    organisation = OrganisationFactory()
    agreement = make(organisation)

    with pytest.raises(ProtectedError) as excinfo, transaction.atomic():
        organisation.delete()

    assert excinfo.value.protected_objects == {owner.objects.get(pk=agreement.pk)}


def test_deleting_a_user_in_history_is_refused():
    user = UserFactory()
    activity = ProcessingActivityFactory()
    activity._history_user = user
    activity.save()

    with pytest.raises(ProtectedError) as excinfo, transaction.atomic():
        user.delete()

    assert excinfo.value.protected_objects == {user}
    assert activity.history.latest().history_user == user


def test_deleting_a_user_without_history_is_allowed():
    user = UserFactory()

    user.delete()

    assert not type(user).objects.filter(pk=user.pk).exists()


def test_queryset_delete_of_unused_organisations_deletes_them():
    OrganisationFactory.create_batch(2)

    Organisation.objects.all().delete()

    assert not Organisation.objects.exists()
