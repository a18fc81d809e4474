"""Training checkpoints: everything a run needs to continue exactly where it stopped.

:func:`latentsep.models.pretrain` records a :class:`TrainingState` at its best epoch (the
*checkpoint*, what a Lightning ``ModelCheckpoint`` monitoring validation balanced accuracy keeps,
as in the authors' code) and at its last epoch, and continues from one when given
``resume=...``: weights, Adam's moments and step counts, the learning rate and the
``ReduceLROnPlateau`` state, the epoch counter (only the remaining epochs of ``max_epochs`` run),
the early-stopping state (best score, its epoch and weights, epochs without improvement), the
shuffling generator and torch's global random state (dropout). A run resumed from its own state
after N1 epochs therefore equals the run trained N epochs in one go, bit for bit on CPU
(tests/test_models.py).

:func:`head_moments` reads the linear head's share of a state, for last-layer retraining that
starts where pre-training stopped (:mod:`latentsep.headstart`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from latentsep.checks import check_choice

PLATEAU_MONITORS = ("val_balanced_accuracy", "val_loss")
"""What ``ReduceLROnPlateau`` watches: validation balanced accuracy (mode "max", ours) or
validation cross-entropy (mode "min", the authors' ``monitor="val/loss"``). Early stopping and the
choice of the kept weights always use validation balanced accuracy."""


def plateau_mode(monitor: str) -> str:
    """``ReduceLROnPlateau`` mode of a monitor: "max" for balanced accuracy, "min" for loss."""
    check_choice(monitor, "plateau_monitor", PLATEAU_MONITORS)
    return "min" if monitor == "val_loss" else "max"


@dataclass
class TrainingState:
    """A training run after ``epoch`` completed epochs (a checkpoint; all tensors on CPU).

    Attributes
    ----------
    epoch : int
        Completed epochs (1-based count; the next epoch run is ``epoch + 1``).
    model : dict[str, torch.Tensor]
        The weights at the end of that epoch.
    optimizer, scheduler : dict
        ``state_dict()`` of the Adam/AdamW optimiser (moments, step counts, learning rates) and of
        ``ReduceLROnPlateau`` (best monitored value, epochs without improvement, …).
    param_names : list of str
        Names of the optimiser's first parameter group, in order (``model.named_parameters()``
        that require gradients): maps ``optimizer["state"][i]`` to a weight.
    plateau_monitor : str
        What the scheduler monitored (one of :data:`PLATEAU_MONITORS`).
    best_score, best_epoch, bad_epochs : float, int, int
        Early stopping: best validation balanced accuracy so far, its epoch, epochs since.
    best_model : dict[str, torch.Tensor]
        Weights of ``best_epoch`` (restored at the end of training).
    generator, torch_rng : torch.Tensor
        States of the shuffling generator and of torch's global generator.
    history : pandas.DataFrame
        The per-epoch log so far.
    """

    epoch: int
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    param_names: list[str]
    plateau_monitor: str
    best_score: float
    best_epoch: int
    bad_epochs: int
    best_model: dict[str, torch.Tensor]
    generator: torch.Tensor
    torch_rng: torch.Tensor
    history: pd.DataFrame


def _cpu(obj: Any) -> Any:
    """Deep copy of ``obj`` with every tensor detached on the CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().clone()
    if isinstance(obj, dict):
        return {k: _cpu(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_cpu(v) for v in obj)
    return copy.deepcopy(obj)


def capture(*, epoch, model, optimizer, scheduler, param_names, plateau_monitor, best_score,
            best_epoch, bad_epochs, best_model, generator, rows) -> TrainingState:
    """Snapshot of a running :func:`latentsep.models.pretrain` loop (copies; draws no numbers)."""
    return TrainingState(
        epoch=epoch, model=_cpu(model.state_dict()), optimizer=_cpu(optimizer.state_dict()),
        scheduler=_cpu(scheduler.state_dict()), param_names=list(param_names),
        plateau_monitor=plateau_monitor, best_score=float(best_score), best_epoch=int(best_epoch),
        bad_epochs=int(bad_epochs), best_model=_cpu(best_model),
        generator=generator.get_state().clone(), torch_rng=torch.get_rng_state().clone(),
        history=pd.DataFrame(rows))


def restore(state: TrainingState, model, optimizer, scheduler, generator, device) -> tuple:
    """Load ``state`` into a fresh loop; return its history rows and early-stopping state."""
    model.load_state_dict(state.model)
    optimizer.load_state_dict(state.optimizer)
    scheduler.load_state_dict(state.scheduler)
    generator.set_state(state.generator)
    torch.set_rng_state(state.torch_rng)
    best_model = {k: v.to(device) for k, v in state.best_model.items()}
    return (state.history.to_dict("records"), state.best_score, state.best_epoch,
            state.bad_epochs, best_model)


def check_resume(state: TrainingState, param_names: list[str], plateau_monitor: str,
                 max_epochs: int, patience: int) -> None:
    """Raise unless ``state`` can continue a run of a model with ``param_names`` and these settings."""
    if not isinstance(state, TrainingState):
        raise ValueError(f"resume must be a TrainingState (e.g. result.final_state); got "
                         f"{type(state).__name__}.")
    if state.param_names != param_names:
        raise ValueError(f"resume holds a state of parameters {state.param_names[:4]}…, not of "
                         f"this model's {param_names[:4]}…; resume the same architecture.")
    if state.plateau_monitor != plateau_monitor:
        raise ValueError(
            f"resume's scheduler monitored {state.plateau_monitor!r} but plateau_monitor is "
            f"{plateau_monitor!r}; resume with the monitor the state was trained with.")
    if state.epoch >= max_epochs:
        raise ValueError(f"resume is at epoch {state.epoch}, so max_epochs={max_epochs} leaves "
                         "nothing to train; raise max_epochs.")
    if state.bad_epochs >= patience:
        raise ValueError(f"the resumed run had already stopped early ({state.bad_epochs} epochs "
                         f"without improvement, patience {patience}); raise "
                         "early_stopping_patience to continue it.")


def to_bytes_dict(state: TrainingState) -> dict[str, Any]:
    """Plain dict of ``state`` for ``torch.save`` (history as a list of records)."""
    out = {name: getattr(state, name) for name in TrainingState.__dataclass_fields__}
    out["history"] = state.history.to_dict("records")
    return out


def from_bytes_dict(raw: dict[str, Any]) -> TrainingState:
    """Inverse of :func:`to_bytes_dict`."""
    return TrainingState(**{**raw, "history": pd.DataFrame(raw["history"])})


@dataclass(frozen=True)
class HeadMoments:
    """The linear head's part of a :class:`TrainingState`, for a head that resumes from it.

    Attributes
    ----------
    weight, bias : numpy.ndarray
        Head weights at the state's epoch, (C, D) and (C,).
    exp_avg, exp_avg_sq : tuple of numpy.ndarray
        Adam's first and second moments of (weight, bias).
    step : int
        Adam's step count of the head's parameters.
    lr : float
        Learning rate at the end of the state's epoch.
    plateau_best : float
        Best monitored value of the scheduler; ``plateau_bad``: epochs without improvement.
    plateau_bad : int
    plateau_monitor : str
    stop_best : float
        Early stopping's best validation balanced accuracy (measured on the pre-training
        validation set); ``stop_wait``: epochs since it.
    stop_wait : int
    epoch : int
        Completed epochs (the epoch counter).
    """

    weight: np.ndarray
    bias: np.ndarray
    exp_avg: tuple[np.ndarray, np.ndarray]
    exp_avg_sq: tuple[np.ndarray, np.ndarray]
    step: int
    lr: float
    plateau_best: float
    plateau_bad: int
    plateau_monitor: str
    stop_best: float
    stop_wait: int
    epoch: int


def head_moments(state: TrainingState, head: str = "head") -> HeadMoments:
    """The linear layer ``head`` of a checkpoint: its weights, Adam state and the run's schedules.

    Raises
    ------
    ValueError
        When ``state`` has no parameters ``<head>.weight`` / ``<head>.bias`` or no optimiser
        state for them (a run that never took a step).
    """
    names = [f"{head}.weight", f"{head}.bias"]
    missing = [n for n in names if n not in state.param_names]
    if missing:
        raise ValueError(
            f"the training state has no trainable parameters {missing}; it holds "
            f"{state.param_names[:6]}…. Pass head=<name of the model's last linear layer>."
        )
    slots = [state.optimizer["state"].get(state.param_names.index(n)) for n in names]
    if any(s is None for s in slots):
        raise ValueError("the training state has no optimiser moments for the head (no step was "
                         "taken); resume from a state of a run that trained at least one batch.")
    scheduler = state.scheduler
    return HeadMoments(
        weight=state.model[names[0]].double().numpy(),
        bias=state.model[names[1]].double().numpy(),
        exp_avg=tuple(s["exp_avg"].double().numpy() for s in slots),
        exp_avg_sq=tuple(s["exp_avg_sq"].double().numpy() for s in slots),
        step=int(float(slots[0]["step"])),
        lr=float(state.optimizer["param_groups"][0]["lr"]),
        plateau_best=float(scheduler["best"]),
        plateau_bad=int(scheduler["num_bad_epochs"]),
        plateau_monitor=state.plateau_monitor,
        stop_best=state.best_score,
        stop_wait=state.bad_epochs,
        epoch=state.epoch,
    )
