"""
Where each activity's data goes: its flows, as plain data, and their pictures.

An ``ActivityFlow`` is what the pictures draw of one activity: whose data
(the data subject categories), the activity, who receives the data (the
recipients) and where it leaves the EEA (the transfers). It is built from the
exports' snapshot data (``flow_from_snapshot``, ``flows_of_register``: the
register as it stands or as of a date) or from a ``ProcessingActivity`` (the
admin's page, ``flow_from_activity``).

A flow's transfers follow the register's own rules (``ropa.geography`` and
the transfer rules of ``ropa.completeness``), on the day the data describes:

- each recorded transfer, with its mechanism; it ``needs_mechanism`` when its
  destination is outside the EEA and no adequacy decision covers it then;
- each recipient outside the EEA whose country no transfer is recorded for
  (the rule "transfer_not_recorded"): a transfer with no mechanism;
- a transfer's own gaps of Art. 30(1)(e) (an adequacy decision not in force,
  a limited one without its scope, compelling interests without documented
  safeguards) in ``gap``.

``Transfer.warning`` is what the pictures print, in the warning colour, beside
a transfer the register finds wanting.

The pictures themselves are ``flow_svg`` (``ropa.charts.picture``) and
``transfer_map_svg`` (``ropa.charts.world``).
"""

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone
from django.utils.safestring import mark_safe
from django_countries import countries

from ropa.charts.picture import flow_svg
from ropa.charts.world import transfer_map_svg
from ropa.enums import TransferMechanism
from ropa.geography import Adequacy, adequacy_in_force, eea_countries
from ropa.models import InternationalTransfer, Recipient
from subjects.models import DataSubjectCategory

__all__ = [
    "ActivityFlow",
    "Transfer",
    "activity_flow_svg",
    "flow_from_activity",
    "flow_from_snapshot",
    "flow_svg",
    "flows_of_register",
    "transfer_map_svg",
]

#: What the pictures print for a transfer that needs a mechanism and has none.
NO_MECHANISM = "no mechanism"
#: The gaps of a transfer of the register's rules, as the pictures print them.
TRANSFER_NOT_RECORDED = "transfer not recorded"
ADEQUACY_NOT_IN_FORCE = "adequacy decision not in force"
ADEQUACY_SCOPE_UNRECORDED = "adequacy scope not recorded"
SAFEGUARDS_UNDOCUMENTED = "safeguards not documented"
COUNTRY_UNRECORDED = "country not recorded"


@dataclass(frozen=True)
class Transfer:
    """Data leaving the EEA: to a third country or an international organisation."""

    country: str  # ISO 3166-1 alpha-2, "" for an international organisation only
    country_name: str  # the country's name, or the international organisation
    recipient: str  # the recipient's name, "" if the transfer names none
    mechanism: str  # the mechanism's label; "" when none is recorded
    needs_mechanism: bool  # outside the EEA and without adequacy in force
    # A gap of Art. 30(1)(e) the register's rules find in this transfer
    # besides a missing mechanism ("" when none).
    gap: str = ""
    # False only for a recorded transfer whose country is in the EEA (no
    # transfer in law, drawn as recorded, left off the map of third countries).
    third_country: bool = True

    @property
    def warning(self):
        """What is wrong with the transfer, in a few words; "" when nothing."""
        if self.needs_mechanism and not self.mechanism:
            return NO_MECHANISM
        return self.gap


@dataclass(frozen=True)
class ActivityFlow:
    """Whose data one activity processes, who receives it, where it goes."""

    reference: str
    name: str
    purpose: str
    business_function: str  # label
    controllers: tuple[str, ...]  # responsible organisations' names
    subjects: tuple[str, ...]  # data subject categories' names
    recipients: tuple[str, ...]  # recipients' names
    transfers: tuple[Transfer, ...]
    status: str = ""  # ropa.enums.ActivityStatus value

    @property
    def warnings(self):
        """The transfers the register finds wanting."""
        return tuple(transfer for transfer in self.transfers if transfer.warning)


