import datetime

import pytest

from ropa.core.spreadsheet import (
    FORMULA_PREFIXES,
    needs_quote_prefix,
    neutralise,
    restore,
)

# A formula behind what a reader may not see, or a full-width sign (STACK.md).
HIDDEN_FORMULAS = [
    " =1+1",
    "   +SUM(A1)",
    "\u00a0=1+1",
    "\u200b=1+1",
    "\u2060-2+3",
    "\ufeff@SUM(A1)",
    "\u3000=1",
    "\n=1",
    "\uff1d1+1",
    "\uff0bSUM(A1)",
    '"=1+1',
    "\u201c=1+1",
]


@pytest.mark.parametrize(
    "value",
    [
        "=1+1",
        "==1+1",
        "+SUM(A1)",
        "-2+3",
        "@SUM(A1)",
        "\t=1",
        "\tplain",
        "\r=1",
        "=HYPERLINK()",
        *HIDDEN_FORMULAS,
        "'quoted",
        "'=1+1",
    ],
)
def test_neutralise_prefixes_formula_text_and_a_leading_apostrophe(value):
    assert needs_quote_prefix(value)
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize(
    "value",
    ["Orders", "", " plain", "a=b", "1-2", "s'quote", 42, -3, None],
)
def test_neutralise_leaves_other_values(value):
    assert neutralise(value) == value


def test_neutralise_leaves_dates():
    assert neutralise(datetime.date(2026, 1, 1)) == datetime.date(2026, 1, 1)


@pytest.mark.parametrize(
    "value",
    [
        "=1+1",
        "'quoted",
        "''twice",
        "'=1",
        "plain",
        " =1",
        "\uff1d1",
        "'s-Hertogenbosch",
    ],
)
def test_restore_undoes_neutralise(value):
    assert restore(neutralise(value)) == value


def test_restore_keeps_an_apostrophe_a_person_typed_before_text():
    assert restore("'s-Hertogenbosch") == "'s-Hertogenbosch"


def test_formula_prefixes_cover_owasp_list():
    assert set(FORMULA_PREFIXES) == {"=", "+", "-", "@", "\t", "\r"}
