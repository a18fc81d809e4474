"""Executors: same results in item order, whichever backend runs them."""

from __future__ import annotations

import math
import operator
import os

import pytest

from latentsep.executor import Executor, LocalExecutor, SubmititExecutor

ITEMS = [3, 1, 4, 1, 5]


def test_local_executor_preserves_order_and_propagates_errors():
    executor = LocalExecutor(progress=False)
    assert isinstance(executor, Executor)
    assert executor.map(operator.neg, ITEMS, desc="neg") == [-3, -1, -4, -1, -5]
    assert executor.map(operator.neg, []) == []
    seen = []

    def record_then_fail(x):
        seen.append(x)
        if x == 4:
            raise RuntimeError("unit failed")
        return x

    with pytest.raises(RuntimeError, match="unit failed"):
        executor.map(record_then_fail, ITEMS)
    assert seen == [3, 1, 4]  # stops at the failure, earlier items ran


def test_submitit_debug_runs_in_process(tmp_path):
    executor = SubmititExecutor(tmp_path / "jobs", cluster="debug", progress=False)
    assert isinstance(executor, Executor)
    assert executor.map(math.factorial, ITEMS) == [6, 1, 24, 1, 120]
    assert executor.map(math.factorial, []) == []


def test_submitit_local_spawns_real_processes(tmp_path):
    executor = SubmititExecutor(tmp_path / "jobs", cluster="local", progress=False, timeout_min=1)
    # os.getenv is pickled by reference, so it reads the environment of the process it runs in:
    # submitit's local controller sets SUBMITIT_LOCAL_NTASKS there and not in this process.
    assert os.getenv("SUBMITIT_LOCAL_NTASKS") is None
    assert executor.map(os.getenv, ["SUBMITIT_LOCAL_NTASKS", "SUBMITIT_LOCAL_NODEID"]) == ["1", "0"]


def test_submitit_rejects_unknown_cluster(tmp_path):
    with pytest.raises(ValueError, match=r"unknown cluster 'kubernetes'.*'local'"):
        SubmititExecutor(tmp_path, cluster="kubernetes")
