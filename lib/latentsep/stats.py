"""Statistics on allocation sweeps: slopes, full-minus-zero, correlations, the bound check.

The per-group scaling law of Rolf et al. (2021) is in :mod:`latentsep.scaling`.

Conventions
-----------
* A sweep table is the tidy output of :func:`latentsep.sweep.run_sweep`: columns ``attribute,
  alpha, seed, group, metric, value, own_share`` (``group`` is 0, 1 or ``"all"``; ``own_share`` is
  the group's share of the fine-tuning set, ``alpha`` for group 1 and ``1 − alpha`` for group 0).
* Uncertainty is *across seeds*: a statistic is computed within each seed (one slope per seed,
  one difference per seed), then summarised by the mean, its standard error ``sd / √S`` and a
  Student-t interval with ``S − 1`` degrees of freedom. With one seed the interval is NaN — a
  single sweep says nothing about its own seed-to-seed noise.
* Correlations report Pearson's r *and* R² = r² under their own names (the paper's figures print
  R² labelled "r"), each with a CI.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from latentsep.checks import as_1d_labels, check_fraction, check_positive_int

GROUP_KEYS = ["attribute", "group"]


# --------------------------------------------------------------------------- seed summaries
def _t_summary(values: np.ndarray, confidence: float) -> dict[str, float]:
    """Mean, standard error and two-sided Student-t CI of per-seed values, and their range
    (``seed_min``, ``seed_max``: what a claim reads when the seeds are too few for the t-interval,
    see :func:`latentsep.report.fill_claim`)."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    mean = float(values.mean())
    spread = {"seed_min": float(values.min()), "seed_max": float(values.max())}
    if n < 2:
        return {"se": np.nan, "ci_low": np.nan, "ci_high": np.nan, "mean": mean, "n_seeds": n,
                **spread}
    se = float(values.std(ddof=1) / np.sqrt(n))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * se
    return {"mean": mean, "se": se, "ci_low": mean - half, "ci_high": mean + half, "n_seeds": n,
            **spread}


def summarise_seeds(
    per_seed: pd.DataFrame, column: str, by: Sequence[str], confidence: float = 0.95
) -> pd.DataFrame:
    """Aggregate a per-seed statistic: mean, SE and t-interval across seeds within ``by`` groups.

    Parameters
    ----------
    per_seed : DataFrame
        One row per (``by`` …, seed) with the statistic in ``column``.
    column : str
        Name of the statistic; it also names the mean in the output.
    by : sequence of str
        Grouping columns kept in the output.
    confidence : float
        Coverage of the interval.

    Returns
    -------
    DataFrame
        ``by`` columns, then ``column`` (mean over seeds), ``se``, ``ci_low``, ``ci_high``,
        ``n_seeds``, ``seed_min``, ``seed_max`` (the seeds' range).
    """
    check_fraction(confidence, "confidence", low_open=True)
    rows = []
    for keys, part in per_seed.groupby(list(by), sort=True):
        summary = _t_summary(part[column].to_numpy(), confidence)
        rows.append({**dict(zip(by, keys, strict=True)), column: summary.pop("mean"), **summary})
    columns = [*by, column, "se", "ci_low", "ci_high", "n_seeds", "seed_min", "seed_max"]
    return pd.DataFrame(rows, columns=columns)


