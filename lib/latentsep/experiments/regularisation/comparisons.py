"""Comparisons across penalty weights: means over seeds, paired changes, matched accuracy cost.

:func:`summarise_tradeoff` averages over seeds, :func:`paired_change` compares each level with a
reference level within a seed, and :func:`matched_accuracy` compares two penalties at equal
accuracy cost: per seed, the drop in sensitivity (or separation) relative to λ = 0 is
interpolated along each penalty's λ path at common accuracy costs, so the comparison says which
penalty buys more insensitivity per accuracy point. Used by chapters 05 and 06.

Intervals (issue 13): three seeds cannot carry a Student-t interval (2 degrees of freedom), so
every interval here is a bootstrap of the test rows with the encoders fixed
(:mod:`latentsep.row_bootstrap`; paired draws for a difference), next to the seeds' range; a
quantity without draws shows the range alone. :func:`paired_change` and
:func:`matched_accuracy` also give each encoder's own interval (``per_seed``), on which the
chapters' claims rest.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from latentsep.experiments.regularisation.outcomes import QUANTITIES
from latentsep.row_bootstrap import DRAWS, draws_summary, per_seed_intervals


def summarise_tradeoff(per_seed: pd.DataFrame, quantities: Sequence[str] = QUANTITIES) -> pd.DataFrame:
    """Mean over seeds of each quantity with its row-bootstrap interval, per (penalty, λ).

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
        Long table: ``dataset, attribute, penalty, lam, quantity, mean, ci_low, ci_high,
        n_seeds, seed_min, seed_max, interval`` (:func:`latentsep.row_bootstrap.draws_summary`).
    """
    missing = sorted(set(quantities) - set(per_seed.columns))
    if missing:
        raise ValueError(f"quantities {missing} are not columns of per_seed; pass a tradeoff() table.")
    keys = ["dataset", "attribute", "penalty", "lam"]
    out = pd.concat([
        draws_summary(per_seed.rename(columns={q: "mean", q + DRAWS: "mean" + DRAWS}), "mean", keys)
        .assign(quantity=q) for q in quantities], ignore_index=True)
    return out[[*keys, "quantity", "mean", "ci_low", "ci_high", "n_seeds", "seed_min", "seed_max",
                "interval"]]


def paired_change(
    table: pd.DataFrame,
    *,
    column: str,
    reference: object,
    quantities: Sequence[str],
    keys: Sequence[str] = (),
) -> pd.DataFrame:
    """Change of each quantity from a reference level of ``column``, paired by seed.

    Every seed's value at each level is compared with the same seed's value at the reference
    level, so seed-to-seed variation shared by both cancels; a quantity with draws
    (``<quantity>_draws``) gets paired row-bootstrap intervals, the draws of both levels being
    weightings of the same test rows.

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
        the level minus value at the reference, mean over seeds), ``ci_low, ci_high, n_seeds,
        seed_min, seed_max, interval`` (:func:`latentsep.row_bootstrap.draws_summary`) and
        ``per_seed``: each encoder's ``(seed, change, ci_low, ci_high)`` on its own rows.
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
    ids = list(rest[[*keys, "seed"]].itertuples(index=False, name=None))
    frames = []
    for q in quantities:
        diff = rest[[*keys, column, "seed"]].assign(change=rest[q] - rest[f"{q}_ref"])
        if q + DRAWS in table.columns:
            reference_draws = table[at_reference].set_index([*keys, "seed"])[q + DRAWS]
            diff["change" + DRAWS] = [np.asarray(d) - np.asarray(reference_draws.loc[i])
                                      for d, i in zip(rest[q + DRAWS], ids, strict=True)]
        summary = draws_summary(diff, "change", [*keys, column])
        summary["per_seed"] = [per_seed_intervals(part, "change")
                               for _, part in diff.groupby([*keys, column], sort=True)]
        frames.append(summary.assign(quantity=q))
    out = pd.concat(frames, ignore_index=True)
    return out[[*keys, column, "quantity", "change", "ci_low", "ci_high", "n_seeds",
                "seed_min", "seed_max", "interval", "per_seed"]]


