"""The separation estimators on synthetic Gaussian data, where the true answer is known (chapter 02).

Each study draws class-conditional Gaussian embeddings (:func:`sample_groups`), runs
:func:`latentsep.separation.latent_separation` with a permutation null and a bootstrap interval,
and returns one tidy row per estimate (:func:`estimate_row`):

- :func:`known_answer_study` -- 1-D mean shifts, histogram with both kinds of bin edges against
  the exact TV; :func:`spread_example` -- what reference edges do when the groups differ in spread;
- :func:`bias_study` -- identical groups (true value 0) at growing sample sizes;
- :func:`bins_study` -- the histogram's dependence on its number of bins;
- :func:`failure_scenarios` and :func:`scenario_study` -- oblique shifts, opposite correlations
  and a shift that PCA drops.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from latentsep.checks import check_positive_int
from latentsep.divergences import METHODS, marginal_tv
from latentsep.separation import SeparationResult, latent_separation
from latentsep.theory.gaussian import mahalanobis_tv

__all__ = [
    "DIMS",
    "KNOWN_ANSWER_ESTIMATORS",
    "TV_SCALE_METHODS",
    "Resampling",
    "Scenario",
    "bias_study",
    "bins_study",
    "estimate_row",
    "failure_scenarios",
    "known_answer_study",
    "known_answer_table",
    "sample_groups",
    "scenario_study",
    "scenario_table",
    "shift_tv_curve",
    "spread_example",
    "spread_markdown",
    "tv_scale_table",
]

DIMS = 10  # embedding dimensions of the synthetic data (chapter 02's prose relies on ten)
# The estimators of the 1-D known-answer study: display label -> latent_separation options.
KNOWN_ANSWER_ESTIMATORS: dict[str, dict[str, str]] = {
    "histogram, pooled edges": {"method": "histogram"},
    "histogram, reference edges (paper)": {"method": "histogram", "edges": "reference"},
    "classifier": {"method": "classifier"},
    "gaussian": {"method": "gaussian"},
}
TV_SCALE_METHODS = ("histogram", "classifier", "gaussian")  # the methods on the bound's scale
_SHIFTED_COORDINATES = 3  # the bins study shifts this many coordinates ...
_COORDINATE_SHIFT = 0.5  # ... by this many standard deviations


@dataclass(frozen=True)
class Resampling:
    """How every estimate of a study is resampled: permutations, bootstrap resamples, seed.

    The seed also seeds the study's synthetic draws.
    """

    n_permutations: int = 200
    n_bootstrap: int = 100
    seed: int = 0


def sample_groups(
    n_per_cell: int,
    *,
    dims: int = DIMS,
    mean1: np.ndarray | None = None,
    cov0: np.ndarray | None = None,
    cov1: np.ndarray | None = None,
    classes: int = 2,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Embeddings of two groups: group 0 ~ N(0, cov0), group 1 ~ N(mean1, cov1), in every class.

    Parameters
    ----------
    n_per_cell : int
        Samples of each group in each class.
    dims : int
        Embedding dimensions.
    mean1 : np.ndarray, shape (dims,), optional
        Group 1's mean (default 0).
    cov0, cov1 : np.ndarray, shape (dims, dims), optional
        The groups' covariances (default identity; ``cov1`` defaults to ``cov0``).
    classes : int
        Number of classes; every class has the same two laws.
    seed : int
        Seeds the draw.

    Returns
    -------
    z : np.ndarray, shape (2 * classes * n_per_cell, dims)
    y : np.ndarray, shape (n,)
        Class, in blocks of ``2 * n_per_cell``.
    a : np.ndarray, shape (n,)
        Group, in blocks of ``n_per_cell`` within each class.

    Examples
    --------
    >>> z, y, a = sample_groups(3, dims=2, classes=2)
    >>> z.shape, y.tolist(), a.tolist()
    ((12, 2), [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1])
    """
    check_positive_int(n_per_cell, "n_per_cell")
    rng = np.random.default_rng(seed)
    cov0 = np.eye(dims) if cov0 is None else cov0
    laws = [(np.zeros(dims), cov0),
            (np.zeros(dims) if mean1 is None else mean1, cov0 if cov1 is None else cov1)]
    z = [rng.multivariate_normal(m, c, size=n_per_cell) for _ in range(classes) for m, c in laws]
    y = np.repeat(np.arange(classes), 2 * n_per_cell)
    a = np.tile(np.repeat([0, 1], n_per_cell), classes)
    return np.vstack(z), y, a


