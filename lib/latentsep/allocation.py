"""Samplers for allocation sweeps: who goes into each fine-tuning set.

An *allocation* α is the share of group 1 in a fine-tuning set of fixed size ``k``:
``n1 = floor(α·k)`` samples come from group 1 and ``k − n1`` from group 0, drawn without replacement
from a candidate pool (the fine-tuning pool, or the validation pool for the fixed validation budget).

Two designs for a sweep over α:

- independent (``nested=False``): every (α, seed) pair draws its own sample, so the sets for two
  allocations of one seed are independent draws;
- nested (``nested=True``): one random order of each group per seed; the set for α takes the first
  ``n1`` of group 1's order and the first ``k − n1`` of group 0's. Growing α only adds group-1
  samples and removes group-0 samples, so differences between allocations are not blurred by
  resampling noise (tighter slopes).

``expand_indices`` implements the "expand" ablation (fix ``n_fixed`` samples of one group, add
``n_other`` of the other) and ``split_indices`` makes disjoint pool / validation / test splits.
Every function returns sorted ``int64`` indices into the original arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from latentsep.checks import as_1d_labels, as_binary, check_fraction, check_positive_int

# alpha * k is computed in floating point: 0.3 * 10 = 2.9999999999999996 would floor to 2.
_FLOOR_TOLERANCE = 1e-9


def group_sizes(alpha: float, k: int) -> tuple[int, int]:
    """Return ``(n1, n0)`` = ``(floor(α·k), k − floor(α·k))`` for allocation ``alpha`` and size ``k``."""
    n1 = int(np.floor(alpha * k + _FLOOR_TOLERANCE))
    return n1, k - n1


def _candidates(candidates: Any, n: int) -> np.ndarray:
    """Validate ``candidates`` (unique in-range integer indices into an array of length ``n``)."""
    if candidates is None:
        return np.arange(n, dtype=np.int64)
    cand = np.asarray(candidates)
    if cand.ndim != 1 or (cand.size and not np.issubdtype(cand.dtype, np.integer)):
        raise ValueError(
            f"candidates must be a 1-D array of integer indices; got shape {cand.shape}, dtype "
            f"{cand.dtype}. Pass e.g. np.flatnonzero(mask) for a boolean mask."
        )
    cand = cand.astype(np.int64)
    if cand.size and (cand.min() < 0 or cand.max() >= n):
        raise ValueError(
            f"candidates must index into `a` of length {n}; got values in "
            f"[{cand.min()}, {cand.max()}]. Use indices of `a`, not of a subset."
        )
    if np.unique(cand).size != cand.size:
        raise ValueError(
            f"candidates contain {cand.size - np.unique(cand).size} repeated index(es); "
            "sampling is without replacement, so pass each index once (np.unique)."
        )
    return cand


def _group_pools(a: Any, candidates: Any) -> tuple[np.ndarray, np.ndarray]:
    """Split the candidate indices by the binary attribute ``a``: (group-0 pool, group-1 pool)."""
    arr = as_binary(a, "a")
    cand = _candidates(candidates, len(arr))
    return cand[arr[cand] == 0], cand[arr[cand] == 1]


def max_feasible_k(m0: int, m1: int, alpha: float) -> int:
    """Largest ``k`` whose allocation ``alpha`` fits pools of ``m0`` (group 0) and ``m1`` (group 1).

    Both ``n1(k)`` and ``n0(k)`` are non-decreasing in ``k`` (α ≤ 1), so feasibility is monotone
    and the answer is the last feasible ``k`` in ``0 … m0 + m1``.
    """
    ks = np.arange(m0 + m1 + 1)
    n1 = np.floor(alpha * ks + _FLOOR_TOLERANCE).astype(np.int64)
    feasible = (n1 <= m1) & (ks - n1 <= m0)
    return int(ks[feasible].max())


def _check_feasible(m0: int, m1: int, alpha: float, k: int, what: str) -> tuple[int, int]:
    """Return ``(n1, n0)`` or raise, naming the short group and the largest feasible ``k``."""
    n1, n0 = group_sizes(alpha, k)
    for group, need, have in ((1, n1, m1), (0, n0, m0)):
        if need > have:
            raise ValueError(
                f"k={k} at alpha={alpha} needs {need} samples of group {group} but the {what} "
                f"holds only {have} (group 0: {m0}, group 1: {m1}). The largest feasible k at "
                f"alpha={alpha} is {max_feasible_k(m0, m1, alpha)}; the largest k feasible at every "
                f"alpha in [0, 1] is {min(m0, m1)}. Lower k or enlarge the pool."
            )
    return n1, n0


def _prefix_sample(
    rng: np.random.Generator, pools: Sequence[np.ndarray], counts: Sequence[int]
) -> np.ndarray:
    """First ``counts[i]`` entries of a random order of each ``pools[i]``, concatenated and sorted.

    The random order of a pool does not depend on ``counts``, so calls with the same generator
    state and growing counts return nested sets.
    """
    parts = [rng.permutation(pool)[:count] for pool, count in zip(pools, counts, strict=True)]
    return np.sort(np.concatenate(parts)).astype(np.int64)


def allocation_indices(
    a: Any,
    alpha: float,
    k: int,
    seed: int,
    *,
    candidates: Any = None,
    nested: bool = False,
) -> np.ndarray:
    """Sample a fine-tuning set of size ``k`` with a share ``alpha`` of group 1.

    Parameters
    ----------
    a : array-like of shape (N,)
        Binary (0/1) subgroup attribute of every sample.
    alpha : float
        Allocation in [0, 1]; ``floor(alpha * k)`` samples come from group 1.
    k : int
        Size of the set, ≥ 1.
    seed : int
        Seed of the draw. With ``nested=False`` the stream also depends on ``(k, n1)`` so that the
        sets for different α are independent; with ``nested=True`` it depends on ``seed`` only.
    candidates : array-like of int, optional
        Unique indices into ``a`` to draw from (e.g. the fine-tuning pool). Default: all of ``a``.
    nested : bool
        If True, take prefixes of one random order per group, so the sets for growing α (same
        seed, same ``k``) share samples: the group-1 part grows and the group-0 part shrinks.

    Returns
    -------
    numpy.ndarray of int64, shape (k,)
        Sorted indices into ``a``, without repeats.

    Raises
    ------
    ValueError
        If ``alpha`` is outside [0, 1], ``a`` is not binary, ``candidates`` are invalid, or a group
        cannot supply its share (the message gives the largest feasible ``k``).

    Examples
    --------
    >>> a = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    >>> idx = allocation_indices(a, alpha=0.25, k=4, seed=0)
    >>> idx, a[idx]
    (array([0, 2, 5, 8]), array([0, 0, 0, 1]))
    """
    alpha = check_fraction(alpha, "alpha")
    k = check_positive_int(k, "k")
    pool0, pool1 = _group_pools(a, candidates)
    n1, n0 = _check_feasible(len(pool0), len(pool1), alpha, k, "candidate pool")
    rng = np.random.default_rng(seed if nested else [seed, k, n1])
    return _prefix_sample(rng, (pool1, pool0), (n1, n0))


def allocation_plan(
    a: Any,
    alphas: Sequence[float],
    k: int,
    seeds: Sequence[int],
    *,
    candidates: Any = None,
    nested: bool = False,
) -> np.ndarray:
    """Index sets for every (α, seed) pair, alpha-major.

    Row ``i * len(seeds) + j`` holds ``allocation_indices(a, alphas[i], k, seeds[j], ...)``;
    ``plan_table(alphas, k, seeds)`` lists the α, seed and group counts of every row.

    Returns
    -------
    numpy.ndarray of int64, shape (len(alphas) * len(seeds), k)
    """
    alphas = [check_fraction(x, "alphas") for x in alphas]
    if not alphas or len(seeds) == 0:
        raise ValueError(
            f"alphas and seeds must be non-empty; got {len(alphas)} alpha(s) and {len(seeds)} "
            "seed(s). Pass e.g. alphas=np.linspace(0, 1, 11), seeds=[42, 43, 44]."
        )
    k = check_positive_int(k, "k")
    pool0, pool1 = _group_pools(a, candidates)
    for alpha in alphas:  # fail before sampling anything, on the first infeasible alpha
        _check_feasible(len(pool0), len(pool1), alpha, k, "candidate pool")
    rows = [
        allocation_indices(a, alpha, k, seed, candidates=candidates, nested=nested)
        for alpha in alphas
        for seed in seeds
    ]
    return np.stack(rows)


def plan_table(alphas: Sequence[float], k: int, seeds: Sequence[int]) -> pd.DataFrame:
    """Describe the rows of ``allocation_plan``: columns run, alpha, seed, n1, n0 (alpha-major)."""
    rows = []
    for alpha in alphas:
        n1, n0 = group_sizes(check_fraction(alpha, "alphas"), k)
        rows += [
            {"run": len(rows) + j, "alpha": float(alpha), "seed": int(s), "n1": n1, "n0": n0}
            for j, s in enumerate(seeds)
        ]
    return pd.DataFrame(rows, columns=["run", "alpha", "seed", "n1", "n0"])


def expand_indices(
    a: Any,
    fixed_group: int,
    n_fixed: int,
    n_other: int,
    seed: int,
    candidates: Any = None,
) -> np.ndarray:
    """The "expand" design: ``n_fixed`` samples of ``fixed_group`` plus ``n_other`` of the other.

    For one seed the fixed part is identical for every ``n_other`` and the other group's part is
    nested (a prefix of one random order), so growing ``n_other`` only adds samples.

    Parameters
    ----------
    a : array-like of shape (N,)
        Binary (0/1) attribute.
    fixed_group : {0, 1}
        Group whose count stays fixed.
    n_fixed, n_other : int
        Counts from the fixed group (≥ 1) and from the other group (≥ 0).
    seed : int
        Seed of the draw.
    candidates : array-like of int, optional
        Unique indices into ``a`` to draw from. Default: all of ``a``.

    Returns
    -------
    numpy.ndarray of int64, shape (n_fixed + n_other,)
        Sorted indices into ``a``.
    """
    if fixed_group not in (0, 1):
        raise ValueError(f"fixed_group must be 0 or 1; got {fixed_group!r}.")
    n_fixed = check_positive_int(n_fixed, "n_fixed")
    n_other = check_positive_int(n_other, "n_other", minimum=0)
    pools = _group_pools(a, candidates)
    fixed_pool, other_pool = pools[fixed_group], pools[1 - fixed_group]
    for name, group, need, pool in (
        ("n_fixed", fixed_group, n_fixed, fixed_pool),
        ("n_other", 1 - fixed_group, n_other, other_pool),
    ):
        if need > len(pool):
            raise ValueError(
                f"{name}={need} exceeds the {len(pool)} candidates of group {group}; "
                f"use {name} <= {len(pool)} or enlarge the pool."
            )
    return _prefix_sample(np.random.default_rng(seed), (fixed_pool, other_pool), (n_fixed, n_other))


def _split_sizes(n: int, sizes: Sequence[float | int]) -> list[int]:
    """Turn fractions (floats summing to ≤ 1) or counts (ints summing to ≤ n) into counts."""
    if len(sizes) == 0:
        raise ValueError("sizes must list at least one split, e.g. (0.8, 0.1, 0.1).")
    if all(isinstance(s, int | np.integer) and not isinstance(s, bool) for s in sizes):
        counts = [check_positive_int(s, "sizes", minimum=0) for s in sizes]
    else:
        fractions = [check_fraction(float(s), "sizes") for s in sizes]
        if sum(fractions) > 1 + _FLOOR_TOLERANCE:
            raise ValueError(
                f"fractions in sizes sum to {sum(fractions)} > 1; make them sum to at most 1."
            )
        counts = [int(np.floor(f * n + _FLOOR_TOLERANCE)) for f in fractions]
        if abs(sum(fractions) - 1) <= _FLOOR_TOLERANCE:
            counts[-1] += n - sum(counts)  # fractions cover everything: flooring leftovers go last
    if sum(counts) > n:
        raise ValueError(
            f"sizes ask for {sum(counts)} samples in total but only n={n} exist; reduce them."
        )
    return counts


def split_indices(
    n: int,
    sizes: Sequence[float | int],
    seed: int,
    *,
    stratify: Any = None,
) -> tuple[np.ndarray, ...]:
    """Disjoint random splits of ``range(n)``, e.g. fine-tuning pool / validation / test.

    Parameters
    ----------
    n : int
        Number of samples.
    sizes : sequence of float or of int
        Fractions of ``n`` (floats summing to at most 1; when they sum to 1 the samples left over
        by flooring go to the last split) or counts (ints summing to at most ``n``).
    seed : int
        Seed of the split.
    stratify : array-like of shape (n,), optional
        Labels (e.g. a class × group code) to keep in the same proportion in every split. Each
        split then holds its proportional share of every stratum up to at most S samples
        (S = number of strata; in practice ±1).

    Returns
    -------
    tuple of numpy.ndarray of int64
        One sorted index array per entry of ``sizes``; pairwise disjoint.
    """
    n = check_positive_int(n, "n")
    counts = _split_sizes(n, sizes)
    rng = np.random.default_rng(seed)
    if stratify is None:
        order = rng.permutation(n)
    else:
        labels = as_1d_labels(stratify, "stratify", n)
        _, codes = np.unique(labels, return_inverse=True)
        # Each stratum's members, in random order, get evenly spaced keys in [0, 1); sorting by key
        # interleaves the strata, so every contiguous slice holds them in proportion (±1).
        key = np.empty(n)
        for code in range(codes.max() + 1):
            members = rng.permutation(np.flatnonzero(codes == code))
            key[members] = (np.arange(len(members)) + rng.random()) / len(members)
        order = np.argsort(key, kind="stable")
    bounds = np.cumsum([0, *counts])
    return tuple(np.sort(order[lo:hi]).astype(np.int64) for lo, hi in pairwise(bounds))
