"""
Dates a register can hold, and a group hierarchy without loops: refused in
the admin's forms as a browser posts them, and in the lists' imports.
"""

import csv
import datetime
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from controllers.models import (
    EXPIRES_BEFORE_SIGNED,
    PARENT_CYCLE,
    REVIEW_BEFORE_SIGNED,
    JointControllerArrangement,
    Organisation,
)
from ropa.core.dates import (
    EARLIEST_DATE,
    IN_THE_FUTURE,
    TOO_EARLY,
    TOO_LATE,
    YEARS_AHEAD,
    latest_date,
)
from ropa.models import Review
from tests.admin_pages import form_data
from tests.factories import (
    JointControllerArrangementFactory,
    OrganisationFactory,
    ProcessorAgreementFactory,
    ReviewFactory,
)
from tests.hostile import field_errors

pytestmark = pytest.mark.django_db


def change_url(obj):
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=(obj.pk,))


def save(client, obj, **typed):
    """Post ``obj``'s change page as the browser shows it, ``typed`` changed."""
    url = change_url(obj)
    return client.post(url, {**form_data(client.get(url)), **typed})


def too_early(text):
    return TOO_EARLY.format(date=text, earliest=EARLIEST_DATE.year)


def too_late(text):
    return TOO_LATE.format(date=text, years=YEARS_AHEAD)


def before_signed(message, signed_on):
    return f"{message} It was signed on {signed_on}."


# ---------------------------------------------------------------------------
# Dates, in the admin's forms
# ---------------------------------------------------------------------------

#: Each register date a person types in the admin, with the record it is on.
DATE_FIELDS = [
    (JointControllerArrangementFactory, "signed_on"),
    (JointControllerArrangementFactory, "review_on"),
    (ProcessorAgreementFactory, "signed_on"),
    (ProcessorAgreementFactory, "expires_on"),
    (ReviewFactory, "due_on"),
]
DATE_IDS = [f"{factory._meta.model.__name__}.{name}" for factory, name in DATE_FIELDS]


@pytest.mark.parametrize(("factory", "name"), DATE_FIELDS, ids=DATE_IDS)
@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0001-01-01", too_early("0001-01-01")),
        ("0202-03-01", too_early("0202-03-01")),
        ("1994-12-31", too_early("1994-12-31")),
        ("9999-12-31", too_late("9999-12-31")),
        ("2205-03-01", too_late("2205-03-01")),
    ],
)
def test_admin_refuses_a_date_no_register_holds(
    dpo_client, factory, name, typed, message
):
    obj = factory()
    before = getattr(obj, name)

    response = save(dpo_client, obj, **{name: typed})

    assert response.status_code == 200
    assert field_errors(response, name) == [message]
    obj.refresh_from_db()
    assert getattr(obj, name) == before


@pytest.mark.parametrize(("factory", "name"), DATE_FIELDS, ids=DATE_IDS)
def test_admin_accepts_the_first_day_of_1995(dpo_client, factory, name):
    # The later dates alone: the factories sign in 2024.
    obj = factory(
        **({"signed_on": None} if name in ("review_on", "expires_on") else {})
    )

    response = save(dpo_client, obj, **{name: "1995-01-01"})

    assert response.status_code == 302, field_errors(response, name)
    obj.refresh_from_db()
    assert getattr(obj, name) == datetime.date(1995, 1, 1)


def test_admin_accepts_a_date_up_to_the_years_ahead(dpo_client):
    agreement = ProcessorAgreementFactory()
    last = latest_date()

    response = save(dpo_client, agreement, expires_on=last.isoformat())

    assert response.status_code == 302
    agreement.refresh_from_db()
    assert agreement.expires_on == last


@pytest.mark.parametrize(
    "factory", [JointControllerArrangementFactory, ProcessorAgreementFactory]
)
def test_admin_refuses_a_signing_date_in_the_future(dpo_client, factory):
    obj = factory()
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()

    response = save(dpo_client, obj, signed_on=tomorrow)

    assert field_errors(response, "signed_on") == [IN_THE_FUTURE.format(date=tomorrow)]


def test_admin_refuses_a_next_review_before_the_signing(dpo_client):
    arrangement = JointControllerArrangementFactory(
        signed_on=datetime.date(2024, 1, 15)
    )

    response = save(dpo_client, arrangement, review_on="2023-12-01")

    assert field_errors(response, "review_on") == [
        before_signed(REVIEW_BEFORE_SIGNED, "2024-01-15")
    ]
    arrangement.refresh_from_db()
    assert arrangement.review_on is None


def test_admin_accepts_a_next_review_on_the_signing_day(dpo_client):
    arrangement = JointControllerArrangementFactory(
        signed_on=datetime.date(2024, 1, 15)
    )

    response = save(dpo_client, arrangement, review_on="2024-01-15")

    assert response.status_code == 302
    arrangement.refresh_from_db()
    assert arrangement.review_on == datetime.date(2024, 1, 15)


def test_admin_says_why_an_agreement_cannot_expire_before_its_signing(dpo_client):
    agreement = ProcessorAgreementFactory(signed_on=datetime.date(2024, 1, 15))

    response = save(dpo_client, agreement, expires_on="2023-12-01")

    assert field_errors(response, "expires_on") == [
        before_signed(EXPIRES_BEFORE_SIGNED, "2024-01-15")
    ]


