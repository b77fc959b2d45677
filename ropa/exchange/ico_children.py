"""
The child rows of an activity from a filled ICO template: its lawful bases
(columns 12-15 and 26-27), its transfers (columns 8-9) and its retention rule
(column 10), each planned as a new row of its sheet.
"""

import re
from dataclasses import replace

from django_countries import countries

from ropa.core.rows import NEW
from ropa.enums import LawfulBasisChoice, TransferMechanism
from ropa.exchange import layout
from ropa.exchange.columns import column_of
from ropa.exchange.ico_layout import (
    ARTICLE_6,
    ARTICLE_9,
    INTERESTS_ASSESSMENT,
    LEGITIMATE_INTERESTS,
    RETENTION,
    SAFEGUARDS,
    SCHEDULE_1,
    SPECIAL_BASES,
    THIRD_COUNTRIES,
)
from ropa.exchange.ico_text import (
    BASIS_PATTERNS,
    CONDITION_PATTERNS,
    MECHANISM_PATTERNS,
    destination,
    matching_choices,
    meaningful,
    retention_schedule,
    split_names,
)
from ropa.exchange.plan import CHILD, RowPlan, Save
from ropa.exchange.validation import assign, validation_errors
from ropa.geography import adequacy_decision, in_eea
from ropa.models import InternationalTransfer, LawfulBasis, RetentionRule

SCOPED = (
    "Sheet '{sheet}', row {row}: the transfer to {country} is recorded on the "
    "adequacy decision, which covers only {scope}: check that the recipient is "
    "covered, or record the safeguards the transfer relies on."
)
# Words of the names of international organisations (Art. 4(26)).
ORGANISATION_WORDS = re.compile(
    r"\b(?:organi[sz]ation|union|nations|bank|fund|agency|office|council|"
    r"court|committee|commission|institute|programme|program|patent|"
    r"interpol|nato|oecd|unicef|unesco|unhcr|who|imf)\b",
    re.IGNORECASE,
)
LAWFUL_BASES = layout.LAWFUL_BASES.name
TRANSFERS = layout.TRANSFERS.name
RETENTION_RULES = layout.RETENTION_RULES.name


def holds(header, columns, field):
    """
    The column of our own sheets (``columns``) holding ``field``, under the
    ICO template's ``header``: the field each row fills, by the column that
    feeds it (for errors).
    """
    return replace(column_of(columns, field), header=header)


LAWFUL_BASIS_FIELDS = tuple(
    holds(header, layout.LAWFUL_BASIS_COLUMNS, field)
    for header, field in (
        (ARTICLE_6, "basis"),
        (ARTICLE_6, "explanation"),
        (LEGITIMATE_INTERESTS, "legitimate_interest"),
        (INTERESTS_ASSESSMENT, "assessment_reference"),
        (ARTICLE_9, "special_category_condition"),
        (SCHEDULE_1, "criminal_data_authority"),
    )
)
TRANSFER_FIELDS = tuple(
    holds(header, layout.TRANSFER_COLUMNS, field)
    for header, field in (
        (THIRD_COUNTRIES, "country"),
        (THIRD_COUNTRIES, "international_organisation"),
        (SAFEGUARDS, "mechanism"),
        (SAFEGUARDS, "safeguards_documentation"),
    )
)
RETENTION_FIELDS = tuple(
    holds(RETENTION, layout.RETENTION_RULE_COLUMNS, field)
    for field in ("period", "period_unit", "trigger", "criteria", "end_action")
)


def organisation_named(text):
    """
    An international organisation and the mechanism stated after it:
    "World Health Organization (Standard contractual clauses)".
    """
    qualified = re.fullmatch(r"(.+?)\s*\((.*)\)", text.strip(), re.DOTALL)
    name, stated = (qualified[1], qualified[2]) if qualified else (text.strip(), "")
    if ORGANISATION_WORDS.search(name):
        return name.strip(), stated.strip()
    return "", ""


def only_labels(text, choices):
    """Whether ``text`` is a list of ``choices``' labels and nothing more."""
    labels = {str(label).casefold() for label in choices.labels}
    parts = [part.strip().casefold() for part in re.split(r"[;\n]+", text)]
    return all(part in labels for part in parts if part)


