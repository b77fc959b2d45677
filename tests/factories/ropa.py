import datetime

import factory

from ropa.enums import (
    ActivityRole,
    ActivityStatus,
    LawfulBasisChoice,
    MeasureArea,
    MeasureType,
    RecipientType,
    RetentionAction,
    RetentionUnit,
    ReviewOutcome,
    TransferMechanism,
)
from ropa.models import (
    InternationalTransfer,
    LawfulBasis,
    ProcessingActivity,
    Recipient,
    RetentionRule,
    Review,
    SecurityMeasure,
)

from .controllers import GroupCompanyFactory, OrganisationFactory
from .subjects import DataSubjectCategoryFactory, PersonalDataCategoryFactory
from .users import StaffUserFactory


class SecurityMeasureFactory(factory.django.DjangoModelFactory):
    name = factory.Sequence(lambda n: f"Security measure {n:04d}")
    measure_type = MeasureType.TECHNICAL
    area = MeasureArea.ACCESS_CONTROL
    description = "Individual accounts with multi-factor authentication."

    class Meta:
        model = SecurityMeasure


class RecipientFactory(factory.django.DjangoModelFactory):
    """An external recipient in Sweden; trait ``outside_eea`` puts it in India."""

    name = factory.Sequence(lambda n: f"Recipient {n:04d}")
    recipient_type = RecipientType.EXTERNAL
    organisation = None
    country = "SE"
    description = "Receives the data to deliver the service."

    class Meta:
        model = Recipient

    class Params:
        outside_eea = factory.Trait(country="IN")
        internal = factory.Trait(recipient_type=RecipientType.INTERNAL)
        processor = factory.Trait(recipient_type=RecipientType.PROCESSOR)


def _defaults_for(controller, processor=()):
    """New objects for a complete record, by the record's role."""

    def default(activity):
        factories = (
            controller if activity.role == ActivityRole.CONTROLLER else processor
        )
        return [make() for make in factories]

    return default


def _related(apply, default):
    """
    A post-generation hook of ProcessingActivityFactory.

    Applies the value passed to the factory; when none is passed and the record
    is ``complete``, applies ``default(activity)`` instead.
    """

    def when_complete(activity, create, extracted, **kwargs):
        if create:
            apply(activity, default(activity) if extracted is None else extracted)

    def when_bare(activity, create, extracted, **kwargs):
        if create and extracted is not None:
            apply(activity, extracted)

    return factory.Maybe(
        "complete",
        yes_declaration=factory.PostGeneration(when_complete),
        no_declaration=factory.PostGeneration(when_bare),
    )


def _m2m(field, controller, processor=()):
    def apply(activity, objects):
        getattr(activity, field).set(objects)

    return _related(apply, _defaults_for(controller=controller, processor=processor))


def _add_lawful_basis(activity, basis):
    if basis:
        LawfulBasisFactory(activity=activity, basis=basis)


def _add_retention_rule(activity, wanted):
    if wanted:
        RetentionRuleFactory(activity=activity, personal_data_category=None)


def _controller_default(value):
    def default(activity):
        return value if activity.role == ActivityRole.CONTROLLER else None

    return default


