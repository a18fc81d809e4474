"""Per-attribute summaries of a protocol run (step 4).

:func:`summarise` and :func:`bound_checks` reduce the separation and sweep tables to one row per
attribute (or group) with uncertainty across seeds (:mod:`latentsep.stats`). For a whole
:class:`~latentsep.experiments.protocol.runs.ProtocolResult`: :func:`protocol_summaries` stacks
``summarise`` over every estimator × metric, :func:`tv_rows` picks the paper-faithful TV rows out
of it, :func:`separation_view` tidies its separation measures, :func:`correlation_table` relates
separation to sensitivity across attributes (Pearson r, R² and Spearman ρ with bootstrap
intervals) and :func:`allocation_curves` gives the per-group curves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from latentsep.experiments.protocol.data import ProtocolData
from latentsep.experiments.protocol.runs import ProtocolResult
from latentsep.separation import PAPER_ESTIMATOR, POOLED_HISTOGRAM
from latentsep.stats import (
    allocation_deltas,
    allocation_slopes,
    attribute_sensitivity,
    bound_check,
    correlate,
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


#: Separation measures correlated with sensitivity: label -> (estimator, summary column).
SEPARATION_MEASURES: dict[str, tuple[str, str]] = {
    "TV, paper-faithful": (PAPER_ESTIMATOR, "separation"),
    "TV excess (ours)": (POOLED_HISTOGRAM, "excess"),
    "classifier TV bound (ours)": ("classifier", "separation"),
}
#: Sensitivity measures: label -> (sweep metric, summary column). Loss slopes are the paper's.
SENSITIVITY_MEASURES: dict[str, tuple[str, str]] = {
    "loss slope": ("cross_entropy", "sensitivity"),
    "balanced-accuracy slope": ("balanced_accuracy", "sensitivity"),
    "full-minus-zero loss": ("cross_entropy", "full_minus_zero"),
}


CORRELATION_COLUMNS = [
    "separation", "sensitivity", "n", "note", "pearson_r", "pearson_ci_low", "pearson_ci_high",
    "r2", "r2_ci_low", "r2_ci_high", "spearman", "spearman_ci_low", "spearman_ci_high", "p_value",
]  # fmt: skip



def protocol_summaries(
    result: ProtocolResult, metrics: Sequence[str] = ("cross_entropy", "balanced_accuracy")
) -> pd.DataFrame:
    """:func:`~latentsep.experiments.protocol.summarise` for every estimator × metric, stacked.

    For a frozen encoder (no pre-training seeds) the separation and the transfer gap come from one
    encoder: their CIs are the estimators' bootstrap intervals (:mod:`latentsep.separation`,
    :mod:`latentsep.transfer`) instead of t-intervals over seeds; slopes still have t-intervals
    over the sweep seeds.

    Returns
    -------
    pd.DataFrame
        ``estimator, metric`` then the columns of ``summarise`` (``attribute, separation``,
        ``excess``, ``slope_0/1``, ``sensitivity``, ``full_minus_zero``, ``transfer_gap`` when
        the result has one … each with CIs).
    """
    sep, transfer = result.separation, result.transfer
    frozen = "seed" not in sep.columns
    if frozen:
        # One value per attribute, repeated for every sweep seed so that ``summarise`` can pair
        # it with the per-seed slopes; its (zero-width) seed interval is replaced below.
        seeds = sorted(result.sweeps["seed"].unique())
        sep = pd.concat([sep.assign(seed=s) for s in seeds], ignore_index=True)
        if transfer is not None:
            transfer = pd.concat([transfer.assign(seed=s) for s in seeds], ignore_index=True)
    frames = []
    for estimator in sep["estimator"].unique():
        for metric in metrics:
            table = summarise(sep, result.sweeps, metric, estimator=estimator, transfer=transfer)
            if frozen and result.transfer is not None:
                one = result.transfer.set_index("attribute").reindex(table["attribute"])
                table["transfer_gap_ci_low"] = one["transfer_ci_low"].to_numpy()
                table["transfer_gap_ci_high"] = one["transfer_ci_high"].to_numpy()
            if frozen:
                one = result.separation[result.separation["estimator"] == estimator]
                one = one.set_index("attribute").reindex(table["attribute"])
                table["separation_ci_low"] = one["ci_low"].to_numpy()
                table["separation_ci_high"] = one["ci_high"].to_numpy()
                table["excess_ci_low"] = (one["ci_low"] - one["null_mean"]).to_numpy()
                table["excess_ci_high"] = (one["ci_high"] - one["null_mean"]).to_numpy()
            table.insert(0, "metric", metric)
            table.insert(0, "estimator", estimator)
            frames.append(table)
    return pd.concat(frames, ignore_index=True)


def calibration_points(sep: pd.DataFrame, sweeps: pd.DataFrame, transfer: pd.DataFrame,
                       dataset: str) -> pd.DataFrame:
    """One dataset's rows of a chapter summary table, the advisor's calibration points.

    :func:`summarise` with the pooled-histogram separation and balanced-accuracy slopes, tagged
    with ``dataset``, ``estimator`` and ``metric``: the format
    :func:`latentsep.calibration.read_summaries` reads from
    ``<results>/tables/<chapter>_summary.parquet`` (``transfer_gap`` is its x, ``sensitivity`` its
    y; one row per attribute that was swept).
    """
    return (summarise(sep, sweeps, "balanced_accuracy", estimator=POOLED_HISTOGRAM, transfer=transfer)
            .assign(dataset=dataset, estimator=POOLED_HISTOGRAM, metric="balanced_accuracy"))


def correlation_table(
    summaries: pd.DataFrame,
    *,
    separations: Mapping[str, tuple[str, str]] | None = None,
    sensitivities: Mapping[str, tuple[str, str]] | None = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Pearson r, R² and Spearman ρ between separation and sensitivity across attributes.

    Parameters
    ----------
    summaries : pd.DataFrame
        From :func:`protocol_summaries`.
    separations, sensitivities : mapping, optional
        Label -> (estimator, column) / (metric, column); default :data:`SEPARATION_MEASURES` /
        :data:`SENSITIVITY_MEASURES`; pairs whose estimator or metric is absent are skipped.
        Attributes with an undefined (NaN) value are left out (``n`` counts the rest).
    n_boot, seed
        Bootstrap over attributes (:func:`latentsep.stats.correlate`).

    Returns
    -------
    pd.DataFrame
        One row per (separation, sensitivity): ``separation, sensitivity, n, note, pearson_r,
        pearson_ci_low/high, r2, r2_ci_low/high, spearman, spearman_ci_low/high, p_value`` (95 %
        percentile-bootstrap intervals; ``p_value`` is Pearson's two-sided test). Statistics
        are NaN, and ``note`` says why, when the correlation is undefined (fewer than 3
        attributes with both values, or a constant column).
    """
    separations = SEPARATION_MEASURES if separations is None else separations
    sensitivities = SENSITIVITY_MEASURES if sensitivities is None else sensitivities
    rows = []
    for sep_label, (estimator, sep_column) in separations.items():
        for sens_label, (metric, sens_column) in sensitivities.items():
            part = summaries[(summaries["estimator"] == estimator) & (summaries["metric"] == metric)]
            if part.empty:
                continue
            part = part[np.isfinite(part[sep_column]) & np.isfinite(part[sens_column])]
            row = {"separation": sep_label, "sensitivity": sens_label, "n": len(part)}
            x, y = part[sep_column].to_numpy(), part[sens_column].to_numpy()
            if len(part) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
                rows.append({**row, "note": "undefined: fewer than 3 attributes with both values, "
                                            "or one of them constant across attributes"})
                continue
            c = correlate(x, y, n_boot=n_boot, seed=seed)
            rows.append({
                **row, "note": "",
                "pearson_r": c["pearson_r"], "pearson_ci_low": c["pearson_boot_ci"][0],
                "pearson_ci_high": c["pearson_boot_ci"][1], "r2": c["r2"],
                "r2_ci_low": c["r2_ci"][0], "r2_ci_high": c["r2_ci"][1],
                "spearman": c["spearman"], "spearman_ci_low": c["spearman_ci"][0],
                "spearman_ci_high": c["spearman_ci"][1], "p_value": c["p_value"],
            })  # fmt: skip
    if not rows:
        raise ValueError(
            "no separation/sensitivity pair matched summaries; its estimators are "
            f"{sorted(summaries['estimator'].unique())} and metrics "
            f"{sorted(summaries['metric'].unique())}."
        )
    return pd.DataFrame(rows).reindex(columns=CORRELATION_COLUMNS)


