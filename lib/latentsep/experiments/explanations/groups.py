"""Conventional explanations of a group's allocation slope, next to latent separation (§5.7).

The paper asks whether a group's allocation slope is predicted by the usual suspects instead of
latent separation: the group's **prevalence in the pre-training data**, its **baseline accuracy**
under the pre-trained model, and its **class prevalence** ``P(Y=1 | A=g)`` (or the gap between the
two groups' class prevalences). :func:`group_explanations` puts all of them next to the slope and
the attribute's separation, one row per group; :func:`explanation_correlations` correlates each
with the slope, with bootstrap and Fisher intervals, optionally after centring within dataset so
that pooled datasets cannot manufacture a correlation through their different scales. Used by
chapter 06.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from latentsep.experiments.protocol import EncoderRun, ProtocolData
from latentsep.metrics import prevalence_gap
from latentsep.stats import allocation_slopes, correlate, summarise_seeds

#: Candidate explanations of a group's slope (columns of :func:`group_explanations`).
EXPLANATIONS = (
    "separation", "separation_excess", "pretrain_prevalence", "baseline_balanced_accuracy",
    "class_prevalence", "class_prevalence_gap",
)  # fmt: skip
EXPLANATION_LABELS = {
    "separation": "latent separation (attribute)",
    "separation_excess": "separation minus permutation null",
    "pretrain_prevalence": "prevalence in pre-training data",
    "baseline_balanced_accuracy": "baseline balanced accuracy (pre-trained model)",
    "class_prevalence": "class prevalence P(Y=1 | A=g)",
    "class_prevalence_gap": "class-prevalence gap |P(Y=1|A=1) − P(Y=1|A=0)|",
}


def _seed_summary(per_seed: pd.DataFrame, column: str, by: list[str], name: str) -> pd.DataFrame:
    """Mean and range across seeds, renamed ``name``, ``name_seed_min``, ``name_seed_max`` (a
    t-interval over 3 seeds, on 2 degrees of freedom, is not shown)."""
    out = summarise_seeds(per_seed, column, by).set_index(by)
    return out[[column, "seed_min", "seed_max"]].rename(
        columns={column: name, "seed_min": f"{name}_seed_min", "seed_max": f"{name}_seed_max"})


def group_explanations(
    data: ProtocolData,
    runs: Mapping[int, EncoderRun],
    sweeps: pd.DataFrame,
    sep: pd.DataFrame,
    *,
    attributes: Sequence[str] | None = None,
    metric: str = "cross_entropy",
) -> pd.DataFrame:
    """One row per (attribute, group): its allocation slope and every candidate explanation.

    Parameters
    ----------
    data : ProtocolData
    runs : mapping of int to EncoderRun
        Pre-trained encoders by seed (for the baseline accuracies).
    sweeps : pd.DataFrame
        From :func:`latentsep.experiments.protocol.allocation_sweeps` on ``runs``.
    sep : pd.DataFrame
        From :func:`latentsep.experiments.protocol.separation_by_seed` on ``runs`` (one estimator).
    attributes : sequence of str, optional
        Default: every attribute present in ``sweeps``.
    metric : str
        Sweep metric of the slope (paper: ``"cross_entropy"``, negative = the loss falls as the
        group's share grows).

    Returns
    -------
    pd.DataFrame
        ``dataset, attribute, group`` (0/1), ``slope`` (metric units per unit own share) and, each
        with ``_seed_min`` / ``_seed_max`` (the seeds' range) where it varies by seed:
        ``separation`` and ``separation_excess`` (the attribute's, same for both groups),
        ``baseline_balanced_accuracy`` (the pre-trained model's own head on the group's test rows);
        plus ``pretrain_prevalence`` (group's share of the ``pretrain_train`` rows where the
        attribute is known), ``class_prevalence`` (``P(Y=1 | A=g)`` on the ``pool`` rows, the
        population fine-tuning sets are drawn from), ``class_prevalence_gap`` (the attribute's
        ``|P(Y=1|A=1) − P(Y=1|A=0)|``), ``outside_assumption`` (True when that gap's 95 % interval
        excludes 0: the theorem assumes equal P(Y | A), :func:`latentsep.metrics.prevalence_gap`),
        and ``n_seeds``.
    """
    names = list(dict.fromkeys(sweeps["attribute"])) if attributes is None else list(attributes)
    for name in names:
        data.attribute(name)  # unknown names raise, listing the available ones
    if sep["estimator"].nunique() != 1:
        raise ValueError(
            f"sep holds several estimators {sorted(sep['estimator'].unique())}; pass the rows of one."
        )
    keys = ["attribute", "group"]
    sweeps = sweeps[sweeps["attribute"].isin(names)]
    slopes = allocation_slopes(sweeps, metric, per_seed=True)
    table = _seed_summary(slopes, "slope", keys, "slope")
    table["n_seeds"] = slopes.groupby(keys)["seed"].nunique()
    table = table.reset_index()

    sep = sep[sep["attribute"].isin(names)]
    for column in ("separation", "separation_excess"):
        source = "value" if column == "separation" else "excess"
        table = table.join(_seed_summary(sep, source, ["attribute"], column), on="attribute")

    baseline = pd.concat(
        [run.baseline.assign(seed=seed) for seed, run in runs.items()], ignore_index=True)
    baseline = baseline[(baseline["metric"] == "balanced_accuracy")
                        & (baseline["group"].astype(str) != "all")
                        & baseline["attribute"].isin(names)].astype({"group": int})
    table = table.join(_seed_summary(baseline, "value", keys, "baseline_balanced_accuracy"),
                       on=keys)

    rows = []
    for name in names:
        values, known = data.attribute(name)
        pre, pool = data.splits["pretrain_train"], data.splits["pool"]
        pre, pool = pre[known[pre]], pool[known[pool]]
        rates = {g: float(data.y[pool][values[pool] == g].mean()) for g in (0, 1)}
        gap = prevalence_gap(data.y[pool], values[pool])
        for g in (0, 1):
            rows.append({"attribute": name, "group": g,
                         "pretrain_prevalence": float((values[pre] == g).mean()),
                         "class_prevalence": rates[g],
                         "class_prevalence_gap": abs(rates[1] - rates[0]),
                         "outside_assumption": bool(gap["outside"])})
    table = table.join(pd.DataFrame(rows).set_index(keys), on=keys)
    table.insert(0, "dataset", data.name)
    return table


def explanation_correlations(
    groups: pd.DataFrame,
    *,
    outcome: str = "slope",
    predictors: Sequence[str] = EXPLANATIONS,
    center_within: str | None = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Correlation of each candidate explanation with the slope across groups, with CIs.

    Parameters
    ----------
    groups : pd.DataFrame
        :func:`group_explanations` rows, possibly of several datasets concatenated.
    outcome : str
        Column correlated with each predictor.
    predictors : sequence of str
        Candidate explanations.
    center_within : str, optional
        A column (e.g. ``"dataset"``): subtract its group means from outcome and predictor first,
        so only variation *within* each dataset counts. Note that the intervals then ignore the
        degrees of freedom spent on the means.
    n_boot, seed
        Bootstrap of the pairs (:func:`latentsep.stats.correlate`).

    Returns
    -------
    pd.DataFrame
        One row per predictor: ``predictor, n, pearson_r, pearson_ci_low, pearson_ci_high``
        (Fisher z), ``r2, r2_ci_low, r2_ci_high`` (bootstrap), ``spearman, spearman_ci_low,
        spearman_ci_high`` (bootstrap), ``p_value`` (Pearson). A predictor constant over the groups
        has NaN statistics.
    """
    missing = sorted({outcome, *predictors, *([center_within] if center_within else [])}
                     - set(groups.columns))
    if missing:
        raise ValueError(f"columns {missing} are not in groups; pass group_explanations() rows.")
    rows = []
    for predictor in predictors:
        part = groups[[outcome, predictor, *([center_within] if center_within else [])]].dropna()
        x, y = part[predictor].astype(float), part[outcome].astype(float)
        if center_within:
            x = x - x.groupby(part[center_within]).transform("mean")
            y = y - y.groupby(part[center_within]).transform("mean")
        row: dict = {"predictor": predictor, "n": len(part)}
        if len(part) >= 3 and np.ptp(x) > 1e-12 and np.ptp(y) > 1e-12:
            c = correlate(x.to_numpy(), y.to_numpy(), n_boot=n_boot, seed=seed)
            row |= {"pearson_r": c["pearson_r"], "pearson_ci_low": c["pearson_ci"][0],
                    "pearson_ci_high": c["pearson_ci"][1], "r2": c["r2"],
                    "r2_ci_low": c["r2_ci"][0], "r2_ci_high": c["r2_ci"][1],
                    "spearman": c["spearman"], "spearman_ci_low": c["spearman_ci"][0],
                    "spearman_ci_high": c["spearman_ci"][1], "p_value": c["p_value"]}
        rows.append(row)
    columns = ["predictor", "n", "pearson_r", "pearson_ci_low", "pearson_ci_high", "r2",
               "r2_ci_low", "r2_ci_high", "spearman", "spearman_ci_low", "spearman_ci_high",
               "p_value"]
    return pd.DataFrame(rows).reindex(columns=columns)
