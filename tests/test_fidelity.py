"""Protocol fidelity (latentsep.experiments.fidelity): differences, effects, twins, tagged claims."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from test_experiments_coloured_mnist import golden

from latentsep.data.fashion import FashionMnistData
from latentsep.data.mnist import PAPER_K, PAPER_PARTS
from latentsep.experiments import fidelity
from latentsep.experiments.coloured_mnist_claims import check_claims, comparison_table
from latentsep.experiments.protocol import AUTHORS_CODE, CURRENT, PAPER_TEXT, ProtocolData
from latentsep.experiments.protocol.options import OPTIONS


def test_differences_table_has_one_row_per_differing_option() -> None:
    three = fidelity.differences_table((PAPER_TEXT, AUTHORS_CODE, CURRENT), {"encoder": "x"})
    assert list(three["option"]) == list(OPTIONS)  # each option differs somewhere among the three
    two = fidelity.differences_table((PAPER_TEXT, AUTHORS_CODE), {"head_start": "fewer drops"})
    assert list(two["option"]) == ["head_start", "separation_features", "surrogate_variance"]
    row = two.set_index("option").loc["head_start"]
    assert (row["paper text"], row["authors' code"]) == ("fresh", "resumed")
    assert row["measured effect"] == "fewer drops"
    assert "trainer.fit(ckpt_path" in row["sources"] and "re-initialise" in row["sources"]
    assert two.set_index("option").loc["surrogate_variance", "measured effect"] == "not measured"
    with pytest.raises(ValueError, match="unknown options"):
        fidelity.differences_table((PAPER_TEXT, AUTHORS_CODE), {"optimiser": "?"})


def test_one_option_variants_switch_exactly_one_option() -> None:
    variants = fidelity.one_option_variants(PAPER_TEXT, (AUTHORS_CODE, CURRENT),
                                            {"head_start": ["pretrained"]})
    assert [v.name for v in variants] == [
        "paper text", "head_start: resumed", "head_start: pretrained", "encoder: per_seed",
        "plateau_monitor: val_balanced_accuracy"]
    base = PAPER_TEXT.to_dict()
    for variant in variants[1:]:
        changed = {k for k, v in variant.to_dict().items() if k != "name" and v != base[k]}
        option, _, value = variant.name.partition(": ")
        assert changed == {option} and getattr(variant, option) == value


def test_paired_effects_known_answer_and_missing_units() -> None:
    table = pd.DataFrame({"variant": ["a"] * 3 + ["b"] * 3, "g": ["x"] * 6,
                          "seed": [1, 2, 3] * 2, "v": [0.1, 0.2, 0.3, 0.2, 0.2, 0.6]})
    out = fidelity.paired_effects(table, "v", ["seed"], by=["g"]).set_index("variant")
    assert out.loc["a", "effect"] == 0
    assert out.loc["b", "effect"] == pytest.approx((0.1 + 0.0 + 0.3) / 3)
    assert (out.loc["b", "effect_min"], out.loc["b", "effect_max"]) == pytest.approx((0.0, 0.3))
    assert (out.loc["b", "v_min"], out.loc["b", "v_max"]) == pytest.approx((0.2, 0.6))
    assert out.loc["b", "per_unit"] == "+0.100, +0.000, +0.300"
    with pytest.raises(ValueError, match="lacks"):
        fidelity.paired_effects(table.assign(seed=[1, 2, 3, 1, 2, 4]), "v", ["seed"], by=["g"])
    undefined = fidelity.paired_effects(table.assign(v=[np.nan, *table["v"][1:]]), "v", ["seed"],
                                        by=["g"]).set_index("variant")
    assert np.isnan(undefined.loc["b", "effect"])  # an undefined unit is not averaged away


def test_twin_sizes_are_the_papers_at_70k_and_scaled_at_10k() -> None:
    assert fidelity.twin_sizes(70_000) == {**PAPER_PARTS, **PAPER_K}
    assert fidelity.twin_sizes(10_000) == {"pretrain_train": 714, "pretrain_val": 143, "test": 572,
                                           "pool": 6857, "val_pool": 1714, "k_train": 3406,
                                           "k_val": 850}


def _fashion(n_train: int, n_test: int) -> FashionMnistData:
    rng = np.random.default_rng(0)
    n = n_train + n_test
    return FashionMnistData(images=rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
                            labels=np.arange(n) % 10, split=np.array(["train"] * n_train
                                                                      + ["test"] * n_test),
                            source="user IDX", root=None)


def test_fashion_twin_has_the_papers_split_sizes_and_k_at_70k() -> None:
    fashion = _fashion(60_000, 10_000)
    twin = fidelity.fashion_twin(fashion, n_total=70_000, seed=0)
    assert {p: len(twin.splits[p]) for p in PAPER_PARTS} == PAPER_PARTS
    assert fidelity.paper_k(twin) == PAPER_K
    assert twin.n == 70_000 and set(twin.attributes) == {"digit_group", "colour", "Random"}
    np.testing.assert_array_equal(twin.y, fashion.labels % 2)


def test_scaled_fashion_twin_draws_each_part_from_its_official_split() -> None:
    fashion = _fashion(6_000, 1_000)
    twin = fidelity.fashion_twin(fashion, n_total=7_000, seed=3)
    sizes = fidelity.twin_sizes(7_000)
    assert {p: len(twin.splits[p]) for p in PAPER_PARTS} == {p: sizes[p] for p in PAPER_PARTS}
    assert fidelity.paper_k(twin) == {"k_train": sizes["k_train"], "k_val": sizes["k_val"]}
    # rows are renumbered; the label stream tells where they came from (labels = row % 10)
    smaller = fidelity.fashion_twin(fashion, n_total=1_400, seed=3)
    assert smaller.n == 1_400
    with pytest.raises(ValueError, match="official test split has 1,000 rows"):
        fidelity.fashion_twin(fashion, n_total=14_000)


def test_paper_pretraining_split_redeals_every_non_test_row() -> None:
    n = 10_000
    parts = np.split(np.random.default_rng(1).permutation(n), np.cumsum([714, 143, 572, 6857]))
    data = ProtocolData("d", np.zeros((n, 2), np.float32), np.arange(n) % 2,
                        pd.DataFrame({"a": np.arange(n) // 2 % 2}),
                        dict(zip(("pretrain_train", "pretrain_val", "test", "pool", "val_pool"),
                                 (np.sort(p) for p in parts), strict=True)), "s")
    out = fidelity.paper_pretraining_split(data, seed=0)
    sizes = {p: len(v) for p, v in out.splits.items()}
    assert sizes == {"test": 572, "pretrain_train": 5000, "pretrain_val": 1000, "pool": 2742,
                     "val_pool": 686}
    np.testing.assert_array_equal(out.splits["test"], data.splits["test"])
    assert len(np.unique(np.concatenate(list(out.splits.values())))) == n
    assert fidelity.paper_k(out) == {"k_train": round(2742 * 23840 / 48000),
                                     "k_val": round(686 * 5950 / 12000)}
    with pytest.raises(ValueError, match="n_train"):
        fidelity.paper_pretraining_split(data, n_train=9000, n_val=1000)


def _digits(sizes: dict[str, int]) -> ProtocolData:
    n = sum(sizes.values())
    parts = np.split(np.random.default_rng(2).permutation(n), np.cumsum(list(sizes.values()))[:-1])
    return ProtocolData("coloured_mnist", np.zeros((n, 2), np.float32), np.arange(n) % 2,
                        pd.DataFrame({"a": np.arange(n) // 2 % 2}),
                        {name: np.sort(p) for name, p in zip(sizes, parts, strict=True)}, "s")


def test_scale_plan_runs_paper_sized_digits_once() -> None:
    fashion = _fashion(6_000, 1_000)
    offline = fidelity.scale_plan(_digits({p: fidelity.twin_sizes(10_000)[p] for p in PAPER_PARTS}), fashion,
                                  scaled_total=1_400, twin_total=7_000)
    assert len(offline.datasets) == 4 and len(offline.pairs) == 2
    assert offline.pairs[0][0].startswith("MNIST · 714 pre-training")
    assert offline.pairs[1] == ("Fashion · 100 pre-training · pool 960",
                                "Fashion · 500 pre-training · pool 4,800")
    full = fidelity.scale_plan(_digits(dict(PAPER_PARTS)), fashion, scaled_total=1_400,
                               twin_total=7_000)
    assert list(full.datasets) == ["MNIST · 5,000 pre-training · pool 48,000", *offline.pairs[1]]
    assert full.pairs == [offline.pairs[1]] and full.calibration_run == offline.pairs[1][1]
    no_pairs = dataclasses.replace(full, pairs=[])
    assert fidelity.scale_findings(pd.DataFrame(), no_pairs).count("already at the paper's") == 3


def test_tagged_claims_keep_the_originals_and_carry_the_protocol() -> None:
    claims = check_claims(golden())
    tagged = fidelity.tag_claims(claims, AUTHORS_CODE)
    assert [c.claim_id for c in tagged] == [f"{c.claim_id}@authors_code" for c in claims]
    assert all(c.extra["protocol"] == "authors_code" for c in tagged)
    assert all(t.description == f"{c.description} (authors' code)"
               for t, c in zip(tagged, claims, strict=True))
    assert all("@" not in c.claim_id and "protocol" not in c.extra for c in claims)
    assert [c.reproduced for c in tagged] == [c.reproduced for c in claims]


def test_comparison_by_protocol_puts_both_runs_beside_the_paper() -> None:
    base = golden()
    other = dataclasses.replace(base, sweeps=base.sweeps.assign(value=base.sweeps["value"] - 0.1))
    table = fidelity.comparison_by_protocol({"paper's text": base, "authors' code": other})
    single = comparison_table(base)
    assert list(table["quantity"]) == list(single["quantity"])
    assert list(table.columns) == ["quantity", "paper", "paper's text (95% CI)",
                                   "authors' code (95% CI)"]
    accuracy = table["quantity"].str.startswith("balanced accuracy")
    assert (table.loc[accuracy, "paper's text (95% CI)"]
            != table.loc[accuracy, "authors' code (95% CI)"]).all()
    tv = table["quantity"].str.startswith("TV")
    assert (table.loc[tv, "paper's text (95% CI)"] == table.loc[tv, "authors' code (95% CI)"]).all()


def test_differences_markdown_keeps_long_cells_whole_and_escapes_pipes() -> None:
    long = "head start: " + "x" * 300 + " | y"
    text = fidelity.differences_markdown((PAPER_TEXT, AUTHORS_CODE), {"head_start": long})
    lines = text.splitlines()
    assert len(lines) == 2 + 3  # header, rule, one row per differing option
    assert lines[2].startswith("| `head_start` | `fresh` | `resumed` |")
    assert ("x" * 300 + " \\| y") in lines[2]


def _tiny_images(n: int = 480) -> ProtocolData:
    rng = np.random.default_rng(0)
    y = np.arange(n) % 2
    group = (np.arange(n) // 2) % 2
    x = rng.random((n, 3, 28, 28), dtype=np.float32) * 0.2
    x[:, 0, 4:12, 4:12] += y[:, None, None] * 0.8  # the label is visible
    x[:, 1, 16:24, 16:24] += group[:, None, None] * 0.8  # and so is the group
    cuts = np.cumsum([120, 40, 80, 180])
    names = ("pretrain_train", "pretrain_val", "test", "pool", "val_pool")
    splits = dict(zip(names, np.split(rng.permutation(n), cuts), strict=True))
    return ProtocolData("tiny", x, y, pd.DataFrame({"g": group}), splits, "tiny images")


def test_variant_drops_keep_each_option_in_its_own_cache_entries(tmp_path) -> None:
    from latentsep.experiments import protocol
    from latentsep.heads import HeadConfig
    from latentsep.models import SimpleCNN
    from latentsep.models.training import PretrainConfig

    data = _tiny_images()
    config = PretrainConfig(max_epochs=2, num_threads=1)
    head = PAPER_TEXT.head_config(HeadConfig(max_epochs=3))
    runs = protocol.pretrained_embeddings(data, SimpleCNN, seeds=[0, 1], cache_dir=tmp_path,
                                          config=PAPER_TEXT.pretrain_config(config), progress=False)
    variants = fidelity.one_option_variants(PAPER_TEXT, (AUTHORS_CODE, CURRENT),
                                            {"head_start": ["pretrained"]})
    kw = {"base_runs": runs, "config": config, "head": head, "attributes": ["g"],
          "alphas": [0.0, 1.0], "k_train": 40, "k_val": 20, "cache_dir": tmp_path}
    drops = fidelity.variant_drops(data, variants, **kw)
    assert set(drops["variant"]) == {v.name for v in variants}
    assert len(drops) == len(variants) * 2 * 2  # two groups, two sweep seeds each
    entries = {p.name for p in (tmp_path / "sweeps").rglob("*.parquet")}
    # one entry per (variant, encoder): the per-seed encoder sweeps one unit per encoder
    assert len(entries) == len(variants) + 1
    encoders = list((tmp_path / "encoders").iterdir())
    assert len(encoders) == 3  # two with the paper's schedule, one pinned with the other monitor
    again = fidelity.variant_drops(data, variants, **kw)  # every unit read back from the cache
    assert {p.name for p in (tmp_path / "sweeps").rglob("*.parquet")} == entries
    pd.testing.assert_frame_equal(again, drops)
    by = drops.set_index(["variant", "group", "seed"])["full_minus_zero"]
    assert not np.allclose(by["head_start: resumed"], by["paper text"])


def test_effects_by_option_says_when_a_variant_changed_nothing() -> None:
    drops = pd.DataFrame({
        "variant": ["paper text", "plateau_monitor: x", "head_start: y"],
        "attribute_label": ["A"] * 3, "group_label": ["g"] * 3, "full_minus_zero": [0.3] * 3,
        "effect": [0.0, 0.0, -0.05], "effect_min": [0.0, 0.0, -0.06],
        "effect_max": [0.0, 0.0, -0.04], "per_unit": ["", "+0.000", "-0.060, -0.040"]})
    tv = pd.DataFrame({"variant": ["p", "f"], "attribute_label": ["A", "A"], "effect": [0, -0.1],
                       "per_unit": ["", "-0.100"]})
    words = fidelity.effects_by_option(drops, tv, tv.assign(variant=["within", "total"]))
    assert words["plateau_monitor"] == "x: every drop identical on every seed (the runs did not differ)"
    assert words["head_start"] == "y: drops A g: -0.050 (per seed -0.060, -0.040)"
    assert words["separation_features"] == "f: TV A: -0.100 (per seed -0.100)"
    assert words["surrogate_variance"] == "total: surrogate A: -0.100 (per seed -0.100)"


def test_a_calibration_run_writes_points_the_calibration_reads(tmp_path) -> None:
    """The paper-sized twin's attributes become calibration points: transfer gap (x) and the mean
    of the two groups' balanced-accuracy slopes (y), as chapter 03 writes its own."""
    from latentsep.calibration import read_summaries
    from latentsep.experiments import protocol
    from latentsep.heads import HeadConfig
    from latentsep.models import SimpleCNN
    from latentsep.models.training import PretrainConfig
    from latentsep.stats import allocation_slopes, attribute_sensitivity

    data = _tiny_images(1_200)
    rng = np.random.default_rng(1)
    # a test split large enough for the paper's TV to be defined (bins on group 0's range)
    cuts = np.cumsum([200, 60, 500, 300])
    splits = dict(zip(("pretrain_train", "pretrain_val", "test", "pool", "val_pool"),
                      np.split(rng.permutation(data.n), cuts), strict=True))
    data = dataclasses.replace(data, splits=splits, attributes=data.attributes.assign(
        Random=rng.integers(0, 2, data.n)))
    settings = {"seeds": [0, 1], "config": PretrainConfig(max_epochs=2, num_threads=1),
                "head": HeadConfig(max_epochs=3), "alphas": [0.0, 0.5, 1.0], "n_permutations": 5,
                "cache_dir": tmp_path / "cache", "attributes": ("g", "Random"), "k_train": 40,
                "k_val": 20}
    plain = fidelity.scale_run(data, PAPER_TEXT, **settings)
    run = fidelity.scale_run(data, PAPER_TEXT, calibration=True, **settings)
    assert plain.points is None and set(run.drops["attribute"]) == {"g"}  # Random: points only
    pd.testing.assert_frame_equal(plain.drops, run.drops)
    with pytest.raises(ValueError, match="calibration=True"):
        fidelity.write_calibration_points({"plain": plain}, tmp_path / "results")
    path = fidelity.write_calibration_points({"plain": plain, "twin": run}, tmp_path / "results")
    assert path.name == "08_scale_fidelity_summary.parquet"
    points, sources = read_summaries(tmp_path / "results")
    assert sorted(points["attribute"]) == ["Random", "g"] and set(points["dataset"]) == {"tiny"}
    assert set(points["source"]) == {"08_scale_fidelity"} and sources[0]["rows"] == 2
    # y is the sensitivity of the very sweeps the run made (read back from their cache)
    runs = protocol.pretrained_embeddings(data, SimpleCNN, seeds=[0], cache_dir=tmp_path / "cache",
                                          config=PAPER_TEXT.pretrain_config(settings["config"]),
                                          progress=False)
    sweeps = protocol.allocation_sweeps(
        data, runs, attributes=["g", "Random"], alphas=settings["alphas"], k_train=40, k_val=20,
        head=PAPER_TEXT.head_config(settings["head"]), store_dir=tmp_path / "cache" / "sweeps",
        progress=False, sweep_seeds=[0, 1], **PAPER_TEXT.sweep_options())
    slopes = allocation_slopes(sweeps, "balanced_accuracy", per_seed=True)
    expected = attribute_sensitivity(slopes, "slope").set_index("attribute")["slope"]
    np.testing.assert_allclose(points.set_index("attribute")["y"][["g", "Random"]],
                               expected[["g", "Random"]])
    assert np.all(np.abs(points["x"]) <= 1)
