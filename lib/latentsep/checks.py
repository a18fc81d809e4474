"""Input validation shared by every module.

Each check raises a ``ValueError`` (or ``TypeError``) whose message names the argument, the
offending value and the fix, so that a user calling the library on their own embeddings learns
what to change without reading the source.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def as_2d_float(x: Any, name: str) -> np.ndarray:
    """Return ``x`` as a finite 2-D float array of shape (n_samples, n_features)."""
    arr = np.asarray(x)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array (n_samples, n_features); got shape {arr.shape}. "
            "Flatten per-sample features first, e.g. x.reshape(len(x), -1)."
        )
    if not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must be numeric; got dtype {arr.dtype}.")
    arr = arr.astype(np.float64, copy=False)
    check_finite(arr, name)
    return arr


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise if ``arr`` holds NaN or infinite values, naming how many and where the first is."""
    bad = ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} contains {int(bad.sum())} NaN/inf value(s) (first at index {first}). "
            "Remove or impute those rows before estimating; nothing is dropped silently."
        )


def as_1d_labels(x: Any, name: str, n: int | None = None) -> np.ndarray:
    """Return ``x`` as a 1-D array, checking its length against ``n`` when given."""
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per sample); got shape {arr.shape}.")
    if n is not None and len(arr) != n:
        raise ValueError(
            f"{name} has {len(arr)} entries but the embeddings have {n} rows; "
            "pass one value per embedding row, in the same order."
        )
    if arr.dtype.kind == "f":
        check_finite(arr, name)
    return arr


def as_binary(x: Any, name: str, n: int | None = None) -> np.ndarray:
    """Return ``x`` as an int64 array of 0/1 values."""
    arr = as_1d_labels(x, name, n)
    values = np.unique(arr)
    if not np.isin(values, [0, 1]).all():
        raise ValueError(
            f"{name} must be binary (0/1); found values {values[:10].tolist()}. "
            "Encode the attribute as 0/1, or use the multi-valued helpers (one-vs-rest, pairwise)."
        )
    return arr.astype(np.int64)


def check_fraction(value: float, name: str, *, low_open: bool = False) -> float:
    """Check ``value`` lies in [0, 1] (or (0, 1] with ``low_open``)."""
    ok = (0.0 < value <= 1.0) if low_open else (0.0 <= value <= 1.0)
    if not np.isfinite(value) or not ok:
        interval = "(0, 1]" if low_open else "[0, 1]"
        raise ValueError(f"{name} must lie in {interval}; got {value!r}.")
    return float(value)


def check_choice(value: str, name: str, choices: Sequence[str]) -> str:
    """Check ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of {sorted(choices)}.")
    return value


def check_positive_int(value: int, name: str, minimum: int = 1) -> int:
    """Check ``value`` is an integer ≥ ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def check_splits(
    splits: Mapping[str, Any], required: Sequence[str], n: int, name: str = "splits"
) -> dict[str, np.ndarray]:
    """Validate disjoint index splits into ``n`` rows; return them as int64 arrays.

    Each required split must be a non-empty 1-D integer array of distinct indices in [0, n), and
    no two required splits may share a row (pre-training, fine-tuning and test data stay apart).
    Extra entries are validated the same way but may overlap the required ones.
    """
    if not isinstance(splits, Mapping):
        raise TypeError(f"{name} must be a dict {{split name: index array}}; got {type(splits).__name__}.")
    missing = [s for s in required if s not in splits]
    if missing:
        raise ValueError(
            f"{name} lacks {missing}; it needs index arrays for {list(required)} "
            "(e.g. from latentsep.allocation.split_indices)."
        )
    out = {}
    for key, idx in splits.items():
        idx = np.asarray(idx)
        if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(
                f"{name}[{key!r}] must be a non-empty 1-D integer index array; got shape "
                f"{idx.shape}, dtype {idx.dtype}. Use np.flatnonzero(mask) for a boolean mask."
            )
        repeats = idx.size - np.unique(idx).size
        if idx.min() < 0 or idx.max() >= n or repeats:
            raise ValueError(
                f"{name}[{key!r}] must hold distinct row indices in [0, {n}); got range "
                f"[{idx.min()}, {idx.max()}] with {repeats} repeats."
            )
        out[key] = idx.astype(np.int64)
    for i, first in enumerate(required):
        for second in required[i + 1 :]:
            shared = np.intersect1d(out[first], out[second]).size
            if shared:
                raise ValueError(
                    f"{name}[{first!r}] and {name}[{second!r}] share {shared} rows; pre-training, "
                    "fine-tuning pool, validation pool and test set must be disjoint."
                )
    return out
