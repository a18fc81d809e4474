"""Batched heads against the plain per-run PyTorch loop (issue 4, acceptance 2 and 4)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentsep.headruns import dropout_keep, init_weights
from latentsep.heads import HeadConfig, fit_heads
from latentsep.reference import fit_head_reference


def toy(n=500, d=6, seed=0):
    """Two overlapping Gaussian classes; train rows 0..299, validation 300..399, test 400..."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    z = rng.normal(size=(n, d)) + 0.9 * y[:, None] * np.linspace(1, 0, d)
    return z, y


def plan(n_runs, k=90, k_val=40, seed=1):
    rng = np.random.default_rng(seed)
    train = np.stack([rng.choice(300, k, replace=False) for _ in range(n_runs)])
    val = np.stack([300 + rng.choice(100, k_val, replace=False) for _ in range(n_runs)])
    return train, val


# K = 90 is not a multiple of the batch size 32 (last batch of 26); a high lr and short patiences
# make runs stop at different epochs and reduce their learning rates, so run removal and the
# per-run schedule are exercised.
EXACT = dict(
    hidden=12, batch_size=32, lr=0.03, max_epochs=25, early_stopping_patience=6,
    plateau_patience=2, dtype="float64",
)


@pytest.mark.parametrize(
    "config",
    [
        HeadConfig(kind="linear", **EXACT),
        HeadConfig(kind="linear", optimizer="adamw", weight_decay=0.05, **EXACT),
        HeadConfig(kind="mlp", dropout=0.0, **EXACT),
        HeadConfig(kind="mlp", dropout=0.3, **EXACT),
        HeadConfig(kind="linear", plateau_monitor="val_loss", **EXACT),
        HeadConfig(kind="mlp", dropout=0.3, plateau_monitor="val_loss", **EXACT),
    ],
    ids=["linear-adam", "linear-adamw", "mlp", "mlp-dropout", "linear-val-loss", "mlp-val-loss"],
)
def test_batched_matches_reference_loop(config):
    z, y = toy()
    train, val = plan(5)
    seeds = np.array([42, 43, 44, 45, 46])
    heads = fit_heads(z, y, train, val, seeds, config, device="cpu")
    proba = heads.predict_proba(z[400:])
    assert proba.shape == (5, 100, 2)
    for r in range(5):
        ref = fit_head_reference(z, y, train[r], val[r], seeds[r], config, device="cpu")
        assert heads.best_epoch[r] == ref.best_epoch
        assert heads.epochs_run[r] == ref.epochs_run
        assert heads.final_lr[r] == pytest.approx(ref.final_lr, rel=1e-12)
        assert heads.val_balanced_accuracy[r] == pytest.approx(ref.val_balanced_accuracy, abs=1e-6)
        for name, values in ref.history.items():
            np.testing.assert_allclose(heads.history[name][r], values, atol=1e-9, equal_nan=True)
        ref_proba = ref.predict_proba(z[400:])
        np.testing.assert_allclose(proba[r], ref_proba, atol=1e-9)
        test_acc = (proba[r].argmax(1) == y[400:]).mean()
        assert test_acc == pytest.approx((ref_proba.argmax(1) == y[400:]).mean(), abs=1e-6)
    assert len(set(heads.epochs_run)) > 1, "runs should stop at different epochs"
    assert (heads.final_lr < config.lr).any(), "the plateau schedule should have fired"


def test_runs_are_independent_of_each_other():
    z, y = toy()
    train, val = plan(4)
    config = HeadConfig(kind="mlp", dropout=0.2, **{**EXACT, "max_epochs": 8})
    seeds = np.array([5, 6, 7, 8])
    together = fit_heads(z, y, train, val, seeds, config, device="cpu")
    alone = fit_heads(z, y, train[2:3], val[2:3], seeds[2:3], config, device="cpu")
    for joint, single in zip(together.params, alone.params, strict=True):
        torch.testing.assert_close(joint[2:3], single, rtol=0, atol=1e-12)
    again = fit_heads(z, y, train, val, seeds, config, device="cpu")
    for first, second in zip(together.params, again.params, strict=True):
        assert torch.equal(first, second)  # deterministic for fixed seeds


def test_learns_a_separable_task_in_float32():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 600)
    z = (rng.normal(size=(600, 10)) + 3 * y[:, None]).astype(np.float32)
    train, val = plan(3, k=200, k_val=80)
    config = HeadConfig(lr=0.02, batch_size=32, max_epochs=10)
    heads = fit_heads(torch.from_numpy(z), y, train, val, [0, 1, 2], config)
    assert heads.params[0].dtype == torch.float32
    assert (heads.val_balanced_accuracy > 0.95).all()
    proba = heads.predict_proba(z[400:])
    np.testing.assert_allclose(proba.sum(axis=2), 1, atol=1e-6)
    assert ((proba.argmax(axis=2) == y[400:]).mean(axis=1) > 0.95).all()


def test_kaiming_normal_initialisation():
    (w1, w2), _ = init_weights(0, [(2000, 64), (64, 3)], torch.float64)
    assert w1.shape == (64, 2000) and w2.shape == (3, 64)  # nn.Linear layout (fan_out, fan_in)
    assert w1.std().item() == pytest.approx(np.sqrt(2 / 2000), rel=0.02)
    assert abs(w1.mean().item()) < 3 * np.sqrt(2 / 2000) / np.sqrt(w1.numel())
    (again, _), _ = init_weights(0, [(2000, 64), (64, 3)], torch.float64)
    assert torch.equal(w1, again)


def test_dropout_masks_are_per_run_and_reproducible():
    seeds = torch.tensor([0, 1])
    keep = dropout_keep(seeds, first=0, count=2000, width=50, p=0.3)
    assert keep.shape == (2, 2000, 50)
    assert keep.float().mean().item() == pytest.approx(0.7, abs=0.005)
    assert (keep[0] != keep[1]).float().mean().item() == pytest.approx(0.42, abs=0.01)
    later = dropout_keep(seeds, first=1000, count=1000, width=50, p=0.3)
    assert torch.equal(keep[:, 1000:], later)  # depends on the sample's position only


def test_bad_inputs_raise_with_the_fix():
    z, y = toy()
    train, val = plan(2)
    with pytest.raises(ValueError, match="y has 499 entries but the embeddings have 500 rows"):
        fit_heads(z, y[:-1], train, val, [0, 1])
    bad = z.copy()
    bad[train[1, 3], 2] = np.nan
    with pytest.raises(ValueError, match=f"first: row {train[1, 3]}"):
        fit_heads(bad, y, train, val, [0, 1])
    with pytest.raises(ValueError, match=r"train_idx holds indices in \[.*, 500\]"):
        fit_heads(z, y, np.where(train == train[0, 0], 500, train), val, [0, 1])
    with pytest.raises(ValueError, match="non-empty 2-D"):
        fit_heads(z, y, np.zeros((0, 5), dtype=int), val[:0], [])
    with pytest.raises(ValueError, match="same runs"):
        fit_heads(z, y, train, val, [0])
    with pytest.raises(ValueError, match="integer class indices"):
        fit_heads(z, y.astype(float), train, val, [0, 1])
    with pytest.raises(ValueError, match="unknown kind"):
        HeadConfig(kind="transformer")
    with pytest.raises(ValueError, match="dropout must lie in"):
        HeadConfig(dropout=1.0)
