"""Adult/COMPAS protocol data, the generic protocol runner, summaries and correlations."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from latentsep.experiments.protocol import (
    SPLITS,
    ProtocolData,
    allocation_curves,
    correlation_table,
    protocol_summaries,
    run_protocol,
    separation_with_fallback,
)
from latentsep.experiments.tabular import (
    DEFAULT_FRACTIONS,
    attribute_table,
    tabular_mlp_factory,
    tabular_protocol,
)
from latentsep.heads import HeadConfig
from latentsep.models.tabular import TabularMLP
from latentsep.models.training import PretrainConfig

REPO_DATA = Path(__file__).parents[1] / "data"
needs_tabular = pytest.mark.skipif(
    not (REPO_DATA / "tabular" / "compas" / "compas-scores-two-years.csv").is_file()
    or not (REPO_DATA / "tabular" / "adult" / "adult.data").is_file(),
    reason="Adult/COMPAS not fetched (run `make data`)",
)


@needs_tabular
@pytest.mark.parametrize("name", ["adult", "compas"])
def test_tabular_protocol_parts_are_disjoint_cover_and_keep_the_label_rate(name):
    data = tabular_protocol(name, REPO_DATA, seed=3)
    parts = [data.splits[s] for s in SPLITS]
    joined = np.concatenate(parts)
    assert np.array_equal(np.sort(joined), np.arange(data.n))  # disjoint and covering
    for split, idx in zip(SPLITS, parts, strict=True):
        assert abs(len(idx) / data.n - DEFAULT_FRACTIONS[name][split]) < 2e-3
        assert abs(data.y[idx].mean() - data.y.mean()) < 0.01  # label-stratified
    columns = list(data.attributes.columns)
    assert columns[-1] == "Random" and len(columns) >= 10  # >= 9 real attributes plus Random
    assert data.x.dtype == np.float32 and "seed 3" in data.source


@needs_tabular
def test_tabular_protocol_is_deterministic_and_max_rows_subsamples():
    a = tabular_protocol("compas", REPO_DATA, seed=1, max_rows=1000)
    b = tabular_protocol("compas", REPO_DATA, seed=1, max_rows=1000)
    assert a.n == 1000 and np.array_equal(a.x, b.x)
    assert all(np.array_equal(a.splits[s], b.splits[s]) for s in SPLITS)
    assert "1,000 of 6,172 rows" in a.source
    other = tabular_protocol("compas", REPO_DATA, seed=2, max_rows=1000)
    assert not np.array_equal(a.splits["test"], other.splits["test"])


def test_tabular_protocol_rejects_bad_arguments():
    with pytest.raises(ValueError, match="name"):
        tabular_protocol("german", REPO_DATA)
    bad = dict(DEFAULT_FRACTIONS["adult"], test=0.5)
    with pytest.raises(ValueError, match="sum to 1"):
        tabular_protocol("adult", REPO_DATA, fractions=bad)
    with pytest.raises(ValueError, match="keys"):
        tabular_protocol("adult", REPO_DATA, fractions={"train": 1.0})


def test_tabular_mlp_factory_builds_the_encoder_and_pickles():
    factory = tabular_mlp_factory(7, (16, 8), dropout=0.2)
    model = pickle.loads(pickle.dumps(factory))()
    assert isinstance(model, TabularMLP) and model.embedding_dim == 8 and model.in_dim == 7
    with pytest.raises(ValueError, match="dropout"):
        tabular_mlp_factory(7, (16, 8), dropout=1.0)  # fails now, not later in a worker


def _synthetic(n: int = 1600, seed: int = 0) -> ProtocolData:
    """Four features; ``Strong`` shifts features 0-1 a lot, ``Weak`` feature 2 a little."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    strong, weak, other = (rng.integers(0, 2, n) for _ in range(3))
    x = rng.normal(size=(n, 4)).astype(np.float32)
    x[:, 0] += 2.0 * y + 3.0 * strong
    x[:, 1] += 3.0 * strong
    x[:, 2] += 0.5 * weak
    attributes = pd.DataFrame({"Strong": strong, "Weak": weak, "Other": other,
                               "Random": rng.integers(0, 2, n)})
    order = rng.permutation(n)
    cuts = np.cumsum([int(f * n) for f in (0.3, 0.1, 0.3, 0.2)])
    splits = dict(zip(SPLITS, np.split(order, cuts), strict=True))
    return ProtocolData(name="synthetic", x=x, y=y, attributes=attributes, splits=splits,
                        source="synthetic")


