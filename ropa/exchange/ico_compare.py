"""
A filled template's row against the activity of the same purpose title
already in the register.

The row is unchanged when each of its cells says what the template export
writes for that activity: word for word, or in the import's reading of it
(a list in another order or with other separators, "No" for an empty yes /
no, "USA" for "United States of America (Standard contractual clauses)",
a retention schedule without "All data:"), and when what the import kept of
it ("Kept from an import") is on the activity. Anything else is a change the
template cannot make (it keeps no reference to update a record by): the row
is refused with the columns that differ.
"""

import re

from ropa.enums import DPIAStatus, RetentionAction, TransferMechanism
from ropa.exchange.ico_export import exported_cells
from ropa.exchange.ico_layout import (
    ARTICLE_6,
    ARTICLE_9,
    AUTOMATED_DECISIONS,
    BREACH,
    DPIA_PROGRESS,
    DPIA_REQUIRED,
    INDIVIDUALS,
    JOINT_CONTROLLER,
    PERSONAL_DATA,
    PROCESSOR_CONTRACT,
    PURPOSE,
    RECIPIENTS,
    RETENTION,
    RETENTION_FOLLOWED,
    SAFEGUARDS,
    SPECIAL_BASES,
    THIRD_COUNTRIES,
)
from ropa.exchange.ico_parties import looks_like_link, parse_joint_controllers
from ropa.exchange.ico_text import (
    BASIS_PATTERNS,
    CONDITION,
    CONDITION_PATTERNS,
    DPIA_PROGRESS_PATTERNS,
    MECHANISM_PATTERNS,
    PROGRESS,
    YES_NO,
    destination,
    matching_choices,
    meaningful,
    processor_marked,
    read_profiling,
    retention_schedule,
    said_more,
    split_names,
    split_purpose,
    yes_or_no,
)
from ropa.exchange.plan import RowPlan
from ropa.geography import adequacy_decision

ALREADY = (
    "'{name}' is already in the register ({reference}), and this row differs from "
    "it in {columns}. The template adds activities: change {reference} in the "
    "admin or through our own export, or give this row another purpose title to "
    "add it as another activity."
)
ALREADY_ELSEWHERE = (
    "'{name}' is already in the register ({reference}), as an activity of other "
    "organisations than {controller}: give this row another purpose title."
)
# "DPA-0001: https://…", "US: Standard contractual clauses": as the template
# export writes an agreement, or a transfer's safeguards.
EXPORTED_AGREEMENT = re.compile(r"[A-Z]{2,}-\d+:\s+(.+)", re.DOTALL)
DESTINATION_PREFIX = re.compile(r"^[^:]{1,100}:\s+")


def normal(text):
    return " ".join(text.split())


def _names(text):
    return frozenset(processor_marked(name)[0].casefold() for name in split_names(text))


def agreement_link(link):
    """A link to a processor contract, without the reference the export adds."""
    exported = EXPORTED_AGREEMENT.fullmatch(link)
    return exported[1] if exported else link


def _links(text):
    return frozenset(
        normal(agreement_link(link)).casefold()
        for link in split_names(text, looks_like_link)
    )


def _yes_no(text):
    try:
        return bool(yes_or_no(text))
    except ValueError:
        return normal(text)


def _unknown_yes_no(text):
    try:
        return yes_or_no(text)
    except ValueError:
        return normal(text)


def _choices(patterns):
    def read(text):
        return frozenset(matching_choices(text, patterns))

    return read


def _progress(text):
    # Not reported on, a required DPIA is recorded as not started.
    found = matching_choices(text, DPIA_PROGRESS_PATTERNS) if text else []
    if found:
        return found[0]
    return text or DPIAStatus.NOT_STARTED


def _purpose(text):
    return tuple(normal(part) for part in split_purpose(text))


def _rule(values):
    values = {"end_action": RetentionAction.ERASE, **values}
    return tuple(
        sorted((key, normal(str(value)).rstrip(".")) for key, value in values.items())
    )


def _retention(text, category_names):
    if not text:
        return None
    return frozenset(
        (scope.casefold(), _rule(values))
        for scope, values in retention_schedule(text, category_names)
    )


def _joint(text):
    parties, contact_point = parse_joint_controllers(text)
    return (
        frozenset(
            (
                party.name.casefold(),
                normal(party.address).casefold(),
                party.email.casefold(),
                normal(party.phone),
            )
            for party in parties
        ),
        normal(contact_point),
    )


def _safeguards(text):
    return frozenset(
        normal(DESTINATION_PREFIX.sub("", part)).casefold()
        for part in re.split(r"[;\n]+", text)
        if meaningful(part)
    )


def _profiling(text):
    found = read_profiling(text)
    return (found["profiling"], normal(found["profiling_description"]))