@dataclass(frozen=True)
class _Rules:
    """What the transfer rules read on one day."""

    eea: frozenset
    adequate: Adequacy


@lru_cache(maxsize=64)
def _rules(on):
    return _Rules(eea=eea_countries(on), adequate=adequacy_in_force(on))


def _country_name(code):
    return str(countries.name(code)) or code


def _sorted(names):
    return tuple(sorted(names, key=lambda name: (name.casefold(), name)))


def _recorded(row, rules):
    """A recorded transfer as a ``Transfer``: ``row`` has the model's fields."""
    country = str(row["country"] or "")
    organisation = row["international_organisation"]
    mechanism = row["mechanism"]
    covered = rules.adequate.covers(country, organisation)
    # The transfer rules of ropa.completeness, one transfer at a time.
    gap = ""
    if mechanism == TransferMechanism.ADEQUACY and not covered:
        gap = ADEQUACY_NOT_IN_FORCE
    elif (
        mechanism == TransferMechanism.ADEQUACY
        and rules.adequate.limited(country)
        and not row["adequacy_scope"]
    ):
        gap = ADEQUACY_SCOPE_UNRECORDED
    elif (
        mechanism == TransferMechanism.COMPELLING_INTERESTS
        and not row["safeguards_documentation"]
    ):
        gap = SAFEGUARDS_UNDOCUMENTED
    third = not country or country not in rules.eea
    return Transfer(
        country=country,
        country_name=_country_name(country) if country else organisation,
        recipient=row["recipient"],
        mechanism=TransferMechanism(mechanism).label if mechanism else "",
        needs_mechanism=third and not covered,
        gap=gap,
        third_country=third,
    )


def _transfers(rows, recipients, rules):
    """
    The transfers of one activity: its recorded ``rows`` and, for each of its
    ``recipients`` (name, country) outside the EEA whose country no transfer
    is recorded for, a transfer without a mechanism; for a recipient whose
    country is not recorded, a destination with that gap (whether data
    leaves the EEA cannot be told), kept off the map of third countries.
    """
    transfers = [_recorded(row, rules) for row in rows]
    recorded = {str(row["country"] or "") for row in rows}
    for name, country in recipients:
        country = str(country or "")
        if not country:
            transfers.append(
                Transfer(
                    country="",
                    country_name=COUNTRY_UNRECORDED,
                    recipient=name,
                    mechanism="",
                    needs_mechanism=False,
                    gap=COUNTRY_UNRECORDED,
                    third_country=False,
                )
            )
        elif country not in rules.eea and country not in recorded:
            covered = rules.adequate.covers(country)
            transfers.append(
                Transfer(
                    country=country,
                    country_name=_country_name(country),
                    recipient=name,
                    mechanism="",
                    needs_mechanism=not covered,
                    # Adequate, yet Art. 30(1)(e) asks for it to be recorded.
                    gap="" if not covered else TRANSFER_NOT_RECORDED,
                )
            )
    return tuple(
        sorted(
            transfers,
            key=lambda t: (t.country_name.casefold(), t.recipient, t.mechanism),
        )
    )


# ---------------------------------------------------------------------------
# From the exports' snapshot data
# ---------------------------------------------------------------------------