def estimate_row(result: SeparationResult, **labels: Any) -> dict[str, Any]:
    """One tidy row: ``labels``, the estimate, its interval, and the null's mean and central 95 %.

    Columns after the labels: ``value, ci_low, ci_high, null_mean, null_low, null_high, excess,
    excess_low, excess_high, p_value``.
    """
    lo, hi = np.quantile(result.null_values, [0.025, 0.975])
    return {**labels, "value": result.value, "ci_low": result.ci[0], "ci_high": result.ci[1],
            "null_mean": result.null_mean, "null_low": lo, "null_high": hi,
            "excess": result.excess, "excess_low": result.excess_ci[0],
            "excess_high": result.excess_ci[1], "p_value": result.p_value}


def known_answer_study(shifts: Sequence[float], cell_size: int,
                       run: Resampling = Resampling()) -> pd.DataFrame:
    """Every :data:`KNOWN_ANSWER_ESTIMATORS` on 1-D groups N(0, 1) and N(μ, 1) (chapter 02, §1).

    Parameters
    ----------
    shifts : sequence of float
        Mean shifts μ, in standard deviations.
    cell_size : int
        Samples per group (one class).
    run : Resampling
        Permutations, bootstrap resamples and seed of every estimate.

    Returns
    -------
    pd.DataFrame
        One :func:`estimate_row` per (μ, estimator) with labels ``mu, estimator, truth``
        (``truth`` = 2Φ(μ/2) − 1).
    """
    rows = []
    for mu in shifts:
        z, y, a = sample_groups(cell_size, dims=1, mean1=np.array([mu]), classes=1,
                                seed=run.seed)
        for label, options in KNOWN_ANSWER_ESTIMATORS.items():
            result = latent_separation(z, y, a, pca_variance=None, **options, **asdict(run))
            rows.append(estimate_row(result, mu=mu, estimator=label,
                                     truth=float(mahalanobis_tv(mu))))
    return pd.DataFrame(rows)


def shift_tv_curve(max_shift: float, points: int = 61) -> pd.DataFrame:
    """Exact TV between N(0, 1) and N(μ, 1), μ on [0, ``max_shift``]: columns ``mu, truth`` (§1)."""
    mu = np.linspace(0, max_shift, points)
    return pd.DataFrame({"mu": mu, "truth": [float(mahalanobis_tv(m)) for m in mu]})


def known_answer_table(known: pd.DataFrame) -> pd.DataFrame:
    """Estimates of :func:`known_answer_study` side by side, one row per μ, with the truth (§1)."""
    return known.pivot_table(index="mu", columns="estimator", values="value").assign(
        truth=known.groupby("mu")["truth"].first())


def spread_example(cell_size: int, seed: int = 0) -> dict[str, float]:
    """Histogram TV of N(0, 0.5²) against N(0, 1), with each group as the reference and pooled (§1).

    Returns
    -------
    dict
        ``truth`` (numerical integration), ``reference_narrow`` and ``reference_wide`` (reference
        edges on the narrow / the wide group's range), ``pooled``.
    """
    rng = np.random.default_rng(seed)
    narrow, wide = rng.normal(0, 0.5, cell_size), rng.normal(0, 1, cell_size)
    grid = np.linspace(-8, 8, 16_001)
    density_gap = np.abs(stats.norm.pdf(grid, scale=0.5) - stats.norm.pdf(grid))
    return {
        "truth": float(0.5 * density_gap.sum() * (grid[1] - grid[0])),
        "reference_narrow": marginal_tv(narrow, wide, edges="reference"),
        "reference_wide": marginal_tv(wide, narrow, edges="reference"),
        "pooled": marginal_tv(narrow, wide),
    }


