"""Allocation sweeps: tidy output, resume after a crash or a kill, corrupt units, clear errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from latentsep import sweep as sweep_mod
from latentsep.allocation import split_indices
from latentsep.executor import SubmititExecutor
from latentsep.heads import HeadConfig
from latentsep.store import ResultStore
from latentsep.sweep import SweepSpec, run_sweep

HEAD = HeadConfig(max_epochs=4, batch_size=64, early_stopping_patience=2, plateau_patience=2)
ALPHAS = (0.0, 0.5, 1.0)
SEEDS = (7, 8)


def make_data(n: int = 900, d: int = 12, seed: int = 0):
    """Embeddings whose class signal is shifted by attribute A, plus a random attribute R."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    a = rng.integers(0, 2, n)
    r = rng.integers(0, 2, n)
    z = rng.normal(size=(n, d)).astype(np.float32)
    z[:, 0] += 1.5 * (2 * y - 1)
    z[:, 1] += 2.0 * a + 1.0 * (2 * y - 1) * a
    pool, val_pool, test = split_indices(n, (0.6, 0.15, 0.25), seed=1, stratify=2 * y + a)
    splits = {"pool": pool, "val_pool": val_pool, "test": test}
    return z, y, {"A": a, "R": r, "B": rng.integers(0, 2, n)}, splits


def specs(attributes=("A", "R", "B")) -> list[SweepSpec]:
    return [SweepSpec(name, ALPHAS, SEEDS, k_train=120, k_val=40, head=HEAD) for name in attributes]


class CountingFit:
    """Wraps fit_heads, counting calls and optionally failing on one of them."""

    def __init__(self, fail_on: int | None = None):
        self.calls = 0
        self.fail_on = fail_on

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.fail_on:
            raise KeyboardInterrupt("simulated crash in the middle of the sweep")
        return REAL_FIT(*args, **kwargs)


REAL_FIT = sweep_mod.fit_heads


@pytest.fixture(scope="module")
def data():
    return make_data()


@pytest.fixture(scope="module")
def reference(data, tmp_path_factory):
    z, y, attrs, splits = data
    return run_sweep(z, y, attrs, splits, specs(), tmp_path_factory.mktemp("ref"), progress=False)


def test_tidy_output(reference, data):
    df = reference
    assert list(df.columns[:8]) == ["attribute", "alpha", "seed", "group", "metric", "value",
                                    "n", "own_share"]
    runs = len(ALPHAS) * len(SEEDS)
    per_attr = df.groupby("attribute")["run"].nunique()
    assert per_attr.to_dict() == {"A": runs, "B": runs, "R": runs}
    groups = df[df["metric"] == "accuracy"]
    assert set(groups["group"]) == {0, 1, "all"}
    one = groups[groups["group"] == 1]
    np.testing.assert_allclose(one["own_share"], one["alpha"])
    zero = groups[groups["group"] == 0]
    np.testing.assert_allclose(zero["own_share"], 1 - zero["alpha"])
    assert groups.loc[groups["group"] == "all", "own_share"].isna().all()
    _, _, attrs, splits = data
    n_test_1 = int(attrs["A"][splits["test"]].sum())
    assert set(one.loc[one["attribute"] == "A", "n"]) == {n_test_1}
    assert df["value"].notna().all()
    assert df["best_epoch"].between(0, HEAD.max_epochs).all()
    assert {"balanced_accuracy", "roc_auc", "cross_entropy", "worst_group_accuracy"} <= set(
        df["metric"])


def test_cached_sweep_is_identical_and_computes_nothing(reference, data, tmp_path, monkeypatch):
    z, y, attrs, splits = data
    first = run_sweep(z, y, attrs, splits, specs(), tmp_path, progress=False)
    pd.testing.assert_frame_equal(first, reference)  # deterministic for the seeds
    counter = CountingFit()
    monkeypatch.setattr(sweep_mod, "fit_heads", counter)
    again = run_sweep(z, y, attrs, splits, specs(), tmp_path, progress=False)
    assert counter.calls == 0
    pd.testing.assert_frame_equal(again, reference)
    changed = [SweepSpec("A", ALPHAS, SEEDS, k_train=120, k_val=40,
                         head=HeadConfig(**{**HEAD.__dict__, "lr": 1e-2}))]
    run_sweep(z, y, attrs, splits, changed, tmp_path, progress=False)
    assert counter.calls == 1  # any config change is a new unit
    monkeypatch.setattr(sweep_mod, "code_fingerprint", lambda *modules: "edited heads")
    run_sweep(z, y, attrs, splits, changed, tmp_path, progress=False)
    assert counter.calls == 2  # so is an edit to the code that computes it


