"""Exact Gaussian checks of the TV bound (latentsep.theory)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from sklearn.linear_model import LogisticRegression

from latentsep import theory as T


def _config(prior=(0.3, 0.7), share_a1=0.4, d=3, seed=0) -> T.GaussianConfig:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((d, d))
    return T.GaussianConfig.two_groups(
        rng.standard_normal((2, 2, d)), a @ a.T + 0.5 * np.eye(d), prior, share_a1, (0.2, 0.9)
    )


def _npdf(mean: float, sd: float = 1.0):
    return lambda x: np.exp(-0.5 * ((x - mean) / sd) ** 2) / (sd * np.sqrt(2 * np.pi))


def _tv_1d(pdf_p, pdf_q) -> float:
    value, _ = integrate.quad(lambda x: 0.5 * abs(pdf_p(x) - pdf_q(x)), -30, 30, limit=400,
                              points=[-2.0, 0.0, 2.0], epsabs=1e-12)
    return value


def test_closed_form_accuracy_matches_monte_carlo():
    config = _config()
    head = T.LinearHead(np.array([1.0, -0.5, 0.3]), 0.2)
    z, y, a = T.sample_allocated(config, config.shares, 100_000, np.random.default_rng(1))
    correct = head.predict(z) == y
    exact = T.group_accuracy(config, head)
    for k in (0, 1):
        mc = correct[a == k]
        se = np.sqrt(exact[k] * (1 - exact[k]) / mc.size)
        assert abs(mc.mean() - exact[k]) < 3 * se
    cell = T.cell_accuracy(config, head)
    for yy in (0, 1):
        for k in (0, 1):
            mc = correct[(y == yy) & (a == k)]
            assert abs(mc.mean() - cell[yy, k]) < 3 * np.sqrt(cell[yy, k] * (1 - cell[yy, k])
                                                            / mc.size)
    # counts are exactly 40 000 / 60 000, so the overall estimate is the share-weighted mixture
    overall_se = np.sqrt(np.sum(config.shares**2 * exact * (1 - exact) / (config.shares * 1e5)))
    assert abs(correct.mean() - config.shares @ exact) < 3 * overall_se


@pytest.mark.parametrize(("m1", "m2", "s"), [(0.0, 0.0, 1.0), (0.0, 1.0, 1.0), (-1.0, 2.5, 0.7),
                                             (0.3, 0.4, 2.0)])
def test_gaussian_tv_matches_numerical_integration_1d(m1, m2, s):
    numeric = _tv_1d(_npdf(m1, s), _npdf(m2, s))
    exact = T.gaussian_tv(np.array([m1]), np.array([m2]), np.array([[s**2]]))
    assert exact == pytest.approx(numeric, abs=1e-8)


def test_gaussian_tv_in_2d_matches_monte_carlo():
    cov = np.array([[2.0, 0.6], [0.6, 0.5]])
    m1, m2 = np.array([0.0, 0.0]), np.array([0.8, -0.4])
    p, q = stats.multivariate_normal(m1, cov), stats.multivariate_normal(m2, cov)
    x = p.rvs(200_000, random_state=3)
    terms = np.maximum(0.0, 1.0 - np.exp(q.logpdf(x) - p.logpdf(x)))  # TV = E_p[(1 - q/p)+]
    exact = float(T.gaussian_tv(m1, m2, cov))
    assert abs(terms.mean() - exact) < 3 * terms.std() / np.sqrt(x.shape[0])


def test_tv_to_mixture_is_other_share_times_pairwise_tv():
    """Step 2 of the proof, checked by integration: TV(P_a, π_a P_a + (1-π_a) P_b) = (1-π_a) TV."""
    pa, pb, pi_a = _npdf(0.0), _npdf(1.3), 0.35
    mixture = lambda x: pi_a * pa(x) + (1 - pi_a) * pb(x)  # noqa: E731
    tv_pair = float(T.gaussian_tv(np.array([0.0]), np.array([1.3]), np.eye(1)))
    assert _tv_1d(pa, mixture) == pytest.approx((1 - pi_a) * tv_pair, abs=1e-8)


def test_tv_to_rest_upper_bounds_exact_tv_for_three_groups():
    means = np.array([[[0.0], [1.0], [-2.0]], [[3.0], [3.5], [2.0]]])
    shares = np.array([0.2, 0.5, 0.3])
    config = T.GaussianConfig(means, np.eye(1), [0.4] * 3, shares, [[1 / 3] * 3] * 2)
    bound = T.tv_to_rest(config)
    for y in (0, 1):
        for k in range(3):
            others = [j for j in range(3) if j != k]
            rest = lambda x, y=y, others=others: sum(  # noqa: E731
                shares[j] * _npdf(means[y, j, 0])(x) for j in others
            ) / shares[others].sum()
            exact = _tv_1d(_npdf(means[y, k, 0]), rest)
            assert exact <= bound[y, k] + 1e-9
    # with two groups the "rest" is the other group and the value is exact
    two = _config()
    assert np.allclose(T.tv_to_rest(two), T.pairwise_tv(two)[:, 0, 1][:, None])


def test_sharp_bound_never_violated_when_assumptions_hold():
    df = T.sweep_bounds(2_000, seed=123)
    assert len(df) == 2_000 and df["assumptions_hold"].all()
    for name in ("paper", "sharp", "weighted", "label_shift"):
        assert not df[f"violated_{name}"].any(), name
    assert (df["slack_sharp"] >= -T.VIOLATION_TOL).all()
    assert (df["sharp_bound"] <= df["paper_bound"] + 1e-15).all()
    assert df["eps"].min() == 0.0 and df["eps"].max() > 0.8  # the sweep spans ε


def test_label_shift_breaks_sharp_bound_but_not_robust_one():
    df = T.sweep_bounds(400, seed=5, label_shift=True)
    assert not df["assumptions_hold"].any()
    assert df["violated_sharp"].sum() > 0
    assert not df["violated_label_shift"].any()


def test_k_group_bounds_hold():
    df = T.sweep_bounds(300, seed=9, n_groups=3)
    assert (df["n_groups"] == 3).all()
    assert not df[["violated_paper", "violated_sharp", "violated_label_shift"]].any().any()
    assert df["violated_sharp_estimator"].isna().all()


def test_counterexample_violates_both_bounds():
    case = T.counterexample()
    terms = case["terms"]
    assert not case["config"].assumptions_hold
    assert terms["violated"]["paper"] and terms["violated"]["sharp"]
    assert not terms["violated"]["label_shift"]
    assert terms["eps"] == pytest.approx(2 * stats.norm.cdf(0.05) - 1, abs=1e-12)
    # heads threshold the first axis at ±log(9)/2; recalls Φ(1 ∓ t)
    t = np.log(9) / 2
    acc_a1_head1 = 0.9 * stats.norm.cdf(1 - t) + 0.1 * stats.norm.cdf(1 + t)
    assert terms["acc_group_1"][1] == pytest.approx(acc_a1_head1, abs=1e-12)
    assert terms["gap"] == pytest.approx([0.417081, 0.417081], abs=1e-6)
    assert terms["delta_overall"] == pytest.approx(0.0, abs=1e-12)
    assert case["table"]["violates paper"].all()


@pytest.mark.parametrize(("share", "eps"), [(0.3, 0.2), (0.5, 0.05), (0.9, 0.7)])
def test_attaining_example_meets_sharp_bound(share, eps):
    ex = T.attaining_example(share, eps)
    assert ex["eps"] == pytest.approx(eps)
    assert ex["gap"] == pytest.approx(ex["sharp_bound"], abs=1e-12)
    smaller_constant = 0.99 * 2 * (1 - share) * ex["eps"] + ex["delta_overall"]
    assert ex["gap"] > smaller_constant
    assert ex["paper_bound"] > ex["gap"]


def test_sweep_is_deterministic_and_prefix_stable():
    a = T.sweep_bounds(40, seed=7)
    pd.testing.assert_frame_equal(a, T.sweep_bounds(40, seed=7))
    pd.testing.assert_frame_equal(a.head(15), T.sweep_bounds(15, seed=7))
    assert not a.equals(T.sweep_bounds(40, seed=8))


def test_lda_fit_converges_to_population_head():
    config = _config(prior=(0.4, 0.4))
    z, y, _ = T.sample_allocated(config, config.alphas[0], 400_000, np.random.default_rng(2))
    fitted = T.fit_head(z, y, "lda")
    limit = T.population_lda_head(config, config.alphas[0])
    scale = np.linalg.norm(limit.w) / np.linalg.norm(fitted.w)
    assert np.allclose(fitted.w * scale, limit.w, atol=0.02 * np.linalg.norm(limit.w))
    assert np.allclose(T.group_accuracy(config, fitted), T.group_accuracy(config, limit), atol=2e-3)


def test_logistic_fit_matches_scikit_learn():
    rng = np.random.default_rng(4)
    z = rng.standard_normal((300, 4))
    y = (z @ [1.0, -2.0, 0.5, 0.0] + 0.3 + rng.standard_normal(300) > 0).astype(int)
    head = T.fit_head(z, y, "logistic")
    ref = LogisticRegression(C=1.0, tol=1e-12, max_iter=10_000).fit(z, y)
    assert np.allclose(head.w, ref.coef_[0], atol=1e-5)
    assert head.b == pytest.approx(ref.intercept_[0], abs=1e-5)


def test_allocation_counts_follow_floor_rule():
    assert T.allocation_counts(np.array([0.71, 0.29]), 100).tolist() == [71, 29]
    assert T.allocation_counts(np.array([1.0, 0.0]), 50).tolist() == [50, 0]
    assert T.allocation_counts(np.array([0.35, 0.65]), 7).tolist() == [3, 4]


def test_ols_slope_bound_factor():
    grid = np.linspace(0, 1, 11)
    assert T.ols_slope_bound_factor(grid) == pytest.approx(20 / 11)
    rng = np.random.default_rng(0)
    x = np.repeat(grid, 3)  # three seeds per allocation
    factor = T.ols_slope_bound_factor(x)
    for _ in range(200):
        y = rng.uniform(0, 1, x.size) ** rng.uniform(0.2, 5)
        slope = np.polyfit(x, y, 1)[0]
        assert abs(slope) <= factor * np.ptp(y) + 1e-12


def test_marginal_estimator_understates_exact_tv():
    rng = np.random.default_rng(11)
    for _ in range(50):
        config = T.sample_configuration(rng)
        assert T.marginal_tv_estimator(config) <= T.tv_to_rest(config)[:, 0].mean() + 1e-12
    one_d = T.sample_configuration(np.random.default_rng(1), dims=(1,))
    assert T.marginal_tv_estimator(one_d) == pytest.approx(T.tv_to_rest(one_d)[:, 0].mean())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cov": np.array([[1.0, 2.0], [2.0, 1.0]])}, "positive definite"),
        ({"cov": np.eye(3)}, "cov must be a symmetric"),
        ({"prior_y1": (0.0, 0.5)}, "prior_y1"),
        ({"share_a1": 1.5}, "share_a1"),
    ],
)
def test_bad_configuration_is_rejected(kwargs, match):
    args = {"means": np.zeros((2, 2, 2)), "cov": np.eye(2), "prior_y1": (0.5, 0.5),
            "share_a1": 0.5}
    with pytest.raises(ValueError, match=match):
        T.GaussianConfig.two_groups(**{**args, **kwargs})


def test_bad_heads_are_rejected():
    config = _config()
    with pytest.raises(ValueError, match="not all zero"):
        T.LinearHead(np.zeros(3), 0.0)
    with pytest.raises(ValueError, match="d=3"):
        T.group_accuracy(config, T.LinearHead(np.ones(2), 0.0))
    with pytest.raises(ValueError, match="2 samples of each class"):
        T.fit_head(np.zeros((5, 1)), np.array([0, 0, 0, 0, 1]))
    with pytest.raises(ValueError, match="alphas"):
        T.GaussianConfig(np.zeros((2, 2, 1)), np.eye(1), [0.5, 0.5], [0.5, 0.5], [[0.5, 0.6]] * 2)
