"""Invariance penalties for pre-training, and the size of the paper's TV surrogate (§5.6).

:func:`regularised_embeddings` pre-trains (and caches) one encoder per seed with ``λ · penalty`` on
a binary attribute; :func:`penalty_scale` measures how large the TV surrogate is on fixed embeddings,
and its noise floor, so that a λ can be read in units that mean something. Used by chapters 05
(the λ sweep) and 06 (the regulariser arm of the controlled experiment).

λ = 0 is always the *unregularised* encoder (no penalty object at all). :func:`latentsep.models.pretrain`
guarantees that a penalty evaluated at λ = 0 leaves training bitwise unchanged, so this is the same
model, and it shares its cache entry with the chapters that never regularise.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from latentsep.checks import check_choice, check_positive_int
from latentsep.experiments.protocol import EncoderRun, ProtocolData, pretrained_embeddings
from latentsep.models.training import PretrainConfig, build_model
from latentsep.regularise import GroupAdversary, MMDPenalty, Regulariser, TVSurrogate
from latentsep.stats import summarise_seeds

PENALTIES = ("tv", "mmd", "adversary")
PENALTY_LABELS = {
    "tv": "TV surrogate (paper)",
    "mmd": "RBF MMD²",
    "adversary": "adversarial group classifier",
}


def make_regulariser(
    penalty: str, *, embedding_dim: int, seed: int = 0, tv_reduction: str = "sum",
    tv_variance: str = "within",
) -> Regulariser:
    """A fresh invariance penalty by name.

    Parameters
    ----------
    penalty : {"tv", "mmd", "adversary"}
        The paper's TV surrogate (:class:`~latentsep.regularise.TVSurrogate`), class-conditional RBF
        MMD² with the median bandwidth (:class:`~latentsep.regularise.MMDPenalty`), or an
        adversarial group classifier behind gradient reversal
        (:class:`~latentsep.regularise.GroupAdversary`).
    embedding_dim : int
        Width of the encoder's embedding (the adversary's input).
    seed : int
        Seeds the adversary's initial weights (unused by the other two).
    tv_reduction : {"sum", "mean"}
        How the TV surrogate combines dimensions. ``"sum"`` is the squared Mahalanobis distance
        as defined, the reading under which the paper's λ = 0.01 is meant; ``"mean"`` divides by
        the embedding width.
    tv_variance : {"within", "total"}
        The TV surrogate's denominator: pooled within-group variance, or the authors' total
        variance of both groups' rows (:class:`~latentsep.regularise.TVSurrogate`).

    Returns
    -------
    Regulariser
    """
    check_choice(penalty, "penalty", PENALTIES)
    if penalty == "tv":
        return TVSurrogate(reduction=tv_reduction, variance=tv_variance)
    if penalty == "mmd":
        return MMDPenalty()
    return GroupAdversary(check_positive_int(embedding_dim, "embedding_dim"), seed=seed)


def regularised_embeddings(
    data: ProtocolData,
    model_factory: Callable[[], nn.Module],
    *,
    penalty: str,
    lam: float,
    attribute: str,
    seeds: Sequence[int],
    config: PretrainConfig,
    cache_dir: str | os.PathLike,
    tv_reduction: str = "sum",
    progress: bool = True,
    tv_variance: str = "within",
) -> dict[int, EncoderRun]:
    """Encoders pre-trained with ``lam · penalty`` on ``attribute`` (cached), one per seed.

    ``lam = 0`` returns the unregularised encoders (``regulariser=None``): bitwise the same weights
    as the penalty evaluated at λ = 0, and the same cache entry as an unregularised chapter.

    Parameters
    ----------
    data, model_factory, seeds, config, cache_dir, progress
        As in :func:`latentsep.experiments.protocol.pretrained_embeddings`.
    penalty : {"tv", "mmd", "adversary"}
        See :func:`make_regulariser`.
    lam : float
        Penalty weight λ ≥ 0.
    attribute : str
        Binary attribute the penalty makes the embedding invariant to, within each class.
    tv_reduction, tv_variance : str
        See :func:`make_regulariser`.

    Returns
    -------
    dict[int, EncoderRun]
        Seed -> run.
    """
    check_choice(penalty, "penalty", PENALTIES)
    if not (np.isfinite(lam) and lam >= 0):
        raise ValueError(f"lam must be a finite number >= 0; got {lam!r}. Use 0 for no penalty.")
    data.attribute(attribute)  # unknown names raise here, before any training
    if lam == 0:
        return pretrained_embeddings(data, model_factory, seeds=seeds, config=config,
                                     cache_dir=cache_dir, progress=progress)
    dim = int(build_model(model_factory, 0).embedding_dim)  # seeded: leaves global RNG alone
    runs = {}
    for seed in seeds:  # one call per seed: the adversary's initial weights follow the seed
        regulariser = make_regulariser(penalty, embedding_dim=dim, seed=seed, tv_reduction=tv_reduction,
                                       tv_variance=tv_variance)
        runs.update(pretrained_embeddings(data, model_factory, seeds=[seed], config=config,
                                          cache_dir=cache_dir, regulariser=regulariser, lam=lam,
                                          groups_attribute=attribute, progress=progress))
    return runs


def penalty_scale(
    z: np.ndarray,
    y: np.ndarray,
    a: np.ndarray,
    *,
    batch_size: int = 128,
    n_batches: int = 50,
    seed: int = 0,
) -> pd.DataFrame:
    """Size of the TV surrogate on random mini-batches of fixed embeddings, and its noise floor.

    The surrogate is computed on batches the size of a training batch, with ``a`` as observed and
    with ``a`` shuffled within each class (an embedding that carries no group information at all).
    The shuffled value is the floor a perfectly invariant encoder would still pay: for ``"sum"`` it
    grows with the embedding width, so the same λ means a stronger penalty for a wider embedding.

    Parameters
    ----------
    z : np.ndarray
        Embeddings, shape (N, D).
    y, a : np.ndarray
        Class labels and the binary group attribute, shape (N,).
    batch_size, n_batches : int
        Size and number of random batches (drawn without replacement within a batch).
    seed : int
        Seeds the batches and the shuffles.

    Returns
    -------
    pd.DataFrame
        One row per (``groups`` ∈ {"observed", "shuffled within class"}, ``reduction`` ∈ {"sum",
        "mean"}): ``mean`` penalty over batches, ``ci_low``, ``ci_high`` (95 % t-interval over
        batches), ``n_batches``, ``embedding_dim``.
    """
    z = torch.as_tensor(np.asarray(z, dtype=np.float32))
    y = np.asarray(y)
    a = np.asarray(a)
    if z.ndim != 2 or len(y) != len(z) or len(a) != len(z):
        raise ValueError(
            f"z must be (N, D) with y and a of length N; got z {tuple(z.shape)}, y {y.shape}, "
            f"a {a.shape}."
        )
    check_positive_int(batch_size, "batch_size", minimum=4)
    check_positive_int(n_batches, "n_batches", minimum=2)
    rng = np.random.default_rng(seed)
    shuffled = a.copy()
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        shuffled[rows] = rng.permutation(a[rows])
    records = []
    for _ in range(n_batches):
        idx = rng.choice(len(z), min(batch_size, len(z)), replace=False)
        yb = torch.as_tensor(y[idx])
        for label, groups in (("observed", a), ("shuffled within class", shuffled)):
            ab = torch.as_tensor(groups[idx])
            for reduction in ("sum", "mean"):
                value = TVSurrogate(reduction=reduction)(z[idx], yb, ab).value
                records.append({"groups": label, "reduction": reduction, "value": float(value)})
    out = summarise_seeds(pd.DataFrame(records), "value", ["groups", "reduction"])
    out = out.rename(columns={"value": "mean", "n_seeds": "n_batches"})
    out["embedding_dim"] = z.shape[1]
    return out[["groups", "reduction", "mean", "ci_low", "ci_high", "n_batches", "embedding_dim"]]

