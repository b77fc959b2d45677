import pytest

from ropa.enums import TransferMechanism
from tests.factories import (
    DataSubjectCategoryFactory,
    InternationalTransferFactory,
    ProcessingActivityFactory,
    RecipientFactory,
)

# Destinations whose status does not change with the day the tests run:
# Switzerland and Israel have unlimited adequacy decisions, India none.
SUBJECTS = ("Customers", "Employees' relatives")
RECIPIENTS = {
    "Nordic courier AB": "SE",
    "US analytics Inc.": "US",
    "Bangalore call centre": "IN",
    "Zürich hosting AG": "CH",
    "Tel Aviv support Ltd": "IL",
}


@pytest.fixture
def service_activity(db):
    """
    An activity whose data goes everywhere a transfer can go:

    - Nordic courier AB (Sweden): in the EEA, no transfer;
    - US analytics Inc.: standard contractual clauses recorded;
    - Bangalore call centre (India): no transfer recorded, needs a mechanism;
    - Zürich hosting AG: recorded on Switzerland's adequacy decision;
    - Tel Aviv support Ltd (Israel): adequate, but no transfer recorded;
    - the World Health Organization, on a derogation, with no recipient named.
    """
    recipients = {
        name: RecipientFactory(name=name, country=country)
        for name, country in RECIPIENTS.items()
    }
    activity = ProcessingActivityFactory(
        reference="PA-0042",
        name="Customer service",
        purpose="To answer customers' questions by telephone and e-mail.",
        business_function="Support",
        data_subject_categories=[
            DataSubjectCategoryFactory(name=name) for name in SUBJECTS
        ],
        recipients=list(recipients.values()),
    )
    InternationalTransferFactory(
        activity=activity,
        country="US",
        recipient=recipients["US analytics Inc."],
        mechanism=TransferMechanism.SCC,
    )
    InternationalTransferFactory(
        activity=activity,
        country="CH",
        recipient=recipients["Zürich hosting AG"],
        mechanism=TransferMechanism.ADEQUACY,
    )
    InternationalTransferFactory(
        activity=activity,
        country="",
        international_organisation="World Health Organization",
        mechanism=TransferMechanism.DEROGATION,
    )
    return activity
