"""Two-group divergence statistics on latent scores, batched over resampling weights.

Each statistic compares two groups of rows of one sample ``x`` of shape (n, d). It is written as a
function of *weights*: ``w0[b, i]`` and ``w1[b, i]`` count how often row ``i`` enters group 0 and
group 1 in weighting ``b``. The observed split is one 0/1 weighting, a shuffle of the group labels is
another, a within-group bootstrap resample is a row of multinomial counts. Everything that does not
depend on the group labels — bin indices on the pooled range, per-dimension sort orders, the kernel
matrix, the total scatter — is computed once per sample and reused for every weighting, which is what
makes thousands of permutations cheap.

``marginal_tv`` is the plain two-sample form of the paper's histogram estimator.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
from scipy import sparse, special
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from latentsep.checks import as_2d_float, check_choice, check_positive_int

EDGES = ("pooled", "reference")
METHODS = ("histogram", "classifier", "gaussian", "wasserstein", "frechet", "mmd")
N_FOLDS = 5
MMD_MAX_SAMPLES = 10_000
_SCRATCH_FLOATS = 10_000_000  # ~80 MB of float64 scratch per batch of weightings


# --------------------------------------------------------------------------------------------
# histograms with np.histogram's semantics, vectorised over dimensions


def _outer_edges(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Widen zero-width ranges by ±0.5, as ``np.histogram`` does for a constant input."""
    same = lo == hi
    return np.where(same, lo - 0.5, lo), np.where(same, hi + 0.5, hi)


def _bin_indices(
    x: np.ndarray, lo: np.ndarray, hi: np.ndarray, bins: int
) -> tuple[np.ndarray, np.ndarray]:
    """Bin of every entry for ``bins`` equal-width bins on ``[lo_j, hi_j]`` per column.

    Mirrors ``np.histogram``'s uniform-bin path operation for operation (scaled index, then a ±1
    correction against the ``linspace`` edges), so counts agree exactly: bins are half-open except
    the last, which is closed, and values outside ``[lo_j, hi_j]`` are not counted.

    Parameters
    ----------
    x : ndarray, shape (n, d)
    lo, hi : ndarray, shape (d,)
        Outer edges per column, ``lo < hi``.
    bins : int

    Returns
    -------
    idx : ndarray of intp, shape (n, d)
        Bin index in ``[0, bins)``; 0 where ``inside`` is False.
    inside : ndarray of bool, shape (n, d)
    """
    inside = (x >= lo) & (x <= hi)
    edges = np.linspace(lo, hi, bins + 1)  # (bins + 1, d), identical to the per-column linspace
    scaled = ((x - lo) / (hi - lo)) * bins
    idx = np.where(inside, scaled, 0.0).astype(np.intp)
    idx[idx == bins] -= 1
    col = np.broadcast_to(np.arange(x.shape[1]), x.shape)
    idx[x < edges[idx, col]] -= 1
    idx[(x >= edges[idx + 1, col]) & (idx != bins - 1)] += 1
    return np.where(inside, idx, 0), inside


def _counts(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, bins: int) -> np.ndarray:
    """Histogram counts per column, shape (d, bins)."""
    idx, inside = _bin_indices(x, lo, hi, bins)
    flat = idx + bins * np.arange(x.shape[1])
    return np.bincount(flat[inside], minlength=x.shape[1] * bins).reshape(x.shape[1], bins)


def _tv_from_counts(c0: np.ndarray, c1: np.ndarray) -> np.ndarray:
    """½ Σ|p − q| over the last axis, each histogram normalised to sum 1 (shape (..., bins))."""
    p = c0 / c0.sum(axis=-1, keepdims=True)
    q = c1 / c1.sum(axis=-1, keepdims=True)
    return 0.5 * np.abs(p - q).sum(axis=-1)


def _marginal_tv(x0: np.ndarray, x1: np.ndarray, bins: int, edges: str) -> float:
    """``marginal_tv`` on validated float arrays."""
    if edges == "pooled":
        lo, hi = np.minimum(x0.min(0), x1.min(0)), np.maximum(x0.max(0), x1.max(0))
    else:
        lo, hi = x0.min(0), x0.max(0)
    lo, hi = _outer_edges(lo, hi)
    c0, c1 = _counts(x0, lo, hi, bins), _counts(x1, lo, hi, bins)
    empty = np.flatnonzero(c1.sum(axis=1) == 0)
    if empty.size:
        raise ValueError(
            f"edges='reference': all of x1 lies outside x0's range in dimension(s) "
            f"{empty[:10].tolist()}, so x1's histogram there is empty (0/0). "
            "Use edges='pooled', which bins on the range of both samples."
        )
    return float(_tv_from_counts(c0, c1).mean())


