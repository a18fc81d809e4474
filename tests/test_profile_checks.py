"""Numeric profile parameters are checked by name before any chapter runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from latentsep.booktools import bookrun
from latentsep.booktools.profile_checks import check_chapter_parameters, parameter_problems

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("profile", sorted(p.stem for p in (ROOT / "params").glob("*.yaml")))
def test_shipped_profiles_are_valid(profile: str) -> None:
    bookrun.load_profile(bookrun.Project(ROOT), profile)


@pytest.mark.parametrize(("params", "expected"), [
    ({"SEEDS": [42, -1]}, "SEEDS must be an integer >= 0; got -1"),
    ({"ALPHAS": [0.0, 1.5]}, "ALPHAS must be a number in [0, 1]; got 1.5"),
    ({"N_PERMUTATIONS": -3}, "N_PERMUTATIONS must be an integer >= 1; got -3"),
    ({"PRETRAIN_EPOCHS": 2.5}, "PRETRAIN_EPOCHS must be an integer >= 1; got 2.5"),
    ({"TABULAR_DROPOUT": 1.0}, "TABULAR_DROPOUT must be a number in [0, 1); got 1.0"),
    ({"TV_LAMBDAS": [0.0, -0.1]}, "TV_LAMBDAS must be a number >= 0; got -0.1"),
    ({"REAL": {"k_train": {"mimic_cxr": 0}}}, "REAL.k_train.mimic_cxr must be an integer >= 1 or "
                                              "null; got 0"),
    ({"TABULAR": {"adult": {"max_rows": "all"}}}, "TABULAR.adult.max_rows must be an integer >= 1 "
                                                  "or null; got 'all'"),
    ({"N_CONFIGS": True}, "N_CONFIGS must be an integer >= 1; got True"),
])
def test_bad_values_are_named_with_the_accepted_range(params, expected) -> None:
    assert parameter_problems("04_x", params) == [f"04_x.{expected}"]


def test_valid_and_unchecked_values_pass() -> None:
    assert parameter_problems("04_x", {
        "SEEDS": [42], "ALPHAS": [0.0, 1.0], "REAL": {"max_rows": None, "k_train": {"a": 5}},
        "SHIFT": -1.5, "SEPARATION_METHODS": ["histogram"], "RUN_ABLATIONS": True,
        "FOUNDATION": {"dataset": "coloured_mnist", "n": 10}}) == []


def test_a_bad_profile_stops_the_runner_listing_every_problem(tmp_path: Path) -> None:
    (tmp_path / "book").mkdir()
    (tmp_path / "_toc.yml").write_text("root: book/index\n")
    (tmp_path / "book" / "01_a.py").write_text("N = 1\n")
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "bad.yaml").write_text(
        "chapters:\n  01_a: {N_PERMUTATIONS: -3, SEEDS: [1, -2]}\n")
    with pytest.raises(ValueError) as err:
        bookrun.chapter_stamps(bookrun.Project(tmp_path), "bad")
    message = str(err.value)
    assert "params/bad.yaml has 2 invalid" in message
    assert "01_a.N_PERMUTATIONS must be an integer >= 1; got -3" in message
    assert "01_a.SEEDS must be an integer >= 0; got -2" in message


def test_random_weights_only_in_the_rehearsal_profile() -> None:
    chapters = {"04_x": {"REAL": {"weights": "random-if-missing"}},
                "07_x": {"REAL_WEIGHTS": "random-if-missing"}}
    check_chapter_parameters("params/rehearsal.yaml", chapters, "rehearsal")
    with pytest.raises(ValueError) as err:
        check_chapter_parameters("params/full.yaml", chapters, "full")
    assert "04_x.REAL.weights is 'random-if-missing', allowed only in the rehearsal" in str(err.value)
    assert "07_x.REAL_WEIGHTS" in str(err.value)
