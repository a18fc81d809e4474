"""Property tests of the allocation samplers (issue 4, acceptance 1 and 4)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from latentsep.allocation import (
    allocation_indices,
    allocation_plan,
    expand_indices,
    group_sizes,
    max_feasible_k,
    plan_table,
    split_indices,
)

binary = st.lists(st.integers(0, 1), min_size=2, max_size=150).map(np.array)
seeds = st.integers(0, 2**32 - 1)
alphas = st.floats(0, 1, allow_nan=False)
SETTINGS = settings(max_examples=60, deadline=None)


def feasible_k(a: np.ndarray, alpha: float, data) -> int:
    m1 = int(a.sum())
    top = max_feasible_k(len(a) - m1, m1, alpha)
    assume(top >= 1)
    return data.draw(st.integers(1, top))


@pytest.mark.parametrize(
    ("alpha", "k", "n1"),
    [(0.0, 10, 0), (1.0, 10, 10), (0.3, 10, 3), (0.7, 10, 7), (0.1 * 3, 10, 3), (0.5, 7, 3),
     (0.29, 100, 29), (0.57, 100, 57)],
)
def test_group_sizes_floor_without_float_pitfalls(alpha, k, n1):
    # 0.3 * 10 == 2.9999999999999996 and 0.29 * 100 == 28.999999999999996 in floating point.
    assert group_sizes(alpha, k) == (n1, k - n1)


@SETTINGS
@given(a=binary, alpha=alphas, seed=seeds, nested=st.booleans(), data=st.data())
def test_exact_counts_without_replacement(a, alpha, seed, nested, data):
    k = feasible_k(a, alpha, data)
    idx = allocation_indices(a, alpha, k, seed, nested=nested)
    assert idx.shape == (k,) and idx.dtype == np.int64
    assert np.unique(idx).size == k  # no replacement
    assert a[idx].sum() == math.floor(alpha * k + 1e-9)
    assert np.all(np.diff(idx) > 0)  # sorted


@SETTINGS
@given(a=binary, alpha=st.sampled_from([0.0, 1.0]), seed=seeds, data=st.data())
def test_extreme_allocations_use_one_group(a, alpha, seed, data):
    k = feasible_k(a, alpha, data)
    idx = allocation_indices(a, alpha, k, seed)
    assert set(a[idx].tolist()) == {int(alpha)}


@SETTINGS
@given(a=binary, alpha=alphas, seed=seeds, data=st.data())
def test_draws_only_from_candidates(a, alpha, seed, data):
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=len(a), max_size=len(a))))
    candidates = np.flatnonzero(mask)
    sub = a[candidates]
    top = max_feasible_k(int((sub == 0).sum()), int(sub.sum()), alpha)
    assume(top >= 1)
    k = data.draw(st.integers(1, top))
    idx = allocation_indices(a, alpha, k, seed, candidates=candidates)
    assert np.isin(idx, candidates).all()


@SETTINGS
@given(a=binary, pair=st.tuples(alphas, alphas), seed=seeds, data=st.data())
def test_nested_sets_are_nested(a, pair, seed, data):
    low, high = sorted(pair)
    m1 = int(a.sum())
    top = min(max_feasible_k(len(a) - m1, m1, low), max_feasible_k(len(a) - m1, m1, high))
    assume(top >= 1)
    k = data.draw(st.integers(1, top))
    small = allocation_indices(a, low, k, seed, nested=True)
    large = allocation_indices(a, high, k, seed, nested=True)
    assert set(small[a[small] == 1]) <= set(large[a[large] == 1])  # group-1 part grows
    assert set(large[a[large] == 0]) <= set(small[a[small] == 0])  # group-0 part shrinks


def test_independent_design_is_not_nested():
    a = np.repeat([0, 1], 500)
    small = allocation_indices(a, 0.2, 100, 0)
    large = allocation_indices(a, 0.8, 100, 0)
    assert not set(small[a[small] == 1]) <= set(large[a[large] == 1])


@SETTINGS
@given(a=binary, alpha=alphas, seed=seeds, nested=st.booleans(), data=st.data())
def test_same_seed_same_indices(a, alpha, seed, nested, data):
    k = feasible_k(a, alpha, data)
    first = allocation_indices(a, alpha, k, seed, nested=nested)
    np.testing.assert_array_equal(first, allocation_indices(a, alpha, k, seed, nested=nested))


@pytest.mark.parametrize("nested", [False, True])
def test_different_seeds_differ(nested):
    a = np.random.default_rng(0).integers(0, 2, 1000)
    sets = {tuple(allocation_indices(a, 0.4, 100, seed, nested=nested)) for seed in range(20)}
    assert len(sets) == 20


@SETTINGS
@given(m0=st.integers(0, 60), m1=st.integers(0, 60), alpha=alphas)
def test_max_feasible_k_is_the_boundary(m0, m1, alpha):
    top = max_feasible_k(m0, m1, alpha)
    for k, ok in ((top, True), (top + 1, False)):
        n1, n0 = group_sizes(alpha, k)
        assert (n1 <= m1 and n0 <= m0) is ok


@pytest.mark.parametrize("alpha", [-0.1, 1.1, float("nan")])
def test_alpha_outside_unit_interval(alpha):
    with pytest.raises(ValueError, match=r"alpha must lie in \[0, 1\]"):
        allocation_indices(np.array([0, 1, 0, 1]), alpha, 2, 0)


def test_k_too_large_names_group_and_largest_k():
    a = np.array([0] * 30 + [1] * 8)
    with pytest.raises(ValueError) as err:
        allocation_indices(a, 0.5, 20, 0)
    message = str(err.value)
    assert "needs 10 samples of group 1" in message and "holds only 8" in message
    assert "largest feasible k at alpha=0.5 is 17" in message  # floor(0.5*17) = 8 <= 8, 9 <= 30
    assert "largest k feasible at every alpha in [0, 1] is 8" in message
    with pytest.raises(ValueError, match="group 0"):
        allocation_indices(a, 0.0, 31, 0)


def test_bad_attribute_and_candidates():
    with pytest.raises(ValueError, match="must be binary"):
        allocation_indices(np.array([0, 1, 2]), 0.5, 2, 0)
    with pytest.raises(ValueError, match="candidates must index"):
        allocation_indices(np.array([0, 1, 0, 1]), 0.5, 2, 0, candidates=[0, 9])
    with pytest.raises(ValueError, match="repeated"):
        allocation_indices(np.array([0, 1, 0, 1]), 0.5, 2, 0, candidates=[0, 0, 1])


def test_plan_is_alpha_major_and_described_by_plan_table():
    a = np.random.default_rng(1).integers(0, 2, 400)
    grid, run_seeds = [0.0, 0.25, 1.0], [42, 43]
    plan = allocation_plan(a, grid, 40, run_seeds, nested=True)
    table = plan_table(grid, 40, run_seeds)
    assert plan.shape == (6, 40)
    for row in table.itertuples():
        expected = allocation_indices(a, row.alpha, 40, row.seed, nested=True)
        np.testing.assert_array_equal(plan[row.run], expected)
        assert a[plan[row.run]].sum() == row.n1 and row.n0 == 40 - row.n1
    assert table.alpha.tolist() == [0.0, 0.0, 0.25, 0.25, 1.0, 1.0]


def test_plan_fails_on_any_infeasible_alpha():
    a = np.array([0] * 50 + [1] * 10)
    with pytest.raises(ValueError, match=r"at alpha=1\.0 needs 20 samples of group 1"):
        allocation_plan(a, [0.0, 0.5, 1.0], 20, [0])


def test_expand_design_fixes_one_group_and_nests_the_other():
    a = np.random.default_rng(2).integers(0, 2, 600)
    sets = [expand_indices(a, 1, 50, n, seed=7) for n in (0, 20, 200)]
    for idx, n in zip(sets, (0, 20, 200), strict=True):
        assert (a[idx] == 1).sum() == 50 and (a[idx] == 0).sum() == n
    fixed = [set(idx[a[idx] == 1]) for idx in sets]
    assert fixed[0] == fixed[1] == fixed[2]
    other = [set(idx[a[idx] == 0]) for idx in sets]
    assert other[0] <= other[1] <= other[2]
    with pytest.raises(ValueError, match="n_other=5000 exceeds"):
        expand_indices(a, 1, 50, 5000, seed=7)


@SETTINGS
@given(
    n=st.integers(3, 300),
    fractions=st.lists(st.floats(0.05, 0.5), min_size=1, max_size=4),
    seed=seeds,
)
def test_splits_are_disjoint_and_sized(n, fractions, seed):
    total = sum(fractions)
    fractions = [f / total for f in fractions]  # sum to 1: splits cover every sample
    parts = split_indices(n, fractions, seed)
    joined = np.concatenate(parts)
    assert np.unique(joined).size == joined.size == n
    for part, f in zip(parts[:-1], fractions[:-1], strict=True):
        assert len(part) == math.floor(f * n + 1e-9)


def test_split_by_counts_and_pool_allocations_stay_inside():
    pool, val, test = split_indices(1000, [600, 200, 200], seed=3)
    assert len(pool) == 600 and not set(pool) & set(val) and not set(val) & set(test)
    a = np.random.default_rng(3).integers(0, 2, 1000)
    idx = allocation_indices(a, 0.3, 200, 0, candidates=pool)
    assert set(idx) <= set(pool)
    with pytest.raises(ValueError, match="ask for 1200 samples"):
        split_indices(1000, [600, 600], seed=3)


@SETTINGS
@given(labels=st.lists(st.integers(0, 3), min_size=20, max_size=300), seed=seeds)
def test_stratified_splits_keep_proportions(labels, seed):
    labels = np.array(labels)
    parts = split_indices(len(labels), [0.5, 0.3, 0.2], seed, stratify=labels)
    n_strata = np.unique(labels).size
    for part in parts:
        for value in np.unique(labels):
            expected = len(part) * np.mean(labels == value)
            assert abs(np.sum(labels[part] == value) - expected) <= n_strata