def marginal_tv(x0: np.ndarray, x1: np.ndarray, *, bins: int = 50, edges: str = "pooled") -> float:
    """Mean over dimensions of the 1-D histogram total-variation distance.

    For each dimension ``j``, both samples are binned into ``bins`` equal-width bins, each histogram
    is normalised to sum 1 and ``tv_j = ½ Σ_k |p_k − q_k|``; the result is the mean of ``tv_j``.
    This is the paper's latent-separation estimator. It measures only the 1-D marginals: it is not
    the joint TV, and it is biased upwards at small sample sizes (compare it against a permutation
    null, as ``latent_separation`` does).

    Parameters
    ----------
    x0, x1 : array_like, shape (n0, d) and (n1, d) (or 1-D for d = 1)
        The two samples.
    bins : int
        Number of equal-width bins per dimension.
    edges : {"pooled", "reference"}
        ``"pooled"`` bins on the range of both samples, so the estimate is symmetric and mass of x1
        outside x0's range counts. ``"reference"`` reproduces the authors' estimator exactly: bins on
        x0's range, x1's values outside it are dropped before normalising.

    Returns
    -------
    float
        In [0, 1].
    """
    x0, x1 = as_2d_float(x0, "x0"), as_2d_float(x1, "x1")
    if x0.shape[1] != x1.shape[1]:
        raise ValueError(
            f"x0 has {x0.shape[1]} dimensions but x1 has {x1.shape[1]}; "
            "pass two samples of the same embedding space."
        )
    for name, arr in (("x0", x0), ("x1", x1)):
        if len(arr) == 0:
            raise ValueError(f"{name} has no rows; pass at least one sample per group.")
    check_positive_int(bins, "bins")
    check_choice(edges, "edges", EDGES)
    return _marginal_tv(x0, x1, bins, edges)


# --------------------------------------------------------------------------------------------
# batched statistics


def _common_total(w0: np.ndarray, w1: np.ndarray) -> np.ndarray | None:
    """Total weights ``w0 + w1`` (n,) when every row shares them (all shuffles do), else None."""
    totals = w0 + w1
    return totals[0] if (totals == totals[0]).all() else None


