"""Chapter 04's user-supplied-datasets runner: not run, skipped, a wrong root, and end to end on
CivilComments' official columns (a tiny word-count encoder, two seeds, a few epochs)."""

from __future__ import annotations

import pytest

from latentsep.experiments import real_datasets as rd
from latentsep.heads import HeadConfig
from latentsep.models.training import PretrainConfig


def test_user_datasets_not_run_skipped_or_a_wrong_root(tmp_path):
    common = dict(profile="quick", cache_dir=tmp_path, seeds=(0,), alphas=(0.0, 1.0), seed=0,
                  config=None, llrt_head=None, frozen_head=None, separation={})
    real = {"modes": ["adapted"], "max_rows": None, "encoders": {}, "k_train": {}, "k_val": {}}
    runs = rd.run_user_datasets(real, run=False, **common)
    assert runs.results == {} and runs.notes.count("not run — the quick profile") == 3
    runs = rd.run_user_datasets(real, run=True, environ={}, **common)
    assert runs.results == {} and runs.notes.count("**skipped** — `LATENTSEP_") == 3
    with pytest.raises(FileNotFoundError, match="LATENTSEP_CIVILCOMMENTS="):
        rd.run_user_datasets(real, run=True, environ={"LATENTSEP_CIVILCOMMENTS": str(tmp_path)},
                             **common)


def test_user_datasets_run_end_to_end_on_official_columns(tmp_path):
    from test_experiments_foundation import WordCountEncoder, _write_civilcomments

    _write_civilcomments(tmp_path)
    real = {"modes": ["adapted", "frozen"], "max_rows": None,
            "encoders": {"civilcomments": WordCountEncoder()}, "k_train": {"civilcomments": 10_000},
            "k_val": {"civilcomments": 10_000},
            "adapter": {"civilcomments": {"pretrain_fraction": 0.2, "test_fraction": 0.3,
                                          "val_fraction": 0.15}}}
    runs = rd.run_user_datasets(
        real, run=True, profile="smoke", cache_dir=tmp_path / "cache", seeds=(0, 1),
        alphas=(0.0, 0.5, 1.0), seed=0, config=PretrainConfig(max_epochs=2, num_threads=1),
        llrt_head=HeadConfig(max_epochs=3), frozen_head=HeadConfig(kind="mlp", hidden=8,
                                                                   max_epochs=3),
        separation={"estimators": ("histogram/pooled",), "n_permutations": 5, "n_bootstrap": 5},
        environ={"LATENTSEP_CIVILCOMMENTS": str(tmp_path)})
    assert list(runs.results) == ["civilcomments"]
    assert list(runs.results["civilcomments"]) == ["adapted", "frozen"]
    assert "**CivilComments**" in runs.notes and "ran." in runs.notes and "word-count" in runs.notes
    assert runs.notes.count("**skipped**") == 2
    summaries, corrs, text = rd.summarise_user_datasets(runs, n_boot=50, seed=0, out_dir=tmp_path)
    assert set(summaries) == {("civilcomments", "adapted"), ("civilcomments", "frozen")}
    assert (tmp_path / "civilcomments_frozen_summary.csv").exists()
    assert corrs[("civilcomments", "adapted")]["dataset"].iloc[0] == "CivilComments (adapted)"
    assert text.count("K_train = ") == 2