def _group_rows(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Rows of ``metric`` for the two groups of each attribute (not ``"all"``)."""
    missing = {"attribute", "seed", "group", "metric", "value", "own_share"} - set(df.columns)
    if missing:
        raise ValueError(
            f"df lacks columns {sorted(missing)}; pass the table returned by run_sweep."
        )
    rows = df[(df["metric"] == metric) & (df["group"].astype(str) != "all")]
    if rows.empty:
        raise ValueError(
            f"metric {metric!r} has no per-group rows; available metrics: "
            f"{sorted(df['metric'].unique())}."
        )
    rows = rows.copy()
    rows["group"] = rows["group"].astype(int)
    return rows


def _ols_slope(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of ``y`` on ``x`` (with intercept)."""
    dx = x - x.mean()
    return float(dx @ (y - y.mean()) / (dx @ dx))


def allocation_slopes(
    df: pd.DataFrame,
    metric: str = "balanced_accuracy",
    *,
    per_seed: bool = False,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Allocation sensitivity of each group: OLS slope of its test metric on its own share.

    The slope is fitted within each seed (over that seed's allocations), then averaged over seeds.
    Units: metric units per unit of own share (share 0 → 1), so a balanced-accuracy slope of
    0.05 means +0.05 balanced accuracy when going from absent to the whole fine-tuning set.

    Parameters
    ----------
    df : DataFrame
        Sweep table (see module docstring).
    metric : str
        Which metric to regress (``"cross_entropy"`` for the paper's loss slopes).
    per_seed : bool
        Return the per-seed slopes (columns ``attribute, group, seed, slope``) instead of the
        summary; :func:`attribute_sensitivity` accepts both.
    confidence : float
        Coverage of the t-interval across seeds.

    Returns
    -------
    DataFrame
        ``attribute, group, slope, se, ci_low, ci_high, n_seeds`` (one row per attribute × group).
    """
    rows = _group_rows(df, metric)
    records = []
    for (attribute, group, seed), part in rows.groupby(["attribute", "group", "seed"]):
        x = part["own_share"].to_numpy(dtype=float)
        if np.unique(x).size < 2:
            raise ValueError(
                f"attribute {attribute!r}, group {group}, seed {seed} has a single own share "
                f"({x[0]}); a slope needs at least two allocation levels in the sweep's alphas."
            )
        slope = _ols_slope(x, part["value"].to_numpy(dtype=float))
        records.append({"attribute": attribute, "group": group, "seed": seed, "slope": slope})
    table = pd.DataFrame.from_records(records)
    return table if per_seed else summarise_seeds(table, "slope", GROUP_KEYS, confidence)


def full_minus_zero(
    df: pd.DataFrame,
    metric: str = "balanced_accuracy",
    *,
    per_seed: bool = False,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Full-shot minus zero-shot: the group's metric at own share 1 minus at own share 0.

    Computed within each seed, then summarised across seeds like :func:`allocation_slopes`.

    Returns
    -------
    DataFrame
        ``attribute, group, full_minus_zero, se, ci_low, ci_high, n_seeds`` (or per seed with
        ``per_seed=True``).
    """
    rows = _group_rows(df, metric)
    records = []
    for (attribute, group, seed), part in rows.groupby(["attribute", "group", "seed"]):
        by_share = part.groupby("own_share")["value"].mean()
        full = by_share[np.isclose(by_share.index, 1.0)]
        zero = by_share[np.isclose(by_share.index, 0.0)]
        if full.empty or zero.empty:
            raise ValueError(
                f"attribute {attribute!r}, group {group}, seed {seed} lacks own share 0 or 1 "
                f"(has {sorted(by_share.index)}); include alpha 0.0 and 1.0 in the sweep."
            )
        diff = float(full.iloc[0] - zero.iloc[0])
        records.append(
            {"attribute": attribute, "group": group, "seed": seed, "full_minus_zero": diff}
        )
    table = pd.DataFrame.from_records(records)
    return table if per_seed else summarise_seeds(table, "full_minus_zero", GROUP_KEYS, confidence)


def attribute_sensitivity(
    table: pd.DataFrame, column: str = "slope", *, confidence: float = 0.95
) -> pd.DataFrame:
    """Attribute-level value: the mean of its two groups' per-group values, with a CI.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`allocation_slopes` or :func:`full_minus_zero`. With ``per_seed=True``
        tables the groups are averaged within each seed and the t-interval is taken across seeds,
        which keeps the within-seed correlation of the two groups (preferred). With summary tables
        the two standard errors are combined in quadrature, ``se = ½·√(se₀² + se₁²)``, which
        assumes the groups' estimates independent, and the interval uses ``min(n_seeds) − 1``
        degrees of freedom.
    column : str
        The per-group value: ``"slope"`` or ``"full_minus_zero"``.

    Returns
    -------
    DataFrame
        ``attribute, <column>, se, ci_low, ci_high, n_seeds, propagation``.
    """
    check_fraction(confidence, "confidence", low_open=True)
    if column not in table.columns:
        raise ValueError(
            f"column {column!r} is not in the table (columns {list(table.columns)}); pass "
            "column='slope' for allocation_slopes output or 'full_minus_zero' for full_minus_zero."
        )
    counts = table.groupby("attribute")["group"].nunique()
    if (counts != 2).any():
        bad = counts[counts != 2].to_dict()
        raise ValueError(f"each attribute needs exactly two groups; got group counts {bad}.")
    if "seed" in table.columns:
        per_seed = table.groupby(["attribute", "seed"], as_index=False)[column].mean()
        out = summarise_seeds(per_seed, column, ["attribute"], confidence)
        out["propagation"] = "per-seed"
        return out
    rows = []
    for attribute, part in table.groupby("attribute", sort=True):
        mean = float(part[column].mean())
        se = float(0.5 * np.sqrt((part["se"] ** 2).sum()))
        n = int(part["n_seeds"].min())
        half = stats.t.ppf(0.5 + confidence / 2, n - 1) * se if n > 1 else np.nan
        rows.append({"attribute": attribute, column: mean, "se": se, "ci_low": mean - half,
                     "ci_high": mean + half, "n_seeds": n, "propagation": "quadrature"})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- correlations
def _rowwise_pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of each row pair of (B, n) arrays; NaN where a row is constant."""
    dx = x - x.mean(axis=1, keepdims=True)
    dy = y - y.mean(axis=1, keepdims=True)
    denom = np.sqrt((dx * dx).sum(axis=1) * (dy * dy).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (dx * dy).sum(axis=1) / denom, np.nan)


def correlate(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, float | tuple[float, float] | int]:
    """Pearson r, R² and Spearman ρ between paired values, each with a CI.

    Parameters
    ----------
    x, y : array-like, shape (n,)
        Paired values, e.g. latent separation and attribute sensitivity across attributes.
    n_boot : int
        Bootstrap resamples of the pairs (percentile intervals). Resamples in which x or y is
        constant have no correlation and are skipped; ``n_boot_used`` reports how many remained.
    seed : int
        Seed of the bootstrap.
    confidence : float
        Coverage of every interval.

    Returns
    -------
    dict
        ``pearson_r``; ``pearson_ci`` (Fisher z, needs n ≥ 4, else NaN); ``pearson_boot_ci``;
        ``r2`` (= r², the share of variance explained) and ``r2_ci`` (bootstrap of r²);
        ``spearman`` and ``spearman_ci`` (bootstrap); ``p_value`` (two-sided, Pearson, exact
        t-test under normality); ``spearman_p``; ``n``; ``n_boot_used``.
    """
    x = np.asarray(as_1d_labels(x, "x"), dtype=float)
    y = np.asarray(as_1d_labels(y, "y", n=len(x)), dtype=float)
    check_positive_int(n_boot, "n_boot", minimum=1)
    check_fraction(confidence, "confidence", low_open=True)
    n = len(x)
    if n < 3:
        raise ValueError(f"x has {n} pairs; a correlation needs at least 3 (better ≥ 8).")
    for name, values in (("x", x), ("y", y)):
        if np.ptp(values) == 0:
            raise ValueError(f"{name} is constant ({values[0]}); a correlation is undefined.")
    pearson = stats.pearsonr(x, y)
    spearman = stats.spearmanr(x, y)
    r = float(pearson.statistic)
    if n > 3:
        z_half = stats.norm.ppf(0.5 + confidence / 2) / np.sqrt(n - 3)
        with np.errstate(divide="ignore"):  # |r| = 1 maps to ±inf and back to a (±1, ±1) interval
            z = np.arctanh(r)
        fisher_ci = (float(np.tanh(z - z_half)), float(np.tanh(z + z_half)))
    else:
        fisher_ci = (np.nan, np.nan)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    boot_r = _rowwise_pearson(x[idx], y[idx])
    boot_rho = _rowwise_pearson(stats.rankdata(x[idx], axis=1), stats.rankdata(y[idx], axis=1))
    ok = np.isfinite(boot_r) & np.isfinite(boot_rho)
    tails = 100 * np.array([0.5 - confidence / 2, 0.5 + confidence / 2])

    def interval(values: np.ndarray) -> tuple[float, float]:
        low, high = np.percentile(values[ok], tails)
        return float(low), float(high)

    return {
        "pearson_r": r,
        "pearson_ci": fisher_ci,
        "pearson_boot_ci": interval(boot_r),
        "r2": r * r,
        "r2_ci": interval(boot_r**2),
        "spearman": float(spearman.statistic),
        "spearman_ci": interval(boot_rho),
        "p_value": float(pearson.pvalue),
        "spearman_p": float(spearman.pvalue),
        "n": n,
        "n_boot_used": int(ok.sum()),
    }


# --------------------------------------------------------------------------- bound check
def bound_check(
    tv: Sequence[float] | np.ndarray,
    delta_group: Sequence | np.ndarray,
    delta_overall: Sequence | np.ndarray,
    *,
    tv_se: float | Sequence[float] | np.ndarray = 0.0,
    constant: float = 2.0,
    confidence: float = 0.95,
    labels: Sequence | None = None,
) -> pd.DataFrame:
    """Check ``|Δ group acc| ≤ constant·TV + |Δ overall acc|`` with propagated uncertainty.

    For each comparison i the margin ``m = constant·tv + |Δoverall| − |Δgroup|`` is computed
    *within each seed* (so the correlation between a group's and the population's change under
    the same heads is kept), then averaged over seeds. Its standard error combines the
    across-seed standard error with the TV estimate's standard error in quadrature
    (``se² = s²_seeds/S + (constant·tv_se)²``; TV and heads are estimated independently), and the
    interval uses Student-t with ``S − 1`` degrees of freedom (normal when ``S = 1``).

    Parameters
    ----------
    tv : array-like, shape (m,)
        Latent separation (total variation) per comparison, in [0, 1].
    delta_group, delta_overall : array-like, shape (m,) or (m, S)
        Change of the group's and of the overall accuracy between two heads (e.g. α = 1 vs 0),
        one column per seed.
    tv_se : float or array-like, shape (m,)
        Standard error of each TV estimate (e.g. bootstrap SD); 0 treats TV as exact.
    constant : float
        2 for the sharp bound derived in the book, 4 for the paper's stated form.
    confidence : float
        Coverage of the margin's interval.
    labels : sequence, optional
        One label per comparison, stored in a ``label`` column.

    Returns
    -------
    DataFrame
        ``label, tv, bound, observed, margin, margin_se, ci_low, ci_high, status, non_vacuous``,
        where ``bound = constant·tv + |Δoverall|`` and ``observed = |Δgroup|`` are seed means;
        ``status`` is ``"holds"`` when the whole interval of the margin is ≥ 0, ``"violated"``
        when it is entirely < 0, else ``"inconclusive"``; ``non_vacuous`` is ``bound < 1``
        (the authors' check that the bound says something about an accuracy).
    """
    tv = np.asarray(tv, dtype=float)
    if tv.ndim != 1:
        raise ValueError(f"tv must be 1-D (one value per comparison); got shape {tv.shape}.")
    m = len(tv)
    if np.any((tv < 0) | (tv > 1)) or not np.all(np.isfinite(tv)):
        raise ValueError(f"tv must lie in [0, 1]; got {tv.tolist()}.")

    def per_seed(values: Sequence | np.ndarray, name: str) -> np.ndarray:
        arr = np.asarray(values, dtype=float)
        arr = arr[:, None] if arr.ndim == 1 else arr
        if arr.ndim != 2 or arr.shape[0] != m:
            raise ValueError(
                f"{name} must have shape ({m},) or ({m}, n_seeds) to match tv; got {arr.shape}."
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN/inf; drop the incomplete comparisons first.")
        return arr

    group = per_seed(delta_group, "delta_group")
    overall = per_seed(delta_overall, "delta_overall")
    if group.shape != overall.shape:
        raise ValueError(
            f"delta_group has shape {group.shape} but delta_overall has {overall.shape}; "
            "give both one column per seed, from the same heads."
        )
    tv_se = np.broadcast_to(np.asarray(tv_se, dtype=float), (m,))
    if np.any(tv_se < 0):
        raise ValueError(f"tv_se must be ≥ 0; got {tv_se.tolist()}.")
    check_fraction(confidence, "confidence", low_open=True)
    n_seeds = group.shape[1]
    margins = constant * tv[:, None] + np.abs(overall) - np.abs(group)
    margin = margins.mean(axis=1)
    seed_var = margins.var(axis=1, ddof=1) / n_seeds if n_seeds > 1 else np.zeros(m)
    margin_se = np.sqrt(seed_var + (constant * tv_se) ** 2)
    quantile = (stats.t.ppf(0.5 + confidence / 2, n_seeds - 1) if n_seeds > 1
                else stats.norm.ppf(0.5 + confidence / 2))
    low, high = margin - quantile * margin_se, margin + quantile * margin_se
    bound = constant * tv + np.abs(overall).mean(axis=1)
    return pd.DataFrame(
        {
            "label": list(labels) if labels is not None else np.arange(m),
            "tv": tv,
            "bound": bound,
            "observed": np.abs(group).mean(axis=1),
            "margin": margin,
            "margin_se": margin_se,
            "ci_low": low,
            "ci_high": high,
            "status": np.where(low >= 0, "holds", np.where(high < 0, "violated", "inconclusive")),
            "non_vacuous": bound < 1,
        }
    )


def allocation_deltas(
    sweeps: pd.DataFrame,
    *,
    metric: str = "accuracy",
    alphas: tuple[float, float] = (0.0, 1.0),
) -> pd.DataFrame:
    """Change of a metric between two allocations of a sweep, per attribute, group and seed.

    Parameters
    ----------
    sweeps : DataFrame
        Long sweep results: ``attribute, alpha, seed, group, metric, value`` (``group`` 0, 1 or
        ``"all"`` for the whole test set), as written by :func:`latentsep.sweep.run_sweep`.
    metric : str
        Which metric to difference.
    alphas : (float, float)
        The two allocation levels; Δ = value at ``alphas[1]`` minus value at ``alphas[0]``.

    Returns
    -------
    DataFrame
        Index ``(attribute, group)`` with ``group`` as a string (``"0"``, ``"1"``, ``"all"``),
        one column per seed: the Δ of the heads trained with that seed.

    Examples
    --------
    >>> rows = [("A", alpha, 0, group, "accuracy", 0.5 + alpha * (group == "1"))
    ...         for alpha in (0.0, 1.0) for group in ("0", "1", "all")]
    >>> sweeps = pd.DataFrame(rows, columns=["attribute", "alpha", "seed", "group", "metric", "value"])
    >>> allocation_deltas(sweeps)[0].to_dict()
    {('A', '0'): 0.0, ('A', '1'): 1.0, ('A', 'all'): 0.0}
    """
    sub = sweeps[sweeps["metric"] == metric]
    if sub.empty:
        raise ValueError(f"metric {metric!r} is not in sweeps; have {sorted(sweeps['metric'].unique())}.")
    pivot = sub.assign(group=sub["group"].astype(str)).pivot_table(
        index=["attribute", "group", "seed"], columns="alpha", values="value", aggfunc="mean"
    )
    cols = []
    for alpha in alphas:
        match = pivot.columns[np.isclose(pivot.columns, alpha)]
        if match.empty:
            raise ValueError(
                f"alpha {alpha} is not in the sweep (it has {sorted(pivot.columns)}); "
                "choose two of its allocation levels."
            )
        cols.append(match[0])
    return (pivot[cols[1]] - pivot[cols[0]]).unstack("seed")
