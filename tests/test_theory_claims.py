"""Chapter 01's claims, tables and findings (latentsep.theory.claims, .findings, sweep summaries)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from latentsep import theory as T
from latentsep.plotting import scatter_with_diagonal
from latentsep.report import write_claims

SIZES = T.SweepSizes(n_configs=100, n_label_shift_configs=50, n_k_group_configs=40, k_groups=3)


def _summary(violations: dict[str, float], hold: bool, n: int) -> pd.DataFrame:
    """A hand-made violation summary: one row per bound, as ``violation_summary`` lays it out."""
    return pd.DataFrame(
        {
            "bound": list(violations),
            "assumptions_hold": hold,
            "configurations": n,
            "violations": list(violations.values()),
            "rate_upper_95": [0.03 if v == 0 else 0.09 for v in violations.values()],
            "vacuous_share": 0.25,
            "median_used": 0.1,
            "max_used": 0.5,
        }
    )


def _terms(gap1: float = 0.5, violated: bool = True) -> dict:
    return {"gap": np.array([0.4, gap1]), "paper_bound": np.array([0.2, 0.2]),
            "sharp_bound": np.array([0.1, 0.1]), "eps": 0.04, "delta_overall": 1e-9,
            "violated": {"paper": violated}}


def _results(**changes) -> T.BoundResults:
    inputs = {
        "sizes": SIZES,
        "summary": _summary({"paper": 0, "sharp": 0, "weighted": 0, "label_shift": 0}, True, 100),
        "label_shift_summary": _summary({"paper": 7, "sharp": 5, "label_shift": 0}, False, 50),
        "k_group_summary": _summary({"paper": 0, "sharp": 0}, True, 40),
        "attained": pd.DataFrame({"gap": [1.0, 1.0], "sharp_bound": [1.0, 1.0 - 1e-15]}),
        "counterexample": _terms(),
    }
    return T.BoundResults(**{**inputs, **changes})


def _by_id(claims) -> dict:
    return {c.claim_id: c for c in claims}


def test_every_claim_reproduced_on_golden_results() -> None:
    claims = T.check_claims(_results())
    assert [c.reproduced for c in claims] == [True] * 6
    got = _by_id(claims)
    assert got["theory.sharp_bound.violations"].ours == (
        "0 / 100 (95 % upper bound on the rate 3.0e-02)")
    assert got["theory.label_shift_bound.violations"].ours.startswith("0 / 50 ")
    assert got["theory.sharp_constant"].ours == "attained: max |gap − bound| = 1.0e-15"
    assert got["theory.counterexample"].ours == "gap 0.500 > 4ε + |ΔAcc| = 0.200 (ε = 0.040)"
    assert "3 groups" in got["theory.k_groups.violations"].rule


def test_violations_missed_constant_and_holding_counterexample_are_not_reproduced() -> None:
    claims = _by_id(T.check_claims(_results(
        summary=_summary({"paper": 0, "sharp": 2}, True, 100),
        label_shift_summary=_summary({"label_shift": 3}, False, 50),
        k_group_summary=_summary({"sharp": 1}, True, 40),
        attained=pd.DataFrame({"gap": [1.0], "sharp_bound": [0.9]}),
        counterexample=_terms(gap1=0.1, violated=False),
    )))
    assert claims["theory.sharp_bound.violations"].reproduced is False
    assert claims["theory.sharp_bound.violations"].ours.startswith("2 / 100 ")
    assert claims["theory.paper_bound.violations"].reproduced is True
    assert claims["theory.label_shift_bound.violations"].reproduced is False
    assert claims["theory.k_groups.violations"].reproduced is False
    assert claims["theory.sharp_constant"].reproduced is False
    assert claims["theory.counterexample"].reproduced is False


def test_missing_or_nan_numbers_leave_claims_unchecked() -> None:
    claims = _by_id(T.check_claims(_results(
        summary=_summary({"paper": np.nan, "sharp": 0}, True, 100),
        label_shift_summary=_summary({"sharp": 0}, False, 50),  # no label_shift row
        attained=pd.DataFrame({"gap": [], "sharp_bound": []}),
        counterexample={**_terms(), "eps": np.nan},
    )))
    for claim_id in ("theory.paper_bound.violations", "theory.label_shift_bound.violations",
                     "theory.sharp_constant", "theory.counterexample"):
        assert claims[claim_id].reproduced is None, claim_id
        assert claims[claim_id].ours is None, claim_id
    assert claims["theory.sharp_bound.violations"].reproduced is True


def test_rules_are_stated_before_results_and_name_the_paper_constant() -> None:
    stated = T.stated_claims(SIZES)
    assert [c.claim_id for c in stated] == [c.claim_id for c in T.check_claims(_results())]
    assert all(c.ours is None and c.reproduced is None for c in stated)
    assert stated[0].rule == "0 violations among the 100 configurations satisfying the assumptions"
    assert f"≤ {T.PAPER_CONSTANT}ε" in stated[1].description
    assert [c.paper for c in stated] == list(T.PAPER.values())


def test_claims_round_trip_through_the_claim_file(tmp_path) -> None:
    path = write_claims(T.check_claims(_results()), "01_tv_bound", tmp_path)
    payload = json.loads(path.read_text(encoding="utf-8"))
    assert [c["reproduced"] for c in payload["claims"]] == ["reproduced"] * 6
    assert payload["claims"][0]["note"].startswith("Exact evaluation")


def test_paper_bound_uses_the_paper_constant() -> None:
    case = T.counterexample()["terms"]
    expected = T.PAPER_CONSTANT * case["eps_group"] + case["delta_overall"]
    np.testing.assert_allclose(case["paper_bound"], expected, rtol=0, atol=0)


def test_attaining_table_attains_the_sharp_bound() -> None:
    table = T.attaining_table([(0.3, 0.2), (0.9, 0.7)])
    assert table["share_a"].tolist() == [0.3, 0.9]
    np.testing.assert_allclose(table["gap"], table["sharp_bound"], atol=1e-12)


def _sweep() -> pd.DataFrame:
    return pd.DataFrame({
        "eps": [0.1, 0.2, 0.0, 0.4], "eps_estimator": [0.05, 0.1, 0.0, np.nan],
        "violated_sharp_estimator": pd.array([True, False, False, pd.NA], dtype="boolean"),
        "sharp_bound": [0.5, 0.6, 0.2, 0.9], "delta_overall": [0.1, 0.2, 0.2, 0.3],
        "gap": [0.3, 0.25, 0.2, 0.4], "share_group": [0.5, 0.4, 0.3, 0.2],
    })


def test_estimator_limit_table_on_a_known_sweep() -> None:
    row = T.estimator_limit_table(_sweep()).iloc[0]
    assert row["configurations"] == 3  # the K > 2 row (no estimator) is left out
    assert row["median estimator / exact ε"] == pytest.approx(0.5)  # ε = 0 has no ratio
    assert row["plug-in 'violations'"] == 1


def test_allowance_scatter_measures_gap_against_allowance() -> None:
    sweep = _sweep()
    scatter = T.allowance_scatter({"a": sweep, "b": sweep.iloc[:2]}, n_per_sweep=3, seed=0)
    assert scatter["population"].value_counts().to_dict() == {"a": 3, "b": 2}
    merged = scatter.merge(sweep, on=["eps", "share_group"])
    np.testing.assert_allclose(merged["allowance"], merged["sharp_bound"] - merged["delta_overall"])
    np.testing.assert_allclose(merged["needed"], merged["gap"] - merged["delta_overall"])
    with pytest.raises(ValueError, match="n_per_sweep"):
        T.allowance_scatter({"a": sweep}, n_per_sweep=0)


def test_scatter_with_diagonal_layers_points_over_the_line() -> None:
    chart = scatter_with_diagonal(T.allowance_scatter({"a": _sweep()}), x="allowance",
                                  y="needed", color="population", title="t")
    spec = chart.to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["circle", "line"]
    assert spec["title"] == "t"


def test_findings_quote_the_numbers() -> None:
    text = T.sweep_markdown(_summary({"paper": 0, "sharp": 3}, True, 100), 100)
    assert "Over **100** configurations" in text and "**3** violations of the sharp" in text
    assert "vacuous (≥ 1) in 25%" in text
    text = T.counterexample_markdown(_terms())
    assert "moves by **0.500**" in text and "allows 0.200 and the sharp one 0.100" in text
    assert "**1.818** (= 20/11)" in T.slope_factor_markdown(11)
    assert "**1.500** (= 6/4)" in T.slope_factor_markdown(4)