def spread_markdown(example: dict[str, float], cell_size: int) -> str:
    """What :func:`spread_example` shows, in one sentence (chapter 02, §1)."""
    return (
        f"Groups of different spread, N(0, 0.5²) and N(0, 1), {cell_size:,} each (truth "
        f"{example['truth']:.3f}): reference edges give {example['reference_narrow']:.3f}"
        f" with the narrow group as the reference and {example['reference_wide']:.3f} with the "
        f"wide one; pooled edges give {example['pooled']:.3f} either way."
    )


def bias_study(cell_sizes: Sequence[int], run: Resampling = Resampling(),
               methods: Sequence[str] = METHODS) -> pd.DataFrame:
    """Every method on two *identical* groups of :data:`DIMS` dimensions (chapter 02, §2).

    Returns
    -------
    pd.DataFrame
        One :func:`estimate_row` per (cell size, method) with labels ``n_per_cell, method`` and a
        ``truth`` column of 0.
    """
    rows = []
    for n in cell_sizes:
        z, y, a = sample_groups(n, seed=run.seed)
        for method in methods:
            result = latent_separation(z, y, a, method=method, pca_variance=None, **asdict(run))
            rows.append(estimate_row(result, n_per_cell=n, method=method))
    return pd.DataFrame(rows).assign(truth=0.0)


def bins_study(cell_sizes: Sequence[int], bins_grid: Sequence[int],
               run: Resampling = Resampling()) -> pd.DataFrame:
    """The histogram with each number of bins, group 1 shifted in 3 of 10 coordinates (§3).

    The shift is 0.5 standard deviations, so the mean of the per-coordinate TVs, what the
    histogram estimates, is ``0.3 · (2Φ(0.25) − 1)`` (column ``truth``).

    Returns
    -------
    pd.DataFrame
        One :func:`estimate_row` per (cell size, bins) with labels ``n_per_cell`` (text, e.g.
        ``"200 per cell"``), ``bins``, ``truth``.
    """
    shift = np.r_[np.full(_SHIFTED_COORDINATES, _COORDINATE_SHIFT),
                  np.zeros(DIMS - _SHIFTED_COORDINATES)]
    truth = _SHIFTED_COORDINATES / DIMS * float(mahalanobis_tv(_COORDINATE_SHIFT))
    rows = []
    for n in cell_sizes:
        z, y, a = sample_groups(n, mean1=shift, seed=run.seed)
        for bins in bins_grid:
            result = latent_separation(z, y, a, pca_variance=None, bins=bins, **asdict(run))
            rows.append(estimate_row(result, n_per_cell=f"{n:,} per cell", bins=bins, truth=truth))
    return pd.DataFrame(rows)


class Scenario(NamedTuple):
    """Two groups' laws (:func:`sample_groups` options), the PCA share to use and the joint TV."""

    law: dict[str, np.ndarray]
    pca_variance: float | None
    truth: float


