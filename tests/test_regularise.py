"""Invariance penalties: known values, gradients, guards, and what each penalty can see."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from latentsep.regularise import (
    GroupAdversary,
    MMDPenalty,
    Penalty,
    Regulariser,
    TVSurrogate,
    mmd_penalty,
    tv_surrogate,
)


def _batch(n: int = 24, d: int = 3, seed: int = 0, dtype=torch.float64):
    """Random embeddings with every class-group cell filled (6 per cell for n = 24)."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, d, generator=g, dtype=dtype)
    y = torch.arange(n) % 2
    a = (torch.arange(n) // 2) % 2
    return z, y, a


# Hand-computed example. Class 0: group 0 rows (0, 1), (2, 1); group 1 rows (4, 1), (6, 3).
#   dim 0: means 1 vs 5, within-group SS 2 + 2 = 4, pooled var 4 / (2 + 2 - 2) = 2 -> 16 / 2 = 8.
#   dim 1: means 1 vs 2, within-group SS 0 + 2 = 2, pooled var 1              -> 1 / 1  = 1.
# Class 1: group 0 rows (0, 0), (2, 0); group 1 rows (0, 0), (2, 0), (1, 0): equal means -> 0.
# Penalty = mean over classes: (8 + 1) / 2 = 4.5 summed over dims, 2.25 averaged over dims.
HAND_Z = torch.tensor(
    [[0, 1], [2, 1], [4, 1], [6, 3], [0, 0], [2, 0], [0, 0], [2, 0], [1, 0]], dtype=torch.float64
)
HAND_Y = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 1])
HAND_A = torch.tensor([0, 0, 1, 1, 0, 0, 1, 1, 1])


def test_tv_surrogate_hand_computed_value() -> None:
    eps = 1e-6
    class0 = [16 / (2 + eps), 1 / (1 + eps)]
    expected_sum = sum(class0) / 2
    assert tv_surrogate(HAND_Z, HAND_Y, HAND_A, reduction="sum").item() == pytest.approx(
        expected_sum, rel=1e-12
    )
    assert tv_surrogate(HAND_Z, HAND_Y, HAND_A).item() == pytest.approx(expected_sum / 2, rel=1e-12)
    assert tv_surrogate(HAND_Z, HAND_Y, HAND_A, eps=1e-15, reduction="sum").item() == (
        pytest.approx(4.5, rel=1e-12)
    )


def test_tv_surrogate_total_variance_hand_computed_value() -> None:
    # The authors' denominator: biased variance of both groups' rows together (issue 13).
    # Class 0, dim 0: rows 0, 2, 4, 6 -> mean 3, variance (9 + 1 + 1 + 9) / 4 = 5 -> 16 / 5 = 3.2.
    #          dim 1: rows 1, 1, 1, 3 -> mean 1.5, variance (3·0.25 + 2.25) / 4 = 0.75 -> 1 / 0.75.
    # Class 1 has equal means -> 0. Summed over dims and averaged over the two classes:
    eps = 1e-6
    expected_sum = (16 / (5 + eps) + 1 / (0.75 + eps)) / 2
    total = TVSurrogate(variance="total", reduction="sum")(HAND_Z, HAND_Y, HAND_A)
    assert total.value.item() == pytest.approx(expected_sum, rel=1e-12)
    assert total.n_classes_used == 2
    assert tv_surrogate(HAND_Z, HAND_Y, HAND_A, variance="total").item() == pytest.approx(
        expected_sum / 2, rel=1e-12)
    # bounded: each term is at most n² / (n0·n1) (4 for class 0's 2 + 2 rows, 25/6 for class 1's
    # 2 + 3), reached as the groups move apart, while the within-group form grows without bound
    far = HAND_Z.clone()
    far[HAND_A == 1] += 1e4
    bound = (4 + 25 / 6) / 2
    assert tv_surrogate(far, HAND_Y, HAND_A, variance="total").item() == pytest.approx(bound, rel=1e-6)
    assert tv_surrogate(far, HAND_Y, HAND_A, variance="total").item() <= bound
    assert tv_surrogate(far, HAND_Y, HAND_A).item() > 1e6
    with pytest.raises(ValueError, match="unknown variance 'pooled'"):
        TVSurrogate(variance="pooled")
    # the default keeps vars() (hence encoder cache keys) as before the option existed
    assert "variance" not in vars(TVSurrogate()) and vars(TVSurrogate(variance="total"))["variance"]


