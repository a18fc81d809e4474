"""Plain reference implementations: the naive way, kept as test oracles and benchmark baselines.

- :func:`fit_head_reference` trains one last-layer head at a time with ``nn.Sequential``, autograd
  and ``torch.optim``. It draws the same random streams as :func:`latentsep.heads.fit_heads`
  (:mod:`latentsep.headruns`: initialisation, epoch order, dropout masks), so R
  calls of it must equal one batched call of R runs (tests/test_heads.py);
  ``benchmarks/sweep.py`` times it as the naive per-run loop.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import balanced_accuracy_score
from torch import nn

from latentsep.device import default_device
from latentsep.headruns import apply_dropout, dropout_keep, init_weights, prepare_runs
from latentsep.heads import DTYPES, HeadConfig
from latentsep.models.checkpoint import plateau_mode

__all__ = ["ReferenceHead", "fit_head_reference"]


class _MaskedDropout(nn.Module):
    """Dropout whose keep-mask is set before each training forward (the batched trainer's masks)."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p
        self.keep: torch.Tensor | None = None

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if not self.training or self.keep is None:
            return h
        return apply_dropout(h, self.keep, self.p)


@dataclass
class ReferenceHead:
    """One head trained by ``fit_head_reference``; fields as in ``FittedHeads`` for a single run."""

    model: nn.Module
    best_epoch: int
    val_balanced_accuracy: float
    epochs_run: int
    final_lr: float
    history: dict[str, np.ndarray]

    def predict_proba(self, z: Any) -> np.ndarray:
        """Class probabilities (N, C), float64."""
        p0 = next(self.model.parameters())
        self.model.eval()
        with torch.no_grad():
            logits = self.model(torch.as_tensor(z).to(device=p0.device, dtype=p0.dtype))
        return torch.softmax(logits, dim=1).cpu().numpy().astype(np.float64)


def fit_head_reference(
    z: Any,
    y: Any,
    train_idx: Any,
    val_idx: Any,
    seed: int,
    config: HeadConfig | None = None,
    device: str | torch.device | None = None,
) -> ReferenceHead:
    """Train one head the plain way: ``nn.Sequential``, autograd, ``torch.optim``, one run at a time.

    Same protocol and random streams as ``fit_heads`` (initialisation and epoch order from a
    generator seeded with ``seed``, identical dropout masks), so ``fit_heads`` on R runs must
    reproduce R calls of this function. Also the "naive per-run loop" of the benchmark.

    Parameters
    ----------
    z, y : as in ``fit_heads``
    train_idx : array-like of int, shape (K,)
    val_idx : array-like of int, shape (Kv,)
    seed : int
    config, device : as in ``fit_heads``
    """
    config = config or HeadConfig()
    device = torch.device(device) if device is not None else default_device()
    dtype = DTYPES[config.dtype]
    data = prepare_runs(z, y, np.atleast_2d(train_idx), np.atleast_2d(val_idx), [seed], device, dtype)
    x_all, y_all, rows = data.z, data.y, data.train_pos[0]
    x_val, y_val = data.val_z[data.val_pos[0]], data.val_y[0]
    k, d = len(rows), x_all.shape[1]

    weights, gen = init_weights(seed, config.layer_sizes(d, data.n_classes), dtype)
    layers = [nn.utils.skip_init(nn.Linear, w.shape[1], w.shape[0], dtype=dtype) for w in weights]
    with torch.no_grad():
        for layer, w in zip(layers, weights, strict=True):
            layer.weight.copy_(w)
            layer.bias.zero_()
    dropout = _MaskedDropout(config.dropout)
    if len(layers) == 1:
        model = nn.Sequential(layers[0])
    else:
        model = nn.Sequential(layers[0], nn.ReLU(), dropout, layers[1])
    model.to(device)
    optim_cls = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    optimizer = optim_cls(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = None
    if config.plateau_patience is not None:
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode=plateau_mode(config.plateau_monitor), factor=config.plateau_factor,
            patience=config.plateau_patience
        )
    seed_t = torch.as_tensor([seed], device=device)
    history = {
        name: np.full(config.max_epochs, np.nan) for name in ("val_balanced_accuracy", "train_loss")
    }
    best_score, best_epoch, best_state, wait, epochs_run = -np.inf, 0, None, 0, 0
    for epoch in range(config.max_epochs):
        model.train()
        perm = torch.randperm(k, generator=gen).to(device)
        total = 0.0
        for start in range(0, k, config.batch_size):
            batch = rows[perm[start : start + config.batch_size]]
            if config.kind == "mlp" and config.dropout:
                dropout.keep = dropout_keep(
                    seed_t, epoch * k + start, len(batch), config.hidden, config.dropout
                )[0]
            loss = F.cross_entropy(model(x_all[batch]), y_all[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        model.eval()
        with torch.no_grad():
            logits = model(x_val)
            val_loss = float(F.cross_entropy(logits, torch.as_tensor(y_val, device=device)))
            pred = logits.argmax(dim=1).cpu().numpy()
        score = balanced_accuracy_score(y_val, pred)
        history["val_balanced_accuracy"][epoch] = score
        history["train_loss"][epoch] = total / k
        epochs_run = epoch + 1
        if score > best_score:
            best_score, best_epoch, wait = score, epoch + 1, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            wait += 1
        if scheduler is not None:
            scheduler.step(val_loss if config.plateau_monitor == "val_loss" else score)
        if config.early_stopping_patience is not None and wait >= config.early_stopping_patience:
            break
    model.load_state_dict(best_state)
    return ReferenceHead(
        model=model,
        best_epoch=best_epoch,
        val_balanced_accuracy=float(best_score),
        epochs_run=epochs_run,
        final_lr=float(optimizer.param_groups[0]["lr"]),
        history=history,
    )
