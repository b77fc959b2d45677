import datetime

import pytest

from ropa.review.schedule import ReviewError, due_date, review_cycle

ON = datetime.date(2026, 3, 1)


def day(text):
    return datetime.date.fromisoformat(text)


def test_review_cycle_defaults_to_the_year_of_the_date():
    assert review_cycle(on=ON) == 2026


@pytest.mark.parametrize("year", [2026, 2027])
def test_review_cycle_accepts_the_current_and_the_coming_year(year):
    assert review_cycle(on=ON, year=year) == year


@pytest.mark.parametrize("year", [2025, 2028])
def test_review_cycle_refuses_other_years(year):
    with pytest.raises(ReviewError, match=f"The review cycle {year} is neither"):
        review_cycle(on=ON, year=year)


@pytest.mark.parametrize(
    ("last_reviewed_on", "cycle", "expected"),
    [
        (None, 2026, ON),
        # Opened ahead for the coming cycle: due when it starts.
        (None, 2027, day("2027-01-01")),
        (day("2025-03-01"), 2026, day("2026-03-01")),
    ],
)
def test_due_date(last_reviewed_on, cycle, expected):
    assert due_date(last_reviewed_on=last_reviewed_on, on=ON, cycle=cycle) == expected


def test_due_date_follows_the_interval_setting(settings):
    settings.ROPA_REVIEW_INTERVAL_DAYS = 180

    due = due_date(last_reviewed_on=day("2026-01-01"), on=ON, cycle=2026)

    assert due == day("2026-06-30")
