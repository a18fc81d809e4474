"""SimpleCNN, TabularMLP and the shared training loop: shapes, determinism, learning, λ = 0."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from latentsep.models import (
    PretrainConfig,
    SimpleCNN,
    TabularMLP,
    build_model,
    embed_array,
    finetune_full,
    predict_proba,
    pretrain,
    train_from_scratch,
)
from latentsep.regularise import GroupAdversary, MMDPenalty, TVSurrogate, tv_surrogate

FAST = PretrainConfig(max_epochs=2, num_threads=1)


def coloured_blobs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """3×28×28 images: a bright 8×8 square in the top (y = 1) or bottom (y = 0) half, drawn in
    the red (a = 0) or green (a = 1) channel, on uniform noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    a = rng.integers(0, 2, n)
    x = rng.random((n, 3, 28, 28), dtype=np.float32) * 0.3
    rows = np.where(y == 1, rng.integers(0, 6, n), rng.integers(14, 20, n))
    cols = rng.integers(0, 20, n)
    for i in range(n):
        x[i, a[i], rows[i] : rows[i] + 8, cols[i] : cols[i] + 8] = 1.0
    return x, y, a


def tabular(n: int, seed: int, d: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gaussian features; y from a linear rule, group a shifts features 2-4 by +2 (separable)."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    x = rng.normal(size=(n, d)).astype(np.float32)
    x[:, 2:5] += 2.0 * a[:, None]
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    return x, y, a


def same_weights(m1: torch.nn.Module, m2: torch.nn.Module) -> bool:
    s1, s2 = m1.state_dict(), m2.state_dict()
    return s1.keys() == s2.keys() and all(torch.equal(s1[k], s2[k]) for k in s1)


def test_simple_cnn_matches_the_paper_architecture() -> None:
    model = SimpleCNN()
    x = torch.rand(5, 3, 28, 28)
    assert model.embed(x).shape == (5, 1568) and model.embedding_dim == 1568
    assert model(x).shape == (5, 2)
    assert isinstance(model.head, torch.nn.Linear) and model.head.in_features == 1568
    # conv1 3·16·25 + 16, conv2 16·32·25 + 32, head 1568·2 + 2
    assert sum(p.numel() for p in model.parameters()) == 1216 + 12832 + 3138 == 17186
    assert torch.equal(model(x), model.head(model.embed(x)))
    with pytest.raises(ValueError, match=r"x must have shape \(N, 3, 28, 28\)"):
        model.embed(torch.rand(2, 1, 28, 28))
    with pytest.raises(ValueError, match="divisible by 4"):
        SimpleCNN(image_size=30)


def test_tabular_mlp_embedding_is_the_last_hidden_layer() -> None:
    model = TabularMLP(10).eval()
    x = torch.randn(7, 10)
    z = model.embed(x)
    assert z.shape == (7, 64) and model.embedding_dim == 64 and (z >= 0).all()
    assert sum(p.numel() for p in model.parameters()) == (10 * 128 + 128) + (128 * 64 + 64) + (64 * 2 + 2)
    assert torch.equal(model(x), model.head(z))
    assert torch.equal(model.embed(x), z)  # deterministic in eval mode despite dropout
    with pytest.raises(ValueError, match="TabularMLP"):
        model.embed(torch.randn(3, 9))


def test_pretrain_is_deterministic_for_a_seed() -> None:
    x, y, _ = coloured_blobs(300, seed=0)
    xv, yv, _ = coloured_blobs(100, seed=1)
    runs = [
        train_from_scratch(SimpleCNN, x, y, xv, yv, seed=s, config=FAST, progress=False) for s in (5, 5, 6)
    ]
    assert same_weights(runs[0].model, runs[1].model)
    assert not same_weights(runs[0].model, runs[2].model)
    cols = ["train_loss", "val_loss", "val_balanced_accuracy"]
    assert runs[0].history[cols].equals(runs[1].history[cols])
    assert runs[0].seed == 5 and runs[0].history["epoch"].tolist() == [1, 2]


def test_cnn_learns_a_separable_image_task_and_restores_the_best_epoch() -> None:
    x, y, _ = coloured_blobs(600, seed=2)
    xv, yv, _ = coloured_blobs(200, seed=3)
    result = train_from_scratch(
        SimpleCNN, x, y, xv, yv, seed=0, config=PretrainConfig(max_epochs=3, num_threads=1), progress=False
    )
    hist = result.history
    assert result.best_val_balanced_accuracy > 0.9
    assert result.best_epoch == int(hist["epoch"][hist["val_balanced_accuracy"].idxmax()])
    pred = predict_proba(result.model, xv).argmax(1)
    recomputed = np.mean([(pred[yv == c] == c).mean() for c in (0, 1)])
    assert recomputed == pytest.approx(result.best_val_balanced_accuracy, abs=1e-6)
    assert not result.model.training


def test_early_stopping_and_plateau_schedule() -> None:
    x, y, _ = tabular(200, seed=4)
    config = PretrainConfig(lr=1e-6, max_epochs=10, early_stopping_patience=3, plateau_patience=0)
    result = pretrain(TabularMLP(10), x, y, x[:50], y[:50], seed=0, config=config, progress=False)
    # A learning rate of 1e-6 does not move validation accuracy: epoch 1 is the best, three
    # epochs without strict improvement stop the run, and with patience 0 every one of them
    # divides the learning rate by 10.
    assert result.stopped_early and len(result.history) == 4 and result.best_epoch == 1
    np.testing.assert_allclose(result.history["lr"], [1e-6, 1e-6, 1e-7, 1e-8], rtol=1e-9)


@pytest.mark.parametrize(
    "make_regulariser",
    [TVSurrogate, MMDPenalty, lambda: GroupAdversary(64, seed=1)],
    ids=["tv", "mmd", "adversary"],
)
def test_lambda_zero_reproduces_the_unregularised_model_exactly(make_regulariser) -> None:
    # TabularMLP has dropout, so any random draw by the regulariser would shift the stream.
    x, y, a = tabular(300, seed=5)
    model = build_model(lambda: TabularMLP(10), seed=0)
    data = (model, x, y, x[:80], y[:80])
    kw = dict(seed=1, config=FAST, progress=False)
    plain = pretrain(*data, **kw)
    zero = pretrain(*data, **kw, groups_train=a, regulariser=make_regulariser(), lam=0.0)
    assert same_weights(plain.model, zero.model)
    assert plain.history["train_loss"].equals(zero.history["train_loss"])
    assert plain.history["penalty"].isna().all() and zero.history["penalty"].notna().all()
    small = pretrain(*data, **kw, groups_train=a, regulariser=make_regulariser(), lam=1e-3)
    assert not same_weights(plain.model, small.model)


def test_tv_penalty_reduces_class_conditional_separation() -> None:
    x, y, a = tabular(600, seed=6)
    config = PretrainConfig(max_epochs=8, num_threads=1)

    def separation(lam: float) -> float:
        res = pretrain(
            build_model(lambda: TabularMLP(10), seed=0),
            x,
            y,
            x[:150],
            y[:150],
            seed=0,
            config=config,
            groups_train=a,
            regulariser=TVSurrogate(),
            lam=lam,
            progress=False,
        )
        z = torch.as_tensor(embed_array(res.model, x))
        return tv_surrogate(z, torch.as_tensor(y), torch.as_tensor(a)).item()

    assert separation(10.0) < 0.5 * separation(0.0)


def test_finetune_full_trains_every_layer_from_a_reinitialised_head() -> None:
    x, y, _ = tabular(300, seed=7)
    pre = pretrain(TabularMLP(10), x, y, x[:80], y[:80], seed=0, config=FAST, progress=False).model
    before = {k: v.clone() for k, v in pre.state_dict().items()}
    runs = [
        finetune_full(pre, x, 1 - y, x[:80], 1 - y[:80], seed=3, config=FAST, progress=False)
        for _ in range(2)
    ]
    assert same_weights(runs[0].model, runs[1].model)
    assert all(torch.equal(before[k], v) for k, v in pre.state_dict().items())  # input untouched
    tuned = runs[0].model.state_dict()
    assert all(not torch.equal(before[k], tuned[k]) for k in before)  # encoder moved too
    # With no epochs to speak of, the starting head is the seeded re-initialisation.
    fresh = build_model(lambda: torch.nn.Linear(64, 2), seed=3)
    slow = PretrainConfig(lr=1e-30, max_epochs=1, weight_decay=0.0)
    start = finetune_full(pre, x, y, x[:80], y[:80], seed=3, config=slow, progress=False).model
    assert torch.equal(start.head.weight, fresh.weight)
    assert not torch.equal(start.head.weight, pre.head.weight)
    assert torch.equal(start.body[0].weight, pre.body[0].weight)


def test_build_model_is_seeded_and_leaves_the_global_stream_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    m1, m2 = build_model(SimpleCNN, 4), build_model(SimpleCNN, 4)
    assert torch.equal(torch.rand(3), expected)
    assert same_weights(m1, m2) and not same_weights(m1, build_model(SimpleCNN, 5))


def test_embed_array_and_predict_proba() -> None:
    model = SimpleCNN().train()
    x = np.random.default_rng(8).random((37, 3, 28, 28), dtype=np.float32)
    z = embed_array(model, x, batch_size=10)
    assert z.shape == (37, 1568) and z.dtype == np.float32 and model.training
    with torch.no_grad():
        np.testing.assert_allclose(z, model.embed(torch.as_tensor(x)).numpy(), rtol=1e-5, atol=1e-6)
    proba = predict_proba(model, x)
    assert proba.shape == (37, 2)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)