def per_destination(safeguards):
    """
    {country code or organisation (folded): text} of safeguards written per
    destination ("IN: …; US: …"), or {} when they are not.
    """
    found = {}
    for part in re.split(r"[;\n]+", safeguards):
        if not meaningful(part):
            continue
        named = re.fullmatch(r"\s*([^:]{1,100}):\s+(.+?)\s*", part, re.DOTALL)
        if named is None:
            return {}
        code = destination(named[1])[0] or organisation_named(named[1])[0].casefold()
        if not code:
            return {}
        found[code] = named[2]
    return found


class ChildRows:
    """Plans the child rows of the template's activities."""

    def __init__(self, plan, lookups, review):
        self.plan = plan
        self.lookups = lookups
        # ``review(kind, name, row, column)``: lists a created record.
        self.review = review

    def child(self, group, row, key, instance, fields, values, parent):
        child_row = RowPlan(group, row.sheet, row.row, key, action=NEW, phase=CHILD)
        self.review(
            str(type(instance)._meta.verbose_name).capitalize(),
            key,
            row.row,
            fields[0].header,
        )
        self.plan.rows.append(child_row)
        child_row.changes, _ = assign(instance, fields, values, self.lookups, new=True)
        for column, reason in validation_errors(
            instance, fields, exclude=("activity",)
        ):
            child_row.error(column, reason)
        child_row.settle(Save(instance, parent=parent))

    def lawful_bases(self, row, cells, reference, parent):
        text = cells.get(ARTICLE_6, "")
        interest = cells.get(LEGITIMATE_INTERESTS, "")
        assessment = cells.get(INTERESTS_ASSESSMENT, "")
        condition_text = cells.get(ARTICLE_9, "")
        schedule = cells.get(SCHEDULE_1, "")
        special_text = cells.get(SPECIAL_BASES, "")
        bases = matching_choices(text, BASIS_PATTERNS) if text else []
        # Column 27: the Art. 6 bases of the special or criminal data the
        # Schedule 1 condition (column 26) goes with.
        special = matching_choices(special_text, BASIS_PATTERNS) if special_text else []
        for column, written, found in (
            (ARTICLE_6, text, bases),
            (SPECIAL_BASES, special_text, special),
        ):
            if written and not found:
                row.error(
                    column,
                    f"Cannot tell the Art. 6(1) basis from '{written}': name "
                    "consent, contract, legal obligation, vital interests, public "
                    "task or legitimate interests (or 6(1)(a) to (f)).",
                )
                return
        bases = [*bases, *(basis for basis in special if basis not in bases)]
        # The cell's words, unless they are only the bases' labels (as the
        # export writes them), which the bases say already.
        explanation = text or special_text
        if only_labels(explanation, LawfulBasisChoice):
            explanation = ""
        condition = ""
        if condition_text:
            conditions = matching_choices(condition_text, CONDITION_PATTERNS)
            if len(conditions) != 1:
                row.error(
                    ARTICLE_9,
                    f"Cannot tell the one Art. 9(2) condition from '{condition_text}': "
                    "name explicit consent, employment, vital interests, "
                    "not-for-profit, made public, legal claims, substantial public "
                    "interest, health or social care, public health or archiving "
                    "and research (or 9(2)(a) to (j)).",
                )
                return
            condition = conditions[0]
        if not bases:
            for column, value in (
                (ARTICLE_9, condition_text),
                (LEGITIMATE_INTERESTS, interest),
                (INTERESTS_ASSESSMENT, assessment),
                (SCHEDULE_1, schedule),
            ):
                if value:
                    row.error(column, f"Give the Art. 6 basis in '{ARTICLE_6}' too.")
            return
        if LawfulBasisChoice.LEGITIMATE_INTERESTS not in bases:
            for column, value in (
                (LEGITIMATE_INTERESTS, interest),
                (INTERESTS_ASSESSMENT, assessment),
            ):
                if value:
                    row.error(
                        column,
                        "Given, but the Art. 6 basis is not legitimate interests "
                        "(6(1)(f)).",
                    )
        for basis in bases:
            legitimate = basis == LawfulBasisChoice.LEGITIMATE_INTERESTS
            conditioned = not special or basis in special
            self.child(
                LAWFUL_BASES,
                row,
                f"{reference} / {basis}",
                LawfulBasis(),
                LAWFUL_BASIS_FIELDS,
                {
                    "basis": basis,
                    "explanation": explanation,
                    "legitimate_interest": interest if legitimate else "",
                    "assessment_reference": assessment if legitimate else "",
                    "special_category_condition": condition if conditioned else "",
                    # Schedule 1 of the Act also conditions criminal offence
                    # data (s. 10(5)): the law the Art. 10 authority names.
                    "criminal_data_authority": schedule if conditioned else "",
                },
                parent,
            )

    def transfers(self, row, cells, reference, parent):
        safeguards = cells.get(SAFEGUARDS, "")
        # "IN: assessment on file; US: SCCs", as the export writes them.
        by_destination = per_destination(safeguards)
        names = split_names(
            cells.get(THIRD_COUNTRIES, ""),
            lambda part: bool(destination(part)[0] or organisation_named(part)[0]),
        )
        if not names and safeguards:
            row.error(SAFEGUARDS, f"Given, but '{THIRD_COUNTRIES}' names no country.")
        seen = set()
        for name in names:
            code, stated = destination(name)
            organisation = ""
            if not code:
                organisation, stated = organisation_named(name)
            if not code and not organisation:
                row.error(
                    THIRD_COUNTRIES,
                    f"Unknown country '{name}': name a country in English or by "
                    "its ISO 3166-1 code, or an international organisation by its "
                    "name.",
                )
                continue
            destination_key = code or organisation.casefold()
            if destination_key in seen:
                continue
            seen.add(destination_key)
            if code and in_eea(code):
                row.error(
                    THIRD_COUNTRIES,
                    f"{countries.name(code)} is in the EEA: not a transfer.",
                )
                continue
            documentation = (
                by_destination.get(destination_key, "")
                if by_destination
                else safeguards
            )
            if stated:
                mechanism = self.mechanism(row, THIRD_COUNTRIES, stated, code)
            else:
                mechanism = self.mechanism(row, SAFEGUARDS, documentation, code)
            decision = (
                adequacy_decision(code)
                if code and mechanism == TransferMechanism.ADEQUACY
                else None
            )
            if decision is not None and decision.scoped:
                self.plan.notes.append(
                    SCOPED.format(
                        sheet=row.sheet,
                        row=row.row,
                        country=countries.name(code),
                        scope=decision.note,
                    )
                )
            if mechanism:
                self.child(
                    TRANSFERS,
                    row,
                    f"{reference} / {code or organisation}",
                    InternationalTransfer(),
                    TRANSFER_FIELDS,
                    {
                        "country": code,
                        "international_organisation": organisation,
                        "mechanism": mechanism,
                        "safeguards_documentation": documentation,
                    },
                    parent,
                )

    def mechanism(self, row, column, text, code):
        """The Chapter V mechanism ``text`` names for a transfer to ``code``."""
        if not text:
            # The template asks for the safeguards of exceptional transfers
            # only: a country with an adequacy decision needs none.
            if code and adequacy_decision(code):
                return TransferMechanism.ADEQUACY
            row.error(
                column,
                "Required for a country without an adequacy decision: name the "
                "mechanism (SCCs, BCRs, a code of conduct, a certification or an "
                "Art. 49 derogation).",
            )
            return ""
        found = matching_choices(text, MECHANISM_PATTERNS)
        if TransferMechanism.COMPELLING_INTERESTS in found:
            # Compelling legitimate interests are themselves an Art. 49 case.
            found = [item for item in found if item != TransferMechanism.DEROGATION]
        if len(found) != 1:
            row.error(
                column,
                f"Cannot tell the one transfer mechanism from '{text}': name "
                "adequacy, SCCs, BCRs, a code of conduct, a certification or an "
                "Art. 49 derogation (one per row, or one per country in brackets "
                "after it).",
            )
            return ""
        return found[0]

    def retention(self, row, cells, reference, parent, categories):
        text = cells.get(RETENTION, "")
        if not text:
            return
        by_name = {category.name: category for category in categories}
        for scope, values in retention_schedule(text, by_name):
            category = by_name.get(scope)
            self.child(
                RETENTION_RULES,
                row,
                f"{reference} / {scope or 'all data'}",
                RetentionRule(personal_data_category=category),
                RETENTION_FIELDS,
                values,
                parent,
            )
