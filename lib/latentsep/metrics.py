"""Per-subgroup test metrics for many runs at once.

Every metric is computed for all runs in one vectorised pass over a ``(R, N, C)`` array of predicted
probabilities (R runs, N test samples, C classes):

- accuracy: share of samples whose arg-max class is the true class (ties go to the lower class);
- balanced accuracy: mean over the classes present in the subgroup of per-class recall;
- ROC-AUC: Mann–Whitney rank statistic with average ranks for ties (binary: score = probability of
  class 1; more classes: macro average of one-vs-rest AUCs). NaN when the subgroup holds fewer than
  two classes — the AUC is undefined there; the table's ``attrs["notes"]`` says which rows;
- cross-entropy: mean of −log p(true class), with p clipped to [eps, 1 − eps] (eps = machine epsilon
  of the dtype) as scikit-learn's ``log_loss`` does, so a confident mistake costs ~36 nats, not inf.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm, rankdata

from latentsep.checks import as_1d_labels, check_finite, check_fraction

METRICS = ("accuracy", "balanced_accuracy", "roc_auc", "cross_entropy")
COLUMNS = ["run", "attribute", "group", "metric", "value", "n"]


def balanced_accuracy(y_true: Any, y_pred: Any, n_classes: int | None = None) -> np.ndarray:
    """Mean per-class recall over the classes present in ``y_true``, for many runs at once.

    Parameters
    ----------
    y_true, y_pred : array-like of int, shapes broadcastable to (..., N)
        True and predicted class indices in ``0 … n_classes − 1``; e.g. ``y_true`` (N,) shared by
        all runs and ``y_pred`` (R, N), or both (R, N).
    n_classes : int, optional
        Number of classes; default ``max(y_true, y_pred) + 1``.

    Returns
    -------
    numpy.ndarray of float64, shape (...)
        One balanced accuracy per leading index (a 0-d array for 1-D inputs).
    """
    y_true, y_pred = np.broadcast_arrays(np.asarray(y_true), np.asarray(y_pred))
    if n_classes is None:
        n_classes = int(max(y_true.max(), y_pred.max())) + 1
    onehot = y_true[..., None] == np.arange(n_classes)
    support = onehot.sum(axis=-2)
    hits = (onehot & (y_pred == y_true)[..., None]).sum(axis=-2)
    present = support > 0
    recall = np.divide(hits, support, out=np.zeros(hits.shape), where=present)
    return recall.sum(axis=-1) / present.sum(axis=-1)


def roc_auc(y_true: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """ROC-AUC per run via the rank statistic; NaN when ``y_true`` holds fewer than two classes.

    Parameters
    ----------
    y_true : numpy.ndarray of int, shape (N,)
    proba : numpy.ndarray, shape (R, N, C)

    Returns
    -------
    numpy.ndarray of float64, shape (R,)
    """
    n_runs, _, n_classes = proba.shape
    if np.unique(y_true).size < 2:
        return np.full(n_runs, np.nan)
    targets = [1] if n_classes == 2 else list(range(n_classes))
    aucs = []
    for c in targets:
        positive = y_true == c
        n_pos, n_neg = int(positive.sum()), int((~positive).sum())
        if n_pos == 0 or n_neg == 0:  # class c absent from this subgroup: skip it in the macro mean
            continue
        ranks = rankdata(proba[:, :, c], axis=1, method="average")
        aucs.append((ranks[:, positive].sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
    return np.mean(aucs, axis=0)


def cross_entropy(y_true: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Mean −log p(true class) per run, p clipped to [eps, 1 − eps]; shape (R,)."""
    eps = np.finfo(proba.dtype).eps
    p_true = np.take_along_axis(proba, y_true[None, :, None], axis=2)[..., 0]
    return -np.log(np.clip(p_true, eps, 1 - eps)).mean(axis=1)


def _block(y_true: np.ndarray, proba: np.ndarray) -> dict[str, np.ndarray]:
    """All four metrics of one subgroup, each of shape (R,)."""
    return {
        "accuracy": (proba.argmax(axis=2) == y_true).mean(axis=1),
        "balanced_accuracy": balanced_accuracy(y_true, proba.argmax(axis=2), proba.shape[2]),
        "roc_auc": roc_auc(y_true, proba),
        "cross_entropy": cross_entropy(y_true, proba),
    }


def _check_proba(proba: Any, n: int) -> np.ndarray:
    """Validate predicted probabilities: (R, N, C) (or (N, C) for one run), finite, rows sum to 1."""
    arr = np.asarray(proba, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1] != n or arr.shape[2] < 2:
        raise ValueError(
            f"proba must have shape (runs, {n}, classes>=2) to match y_true; got {arr.shape}. "
            "Pass FittedHeads.predict_proba(z_test)."
        )
    check_finite(arr, "proba")
    sums = arr.sum(axis=2)
    if arr.min() < 0 or np.abs(sums - 1).max() > 1e-6:
        raise ValueError(
            f"proba must hold probabilities (>= 0, rows summing to 1); row sums range over "
            f"[{sums.min():.6g}, {sums.max():.6g}]. Apply a softmax to logits first."
        )
    return arr


def _group_values(attribute: str, values: np.ndarray, expected: Sequence | None) -> list:
    """Groups to report for ``attribute``; raise if an expected group has no test sample."""
    present = np.unique(values).tolist()
    if expected is None:
        expected = [0, 1] if set(present) <= {0, 1} else present
    missing = [g for g in expected if g not in present]
    if missing or len(present) < 2:
        absent = missing[0] if missing else "(any second group)"
        raise ValueError(
            f"group {absent!r} of attribute {attribute!r} is absent from the test set (present: "
            f"{present}); per-group metrics need every group. Enlarge or re-split the test set, "
            "or drop the attribute."
        )
    if "all" in present:
        raise ValueError(
            f"attribute {attribute!r} uses the value 'all', which names the whole test set in the "
            "output; recode the attribute (e.g. as 0/1)."
        )
    return [g for g in expected if g in present]


