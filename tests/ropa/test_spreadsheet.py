import datetime

import pytest

from ropa.spreadsheet import FORMULA_PREFIXES, neutralise


@pytest.mark.parametrize(
    "value",
    ["=1+1", "==1+1", "+SUM(A1)", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "=HYPERLINK()"],
)
def test_neutralise_prefixes_formula_text(value):
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize(
    "value", ["Orders", "", " =1", "a=b", 42, -3, None, datetime.date(2026, 1, 1)]
)
def test_neutralise_leaves_other_values(value):
    assert neutralise(value) == value


def test_formula_prefixes_cover_owasp_list():
    assert set(FORMULA_PREFIXES) == {"=", "+", "-", "@", "\t", "\r"}
