import datetime
import itertools

import pytest
from django_countries.fields import Country

from ropa import geography
from ropa.geography import (
    ADEQUACY_DECISIONS,
    EEA_MEMBERSHIP,
    adequacy_decision,
    adequacy_in_force,
    adequate_countries,
    adequate_organisations,
    eea_countries,
    in_eea,
    scoped_countries,
)

EPO = "European Patent Organisation"


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
        ("GB", "2021-03-15", "EU-UK Trade and Cooperation Agreement, Art. FINPROV.10A"),
        ("GB", "2021-06-27", "EU-UK Trade and Cooperation Agreement, Art. FINPROV.10A"),
        ("GB", "2021-06-28", "Decision C(2021) 4800"),
        ("GB", "2025-12-27", "Decision C(2021) 4800"),
        ("GB", "2025-12-28", "Commission Implementing Decision of 19 December 2025"),
        ("GB", "2031-12-27", "Commission Implementing Decision of 19 December 2025"),
        ("BR", "2026-01-28", "Commission Implementing Decision (EU) 2026/179"),
        ("US", "2023-07-10", "Decision C(2023) 4745 (EU-US Data Privacy Framework)"),
        ("JP", "2024-01-01", "Decision (EU) 2019/419"),
        ("CH", "2018-05-25", "Decision 2000/518/EC"),
        ("KR", "2021-12-17", "Decision (EU) 2022/254"),
    ],
)
def test_adequacy_decision_returns_reference(country, on, reference):
    decision = adequacy_decision(country, on=_d(on))

    assert decision.country == country
    assert decision.reference.startswith(reference)


@pytest.mark.parametrize(
    ("country", "on"),
    [
        ("GB", "2020-12-31"),
        ("GB", "2031-12-28"),
        ("BR", "2026-01-27"),
        ("BR", "2025-06-01"),
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
        ("GB", "2021-01-01", True),
        ("GB", "2020-12-31", False),
        ("GB", "2031-12-28", False),
        ("BR", "2026-01-28", True),
        ("BR", "2026-01-27", False),
        ("US", "2023-01-01", False),
    ],
)
def test_adequate_countries_on_date(country, on, expected):
    assert (country in adequate_countries(_d(on))) is expected


@pytest.mark.parametrize(
    "on",
    [
        "2018-05-25",
        "2020-12-31",
        "2021-01-01",
        "2021-06-28",
        "2023-07-10",
        "2025-01-01",
        "2026-12-01",
    ],
)
def test_no_country_both_in_eea_and_adequate(on):
    assert not eea_countries(_d(on)) & adequate_countries(_d(on))


@pytest.mark.parametrize(
    "period",
    EEA_MEMBERSHIP + ADEQUACY_DECISIONS,
    ids=lambda period: f"{period.country or period.organisation}-{period.start}",
)
def test_periods_are_well_formed(period):
    # A country or an organisation, not both; an unknown ISO 3166-1 code has
    # no name.
    assert bool(period.country) != bool(period.organisation)
    assert not period.country or Country(period.country).name
    assert period.reference
    assert period.end is None or period.start <= period.end
    # Only a decision for a country can cover some of its recipients only,
    # and it says which.
    assert not period.scoped or (period.country and period.note)


def test_periods_of_a_destination_do_not_overlap():
    periods = sorted(
        ADEQUACY_DECISIONS, key=lambda p: (p.country, p.organisation, p.start)
    )
    for before, after in itertools.pairwise(periods):
        if (before.country, before.organisation) == (after.country, after.organisation):
            assert before.end is not None
            assert before.end < after.start, after


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        ("2021-03-15", "EU-UK Trade and Cooperation Agreement"),
        ("2024-01-01", "Decision C(2021) 4800"),
        ("2026-06-01", "Commission Implementing Decision of 19 December 2025"),
    ],
)
def test_gb_decisions_follow_each_other_without_a_day_uncovered(on, expected):
    assert adequacy_decision("GB", on=_d(on)).reference.startswith(expected)
    # 2021-01-01 to 2031-12-27, day after day.
    day = _d("2021-01-01")
    while day <= _d("2031-12-27"):
        assert adequacy_decision("GB", on=day) is not None, day
        day += datetime.timedelta(days=1)


@pytest.mark.parametrize("on", ["2021-06-28", "2025-12-28"])
def test_gb_decisions_note_the_immigration_exclusion(on):
    assert "immigration control" in adequacy_decision("GB", on=_d(on)).note


@pytest.mark.parametrize(
    ("organisation", "on", "expected"),
    [
        (EPO, "2025-07-15", True),
        ("european patent organisation", "2026-01-01", True),
        ("  EUROPEAN PATENT ORGANISATION ", "2026-01-01", True),
        (EPO, "2025-07-14", False),
        ("World Health Organization", "2026-01-01", False),
        ("", "2026-01-01", False),
    ],
)
def test_adequacy_decision_for_an_international_organisation(
    organisation, on, expected
):
    decision = adequacy_decision(organisation=organisation, on=_d(on))

    assert (decision is not None) is expected
    assert (decision.organisation == EPO) if expected else decision is None
    assert adequacy_in_force(_d(on)).covers("", organisation) is expected


def test_organisations_are_not_countries():
    on = _d("2026-01-01")

    assert adequate_organisations(on) == {EPO}
    assert "" not in adequate_countries(on)
    # A country never borrows an organisation's decision.
    assert adequacy_decision("", on=on) is None
    assert not adequacy_in_force(on).covers("", "")


@pytest.mark.parametrize(
    ("country", "on", "expected"),
    [
        ("US", "2024-01-01", True),
        ("CA", "2024-01-01", True),
        ("JP", "2024-01-01", True),
        ("US", "2023-01-01", False),
        ("CH", "2024-01-01", False),
        ("GB", "2026-06-01", False),
        ("", "2024-01-01", False),
    ],
)
def test_scoped_decisions_are_flagged(country, on, expected):
    assert (country in scoped_countries(_d(on))) is expected
    assert adequacy_in_force(_d(on)).limited(country) is expected


def test_in_force_since_changes_exactly_when_the_countries_do():
    day = datetime.date(2018, 5, 1)
    previous = None
    # Past the end of the UK's renewed decision.
    while day <= datetime.date(2032, 6, 1):
        countries = (geography.eea_countries(day), geography.adequacy_in_force(day))
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


def test_in_force_since_ignores_a_renewal_without_a_gap():
    # The UK's decision renewed from the day after the 2021 one lapsed: the
    # rules read the same, so gaps stored before stay current.
    assert geography.in_force_since(_d("2026-01-02")) == _d("2025-07-15")
    assert _d("2025-12-28") not in geography.CHANGES
    assert _d("2031-12-28") in geography.CHANGES
