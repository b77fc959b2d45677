"""Every ModelAdmin of the register answers its list, search, add and change pages."""

import pytest
from django.contrib import admin
from django.urls import reverse

from tests import factories
from tests.factories.memberships import FunctionMembershipFactory

pytestmark = pytest.mark.django_db

FACTORIES = {
    "controllers.dataprotectionofficer": factories.DataProtectionOfficerFactory,
    "controllers.organisation": factories.OrganisationFactory,
    "controllers.jointcontrollerarrangement": (
        factories.JointControllerArrangementFactory
    ),
    "controllers.processoragreement": factories.ProcessorAgreementFactory,
    "subjects.datasubjectcategory": factories.DataSubjectCategoryFactory,
    "subjects.personaldatacategory": factories.PersonalDataCategoryFactory,
    "ropa.securitymeasure": factories.SecurityMeasureFactory,
    "ropa.recipient": factories.RecipientFactory,
    "ropa.processingactivity": factories.ProcessingActivityFactory,
    "ropa.lawfulbasis": factories.LawfulBasisFactory,
    "ropa.internationaltransfer": factories.InternationalTransferFactory,
    "ropa.retentionrule": factories.RetentionRuleFactory,
    "ropa.review": factories.ReviewFactory,
    "ropa.functionmembership": FunctionMembershipFactory,
}
REGISTER_APPS = {"controllers", "subjects", "ropa"}


def _url(label, view, *args):
    app_label, model_name = label.split(".")
    return reverse(f"admin:{app_label}_{model_name}_{view}", args=args)


def test_every_register_model_has_an_admin_and_a_factory():
    registered = {
        model._meta.label_lower
        for model in admin.site._registry
        if model._meta.app_label in REGISTER_APPS
    }
    assert registered == set(FACTORIES)


@pytest.mark.parametrize("label", sorted(FACTORIES))
@pytest.mark.parametrize("view", ["changelist", "add"])
def test_admin_page_answers(superuser_client, label, view):
    FACTORIES[label]()
    response = superuser_client.get(_url(label, view))
    assert response.status_code == 200


@pytest.mark.parametrize("label", sorted(FACTORIES))
def test_admin_search_answers(superuser_client, label):
    FACTORIES[label]()
    response = superuser_client.get(_url(label, "changelist"), {"q": "a"})
    assert response.status_code == 200


@pytest.mark.parametrize("label", sorted(FACTORIES))
@pytest.mark.parametrize("view", ["change", "history"])
def test_admin_object_page_answers(superuser_client, label, view):
    obj = FACTORIES[label]()
    response = superuser_client.get(_url(label, view, obj.pk))
    assert response.status_code == 200


@pytest.mark.parametrize("label", sorted(FACTORIES))
def test_admin_history_version_page_answers(superuser_client, label):
    obj = FACTORIES[label]()
    version = obj.history.first()
    url = reverse(
        f"admin:{obj._meta.app_label}_{obj._meta.model_name}_simple_history",
        args=(obj.pk, version.history_id),
    )
    assert superuser_client.get(url).status_code == 200
