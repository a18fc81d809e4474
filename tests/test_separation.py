"""Latent separation estimators: exactness against np.histogram, known answers, nulls, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import linalg, stats
from sklearn.decomposition import PCA

from latentsep.divergences import (
    ClassifierTV,
    HistogramTV,
    ReferenceHistogramTV,
    make_statistic,
)
from latentsep.pca import pca_scores
from latentsep.separation import (
    TABLE_COLUMNS,
    latent_separation,
    marginal_tv,
    one_vs_rest_table,
    pairwise_table,
    separation_table,
)


def tv_gauss(delta: float) -> float:
    """TV between two Gaussians a Mahalanobis distance ``delta`` apart."""
    return float(2 * stats.norm.cdf(delta / 2) - 1)


def histogram_loop(x0: np.ndarray, x1: np.ndarray, bins: int, edges: str) -> float:
    """The authors' estimator written plainly, one np.histogram pair per dimension."""
    tvs = []
    for j in range(x0.shape[1]):
        if edges == "pooled":
            lo, hi = min(x0[:, j].min(), x1[:, j].min()), max(x0[:, j].max(), x1[:, j].max())
        else:
            lo, hi = x0[:, j].min(), x0[:, j].max()
        h0 = np.histogram(x0[:, j], bins=bins, range=(lo, hi))[0]
        h1 = np.histogram(x1[:, j], bins=bins, range=(lo, hi))[0]
        tvs.append(0.5 * np.abs(h0 / h0.sum() - h1 / h1.sum()).sum())
    return float(np.mean(tvs))


