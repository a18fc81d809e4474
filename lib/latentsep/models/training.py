"""The training loop shared by pre-training and the ablations' training modes.

One loop (:func:`pretrain`) serves every mode that trains the encoder:

- pre-training, optionally with an invariance penalty (``regulariser``, ``lam``; paper §5.6);
- :func:`finetune_full` -- the full-fine-tuning ablation: a pre-trained model, head
  re-initialised, every layer trainable;
- :func:`train_from_scratch` -- a freshly initialised model (seeded) trained on the given data.

Last-layer retraining (frozen encoder) runs on cached embeddings in :mod:`latentsep.heads`.

The optimisation follows the paper (§5.1): Adam (lr 1.587e-3, L2 weight decay 1.537e-3),
batch 128, at most 50 epochs, ``ReduceLROnPlateau`` (×0.1, patience 10) and early stopping, both
on validation balanced accuracy (``plateau_monitor="val_loss"``: the authors' scheduler), with
the best epoch's weights restored. On CPU, the same seed and the same thread count give
bitwise-identical weights. A run can continue from its checkpoints (``resume=``).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

from latentsep.checks import as_1d_labels, as_binary, check_choice, check_positive_int
from latentsep.device import default_device, seed_everything, torch_threads
from latentsep.metrics import balanced_accuracy
from latentsep.models import checkpoint as ckpt
from latentsep.regularise import Regulariser
from latentsep.store import keyed_if_changed

ArrayLike = np.ndarray | torch.Tensor


@dataclass(frozen=True)
class PretrainConfig:
    """Optimisation settings; defaults are the paper's (§5.1).

    Attributes
    ----------
    lr : float
        Initial learning rate.
    weight_decay : float
        L2 penalty (coupled, as in ``torch.optim.Adam``; decoupled with ``optimizer="adamw"``).
    optimizer : {"adam", "adamw"}
        Optimiser.
    batch_size : int
        Training mini-batch size; the last, smaller batch of an epoch is kept.
    max_epochs : int
        Upper bound on training epochs.
    early_stopping_patience : int
        Stop after this many consecutive epochs without a strict improvement of validation
        balanced accuracy.
    plateau_patience : int
        ``ReduceLROnPlateau`` patience (torch semantics: the rate drops on the
        ``plateau_patience + 1``-th epoch without improvement, so with both patiences at 10 early
        stopping fires first, as in the paper's settings).
    plateau_factor : float
        Factor applied to the learning rate on a plateau.
    eval_batch_size : int
        Batch size for validation and embedding passes (memory only; results do not depend on it
        beyond float rounding).
    num_threads : int or None
        If set, torch's intra-op thread count during training (restored afterwards). Bitwise
        reproducibility on CPU holds for a fixed thread count.
    plateau_monitor : {"val_balanced_accuracy", "val_loss"}
        What ``ReduceLROnPlateau`` watches (:data:`~latentsep.models.checkpoint.PLATEAU_MONITORS`).
    """

    lr: float = 1.587e-3
    weight_decay: float = 1.537e-3
    optimizer: str = "adam"
    batch_size: int = 128
    max_epochs: int = 50
    early_stopping_patience: int = 10
    plateau_patience: int = 10
    plateau_factor: float = 0.1
    eval_batch_size: int = 1024
    num_threads: int | None = None
    plateau_monitor: str = keyed_if_changed("val_balanced_accuracy")

    def __post_init__(self) -> None:
        check_choice(self.plateau_monitor, "PretrainConfig.plateau_monitor", ckpt.PLATEAU_MONITORS)
        for name in ("lr", "weight_decay", "plateau_factor"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0) or (name != "weight_decay" and value == 0):
                raise ValueError(
                    f"PretrainConfig.{name} must be a finite number > 0 (>= 0 for weight_decay); "
                    f"got {value!r}."
                )
        if self.plateau_factor >= 1:
            raise ValueError(
                f"PretrainConfig.plateau_factor must be < 1 (it shrinks the rate); "
                f"got {self.plateau_factor!r}. The paper uses 0.1."
            )
        check_choice(self.optimizer, "PretrainConfig.optimizer", ("adam", "adamw"))
        for name in ("batch_size", "max_epochs", "early_stopping_patience", "eval_batch_size"):
            check_positive_int(getattr(self, name), f"PretrainConfig.{name}")
        check_positive_int(self.plateau_patience, "PretrainConfig.plateau_patience", minimum=0)
        if self.num_threads is not None:
            check_positive_int(self.num_threads, "PretrainConfig.num_threads")


@dataclass
class PretrainResult:
    """Outcome of one training run.

    Attributes
    ----------
    model : nn.Module
        Trained copy of the input model with the best epoch's weights, in eval mode, on the
        training device. The model passed in is never modified.
    history : pandas.DataFrame
        One row per epoch: ``epoch`` (1-based), ``lr`` (used during the epoch), ``train_loss``
        (task + λ·penalty, sample-weighted mean over batches), ``task_loss`` (cross-entropy, nats),
        ``penalty`` (mean batch penalty, NaN without a regulariser; logged even when λ = 0),
        ``skipped_classes`` (classes skipped by the penalty, summed over batches),
        ``val_loss``, ``val_accuracy``, ``val_balanced_accuracy``, ``seconds``.
    best_epoch : int
        Epoch whose weights were restored (1-based).
    best_val_balanced_accuracy : float
        Validation balanced accuracy at ``best_epoch``.
    stopped_early : bool
        Whether early stopping ended the run before ``max_epochs``.
    seed : int
        Seed of the run (shuffling, dropout and, for fresh models, initialisation).
    lam : float
        Weight of the penalty.
    config : PretrainConfig
        Settings used.
    checkpoint, final_state : TrainingState
        The run at ``best_epoch`` (what the authors' last-layer retraining resumes from) and
        after its last epoch (``pretrain(resume=final_state)`` with a larger budget continues it).
    """

    model: nn.Module
    history: pd.DataFrame
    best_epoch: int
    best_val_balanced_accuracy: float
    stopped_early: bool
    seed: int
    lam: float
    config: PretrainConfig
    checkpoint: ckpt.TrainingState
    final_state: ckpt.TrainingState


def _check_model(model: Any) -> nn.Linear:
    head = getattr(model, "head", None)
    if not (isinstance(model, nn.Module) and callable(getattr(model, "embed", None))) or not isinstance(
        head, nn.Linear
    ):
        raise TypeError(
            f"model must be an nn.Module with an embed(x) method and a linear `head` such that "
            f"forward(x) == head(embed(x)), like SimpleCNN or TabularMLP; got {type(model).__name__}."
        )
    return head


def _as_inputs(x: ArrayLike, name: str) -> torch.Tensor:
    t = torch.as_tensor(x).detach().cpu()
    if t.ndim < 2 or len(t) == 0:
        raise ValueError(
            f"{name} must be a non-empty array with one row per sample, e.g. (N, 3, 28, 28) "
            f"images or (N, F) features; got shape {tuple(t.shape)}."
        )
    if not t.is_floating_point():
        t = t.float()
    bad = ~torch.isfinite(t)
    if bad.any():
        raise ValueError(
            f"{name} contains {int(bad.sum())} NaN/inf value(s). Remove or impute them first; "
            "nothing is dropped silently."
        )
    return t.to(torch.float32)


def _as_targets(y: ArrayLike, name: str, n: int, n_classes: int) -> torch.Tensor:
    arr = as_1d_labels(torch.as_tensor(y).detach().cpu().numpy(), name, n)
    if arr.dtype.kind not in "iub" and not np.all(arr == np.round(arr)):
        raise ValueError(f"{name} must hold integer class labels; got dtype {arr.dtype}.")
    if arr.min() < 0 or arr.max() >= n_classes:
        raise ValueError(
            f"{name} must lie in 0..{n_classes - 1} (the head has {n_classes} outputs); found "
            f"range [{arr.min()}, {arr.max()}]. Re-encode the labels or resize the head."
        )
    return torch.as_tensor(arr.astype(np.int64))


def _batched(
    fn: Callable[[torch.Tensor], torch.Tensor], model: nn.Module, x: ArrayLike, batch_size: int
) -> torch.Tensor:
    """Apply ``fn`` to ``x`` in eval mode without gradients, batch by batch, on the model's device."""
    device = next(model.parameters()).device
    x = torch.as_tensor(x)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            outs = [
                fn(x[i : i + batch_size].to(device, torch.float32)).cpu()
                for i in range(0, len(x), batch_size)
            ]
    finally:
        model.train(was_training)
    return torch.cat(outs)


def embed_array(model: nn.Module, x: ArrayLike, batch_size: int = 1024) -> np.ndarray:
    """Embeddings of ``x`` under ``model.embed`` in eval mode, without gradients.

    Parameters
    ----------
    model : nn.Module
        A model with an ``embed`` method (SimpleCNN, TabularMLP); its training mode is restored.
    x : array or tensor
        Inputs, shape (N, ...) as the model expects.
    batch_size : int
        Rows per forward pass.

    Returns
    -------
    numpy.ndarray
        Shape (N, embedding_dim), float32.
    """
    _check_model(model)
    check_positive_int(batch_size, "batch_size")
    return _batched(model.embed, model, _as_inputs(x, "x"), batch_size).numpy()


def predict_proba(model: nn.Module, x: ArrayLike, batch_size: int = 1024) -> np.ndarray:
    """Class probabilities of ``model`` (softmax of its logits), shape (N, n_classes), float32."""
    _check_model(model)
    check_positive_int(batch_size, "batch_size")
    logits = _batched(model, model, _as_inputs(x, "x"), batch_size)
    return torch.softmax(logits, 1).numpy()


def pretrain(
    model: nn.Module,
    x_train: ArrayLike,
    y_train: ArrayLike,
    x_val: ArrayLike,
    y_val: ArrayLike,
    *,
    config: PretrainConfig | None = None,
    seed: int,
    groups_train: ArrayLike | None = None,
    regulariser: Regulariser | None = None,
    lam: float = 0.0,
    device: torch.device | str | None = None,
    progress: bool = True,
    resume: ckpt.TrainingState | None = None,
) -> PretrainResult:
    """Train every trainable parameter of ``model`` with cross-entropy (+ λ · penalty).

    Parameters
    ----------
    model : nn.Module
        Model with ``embed(x)`` and a linear ``head``; trained as a deep copy (never modified).
        Its initial weights are used as given: seed its construction (:func:`build_model`) or use
        :func:`train_from_scratch` for a seeded fresh model.
    x_train, x_val : array or tensor
        Inputs, shape (N, ...) / (N_val, ...), held in memory.
    y_train, y_val : array or tensor
        Integer labels in ``0 .. head.out_features - 1``, shapes (N,) / (N_val,).
    config : PretrainConfig, optional
        Optimisation settings; the paper's by default.
    seed : int
        Seeds shuffling (a dedicated ``torch.Generator``), dropout and any global randomness.
    groups_train : array or tensor, optional
        Binary group attribute of the training rows, shape (N,); required with a regulariser.
    regulariser : Regulariser, optional
        Penalty on the training batch's embeddings (:mod:`latentsep.regularise`). It is evaluated
        and logged even when ``lam == 0``, but then outside the autograd graph, so λ = 0 gives
        bitwise the same model as ``regulariser=None``.
    lam : float
        Penalty weight λ ≥ 0.
    device : torch.device or str, optional
        Defaults to :func:`latentsep.device.default_device`.
    progress : bool
        Show a tqdm bar over epochs.
    resume : TrainingState, optional
        Continue a run from this state (e.g. ``result.final_state`` of a shorter run with the same
        arguments): weights, optimiser, scheduler, early stopping, epoch counter and random
        streams are restored, and epochs ``resume.epoch + 1 … config.max_epochs`` run.

    Returns
    -------
    PretrainResult
        Best-epoch model, per-epoch history, selected epoch and seed.
    """
    config = config or PretrainConfig()
    n_classes = _check_model(model).out_features
    if not (isinstance(lam, int | float | np.floating) and math.isfinite(lam) and lam >= 0):
        raise ValueError(f"lam must be a finite number >= 0; got {lam!r}.")
    if regulariser is not None and not callable(regulariser):
        raise TypeError(
            f"regulariser must be callable as regulariser(z, y, a) -> Penalty (see "
            f"latentsep.regularise); got {type(regulariser).__name__}."
        )
    if lam > 0 and regulariser is None:
        raise ValueError(f"lam={lam} needs a regulariser; pass e.g. regulariser=TVSurrogate(), or lam=0.")
    x = _as_inputs(x_train, "x_train")
    xv = _as_inputs(x_val, "x_val")
    y = _as_targets(y_train, "y_train", len(x), n_classes)
    yv = _as_targets(y_val, "y_val", len(xv), n_classes)
    groups = None
    if regulariser is not None:
        if groups_train is None:
            raise ValueError(
                "groups_train is None but a regulariser was given; pass the training rows' 0/1 "
                "group attribute (shape (N,)) or drop the regulariser."
            )
        groups = torch.as_tensor(
            as_binary(torch.as_tensor(groups_train).cpu().numpy(), "groups_train", len(x))
        )
    device = torch.device(device) if device is not None else default_device()
    param_names = [name for name, p in model.named_parameters() if p.requires_grad]
    if resume is not None:
        ckpt.check_resume(resume, param_names, config.plateau_monitor, config.max_epochs,
                     config.early_stopping_patience)

    with torch_threads(config.num_threads):
        gen = seed_everything(seed)
        model = copy.deepcopy(model).to(device)
        x, y, xv, yv = x.to(device), y.to(device), xv.to(device), yv.to(device)
        param_groups: list[dict[str, Any]] = [{"params": [p for p in model.parameters() if p.requires_grad]}]
        reg = regulariser
        if isinstance(regulariser, nn.Module):
            reg = copy.deepcopy(regulariser).to(device)
            if lam > 0:
                # See GroupAdversary: its λ-scaled gradients make weight decay dominate.
                param_groups.append({"params": list(reg.parameters()), "weight_decay": 0.0})
        if groups is not None:
            groups = groups.to(device)
        opt_cls = torch.optim.Adam if config.optimizer == "adam" else torch.optim.AdamW
        optimizer = opt_cls(param_groups, lr=config.lr, weight_decay=config.weight_decay)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode=ckpt.plateau_mode(config.plateau_monitor), factor=config.plateau_factor,
            patience=config.plateau_patience
        )

        rows: list[dict[str, float]] = []
        best = -math.inf
        best_epoch, bad_epochs, first_epoch = 0, 0, 1
        best_state: dict[str, torch.Tensor] = {}
        if resume is not None:
            rows, best, best_epoch, bad_epochs, best_state = ckpt.restore(
                resume, model, optimizer, scheduler, gen, device)
            first_epoch = resume.epoch + 1

        def snapshot(epoch: int) -> ckpt.TrainingState:
            return ckpt.capture(epoch=epoch, model=model, optimizer=optimizer, scheduler=scheduler,
                           param_names=param_names, plateau_monitor=config.plateau_monitor,
                           best_score=best, best_epoch=best_epoch, bad_epochs=bad_epochs,
                           best_model=best_state, generator=gen, rows=rows)

        checkpoint = final = resume
        epochs = tqdm(range(first_epoch, config.max_epochs + 1), desc="train",
                      disable=not progress)
        for epoch in epochs:
            started = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            model.train()
            sums = {"train_loss": 0.0, "task_loss": 0.0, "penalty": 0.0}
            skipped = 0
            perm = torch.randperm(len(x), generator=gen).to(device)
            for start in range(0, len(x), config.batch_size):
                idx = perm[start : start + config.batch_size]
                yb = y[idx]
                z = model.embed(x[idx])
                task = F.cross_entropy(model.head(z), yb)
                loss = task
                if reg is not None:
                    if lam > 0:
                        penalty = reg(z, yb, groups[idx])
                        loss = task + lam * penalty.value
                    else:
                        with torch.no_grad():
                            penalty = reg(z.detach(), yb, groups[idx])
                    sums["penalty"] += penalty.value.item() * len(idx)
                    skipped += penalty.n_classes_skipped
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                sums["train_loss"] += loss.item() * len(idx)
                sums["task_loss"] += task.item() * len(idx)

            logits = _batched(model, model, xv, config.eval_batch_size).to(device)
            pred = logits.argmax(1)
            val_bacc = float(balanced_accuracy(yv.cpu().numpy(), pred.cpu().numpy()))
            val_loss = float(F.cross_entropy(logits, yv))
            scheduler.step(val_loss if config.plateau_monitor == "val_loss" else val_bacc)
            row = {k: v / len(x) for k, v in sums.items()}
            if reg is None:
                row["penalty"] = math.nan
            rows.append(
                {
                    "epoch": epoch,
                    "lr": lr,
                    **row,
                    "skipped_classes": skipped,
                    "val_loss": val_loss,
                    "val_accuracy": float((pred == yv).float().mean()),
                    "val_balanced_accuracy": val_bacc,
                    "seconds": time.perf_counter() - started,
                }
            )
            epochs.set_postfix(val_bacc=f"{val_bacc:.4f}")
            if val_bacc > best:
                best, best_epoch, bad_epochs = val_bacc, epoch, 0
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                checkpoint = snapshot(epoch)
            else:
                bad_epochs += 1
            final = snapshot(epoch)
            if bad_epochs >= config.early_stopping_patience:
                break
        epochs.close()
        model.load_state_dict(best_state)
    return PretrainResult(
        model=model.eval(),
        history=pd.DataFrame(rows),
        best_epoch=best_epoch,
        best_val_balanced_accuracy=best,
        stopped_early=len(rows) < config.max_epochs,
        seed=seed,
        lam=float(lam),
        config=config,
        checkpoint=checkpoint,
        final_state=final,
    )


def build_model(factory: Callable[[], nn.Module], seed: int) -> nn.Module:
    """Construct ``factory()`` with its random initialisation seeded by ``seed``.

    The global random state is left untouched (``torch.random.fork_rng``), so building a model
    never shifts other random streams.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return factory()


def train_from_scratch(
    factory: Callable[[], nn.Module],
    x_train: ArrayLike,
    y_train: ArrayLike,
    x_val: ArrayLike,
    y_val: ArrayLike,
    *,
    seed: int,
    **kwargs: Any,
) -> PretrainResult:
    """Train a fresh ``factory()`` model, initialised from ``seed``, with :func:`pretrain`.

    This is both the paper's pre-training (on the pre-training split) and the "from scratch"
    ablation (on an allocated fine-tuning set). ``kwargs`` are :func:`pretrain`'s keywords.
    """
    return pretrain(build_model(factory, seed), x_train, y_train, x_val, y_val, seed=seed, **kwargs)


def finetune_full(
    model: nn.Module,
    x_train: ArrayLike,
    y_train: ArrayLike,
    x_val: ArrayLike,
    y_val: ArrayLike,
    *,
    seed: int,
    reinit_head: bool = True,
    **kwargs: Any,
) -> PretrainResult:
    """Full-fine-tuning ablation: a pre-trained model with every layer trainable.

    As in last-layer retraining, the head is re-initialised (seeded by ``seed``) unless
    ``reinit_head=False``; the encoder starts from the pre-trained weights. ``model`` is not
    modified. ``kwargs`` are :func:`pretrain`'s keywords.
    """
    _check_model(model)
    start = copy.deepcopy(model)
    start.requires_grad_(True)
    if reinit_head:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            start.head.reset_parameters()
    return pretrain(start, x_train, y_train, x_val, y_val, seed=seed, **kwargs)
