"""Chapter 03's library: claims against the paper on golden tables, and its table builders.

The golden tables are built by hand with three seeds whose values agree (so every interval is the
value itself) unless a test says otherwise; nothing here trains a model.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
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
from latentsep.report import claim_interval_problems
from latentsep.separation import PAPER_ESTIMATOR, POOLED_HISTOGRAM

SEEDS = [42, 43, 44]
NOTE = "Offline 10k digits, splits scaled by 1/7; test n = 571; K_train = 3,383; seeds [42, 43, 44]."


def _per_seed(values: dict[tuple[str, str], float], null_mean: float,
              half_width: float = 0.002) -> pd.DataFrame:
    """One row per (estimator, attribute) and seed with the same ``value`` on every seed and a
    row-bootstrap interval ± ``half_width``."""
    return pd.DataFrame([{"estimator": e, "attribute": a, "seed": s, "value": v,
                          "ci_low": v - half_width, "ci_high": v + half_width,
                          "excess": v - null_mean, "null_mean": null_mean}
                         for (e, a), v in values.items() for s in SEEDS])


ALPHAS = [k / 10 for k in range(11)]
GOLDEN_DROPS = {("digit_group", 0): 0.12, ("digit_group", 1): 0.16, ("colour", 0): 0.0,
                ("colour", 1): 0.002, ("Random", 0): 0.001, ("Random", 1): 0.0}


def sweep_table(drops: dict[tuple[str, int], float], seeds: list[int] = SEEDS) -> pd.DataFrame:
    """Balanced accuracy 0.9 + drop · own share (group 1's share is α, group 0's 1 − α), with
    ±0.004 noise alternating over α and group at the inner α (so OLS intervals have a width)."""
    return pd.DataFrame([
        {"attribute": a, "group": str(g), "metric": "balanced_accuracy", "alpha": alpha,
         "own_share": alpha if g == 1 else 1 - alpha, "seed": s,
         "value": 0.9 + drop * (alpha if g == 1 else 1 - alpha)
         + (0.004 * (-1) ** (k + g) if 0 < alpha < 1 else 0.0)}
        for (a, g), drop in drops.items() for k, alpha in enumerate(ALPHAS) for s in seeds])


def _interval_rows(keys: list[dict], column: str, values: list[tuple[float, float, float]]
                   ) -> pd.DataFrame:
    """Summary rows over the three seeds, (low, high) also the seeds' range."""
    return pd.DataFrame([{**k, column: v, "ci_low": lo, "ci_high": hi, "n_seeds": len(SEEDS),
                          "seed_min": lo, "seed_max": hi}
                         for k, (v, lo, hi) in zip(keys, values, strict=True)])


def golden(**changes: object) -> ColouredMnistResults:
    """Results on which every rule holds (paper-like numbers), with ``changes`` applied."""
    tv = {"digit_group": 0.150, "colour": 0.080, "Random": 0.075}
    clf = {"colour": 0.3, "digit_group": 0.35, "Random": 0.0}  # a linear probe finds colour
    separation = _per_seed({(e, a): v + (clf[a] if e == "classifier" else 0)
                            for e in (PAPER_ESTIMATOR, POOLED_HISTOGRAM, "classifier")
                            for a, v in tv.items()}, null_mean=0.07, half_width=0.02)
    paper_size = _per_seed({(e, a): PAPER.tv[a] + 0.002 for e in (PAPER_ESTIMATOR, POOLED_HISTOGRAM)
                            for a in ATTRIBUTES}, null_mean=0.039)
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
    sweeps = sweep_table(GOLDEN_DROPS)
    results = ColouredMnistResults(
        separation=separation, separation_paper_size=paper_size, differences=differences,
        drops=drops, slopes=slopes, sweeps=sweeps, summary=summary, authors=authors,
        bounds=bounds, pretraining_sizes=pretraining, k_train_sizes=k_sizes, scaled=True,
        n_test=571, n_sample=4000, k_train=3383, seeds=SEEDS)
    return dataclasses.replace(results, **changes)


def verdicts(results: ColouredMnistResults) -> dict[str, str]:
    return {c.claim_id: c.status for c in check_claims(results)}


