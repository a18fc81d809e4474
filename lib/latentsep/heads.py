"""Batched last-layer retraining: R independent heads trained as one tensor program.

An allocation sweep retrains a fresh head on cached embeddings for every (attribute, α, seed).
``fit_heads`` trains all R runs together: the weights of every layer are stacked into one tensor of
shape (R, fan_out, fan_in), minibatches are gathered as ``z[idx]`` with ``idx`` of shape (R, B), and
forward pass, gradients and the Adam update are batched matrix products and element-wise ops over
the run axis. Runs never interact: each has its own

- initialisation: Kaiming-normal weights (fan-in, ReLU gain, as ``torch.nn.init.kaiming_normal_``)
  and zero biases, drawn from a ``torch.Generator`` seeded with ``seeds[r]``;
- data order: a fresh ``torch.randperm`` of its K training indices every epoch, from the same
  generator; minibatches of ``batch_size`` with a last partial batch when B does not divide K;
- dropout masks (MLP head): a counter-based hash of (seed, position in the run's sample stream,
  hidden unit), so masks are per-run, reproducible and need no per-run Python loop;
- learning rate: ReduceLROnPlateau on validation balanced accuracy (mode "max", torch defaults:
  relative threshold 1e-4, no cooldown, minimum lr 0), or on validation cross-entropy (mode
  "min", ``plateau_monitor="val_loss"``, the authors' code);
- early stopping: stop after ``early_stopping_patience`` epochs without a strictly higher validation
  balanced accuracy; the returned weights are those of the best epoch (ties → earliest).

A run that stops is removed from the stacked tensors, so the others continue at full speed. Runs
start from fresh heads, the pre-trained head or the pre-training run's state (:mod:`latentsep.headstart`).
:func:`latentsep.reference.fit_head_reference` is the plain one-run-at-a-time PyTorch loop
(``nn.Linear``, autograd, ``torch.optim``) that the batched trainer reproduces to float64 precision
(tests/test_heads.py); it draws the same random streams through :mod:`latentsep.headruns`.

Nothing is standardised implicitly: heads see the embeddings exactly as passed (the paper's
protocol trains on raw encoder outputs); standardise beforehand if you want it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from latentsep.checks import check_choice, check_positive_int
from latentsep.device import default_device
from latentsep.headruns import (
    RunInputs,
    apply_dropout,
    dropout_keep,
    finite_rows,
    init_weights,
    prepare_runs,
)
from latentsep.headstart import HeadStart, as_start, start_state
from latentsep.metrics import balanced_accuracy
from latentsep.models.checkpoint import PLATEAU_MONITORS
from latentsep.store import keyed_if_changed

DTYPES = {"float32": torch.float32, "float64": torch.float64}
_BETAS = (0.9, 0.999)  # torch.optim.Adam defaults, as in the paper's code
_ADAM_EPS = 1e-8
_PLATEAU_THRESHOLD = 1e-4  # torch ReduceLROnPlateau defaults (relative threshold, minimal decay)
_PLATEAU_EPS = 1e-8
# A run-chunk's gathered minibatch is kept near this size so that forward and backward re-read it
# from cache; one gather for all runs at once is 1.3-1.7x slower on CPU (measured, D=1568, R=99).
_TRAIN_BLOCK_BYTES = 16 * 2**20
_EVAL_BLOCK_BYTES = 64 * 2**20


@dataclass(frozen=True)
class HeadConfig:
    """Head architecture and optimisation settings (defaults: the paper's Coloured-MNIST LLRT).

    Attributes
    ----------
    kind : {"linear", "mlp"}
        Linear head D→C, or MLP D→hidden→C with ReLU and dropout after the hidden layer.
    hidden, dropout : int, float
        MLP width and dropout probability (ignored by the linear head).
    optimizer : {"adam", "adamw"}
        Adam with L2 penalty added to the gradient (torch ``Adam(weight_decay=…)``) or AdamW.
    lr, weight_decay : float
        Initial learning rate and weight decay (applied to weights and biases, as torch does
        for ``model.parameters()``).
    batch_size, max_epochs : int
    early_stopping_patience, plateau_patience : int or None
        Epochs without improvement of validation balanced accuracy before stopping / before
        multiplying the lr by ``plateau_factor``; None disables early stopping / the schedule.
    plateau_factor : float
    dtype : {"float32", "float64"}
        Compute precision; float64 is for exact comparisons with the reference trainer.
    plateau_monitor : {"val_balanced_accuracy", "val_loss"}
        What the schedule watches; early stopping and the kept weights always follow validation
        balanced accuracy (``"val_loss"``: the authors' code). Enters cache keys only when changed.
    """

    kind: str = "linear"
    hidden: int = 128
    dropout: float = 0.2
    optimizer: str = "adam"
    lr: float = 1.587e-3
    weight_decay: float = 1.537e-3
    batch_size: int = 128
    max_epochs: int = 50
    early_stopping_patience: int | None = 10
    plateau_patience: int | None = 10
    plateau_factor: float = 0.1
    dtype: str = "float32"
    plateau_monitor: str = keyed_if_changed("val_balanced_accuracy")

    def __post_init__(self) -> None:
        check_choice(self.kind, "kind", ("linear", "mlp"))
        check_choice(self.plateau_monitor, "plateau_monitor", PLATEAU_MONITORS)
        check_choice(self.optimizer, "optimizer", ("adam", "adamw"))
        check_choice(self.dtype, "dtype", tuple(DTYPES))
        for name in ("hidden", "batch_size", "max_epochs"):
            check_positive_int(getattr(self, name), name)
        for name in ("early_stopping_patience", "plateau_patience"):
            if getattr(self, name) is not None:
                check_positive_int(getattr(self, name), name, minimum=0)
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1); got {self.dropout!r}.")
        if not self.lr > 0 or not self.weight_decay >= 0:
            raise ValueError(
                f"lr must be > 0 and weight_decay >= 0; got lr={self.lr!r}, "
                f"weight_decay={self.weight_decay!r}."
            )
        if not 0.0 < self.plateau_factor < 1.0:
            raise ValueError(f"plateau_factor must lie in (0, 1); got {self.plateau_factor!r}.")

    def layer_sizes(self, n_features: int, n_classes: int) -> list[tuple[int, int]]:
        """(fan_in, fan_out) of every layer."""
        if self.kind == "linear":
            return [(n_features, n_classes)]
        return [(n_features, self.hidden), (self.hidden, n_classes)]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the settings (for result-store keys)."""
        return asdict(self)


# --------------------------------------------------------------------------- batched trainer

_FEW_OUTPUTS = 8  # up to this many outputs a layer's forward uses the transposed product


def _affine(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """x @ wᵀ + b per run: x (n, D) shared by all runs or (R, n, D); w (R, H, D); b (R, 1, H)."""
    if x.ndim == 2:  # one (n, D) @ (D, R·H) matrix product for all runs
        return torch.einsum("nd,rhd->rnh", x, w) + b
    if w.shape[1] <= _FEW_OUTPUTS:  # w @ xᵀ streams x once: ~1.8x faster on CPU than x @ wᵀ here
        return torch.baddbmm(b.transpose(1, 2), w, x.transpose(1, 2)).transpose(1, 2)
    return torch.baddbmm(b, x, w.transpose(1, 2))


def _forward(params, x, keep=None, p=0.0):
    """Logits (R, n, C) and, for the MLP, (pre-activation, dropped-out activation) for backward."""
    out = _affine(x, params[0], params[1])
    if len(params) == 2:
        return out, None
    hidden = torch.relu(out)
    if keep is not None:
        hidden = apply_dropout(hidden, keep, p)
    return _affine(hidden, params[2], params[3]), (out, hidden)


def _loss_and_grads(params, x, y, keep, p):
    """Mean cross-entropy per run (R,) and its gradients for every parameter (no autograd).

    Weights are kept as (R, fan_out, fan_in) so that weight gradients are ``bmm(gᵀ, x)``: with few
    outputs this streams over x row by row, ~2x faster on CPU than ``bmm(xᵀ, g)``.
    """
    logits, cache = _forward(params, x, keep, p)
    logp = torch.log_softmax(logits, dim=2)
    target = y[..., None]
    loss = -logp.gather(2, target)[..., 0].mean(dim=1)
    g = logp.exp()  # d(mean CE)/d logits = (softmax − onehot) / n
    g.scatter_add_(2, target, torch.full_like(target, -1, dtype=g.dtype))
    g /= x.shape[1]
    if cache is None:
        return loss, [torch.bmm(g.transpose(1, 2), x), g.sum(dim=1, keepdim=True)]
    pre, hidden = cache
    grad_hidden = torch.bmm(g, params[2])
    if keep is not None:
        grad_hidden = apply_dropout(grad_hidden, keep, p)
    grad_pre = grad_hidden * (pre > 0)
    return loss, [
        torch.bmm(grad_pre.transpose(1, 2), x),
        grad_pre.sum(dim=1, keepdim=True),
        torch.bmm(g.transpose(1, 2), hidden),
        g.sum(dim=1, keepdim=True),
    ]


def _adam_step(params, grads, m, v, step: int, lr: torch.Tensor, config: HeadConfig) -> None:
    """In-place Adam/AdamW update with a per-run learning rate ``lr`` of shape (R, 1, 1).

    Written out as torch.optim's single-tensor Adam. Adam is element-wise and the gradient slice of
    run r is the gradient of run r's own mean loss (the gradient of Σ_r mean_loss_r restricted to
    run r's parameters), so one update of the stacked (R, …) tensors equals R separate optimizer
    steps. A single torch optimizer over the stack would do the same only with one shared lr;
    the per-run plateau schedule needs R learning rates, hence this hand-written step.
    """
    beta1, beta2 = _BETAS
    step_size = lr / (1 - beta1**step)
    bias2_sqrt = (1 - beta2**step) ** 0.5
    for param, grad, m_, v_ in zip(params, grads, m, v, strict=True):
        if config.weight_decay:
            if config.optimizer == "adamw":
                param.mul_(1 - lr * config.weight_decay)
            else:
                grad = grad.add(param, alpha=config.weight_decay)
        m_.lerp_(grad, 1 - beta1)
        v_.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        param.sub_(m_ * step_size / (v_.sqrt() / bias2_sqrt).add_(_ADAM_EPS))


def _chunk(n_runs: int, per_run_bytes: int, budget: int) -> int:
    """Runs per chunk so that one chunk's working set stays near ``budget`` bytes."""
    return max(1, min(n_runs, budget // max(per_run_bytes, 1)))


def _predict_labels(params, x, pos, width: int, labels=None):
    """Arg-max class of every run on rows ``x[pos[r]]``: x (U, D) shared, pos (R, Kv) → (R, Kv),
    and with ``labels`` (R, Kv) the mean cross-entropy of every run on its rows, (R,) numpy."""
    n_runs = params[0].shape[0]
    step = _chunk(n_runs, x.shape[0] * width * x.element_size(), _EVAL_BLOCK_BYTES)
    parts, losses = [], []
    for s in range(0, n_runs, step):
        logits, _ = _forward([q[s : s + step] for q in params], x)
        parts.append(logits.argmax(dim=2).gather(1, pos[s : s + step]))
        if labels is not None:
            logp = torch.log_softmax(logits, dim=2)
            rows = logp.gather(1, pos[s : s + step, :, None].expand(-1, -1, logp.shape[2]))
            losses.append(-rows.gather(2, labels[s : s + step, :, None])[..., 0].double().mean(1))
    return torch.cat(parts), (torch.cat(losses).cpu().numpy() if labels is not None else None)


@dataclass
class _Live:
    """Stacked state of the runs still training (row i = global run ``ids[i]``)."""

    ids: np.ndarray
    params: list[torch.Tensor]
    m: list[torch.Tensor]  # Adam first moments
    v: list[torch.Tensor]  # Adam second moments
    gens: list[torch.Generator]
    train_pos: torch.Tensor
    val_pos: torch.Tensor
    val_y: np.ndarray
    seeds: torch.Tensor

    def keep(self, local: np.ndarray) -> None:
        """Drop finished runs: keep rows ``local`` of every stacked tensor."""
        idx = torch.as_tensor(local, device=self.train_pos.device)
        self.params, self.m, self.v = ([q[idx] for q in g] for g in (self.params, self.m, self.v))
        self.train_pos, self.val_pos, self.seeds = (
            self.train_pos[idx], self.val_pos[idx], self.seeds[idx]
        )
        self.val_y = self.val_y[local]
        self.gens = [self.gens[i] for i in local]
        self.ids = self.ids[local]


def _train_epoch(
    live: _Live, data: RunInputs, lr: torch.Tensor, epoch: int, step: int, config: HeadConfig
) -> tuple[np.ndarray, int]:
    """One epoch of minibatch Adam for every live run; returns mean train loss (R_live,) and step."""
    n_live, k = live.train_pos.shape
    d, c = data.z.shape[1], data.n_classes
    hidden = config.hidden if config.kind == "mlp" else 0
    p_drop = config.dropout if config.kind == "mlp" else 0.0
    chunk = _chunk(n_live, config.batch_size * (d + 3 * hidden + 3 * c) * data.z.element_size(),
                   _TRAIN_BLOCK_BYTES)
    buffer = torch.empty(chunk * config.batch_size * d, dtype=data.z.dtype, device=data.z.device)
    # The one per-run loop of an epoch: each run's shuffle comes from its own generator, as in
    # the reference (≈ R·K·10 ns per epoch, negligible next to the minibatch steps).
    perms = torch.stack([torch.randperm(k, generator=g) for g in live.gens]).to(data.z.device)
    order = live.train_pos.gather(1, perms)  # (R_live, K) rows of z in this epoch's order
    order_y = data.y[order]
    loss_sum = torch.zeros(n_live, dtype=torch.float64, device=data.z.device)
    for start in range(0, k, config.batch_size):
        step += 1
        stop = min(start + config.batch_size, k)
        b = stop - start
        keep = dropout_keep(live.seeds, epoch * k + start, b, hidden, p_drop) if p_drop else None
        for s in range(0, n_live, chunk):  # run blocks sized for cache reuse, not single runs
            sub = slice(s, min(s + chunk, n_live))
            rows = order[sub, start:stop].reshape(-1)
            x = torch.index_select(data.z, 0, rows, out=buffer[: rows.numel() * d].view(-1, d))
            params = [q[sub] for q in live.params]
            loss, grads = _loss_and_grads(
                params,
                x.view(-1, b, d),
                order_y[sub, start:stop],
                None if keep is None else keep[sub],
                p_drop,
            )
            loss_sum[sub] += loss.double() * b
            _adam_step(
                params, grads, [q[sub] for q in live.m], [q[sub] for q in live.v], step, lr[sub],
                config,
            )
    return loss_sum.cpu().numpy() / k, step


@dataclass
class FittedHeads:
    """R trained heads (best-epoch weights) and their training record.

    Attributes
    ----------
    params : list of torch.Tensor
        Best weights, layer by layer: weight (R, fan_out, fan_in) (``nn.Linear`` layout),
        bias (R, 1, fan_out).
    best_epoch : numpy.ndarray of int, shape (R,)
        Number of training epochs behind the selected weights (1-based).
    val_balanced_accuracy : numpy.ndarray, shape (R,)
        Validation balanced accuracy of the selected weights.
    epochs_run : numpy.ndarray of int, shape (R,)
        Epochs trained before early stopping (or ``max_epochs``).
    final_lr : numpy.ndarray, shape (R,)
        Learning rate at the end of training (after plateau reductions).
    history : dict of str to numpy.ndarray (R, max_epochs)
        ``"val_balanced_accuracy"`` and ``"train_loss"`` (mean over the epoch) per epoch; NaN after
        a run stopped.
    """

    config: HeadConfig
    params: list[torch.Tensor]
    seeds: np.ndarray
    n_classes: int
    best_epoch: np.ndarray
    val_balanced_accuracy: np.ndarray
    epochs_run: np.ndarray
    final_lr: np.ndarray
    history: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_runs(self) -> int:
        return self.params[0].shape[0]

    def predict_proba(self, z: Any) -> np.ndarray:
        """Class probabilities of every run on embeddings ``z`` (N, D): array (R, N, C), float64."""
        p0 = self.params[0]
        z_t = torch.as_tensor(z).to(device=p0.device, dtype=p0.dtype)
        if z_t.ndim != 2 or z_t.shape[1] != p0.shape[2]:
            raise ValueError(
                f"z must have shape (n_samples, {p0.shape[2]}) like the training embeddings; got "
                f"{tuple(z_t.shape)}."
            )
        if not bool(finite_rows(z_t).all()):
            raise ValueError("z contains NaN/inf values; remove or impute them before predicting.")
        width = max(self.params[-1].shape[-1], self.params[0].shape[1])
        step = _chunk(self.n_runs, z_t.shape[0] * width * z_t.element_size(), _EVAL_BLOCK_BYTES)
        with torch.no_grad():
            parts = [
                torch.softmax(_forward([q[s : s + step] for q in self.params], z_t)[0], dim=2)
                for s in range(0, self.n_runs, step)
            ]
        return torch.cat(parts).cpu().numpy().astype(np.float64)


def fit_heads(
    z: Any,
    y: Any,
    train_idx: Any,
    val_idx: Any,
    seeds: Any,
    config: HeadConfig | None = None,
    device: str | torch.device | None = None,
    start: HeadStart | None = None,
) -> FittedHeads:
    """Train R independent heads at once and keep each run's best-validation weights.

    Parameters
    ----------
    z : array-like or torch.Tensor, shape (N, D)
        Cached embeddings (any device; only the rows indexed below are copied to ``device``).
    y : array-like of int, shape (N,)
        Class labels 0 … C−1 (C = max(y) + 1).
    train_idx : array-like of int, shape (R, K)
        Training indices into ``z`` per run (e.g. ``allocation_plan``).
    val_idx : array-like of int, shape (R, Kv)
        Validation indices per run, for model selection and the lr schedule.
    seeds : array-like of int, shape (R,)
        Per-run seed of initialisation, data order and dropout.
    config : HeadConfig, optional
        Defaults to ``HeadConfig()`` (the paper's linear head).
    device : str or torch.device, optional
        Defaults to ``latentsep.device.default_device()``.
    start : HeadStart, optional
        Where every run starts (:mod:`latentsep.headstart`); default ``HeadStart.fresh()``.

    Returns
    -------
    FittedHeads
    """
    config = config or HeadConfig()
    start = as_start(start)
    device = torch.device(device) if device is not None else default_device()
    data = prepare_runs(z, y, train_idx, val_idx, seeds, device, DTYPES[config.dtype])
    n_runs = data.train_pos.shape[0]
    d, c = data.z.shape[1], data.n_classes
    width = max(c, config.hidden) if config.kind == "mlp" else c  # widest layer output
    start.check(d, c, config.kind, config.plateau_monitor)
    minimise = config.plateau_monitor == "val_loss"

    params = [[] for _ in range(2 * len(config.layer_sizes(d, c)))]
    gens = []
    for seed in data.seeds:  # initialisation only; the epoch loop has no per-run Python loop
        weights, gen = init_weights(seed, config.layer_sizes(d, c), DTYPES[config.dtype])
        gens.append(gen)
        for i, w in enumerate(weights):
            params[2 * i].append(w)
            params[2 * i + 1].append(torch.zeros(1, w.shape[0], dtype=w.dtype))
    init = start_state(start, [torch.stack(p).to(device) for p in params], config.lr,
                       np.inf if minimise else -np.inf)
    params = init.params
    best = [p.clone() for p in params]
    live = _Live(
        ids=np.arange(n_runs),
        params=params,
        m=init.m,
        v=init.v,
        gens=gens,
        train_pos=data.train_pos,
        val_pos=data.val_pos,
        val_y=data.val_y,
        seeds=torch.as_tensor(data.seeds, device=device),
    )

    # Per-run bookkeeping, indexed by global run id. Model selection (best_score) and early
    # stopping (stop_best) follow the same score; they differ only for a resumed start.
    lr = np.full(n_runs, init.lr)
    best_score = np.full(n_runs, -np.inf)
    stop_best = np.full(n_runs, init.stop_best)
    plateau_best = np.full(n_runs, init.plateau_best)
    wait = np.full(n_runs, init.stop_wait, dtype=np.int64)
    plateau_bad = np.full(n_runs, init.plateau_bad, dtype=np.int64)
    best_epoch = np.full(n_runs, init.epoch, dtype=np.int64)
    epochs_run = np.full(n_runs, init.epoch, dtype=np.int64)
    history = {
        "val_balanced_accuracy": np.full((n_runs, config.max_epochs), np.nan),
        "train_loss": np.full((n_runs, config.max_epochs), np.nan),
    }
    if init.epoch >= config.max_epochs:  # no epoch left: the checkpoint's head is the result
        with torch.no_grad():
            pred, _ = _predict_labels(params, data.val_z, live.val_pos, width)
        best_score = balanced_accuracy(live.val_y, pred.cpu().numpy(), c)
    step = init.step
    for epoch in range(init.epoch, config.max_epochs):
        ids = live.ids
        lr_t = torch.as_tensor(lr[ids], dtype=data.z.dtype, device=device)[:, None, None]
        train_loss, step = _train_epoch(live, data, lr_t, epoch, step, config)
        with torch.no_grad():
            labels = torch.as_tensor(live.val_y, device=device) if minimise else None
            pred, val_loss = _predict_labels(live.params, data.val_z, live.val_pos, width, labels)
        score = balanced_accuracy(live.val_y, pred.cpu().numpy(), c)
        history["val_balanced_accuracy"][ids, epoch] = score
        history["train_loss"][ids, epoch] = train_loss
        epochs_run[ids] = epoch + 1

        improved = score > best_score[ids]  # strict: ties keep the earlier epoch
        if improved.any():
            src = torch.as_tensor(np.flatnonzero(improved), device=device)
            dst = torch.as_tensor(ids[improved], device=device)
            for target, source in zip(best, live.params, strict=True):
                target[dst] = source[src]
        best_score[ids] = np.where(improved, score, best_score[ids])
        best_epoch[ids] = np.where(improved, epoch + 1, best_epoch[ids])
        stopping = score > stop_best[ids]
        stop_best[ids] = np.where(stopping, score, stop_best[ids])
        wait[ids] = np.where(stopping, 0, wait[ids] + 1)

        if config.plateau_patience is not None:  # torch ReduceLROnPlateau, per run
            better = (val_loss < plateau_best[ids] * (1 - _PLATEAU_THRESHOLD) if minimise
                      else score > plateau_best[ids] * (1 + _PLATEAU_THRESHOLD))
            plateau_best[ids] = np.where(better, val_loss if minimise else score, plateau_best[ids])
            plateau_bad[ids] = np.where(better, 0, plateau_bad[ids] + 1)
            reduce = ids[plateau_bad[ids] > config.plateau_patience]
            new_lr = lr[reduce] * config.plateau_factor
            lr[reduce] = np.where(lr[reduce] - new_lr > _PLATEAU_EPS, new_lr, lr[reduce])
            plateau_bad[reduce] = 0

        patience = config.early_stopping_patience
        done = wait[ids] >= patience if patience is not None else np.zeros(len(ids), dtype=bool)
        if done.all() or epoch + 1 == config.max_epochs:
            break
        if done.any():  # finished runs leave the stacked tensors; the others continue
            live.keep(np.flatnonzero(~done))

    return FittedHeads(
        config=config,
        params=best,
        seeds=data.seeds,
        n_classes=c,
        best_epoch=best_epoch,
        val_balanced_accuracy=best_score,
        epochs_run=epochs_run,
        final_lr=lr,
        history=history,
    )