def change_from_unregularised(
    per_seed: pd.DataFrame, quantities: Sequence[str] = QUANTITIES
) -> pd.DataFrame:
    """:func:`paired_change` of a :func:`tradeoff` table from λ = 0, per dataset and penalty.

    Used by chapter 05.

    Returns
    -------
    pd.DataFrame
        The columns of :func:`paired_change`.
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
    out = joined.assign(cost=joined[f"{accuracy}_ref"] - joined[accuracy],
                        drop=joined[f"{outcome}_ref"] - joined[outcome])
    if {accuracy + DRAWS, outcome + DRAWS} <= set(per_seed.columns):
        ref = per_seed[per_seed["lam"] == 0].set_index(keys)
        ids = list(per_seed[keys].itertuples(index=False, name=None))
        for name, column in (("cost", accuracy), ("drop", outcome)):
            out[name + DRAWS] = [np.asarray(ref.loc[i, column + DRAWS]) - np.asarray(d)
                                 for d, i in zip(per_seed[column + DRAWS], ids, strict=True)]
    return out


def _interpolated(curve: pd.DataFrame, cost: float, column: str) -> float | np.ndarray:
    """The curve's ``drop`` at ``cost`` along its points sorted by cost (NaN beyond their range);
    per draw when ``column`` is ``"drop_draws"`` (each draw's own costs)."""
    if column == "drop":
        curve = curve.sort_values(["cost", "lam"])
        x, y = curve["cost"].to_numpy(), curve["drop"].to_numpy()
        return float(np.interp(cost, x, y)) if x.min() <= cost <= x.max() else float("nan")
    xs, ys = np.stack(curve["cost" + DRAWS]).T, np.stack(curve["drop" + DRAWS]).T  # (B, L)
    out = np.full(len(xs), np.nan)
    for b, (x, y) in enumerate(zip(xs, ys, strict=True)):
        if x.min() <= cost <= x.max():
            order = np.argsort(x, kind="stable")
            out[b] = np.interp(cost, x[order], y[order])
    return out


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
    reached for a seed is left out for that seed (no extrapolation). Means are over seeds; the
    difference is paired by seed (the same seed's λ = 0 encoder is shared). With draws of both
    columns, each draw of the test rows repeats the interpolation on its own costs and drops (a
    draw whose curve does not reach the cost is undefined), which gives the row-bootstrap
    intervals (:func:`latentsep.row_bootstrap.shifted_interval`).

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
        difference: ``dataset, cost, penalty, drop, ci_low, ci_high, n_seeds, seed_min,
        seed_max, interval, per_seed`` (as in :func:`paired_change`), and
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
        drawn = "cost" + DRAWS in part.columns
        columns = ["drop", "drop" + DRAWS] if drawn else ["drop"]
        per = []
        for (penalty, seed), curve in part.groupby(["penalty", "seed"]):
            for cost in grid:
                point = {c: _interpolated(curve, cost, c) for c in columns}
                if np.isfinite(point["drop"]):
                    per.append({"penalty": penalty, "seed": seed, "cost": cost, **point})
        per = pd.DataFrame(per, columns=["penalty", "seed", "cost", *columns])
        both = per.pivot_table(index=["cost", "seed"], columns="penalty", values="drop")
        if set(penalties) <= set(both.columns):
            paired = per.set_index(["cost", "seed", "penalty"])
            diff = pd.DataFrame([
                {"cost": cost, "seed": seed,
                 **{c: paired.loc[(cost, seed, penalties[1]), c]
                    - paired.loc[(cost, seed, penalties[0]), c] for c in columns}}
                for cost, seed in both[list(penalties)].dropna().index])
            per = pd.concat([per, diff.assign(penalty=f"{penalties[1]} − {penalties[0]}")])
        if per.empty:
            continue
        summary = draws_summary(per, "drop", ["cost", "penalty"])
        summary["per_seed"] = [per_seed_intervals(p, "drop")
                               for _, p in per.groupby(["cost", "penalty"], sort=True)]
        rows.append(summary.assign(dataset=dataset))
    if not rows:
        raise ValueError(
            "no positive accuracy cost was reached by both penalties on every seed; widen the λ "
            "grids or pass costs=[...]."
        )
    out = pd.concat(rows, ignore_index=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["drop_per_point"] = np.where(out["cost"] > 0, out["drop"] / (100 * out["cost"]), np.nan)
    return out[["dataset", "cost", "penalty", "drop", "ci_low", "ci_high", "n_seeds",
                "seed_min", "seed_max", "interval", "per_seed", "drop_per_point"]]
