import datetime

import factory
from django.utils.text import slugify

from controllers.enums import DPOEngagement, JointScope
from controllers.models import (
    DataProtectionOfficer,
    JointControllerArrangement,
    Organisation,
    ProcessorAgreement,
)


class DataProtectionOfficerFactory(factory.django.DjangoModelFactory):
    name = factory.Sequence(lambda n: f"Data Protection Officer {n:04d}")
    email = factory.Sequence(lambda n: f"dpo{n:04d}@example.com")
    phone = "+46 8 123 456 00"
    engagement = DPOEngagement.INTERNAL

    class Meta:
        model = DataProtectionOfficer

    class Params:
        external = factory.Trait(engagement=DPOEngagement.EXTERNAL)


class OrganisationFactory(factory.django.DjangoModelFactory):
    """An organisation established in Sweden, with an e-mail address."""

    name = factory.Sequence(lambda n: f"Organisation {n:04d} AB")
    registration_number = factory.Sequence(lambda n: f"556{n:07d}")
    country = "SE"
    address = "Storgatan 1, 111 22 Stockholm"
    email = factory.LazyAttribute(lambda org: f"privacy@{slugify(org.name)}.example")
    is_group_company = False

    class Meta:
        model = Organisation

    class Params:
        group_company = factory.Trait(
            is_group_company=True,
            dpo=factory.SubFactory(DataProtectionOfficerFactory),
        )
        # Outside the EEA and without an Art. 27 representative.
        outside_eea = factory.Trait(country="US", address="1 Main Street, Boston")
        no_contact_details = factory.Trait(email="", phone="")


class GroupCompanyFactory(OrganisationFactory):
    """A company of the group, with its DPO."""

    name = factory.Sequence(lambda n: f"Group Company {n:04d} AB")
    is_group_company = True
    dpo = factory.SubFactory(DataProtectionOfficerFactory)


class JointControllerArrangementFactory(factory.django.DjangoModelFactory):
    """An Art. 26 arrangement; two group companies are parties unless given."""

    reference = factory.Sequence(lambda n: f"JCA-{n + 1:04d}")
    name = factory.Sequence(lambda n: f"Joint controllership {n + 1:04d}")
    joint_scope = JointScope.WHEN_JOINT
    scope = "The shared customer register."
    responsibilities = "Each party answers requests from its own customers."
    contact_point = "privacy@group.example"
    essence = "The companies of the group share one customer register."
    essence_published = True
    document_reference = factory.Sequence(lambda n: f"DOC-JCA-{n + 1:04d}")
    signed_on = datetime.date(2024, 1, 15)

    class Meta:
        model = JointControllerArrangement
        skip_postgeneration_save = True

    @factory.post_generation
    def parties(self, create, extracted, **kwargs):
        if not create:
            return
        if extracted is None:
            extracted = GroupCompanyFactory.create_batch(2)
        self.parties.set(extracted)


class ProcessorAgreementFactory(factory.django.DjangoModelFactory):
    """An Art. 28(3) agreement between a processor and a group company."""

    reference = factory.Sequence(lambda n: f"DPA-{n + 1:04d}")
    processor = factory.SubFactory(OrganisationFactory)
    controller = factory.SubFactory(GroupCompanyFactory)
    services = "Hosting of the customer relationship management system."
    document_reference = factory.Sequence(lambda n: f"DOC-DPA-{n + 1:04d}")
    signed_on = datetime.date(2024, 1, 15)
    expires_on = None

    class Meta:
        model = ProcessorAgreement
        skip_postgeneration_save = True

    @factory.post_generation
    def sub_processors(self, create, extracted, **kwargs):
        if create and extracted is not None:
            self.sub_processors.set(extracted)
