"""Conventional explanations and the controlled prevalence experiment (experiments.explanations)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import small_cnn

from latentsep.experiments.explanations import (
    EXPLANATIONS,
    controlled_outcomes,
    explanation_correlations,
    group_explanations,
    joint_regression,
    prevalence_reserve,
    prevalence_variant,
)
from latentsep.experiments.protocol import allocation_sweeps, pretrained_embeddings, separation_by_seed
from latentsep.experiments.regularisation import OutcomeSettings
from latentsep.heads import HeadConfig
from latentsep.models import PretrainConfig
from latentsep.stats import allocation_slopes

CONFIG = PretrainConfig(max_epochs=3, num_threads=1)
ATTRIBUTES = ["colour", "digit_group"]



@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def protocol(data, cache):
    runs = pretrained_embeddings(data, small_cnn, seeds=[1, 2], config=CONFIG, cache_dir=cache,
                                 progress=False)
    sep = separation_by_seed(data, runs, attributes=ATTRIBUTES, n_permutations=10, n_bootstrap=0,
                             bins=10)
    sweeps = allocation_sweeps(data, runs, attributes=ATTRIBUTES, alphas=(0.0, 0.5, 1.0),
                               k_train=200, k_val=50, head=HeadConfig(max_epochs=5),
                               store_dir=cache / "sweeps", progress=False)
    return runs, sep, sweeps


def test_group_explanations_match_direct_computations(data, protocol) -> None:
    runs, sep, sweeps = protocol
    table = group_explanations(data, runs, sweeps, sep, metric="cross_entropy")
    assert list(table[["attribute", "group"]].itertuples(index=False, name=None)) == [
        ("colour", 0), ("colour", 1), ("digit_group", 0), ("digit_group", 1)]
    assert set(EXPLANATIONS) <= set(table.columns) and (table["dataset"] == data.name).all()
    slopes = allocation_slopes(sweeps, "cross_entropy").set_index(["attribute", "group"])
    assert np.allclose(table["slope"], slopes["slope"].to_numpy())
    values = data.attributes["digit_group"].to_numpy()
    pre, pool = data.splits["pretrain_train"], data.splits["pool"]
    row = table[(table["attribute"] == "digit_group") & (table["group"] == 1)].iloc[0]
    assert row["pretrain_prevalence"] == pytest.approx(values[pre].mean())
    p1, p0 = (data.y[pool][values[pool] == g].mean() for g in (1, 0))
    assert row["class_prevalence"] == pytest.approx(p1)
    assert row["class_prevalence_gap"] == pytest.approx(abs(p1 - p0))
    base = [r.baseline.query("attribute == 'digit_group' and metric == 'balanced_accuracy'")
            .assign(g=lambda f: f["group"].astype(str)).query("g == '1'")["value"].iloc[0]
            for r in runs.values()]
    assert row["baseline_balanced_accuracy"] == pytest.approx(np.mean(base))
    sep_mean = sep.query("attribute == 'digit_group'")["value"].mean()
    assert table.query("attribute == 'digit_group'")["separation"].tolist() == pytest.approx(
        [sep_mean, sep_mean])
    assert (table["baseline_balanced_accuracy_seed_min"] <= table["baseline_balanced_accuracy"]).all()


def test_group_explanations_rejects_mixed_estimators_and_unknown_attributes(data, protocol) -> None:
    runs, sep, sweeps = protocol
    mixed = pd.concat([sep, sep.assign(estimator="classifier")])
    with pytest.raises(ValueError, match="several estimators"):
        group_explanations(data, runs, sweeps, mixed)
    with pytest.raises(ValueError, match="unknown attribute 'sex'"):
        group_explanations(data, runs, sweeps, sep, attributes=["sex"])


def test_explanation_correlations_known_answers() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=12)
    groups = pd.DataFrame({"dataset": np.repeat(["a", "b"], 6), "separation": x,
                           "slope": 2 * x + 1, "constant": 0.5})
    out = explanation_correlations(groups, predictors=["separation", "constant"], n_boot=200)
    sep = out.set_index("predictor").loc["separation"]
    assert sep["pearson_r"] == pytest.approx(1.0) and sep["r2"] == pytest.approx(1.0)
    assert sep["n"] == 12 and sep["spearman"] == pytest.approx(1.0)
    assert np.isnan(out.set_index("predictor").loc["constant", "pearson_r"])
    # Two datasets whose offsets alone make x and y move together: centring removes it.
    within = rng.normal(size=(2, 20))
    noise = rng.normal(size=(2, 20))
    pooled = pd.DataFrame({"dataset": np.repeat(["a", "b"], 20),
                           "x": np.concatenate([within[0], within[1] + 10]),
                           "slope": np.concatenate([noise[0], noise[1] + 10])})
    raw = explanation_correlations(pooled, predictors=["x"], n_boot=200).iloc[0]
    centred = explanation_correlations(pooled, predictors=["x"], center_within="dataset",
                                       n_boot=200).iloc[0]
    assert raw["pearson_r"] > 0.9 and abs(centred["pearson_r"]) < 0.4
    with pytest.raises(ValueError, match="not in groups"):
        explanation_correlations(pooled, predictors=["baseline_balanced_accuracy"])


def test_prevalence_variant_sets_the_share_and_keeps_the_pool_fixed(data) -> None:
    variants = {p: prevalence_variant(data, "digit_group", p, n=100, reserve=200, seed=3)
                for p in (0.05, 0.2, 0.5)}
    values = data.attributes["digit_group"].to_numpy()
    pools = [v.splits["pool"] for v in variants.values()]
    for p, variant in variants.items():
        pre = variant.splits["pretrain_train"]
        assert len(pre) == 100 and values[pre].sum() == round(100 * p)
        assert len(variant.splits["pool"]) == len(data.splits["pool"]) - 200
        for name in ("test", "pretrain_val", "val_pool"):
            assert np.array_equal(variant.splits[name], data.splits[name])
        assert variant.name == f"{data.name}@digit_group={p:g}"
    assert all(np.array_equal(pools[0], pool) for pool in pools[1:])
    with pytest.raises(ValueError, match="lower n or raise reserve"):
        prevalence_variant(data, "digit_group", 0.05, n=1000, reserve=10)
    with pytest.raises(ValueError, match="reserve must be"):
        prevalence_variant(data, "digit_group", 0.5, n=10, reserve=-1)


def test_joint_regression_recovers_known_coefficients() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=50), rng.normal(size=50)
    table = pd.DataFrame({"a": a, "b": b, "y": 1 + 2 * a - 3 * b + 0.01 * rng.normal(size=50)})
    out = joint_regression(table, outcome="y", predictors=["a", "b"]).set_index("term")
    assert np.allclose(out["coef"], [1, 2, -3], atol=0.01)
    assert ((out["ci_low"] < [1, 2, -3]) & ([1, 2, -3] < out["ci_high"])).all()
    assert (out["df"] == 47).all() and (out["p_value"] < 1e-10).all()
    with pytest.raises(ValueError, match="collinear"):
        joint_regression(table.assign(c=2 * a), outcome="y", predictors=["a", "c"])
    with pytest.raises(ValueError, match="cannot fit"):
        joint_regression(table.head(3), outcome="y", predictors=["a", "b"])


def test_controlled_outcomes_measure_every_level_and_seed(data, cache) -> None:
    variants = {f"{p:.0%}": prevalence_variant(data, "digit_group", p, n=100, reserve=200)
                for p in (0.2, 0.5)}
    settings = OutcomeSettings(alphas=(0.0, 0.5, 1.0), k_train=200, k_val=50,
                               head=HeadConfig(max_epochs=5), n_permutations=10, bins=10)
    out = controlled_outcomes(variants, small_cnn, attribute="digit_group", seeds=[1], config=CONFIG,
                              cache_dir=cache, settings=settings, progress=False)
    assert list(out["level"]) == ["20%", "50%"]
    assert out["pretrain_prevalence"].tolist() == pytest.approx([0.2, 0.5])
    assert out[["separation", "sensitivity", "balanced_accuracy"]].notna().all().all()
    # A penalty changes the encoder of the same variant; λ = 0 is the unregularised run above.
    one = {"50%": variants["50%"]}
    kw = {"attribute": "digit_group", "seeds": [1], "config": CONFIG, "cache_dir": cache,
          "settings": settings, "progress": False}
    again = controlled_outcomes(one, small_cnn, **kw)
    penalised = controlled_outcomes(one, small_cnn, penalty="mmd", lam=10.0, **kw)
    pd.testing.assert_frame_equal(again, out.iloc[[1]].reset_index(drop=True))
    assert penalised["separation"].item() != again["separation"].item()


def reserve_for(data, levels: tuple, n: int) -> int:
    """The loan that makes digit-group prevalences ``levels`` feasible at size ``n`` (seed 2)."""
    return prevalence_reserve(data, "digit_group", levels, n=n, seed=2)


def test_prevalence_reserve_is_the_smallest_feasible_loan(data) -> None:
    levels = (0.05, 0.5)
    reserve = reserve_for(data, levels, n=150)
    for p in levels:  # feasible with the computed reserve ...
        prevalence_variant(data, "digit_group", p, n=150, reserve=reserve, seed=2)
    with pytest.raises(ValueError, match="lower n or raise reserve"):  # ... and not with one row less
        for p in levels:
            prevalence_variant(data, "digit_group", p, n=150, reserve=reserve - 1, seed=2)
    assert reserve_for(data, (0.5,), n=20) == 0
    with pytest.raises(ValueError, match="lower n"):
        reserve_for(data, levels, n=10_000)

