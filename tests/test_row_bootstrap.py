"""The bootstrap over an encoder's test rows (issue 13): its observed entry equals the sweep's own
numbers, its draws are paired across encoders, and its intervals are what the claims read."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from latentsep.heads import HeadConfig
from latentsep.row_bootstrap import draws_summary, row_weights, shifted_interval, sweep_draws
from latentsep.stats import allocation_slopes, full_minus_zero
from latentsep.sweep import SweepSpec, run_sweep

ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 900
    a, y = rng.integers(0, 2, n), rng.integers(0, 2, n)
    z = rng.normal(size=(n, 3))
    z[a == 0, 0] += 2 * y[a == 0]
    z[a == 1, 1] += 2 * y[a == 1]
    splits = {"pool": np.arange(500), "val_pool": np.arange(500, 600), "test": np.arange(600, n)}
    spec = SweepSpec("A", ALPHAS, seeds=(3,), k_train=120, k_val=40,
                     head=HeadConfig(lr=0.05, batch_size=20, max_epochs=5))
    table, rows = run_sweep(z, y, {"A": a}, splits, spec, tmp_path_factory.mktemp("store"),
                            progress=False, rows=True)
    return table, rows, y[splits["test"]], a[splits["test"]]


@pytest.mark.parametrize("metric", ["balanced_accuracy", "cross_entropy"])
def test_the_observed_entry_equals_the_sweeps_own_numbers(sweep, metric: str) -> None:
    table, rows, y, a = sweep
    drawn = sweep_draws(rows, y, a, row_weights(y, a, n_draws=5), metric)
    slopes = allocation_slopes(table, metric, per_seed=True).set_index("group")["slope"]
    fmz = full_minus_zero(table, metric, per_seed=True)["full_minus_zero"].mean()
    at_half = table[np.isclose(table["alpha"], 0.5) & (table["group"].astype(str) == "all")]
    assert drawn["slope_0"][0] == pytest.approx(slopes[0])
    assert drawn["slope_1"][0] == pytest.approx(slopes[1])
    assert drawn["abs_sensitivity"][0] == pytest.approx((abs(slopes[0]) + abs(slopes[1])) / 2)
    assert drawn["full_minus_zero"][0] == pytest.approx(fmz)
    for q in ("balanced_accuracy", "worst_group_accuracy"):
        assert drawn[q][0] == pytest.approx(
            at_half[at_half["metric"] == q]["value"].item(), abs=1e-6)
    assert all(v.shape == (6,) for v in drawn.values())


def test_draws_keep_every_cell_and_pair_encoders_on_the_same_rows() -> None:
    y, a = np.repeat([0, 1], 50), np.tile([0, 1], 50)
    w = row_weights(y, a, n_draws=20, seed=1)
    cells = y * 2 + a
    for c in range(4):
        assert (w[:, cells == c].sum(axis=1) == (cells == c).sum()).all()
    assert (w == row_weights(y, a, n_draws=20, seed=1)).all()  # same rows, same draws: paired
    assert not (w == row_weights(y, a, n_draws=20, seed=2)).all()


def test_intervals_centre_on_the_estimate_and_separate_rows_from_seeds() -> None:
    assert shifted_interval(1.0, np.array([np.nan, np.nan])) == (
        pytest.approx(float("nan"), nan_ok=True), pytest.approx(float("nan"), nan_ok=True))
    per_seed = pd.DataFrame({"k": "x", "seed": [1, 2, 3], "v": [0.1, 0.5, 0.9],
                             "v_draws": [np.full(10, 0.0) + np.arange(10) * 1e-3] * 3})
    row = draws_summary(per_seed, "v", ["k"]).iloc[0]
    # the seeds spread from 0.1 to 0.9; the rows move the mean by under 0.01
    assert row["ci_high"] - row["ci_low"] < 0.01 and (row["seed_min"], row["seed_max"]) == (0.1, 0.9)
