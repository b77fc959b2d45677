import datetime

import pytest
from django_countries.fields import Country

from ropa import geography
from ropa.geography import (
    ADEQUACY_DECISIONS,
    EEA_MEMBERSHIP,
    adequacy_decision,
    adequate_countries,
    eea_countries,
    in_eea,
)


def _d(value):
    return datetime.date.fromisoformat(value)


@pytest.mark.parametrize(
    ("country", "on", "expected"),
    [
        ("GB", "2020-06-01", True),
        ("GB", "2020-12-31", True),
        ("GB", "2021-01-01", False),
        ("GB", "2021-06-01", False),
        ("SE", "2018-05-25", True),
        ("HR", "2024-01-01", True),
        ("NO", "2018-07-19", False),
        ("NO", "2018-07-20", True),
        ("IS", "2024-01-01", True),
        ("LI", "2024-01-01", True),
        ("CH", "2024-01-01", False),
        ("US", "2024-01-01", False),
    ],
)
def test_in_eea_on_date(country, on, expected):
    assert in_eea(country, on=_d(on)) is expected


def test_in_eea_accepts_country_objects():
    assert in_eea(Country("DE"), on=_d("2024-01-01"))


def test_in_eea_defaults_to_today(monkeypatch):
    monkeypatch.setattr(geography, "_today", lambda: _d("2020-06-01"))

    assert in_eea("GB")


@pytest.mark.parametrize(
    ("on", "size"),
    [("2018-05-25", 28), ("2018-07-20", 31), ("2020-06-01", 31), ("2021-06-01", 30)],
)
def test_eea_countries_count_on_date(on, size):
    # 28 EU states in 2018 (incl. the UK), joined by Iceland, Liechtenstein
    # and Norway; 27 EU states and those three after the UK left.
    assert len(eea_countries(_d(on))) == size


@pytest.mark.parametrize(
    ("country", "on", "reference"),
    [
        ("GB", "2021-06-28", "Decision C(2021) 4800, renewed in 2025"),
        ("US", "2023-07-10", "Decision C(2023) 4745 (EU-US Data Privacy Framework)"),
        ("JP", "2024-01-01", "Decision (EU) 2019/419"),
        ("CH", "2018-05-25", "Decision 2000/518/EC"),
        ("KR", "2021-12-17", "Decision (EU) 2022/254"),
    ],
)
def test_adequacy_decision_returns_reference(country, on, reference):
    decision = adequacy_decision(country, on=_d(on))

    assert decision.country == country
    assert decision.reference == reference


@pytest.mark.parametrize(
    ("country", "on"),
    [
        ("GB", "2021-06-27"),
        ("GB", "2020-06-01"),
        ("US", "2023-07-09"),
        ("JP", "2019-01-22"),
        ("IN", "2024-01-01"),
        ("SE", "2024-01-01"),
    ],
)
def test_adequacy_decision_none_when_not_in_force(country, on):
    assert adequacy_decision(country, on=_d(on)) is None


def test_adequacy_decision_accepts_country_objects():
    assert adequacy_decision(Country("JP"), on=_d("2024-01-01")) is not None


@pytest.mark.parametrize(
    ("country", "on", "expected"),
    [
        ("GB", "2021-06-28", True),
        ("GB", "2021-06-27", False),
        ("US", "2023-01-01", False),
    ],
)
def test_adequate_countries_on_date(country, on, expected):
    assert (country in adequate_countries(_d(on))) is expected


@pytest.mark.parametrize(
    "on", ["2018-05-25", "2020-12-31", "2021-06-28", "2023-07-10", "2025-01-01"]
)
def test_no_country_both_in_eea_and_adequate(on):
    assert not eea_countries(_d(on)) & adequate_countries(_d(on))


@pytest.mark.parametrize(
    "period",
    EEA_MEMBERSHIP + ADEQUACY_DECISIONS,
    ids=lambda period: f"{period.country}-{period.start}",
)
def test_periods_are_well_formed(period):
    # An unknown ISO 3166-1 code has no name.
    assert Country(period.country).name
    assert period.reference
    assert period.end is None or period.start <= period.end


def test_in_force_since_changes_exactly_when_the_countries_do():
    day = datetime.date(2018, 5, 1)
    previous = None
    while day <= datetime.date(2027, 1, 1):
        countries = (geography.eea_countries(day), geography.adequate_countries(day))
        since = geography.in_force_since(day)
        if previous is not None:
            same_countries = countries == previous[0]
            assert (since == previous[1]) == same_countries, day
        assert since <= day
        previous = (countries, since)
        day += datetime.timedelta(days=1)


def test_in_force_since_defaults_to_today(monkeypatch):
    monkeypatch.setattr(geography, "_today", lambda: datetime.date(2021, 1, 1))

    assert geography.in_force_since() == datetime.date(2021, 1, 1)
