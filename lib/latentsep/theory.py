"""Exact checks of the paper's TV bound on class-conditional Gaussian latents with linear heads.

The model: a frozen latent ``Z`` with binary label ``Y`` and a group attribute ``A`` taking ``K``
values (``K = 2`` in the paper). In every (class, group) cell ``Z | Y=y, A=k ~ N(mu[y, k], cov)``
with one covariance shared by all cells. For this family every quantity in the bound has a closed
form, so the bound can be checked with no sampling noise in the *evaluation*:

* a linear head ``predict 1 iff w·z + b > 0`` is right on cell ``(y, k)`` with probability
  ``Phi(s · (w·mu[y, k] + b) / sqrt(wᵀ cov w))`` where ``s = +1`` for ``y = 1`` and ``-1`` for
  ``y = 0`` (Phi = standard normal CDF);
* the total variation ``TV(P, Q) = sup_C |P(C) - Q(C)| = ½‖P - Q‖₁`` between ``N(m1, cov)`` and
  ``N(m2, cov)`` is ``2 Phi(Δ/2) - 1`` with ``Δ`` the Mahalanobis distance between the means.

Heads are *fitted* on finite samples drawn with a fine-tuning allocation (LDA or L2-penalised
logistic regression), which is where randomness enters; their accuracy on the test population is
then evaluated exactly. The test population is fixed: group shares ``shares`` and label rates
``prior_y1``; it does not depend on the fine-tuning allocation.

Bounds (two heads h', h''; Δ(k) = Acc'(A=k) - Acc''(A=k), ΔAcc = Acc' - Acc''; π_k = share of k):

* paper (our reconstruction):       |Δ(k)| ≤ 4 ε + |ΔAcc|
* sharp (derived in the book):      |Δ(k)| ≤ 2 (1 - π_k) ε_k + |ΔAcc|
* weighted (a little sharper):      |Δ(k)| ≤ 2 (1 - π_k) Σ_y P(Y=y) ε_{y,k} + |ΔAcc|
* label-shift robust (no P(Y|A)=P(Y) needed):
                                    |Δ(k)| ≤ 2 Σ_{j≠k} π_j (max_y TV_{y,kj} + |q_k - q_j|) + |ΔAcc|

where ``ε_{y,k}`` is the TV between group k's class-y law and the other groups' class-y mixture
(exact for K = 2; for K > 2 we use its closed-form convexity upper bound, a weighted mean of
pairwise TVs), ``ε_k = max_y ε_{y,k}``, ``ε = max_k ε_k`` and ``q_k = P(Y=1 | A=k)``. The first three
assume ``P(Y | A=k) = P(Y)`` for every k in the test population.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import linalg, special, stats

from latentsep.checks import check_choice, check_fraction, check_positive_int

HEAD_KINDS = ("lda", "logistic")
# Absolute tolerance for "gap > bound": the closed forms are accurate to ~1e-15, and the bound is
# attained with equality (up to rounding) when ε = 0.
VIOLATION_TOL = 1e-10


@dataclass(frozen=True, eq=False)
class LinearHead:
    """A linear classifier on the latent space: predict 1 iff ``z @ w + b > 0``.

    Attributes
    ----------
    w : np.ndarray, shape (d,)
        Weights; must not be all zero.
    b : float
        Intercept.
    """

    w: np.ndarray
    b: float

    def __post_init__(self) -> None:
        w = np.asarray(self.w, dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(w)) or not np.any(w != 0) or not math.isfinite(self.b):
            raise ValueError(
                f"head weights must be finite and not all zero; got w={w[:5]}..., b={self.b!r}. "
                "A constant head has no margin; pass a non-zero w."
            )
        object.__setattr__(self, "w", w)
        object.__setattr__(self, "b", float(self.b))

    def predict(self, z: np.ndarray) -> np.ndarray:
        """Labels (n,) int64 for latents ``z`` of shape (n, d)."""
        return (np.asarray(z) @ self.w + self.b > 0).astype(np.int64)


@dataclass(frozen=True, eq=False)
class GaussianConfig:
    """One class-conditional Gaussian population plus the design of two fine-tuning runs.

    Attributes
    ----------
    means : np.ndarray, shape (2, K, d)
        ``means[y, k]`` is the mean of ``Z | Y=y, A=k``.
    cov : np.ndarray, shape (d, d)
        Covariance shared by every cell (symmetric positive definite).
    prior_y1 : np.ndarray, shape (K,)
        ``P(Y=1 | A=k)``, the same in the test population and the fine-tuning pool.
    shares : np.ndarray, shape (K,)
        Group shares ``π_k = P(A=k)`` of the fixed test population; sums to 1.
    alphas : np.ndarray, shape (2, K)
        Group shares of the two fine-tuning sets (row h for head h); rows sum to 1. For K = 2,
        ``alphas[h] = (1 - α_h, α_h)`` with α_h the project's allocation (share of group 1).
    n_train : int
        Size of each fine-tuning set.
    head_kind : str
        ``"lda"`` or ``"logistic"``: how both heads are fitted.
    chol : np.ndarray, shape (d, d)
        Lower Cholesky factor of ``cov`` (derived; used for sampling).
    """

    means: np.ndarray
    cov: np.ndarray
    prior_y1: np.ndarray
    shares: np.ndarray
    alphas: np.ndarray
    n_train: int = 200
    head_kind: str = "lda"
    chol: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        means = np.asarray(self.means, dtype=np.float64)
        if means.ndim != 3 or means.shape[0] != 2 or means.shape[1] < 2:
            raise ValueError(
                f"means must have shape (2 classes, K >= 2 groups, d); got {means.shape}. "
                "Index it as means[y, k]."
            )
        _, k, d = means.shape
        cov = np.asarray(self.cov, dtype=np.float64)
        if cov.shape != (d, d) or not np.allclose(cov, cov.T):
            raise ValueError(
                f"cov must be a symmetric ({d}, {d}) matrix matching means' last axis; "
                f"got shape {np.shape(self.cov)}."
            )
        try:
            chol = np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            raise ValueError(
                "cov must be positive definite (Cholesky failed); add a small multiple of the "
                "identity, e.g. cov + 1e-6 * np.eye(d)."
            ) from None
        prior = _vector(self.prior_y1, "prior_y1", k)
        if np.any(prior <= 0) or np.any(prior >= 1):
            raise ValueError(
                f"prior_y1 must lie strictly inside (0, 1) for every group; got {prior}. "
                "A group with one class only has no class-conditional law for the other."
            )
        shares = _simplex(self.shares, "shares", (k,))
        alphas = _simplex(self.alphas, "alphas", (2, k))
        check_positive_int(self.n_train, "n_train", minimum=8)
        check_choice(self.head_kind, "head_kind", HEAD_KINDS)
        for name, value in (("means", means), ("cov", cov), ("prior_y1", prior),
                            ("shares", shares), ("alphas", alphas), ("chol", chol)):
            object.__setattr__(self, name, value)

    @classmethod
    def two_groups(
        cls,
        means: np.ndarray,
        cov: np.ndarray,
        prior_y1: tuple[float, float],
        share_a1: float,
        alphas: tuple[float, float] = (0.0, 1.0),
        **kwargs: object,
    ) -> GaussianConfig:
        """Two-group configuration in the paper's parametrisation.

        ``share_a1`` is the test share of group 1 and ``alphas = (α', α'')`` are the two
        fine-tuning allocations (share of group 1), as in the allocation sweeps.
        """
        check_fraction(share_a1, "share_a1")
        for i, a in enumerate(alphas):
            check_fraction(a, f"alphas[{i}]")
        return cls(
            means=means,
            cov=cov,
            prior_y1=np.asarray(prior_y1, dtype=np.float64),
            shares=np.array([1.0 - share_a1, share_a1]),
            alphas=np.array([[1.0 - a, a] for a in alphas]),
            **kwargs,
        )

    @property
    def dim(self) -> int:
        """Latent dimension d."""
        return self.means.shape[2]

    @property
    def n_groups(self) -> int:
        """Number of groups K."""
        return self.means.shape[1]

    @property
    def assumptions_hold(self) -> bool:
        """Whether ``P(Y | A=k) = P(Y)`` for every group of the test population."""
        return bool(np.ptp(self.prior_y1) <= 1e-12)

    @property
    def label_marginal(self) -> np.ndarray:
        """``P(Y=y)`` of the test population, shape (2,)."""
        p1 = float(self.shares @ self.prior_y1)
        return np.array([1.0 - p1, p1])


def _vector(x: object, name: str, k: int) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64).reshape(-1)
    if arr.shape != (k,) or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be {k} finite numbers (one per group); got {x!r}.")
    return arr


def _simplex(x: object, name: str, shape: tuple[int, ...]) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.shape != shape or not np.all(np.isfinite(arr)) or np.any(arr < 0) or not np.allclose(
        arr.sum(axis=-1), 1.0
    ):
        raise ValueError(
            f"{name} must have shape {shape}, be non-negative and sum to 1 along the group axis; "
            f"got {arr.tolist()}. Normalise it, e.g. x / x.sum(-1, keepdims=True)."
        )
    return arr


# --------------------------------------------------------------------------------------------
# closed forms


def mahalanobis(diff: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Mahalanobis length ``sqrt(dᵀ cov⁻¹ d)`` of difference vectors ``diff`` (..., d) -> (...)."""
    diff = np.asarray(diff, dtype=np.float64)
    chol = np.linalg.cholesky(np.asarray(cov, dtype=np.float64))
    white = linalg.solve_triangular(chol, diff.reshape(-1, diff.shape[-1]).T, lower=True)
    return np.sqrt(np.sum(white**2, axis=0)).reshape(diff.shape[:-1])


def gaussian_tv(mean1: np.ndarray, mean2: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Total variation between ``N(mean1, cov)`` and ``N(mean2, cov)``: ``2 Phi(Δ/2) - 1``.

    Parameters
    ----------
    mean1, mean2 : np.ndarray, shape (..., d)
        Means (broadcast against each other).
    cov : np.ndarray, shape (d, d)
        The shared covariance.

    Returns
    -------
    np.ndarray, shape (...)
        TV in [0, 1) (sup over events of the probability difference, i.e. ½ L1).
    """
    delta = mahalanobis(np.asarray(mean1) - np.asarray(mean2), cov)
    return 2.0 * special.ndtr(delta / 2.0) - 1.0


def pairwise_tv(config: GaussianConfig) -> np.ndarray:
    """Exact class-conditional TVs between groups, shape (2, K, K): ``[y, j, k]``."""
    diff = config.means[:, :, None, :] - config.means[:, None, :, :]
    return gaussian_tv(diff, np.zeros_like(diff), config.cov)


def tv_to_rest(config: GaussianConfig) -> np.ndarray:
    """``ε_{y,k}``: TV between group k's class-y law and the other groups' class-y mixture, (2, K).

    Exact for K = 2 (the other group's law). For K > 2 the TV to a Gaussian mixture has no closed
    form; we return the convexity upper bound ``Σ_{j≠k} π_j TV_{y,kj} / (1 - π_k)``, which keeps
    every bound built on it valid.
    """
    rest = 1.0 - config.shares
    weighted = np.einsum("yjk,j->yk", pairwise_tv(config), config.shares)  # diagonal terms are 0
    # a group holding the whole population has no "rest"; its ε is irrelevant (weight 1 - π = 0)
    return np.divide(weighted, rest, out=np.zeros_like(weighted), where=rest > 0)


def cell_accuracy(config: GaussianConfig, head: LinearHead) -> np.ndarray:
    """Exact probability that ``head`` is right on each (class, group) cell, shape (2, K)."""
    _check_head(config, head)
    scale = math.sqrt(float(head.w @ config.cov @ head.w))
    margin = config.means @ head.w + head.b  # (2, K)
    signed = margin * np.array([-1.0, 1.0])[:, None]
    return special.ndtr(signed / scale)


def group_accuracy(config: GaussianConfig, head: LinearHead) -> np.ndarray:
    """Exact accuracy within each group of the test population, shape (K,)."""
    cell = cell_accuracy(config, head)
    q = config.prior_y1
    return (1.0 - q) * cell[0] + q * cell[1]


def _check_head(config: GaussianConfig, head: LinearHead) -> None:
    if head.w.shape != (config.dim,):
        raise ValueError(
            f"head.w has shape {head.w.shape} but the latents have d={config.dim}; "
            "fit the head on latents of the configuration's dimension."
        )


# --------------------------------------------------------------------------------------------
# heads fitted on finite allocated samples


def allocation_counts(alloc: np.ndarray, n: int) -> np.ndarray:
    """Group sizes of a fine-tuning set of size ``n`` with group shares ``alloc`` (K,).

    ``n_k = floor(alloc_k · n)`` for k ≥ 1 and group 0 takes the rest, which for K = 2 is the
    project's rule ``n1 = floor(α n)``. A 1e-9 guard keeps e.g. ``0.29 · 100`` at 29.
    """
    alloc = np.asarray(alloc, dtype=np.float64)
    counts = np.floor(alloc * n + 1e-9).astype(np.int64)
    counts[0] = n - counts[1:].sum()
    return counts


def sample_allocated(
    config: GaussianConfig, alloc: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``n`` latents with group shares ``alloc`` (K,); labels follow ``prior_y1``.

    Returns
    -------
    z : np.ndarray, shape (n, d)
    y : np.ndarray, shape (n,), int64 in {0, 1}
    a : np.ndarray, shape (n,), int64 group index
    """
    check_positive_int(n, "n")
    alloc = _simplex(alloc, "alloc", (config.n_groups,))
    a = np.repeat(np.arange(config.n_groups), allocation_counts(alloc, n))
    y = (rng.random(n) < config.prior_y1[a]).astype(np.int64)
    z = config.means[y, a] + rng.standard_normal((n, config.dim)) @ config.chol.T
    return z, y, a


def fit_head(z: np.ndarray, y: np.ndarray, kind: str = "lda") -> LinearHead:
    """Fit a linear head on latents ``z`` (n, d) and labels ``y`` (n,).

    ``"lda"``: pooled-covariance LDA with the sample class priors. ``"logistic"``: logistic
    regression with penalty ½‖w‖² on the summed log-loss (scikit-learn's default, C = 1),
    intercept unpenalised, solved by damped Newton steps.
    """
    check_choice(kind, "kind", HEAD_KINDS)
    z = np.asarray(z, dtype=np.float64)
    y = np.asarray(y)
    n1 = int(y.sum())
    if min(n1, len(y) - n1) < 2:
        raise ValueError(
            f"y must hold at least 2 samples of each class to fit a head; got {len(y) - n1} of "
            f"class 0 and {n1} of class 1. Use a larger or less imbalanced sample."
        )
    return _fit_lda(z, y) if kind == "lda" else _fit_logistic(z, y)


def _fit_lda(z: np.ndarray, y: np.ndarray) -> LinearHead:
    m0, m1 = z[y == 0].mean(axis=0), z[y == 1].mean(axis=0)
    resid = z - np.where(y[:, None] == 1, m1, m0)
    pooled = resid.T @ resid / (len(y) - 2)
    # a relative ridge of 1e-9 only matters when a tiny sample makes the pooled covariance singular
    pooled += 1e-9 * np.trace(pooled) / len(m0) * np.eye(len(m0))
    w = np.linalg.solve(pooled, m1 - m0)
    n1 = y.sum()
    return LinearHead(w, float(-w @ (m0 + m1) / 2 + np.log(n1 / (len(y) - n1))))


def _fit_logistic(z: np.ndarray, y: np.ndarray, max_iter: int = 100) -> LinearHead:
    x = np.column_stack([z, np.ones(len(y))])
    pen = np.ones(x.shape[1])
    pen[-1] = 0.0

    def loss(theta: np.ndarray) -> float:
        s = x @ theta
        return float(np.sum(np.logaddexp(0.0, s) - y * s) + 0.5 * pen @ theta**2)

    theta = np.zeros(x.shape[1])
    current = loss(theta)
    for _ in range(max_iter):
        p = special.expit(x @ theta)
        grad = x.T @ (p - y) + pen * theta
        hess = (x.T * (p * (1.0 - p))) @ x + np.diag(pen)
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while (new := loss(theta - t * step)) > current - 1e-4 * t * (grad @ step) and t > 1e-10:
            t /= 2.0  # backtracking: a pure Newton step can overshoot on near-separable data
        theta, current = theta - t * step, new
        if np.max(np.abs(t * step)) < 1e-10:
            break
    return LinearHead(theta[:-1], float(theta[-1]))


def fit_allocated_head(
    config: GaussianConfig, alloc: np.ndarray, rng: np.random.Generator, max_tries: int = 100
) -> LinearHead:
    """Sample a fine-tuning set of ``config.n_train`` latents with group shares ``alloc`` and fit.

    A draw with fewer than 2 samples of a class is redrawn (from the same generator, so the
    result stays deterministic for a seed).
    """
    for _ in range(max_tries):
        z, y, _ = sample_allocated(config, alloc, config.n_train, rng)
        if min(y.sum(), len(y) - y.sum()) >= 2:
            return fit_head(z, y, config.head_kind)
    raise ValueError(
        f"could not draw 2 samples of each class in {max_tries} tries with n_train="
        f"{config.n_train} and prior_y1={config.prior_y1}; increase n_train."
    )


def population_lda_head(config: GaussianConfig, alloc: np.ndarray) -> LinearHead:
    """The LDA head that ``fit_head(kind="lda")`` converges to as the fine-tuning set grows.

    Class means and the pooled within-class covariance of the fine-tuning distribution with group
    shares ``alloc`` (K,); intercept from its class priors.
    """
    alloc = _simplex(alloc, "alloc", (config.n_groups,))
    q = config.prior_y1
    weight = np.stack([alloc * (1.0 - q), alloc * q])  # (2, K): P(Y=y, A=k) when fine-tuning
    rho = weight.sum(axis=1)
    if np.any(rho <= 0):
        raise ValueError(f"alloc={alloc.tolist()} leaves a class empty; give it a positive share.")
    within = weight / rho[:, None]
    m = np.einsum("yk,ykd->yd", within, config.means)
    centred = config.means - m[:, None, :]
    scatter = np.einsum("y,yk,yki,ykj->ij", rho, within, centred, centred)
    w = np.linalg.solve(config.cov + scatter, m[1] - m[0])
    return LinearHead(w, float(-w @ (m[0] + m[1]) / 2 + np.log(rho[1] / rho[0])))


# --------------------------------------------------------------------------------------------
# the bounds


def bound_terms(config: GaussianConfig, head1: LinearHead, head2: LinearHead) -> dict:
    """Every term of the bounds for two fixed heads on the configuration's test population.

    Returns
    -------
    dict
        Arrays of shape (K,) are per group k. Keys:
        ``acc_group_1``, ``acc_group_2`` (K,); ``acc_1``, ``acc_2`` (float);
        ``gap`` (K,) = |Acc'(A=k) - Acc''(A=k)|; ``delta_overall`` = |Acc' - Acc''|;
        ``eps_class`` (2, K) = ε_{y,k} (TV of group k vs the other groups, per class);
        ``eps_group`` (K,) = max_y ε_{y,k}; ``eps`` = max_k ε_k (the paper's ε);
        ``tv_to_mixture`` (2, K) = (1 - π_k) ε_{y,k}, the TV between group k and the whole
        population, per class (exact for K = 2 when the assumptions hold);
        ``paper_bound`` (K,) = 4 ε_k + |ΔAcc| (ε_k = ε when K = 2), ``sharp_bound``,
        ``weighted_bound``, ``label_shift_bound`` (K,), as in the module docstring;
        ``violated`` dict of bound name -> bool (any group above its bound by > 1e-10);
        ``assumptions_hold`` (bool).
    """
    acc_g1, acc_g2 = group_accuracy(config, head1), group_accuracy(config, head2)
    acc1, acc2 = float(config.shares @ acc_g1), float(config.shares @ acc_g2)
    gap = np.abs(acc_g1 - acc_g2)
    d_all = abs(acc1 - acc2)
    pi = config.shares
    eps_class = tv_to_rest(config)
    eps_group = eps_class.max(axis=0)
    eps = float(eps_group.max())
    pair = pairwise_tv(config).max(axis=0)  # (K, K): max over classes
    q = config.prior_y1
    label_term = (pair + np.abs(q[:, None] - q[None, :])) @ pi  # Σ_j π_j (...), j = k gives 0
    bounds = {
        "paper_bound": 4.0 * eps_group + d_all,
        "sharp_bound": 2.0 * (1.0 - pi) * eps_group + d_all,
        "weighted_bound": 2.0 * (1.0 - pi) * (config.label_marginal @ eps_class) + d_all,
        "label_shift_bound": 2.0 * label_term + d_all,
    }
    return {
        "acc_group_1": acc_g1,
        "acc_group_2": acc_g2,
        "acc_1": acc1,
        "acc_2": acc2,
        "gap": gap,
        "delta_overall": d_all,
        "eps_class": eps_class,
        "eps_group": eps_group,
        "eps": eps,
        "tv_to_mixture": (1.0 - pi) * eps_class,
        **bounds,
        "violated": {
            name.removesuffix("_bound"): bool(np.any(gap > b + VIOLATION_TOL))
            for name, b in bounds.items()
        },
        "assumptions_hold": config.assumptions_hold,
    }


def marginal_tv_estimator(config: GaussianConfig, variance: float = 0.70) -> float:
    """The paper's separation estimator in the population limit (no binning, no sample noise).

    Standardise the pooled test-population latents, keep the leading principal components that
    explain ``variance`` of it, take the exact 1-D TV between the two groups along each component
    per class, average over components, then over the two classes (unweighted). Each 1-D TV is a
    TV of a projection, so it never exceeds the joint TV: the estimator under-states ε. K = 2 only.
    """
    if config.n_groups != 2:
        raise ValueError(f"the marginal estimator compares two groups; got K={config.n_groups}.")
    check_fraction(variance, "variance", low_open=True)
    cells = np.stack([config.shares * (1.0 - config.prior_y1), config.shares * config.prior_y1])
    centre = np.einsum("yk,ykd->d", cells, config.means)
    dev = config.means - centre
    pooled = config.cov + np.einsum("yk,yki,ykj->ij", cells, dev, dev)
    scale = 1.0 / np.sqrt(np.diag(pooled))
    evals, evecs = np.linalg.eigh(pooled * np.outer(scale, scale))
    order = np.argsort(evals)[::-1]
    explained = np.cumsum(evals[order]) / evals.sum()
    n_comp = int(np.searchsorted(explained, variance - 1e-12) + 1)
    dirs = (evecs[:, order[:n_comp]] * scale[:, None]).T  # (n_comp, d) directions in z-space
    spread = np.sqrt(np.einsum("cd,de,ce->c", dirs, config.cov, dirs))
    shift = np.abs((config.means[:, 1] - config.means[:, 0]) @ dirs.T) / spread  # (2, n_comp)
    return float(np.mean(2.0 * special.ndtr(shift / 2.0) - 1.0))


def ols_slope_bound_factor(own_shares: np.ndarray) -> float:
    """Factor c with |OLS slope| ≤ c · max_{i,j} |y_i - y_j| for responses at ``own_shares``.

    The OLS slope equals ``Σ_{i<j} (x_j - x_i)(y_j - y_i) / Σ_{i<j} (x_j - x_i)²``, so any bound
    G on pairwise accuracy changes gives ``|slope| ≤ G · Σ|x_j - x_i| / Σ(x_j - x_i)²``. For the
    paper's grid 0, 0.1, ..., 1 the factor is 20/11 ≈ 1.82.
    """
    x = np.asarray(own_shares, dtype=np.float64).reshape(-1)
    diff = np.abs(x[:, None] - x[None, :])[np.triu_indices(len(x), 1)]
    if diff.size == 0 or not np.any(diff > 0):
        raise ValueError(
            f"own_shares must hold at least two distinct values; got {x.tolist()[:10]}."
        )
    return float(diff.sum() / (diff**2).sum())


# --------------------------------------------------------------------------------------------
# random configurations and the sweep


def sample_configuration(
    rng: np.random.Generator,
    *,
    n_groups: int = 2,
    dims: tuple[int, ...] = (1, 2, 5, 10, 20),
    label_shift: bool = False,
    n_train_choices: tuple[int, ...] = (50, 100, 200, 500, 1000),
    head_kinds: tuple[str, ...] = HEAD_KINDS,
    zero_shift_share: float = 0.05,
) -> GaussianConfig:
    """Draw one random configuration.

    Dimension from ``dims``; covariance with a random orientation and eigenvalues log-uniform in
    [0.2, 5]; class separation (Mahalanobis) U(0.5, 4); per-class group shift (Mahalanobis
    distance between the groups, K = 2) up to 3, zero with probability ``zero_shift_share``;
    ``P(Y=1|A)`` U(0.1, 0.9), shared by the groups unless ``label_shift``; test share of group 1
    U(0.05, 0.95) (K = 2) or Dirichlet(2) shares; two distinct allocations from the paper's grid
    {0, 0.1, ..., 1} (K = 2) or Dirichlet(1) shares; fine-tuning size and head kind from the
    choices.
    """
    k = check_positive_int(n_groups, "n_groups", minimum=2)
    check_fraction(zero_shift_share, "zero_shift_share")
    d = int(rng.choice(dims))
    rot, _ = np.linalg.qr(rng.standard_normal((d, d)))
    cov = (rot * np.exp(rng.uniform(np.log(0.2), np.log(5.0), d))) @ rot.T
    cov = (cov + cov.T) / 2
    separation = rng.uniform(0.5, 4.0)
    shift = 0.0 if rng.random() < zero_shift_share else rng.uniform(0.0, 3.0)
    centre = rng.standard_normal(d)
    white = np.empty((2, k, d))
    class_dir = _unit(rng, d)
    for y in range(2):
        group_dirs = np.stack([_unit(rng, d) for _ in range(k)])
        if k == 2:
            group_dirs[1] = -group_dirs[0]  # distance between the two groups = this class's shift
        class_shift = shift * rng.uniform(0.3, 1.0)
        white[y] = centre + (y - 0.5) * separation * class_dir + 0.5 * class_shift * group_dirs
    means = white @ np.linalg.cholesky(cov).T
    if label_shift:
        prior = rng.uniform(0.1, 0.9, k)
    else:
        prior = np.full(k, rng.uniform(0.1, 0.9))
    if k == 2:
        share1 = rng.uniform(0.05, 0.95)
        shares = np.array([1.0 - share1, share1])
        grid = np.round(np.linspace(0.0, 1.0, 11), 10)
        pair = rng.choice(grid, size=2, replace=False)
        alphas = np.array([[1.0 - a, a] for a in pair])
    else:
        shares = rng.dirichlet(np.full(k, 2.0))
        alphas = rng.dirichlet(np.ones(k), size=2)
    return GaussianConfig(
        means=means,
        cov=cov,
        prior_y1=prior,
        shares=shares,
        alphas=alphas,
        n_train=int(rng.choice(n_train_choices)),
        head_kind=str(rng.choice(head_kinds)),
    )


def _unit(rng: np.random.Generator, d: int) -> np.ndarray:
    v = rng.standard_normal(d)
    return v / np.linalg.norm(v)


SWEEP_COLUMNS = [
    "config_id", "dim", "n_groups", "separation", "group_shift", "prior_y1_a0", "prior_y1_a1",
    "share_a1", "alpha1", "alpha2", "n_train", "head_kind", "group", "share_group", "eps",
    "gap", "delta_overall", "paper_bound", "sharp_bound", "weighted_bound", "label_shift_bound",
    "slack_paper", "slack_sharp", "slack_weighted", "slack_label_shift",
    "assumptions_hold", "violated_paper", "violated_sharp", "violated_weighted",
    "violated_label_shift", "eps_estimator", "violated_sharp_estimator",
]


def _sweep_row(config: GaussianConfig, rng: np.random.Generator, config_id: int) -> dict:
    head1 = fit_allocated_head(config, config.alphas[0], rng)
    head2 = fit_allocated_head(config, config.alphas[1], rng)
    t = bound_terms(config, head1, head2)
    slacks = {name: t[f"{name}_bound"] - t["gap"]
              for name in ("paper", "sharp", "weighted", "label_shift")}
    g = int(np.argmin(slacks["sharp"]))  # report the group closest to violating the sharp bound
    pi_g = float(config.shares[g])
    row = {
        "config_id": config_id,
        "dim": config.dim,
        "n_groups": config.n_groups,
        "separation": float(np.mean(mahalanobis(config.means[1] - config.means[0], config.cov))),
        "group_shift": float(mahalanobis(config.means[:, 1] - config.means[:, 0], config.cov).max()),
        "prior_y1_a0": float(config.prior_y1[0]),
        "prior_y1_a1": float(config.prior_y1[1]),
        "share_a1": float(config.shares[1]),
        "alpha1": float(config.alphas[0, 1]),
        "alpha2": float(config.alphas[1, 1]),
        "n_train": config.n_train,
        "head_kind": config.head_kind,
        "group": g,
        "share_group": pi_g,
        "eps": float(t["eps_group"][g]),
        "gap": float(t["gap"][g]),
        "delta_overall": t["delta_overall"],
        **{f"{name}_bound": float(t[f"{name}_bound"][g])
           for name in ("paper", "sharp", "weighted", "label_shift")},
        **{f"slack_{name}": float(s.min()) for name, s in slacks.items()},
        "assumptions_hold": t["assumptions_hold"],
        **{f"violated_{name}": flag for name, flag in t["violated"].items()},
        "eps_estimator": np.nan,
        "violated_sharp_estimator": None,
    }
    if config.n_groups == 2:
        est = marginal_tv_estimator(config)
        plug_in = 2.0 * (1.0 - config.shares) * est + t["delta_overall"]
        row["eps_estimator"] = est
        row["violated_sharp_estimator"] = bool(np.any(t["gap"] > plug_in + VIOLATION_TOL))
    return row


def sweep_bounds(
    n_configs: int = 10_000,
    seed: int = 0,
    *,
    n_groups: int = 2,
    label_shift: bool = False,
    dims: tuple[int, ...] = (1, 2, 5, 10, 20),
    n_train_choices: tuple[int, ...] = (50, 100, 200, 500, 1000),
) -> pd.DataFrame:
    """Check the bounds exactly on ``n_configs`` random configurations, one row each.

    Configuration i uses its own generator spawned from ``seed``, so the first m rows of a
    larger sweep equal a sweep of m configurations. Per configuration two heads are fitted on
    fine-tuning sets drawn with the two allocations, and every bound is evaluated exactly on the
    fixed test population. ``separation`` is the Mahalanobis distance between the class means
    (mean over groups); ``group_shift`` the one between groups 0 and 1 (max over classes);
    ``alpha1``/``alpha2`` are group 1's shares of the two fine-tuning sets; ``prior_y1_a*`` and
    ``share_a1`` describe the test population. ``violated_*`` and ``slack_*`` are over all groups
    (any / minimum); ``group``, ``eps``, ``gap`` and the bound columns refer to the group with the least slack
    under the sharp bound (:func:`allowance_used` turns them into the share of the TV allowance
    the gap needs).
    ``eps_estimator`` is :func:`marginal_tv_estimator`; ``violated_sharp_estimator`` flags gaps
    above the sharp bound with that estimate plugged in for ε (K = 2 only; NA otherwise).

    Returns
    -------
    pd.DataFrame
        ``n_configs`` rows with columns ``SWEEP_COLUMNS``.
    """
    check_positive_int(n_configs, "n_configs")
    children = np.random.SeedSequence(seed).spawn(n_configs)
    rows = []
    for i, child in enumerate(children):
        rng = np.random.default_rng(child)
        config = sample_configuration(
            rng, n_groups=n_groups, dims=dims, label_shift=label_shift,
            n_train_choices=n_train_choices,
        )
        rows.append(_sweep_row(config, rng, i))
    df = pd.DataFrame(rows, columns=SWEEP_COLUMNS)
    df["violated_sharp_estimator"] = df["violated_sharp_estimator"].astype("boolean")
    return df


BOUND_NAMES = ("paper", "sharp", "weighted", "label_shift")


def violation_upper_bound(n_violations: int, n: int, level: float = 0.95) -> float:
    """One-sided Clopper–Pearson upper confidence bound on a violation rate."""
    if n_violations >= n:
        return 1.0
    return float(stats.beta.ppf(level, n_violations + 1, n - n_violations))


# --------------------------------------------------------------------------------------------
# constructed cases


def counterexample() -> dict:
    """A case where ``P(Y|A)`` differs across groups and both bounds fail.

    d = 2; classes at ±1 on the first axis (unit covariance); the groups differ by 0.1 on the
    second axis, so ε = 2Φ(0.05) - 1 ≈ 0.040; ``P(Y=1|A=0) = 0.1``, ``P(Y=1|A=1) = 0.9``; equal
    test shares. The heads are the large-sample LDA heads for fine-tuning on group 0 only (α = 0)
    and on group 1 only (α = 1): the same direction, thresholds shifted by the groups' label rates.

    Returns
    -------
    dict
        ``config``, ``head1``, ``head2``, ``terms`` (:func:`bound_terms`) and ``table``, a
        DataFrame with one row per group (accuracies, gap, |ΔAcc|, ε, bounds, violated flags).
    """
    means = np.array([[[-1.0, -0.05], [-1.0, 0.05]], [[1.0, -0.05], [1.0, 0.05]]])
    config = GaussianConfig.two_groups(means, np.eye(2), prior_y1=(0.1, 0.9), share_a1=0.5)
    head1 = population_lda_head(config, config.alphas[0])
    head2 = population_lda_head(config, config.alphas[1])
    terms = bound_terms(config, head1, head2)
    table = pd.DataFrame(
        {
            "group": [0, 1],
            "P(Y=1|A)": config.prior_y1,
            "acc, head fitted on α=0": terms["acc_group_1"],
            "acc, head fitted on α=1": terms["acc_group_2"],
            "gap |Δacc(A=a)|": terms["gap"],
            "|Δacc overall|": terms["delta_overall"],
            "ε": terms["eps_group"],
            "paper bound 4ε+|ΔAcc|": terms["paper_bound"],
            "sharp bound": terms["sharp_bound"],
            "label-shift bound": terms["label_shift_bound"],
        }
    )
    for name in ("paper", "sharp", "label_shift"):
        table[f"violates {name}"] = terms["gap"] > terms[f"{name}_bound"] + VIOLATION_TOL
    return {"config": config, "head1": head1, "head2": head2, "terms": terms, "table": table}


def attaining_example(share_a: float = 0.3, eps: float = 0.2) -> dict:
    """A discrete case where the sharp bound holds with equality: its constant cannot be lowered.

    Each class lives on its own three points (L, M, R). Group a puts mass (ε, 1-ε, 0) on them,
    the other group (0, 1-ε, ε), for both classes, so TV = ε and ``P(Y|A)`` is the same in both
    groups. Head 1 is right on L and M, head 2 on R only. Then
    ``|Δ(a)| = 1 = 2(1-π_a)ε + |ΔAcc|`` for every ``share_a`` and ``eps`` in (0, 1).

    Returns
    -------
    dict
        ``eps`` (TV computed from the masses), ``share_a``, ``gap``, ``delta_overall``,
        ``sharp_bound``, ``paper_bound``.
    """
    pi_a = check_fraction(share_a, "share_a")
    e = check_fraction(eps, "eps")
    p_a, p_other = np.array([e, 1 - e, 0.0]), np.array([0.0, 1 - e, e])
    right1, right2 = np.array([1.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])
    tv = 0.5 * np.abs(p_a - p_other).sum()
    # identical for both classes, so the class weights drop out of every accuracy
    acc_a = np.array([p_a @ right1, p_a @ right2])
    acc_other = np.array([p_other @ right1, p_other @ right2])
    acc_all = pi_a * acc_a + (1 - pi_a) * acc_other
    d_all = abs(acc_all[0] - acc_all[1])
    return {
        "eps": float(tv),
        "share_a": pi_a,
        "gap": float(abs(acc_a[0] - acc_a[1])),
        "delta_overall": float(d_all),
        "sharp_bound": float(2 * (1 - pi_a) * tv + d_all),
        "paper_bound": float(4 * tv + d_all),
    }


# --------------------------------------------------------------------------------------------
# summaries of a sweep


def allowance_used(df: pd.DataFrame, bound: str) -> pd.Series:
    """Share of a bound's TV allowance that the observed gap needs, per row of a sweep.

    ``(gap - |ΔAcc|) / (bound - |ΔAcc|)``: ≤ 1 exactly when the bound holds, 1 when it is tight,
    negative when the subgroup moved less than overall accuracy; NaN when the allowance is 0.
    """
    check_choice(bound, "bound", BOUND_NAMES)
    allowance = df[f"{bound}_bound"] - df["delta_overall"]
    return ((df["gap"] - df["delta_overall"]) / allowance.where(allowance > 0)).rename(bound)


def violation_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Violations, their 95 % upper rate bound, vacuity and tightness per bound and assumption status.

    Returns
    -------
    pd.DataFrame
        One row per (bound, assumptions_hold): ``configurations``, ``violations``,
        ``rate_upper_95`` (one-sided Clopper–Pearson), ``vacuous_share`` (bound ≥ 1, i.e. no
        information since accuracies lie in [0, 1]), ``median_used``, ``max_used``
        (:func:`allowance_used`).
    """
    rows = []
    for hold, part in df.groupby("assumptions_hold"):
        for bound in BOUND_NAMES:
            used = allowance_used(part, bound)
            n_viol = int(part[f"violated_{bound}"].sum())
            rows.append({
                "bound": bound,
                "assumptions_hold": bool(hold),
                "configurations": len(part),
                "violations": n_viol,
                "rate_upper_95": violation_upper_bound(n_viol, len(part)),
                "vacuous_share": float((part[f"{bound}_bound"] >= 1.0).mean()),
                "median_used": float(used.median()),
                "max_used": float(used.max()),
            })
    return pd.DataFrame(rows)


def usage_bands(
    df: pd.DataFrame,
    *,
    bounds: tuple[str, ...] = ("paper", "sharp"),
    edges: np.ndarray | None = None,
    quantiles: tuple[float, float, float] = (0.1, 0.5, 0.9),
) -> pd.DataFrame:
    """Quantiles of :func:`allowance_used` in bins of ε, tidy, for a line-with-band chart.

    Returns
    -------
    pd.DataFrame
        Columns ``bound, eps_mid, n, lower, median, upper, max`` (one row per bound and
        non-empty bin; ``edges`` default to width-0.1 bins on [0, 1]; ε = 0 rows are dropped
        because their allowance is 0).
    """
    edges = np.linspace(0.0, 1.0, 11) if edges is None else np.asarray(edges, dtype=np.float64)
    bins = pd.cut(df["eps"], edges, include_lowest=False)
    out = []
    for bound in bounds:
        used = allowance_used(df, bound)
        grouped = used.groupby(bins, observed=True)
        table = grouped.quantile(list(quantiles)).unstack()
        table.columns = ["lower", "median", "upper"]
        table["n"] = grouped.count()
        table["max"] = grouped.max()
        table["eps_mid"] = [iv.mid for iv in table.index]
        table["bound"] = bound
        out.append(table.reset_index(drop=True))
    return pd.concat(out, ignore_index=True)[["bound", "eps_mid", "n", "lower", "median",
                                              "upper", "max"]]
