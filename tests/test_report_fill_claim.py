"""The shared claim mechanism: a claim filled from one table row and a rule about its interval."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from latentsep.report import Claim, fill_claim, side_of_zero

CLAIM = Claim("x.change", "a change", "lower", "95 % CI below 0", note="stated before")


@pytest.mark.parametrize(("low", "high", "side"), [
    (-0.3, -0.1, "below"), (0.1, 0.3, "above"), (-0.1, 0.1, "contains"), (0.0, 0.2, "contains"),
    (-0.2, 0.0, "contains"), (float("nan"), 0.1, "contains"),
])
def test_side_of_zero(low, high, side) -> None:
    assert side_of_zero(low, high) == side


@pytest.mark.parametrize(("rule", "low", "high", "expected"), [
    ("below", -0.3, -0.1, "reproduced"), ("below", -0.3, 0.1, "inconclusive"),
    ("below", 0.1, 0.3, "not reproduced"),
    ("above", 0.1, 0.3, "reproduced"), ("above", -0.1, 0.3, "inconclusive"),
    ("above", -0.3, -0.1, "not reproduced"),
    ("contains", -0.1, 0.3, "reproduced"), ("contains", 0.1, 0.3, "not reproduced"),
    ("below", float("nan"), -0.1, "not checked"), ("contains", -0.1, float("nan"), "not checked"),
])
def test_each_rule_gives_each_verdict(rule, low, high, expected) -> None:
    row = pd.Series({"change": (low + high) / 2, "ci_low": low, "ci_high": high})
    filled = fill_claim(CLAIM, row, rule, note="ours")
    assert filled.status == expected
    assert filled.ci == (low, high) or expected == "not checked"
    assert filled.note == "ours" and filled.claim_id == CLAIM.claim_id
    assert CLAIM.ours is None and CLAIM.note == "stated before"  # the definition is left alone


def test_negate_flips_value_and_interval_and_applies_the_rule_to_them() -> None:
    row = {"change": -0.05, "ci_low": -0.08, "ci_high": -0.02}
    cost = fill_claim(CLAIM, row, "above", negate=True)
    assert cost.ours == 0.05 and cost.ci == (0.02, 0.08) and cost.status == "reproduced"
    assert fill_claim(CLAIM, row, "below").status == "reproduced"


@pytest.mark.parametrize(("low", "high", "margin", "expected"), [
    (-0.02, 0.03, 0.05, "reproduced"), (-0.02, 0.08, 0.05, "inconclusive"),
    (0.01, 0.03, 0.05, "not reproduced"), (-0.5, 0.5, None, "reproduced"),
])
def test_an_equivalence_margin_makes_a_wide_interval_around_0_inconclusive(
        low, high, margin, expected) -> None:
    row = {"change": 0.0, "ci_low": low, "ci_high": high}
    assert fill_claim(CLAIM, row, "contains", margin=margin).status == expected


def test_other_columns_and_plain_python_numbers() -> None:
    row = pd.Series({"pearson_r": -0.6, "pearson_ci_low": -0.9, "pearson_ci_high": -0.1})
    filled = fill_claim(CLAIM, row, "below",
                        columns=("pearson_r", "pearson_ci_low", "pearson_ci_high"))
    assert type(filled.ours) is float and all(type(c) is float for c in filled.ci)
    assert filled.ours_text() == "-0.600 [-0.900, -0.100]"
    assert math.isclose(filled.ours, -0.6)


def test_unknown_rule_is_named() -> None:
    with pytest.raises(ValueError, match="rule 'lower'"):
        fill_claim(CLAIM, {"change": 0, "ci_low": 0, "ci_high": 0}, "lower")
