"""Running the protocol on one dataset with a pre-trained encoder per seed: :func:`run_protocol`.

It chains the steps of :mod:`latentsep.experiments.protocol` -- pre-training (cached), separation
with several estimators (:data:`ESTIMATORS`, an undefined estimate becoming a NaN row with its
reason, :func:`separation_with_fallback`), transfer gaps and the LLRT sweeps -- into one
:class:`ProtocolResult`. Used by chapters 04 (Adult, COMPAS), 06 and 07, and by the real-dataset
runners of :mod:`latentsep.experiments.user_datasets`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from torch import nn

from latentsep.checks import check_choice
from latentsep.experiments.protocol.data import ProtocolData, feasible_k
from latentsep.experiments.protocol.encoders import EncoderRun, pretrained_embeddings
from latentsep.experiments.protocol.measures import separation_by_seed, transfer_by_seed
from latentsep.experiments.protocol.sweeps import allocation_sweeps
from latentsep.heads import HeadConfig
from latentsep.models.training import PretrainConfig
from latentsep.separation import PAPER_ESTIMATOR, POOLED_HISTOGRAM

__all__ = ["ESTIMATORS", "ProtocolResult", "run_protocol", "separation_with_fallback"]

#: Separation estimators run by :func:`run_protocol`: name -> (method, histogram edges).
ESTIMATORS: dict[str, tuple[str, str]] = {
    PAPER_ESTIMATOR: ("histogram", "reference"),  # the authors' estimator, exactly
    POOLED_HISTOGRAM: ("histogram", "pooled"),
    "classifier": ("classifier", "pooled"),
}

@dataclass
class ProtocolResult:
    """One dataset through the protocol.

    Attributes
    ----------
    name : str
        Dataset (and encoder) name.
    separation : pd.DataFrame
        Tidy separation table with an ``estimator`` column (see
        :func:`latentsep.experiments.protocol.separation_by_seed`); one row per (seed, estimator,
        attribute) for pre-trained encoders, per (estimator, attribute) without ``seed`` for a
        frozen encoder.
    sweeps : pd.DataFrame
        Allocation sweeps (:func:`latentsep.experiments.protocol.allocation_sweeps` layout).
    k_train, k_val : int
        Fine-tuning and validation set sizes used (after capping by the smallest group).
    k_requested : tuple[int, int]
        The sizes asked for; larger than the used ones when a group was too small.
    runs : dict[int, EncoderRun] or None
        Pre-trained encoders by seed (None for a frozen encoder).
    seconds : dict[str, float]
        Wall time per stage (``pretrain``, ``separation``, ``transfer``, ``sweeps``, ``embed``).
    transfer : pd.DataFrame or None
        Transfer gaps on the test split (:func:`~latentsep.experiments.protocol.transfer_by_seed`
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


def check_estimators(estimators: Sequence[str]) -> list[str]:
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
        Encoder factory (e.g. :func:`latentsep.experiments.tabular.tabular_mlp_factory`).
    seeds : sequence of int
        Pre-training seeds; sweep seed ``s`` uses the encoder pre-trained with seed ``s``.
    config : PretrainConfig
        Pre-training optimiser settings.
    alphas : sequence of float
        Allocation levels (share of group 1).
    k_train, k_val : int
        Requested fine-tuning / validation set sizes; capped with
        :func:`~latentsep.experiments.protocol.feasible_k` (see :attr:`ProtocolResult.capped`).
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
    estimators = check_estimators(estimators)
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
