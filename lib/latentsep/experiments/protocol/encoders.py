"""Pre-trained encoders, cached: :func:`pretrained_embeddings` (step 1 of the protocol).

It pre-trains an encoder once per seed on the ``pretrain_train`` / ``pretrain_val`` split
(optionally with an invariance penalty) and embeds every row. Each run is cached on disk under
``cache_dir/encoders/<key>/``: ``history.parquet`` (per-epoch log), ``model.pt`` (weights),
``checkpoint.pt`` (the training state at the kept epoch: optimiser, schedule, early stopping, for
last-layer retraining that resumes the run, :mod:`latentsep.headstart`) and ``meta.json``, the
sidecar written last with the sha256 of the other files and of the embeddings. The
key hashes the data (inputs, labels, pre-training indices), the model's architecture and seeded
initial weights, the optimiser settings, the seed, the penalty and λ; an entry whose sidecar is
missing or whose checksums do not match is recomputed. The embeddings are not stored (they were
95 % of the quick book's 4 GB cache): a cached run re-embeds the data with its weights, one forward
pass, and warns if the result differs from the embeddings recorded at training time (other
hardware or thread count).
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
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from latentsep.checks import check_choice, check_positive_int
from latentsep.device import torch_threads
from latentsep.experiments.protocol.data import ProtocolData
from latentsep.fileio import atomic_write_bytes
from latentsep.headstart import HEAD_STARTS, HeadStart
from latentsep.metrics import balanced_accuracy, subgroup_metrics
from latentsep.models.checkpoint import TrainingState, from_bytes_dict, to_bytes_dict
from latentsep.models.training import (
    PretrainConfig,
    build_model,
    embed_array,
    pretrain,
)
from latentsep.regularise import Regulariser
from latentsep.store import (
    LIBRARY_VERSION,
    ResultStore,
    canonical,
    code_fingerprint,
    fingerprint,
)

logger = logging.getLogger(__name__)

_RUN_FILES = ("history.parquet", "model.pt", "checkpoint.pt")


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
    checkpoint : TrainingState or None
        The pre-training run at ``best_epoch`` (``PretrainResult.checkpoint``).
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
    checkpoint: TrainingState | None = None

    def head_start(self, mode: str) -> HeadStart:
        """Where last-layer retraining on this encoder starts: ``"fresh"``, ``"pretrained"`` (its
        head) or ``"resumed"`` (its pre-training run, :mod:`latentsep.headstart`)."""
        if mode == "resumed" and self.checkpoint is None:
            raise ValueError(f"encoder {self.key[:12]} has no training checkpoint; pre-train it "
                             "with pretrained_embeddings to resume its run.")
        starts = {"fresh": HeadStart.fresh, "pretrained": lambda: HeadStart.pretrained(self.state_dict),
                  "resumed": lambda: HeadStart.resumed(self.checkpoint)}
        return starts[check_choice(mode, "head_start", HEAD_STARTS)]()

    def model(self, model_factory: Callable[[], nn.Module]) -> nn.Module:
        """The pre-trained model: ``model_factory()`` with these weights, in eval mode."""
        model = model_factory()
        model.load_state_dict(self.state_dict)
        return model.eval()


def model_id(model: nn.Module) -> dict[str, str]:
    """Architecture and seeded initial weights: equal ids mean equal starting models."""
    weights = [t.detach().cpu().numpy() for t in model.state_dict().values()]
    return {"class": f"{type(model).__module__}.{type(model).__qualname__}", "repr": repr(model),
            "init": fingerprint(*weights)}


def _regulariser_id(regulariser: Regulariser | None) -> Any:
    """A stable description of a penalty (class, settings, and weights for ``nn.Module`` ones)."""
    if regulariser is None:
        return None
    out: dict[str, Any] = {"class": f"{type(regulariser).__module__}.{type(regulariser).__qualname__}"}
    if isinstance(regulariser, nn.Module):
        out["repr"] = repr(regulariser)
        out["init"] = fingerprint(*[t.detach().cpu().numpy() for t in regulariser.state_dict().values()])
    else:
        try:
            out["settings"] = canonical(vars(regulariser))
        except (TypeError, ValueError):
            out["repr"] = repr(regulariser)
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
              state_dict: Mapping[str, torch.Tensor], checkpoint: TrainingState, meta: dict) -> None:
    """Write the two files, then the sidecar with their checksums and the embeddings' (the commit record)."""
    folder.mkdir(parents=True, exist_ok=True)
    blobs = {}
    buffer = io.BytesIO()
    history.to_parquet(buffer, engine="pyarrow")
    blobs["history.parquet"] = buffer.getvalue()
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in state_dict.items()}, buffer)
    blobs["model.pt"] = buffer.getvalue()
    buffer = io.BytesIO()
    torch.save(to_bytes_dict(checkpoint), buffer)
    blobs["checkpoint.pt"] = buffer.getvalue()
    for name, blob in blobs.items():
        atomic_write_bytes(folder / name, blob)
    sidecar = {**meta, "sha256": {name: _sha256(blob) for name, blob in blobs.items()},
               "z_sha256": _z_sha256(z), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
               "library_version": LIBRARY_VERSION}
    atomic_write_bytes(folder / "meta.json", json.dumps(sidecar, indent=1, sort_keys=True).encode())