def test_bad_arguments_raise_with_a_fix() -> None:
    x, y, a = tabular(50, seed=9)
    model = TabularMLP(10)
    kw = {"seed": 0, "config": FAST, "progress": False}
    with pytest.raises(ValueError, match=r"y_train must lie in 0\.\.1"):
        pretrain(model, x, y + 1, x, y, **kw)
    with pytest.raises(ValueError, match="y_val has 49 entries"):
        pretrain(model, x, y, x, y[:49], **kw)
    with pytest.raises(ValueError, match="needs a regulariser"):
        pretrain(model, x, y, x, y, lam=0.1, **kw)
    with pytest.raises(ValueError, match="groups_train is None"):
        pretrain(model, x, y, x, y, regulariser=TVSurrogate(), **kw)
    with pytest.raises(ValueError, match="groups_train must be binary"):
        pretrain(model, x, y, x, y, regulariser=TVSurrogate(), groups_train=a + 2, **kw)
    with pytest.raises(ValueError, match="lam must be"):
        pretrain(model, x, y, x, y, regulariser=TVSurrogate(), groups_train=a, lam=-1.0, **kw)
    with pytest.raises(ValueError, match="x_train contains 1 NaN"):
        pretrain(model, np.where(np.arange(500).reshape(50, 10) == 7, np.nan, x), y, x, y, **kw)
    with pytest.raises(ValueError, match=r"PretrainConfig\.batch_size"):
        PretrainConfig(batch_size=0)
    with pytest.raises(ValueError, match=r"PretrainConfig\.optimizer"):
        PretrainConfig(optimizer="sgd")
    with pytest.raises(TypeError, match="regulariser must be callable"):
        pretrain(model, x, y, x, y, regulariser="tv", groups_train=a, **kw)
    with pytest.raises(TypeError, match="embed"):
        pretrain(torch.nn.Linear(10, 2), x, y, x, y, **kw)


