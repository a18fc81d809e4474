"""Where last-layer retraining starts: a fresh head, the pre-trained head, or the pre-training run.

Three head starts for :func:`latentsep.heads.fit_heads` (and the sweeps built on it):

- ``"fresh"`` -- a re-initialised head (Kaiming-normal weights, zero biases, per-run seed), as the
  paper's text describes last-layer retraining (§5) and as the authors' MIMIC module does;
- ``"pretrained"`` -- every run starts from the pre-trained model's own head weights, with a new
  optimiser and schedule (a plain warm start);
- ``"resumed"`` -- the authors' coloured-MNIST code: their Lightning module keeps the head and
  ``train.py`` calls ``trainer.fit(ckpt_path=<pre-training checkpoint>)``, which restores the
  optimiser, the learning-rate schedule, the epoch counter and the early-stopping state too.

How the checkpoint of a whole-network pre-training run maps onto a head trained on frozen
embeddings (the head's parameters only; :func:`latentsep.models.checkpoint.head_moments`):

- weights: the head's weights of the checkpoint (its best epoch, so also the ``"pretrained"`` ones);
- Adam: the head's first and second moments and its step count (bias correction continues from
  there); the encoder's moments are irrelevant, as its frozen parameters get no gradient;
- learning rate: the checkpoint's (after any plateau reductions); weight decay, betas and the
  schedule's factor and patience come from the :class:`~latentsep.heads.HeadConfig` (the authors
  use the same values in both phases);
- ``ReduceLROnPlateau``: its best monitored value and epochs without improvement. Both were measured
  on the *pre-training* validation set, as in the authors' runs; the monitor must be the one the
  head trains with (``HeadConfig.plateau_monitor``), else the state means nothing and is refused;
- epoch counter: the checkpoint's epoch ``E``; only epochs ``E + 1 … max_epochs`` run, and
  ``best_epoch`` / ``epochs_run`` count from the start of pre-training. With no epoch left the
  result is the checkpoint's head (Lightning then tests the restored checkpoint);
- early stopping: its best validation balanced accuracy and wait count carry over (the run stops
  after ``early_stopping_patience`` epochs that do not beat the *pre-training* best), while the
  choice of the kept weights starts afresh on the new validation set (Lightning's checkpoint
  callback does not restore its best score when the output directory changes).

Not replicated: the shuffling order (a fresh generator per run, as for the other starts) and
Lightning's bookkeeping of the checkpointed epoch's plateau step (ours includes it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch

from latentsep.checks import check_choice
from latentsep.models.checkpoint import HeadMoments, TrainingState, head_moments
from latentsep.store import fingerprint

HEAD_STARTS = ("fresh", "pretrained", "resumed")


@dataclass(frozen=True)
class HeadStart:
    """The starting point of every run of a head fit.

    Build it with :meth:`fresh`, :meth:`pretrained` or :meth:`resumed`.

    Attributes
    ----------
    mode : {"fresh", "pretrained", "resumed"}
    weight, bias : numpy.ndarray or None
        Starting head weights (C, D) and biases (C,); None for ``"fresh"``.
    moments : HeadMoments or None
        Optimiser, schedule, early-stopping state and epoch counter (``"resumed"`` only).
    """

    mode: str = "fresh"
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    moments: HeadMoments | None = None

    def __post_init__(self) -> None:
        check_choice(self.mode, "head_start", HEAD_STARTS)
        if (self.mode == "fresh") != (self.weight is None):
            raise ValueError(f"head_start {self.mode!r} needs starting weights exactly when it is not "
                             "'fresh'; build it with HeadStart.pretrained(...) or .resumed(...).")
        if (self.mode == "resumed") != (self.moments is not None):
            raise ValueError("only head_start 'resumed' carries optimiser state; build it with "
                             "HeadStart.resumed(checkpoint).")

    @classmethod
    def fresh(cls) -> HeadStart:
        """Re-initialised heads (the default)."""
        return cls()

    @classmethod
    def pretrained(cls, state_dict: Mapping[str, torch.Tensor], head: str = "head") -> HeadStart:
        """Start from the linear layer ``head`` of a pre-trained model's ``state_dict``."""
        names = (f"{head}.weight", f"{head}.bias")
        if any(n not in state_dict for n in names):
            raise ValueError(f"state_dict has no {list(names)}; it holds {list(state_dict)[:6]}…. "
                             "Pass head=<name of the model's last linear layer>.")
        weight, bias = (torch.as_tensor(state_dict[n]).detach().cpu().double().numpy() for n in names)
        return cls("pretrained", weight, bias)

    @classmethod
    def resumed(cls, checkpoint: TrainingState, head: str = "head") -> HeadStart:
        """Continue the pre-training run ``checkpoint`` on the head alone (see the module notes)."""
        if not isinstance(checkpoint, TrainingState):
            raise ValueError(f"checkpoint must be a TrainingState (PretrainResult.checkpoint or "
                             f"EncoderRun.checkpoint); got {type(checkpoint).__name__}.")
        moments = head_moments(checkpoint, head)
        return cls("resumed", moments.weight, moments.bias, moments)

    def fingerprint(self) -> str:
        """Hash of everything the start feeds into training (for cache keys); "" when fresh."""
        if self.mode == "fresh":
            return ""
        arrays = [self.weight, self.bias]
        if self.moments is not None:
            m = self.moments
            scalars = [m.step, m.lr, m.plateau_best, m.plateau_bad, m.stop_best, m.stop_wait, m.epoch]
            arrays += [*m.exp_avg, *m.exp_avg_sq, np.asarray(scalars, dtype=np.float64),
                       np.asarray(list(m.plateau_monitor), dtype="U1")]
        return f"{self.mode}:{fingerprint(*arrays)}"

    def check(self, n_features: int, n_classes: int, kind: str, plateau_monitor: str) -> None:
        """Raise unless this start fits a head of this shape, kind and plateau monitor."""
        if self.mode == "fresh":
            return
        if kind != "linear":
            raise ValueError(f"head_start {self.mode!r} starts from a linear head; HeadConfig.kind "
                             f"is {kind!r}. Use kind='linear' or head_start='fresh'.")
        if self.weight.shape != (n_classes, n_features):
            raise ValueError(f"the starting head has shape {self.weight.shape} but the embeddings "
                             f"and labels need ({n_classes}, {n_features}); start from the head of "
                             "the encoder that produced these embeddings.")
        if self.moments is not None and self.moments.plateau_monitor != plateau_monitor:
            raise ValueError(
                f"the resumed checkpoint's scheduler monitored {self.moments.plateau_monitor!r} but "
                f"HeadConfig.plateau_monitor is {plateau_monitor!r}; pre-train and retrain with the "
                "same plateau_monitor.")