def _load_run(folder: Path) -> tuple[pd.DataFrame, dict, TrainingState, dict] | None:
    """The cached run in ``folder`` (history, weights, checkpoint, sidecar), or None when absent,
    partial or corrupt."""
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
        checkpoint = from_bytes_dict(torch.load(io.BytesIO(blobs["checkpoint.pt"]), weights_only=True))
    except (OSError, KeyError, ValueError, json.JSONDecodeError, RuntimeError) as err:
        logger.warning("encoder cache %s is unreadable, corrupt or outdated (%s); recomputing it.",
                       folder, err)
        meta_path.unlink(missing_ok=True)
        return None
    return history, state, checkpoint, meta


def pretrained_embeddings(
    data: ProtocolData,
    model_factory: Callable[[], nn.Module],
    *,
    seeds: Sequence[int],
    config: PretrainConfig,
    cache_dir: str | os.PathLike,
    regulariser: Regulariser | None = None,
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
    regulariser, lam : optional
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
    if regulariser is not None or groups_attribute is not None:
        if regulariser is None or groups_attribute is None:
            raise ValueError(
                "regulariser and groups_attribute go together: pass both (e.g. "
                "regulariser=TVSurrogate(), groups_attribute='colour') or neither; got "
                f"regulariser={regulariser!r}, groups_attribute={groups_attribute!r}."
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
        key_config = {"kind": "pretrained_encoder", "model": model_id(model), "config": config,
                      "seed": seed, "regulariser": _regulariser_id(regulariser), "lam": float(lam),
                      "groups_attribute": groups_attribute, "code": code_fingerprint("latentsep.models")}
        key = ResultStore.key(key_config, inputs)
        folder = root / key
        found = _load_run(folder)
        if found is not None:
            history, state, checkpoint, meta = found
            best_epoch = int(meta["best_epoch"])
            model.load_state_dict(state)
        else:
            result = pretrain(model, data.x[train], data.y[train], data.x[val], data.y[val],
                              config=config, seed=seed, groups_train=groups, regulariser=regulariser,
                              lam=lam, progress=progress)
            model, history, best_epoch = result.model, result.history, result.best_epoch
            checkpoint = result.checkpoint
            state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        with torch_threads(config.num_threads):
            z = embed_array(model, data.x, batch_size=config.eval_batch_size)
        if found is None:
            _save_run(folder, z, history, state, checkpoint,
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
                                key=key, from_cache=found is not None, checkpoint=checkpoint)
    return runs