@pytest.mark.parametrize("monitor", ["val_balanced_accuracy", "val_loss"])
def test_a_resumed_run_equals_the_uninterrupted_one(monitor) -> None:
    # Issue 13, acceptance 4: N epochs in one go == N1 epochs, then resume for the rest --
    # weights, optimiser, scheduler, early stopping, epoch counter and history all carry over.
    # A high lr and short patiences make the schedule reduce the rate and early stopping count.
    x, y, _ = tabular(300, seed=11)
    xv, yv, _ = tabular(80, seed=12)
    kw = {"seed": 3, "progress": False}
    base = {"lr": 0.2, "plateau_patience": 0, "early_stopping_patience": 4, "num_threads": 1,
            "plateau_monitor": monitor}

    def mlp():
        return TabularMLP(10, dropout=0.2)

    whole = train_from_scratch(mlp, x, y, xv, yv, config=PretrainConfig(max_epochs=9, **base), **kw)
    first = train_from_scratch(mlp, x, y, xv, yv, config=PretrainConfig(max_epochs=3, **base), **kw)
    assert first.final_state.epoch == 3 and len(first.history) == 3
    rest = train_from_scratch(mlp, x, y, xv, yv, config=PretrainConfig(max_epochs=9, **base),
                              resume=first.final_state, **kw)
    assert same_weights(whole.model, rest.model)
    cols = [c for c in whole.history.columns if c != "seconds"]
    pd.testing.assert_frame_equal(whole.history[cols], rest.history[cols])
    assert (rest.best_epoch, rest.stopped_early) == (whole.best_epoch, whole.stopped_early)
    assert whole.history["lr"].nunique() > 1  # the schedule acted, so its state mattered
    # the checkpoint is the state of the best epoch; the final state that of the last one
    assert whole.checkpoint.epoch == whole.best_epoch
    assert whole.final_state.epoch == len(whole.history)
    for name, value in whole.checkpoint.model.items():
        assert torch.equal(value, whole.model.state_dict()[name].cpu())