def failure_scenarios(shift: float, rho: float, n_monte_carlo: int, seed: int = 0,
                      pca_variance: float = 0.70) -> dict[str, Scenario]:
    """Six scenarios that marginal histograms or PCA get wrong, in :data:`DIMS` dimensions (§4).

    Parameters
    ----------
    shift : float
        Mahalanobis distance between the group means where there is a shift.
    rho : float
        Correlation of two coordinates, +ρ in group 0 and −ρ in group 1.
    n_monte_carlo : int
        Draws for the Monte-Carlo joint TV of the correlation pair.
    seed : int
        Seeds the Monte-Carlo draws; ``seed + 1`` the random mixing of the anisotropic features.
    pca_variance : float
        PCA share of the "low-variance shift, PCA" scenario (the paper's 70 %).

    Returns
    -------
    dict of str to Scenario
        In display order: shift along a coordinate / oblique; opposite correlations / rotated
        45°; low-variance shift with and without PCA.
    """
    rng = np.random.default_rng(seed + 1)
    corr, anti = np.eye(DIMS), np.eye(DIMS)
    corr[0, 1] = corr[1, 0] = rho
    anti[0, 1] = anti[1, 0] = -rho
    turn = np.eye(DIMS)
    turn[:2, :2] = np.array([[1, -1], [1, 1]]) / np.sqrt(2)
    # correlated features: random orthogonal mixing of scales 3 (x4), 1 (x5), 0.2 (x1)
    mix = np.linalg.qr(rng.normal(size=(DIMS, DIMS)))[0]
    aniso = mix @ np.diag(np.r_[np.full(4, 3.0), np.ones(DIMS - 5), 0.2] ** 2) @ mix.T
    low_shift = mix[:, -1] * 0.2 * shift  # Mahalanobis distance `shift` along the 0.2 direction

    law0, law1 = (stats.multivariate_normal(np.zeros(2), c[:2, :2]) for c in (corr, anti))
    draws = law0.rvs(n_monte_carlo, random_state=seed)
    corr_truth = float(np.mean(np.maximum(0.0, 1 - np.exp(law1.logpdf(draws) - law0.logpdf(draws)))))
    shift_truth = float(mahalanobis_tv(shift))
    return {
        "shift, along a coordinate": Scenario({"mean1": np.r_[shift, np.zeros(DIMS - 1)]}, None,
                                              shift_truth),
        "shift, oblique": Scenario({"mean1": np.full(DIMS, shift / np.sqrt(DIMS))}, None,
                                   shift_truth),
        "opposite correlations": Scenario({"cov0": corr, "cov1": anti}, None, corr_truth),
        "opposite correlations, rotated 45°": Scenario(
            {"cov0": turn @ corr @ turn.T, "cov1": turn @ anti @ turn.T}, None, corr_truth),
        f"low-variance shift, PCA {pca_variance * 100:.0f} %": Scenario(
            {"mean1": low_shift, "cov0": aniso}, pca_variance, shift_truth),
        "low-variance shift, no PCA": Scenario({"mean1": low_shift, "cov0": aniso}, None,
                                               shift_truth),
    }


def scenario_study(scenarios: dict[str, Scenario], cell_size: int,
                   run: Resampling = Resampling(),
                   methods: Sequence[str] = METHODS) -> pd.DataFrame:
    """Every method on every scenario, two classes of ``cell_size`` samples per group (chapter 02).

    Returns
    -------
    pd.DataFrame
        One :func:`estimate_row` per (scenario, method) with labels ``scenario, method, truth,
        n_components`` and the method's ``details`` (e.g. ``tv_lower_hellinger``).
    """
    rows = []
    for name, (law, pca, truth) in scenarios.items():
        z, y, a = sample_groups(cell_size, **law, seed=run.seed)
        for method in methods:
            result = latent_separation(z, y, a, method=method, pca_variance=pca, **asdict(run))
            rows.append(estimate_row(result, scenario=name, method=method, truth=truth,
                                     n_components=result.n_components, **result.details))
    return pd.DataFrame(rows)


def tv_scale_table(scenarios: pd.DataFrame) -> pd.DataFrame:
    """The TV-scale rows of :func:`scenario_study`, plus the Gaussian fit's Hellinger lower bound (§4).

    The bound (for Gaussians with separate covariances) is a fourth "method" with no interval.
    """
    tv_rows = scenarios[scenarios["method"].isin(TV_SCALE_METHODS)]
    hellinger = scenarios[scenarios["method"] == "gaussian"].assign(
        method="gaussian: Hellinger lower bound", value=lambda d: d["tv_lower_hellinger"],
        ci_low=np.nan, ci_high=np.nan)
    columns = ["scenario", "method", "value", "ci_low", "ci_high", "truth"]
    return pd.concat([tv_rows, hellinger])[columns]


def scenario_table(scenarios: pd.DataFrame) -> pd.DataFrame:
    """Each method's value per scenario (rows in study order), with the joint TV (chapter 02, §4)."""
    return scenarios.pivot_table(index="scenario", columns="method", values="value",
                                 sort=False).assign(
        joint_tv=scenarios.groupby("scenario", sort=False)["truth"].first())