def subgroup_metrics(
    y_true: Any,
    proba: Any,
    groups: Mapping[str, Any],
    *,
    expected_groups: Mapping[str, Sequence] | None = None,
) -> pd.DataFrame:
    """Accuracy, balanced accuracy, ROC-AUC and cross-entropy per run, attribute and group.

    Parameters
    ----------
    y_true : array-like of int, shape (N,)
        True classes ``0 … C − 1`` of the test samples.
    proba : array-like, shape (R, N, C)
        Predicted class probabilities of R runs ((N, C) is read as one run).
    groups : mapping of str to array-like of shape (N,)
        Attribute name → group of every test sample (typically 0/1).
    expected_groups : mapping of str to sequence, optional
        Groups each attribute must contain. Default: {0, 1} for 0/1-coded attributes, else the
        groups present. A missing group raises ``ValueError`` naming the attribute and group.

    Returns
    -------
    pandas.DataFrame
        Tidy columns ``run, attribute, group, metric, value, n``: for every attribute, one row per
        run × (each group, then ``"all"`` for the whole test set) × metric in ``METRICS``, plus
        ``metric="worst_group_accuracy"`` (group ``"all"``, value = the lowest group accuracy,
        n = N). ``n`` counts the test samples behind the value. With no attributes the rows carry
        ``attribute="all"``. ``attrs["notes"]`` explains NaN values (ROC-AUC of one-class groups).
    """
    y = as_1d_labels(y_true, "y_true").astype(np.int64)
    arr = _check_proba(proba, len(y))
    n_runs, n, n_classes = arr.shape
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(
            f"y_true must hold class indices in [0, {n_classes - 1}] (proba has {n_classes} "
            f"columns); got values in [{y.min()}, {y.max()}]. Encode labels as 0 … C−1."
        )
    runs = np.arange(n_runs)
    frames, notes = [], []

    def add(attribute: str, group: Any, metric: str, values: np.ndarray, count: int) -> None:
        frames.append(
            pd.DataFrame(
                {
                    "run": runs,
                    "attribute": attribute,
                    "group": pd.Series([group] * n_runs, dtype=object),
                    "metric": metric,
                    "value": values,
                    "n": count,
                }
            )
        )

    items = list(groups.items()) or [("all", np.zeros(n, dtype=np.int64))]
    for attribute, raw in items:
        values = as_1d_labels(raw, f"groups[{attribute!r}]", n)
        if groups:
            wanted = None if expected_groups is None else expected_groups.get(attribute)
            group_list = _group_values(attribute, values, wanted)
        else:
            group_list = []
        accuracies = []
        for group in [*group_list, "all"]:
            mask = np.ones(n, dtype=bool) if group == "all" else values == group
            block = _block(y[mask], arr[:, mask])
            if np.isnan(block["roc_auc"]).any():
                notes.append(
                    f"roc_auc is NaN for attribute {attribute!r}, group {group!r}: its test "
                    f"samples hold only class(es) {np.unique(y[mask]).tolist()}."
                )
            for metric in METRICS:
                add(attribute, group, metric, block[metric], int(mask.sum()))
            if group != "all":
                accuracies.append(block["accuracy"])
        if accuracies:
            add(attribute, "all", "worst_group_accuracy", np.min(accuracies, axis=0), n)
    table = pd.concat(frames, ignore_index=True)[COLUMNS]
    table.attrs["notes"] = notes
    return table


def prevalence_gap(y: np.ndarray, group: np.ndarray, confidence: float = 0.95) -> dict[str, float]:
    """The class-prevalence gap P(Y=1 | A=1) − P(Y=1 | A=0) with a Wald interval.

    The allocation theorem assumes P(Y | A) equal across the groups; an interval that excludes 0
    puts the attribute outside that assumption (its label-shift form applies instead).

    Parameters
    ----------
    y : array of shape (n,)
        Binary labels.
    group : array of shape (n,)
        Binary group of each row.
    confidence : float
        Coverage of the interval (normal approximation: both groups need tens of rows).

    Returns
    -------
    dict
        ``gap, ci_low, ci_high`` and ``outside`` (1.0 when the interval excludes 0, else 0.0).

    Examples
    --------
    >>> y = np.array([1] * 60 + [0] * 40 + [1] * 30 + [0] * 70)
    >>> g = np.array([1] * 100 + [0] * 100)
    >>> out = prevalence_gap(y, g)
    >>> round(out["gap"], 3), out["outside"]
    (0.3, 1.0)
    """
    check_fraction(confidence, "confidence", low_open=True)
    y, group = np.asarray(y, dtype=float), np.asarray(group)
    rates, variances = [], []
    for g in (0, 1):
        part = y[group == g]
        if len(part) < 2:
            raise ValueError(f"group {g} has {len(part)} rows; a prevalence gap needs both groups.")
        rates.append(part.mean())
        variances.append(part.mean() * (1 - part.mean()) / len(part))
    gap = float(rates[1] - rates[0])
    half = float(norm.ppf(0.5 + confidence / 2) * np.sqrt(sum(variances)))
    return {"gap": gap, "ci_low": gap - half, "ci_high": gap + half,
            "outside": float(gap - half > 0 or gap + half < 0)}
