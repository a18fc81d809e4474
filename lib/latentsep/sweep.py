"""Allocation sweeps: retrain a head at every (allocation, seed) and score it per subgroup.

For each :class:`SweepSpec` (one attribute) the sweep

1. samples the fine-tuning set of every (α, seed) from ``splits["pool"]`` (``k_train`` samples,
   ``floor(α·k_train)`` of group 1) and the validation set from ``splits["val_pool"]`` (``k_val``
   samples at the same α), with :func:`latentsep.allocation.allocation_plan`;
2. trains all ``len(alphas) × len(seeds)`` heads at once with :func:`latentsep.heads.fit_heads`
   (one batched tensor program; run r is initialised with its seed, so the heads of one seed
   start from the same weights at every α and differ only by their data; ``start=`` starts every
   run from the pre-trained head or its pre-training run instead, :mod:`latentsep.headstart`);
3. scores every head on ``splits["test"]`` per group of the attribute and overall with
   :func:`latentsep.metrics.subgroup_metrics`, and keeps each test row's score (correct or not,
   its log loss), from which :mod:`latentsep.row_bootstrap` resamples the test rows.

One spec is one *unit*: it is cached in a :class:`~latentsep.store.ResultStore` under the hash of
its full configuration (the spec with its head settings) plus a fingerprint of the embeddings,
labels, attribute and splits, and units run through an :class:`~latentsep.executor.Executor`.
Each unit stores its own result as soon as it finishes, so a sweep killed at any point restarts
where it stopped: finished units are read back (checksum-verified), only missing or corrupt ones
are recomputed. Results do not depend on the executor or on the order of units.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from latentsep.allocation import allocation_plan
from latentsep.checks import (
    as_1d_labels,
    as_binary,
    check_finite,
    check_fraction,
    check_positive_int,
    check_splits,
)
from latentsep.executor import Executor, LocalExecutor
from latentsep.heads import HeadConfig, fit_heads
from latentsep.headstart import HeadStart, as_start
from latentsep.metrics import subgroup_metrics
from latentsep.store import ResultStore, code_fingerprint, fingerprint

logger = logging.getLogger(__name__)

PAPER_ALPHAS = tuple(round(0.1 * i, 10) for i in range(11))
PAPER_SEEDS = (42, 43, 44)
SPLITS = ("pool", "val_pool", "test")
COLUMNS = ["attribute", "alpha", "seed", "group", "metric", "value", "n", "own_share", "run",
           "best_epoch", "val_balanced_accuracy"]
#: Columns of a sweep's per-row scores (``run_sweep(rows=True)``): ``row`` is the position in
#: ``splits["test"]``.
ROW_COLUMNS = ["attribute", "alpha", "seed", "run", "row", "correct", "log_loss"]


@dataclass(frozen=True)
class SweepSpec:
    """One attribute's allocation sweep.

    Attributes
    ----------
    attribute : str
        Key of the binary attribute in ``run_sweep(attributes=...)``.
    alphas : tuple of float
        Allocation levels (share of group 1), each in [0, 1]. Default: 0, 0.1, …, 1 (paper).
    seeds : tuple of int
        One run per seed and α: the seed draws the fine-tuning and validation sets and initialises
        the head. Default: 42, 43, 44 (paper).
    k_train, k_val : int
        Sizes of the fine-tuning and validation sets (default: the paper's Coloured-MNIST sizes).
    head : HeadConfig
        Head architecture and optimiser settings.
    nested : bool
        Nested sets across α (see :mod:`latentsep.allocation`).
    """

    attribute: str
    alphas: tuple[float, ...] = PAPER_ALPHAS
    seeds: tuple[int, ...] = PAPER_SEEDS
    k_train: int = 23_840
    k_val: int = 5_950
    head: HeadConfig = field(default_factory=HeadConfig)
    nested: bool = False

    def __post_init__(self) -> None:
        # Normalise spellings (lists, numpy scalars) so equal sweeps have equal cache keys.
        alphas = tuple(check_fraction(float(x), "alphas") for x in np.atleast_1d(self.alphas))
        object.__setattr__(self, "alphas", alphas)
        seeds = np.atleast_1d(self.seeds).tolist()
        seeds = tuple(check_positive_int(s, "seeds", minimum=0) for s in seeds)
        object.__setattr__(self, "seeds", seeds)
        check_positive_int(self.k_train, "k_train")
        check_positive_int(self.k_val, "k_val")
        if not self.alphas or not self.seeds:
            raise ValueError(
                f"SweepSpec({self.attribute!r}) needs at least one alpha and one seed; got "
                f"alphas={self.alphas}, seeds={self.seeds}."
            )
        if not isinstance(self.head, HeadConfig):
            raise ValueError(f"head must be a HeadConfig; got {type(self.head).__name__}.")

    def runs(self) -> pd.DataFrame:
        """The runs of this sweep in ``fit_heads`` order (alpha-major): columns run, alpha, seed."""
        alphas = np.repeat(self.alphas, len(self.seeds))
        seeds = np.tile(np.asarray(self.seeds, dtype=np.int64), len(self.alphas))
        return pd.DataFrame({"run": np.arange(len(alphas)), "alpha": alphas, "seed": seeds})


@dataclass
class _Unit:
    """Everything a worker needs to compute and store one spec (picklable for cluster jobs)."""

    spec: SweepSpec
    z: np.ndarray
    y: np.ndarray
    a: np.ndarray
    test: np.ndarray
    train_idx: np.ndarray
    val_idx: np.ndarray
    store: ResultStore
    key: str
    config: dict
    fingerprint: str
    device: str | None
    start: HeadStart
    rows: bool = False


def _plan(spec: SweepSpec, a: np.ndarray, splits: Mapping[str, np.ndarray]) -> tuple:
    """Fine-tuning and validation index plans, both (len(alphas)·len(seeds), k), alpha-major."""
    train_idx = allocation_plan(a, spec.alphas, spec.k_train, spec.seeds,
                                candidates=splits["pool"], nested=spec.nested)
    val_idx = allocation_plan(a, spec.alphas, spec.k_val, spec.seeds,
                              candidates=splits["val_pool"], nested=spec.nested)
    return train_idx, val_idx


def _compute_unit(unit: _Unit) -> pd.DataFrame:
    """Train and score all runs of one spec, store the table, and return it (worker entry point)."""
    spec, test = unit.spec, unit.test
    start = time.perf_counter()
    runs = spec.runs()
    fitted = fit_heads(unit.z, unit.y, unit.train_idx, unit.val_idx, runs["seed"].to_numpy(),
                       spec.head, device=unit.device, start=unit.start)
    proba = fitted.predict_proba(unit.z[test])
    scores = subgroup_metrics(unit.y[test], proba, {spec.attribute: unit.a[test]})
    if unit.rows:
        unit.store.put(_rows_key(unit.key), _row_scores(spec, runs, unit.y[test], proba),
                       config={**unit.config, "part": "rows"}, fingerprint=unit.fingerprint)
    runs["best_epoch"] = np.asarray(fitted.best_epoch)
    runs["val_balanced_accuracy"] = np.asarray(fitted.val_balanced_accuracy)
    df = scores.merge(runs, on="run", how="left", validate="many_to_one")
    df["own_share"] = own_share(df["group"], df["alpha"])
    stored = encode_groups(df[COLUMNS])
    meta = {"seeds": spec.seeds, "seconds": time.perf_counter() - start, "n_runs": len(runs),
            "device": unit.device, "notes": scores.attrs.get("notes", [])}
    unit.store.put(unit.key, stored, meta, config=unit.config, fingerprint=unit.fingerprint)
    return decode_groups(stored)  # the same types as a table read back on resume


def _rows_key(key: str) -> str:
    """Store key of a unit's per-row scores, derived from the unit's own key."""
    return ResultStore.key({"rows_of": key}, "")


def _row_scores(spec: SweepSpec, runs: pd.DataFrame, y: np.ndarray,
                proba: np.ndarray) -> pd.DataFrame:
    """Each run's score on each test row (long: run-major), as :data:`ROW_COLUMNS`."""
    n_runs, n = proba.shape[:2]
    # each row's term of metrics.cross_entropy (kept out of latentsep.metrics, whose edits would
    # re-key every cached encoder: code_fingerprint("latentsep.models") covers it)
    eps = np.finfo(proba.dtype).eps
    p_true = np.take_along_axis(proba, y[None, :, None], axis=2)[..., 0]
    return pd.DataFrame({
        "attribute": spec.attribute, "alpha": np.repeat(runs["alpha"].to_numpy(), n),
        "seed": np.repeat(runs["seed"].to_numpy(), n), "run": np.repeat(np.arange(n_runs), n),
        "row": np.tile(np.arange(n), n_runs),
        "correct": (proba.argmax(axis=2) == y).ravel(),
        "log_loss": -np.log(np.clip(p_true, eps, 1 - eps)).ravel()})[ROW_COLUMNS]


def own_share(group: pd.Series, alpha: pd.Series) -> np.ndarray:
    """α for group 1, 1 − α for group 0, NaN for rows not about one group (e.g. ``"all"``)."""
    label = group.astype(str)
    return np.where(label == "1", alpha, np.where(label == "0", 1.0 - alpha, np.nan))


def encode_groups(df: pd.DataFrame) -> pd.DataFrame:
    """Groups as strings for parquet, which cannot hold a column mixing ints and ``"all"``."""
    return df.assign(group=df["group"].astype(str))


def decode_groups(df: pd.DataFrame) -> pd.DataFrame:
    """Inverse of :func:`encode_groups`: ``"0"``/``"1"`` back to ints, other labels kept."""
    groups = [int(g) if g.lstrip("-").isdigit() else g for g in df["group"]]
    return df.assign(group=pd.Series(groups, index=df.index, dtype=object))


def _check_inputs(
    z: Any, y: Any, attributes: Mapping[str, Any], splits: Mapping[str, Any]
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Validate shapes, labels, attributes and splits; return them as arrays."""
    z = np.asarray(z)
    if z.ndim != 2 or not np.issubdtype(z.dtype, np.number):
        raise ValueError(
            f"z must be a numeric 2-D array of embeddings (n_samples, n_features); got shape "
            f"{z.shape}, dtype {z.dtype}."
        )
    check_finite(z, "z")
    n = len(z)
    y = as_1d_labels(y, "y", n)
    if not isinstance(attributes, Mapping) or not attributes:
        raise ValueError("attributes must be a non-empty dict {name: (N,) 0/1 array}.")
    attrs = {name: as_binary(a, f"attributes[{name!r}]", n) for name, a in attributes.items()}
    out = check_splits(splits, SPLITS, n)
    return z, y, attrs, out


def run_sweep(
    z: Any,
    y: Any,
    attributes: Mapping[str, Any],
    splits: Mapping[str, Any],
    specs: SweepSpec | Sequence[SweepSpec],
    store: ResultStore | str | os.PathLike,
    executor: Executor | None = None,
    progress: bool = True,
    *,
    device: str | None = None,
    start: HeadStart | None = None,
    rows: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Run (or resume) allocation sweeps and return their tidy per-group metrics.

    Parameters
    ----------
    z : array-like, shape (N, D)
        Frozen embeddings of every sample (pool, validation pool and test together).
    y : array-like, shape (N,)
        Class labels.
    attributes : dict of str to array-like, shape (N,)
        Binary (0/1) subgroup attributes.
    splits : dict
        ``"pool"``, ``"val_pool"``, ``"test"``: disjoint integer index arrays into ``z``.
    specs : SweepSpec or sequence of SweepSpec
        One unit of work per spec.
    store : ResultStore or path
        Cache of finished units; a sweep with the same specs and inputs reads them back.
    executor : Executor, optional
        Runs the missing units (default :class:`~latentsep.executor.LocalExecutor`). For
        cluster executors the store must be on a shared filesystem; each job receives the arrays
        pickled (``z`` included), so prefer few large units.
    progress : bool
        Progress bar of the default executor.
    device : str, optional
        Torch device for the heads (default :func:`latentsep.device.default_device`). Not part of
        the cache key: CPU and CUDA results agree to float tolerance, not bit for bit.
    start : HeadStart, optional
        Where every head starts (default fresh, :mod:`latentsep.headstart`); a start other than
        fresh enters the cache key (its mode) and the input fingerprint (its weights and state).
    rows : bool
        Also return every head's score on every test row (:data:`ROW_COLUMNS`), stored beside
        each unit; what a bootstrap over the test rows needs (:mod:`latentsep.row_bootstrap`).
        A unit stored without them is recomputed once.

    Returns
    -------
    DataFrame, or (DataFrame, DataFrame) with ``rows=True``
        One row per (attribute, α, seed, group, metric): ``attribute, alpha, seed, group, metric,
        value, n, own_share, run, best_epoch, val_balanced_accuracy``. ``group`` is 0, 1 or
        ``"all"`` (the whole test set, also used by ``metric="worst_group_accuracy"``);
        ``own_share`` is α for group 1, 1 − α for group 0 and NaN for ``"all"``; ``run`` indexes
        runs within a spec (alpha-major); ``best_epoch`` (1-based) and ``val_balanced_accuracy``
        describe the selected head of the run.

    Raises
    ------
    ValueError
        Unknown attribute (the message lists the available ones), embeddings/labels length
        mismatch, overlapping or out-of-range splits, a group absent from the test set, ``k`` too
        large for a pool (with the largest feasible ``k``), α outside [0, 1].

    Examples
    --------
    The label shows along one axis in group 0 and along another in group 1, so a head fine-tuned
    on one group alone (α = 0 or 1) serves the other group near chance:

    >>> import tempfile
    >>> rng = np.random.default_rng(0)
    >>> a, y = rng.integers(0, 2, 600), rng.integers(0, 2, 600)
    >>> z = rng.normal(size=(600, 2))
    >>> z[a == 0, 0] += 3 * y[a == 0]
    >>> z[a == 1, 1] += 3 * y[a == 1]
    >>> splits = {"pool": np.arange(300), "val_pool": np.arange(300, 400),
    ...           "test": np.arange(400, 600)}
    >>> spec = SweepSpec("A", alphas=(0.0, 1.0), seeds=(0,), k_train=100, k_val=40,
    ...                  head=HeadConfig(lr=0.05, batch_size=10))
    >>> with tempfile.TemporaryDirectory() as cache:
    ...     df = run_sweep(z, y, {"A": a}, splits, spec, cache, progress=False)
    >>> accuracy = df.query("metric == 'accuracy' and group != 'all'")
    >>> accuracy.pivot_table(index="alpha", columns="group", values="value").round(1)
    group    0    1
    alpha
    0.0    0.9  0.6
    1.0    0.5  0.9
    """
    z, y, attrs, split_idx = _check_inputs(z, y, attributes, splits)
    start = as_start(start)
    specs = [specs] if isinstance(specs, SweepSpec) else list(specs)
    if not specs:
        raise ValueError("specs is empty; pass at least one SweepSpec.")
    for spec in specs:
        if not isinstance(spec, SweepSpec):
            raise ValueError(f"specs must hold SweepSpec objects; got {type(spec).__name__}.")
        if spec.attribute not in attrs:
            raise ValueError(
                f"unknown attribute {spec.attribute!r} in SweepSpec; available attributes: "
                f"{sorted(attrs)}."
            )
        start.check(z.shape[1], int(y.max()) + 1, spec.head.kind, spec.head.plateau_monitor)
        present = np.unique(attrs[spec.attribute][split_idx["test"]])
        for group in (0, 1):
            if group not in present:
                raise ValueError(
                    f"attribute {spec.attribute!r} has no group-{group} samples in "
                    "splits['test'], so that group's metrics are undefined; choose a test split "
                    "that contains both groups (e.g. split_indices(..., stratify=...))."
                )
    store = store if isinstance(store, ResultStore) else ResultStore(store)
    executor = executor if executor is not None else LocalExecutor(progress=progress)

    base = fingerprint(z, y, *(split_idx[s] for s in SPLITS))
    if start.mode != "fresh":  # fresh runs keep the keys they had before head starts existed
        base = f"{base}-{start.fingerprint()}"
    results: dict[int, pd.DataFrame] = {}
    todo: list[tuple[int, _Unit]] = []
    keys = []
    for i, spec in enumerate(specs):
        a = attrs[spec.attribute]
        inputs = f"{base}-{fingerprint(a)}"
        config = {"kind": "allocation_sweep_unit", "spec": spec, "code": code_fingerprint(__name__)}
        if start.mode != "fresh":
            config["head_start"] = start.mode
        key = store.key(config, inputs)
        keys.append(key)
        cached = store.get(key)
        if cached is not None and rows and not store.has(_rows_key(key)):
            cached = None  # its row scores are missing (an interrupted write): recompute the unit
        if cached is not None:
            results[i] = decode_groups(cached)
            continue
        # Sampling here, before any unit runs, makes an infeasible k fail the sweep up front.
        train_idx, val_idx = _plan(spec, a, split_idx)
        todo.append((i, _Unit(spec, z, y, a, split_idx["test"], train_idx, val_idx, store, key,
                              config, inputs, device, start, rows)))
    logger.info("allocation sweep: %d unit(s) cached, %d to compute", len(results), len(todo))
    computed = executor.map(_compute_unit, [unit for _, unit in todo], desc="allocation sweep")
    results.update({i: df for (i, _), df in zip(todo, computed, strict=True)})
    table = pd.concat([results[i] for i in range(len(specs))], ignore_index=True)
    if not rows:
        return table
    return table, pd.concat([store.get(_rows_key(k)) for k in keys], ignore_index=True)