class ProcessingActivityFactory(factory.django.DjangoModelFactory):
    """
    An active processing activity whose record is complete (Art. 30).

    A controller record gets a group company (with e-mail), a data subject
    category, a personal data category, a recipient in the EEA, a contract
    basis, a retention rule for all of its data and a security measure; a
    processor record (``processor_record=True``) gets a processor, a client
    controller and a security measure. Pass any of these to replace the
    default (``personal_data_categories=[...]``, ``lawful_basis="consent"``,
    ``lawful_basis=False`` for none, ``retention=False``), or ``bare=True`` to
    get only what the form requires.
    """

    reference = factory.Sequence(lambda n: f"PA-{n + 1:04d}")
    name = factory.Sequence(lambda n: f"Processing activity {n + 1:04d}")
    status = ActivityStatus.ACTIVE
    role = ActivityRole.CONTROLLER
    purpose = "To deliver the service the customer ordered."
    business_function = "Sales"
    systems = "CRM"
    data_location = "EU data centre"

    class Meta:
        model = ProcessingActivity
        skip_postgeneration_save = True

    class Params:
        complete = True
        bare = factory.Trait(complete=False)
        processor_record = factory.Trait(role=ActivityRole.PROCESSOR)

    organisations = _m2m(
        "organisations",
        controller=(GroupCompanyFactory,),
        processor=(OrganisationFactory,),
    )
    client_controllers = _m2m(
        "client_controllers", controller=(), processor=(OrganisationFactory,)
    )
    data_subject_categories = _m2m(
        "data_subject_categories", controller=(DataSubjectCategoryFactory,)
    )
    personal_data_categories = _m2m(
        "personal_data_categories", controller=(PersonalDataCategoryFactory,)
    )
    recipients = _m2m("recipients", controller=(RecipientFactory,))
    processor_agreements = _m2m("processor_agreements", controller=())
    security_measures = _m2m(
        "security_measures",
        controller=(SecurityMeasureFactory,),
        processor=(SecurityMeasureFactory,),
    )
    lawful_basis = _related(
        _add_lawful_basis, _controller_default(LawfulBasisChoice.CONTRACT)
    )
    retention = _related(_add_retention_rule, _controller_default(True))


class LawfulBasisFactory(factory.django.DjangoModelFactory):
    """A contract basis (Art. 6(1)(b)); trait ``legitimate_interests`` for (f)."""

    activity = factory.SubFactory(ProcessingActivityFactory, lawful_basis=False)
    basis = LawfulBasisChoice.CONTRACT
    explanation = "Needed to perform the contract with the customer."

    class Meta:
        model = LawfulBasis

    class Params:
        legitimate_interests = factory.Trait(
            basis=LawfulBasisChoice.LEGITIMATE_INTERESTS,
            legitimate_interest="Keeping customers informed of our products.",
            assessment_reference="LIA-0001",
        )


class InternationalTransferFactory(factory.django.DjangoModelFactory):
    """A transfer to India on standard contractual clauses."""

    activity = factory.SubFactory(ProcessingActivityFactory)
    country = "IN"
    international_organisation = ""
    recipient = None
    mechanism = TransferMechanism.SCC
    tia_reference = factory.Sequence(lambda n: f"TIA-{n + 1:04d}")

    class Meta:
        model = InternationalTransfer

    class Params:
        # Japan's decision covers the private sector only: the scope is recorded.
        adequacy = factory.Trait(
            country="JP",
            mechanism=TransferMechanism.ADEQUACY,
            adequacy_scope="A private company subject to the APPI.",
        )
        to_international_organisation = factory.Trait(
            country="", international_organisation="World Health Organization"
        )


class RetentionRuleFactory(factory.django.DjangoModelFactory):
    """Three years after the end of the contract, for all of the activity's data."""

    activity = factory.SubFactory(ProcessingActivityFactory, retention=False)
    personal_data_category = None
    period = 3
    period_unit = RetentionUnit.YEARS
    criteria = ""
    trigger = "after the end of the contract"
    end_action = RetentionAction.ERASE
    legal_reference = ""

    class Meta:
        model = RetentionRule

    class Params:
        by_criteria = factory.Trait(
            period=None,
            period_unit="",
            criteria="Until the customer unsubscribes.",
        )


class ReviewFactory(factory.django.DjangoModelFactory):
    """An open review of the 2025 cycle; trait ``completed`` signs it off."""

    activity = factory.SubFactory(ProcessingActivityFactory)
    cycle = 2025
    due_on = factory.LazyAttribute(lambda review: datetime.date(review.cycle, 12, 31))
    completed_on = None
    reviewer = None
    outcome = ""
    notes = ""

    class Meta:
        model = Review

    class Params:
        completed = factory.Trait(
            completed_on=factory.LazyAttribute(
                lambda review: datetime.date(review.cycle, 11, 30)
            ),
            reviewer=factory.SubFactory(StaffUserFactory),
            outcome=ReviewOutcome.CONFIRMED,
        )
