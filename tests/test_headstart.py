"""Head starts of last-layer retraining: fresh, pre-trained head, resumed pre-training run (issue 13)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentsep.heads import HeadConfig, fit_heads
from latentsep.headstart import HeadStart
from latentsep.models import PretrainConfig, TabularMLP, build_model, embed_array, pretrain

N_TRAIN, N_VAL = 240, 80
SETTINGS = {"lr": 0.05, "weight_decay": 1e-3, "batch_size": N_TRAIN, "early_stopping_patience": 3,
            "plateau_patience": 0}


def problem(seed: int = 0):
    """Tabular rows: y from a linear rule with label noise (so validation accuracy plateaus)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N_TRAIN + N_VAL, 10)).astype(np.float32)
    y = ((x[:, 0] + x[:, 1] + rng.normal(scale=0.8, size=len(x))) > 0).astype(np.int64)
    return x, y


def frozen_encoder_run(max_epochs: int, monitor: str = "val_balanced_accuracy"):
    """Pre-training with the encoder frozen: only the head trains, full batch (order-free)."""
    x, y = problem()
    model = build_model(lambda: TabularMLP(10, hidden=(16,), dropout=0.0), seed=1)
    model.body.requires_grad_(False)
    config = PretrainConfig(max_epochs=max_epochs, num_threads=1, plateau_monitor=monitor,
                            **SETTINGS)
    result = pretrain(model, x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:], seed=0,
                      config=config, progress=False, device="cpu")
    return result, embed_array(model, x), y


def head_config(max_epochs: int, monitor: str = "val_balanced_accuracy") -> HeadConfig:
    return HeadConfig(max_epochs=max_epochs, plateau_monitor=monitor, **SETTINGS)


def fit(z, y, config, start):
    train, val = np.arange(N_TRAIN)[None], np.arange(N_TRAIN, N_TRAIN + N_VAL)[None]
    return fit_heads(z, y, train, val, [0], config, device="cpu", start=start)


@pytest.mark.parametrize("monitor", ["val_balanced_accuracy", "val_loss"])
def test_a_head_resumed_from_a_checkpoint_continues_that_run(monitor) -> None:
    # Acceptance 4: with the encoder frozen, pre-training N epochs in one go and pre-training N1
    # epochs, then retraining the head from that state for the rest, are the same run: same
    # per-epoch validation accuracy and training loss, learning-rate reductions, epochs and stop.
    whole, z, y = frozen_encoder_run(25, monitor)
    first, _, _ = frozen_encoder_run(4, monitor)
    heads = fit(z, y, head_config(25, monitor), HeadStart.resumed(first.final_state))
    n = len(whole.history)
    assert heads.epochs_run[0] == n > 4  # the epoch counter carried over; early stopping fired
    assert n < 25 and whole.stopped_early
    np.testing.assert_array_equal(heads.history["val_balanced_accuracy"][0, 4:n],
                                  whole.history["val_balanced_accuracy"][4:])
    assert np.isnan(heads.history["val_balanced_accuracy"][0, :4]).all()
    np.testing.assert_allclose(heads.history["train_loss"][0, 4:n], whole.history["train_loss"][4:],
                               rtol=1e-5)
    assert whole.history["lr"].nunique() > 1  # the schedule acted
    assert heads.final_lr[0] == pytest.approx(whole.final_state.optimizer["param_groups"][0]["lr"])


def test_early_stopping_carries_over_but_selection_starts_afresh() -> None:
    # From the best-epoch checkpoint (wait 0), the run stops after `patience` epochs that do not
    # beat the pre-training best, and keeps the best of the epochs it ran.
    whole, z, y = frozen_encoder_run(25)
    heads = fit(z, y, head_config(25), HeadStart.resumed(whole.checkpoint))
    start = whole.checkpoint.epoch
    scores = heads.history["val_balanced_accuracy"][0]
    ran = scores[start : heads.epochs_run[0]]
    assert np.isfinite(ran).all() and np.isnan(scores[heads.epochs_run[0]:]).all()
    best, wait, stop = whole.checkpoint.best_score, whole.checkpoint.bad_epochs, None
    for epoch, score in enumerate(ran, start + 1):  # early stopping replayed from the checkpoint
        best, wait = (score, 0) if score > best else (best, wait + 1)
        if wait >= SETTINGS["early_stopping_patience"]:
            stop = epoch
            break
    assert stop == heads.epochs_run[0]
    assert heads.best_epoch[0] == start + 1 + int(np.argmax(ran))  # the best epoch it ran


def test_no_epoch_left_returns_the_checkpoint_head() -> None:
    whole, z, y = frozen_encoder_run(6)
    state = whole.final_state
    heads = fit(z, y, head_config(state.epoch), HeadStart.resumed(state))
    assert heads.epochs_run[0] == heads.best_epoch[0] == state.epoch
    torch.testing.assert_close(heads.params[0][0].double(), state.model["head.weight"].double())


def test_pretrained_start_begins_at_the_pretrained_head_with_a_fresh_optimiser() -> None:
    whole, z, y = frozen_encoder_run(6)
    start = HeadStart.pretrained(whole.model.state_dict())
    # lr so small that the weights cannot move: the kept head is the starting head
    heads = fit(z, y, HeadConfig(max_epochs=1, lr=1e-12, batch_size=N_TRAIN), start)
    torch.testing.assert_close(heads.params[0][0].double(),
                               whole.model.state_dict()["head.weight"].double())
    fresh = fit(z, y, HeadConfig(max_epochs=1, lr=1e-12, batch_size=N_TRAIN), None)
    assert not torch.allclose(fresh.params[0][0], heads.params[0][0])
    assert heads.epochs_run[0] == 1 and heads.final_lr[0] == 1e-12


def test_head_starts_are_validated_and_fingerprinted() -> None:
    whole, z, y = frozen_encoder_run(25)
    assert whole.checkpoint.epoch < whole.final_state.epoch
    resumed = HeadStart.resumed(whole.checkpoint)
    with pytest.raises(ValueError, match="kind='linear'"):
        fit(z, y, HeadConfig(kind="mlp"), resumed)
    with pytest.raises(ValueError, match="monitored 'val_balanced_accuracy'"):
        fit(z, y, head_config(9, "val_loss"), resumed)
    with pytest.raises(ValueError, match=r"shape \(2, 16\)"):
        fit(z[:, :8], y, HeadConfig(), resumed)
    with pytest.raises(ValueError, match="start must be a HeadStart"):
        fit(z, y, HeadConfig(), "resumed")
    with pytest.raises(ValueError, match="unknown head_start 'warm'"):
        HeadStart("warm")
    with pytest.raises(ValueError, match=r"no \['encoder.weight'"):
        HeadStart.pretrained(whole.model.state_dict(), head="encoder")
    with pytest.raises(ValueError, match="must be a TrainingState"):
        HeadStart.resumed(whole.model.state_dict())
    prints = {HeadStart.fresh().fingerprint(), resumed.fingerprint(),
              HeadStart.pretrained(whole.model.state_dict()).fingerprint(),
              HeadStart.resumed(whole.final_state).fingerprint()}
    assert len(prints) == 4 and "" in prints
