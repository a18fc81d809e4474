"""How the book writes a number with its interval: one spelling for chapters, claims and reports."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

__all__ = ["interval", "interval_column"]


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


def interval_column(table: pd.DataFrame, columns: Sequence[str] = ("value", "ci_low", "ci_high"),
                    digits: int = 3, *, missing: str | None = None) -> list[str]:
    """:func:`interval` for every row of ``table``, from its ``(value, low, high)`` columns.

    Examples
    --------
    >>> table = pd.DataFrame({"slope": [0.2, -0.05], "lo": [0.1, -0.1], "hi": [0.3, 0.0]})
    >>> interval_column(table, ["slope", "lo", "hi"], digits=2)
    ['0.20 [0.10, 0.30]', '-0.05 [-0.10, 0.00]']
    """
    return [interval(*row, digits, missing=missing) for row in table[list(columns)].to_numpy()]
