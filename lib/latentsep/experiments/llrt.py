"""The paper's protocol on one dataset: pre-train, measure separation, sweep allocations (§4, §5).

1. :func:`pretrained_embeddings` pre-trains an encoder once per seed on the ``pretrain_train`` /
   ``pretrain_val`` split (optionally with an invariance penalty) and embeds every row. Each run
   is cached on disk under ``cache_dir/encoders/<key>/``: ``history.parquet`` (per-epoch log),
   ``model.pt`` (weights) and ``meta.json``, the sidecar written last with the sha256 of the other
   two and of the embeddings. The key hashes the data (inputs, labels, pre-training indices), the
   model's architecture and seeded initial weights, the optimiser settings, the seed, the penalty
   and λ; an entry whose sidecar is missing or whose checksums do not match is recomputed. The
   embeddings are not stored (they were 95 % of the quick book's 4 GB cache): a cached run
   re-embeds the data with its weights, one forward pass, and warns if the result differs from
   the embeddings recorded at training time (other hardware or thread count).
2. :func:`separation_by_seed` estimates the class-conditional latent separation of every
   attribute on the **test** split's embeddings, once per pre-training seed (paper §4).
3. :func:`allocation_sweeps` runs last-layer retraining at every allocation with
   :func:`latentsep.sweep.run_sweep`; sweep seed ``s`` uses the encoder pre-trained with seed ``s``,
   as in the paper. :func:`ablation_sweeps` does the same with the encoder trainable (full
   fine-tuning) or trained from scratch on the allocated set.
4. :func:`summarise`, :func:`separation_differences` and :func:`bound_checks` reduce the tables
   to one row per attribute (pair, group) with uncertainty across seeds (:mod:`latentsep.stats`).

:func:`feasible_k` caps a set size at what every allocation can fill, and
:func:`resize_pretraining` changes the size of the pre-training split (for investigations).

Attributes may hold missing values (e.g. unrecorded demographics); rows where an attribute is
missing are left out of everything computed for that attribute, and only for it.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from latentsep.allocation import allocation_indices
from latentsep.checks import as_binary, check_choice, check_positive_int, check_splits
from latentsep.device import torch_threads
from latentsep.executor import Executor, LocalExecutor
from latentsep.fileio import atomic_write_bytes
from latentsep.heads import HeadConfig
from latentsep.metrics import balanced_accuracy, subgroup_metrics
from latentsep.models.training import (
    PretrainConfig,
    build_model,
    embed_array,
    finetune_full,
    predict_proba,
    pretrain,
    train_from_scratch,
)
from latentsep.regularize import Regularizer
from latentsep.separation import separation_table
from latentsep.stats import (
    allocation_deltas,
    allocation_slopes,
    attribute_sensitivity,
    bound_check,
    full_minus_zero,
    summarise_seeds,
)
from latentsep.store import (
    LIBRARY_VERSION,
    ResultStore,
    canonical,
    code_fingerprint,
    fingerprint,
)
from latentsep.sweep import SweepSpec, decode_groups, encode_groups, own_share, run_sweep
from latentsep.transfer import transfer_table

logger = logging.getLogger(__name__)

SPLITS = ("pretrain_train", "pretrain_val", "test", "pool", "val_pool")
_RUN_FILES = ("history.parquet", "model.pt")


# --------------------------------------------------------------------------------------------
# data


@dataclass(frozen=True)
class ProtocolData:
    """One dataset prepared for the paper's protocol.

    Attributes
    ----------
    name : str
        Short dataset name (appears in cache metadata).
    x : np.ndarray
        float32 model inputs, shape (N, ...): images (N, C, H, W) or tabular features (N, F).
    y : np.ndarray
        (N,) binary task label (stored as int64).
    attributes : pd.DataFrame
        N rows, one 0/1 column per attribute (including ``"Random"``); missing values (NA) mark
        rows where the attribute is unknown, which every computation for that attribute skips.
    splits : dict[str, np.ndarray]
        ``"pretrain_train"``, ``"pretrain_val"``, ``"test"``, ``"pool"``, ``"val_pool"`` ->
        int64 row indices, pairwise disjoint (stored as int64). Further keys are allowed.
    source : str
        Provenance sentence for chapters to print.
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    attributes: pd.DataFrame
    splits: dict[str, np.ndarray]
    source: str

    def __post_init__(self) -> None:
        if not isinstance(self.x, np.ndarray) or self.x.ndim < 2 or self.x.dtype != np.float32:
            raise ValueError(
                f"ProtocolData.x must be a float32 array of shape (N, ...); got "
                f"{type(self.x).__name__} {getattr(self.x, 'dtype', '')} "
                f"{getattr(self.x, 'shape', '')}. Convert with x.astype(np.float32)."
            )
        n = len(self.x)
        object.__setattr__(self, "y", as_binary(self.y, "ProtocolData.y", n))
        if not isinstance(self.attributes, pd.DataFrame) or len(self.attributes) != n:
            raise ValueError(
                f"ProtocolData.attributes must be a DataFrame with one row per input ({n}); got "
                f"{type(self.attributes).__name__} of length {len(self.attributes)}."
            )
        if self.attributes.shape[1] == 0:
            raise ValueError("ProtocolData.attributes has no columns; add at least one 0/1 attribute.")
        for name in self.attributes.columns:
            values = pd.unique(self.attributes[name].dropna())
            if not np.isin(values, [0, 1]).all():
                raise ValueError(
                    f"ProtocolData.attributes[{name!r}] must hold 0/1 (or NA); found "
                    f"{sorted(values.tolist())[:10]}. Encode the attribute as 0/1."
                )
        splits = check_splits(self.splits, SPLITS, n, "ProtocolData.splits")
        object.__setattr__(self, "splits", splits)

    @property
    def n(self) -> int:
        """Number of rows N."""
        return len(self.x)

    @cached_property
    def x_fingerprint(self) -> str:
        """:func:`latentsep.store.fingerprint` of ``x`` (hashed once; ~1 s per GB)."""
        return fingerprint(self.x)

    def attribute(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Values and availability of one attribute.

        Returns
        -------
        values : np.ndarray
            (N,) int64 0/1, with 0 where the attribute is missing.
        known : np.ndarray
            (N,) bool, False where it is missing.
        """
        if name not in self.attributes.columns:
            raise ValueError(
                f"unknown attribute {name!r} of {self.name}; available: {list(self.attributes.columns)}."
            )
        column = self.attributes[name]
        known = column.notna().to_numpy()
        values = column.where(column.notna(), 0).to_numpy().astype(np.int64)
        return values, known

    def split_sizes(self) -> pd.DataFrame:
        """Rows per split (one row per split name, column ``n``)."""
        return pd.DataFrame({"split": list(self.splits), "n": [len(v) for v in self.splits.values()]})


def _attribute_names(data: ProtocolData, attributes: Sequence[str] | None) -> list[str]:
    names = list(data.attributes.columns) if attributes is None else list(attributes)
    if not names:
        raise ValueError("attributes is empty; name at least one column of data.attributes.")
    for name in names:
        data.attribute(name)  # raises for unknown names
    return names


def feasible_k(data: ProtocolData, attributes: Sequence[str], k: int, split: str = "pool") -> int:
    """The largest set size ≤ ``k`` that every allocation α ∈ [0, 1] of every attribute can fill.

    At α = 1 a set of size K needs K rows of group 1 (and at α = 0, K of group 0), so K is capped at
    the smallest group of ``split`` over ``attributes`` (rows where an attribute is missing do not
    count). The caller should say so when the result is below ``k``.

    Returns
    -------
    int
        ``min(k, min over attributes and groups of the group's size in split)``.
    """
    k = check_positive_int(k, "k")
    check_choice(split, "split", tuple(data.splits))
    idx = data.splits[split]
    smallest = k
    for name in _attribute_names(data, attributes):
        values, known = data.attribute(name)
        for group in (0, 1):
            smallest = min(smallest, int(((values[idx] == group) & known[idx]).sum()))
    if smallest == 0:
        raise ValueError(
            f"some attribute in {list(attributes)} has an empty group in split {split!r}; no "
            "allocation sweep is possible. Drop that attribute or re-split the data."
        )
    return smallest


def resize_pretraining(data: ProtocolData, n_pretrain: int, *, seed: int = 0) -> ProtocolData:
    """The same data with a pre-training split of ``n_pretrain`` rows, to study its effect.

    Smaller than the current split: a seeded random subset of it. Larger: the current split plus
    ``n_pretrain − len`` rows moved out of the fine-tuning pool (which shrinks accordingly, so
    the parts stay disjoint). Validation, validation-pool and test splits are unchanged; splits
    other than the five protocol parts are dropped.
    """
    train, pool = data.splits["pretrain_train"], data.splits["pool"]
    n_pretrain = check_positive_int(n_pretrain, "n_pretrain", minimum=2)
    if n_pretrain > len(train) + len(pool) - 2:
        raise ValueError(
            f"n_pretrain={n_pretrain} needs {n_pretrain - len(train)} rows from a pool of "
            f"{len(pool)}; choose n_pretrain <= {len(train) + len(pool) - 2}."
        )
    rng = np.random.default_rng(seed)
    if n_pretrain <= len(train):
        train = np.sort(rng.choice(train, n_pretrain, replace=False))
    else:
        moved = rng.choice(pool, n_pretrain - len(train), replace=False)
        train, pool = np.sort(np.concatenate([train, moved])), np.setdiff1d(pool, moved)
    splits = {name: data.splits[name] for name in SPLITS} | {"pretrain_train": train, "pool": pool}
    return ProtocolData(data.name, data.x, data.y, data.attributes, splits, data.source)


# --------------------------------------------------------------------------------------------
# pre-training


@dataclass(frozen=True)
class EncoderRun:
    """One pre-trained encoder and its embeddings.

    Attributes
    ----------
    seed : int
        Pre-training seed (initialisation, shuffling).
    z : np.ndarray
        float32 (N, D): embeddings of **every** row of the data.
    history : pd.DataFrame
        Per-epoch log of :func:`latentsep.models.pretrain`.
    best_epoch : int
        Epoch whose weights were kept (early stopping on validation balanced accuracy).
    test_balanced_accuracy : float
        Balanced accuracy of the pre-trained model (its own head) on the test split.
    baseline : pd.DataFrame
        The pre-trained model's test metrics per attribute and group: columns ``attribute,
        group, metric, value, n`` (see :func:`latentsep.metrics.subgroup_metrics`).
    state_dict : dict[str, torch.Tensor]
        Weights of the pre-trained model (for the full-fine-tuning ablation).
    key : str
        Cache key.
    from_cache : bool
        Whether the run was read back from disk rather than trained now.
    """

    seed: int
    z: np.ndarray
    history: pd.DataFrame
    best_epoch: int
    test_balanced_accuracy: float
    baseline: pd.DataFrame
    state_dict: dict[str, torch.Tensor]
    key: str
    from_cache: bool

    def model(self, model_factory: Callable[[], nn.Module]) -> nn.Module:
        """The pre-trained model: ``model_factory()`` with these weights, in eval mode."""
        model = model_factory()
        model.load_state_dict(self.state_dict)
        return model.eval()


def _model_id(model: nn.Module) -> dict[str, str]:
    """Architecture and seeded initial weights: equal ids mean equal starting models."""
    weights = [t.detach().cpu().numpy() for t in model.state_dict().values()]
    return {"class": f"{type(model).__module__}.{type(model).__qualname__}", "repr": repr(model),
            "init": fingerprint(*weights)}


def _regularizer_id(regularizer: Regularizer | None) -> Any:
    """A stable description of a penalty (class, settings, and weights for ``nn.Module`` ones)."""
    if regularizer is None:
        return None
    out: dict[str, Any] = {"class": f"{type(regularizer).__module__}.{type(regularizer).__qualname__}"}
    if isinstance(regularizer, nn.Module):
        out["repr"] = repr(regularizer)
        out["init"] = fingerprint(*[t.detach().cpu().numpy() for t in regularizer.state_dict().values()])
    else:
        try:
            out["settings"] = canonical(vars(regularizer))
        except (TypeError, ValueError):
            out["repr"] = repr(regularizer)
    return out


def _head_proba(state_dict: Mapping[str, torch.Tensor], z: np.ndarray) -> np.ndarray:
    """Class probabilities of the model's linear head from embeddings (N, D) -> (N, C)."""
    weight, bias = state_dict["head.weight"].double(), state_dict["head.bias"].double()
    return torch.softmax(torch.as_tensor(z, dtype=torch.float64) @ weight.T + bias, 1).numpy()


def _baseline(
    data: ProtocolData, z: np.ndarray, state_dict: Mapping[str, torch.Tensor]
) -> tuple[float, pd.DataFrame]:
    """Test balanced accuracy and per-attribute metrics of the pre-trained model's own head."""
    test = data.splits["test"]
    proba = _head_proba(state_dict, z[test])
    y = data.y[test]
    bacc = float(balanced_accuracy(y, proba.argmax(1), n_classes=proba.shape[1]))
    frames = []
    for name in data.attributes.columns:
        values, known = data.attribute(name)
        keep = known[test]
        frames.append(subgroup_metrics(y[keep], proba[None, keep], {name: values[test][keep]}))
    return bacc, pd.concat(frames, ignore_index=True).drop(columns="run")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _z_sha256(z: np.ndarray) -> str:
    return _sha256(np.ascontiguousarray(z, dtype=np.float32).tobytes())


def _save_run(folder: Path, z: np.ndarray, history: pd.DataFrame,
              state_dict: Mapping[str, torch.Tensor], meta: dict) -> None:
    """Write the two files, then the sidecar with their checksums and the embeddings' (the commit record)."""
    folder.mkdir(parents=True, exist_ok=True)
    blobs = {}
    buffer = io.BytesIO()
    history.to_parquet(buffer, engine="pyarrow")
    blobs["history.parquet"] = buffer.getvalue()
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in state_dict.items()}, buffer)
    blobs["model.pt"] = buffer.getvalue()
    for name, blob in blobs.items():
        atomic_write_bytes(folder / name, blob)
    sidecar = {**meta, "sha256": {name: _sha256(blob) for name, blob in blobs.items()},
               "z_sha256": _z_sha256(z), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
               "library_version": LIBRARY_VERSION}
    atomic_write_bytes(folder / "meta.json", json.dumps(sidecar, indent=1, sort_keys=True).encode())


