"""The per-group scaling law of Rolf et al. (2021), *Representation Matters*.

``err_j = δ + σ²·n_j^(−p) + τ²·n^(−q)``: a group's error falls with its own sample size ``n_j`` and
with the total ``n``. Fitting it to an allocation sweep says how much of a group's error its own
data buys, the quantity an allocation planner trades off. The book does not use it yet; it is here
for users who plan allocations from a sweep.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from latentsep.checks import as_1d_labels

__all__ = ["ScalingLawFit", "fit_scaling_law"]


@dataclass(frozen=True)
class ScalingLawFit:
    """Fitted per-group scaling law ``err = δ + σ²·n_j^(−p) + τ²·n^(−q)`` (Rolf et al., 2021).

    Attributes
    ----------
    delta, sigma2, p, tau2, q : float
        Parameters (``tau2 = q = 0`` when fitted without the population term).
    rmse : float
        Root-mean-square residual, in error units.
    n_points : int
        Points used (those with ``n_group > 0``).
    population_term : bool
        Whether the ``τ²·n^(−q)`` term was fitted.
    """

    delta: float
    sigma2: float
    p: float
    tau2: float
    q: float
    rmse: float
    n_points: int
    population_term: bool

    def predict(self, n_group: np.ndarray, n_total: np.ndarray) -> np.ndarray:
        """Predicted error at group size ``n_group`` and total size ``n_total`` (both > 0)."""
        return _law(np.array([self.delta, self.sigma2, self.p, self.tau2, self.q]),
                    np.asarray(n_group, dtype=float), np.asarray(n_total, dtype=float))


def _law(theta: np.ndarray, n_group: np.ndarray, n_total: np.ndarray) -> np.ndarray:
    delta, sigma2, p, tau2, q = theta
    return delta + sigma2 * n_group ** (-p) + tau2 * n_total ** (-q)


def fit_scaling_law(
    n_group: Sequence[float] | np.ndarray,
    n_total: Sequence[float] | np.ndarray,
    error: Sequence[float] | np.ndarray,
    *,
    population_term: bool = True,
    max_exponent: float = 2.0,
) -> ScalingLawFit:
    """Least-squares fit of Rolf et al.'s per-group law ``err = δ + σ²·n_j^(−p) + τ²·n^(−q)``.

    Parameters
    ----------
    n_group : array-like, shape (m,)
        Training examples from the group (``own_share · k``). Points with 0 are excluded: the law
        diverges there (zero-shot error is not described by it).
    n_total : array-like, shape (m,)
        Total training-set size of each point. The population term is only identifiable when it
        varies (an allocation sweep at fixed k does not vary it; use ``population_term=False`` or
        add points from sweeps at other k, e.g. the "expand" design).
    error : array-like, shape (m,)
        The group's error (e.g. ``1 − accuracy``) at each point.
    population_term : bool
        Fit ``τ², q``; otherwise fix them to 0 and fit ``δ + σ²·n_j^(−p)``.
    max_exponent : float
        Upper bound of ``p`` and ``q``. Bounds: ``0 ≤ δ ≤ 1``, ``σ², τ² ≥ 0``, ``0 ≤ p, q ≤``
        ``max_exponent``.

    Returns
    -------
    ScalingLawFit
        Best of a small grid of starting exponents (the problem is not convex).
    """
    n_group = np.asarray(as_1d_labels(n_group, "n_group"), dtype=float)
    n_total = np.asarray(as_1d_labels(n_total, "n_total", n=len(n_group)), dtype=float)
    error = np.asarray(as_1d_labels(error, "error", n=len(n_group)), dtype=float)
    if np.any(n_group < 0) or np.any(n_total <= 0) or np.any(n_group > n_total):
        raise ValueError("need 0 ≤ n_group ≤ n_total and n_total > 0 for every point.")
    keep = n_group > 0
    n_params = 5 if population_term else 3
    if keep.sum() < n_params + 1:
        raise ValueError(
            f"only {int(keep.sum())} points with n_group > 0; fitting {n_params} parameters needs "
            f"at least {n_params + 1}. Add allocation levels, or use population_term=False."
        )
    if population_term and np.unique(n_total[keep]).size < 2:
        raise ValueError(
            f"n_total is constant ({n_total[keep][0]:g}), so τ² and q are not identifiable; "
            "pass population_term=False or add points at other total sizes."
        )
    x_group, x_total, y = n_group[keep], n_total[keep], error[keep]
    free = slice(None) if population_term else slice(0, 3)
    low = np.zeros(5)
    high = np.array([1.0, np.inf, max_exponent, np.inf, max_exponent])

    def residuals(theta_free: np.ndarray) -> np.ndarray:
        theta = np.zeros(5)
        theta[free] = theta_free
        return _law(theta, x_group, x_total) - y

    best = None
    for p0 in (0.25, 0.5, 1.0):
        start = np.array([max(y.min() * 0.5, 0.0), 1.0, p0, 1.0, p0])[free]
        result = optimize.least_squares(residuals, start, bounds=(low[free], high[free]),
                                        method="trf", x_scale="jac", max_nfev=5000)
        if best is None or result.cost < best.cost:
            best = result
    theta = np.zeros(5)
    theta[free] = best.x
    rmse = float(np.sqrt(np.mean(best.fun**2)))
    return ScalingLawFit(*map(float, theta), rmse=rmse, n_points=int(keep.sum()),
                         population_term=population_term)