class PairStatistic(ABC):
    """A two-group statistic on the rows of one sample, evaluated for many weightings at once.

    Subclasses implement ``_batch`` for a block of weightings and set ``row_cost``, the number of
    float64 scratch values one weighting needs, from which ``evaluate`` sizes its blocks.
    """

    row_cost: int
    weight_dtype: type = np.float64

    @abstractmethod
    def _batch(self, w0: np.ndarray, w1: np.ndarray) -> np.ndarray:
        """Statistic for each weighting; ``w0, w1`` of shape (B, n), returns shape (B,)."""

    def evaluate(self, w0: np.ndarray, w1: np.ndarray) -> np.ndarray:
        """Statistic for each row of the weightings ``w0, w1`` (shape (B, n)); returns (B,)."""
        step = max(1, _SCRATCH_FLOATS // max(self.row_cost, 1))
        out = [
            self._batch(w0[i : i + step].astype(self.weight_dtype),
                        w1[i : i + step].astype(self.weight_dtype))
            for i in range(0, len(w0), step)
        ]
        return np.concatenate(out) if out else np.empty(0)

    def details(self, w0: np.ndarray, w1: np.ndarray) -> dict[str, float]:
        """Method-specific extras for one weighting (shape (n,) each); none by default."""
        return {}


class HistogramTV(PairStatistic):
    """Mean 1-D histogram TV with bins on the pooled range (``edges="pooled"``).

    The pooled range of a sample does not depend on how its rows are split into groups, so every
    row's bin index is computed once; a weighting's histograms are then one sparse product
    ``one_hot.T @ w``. Bootstrap weightings reuse the observed sample's edges (the resampled points
    are a subset of it), i.e. the bootstrap is conditional on the binning.
    """

    # counts are integers below 2**24 (the rows of one class), exact in float32, and the sparse
    # product runs about three times faster than in float64
    weight_dtype = np.float32

    def __init__(self, x: np.ndarray, bins: int) -> None:
        n, d = x.shape
        lo, hi = _outer_edges(x.min(0), x.max(0))
        idx, _ = _bin_indices(x, lo, hi, bins)
        cols = (idx + bins * np.arange(d)).ravel()
        rows = np.repeat(np.arange(n), d)
        self._onehot_t = sparse.csr_array(
            (np.ones(n * d, np.float32), (cols, rows)), shape=(d * bins, n)
        )
        self._shape = (d, bins)
        self.row_cost = 6 * d * bins + 2 * n

    def _batch(self, w0: np.ndarray, w1: np.ndarray) -> np.ndarray:
        c1 = (self._onehot_t @ w1.T).T.astype(np.float64)
        total = _common_total(w0, w1)
        if total is None:
            c0 = (self._onehot_t @ w0.T).T.astype(np.float64)
        else:  # shuffles only move rows between groups: group 0 = everything − group 1
            c0 = (self._onehot_t @ total).astype(np.float64) - c1
        shape = (len(w0), *self._shape)
        return _tv_from_counts(c0.reshape(shape), c1.reshape(shape)).mean(axis=-1)


class ReferenceHistogramTV(PairStatistic):
    """The authors' histogram TV (bins on group 0's range), one weighting at a time.

    The edges move with group 0's range under every shuffle, so nothing can be shared; each
    weighting materialises its two samples and calls the vectorised ``marginal_tv``.
    """

    def __init__(self, x: np.ndarray, bins: int) -> None:
        self._x, self._bins = x, bins
        self.row_cost = 2 * x.size

    def _batch(self, w0: np.ndarray, w1: np.ndarray) -> np.ndarray:
        rep = np.repeat
        return np.array([
            _marginal_tv(rep(self._x, r0, axis=0), rep(self._x, r1, axis=0), self._bins, "reference")
            for r0, r1 in zip(w0.astype(np.intp), w1.astype(np.intp), strict=True)
        ])


class ClassifierTV(PairStatistic):
    """Lower bound on TV from a cross-fitted group classifier: ``2·BA − 1``.

    For any classifier h, balanced accuracy ``BA = ½(P1(h=1) + P0(h=0)) ≤ ½(1 + TV(P0, P1))``, so
    ``2·BA − 1 ≤ TV`` whatever the group sizes. A class-weighted logistic regression is fitted on
    ``N_FOLDS − 1`` folds and predicts the held-out fold, so every row has an out-of-fold prediction
    made without its own label. Weightings then re-score these fixed predictions: bootstrap rows
    give the sampling uncertainty of BA given the fitted models, and shuffled labels give a null
    without refitting (slightly conservative: cross-validated accuracy of a refitted null model
    tends to sit below chance, the re-scored null sits at chance).
    """

    def __init__(self, x: np.ndarray, a: np.ndarray, seed: int) -> None:
        xs = x / np.where(x.std(0) > 0, x.std(0), 1.0)  # conditioning only; labels unused
        pred = np.empty(len(x))
        folds = StratifiedKFold(n_splits=N_FOLDS, shuffle=True, random_state=seed)
        for train, test in folds.split(xs, a):
            model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=5000)
            model.fit(xs[train], a[train])
            pred[test] = model.decision_function(xs[test]) > 0
        self._pred = pred
        self.row_cost = 2 * len(x)

    def _batch(self, w0: np.ndarray, w1: np.ndarray) -> np.ndarray:
        return 2 * self._balanced_accuracy(w0, w1) - 1

    def _balanced_accuracy(self, w0: np.ndarray, w1: np.ndarray) -> np.ndarray:
        recall1 = w1 @ self._pred / w1.sum(axis=-1)
        recall0 = w0 @ (1 - self._pred) / w0.sum(axis=-1)
        return (recall0 + recall1) / 2

    def details(self, w0: np.ndarray, w1: np.ndarray) -> dict[str, float]:
        return {"balanced_accuracy": float(self._balanced_accuracy(w0, w1))}