def flow_from_snapshot(activity, catalogue, *, on=None):
    """
    The flow of ``activity``, a dict of ``Register.activities()``, whose ids
    ``catalogue`` (its ``catalogue()``) names; the rules read on ``on`` (the
    snapshot's date; today by default).

    Of ``activity`` it reads the reference, name, purpose, business function
    and status, the ids of its organisations, data subject categories and
    recipients, and its transfers (country, international organisation,
    mechanism, adequacy scope, safeguards documentation, recipient id); of
    ``catalogue`` the organisations' names, the data subject categories'
    names (``names``) and the recipients' names and countries (``details``).
    """
    rules = _rules(on or timezone.localdate())
    names = catalogue.names
    recipient_rows = catalogue.details[Recipient]
    recipients = [recipient_rows[pk] for pk in activity["recipients"]]
    rows = [
        {
            **row,
            "recipient": (
                recipient_rows[row["recipient_id"]]["name"]
                if row["recipient_id"] in recipient_rows
                else ""
            ),
        }
        for row in activity["transfers"]
    ]
    return ActivityFlow(
        reference=activity["reference"],
        name=activity["name"],
        purpose=activity["purpose"],
        business_function=activity["business_function"],
        controllers=_sorted(
            catalogue.organisations[pk]["name"] for pk in activity["organisations"]
        ),
        subjects=_sorted(
            names[DataSubjectCategory][pk] for pk in activity["data_subject_categories"]
        ),
        recipients=_sorted(row["name"] for row in recipients),
        transfers=_transfers(
            rows, [(row["name"], row["country"]) for row in recipients], rules
        ),
        status=activity["status"],
    )


def flows_of_register(register, *, statuses=None) -> Iterator[ActivityFlow]:
    """
    The flows of ``register`` (``ropa.exchange.snapshot.Register`` or
    ``RegisterSnapshot``) in reference order, one at a time, as its
    ``activities()`` streams them; ``statuses`` keeps those in it only.
    """
    catalogue = register.catalogue()
    on = register.as_of or timezone.localdate()
    for chunk in register.activities():
        for activity in chunk:
            if statuses is None or activity["status"] in statuses:
                yield flow_from_snapshot(activity, catalogue, on=on)


# ---------------------------------------------------------------------------
# From the database
# ---------------------------------------------------------------------------


def flow_prefetches():
    """The lookups that ``flow_from_activity`` reads, for ``prefetch_related``."""
    return (
        Prefetch("organisations"),
        Prefetch("data_subject_categories"),
        Prefetch("recipients"),
        Prefetch(
            "transfers",
            queryset=InternationalTransfer.objects.select_related("recipient"),
        ),
    )


def flow_from_activity(activity, *, on: datetime.date | None = None) -> ActivityFlow:
    """
    The flow of a ``ProcessingActivity`` as it is saved, the rules read on
    ``on`` (today by default).

    Reads what a queryset prefetched with ``flow_prefetches()`` holds; what
    it does not hold costs one query per relation (four at most), whatever
    the number of recipients and transfers.
    """
    prefetch_related_objects([activity], *flow_prefetches())
    rules = _rules(on or timezone.localdate())
    recipients = list(activity.recipients.all())
    rows = [
        {
            "country": transfer.country,
            "international_organisation": transfer.international_organisation,
            "mechanism": transfer.mechanism,
            "adequacy_scope": transfer.adequacy_scope,
            "safeguards_documentation": transfer.safeguards_documentation,
            "recipient": transfer.recipient.name if transfer.recipient else "",
        }
        for transfer in activity.transfers.all()
    ]
    return ActivityFlow(
        reference=activity.reference,
        name=activity.name,
        purpose=activity.purpose,
        business_function=activity.business_function,
        controllers=_sorted(org.name for org in activity.organisations.all()),
        subjects=_sorted(
            subject.name for subject in activity.data_subject_categories.all()
        ),
        recipients=_sorted(recipient.name for recipient in recipients),
        transfers=_transfers(
            rows,
            [(recipient.name, recipient.country) for recipient in recipients],
            rules,
        ),
        status=activity.status,
    )


def activity_flow_svg(activity):
    """
    The picture of a saved activity's flows, as markup for its admin page:
    the SVG is serialised by lxml, which escapes every text it holds.

    Read afresh: a form shown again with its errors has put what was typed
    on ``activity``, and the picture is of the activity as saved.
    """
    flow = flow_from_activity(type(activity).objects.get(pk=activity.pk))
    return mark_safe(  # noqa: S308
        flow_svg(
            flow,
            title=f"Where the data goes: {flow.reference} {flow.name}",
            id_prefix=f"flow-{activity.pk}",
        )
    )
