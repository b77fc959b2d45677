"""Import and export of the controllers' records, from their admin lists."""

import pytest
import tablib

from controllers.models import Organisation
from controllers.resources import OrganisationResource
from tests.factories import (
    DataProtectionOfficerFactory,
    GroupCompanyFactory,
    OrganisationFactory,
)
from tests.ropa.core.test_resources import (
    dpo_member,
    export,
    logged_in,
    rows,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def dpo(db):
    return dpo_member()


@pytest.fixture
def dpo_member_client(dpo):
    return logged_in(dpo)


def test_export_writes_an_organisations_dpo_and_parent(dpo_member_client):
    dpo = DataProtectionOfficerFactory(name="Ada Lovelace", email="ada@example.com")
    parent = GroupCompanyFactory(name="Group Holding AB")
    OrganisationFactory(name="Subsidiary AB", parent=parent, dpo=dpo)

    exported = {
        row["name"]: row
        for row in rows(export(dpo_member_client, "controllers.organisation"))
    }

    assert exported["Subsidiary AB"]["parent"] == "Group Holding AB"
    assert exported["Subsidiary AB"]["dpo"] == "Ada Lovelace <ada@example.com>"
    assert exported["Subsidiary AB"]["representative"] == ""


def test_import_with_an_unknown_foreign_key_name_is_a_field_error():
    dataset = tablib.Dataset(
        ["Subsidiary AB", "SE", "Nowhere AB"],
        headers=["name", "country", "parent"],
    )

    result = OrganisationResource().import_data(dataset)

    (invalid,) = result.invalid_rows
    assert invalid.error_dict == {"parent": ["Unknown organisation: 'Nowhere AB'."]}
    assert not Organisation.objects.exists()


def test_import_with_a_badly_written_dpo_is_a_field_error():
    dataset = tablib.Dataset(
        ["Subsidiary AB", "SE", "Ada Lovelace"], headers=["name", "country", "dpo"]
    )

    result = OrganisationResource().import_data(dataset)

    (invalid,) = result.invalid_rows
    assert invalid.error_dict == {
        "dpo": [
            "Write the data protection officer as 'Name <email>', not 'Ada Lovelace'."
        ]
    }


def test_import_finds_a_dpo_by_name_and_email():
    dpo = DataProtectionOfficerFactory(name="Ada Lovelace", email="ada@example.com")
    DataProtectionOfficerFactory(name="Ada Lovelace", email="other@example.com")
    dataset = tablib.Dataset(
        ["Subsidiary AB", "SE", "Ada Lovelace <ada@example.com>"],
        headers=["name", "country", "dpo"],
    )

    result = OrganisationResource().import_data(dataset)

    assert not result.has_validation_errors()
    assert Organisation.objects.get(name="Subsidiary AB").dpo == dpo
