"""A controlled test of the explanations: change prevalence or separation, one at a time (§5.7, ours).

Correlations across attributes cannot separate the explanations, because in real data they move
together. :func:`prevalence_variant` builds the intervention the paper lacks: the same data with a
group's share of the pre-training set set to a chosen value (same size, same fine-tuning pool at
every level); :func:`controlled_outcomes` measures each variant's encoders, and
:func:`joint_regression` fits sensitivity on separation and prevalence together across every run
of the experiment's arms. Used by chapter 06.
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
from latentsep.experiments.protocol import ProtocolData
from latentsep.experiments.regularisation import (
    OutcomeSettings,
    encoder_outcomes,
    regularised_embeddings,
)
from latentsep.models.training import PretrainConfig


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

    Used by chapter 06 (sensitivity on separation, prevalence and baseline accuracy).

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
