"""Allocation sweeps on pre-trained encoders (step 3 of the protocol).

:func:`allocation_sweeps` runs last-layer retraining at every allocation with
:func:`latentsep.sweep.run_sweep`; sweep seed ``s`` uses the encoder pre-trained with seed ``s``
(``encoder="per_seed"``), or every sweep seed uses one pinned encoder (``encoder="pinned"``, the
authors' code), and heads start fresh, from the pre-trained head or resume its pre-training run
(``head_start``, :mod:`latentsep.headstart`). :func:`ablation_sweeps` does the same with the
encoder trainable (full fine-tuning) or trained from scratch on the allocated set.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from torch import nn

from latentsep.allocation import allocation_indices
from latentsep.checks import check_choice, check_positive_int
from latentsep.device import torch_threads
from latentsep.executor import Executor, LocalExecutor
from latentsep.experiments.protocol.data import ProtocolData, attribute_names
from latentsep.experiments.protocol.encoders import EncoderRun, model_id
from latentsep.heads import HeadConfig
from latentsep.metrics import subgroup_metrics
from latentsep.models.training import (
    PretrainConfig,
    build_model,
    finetune_full,
    predict_proba,
    train_from_scratch,
)
from latentsep.store import (
    ResultStore,
    code_fingerprint,
    fingerprint,
)
from latentsep.sweep import SweepSpec, decode_groups, encode_groups, own_share, run_sweep

ENCODER_CHOICES = ("per_seed", "pinned")


def _attribute_blocks(data: ProtocolData, names: Sequence[str]) -> list[tuple[list[str], dict, dict]]:
    """Groups of attributes that can share one sweep call: (names, splits, attribute arrays).

    Attributes known on every pool, validation and test row share the data's splits; an attribute
    with missing values gets the splits restricted to its known rows.
    """
    parts = ("pool", "val_pool", "test")
    complete, blocks = [], []
    for name in names:
        values, known = data.attribute(name)
        if all(known[data.splits[p]].all() for p in parts):
            complete.append(name)
        else:
            splits = {p: data.splits[p][known[data.splits[p]]] for p in parts}
            blocks.append(([name], splits, {name: values}))
    if complete:
        splits = {p: data.splits[p] for p in parts}
        blocks.insert(0, (complete, splits, {n: data.attribute(n)[0] for n in complete}))
    return blocks


def allocation_sweeps(
    data: ProtocolData,
    runs: Mapping[int, EncoderRun],
    *,
    attributes: Sequence[str],
    alphas: Sequence[float],
    k_train: int,
    k_val: int,
    head: HeadConfig,
    store_dir: str | os.PathLike,
    nested: bool = False,
    executor: Executor | None = None,
    progress: bool = True,
    head_start: str = "fresh",
    encoder: str = "per_seed",
    sweep_seeds: Sequence[int] | None = None,
    rows: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Last-layer-retraining allocation sweeps on each pre-trained encoder.

    For every pre-training seed ``s`` and attribute, :func:`latentsep.sweep.run_sweep` retrains a
    head per α on ``runs[s].z`` with sweep seed ``s`` (fine-tuning and validation sets of sizes
    ``k_train`` / ``k_val`` from the ``pool`` / ``val_pool`` splits), scored on the test split.
    Units are cached in ``store_dir`` (a :class:`~latentsep.store.ResultStore`).

    Protocol options (defaults: today's protocol, see :mod:`latentsep.experiments.protocol.options`):

    - ``head_start``: ``"fresh"`` | ``"pretrained"`` | ``"resumed"`` -- where each head starts
      (:meth:`EncoderRun.head_start`); a non-fresh start enters the units' cache keys;
    - ``encoder``: ``"per_seed"`` (sweep seed ``s`` on encoder ``s``) | ``"pinned"`` (every sweep
      seed on the first encoder of ``runs``; its embeddings and the seeds are in the keys);
    - ``sweep_seeds``: the sweep seeds of a pinned encoder (default: the seeds of ``runs``).

    With ``rows=True`` every head's score on every test row comes too (``run_sweep(rows=True)``;
    ``row`` indexes the attribute's test rows).

    Returns
    -------
    pd.DataFrame, or (pd.DataFrame, pd.DataFrame) with ``rows=True``
        The tidy table of :func:`latentsep.sweep.run_sweep` (``attribute, alpha, seed, group,
        metric, value, n, own_share, run, best_epoch, val_balanced_accuracy``), all seeds.
    """
    names = attribute_names(data, attributes)
    if not isinstance(head, HeadConfig):
        raise ValueError(f"head must be a HeadConfig; got {type(head).__name__}.")
    if not runs:
        raise ValueError("runs is empty; pass the dict returned by pretrained_embeddings.")
    check_choice(encoder, "encoder", ENCODER_CHOICES)
    if encoder == "per_seed":
        if sweep_seeds is not None:
            raise ValueError(f"sweep_seeds={list(sweep_seeds)} needs encoder='pinned'; with "
                             "encoder='per_seed' the sweep seeds are the encoders' seeds.")
        plan = [(run, (seed,)) for seed, run in runs.items()]
    else:
        seeds = tuple(runs) if sweep_seeds is None else tuple(
            check_positive_int(s, "sweep_seeds", minimum=0) for s in sweep_seeds)
        plan = [(next(iter(runs.values())), seeds)]
    store = ResultStore(store_dir)
    frames, row_frames = [], []
    for run, seeds in plan:
        start = run.head_start(head_start)
        for block, splits, attrs in _attribute_blocks(data, names):
            specs = [SweepSpec(attribute=n, alphas=tuple(alphas), seeds=seeds, k_train=k_train,
                               k_val=k_val, head=head, nested=nested) for n in block]
            out = run_sweep(run.z, data.y, attrs, splits, specs, store, executor, progress,
                            start=start, rows=rows)
            frames.append(out[0] if rows else out)
            row_frames += [out[1]] if rows else []
    table = pd.concat(frames, ignore_index=True)
    return (table, pd.concat(row_frames, ignore_index=True)) if rows else table


