"""Transfer gap: known answers, invariants and errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from latentsep.transfer import _subsample, transfer_features, transfer_gap, transfer_table


def _groups(n: int = 1200, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two balanced groups and labels; x has 5 noise dimensions after the first two."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 7))
    return x, a, rng


def test_label_rule_that_flips_between_groups_gives_a_gap_near_one() -> None:
    x, a, _ = _groups()
    # group 0: y = [x0 > 0]; group 1: y = [x0 < 0]; a head trained on one group is wrong on the other
    y = np.where(a == 0, x[:, 0] > 0, x[:, 0] < 0).astype(int)
    gap = transfer_gap(x, y, a, c=1.0)
    assert gap.value > 0.85
    assert min(gap.gap_0, gap.gap_1) > 0.8
    assert gap.other_0 < 0.15 and gap.own_0 > 0.9
    assert gap.ci_low <= gap.value <= gap.ci_high


def test_gaussian_known_answer_and_the_tv_cap() -> None:
    # unit-variance classes ±1 apart along x0 in group 0 and along x1 in group 1: a group's own
    # head reaches Φ(1), the other group's head sees pure noise (1/2)
    rng = np.random.default_rng(0)
    n = 4000
    y, a = rng.integers(0, 2, n), rng.integers(0, 2, n)
    x = rng.normal(size=(n, 2))
    x[:, 0] += (2 * y - 1) * (a == 0)
    x[:, 1] += (2 * y - 1) * (a == 1)
    gap = transfer_gap(x, y, a, c=1.0)
    expected = norm.cdf(1) - 0.5  # 0.341
    cap = 2 * norm.cdf(1 / np.sqrt(2)) - 1  # TV between N((±1, 0), I) and N((0, ±1), I): 0.520
    assert gap.value == pytest.approx(expected, abs=0.03)
    assert gap.ci_high < cap
    assert gap.own_0 == pytest.approx(norm.cdf(1), abs=0.03)
    assert gap.other_0 == pytest.approx(0.5, abs=0.04)


def test_separable_groups_whose_heads_transfer_have_no_gap() -> None:
    x, a, _ = _groups()
    # the groups are almost perfectly separable along x1 (a far larger shift is a real gap: the
    # other group's head extrapolates its small noise weight on x1) ...
    x[:, 1] += 4.0 * a
    y = (x[:, 0] > 0).astype(int)  # ... but the label depends on x0 in both
    gap = transfer_gap(x, y, a, c=1.0)
    assert abs(gap.value) < 0.03
    assert gap.ci_low < 0.02


def test_random_attribute_gap_is_centred_on_zero() -> None:
    x, _, rng = _groups(seed=3)
    y = (x[:, 0] + 0.5 * rng.normal(size=len(x)) > 0).astype(int)
    a = rng.integers(0, 2, len(x))
    gap = transfer_gap(x, y, a)
    assert gap.ci_low <= 0 <= gap.ci_high


def test_same_seed_same_numbers_and_the_seed_matters() -> None:
    x, a, rng = _groups(seed=5)
    y = (x[:, 0] + x[:, 1] * a + 0.3 * rng.normal(size=len(x)) > 0).astype(int)
    first, again = transfer_gap(x, y, a, seed=1), transfer_gap(x, y, a, seed=1)
    assert first == again
    assert transfer_gap(x, y, a, seed=2) != first


def test_heads_train_on_equal_numbers_of_rows_per_group() -> None:
    x, _, rng = _groups(n=1000)
    a = (rng.random(1000) < 0.2).astype(int)  # group 1 is the small one
    y = (x[:, 0] > 0).astype(int)
    gap = transfer_gap(x, y, a)
    # each head sees the smaller group's training half (about 200 / 2 rows)
    assert gap.n_train <= gap.n_1 // 2 + 2
    assert gap.n_train >= gap.n_1 // 2 - 2
    assert (gap.n_0, gap.n_1) == (int((a == 0).sum()), int((a == 1).sum()))


def test_subsample_keeps_both_classes_and_the_size() -> None:
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(3, int), np.zeros(97, int)]
    rows = np.arange(100)
    picked = _subsample(rows, y, 10, rng)
    assert len(picked) == 10 and len(np.unique(picked)) == 10
    assert set(y[picked]) == {0, 1}
    assert np.array_equal(_subsample(rows, y, 200, rng), rows)


def test_table_with_missing_values_equals_the_gap_on_the_known_rows() -> None:
    x, a, rng = _groups(n=800, seed=7)
    y = np.where(a == 0, x[:, 0] > 0, x[:, 1] > 0).astype(int)
    codes = a.astype(float)
    codes[rng.random(800) < 0.25] = np.nan
    table = transfer_table(x, y, {"g": codes, "full": a}, n_components=7, seed=4)
    known = ~np.isnan(codes)
    direct = transfer_gap(transfer_features(x, 7)[known], y[known], a[known], seed=4)
    row = table.set_index("attribute").loc["g"]
    assert row["transfer_gap"] == pytest.approx(direct.value)
    assert row["transfer_ci_low"] == pytest.approx(direct.ci_low)
    assert list(table["attribute"]) == ["g", "full"]


def test_features_are_standardised_pca_scores_capped_by_rank() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(size=(30, 100))
    z[:, 5] = 3.0  # a constant column must not produce NaN
    f = transfer_features(z, 64)
    assert f.shape == (30, 29)
    assert np.isfinite(f).all()
    assert np.allclose(f.mean(axis=0), 0, atol=1e-10)
    assert transfer_features(z[:, :8], 64).shape == (30, 8)


def test_a_cell_with_one_row_is_refused_with_its_name() -> None:
    x, a, _ = _groups(n=200)
    y = np.zeros(200, int)
    y[np.flatnonzero(a == 0)[:50]] = 1
    y[np.flatnonzero(a == 1)[0]] = 1  # group 1 has a single positive
    with pytest.raises(ValueError, match=r"attribute 'site': group 1 has 1 row\(s\) of class 1"):
        transfer_gap(x, y, a, name="site")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"c": 0.0}, "c must be a positive number"),
    ({"n_repeats": 0}, "n_repeats"),
    ({"confidence": 1.5}, "confidence"),
])
def test_bad_arguments_are_named(kwargs: dict, message: str) -> None:
    x, a, _ = _groups(n=200)
    y = (x[:, 0] > 0).astype(int)
    with pytest.raises(ValueError, match=message):
        transfer_gap(x, y, a, **kwargs)


def test_non_binary_groups_and_bad_shapes_are_refused() -> None:
    x, a, _ = _groups(n=100)
    y = (x[:, 0] > 0).astype(int)
    with pytest.raises(ValueError, match="must be binary"):
        transfer_gap(x, y, a * 2, name="site")
    with pytest.raises(ValueError, match="shape"):
        transfer_table(x, y, {"short": a[:50].astype(float)})