def test_run_protocol_end_to_end_caches_and_ranks_the_strong_attribute(tmp_path):
    data = _synthetic()
    kwargs = dict(seeds=[0, 1], config=PretrainConfig(max_epochs=3, num_threads=1),
                  alphas=[0.0, 0.5, 1.0], k_train=10_000, k_val=40,
                  head=HeadConfig(max_epochs=5), cache_dir=tmp_path, n_permutations=5,
                  n_bootstrap=5, estimators=("histogram/pooled", "classifier"))
    result = run_protocol(data, tabular_mlp_factory(4, (16, 8)), **kwargs)
    # K_train is capped at the smallest group of the pool; K_val is as requested
    pool = data.attributes.iloc[data.splits["pool"]]
    smallest = int(min(min(pool[c].sum(), (1 - pool[c]).sum()) for c in pool))
    assert (result.k_train, result.k_val) == (smallest, 40) and result.capped
    sep = result.separation
    assert len(sep) == 2 * 2 * 4 and set(sep["estimator"]) == {"histogram/pooled", "classifier"}
    assert (sep["note"] == "").all()
    excess = sep[sep["estimator"] == "histogram/pooled"].groupby("attribute")["excess"].mean()
    assert excess["Strong"] > 0.2 > abs(excess["Random"])
    assert set(result.sweeps["seed"]) == {0, 1} and set(result.sweeps["attribute"]) == set(pool)

    again = run_protocol(data, tabular_mlp_factory(4, (16, 8)), **kwargs)
    assert all(run.from_cache for run in again.runs.values())
    pd.testing.assert_frame_equal(again.sweeps, result.sweeps)

    summaries = protocol_summaries(result)
    assert len(summaries) == 2 * 2 * 4  # estimators x metrics x attributes
    corr = correlation_table(summaries, n_boot=200)
    # only the pooled histogram and the classifier ran: the paper-faithful rows are skipped
    assert set(corr["separation"]) == {"TV excess (ours)", "classifier TV bound (ours)"}
    assert (corr["n"] == 4).all() and np.allclose(corr["r2"], corr["pearson_r"] ** 2)


def test_separation_with_fallback_isolates_an_undefined_attribute():
    def compute(names):
        if "Bad" in names:
            raise ValueError("all of x1 lies outside x0's range")
        return pd.DataFrame({"seed": 7, "attribute": names, "estimator": "e", "value": 0.5})

    out = separation_with_fallback(compute, ["A", "Bad", "B"], "e", seeds=[7, 8])
    assert list(out["attribute"]) == ["A", "Bad", "Bad", "B"]
    bad = out[out["attribute"] == "Bad"]
    assert bad["value"].isna().all() and list(bad["seed"]) == [7, 8]
    assert bad["note"].str.startswith("undefined: all of x1").all()
    assert (out.loc[out["attribute"] != "Bad", "note"] == "").all()
    whole = separation_with_fallback(compute, ["A", "B"], "e")
    assert list(whole["attribute"]) == ["A", "B"] and "seed" in whole  # no fallback needed
    # every attribute undefined (the rehearsal's tiny test split): still every summary column
    none = separation_with_fallback(compute, ["Bad"], "e")
    assert {"value", "ci_low", "ci_high", "null_mean", "excess"} <= set(none.columns)
    assert none[["value", "excess"]].isna().all().all()


def _summaries(sep: list[float], sens: list[float]) -> pd.DataFrame:
    n = len(sep)
    return pd.DataFrame({"estimator": "histogram/reference", "metric": "cross_entropy",
                         "attribute": [f"a{i}" for i in range(n)], "separation": sep,
                         "sensitivity": sens, "full_minus_zero": np.array(sens) * 2})