@dataclass
class _AblationUnit:
    """One (attribute, α, seed) model of an ablation sweep (picklable for cluster executors)."""

    mode: str
    start: nn.Module | Callable[[], nn.Module]
    x: np.ndarray
    y: np.ndarray
    a: np.ndarray
    train_idx: np.ndarray
    val_idx: np.ndarray
    test_idx: np.ndarray
    attribute: str
    alpha: float
    seed: int
    config: PretrainConfig
    store: ResultStore
    key: str
    key_config: dict
    inputs: str


def _run_ablation_unit(unit: _AblationUnit) -> pd.DataFrame:
    """Train one model of an ablation sweep, score it per group, store and return the table."""
    started = time.perf_counter()
    x, y = unit.x, unit.y
    args = (x[unit.train_idx], y[unit.train_idx], x[unit.val_idx], y[unit.val_idx])
    trainer = finetune_full if unit.mode == "full" else train_from_scratch
    result = trainer(unit.start, *args, seed=unit.seed, config=unit.config, progress=False)
    with torch_threads(unit.config.num_threads):
        proba = predict_proba(result.model, x[unit.test_idx])
    table = subgroup_metrics(y[unit.test_idx], proba[None], {unit.attribute: unit.a[unit.test_idx]})
    table = table.drop(columns="run").assign(alpha=unit.alpha, seed=unit.seed, mode=unit.mode,
                                             best_epoch=result.best_epoch)
    table["own_share"] = own_share(table["group"], table["alpha"])
    stored = encode_groups(table)
    unit.store.put(unit.key, stored, {"seconds": time.perf_counter() - started},
                   config=unit.key_config, fingerprint=unit.inputs)
    return decode_groups(stored)


def ablation_sweeps(
    data: ProtocolData,
    runs: Mapping[int, EncoderRun],
    model_factory: Callable[[], nn.Module],
    *,
    mode: str,
    attributes: Sequence[str],
    alphas: Sequence[float],
    k_train: int,
    k_val: int,
    config: PretrainConfig,
    store_dir: str | os.PathLike,
    executor: Executor | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Allocation sweeps with the whole network trained: the paper's two ablations.

    ``mode="full"``: start from the encoder pre-trained with seed ``s`` (head re-initialised, every
    layer trainable, :func:`latentsep.models.finetune_full`). ``mode="scratch"``: a fresh
    ``model_factory()`` initialised with seed ``s`` (:func:`latentsep.models.train_from_scratch`).
    Each (attribute, α, seed) trains one network on the same allocated sets as
    :func:`allocation_sweeps` would draw (independent, not nested) with ``config`` and is cached in
    ``store_dir`` as soon as it finishes, so an interrupted sweep resumes.

    Returns
    -------
    pd.DataFrame
        ``attribute, group, metric, value, n, alpha, seed, mode, best_epoch, own_share``.
    """
    check_choice(mode, "mode", ("full", "scratch"))
    if not isinstance(config, PretrainConfig):
        raise ValueError(f"config must be a PretrainConfig; got {type(config).__name__}.")
    names = attribute_names(data, attributes)
    store = ResultStore(store_dir)
    executor = executor if executor is not None else LocalExecutor(progress=progress)
    base = fingerprint(data.y, *(data.splits[p] for p in ("pool", "val_pool", "test")))
    code = code_fingerprint("latentsep.models", "latentsep.allocation", "latentsep.sweep")
    tables: list[pd.DataFrame | None] = []
    todo: list[tuple[int, _AblationUnit]] = []
    for seed, run in runs.items():
        start = run.model(model_factory) if mode == "full" else model_factory
        architecture = model_id(build_model(model_factory, seed))
        for block, splits, attrs in _attribute_blocks(data, names):
            for name in block:
                a = attrs[name]
                inputs = f"{data.x_fingerprint}-{base}-{fingerprint(a, *splits.values())}"
                for alpha in alphas:
                    key_config = {"kind": "ablation_unit", "mode": mode, "attribute": name,
                                  "alpha": float(alpha), "seed": seed, "k_train": k_train,
                                  "k_val": k_val, "config": config, "model": architecture,
                                  "encoder": run.key if mode == "full" else None, "code": code}
                    key = store.key(key_config, inputs)
                    cached = store.get(key)
                    tables.append(None if cached is None else decode_groups(cached))
                    if cached is None:
                        unit = _AblationUnit(
                            mode, start, data.x, data.y, a,
                            allocation_indices(a, alpha, k_train, seed, candidates=splits["pool"]),
                            allocation_indices(a, alpha, k_val, seed, candidates=splits["val_pool"]),
                            splits["test"], name, float(alpha), seed, config, store, key,
                            key_config, inputs)
                        todo.append((len(tables) - 1, unit))
    computed = executor.map(_run_ablation_unit, [u for _, u in todo], desc=f"ablation ({mode})")
    for (position, _), table in zip(todo, computed, strict=True):
        tables[position] = table
    return pd.concat(tables, ignore_index=True)
