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
    """
    A state's membership of the EEA, or an adequacy decision, and its dates.

    An adequacy decision is for a country (``country``, an ISO 3166-1 code) or
    for an international organisation (``organisation``, its name; ``country``
    empty), never both. ``scoped`` marks a decision that covers only some
    recipients in the country (``note`` says which): a transfer relying on it
    must record that its recipient is covered.
    """

    country: str
    start: datetime.date
    end: datetime.date | None
    reference: str
    note: str = ""
    organisation: str = ""
    scoped: bool = False

    def in_force(self, on):
        return self.start <= on and (self.end is None or on <= self.end)


def _d(value):
    return datetime.date.fromisoformat(value)


def _fold(name):
    """An organisation's name as it is matched: in any case, spaces trimmed."""
    return str(name).strip().casefold()


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

# Checked in December 2026 against the Commission's page "Adequacy decisions"
# and the Official Journal references below (README, "Countries"). The
# decisions of Directive 95/46/EC stay in force under Art. 45(9) GDPR.
ADEQUACY_DECISIONS = (
    Period("CH", _GDPR, None, "Decision 2000/518/EC"),
    Period(
        "CA",
        _GDPR,
        None,
        "Decision 2002/2/EC",
        "commercial organisations subject to PIPEDA",
        scoped=True,
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
    Period(
        "JP",
        _d("2019-01-23"),
        None,
        "Decision (EU) 2019/419",
        "the private sector, under the Act on the Protection of Personal Information",
        scoped=True,
    ),
    # Not an adequacy decision: the bridge of the EU-UK Trade and Cooperation
    # Agreement (Art. FINPROV.10A) under which transmissions to the UK were
    # not transfers to a third country, from the end of the transition period
    # for at most six months (to 2021-06-30), ending when the Commission
    # adopted its adequacy decisions on 2021-06-28 (FINPROV.10A(4)(a)). Kept
    # here so that a transfer then recorded on adequacy is not a gap.
    Period(
        "GB",
        _d("2021-01-01"),
        _d("2021-06-27"),
        "EU-UK Trade and Cooperation Agreement, Art. FINPROV.10A (interim "
        "provision, OJ L 444, 31.12.2020)",
        "no adequacy decision yet: the Agreement's bridge until one was adopted",
    ),
    # Adopted and notified on 2021-06-28; its own term (to 2025-06-27) was
    # extended by six months in June 2025 to 2025-12-27.
    Period(
        "GB",
        _d("2021-06-28"),
        _d("2025-12-27"),
        "Decision C(2021) 4800",
        "excludes transfers for the purposes of UK immigration control",
    ),
    # Adopted on 2025-12-19, before the 2021 decision lapsed: in force from
    # the day after it, for six years.
    Period(
        "GB",
        _d("2025-12-28"),
        _d("2031-12-27"),
        "Commission Implementing Decision of 19 December 2025 renewing "
        "Decision C(2021) 4800",
        "excludes transfers for the purposes of UK immigration control",
    ),
    Period("KR", _d("2021-12-17"), None, "Decision (EU) 2022/254"),
    Period(
        "US",
        _d("2023-07-10"),
        None,
        "Decision C(2023) 4745 (EU-US Data Privacy Framework)",
        "organisations certified under the EU-US Data Privacy Framework",
        scoped=True,
    ),
    # Adopted in July 2025; the day (2025-07-15) is to be confirmed against
    # the Official Journal.
    Period(
        "",
        _d("2025-07-15"),
        None,
        "Commission Implementing Decision of July 2025 on the European Patent "
        "Organisation",
        organisation="European Patent Organisation",
    ),
    # Adopted on 2026-01-26 and published on 2026-01-28: taken as in force
    # from its publication in the Official Journal, the later of the two days
    # a decision can enter into force on, so that no day is counted as
    # covered before it surely was.
    Period(
        "BR",
        _d("2026-01-28"),
        None,
        "Commission Implementing Decision (EU) 2026/179 of 26 January 2026 "
        "(OJ L, 28.1.2026)",
    ),
)


@dataclass(frozen=True)
class Adequacy:
    """The adequacy decisions in force on one day, as the rules read them."""

    countries: frozenset
    # Names folded by ``_fold``.
    organisations: frozenset
    scoped_countries: frozenset

    def covers(self, country, organisation=""):
        """Whether a decision in force covers the destination."""
        if country:
            return str(country) in self.countries
        return bool(organisation) and _fold(organisation) in self.organisations

    def limited(self, country):
        """Whether the decision in force for ``country`` covers some recipients."""
        return bool(country) and str(country) in self.scoped_countries


def _today():
    return timezone.localdate()


def eea_countries(on=None):
    """ISO 3166-1 alpha-2 codes of the EEA states on a date (today by default)."""
    on = on or _today()
    return frozenset(p.country for p in EEA_MEMBERSHIP if p.in_force(on))


def _decisions(on):
    return [p for p in ADEQUACY_DECISIONS if p.in_force(on)]


def adequate_countries(on=None):
    """Codes of the third countries with an adequacy decision in force on a date."""
    on = on or _today()
    return frozenset(p.country for p in _decisions(on) if p.country)


def adequate_organisations(on=None):
    """Names of the international organisations with a decision in force."""
    on = on or _today()
    return frozenset(p.organisation for p in _decisions(on) if p.organisation)


def scoped_countries(on=None):
    """Codes of the countries whose decision in force covers some recipients only."""
    on = on or _today()
    return frozenset(p.country for p in _decisions(on) if p.country and p.scoped)


def adequacy_in_force(on=None):
    """The adequacy decisions in force on a date (today by default)."""
    on = on or _today()
    decisions = _decisions(on)
    return Adequacy(
        countries=frozenset(p.country for p in decisions if p.country),
        organisations=frozenset(
            _fold(p.organisation) for p in decisions if p.organisation
        ),
        scoped_countries=frozenset(
            p.country for p in decisions if p.country and p.scoped
        ),
    )


def in_eea(country, on=None):
    return str(country) in eea_countries(on)


def adequacy_decision(country="", on=None, *, organisation=""):
    """
    The adequacy decision in force on a date for a country, or for an
    international organisation named in any case, or None.
    """
    on = on or _today()
    for period in _decisions(on):
        if country and period.country == str(country):
            return period
        if (
            not country
            and organisation
            and period.organisation
            and _fold(period.organisation) == _fold(organisation)
        ):
            return period
    return None


def _state(on):
    """What the rules read of this data on a date."""
    return eea_countries(on), adequacy_in_force(on)


def _changes():
    """
    The dates on which the EEA or the adequacy decisions change what the
    rules read: a decision renewed without a day's gap changes nothing.
    """
    for period in (*EEA_MEMBERSHIP, *ADEQUACY_DECISIONS):
        yield period.start
        if period.end is not None:
            yield period.end + datetime.timedelta(days=1)


CHANGES = tuple(
    day
    for day in sorted(set(_changes()))
    if _state(day) != _state(day - datetime.timedelta(days=1))
)


def in_force_since(on=None):
    """
    The date from which the EEA and adequacy data in force on ``on`` has been
    in force: two dates with the same answer have the same EEA and the same
    adequacy decisions, as the rules read them.
    """
    on = on or _today()
    return max((day for day in CHANGES if day <= on), default=datetime.date.min)