def allocation_curves(sweeps: pd.DataFrame, metric: str = "balanced_accuracy") -> pd.DataFrame:
    """Each group's test metric against its own share, mean and t-interval across seeds.

    Returns
    -------
    pd.DataFrame
        ``attribute, group, own_share, <metric>, se, ci_low, ci_high, n_seeds`` (groups 0 and 1;
        the whole-test-set rows are left out).
    """
    rows = sweeps[(sweeps["metric"] == metric) & (sweeps["group"].astype(str) != "all")]
    if rows.empty:
        raise ValueError(
            f"metric {metric!r} has no per-group rows; available: {sorted(sweeps['metric'].unique())}."
        )
    rows = rows.assign(group=rows["group"].astype(int), own_share=rows["own_share"].round(10))
    per_seed = rows.groupby(["attribute", "group", "own_share", "seed"], as_index=False)["value"].mean()
    return summarise_seeds(per_seed.rename(columns={"value": metric}), metric,
                           ["attribute", "group", "own_share"])


def tv_rows(summaries: pd.DataFrame, metric: str = "cross_entropy",
            estimator: str = PAPER_ESTIMATOR) -> pd.DataFrame:
    """The rows of :func:`protocol_summaries` for one estimator and metric (one per attribute).

    By default the paper-faithful TV (``histogram/reference``) next to the loss sensitivities, the
    pairing of the paper's figures. Used by chapter 04 wherever it reads an attribute's TV.

    Examples
    --------
    >>> table = pd.DataFrame({"estimator": [PAPER_ESTIMATOR, "classifier", PAPER_ESTIMATOR],
    ...                       "metric": ["cross_entropy", "cross_entropy", "balanced_accuracy"],
    ...                       "attribute": ["A", "A", "A"], "separation": [0.2, 0.5, 0.2]})
    >>> tv_rows(table)["separation"].tolist()
    [0.2]
    """
    return summaries[(summaries["estimator"] == estimator) & (summaries["metric"] == metric)]


def separation_view(summaries: pd.DataFrame) -> pd.DataFrame:
    """Tidy separation table: one row per measure × attribute, its value and 95 % CI.

    Used by chapter 04 for its separation tables and charts.

    Parameters
    ----------
    summaries : pd.DataFrame
        From :func:`protocol_summaries` (the ``cross_entropy`` rows are read; separation does not
        depend on the metric).

    Returns
    -------
    pd.DataFrame
        ``attribute, measure, value, ci_low, ci_high``, measures labelled and ordered as in
        :data:`SEPARATION_MEASURES`.
    """
    parts = []
    for label, (estimator, column) in SEPARATION_MEASURES.items():
        part = tv_rows(summaries, estimator=estimator)
        parts.append(pd.DataFrame({"attribute": part["attribute"], "measure": label,
                                   "value": part[column], "ci_low": part[f"{column}_ci_low"],
                                   "ci_high": part[f"{column}_ci_high"]}))
    return pd.concat(parts, ignore_index=True)
