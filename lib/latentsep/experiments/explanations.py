"""Conventional explanations of allocation sensitivity, and a controlled test of them (§5.7).

The paper asks whether a group's allocation slope is predicted by the usual suspects instead of
latent separation: the group's **prevalence in the pre-training data**, its **baseline accuracy**
under the pre-trained model, and its **class prevalence** ``P(Y=1 | A=g)`` (or the gap between the
two groups' class prevalences). :func:`group_explanations` puts all of them next to the slope and
the attribute's separation, one row per group; :func:`explanation_correlations` correlates each
with the slope, with bootstrap and Fisher intervals, optionally after centring within dataset so
that pooled datasets cannot manufacture a correlation through their different scales.

Correlations across attributes cannot separate the explanations, because in real data they move
together. :func:`prevalence_variant` builds the intervention the paper lacks: the same data with a
group's share of the pre-training set set to a chosen value (same size, same fine-tuning pool at
every level); :func:`controlled_outcomes` measures each variant's encoders, and
:func:`joint_regression` fits sensitivity on separation and prevalence together across every run
of both arms of the experiment.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from torch import nn

from latentsep.checks import check_fraction, check_positive_int
from latentsep.data.coloured import prevalence_subsample
from latentsep.experiments.protocol import EncoderRun, ProtocolData
from latentsep.experiments.regularisation import (
    OutcomeSettings,
    encoder_outcomes,
    regularised_embeddings,
)
from latentsep.models.training import PretrainConfig
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
    """Mean and t-interval across seeds, renamed ``name``, ``name_ci_low``, ``name_ci_high``."""
    out = summarise_seeds(per_seed, column, by).set_index(by)
    return out[[column, "ci_low", "ci_high"]].rename(
        columns={column: name, "ci_low": f"{name}_ci_low", "ci_high": f"{name}_ci_high"})


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
        with ``_ci_low`` / ``_ci_high`` (95 % t-interval across seeds) where it varies by seed:
        ``separation`` and ``separation_excess`` (the attribute's, same for both groups),
        ``baseline_balanced_accuracy`` (the pre-trained model's own head on the group's test rows);
        plus ``pretrain_prevalence`` (group's share of the ``pretrain_train`` rows where the
        attribute is known), ``class_prevalence`` (``P(Y=1 | A=g)`` on the ``pool`` rows, the
        population fine-tuning sets are drawn from), ``class_prevalence_gap`` (the attribute's
        ``|P(Y=1|A=1) − P(Y=1|A=0)|``), and ``n_seeds``.
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
        for g in (0, 1):
            rows.append({"attribute": name, "group": g,
                         "pretrain_prevalence": float((values[pre] == g).mean()),
                         "class_prevalence": rates[g],
                         "class_prevalence_gap": abs(rates[1] - rates[0])})
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


def prevalence_reserve(
    data: ProtocolData, attribute: str, prevalences: Sequence[float], *, n: int, seed: int = 0
) -> int:
    """The fewest pool rows :func:`prevalence_variant` must borrow for every prevalence to be feasible.

    Rows are borrowed in the order of the same seeded permutation of the pool that
    :func:`prevalence_variant` uses, so passing the result as ``reserve`` (with the same ``seed``)
    makes ``n`` pre-training rows at each of ``prevalences`` drawable, and the fine-tuning pool the
    same at every level.

    Returns
    -------
    int
        The smallest ``reserve`` ≥ 0; 0 when the pre-training split suffices.
    """
    check_positive_int(n, "n")
    if not len(prevalences):
        raise ValueError("prevalences is empty; pass e.g. [0.05, 0.2, 0.5].")
    shares = [check_fraction(float(p), "prevalences") for p in prevalences]
    need = {1: max(round(p * n) for p in shares), 0: max(n - round(p * n) for p in shares)}
    values, known = data.attribute(attribute)
    base = data.splits["pretrain_train"]
    lent = np.random.default_rng(seed).permutation(data.splits["pool"])
    reserve = 0
    for group, count in need.items():
        short = count - int(((values[base] == group) & known[base]).sum())
        if short > 0:
            hits = np.flatnonzero((values[lent] == group) & known[lent])
            if len(hits) < short:
                raise ValueError(
                    f"pre-training split and pool together hold too few rows with {attribute} = "
                    f"{group} for n={n} at prevalences {shares}; lower n."
                )
            reserve = max(reserve, int(hits[short - 1]) + 1)
    return reserve


def prevalence_variant(
    data: ProtocolData,
    attribute: str,
    prevalence: float,
    *,
    n: int,
    reserve: int,
    seed: int = 0,
) -> ProtocolData:
    """The same data with ``attribute``'s group 1 making up ``prevalence`` of the pre-training set.

    Candidates are the ``pretrain_train`` rows plus ``reserve`` rows moved out of the ``pool`` (the
    first ``reserve`` of a seeded permutation, the same rows at every prevalence, so the
    fine-tuning pool is identical across levels). ``n`` of them are drawn with
    :func:`latentsep.data.coloured.prevalence_subsample`; the rest are unused. ``pretrain_val``,
    ``test`` and ``val_pool`` are unchanged.

    Parameters
    ----------
    data : ProtocolData
    attribute : str
        Binary attribute, known on every candidate row.
    prevalence : float
        Share of group 1 in the new pre-training set, in [0, 1].
    n : int
        Size of the new pre-training set (keep it equal across levels).
    reserve : int
        Pool rows lent to pre-training (≥ 0, less than the pool).
    seed : int
        Seeds the reserve and the subsample.

    Returns
    -------
    ProtocolData
        Named ``<data.name>@<attribute>=<prevalence>``; ``source`` says what changed.
    """
    prevalence = check_fraction(prevalence, "prevalence")
    check_positive_int(n, "n")
    pool = data.splits["pool"]
    if not 0 <= reserve < len(pool):
        raise ValueError(
            f"reserve must be in [0, {len(pool)}) (rows lent by the pool of {len(pool)}); got {reserve}."
        )
    lent = np.random.default_rng(seed).permutation(pool)[:reserve]
    candidates = np.concatenate([data.splits["pretrain_train"], lent])
    values, known = data.attribute(attribute)
    if not known[candidates].all():
        raise ValueError(
            f"attribute {attribute!r} is missing on some pre-training candidates; the prevalence "
            "can only be set for an attribute known on every candidate row."
        )
    try:
        picked = candidates[prevalence_subsample(values[candidates], prevalence, seed, n=n)]
    except ValueError as err:
        raise ValueError(
            f"cannot draw n={n} pre-training rows at prevalence {prevalence} from "
            f"{len(candidates)} candidates ({int(values[candidates].sum())} in group 1); lower n "
            f"or raise reserve. ({err})"
        ) from None
    splits = {**data.splits, "pretrain_train": np.sort(picked),
              "pool": np.setdiff1d(pool, lent)}
    source = (f"{data.source} Pre-training set redrawn: {n} rows with {attribute} = 1 making up "
              f"{prevalence:.0%}, from the pre-training rows plus {reserve} rows lent by the pool "
              f"(seed {seed}).")
    return dataclasses.replace(data, name=f"{data.name}@{attribute}={prevalence:g}", splits=splits,
                               source=source)


def controlled_outcomes(
    variants: Mapping[str, ProtocolData],
    model_factory: Callable[[], nn.Module],
    *,
    attribute: str,
    seeds: Sequence[int],
    config: PretrainConfig,
    cache_dir: str | os.PathLike,
    settings: OutcomeSettings,
    penalty: str = "tv",
    lam: float = 0.0,
    progress: bool = True,
) -> pd.DataFrame:
    """Pre-train on each variant and measure separation, slopes and accuracy of every encoder.

    Parameters
    ----------
    variants : mapping of str to ProtocolData
        Level label -> data (e.g. from :func:`prevalence_variant`, or coloured MNIST with a
        colour–digit-group correlation).
    model_factory, seeds, config, cache_dir, progress
        As in :func:`latentsep.experiments.protocol.pretrained_embeddings` (cached).
    attribute : str
        Attribute whose separation and slopes are measured.
    settings : OutcomeSettings
        Separation and sweep settings.
    penalty, lam : str, float
        Invariance penalty on ``attribute`` during pre-training and its weight
        (:func:`latentsep.experiments.regularisation.regularised_embeddings`); the default λ = 0
        is the unregularised encoder.

    Returns
    -------
    pd.DataFrame
        One row per (level, seed): ``level, seed, pretrain_prevalence`` (share of group 1 in the
        variant's ``pretrain_train``) and the columns of
        :func:`latentsep.experiments.regularisation.encoder_outcomes`.
    """
    if not variants:
        raise ValueError("variants is empty; pass {level label: ProtocolData}.")
    frames = []
    for level, data in variants.items():
        runs = regularised_embeddings(data, model_factory, penalty=penalty, lam=lam,
                                      attribute=attribute, seeds=seeds, config=config,
                                      cache_dir=cache_dir, progress=progress)
        table = encoder_outcomes(data, runs, attribute=attribute, settings=settings,
                                 store_dir=os.path.join(cache_dir, "sweeps"), progress=progress)
        values, _ = data.attribute(attribute)
        share = float(values[data.splits["pretrain_train"]].mean())
        frames.append(table.assign(level=level, pretrain_prevalence=share))
    out = pd.concat(frames, ignore_index=True)
    first = ["level", "seed", "pretrain_prevalence"]
    return out[first + [c for c in out.columns if c not in first]]


def joint_regression(
    table: pd.DataFrame, *, outcome: str, predictors: Sequence[str], confidence: float = 0.95
) -> pd.DataFrame:
    """OLS of ``outcome`` on several predictors at once (with intercept), classical t-intervals.

    Parameters
    ----------
    table : pd.DataFrame
        One row per observation (e.g. per encoder of a controlled experiment).
    outcome : str
        Response column.
    predictors : sequence of str
        Regressor columns; each coefficient is the change in ``outcome`` per unit of it with the
        others held fixed.
    confidence : float
        Interval coverage.

    Returns
    -------
    pd.DataFrame
        One row per term (``"intercept"`` first): ``term, coef, se, ci_low, ci_high, p_value, n,
        df``.
    """
    check_fraction(confidence, "confidence", low_open=True)
    predictors = list(predictors)
    missing = sorted({outcome, *predictors} - set(table.columns))
    if missing:
        raise ValueError(f"columns {missing} are not in table (columns {list(table.columns)}).")
    part = table[[outcome, *predictors]].dropna().astype(float)
    n, p = len(part), len(predictors) + 1
    if n <= p:
        raise ValueError(f"{n} complete rows cannot fit {p} coefficients; add runs or drop predictors.")
    x = np.column_stack([np.ones(n), part[predictors].to_numpy()])
    y = part[outcome].to_numpy()
    if np.linalg.matrix_rank(x) < p:
        raise ValueError(f"predictors {predictors} are collinear (or constant) in these rows.")
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    df = n - p
    sigma2 = float(resid @ resid) / df
    se = np.sqrt(np.diag(np.linalg.inv(x.T @ x)) * sigma2)
    half = stats.t.ppf(0.5 + confidence / 2, df) * se
    with np.errstate(divide="ignore", invalid="ignore"):
        p_values = 2 * stats.t.sf(np.abs(coef / se), df)
    return pd.DataFrame({"term": ["intercept", *predictors], "coef": coef, "se": se,
                         "ci_low": coef - half, "ci_high": coef + half, "p_value": p_values,
                         "n": n, "df": df})
