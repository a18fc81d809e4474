"""What an encoder still supports after pre-training: separation, allocation sensitivity, accuracy.

For one dataset and one binary attribute, :func:`tradeoff` pre-trains an encoder per penalty,
weight λ and seed (:func:`~latentsep.experiments.regularisation.penalties.regularised_embeddings`),
then measures on each encoder (:func:`encoder_outcomes`):

- the attribute's class-conditional latent separation on the test split, with its permutation null;
- its allocation sensitivity: a last-layer-retraining sweep over α and the OLS slopes of each
  group's test metric on its own share (mean of the two groups = attribute sensitivity);
- the accuracy the encoder still supports: the retrained head's overall balanced accuracy and
  worst-group accuracy at the balanced allocation α = 0.5, and the pre-trained model's own;
- for each of these but the pre-trained model's, its draws under a bootstrap of the test rows
  (:mod:`latentsep.row_bootstrap`; the same draws for every encoder of the data, so paired).

Used by chapters 05 (the λ sweep) and 06 (the controlled experiment's arms).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from torch import nn

from latentsep.checks import check_choice, check_positive_int
from latentsep.experiments.protocol import (
    EncoderRun,
    ProtocolData,
    allocation_sweeps,
    separation_by_seed,
)
from latentsep.experiments.regularisation.penalties import PENALTIES, regularised_embeddings
from latentsep.heads import HeadConfig
from latentsep.models.training import PretrainConfig
from latentsep.row_bootstrap import DRAWS, ROW_DRAWS, row_weights, sweep_draws
from latentsep.separation import latent_separation
from latentsep.stats import allocation_slopes, full_minus_zero

#: Per-seed quantities of :func:`encoder_outcomes`, in display order.
QUANTITIES = (
    "separation", "separation_excess", "separation_p_value", "sensitivity", "abs_sensitivity",
    "slope_0", "slope_1", "full_minus_zero", "balanced_accuracy", "worst_group_accuracy",
    "pretrained_balanced_accuracy", "pretrained_worst_group_accuracy", "best_epoch",
)  # fmt: skip


@dataclass(frozen=True)
class OutcomeSettings:
    """How each encoder is measured (separation estimator and allocation sweep).

    Attributes
    ----------
    alphas : tuple of float
        Allocation grid; must contain 0, 0.5 and 1 (slopes, the balanced-allocation accuracy and
        full-minus-zero).
    k_train, k_val : int
        Fine-tuning and validation set sizes of the sweep.
    head : HeadConfig
        Retrained head.
    metric : str
        Sweep metric of the slopes (``"balanced_accuracy"``, or ``"cross_entropy"`` for the
        paper's loss slopes).
    n_permutations, n_bootstrap : int
        Permutation null and bootstrap of the separation estimate.
    bins : int
        Histogram bins per component (paper: 50; needs about that many test rows per
        class-group cell).
    separation_seed : int
        Seed of the separation estimate's permutations and resamples.
    row_draws : int
        Bootstrap draws of the test rows behind each encoder's intervals (0: none).
    """

    alphas: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    k_train: int = 1000
    k_val: int = 250
    head: HeadConfig = field(default_factory=HeadConfig)
    metric: str = "balanced_accuracy"
    n_permutations: int = 100
    n_bootstrap: int = 0
    bins: int = 50
    separation_seed: int = 0
    row_draws: int = ROW_DRAWS

    def __post_init__(self) -> None:
        alphas = tuple(float(a) for a in np.atleast_1d(self.alphas))
        for required in (0.0, 0.5, 1.0):
            if not np.isclose(alphas, required).any():
                raise ValueError(
                    f"alphas must include {required} (slopes, the balanced-allocation accuracy "
                    f"and full-minus-zero need 0, 0.5 and 1); got {alphas}."
                )
        object.__setattr__(self, "alphas", alphas)
        check_choice(self.metric, "metric",
                     ("accuracy", "balanced_accuracy", "roc_auc", "cross_entropy"))
        check_positive_int(self.n_permutations, "n_permutations", minimum=0)
        check_positive_int(self.n_bootstrap, "n_bootstrap", minimum=0)
        check_positive_int(self.bins, "bins")
        check_positive_int(self.row_draws, "row_draws", minimum=0)


def _at_balance(sweeps: pd.DataFrame, metric: str) -> pd.Series:
    """Per seed: overall value of ``metric`` of the head trained at α = 0.5."""
    rows = sweeps[(sweeps["metric"] == metric) & (sweeps["group"].astype(str) == "all")
                  & np.isclose(sweeps["alpha"], 0.5)]
    return rows.groupby("seed")["value"].mean()


#: Quantities of :func:`encoder_outcomes` that also get bootstrap draws of the test rows.
DRAWN = ("separation", "separation_excess", "sensitivity", "abs_sensitivity", "abs_slope_1", "slope_0",
         "slope_1", "full_minus_zero", "balanced_accuracy", "worst_group_accuracy")


def _row_draws(data: ProtocolData, runs: Mapping[int, EncoderRun], rows: pd.DataFrame,
               attribute: str, settings: OutcomeSettings, null_mean: pd.Series) -> pd.DataFrame:
    """Per seed, the draws of every :data:`DRAWN` quantity (one object column per quantity)."""
    values, known = data.attribute(attribute)
    test = data.splits["test"]
    test = test[known[test]]  # the rows the sweep scored and the separation saw
    y, a = data.y[test], values[test]
    weights = row_weights(y, a, settings.row_draws, settings.separation_seed)
    out = {}
    for seed, run in runs.items():
        drawn = sweep_draws(rows[rows["seed"] == seed], y, a, weights, settings.metric)
        drawn = {q: v[1:] for q, v in drawn.items()}
        boot = latent_separation(run.z[test], y, a, bins=settings.bins, n_permutations=0,
                                 n_bootstrap=settings.row_draws,
                                 seed=settings.separation_seed).bootstrap_values
        drawn["separation"], drawn["separation_excess"] = boot, boot - null_mean[seed]
        out[seed] = {q + DRAWS: drawn[q] for q in DRAWN}
    return pd.DataFrame.from_dict(out, orient="index")


def encoder_outcomes(
    data: ProtocolData,
    runs: Mapping[int, EncoderRun],
    *,
    attribute: str,
    settings: OutcomeSettings,
    store_dir: str | os.PathLike,
    progress: bool = True,
) -> pd.DataFrame:
    """Separation, allocation sensitivity and accuracy of each pre-trained encoder.

    Parameters
    ----------
    data : ProtocolData
    runs : mapping of int to EncoderRun
        Pre-training seed -> encoder (sweep seed = pre-training seed, as in the paper).
    attribute : str
        The binary attribute studied.
    settings : OutcomeSettings
    store_dir : path
        Result store of the allocation sweeps.
    progress : bool
        Progress bars of the sweeps.

    Returns
    -------
    pd.DataFrame
        One row per seed: ``seed`` and the :data:`QUANTITIES` — ``separation`` (histogram
        estimator, pooled edges, on the test split), ``separation_excess`` (minus the permutation
        null's mean) and its ``separation_p_value``; ``slope_0``, ``slope_1`` (per-group slopes of
        ``settings.metric`` on own share, per unit share), ``sensitivity`` (their mean, the paper's
        attribute sensitivity), ``abs_sensitivity`` (mean of their absolute values: how far either
        group moves with the allocation, whatever the direction; the mean can cancel when the two
        slopes have opposite signs) and ``full_minus_zero`` (group mean); ``balanced_accuracy``
        and ``worst_group_accuracy`` of the head retrained at α = 0.5 (whole test split);
        ``pretrained_balanced_accuracy`` and ``pretrained_worst_group_accuracy`` of the
        pre-trained model's own head; ``best_epoch``; with ``settings.row_draws`` also a
        ``<quantity>_draws`` column (an array of draws) for each of :data:`DRAWN`.
    """
    if not runs:
        raise ValueError("runs is empty; pass the dict returned by regularised_embeddings.")
    sep = separation_by_seed(data, runs, attributes=[attribute],
                             n_permutations=settings.n_permutations,
                             n_bootstrap=settings.n_bootstrap, bins=settings.bins,
                             seed=settings.separation_seed)
    sweeps, rows = allocation_sweeps(
        data, runs, attributes=[attribute], alphas=settings.alphas, k_train=settings.k_train,
        k_val=settings.k_val, head=settings.head, store_dir=store_dir, progress=progress,
        rows=True)
    slopes = allocation_slopes(sweeps, settings.metric, per_seed=True)
    slopes = slopes.pivot(index="seed", columns="group", values="slope")
    fmz = full_minus_zero(sweeps, settings.metric, per_seed=True)
    out = pd.DataFrame(index=pd.Index(list(runs), name="seed"))
    by_seed = sep.set_index("seed")
    out["separation"] = by_seed["value"]
    out["separation_excess"] = by_seed["excess"]
    out["separation_p_value"] = by_seed["p_value"]
    out["slope_0"], out["slope_1"] = slopes[0], slopes[1]
    out["sensitivity"] = (out["slope_0"] + out["slope_1"]) / 2
    out["abs_sensitivity"] = (out["slope_0"].abs() + out["slope_1"].abs()) / 2
    out["full_minus_zero"] = fmz.groupby("seed")["full_minus_zero"].mean()
    out["balanced_accuracy"] = _at_balance(sweeps, "balanced_accuracy")
    out["worst_group_accuracy"] = _at_balance(sweeps, "worst_group_accuracy")
    for seed, run in runs.items():
        base = run.baseline[run.baseline["attribute"] == attribute]
        overall = base[(base["metric"] == "balanced_accuracy") & (base["group"].astype(str) == "all")]
        worst = base[base["metric"] == "worst_group_accuracy"]
        out.loc[seed, "pretrained_balanced_accuracy"] = float(overall["value"].iloc[0])
        out.loc[seed, "pretrained_worst_group_accuracy"] = float(worst["value"].iloc[0])
        out.loc[seed, "best_epoch"] = run.best_epoch
    out = out[list(QUANTITIES)]
    if settings.row_draws:
        out = out.join(_row_draws(data, runs, rows, attribute, settings,
                                  by_seed["value"] - by_seed["excess"]))
    return out.reset_index()


def tradeoff(
    data: ProtocolData,
    model_factory: Callable[[], nn.Module],
    *,
    attribute: str,
    lambdas: Mapping[str, Sequence[float]],
    seeds: Sequence[int],
    config: PretrainConfig,
    cache_dir: str | os.PathLike,
    settings: OutcomeSettings,
    tv_reduction: str = "sum",
    progress: bool = True,
    tv_variance: str = "within",
) -> pd.DataFrame:
    """Pre-train and measure every (penalty, λ, seed); the λ = 0 encoders are measured once.

    Parameters
    ----------
    data, model_factory, seeds, config, cache_dir, tv_reduction, tv_variance, progress
        As in :func:`regularised_embeddings`.
    attribute : str
        Attribute penalised during pre-training and studied afterwards.
    lambdas : mapping of str to sequence of float
        Penalty name -> its λ grid, e.g. ``{"tv": [0, 0.001, 0.01], "mmd": [0, 1, 10]}``. Every
        grid gets λ = 0 added if absent, so each curve starts at the unregularised encoder.
    settings : OutcomeSettings
        Separation and sweep settings (:func:`encoder_outcomes`).

    Returns
    -------
    pd.DataFrame
        One row per (penalty, λ, seed): ``dataset, attribute, penalty, lam, seed`` and the
        :data:`QUANTITIES`; the λ = 0 rows repeat the same unregularised encoders under each
        penalty.
    """
    if not lambdas:
        raise ValueError('lambdas is empty; pass e.g. {"tv": [0, 0.001, 0.01, 0.1, 1]}.')
    store_dir = os.path.join(cache_dir, "sweeps")
    measured: dict[tuple[str, float], pd.DataFrame] = {}
    frames = []
    for penalty, grid in lambdas.items():
        check_choice(penalty, "lambdas key", PENALTIES)
        grid = sorted({0.0, *(float(lam) for lam in grid)})
        for lam in grid:
            key = ("none", 0.0) if lam == 0 else (penalty, lam)
            if key not in measured:
                runs = regularised_embeddings(data, model_factory, penalty=penalty, lam=lam,
                                              attribute=attribute, seeds=seeds, config=config,
                                              cache_dir=cache_dir, tv_reduction=tv_reduction,
                                              tv_variance=tv_variance, progress=progress)
                measured[key] = encoder_outcomes(data, runs, attribute=attribute,
                                                 settings=settings, store_dir=store_dir,
                                                 progress=progress)
            frames.append(measured[key].assign(penalty=penalty, lam=lam))
    out = pd.concat(frames, ignore_index=True).assign(dataset=data.name, attribute=attribute)
    keys = ["dataset", "attribute", "penalty", "lam", "seed"]
    return out[keys + [c for c in out.columns if c not in keys]]