def two_groups(n: int, shift: np.ndarray, seed: int = 0, classes: int = 2):
    """``classes`` classes, a balanced random attribute; group 1 shifted by ``shift`` (d,)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    a = rng.integers(0, 2, n)
    z = rng.normal(size=(n, len(shift))) + np.outer(a, shift)
    return z, y, a


# ------------------------------------------------------------------ marginal_tv exactness


@pytest.mark.parametrize("edges", ["pooled", "reference"])
@pytest.mark.parametrize("seed", range(4))
def test_marginal_tv_matches_np_histogram_loop(edges: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x0 = rng.normal(size=(300, 7)) * rng.uniform(0.1, 10, 7)
    x1 = rng.normal(0.3, 1.4, size=(250, 7)) * rng.uniform(0.1, 10, 7)
    x0[:, 3] = np.round(x0[:, 3])  # ties and values exactly on bin edges
    x1[:, 3] = np.round(x1[:, 3])
    x0[:, 5] = 2.0  # a constant dimension: np.histogram widens the range by ±0.5
    bins = [50, 7, 13, 1][seed]
    assert marginal_tv(x0, x1, bins=bins, edges=edges) == pytest.approx(
        histogram_loop(x0, x1, bins, edges), abs=1e-12
    )


@settings(max_examples=60, deadline=None)
@given(
    x=hnp.arrays(np.float64, (40, 3), elements=st.integers(-20, 20).map(lambda v: v / 8)),
    split=st.integers(5, 35),
    bins=st.integers(1, 60),
)
def test_marginal_tv_matches_loop_on_lattice_values(x: np.ndarray, split: int, bins: int) -> None:
    """Values on a 1/8 lattice land exactly on many bin edges: the semantics must still agree."""
    x0, x1 = x[:split], x[split:]
    assert marginal_tv(x0, x1, bins=bins) == pytest.approx(
        histogram_loop(x0, x1, bins, "pooled"), abs=1e-12
    )
    inside = (x1 >= x0.min(0)) & (x1 <= x0.max(0))
    if inside.any(axis=0).all():
        assert marginal_tv(x0, x1, bins=bins, edges="reference") == pytest.approx(
            histogram_loop(x0, x1, bins, "reference"), abs=1e-12
        )


def test_pooled_is_symmetric_and_reference_drops_mass() -> None:
    rng = np.random.default_rng(1)
    x0, x1 = rng.normal(0, 0.5, size=(4000, 2)), rng.normal(1.5, 1.0, size=(4000, 2))
    assert marginal_tv(x0, x1) == marginal_tv(x1, x0)
    # ~40 % of x1 lies above x0's maximum and is dropped, so the reference value is smaller;
    # swapping the roles puts the wider sample first and recovers the pooled value
    assert marginal_tv(x0, x1, edges="reference") < marginal_tv(x0, x1) - 0.1
    assert marginal_tv(x1, x0, edges="reference") == pytest.approx(marginal_tv(x0, x1), abs=0.01)


# ------------------------------------------------------------------ known answers


@pytest.mark.parametrize("mu", [0.25, 1.0, 2.0])
def test_one_dimensional_gaussians(mu: float) -> None:
    rng = np.random.default_rng(0)
    x0, x1 = rng.normal(size=200_000), rng.normal(mu, 1.0, size=200_000)
    assert marginal_tv(x0, x1) == pytest.approx(tv_gauss(mu), abs=0.02)


def test_product_of_shifted_gaussians_gives_mean_of_per_dimension_truths() -> None:
    shifts = np.array([0.0, 0.5, 1.0, 2.0])
    z, y, a = two_groups(100_000, shifts, classes=1)
    res = latent_separation(z, y, a, pca_variance=None, n_permutations=0, n_bootstrap=0)
    assert res.value == pytest.approx(np.mean([tv_gauss(m) for m in shifts]), abs=0.01)
    assert res.n_components == 4


def test_disjoint_supports_give_one_with_pooled_edges() -> None:
    rng = np.random.default_rng(0)
    x0, x1 = rng.uniform(0, 1, size=(500, 3)), rng.uniform(2, 3, size=(400, 3))
    assert marginal_tv(x0, x1) == 1.0
    z, a = np.vstack([x0, x1]), np.r_[np.zeros(500, int), np.ones(400, int)]
    res = latent_separation(z, np.zeros(900, int), a, pca_variance=None, n_permutations=50)
    assert res.value == 1.0 and res.p_value == pytest.approx(1 / 51)
    with pytest.raises(ValueError, match="outside x0's range"):
        marginal_tv(x0, x1, edges="reference")


@pytest.mark.parametrize("method", ["histogram", "classifier", "gaussian", "wasserstein",
                                    "frechet", "mmd"])
def test_identical_distributions_fall_inside_the_null(method: str) -> None:
    z, y, a = two_groups(1200, np.zeros(4), seed=3)
    res = latent_separation(z, y, a, method=method, pca_variance=None, n_permutations=199,
                            n_bootstrap=50)
    assert res.p_value > 0.01
    assert np.quantile(res.null_values, 0.005) <= res.value <= np.quantile(res.null_values, 0.995)
    assert res.p_value == pytest.approx((1 + (res.null_values >= res.value).sum()) / 200)


def test_small_sample_bias_is_removed_by_the_null() -> None:
    """Identical groups: the raw histogram value is far from 0, the excess is not."""
    z, y, a = two_groups(600, np.zeros(3), seed=5)
    res = latent_separation(z, y, a, pca_variance=None, n_permutations=200, n_bootstrap=0)
    assert res.value > 0.15  # 150 samples per cell over 50 bins: mostly noise
    assert abs(res.excess) < 0.02


def ten_dim_gaussians(n: int, delta: float, seed: int = 0):
    """Two correlated 10-D Gaussians whose means are ``delta`` apart in Mahalanobis distance."""
    rng = np.random.default_rng(seed)
    root = rng.normal(size=(10, 10)) / 3 + np.eye(10)
    cov = root @ root.T
    direction = rng.normal(size=10)
    shift = direction * delta / np.sqrt(direction @ np.linalg.solve(cov, direction))
    a = np.r_[np.zeros(n, int), np.ones(n, int)]
    z = rng.normal(size=(2 * n, 10)) @ root.T + np.outer(a, shift)
    return z, np.zeros(2 * n, int), a


def test_classifier_recovers_the_gaussian_tv_within_its_ci() -> None:
    z, y, a = ten_dim_gaussians(3000, 1.5)
    res = latent_separation(z, y, a, method="classifier", pca_variance=None, n_permutations=50)
    assert res.ci[0] <= tv_gauss(1.5) <= res.ci[1]
    assert res.ci[1] - res.ci[0] < 0.06
    assert res.details["balanced_accuracy"] == pytest.approx((1 + res.value) / 2)
    assert res.p_value == pytest.approx(1 / 51)


def test_gaussian_method_and_hellinger_bounds() -> None:
    z, y, a = ten_dim_gaussians(3000, 1.5)
    res = latent_separation(z, y, a, method="gaussian", pca_variance=None, n_permutations=50)
    truth = tv_gauss(1.5)
    assert res.value == pytest.approx(truth, abs=0.02)
    assert res.ci[0] <= truth <= res.ci[1]
    assert res.details["mahalanobis_sq"] == pytest.approx(1.5**2, rel=0.06)
    assert res.details["tv_lower_hellinger"] <= res.value <= res.details["tv_upper_hellinger"]


def test_gaussian_value_equals_the_direct_pooled_covariance_formula() -> None:
    z, y, a = two_groups(400, np.array([0.5, 0.0, -0.3]), seed=2, classes=1)
    x = pca_scores(z, None)
    x0, x1 = x[a == 0], x[a == 1]
    m0, m1, d = len(x0), len(x1), 3
    pooled = ((m0 - 1) * np.cov(x0.T) + (m1 - 1) * np.cov(x1.T)) / (m0 + m1 - 2)
    diff = x1.mean(0) - x0.mean(0)
    plug_in = diff @ np.linalg.solve(pooled, diff)
    unbiased = (m0 + m1 - d - 3) / (m0 + m1 - 2) * plug_in - d * (1 / m0 + 1 / m1)
    res = latent_separation(z, y, a, method="gaussian", pca_variance=None, n_permutations=0,
                            n_bootstrap=0)
    assert res.value == pytest.approx(tv_gauss(np.sqrt(unbiased)), abs=1e-10)


def test_wasserstein_frechet_mmd_match_direct_formulas() -> None:
    z, y, a = two_groups(120, np.array([0.7, 0.0]), seed=4, classes=1)
    x = pca_scores(z, None)
    x0, x1 = x[a == 0], x[a == 1]
    kw = {"pca_variance": None, "n_permutations": 0, "n_bootstrap": 0}

    w1 = np.mean([stats.wasserstein_distance(x0[:, j], x1[:, j]) for j in range(2)])
    assert latent_separation(z, y, a, method="wasserstein", **kw).value == pytest.approx(w1, abs=1e-12)

    c0, c1 = np.cov(x0.T), np.cov(x1.T)
    fd = ((x0.mean(0) - x1.mean(0)) ** 2).sum() + np.trace(c0 + c1 - 2 * linalg.sqrtm(c0 @ c1).real)
    assert latent_separation(z, y, a, method="frechet", **kw).value == pytest.approx(fd, abs=1e-10)

    sq = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    k = np.exp(-sq / (2 * np.median(sq[np.triu_indices(len(x), 1)])))
    k00, k11, k01 = k[np.ix_(a == 0, a == 0)], k[np.ix_(a == 1, a == 1)], k[np.ix_(a == 0, a == 1)]
    n0, n1 = len(x0), len(x1)
    mmd = ((k00.sum() - n0) / (n0 * (n0 - 1)) + (k11.sum() - n1) / (n1 * (n1 - 1))
           - 2 * k01.mean())
    assert latent_separation(z, y, a, method="mmd", **kw).value == pytest.approx(mmd, abs=1e-12)


def test_correlation_flip_is_invisible_to_marginals_and_means() -> None:
    """Groups with equal marginals and means, opposite correlations: only joint methods see it."""
    rng = np.random.default_rng(0)
    n, rho = 2000, 0.8
    a = np.r_[np.zeros(n, int), np.ones(n, int)]
    g0 = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n)
    g1 = rng.multivariate_normal([0, 0], [[1, -rho], [-rho, 1]], size=n)
    z, y = np.vstack([g0, g1]), np.zeros(2 * n, int)
    kw = {"pca_variance": None, "n_permutations": 99, "n_bootstrap": 0}
    assert latent_separation(z, y, a, **kw).p_value > 0.01
    gauss = latent_separation(z, y, a, method="gaussian", **kw)
    assert gauss.value < 0.05 < gauss.details["tv_lower_hellinger"]
    assert latent_separation(z, y, a, method="mmd", **kw).p_value == pytest.approx(0.01)


# ------------------------------------------------------------------ batched statistics


@pytest.mark.parametrize("edges", ["pooled", "reference"])
def test_batched_histogram_equals_marginal_tv_per_split(edges: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 5)) * [1, 2, 3, 4, 5]
    w1 = rng.random((20, 300)) < 0.4
    stat = HistogramTV(x, 17) if edges == "pooled" else ReferenceHistogramTV(x, 17)
    expected = [marginal_tv(x[~r], x[r], bins=17, edges=edges) for r in w1]
    np.testing.assert_allclose(stat.evaluate(~w1, w1), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", ["gaussian", "wasserstein", "frechet"])
def test_bootstrap_weights_equal_materialised_resamples(method: str) -> None:
    rng = np.random.default_rng(1)
    x, a = rng.normal(size=(60, 3)), np.r_[np.zeros(30, int), np.ones(30, int)]
    w0 = np.where(a == 0, rng.integers(0, 3, 60), 0)
    w1 = np.where(a == 1, rng.integers(0, 3, 60), 0)
    x_rep = np.vstack([np.repeat(x, w0, axis=0), np.repeat(x, w1, axis=0)])
    a_rep = np.r_[np.zeros(w0.sum(), int), np.ones(w1.sum(), int)]
    kw = {"bins": 50, "edges": "pooled", "seed": 0}
    direct = make_statistic(method, x_rep, a_rep, **kw).evaluate(1 - a_rep[None], a_rep[None])
    weighted = make_statistic(method, x, a, **kw).evaluate(w0[None], w1[None])
    np.testing.assert_allclose(weighted, direct, rtol=1e-9)


def test_classifier_weights_rescore_fixed_predictions() -> None:
    z, _, a = ten_dim_gaussians(200, 2.0)
    stat = ClassifierTV(z, a, seed=0)
    observed = stat.evaluate(1 - a[None], a[None])[0]
    doubled = stat.evaluate(2 * (1 - a[None]), 2 * a[None])[0]  # every row drawn twice
    assert observed == pytest.approx(doubled) and 0.4 < observed < 0.9


# ------------------------------------------------------------------ PCA, determinism, tables


@pytest.mark.parametrize("shape", [(300, 40), (30, 80)])
def test_pca_scores_match_sklearn(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(size=(shape[0], 6)) @ rng.normal(size=(6, shape[1])) + rng.normal(size=shape)
    ours = pca_scores(z, 0.7)
    zs = (z - z.mean(0)) / z.std(0)
    ref = PCA(n_components=0.7, svd_solver="full").fit_transform(zs)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(np.abs(ours), np.abs(ref), atol=1e-8)
    np.testing.assert_allclose(pca_scores(z, None), zs)
    assert pca_scores(z, 1.0).shape[1] == min(shape[0] - 1, shape[1])


@pytest.mark.parametrize("method", ["histogram", "classifier"])
def test_deterministic_for_a_seed(method: str) -> None:
    z, y, a = two_groups(600, np.array([0.3, 0.0, 0.0]), seed=7)
    kw = {"method": method, "n_permutations": 30, "n_bootstrap": 30, "pca_variance": None}
    one, two = latent_separation(z, y, a, seed=11, **kw), latent_separation(z, y, a, seed=11, **kw)
    other = latent_separation(z, y, a, seed=12, **kw)
    assert one.to_dict() == two.to_dict()
    np.testing.assert_array_equal(one.null_values, two.null_values)
    np.testing.assert_array_equal(one.bootstrap_values, two.bootstrap_values)
    assert not np.array_equal(one.null_values, other.null_values)


def test_result_fields_and_json_round_trip() -> None:
    z, y, a = two_groups(800, np.array([1.0, 0.0, 0.0, 0.0]), seed=8)
    res = latent_separation(z, y, a, pca_variance=0.9, n_permutations=40, n_bootstrap=40)
    assert set(res.per_class) == {0, 1}
    assert res.value == pytest.approx(np.mean(list(res.per_class.values())))
    assert res.counts.to_numpy().sum() == 800 and list(res.counts.columns) == [0, 1]
    assert res.excess == pytest.approx(res.value - res.null_mean)
    assert res.ci[0] <= res.value <= res.ci[1]
    assert json.loads(json.dumps(res.to_dict()))["per_class"].keys() == {"0", "1"}


def test_separation_table_matches_single_calls() -> None:
    z, y, a = two_groups(800, np.array([1.0, 0.0, 0.0]), seed=9)
    r = np.random.default_rng(1).integers(0, 2, 800)
    kw = {"n_permutations": 30, "n_bootstrap": 20, "pca_variance": None}
    table = separation_table(z, y, {"shifted": a, "random": r}, **kw)
    assert list(table.columns) == ["attribute", *TABLE_COLUMNS]
    assert table["attribute"].tolist() == ["shifted", "random"]
    single = latent_separation(z, y, r, **kw)
    assert table.loc[1, "value"] == single.value and table.loc[1, "p_value"] == single.p_value
    assert table.loc[0, "excess"] > 0.04 > abs(table.loc[1, "excess"])


def test_multi_valued_tables() -> None:
    rng = np.random.default_rng(0)
    n = 1500
    y, g = rng.integers(0, 2, n), rng.integers(0, 3, n)
    z = rng.normal(size=(n, 3)) + np.outer(g == 2, [1.5, 0.0, 0.0])  # only value 2 stands apart
    kw = {"n_permutations": 50, "n_bootstrap": 0, "pca_variance": None}
    ovr = one_vs_rest_table(z, y, g, **kw)
    assert ovr["group"].tolist() == [0, 1, 2] and ovr["value"].idxmax() == 2
    assert ovr.loc[2, "value"] == latent_separation(z, y, (g == 2).astype(int), **kw).value
    pairs = pairwise_table(z, y, g, **kw)
    assert list(zip(pairs["group_0"], pairs["group_1"], strict=True)) == [(0, 1), (0, 2), (1, 2)]
    assert pairs.loc[0, "p_value"] > 0.05 and (pairs.loc[1:, "p_value"] < 0.05).all()


# ------------------------------------------------------------------ errors


@pytest.fixture
def data():
    return two_groups(400, np.array([0.5, 0.0, 0.0]), seed=10)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda z, y, a: (z, y[:-1], a), "y has 399 entries but the embeddings have 400"),
        (lambda z, y, a: (z, y, a[:-1]), "a has 399 entries"),
        (lambda z, y, a: (np.where(np.arange(400)[:, None] == 7, np.nan, z), y, a), "NaN/inf"),
        (lambda z, y, a: (np.where(np.arange(400)[:, None] == 7, np.inf, z), y, a), "NaN/inf"),
        (lambda z, y, a: (z, np.where(np.arange(400) == 3, np.nan, y), a), "y contains 1 NaN"),
        (lambda z, y, a: (z, y, np.where(y == 1, 0, a)), r"class y=1 has no samples in group a=1"),
        (lambda z, y, a: (z, y, a + 1), "must be binary"),
    ],
)
def test_bad_inputs_name_the_problem(data, change, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        latent_separation(*change(*data), n_permutations=0)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"method": "kde"}, "unknown method 'kde'"),
        ({"edges": "x0"}, "unknown edges 'x0'"),
        ({"pca_variance": 0.0}, r"pca_variance must lie in \(0, 1\]"),
        ({"pca_variance": 1.5}, r"pca_variance must lie in \(0, 1\]"),
        ({"bins": 120}, "needs at least 120 per class-group cell"),
        ({"n_permutations": -1}, "n_permutations must be an integer >= 0"),
        ({"confidence": 1.0}, "confidence must lie in"),
    ],
)
def test_bad_options_name_the_problem(data, kw: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        latent_separation(*data, **kw)


def test_too_few_samples_for_the_gaussian_says_the_minimum() -> None:
    z, a = np.random.default_rng(0).normal(size=(42, 20)), np.r_[np.zeros(21, int), np.ones(21, int)]
    with pytest.raises(ValueError, match="group a=0 has 21 samples; method='gaussian' needs at least 22"):
        latent_separation(z, np.zeros(42, int), a, method="gaussian", pca_variance=None)


def test_marginal_tv_rejects_mismatched_dimensions() -> None:
    with pytest.raises(ValueError, match="x0 has 2 dimensions but x1 has 3"):
        marginal_tv(np.zeros((5, 2)), np.zeros((5, 3)))
