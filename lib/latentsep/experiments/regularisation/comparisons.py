"""Comparisons across penalty weights: intervals across seeds, paired changes, matched accuracy cost.

:func:`summarise_tradeoff` adds Student-t intervals across seeds, :func:`paired_change` compares
each level with a reference level within a seed, and :func:`matched_accuracy` compares two
penalties at equal accuracy cost: per seed, the drop in sensitivity (or separation) relative to
λ = 0 is interpolated along each penalty's λ path at common accuracy costs, so the comparison says
which penalty buys more insensitivity per accuracy point. Used by chapters 05 and 06.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from latentsep.experiments.regularisation.outcomes import QUANTITIES
from latentsep.stats import summarise_seeds


def summarise_tradeoff(per_seed: pd.DataFrame, quantities: Sequence[str] = QUANTITIES) -> pd.DataFrame:
    """Mean and 95 % Student-t interval across seeds of each quantity, per (penalty, λ).

    Used by chapter 05.

    Parameters
    ----------
    per_seed : pd.DataFrame
        From :func:`tradeoff`.
    quantities : sequence of str
        Columns to summarise.

    Returns
    -------
    pd.DataFrame
        Long table: ``dataset, attribute, penalty, lam, quantity, mean, se, ci_low, ci_high,
        n_seeds``.
    """
    missing = sorted(set(quantities) - set(per_seed.columns))
    if missing:
        raise ValueError(f"quantities {missing} are not columns of per_seed; pass a tradeoff() table.")
    keys = ["dataset", "attribute", "penalty", "lam"]
    long = per_seed.melt(id_vars=[*keys, "seed"], value_vars=list(quantities), var_name="quantity")
    out = summarise_seeds(long, "value", [*keys, "quantity"]).rename(columns={"value": "mean"})
    return out[[*keys, "quantity", "mean", "se", "ci_low", "ci_high", "n_seeds"]]


def paired_change(
    table: pd.DataFrame,
    *,
    column: str,
    reference: object,
    quantities: Sequence[str],
    keys: Sequence[str] = (),
) -> pd.DataFrame:
    """Change of each quantity from a reference level of ``column``, paired by seed, with t-CIs.

    Every seed's value at each level is compared with the same seed's value at the reference
    level, so seed-to-seed variation shared by both cancels.

    Parameters
    ----------
    table : pd.DataFrame
        One row per (``keys`` …, ``column``, ``seed``) with the ``quantities`` as columns.
    column : str
        The column whose levels are compared (e.g. ``"lam"`` or ``"level"``).
    reference : object
        Its reference value (e.g. ``0.0``); every (keys, seed) needs a row at it.
    quantities : sequence of str
        Columns to compare.
    keys : sequence of str
        Columns that split the comparison (e.g. dataset and penalty).

    Returns
    -------
    pd.DataFrame
        Long table over the non-reference levels: ``keys …, column, quantity, change`` (value at
        the level minus value at the reference, mean over seeds), ``se, ci_low, ci_high,
        n_seeds, seed_min, seed_max``.
    """
    keys, quantities = list(keys), list(quantities)
    missing = sorted({column, "seed", *keys, *quantities} - set(table.columns))
    if missing:
        raise ValueError(f"columns {missing} are not in the table (columns {list(table.columns)}).")
    at_reference = table[column] == reference
    base = table[at_reference].set_index([*keys, "seed"])[quantities]
    if base.index.duplicated().any():
        raise ValueError(f"several rows at {column} = {reference!r} for one ({', '.join(keys)}, seed).")
    rest = table[~at_reference].join(base.add_suffix("_ref"), on=[*keys, "seed"])
    if rest[[f"{q}_ref" for q in quantities]].isna().all(axis=1).any():
        raise ValueError(f"some ({', '.join([*keys, 'seed'])}) lacks its row at {column} = {reference!r}.")
    diff = rest[[*keys, column, "seed"]].assign(
        **{q: rest[q] - rest[f"{q}_ref"] for q in quantities})
    long = diff.melt(id_vars=[*keys, column, "seed"], value_vars=quantities,
                     var_name="quantity", value_name="change")
    out = summarise_seeds(long, "change", [*keys, column, "quantity"])
    return out[[*keys, column, "quantity", "change", "se", "ci_low", "ci_high", "n_seeds",
                "seed_min", "seed_max"]]


def change_from_unregularised(
    per_seed: pd.DataFrame, quantities: Sequence[str] = QUANTITIES
) -> pd.DataFrame:
    """:func:`paired_change` of a :func:`tradeoff` table from λ = 0, per dataset and penalty.

    Used by chapter 05.

    Returns
    -------
    pd.DataFrame
        ``dataset, attribute, penalty, lam, quantity, change, se, ci_low, ci_high, n_seeds``.
    """
    return paired_change(per_seed, column="lam", reference=0.0, quantities=quantities,
                         keys=("dataset", "attribute", "penalty"))


def _changes(per_seed: pd.DataFrame, accuracy: str, outcome: str) -> pd.DataFrame:
    """Per (dataset, penalty, seed, λ): accuracy cost and outcome drop relative to that seed's λ = 0."""
    keys = ["dataset", "penalty", "seed"]
    base = per_seed[per_seed["lam"] == 0].set_index(keys)[[accuracy, outcome]]
    if base.index.duplicated().any():
        raise ValueError("per_seed has several λ = 0 rows for one (dataset, penalty, seed).")
    joined = per_seed.join(base.add_suffix("_ref"), on=keys)
    if joined[f"{accuracy}_ref"].isna().any():
        raise ValueError("every (dataset, penalty, seed) needs a λ = 0 row; run tradeoff() with it.")
    return joined.assign(cost=joined[f"{accuracy}_ref"] - joined[accuracy],
                         drop=joined[f"{outcome}_ref"] - joined[outcome])


