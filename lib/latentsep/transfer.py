"""Cross-group transfer gap: does a head trained on one group work on the other?

Latent separation is what the paper's bound needs: if the groups are inseparable in the frozen
latent space, reallocating the fine-tuning data cannot move one group's accuracy much beyond the
overall accuracy. The converse does not hold. Groups can be perfectly separable along directions
the head ignores (a tint, a frame around the image) and then every allocation trains the same
head. What moves a group's accuracy is whether the head that its *own* data would train differs
from the head the *other* group's data trains. That is measured directly on a labelled pilot
sample by cross-fitting:

1. standardise the embeddings and keep their leading ``n_components`` principal components;
2. split the rows in two folds, stratified by class × group, ``n_repeats`` times;
3. in each fold, train one logistic-regression head per group on that group's training rows,
   both on the same number of rows (the smaller group's count; class ratios as in the group);
4. score every held-out row with its own group's head and with the other group's head.

For group ``g`` the gap is ``BA_g(own head) − BA_g(other group's head)`` (BA = balanced accuracy
on the held-out rows of ``g``), the pilot-scale analogue of the paper's "full-shot minus
zero-shot"; the attribute's gap is the mean over its two groups, as the attribute sensitivity is
the mean of its groups' slopes. A group-independent change (a head that is better for everyone)
cancels in that mean, as it does in the sensitivity. Unlike a histogram TV the gap has no
positive small-sample bias: for an attribute unrelated to the embeddings both heads are draws
from the same distribution, so the gap is centred on 0.

Separation caps the gap. For fixed heads ``g_a``, ``g_b`` and class ``y``, regrouping the two
groups' gaps by head gives ``G_y(a) + G_y(b) ≤ 2·TV(P(Z | y, a), P(Z | y, b))``, so the attribute's
gap is at most the mean over classes of the class-conditional (joint) TV, with no assumption on
shares or label rates (chapter 01 derives it next to the paper's bound).

The CI is a paired, stratified bootstrap over the held-out rows: each row's own-minus-other
correctness (averaged over repeats) is resampled within its class × group cell. It covers the
evaluation noise of the pilot sample, not the choice of the pilot sample's training rows, which
the repeats average out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression

from latentsep.checks import as_2d_float, as_binary, check_fraction, check_positive_int

# Inverse L2 strength of the heads. Pilot groups are a few hundred rows against up to 64
# dimensions; sklearn's default (1.0) lets a head fit group-specific noise, which inflates the gap
# of attributes whose sweeps are flat.
DEFAULT_C = 0.1
DEFAULT_COMPONENTS = 64
DEFAULT_REPEATS = 5
MIN_CELL = 2  # rows per class × group cell: both folds must see every cell


@dataclass(frozen=True)
class TransferGap:
    """The transfer gap of one attribute.

    Attributes
    ----------
    value : float
        Mean over the two groups of ``BA(own head) − BA(other group's head)``, balanced-accuracy
        units (−1 … 1).
    ci_low, ci_high : float
        Bootstrap CI of ``value``.
    gap_0, gap_1 : float
        The two groups' gaps.
    own_0, own_1, other_0, other_1 : float
        Held-out balanced accuracy of each group under its own head and under the other's.
    n_train : int
        Rows per head (smallest over folds and repeats).
    n_0, n_1 : int
        Rows of each group.
    """

    value: float
    ci_low: float
    ci_high: float
    gap_0: float
    gap_1: float
    own_0: float
    own_1: float
    other_0: float
    other_1: float
    n_train: int
    n_0: int
    n_1: int


def transfer_features(z: Any, n_components: int = DEFAULT_COMPONENTS) -> np.ndarray:
    """Standardised embeddings projected on their leading principal components.

    Parameters
    ----------
    z : array_like, shape (n, d)
    n_components : int
        Components kept (capped at ``min(n − 1, d)``).

    Returns
    -------
    ndarray, shape (n, min(n_components, n − 1, d)), float64
    """
    z = as_2d_float(z, "z")
    check_positive_int(n_components, "n_components")
    sd = z.std(axis=0)
    x = (z - z.mean(axis=0)) / np.where(sd > 0, sd, 1.0)  # constant columns stay 0
    k = min(n_components, len(x) - 1, x.shape[1])
    if k >= x.shape[1]:
        return x
    return PCA(k, svd_solver="covariance_eigh").fit_transform(x)


def _check_cells(y: np.ndarray, a: np.ndarray, name: str) -> None:
    for g in (0, 1):
        for c in (0, 1):
            count = int(((a == g) & (y == c)).sum())
            if count < MIN_CELL:
                raise ValueError(
                    f"attribute {name!r}: group {g} has {count} row(s) of class {c}; the transfer "
                    f"gap needs at least {MIN_CELL} per (class, group) cell so that both folds see "
                    "it. Collect more of that cell or drop the attribute."
                )


def _halves(cells: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Fold (0/1) per row: each cell's rows in random order, the first half in fold 0."""
    fold = np.ones(len(cells), dtype=np.int64)
    for code in np.unique(cells):
        members = rng.permutation(np.flatnonzero(cells == code))
        fold[members[: len(members) // 2]] = 0
    return fold


def _subsample(rows: np.ndarray, y: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    """``m`` of ``rows`` with the class ratio of ``rows`` kept (at least one row per class)."""
    if m >= len(rows):
        return rows
    counts = {c: int((y[rows] == c).sum()) for c in (0, 1)}
    take = {c: max(1, round(m * counts[c] / len(rows))) for c in (0, 1)}
    major = max(take, key=take.get)
    take[major] = m - take[1 - major]
    return np.concatenate([rng.choice(rows[y[rows] == c], take[c], replace=False) for c in (0, 1)])


def _head(x: np.ndarray, y: np.ndarray, c: float) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=1000).fit(x, y)


def transfer_gap(
    x: Any,
    y: Any,
    a: Any,
    *,
    name: str = "attribute",
    n_repeats: int = DEFAULT_REPEATS,
    n_bootstrap: int = 200,
    c: float = DEFAULT_C,
    confidence: float = 0.95,
    seed: int = 0,
) -> TransferGap:
    """Cross-fitted transfer gap of one binary attribute.

    Parameters
    ----------
    x : array_like, shape (n, k)
        Head inputs, usually :func:`transfer_features` of the embeddings.
    y : array_like, shape (n,)
        0/1 labels.
    a : array_like, shape (n,)
        0/1 groups.
    name : str
        Attribute name for error messages.
    n_repeats : int
        Random 2-fold splits averaged over.
    n_bootstrap : int
        Bootstrap resamples of the CI.
    c : float
        Inverse L2 strength of the logistic heads.
    confidence : float
        CI coverage.
    seed : int

    Returns
    -------
    TransferGap

    Raises
    ------
    ValueError
        A (class, group) cell with fewer than 2 rows, or bad arguments.
    """
    x = as_2d_float(x, "x")
    y = as_binary(y, "y", len(x))
    a = as_binary(a, name, len(x))
    check_positive_int(n_repeats, "n_repeats")
    check_positive_int(n_bootstrap, "n_bootstrap")
    check_fraction(confidence, "confidence", low_open=True)
    if not (np.isfinite(c) and c > 0):
        raise ValueError(f"c must be a positive number (inverse L2 strength); got {c!r}.")
    _check_cells(y, a, name)
    cells = 2 * a + y
    rng = np.random.default_rng(seed)
    own = np.zeros(len(y))
    other = np.zeros(len(y))
    n_train = len(y)
    for _ in range(n_repeats):
        fold = _halves(cells, rng)
        for f in (0, 1):
            train = [np.flatnonzero((fold != f) & (a == g)) for g in (0, 1)]
            m = min(len(t) for t in train)
            n_train = min(n_train, m)
            heads = [_head(x[rows], y[rows], c) for rows in (_subsample(t, y, m, rng) for t in train)]
            for g in (0, 1):
                held = np.flatnonzero((fold == f) & (a == g))
                own[held] += heads[g].predict(x[held]) == y[held]
                other[held] += heads[1 - g].predict(x[held]) == y[held]
    own /= n_repeats
    other /= n_repeats
    members = [np.flatnonzero(cells == code) for code in range(4)]  # code = 2 · group + class

    def balanced(correct: np.ndarray, g: int) -> float:
        return float(np.mean([correct[members[2 * g + k]].mean() for k in (0, 1)]))

    own_ba = [balanced(own, g) for g in (0, 1)]
    other_ba = [balanced(other, g) for g in (0, 1)]
    gaps = [own_ba[g] - other_ba[g] for g in (0, 1)]
    # the attribute's gap is the plain mean of the four cells' mean differences, so resampling
    # rows within each cell gives its bootstrap distribution directly
    diff = own - other
    boot = np.mean([rng.multinomial(len(m), np.full(len(m), 1 / len(m)), size=n_bootstrap)
                    @ diff[m] / len(m) for m in members], axis=0)
    low, high = np.percentile(boot, [50 * (1 - confidence), 50 * (1 + confidence)])
    return TransferGap(
        value=float(np.mean(gaps)), ci_low=float(low), ci_high=float(high),
        gap_0=gaps[0], gap_1=gaps[1], own_0=own_ba[0], own_1=own_ba[1], other_0=other_ba[0],
        other_1=other_ba[1], n_train=int(n_train),
        n_0=int((a == 0).sum()), n_1=int((a == 1).sum()),
    )


def transfer_table(
    z: Any,
    y: Any,
    attributes: Mapping[str, Any],
    *,
    n_components: int = DEFAULT_COMPONENTS,
    **kw: Any,
) -> pd.DataFrame:
    """Transfer gap of several attributes on one set of embeddings (one PCA for all).

    Parameters
    ----------
    z : array_like, shape (n, d)
        Frozen-encoder embeddings.
    y : array_like, shape (n,)
        0/1 labels.
    attributes : mapping of str to array_like, shape (n,)
        0/1 groups per attribute; NaN marks a row whose group is unknown (left out of that
        attribute only).
    n_components : int
        See :func:`transfer_features`.
    **kw
        Keywords of :func:`transfer_gap` (``n_repeats, n_bootstrap, c, confidence, seed``).

    Returns
    -------
    DataFrame
        One row per attribute: ``attribute, transfer_gap, transfer_ci_low, transfer_ci_high,
        gap_0, gap_1, own_0, own_1, other_0, other_1, n_train``.
    """
    x = transfer_features(z, n_components)
    y = as_binary(y, "y", len(x))
    rows = []
    for name, values in attributes.items():
        values = np.asarray(values, dtype=float)
        if values.shape != y.shape:
            raise ValueError(
                f"attribute {name!r} has shape {values.shape}; expected ({len(y)},), one value per "
                "embedding row."
            )
        known = ~np.isnan(values)
        gap = transfer_gap(x[known], y[known], values[known].astype(np.int64), name=name, **kw)
        rows.append({"attribute": name, "transfer_gap": gap.value,
                     "transfer_ci_low": gap.ci_low, "transfer_ci_high": gap.ci_high,
                     "gap_0": gap.gap_0, "gap_1": gap.gap_1, "own_0": gap.own_0,
                     "own_1": gap.own_1, "other_0": gap.other_0, "other_1": gap.other_1,
                     "n_train": gap.n_train})
    return pd.DataFrame(rows)