def test_stated_claims_spell_the_paper_values_once_typed() -> None:
    claims = {c.claim_id: c for c in stated_claims()}
    assert claims["mnist.tv.ordering.paper_estimator"].paper == "A 0.110 > S 0.041 ≈ Random 0.037"
    assert claims["mnist.tv.value.digit_group"].paper == "0.110 ± 0.008 (/ Random: 2.97)"
    assert claims["mnist.tv.value.digit_group"].rule.endswith(
        "lies inside the paper's range [2.20, 4.10] (values ± their errors ± 0.005 read-off); "
        "across an edge: inconclusive")
    assert claims["mnist.tv.value.Random"].rule.endswith("excess over the null contains 0")
    assert claims["mnist.tv.colour_vs_random.paper_estimator"].paper == (
        "S − Random ≈ 0.004 (S / Random ≈ 1.11)")
    assert claims["mnist.colour.flat.red"].paper == "flat (~0.945 at every α)"
    assert [claims[f"mnist.digit.drop.{k}"].paper for k in ("ge5", "lt5")] == ["~0.155", "~0.115"]
    assert claims["mnist.bound.authors_check"].paper == "S ~0.08, A ~0.35, Random ~0.07"
    assert all(c.ours is None and c.status == "not checked" for c in claims.values())
    assert len(claims) == 14


def test_every_rule_holds_on_paper_like_results() -> None:
    claims = check_claims(golden())
    assert [c.claim_id for c in claims if c.status != "reproduced"] == []
    by_id = {c.claim_id: c for c in claims}
    assert by_id["mnist.tv.ordering.ours"].ours == (
        "digit_group > colour: seed 42 reproduced, seed 43 reproduced, seed 44 reproduced; "
        "digit_group > Random: seed 42 reproduced, seed 43 reproduced, seed 44 reproduced")
    tv = by_id["mnist.tv.value.colour"]
    assert tv.ours.startswith("per seed 1.10 [1.00, 1.22]")  # 0.043 / 0.039, conservative interval
    assert tv.note == f"4,000 held-out pool images (the paper's test size). {NOTE}"
    assert by_id["mnist.digit.drop.ge5"].ours == "per seed 0.160, 0.160, 0.160"
    assert by_id["mnist.bound.sharp_classifier_tv"].ours == "holds: 6"
    # 2·TV + signed Δ balanced accuracy: 2 · 0.112 + (0.12 + 0.16) / 2 = 0.364
    assert by_id["mnist.bound.authors_check"].ours.startswith("digit_group: 0.364 [0.360, 0.368]")
    assert by_id["mnist.colour.flat.green"].note == NOTE
    assert by_id["mnist.sensitivity.ordering"].extra["ci_df"] == len(ALPHAS) - 2
    assert all(c.extra.get("interval") for c in claims)


def test_no_claim_rests_on_a_small_sample_t_interval_or_leaves_its_range() -> None:
    assert claim_interval_problems(check_claims(golden())) == []


def failing() -> ColouredMnistResults:
    """Results that contradict every claim decisively."""
    base = golden()
    tv = {"digit_group": 0.02, "colour": 0.45, "Random": 0.037}  # A < Random < S, S far above
    paper_size = _per_seed({(e, a): v for e in (PAPER_ESTIMATOR, POOLED_HISTOGRAM)
                            for a, v in tv.items()}, null_mean=0.02)  # Random above the null
    separation = _per_seed({("classifier", a): v for a, v in tv.items()}, null_mean=0.0)
    drops = {("digit_group", 0): 0.4, ("digit_group", 1): 0.4, ("colour", 0): 0.2,
             ("colour", 1): 0.2, ("Random", 0): 0.2, ("Random", 1): 0.2}
    return dataclasses.replace(base, separation=separation, separation_paper_size=paper_size,
                               sweeps=sweep_table(drops), bounds=base.bounds.assign(status="violated"))


def test_rules_fail_where_the_results_disagree() -> None:
    outcome = verdicts(failing())
    assert set(outcome.values()) == {"not reproduced"}, outcome


def test_encoders_that_disagree_leave_a_claim_inconclusive() -> None:
    base = golden()
    other = failing()
    mixed_sep = pd.concat([base.separation_paper_size[base.separation_paper_size["seed"] != 44],
                           other.separation_paper_size[other.separation_paper_size["seed"] == 44]])
    mixed_sweeps = pd.concat([base.sweeps[base.sweeps["seed"] != 44],
                              other.sweeps[other.sweeps["seed"] == 44]])
    outcome = verdicts(dataclasses.replace(base, separation_paper_size=mixed_sep,
                                           sweeps=mixed_sweeps))
    assert outcome["mnist.tv.ordering.paper_estimator"] == "inconclusive"
    assert outcome["mnist.digit.drop.ge5"] == "inconclusive"
    assert outcome["mnist.colour.flat.red"] == "inconclusive"
    assert outcome["mnist.tv.value.digit_group"] == "inconclusive"
    assert outcome["mnist.tv.ordering.classifier"] == "reproduced"  # test split untouched


