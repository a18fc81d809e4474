"""Class-conditional latent separation between subgroups, with a permutation null and a CI.

Pipeline, as in the paper: standardise the embeddings, keep the leading principal components that
explain at least ``pca_variance`` of the variance, then for every class ``y`` compare group 0's and
group 1's scores with a two-group statistic, and average over classes with equal weights.

Beyond the paper, every estimate comes with

- a permutation null: group labels shuffled within each class, which keeps the class sizes, the
  group sizes per class and the PCA fixed and destroys only the group/embedding link. Its mean is
  the value an attribute with no separation would get at these sample sizes (the paper's Random
  attribute, but exact and with many draws), ``excess = value − null mean``, and ``p_value``;
- a bootstrap interval from resampling rows within each class-group cell. Resampling with
  replacement duplicates rows, which inflates small-sample-biased statistics (histogram,
  Wasserstein) further, so the bootstrap distribution sits above the value and a percentile
  interval can miss it. We use the spread only: ``(v − (q_hi − b̄), v − (q_lo − b̄))`` for bootstrap
  quantiles ``q`` and mean ``b̄``, an interval for the estimator's expected value *at this sample
  size*. For biased estimators that is not the true TV: ``excess`` is the number to compare;
- methods other than the paper's histogram, listed in ``latentsep.divergences``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from latentsep.checks import (
    as_1d_labels,
    as_2d_float,
    as_binary,
    check_choice,
    check_fraction,
    check_positive_int,
)
from latentsep.divergences import (
    EDGES,
    METHODS,
    MMD_MAX_SAMPLES,
    N_FOLDS,
    make_statistic,
    marginal_tv,
)
from latentsep.pca import pca_scores

__all__ = [
    "PAPER_ESTIMATOR",
    "POOLED_HISTOGRAM",
    "SeparationResult",
    "estimator_name",
    "latent_separation",
    "marginal_tv",
    "one_vs_rest_table",
    "pairwise_table",
    "separation_table",
]

# Names of the two histogram estimators in separation tables (see :func:`estimator_name`).
PAPER_ESTIMATOR = "histogram/reference"  # the authors' estimator, exactly: bins on group 0's range
POOLED_HISTOGRAM = "histogram/pooled"  # ours: bins on the pooled range of both groups
TABLE_COLUMNS = [
    "method", "value", "ci_low", "ci_high", "null_mean", "excess", "p_value", "n_components",
]


@dataclass(frozen=True)
class _Settings:
    """Estimator options shared by ``latent_separation`` and the table helpers (validated)."""

    method: str = "histogram"
    pca_variance: float | None = 0.70
    bins: int = 50
    edges: str = "pooled"
    n_permutations: int = 200
    n_bootstrap: int = 200
    seed: int = 0
    confidence: float = 0.95

    def __post_init__(self) -> None:
        check_choice(self.method, "method", METHODS)
        check_choice(self.edges, "edges", EDGES)
        if self.pca_variance is not None:
            check_fraction(self.pca_variance, "pca_variance", low_open=True)
        check_positive_int(self.bins, "bins")
        check_positive_int(self.n_permutations, "n_permutations", minimum=0)
        check_positive_int(self.n_bootstrap, "n_bootstrap", minimum=0)
        check_positive_int(self.seed, "seed", minimum=0)
        if not 0 < self.confidence < 1:
            raise ValueError(f"confidence must lie in (0, 1); got {self.confidence!r} (e.g. 0.95).")


@dataclass(frozen=True)
class SeparationResult:
    """Latent separation of one binary attribute.

    Attributes
    ----------
    method : str
        Estimator name (see ``latent_separation``).
    value : float
        Unweighted mean over classes of the per-class statistic.
    per_class : dict
        Class label -> statistic within that class.
    counts : pandas.DataFrame
        Samples per cell: index = class (``y``), columns = group (``a`` = 0, 1).
    n_components : int
        Dimensions the statistic saw (PCA components, or all features without PCA).
    null_mean : float
        Mean of ``null_values``; NaN when ``n_permutations = 0``.
    null_values : ndarray, shape (n_permutations,)
        The statistic with group labels shuffled within each class.
    p_value : float
        ``(1 + #{null ≥ value}) / (1 + n_permutations)``; NaN without permutations.
    excess : float
        ``value − null_mean``: separation beyond what chance gives at these sample sizes.
    ci : tuple of float
        Bootstrap interval at level ``confidence`` for the estimator's expected value at these
        sample sizes (see the module docstring); NaNs without bootstrap.
    excess_ci : tuple of float
        ``ci`` shifted by ``null_mean``.
    bootstrap_values : ndarray, shape (n_bootstrap,)
    details : dict
        Method extras, averaged over classes: ``balanced_accuracy`` (classifier);
        ``mahalanobis_sq``, ``tv_lower_hellinger``, ``tv_upper_hellinger`` (gaussian).
    seed : int
    settings : dict
        ``pca_variance, bins, edges, n_permutations, n_bootstrap, confidence``.
    """

    method: str
    value: float
    per_class: dict[Any, float]
    counts: pd.DataFrame
    n_components: int
    null_mean: float
    null_values: np.ndarray
    p_value: float
    excess: float
    ci: tuple[float, float]
    excess_ci: tuple[float, float]
    bootstrap_values: np.ndarray
    details: dict[str, float]
    seed: int
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (scalars, per-class values, counts; no resampled arrays)."""
        return {
            "method": self.method,
            "value": self.value,
            "ci_low": self.ci[0],
            "ci_high": self.ci[1],
            "null_mean": self.null_mean,
            "excess": self.excess,
            "excess_ci_low": self.excess_ci[0],
            "excess_ci_high": self.excess_ci[1],
            "p_value": self.p_value,
            "n_components": self.n_components,
            "seed": self.seed,
            "per_class": {str(k): v for k, v in self.per_class.items()},
            "counts": {
                str(c): {str(g): int(n) for g, n in row.items()}
                for c, row in self.counts.iterrows()
            },
            "details": dict(self.details),
            **self.settings,
        }


def _cell_counts(y: np.ndarray, a: np.ndarray, s: _Settings, n_dims: int) -> pd.DataFrame:
    """Samples per (class, group); raise if a cell is empty or too small for the method."""
    counts = pd.crosstab(pd.Series(y, name="y"), pd.Series(a, name="a")).reindex(
        columns=[0, 1], fill_value=0
    )
    need = {
        "histogram": (s.bins, f"one sample per bin on average with bins={s.bins}"),
        "classifier": (N_FOLDS, f"one sample per fold of the {N_FOLDS}-fold cross-fitting"),
        "gaussian": (n_dims + 2, f"an invertible covariance in {n_dims} dimensions"),
        "wasserstein": (1, "a non-empty group"),
        "frechet": (2, "a covariance"),
        "mmd": (2, "a within-group pair"),
    }
    minimum, why = need[s.method]
    for c, row in counts.iterrows():
        for g, n in row.items():
            if n == 0:
                raise ValueError(
                    f"class y={c!r} has no samples in group a={g}, so its groups cannot be "
                    f"compared. Drop class {c!r} (keep rows with y != {c!r}) or use an attribute "
                    "that occurs in every class."
                )
            if n < minimum:
                raise ValueError(
                    f"class y={c!r}, group a={g} has {n} samples; method={s.method!r} needs at "
                    f"least {minimum} per class-group cell ({why}). Use more data, "
                    + ("fewer bins, " if s.method == "histogram" else "")
                    + ("a lower pca_variance, " if s.method == "gaussian" else "")
                    + "or another method."
                )
        if s.method == "mmd" and row.sum() > MMD_MAX_SAMPLES:
            raise ValueError(
                f"class y={c!r} has {row.sum()} samples; method='mmd' holds an n×n kernel matrix "
                f"and accepts at most {MMD_MAX_SAMPLES} per class. Subsample the rows first."
            )
    return counts


def _bootstrap_weights(
    a: np.ndarray, n_bootstrap: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial resampling counts within each group, shapes (n_bootstrap, n) for groups 0, 1."""
    weights = (np.zeros((n_bootstrap, len(a)), np.int32), np.zeros((n_bootstrap, len(a)), np.int32))
    for g, w in enumerate(weights):
        idx = np.flatnonzero(a == g)
        m = len(idx)
        draws = rng.integers(0, m, size=(n_bootstrap, m)) + m * np.arange(n_bootstrap)[:, None]
        w[:, idx] = np.bincount(draws.ravel(), minlength=n_bootstrap * m).reshape(n_bootstrap, m)
    return weights


def _estimate(x: np.ndarray, y: np.ndarray, a: np.ndarray, s: _Settings) -> SeparationResult:
    """Separation of binary ``a`` on scores ``x`` (n, d), per class ``y``; inputs validated."""
    counts = _cell_counts(y, a, s, x.shape[1])
    classes = counts.index.to_numpy()
    per_class, nulls, boots, details = {}, [], [], []
    for c, seq in zip(classes, np.random.SeedSequence(s.seed).spawn(len(classes)), strict=True):
        perm_seq, boot_seq, fit_seq = seq.spawn(3)
        xc, ac = x[y == c], a[y == c].astype(bool)
        stat = make_statistic(
            s.method, xc, ac.astype(np.int64), bins=s.bins, edges=s.edges,
            seed=int(fit_seq.generate_state(1)[0]),
        )
        # Standardisation and PCA never see `a`, so shuffling `a` leaves the scores unchanged:
        # fitting them once is exact, not an approximation, and keeps the null cheap.
        shuffled = np.random.default_rng(perm_seq).permuted(
            np.tile(ac, (s.n_permutations, 1)), axis=1
        )
        w1 = np.vstack([ac[None], shuffled])
        values = stat.evaluate(~w1, w1)  # row 0 is the observed split, same code path as the null
        per_class[c.item() if hasattr(c, "item") else c] = float(values[0])
        nulls.append(values[1:])
        b0, b1 = _bootstrap_weights(ac, s.n_bootstrap, np.random.default_rng(boot_seq))
        boots.append(stat.evaluate(b0, b1))
        details.append(stat.details((~ac).astype(np.float64), ac.astype(np.float64)))

    value = float(np.mean(list(per_class.values())))
    null = np.mean(nulls, axis=0)  # equal class weights, as for the value
    boot = np.mean(boots, axis=0)
    if s.n_permutations:
        null_mean = float(null.mean())
        p_value = float((1 + (null >= value).sum()) / (1 + s.n_permutations))
    else:
        null_mean = p_value = float("nan")
    if s.n_bootstrap:
        q_lo, q_hi = np.quantile(boot, [(1 - s.confidence) / 2, (1 + s.confidence) / 2])
        ci = (float(value - (q_hi - boot.mean())), float(value - (q_lo - boot.mean())))
    else:
        ci = (float("nan"), float("nan"))
    return SeparationResult(
        method=s.method,
        value=value,
        per_class=per_class,
        counts=counts,
        n_components=int(x.shape[1]),
        null_mean=null_mean,
        null_values=null,
        p_value=p_value,
        excess=value - null_mean,
        ci=ci,
        excess_ci=(ci[0] - null_mean, ci[1] - null_mean),
        bootstrap_values=boot,
        details={k: float(np.mean([d[k] for d in details])) for k in details[0]},
        seed=s.seed,
        settings={k: v for k, v in asdict(s).items() if k not in ("method", "seed")},
    )


def estimator_name(method: str, edges: str = "pooled") -> str:
    """How a separation table names an estimator: ``"histogram/<edges>"`` or the method's name.

    Examples
    --------
    >>> estimator_name("histogram", "reference") == PAPER_ESTIMATOR, estimator_name("classifier")
    (True, 'classifier')
    """
    return f"histogram/{edges}" if method == "histogram" else method


def latent_separation(
    z: np.ndarray,
    y: np.ndarray,
    a: np.ndarray,
    *,
    method: str = "histogram",
    pca_variance: float | None = 0.70,
    bins: int = 50,
    edges: str = "pooled",
    n_permutations: int = 200,
    n_bootstrap: int = 200,
    seed: int = 0,
    confidence: float = 0.95,
) -> SeparationResult:
    """Class-conditional separation of two subgroups in an embedding space.

    Parameters
    ----------
    z : array_like, shape (n, p)
        Embeddings of a frozen encoder (the paper uses the held-out test set).
    y : array_like, shape (n,)
        Class labels; the statistic is computed within each class and averaged with equal weights.
    a : array_like, shape (n,)
        Binary (0/1) subgroup attribute.
    method : str
        What is estimated, per class:

        - ``"histogram"``: the paper's mean of 1-D histogram TVs over components (marginals only;
          biased upwards at small n, see ``null_mean``);
        - ``"classifier"``: ``2·BA − 1`` of a cross-fitted logistic group classifier, a lower
          bound on the joint TV that sees oblique directions;
        - ``"gaussian"``: joint TV of equal-covariance Gaussians fitted to the groups,
          ``2Φ(Δ/2) − 1``, with Hellinger bounds for separate covariances in ``details``;
        - ``"wasserstein"``: mean per-component 1-D Wasserstein-1 distance (units of the scores);
        - ``"frechet"``: Fréchet distance between fitted Gaussians (squared units);
        - ``"mmd"``: unbiased RBF MMD² with the median-distance bandwidth.
    pca_variance : float in (0, 1] or None
        Explained-variance share to keep (paper: 0.70); ``None`` skips PCA.
    bins : int
        Bins per dimension (histogram only; paper: 50).
    edges : {"pooled", "reference"}
        Histogram bin range: pooled range of both groups (default, symmetric), or group 0's range
        with group 1's out-of-range mass dropped (the authors' estimator, exactly).
    n_permutations : int
        Within-class shuffles of ``a`` for the null (0 skips it).
    n_bootstrap : int
        Within-cell bootstrap resamples for the CI (0 skips it).
    seed : int
        Seeds shuffles, resamples and the classifier's folds; equal seeds give equal results.
    confidence : float
        Level of ``ci``.

    Returns
    -------
    SeparationResult

    Examples
    --------
    Two groups shifted by 1.5 standard deviations along one axis: the Gaussian joint TV is
    ``2Φ(0.75) − 1 ≈ 0.55``, far above its permutation null.

    >>> rng = np.random.default_rng(0)
    >>> y, a = rng.integers(0, 2, 400), rng.integers(0, 2, 400)
    >>> z = rng.normal(size=(400, 5))
    >>> z[:, 0] += 1.5 * a
    >>> result = latent_separation(z, y, a, method="gaussian", pca_variance=None,
    ...                            n_permutations=50, n_bootstrap=50, seed=0)
    >>> round(result.value, 2), round(result.null_mean, 2), result.p_value < 0.05
    (0.57, 0.04, True)
    """
    settings = _Settings(method, pca_variance, bins, edges, n_permutations, n_bootstrap, seed,
                         confidence)
    z = as_2d_float(z, "z")
    y = as_1d_labels(y, "y", len(z))
    a = as_binary(a, "a", len(z))
    return _estimate(pca_scores(z, pca_variance), y, a, settings)


def _row(result: SeparationResult) -> dict[str, Any]:
    summary = result.to_dict()
    return {k: summary[k] for k in TABLE_COLUMNS}


def _scores_and_labels(
    z: np.ndarray, y: np.ndarray, settings: _Settings
) -> tuple[np.ndarray, np.ndarray]:
    z = as_2d_float(z, "z")
    return pca_scores(z, settings.pca_variance), as_1d_labels(y, "y", len(z))


def separation_table(
    z: np.ndarray, y: np.ndarray, attributes: dict[str, np.ndarray], **kw: Any
) -> pd.DataFrame:
    """``latent_separation`` for several binary attributes on one shared PCA.

    Parameters
    ----------
    z, y
        As for ``latent_separation``.
    attributes : dict of str -> array_like, shape (n,)
        Binary (0/1) attributes by name, e.g. ``{"colour": s, "digit_group": g, "random": r}``.
    **kw
        Any keyword of ``latent_separation``; the same seed is used for every attribute.

    Returns
    -------
    pandas.DataFrame
        One row per attribute: ``attribute, method, value, ci_low, ci_high, null_mean, excess,
        p_value, n_components``.
    """
    settings = _Settings(**kw)
    if not attributes:
        raise ValueError("attributes is empty; pass a dict such as {'colour': s, 'random': r}.")
    x, y = _scores_and_labels(z, y, settings)
    rows = [
        {"attribute": name, **_row(_estimate(x, y, as_binary(v, f"attributes[{name!r}]", len(x)),
                                             settings))}
        for name, v in attributes.items()
    ]
    return pd.DataFrame(rows, columns=["attribute", *TABLE_COLUMNS])


def _multi_valued(attribute: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The validated attribute (n,) and its sorted distinct values (at least two)."""
    attribute = as_1d_labels(attribute, "attribute", n)
    values = np.unique(attribute)
    if len(values) < 2:
        raise ValueError(
            f"attribute has the single value {values.tolist()}; it needs at least two groups."
        )
    return attribute, values


