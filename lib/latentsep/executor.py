"""Where independent units of work run: in this process, or as jobs on a cluster.

Every long computation in the library (an allocation sweep is a list of independent units, one per
attribute) goes through one interface, ``Executor.map(fn, items, desc) -> list``, which returns the
results in the order of ``items``. Two implementations:

* :class:`LocalExecutor` — sequential, in-process, with a tqdm bar. The default: one sweep unit is
  already a batched tensor program that keeps every core busy, so process-level parallelism on
  one machine would only add pickling and memory.
* :class:`SubmititExecutor` — one job per item through `submitit <https://github.com/facebookincubator/submitit>`_,
  on SLURM (``cluster="slurm"``), in local subprocesses (``"local"``, what the tests use) or
  in-process through submitit's code path (``"debug"``).

Why submitit rather than Ray or Dask: academic ML clusters run SLURM, and submitit submits plain
``sbatch`` job arrays from a Python function with nothing to deploy — no head node or scheduler
process to keep alive, no ports to open, requeueing of pre-empted jobs supported, and the same
pickled-function model runs locally for tests. Ray and Dask give lower-latency task graphs and
shared object stores, which matter for thousands of millisecond-sized tasks; our units are few
(tens) and long (seconds to minutes), so their scheduling layer buys nothing here while needing a
running cluster service. Swapping one in needs only another class with the same ``map``.

Functions sent to :class:`SubmititExecutor` must be importable by the workers (module-level
functions of an installed package), and results travel back pickled, so a unit should also write
its own result to shared storage (the sweep writes to :class:`latentsep.store.ResultStore`) so
that finished units survive a failed or cancelled job array.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from tqdm import tqdm

from latentsep.checks import check_choice

T = TypeVar("T")
R = TypeVar("R")

CLUSTERS = ("slurm", "local", "debug")


@runtime_checkable
class Executor(Protocol):
    """Anything that applies ``fn`` to each item and returns the results in item order."""

    def map(self, fn: Callable[[T], R], items: Sequence[T], desc: str = "") -> list[R]:
        """Return ``[fn(item) for item in items]``, computed wherever the executor runs work."""
        ...


class LocalExecutor:
    """Run items one after another in this process.

    Parameters
    ----------
    progress : bool
        Show a tqdm bar over items.
    """

    def __init__(self, progress: bool = True) -> None:
        self.progress = progress

    def __repr__(self) -> str:
        return f"LocalExecutor(progress={self.progress})"

    def map(self, fn: Callable[[T], R], items: Sequence[T], desc: str = "") -> list[R]:
        """Apply ``fn`` to each item in order; an exception stops the loop and propagates."""
        return [fn(item) for item in tqdm(items, desc=desc or None, disable=not self.progress)]


class SubmititExecutor:
    """Run each item as a submitit job (a SLURM array task, a local subprocess, or in-process).

    Parameters
    ----------
    folder : str or path-like
        Where submitit writes pickled tasks, results and logs (``%j`` expands to the job id). Must
        be on a filesystem shared with the compute nodes for SLURM.
    cluster : {"slurm", "local", "debug"}
        ``"slurm"`` submits ``sbatch`` arrays; ``"local"`` starts one subprocess per item on this
        machine (all at once); ``"debug"`` runs items in this process through submitit's code path.
    progress : bool
        Show a tqdm bar that advances as results are collected (in item order).
    **slurm_params
        Passed to ``submitit.AutoExecutor.update_parameters``: generic names such as
        ``timeout_min``, ``mem_gb``, ``cpus_per_task``, ``gpus_per_node`` or SLURM-specific ones
        such as ``slurm_partition``. ``timeout_min`` defaults to 60 (submitit's local default of 2
        minutes is shorter than a full-size sweep unit).
    """

    def __init__(
        self,
        folder: str | os.PathLike,
        cluster: str = "slurm",
        progress: bool = True,
        **slurm_params: Any,
    ) -> None:
        check_choice(cluster, "cluster", CLUSTERS)
        try:
            import submitit
        except ImportError as err:  # optional dependency
            raise ImportError(
                "SubmititExecutor needs submitit; install it with `pip install latentsep[cluster]`."
            ) from err
        self.folder = os.fspath(folder)
        self.cluster = cluster
        self.progress = progress
        self._executor = submitit.AutoExecutor(folder=self.folder, cluster=cluster)
        self._executor.update_parameters(**{"timeout_min": 60, **slurm_params})

    def __repr__(self) -> str:
        return f"SubmititExecutor({self.folder!r}, cluster={self.cluster!r})"

    def map(self, fn: Callable[[T], R], items: Sequence[T], desc: str = "") -> list[R]:
        """Submit one job per item (as a job array) and wait for all results, in item order.

        A failed job raises ``submitit.core.utils.FailedJobError`` carrying the worker's
        traceback; jobs that already finished keep whatever they wrote to shared storage.
        """
        items = list(items)
        if not items:
            return []
        jobs = self._executor.map_array(fn, items)
        return [
            job.result()
            for job in tqdm(jobs, desc=desc or None, disable=not self.progress)
        ]
