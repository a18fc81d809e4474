"""Chapter 07's study: pilot/scoring halves, leave-one-dataset-out calibration, comparison with the
sweeps, agreement tables, generated prose and the claims' verdicts (golden tables, no training)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from latentsep.calibration import fit_calibration
from latentsep.experiments import advisor_study as study
from latentsep.plotting import dodged_intervals, xy_with_intervals


@pytest.fixture(scope="module")
def calibration():
    """Three datasets of points; ``adult`` is one of the datasets the chapter leaves out."""
    x = np.linspace(0.0, 0.2, 9)
    noise = np.array([1, -1, 1, -1, 1, -1, 1, -1, 1]) * 1e-3
    points = pd.DataFrame({"source": "04_real_datasets", "dataset": ["adult", "b", "c"] * 3,
                           "attribute": list("abcdefghi"), "x": x, "y": 0.5 * x + noise})
    return fit_calibration(points, provenance={"chapters": ["04_real_datasets"], "profile": "t",
                                               "commit": "0123456789abcdef"})


def comparison_table() -> pd.DataFrame:
    """Two datasets; the advisor orders both perfectly, the separation excess reverses ``a``."""
    return pd.DataFrame({
        "dataset": ["a"] * 4 + ["b"] * 3,
        "attribute": ["p", "q", "r", "s", "u", "v", "w"],
        "predicted": [0.4, 0.3, 0.2, 0.1, 0.3, 0.2, 0.1],
        "excess": [0.1, 0.2, 0.3, 0.4, 0.3, 0.2, 0.1],
        "measured": [0.40, 0.30, 0.20, 0.10, 0.30, 0.20, 0.10],
        "measured_ci_low": [0.38, 0.28, 0.18, 0.08, 0.10, 0.00, -0.10],
        "measured_ci_high": [0.42, 0.32, 0.22, 0.12, 0.50, 0.40, 0.30],
        "within_pi": [True, True, True, False, True, True, False],
        "action": ["balance", "collect", "verify", "no action", "balance", "no action",
                   "no action"],
        "verdict": ["agrees", "agrees", "agrees", "outside interval", "agrees", "agrees", "missed"],
    }).assign(transfer_gap=0.1, pi_low=lambda t: t["predicted"] - 0.5,
              pi_high=lambda t: t["predicted"] + 0.05, rank=1, measured_rank=1.0)


def test_pilot_halves_are_disjoint_stratified_and_reproducible() -> None:
    rows = np.arange(100, 300)
    labels = np.zeros(400, dtype=int)
    labels[rows[:60]] = 1
    pilot, scored = study.pilot_halves(rows, labels, seed=0)
    assert len(pilot) == len(scored) == 100
    assert not set(pilot) & set(scored) and set(pilot) | set(scored) == set(rows)
    assert labels[pilot].sum() == labels[scored].sum() == 30
    again = study.pilot_halves(rows, labels, seed=0)
    assert np.array_equal(again[0], pilot) and np.array_equal(again[1], scored)


def test_calibration_is_refitted_without_the_same_embeddings(calibration) -> None:
    left = study.calibration_without(calibration, "adult")
    assert set(left.points["dataset"]) == {"b", "c"} and left.provenance["left_out"] == ["adult"]
    assert study.calibration_without(calibration, "fashion_mnist") is calibration
    note = study.calibration_note(calibration)
    assert "9 points from 04_real_datasets" in note and "commit 0123456789" in note
    assert f"{calibration.slope:.4f}" in note


def test_compare_with_sweeps_judges_and_ranks_within_datasets() -> None:
    advice = pd.DataFrame({"attribute": ["s", "t"], "action": ["balance", "no action"],
                           "pi_low": [0.05, -0.02], "pi_high": [0.2, 0.02]})
    reports = {"d": SimpleNamespace(table=advice)}
    summary = pd.DataFrame({"dataset": ["d", "d", "e"], "attribute": ["s", "t", "s"],
                            "sensitivity": [0.1, 0.05, 9.0], "sensitivity_ci_low": [0.08, 0.03, 8],
                            "sensitivity_ci_high": [0.12, 0.07, 10]})
    out = study.compare_with_sweeps(reports, summary, min_effect=0.01).set_index("attribute")
    assert out["measured"].to_dict() == {"s": 0.1, "t": 0.05}
    assert out["verdict"].to_dict() == {"s": "agrees", "t": "missed"}
    assert out["measured_rank"].to_dict() == {"s": 1.0, "t": 2.0}


def test_agreement_table_scores_each_predictor_within_datasets() -> None:
    table, agreements = study.agreement_table(comparison_table(), n_boot=50, seed=0)
    assert agreements["predicted"]["spearman"] == pytest.approx(1.0)
    # separation excess: ρ = −1 on a (4 rows), +1 on b (3 rows), weighted by rows
    assert agreements["excess"]["spearman"] == pytest.approx((-4 + 3) / 7)
    rows = table.set_index(["predictor", "data"])
    assert rows.loc[("advisor (transfer gap)", "a"), "coverage of PI"] == pytest.approx(0.75)
    assert rows.loc[("separation excess alone", "a"), "spearman"] == pytest.approx(-1.0)
    assert math.isnan(rows.loc[("separation excess alone", "a"), "coverage of PI"])
    assert list(table["data"].unique()) == ["within datasets (pooled)", "a", "b", study.ALL_PAIRS]


def test_decisive_pairs_and_disagreements_in_words() -> None:
    comparison = comparison_table()
    decisive = study.decisive_pairs(comparison)
    # a's four CIs are apart (6 pairs), b's overlap: the advisor orders all 6, separation none
    assert decisive["predicted"]["agree"] == decisive["predicted"]["pairs"] == 6
    assert decisive["excess"]["agree"] == 0
    note = study.decisive_pairs_note(decisive)
    assert "**6** pairs" in note and "orders 6 of them the same way (100%" in note
    pairs = study.decisive_pairs_table(decisive)
    assert pairs["advisor agrees"].all() and not pairs["separation agrees"].any()
    none = study.decisive_pairs(comparison[comparison["dataset"] == "b"])
    assert study.decisive_pairs_note(none).endswith("No pair can be checked on this profile.")
    assert study.disagreements_note(comparison) == (
        "2 of 7 (dataset, attribute) pairs disagree (outside interval: 1, missed: 1).")
    assert study.disagreements(comparison)["attribute"].tolist() == ["s", "w"]


def test_reading_note_reports_the_calibration_and_both_rankings(calibration) -> None:
    comparison = comparison_table()
    _, agreements = study.agreement_table(comparison, n_boot=50, seed=0)
    note = study.reading_note(calibration, comparison, agreements)
    assert "ρ = 1.00 [1.00, 1.00] against the sweeps" in note
    assert "43% of the pairs were cleared" in note and "; 3 got 'balance' or 'collect'" in note


def test_real_pilots_pass_adapter_and_encoder_keywords_through(monkeypatch) -> None:
    settings = study.StudySettings(seeds=[0], alphas=[0.0, 1.0], k_train=10, k_val=5,
                                   cache_dir="unused")
    calls = {}

    def load(name, **kwargs):
        calls["load"] = (name, kwargs)
        return None if name == "civilcomments" else "dataset"

    def protocol(dataset, **kwargs):
        calls["protocol"] = kwargs
        raise RuntimeError("stop here")

    monkeypatch.setattr(study, "load_real_dataset", load)
    monkeypatch.setattr(study, "real_protocol", protocol)
    assert study.real_pilots([], settings, max_rows=10) == ({}, [])
    pilots, skipped = study.real_pilots(["civilcomments"], settings, max_rows=10,
                                        adapter={"civilcomments": {"max_rows": 7}})
    assert (pilots, skipped) == ({}, ["civilcomments"])
    assert calls["load"] == ("civilcomments", {"seed": 0, "max_rows": 7})
    with pytest.raises(RuntimeError, match="stop here"):
        study.real_pilots(["mimic_cxr"], settings, max_rows=10, image_size={"mimic_cxr": 64},
                          weights="random-if-missing")
    assert calls["protocol"] == {"cache_dir": "unused", "max_rows": 10, "seed": 0,
                                 "image_size": 64, "weights": "random-if-missing"}
    assert "skips them" in study.real_datasets_note([], [], "quick")
    assert study.real_datasets_note(["civilcomments"], ["civilcomments"], "full").startswith(
        "**Skipped `civilcomments`**")


def _results(**changes) -> study.StudyResults:
    agreement = {"spearman": 0.5, "ci": (0.1, 0.8), "n": 7, "groups": 2}
    pairs = {"pairs": 50, "agree": 48, "share": 0.96, "ci": (0.865, 0.989)}  # Wilson
    fields = {"comparison": pd.DataFrame({"within_pi": [True] * 9 + [False]}),
              "agreements": {"predicted": agreement, "excess": agreement},
              "decisive": {"predicted": pairs, "excess": {**pairs, "agree": 4}},
              "datasets": ["a", "b"], "profile": "test"}
    return study.StudyResults(**{**fields, **changes})


def test_sources_note_keeps_the_rehearsal_notices_readable(tmp_path) -> None:
    from latentsep.data.rehearsal import MARKER, REHEARSAL_NOTICE

    raw = tmp_path / "mnist" / "raw"
    raw.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                 "t10k-labels-idx1-ubyte"):
        (raw / name).write_bytes(b"")
    assert study._stand_in_prefix("coloured_mnist", tmp_path) == ""  # the user's own MNIST
    (raw / MARKER).write_text(REHEARSAL_NOTICE + "\n")
    assert study._stand_in_prefix("coloured_mnist", tmp_path) == REHEARSAL_NOTICE + " "
    assert study._stand_in_prefix("fashion_mnist", tmp_path) == ""
    long = "CivilComments: 1,000 of 1,000 rows, embedded once with frozen bert-base-uncased " \
           "(768-d, weights random weights: rehearsal only (torch seed 0))."
    pilot = study.PilotStudy(np.zeros((1, 2)), pd.DataFrame(), None, long)
    assert study.sources_note({"civilcomments": pilot}) == f"- **civilcomments**: {long}"


def test_claims_reproduced_on_a_golden_study() -> None:
    claims = study.check_claims(_results())
    assert [c.claim_id for c in claims] == [
        "advisor.ranking.spearman", "advisor.ranking.separation_only",
        "advisor.ranking.decisive_pairs", "advisor.prediction_interval.coverage"]
    assert [c.status for c in claims] == ["reproduced"] * 4
    assert claims[0].note == ("within-dataset Spearman, 7 (dataset, attribute) pairs from 2 "
                              "datasets (a, b); profile test.")
    assert claims[2].note == "48 of 50 decisive pairs; the separation excess alone orders 4."
    assert claims[3].ours == pytest.approx(0.9) and claims[3].note == "9 of 10 pairs."
    assert claims[3].rule == "at least 0.80"
    assert claims[2].rule.startswith("95 % Wilson interval at or above 0.80")
    assert claims[0].extra["bounds"] == [-1, 1] and "bootstrap" in claims[0].extra["interval"]


def test_claims_not_reproduced_when_a_rule_fails() -> None:
    weak = {"spearman": 0.3, "ci": (-0.1, 0.6), "n": 7, "groups": 2}
    negative = {"spearman": -0.3, "ci": (-0.5, -0.1), "n": 7, "groups": 2}
    claims = study.check_claims(_results(
        agreements={"predicted": weak, "excess": negative},
        decisive={"predicted": {"pairs": 4, "agree": 2, "share": 0.5, "ci": (0.15, 0.85)},
                  "excess": {"pairs": 4, "agree": 1, "share": 0.25, "ci": (0.05, 0.7)}},
        comparison=pd.DataFrame({"within_pi": [True, False]})))
    # an interval holding the threshold cannot decide; one clear of it on the wrong side refutes
    assert [c.status for c in claims] == [
        "inconclusive", "not reproduced", "inconclusive", "not reproduced"]
    low = study.check_claims(_results(decisive={
        "predicted": {"pairs": 20, "agree": 10, "share": 0.5, "ci": (0.3, 0.7)},
        "excess": {"pairs": 20, "agree": 10, "share": 0.5, "ci": (0.3, 0.7)}}))
    assert low[2].status == "not reproduced"


def test_claims_not_checked_without_numbers() -> None:
    undefined = {"spearman": float("nan"), "ci": (float("nan"),) * 2, "n": 0, "groups": 0}
    claims = study.check_claims(_results(
        agreements={"predicted": undefined, "excess": undefined},
        decisive={"predicted": {"pairs": 0, "agree": 0, "share": float("nan")},
                  "excess": {"pairs": 0, "agree": 0, "share": float("nan")}},
        comparison=pd.DataFrame({"within_pi": pd.Series([], dtype=bool)})))
    assert [c.status for c in claims] == ["not checked"] * 4
    assert claims[2].ours is None and claims[2].note == "no decisive pair on profile test."


def test_chart_builders_draw_intervals_and_the_identity_line() -> None:
    comparison = comparison_table()
    chart = xy_with_intervals(comparison, x=("predicted", "pi_low", "pi_high"),
                              y=("measured", "measured_ci_low", "measured_ci_high"),
                              color="dataset", shape="verdict").to_dict()
    assert len(chart["layer"]) == 4
    identity = [d for d in chart["datasets"].values() if d and set(d[0]) == {"x"}]
    assert [r["x"] for r in identity[0]] == pytest.approx([-0.4, 0.5])
    table, _ = study.agreement_table(comparison_table(), n_boot=20)
    spec = dodged_intervals(table, category="data", value="spearman", lower="ci_low",
                            upper="ci_high", group="predictor").to_dict()
    assert [layer["encoding"]["yOffset"]["field"] for layer in spec["layer"]] == ["predictor"] * 2
