"""Invariance penalties during pre-training: the separation / sensitivity / accuracy trade-off (§5.6).

For one dataset and one binary attribute, :func:`tradeoff` pre-trains an encoder per penalty,
weight λ and seed (:func:`regularised_embeddings`, cached on disk by
:func:`latentsep.experiments.protocol.pretrained_embeddings`), then measures on each encoder
(:func:`encoder_outcomes`):

- the attribute's class-conditional latent separation on the test split, with its permutation null;
- its allocation sensitivity: a last-layer-retraining sweep over α and the OLS slopes of each
  group's test metric on its own share (mean of the two groups = attribute sensitivity);
- the accuracy the encoder still supports: the retrained head's overall balanced accuracy and
  worst-group accuracy at the balanced allocation α = 0.5, and the pre-trained model's own.

:func:`summarise_tradeoff` adds Student-t intervals across seeds and :func:`matched_accuracy`
compares two penalties at equal accuracy cost: per seed, the drop in sensitivity (or separation)
relative to λ = 0 is interpolated along each penalty's λ path at common accuracy costs, so the
comparison says which penalty buys more insensitivity per accuracy point.

λ = 0 is always the *unregularised* encoder (no penalty object at all). :func:`latentsep.models.pretrain`
guarantees that a penalty evaluated at λ = 0 leaves training bitwise unchanged, so this is the same
model, and it shares its cache entry with the chapters that never regularise.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

from latentsep.checks import check_choice, check_positive_int
from latentsep.experiments.protocol import (
    EncoderRun,
    ProtocolData,
    allocation_sweeps,
    pretrained_embeddings,
    separation_by_seed,
)
from latentsep.heads import HeadConfig
from latentsep.models.training import PretrainConfig, build_model
from latentsep.regularize import GroupAdversary, MMDPenalty, Regularizer, TVSurrogate
from latentsep.stats import allocation_slopes, full_minus_zero, summarise_seeds

PENALTIES = ("tv", "mmd", "adversary")
PENALTY_LABELS = {
    "tv": "TV surrogate (paper)",
    "mmd": "RBF MMD²",
    "adversary": "adversarial group classifier",
}
#: Per-seed quantities of :func:`encoder_outcomes`, in display order.
QUANTITIES = (
    "separation", "separation_excess", "separation_p_value", "sensitivity", "abs_sensitivity",
    "slope_0", "slope_1", "full_minus_zero", "balanced_accuracy", "worst_group_accuracy",
    "pretrained_balanced_accuracy", "pretrained_worst_group_accuracy", "best_epoch",
)  # fmt: skip


def make_regularizer(
    penalty: str, *, embedding_dim: int, seed: int = 0, tv_reduction: str = "sum",
    tv_variance: str = "within",
) -> Regularizer:
    """A fresh invariance penalty by name.

    Parameters
    ----------
    penalty : {"tv", "mmd", "adversary"}
        The paper's TV surrogate (:class:`~latentsep.regularize.TVSurrogate`), class-conditional RBF
        MMD² with the median bandwidth (:class:`~latentsep.regularize.MMDPenalty`), or an
        adversarial group classifier behind gradient reversal
        (:class:`~latentsep.regularize.GroupAdversary`).
    embedding_dim : int
        Width of the encoder's embedding (the adversary's input).
    seed : int
        Seeds the adversary's initial weights (unused by the other two).
    tv_reduction : {"sum", "mean"}
        How the TV surrogate combines dimensions. ``"sum"`` is the squared Mahalanobis distance
        as defined, the reading under which the paper's λ = 0.01 is meant; ``"mean"`` divides by
        the embedding width.
    tv_variance : {"within", "total"}
        The TV surrogate's denominator: pooled within-group variance, or the authors' total
        variance of both groups' rows (:class:`~latentsep.regularize.TVSurrogate`).

    Returns
    -------
    Regularizer
    """
    check_choice(penalty, "penalty", PENALTIES)
    if penalty == "tv":
        return TVSurrogate(reduction=tv_reduction, variance=tv_variance)
    if penalty == "mmd":
        return MMDPenalty()
    return GroupAdversary(check_positive_int(embedding_dim, "embedding_dim"), seed=seed)


def regularised_embeddings(
    data: ProtocolData,
    model_factory: Callable[[], nn.Module],
    *,
    penalty: str,
    lam: float,
    attribute: str,
    seeds: Sequence[int],
    config: PretrainConfig,
    cache_dir: str | os.PathLike,
    tv_reduction: str = "sum",
    progress: bool = True,
    tv_variance: str = "within",
) -> dict[int, EncoderRun]:
    """Encoders pre-trained with ``lam · penalty`` on ``attribute`` (cached), one per seed.

    ``lam = 0`` returns the unregularised encoders (``regularizer=None``): bitwise the same weights
    as the penalty evaluated at λ = 0, and the same cache entry as an unregularised chapter.

    Parameters
    ----------
    data, model_factory, seeds, config, cache_dir, progress
        As in :func:`latentsep.experiments.protocol.pretrained_embeddings`.
    penalty : {"tv", "mmd", "adversary"}
        See :func:`make_regularizer`.
    lam : float
        Penalty weight λ ≥ 0.
    attribute : str
        Binary attribute the penalty makes the embedding invariant to, within each class.
    tv_reduction, tv_variance : str
        See :func:`make_regularizer`.

    Returns
    -------
    dict[int, EncoderRun]
        Seed -> run.
    """
    check_choice(penalty, "penalty", PENALTIES)
    if not (np.isfinite(lam) and lam >= 0):
        raise ValueError(f"lam must be a finite number >= 0; got {lam!r}. Use 0 for no penalty.")
    data.attribute(attribute)  # unknown names raise here, before any training
    if lam == 0:
        return pretrained_embeddings(data, model_factory, seeds=seeds, config=config,
                                     cache_dir=cache_dir, progress=progress)
    dim = int(build_model(model_factory, 0).embedding_dim)  # seeded: leaves global RNG alone
    runs = {}
    for seed in seeds:  # one call per seed: the adversary's initial weights follow the seed
        regularizer = make_regularizer(penalty, embedding_dim=dim, seed=seed, tv_reduction=tv_reduction,
                                       tv_variance=tv_variance)
        runs.update(pretrained_embeddings(data, model_factory, seeds=[seed], config=config,
                                          cache_dir=cache_dir, regularizer=regularizer, lam=lam,
                                          groups_attribute=attribute, progress=progress))
    return runs


def penalty_scale(
    z: np.ndarray,
    y: np.ndarray,
    a: np.ndarray,
    *,
    batch_size: int = 128,
    n_batches: int = 50,
    seed: int = 0,
) -> pd.DataFrame:
    """Size of the TV surrogate on random mini-batches of fixed embeddings, and its noise floor.

    The surrogate is computed on batches the size of a training batch, with ``a`` as observed and
    with ``a`` shuffled within each class (an embedding that carries no group information at all).
    The shuffled value is the floor a perfectly invariant encoder would still pay: for ``"sum"`` it
    grows with the embedding width, so the same λ means a stronger penalty for a wider embedding.

    Parameters
    ----------
    z : np.ndarray
        Embeddings, shape (N, D).
    y, a : np.ndarray
        Class labels and the binary group attribute, shape (N,).
    batch_size, n_batches : int
        Size and number of random batches (drawn without replacement within a batch).
    seed : int
        Seeds the batches and the shuffles.

    Returns
    -------
    pd.DataFrame
        One row per (``groups`` ∈ {"observed", "shuffled within class"}, ``reduction`` ∈ {"sum",
        "mean"}): ``mean`` penalty over batches, ``ci_low``, ``ci_high`` (95 % t-interval over
        batches), ``n_batches``, ``embedding_dim``.
    """
    z = torch.as_tensor(np.asarray(z, dtype=np.float32))
    y = np.asarray(y)
    a = np.asarray(a)
    if z.ndim != 2 or len(y) != len(z) or len(a) != len(z):
        raise ValueError(
            f"z must be (N, D) with y and a of length N; got z {tuple(z.shape)}, y {y.shape}, "
            f"a {a.shape}."
        )
    check_positive_int(batch_size, "batch_size", minimum=4)
    check_positive_int(n_batches, "n_batches", minimum=2)
    rng = np.random.default_rng(seed)
    shuffled = a.copy()
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        shuffled[rows] = rng.permutation(a[rows])
    records = []
    for _ in range(n_batches):
        idx = rng.choice(len(z), min(batch_size, len(z)), replace=False)
        yb = torch.as_tensor(y[idx])
        for label, groups in (("observed", a), ("shuffled within class", shuffled)):
            ab = torch.as_tensor(groups[idx])
            for reduction in ("sum", "mean"):
                value = TVSurrogate(reduction=reduction)(z[idx], yb, ab).value
                records.append({"groups": label, "reduction": reduction, "value": float(value)})
    out = summarise_seeds(pd.DataFrame(records), "value", ["groups", "reduction"])
    out = out.rename(columns={"value": "mean", "n_seeds": "n_batches"})
    out["embedding_dim"] = z.shape[1]
    return out[["groups", "reduction", "mean", "ci_low", "ci_high", "n_batches", "embedding_dim"]]


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


def _at_balance(sweeps: pd.DataFrame, metric: str) -> pd.Series:
    """Per seed: overall value of ``metric`` of the head trained at α = 0.5."""
    rows = sweeps[(sweeps["metric"] == metric) & (sweeps["group"].astype(str) == "all")
                  & np.isclose(sweeps["alpha"], 0.5)]
    return rows.groupby("seed")["value"].mean()


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
        pre-trained model's own head; ``best_epoch``.
    """
    if not runs:
        raise ValueError("runs is empty; pass the dict returned by regularised_embeddings.")
    sep = separation_by_seed(data, runs, attributes=[attribute],
                             n_permutations=settings.n_permutations,
                             n_bootstrap=settings.n_bootstrap, bins=settings.bins,
                             seed=settings.separation_seed)
    sweeps = allocation_sweeps(data, runs, attributes=[attribute], alphas=settings.alphas,
                               k_train=settings.k_train, k_val=settings.k_val, head=settings.head,
                               store_dir=store_dir, progress=progress)
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
    return out[list(QUANTITIES)].reset_index()


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
    return out[keys + list(QUANTITIES)]


def summarise_tradeoff(per_seed: pd.DataFrame, quantities: Sequence[str] = QUANTITIES) -> pd.DataFrame:
    """Mean and 95 % Student-t interval across seeds of each quantity, per (penalty, λ).

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
        n_seeds``.
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
    return out[[*keys, column, "quantity", "change", "se", "ci_low", "ci_high", "n_seeds"]]


def change_from_unregularised(
    per_seed: pd.DataFrame, quantities: Sequence[str] = QUANTITIES
) -> pd.DataFrame:
    """:func:`paired_change` of a :func:`tradeoff` table from λ = 0, per dataset and penalty.

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
        difference: ``dataset, cost, penalty, drop, se, ci_low, ci_high, n_seeds``, and
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
                "drop_per_point"]]