def matched_accuracy(
    per_seed: pd.DataFrame,
    *,
    penalties: tuple[str, str],
    accuracy: str = "balanced_accuracy",
    outcome: str = "sensitivity",
    costs: Sequence[float] | None = None,
    n_costs: int = 4,
) -> pd.DataFrame:
    """Outcome drop bought by two penalties at the same accuracy cost.

    For each seed and penalty, the points (cost, drop) over the λ grid — cost = accuracy at λ = 0
    minus accuracy at λ, drop = outcome at λ = 0 minus outcome at λ, both ``(0, 0)`` at λ = 0 — are
    sorted by cost and linearly interpolated at each matched cost. A cost beyond what a penalty
    reached for a seed is left out for that seed (no extrapolation). Means and t-intervals are
    across seeds; the difference is paired by seed (the same seed's λ = 0 encoder is shared).

    Parameters
    ----------
    per_seed : pd.DataFrame
        From :func:`tradeoff` (one dataset or several; each is compared separately).
    penalties : (str, str)
        The two penalties compared, e.g. ``("tv", "mmd")``.
    accuracy, outcome : str
        Columns: the accuracy whose loss is matched and the quantity whose drop is compared
        (``"sensitivity"``, ``"separation_excess"``, ...).
    costs : sequence of float, optional
        Accuracy costs (accuracy units, e.g. 0.02 = two points, > 0) to compare at. Default:
        ``n_costs`` evenly spaced values up to the smallest cost that both penalties reached on
        every seed (none if some seed's penalty never cost accuracy).
    n_costs : int
        Number of default costs.

    Returns
    -------
    pd.DataFrame
        One row per (dataset, cost, penalty) plus ``penalty = "<second> − <first>"`` for the
        difference: ``dataset, cost, penalty, drop, se, ci_low, ci_high, n_seeds, seed_min,
        seed_max``, and
        ``drop_per_point`` = drop / (100 · cost), the outcome drop per accuracy point.
    """
    if len(penalties) != 2 or penalties[0] == penalties[1]:
        raise ValueError(f"penalties must name two different penalties; got {penalties!r}.")
    for name in (accuracy, outcome):
        if name not in per_seed.columns:
            raise ValueError(f"{name!r} is not a column of per_seed; pass a tradeoff() table.")
    present = set(per_seed["penalty"])
    for name in penalties:
        if name not in present:
            raise ValueError(f"penalty {name!r} is not in per_seed (has {sorted(present)}).")
    changes = _changes(per_seed[per_seed["penalty"].isin(penalties)], accuracy, outcome)
    rows = []
    for dataset, part in changes.groupby("dataset"):
        reach = float(part.groupby(["penalty", "seed"])["cost"].max().min())
        grid = (np.linspace(0, reach, n_costs + 1)[1:] if costs is None
                else np.asarray(costs, dtype=float))
        grid = grid[grid > 0]  # a zero cost buys nothing by construction
        per = []
        for (penalty, seed), curve in part.groupby(["penalty", "seed"]):
            curve = curve.sort_values(["cost", "lam"])
            x, y = curve["cost"].to_numpy(), curve["drop"].to_numpy()
            for cost in grid:
                if x.min() <= cost <= x.max():
                    per.append({"penalty": penalty, "seed": seed, "cost": cost,
                                "drop": float(np.interp(cost, x, y))})
        per = pd.DataFrame(per, columns=["penalty", "seed", "cost", "drop"])
        wide = per.pivot_table(index=["cost", "seed"], columns="penalty", values="drop")
        if set(penalties) <= set(wide.columns):
            diff = (wide[penalties[1]] - wide[penalties[0]]).dropna().rename("drop").reset_index()
            per = pd.concat([per, diff.assign(penalty=f"{penalties[1]} − {penalties[0]}")])
        if per.empty:
            continue
        summary = summarise_seeds(per, "drop", ["cost", "penalty"])
        rows.append(summary.assign(dataset=dataset))
    if not rows:
        raise ValueError(
            "no positive accuracy cost was reached by both penalties on every seed; widen the λ "
            "grids or pass costs=[...]."
        )
    out = pd.concat(rows, ignore_index=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["drop_per_point"] = np.where(out["cost"] > 0, out["drop"] / (100 * out["cost"]), np.nan)
    return out[["dataset", "cost", "penalty", "drop", "se", "ci_low", "ci_high", "n_seeds",
                "seed_min", "seed_max", "drop_per_point"]]