def test_overlapping_intervals_and_inconclusive_groups_are_inconclusive() -> None:
    base = golden()
    wide = base.separation_paper_size.assign(ci_low=lambda d: d["value"] - 0.05,
                                             ci_high=lambda d: d["value"] + 0.05)
    statuses = ["holds"] * 2 + ["inconclusive"] * 4  # issue 13's sharp bound
    sharp = base.bounds[base.bounds["tv_estimate"] == "classifier"].assign(status=statuses)
    outcome = verdicts(dataclasses.replace(
        base, separation_paper_size=wide,
        bounds=pd.concat([base.bounds[base.bounds["tv_estimate"] != "classifier"], sharp])))
    assert outcome["mnist.tv.ordering.paper_estimator"] == "inconclusive"
    assert outcome["mnist.bound.sharp_classifier_tv"] == "inconclusive"


def test_digit_drop_rule_uses_the_paper_value_and_its_tolerance() -> None:
    for shift, expected in ((0.02, "reproduced"), (0.03, "not reproduced"),
                            (-0.03, "reproduced"), (-0.04, "not reproduced")):
        # ≥ 5: each encoder's drop 0.16 + shift must lie in [0.125, 0.185] (0.155 ± 0.03)
        drops = {**GOLDEN_DROPS, ("digit_group", 1): 0.16 + shift}
        outcome = verdicts(dataclasses.replace(golden(), sweeps=sweep_table(drops)))
        assert outcome["mnist.digit.drop.ge5"] == expected, shift


def test_rules_are_not_checked_when_a_number_is_undefined() -> None:
    base = golden()
    nan_seed = base.separation_paper_size.copy()
    nan_seed.loc[nan_seed["seed"] == 42, ["value", "ci_low", "ci_high"]] = np.nan
    classifier = base.separation.assign(ci_low=np.nan)
    sweeps = base.sweeps.assign(value=np.where(base.sweeps["seed"] == 42, np.nan, base.sweeps["value"]))
    outcome = verdicts(dataclasses.replace(base, separation_paper_size=nan_seed,
                                           separation=classifier, sweeps=sweeps))
    unchecked = {k for k, v in outcome.items() if v == "not checked"}
    assert unchecked == set(outcome) - {"mnist.bound.sharp_classifier_tv"}


def test_comparison_puts_every_paper_number_next_to_ours() -> None:
    table = comparison_table(golden())
    assert len(table) == 3 + 3 + 8 + 4 + 3
    row = table.set_index("quantity").loc["balanced accuracy, ≥ 5 at 0 % own share"]
    # three seeds: their range, never a t-interval on 2 degrees of freedom
    assert (row["paper"], row["ours (95% CI)"]) == ("~0.79", "0.900 (3 seeds: 0.900 to 0.900)")
    assert not table["ours (95% CI)"].str.contains(r"\[").any()
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
    moved = sweep_table({**GOLDEN_DROPS, ("colour", 0): 0.1})
    claims = check_claims(dataclasses.replace(results, sweeps=moved))
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
    assert row["mean (95% CI)"] == "0.310 [0.310, 0.310]" and row["attribute_label"] == "colour (S)"
    chart = errorbars_by_panel(summary, panel="estimator", x="value", y="attribute_label",
                               lower="ci_low", upper="ci_high", color="quantity").to_dict()
    assert [p["title"] for p in chart["hconcat"]] == sorted(summary["estimator"].unique())


def test_allocation_curves_keep_whole_test_set_rows() -> None:
    sweeps = golden().sweeps.drop(columns="alpha")
    sweeps = pd.concat([sweeps, sweeps[sweeps["group"] == "0"].assign(group="all")])
    curves = measures.allocation_curves(sweeps.rename(columns={"own_share": "alpha"}))
    assert set(curves["group"]) == {0, 1, "all"}
    assert set(curves.loc[curves["group"] == "all", "group_label"]) == {"all"}


def test_atomic_parquet_round_trips(tmp_path) -> None:
    table = pd.DataFrame({"attribute": ["colour"], "value": [0.25]})
    path = atomic_write_parquet(tmp_path / "tables" / "t.parquet", table)
    pd.testing.assert_frame_equal(pd.read_parquet(path), table)