def _replayed_rates(values, lr: float, mode: str) -> list[float]:
    """Learning rates of torch's ReduceLROnPlateau (patience 0, ×0.1, rel. threshold 1e-4)."""
    best, rates = (np.inf if mode == "min" else -np.inf), []
    for value in values:
        rates.append(lr)
        better = value < best * (1 - 1e-4) if mode == "min" else value > best * (1 + 1e-4)
        best, lr = (value, lr) if better else (best, lr * 0.1)
    return rates


def test_plateau_monitor_val_loss_steps_the_schedule_on_validation_loss() -> None:
    x, y, _ = tabular(300, seed=11)
    xv, yv, _ = tabular(80, seed=12)
    config = PretrainConfig(lr=0.2, max_epochs=9, early_stopping_patience=10, plateau_patience=0,
                            plateau_monitor="val_loss", num_threads=1)
    result = train_from_scratch(lambda: TabularMLP(10, dropout=0.2), x, y, xv, yv, seed=3,
                                config=config, progress=False)
    hist = result.history
    np.testing.assert_allclose(hist["lr"], _replayed_rates(hist["val_loss"], 0.2, "min"), rtol=1e-9)
    # the schedule did act, and not as it would have on balanced accuracy
    assert hist["lr"].nunique() > 1
    assert hist["lr"].tolist() != _replayed_rates(hist["val_balanced_accuracy"], 0.2, "max")
    assert result.checkpoint.plateau_monitor == "val_loss"
    assert result.best_epoch == int(hist["epoch"][hist["val_balanced_accuracy"].idxmax()])
    with pytest.raises(ValueError, match=r"PretrainConfig\.plateau_monitor 'loss'"):
        PretrainConfig(plateau_monitor="loss")


def test_resume_rejects_a_state_it_cannot_continue() -> None:
    x, y, _ = tabular(100, seed=5)
    kw = {"seed": 0, "progress": False}
    state = pretrain(TabularMLP(10), x, y, x, y, config=FAST, **kw).final_state
    with pytest.raises(ValueError, match="leaves nothing to train"):
        pretrain(TabularMLP(10), x, y, x, y, config=FAST, resume=state, **kw)
    with pytest.raises(ValueError, match="monitored 'val_balanced_accuracy'"):
        pretrain(TabularMLP(10), x, y, x, y, resume=state, **kw,
                 config=PretrainConfig(max_epochs=4, plateau_monitor="val_loss"))
    with pytest.raises(ValueError, match="same architecture"):
        pretrain(TabularMLP(10, hidden=(8,)), x, y, x, y, resume=state, **kw,
                 config=PretrainConfig(max_epochs=4))
