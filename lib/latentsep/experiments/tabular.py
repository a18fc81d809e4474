"""Adult and COMPAS wired into the paper's protocol: real tables with real demographic subgroups.

:func:`tabular_protocol` turns :func:`latentsep.data.tabular.load_adult` /
:func:`~latentsep.data.tabular.load_compas` into a :class:`~latentsep.experiments.llrt.ProtocolData`
whose five parts are disjoint, label-stratified random splits of the rows: the encoder (a
:class:`~latentsep.models.TabularMLP`, built by :func:`tabular_mlp_factory`) is pre-trained on
``pretrain_train`` / ``pretrain_val`` only, separation is measured on ``test`` and the fine-tuning
sets are drawn from ``pool`` / ``val_pool``, as the paper's protocol asks (§5). The paper has no
tabular experiment: the fractions below are ours (recorded in the data's ``source`` sentence).

The rest is generic over any :class:`ProtocolData` (the real-dataset runners of
:mod:`latentsep.experiments.foundation` use it too): :func:`run_protocol` pre-trains, measures
separation with several estimators (:data:`ESTIMATORS`) and runs the LLRT sweeps, all cached;
:func:`protocol_summaries` reduces it to one row per estimator × metric × attribute;
:func:`correlation_table` relates separation to sensitivity across attributes (Pearson r, R² and
Spearman ρ with bootstrap intervals); :func:`allocation_curves` gives the per-group curves.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from torch import nn

from latentsep.allocation import split_indices
from latentsep.checks import check_choice, check_fraction, check_positive_int
from latentsep.data.tabular import TabularData, load_adult, load_compas
from latentsep.experiments.llrt import (
    SPLITS,
    EncoderRun,
    ProtocolData,
    allocation_sweeps,
    feasible_k,
    pretrained_embeddings,
    separation_by_seed,
    summarise,
    transfer_by_seed,
)
from latentsep.heads import HeadConfig
from latentsep.models.tabular import TabularMLP
from latentsep.models.training import PretrainConfig
from latentsep.stats import correlate, summarise_seeds

TABULAR_DATASETS: dict[str, Callable[..., TabularData]] = {"adult": load_adult, "compas": load_compas}

#: Row fractions per part (ours). The pool is the largest part so that K can stay large for the
#: attributes with a small group (Adult ``CapitalGain``, COMPAS ``JuvenileRecord``). COMPAS gets a
#: larger test part: the histogram estimator needs >= 50 rows in every class-group cell, and
#: COMPAS's smallest cell (no recidivism, juvenile record) is ~4 % of the rows.
DEFAULT_FRACTIONS: dict[str, dict[str, float]] = {
    "adult": {"pretrain_train": 0.25, "pretrain_val": 0.05, "test": 0.20, "pool": 0.40,
              "val_pool": 0.10},
    "compas": {"pretrain_train": 0.20, "pretrain_val": 0.05, "test": 0.25, "pool": 0.40,
               "val_pool": 0.10},
}


def _check_fractions(fractions: Mapping[str, float]) -> dict[str, float]:
    if set(fractions) != set(SPLITS):
        raise ValueError(
            f"fractions must have exactly the keys {list(SPLITS)}; got {sorted(fractions)}."
        )
    out = {name: check_fraction(float(fractions[name]), f"fractions[{name!r}]", low_open=True)
           for name in SPLITS}
    if not np.isclose(sum(out.values()), 1.0):
        raise ValueError(
            f"fractions must sum to 1 (every row belongs to one part); got {sum(out.values()):.4f} "
            f"from {out}."
        )
    return out


def tabular_protocol(
    name: str,
    data_dir: str | Path = "data",
    *,
    fractions: Mapping[str, float] | None = None,
    seed: int = 0,
    max_rows: int | None = None,
) -> ProtocolData:
    """Adult or COMPAS as a :class:`ProtocolData` with a disjoint pre-training split.

    Parameters
    ----------
    name : {"adult", "compas"}
        Dataset (Adult: income > 50K, 48,842 rows; COMPAS: two-year recidivism, 6,172 rows after
        ProPublica's filter). Attributes as defined in :mod:`latentsep.data.tabular`, ``Random``
        last.
    data_dir : str or Path
        Data root (``make data`` fills it).
    fractions : mapping, optional
        Row fractions of ``pretrain_train, pretrain_val, test, pool, val_pool`` (each > 0,
        summing to 1); default :data:`DEFAULT_FRACTIONS` of the dataset.
    seed : int
        Seed of the split (stratified by label, so every part has the dataset's label rate) and
        of the ``Random`` attribute.
    max_rows : int, optional
        Keep a seeded, label-stratified random subset of this many rows first (for quick runs);
        default all rows.

    Returns
    -------
    ProtocolData
        ``x`` float32 (N, F) standardised features, ``y`` (N,), ``attributes`` (N, A) 0/1 ints.
    """
    check_choice(name, "name", tuple(TABULAR_DATASETS))
    fractions = _check_fractions(DEFAULT_FRACTIONS[name] if fractions is None else fractions)
    table = TABULAR_DATASETS[name](data_dir, seed=seed)
    rows = np.arange(len(table.y))
    if max_rows is not None and max_rows < len(rows):
        check_positive_int(max_rows, "max_rows", minimum=len(SPLITS))
        rows = split_indices(len(rows), [max_rows], seed, stratify=table.y)[0]
    x, y, attributes = table.x[rows], table.y[rows], table.attributes.iloc[rows].reset_index(drop=True)
    parts = split_indices(len(y), [fractions[s] for s in SPLITS], seed, stratify=y)
    shares = ", ".join(f"{s} {fractions[s]:.0%} ({len(p):,})" for s, p in zip(SPLITS, parts,
                                                                               strict=True))
    source = (
        f"{name.upper() if name == 'compas' else name.title()}: {len(y):,} of {len(table.y):,} "
        f"rows, {x.shape[1]} features, {attributes.shape[1]} attributes; source: "
        f"{table.source}. Label-stratified random parts (ours; the paper has no tabular "
        f"experiment), seed {seed}: {shares}."
    )
    return ProtocolData(name=name, x=x, y=y, attributes=attributes,
                        splits=dict(zip(SPLITS, parts, strict=True)), source=source)


def tabular_mlp_factory(
    in_dim: int, hidden: Sequence[int] = (128, 64), dropout: float = 0.1
) -> Callable[[], TabularMLP]:
    """A picklable zero-argument factory of :class:`TabularMLP` (``in_dim → hidden … → 2``).

    The embedding the protocol studies is the last hidden layer (``hidden[-1]`` wide).
    """
    TabularMLP(in_dim, hidden, 2, dropout)  # validate the arguments now, not in a worker later
    return partial(TabularMLP, in_dim, tuple(hidden), 2, dropout)


# --------------------------------------------------------------------------------------------
# running the protocol and relating separation to sensitivity

#: Separation estimators run by :func:`run_protocol`: name -> (method, histogram edges).
ESTIMATORS: dict[str, tuple[str, str]] = {
    "histogram/reference": ("histogram", "reference"),  # the authors' estimator, exactly
    "histogram/pooled": ("histogram", "pooled"),
    "classifier": ("classifier", "pooled"),
}
#: Separation measures correlated with sensitivity: label -> (estimator, summary column).
SEPARATION_MEASURES: dict[str, tuple[str, str]] = {
    "TV, paper-faithful": ("histogram/reference", "separation"),
    "TV excess (ours)": ("histogram/pooled", "excess"),
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


@dataclass
class ProtocolResult:
    """One dataset through the protocol.

    Attributes
    ----------
    name : str
        Dataset (and encoder) name.
    separation : pd.DataFrame
        Tidy separation table with an ``estimator`` column (see
        :func:`latentsep.experiments.llrt.separation_by_seed`); one row per (seed, estimator,
        attribute) for pre-trained encoders, per (estimator, attribute) without ``seed`` for a
        frozen encoder.
    sweeps : pd.DataFrame
        Allocation sweeps (:func:`latentsep.experiments.llrt.allocation_sweeps` layout).
    k_train, k_val : int
        Fine-tuning and validation set sizes used (after capping by the smallest group).
    k_requested : tuple[int, int]
        The sizes asked for; larger than the used ones when a group was too small.
    runs : dict[int, EncoderRun] or None
        Pre-trained encoders by seed (None for a frozen encoder).
    seconds : dict[str, float]
        Wall time per stage (``pretrain``, ``separation``, ``transfer``, ``sweeps``, ``embed``).
    transfer : pd.DataFrame or None
        Transfer gaps on the test split (:func:`~latentsep.experiments.llrt.transfer_by_seed`
        layout; without ``seed`` for a frozen encoder).
    """

    name: str
    separation: pd.DataFrame
    sweeps: pd.DataFrame
    k_train: int
    k_val: int
    k_requested: tuple[int, int]
    runs: dict[int, EncoderRun] | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    transfer: pd.DataFrame | None = None

    @property
    def capped(self) -> bool:
        """Whether K_train or K_val was reduced to what the smallest group can supply."""
        return (self.k_train, self.k_val) != self.k_requested


def _check_estimators(estimators: Sequence[str]) -> list[str]:
    estimators = list(estimators)
    if not estimators:
        raise ValueError(f"estimators is empty; choose from {list(ESTIMATORS)}.")
    for name in estimators:
        check_choice(name, "estimators", tuple(ESTIMATORS))
    return estimators


def separation_with_fallback(
    compute: Callable[[list[str]], pd.DataFrame],
    names: Sequence[str],
    estimator: str,
    seeds: Sequence[int | None] = (None,),
) -> pd.DataFrame:
    """``compute(names)``; if it raises, attribute by attribute, with NaN rows where it fails.

    Some estimates are undefined rather than wrong: the authors' histogram (``reference`` edges)
    divides by zero when one group lies entirely outside the other's range in some component
    (perfect separation along it), and :mod:`latentsep.separation` refuses. One such attribute
    must not take the others down, so its rows get ``value`` NaN and the reason in ``note``
    (callers show it). Attributes share the PCA either way (it depends on the rows, not on them).

    Parameters
    ----------
    compute : callable
        Attribute names -> separation table (with ``attribute`` and ``estimator`` columns).
    names : sequence of str
        Attributes.
    estimator : str
        Estimator name for the NaN rows.
    seeds : sequence
        Seeds to give NaN rows (``None``: the table has no ``seed`` column).

    Returns
    -------
    pd.DataFrame
        The table with a ``note`` column (empty where the estimate exists).
    """
    try:
        return compute(list(names)).assign(note="")
    except ValueError:
        pass
    frames = []
    for name in names:
        try:
            frames.append(compute([name]).assign(note=""))
        except ValueError as err:
            # Every column a defined estimate has, as NaN: summaries read them even when no
            # attribute of the table could be estimated.
            rows = pd.DataFrame({"attribute": name, "estimator": estimator, "value": np.nan,
                                 "ci_low": np.nan, "ci_high": np.nan, "null_mean": np.nan,
                                 "excess": np.nan, "note": f"undefined: {err}"},
                                index=range(len(seeds)))
            if seeds != (None,):
                rows.insert(0, "seed", list(seeds))
            frames.append(rows)
    return pd.concat(frames, ignore_index=True)


def _separation_by_seed(names: list[str], **kw: Any) -> pd.DataFrame:
    return separation_by_seed(attributes=names, **kw)


def run_protocol(
    data: ProtocolData,
    model_factory: Callable[[], nn.Module],
    *,
    seeds: Sequence[int],
    config: PretrainConfig,
    alphas: Sequence[float],
    k_train: int,
    k_val: int,
    head: HeadConfig,
    cache_dir: str | Path,
    estimators: Sequence[str] = tuple(ESTIMATORS),
    n_permutations: int = 200,
    n_bootstrap: int = 200,
    pca_variance: float | None = 0.70,
    attributes: Sequence[str] | None = None,
    progress: bool = False,
) -> ProtocolResult:
    """Pre-train per seed, measure separation and transfer gap on the test split, run the LLRT
    sweeps (cached).

    Parameters
    ----------
    data : ProtocolData
    model_factory : callable
        Encoder factory (e.g. :func:`tabular_mlp_factory`).
    seeds : sequence of int
        Pre-training seeds; sweep seed ``s`` uses the encoder pre-trained with seed ``s``.
    config : PretrainConfig
        Pre-training optimiser settings.
    alphas : sequence of float
        Allocation levels (share of group 1).
    k_train, k_val : int
        Requested fine-tuning / validation set sizes; capped with
        :func:`~latentsep.experiments.llrt.feasible_k` (see :attr:`ProtocolResult.capped`).
    head : HeadConfig
        Last-layer head (the paper's LLRT: ``HeadConfig()``, linear).
    cache_dir : path
        Encoders go to ``cache_dir/encoders``, sweep units to ``cache_dir/sweeps``.
    estimators : sequence of str
        Keys of :data:`ESTIMATORS`.
    n_permutations, n_bootstrap, pca_variance
        Separation settings (:func:`latentsep.separation.latent_separation`).
    attributes : sequence of str, optional
        Default: every column of ``data.attributes``.
    progress : bool
        Progress bars (off in chapters: bars clutter executed notebooks).

    Returns
    -------
    ProtocolResult
    """
    estimators = _check_estimators(estimators)
    names = list(data.attributes.columns) if attributes is None else list(attributes)
    seconds = {}
    started = time.perf_counter()
    runs = pretrained_embeddings(data, model_factory, seeds=seeds, config=config,
                                 cache_dir=cache_dir, progress=progress)
    seconds["pretrain"] = time.perf_counter() - started
    started = time.perf_counter()
    separation = pd.concat([separation_with_fallback(
        partial(_separation_by_seed, data=data, runs=runs, methods=(ESTIMATORS[e][0],),
                edges=ESTIMATORS[e][1], n_permutations=n_permutations, n_bootstrap=n_bootstrap,
                pca_variance=pca_variance),
        names, e, seeds=list(runs)) for e in estimators], ignore_index=True)
    seconds["separation"] = time.perf_counter() - started
    started = time.perf_counter()
    transfer = transfer_by_seed(data, runs, attributes=names)
    seconds["transfer"] = time.perf_counter() - started
    used = feasible_k(data, names, k_train), feasible_k(data, names, k_val, split="val_pool")
    started = time.perf_counter()
    sweeps = allocation_sweeps(data, runs, attributes=names, alphas=alphas, k_train=used[0],
                               k_val=used[1], head=head, store_dir=Path(cache_dir) / "sweeps",
                               progress=progress)
    seconds["sweeps"] = time.perf_counter() - started
    return ProtocolResult(name=data.name, separation=separation, sweeps=sweeps, k_train=used[0],
                          k_val=used[1], k_requested=(k_train, k_val), runs=runs, seconds=seconds,
                          transfer=transfer)


def protocol_summaries(
    result: ProtocolResult, metrics: Sequence[str] = ("cross_entropy", "balanced_accuracy")
) -> pd.DataFrame:
    """:func:`~latentsep.experiments.llrt.summarise` for every estimator × metric, stacked.

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
