import csv
import datetime
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ropa.core.spreadsheet import (
    FORMULA_PREFIXES,
    needs_quote_prefix,
    neutralise,
    restore,
)
from tests.hostile import examples

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
    # Let through before #15: an apostrophe behind a space, direction and
    # other format characters, combining marks, blank letters, quotes of
    # every script, small, superscript and other forms of the signs.
    " '=1+1",
    "\u200e=1+1",
    "\u202e=1+1",
    "\u2066@SUM(A1)",
    "\u00ad=1",
    "\u061c+1",
    "\u3164=1",
    "\uffa0=1",
    "\u2800+1",
    "\u0301=1",
    "\ufe0f=1",
    "\u00ab=1",
    "\u2039=1",
    "\u201a=1",
    "\u201f=1",
    "\uff02=1",
    "\uff07=1",
    "\u300c=1",
    "\u301d=1",
    "`=1",
    "\ufe66 1+1",
    "\ufe62SUM(A1)",
    "\ufe6bSUM(A1)",
    "\u207c1",
    "\u208a1",
    "\u207b1",
    "\u2212 2+3",
    "\x01=1",
    "\x1f+1",
    " \tplain",
    "\u00a0\rplain",
    "\u200b'\u201c =1",
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
    [
        "Orders",
        "",
        " plain",
        "a=b",
        "1-2",
        "s'quote",
        "\u201cQuoted\u201d = 2",
        "\u00abLe Monde\u00bb",
        "\u200bplain",
        "\u3164",
        "\u300c\u65e5\u672c\u300d",
        "(see -1)",
        "\u2014 a dash",
        "\n\nSecond paragraph",
        "\u00e9t\u00e9",
        "\u3164\u1100",
        42,
        -3,
        -5.5,
        None,
    ],
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


# Characters the tests below take for what a reader may skip before a sign,
# written out here rather than taken from the rule: white space, invisible
# format and control characters, combining marks, blank letters, quotes.
SKIPPED = (
    " \t\n\r\x0b\x0c\x1c\x85\u00a0\u1680\u2007\u202f\u205f\u3000\u2028\u2029"
    "\x01\x7f\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202a\u202e\u2066\u2069"
    "\u00ad\u061c\u180e\u2062\U000e0020\u034f\u0301\ufe0f"
    "\u115f\u1160\u3164\uffa0\u2800"
    "'\"`\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u00ab\u00bb\u2039\u203a"
    "\uff02\uff07\u300c\u300e\u301d"
)
# "=", "+", "-", "@" and the forms a spreadsheet may read as them.
SIGNS = (
    "=+-@\uff1d\uff0b\uff0d\uff20\ufe66\ufe62\ufe63\ufe6b"
    "\u207c\u207a\u207b\u208c\u208a\u208b\u2212"
)


def may_run(cell):
    """
    Whether a spreadsheet could run ``cell`` as a formula: a sign behind
    what it may skip, or a tab or carriage return there.
    """
    rest = cell.lstrip(SKIPPED)
    skipped = cell[: len(cell) - len(rest)]
    return "\t" in skipped or "\r" in skipped or (rest != "" and rest[0] in SIGNS)


def any_text():
    """Any text, with what hides a formula and its signs made likely."""
    return st.text(
        alphabet=st.one_of(
            st.sampled_from(SKIPPED + SIGNS),
            st.characters(codec="utf-8"),
        ),
        max_size=12,
    )


def hidden_formula():
    """A sign, behind any of what a reader may skip, and anything after it."""
    return st.builds(
        lambda skipped, sign, rest: skipped + sign + rest,
        st.text(alphabet=st.sampled_from(SKIPPED), max_size=6),
        st.sampled_from(SIGNS),
        any_text(),
    )


def csv_round_trip(value):
    """The cell a spreadsheet reads for ``value`` written to a CSV file."""
    out = io.StringIO(newline="")
    csv.writer(out).writerow([neutralise(value)])
    [[cell]] = csv.reader(io.StringIO(out.getvalue(), newline=""))
    return cell


PROPERTY = settings(max_examples=examples(1000), derandomize=True, database=None)


@PROPERTY
@given(st.one_of(any_text(), hidden_formula()))
def test_csv_cell_never_runs_and_reads_back_as_the_text(text):
    cell = csv_round_trip(text)

    # Either the apostrophe that marks the cell as text, or nothing to run.
    assert cell.startswith("'") or not may_run(cell)
    assert restore(cell) == text


@PROPERTY
@given(hidden_formula())
def test_a_hidden_formula_always_needs_the_quote_prefix(text):
    assert needs_quote_prefix(text)
    assert csv_round_trip(text) == "'" + text


def test_formula_prefixes_cover_owasp_list():
    assert set(FORMULA_PREFIXES) == {"=", "+", "-", "@", "\t", "\r"}
