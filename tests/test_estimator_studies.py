"""Chapter 02's estimator studies on synthetic Gaussians (latentsep.estimator_studies) and charts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from latentsep import estimator_studies as S
from latentsep import plotting

FAST = S.Resampling(n_permutations=9, n_bootstrap=5, seed=0)


def test_sample_groups_lays_out_cells_and_laws() -> None:
    mean1 = np.array([3.0, -3.0])
    z, y, a = S.sample_groups(2000, dims=2, mean1=mean1, classes=3, seed=1)
    assert z.shape == (12_000, 2)
    assert np.bincount(y).tolist() == [4000] * 3 and np.bincount(a).tolist() == [6000] * 2
    np.testing.assert_allclose(z[a == 1].mean(0), mean1, atol=0.05)
    np.testing.assert_allclose(z[a == 0].mean(0), 0.0, atol=0.05)
    np.testing.assert_array_equal(S.sample_groups(5, seed=3)[0], S.sample_groups(5, seed=3)[0])
    with pytest.raises(ValueError, match="n_per_cell"):
        S.sample_groups(0)


def test_known_answer_study_brackets_the_exact_tv() -> None:
    known = S.known_answer_study([0.0, 2.0], 1500, FAST)
    assert len(known) == 2 * len(S.KNOWN_ANSWER_ESTIMATORS)
    assert known.loc[known["mu"] == 2.0, "truth"].iloc[0] == pytest.approx(
        2 * stats.norm.cdf(1.0) - 1)
    at2 = known[known["mu"] == 2.0].set_index("estimator")["value"]
    truth = 2 * stats.norm.cdf(1.0) - 1
    assert at2["gaussian"] == pytest.approx(truth, abs=0.05)
    # the authors' reference edges drop group 1's mass beyond group 0's range
    assert at2["histogram, reference edges (paper)"] < at2["histogram, pooled edges"]
    table = S.known_answer_table(known)
    assert table.index.tolist() == [0.0, 2.0] and table["truth"].iloc[0] == 0.0


def test_estimate_row_reports_the_null_quantiles() -> None:
    z, y, a = S.sample_groups(100, dims=2)
    from latentsep.separation import latent_separation

    result = latent_separation(z, y, a, pca_variance=None, n_permutations=39, n_bootstrap=5)
    row = S.estimate_row(result, tag="x")
    assert list(row)[:2] == ["tag", "value"]
    assert row["null_low"] <= row["null_mean"] <= row["null_high"]
    assert row["excess"] == pytest.approx(row["value"] - row["null_mean"])


def test_shift_tv_curve_is_the_gaussian_tv() -> None:
    curve = S.shift_tv_curve(3.0, points=4)
    np.testing.assert_allclose(curve["mu"], [0, 1, 2, 3])
    np.testing.assert_allclose(curve["truth"], 2 * stats.norm.cdf(curve["mu"] / 2) - 1)


def test_spread_example_depends_on_the_reference_group() -> None:
    example = S.spread_example(4000, seed=0)
    # N(0, 0.5²) and N(0, 1): the densities cross at ±c with c² = ln 2 / 1.5
    cross = np.sqrt(np.log(2) / 1.5)
    exact = 2 * (stats.norm.cdf(cross / 0.5) - stats.norm.cdf(cross))
    assert example["truth"] == pytest.approx(exact, abs=1e-6)
    assert example["reference_narrow"] != pytest.approx(example["reference_wide"], abs=0.02)
    text = S.spread_markdown(example, 4000)
    assert "4,000 each" in text and f"{example['pooled']:.3f} either way" in text


def test_bias_study_has_a_row_per_size_and_method_with_zero_truth() -> None:
    bias = S.bias_study([50, 400], FAST, methods=["histogram", "gaussian"])
    assert list(zip(bias["n_per_cell"], bias["method"], strict=True)) == [
        (50, "histogram"), (50, "gaussian"), (400, "histogram"), (400, "gaussian")]
    assert (bias["truth"] == 0).all()
    hist = bias[bias["method"] == "histogram"].set_index("n_per_cell")["value"]
    assert hist[50] > hist[400] > 0  # identical groups: the histogram's bias shrinks with n


def test_bins_study_truth_is_the_mean_per_coordinate_tv() -> None:
    bins = S.bins_study([100], [5, 50], FAST)
    assert bins["n_per_cell"].tolist() == ["100 per cell"] * 2
    assert bins["truth"].iloc[0] == pytest.approx(0.3 * (2 * stats.norm.cdf(0.25) - 1))
    assert bins.set_index("bins")["value"][50] > bins.set_index("bins")["value"][5]


def test_failure_scenarios_pair_up_equal_joint_tvs() -> None:
    scenarios = S.failure_scenarios(1.5, 0.6, 20_000, seed=0)
    assert list(scenarios)[4] == "low-variance shift, PCA 70 %"
    truths = [s.truth for s in scenarios.values()]
    assert truths[0] == truths[1] == truths[4] == truths[5] == pytest.approx(
        2 * stats.norm.cdf(0.75) - 1)
    assert truths[2] == truths[3] and 0.1 < truths[2] < 0.5
    for name in ("shift, along a coordinate", "shift, oblique"):
        assert np.linalg.norm(scenarios[name].law["mean1"]) == pytest.approx(1.5)
    low = scenarios["low-variance shift, no PCA"].law
    white = np.linalg.solve(np.linalg.cholesky(low["cov0"]), low["mean1"])
    assert np.linalg.norm(white) == pytest.approx(1.5)  # Mahalanobis distance 1.5
    rotated = scenarios["opposite correlations, rotated 45°"].law
    assert rotated["cov0"][0, 1] == pytest.approx(0.0) and rotated["cov0"][0, 0] != 1.0


def test_scenario_study_and_its_tables() -> None:
    scenarios = dict(list(S.failure_scenarios(1.5, 0.6, 5_000).items())[:2])
    scen = S.scenario_study(scenarios, 200, FAST, methods=["histogram", "gaussian"])
    assert len(scen) == 4 and "tv_lower_hellinger" in scen
    tv = S.tv_scale_table(scen)
    assert tv["method"].tolist().count("gaussian: Hellinger lower bound") == 2
    assert tv["ci_low"].isna().sum() == 2
    table = S.scenario_table(scen)
    assert table.index.tolist() == list(scenarios)
    np.testing.assert_allclose(table["joint_tv"], [s.truth for s in scenarios.values()])


def _rows() -> pd.DataFrame:
    return pd.DataFrame({
        "n": [10, 100, 10, 100], "kind": ["a", "a", "b", "b"], "value": [0.2, 0.1, 0.3, 0.2],
        "ci_low": [0.1, 0.0, 0.2, 0.1], "ci_high": [0.3, 0.2, 0.4, 0.3],
        "null_low": 0.0, "null_high": 0.1, "null_mean": 0.05, "truth": 0.0, "p_value": 0.5,
    })


def test_interval_charts_encode_their_columns() -> None:
    df = _rows()
    curve = pd.DataFrame({"n": [10, 100], "truth": [0.0, 0.0]})
    spec = plotting.intervals_over_curve(df, curve, x="n", color="kind", dodge=1.0).to_dict()
    assert len(spec["layer"]) == 3
    shown = next(d for d in spec["datasets"].values() if "n_dodged" in d[0])
    dodged = {r["kind"]: r["n_dodged"] - r["n"] for r in shown}
    assert dodged == {"a": -1.0, "b": 1.0}
    spec = plotting.estimates_over_null_band(df, x="n", facet="kind", x_title="n", y_title="v",
                                             independent_y=True).to_dict()
    assert spec["resolve"]["scale"]["y"] == "independent"
    assert spec["spec"]["layer"][0]["encoding"]["x"]["scale"]["type"] == "log"
    spec = plotting.intervals_on_log_x(df, x="n", y="value", lower="ci_low",
                                       upper="ci_high").to_dict()
    assert spec["layer"][0]["encoding"]["x"]["axis"]["values"] == [10, 100]
    spec = plotting.intervals_with_ticks(df, category="kind", facet="n").to_dict()
    assert [layer["mark"]["type"] for layer in spec["spec"]["layer"]] == ["rule", "point", "tick"]


def test_p_value_heatmap_labels_small_p_in_white() -> None:
    spec = plotting.p_value_heatmap(_rows(), x="kind", y="n", level=0.01).to_dict()
    text = spec["layer"][1]["encoding"]["color"]
    assert text["condition"]["test"] == "datum.p_value < 0.01"
    assert spec["layer"][0]["encoding"]["color"]["scale"]["type"] == "log"
