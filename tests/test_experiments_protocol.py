"""The shared protocol (latentsep.experiments.protocol) end to end on coloured 8×8 sklearn digits."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import digits_mnist, small_cnn
from sklearn.datasets import load_digits

from latentsep.experiments.coloured_mnist import split_table
from latentsep.experiments.protocol import (
    ProtocolData,
    ablation_sweeps,
    allocation_sweeps,
    bound_checks,
    feasible_k,
    pretrained_embeddings,
    resize_pretraining,
    separation_by_seed,
    separation_differences,
    summarise,
    transfer_by_seed,
)
from latentsep.experiments.protocol import encoders as protocol_encoders
from latentsep.heads import HeadConfig
from latentsep.models import PretrainConfig, predict_proba
from latentsep.transfer import transfer_features, transfer_gap

SEEDS = (1, 2)
CONFIG = PretrainConfig(max_epochs=3, num_threads=1)
HEAD = HeadConfig(max_epochs=5)
ALPHAS = (0.0, 0.5, 1.0)



@pytest.fixture(scope="module")
def calls() -> list[int]:
    return []


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def runs(data, cache, calls):
    original = protocol_encoders.pretrain

    def counting(*args, **kwargs):
        calls.append(kwargs["seed"])
        return original(*args, **kwargs)

    protocol_encoders.pretrain = counting
    try:
        yield pretrained_embeddings(data, small_cnn, seeds=SEEDS, config=CONFIG, cache_dir=cache,
                                    progress=False)
    finally:
        protocol_encoders.pretrain = original


@pytest.fixture(scope="module")
def sweeps(data, runs, cache):
    return allocation_sweeps(data, runs, attributes=["colour", "digit_group", "Random"],
                             alphas=ALPHAS, k_train=120, k_val=40, head=HEAD,
                             store_dir=cache / "sweeps", progress=False)


def test_coloured_mnist_protocol_has_the_paper_label_attributes_and_scaled_splits(data) -> None:
    digits = load_digits().target
    np.testing.assert_array_equal(data.y, digits % 2)
    np.testing.assert_array_equal(data.attributes["digit_group"], (digits >= 5).astype(int))
    assert list(data.attributes.columns) == ["colour", "digit_group", "Random"]
    # the separation sample holds held-out pool rows only (the pool is smaller than 4,000 here)
    np.testing.assert_array_equal(data.splits["pool_sample"], data.splits["pool"])
    assert data.x.shape == (1797, 3, 8, 8) and data.x.dtype == np.float32
    table = split_table(digits_mnist(), data).set_index("part")
    # 1,797 / 70,000 of the paper's sizes, largest-remainder rounded, covering every row
    assert table.loc["test", "used"] == 103 and table.loc["pool", "used"] == 1232
    assert table["used"].iloc[:5].sum() == 1797
    assert table.loc["k_train", "used"] == round(23840 * 1797 / 70000)
    assert "scaled by 1,797/70,000" in data.source


def test_pretraining_embeds_every_row_and_records_its_history(data, runs) -> None:
    assert list(runs) == list(SEEDS)
    for seed, run in runs.items():
        assert run.seed == seed and not run.from_cache
        assert run.z.shape == (data.n, 128) and run.z.dtype == np.float32
        assert len(run.history) == 3 and 1 <= run.best_epoch <= 3
        assert 0.5 < run.test_balanced_accuracy <= 1
        # the pre-trained head applied to z reproduces the model's own predictions
        model = run.model(small_cnn)
        test = data.splits["test"]
        proba = predict_proba(model, data.x[test])
        head_proba = protocol_encoders._head_proba(run.state_dict, run.z[test])
        np.testing.assert_allclose(head_proba, proba, atol=1e-5)
        overall = run.baseline.query("attribute == 'colour' and group == 'all' and "
                                     "metric == 'balanced_accuracy'")["value"].item()
        assert overall == pytest.approx(run.test_balanced_accuracy)
    assert not np.array_equal(runs[1].z, runs[2].z)  # seeds differ


def test_second_call_reads_the_cache_and_a_corrupt_entry_is_retrained(data, runs, cache, calls,
                                                                      monkeypatch) -> None:
    assert calls == list(SEEDS)
    again = pretrained_embeddings(data, small_cnn, seeds=SEEDS, config=CONFIG, cache_dir=cache,
                                  progress=False)
    assert calls == list(SEEDS)  # no training
    for seed in SEEDS:
        assert again[seed].from_cache and again[seed].key == runs[seed].key
        np.testing.assert_array_equal(again[seed].z, runs[seed].z)
        pd.testing.assert_frame_equal(again[seed].history, runs[seed].history)
    folder = cache / "encoders" / runs[1].key
    assert json.loads((folder / "meta.json").read_text())["best_epoch"] == runs[1].best_epoch
    assert sorted(p.name for p in folder.iterdir()) == ["checkpoint.pt", "history.parquet", "meta.json",
                                                        "model.pt"]
    weights = bytearray((folder / "model.pt").read_bytes())
    weights[-1] ^= 1
    (folder / "model.pt").write_bytes(bytes(weights))  # bytes no longer match the sidecar's checksum
    trained = []
    original = protocol_encoders.pretrain
    monkeypatch.setattr(protocol_encoders, "pretrain",
                        lambda *a, **k: trained.append(k["seed"]) or original(*a, **k))
    fixed = pretrained_embeddings(data, small_cnn, seeds=[1], config=CONFIG, cache_dir=cache,
                                  progress=False)
    assert trained == [1] and not fixed[1].from_cache
    np.testing.assert_array_equal(fixed[1].z, runs[1].z)  # bitwise reproducible retraining


def test_cached_embeddings_are_recomputed_and_checked_against_training_time(data, runs, cache,
                                                                            caplog) -> None:
    folder = cache / "encoders" / runs[2].key
    meta = json.loads((folder / "meta.json").read_text())
    meta["z_sha256"] = "0" * 64  # as if re-embedding on this machine gave other bytes
    (folder / "meta.json").write_text(json.dumps(meta))
    with caplog.at_level("WARNING", logger="latentsep.experiments.protocol.encoders"):
        again = pretrained_embeddings(data, small_cnn, seeds=[2], config=CONFIG, cache_dir=cache,
                                      progress=False)
    assert again[2].from_cache and "differ from those at training time" in caplog.text
    del meta["z_sha256"]  # an entry written before the embeddings left the cache
    (folder / "meta.json").write_text(json.dumps(meta))
    caplog.clear()
    with caplog.at_level("WARNING", logger="latentsep.experiments.protocol.encoders"):
        retrained = pretrained_embeddings(data, small_cnn, seeds=[2], config=CONFIG, cache_dir=cache,
                                          progress=False)
    assert not retrained[2].from_cache and "outdated" in caplog.text
    np.testing.assert_array_equal(retrained[2].z, runs[2].z)


def test_a_changed_setting_is_a_new_cache_entry(data, runs, cache) -> None:
    other = pretrained_embeddings(data, small_cnn, seeds=[1], config=PretrainConfig(
        max_epochs=2, num_threads=1), cache_dir=cache, progress=False)
    assert other[1].key != runs[1].key and not other[1].from_cache


def test_separation_by_seed_is_tidy_and_deterministic(data, runs) -> None:
    kw = {"methods": ("histogram", "classifier"), "n_permutations": 20, "n_bootstrap": 20,
          "bins": 10}
    sep = separation_by_seed(data, runs, **kw)
    assert len(sep) == len(SEEDS) * 2 * 3
    assert list(sep.columns[:4]) == ["seed", "attribute", "method", "estimator"]
    assert set(sep["estimator"]) == {"histogram/pooled", "classifier"}
    assert sep.groupby(["seed", "estimator"])["attribute"].apply(list).map(
        lambda a: a == ["colour", "digit_group", "Random"]).all()
    assert (sep["ci_low"] <= sep["ci_high"]).all()
    pd.testing.assert_frame_equal(sep, separation_by_seed(data, runs, **kw))
    ref = separation_by_seed(data, runs, edges="reference", n_permutations=0, n_bootstrap=0,
                             bins=10, attributes=["Random"])
    assert set(ref["estimator"]) == {"histogram/reference"} and ref["null_mean"].isna().all()


def test_allocation_sweeps_use_the_pretraining_seed_and_are_cached(data, runs, sweeps, cache) -> None:
    assert set(sweeps["seed"]) == set(SEEDS)
    assert set(sweeps["attribute"]) == {"colour", "digit_group", "Random"}
    acc = sweeps.query("metric == 'accuracy'")
    assert len(acc) == len(SEEDS) * 3 * len(ALPHAS) * 3  # seeds × attributes × α × (0, 1, all)
    shares = acc[acc["group"] != "all"]
    expected = np.where(shares["group"] == 1, shares["alpha"], 1 - shares["alpha"])
    np.testing.assert_allclose(shares["own_share"], expected)
    again = allocation_sweeps(data, runs, attributes=["colour", "digit_group", "Random"],
                              alphas=ALPHAS, k_train=120, k_val=40, head=HEAD,
                              store_dir=cache / "sweeps", progress=False)
    pd.testing.assert_frame_equal(again, sweeps)


def test_summarise_gives_one_row_per_attribute_with_slopes_and_cis(data, runs, sweeps) -> None:
    sep = separation_by_seed(data, runs, n_permutations=10, n_bootstrap=10, bins=10)
    table = summarise(sep, sweeps).set_index("attribute")
    assert list(table.index) == ["Random", "colour", "digit_group"]
    np.testing.assert_allclose(table["sensitivity"], (table["slope_0"] + table["slope_1"]) / 2)
    means = sep.groupby("attribute")["value"].mean()
    np.testing.assert_allclose(table["separation"], means[table.index])
    assert (table["separation_ci_low"] <= table["separation"]).all()
    assert (table["n_seeds"] == len(SEEDS)).all()
    with pytest.raises(ValueError, match="several estimators"):
        summarise(pd.concat([sep, sep.assign(estimator="classifier")]), sweeps)


def test_transfer_gap_per_seed_joins_the_summary_with_its_seed_interval(data, runs, sweeps) -> None:
    transfer = transfer_by_seed(data, runs, n_repeats=2, n_bootstrap=20)
    assert list(transfer.columns[:3]) == ["seed", "attribute", "transfer_gap"]
    assert len(transfer) == len(runs) * 3
    test = data.splits["test"]
    one = transfer_gap(transfer_features(runs[SEEDS[0]].z[test]), data.y[test],
                       data.attributes["colour"].to_numpy(dtype=np.int64)[test], n_repeats=2,
                       n_bootstrap=20)
    first = transfer.query("seed == @SEEDS[0] and attribute == 'colour'")
    assert first["transfer_gap"].item() == pytest.approx(one.value)
    sep = separation_by_seed(data, runs, n_permutations=10, n_bootstrap=10, bins=10)
    table = summarise(sep, sweeps, transfer=transfer).set_index("attribute")
    means = transfer.groupby("attribute")["transfer_gap"].mean()
    np.testing.assert_allclose(table["transfer_gap"], means[table.index])
    assert (table["transfer_gap_ci_low"] <= table["transfer_gap"]).all()
    assert "transfer_gap" not in summarise(sep, sweeps).columns


def test_feasible_k_caps_at_the_smallest_group_and_ignores_missing_rows(data) -> None:
    pool = data.splits["pool"]
    smallest = min(int((data.attributes[a].to_numpy()[pool] == g).sum())
                   for a in ("colour", "digit_group") for g in (0, 1))
    assert feasible_k(data, ["colour", "digit_group"], 10**6) == smallest
    assert feasible_k(data, ["colour"], 50) == 50
    attrs = data.attributes.assign(rare=pd.array([pd.NA] * data.n, dtype="Int64"))
    attrs.loc[pool[:30], "rare"] = 1
    attrs.loc[pool[30:40], "rare"] = 0
    sparse = ProtocolData(data.name, data.x, data.y, attrs, data.splits, data.source)
    assert feasible_k(sparse, ["colour", "rare"], 10**6) == 10
    with pytest.raises(ValueError, match="unknown attribute 'nope'"):
        feasible_k(data, ["nope"], 10)


def test_attributes_with_missing_values_use_only_their_known_rows(data, runs, cache) -> None:
    values = data.attributes["colour"].astype("Int64")
    values[data.splits["test"][::3]] = pd.NA
    values[data.splits["pool"][::2]] = pd.NA
    partial = ProtocolData(data.name, data.x, data.y, data.attributes.assign(partial=values),
                           data.splits, data.source)
    sep = separation_by_seed(partial, {1: runs[1]}, n_permutations=5, n_bootstrap=5, bins=10,
                             attributes=["partial", "colour"])
    assert list(sep["attribute"]) == ["partial", "colour"]
    sw = allocation_sweeps(partial, {1: runs[1]}, attributes=["partial"], alphas=(0.0, 1.0),
                           k_train=60, k_val=20, head=HEAD, store_dir=cache / "sw_na",
                           progress=False)
    n_test = sw.query("metric == 'accuracy' and group == 'all'")["n"].unique()
    assert n_test.tolist() == [len(data.splits["test"]) - len(data.splits["test"][::3])]


def test_bound_checks_known_answer(data) -> None:
    # one seed: group 1 gains 0.30 and group 0 loses 0.10 from α = 0 to 1; overall gains 0.10
    rows = []
    for alpha, (g0, g1, overall) in ((0.0, (0.9, 0.6, 0.75)), (1.0, (0.8, 0.9, 0.85))):
        for group, value in ((0, g0), (1, g1), ("all", overall)):
            rows.append({"attribute": "colour", "alpha": alpha, "seed": 1, "group": group,
                         "metric": "accuracy", "value": value})
    table = bound_checks(data, pd.DataFrame(rows), {"colour": 0.05}).set_index(["group", "form"])
    share1 = float((data.attributes["colour"].to_numpy()[data.splits["test"]] == 1).mean())
    assert table.loc[(1, "2·TV"), "bound"] == pytest.approx(0.2)
    assert table.loc[(1, "2·TV"), "observed"] == pytest.approx(0.3)
    assert table.loc[(1, "2·TV"), "status"] == "violated"
    assert table.loc[(1, "2(1−π_a)·TV"), "bound"] == pytest.approx(0.1 * (1 - share1) + 0.1)
    assert table.loc[(0, "4·TV"), "bound"] == pytest.approx(0.3)
    assert table.loc[(0, "4·TV"), "status"] == "holds"
    assert (table["tv"] == 0.05).all()


def test_protocol_data_rejects_bad_input(data) -> None:
    with pytest.raises(ValueError, match="float32"):
        ProtocolData("d", data.x.astype(np.float64), data.y, data.attributes, data.splits, "")
    bad = data.attributes.assign(colour=data.attributes["colour"] * 2)
    with pytest.raises(ValueError, match=r"attributes\['colour'\] must hold 0/1"):
        ProtocolData("d", data.x, data.y, bad, data.splits, "")
    overlapping = {**data.splits, "test": data.splits["pool"][:5]}
    with pytest.raises(ValueError, match="share 5 rows"):
        ProtocolData("d", data.x, data.y, data.attributes, overlapping, "")
    missing = {k: v for k, v in data.splits.items() if k != "val_pool"}
    with pytest.raises(ValueError, match=r"lacks \['val_pool'\]"):
        ProtocolData("d", data.x, data.y, data.attributes, missing, "")
    with pytest.raises(ValueError, match="regulariser and groups_attribute go together"):
        pretrained_embeddings(data, small_cnn, seeds=[1], config=CONFIG, cache_dir="unused",
                              groups_attribute="colour")


@pytest.mark.parametrize("mode", ["full", "scratch"])
def test_ablation_sweeps_train_the_whole_network_and_resume_from_the_store(data, runs, cache,
                                                                           mode) -> None:
    kw = {"mode": mode, "attributes": ["colour"], "alphas": (0.0, 1.0), "k_train": 60, "k_val": 20,
          "config": PretrainConfig(max_epochs=1, num_threads=1), "store_dir": cache / "ablation",
          "progress": False}
    table = ablation_sweeps(data, {1: runs[1]}, small_cnn, **kw)
    acc = table.query("metric == 'accuracy'")
    assert len(acc) == 2 * 3 and set(acc["mode"]) == {mode} and (acc["best_epoch"] == 1).all()
    assert acc.query("group == 0 and alpha == 0.0")["own_share"].item() == 1.0
    assert acc.query("group == 1 and alpha == 0.0")["own_share"].item() == 0.0
    pd.testing.assert_frame_equal(ablation_sweeps(data, {1: runs[1]}, small_cnn, **kw), table)


def test_resize_pretraining_subsets_or_borrows_from_the_pool(data) -> None:
    train, pool = data.splits["pretrain_train"], data.splits["pool"]
    small = resize_pretraining(data, 10, seed=3)
    assert len(small.splits["pretrain_train"]) == 10 and np.isin(small.splits["pretrain_train"], train).all()
    np.testing.assert_array_equal(small.splits["pool"], pool)
    big = resize_pretraining(data, len(train) + 25, seed=3)
    moved = np.setdiff1d(big.splits["pretrain_train"], train)
    assert len(moved) == 25 and np.isin(moved, pool).all()
    assert len(big.splits["pool"]) == len(pool) - 25 and not np.isin(moved, big.splits["pool"]).any()
    assert "pool_sample" not in big.splits
    same = resize_pretraining(data, len(train))
    np.testing.assert_array_equal(same.splits["pretrain_train"], train)
    with pytest.raises(ValueError, match="n_pretrain"):
        resize_pretraining(data, 10**6)


def test_separation_differences_are_paired_within_seed() -> None:
    sep = pd.DataFrame({"seed": [1, 1, 2, 2, 3, 3], "estimator": "h",
                        "attribute": ["a", "b"] * 3, "value": [0.5, 0.1, 0.9, 0.5, 0.2, -0.2]})
    table = separation_differences(sep, [("a", "b")])
    assert table["difference"].item() == pytest.approx(0.4)
    assert table["se"].item() == pytest.approx(0.0, abs=1e-12)  # the shared seed effect cancels
    with pytest.raises(ValueError, match="'c' is not in sep"):
        separation_differences(sep, [("a", "c")])


def test_an_undefined_reference_histogram_is_a_noted_nan_not_a_crash(data, runs) -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(size=(data.n, 4)).astype(np.float32)
    z[:, 0] += 50 * data.attributes["colour"].to_numpy()  # groups apart along one component
    fake = {0: protocol_encoders.EncoderRun(0, z, runs[1].history, 1, 0.5, runs[1].baseline, {}, "k", False)}
    sep = separation_by_seed(data, fake, edges="reference", n_permutations=5, n_bootstrap=5,
                             bins=10, pca_variance=None).set_index("attribute")
    assert np.isnan(sep.loc["colour", "value"]) and "outside x0's range" in sep.loc["colour", "note"]
    assert np.isfinite(sep.loc["Random", "value"]) and sep.loc["Random", "note"] == ""
    pooled = separation_by_seed(data, fake, n_permutations=5, n_bootstrap=5, bins=10,
                                pca_variance=None).set_index("attribute")
    assert pooled.loc["colour", "value"] > 0.5 and (pooled["note"] == "").all()


def test_encoders_keep_their_checkpoint_through_the_cache(data, runs, cache) -> None:
    again = pretrained_embeddings(data, small_cnn, seeds=SEEDS, config=CONFIG, cache_dir=cache,
                                  progress=False)
    for seed in SEEDS:
        fresh, read = runs[seed].checkpoint, again[seed].checkpoint
        assert again[seed].from_cache and read.epoch == fresh.epoch == runs[seed].best_epoch
        assert read.param_names == fresh.param_names
        for name, value in fresh.model.items():
            assert torch.equal(read.model[name], value)
        for slot, state in fresh.optimizer["state"].items():
            assert torch.equal(read.optimizer["state"][slot]["exp_avg_sq"], state["exp_avg_sq"])
        assert read.scheduler == fresh.scheduler and read.best_score == fresh.best_score
        pd.testing.assert_frame_equal(read.history.drop(columns="seconds"),
                                      fresh.history.drop(columns="seconds"))


def test_head_start_and_pinned_encoder_options(data, runs, cache, sweeps) -> None:
    kw = {"attributes": ["colour"], "alphas": ALPHAS, "k_train": 120, "k_val": 40, "head": HEAD,
          "store_dir": cache / "sweeps", "progress": False}
    colour = sweeps.query("attribute == 'colour'").reset_index(drop=True)
    tables = {start: allocation_sweeps(data, runs, head_start=start, **kw)
              for start in ("fresh", "pretrained", "resumed")}
    pd.testing.assert_frame_equal(tables["fresh"], colour)
    assert not tables["pretrained"].equals(colour) and not tables["resumed"].equals(colour)
    resumed = tables["resumed"]
    # the resumed runs continue the pre-training epoch counter
    for seed in SEEDS:
        assert (resumed.loc[resumed["seed"] == seed, "best_epoch"] > runs[seed].best_epoch).all()
    pinned = allocation_sweeps(data, runs, encoder="pinned", **kw)
    first = SEEDS[0]
    # the first seed's runs are the per-seed ones (same encoder, seed and sets; `run` numbers the
    # runs of one sweep, which now holds every seed)
    pd.testing.assert_frame_equal(
        pinned[pinned["seed"] == first].drop(columns="run").reset_index(drop=True),
        colour[colour["seed"] == first].drop(columns="run").reset_index(drop=True))
    assert not pinned.loc[pinned["seed"] != first, "value"].reset_index(drop=True).equals(
        colour.loc[colour["seed"] != first, "value"].reset_index(drop=True))
    three = allocation_sweeps(data, runs, encoder="pinned", sweep_seeds=[5, 6, 7], **kw)
    assert sorted(three["seed"].unique()) == [5, 6, 7]
    with pytest.raises(ValueError, match="needs encoder='pinned'"):
        allocation_sweeps(data, runs, sweep_seeds=[5], **kw)
    with pytest.raises(ValueError, match="unknown encoder 'shared'"):
        allocation_sweeps(data, runs, encoder="shared", **kw)
    with pytest.raises(ValueError, match="unknown head_start 'warm'"):
        allocation_sweeps(data, runs, head_start="warm", **kw)
    no_checkpoint = {1: dataclasses.replace(runs[1], checkpoint=None)}
    with pytest.raises(ValueError, match="has no training checkpoint"):
        allocation_sweeps(data, no_checkpoint, head_start="resumed", **kw)


def test_separation_on_full_features_uses_every_dimension(data, runs) -> None:
    sep = separation_by_seed(data, runs, pca_variance=None, n_permutations=0, n_bootstrap=0,
                             bins=10, attributes=["Random"])
    assert (sep["n_components"] == runs[SEEDS[0]].z.shape[1]).all()
