"""How the book writes a number with its interval: one spelling for chapters, claims and reports."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

__all__ = ["interval", "interval_column", "seeds_range"]

#: Columns of a summary over seeds that hold the seeds' range (:func:`latentsep.stats.summarise_seeds`).
RANGE = ("n_seeds", "seed_min", "seed_max")


def interval(value: float, low: float, high: float, digits: int = 3, *,
             missing: str | None = None) -> str:
    """``value [low, high]`` with ``digits`` decimals.

    Parameters
    ----------
    value, low, high : float
        A value and the ends of its interval (any units).
    digits : int
        Decimals of all three numbers.
    missing : str, optional
        Written instead when ``value`` is not finite (default: the number as it is, e.g. ``nan``).

    Examples
    --------
    >>> interval(0.1234, 0.1, 0.15)
    '0.123 [0.100, 0.150]'
    >>> interval(float("nan"), 0.0, 1.0, missing="n/a")
    'n/a'
    """
    if missing is not None and not math.isfinite(value):
        return missing
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def seeds_range(value: float, low: float, high: float, n_seeds: int, digits: int = 3) -> str:
    """A mean over seeds with the seeds' range, where no interval is given.

    Examples
    --------
    >>> seeds_range(0.335, 0.31, 0.36, 3)
    '0.335 (3 seeds: 0.310 to 0.360)'
    """
    return f"{value:.{digits}f} ({int(n_seeds)} seeds: {low:.{digits}f} to {high:.{digits}f})"


def interval_column(table: pd.DataFrame, columns: Sequence[str] = ("value", "ci_low", "ci_high"),
                    digits: int = 3, *, missing: str | None = None) -> list[str]:
    """:func:`interval` for every row of ``table``, from its ``(value, low, high)`` columns.

    A row without an interval (NaN ends) in a summary over seeds (columns ``n_seeds, seed_min,
    seed_max``) shows the seeds' range instead (:func:`seeds_range`).

    Examples
    --------
    >>> table = pd.DataFrame({"slope": [0.2, -0.05], "lo": [0.1, float("nan")],
    ...                       "hi": [0.3, float("nan")], "n_seeds": 3, "seed_min": [0.1, -0.1],
    ...                       "seed_max": [0.3, 0.0]})
    >>> interval_column(table, ["slope", "lo", "hi"], digits=2)
    ['0.20 [0.10, 0.30]', '-0.05 (3 seeds: -0.10 to 0.00)']
    """
    spread = set(RANGE) <= set(table.columns)
    out = []
    for i, (value, low, high) in enumerate(table[list(columns)].to_numpy(dtype=float)):
        if spread and math.isfinite(value) and not (math.isfinite(low) and math.isfinite(high)):
            n, first, last = table[list(RANGE)].iloc[i]
            out.append(seeds_range(value, first, last, n, digits))
        else:
            out.append(interval(value, low, high, digits, missing=missing))
    return out
