"""Invariance penalties added to the task loss during (pre-)training (paper §5.6).

Each penalty is computed on one mini-batch of embeddings ``z`` with labels ``y`` and a binary
group attribute ``a``, and is *class-conditional*: it compares group 0 with group 1 within each
class, then averages over classes with equal weights, mirroring the class-conditional latent
separation it tries to reduce.

- :class:`TVSurrogate` / :func:`tv_surrogate` -- the paper's surrogate: the squared
  diagonal-Mahalanobis distance between the two groups' mean embeddings.
- :class:`MMDPenalty` / :func:`mmd_penalty` -- a stronger alternative: RBF-kernel MMD² between
  the groups, which sees every moment, not only the means.
- :class:`GroupAdversary` -- an adversarial group classifier behind a gradient-reversal layer.

All return a :class:`Penalty` and satisfy the :class:`Regulariser` protocol accepted by
:func:`latentsep.models.pretrain`. None of them draws random numbers while being evaluated, so
evaluating one never shifts the training run's random stream.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch
from torch import nn
from torch.nn import functional as F

from latentsep.checks import check_choice, check_positive_int


@dataclass(frozen=True)
class Penalty:
    """A penalty on one batch.

    Attributes
    ----------
    value : torch.Tensor
        Differentiable scalar (shape ``()``); exactly zero, still attached to the graph, when no
        class could be used.
    n_classes_used : int
        Classes present in the batch with at least ``min_count`` samples in each group.
    n_classes_skipped : int
        Classes present in the batch but skipped because a group had fewer than ``min_count``
        samples there (a missing class-group cell).
    """

    value: torch.Tensor
    n_classes_used: int
    n_classes_skipped: int


@runtime_checkable
class Regulariser(Protocol):
    """Anything that maps a batch ``(z (B, D), y (B,), a (B,))`` to a :class:`Penalty`.

    A regulariser that is also an ``nn.Module`` with parameters (the adversary) has them trained
    by the same optimiser as the model.
    """

    def __call__(self, z: torch.Tensor, y: torch.Tensor, a: torch.Tensor) -> Penalty: ...


def _check_batch(z: torch.Tensor, y: torch.Tensor, a: torch.Tensor) -> None:
    if z.ndim != 2:
        raise ValueError(
            f"z must be 2-D (batch, embedding_dim); got shape {tuple(z.shape)}. "
            "Flatten the embedding first, e.g. z.flatten(1)."
        )
    for name, t in (("y", y), ("a", a)):
        if t.ndim != 1 or len(t) != len(z):
            raise ValueError(
                f"{name} must be 1-D with one entry per row of z ({len(z)}); got shape "
                f"{tuple(t.shape)}. Pass the batch's labels and groups in the same order as z."
            )
    if bool(((a != 0) & (a != 1)).any()):
        raise ValueError(
            f"a must be binary (0/1); found values {torch.unique(a)[:10].tolist()}. "
            "Encode the group attribute as 0/1."
        )


def _class_conditional(
    z: torch.Tensor,
    y: torch.Tensor,
    a: torch.Tensor,
    distance: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    min_count: int,
) -> Penalty:
    """Average ``distance(z[group 0], z[group 1])`` over the classes where both groups are present."""
    _check_batch(z, y, a)
    values = []
    skipped = 0
    for c in torch.unique(y).tolist():
        in_class = y == c
        z0, z1 = z[in_class & (a == 0)], z[in_class & (a == 1)]
        if min(len(z0), len(z1)) < min_count:
            skipped += 1
            continue
        values.append(distance(z0, z1))
    if not values:
        # Zero that still carries a (zero) gradient, so callers can always backpropagate.
        return Penalty(z.sum() * 0.0, 0, skipped)
    return Penalty(torch.stack(values).mean(), len(values), skipped)


class TVSurrogate:
    """The paper's latent-separation surrogate (§5.6).

    Per class ``y`` with group samples ``Z0``, ``Z1`` (``n0``, ``n1`` rows)::

        d_y = reduce_j (mean(Z1)_j - mean(Z0)_j)^2 / (s_j^2 + eps)
        s_j^2 = [sum_i (Z0_ij - mean(Z0)_j)^2 + sum_i (Z1_ij - mean(Z1)_j)^2] / (n0 + n1 - 2)

    i.e. the squared Mahalanobis distance between the group means under the pooled within-group
    per-dimension (diagonal) variance; the penalty is the unweighted mean of ``d_y`` over classes.
    With ``variance="total"`` (the authors' ``src/utils/tv_surrogate.py``) the denominator is the
    biased variance of the two groups' rows taken together::

        s_j^2 = mean_i (Z_ij - mean(Z)_j)^2,   Z = [Z0; Z1]
              = (n0·v0_j + n1·v1_j) / n + (n0·n1 / n^2) · (mean(Z1)_j - mean(Z0)_j)^2

    (``v0``, ``v1`` the groups' biased variances, ``n = n0 + n1``), which includes the gap between
    the means, so each term is bounded: ``d_yj <= n^2 / (n0·n1)`` (4 for equal groups), where the
    within-group form grows without bound as the groups separate.

    Parameters
    ----------
    eps : float
        Added to every pooled variance (paper: 1e-6), > 0; guards dimensions that are constant
        in the batch (e.g. dead ReLU units), which contribute 0 instead of 0/0.
    reduction : {"mean", "sum"}
        How the per-dimension terms are combined. A squared Mahalanobis distance is by definition
        a **sum** over dimensions, which is what the paper's wording implies. The default
        ``"mean"`` divides that by the embedding width ``D`` so that a given λ means the same
        strength for a 1568-d CNN embedding and a 64-d MLP embedding; λ with ``"sum"`` equals
        ``D`` × λ with ``"mean"`` (so the paper's λ = 0.01, if summed, is λ = 15.68 in ``"mean"``
        units on SimpleCNN).
    min_count : int
        Minimum samples per group within a class (≥ 2); classes below it are skipped and counted.
        Two per group keeps the pooled variance from resting on a single pair of points, which
        would leave only ``eps`` in the denominator.
    variance : {"within", "total"}
        Denominator: the pooled within-group variance (default) or the authors' total variance of
        the pooled rows (see above). The authors also sum over dimensions (``reduction="sum"``).

    Notes
    -----
    The gradient flows through the variance too, so an encoder can lower the penalty by spreading
    the groups out as well as by moving their means together: the surrogate constrains means
    relative to spread, not whole distributions (compare :class:`MMDPenalty`).
    """

    variance = "within"  # a class default: only a changed value appears in vars(), hence in cache keys

    def __init__(self, *, eps: float = 1e-6, reduction: str = "mean", min_count: int = 2,
                 variance: str = "within") -> None:
        if check_choice(variance, "variance", ("within", "total")) != TVSurrogate.variance:
            self.variance = variance
        if not eps > 0:
            raise ValueError(
                f"eps must be > 0 (it keeps constant dimensions from giving 0/0); got {eps!r}. "
                "The paper uses 1e-6."
            )
        self.eps = float(eps)
        self.reduction = check_choice(reduction, "reduction", ("mean", "sum"))
        self.min_count = check_positive_int(min_count, "min_count", minimum=2)

    def _distance(self, z0: torch.Tensor, z1: torch.Tensor) -> torch.Tensor:
        mu0, mu1 = z0.mean(0), z1.mean(0)
        if self.variance == "total":
            pooled_var = torch.cat([z0, z1]).var(0, unbiased=False)
        else:
            within = (z0 - mu0).pow(2).sum(0) + (z1 - mu1).pow(2).sum(0)
            pooled_var = within / (len(z0) + len(z1) - 2)
        d = (mu1 - mu0).pow(2) / (pooled_var + self.eps)
        return d.mean() if self.reduction == "mean" else d.sum()

    def __call__(self, z: torch.Tensor, y: torch.Tensor, a: torch.Tensor) -> Penalty:
        """Penalty on one batch; ``z`` (B, D) float, ``y`` (B,) int labels, ``a`` (B,) 0/1."""
        return _class_conditional(z, y, a, self._distance, self.min_count)


class MMDPenalty:
    """Class-conditional RBF-kernel MMD² between the two groups' embeddings.

    Kernel ``k(u, v) = exp(-‖u − v‖² / (2σ²))``. Per class, the groups' samples are compared with
    the unbiased U-statistic (diagonal terms excluded; expectation exactly 0 when the groups share
    a distribution, so it can be slightly negative) or the biased V-statistic (always ≥ 0,
    positively biased by O(1/n)). Classes are averaged with equal weights.

    Parameters
    ----------
    bandwidth : float or None
        Kernel width σ (embedding units). ``None`` uses the median heuristic per class and batch:
        σ² = median of the pairwise squared distances in the pooled class sample, treated as a
        constant (no gradient flows through the median).
    estimator : {"unbiased", "biased"}
        U- or V-statistic, as above.
    min_count : int
        Minimum samples per group within a class (≥ 2, needed by the U-statistic).
    """

    def __init__(
        self, *, bandwidth: float | None = None, estimator: str = "unbiased", min_count: int = 2
    ) -> None:
        if bandwidth is not None and not bandwidth > 0:
            raise ValueError(f"bandwidth must be > 0 or None (median heuristic); got {bandwidth!r}.")
        self.bandwidth = bandwidth
        self.estimator = check_choice(estimator, "estimator", ("unbiased", "biased"))
        self.min_count = check_positive_int(min_count, "min_count", minimum=2)

    def _distance(self, z0: torch.Tensor, z1: torch.Tensor) -> torch.Tensor:
        n0, n1 = len(z0), len(z1)
        x = torch.cat([z0, z1])
        sq = (x * x).sum(1)
        eye = torch.eye(len(x), dtype=torch.bool, device=x.device)
        # The expansion is O(n²) memory instead of O(n² D) for explicit differences; the clamp
        # removes rounding negatives, and the diagonal is exactly zero by construction.
        d2 = (sq[:, None] + sq[None, :] - 2.0 * x @ x.T).clamp_min(0.0).masked_fill(eye, 0.0)
        if self.bandwidth is None:
            sigma2 = d2.detach()[~eye].median().clamp_min(torch.finfo(x.dtype).tiny)
        else:
            sigma2 = torch.tensor(self.bandwidth**2, dtype=x.dtype, device=x.device)
        k = torch.exp(-d2 / (2.0 * sigma2))
        kxx, kyy, kxy = k[:n0, :n0], k[n0:, n0:], k[:n0, n0:]
        if self.estimator == "biased":
            return kxx.mean() + kyy.mean() - 2.0 * kxy.mean()
        within_x = (kxx.sum() - kxx.diagonal().sum()) / (n0 * (n0 - 1))
        within_y = (kyy.sum() - kyy.diagonal().sum()) / (n1 * (n1 - 1))
        return within_x + within_y - 2.0 * kxy.mean()

    def __call__(self, z: torch.Tensor, y: torch.Tensor, a: torch.Tensor) -> Penalty:
        """Penalty on one batch; ``z`` (B, D) float, ``y`` (B,) int labels, ``a`` (B,) 0/1."""
        return _class_conditional(z, y, a, self._distance, self.min_count)


class _GradReverse(torch.autograd.Function):
    """Identity forward, negated gradient backward (Ganin & Lempitsky, 2015)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return -grad


class GroupAdversary(nn.Module):
    """Adversarial group classifier predicting ``a`` from ``(z, one_hot(y))`` through gradient reversal.

    The penalty value is the adversary's cross-entropy (nats). Added to the task loss as
    ``λ · penalty``, the adversary's own weights descend it (learns to detect the group within
    each class) while the encoder, behind the reversal layer, ascends it (hides the group).
    Conditioning on ``y`` makes the target class-conditional invariance, as for the other
    penalties. Its gradients are scaled by λ; under Adam (scale-invariant steps) that barely slows
    the adversary, which is why :func:`latentsep.models.pretrain` gives it no weight decay.

    Parameters
    ----------
    in_dim : int
        Embedding width ``D``.
    n_classes : int
        Number of task classes (labels must lie in ``0 .. n_classes-1``).
    hidden : int
        Width of the adversary's single hidden layer.
    seed : int
        Seeds the adversary's initial weights without touching the global random stream.
    """

    def __init__(self, in_dim: int, *, n_classes: int = 2, hidden: int = 64, seed: int = 0) -> None:
        super().__init__()
        self.in_dim = check_positive_int(in_dim, "in_dim")
        self.n_classes = check_positive_int(n_classes, "n_classes", minimum=2)
        check_positive_int(hidden, "hidden")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.net = nn.Sequential(nn.Linear(in_dim + n_classes, hidden), nn.ReLU(), nn.Linear(hidden, 2))

    def forward(self, z: torch.Tensor, y: torch.Tensor, a: torch.Tensor) -> Penalty:
        """Penalty on one batch; ``z`` (B, D) float, ``y`` (B,) int labels, ``a`` (B,) 0/1."""
        _check_batch(z, y, a)
        if z.shape[1] != self.in_dim:
            raise ValueError(
                f"z has {z.shape[1]} columns but the adversary was built with in_dim={self.in_dim}; "
                "build GroupAdversary(in_dim=model.embedding_dim)."
            )
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= self.n_classes):
            raise ValueError(
                f"y must lie in 0..{self.n_classes - 1}; found range [{int(y.min())}, "
                f"{int(y.max())}]. Build GroupAdversary(n_classes=...) with the right class count."
            )
        features = torch.cat([_GradReverse.apply(z), F.one_hot(y.long(), self.n_classes).to(z)], 1)
        loss = F.cross_entropy(self.net(features), a.long())
        return Penalty(loss, int(torch.unique(y).numel()), 0)


def tv_surrogate(
    z: torch.Tensor,
    y: torch.Tensor,
    a: torch.Tensor,
    *,
    eps: float = 1e-6,
    reduction: str = "mean",
    min_count: int = 2,
    variance: str = "within",
) -> torch.Tensor:
    """The paper's surrogate on one batch as a differentiable scalar; see :class:`TVSurrogate`.

    Parameters
    ----------
    z : torch.Tensor
        Embeddings, shape (B, D).
    y : torch.Tensor
        Integer class labels, shape (B,).
    a : torch.Tensor
        Binary group attribute, shape (B,).

    Returns
    -------
    torch.Tensor
        Shape ``()``; zero (with gradient) if no class has ``min_count`` samples in both groups.
        Use ``TVSurrogate(...)(z, y, a)`` for the counts of used and skipped classes.
    """
    return TVSurrogate(eps=eps, reduction=reduction, min_count=min_count, variance=variance)(z, y, a).value


def mmd_penalty(
    z: torch.Tensor,
    y: torch.Tensor,
    a: torch.Tensor,
    *,
    bandwidth: float | None = None,
    estimator: str = "unbiased",
    min_count: int = 2,
) -> torch.Tensor:
    """Class-conditional RBF MMD² on one batch as a scalar; see :class:`MMDPenalty`.

    Shapes as in :func:`tv_surrogate`.
    """
    return MMDPenalty(bandwidth=bandwidth, estimator=estimator, min_count=min_count)(z, y, a).value
