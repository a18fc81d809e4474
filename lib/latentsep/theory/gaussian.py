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
from scipy import linalg, special

from latentsep.checks import check_choice, check_fraction, check_positive_int

HEAD_KINDS = ("lda", "logistic")
PAPER_CONSTANT = 4  # of the paper's bound |Δ(k)| ≤ 4 ε + |ΔAcc| (our reconstruction)
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
    return mahalanobis_tv(mahalanobis(np.asarray(mean1) - np.asarray(mean2), cov))


def mahalanobis_tv(delta: float | np.ndarray) -> float | np.ndarray:
    """TV between two Gaussians with one covariance whose means are ``delta`` apart (Mahalanobis).

    >>> round(float(mahalanobis_tv(1.5)), 4)  # 2Φ(0.75) − 1
    0.5467
    """
    return 2.0 * special.ndtr(np.asarray(delta) / 2.0) - 1.0


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
        "paper_bound": PAPER_CONSTANT * eps_group + d_all,
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