def test_resume_after_crash_recomputes_only_missing_units(reference, data, tmp_path, monkeypatch):
    z, y, attrs, splits = data
    monkeypatch.setattr(sweep_mod, "fit_heads", CountingFit(fail_on=3))
    with pytest.raises(KeyboardInterrupt):
        run_sweep(z, y, attrs, splits, specs(), tmp_path, progress=False)
    assert len(list(tmp_path.rglob("*.json"))) == 2  # units 1 and 2 were stored
    counter = CountingFit()
    monkeypatch.setattr(sweep_mod, "fit_heads", counter)
    resumed = run_sweep(z, y, attrs, splits, specs(), tmp_path, progress=False)
    assert counter.calls == 1
    pd.testing.assert_frame_equal(resumed, reference)


def test_corrupt_unit_is_recomputed(reference, data, tmp_path, monkeypatch):
    z, y, attrs, splits = data
    run_sweep(z, y, attrs, splits, specs(), tmp_path, progress=False)
    victim = sorted(tmp_path.rglob("*.parquet"))[0]
    victim.write_bytes(victim.read_bytes()[:-50])
    counter = CountingFit()
    monkeypatch.setattr(sweep_mod, "fit_heads", counter)
    again = run_sweep(z, y, attrs, splits, specs(), tmp_path, progress=False)
    assert counter.calls == 1
    pd.testing.assert_frame_equal(again, reference)


KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {tests!r})
    from test_sweep import make_data, specs
    from latentsep import sweep
    real = sweep.fit_heads
    def slow_fit(*args, **kwargs):
        out = real(*args, **kwargs)
        time.sleep(1.5)  # keep the kill window wide: the parent kills after the first unit lands
        return out
    sweep.fit_heads = slow_fit
    z, y, attrs, splits = make_data()
    sweep.run_sweep(z, y, attrs, splits, specs(), {store!r}, progress=False)
    """
)


def test_killed_sweep_process_resumes(reference, data, tmp_path, monkeypatch):
    script = KILL_SCRIPT.format(tests=str(Path(__file__).parent), store=str(tmp_path))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not list(tmp_path.rglob("*.json")):
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "the sweep stored nothing within 60 s"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stored = len(list(tmp_path.rglob("*.json")))
    assert 1 <= stored < 3
    counter = CountingFit()
    monkeypatch.setattr(sweep_mod, "fit_heads", counter)
    z, y, attrs, splits = data
    resumed = run_sweep(z, y, attrs, splits, specs(), tmp_path, progress=False)
    assert counter.calls == 3 - stored
    pd.testing.assert_frame_equal(resumed, reference)


def test_submitit_local_executor_gives_the_same_table(reference, data, tmp_path):
    z, y, attrs, splits = data
    executor = SubmititExecutor(tmp_path / "jobs", cluster="local", progress=False, timeout_min=2)
    out = run_sweep(z, y, attrs, splits, specs(("R",)), tmp_path / "store", executor)
    pd.testing.assert_frame_equal(out, reference[reference["attribute"] == "R"]
                                  .reset_index(drop=True))
    (sidecar,) = (tmp_path / "store").rglob("*.json")  # the worker process stored its unit
    assert ResultStore(tmp_path / "store").info(sidecar.stem)["meta"]["seeds"] == list(SEEDS)


def test_spec_spelling_does_not_change_the_unit_key():
    listed = SweepSpec("A", [0.0, 0.5, 1.0], [np.int64(7), 8], k_train=120, k_val=40, head=HEAD)
    assert listed == specs(("A",))[0]
    assert listed.alphas == ALPHAS and listed.seeds == SEEDS
    key = ResultStore.key({"kind": "allocation_sweep_unit", "spec": listed}, "fp")
    assert key == ResultStore.key({"kind": "allocation_sweep_unit", "spec": specs(("A",))[0]}, "fp")
    assert listed.runs()[["alpha", "seed"]].values.tolist() == [
        [0.0, 7], [0.0, 8], [0.5, 7], [0.5, 8], [1.0, 7], [1.0, 8]]
    with pytest.raises(ValueError, match=r"seeds must be an integer >= 0; got 7.5"):
        SweepSpec("A", ALPHAS, (7.5,))


def test_clear_errors(data, tmp_path):
    z, y, attrs, splits = data
    run = run_sweep
    with pytest.raises(ValueError, match=r"unknown attribute 'colour'.*\['A', 'B', 'R'\]"):
        run(z, y, attrs, splits, [SweepSpec("colour", ALPHAS, SEEDS, 120, 40, HEAD)], tmp_path)
    with pytest.raises(ValueError, match=r"y has 899 entries but the embeddings have 900 rows"):
        run(z, y[:-1], attrs, splits, specs(), tmp_path)
    absent = {**attrs, "A": attrs["A"].copy()}
    absent["A"][splits["test"]] = 0
    with pytest.raises(ValueError, match=r"no group-1 samples in splits\['test'\]"):
        run(z, y, absent, splits, specs(("A",)), tmp_path)
    with pytest.raises(ValueError, match=r"k=5000 .*largest feasible k"):
        run(z, y, attrs, splits, [SweepSpec("A", ALPHAS, SEEDS, 5000, 40, HEAD)], tmp_path)
    with pytest.raises(ValueError, match=r"alphas must lie in \[0, 1\]; got 1.5"):
        SweepSpec("A", (0.0, 1.5), SEEDS, 120, 40, HEAD)
    overlapping = {**splits, "test": np.concatenate([splits["test"], splits["pool"][:3]])}
    with pytest.raises(ValueError, match=r"share 3 rows"):
        run(z, y, attrs, overlapping, specs(), tmp_path)
    with pytest.raises(ValueError, match=r"splits lacks \['val_pool'\]"):
        run(z, y, attrs, {"pool": splits["pool"], "test": splits["test"]}, specs(), tmp_path)
    assert not list(tmp_path.rglob("*.json"))  # nothing ran before the errors


def _sidecars(root) -> list[dict]:
    import json

    return [json.loads(p.read_text()) for p in sorted(Path(root).glob("*/*.json"))]


def test_protocol_options_enter_the_key_only_when_changed(data, tmp_path):
    # Issue 13: default runs keep their cache keys; a non-default head start or plateau monitor
    # is a new key whose sidecar names the option.
    from latentsep.headstart import HeadStart
    from latentsep.store import canonical

    assert "plateau_monitor" not in canonical(HEAD)
    assert canonical(HeadConfig(plateau_monitor="val_loss"))["plateau_monitor"] == "val_loss"
    z, y, attrs, splits = data
    spec = specs(("A",))[0]
    run_sweep(z, y, attrs, splits, spec, tmp_path, progress=False)
    weights = {"head.weight": np.full((2, z.shape[1]), 0.01), "head.bias": np.zeros(2)}
    warm = run_sweep(z, y, attrs, splits, spec, tmp_path, progress=False,
                     start=HeadStart.pretrained(weights))
    loss = SweepSpec("A", ALPHAS, SEEDS, k_train=120, k_val=40,
                     head=HeadConfig(**{**HEAD.to_dict(), "plateau_monitor": "val_loss"}))
    run_sweep(z, y, attrs, splits, loss, tmp_path, progress=False)
    configs = [c["config"] for c in _sidecars(tmp_path)]
    assert len(configs) == 3
    assert sorted(c.get("head_start", "fresh") for c in configs) == ["fresh", "fresh", "pretrained"]
    assert sorted(c["spec"]["head"].get("plateau_monitor", "-") for c in configs) == [
        "-", "-", "val_loss"]
    # another starting head is another entry (its weights are in the input fingerprint)
    weights["head.bias"] = np.ones(2)
    run_sweep(z, y, attrs, splits, spec, tmp_path, progress=False, start=HeadStart.pretrained(weights))
    assert len(_sidecars(tmp_path)) == 4
    assert not warm.equals(run_sweep(z, y, attrs, splits, spec, tmp_path, progress=False))
    with pytest.raises(ValueError, match="shape"):
        run_sweep(z[:, :5], y, attrs, splits, spec, tmp_path, progress=False,
                  start=HeadStart.pretrained(weights))