def test_database_refuses_a_next_review_before_the_signing():
    arrangement = JointControllerArrangementFactory(
        signed_on=datetime.date(2024, 1, 15)
    )
    arrangement.review_on = datetime.date(2023, 12, 1)

    with pytest.raises(Exception, match="review_after_signed"):
        arrangement.save()


# ---------------------------------------------------------------------------
# Dates, in the lists' imports
# ---------------------------------------------------------------------------


def as_csv(headers, *lines):
    out = StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(lines)
    return out.getvalue().encode()


def preview(client, model, content):
    """Upload ``content`` as CSV on ``model``'s list import page."""
    opts = model._meta
    return client.post(
        reverse(f"admin:{opts.app_label}_{opts.model_name}_import"),
        {
            "format": "0",
            "resource": "0",
            "import_file": SimpleUploadedFile("list.csv", content),
        },
    )


def row_errors(response):
    result = response.context["result"]
    return [(row.number, row.error_dict) for row in result.invalid_rows]


@pytest.mark.parametrize(
    ("signed_on", "review_on", "errors"),
    [
        ("0001-01-01", "", {"signed_on": [too_early("0001-01-01")]}),
        ("2024-01-15", "9999-12-31", {"review_on": [too_late("9999-12-31")]}),
        (
            "2024-01-15",
            "2023-12-01",
            {"review_on": [before_signed(REVIEW_BEFORE_SIGNED, "2024-01-15")]},
        ),
    ],
)
def test_import_refuses_an_arrangements_dates_with_the_forms_words(
    dpo_client, signed_on, review_on, errors
):
    arrangement = JointControllerArrangementFactory(signed_on=None)
    content = as_csv(
        ["reference", "signed_on", "review_on"],
        [arrangement.reference, signed_on, review_on],
    )

    response = preview(dpo_client, JointControllerArrangement, content)

    assert row_errors(response) == [(1, errors)]
    arrangement.refresh_from_db()
    assert (arrangement.signed_on, arrangement.review_on) == (None, None)


def test_import_refuses_a_review_due_in_the_year_9999(dpo_client):
    review = ReviewFactory(cycle=2026)
    content = as_csv(
        ["activity", "cycle", "due_on"],
        [review.activity.reference, "2026", "9999-12-31"],
    )

    response = preview(dpo_client, Review, content)

    assert row_errors(response) == [(1, {"due_on": [too_late("9999-12-31")]})]


# ---------------------------------------------------------------------------
# The group hierarchy
# ---------------------------------------------------------------------------


def chain(*organisations):
    return PARENT_CYCLE.format(chain=" → ".join(o.name for o in organisations))


@pytest.fixture
def group():
    """Alpha, whose parent is Beta, whose parent is Gamma."""
    gamma = OrganisationFactory(name="Gamma AB")
    beta = OrganisationFactory(name="Beta AB", parent=gamma)
    alpha = OrganisationFactory(name="Alpha AB", parent=beta)
    return alpha, beta, gamma


def test_admin_refuses_an_organisation_as_its_own_parent(dpo_client, group):
    alpha, _, _ = group

    response = save(dpo_client, alpha, parent=str(alpha.pk))

    assert field_errors(response, "parent") == [chain(alpha, alpha)]


def test_admin_refuses_a_parent_whose_parent_is_the_organisation(dpo_client, group):
    alpha, beta, _ = group

    response = save(dpo_client, beta, parent=str(alpha.pk))

    assert field_errors(response, "parent") == [chain(beta, alpha, beta)]
    beta.refresh_from_db()
    assert beta.parent.name == "Gamma AB"


def test_admin_refuses_an_organisation_as_its_own_grandparent(dpo_client, group):
    alpha, beta, gamma = group

    response = save(dpo_client, gamma, parent=str(alpha.pk))

    assert field_errors(response, "parent") == [chain(gamma, alpha, beta, gamma)]
    gamma.refresh_from_db()
    assert gamma.parent is None


def test_admin_accepts_a_new_parent_at_the_top_of_the_group(dpo_client, group):
    _, _, gamma = group
    holding = OrganisationFactory(name="Holding AB")

    response = save(dpo_client, gamma, parent=str(holding.pk))

    assert response.status_code == 302
    gamma.refresh_from_db()
    assert gamma.parent == holding


def test_import_refuses_a_parent_that_makes_the_group_loop(dpo_client, group):
    alpha, beta, gamma = group
    content = as_csv(["name", "parent"], ["Gamma AB", "Alpha AB"])

    response = preview(dpo_client, Organisation, content)

    assert row_errors(response) == [(1, {"parent": [chain(gamma, alpha, beta, gamma)]})]
    gamma.refresh_from_db()
    assert gamma.parent is None


def test_import_refuses_two_rows_that_make_each_other_parent(dpo_client):
    north, south = (
        OrganisationFactory(name="North AB"),
        OrganisationFactory(name="South AB"),
    )
    content = as_csv(
        ["name", "parent"], ["North AB", "South AB"], ["South AB", "North AB"]
    )

    response = preview(dpo_client, Organisation, content)

    assert row_errors(response) == [(2, {"parent": [chain(south, north, south)]})]
    assert not Organisation.objects.filter(parent__isnull=False).exists()