def test_tv_surrogate_invariances() -> None:
    z, y, a = _batch(40, 4, seed=1)
    base = tv_surrogate(z, y, a, eps=1e-15)
    scale = torch.tensor([0.5, 3.0, 10.0, 1e-2], dtype=torch.float64)
    shift = torch.tensor([1.0, -2.0, 5.0, 0.0], dtype=torch.float64)
    # Per-dimension affine maps leave a diagonal Mahalanobis distance unchanged ...
    assert tv_surrogate(z * scale + shift, y, a, eps=1e-15).item() == pytest.approx(base.item())
    # ... as does swapping the group labels or the order of the rows.
    assert tv_surrogate(z, y, 1 - a, eps=1e-15).item() == pytest.approx(base.item())
    perm = torch.randperm(len(z), generator=torch.Generator().manual_seed(3))
    assert tv_surrogate(z[perm], y[perm], a[perm], eps=1e-15).item() == pytest.approx(base.item())
    # Moving group 1 away from group 0 in one class raises it.
    shifted = z.clone()
    shifted[(a == 1) & (y == 0), 0] += 3.0
    assert tv_surrogate(shifted, y, a, eps=1e-15) > base


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_tv_surrogate_gradient_matches_finite_differences(reduction: str) -> None:
    z, y, a = _batch(16, 3, seed=2)
    z.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: tv_surrogate(t, y, a, reduction=reduction), (z,))


def test_mmd_gradient_matches_finite_differences() -> None:
    z, y, a = _batch(16, 3, seed=4)
    z.requires_grad_(True)
    for estimator in ("unbiased", "biased"):
        assert torch.autograd.gradcheck(
            lambda t, e=estimator: mmd_penalty(t, y, a, bandwidth=1.5, estimator=e), (z,)
        )


def test_missing_cell_skips_class_and_counts_it() -> None:
    z, y, a = HAND_Z[:4], HAND_Y[:4], HAND_A[:4]
    # Add class 1 rows from group 0 only: class 1 is present but has no group-1 cell.
    z_m = torch.cat([z, torch.tensor([[9.0, 9.0], [7.0, 1.0]], dtype=torch.float64)])
    y_m = torch.cat([y, torch.tensor([1, 1])])
    a_m = torch.cat([a, torch.tensor([0, 0])])
    out = TVSurrogate(reduction="sum")(z_m, y_m, a_m)
    assert (out.n_classes_used, out.n_classes_skipped) == (1, 1)
    assert out.value.item() == pytest.approx(16 / (2 + 1e-6) + 1 / (1 + 1e-6))
    # A single sample in a cell is below min_count = 2: also skipped.
    one = TVSurrogate()(HAND_Z[:3], HAND_Y[:3], HAND_A[:3])
    assert (one.n_classes_used, one.n_classes_skipped) == (0, 1)


@pytest.mark.parametrize("penalty", [TVSurrogate(), MMDPenalty()])
def test_no_usable_class_gives_zero_with_gradient_never_nan(penalty: Regulariser) -> None:
    z = torch.randn(6, 4, requires_grad=True)
    y = torch.tensor([0, 0, 0, 1, 1, 1])
    a = torch.tensor([0, 0, 0, 1, 1, 1])  # each class has one group only
    out = penalty(z, y, a)
    assert isinstance(out, Penalty) and out.n_classes_used == 0 and out.n_classes_skipped == 2
    assert out.value.item() == 0.0 and out.value.requires_grad
    out.value.backward()
    assert torch.equal(z.grad, torch.zeros_like(z))


def test_constant_dimension_does_not_blow_up() -> None:
    z, y, a = _batch(24, 3, seed=5)
    z[:, 1] = 0.0  # a dead ReLU unit: zero variance, zero mean difference
    z.requires_grad_(True)
    value = tv_surrogate(z, y, a)
    value.backward()
    assert math.isfinite(value.item()) and torch.isfinite(z.grad).all()


