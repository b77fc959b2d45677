import factory

from ropa.models import FunctionMembership

from .users import StaffUserFactory


class FunctionMembershipFactory(factory.django.DjangoModelFactory):
    """A staff user contributing for the Sales function."""

    user = factory.SubFactory(StaffUserFactory)
    business_function = "Sales"

    class Meta:
        model = FunctionMembership
