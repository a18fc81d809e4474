"""Chapter 03's library: claims against the paper on golden tables, and its table builders.

The golden tables are built by hand with three seeds whose values agree (so every interval is the
value itself) unless a test says otherwise; nothing here trains a model.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from conftest import digits_mnist

from latentsep.experiments import coloured_mnist_measures as measures
from latentsep.experiments.coloured_mnist import (
    ATTRIBUTES,
    feasible_sizes,
    run_facts,
    split_notes,
    split_table,
)
from latentsep.experiments.coloured_mnist_claims import (
    PAPER,
    ColouredMnistResults,
    check_claims,
    comparison_table,
    findings_markdown,
    stated_claims,
)
from latentsep.fileio import atomic_write_parquet
from latentsep.plotting import errorbars_by_panel
from latentsep.separation import PAPER_ESTIMATOR, POOLED_HISTOGRAM

SEEDS = [42, 43, 44]
NOTE = "Offline 10k digits, splits scaled by 1/7; test n = 571; K_train = 3,383; seeds [42, 43, 44]."


def _per_seed(values: dict[tuple[str, str], float], **columns: float) -> pd.DataFrame:
    """One row per (estimator, attribute) and seed with the same ``value`` on every seed."""
    return pd.DataFrame([{"estimator": e, "attribute": a, "seed": s, "value": v,
                          "excess": v - 0.05, **columns}
                         for (e, a), v in values.items() for s in SEEDS])


def _interval_rows(keys: list[dict], column: str, values: list[tuple[float, float, float]]
                   ) -> pd.DataFrame:
    return pd.DataFrame([{**k, column: v, "ci_low": lo, "ci_high": hi}
                         for k, (v, lo, hi) in zip(keys, values, strict=True)])


def golden(**changes: object) -> ColouredMnistResults:
    """Results on which every rule holds (paper-like numbers), with ``changes`` applied."""
    tv = {"digit_group": 0.150, "colour": 0.080, "Random": 0.075}
    separation = _per_seed({(e, a): v + (0.3 if e == "classifier" and a == "colour" else 0)
                            for e in (PAPER_ESTIMATOR, POOLED_HISTOGRAM, "classifier")
                            for a, v in tv.items()}, null_mean=0.07)
    paper_size = _per_seed({(e, a): PAPER.tv[a] + 0.002 for e in (PAPER_ESTIMATOR, POOLED_HISTOGRAM)
                            for a in ATTRIBUTES}, null_mean=0.045)
    pairs = [(e, f, s) for e in (PAPER_ESTIMATOR, POOLED_HISTOGRAM, "classifier")
             for f, s in measures.PAIRS]
    differences = _interval_rows(
        [{"estimator": e, "first": f, "second": s} for e, f, s in pairs], "difference",
        [(0.07, 0.05, 0.09) if f == "digit_group" else (0.005, -0.002, 0.012) for _, f, _ in pairs])
    groups = [{"attribute": a, "group": g} for a in ATTRIBUTES for g in (0, 1)]
    drops = _interval_rows(groups, "full_minus_zero", [
        (0.12, 0.10, 0.14), (0.16, 0.14, 0.18), (0.0, -0.01, 0.01), (0.002, -0.01, 0.015),
        (0.001, -0.01, 0.01), (0.0, -0.01, 0.01)])
    slopes = _interval_rows(groups, "slope", [(0.1, 0.08, 0.12), (0.15, 0.12, 0.18)]
                            + [(0.0, -0.01, 0.01)] * 4)
    summary = pd.DataFrame({"sensitivity": [0.12, 0.0, 0.001],
                            "sensitivity_ci_low": [0.1, -0.01, -0.01],
                            "sensitivity_ci_high": [0.14, 0.01, 0.01]},
                           index=pd.Index(list(ATTRIBUTES), name="attribute"))
    authors = pd.concat([
        _interval_rows([{"attribute": a} for a in ATTRIBUTES], "check",
                       [(0.5, 0.4, 0.6), (0.3, 0.2, 0.4), (0.2, 0.1, 0.3)]).assign(sample=sample)
        for sample in ("test", "pool_sample")], ignore_index=True)
    bounds = pd.DataFrame([{"form": measures.SHARP_FORM, "tv_estimate": e, "attribute": a, "group": g,
                            "status": "holds", "tv": tv[a]}
                           for e in (PAPER_ESTIMATOR, "classifier") for a in ATTRIBUTES
                           for g in (0, 1)])
    pretraining = pd.DataFrame({"n_pretrain": [357, 357, 1428, 1428], "group": [0, 1, 0, 1],
                                "full_minus_zero": [0.4, 0.5, 0.3, 0.35]})
    k_sizes = pd.DataFrame({"k_train": [846, 846, 3383, 3383], "group": [0, 1, 0, 1],
                            "full_minus_zero": [0.45, 0.5, 0.4, 0.42]})
    sweeps = pd.DataFrame([{"attribute": a, "group": str(g), "metric": "balanced_accuracy",
                            "own_share": share, "seed": s, "value": 0.9 + share / 20}
                           for a in ATTRIBUTES for g in (0, 1) for share in (0.0, 0.5, 1.0)
                           for s in SEEDS])
    results = ColouredMnistResults(
        separation=separation, separation_paper_size=paper_size, differences=differences,
        drops=drops, slopes=slopes, sweeps=sweeps, summary=summary, authors=authors,
        bounds=bounds, pretraining_sizes=pretraining, k_train_sizes=k_sizes, scaled=True,
        n_test=571, n_sample=4000, k_train=3383, seeds=SEEDS)
    return dataclasses.replace(results, **changes)


def verdicts(results: ColouredMnistResults) -> dict[str, bool | None]:
    return {c.claim_id: c.reproduced for c in check_claims(results)}


def test_stated_claims_spell_the_paper_values_once_typed() -> None:
    claims = {c.claim_id: c for c in stated_claims()}
    assert claims["mnist.tv.ordering.paper_estimator"].paper == "A 0.110 > S 0.041 ≈ Random 0.037"
    assert claims["mnist.tv.value.digit_group"].paper == "0.110 ± 0.008"
    assert claims["mnist.tv.value.Random"].rule.endswith("widened by ±0.005 (read-off error)")
    assert claims["mnist.tv.colour_vs_random.paper_estimator"].paper == "S − Random ≈ 0.004"
    assert claims["mnist.colour.flat.red"].paper == "flat (~0.945 at every α)"
    assert [claims[f"mnist.digit.drop.{k}"].paper for k in ("ge5", "lt5")] == ["~0.155", "~0.115"]
    assert claims["mnist.bound.authors_check"].paper == "S ~0.08, A ~0.35, Random ~0.07"
    assert all(c.ours is None and c.reproduced is None for c in claims.values())
    assert len(claims) == 14


def test_every_rule_holds_on_paper_like_results() -> None:
    claims = check_claims(golden())
    assert all(c.reproduced is True for c in claims), [c.claim_id for c in claims if not c.reproduced]
    by_id = {c.claim_id: c for c in claims}
    assert by_id["mnist.tv.ordering.ours"].ours == (
        "A − S = 0.070 [0.050, 0.090] (A higher in 3/3 seeds); "
        "A − Random = 0.070 [0.050, 0.090] (A higher in 3/3 seeds)")
    tv = by_id["mnist.tv.value.colour"]
    assert tv.ours == pytest.approx(0.043) and tv.ci == pytest.approx((0.043, 0.043))
    assert tv.note == f"4,000 held-out pool images (the paper's test size). {NOTE}"
    assert by_id["mnist.digit.drop.ge5"].ci == (0.14, 0.18)
    assert by_id["mnist.bound.sharp_classifier_tv"].ours == "holds: 6"
    assert by_id["mnist.bound.authors_check"].ours.startswith("digit_group: 0.500 [0.400, 0.600]")
    assert by_id["mnist.colour.flat.green"].note == NOTE


def test_rules_fail_where_the_results_disagree() -> None:
    base = golden()
    colour = base.differences["first"] == "colour"  # S − Random clear of [0, 0.01]; A − x not > 0
    differences = base.differences.assign(ci_low=np.where(colour, 0.02, -0.01),
                                          ci_high=np.where(colour, 0.03, 0.09))
    drops = base.drops.assign(ci_low=base.drops["ci_low"] + 0.2, ci_high=base.drops["ci_high"] + 0.2)
    far = base.separation_paper_size.assign(value=0.2)
    summary = base.summary.assign(sensitivity_ci_low=[0.1, 0.05, 0.05],
                                  sensitivity_ci_high=[0.14, 0.2, 0.2])
    authors = base.authors.assign(ci_high=1.2)
    bounds = base.bounds.assign(status="violated")
    outcome = verdicts(dataclasses.replace(
        base, differences=differences, drops=drops, separation_paper_size=far, summary=summary,
        authors=authors, bounds=bounds))
    assert set(outcome.values()) == {False}, outcome


def test_digit_drop_rule_uses_the_paper_value_and_its_tolerance() -> None:
    base = golden()
    for shift, expected in ((0.04, True), (0.05, False), (-0.05, True), (-0.06, False)):
        drops = base.drops.assign(ci_low=base.drops["ci_low"] + shift,
                                  ci_high=base.drops["ci_high"] + shift)
        # ≥ 5: CI [0.14, 0.18] + shift must overlap [0.125, 0.185] (0.155 ± 0.03)
        assert verdicts(dataclasses.replace(base, drops=drops))["mnist.digit.drop.ge5"] is expected


def test_rules_are_not_checked_when_a_number_is_undefined() -> None:
    base = golden()
    nan_seed = base.separation_paper_size.copy()
    nan_seed.loc[0, "value"] = np.nan  # the paper's estimator undefined on one seed
    outcome = verdicts(dataclasses.replace(
        base,
        differences=base.differences.assign(ci_low=np.nan),
        separation_paper_size=nan_seed,
        drops=base.drops.assign(ci_high=np.nan),
        summary=base.summary.assign(sensitivity_ci_low=np.nan),
        authors=base.authors.assign(ci_high=np.nan)))
    unchecked = {k for k, v in outcome.items() if v is None}
    assert unchecked == set(outcome) - {"mnist.tv.value.colour", "mnist.tv.value.Random",
                                        "mnist.bound.sharp_classifier_tv"}


def test_comparison_puts_every_paper_number_next_to_ours() -> None:
    table = comparison_table(golden())
    assert len(table) == 3 + 3 + 8 + 4 + 3
    row = table.set_index("quantity").loc["balanced accuracy, ≥ 5 at 0 % own share"]
    assert (row["paper"], row["ours (95% CI)"]) == ("~0.79", "0.900 [0.900, 0.900]")
    assert list(table["paper"][:3]) == ["0.110", "0.041", "0.037"]
    assert table["quantity"].iloc[-1] == "2·TV + Δacc, Random (TV at n = 4,000)"
    assert table["paper"].iloc[-3:].tolist() == ["~0.35", "~0.08", "~0.07"]


def test_findings_follow_the_results() -> None:
    results = golden()
    text = findings_markdown(results, check_claims(results))
    assert "Yet red and green accuracies stay flat" in text
    assert "The paper reports ~0.155 and\n~0.115." in text
    assert "0.38, 0.38, 0.38 for the 3 encoders" in text
    assert "changes the ≥ 5 drop from 0.500\nto 0.350" in text
    assert "differences from Random are\n0.073 and 0.004." in text
    moved = results.drops.assign(ci_low=0.05, ci_high=0.2)
    claims = check_claims(dataclasses.replace(results, drops=moved))
    assert "accuracies are not flat" in findings_markdown(results, claims)


def test_splits_notes_and_run_facts_on_the_offline_digits(data) -> None:
    mnist = digits_mnist()
    sizes = split_table(mnist, data)
    k_train, k_val = feasible_sizes(data, sizes)
    wanted = sizes.set_index("part")["used"]
    assert 0 < k_train <= wanted["k_train"] and 0 < k_val <= wanted["k_val"]
    notes = split_notes(mnist, sizes, k_train, k_val)
    assert notes.startswith("Split sizes: **the paper's, scaled by 1,797 / 70,000**")
    assert ("**K_train capped" in notes) == (k_train < wanted["k_train"])
    facts = run_facts(mnist, data, k_train, (1, 2))
    assert facts == {"scaled": True, "n_test": len(data.splits["test"]),
                     "n_sample": len(data.splits["pool_sample"]), "k_train": k_train, "seeds": [1, 2]}


def test_separation_tables_label_and_format() -> None:
    sep = golden().separation.assign(note="")
    sep.loc[0, "note"] = "undefined with bins on group 0's range: empty"
    notes = measures.undefined_notes(sep)
    assert notes.startswith("**Seed 42, digit group (A): the paper's estimator is undefined.**")
    assert measures.undefined_notes(sep.assign(note="")).endswith("defined for every seed and attribute.")
    summary = measures.separation_summary(sep)
    assert len(summary) == 2 * 9 and set(summary["quantity"]) == {"value", "excess over null"}
    row = summary[(summary["estimator"] == "classifier") & (summary["attribute"] == "colour")
                  & (summary["quantity"] == "excess over null")].iloc[0]
    assert row["mean (95% CI)"] == "0.330 [0.330, 0.330]" and row["attribute_label"] == "colour (S)"
    chart = errorbars_by_panel(summary, panel="estimator", x="value", y="attribute_label",
                               lower="ci_low", upper="ci_high", color="quantity").to_dict()
    assert [p["title"] for p in chart["hconcat"]] == sorted(summary["estimator"].unique())


def test_allocation_curves_keep_whole_test_set_rows() -> None:
    sweeps = golden().sweeps
    sweeps = pd.concat([sweeps, sweeps[sweeps["group"] == "0"].assign(group="all")])
    curves = measures.allocation_curves(sweeps.rename(columns={"own_share": "alpha"}))
    assert set(curves["group"]) == {0, 1, "all"}
    assert set(curves.loc[curves["group"] == "all", "group_label"]) == {"all"}


def test_atomic_parquet_round_trips(tmp_path) -> None:
    table = pd.DataFrame({"attribute": ["colour"], "value": [0.25]})
    path = atomic_write_parquet(tmp_path / "tables" / "t.parquet", table)
    pd.testing.assert_frame_equal(pd.read_parquet(path), table)