def _load_run(folder: Path) -> tuple[pd.DataFrame, dict, dict] | None:
    """The cached run in ``folder`` (history, weights, sidecar), or None when absent, partial or corrupt."""
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        blobs = {name: (folder / name).read_bytes() for name in _RUN_FILES}
        if any(_sha256(blob) != meta["sha256"][name] for name, blob in blobs.items()):
            raise ValueError("checksum mismatch")
        if "z_sha256" not in meta:  # written before the embeddings left the cache
            raise ValueError("no checksum of the embeddings")
        history = pd.read_parquet(io.BytesIO(blobs["history.parquet"]))
        state = torch.load(io.BytesIO(blobs["model.pt"]), weights_only=True)
    except (OSError, KeyError, ValueError, json.JSONDecodeError, RuntimeError) as err:
        logger.warning("encoder cache %s is unreadable, corrupt or outdated (%s); recomputing it.",
                       folder, err)
        meta_path.unlink(missing_ok=True)
        return None
    return history, state, meta


def pretrained_embeddings(
    data: ProtocolData,
    model_factory: Callable[[], nn.Module],
    *,
    seeds: Sequence[int],
    config: PretrainConfig,
    cache_dir: str | os.PathLike,
    regularizer: Regularizer | None = None,
    lam: float = 0.0,
    groups_attribute: str | None = None,
    progress: bool = True,
) -> dict[int, EncoderRun]:
    """Pre-train one encoder per seed on the pre-training split and embed every row (cached).

    Parameters
    ----------
    data : ProtocolData
    model_factory : callable
        Returns a fresh model with ``embed(x)`` and a linear ``head`` (e.g. ``SimpleCNN``); built
        with its initialisation seeded by each seed (:func:`latentsep.models.build_model`).
    seeds : sequence of int
        Pre-training seeds (paper: 42, 43, 44).
    config : PretrainConfig
        Optimiser settings; fix ``num_threads`` for bitwise reproducibility on CPU.
    cache_dir : path
        Runs are cached under ``cache_dir/encoders/<key>/`` (see the module docstring).
    regularizer, lam : optional
        Invariance penalty and its weight (paper §5.6), see :func:`latentsep.models.pretrain`.
    groups_attribute : str, optional
        Attribute the penalty equalises; required with a regulariser and must be known on every
        ``pretrain_train`` row.
    progress : bool
        tqdm bar over epochs while training.

    Returns
    -------
    dict[int, EncoderRun]
        Seed -> run, in the order of ``seeds``.
    """
    if not isinstance(data, ProtocolData):
        raise ValueError(f"data must be a ProtocolData; got {type(data).__name__}.")
    if not isinstance(config, PretrainConfig):
        raise ValueError(f"config must be a PretrainConfig; got {type(config).__name__}.")
    seeds = [check_positive_int(s, "seeds", minimum=0) for s in np.atleast_1d(seeds).tolist()]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be a non-empty list of distinct integers; got {seeds}.")
    train, val = data.splits["pretrain_train"], data.splits["pretrain_val"]
    groups = None
    if regularizer is not None or groups_attribute is not None:
        if regularizer is None or groups_attribute is None:
            raise ValueError(
                "regularizer and groups_attribute go together: pass both (e.g. "
                "regularizer=TVSurrogate(), groups_attribute='colour') or neither; got "
                f"regularizer={regularizer!r}, groups_attribute={groups_attribute!r}."
            )
        values, known = data.attribute(groups_attribute)
        if not known[train].all():
            raise ValueError(
                f"groups_attribute {groups_attribute!r} is missing on {int((~known[train]).sum())} "
                "pretrain_train rows; the penalty needs it on every row. Choose another attribute "
                "or drop those rows from the split."
            )
        groups = values[train]
    inputs = fingerprint(data.y, train, val, *([] if groups is None else [groups]))
    inputs = f"{data.x_fingerprint}-{inputs}"
    root = Path(cache_dir) / "encoders"
    runs = {}
    for seed in seeds:
        model = build_model(model_factory, seed)
        key_config = {"kind": "pretrained_encoder", "model": _model_id(model), "config": config,
                      "seed": seed, "regularizer": _regularizer_id(regularizer), "lam": float(lam),
                      "groups_attribute": groups_attribute, "code": code_fingerprint("latentsep.models")}
        key = ResultStore.key(key_config, inputs)
        folder = root / key
        found = _load_run(folder)
        if found is not None:
            history, state, meta = found
            best_epoch = int(meta["best_epoch"])
            model.load_state_dict(state)
        else:
            result = pretrain(model, data.x[train], data.y[train], data.x[val], data.y[val],
                              config=config, seed=seed, groups_train=groups, regularizer=regularizer,
                              lam=lam, progress=progress)
            model, history, best_epoch = result.model, result.history, result.best_epoch
            state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        with torch_threads(config.num_threads):
            z = embed_array(model, data.x, batch_size=config.eval_batch_size)
        if found is None:
            _save_run(folder, z, history, state,
                      {"key": key, "config": canonical(key_config), "inputs": inputs,
                       "dataset": data.name, "best_epoch": best_epoch,
                       "seconds": float(history["seconds"].sum())})
        elif _z_sha256(z) != meta["z_sha256"]:
            logger.warning(
                "encoder %s (seed %d): the embeddings re-computed from its cached weights differ "
                "from those at training time (other hardware, torch build or thread count); "
                "results computed from them may differ in the last digits.", key[:12], seed)
        bacc, baseline = _baseline(data, z, state)
        runs[seed] = EncoderRun(seed=seed, z=z, history=history, best_epoch=best_epoch,
                                test_balanced_accuracy=bacc, baseline=baseline, state_dict=state,
                                key=key, from_cache=found is not None)
    return runs


