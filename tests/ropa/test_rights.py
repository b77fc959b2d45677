"""The data subject rights each lawful basis leaves open (Art. 15-22)."""

import pytest

from ropa.enums import LawfulBasisChoice
from ropa.rights import (
    ACCESS,
    COMPLAINT,
    ERASURE,
    OBJECTION,
    PORTABILITY,
    RECTIFICATION,
    RESTRICTION,
    WITHDRAWAL,
    rights_available,
    rights_information,
)


@pytest.mark.parametrize(
    ("basis", "expected"),
    [
        (
            LawfulBasisChoice.CONSENT,
            (
                ACCESS,
                RECTIFICATION,
                ERASURE,
                RESTRICTION,
                PORTABILITY,
                WITHDRAWAL,
                COMPLAINT,
            ),
        ),
        (
            LawfulBasisChoice.CONTRACT,
            (ACCESS, RECTIFICATION, ERASURE, RESTRICTION, PORTABILITY, COMPLAINT),
        ),
        (
            LawfulBasisChoice.LEGAL_OBLIGATION,
            (ACCESS, RECTIFICATION, RESTRICTION, COMPLAINT),
        ),
        (
            LawfulBasisChoice.VITAL_INTERESTS,
            (ACCESS, RECTIFICATION, ERASURE, RESTRICTION, COMPLAINT),
        ),
        (
            LawfulBasisChoice.PUBLIC_TASK,
            (ACCESS, RECTIFICATION, ERASURE, RESTRICTION, OBJECTION, COMPLAINT),
        ),
        (
            LawfulBasisChoice.LEGITIMATE_INTERESTS,
            (ACCESS, RECTIFICATION, ERASURE, RESTRICTION, OBJECTION, COMPLAINT),
        ),
    ],
)
def test_rights_available_per_basis(basis, expected):
    assert rights_available([basis]) == expected


def test_rights_available_consent_allows_withdrawal_and_portability():
    rights = rights_available([LawfulBasisChoice.CONSENT])

    assert WITHDRAWAL in rights
    assert PORTABILITY in rights
    assert OBJECTION not in rights


def test_rights_available_legitimate_interests_allow_objection():
    rights = rights_available([LawfulBasisChoice.LEGITIMATE_INTERESTS])

    assert OBJECTION in rights
    assert PORTABILITY not in rights
    assert WITHDRAWAL not in rights


def test_rights_available_legal_obligation_allows_no_objection_portability_erasure():
    rights = rights_available([LawfulBasisChoice.LEGAL_OBLIGATION])

    assert OBJECTION not in rights
    assert PORTABILITY not in rights
    # Art. 17(3)(b): what the law requires to be kept cannot be erased.
    assert ERASURE not in rights


def test_rights_available_joins_the_rights_of_every_basis():
    rights = rights_available(
        [LawfulBasisChoice.LEGAL_OBLIGATION, LawfulBasisChoice.LEGITIMATE_INTERESTS]
    )

    assert rights == (
        ACCESS,
        RECTIFICATION,
        ERASURE,
        RESTRICTION,
        OBJECTION,
        COMPLAINT,
    )


def test_rights_available_reads_stored_values_as_the_choices():
    # ``LawfulBasis.basis`` read back from the database is a plain string.
    assert rights_available(["consent", "legal_obligation"]) == rights_available(
        [LawfulBasisChoice.CONSENT, LawfulBasisChoice.LEGAL_OBLIGATION]
    )


def test_rights_available_ignores_a_repeated_basis():
    assert rights_available(
        [LawfulBasisChoice.CONTRACT, LawfulBasisChoice.CONTRACT]
    ) == rights_available([LawfulBasisChoice.CONTRACT])


def test_rights_information_is_one_sentence():
    assert rights_information([LawfulBasisChoice.LEGAL_OBLIGATION]) == (
        f"The right to {ACCESS}, {RECTIFICATION}, {RESTRICTION} and {COMPLAINT}."
    )


def test_rights_information_reads_a_generator():
    assert rights_information(
        basis for basis in [LawfulBasisChoice.CONSENT]
    ) == rights_information([LawfulBasisChoice.CONSENT])