def one_vs_rest_table(z: np.ndarray, y: np.ndarray, attribute: np.ndarray, **kw: Any) -> pd.DataFrame:
    """Separation of each value of a multi-valued attribute from all other values.

    Parameters
    ----------
    z, y
        As for ``latent_separation``.
    attribute : array_like, shape (n,)
        Group label per sample with two or more values (e.g. age band, hospital).
    **kw
        Any keyword of ``latent_separation``.

    Returns
    -------
    pandas.DataFrame
        One row per value: ``group`` (the value, coded 1 against the rest, coded 0) and the
        columns of ``separation_table``.
    """
    settings = _Settings(**kw)
    x, y = _scores_and_labels(z, y, settings)
    attribute, values = _multi_valued(attribute, len(x))
    rows = [
        {"group": v.item(), **_row(_estimate(x, y, (attribute == v).astype(np.int64), settings))}
        for v in values
    ]
    return pd.DataFrame(rows, columns=["group", *TABLE_COLUMNS])


def pairwise_table(z: np.ndarray, y: np.ndarray, attribute: np.ndarray, **kw: Any) -> pd.DataFrame:
    """Separation of every pair of values of a multi-valued attribute.

    The PCA is fitted once on all samples, so every pair is compared in the same latent space;
    each pair then uses only its own rows.

    Returns
    -------
    pandas.DataFrame
        One row per pair ``group_0 < group_1`` (coded 0 and 1) with the columns of
        ``separation_table``.
    """
    settings = _Settings(**kw)
    x, y = _scores_and_labels(z, y, settings)
    attribute, values = _multi_valued(attribute, len(x))
    rows = []
    for u, v in combinations(values, 2):
        keep = (attribute == u) | (attribute == v)
        result = _estimate(x[keep], y[keep], (attribute[keep] == v).astype(np.int64), settings)
        rows.append({"group_0": u.item(), "group_1": v.item(), **_row(result)})
    return pd.DataFrame(rows, columns=["group_0", "group_1", *TABLE_COLUMNS])
