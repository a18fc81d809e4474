"""Per-attribute summaries of a protocol run (step 4): :func:`summarise` and :func:`bound_checks`.

They reduce the separation and sweep tables to one row per attribute (or group) with uncertainty
across seeds (:mod:`latentsep.stats`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from latentsep.experiments.protocol.data import ProtocolData
from latentsep.stats import (
    allocation_deltas,
    allocation_slopes,
    attribute_sensitivity,
    bound_check,
    full_minus_zero,
    summarise_seeds,
)


def _one_estimator(sep: pd.DataFrame, estimator: str | None) -> pd.DataFrame:
    present = sorted(sep["estimator"].unique())
    if estimator is None:
        if len(present) != 1:
            raise ValueError(
                f"sep holds several estimators {present}; pass estimator=... to choose one."
            )
        estimator = present[0]
    if estimator not in present:
        raise ValueError(f"estimator {estimator!r} is not in sep; available: {present}.")
    return sep[sep["estimator"] == estimator]


def _wide(table: pd.DataFrame, column: str, prefix: str) -> pd.DataFrame:
    """Per-group summary rows -> one row per attribute with ``<prefix>_<group>[_ci_low|_ci_high]``."""
    wide = table.pivot(index="attribute", columns="group", values=[column, "ci_low", "ci_high"])
    wide.columns = [f"{prefix}_{g}" if stat == column else f"{prefix}_{g}_{stat}"
                    for stat, g in wide.columns]
    return wide


def _with_ci(table: pd.DataFrame, column: str, name: str) -> pd.DataFrame:
    return table.set_index("attribute")[[column, "ci_low", "ci_high"]].rename(
        columns={column: name, "ci_low": f"{name}_ci_low", "ci_high": f"{name}_ci_high"})


def summarise(
    sep: pd.DataFrame,
    sweeps: pd.DataFrame,
    metric: str = "balanced_accuracy",
    *,
    estimator: str | None = None,
    transfer: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per attribute: separation, allocation slopes and full-minus-zero, with 95 % CIs.

    Every interval is a Student-t interval across pre-training seeds (one value per seed: the
    separation of that seed's encoder, the slope of that seed's sweep).

    Parameters
    ----------
    sep : pd.DataFrame
        From :func:`separation_by_seed`.
    sweeps : pd.DataFrame
        From :func:`allocation_sweeps`.
    metric : str
        Sweep metric for slopes and full-minus-zero (``"cross_entropy"`` for the paper's loss
        slopes).
    estimator : str, optional
        Which estimator of ``sep`` to use (needed when it holds several).
    transfer : pd.DataFrame, optional
        From :func:`transfer_by_seed`; adds ``transfer_gap`` (+CI over seeds).

    Returns
    -------
    pd.DataFrame
        ``attribute, separation(+_ci_low/_ci_high), excess(+CI), slope_0, slope_1 (+CIs),
        sensitivity (+CI, mean of the two groups' slopes), full_minus_zero_0/_1 (+CIs),
        full_minus_zero (+CI, group mean), n_seeds`` (+ ``transfer_gap`` with its CI).
    """
    sep = _one_estimator(sep, estimator)
    separation = _with_ci(summarise_seeds(sep, "value", ["attribute"]), "value", "separation")
    excess = _with_ci(summarise_seeds(sep, "excess", ["attribute"]), "excess", "excess")
    slopes = allocation_slopes(sweeps, metric, per_seed=True)
    fmz = full_minus_zero(sweeps, metric, per_seed=True)
    parts = [
        separation,
        excess,
        _wide(summarise_seeds(slopes, "slope", ["attribute", "group"]), "slope", "slope"),
        _with_ci(attribute_sensitivity(slopes, "slope"), "slope", "sensitivity"),
        _wide(summarise_seeds(fmz, "full_minus_zero", ["attribute", "group"]), "full_minus_zero",
              "full_minus_zero"),
        _with_ci(attribute_sensitivity(fmz, "full_minus_zero"), "full_minus_zero", "full_minus_zero"),
    ]
    if transfer is not None:
        parts.append(_with_ci(summarise_seeds(transfer, "transfer_gap", ["attribute"]),
                              "transfer_gap", "transfer_gap"))
    out = pd.concat(parts, axis=1, join="inner")
    out["n_seeds"] = slopes.groupby("attribute")["seed"].nunique()
    out.index.name = "attribute"
    return out.reset_index()


def bound_checks(
    data: ProtocolData,
    sweeps: pd.DataFrame,
    tv: Mapping[str, float],
    *,
    tv_se: Mapping[str, float] | None = None,
    metric: str = "accuracy",
    alphas: tuple[float, float] = (0.0, 1.0),
) -> pd.DataFrame:
    """The TV bound on a sweep's two extreme allocations, in the paper's and the sharp form.

    For each attribute and group ``a``: ``observed = |Δacc(A=a)|`` between the heads trained at
    ``alphas[1]`` and ``alphas[0]`` (per seed, same heads), against

    - ``"2·TV"``: ``2·TV + |ΔAcc|`` (the authors' empirical check),
    - ``"2(1−π_a)·TV"``: ``2(1 − π_a)·TV + |ΔAcc|``, the sharp form derived in the theory chapter,
      with ``π_a`` the group's share of the test split,
    - ``"4·TV"``: ``4·TV + |ΔAcc|``, the paper's stated form,

    with the margin's CI from :func:`latentsep.stats.bound_check`. The theorem's ε is the largest
    class-conditional joint TV; estimated marginal or classifier TVs are lower than it, so a
    "violated" row is evidence against the estimate standing in for ε as much as against the bound.

    Returns
    -------
    pd.DataFrame
        ``attribute, group, form, share, tv, bound, observed, margin, margin_se, ci_low,
        ci_high, status, non_vacuous``.
    """
    delta = allocation_deltas(sweeps, metric=metric, alphas=alphas)
    test = data.splits["test"]
    keys, group_deltas, overall_deltas = [], [], []
    for attribute in delta.index.get_level_values("attribute").unique():
        if attribute not in tv:
            raise ValueError(f"tv has no value for attribute {attribute!r}; pass tv={{name: value}}.")
        values, known = data.attribute(attribute)
        for group in (0, 1):
            share = float((values[test][known[test]] == group).mean())
            keys.append({"attribute": attribute, "group": group, "share": share})
            group_deltas.append(delta.loc[(attribute, str(group))].to_numpy())
            overall_deltas.append(delta.loc[(attribute, "all")].to_numpy())
    keys = pd.DataFrame(keys)
    raw_tv = keys["attribute"].map(tv).to_numpy(dtype=float)
    raw_se = keys["attribute"].map(lambda a: (tv_se or {}).get(a, 0.0)).to_numpy(dtype=float)
    parts = []
    for form, scale, constant in (("2·TV", 1.0, 2.0), ("2(1−π_a)·TV", 1 - keys["share"], 2.0),
                                  ("4·TV", 1.0, 4.0)):
        scale = np.asarray(scale, dtype=float)
        table = bound_check(scale * raw_tv, group_deltas, overall_deltas, tv_se=scale * raw_se,
                            constant=constant)
        parts.append(pd.concat([keys.assign(form=form), table.drop(columns="label")], axis=1)
                     .assign(tv=raw_tv))
    columns = ["attribute", "group", "form", "share", "tv"]
    out = pd.concat(parts, ignore_index=True)
    return out[columns + [c for c in out.columns if c not in columns]]
