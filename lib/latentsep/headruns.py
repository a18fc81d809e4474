"""The runs of a head fit: validated inputs and per-run random streams.

Shared by the batched trainer and its plain reference, so that a run of
:func:`latentsep.heads.fit_heads` and one call of :func:`latentsep.reference.fit_head_reference`
with the same seed see the same rows and draw identical numbers:

- :func:`prepare_runs` -- checks embeddings, labels, index matrices and seeds and keeps only the rows
  any run touches, on the compute device (:class:`RunInputs`);
- :func:`init_weights` -- Kaiming-normal initial weights from a ``torch.Generator`` seeded with the
  run's seed; the same generator then serves the run's epoch permutations;
- :func:`dropout_keep` -- dropout keep-masks from a counter-based hash (splitmix64) of the run's seed,
  the sample's position in the run's training stream and the hidden unit, so masks need no per-run
  generator and no Python loop over runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from latentsep.checks import as_1d_labels

__all__ = ["RunInputs", "apply_dropout", "dropout_keep", "finite_rows", "init_weights", "prepare_runs"]


def init_weights(seed: int, sizes: list[tuple[int, int]], dtype: torch.dtype):
    """Kaiming-normal weights in ``nn.Linear`` layout (fan_out, fan_in) and the run's generator.

    The generator continues to serve the run's epoch permutations, so the batched and reference
    trainers consume one run's random stream in the same order.
    """
    gen = torch.Generator().manual_seed(int(seed))
    weights = [
        nn.init.kaiming_normal_(torch.empty(fan_out, fan_in, dtype=dtype), generator=gen)
        for fan_in, fan_out in sizes
    ]
    return weights, gen


_GOLDEN = 0x9E3779B97F4A7C15 - 2**64  # splitmix64 constants as signed int64 (torch has no uint64 ops)
_MIX1 = 0xBF58476D1CE4E5B9 - 2**64
_MIX2 = 0x94D049BB133111EB - 2**64


def _shift_right(x: torch.Tensor, s: int) -> torch.Tensor:
    """Logical right shift of int64 (torch's ``>>`` is arithmetic)."""
    return (x >> s) & ((1 << (64 - s)) - 1)


def _mix64(x: torch.Tensor) -> torch.Tensor:
    """splitmix64 finaliser; int64 multiplication wraps modulo 2**64 like the uint64 original."""
    x = (x ^ _shift_right(x, 30)) * _MIX1
    x = (x ^ _shift_right(x, 27)) * _MIX2
    return x ^ _shift_right(x, 31)


def dropout_keep(seeds: torch.Tensor, first: int, count: int, width: int, p: float) -> torch.Tensor:
    """Dropout keep-masks of shape (R, count, width) for samples ``first … first+count−1``.

    ``first`` counts samples in a run's training stream across epochs (epoch·K + position in the
    epoch), so the mask of a sample depends only on the run's seed, that position and the unit.
    """
    device = seeds.device
    pos = torch.arange(first, first + count, device=device, dtype=torch.int64)
    counter = pos[:, None] * width + torch.arange(width, device=device, dtype=torch.int64)
    state = _mix64(seeds.to(torch.int64))[:, None, None] + counter * _GOLDEN
    uniform = _shift_right(_mix64(state), 11).to(torch.float64) * 2.0**-53
    return uniform >= p


def apply_dropout(h: torch.Tensor, keep: torch.Tensor, p: float) -> torch.Tensor:
    """Inverted dropout with a given keep-mask (scales kept units by 1/(1−p), as nn.Dropout)."""
    return h * (keep.to(h.dtype) / (1 - p))


@dataclass
class RunInputs:
    """Validated inputs: only the rows any run touches, on the compute device."""

    z: torch.Tensor  # (M, D) rows used by training or validation
    y: torch.Tensor  # (M,) int64
    train_pos: torch.Tensor  # (R, K) positions into z
    val_z: torch.Tensor  # (U, D) union of the validation rows
    val_pos: torch.Tensor  # (R, Kv) positions into val_z
    val_y: np.ndarray  # (R, Kv) validation labels
    seeds: np.ndarray  # (R,)
    n_classes: int


def _to_numpy(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def finite_rows(x: torch.Tensor) -> torch.Tensor:
    """Bool (n,): row of ``x`` holds no NaN/inf. One row-sum pass in the common case."""
    ok = torch.isfinite(x.sum(dim=1))
    if bool(ok.all()):
        return ok
    return torch.isfinite(x).all(dim=1)  # a non-finite sum may also be an overflow


def _index_matrix(x: Any, name: str, n: int) -> np.ndarray:
    arr = _to_numpy(x)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(
            f"{name} must be a non-empty 2-D array (runs, samples per run); got shape {arr.shape}. "
            "Stack one row of indices per run, e.g. allocation_plan(...)."
        )
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integer indices; got dtype {arr.dtype}.")
    if arr.min() < 0 or arr.max() >= n:
        raise ValueError(
            f"{name} holds indices in [{arr.min()}, {arr.max()}] but the embeddings have {n} rows; "
            "indices must point into z (0 … n−1)."
        )
    return arr.astype(np.int64)


def prepare_runs(z, y, train_idx, val_idx, seeds, device, dtype) -> RunInputs:
    z_t = torch.as_tensor(z)
    if z_t.ndim != 2 or z_t.dtype == torch.bool or z_t.dtype.is_complex:
        raise ValueError(
            f"z must be a real 2-D array of embeddings (n_samples, n_features); got shape "
            f"{tuple(z_t.shape)}, dtype {z_t.dtype}. Flatten per-sample features first."
        )
    n = z_t.shape[0]
    labels = as_1d_labels(_to_numpy(y), "y", n)
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0:
        raise ValueError(
            f"y must hold integer class indices 0 … C−1; got dtype {labels.dtype} with minimum "
            f"{labels.min()}. Encode labels with np.unique(y, return_inverse=True)[1]."
        )
    n_classes = int(labels.max()) + 1
    if n_classes < 2:
        raise ValueError("y holds a single class (0); a classifier head needs at least two.")
    train = _index_matrix(train_idx, "train_idx", n)
    val = _index_matrix(val_idx, "val_idx", n)
    seeds = _to_numpy(seeds).astype(np.int64).reshape(-1)
    if not train.shape[0] == val.shape[0] == len(seeds):
        raise ValueError(
            f"train_idx, val_idx and seeds must describe the same runs; got {train.shape[0]}, "
            f"{val.shape[0]} and {len(seeds)} runs. Pass one row / one seed per run."
        )
    rows, inverse = np.unique(np.concatenate([train.ravel(), val.ravel()]), return_inverse=True)
    used = z_t.index_select(0, torch.as_tensor(rows, device=z_t.device))
    used = used.to(device=device, dtype=dtype)
    finite = finite_rows(used)
    if not bool(finite.all()):
        bad = rows[_to_numpy(~finite)]
        raise ValueError(
            f"z contains NaN/inf in {len(bad)} row(s) used by the runs (first: row {bad[0]}). "
            "Remove or impute those rows, or leave them out of train_idx/val_idx."
        )
    pos = inverse.reshape(-1)
    train_pos, val_flat = pos[: train.size].reshape(train.shape), pos[train.size :]
    val_rows, val_inverse = np.unique(val_flat, return_inverse=True)
    return RunInputs(
        z=used,
        y=torch.as_tensor(labels[rows], device=device),
        train_pos=torch.as_tensor(train_pos, device=device),
        val_z=used[torch.as_tensor(val_rows, device=device)],
        val_pos=torch.as_tensor(val_inverse.reshape(val.shape), device=device),
        val_y=labels[val],
        seeds=seeds,
        n_classes=n_classes,
    )
