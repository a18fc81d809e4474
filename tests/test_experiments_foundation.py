"""Frozen-encoder experiments: foundation datasets, the embed-once cache, the frozen protocol and
the user-supplied-dataset runners (on a synthetic CivilComments file in the official columns)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from latentsep.data.civilcomments import FAMILIES
from latentsep.data.mnist import detect_mnist
from latentsep.experiments import foundation as fm
from latentsep.experiments import user_datasets as ud
from latentsep.experiments.protocol import protocol_summaries
from latentsep.heads import HeadConfig
from latentsep.models.training import PretrainConfig

REPO_DATA = Path(__file__).parents[1] / "data"
CIVIL_ENV = "LATENTSEP_CIVILCOMMENTS"


def test_decorate_fashion_applies_each_attribute_exactly():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(3000, 28, 28), dtype=np.uint8)
    classes = rng.integers(0, 10, 3000)
    x, table = fm.decorate_fashion(images, classes, seed=5)
    assert x.shape == (3000, 3, 28, 28) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert list(table.columns[2:]) == list(fm.FOUNDATION_ATTRIBUTES["fashion_mnist"])
    assert np.array_equal(table["y"], classes % 2)
    assert np.array_equal(table["class_group"], (classes >= 5).astype(int))
    # undo the tint (channel 1 always has weight 0.75) and check the other transformations
    grey = x[:, 1] / 0.75
    ratio = x[:, 2] / np.maximum(x[:, 0], 1e-6)
    bright = grey > 0.1
    cool = table["tint"].to_numpy() == 1
    assert np.allclose(ratio[cool][bright[cool]], 1.0 / 0.45, rtol=1e-4)
    assert np.allclose(ratio[~cool][bright[~cool]], 0.45, rtol=1e-4)
    i = int(np.flatnonzero((table["flipped"] == 1) & (table["low_contrast"] == 0)
                           & (table["border"] == 0))[0])
    assert np.allclose(grey[i], images[i][:, ::-1] / 255.0, atol=1e-6)
    j = int(np.flatnonzero((table["low_contrast"] == 1) & (table["border"] == 0))[0])
    assert 0.35 - 1e-6 <= grey[j].min() and grey[j].max() <= 0.65 + 1e-6
    framed = table["border"].to_numpy() == 1
    assert np.allclose(grey[framed][:, :2, :], 1.0) and np.allclose(grey[framed][:, :, -2:], 1.0)
    # border is label-correlated (0.8 vs 0.2), the others are not
    by_label = table.groupby("y")[["border", "tint", "Random"]].mean()
    assert by_label.loc[1, "border"] > 0.75 and by_label.loc[0, "border"] < 0.25
    assert (by_label[["tint", "Random"]] - 0.5).abs().max().max() < 0.05
    again, _ = fm.decorate_fashion(images, classes, seed=5)
    assert np.array_equal(x, again)
    with pytest.raises(ValueError, match="uint8"):
        fm.decorate_fashion(images.astype(np.float32), classes, seed=5)


@pytest.mark.skipif(detect_mnist(REPO_DATA) is None, reason="MNIST not fetched (run `make data`)")
def test_foundation_embeddings_are_cached_once_and_reused(tmp_path):
    z, table = fm.foundation_embeddings("coloured_mnist", REPO_DATA, tmp_path, 40, 32, seed=0)
    assert z.shape == (40, 1280) and z.dtype == np.float32 and np.isfinite(z).all()
    assert list(table.columns) == ["source_index", "source_label", "y", "colour", "digit_group",
                                   "Random"]
    assert np.array_equal(table["y"], table["source_label"] % 2)
    entries = fm.embedding_cache_entries(tmp_path)
    assert len(entries) == 1 and entries.loc[0, "n"] == 40 and entries.loc[0, "extra"] == "coloured_mnist"
    again, _ = fm.foundation_embeddings("coloured_mnist", REPO_DATA, tmp_path, 40, 32, seed=0)
    assert np.array_equal(z, again) and len(fm.embedding_cache_entries(tmp_path)) == 1  # a hit
    fm.foundation_embeddings("coloured_mnist", REPO_DATA, tmp_path, 40, 40, seed=0)
    assert len(fm.embedding_cache_entries(tmp_path)) == 2  # another size is another entry
    with pytest.raises(ValueError, match="n=20000 exceeds"):
        fm.foundation_images("coloured_mnist", REPO_DATA, 20000, seed=0)
    with pytest.raises(ValueError, match="name"):
        fm.foundation_images("cifar10", REPO_DATA, 10, seed=0)


def test_frozen_splits_are_disjoint_stratified_and_validated():
    y = np.repeat([0, 1], [300, 100])
    parts = fm.frozen_splits(y, seed=2)
    assert np.array_equal(np.sort(np.concatenate(list(parts.values()))), np.arange(400))
    assert [len(parts[k]) for k in ("test", "pool", "val_pool")] == [100, 240, 60]
    assert all(y[idx].mean() == pytest.approx(0.25, abs=0.02) for idx in parts.values())
    with pytest.raises(ValueError, match="summing to 1"):
        fm.frozen_splits(y, {"test": 0.5, "pool": 0.6, "val_pool": 0.1})


def _embeddings(n: int = 1200, seed: int = 0) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    strong, random = rng.integers(0, 2, n), rng.integers(0, 2, n)
    z = rng.normal(size=(n, 6)).astype(np.float32)
    z[:, 0] += 2.0 * y
    z[:, 1] += 3.0 * strong
    partly = pd.Series(rng.integers(0, 2, n), dtype="Int8")
    partly[rng.random(n) < 0.2] = pd.NA  # unknown for a fifth of the rows
    return z, y, pd.DataFrame({"Strong": strong, "Partly": partly, "Random": random})


def test_run_frozen_protocol_handles_unknown_values_and_bootstrap_intervals(tmp_path):
    z, y, attributes = _embeddings()
    splits = fm.frozen_splits(y, seed=0)
    result = fm.run_frozen_protocol(
        "synthetic", z, y, attributes, splits, seeds=(0, 1), alphas=(0.0, 0.5, 1.0),
        k_train=10_000, k_val=50, cache_dir=tmp_path, head=HeadConfig(kind="mlp", hidden=8,
                                                                      max_epochs=4),
        estimators=("histogram/pooled",), n_permutations=10, n_bootstrap=10)
    known = attributes["Partly"].notna().to_numpy()
    pool = splits["pool"][known[splits["pool"]]]
    smallest = int(min((attributes["Partly"].to_numpy()[pool] == g).sum() for g in (0, 1)))
    assert result.k_train == smallest and result.k_val == 50 and result.capped
    sep = result.separation.set_index("attribute")
    assert "seed" not in result.separation
    assert sep.loc["Strong", "p_value"] == pytest.approx(1 / 11)  # beats all 10 permutations
    assert sep.loc["Strong", "excess"] > max(sep.loc["Random", "excess"], sep.loc["Partly", "excess"])
    partly_n = result.sweeps.query("attribute == 'Partly' and group == 'all'")["n"].iloc[0]
    assert partly_n == known[splits["test"]].sum()  # unknown rows left out for that attribute only
    strong_n = result.sweeps.query("attribute == 'Strong' and group == 'all'")["n"].iloc[0]
    assert strong_n == len(splits["test"])
    summary = protocol_summaries(result).query("metric == 'balanced_accuracy'").set_index("attribute")
    for name in attributes:  # the separation interval is the estimator's bootstrap interval
        assert summary.loc[name, "separation_ci_low"] == pytest.approx(sep.loc[name, "ci_low"])
        assert summary.loc[name, "separation_ci_high"] > summary.loc[name, "separation_ci_low"]
    with pytest.raises(ValueError, match="val_pool"):
        fm.run_frozen_protocol("x", z, y, attributes, {"test": splits["test"]}, seeds=(0,),
                               alphas=(0.0, 1.0), k_train=10, k_val=10, cache_dir=tmp_path)


def test_dataset_roots_and_unset_or_wrong_roots(tmp_path):
    roots = ud.dataset_roots({CIVIL_ENV: str(tmp_path)}).set_index("variable")["status"]
    assert roots[CIVIL_ENV] == "set" and roots["LATENTSEP_MIMIC_CXR"] == "unset"
    assert roots["LATENTSEP_MIMIC_IV"] == "unset (optional)"
    assert ud.load_real_dataset("ham10000", environ={}) is None
    assert ud.load_real_dataset("civilcomments", environ={CIVIL_ENV: "  "}) is None
    with pytest.raises(FileNotFoundError, match=re.escape(f"{CIVIL_ENV}='{tmp_path}' does not hold")):
        ud.load_real_dataset("civilcomments", environ={CIVIL_ENV: str(tmp_path)})
    missing = tmp_path / "nope"
    with pytest.raises(FileNotFoundError, match=r"LATENTSEP_HAM10000=.*not an existing directory"):
        ud.load_real_dataset("ham10000", environ={"LATENTSEP_HAM10000": str(missing)})


class WordCountEncoder:
    """A tiny deterministic text encoder: counts of a few words plus hashed noise."""

    name, dim, weights_id, settings = "word-count", 8, "test", {}
    words = ("toxic", "she", "bi", "church", "black", "white", "the", "a")

    def embed(self, batch):
        out = np.array([[t.split().count(w) for w in self.words] for t in batch], np.float32)
        noise = np.array([np.random.default_rng(abs(hash(t)) % 2**32).normal(size=self.dim)
                          for t in batch], np.float32)
        return out + 0.3 * noise


def _write_civilcomments(folder: Path, n: int = 1500) -> None:
    """Jigsaw ``train.csv`` columns the adapter reads. Each identity family is mentioned with
    probability 1/2 and then marked by a word ("she" three times for Gender: strongly separable)."""
    rng = np.random.default_rng(0)
    identities = [c for cols in FAMILIES.values() for c in cols]
    marks = {"female": ["she"] * 3, "bisexual": ["bi"], "christian": ["church"], "black": ["black"]}
    with open(folder / "train.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "target", "comment_text", *identities, "created_date",
                         "identity_annotator_count"])
        for i in range(n):
            toxic = bool(rng.random() < 0.5)
            mentioned = {c: bool(rng.random() < 0.5) for c in marks}
            words = ["toxic"] * (2 * toxic) + ["the", "a"] * 2
            words += [w for c, ws in marks.items() if mentioned[c] for w in ws]
            scores = {c: float(mentioned.get(c, False)) for c in identities}
            writer.writerow([100000 + i, 0.9 if toxic else 0.1, " ".join(words),
                             *(scores[c] for c in identities),
                             f"{2016 + i % 2}-03-04 05:06:07+00", 3])


def test_real_dataset_runners_end_to_end_on_official_columns(tmp_path):
    _write_civilcomments(tmp_path)
    table = ud.load_real_dataset("civilcomments", environ={CIVIL_ENV: str(tmp_path)},
                                 pretrain_fraction=0.2, test_fraction=0.3, val_fraction=0.15)
    data = ud.real_protocol(table, cache_dir=tmp_path / "cache", encoder=WordCountEncoder())
    assert data.x.shape == (1500, 8) and "word-count" in data.source
    assert len(data.splits["pretrain_train"]) + len(data.splits["pretrain_val"]) == (
        table.table["split"] == "pretrain").sum()
    assert list(data.attributes.columns) == list(table.attributes)
    settings = dict(cache_dir=tmp_path / "cache", seeds=(0, 1), alphas=(0.0, 0.5, 1.0),
                    k_train=10_000, k_val=10_000, estimators=("histogram/pooled",),
                    n_permutations=5, n_bootstrap=5)
    adapted = ud.run_real_dataset(
        data, mode="adapted", config=PretrainConfig(max_epochs=2, num_threads=1),
        adapter_hidden=(16, 8), llrt_head=HeadConfig(max_epochs=3), **settings)
    frozen = ud.run_real_dataset(data, mode="frozen",
                                 frozen_head=HeadConfig(kind="mlp", hidden=8, max_epochs=3),
                                 **settings)
    assert adapted.name == "civilcomments (adapted)" and set(adapted.runs) == {0, 1}
    assert frozen.runs is None and set(frozen.sweeps["seed"]) == {0, 1}
    sep = frozen.separation.set_index("attribute")["excess"]
    assert sep["Gender"] > 0.3 and abs(sep["Random"]) < 0.1  # the words make Gender separable
    ours = protocol_summaries(adapted).query("metric == 'cross_entropy'")
    reference = ud.paper_vs_ours("civilcomments", ours.assign(estimator="histogram/reference"))
    assert list(reference["attribute"][:6]) == list(ud.PAPER_TV["civilcomments"])
    assert (reference["ours"] == "ran").all() and reference["ours_tv"].notna().all()
    undefined = ours.assign(estimator="histogram/reference")
    undefined.loc[undefined["attribute"] == "Year", "separation"] = np.nan
    marks = ud.paper_vs_ours("civilcomments", undefined).set_index("attribute")["ours"]
    assert marks["Year"] == "undefined" and marks["Gender"] == "ran"
    with pytest.raises(ValueError, match="mode"):
        ud.run_real_dataset(data, mode="finetune", **settings)


def test_paper_vs_ours_without_our_run_shows_only_the_paper():
    table = ud.paper_vs_ours("mimic_cxr")
    assert list(table["attribute"]) == list(ud.PAPER_TV["mimic_cxr"])
    assert table["paper_tv"].is_monotonic_decreasing and table["ours_tv"].isna().all()
    assert (table["ours"] == "not run").all()