class GaussianTV(PairStatistic):
    """TV of two Gaussians with a shared covariance fitted to the groups: ``2Φ(Δ/2) − 1``.

    ``Δ²`` is the squared Mahalanobis distance between the group means under the pooled covariance,
    estimated without bias (``(m−d−3)/(m−2)·D² − d(1/m0 + 1/m1)``, ``D²`` the plug-in value) and
    set to 0 when that is negative. The within-group scatter is the total scatter minus a rank-one
    term, so for weightings that share their total weights (all shuffles) ``Δ²`` needs one solve
    against the fixed total scatter (Sherman–Morrison).

    ``details`` adds Hellinger bounds for Gaussians fitted with *separate* covariances:
    ``H² ≤ TV ≤ H·√(2 − H²)`` with ``H² = 1 − BC`` (Bhattacharyya coefficient). A lower bound above
    the equal-covariance value means the groups differ in spread, which ``Δ`` cannot see.
    """

    def __init__(self, x: np.ndarray) -> None:
        self._x = x - x.mean(0)
        n, d = x.shape
        self.row_cost = 4 * n + d * d

    def _scatter(self, t: np.ndarray) -> np.ndarray:
        """Total scatter of the rows weighted by ``t`` (shape (n,)) about their weighted mean."""
        xc = self._x - t @ self._x / t.sum()
        return (xc * t[:, None]).T @ xc

    def _mahalanobis_sq(self, w0: np.ndarray, w1: np.ndarray) -> np.ndarray:
        m0, m1 = w0.sum(axis=1), w1.sum(axis=1)
        m, d = m0 + m1, self._x.shape[1]
        delta = w1 @ self._x / m1[:, None] - w0 @ self._x / m0[:, None]
        total = _common_total(w0, w1)
        if total is not None:
            s = np.einsum("bi,ib->b", delta, np.linalg.solve(self._scatter(total), delta.T))
        else:
            s = np.array([
                dl @ np.linalg.solve(self._scatter(t), dl)
                for dl, t in zip(delta, w0 + w1, strict=True)
            ])
        # within scatter W = T − (m0·m1/m)·δδᵀ, so δᵀW⁻¹δ = s / (1 − (m0·m1/m)·s), s = δᵀT⁻¹δ
        plug_in = (m - 2) * s / (1 - m0 * m1 / m * s)
        return np.maximum((m - d - 3) / (m - 2) * plug_in - d * (1 / m0 + 1 / m1), 0.0)

    def _batch(self, w0: np.ndarray, w1: np.ndarray) -> np.ndarray:
        return 2 * special.ndtr(np.sqrt(self._mahalanobis_sq(w0, w1)) / 2) - 1

    def details(self, w0: np.ndarray, w1: np.ndarray) -> dict[str, float]:
        (mu0, cov0), (mu1, cov1) = (_weighted_moments(self._x, w) for w in (w0, w1))
        mid = (cov0 + cov1) / 2
        diff = mu1 - mu0
        log_bc = (
            0.25 * (np.linalg.slogdet(cov0)[1] + np.linalg.slogdet(cov1)[1])
            - 0.5 * np.linalg.slogdet(mid)[1]
            - diff @ np.linalg.solve(mid, diff) / 8
        )
        h2 = 1 - np.exp(log_bc)
        return {
            "mahalanobis_sq": float(self._mahalanobis_sq(w0[None], w1[None])[0]),
            "tv_lower_hellinger": float(h2),
            "tv_upper_hellinger": float(np.sqrt(h2 * (2 - h2))),
        }


