"""Regularised pre-training experiments (experiments.regularisation) on coloured 8×8 digits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import small_cnn

from latentsep.experiments.protocol import encoders as protocol_encoders
from latentsep.experiments.protocol import feasible_k, pretrained_embeddings
from latentsep.experiments.regularisation import (
    QUANTITIES,
    OutcomeSettings,
    change_from_unregularised,
    make_regulariser,
    matched_accuracy,
    penalty_scale,
    regularised_embeddings,
    summarise_tradeoff,
    tradeoff,
)
from latentsep.heads import HeadConfig
from latentsep.models import PretrainConfig
from latentsep.regularise import GroupAdversary, MMDPenalty, TVSurrogate
from latentsep.row_bootstrap import ROW_INTERVAL, SEEDS_RANGE

CONFIG = PretrainConfig(max_epochs=3, num_threads=1)
ATTRIBUTE = "digit_group"



@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


def test_lambda_zero_reproduces_the_unregularised_encoder_bitwise(data, tmp_path) -> None:
    ours = regularised_embeddings(data, small_cnn, penalty="tv", lam=0.0, attribute=ATTRIBUTE,
                                  seeds=[1], config=CONFIG, cache_dir=tmp_path, progress=False)[1]
    plain = pretrained_embeddings(data, small_cnn, seeds=[1], config=CONFIG, cache_dir=tmp_path,
                                  progress=False)[1]
    assert plain.from_cache and plain.key == ours.key  # λ = 0 *is* the unregularised cache entry
    # The penalty evaluated at λ = 0 is a different cache entry, trained afresh: same weights.
    evaluated = pretrained_embeddings(data, small_cnn, seeds=[1], config=CONFIG,
                                      cache_dir=tmp_path, regulariser=TVSurrogate(reduction="sum"),
                                      lam=0.0, groups_attribute=ATTRIBUTE, progress=False)[1]
    assert evaluated.key != ours.key and not evaluated.from_cache
    assert np.array_equal(evaluated.z, ours.z)
    for name, tensor in ours.state_dict.items():
        assert torch.equal(tensor, evaluated.state_dict[name]), name
    assert np.array_equal(evaluated.history["task_loss"], ours.history["task_loss"])
    assert evaluated.history["penalty"].notna().all() and ours.history["penalty"].isna().all()


def test_regularised_runs_are_cached_by_penalty_and_lambda(data, tmp_path, monkeypatch) -> None:
    kwargs = {"attribute": ATTRIBUTE, "seeds": [1, 2], "config": CONFIG, "cache_dir": tmp_path,
              "progress": False}
    first = regularised_embeddings(data, small_cnn, penalty="tv", lam=0.1, **kwargs)
    assert not any(run.from_cache for run in first.values())

    def no_training(*args, **kw):
        raise AssertionError("a cached run was trained again")

    monkeypatch.setattr(protocol_encoders, "pretrain", no_training)
    again = regularised_embeddings(data, small_cnn, penalty="tv", lam=0.1, **kwargs)
    assert all(run.from_cache for run in again.values())
    for seed in (1, 2):
        assert again[seed].key == first[seed].key
        assert np.array_equal(again[seed].z, first[seed].z)
    monkeypatch.undo()
    keys = {(p, lam): regularised_embeddings(data, small_cnn, penalty=p, lam=lam, **kwargs)[1].key
            for p, lam in [("tv", 0.1), ("tv", 1.0), ("mmd", 0.1), ("tv", 0.0)]}
    keys["total"] = regularised_embeddings(data, small_cnn, penalty="tv", lam=0.1,
                                           tv_variance="total", **kwargs)[1].key
    assert len(set(keys.values())) == 5  # the surrogate's denominator is in the key


def test_a_strong_penalty_changes_the_encoder_and_lowers_its_penalty(data, tmp_path) -> None:
    kwargs = {"seeds": [3], "config": CONFIG, "cache_dir": tmp_path, "progress": False}
    reg = TVSurrogate(reduction="sum")
    free = pretrained_embeddings(data, small_cnn, regulariser=reg, lam=0.0,
                                 groups_attribute=ATTRIBUTE, **kwargs)[3]
    strong = regularised_embeddings(data, small_cnn, penalty="tv", lam=1.0, attribute=ATTRIBUTE,
                                    **kwargs)[3]
    assert not np.array_equal(free.z, strong.z)
    assert strong.history["penalty"].iloc[-1] < 0.5 * free.history["penalty"].iloc[-1]


def test_make_regulariser_builds_each_penalty_and_rejects_unknown_names() -> None:
    tv = make_regulariser("tv", embedding_dim=10)
    assert isinstance(tv, TVSurrogate) and tv.reduction == "sum"
    assert make_regulariser("tv", embedding_dim=10, tv_reduction="mean").reduction == "mean"
    assert tv.variance == "within"
    assert make_regulariser("tv", embedding_dim=10, tv_variance="total").variance == "total"
    assert isinstance(make_regulariser("mmd", embedding_dim=10), MMDPenalty)
    adversaries = [make_regulariser("adversary", embedding_dim=10, seed=s) for s in (0, 0, 1)]
    assert all(isinstance(a, GroupAdversary) and a.in_dim == 10 for a in adversaries)
    w = [a.net[0].weight for a in adversaries]
    assert torch.equal(w[0], w[1]) and not torch.equal(w[0], w[2])
    with pytest.raises(ValueError, match="penalty"):
        make_regulariser("l2", embedding_dim=10)


def test_regularised_embeddings_rejects_bad_lambda_and_attribute(data, tmp_path) -> None:
    kwargs = {"seeds": [1], "config": CONFIG, "cache_dir": tmp_path, "progress": False}
    with pytest.raises(ValueError, match="lam must be"):
        regularised_embeddings(data, small_cnn, penalty="tv", lam=-0.1, attribute=ATTRIBUTE, **kwargs)
    with pytest.raises(ValueError, match="unknown attribute 'sex'"):
        regularised_embeddings(data, small_cnn, penalty="tv", lam=0.1, attribute="sex", **kwargs)


def test_outcome_settings_need_the_balanced_and_extreme_allocations() -> None:
    assert OutcomeSettings(alphas=[0, 0.5, 1]).alphas == (0.0, 0.5, 1.0)
    with pytest.raises(ValueError, match=r"alphas must include 0\.5"):
        OutcomeSettings(alphas=(0.0, 0.25, 1.0))
    with pytest.raises(ValueError, match="metric"):
        OutcomeSettings(metric="f1")


def test_tradeoff_measures_every_penalty_lambda_and_seed(data, cache) -> None:
    settings = OutcomeSettings(alphas=(0.0, 0.5, 1.0), k_train=feasible_k(data, [ATTRIBUTE], 300),
                               k_val=60, head=HeadConfig(max_epochs=5), n_permutations=20,
                               bins=10)
    per_seed = tradeoff(data, small_cnn, attribute=ATTRIBUTE, lambdas={"tv": [1.0], "mmd": [1.0]},
                        seeds=[1, 2], config=CONFIG, cache_dir=cache, settings=settings,
                        progress=False)
    assert len(per_seed) == 2 * 2 * 2
    assert list(per_seed.columns[:5]) == ["dataset", "attribute", "penalty", "lam", "seed"]
    assert per_seed[list(QUANTITIES)].notna().all().all()
    zero = per_seed[per_seed["lam"] == 0].drop(columns="penalty")
    tv0, mmd0 = (zero.iloc[:2].reset_index(drop=True), zero.iloc[2:].reset_index(drop=True))
    pd.testing.assert_frame_equal(tv0, mmd0)  # the shared unregularised encoders
    assert np.allclose(per_seed["sensitivity"], (per_seed["slope_0"] + per_seed["slope_1"]) / 2)
    assert np.allclose(per_seed["abs_sensitivity"],
                       (per_seed["slope_0"].abs() + per_seed["slope_1"].abs()) / 2)
    assert per_seed["separation"].between(0, 1).all()
    summary = summarise_tradeoff(per_seed, ["separation", "sensitivity"])
    assert len(summary) == 2 * 2 * 2 and (summary["n_seeds"] == 2).all()


def _curve(penalty: str, costs: list[float], drops: list[float], seeds=(0, 1)) -> pd.DataFrame:
    """A tradeoff-like table: accuracy = 0.9 − cost, sensitivity = 0.3 − drop."""
    lams = [0.0, *np.arange(1, len(costs) + 1) / 10]
    return pd.DataFrame([
        {"dataset": "d", "penalty": penalty, "lam": lam, "seed": seed, "balanced_accuracy": 0.9 - c,
         "sensitivity": 0.3 - d}
        for seed in seeds for lam, c, d in zip(lams, [0.0, *costs], [0.0, *drops], strict=True)
    ])


def test_matched_accuracy_interpolates_each_path_at_equal_cost() -> None:
    table = pd.concat([_curve("tv", [0.1, 0.2], [0.05, 0.10]), _curve("mmd", [0.1, 0.3], [0.2, 0.3])])
    out = matched_accuracy(table, penalties=("tv", "mmd"), costs=[0.1, 0.2, 0.25])
    got = out.set_index(["cost", "penalty"])["drop"]
    assert got[(0.1, "tv")] == pytest.approx(0.05) and got[(0.1, "mmd")] == pytest.approx(0.2)
    assert got[(0.2, "mmd")] == pytest.approx(0.25) and got[(0.2, "mmd − tv")] == pytest.approx(0.15)
    assert (0.25, "tv") not in got.index  # beyond the TV path: no extrapolation
    row = out[(out["cost"] == 0.1) & (out["penalty"] == "tv")].iloc[0]
    assert row["drop_per_point"] == pytest.approx(0.005) and row["n_seeds"] == 2
    # Default costs: evenly spaced up to the smaller reach (0.2).
    default = matched_accuracy(table, penalties=("tv", "mmd"), n_costs=2)
    assert np.allclose(sorted(default["cost"].unique()), [0.1, 0.2])


def test_matched_accuracy_rejects_bad_requests() -> None:
    table = _curve("tv", [0.1], [0.05])
    with pytest.raises(ValueError, match="penalty 'mmd' is not in per_seed"):
        matched_accuracy(table, penalties=("tv", "mmd"))
    with pytest.raises(ValueError, match="two different penalties"):
        matched_accuracy(table, penalties=("tv", "tv"))
    with pytest.raises(ValueError, match="'f1' is not a column"):
        matched_accuracy(table, penalties=("tv", "mmd"), outcome="f1")


def test_summarise_tradeoff_shows_row_intervals_or_the_seeds_range_never_a_t() -> None:
    per_seed = pd.DataFrame({"dataset": "d", "attribute": "a", "penalty": "tv", "lam": 0.1,
                             "seed": [0, 1, 2], "sensitivity": [0.1, 0.2, 0.3]})
    row = summarise_tradeoff(per_seed, ["sensitivity"]).iloc[0]
    # no draws: no interval (a t on 2 df is never shown), the seeds' range instead
    assert row["mean"] == pytest.approx(0.2) and np.isnan([row["ci_low"], row["ci_high"]]).all()
    assert (row["seed_min"], row["seed_max"]) == (0.1, 0.3) and row["interval"] == SEEDS_RANGE
    draws = [np.full(50, v) + np.linspace(-0.01, 0.01, 50) for v in (0.1, 0.2, 0.3)]
    row = summarise_tradeoff(per_seed.assign(sensitivity_draws=draws), ["sensitivity"]).iloc[0]

    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.2 - 0.0095, 0.2 + 0.0095), abs=1e-3)
    assert row["interval"] == ROW_INTERVAL
    with pytest.raises(ValueError, match="not columns"):
        summarise_tradeoff(per_seed, ["accuracy"])


def test_change_from_unregularised_is_paired_by_seed() -> None:
    per_seed = pd.DataFrame({"dataset": "d", "attribute": "a", "penalty": "tv",
                             "lam": [0.0, 0.1, 0.0, 0.1, 0.0, 0.1], "seed": [0, 0, 1, 1, 2, 2],
                             "separation": [0.5, 0.4, 0.9, 0.8, 0.1, 0.0]})
    noise = np.random.default_rng(0).normal(size=200)
    # each seed's draws move both levels together (the same rows): the paired change does not
    per_seed["separation_draws"] = [v + 0.05 * noise for v in per_seed["separation"]]
    out = change_from_unregularised(per_seed, ["separation"])
    assert list(out.columns[:5]) == ["dataset", "attribute", "penalty", "lam", "quantity"]
    row = out.iloc[0]
    # Seed offsets are large but every paired change is exactly -0.1: zero-width intervals.
    assert row["lam"] == 0.1 and row["change"] == pytest.approx(-0.1)
    assert row["ci_high"] - row["ci_low"] == pytest.approx(0.0, abs=1e-12)
    assert [s for s, *_ in row["per_seed"]] == [0, 1, 2]
    assert all(lo == pytest.approx(-0.1) and hi == pytest.approx(-0.1)
               for _, _, lo, hi in row["per_seed"])
    with pytest.raises(ValueError, match=r"lacks its row at lam = 0\.0"):
        change_from_unregularised(per_seed[per_seed["seed"] != 2].assign(
            seed=[0, 0, 1, 5]), ["separation"])
    with pytest.raises(ValueError, match=r"columns \['accuracy'\] are not in the table"):
        change_from_unregularised(per_seed, ["accuracy"])


def test_penalty_scale_floor_grows_with_width_under_sum_only() -> None:
    rng = np.random.default_rng(0)
    y, a = rng.integers(0, 2, 2000), rng.integers(0, 2, 2000)
    narrow = penalty_scale(rng.normal(size=(2000, 8)), y, a, n_batches=40)
    wide = penalty_scale(rng.normal(size=(2000, 64)), y, a, n_batches=40)
    pick = lambda t, r: t.query("groups == 'shuffled within class' and reduction == @r")["mean"].item()  # noqa: E731
    # No group signal: per dimension (Δmean)²/var ≈ 1/n0 + 1/n1 = 1/16 with 32 rows per cell.
    assert pick(narrow, "mean") == pytest.approx(pick(wide, "mean"), rel=0.3)
    assert pick(wide, "sum") / pick(narrow, "sum") == pytest.approx(8, rel=0.3)
    assert pick(wide, "mean") == pytest.approx(1 / 16, rel=0.2)
    # A shifted group is penalised well above the floor.
    z = rng.normal(size=(2000, 8)) + 2.0 * a[:, None]
    shifted = penalty_scale(z, y, a, n_batches=10)
    assert pick(shifted, "mean") < 0.5 < shifted.query(
        "groups == 'observed' and reduction == 'mean'")["mean"].item()


def test_matched_accuracy_refuses_when_a_penalty_never_costs_accuracy() -> None:
    free = _curve("mmd", [-0.01, 0.0], [0.1, 0.2])  # accuracy never drops below λ = 0
    table = pd.concat([_curve("tv", [0.1, 0.2], [0.05, 0.10]), free])
    with pytest.raises(ValueError, match="no positive accuracy cost"):
        matched_accuracy(table, penalties=("tv", "mmd"))
