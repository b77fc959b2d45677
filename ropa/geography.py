"""
Where personal data may go without a Chapter V mechanism, as dated data.

A transfer to a country outside the EEA needs a ground in Chapter V
(Art. 44-49). Membership of the EEA and the Commission's adequacy decisions
(Art. 45) change over time, so each entry carries the dates it is in force and
the reference of the act it rests on. Keep this file current when the
Commission adopts, renews or withdraws a decision.
"""

import datetime
from dataclasses import dataclass

from django.utils import timezone


@dataclass(frozen=True)
class Period:
    country: str
    start: datetime.date
    end: datetime.date | None
    reference: str
    note: str = ""

    def in_force(self, on):
        return self.start <= on and (self.end is None or on <= self.end)


def _d(value):
    return datetime.date.fromisoformat(value)


_GDPR = _d("2018-05-25")
_EU_FOUNDING = (
    "AT BE BG CY CZ DE DK EE ES FI FR GR HU IE IT LT LU LV MT NL PL PT RO SE SI SK"
)
_EEA_EFTA = "IS LI NO"

EEA_MEMBERSHIP = (
    *(Period(code, _GDPR, None, "EU member state") for code in _EU_FOUNDING.split()),
    Period("HR", _GDPR, None, "EU member state (acceded 2013-07-01)"),
    *(
        Period(code, _d("2018-07-20"), None, "EEA Joint Committee Decision 154/2018")
        for code in _EEA_EFTA.split()
    ),
    # The GDPR applied in the United Kingdom until the end of the transition
    # period of the Withdrawal Agreement.
    Period("GB", _GDPR, _d("2020-12-31"), "EU member state until withdrawal"),
)

ADEQUACY_DECISIONS = (
    Period("CH", _GDPR, None, "Decision 2000/518/EC"),
    Period(
        "CA", _GDPR, None, "Decision 2002/2/EC", "commercial organisations (PIPEDA)"
    ),
    Period("AR", _GDPR, None, "Decision 2003/490/EC"),
    Period("GG", _GDPR, None, "Decision 2003/821/EC"),
    Period("IM", _GDPR, None, "Decision 2004/411/EC"),
    Period("JE", _GDPR, None, "Decision 2008/393/EC"),
    Period("FO", _GDPR, None, "Decision 2010/146/EU"),
    Period("AD", _GDPR, None, "Decision 2010/625/EU"),
    Period("IL", _GDPR, None, "Decision 2011/61/EU"),
    Period("UY", _GDPR, None, "Decision 2012/484/EU"),
    Period("NZ", _GDPR, None, "Decision 2013/65/EU"),
    Period("JP", _d("2019-01-23"), None, "Decision (EU) 2019/419"),
    Period("GB", _d("2021-06-28"), None, "Decision C(2021) 4800, renewed in 2025"),
    Period("KR", _d("2021-12-17"), None, "Decision (EU) 2022/254"),
    Period(
        "US",
        _d("2023-07-10"),
        None,
        "Decision C(2023) 4745 (EU-US Data Privacy Framework)",
        "organisations certified under the Data Privacy Framework only",
    ),
)


def _today():
    return timezone.localdate()


def eea_countries(on=None):
    """ISO 3166-1 alpha-2 codes of the EEA states on a date (today by default)."""
    on = on or _today()
    return frozenset(p.country for p in EEA_MEMBERSHIP if p.in_force(on))


def adequate_countries(on=None):
    """Codes of the third countries with an adequacy decision in force on a date."""
    on = on or _today()
    return frozenset(p.country for p in ADEQUACY_DECISIONS if p.in_force(on))


def in_eea(country, on=None):
    return str(country) in eea_countries(on)


def adequacy_decision(country, on=None):
    """The adequacy decision in force for a country on a date, or None."""
    on = on or _today()
    for period in ADEQUACY_DECISIONS:
        if period.country == str(country) and period.in_force(on):
            return period
    return None


def _changes():
    """The dates on which the EEA or the list of adequate countries changes."""
    for period in (*EEA_MEMBERSHIP, *ADEQUACY_DECISIONS):
        yield period.start
        if period.end is not None:
            yield period.end + datetime.timedelta(days=1)


CHANGES = tuple(sorted(set(_changes())))


def in_force_since(on=None):
    """
    The date from which the EEA and adequacy data in force on ``on`` has been
    in force: two dates with the same answer have the same EEA and the same
    adequate countries.
    """
    on = on or _today()
    return max((day for day in CHANGES if day <= on), default=datetime.date.min)
