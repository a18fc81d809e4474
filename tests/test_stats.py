"""Statistics: known answers for slopes, intervals, correlations, the bound check and scaling law."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from latentsep.scaling import fit_scaling_law
from latentsep.stats import (
    allocation_deltas,
    allocation_slopes,
    attribute_sensitivity,
    bound_check,
    correlate,
    full_minus_zero,
)

ALPHAS = np.round(np.linspace(0, 1, 11), 10)
SEEDS = (42, 43, 44)


def sweep_table(value_fn, attributes=("A",), metric="balanced_accuracy") -> pd.DataFrame:
    """Tidy sweep rows with value_fn(attribute, group, own_share, seed) for groups 0, 1 and all."""
    rows = []
    for attribute in attributes:
        for seed in SEEDS:
            for alpha in ALPHAS:
                for group in (0, 1, "all"):
                    share = {0: 1 - alpha, 1: alpha}.get(group, np.nan)
                    rows.append(
                        {"attribute": attribute, "alpha": alpha, "seed": seed, "group": group,
                         "metric": metric, "value": value_fn(attribute, group, share, seed),
                         "n": 100, "own_share": share}
                    )
    return pd.DataFrame(rows)


def line(attribute, group, share, seed):
    """Group 1 rises 0.02 + 0.01·(seed−42) per unit share; group 0 falls 0.04; 'all' is flat."""
    if group == "all":
        return 0.9
    slope = 0.02 + 0.01 * (seed - 42) if group == 1 else -0.04
    return 0.8 + slope * share


def test_slopes_of_exact_lines_with_t_interval():
    out = allocation_slopes(sweep_table(line)).set_index("group")
    assert out.loc[0, "slope"] == pytest.approx(-0.04, abs=1e-12)
    assert out.loc[0, "se"] == pytest.approx(0.0, abs=1e-12)
    assert out.loc[1, "slope"] == pytest.approx(0.03, abs=1e-12)
    se = np.std([0.02, 0.03, 0.04], ddof=1) / np.sqrt(3)
    assert out.loc[1, "se"] == pytest.approx(se)
    half = sps.t.ppf(0.975, 2) * se
    assert (out.loc[1, "ci_low"], out.loc[1, "ci_high"]) == pytest.approx((0.03 - half, 0.03 + half))
    assert out["n_seeds"].tolist() == [3, 3]
    per_seed = allocation_slopes(sweep_table(line), per_seed=True)
    assert len(per_seed) == 6 and set(per_seed.columns) == {"attribute", "group", "seed", "slope"}


def test_attribute_sensitivity_per_seed_and_quadrature():
    df = sweep_table(line)
    per_seed = attribute_sensitivity(allocation_slopes(df, per_seed=True)).iloc[0]
    # per seed: mean of (-0.04, 0.02 + 0.01·s) = -0.01 + 0.005·s  ->  mean -0.005, sd 0.005
    assert per_seed["slope"] == pytest.approx(-0.005)
    assert per_seed["se"] == pytest.approx(0.005 / np.sqrt(3))
    assert per_seed["propagation"] == "per-seed"
    quad = attribute_sensitivity(allocation_slopes(df)).iloc[0]
    assert quad["slope"] == pytest.approx(-0.005)
    assert quad["se"] == pytest.approx(0.5 * 0.01 / np.sqrt(3))  # group 0 has se 0
    assert quad["propagation"] == "quadrature"


def test_full_minus_zero_known_answer():
    out = full_minus_zero(sweep_table(line)).set_index("group")
    assert out.loc[0, "full_minus_zero"] == pytest.approx(-0.04)
    assert out.loc[1, "full_minus_zero"] == pytest.approx(0.03)
    fmz = attribute_sensitivity(full_minus_zero(sweep_table(line), per_seed=True),
                                column="full_minus_zero")
    assert fmz["full_minus_zero"].iloc[0] == pytest.approx(-0.005)


def test_slope_interval_covers_the_true_slope_about_95_percent():
    rng = np.random.default_rng(0)
    true = 0.05
    noise = {}

    def noisy(attribute, group, share, seed):
        if group == "all":
            return 0.0
        key = (attribute, group, share, seed)
        noise.setdefault(key, rng.normal(0, 0.02) + rng.normal(0, 0.01) * (seed - 43))
        return true * share + noise[key]

    sims = [f"sim{i}" for i in range(300)]
    out = allocation_slopes(sweep_table(noisy, attributes=sims))
    covered = ((out["ci_low"] <= true) & (true <= out["ci_high"])).mean()
    assert 0.92 <= covered <= 0.98


def test_slope_errors_are_explicit():
    df = sweep_table(line)
    with pytest.raises(ValueError, match=r"metric 'roc_auc' has no per-group rows.*balanced"):
        allocation_slopes(df, metric="roc_auc")
    with pytest.raises(ValueError, match="single own share"):
        allocation_slopes(df[df["alpha"] == 0.5])
    with pytest.raises(ValueError, match=r"lacks own share 0 or 1.*include alpha 0.0 and 1.0"):
        full_minus_zero(df[df["alpha"] > 0])
    with pytest.raises(ValueError, match="run_sweep"):
        allocation_slopes(df.drop(columns="own_share"))
    with pytest.raises(ValueError, match="column='slope'"):
        attribute_sensitivity(allocation_slopes(df), column="value")


def test_correlate_exact_relations():
    x = np.array([0.04, 0.08, 0.11, 0.15, 0.2, 0.26, 0.3, 0.33])
    linear = correlate(x, 3 * x - 1, n_boot=200)
    assert linear["pearson_r"] == pytest.approx(1.0)
    assert linear["r2"] == pytest.approx(1.0)
    assert linear["spearman"] == pytest.approx(1.0)
    assert linear["p_value"] < 1e-6 and linear["n"] == 8
    monotone = correlate(x, np.exp(12 * x), n_boot=200)
    assert monotone["spearman"] == pytest.approx(1.0)
    assert monotone["pearson_r"] < 0.99
    assert monotone["r2"] == pytest.approx(monotone["pearson_r"] ** 2)


def test_correlate_noisy_relation_intervals():
    rng = np.random.default_rng(1)
    x = rng.normal(size=40)
    y = -0.6 * x + rng.normal(scale=0.8, size=40)
    out = correlate(x, y, n_boot=2000, seed=3)
    r, p = sps.pearsonr(x, y)
    assert out["pearson_r"] == pytest.approx(r) and out["p_value"] == pytest.approx(p)
    half = 1.959963984540054 / np.sqrt(37)
    assert out["pearson_ci"] == pytest.approx((np.tanh(np.arctanh(r) - half),
                                              np.tanh(np.arctanh(r) + half)))
    low, high = out["pearson_boot_ci"]
    assert low < r < high < 0
    assert out["r2_ci"][0] < out["r2"] < out["r2_ci"][1]
    assert out["spearman_ci"][0] < out["spearman"] < out["spearman_ci"][1]
    assert out == correlate(x, y, n_boot=2000, seed=3)  # deterministic for a seed
    assert out["pearson_boot_ci"] != correlate(x, y, n_boot=2000, seed=4)["pearson_boot_ci"]


def test_correlate_small_samples():
    out = correlate([0.1, 0.2, 0.4], [1.0, 2.5, 3.0], n_boot=100)
    assert np.isnan(out["pearson_ci"][0])  # Fisher z needs n >= 4
    assert out["n_boot_used"] <= 100
    with pytest.raises(ValueError, match="at least 3"):
        correlate([0.1, 0.2], [1.0, 2.0])
    with pytest.raises(ValueError, match="x is constant"):
        correlate([0.1, 0.1, 0.1], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="y has 2 entries"):
        correlate([0.1, 0.2, 0.3], [1.0, 2.0])


def test_bound_check_arithmetic():
    out = bound_check(
        tv=[0.1, 0.02, 0.3],
        delta_group=[[0.30, 0.30], [0.01, 0.03], [0.10, 0.12]],
        delta_overall=[[0.05, 0.05], [-0.02, 0.0], [0.0, 0.0]],
        labels=["A", "S", "R"],
    ).set_index("label")
    assert out.loc["A", "bound"] == pytest.approx(0.25)
    assert out.loc["A", "observed"] == pytest.approx(0.30)
    assert out.loc["A", "margin"] == pytest.approx(-0.05)
    assert out.loc["A", "margin_se"] == pytest.approx(0.0)
    assert out.loc["A", "status"] == "violated"
    # S: per-seed margins 0.04 + 0.02 - 0.01 = 0.05 and 0.04 + 0 - 0.03 = 0.01
    assert out.loc["S", "margin"] == pytest.approx(0.03)
    se = np.std([0.05, 0.01], ddof=1) / np.sqrt(2)
    assert out.loc["S", "margin_se"] == pytest.approx(se)
    assert out.loc["S", "ci_low"] == pytest.approx(0.03 - sps.t.ppf(0.975, 1) * se)
    assert out.loc["S", "status"] == "inconclusive"
    assert out.loc["R", "margin"] == pytest.approx(0.49) and out.loc["R", "status"] == "holds"
    assert out["non_vacuous"].tolist() == [True, True, True]


def test_bound_check_tv_uncertainty_in_quadrature():
    out = bound_check([0.2], [0.35], [0.0], tv_se=0.01, constant=2.0).iloc[0]
    assert out["margin"] == pytest.approx(0.05)
    assert out["margin_se"] == pytest.approx(0.02)
    assert out["ci_low"] == pytest.approx(0.05 - 1.959963984540054 * 0.02)
    assert out["status"] == "holds"
    assert bound_check([0.2], [0.35], [0.0], tv_se=0.03).iloc[0]["status"] == "inconclusive"
    paper_form = bound_check([0.2], [0.35], [0.0], constant=4.0).iloc[0]
    assert paper_form["bound"] == pytest.approx(0.8) and paper_form["status"] == "holds"
    with pytest.raises(ValueError, match=r"must have shape \(1,\) or \(1, n_seeds\)"):
        bound_check([0.2], [0.35, 0.1], [0.0])
    with pytest.raises(ValueError, match=r"tv must lie in \[0, 1\]"):
        bound_check([1.2], [0.35], [0.0])


def test_allocation_deltas_difference_the_two_levels_per_seed():
    def values(attribute, group, share, seed):
        """Group 1 gains 0.2 + 0.01·(seed − 42) from alpha 0 to 1; group 0 and the test set are flat."""
        return {0: 0.9, 1: 0.6 + (0.2 + 0.01 * (seed - 42)) * share}.get(group, 0.8)

    df = sweep_table(values)
    delta = allocation_deltas(df, metric="balanced_accuracy")
    seeds = sorted(df["seed"].unique())
    assert list(delta.columns) == seeds
    assert delta.loc[("A", "1")].to_numpy() == pytest.approx([0.2 + 0.01 * (s - 42) for s in seeds])
    assert delta.loc[("A", "0")].to_numpy() == pytest.approx(np.zeros(len(seeds)))
    assert delta.loc[("A", "all")].to_numpy() == pytest.approx(np.zeros(len(seeds)))
    reversed_ = allocation_deltas(df, metric="balanced_accuracy", alphas=(1.0, 0.0))
    assert reversed_.to_numpy() == pytest.approx(-delta.to_numpy())
    with pytest.raises(ValueError, match=r"alpha 0.55 is not in the sweep"):
        allocation_deltas(df, metric="balanced_accuracy", alphas=(0.0, 0.55))
    with pytest.raises(ValueError, match=r"metric 'auc' is not in sweeps"):
        allocation_deltas(df, metric="auc")


def test_scaling_law_recovers_known_parameters():
    truth = {"delta": 0.05, "sigma2": 0.8, "p": 0.5, "tau2": 2.0, "q": 0.7}
    n_total = np.repeat([1000.0, 4000.0, 16000.0], 10)
    n_group = n_total * np.tile(np.linspace(0.1, 1.0, 10), 3)
    error = (truth["delta"] + truth["sigma2"] * n_group ** -truth["p"]
             + truth["tau2"] * n_total ** -truth["q"])
    fit = fit_scaling_law(n_group, n_total, error)
    for name, value in truth.items():
        assert getattr(fit, name) == pytest.approx(value, rel=1e-3), name
    assert fit.rmse < 1e-8 and fit.n_points == 30
    assert fit.predict(np.array([500.0]), np.array([2000.0]))[0] == pytest.approx(
        0.05 + 0.8 * 500 ** -0.5 + 2.0 * 2000 ** -0.7, rel=1e-6)


def test_scaling_law_without_population_term_and_errors():
    k = 23840.0
    share = np.linspace(0, 1, 11)
    error = 0.1 + 0.5 * (share * k + 1e-12) ** -0.4
    fit = fit_scaling_law(share * k, np.full(11, k), error, population_term=False)
    assert fit.n_points == 10  # the zero-shot point is excluded
    assert (fit.delta, fit.sigma2, fit.p) == pytest.approx((0.1, 0.5, 0.4), rel=1e-3)
    assert fit.tau2 == 0.0 and fit.q == 0.0
    with pytest.raises(ValueError, match="τ² and q are not identifiable"):
        fit_scaling_law(share * k, np.full(11, k), error)
    with pytest.raises(ValueError, match="needs at least 6"):
        fit_scaling_law(share[:4] * k, np.linspace(1e4, 2e4, 4), error[:4])