# --------------------------------------------------------------------------------------------
# separation


def _separation_rows(z: np.ndarray, y: np.ndarray, attrs: dict[str, np.ndarray],
                     kw: dict[str, Any]) -> pd.DataFrame:
    """:func:`separation_table` plus a ``note`` column; the authors' estimator may be undefined.

    With bins on group 0's range (``edges="reference"``), a component along which group 1 lies
    entirely outside group 0's range leaves group 1 an empty histogram: 0/0, which the authors'
    code turns into NaN. That attribute's row gets NaN values and the reason in ``note``; the
    other attributes are still estimated (each on the same shared PCA).
    """
    try:
        return separation_table(z, y, attrs, **kw).assign(note="")
    except ValueError:
        if kw["edges"] != "reference" or kw["method"] != "histogram":
            raise
    rows = []
    for name, values in attrs.items():
        try:
            rows.append(separation_table(z, y, {name: values}, **kw).assign(note=""))
        except ValueError as err:
            rows.append(pd.DataFrame({"attribute": [name], "method": ["histogram"], "value": [np.nan],
                                      "note": [f"undefined with bins on group 0's range: {err}"]}))
    return pd.concat(rows, ignore_index=True)


def separation_by_seed(
    data: ProtocolData,
    runs: Mapping[int, EncoderRun],
    *,
    methods: Sequence[str] = ("histogram",),
    edges: str = "pooled",
    n_permutations: int = 200,
    n_bootstrap: int = 200,
    pca_variance: float | None = 0.70,
    bins: int = 50,
    seed: int = 0,
    attributes: Sequence[str] | None = None,
    split: str = "test",
) -> pd.DataFrame:
    """Latent separation of each attribute on the test split's embeddings, per pre-training seed.

    Attributes known on every test row share one PCA (as in the paper); an attribute with missing
    values is estimated on its known test rows with their own PCA.

    Parameters
    ----------
    data, runs
        From :func:`pretrained_embeddings`.
    methods : sequence of str
        Estimators of :func:`latentsep.separation.latent_separation` (``"histogram"``,
        ``"classifier"``, ``"gaussian"``, …).
    edges : {"pooled", "reference"}
        Histogram bin range; ``"reference"`` is the authors' estimator exactly.
    n_permutations, n_bootstrap, pca_variance, bins, seed
        As in :func:`latentsep.separation.latent_separation`; the same ``seed`` for every run.
    attributes : sequence of str, optional
        Default: every column of ``data.attributes``.
    split : str
        Rows to estimate on (paper: ``"test"``); another split of held-out rows shows how the
        estimate depends on the sample size.

    Returns
    -------
    pd.DataFrame
        One row per (seed, estimator, attribute): ``seed, attribute, method, estimator, value,
        ci_low, ci_high, null_mean, excess, p_value, n_components, note``; ``estimator`` is
        ``"histogram/<edges>"`` for histograms, else the method. ``note`` is empty unless the
        authors' estimator (``edges="reference"``) is undefined for that attribute and seed (a
        component separates the groups completely); the row's numbers are then NaN.
    """
    names = _attribute_names(data, attributes)
    if not runs:
        raise ValueError("runs is empty; pass the dict returned by pretrained_embeddings.")
    test = data.splits[check_choice(split, "split", tuple(data.splits))]
    y = data.y[test]
    columns = {name: data.attribute(name) for name in names}
    complete = [n for n in names if columns[n][1][test].all()]
    blocks = [(np.ones(len(test), bool), complete)] if complete else []
    blocks += [(columns[n][1][test], [n]) for n in names if n not in complete]
    frames = []
    for run_seed, run in runs.items():
        for method in methods:
            kw = {"method": method, "pca_variance": pca_variance, "bins": bins, "edges": edges,
                  "n_permutations": n_permutations, "n_bootstrap": n_bootstrap, "seed": seed}
            for keep, block in blocks:
                attrs = {n: columns[n][0][test][keep] for n in block}
                table = _separation_rows(run.z[test][keep], y[keep], attrs, kw)
                table.insert(0, "seed", run_seed)
                table.insert(3, "estimator", f"histogram/{edges}" if method == "histogram" else method)
                frames.append(table)
    out = pd.concat(frames, ignore_index=True)
    rank = out["attribute"].map({n: i for i, n in enumerate(names)})
    order = np.lexsort((rank.to_numpy(), out["estimator"].to_numpy(), out["seed"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def transfer_by_seed(
    data: ProtocolData,
    runs: Mapping[int, EncoderRun],
    *,
    attributes: Sequence[str] | None = None,
    split: str = "test",
    seed: int = 0,
    **kw: Any,
) -> pd.DataFrame:
    """Transfer gap (:mod:`latentsep.transfer`) of each attribute on the test split, per seed.

    Parameters
    ----------
    data, runs
        From :func:`pretrained_embeddings`.
    attributes : sequence of str, optional
        Default: every column of ``data.attributes``; missing values leave a row out of that
        attribute only.
    split : str
        Rows to estimate on (the same held-out rows as the separation).
    seed : int
        Seed of the cross-fitting (the same for every encoder).
    **kw
        Keywords of :func:`latentsep.transfer.transfer_table`.

    Returns
    -------
    pd.DataFrame
        One row per (seed, attribute): ``seed`` then the columns of ``transfer_table``.
    """
    names = _attribute_names(data, attributes)
    if not runs:
        raise ValueError("runs is empty; pass the dict returned by pretrained_embeddings.")
    rows = data.splits[check_choice(split, "split", tuple(data.splits))]
    attrs = {}
    for name in names:
        values, known = data.attribute(name)
        attrs[name] = np.where(known[rows], values[rows], np.nan)
    frames = [transfer_table(run.z[rows], data.y[rows], attrs, seed=seed, **kw)
              .assign(seed=run_seed) for run_seed, run in runs.items()]
    out = pd.concat(frames, ignore_index=True)
    return out[["seed", *out.columns.drop("seed")]]


def separation_differences(
    sep: pd.DataFrame, pairs: Sequence[tuple[str, str]], column: str = "value"
) -> pd.DataFrame:
    """Paired differences of separation between attributes, with t-intervals across seeds.

    Both attributes of a pair are measured on the same encoder, so the difference is taken within
    each seed and estimator before summarising (which removes the encoder's shared variation).

    Parameters
    ----------
    sep : pd.DataFrame
        From :func:`separation_by_seed`.
    pairs : sequence of (str, str)
        ``(first, second)`` attribute pairs; the difference is first minus second.
    column : str
        ``"value"`` or ``"excess"``.

    Returns
    -------
    pd.DataFrame
        ``estimator, first, second, difference, se, ci_low, ci_high, n_seeds``.
    """
    wide = sep.pivot_table(index=["estimator", "seed"], columns="attribute", values=column)
    frames = []
    for first, second in pairs:
        for name in (first, second):
            if name not in wide.columns:
                raise ValueError(f"attribute {name!r} is not in sep; have {list(wide.columns)}.")
        diff = (wide[first] - wide[second]).rename("difference").reset_index()
        frames.append(summarise_seeds(diff, "difference", ["estimator"])
                      .assign(first=first, second=second))
    out = pd.concat(frames, ignore_index=True)
    return out[["estimator", "first", "second", "difference", "se", "ci_low", "ci_high", "n_seeds"]]


# --------------------------------------------------------------------------------------------
# allocation sweeps


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
) -> pd.DataFrame:
    """Last-layer-retraining allocation sweeps on each pre-trained encoder.

    For every pre-training seed ``s`` and attribute, :func:`latentsep.sweep.run_sweep` retrains a
    head per α on ``runs[s].z`` with sweep seed ``s`` (fine-tuning and validation sets of sizes
    ``k_train`` / ``k_val`` from the ``pool`` / ``val_pool`` splits), scored on the test split.
    Units are cached in ``store_dir`` (a :class:`~latentsep.store.ResultStore`).

    Returns
    -------
    pd.DataFrame
        The tidy table of :func:`latentsep.sweep.run_sweep` (``attribute, alpha, seed, group,
        metric, value, n, own_share, run, best_epoch, val_balanced_accuracy``), all seeds.
    """
    names = _attribute_names(data, attributes)
    if not isinstance(head, HeadConfig):
        raise ValueError(f"head must be a HeadConfig; got {type(head).__name__}.")
    store = ResultStore(store_dir)
    frames = []
    for seed, run in runs.items():
        for block, splits, attrs in _attribute_blocks(data, names):
            specs = [SweepSpec(attribute=n, alphas=tuple(alphas), seeds=(seed,), k_train=k_train,
                               k_val=k_val, head=head, nested=nested) for n in block]
            frames.append(run_sweep(run.z, data.y, attrs, splits, specs, store, executor, progress))
    return pd.concat(frames, ignore_index=True)


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
    names = _attribute_names(data, attributes)
    store = ResultStore(store_dir)
    executor = executor if executor is not None else LocalExecutor(progress=progress)
    base = fingerprint(data.y, *(data.splits[p] for p in ("pool", "val_pool", "test")))
    code = code_fingerprint("latentsep.models", "latentsep.allocation", "latentsep.sweep")
    tables: list[pd.DataFrame | None] = []
    todo: list[tuple[int, _AblationUnit]] = []
    for seed, run in runs.items():
        start = run.model(model_factory) if mode == "full" else model_factory
        model_id = _model_id(build_model(model_factory, seed))
        for block, splits, attrs in _attribute_blocks(data, names):
            for name in block:
                a = attrs[name]
                inputs = f"{data.x_fingerprint}-{base}-{fingerprint(a, *splits.values())}"
                for alpha in alphas:
                    key_config = {"kind": "ablation_unit", "mode": mode, "attribute": name,
                                  "alpha": float(alpha), "seed": seed, "k_train": k_train,
                                  "k_val": k_val, "config": config, "model": model_id,
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


# --------------------------------------------------------------------------------------------
# summaries


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
