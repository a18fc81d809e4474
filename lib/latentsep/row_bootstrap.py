"""A bootstrap over one encoder's evaluation rows: intervals within each encoder (issue 13).

Three pre-training seeds give a Student-t interval on 2 degrees of freedom, too few to carry a
claim or a displayed interval. What each encoder's own data can say is how much its numbers move
when its evaluation (test) rows are resampled. This module resamples the test rows within each
(class, group) cell — as :func:`latentsep.separation.latent_separation` does for its own
bootstrap — and recomputes a sweep's quantities on every draw from the heads' per-row scores
(``run_sweep(rows=True)``).

Pairing: draws are weightings of the same test rows, fixed by a seed and the rows' classes and
groups, so encoders evaluated on the same rows get the same draws (:func:`row_weights`; the
separation bootstrap's own draws are fixed the same way); the difference of two
encoders' draws is a paired bootstrap of their difference (e.g. λ = 0.01 against λ = 0).

Intervals are percentile intervals shifted to centre on the estimate (:func:`shifted_interval`),
the form of the separation bootstrap.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from latentsep.checks import check_fraction, check_positive_int
from latentsep.separation import _bootstrap_weights
from latentsep.store import fingerprint

#: Bootstrap draws of the test rows per encoder (chapter 03's separation bootstrap draws 200 in
#: the quick profile; 400 keeps the chapters' added time near 10 s).
ROW_DRAWS = 400
#: Suffix of the per-seed columns holding a quantity's draws (an array of :data:`ROW_DRAWS`).
DRAWS = "_draws"


_WEIGHTS: dict[tuple, np.ndarray] = {}  # every encoder of a dataset shares its rows' draws


def row_weights(y: np.ndarray, a: np.ndarray, n_draws: int = ROW_DRAWS,
                seed: int = 0) -> np.ndarray:
    """Resampling counts of the rows, within each (class ``y``, group ``a``) cell.

    Returns
    -------
    np.ndarray, shape (n_draws, n), read-only
        How often each row is drawn; every cell keeps its size. Equal inputs give the same
        draws (kept in memory for the next encoder on the same rows).

    Examples
    --------
    >>> w = row_weights(np.array([0, 0, 1, 1, 1]), np.array([0, 1, 0, 0, 1]), n_draws=3)
    >>> w.shape, w.sum(axis=1).tolist(), w[:, [0, 1, 4]].tolist()
    ((3, 5), [5.0, 5.0, 5.0], [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    """
    check_positive_int(n_draws, "n_draws")
    key = (fingerprint(np.asarray(y), np.asarray(a)), n_draws, seed)
    if key not in _WEIGHTS:
        rng = np.random.default_rng(seed)
        weights = np.zeros((n_draws, len(y)))
        for c in np.unique(y):
            rows = np.flatnonzero(y == c)
            w0, w1 = _bootstrap_weights(np.asarray(a)[rows], n_draws, rng)
            weights[:, rows] = w0 + w1
        weights.setflags(write=False)
        if len(_WEIGHTS) >= 4:
            _WEIGHTS.pop(next(iter(_WEIGHTS)))
        _WEIGHTS[key] = weights
    return _WEIGHTS[key]


def shifted_interval(value: float, draws: np.ndarray, confidence: float = 0.95
                     ) -> tuple[float, float]:
    """The draws' percentile interval moved to centre on ``value``.

    NaN when fewer than ``confidence`` of the draws are finite (e.g. a matched accuracy cost that
    too many resamples do not reach): an interval that leaves out that many draws says nothing.

    Examples
    --------
    >>> shifted_interval(0.5, np.linspace(0.1, 0.3, 101))
    (0.405, 0.595)
    """
    check_fraction(confidence, "confidence", low_open=True)
    draws = np.asarray(draws, dtype=float)
    finite = np.isfinite(draws)
    draws = draws[finite]
    if not draws.size or finite.mean() < confidence or not np.isfinite(value):
        return (float("nan"), float("nan"))
    lo, hi = np.quantile(draws, [(1 - confidence) / 2, (1 + confidence) / 2])
    shift = value - draws.mean()
    return (round(float(lo + shift), 12), round(float(hi + shift), 12))


def _rate(weights: np.ndarray, hits: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Weighted share of ``hits`` (R, N) among the ``mask`` rows, per draw: (B, R)."""
    return (weights @ (hits * mask).T) / (weights @ mask)[:, None]


def _per_group(metric: str, weights: np.ndarray, correct: np.ndarray, loss: np.ndarray,
               y: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``metric`` of the ``mask`` rows for every draw and run, shape (B, R)."""
    if metric == "cross_entropy":
        return _rate(weights, loss, mask)
    if metric == "accuracy":
        return _rate(weights, correct, mask)
    classes = [c for c in np.unique(y) if (mask & (y == c)).any()]
    return np.mean([_rate(weights, correct, mask & (y == c)) for c in classes], axis=0)


def sweep_draws(rows: pd.DataFrame, y: np.ndarray, a: np.ndarray, weights: np.ndarray,
                metric: str = "balanced_accuracy") -> dict[str, np.ndarray]:
    """One encoder's sweep quantities on the observed rows and on every draw of them.

    Parameters
    ----------
    rows : pd.DataFrame
        One encoder's per-row scores (:data:`latentsep.sweep.ROW_COLUMNS`; one sweep seed).
    y, a : np.ndarray, shape (N,)
        Class and group of each test row (``row`` indexes them).
    weights : np.ndarray, shape (B, N)
        Row weightings (:func:`row_weights`).
    metric : {"balanced_accuracy", "accuracy", "cross_entropy"}
        Metric of the slopes.

    Returns
    -------
    dict of str to np.ndarray, shape (B + 1,)
        Entry 0 is the observed rows (equal to the sweep's own numbers), then one per draw:
        ``slope_0``, ``slope_1`` (OLS slope of each group's ``metric`` on its own share),
        ``sensitivity`` (their mean), ``abs_sensitivity`` (mean of their absolute values),
        ``abs_slope_1``, ``full_minus_zero`` (own share 1 minus 0, mean of the groups), and the
        head at α = 0.5: ``balanced_accuracy`` (all rows) and ``worst_group_accuracy``.
    """
    if rows["seed"].nunique() != 1:
        raise ValueError("rows must hold one sweep seed (one encoder's sweep); split them first.")
    runs = rows.drop_duplicates("run").sort_values("run")
    alphas = runs["alpha"].to_numpy(dtype=float)
    n = len(y)
    ordered = rows.sort_values(["run", "row"])
    correct = ordered["correct"].to_numpy(dtype=float).reshape(len(runs), n)
    loss = ordered["log_loss"].to_numpy(dtype=float).reshape(len(runs), n)
    w = np.vstack([np.ones(n), weights])
    out, accuracy = {}, []
    for g in (0, 1):
        values = _per_group(metric, w, correct, loss, y, a == g)
        share = alphas if g == 1 else 1 - alphas
        dx = share - share.mean()
        out[f"slope_{g}"] = (values - values.mean(axis=1, keepdims=True)) @ dx / (dx @ dx)
        out[f"fmz_{g}"] = (values[:, np.isclose(share, 1)].mean(axis=1)
                           - values[:, np.isclose(share, 0)].mean(axis=1))
        accuracy.append(_rate(w, correct, a == g)[:, np.isclose(alphas, 0.5)].mean(axis=1))
    half = np.isclose(alphas, 0.5)
    all_rows = np.ones(n, bool)
    return {
        "slope_0": out["slope_0"], "slope_1": out["slope_1"],
        "sensitivity": (out["slope_0"] + out["slope_1"]) / 2,
        "abs_sensitivity": (np.abs(out["slope_0"]) + np.abs(out["slope_1"])) / 2,
        "abs_slope_1": np.abs(out["slope_1"]),
        "full_minus_zero": (out["fmz_0"] + out["fmz_1"]) / 2,
        "balanced_accuracy": _per_group("balanced_accuracy", w, correct, loss, y,
                                        all_rows)[:, half].mean(axis=1),
        "worst_group_accuracy": np.minimum(*accuracy),
    }


def draws_summary(per_seed: pd.DataFrame, column: str, by: Sequence[str],
                  confidence: float = 0.95) -> pd.DataFrame:
    """Mean over seeds of ``column`` with a row-bootstrap interval, per ``by`` group.

    The interval resamples the test rows with the seeds' encoders held fixed (the draws of
    ``column + DRAWS``, averaged over the seeds draw by draw): the within-encoder uncertainty of
    the mean, not the spread between encoders, which ``seed_min``/``seed_max`` show. Without
    draws the interval is NaN.

    Returns
    -------
    pd.DataFrame
        ``by …, column, ci_low, ci_high, n_seeds, seed_min, seed_max, interval``.
    """
    rows = []
    has_draws = column + DRAWS in per_seed.columns
    for keys, part in per_seed.groupby(list(by), sort=True):
        value = float(part[column].mean())
        low = high = float("nan")
        if has_draws and part[column + DRAWS].notna().all():
            low, high = shifted_interval(value, np.mean(np.stack(part[column + DRAWS]), axis=0),
                                         confidence)
        rows.append({**dict(zip(by, keys if isinstance(keys, tuple) else (keys,), strict=True)),
                     column: value, "ci_low": low, "ci_high": high, "n_seeds": len(part),
                     "seed_min": float(part[column].min()), "seed_max": float(part[column].max()),
                     "interval": ROW_INTERVAL if np.isfinite(low) else SEEDS_RANGE})
    return pd.DataFrame(rows)


#: What an interval of :func:`draws_summary` rests on, as tables and claims name it.
ROW_INTERVAL = "row bootstrap of the test rows, encoders fixed"
SEEDS_RANGE = "none: the seeds' range is shown"


def per_seed_intervals(per_seed: pd.DataFrame, column: str,
                       confidence: float = 0.95) -> list[tuple[int, float, float, float]]:
    """``(seed, value, ci_low, ci_high)`` of ``column`` for each encoder, from its own draws."""
    out = []
    for row in per_seed.sort_values("seed").itertuples(index=False):
        value = float(getattr(row, column))
        draws = getattr(row, column + DRAWS, None)
        low, high = (shifted_interval(value, draws, confidence) if draws is not None
                     else (float("nan"), float("nan")))
        out.append((int(row.seed), value, low, high))
    return out


def chart_bars(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of a :func:`draws_summary`-like table for error bars: where a row has no interval
    (``ci_low``/``ci_high`` NaN) the bar spans the seeds' range; ``per_seed`` lists are dropped.

    Examples
    --------
    >>> t = pd.DataFrame({"ci_low": [0.1, np.nan], "ci_high": [0.2, np.nan],
    ...                   "seed_min": [0.0, 0.3], "seed_max": [0.5, 0.6]})
    >>> chart_bars(t)[["ci_low", "ci_high"]].to_numpy().tolist()
    [[0.1, 0.2], [0.3, 0.6]]
    """
    out = table.drop(columns=["per_seed"], errors="ignore").copy()
    missing = out["ci_low"].isna() | out["ci_high"].isna()
    if missing.any():
        out.loc[missing, ["ci_low", "ci_high"]] = out.loc[missing, ["seed_min", "seed_max"]].to_numpy()
    return out