def _weighted_moments(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (d,) and unbiased covariance (d, d) of rows repeated ``w`` (shape (n,)) times."""
    mu = w @ x / w.sum()
    xc = x - mu
    return mu, (xc * w[:, None]).T @ xc / (w.sum() - 1)


class WassersteinPerDim(PairStatistic):
    """Mean over dimensions of the 1-D Wasserstein-1 distance ``∫|F0 − F1|`` (units of x).

    Each dimension is sorted once; a weighting's empirical CDFs are cumulative sums of its weights
    in that order, and the distance is their absolute gap times the spacing of the sorted values.
    Depends on the scale of each dimension (on PCA scores, high-variance components weigh more).
    """

    def __init__(self, x: np.ndarray) -> None:
        order = np.argsort(x, axis=0, kind="stable")
        self._order = order[:-1].T  # (d, n-1): the last point closes both CDFs
        self._gaps = np.diff(np.take_along_axis(x, order, axis=0), axis=0).T  # (d, n-1)
        self.row_cost = 3 * x.size

    def _batch(self, w0: np.ndarray, w1: np.ndarray) -> np.ndarray:
        c1 = np.cumsum(w1[:, self._order], axis=-1)
        total = _common_total(w0, w1)
        if total is None:
            c0 = np.cumsum(w0[:, self._order], axis=-1)
        else:  # shuffles: group 0's cumulative counts are the total's minus group 1's
            c0 = np.cumsum(total[self._order], axis=-1) - c1
        gap = c1 / w1.sum(axis=1)[:, None, None] - c0 / w0.sum(axis=1)[:, None, None]
        return (np.abs(gap) * self._gaps).sum(axis=-1).mean(axis=-1)


class FrechetDistance(PairStatistic):
    """Fréchet distance between Gaussians fitted to each group (squared units of x).

    ``‖μ0 − μ1‖² + tr(Σ0 + Σ1 − 2(Σ0^{1/2} Σ1 Σ0^{1/2})^{1/2})``, unbiased covariances. It is a
    squared distance, not a probability: compare it across attributes and against its null.
    """

    def __init__(self, x: np.ndarray) -> None:
        self._x = x - x.mean(0)
        n, d = x.shape
        self.row_cost = 2 * n * d + 8 * d * d

    def _second(self, w: np.ndarray) -> np.ndarray:
        """Weighted raw second moments ``Σ_i w_i x_i x_iᵀ``, shape (B, d, d)."""
        return (self._x.T[None] * w[:, None, :]) @ self._x

    def _moments(self, w: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = w.sum(axis=1)
        mu = w @ self._x / m[:, None]
        cov = (second - m[:, None, None] * mu[:, :, None] * mu[:, None, :]) / (m - 1)[:, None, None]
        return mu, cov

    def _batch(self, w0: np.ndarray, w1: np.ndarray) -> np.ndarray:
        second1 = self._second(w1)
        total = _common_total(w0, w1)
        # shuffles: group 0's second moments are the total's minus group 1's
        second0 = self._second(w0) if total is None else self._second(total[None]) - second1
        (mu0, cov0), (mu1, cov1) = self._moments(w0, second0), self._moments(w1, second1)
        vals, vecs = np.linalg.eigh(cov0)
        # eigenvalues of PSD matrices can come out at -1e-16 from roundoff; sqrt needs >= 0
        root0 = (vecs * np.sqrt(np.maximum(vals, 0))[:, None, :]) @ vecs.transpose(0, 2, 1)
        inner = np.linalg.eigvalsh(root0 @ cov1 @ root0)
        tr_sqrt = np.sqrt(np.maximum(inner, 0)).sum(axis=-1)
        trace = np.trace(cov0, axis1=1, axis2=2) + np.trace(cov1, axis1=1, axis2=2)
        return ((mu0 - mu1) ** 2).sum(axis=1) + trace - 2 * tr_sqrt


class RbfMMD(PairStatistic):
    """Unbiased squared maximum mean discrepancy with a Gaussian kernel (MMD², unitless).

    ``k(u, v) = exp(−‖u − v‖² / (2σ²))`` with ``σ`` the median pairwise distance of the pooled
    sample (label-free, hence shared by all weightings). Each weighting's U-statistic counts pairs
    of distinct draws, so bootstrap duplicates are handled; it can be slightly negative.
    """

    def __init__(self, x: np.ndarray) -> None:
        sq_norm = (x**2).sum(axis=1)
        # the expansion ‖u‖² + ‖v‖² − 2u·v can dip below 0 by roundoff for near-identical rows
        sq = np.maximum(sq_norm[:, None] + sq_norm[None, :] - 2 * x @ x.T, 0.0)
        median = np.median(sq[np.triu(np.ones(sq.shape, dtype=bool), k=1)])
        if median == 0:
            raise ValueError(
                "mmd: more than half of the pairs of embeddings in a class coincide, so the median "
                "heuristic gives a zero bandwidth; use method='histogram' or de-duplicate rows."
            )
        sq *= -0.5 / median  # in place: the n × n matrices dominate the memory
        self._kernel = np.exp(sq, out=sq)
        self.row_cost = 4 * len(x)

    def _batch(self, w0: np.ndarray, w1: np.ndarray) -> np.ndarray:
        k0, k1 = self._kernel @ w0.T, self._kernel @ w1.T  # (n, B)
        m0, m1 = w0.sum(axis=1), w1.sum(axis=1)
        # k(u, u) = 1, so removing same-draw pairs subtracts each group's size
        within0 = ((w0.T * k0).sum(axis=0) - m0) / (m0 * (m0 - 1))
        within1 = ((w1.T * k1).sum(axis=0) - m1) / (m1 * (m1 - 1))
        between = (w0.T * k1).sum(axis=0) / (m0 * m1)
        return within0 + within1 - 2 * between


def make_statistic(
    method: str, x: np.ndarray, a: np.ndarray, *, bins: int, edges: str, seed: int
) -> PairStatistic:
    """Build the batched statistic ``method`` on the sample ``x`` (n, d).

    ``a`` (n,) is used only by ``"classifier"`` (to fit its cross-fitted models) and ``seed`` only
    for its fold assignment; ``bins`` and ``edges`` only by ``"histogram"``.
    """
    check_choice(method, "method", METHODS)
    if method == "histogram":
        return HistogramTV(x, bins) if edges == "pooled" else ReferenceHistogramTV(x, bins)
    if method == "classifier":
        return ClassifierTV(x, a, seed)
    if method == "gaussian":
        return GaussianTV(x)
    if method == "wasserstein":
        return WassersteinPerDim(x)
    if method == "frechet":
        return FrechetDistance(x)
    return RbfMMD(x)
