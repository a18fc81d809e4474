"""Input validation shared by every module.

Each check raises a ``ValueError`` (or ``TypeError``) whose message names the argument, the
offending value and the fix, so that a user calling the library on their own embeddings learns
what to change without reading the source.
"""

from __future__ import annotations

from collections.abc import Sequence
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
