import factory

from subjects.enums import CnilGroup, Sensitivity, SpecialCategory
from subjects.models import DataSubjectCategory, PersonalDataCategory


class DataSubjectCategoryFactory(factory.django.DjangoModelFactory):
    name = factory.Sequence(lambda n: f"Data subject category {n:04d}")
    description = "People whose data the activity processes."
    vulnerable = False

    class Meta:
        model = DataSubjectCategory


class PersonalDataCategoryFactory(factory.django.DjangoModelFactory):
    """
    Ordinary identity data; traits ``special``, ``criminal``, ``national_id``,
    and ``ungrouped`` for a category of no CNIL group yet.
    """

    name = factory.Sequence(lambda n: f"Personal data category {n:04d}")
    description = "Data the activity processes."
    examples = "Name, e-mail address"
    sensitivity = Sensitivity.ORDINARY
    special_category = ""
    cnil_group = CnilGroup.IDENTITY

    class Meta:
        model = PersonalDataCategory

    class Params:
        special = factory.Trait(
            sensitivity=Sensitivity.SPECIAL, special_category=SpecialCategory.HEALTH
        )
        criminal = factory.Trait(sensitivity=Sensitivity.CRIMINAL)
        national_id = factory.Trait(sensitivity=Sensitivity.NATIONAL_ID)
        ungrouped = factory.Trait(cnil_group="")