# How the import reads each column it compares by meaning.
MEANING = {
    PURPOSE: _purpose,
    JOINT_CONTROLLER: _joint,
    INDIVIDUALS: _names,
    PERSONAL_DATA: _names,
    RECIPIENTS: _names,
    PROCESSOR_CONTRACT: _links,
    SAFEGUARDS: _safeguards,
    ARTICLE_6: _choices(BASIS_PATTERNS),
    SPECIAL_BASES: _choices(BASIS_PATTERNS),
    ARTICLE_9: _choices(CONDITION_PATTERNS),
    AUTOMATED_DECISIONS: _profiling,
    DPIA_REQUIRED: _yes_no,
    DPIA_PROGRESS: _progress,
    BREACH: _yes_no,
    RETENTION_FOLLOWED: _unknown_yes_no,
}


def _destinations(countries, safeguards):
    """(country, mechanism) of each destination, as the import reads them."""
    found = set()
    mechanisms = frozenset(matching_choices(safeguards, MECHANISM_PATTERNS))
    for name in split_names(countries, lambda part: bool(destination(part)[0])):
        code, stated = destination(name)
        stated_mechanisms = frozenset(matching_choices(stated, MECHANISM_PATTERNS))
        mechanism = stated_mechanisms or mechanisms
        if not mechanism and code and adequacy_decision(code):
            # As the import reads it: no safeguards needed on adequacy.
            mechanism = frozenset((TransferMechanism.ADEQUACY,))
        found.add((code or name.casefold(), mechanism))
    return found


# The columns whose cell is kept on the activity when it says more than the
# import reads from it.
KEPT_WHEN_MORE = {
    DPIA_REQUIRED: YES_NO,
    DPIA_PROGRESS: PROGRESS,
    BREACH: YES_NO,
    RETENTION_FOLLOWED: YES_NO,
    ARTICLE_9: CONDITION,
}


def remainders(cells):
    """(column, text) of the row's cells that say more than the import reads."""
    return [
        (column, text)
        for column, kind in KEPT_WHEN_MORE.items()
        if (text := said_more(cells.get(column, ""), kind))
    ]


def same(column, ours, theirs):
    """Whether two texts of ``column`` say the same to the import."""
    if normal(ours) == normal(theirs):
        return True
    read = MEANING.get(column)
    return read is not None and read(ours) == read(theirs)


def differing_columns(cells, exported, columns, kept, notes):
    """The template's columns (and kept cells) where ``cells`` differ."""
    differing = []
    for column in columns:
        ours = cells.get(column, "")
        theirs = meaningful(str(exported[column]))
        if column == PROCESSOR_CONTRACT:
            # Links kept on the activity, with no agreement recorded for them.
            recorded = _links(theirs)
            if recorded <= _links(ours) and all(
                link in notes.casefold() for link in _links(ours) - recorded
            ):
                continue
        elif column == RETENTION:
            names = split_names(cells.get(PERSONAL_DATA, ""))
            if same(column, ours, theirs) or _retention(ours, names) == _retention(
                theirs, names
            ):
                continue
        elif column == THIRD_COUNTRIES:
            if same(column, ours, theirs) or _destinations(
                ours, cells.get(SAFEGUARDS, "")
            ) == _destinations(theirs, meaningful(str(exported[SAFEGUARDS]))):
                continue
        elif same(column, ours, theirs):
            continue
        differing.append(column)
    differing += [
        heading for heading, text in kept if f"{heading}: {text}" not in notes
    ]
    return list(dict.fromkeys(differing))


def compare_rows(planner, compared):
    """
    Plan the rows of ``compared`` (row number, activity, cells, kept): each
    unchanged, or refused with the columns that differ.
    """
    if not compared:
        return
    exported = exported_cells(
        [activity.pk for _, activity, _, _ in compared], planner.controller
    )
    for row_number, activity, cells, kept in compared:
        row = RowPlan(
            planner.group,
            planner.table.name,
            row_number,
            f"{activity.reference} {activity.name}",
        )
        planner.plan.rows.append(row)
        if planner.controller not in activity.organisations.all():
            row.error(
                PURPOSE,
                ALREADY_ELSEWHERE.format(
                    name=activity.name,
                    reference=activity.reference,
                    controller=planner.controller,
                ),
            )
        else:
            differing = differing_columns(
                cells,
                exported[activity.pk],
                planner.columns,
                kept,
                activity.import_notes,
            )
            if differing:
                row.error(
                    differing[0],
                    ALREADY.format(
                        name=activity.name,
                        reference=activity.reference,
                        columns=", ".join(f"'{column}'" for column in differing),
                    ),
                )
        row.settle(None)