def test_correlation_table_known_answer_and_undefined_values():
    sep = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    sens = [0.0, -0.1, -0.1, -0.3, -0.2, -0.5]
    corr = correlation_table(_summaries(sep, sens), n_boot=500, seed=1)
    assert set(corr["sensitivity"]) == {"loss slope", "full-minus-zero loss"}
    row = corr[corr["sensitivity"] == "loss slope"].iloc[0]
    r = np.corrcoef(sep, sens)[0, 1]
    assert row["pearson_r"] == pytest.approx(r) and row["r2"] == pytest.approx(r * r)
    assert row["pearson_ci_low"] <= r <= row["pearson_ci_high"] and row["n"] == 6
    # scaling the sensitivity (full-minus-zero = 2 x slope here) leaves r unchanged
    assert corr["pearson_r"].nunique() == 1

    with_nan = _summaries([*sep, np.nan], [*sens, 0.3])
    assert correlation_table(with_nan, n_boot=100)["n"].eq(6).all()
    with pytest.raises(ValueError, match="no separation/sensitivity pair"):
        correlation_table(_summaries(sep, sens).assign(estimator="classifier"),
                          separations={"x": ("histogram/reference", "separation")})


def test_allocation_curves_mean_and_interval_over_seeds():
    rows = []
    for seed, shift in ((0, 0.0), (1, 0.2)):
        for alpha in (0.0, 1.0):
            for group, own in ((0, 1 - alpha), (1, alpha)):
                rows.append({"attribute": "A", "alpha": alpha, "seed": seed, "group": group,
                             "metric": "balanced_accuracy", "value": 0.5 + own * 0.3 + shift,
                             "own_share": own})
            rows.append({"attribute": "A", "alpha": alpha, "seed": seed, "group": "all",
                         "metric": "balanced_accuracy", "value": 0.9, "own_share": np.nan})
    curves = allocation_curves(pd.DataFrame(rows))
    assert len(curves) == 4 and set(curves["group"]) == {0, 1}
    top = curves[(curves["group"] == 1) & (curves["own_share"] == 1.0)].iloc[0]
    assert top["balanced_accuracy"] == pytest.approx(0.9)  # mean of 0.8 and 1.0
    # two seeds 0.2 apart: se = 0.1, t(0.975, 1) = 12.706
    assert top["ci_high"] - top["balanced_accuracy"] == pytest.approx(12.706 * 0.1, rel=1e-3)
    with pytest.raises(ValueError, match="metric"):
        allocation_curves(pd.DataFrame(rows), "roc_auc")


def test_attribute_table_defines_every_attribute_and_counts_the_pool():
    data = {"compas": tabular_protocol("compas", REPO_DATA, seed=1, max_rows=1000)}
    table = attribute_table(data, {"compas": "COMPAS"}).set_index("attribute")
    d = data["compas"]
    assert list(table.index) == list(d.attributes.columns) and (table["dataset"] == "COMPAS").all()
    assert table.loc["Random", "1 means"] == "Bernoulli(0.5)"
    pool = d.attributes.iloc[d.splits["pool"]]
    for attribute in table.index:
        ones = int(pool[attribute].sum())
        assert table.loc[attribute, "smallest group (pool)"] == min(ones, len(pool) - ones)
        assert table.loc[attribute, "share of 1 (pool)"] == pytest.approx(ones / len(pool))
        y, a = d.y[d.splits["pool"]], pool[attribute].to_numpy()
        gap = y[a == 1].mean() - y[a == 0].mean()
        assert table.loc[attribute, "P(Y=1|A=1) − P(Y=1|A=0) (pool)"].startswith(f"{gap:.3f} [")
    assert set(table["equal P(Y|A)"]) <= {"yes", "no: outside the theorem"}
    with pytest.raises(ValueError, match="data key"):
        attribute_table({"german": d}, {"german": "German"})