def as_start(start: HeadStart | None) -> HeadStart:
    """``start``, or a fresh start for None; raises for anything else."""
    if start is None:
        return HeadStart.fresh()
    if not isinstance(start, HeadStart):
        raise ValueError(f"start must be a HeadStart (HeadStart.fresh(), .pretrained(state_dict) "
                         f"or .resumed(checkpoint)); got {type(start).__name__}.")
    return start


@dataclass
class StartState:
    """Per-run tensors and scalars a head fit starts from (built by :func:`start_state`)."""

    params: list[torch.Tensor]
    m: list[torch.Tensor]
    v: list[torch.Tensor]
    step: int
    lr: float
    plateau_best: float
    plateau_bad: int
    stop_best: float
    stop_wait: int
    epoch: int


def start_state(start: HeadStart, fresh_params: list[torch.Tensor], lr: float,
                plateau_best: float) -> StartState:
    """The stacked starting state of R runs.

    ``fresh_params`` are the runs' freshly initialised weights and zero biases (drawn whatever the
    start, so every start consumes the runs' random streams alike and shuffles alike); ``lr`` and
    ``plateau_best`` are the fresh values of the configuration and the monitor.
    """
    zeros = [torch.zeros_like(p) for p in fresh_params]
    if start.mode == "fresh":
        return StartState(fresh_params, zeros, [torch.zeros_like(p) for p in fresh_params], 0, lr,
                          plateau_best, 0, -np.inf, 0, 0)
    like = fresh_params[0]

    def stacked(weight: np.ndarray, bias: np.ndarray) -> list[torch.Tensor]:
        n_runs = like.shape[0]
        w = torch.as_tensor(weight, dtype=like.dtype, device=like.device)
        b = torch.as_tensor(bias, dtype=like.dtype, device=like.device)
        return [w.expand(n_runs, *w.shape).clone(), b.expand(n_runs, 1, *b.shape).clone()]

    params = stacked(start.weight, start.bias)
    m = start.moments
    if m is None:
        return StartState(params, zeros, [torch.zeros_like(p) for p in params], 0, lr, plateau_best,
                          0, -np.inf, 0, 0)
    return StartState(params, stacked(*m.exp_avg), stacked(*m.exp_avg_sq), m.step, m.lr,
                      m.plateau_best, m.plateau_bad, m.stop_best, m.stop_wait, m.epoch)