def test_mmd_zero_for_identical_and_unbiased_in_expectation() -> None:
    z, y, _ = _batch(24, 5, seed=6)
    # Same rows in both groups of each class: the V-statistic is 0 up to rounding.
    twin = torch.cat([z, z])
    y2, a2 = torch.cat([y, y]), torch.cat([torch.zeros(24), torch.ones(24)]).long()
    assert abs(mmd_penalty(twin, y2, a2, estimator="biased").item()) < 1e-12
    # Groups drawn from one distribution: the U-statistic averages to 0 (within 4 standard
    # errors over 300 batches) while the V-statistic is positively biased.
    g = torch.Generator().manual_seed(7)
    u, v = [], []
    for _ in range(300):
        zz = torch.randn(40, 5, generator=g, dtype=torch.float64)
        yy, aa = torch.arange(40) % 2, (torch.arange(40) // 2) % 2
        u.append(mmd_penalty(zz, yy, aa, bandwidth=2.0).item())
        v.append(mmd_penalty(zz, yy, aa, bandwidth=2.0, estimator="biased").item())
    u_arr = np.array(u)
    assert abs(u_arr.mean()) < 4 * u_arr.std(ddof=1) / np.sqrt(len(u_arr))
    assert np.mean(v) > 4 * np.std(v, ddof=1) / np.sqrt(len(v))


def test_mmd_sees_a_variance_shift_that_the_mean_surrogate_misses() -> None:
    g = torch.Generator().manual_seed(8)
    n = 200
    y = torch.arange(n) % 2
    a = (torch.arange(n) // 2) % 2
    same = torch.randn(n, 4, generator=g, dtype=torch.float64)
    spread = same.clone()
    spread[a == 1] *= 3.0  # same means, three times the spread in group 1
    shifted = same.clone()
    shifted[a == 1] += 1.0  # same spread, means moved by one sd in every dimension
    cases = {"same": same, "spread": spread, "shifted": shifted}
    mmd = {k: mmd_penalty(v, y, a).item() for k, v in cases.items()}
    tv = {k: tv_surrogate(v, y, a).item() for k, v in cases.items()}
    assert mmd["spread"] > 10 * abs(mmd["same"]) and mmd["shifted"] > 10 * abs(mmd["same"])
    assert tv["shifted"] > 0.5 and tv["spread"] < 0.1


def test_group_adversary_reverses_the_gradient_and_is_seeded() -> None:
    z, y, a = _batch(20, 4, seed=9)
    z = z.float().requires_grad_(True)
    adv = GroupAdversary(4, seed=3)
    assert all(
        torch.equal(p, q)
        for p, q in zip(adv.parameters(), GroupAdversary(4, seed=3).parameters(), strict=True)
    )
    out = adv(z, y, a)
    out.value.backward()
    reversed_grad = z.grad.clone()
    z.grad = None
    features = torch.cat([z, torch.nn.functional.one_hot(y, 2).float()], 1)
    torch.nn.functional.cross_entropy(adv.net(features), a).backward()
    assert torch.allclose(reversed_grad, -z.grad)
    assert out.value.item() == pytest.approx(math.log(2), abs=0.2)  # untrained: near chance
    assert isinstance(adv, Regulariser)


def test_bad_inputs_name_the_argument() -> None:
    z, y, a = _batch(8, 2)
    with pytest.raises(ValueError, match="a must be binary"):
        tv_surrogate(z, y, a + 1)
    with pytest.raises(ValueError, match="z must be 2-D"):
        tv_surrogate(z[:, 0], y, a)
    with pytest.raises(ValueError, match="y must be 1-D"):
        mmd_penalty(z, y[:5], a)
    with pytest.raises(ValueError, match="eps must be > 0"):
        TVSurrogate(eps=0.0)
    with pytest.raises(ValueError, match="reduction"):
        TVSurrogate(reduction="max")
    with pytest.raises(ValueError, match="min_count"):
        MMDPenalty(min_count=1)
    with pytest.raises(ValueError, match="in_dim=4"):
        GroupAdversary(4)(z.float(), y, a)
