"""The preflight: every missing dataset file, column, root and weight file in one message, fast."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from latentsep.booktools import preflight as pf
from latentsep.encoders import missing_weights

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
FULL_04 = {"04_real_datasets": {"RUN_REAL_DATASETS": True, "REAL": {"encoders": {
    "mimic_cxr": "efficientnet-lite0", "ham10000": "efficientnet-lite0",
    "civilcomments": "all-minilm-l6-v2"}}}}
GOOD = {"LATENTSEP_MIMIC_CXR": str(FIXTURES / "mimic" / "mimic-cxr-jpg"),
        "LATENTSEP_MIMIC_IV": str(FIXTURES / "mimic" / "mimiciv"),
        "LATENTSEP_HAM10000": str(FIXTURES / "ham10000" / "dataverse"),
        "LATENTSEP_CIVILCOMMENTS": str(FIXTURES / "civilcomments" / "wilds")}


def test_what_a_profile_needs_is_read_from_its_switches() -> None:
    needs = pf.profile_needs({**FULL_04, "07_advisor": {"REAL_DATASETS": ["mimic_cxr"],
                                                        "FOUNDATION_DATASETS": ["coloured_mnist"]}})
    assert needs.encoders == FULL_04["04_real_datasets"]["REAL"]["encoders"]
    assert needs.chapters["mimic_cxr"] == ["04_real_datasets", "07_advisor"]
    assert needs.foundation and not needs.random_weights
    assert pf.profile_needs({"04_real_datasets": {"RUN_REAL_DATASETS": False}}).encoders == {}


def test_good_roots_pass_with_notices() -> None:
    notices = pf.preflight(FULL_04, {**GOOD, "LATENTSEP_SKIP_DATASETS": "ham10000"})
    assert sum("checked" in n for n in notices) == 2
    assert any("all-minilm-l6-v2: pretrained weights found locally" in n for n in notices)


def test_the_adapter_runs_after_the_layout_check() -> None:
    """The 18-image HAM10000 fixture has every file and column but cannot fill the paper's
    2,000-image pre-training split: the adapter's own check reports it before any chapter."""
    with pytest.raises(pf.PreflightFailed, match=r"n_pretrain=2000 .* leaves no fine-tuning pool"):
        pf.preflight(FULL_04, GOOD)


def test_every_missing_file_folder_and_column_is_named_at_once(tmp_path: Path) -> None:
    civil = tmp_path / "civil"
    civil.mkdir()
    (civil / "all_data.csv").write_text("id,comment_text,created_date,toxicity\n1,a,2017-01-01,0.1\n")
    env = {"LATENTSEP_MIMIC_CXR": str(tmp_path), "LATENTSEP_MIMIC_IV": str(tmp_path / "nope"),
           "LATENTSEP_HAM10000": str(FIXTURES / "mimic"), "LATENTSEP_CIVILCOMMENTS": str(civil)}
    with pytest.raises(pf.PreflightFailed) as err:
        pf.preflight(FULL_04, env)
    message = str(err.value)
    for expected in ("mimic-cxr-2.0.0-metadata.csv.gz", "mimic-cxr-2.0.0-chexpert.csv.gz",
                     "no images folder", "mimic_iv_root=", "HAM10000_metadata.tab",
                     "no <image_id>.jpg", "identity_annotator_count", "homosexual_gay_or_lesbian"):
        assert expected in message, expected
    assert "7 problem(s)" in message


def test_unset_roots_stop_the_run_unless_skipped() -> None:
    env = {k: v for k, v in GOOD.items() if k != "LATENTSEP_HAM10000"}
    with pytest.raises(pf.PreflightFailed, match=r"LATENTSEP_HAM10000 is not set.*LATENTSEP_SKIP"):
        pf.preflight(FULL_04, env)
    notices = pf.preflight(FULL_04, {**env, "LATENTSEP_SKIP_DATASETS": "ham10000"})
    assert any("HAM10000 + ISIC 2018: skipped" in n for n in notices)
    with pytest.raises(pf.PreflightFailed, match="unknown dataset"):
        pf.preflight(FULL_04, {**GOOD, "LATENTSEP_SKIP_DATASETS": "ham"})


def test_missing_paper_weights_are_a_problem_except_in_the_rehearsal() -> None:
    if missing_weights("densenet121") is None:
        pytest.skip("DenseNet-121 ImageNet weights are cached on this machine")
    chapters = {"04_real_datasets": {"RUN_REAL_DATASETS": True, "REAL": {
        "encoders": {"mimic_cxr": "densenet121"}}}}
    env = {**GOOD, "LATENTSEP_SKIP_DATASETS": "ham10000"}
    with pytest.raises(pf.PreflightFailed, match=r"densenet121-a639ec97\.pth"):
        pf.preflight(chapters, env)
    chapters["04_real_datasets"]["REAL"]["weights"] = "random-if-missing"
    assert any("random weights: rehearsal only" in n for n in pf.preflight(chapters, env))


def test_a_full_run_with_a_wrong_root_stops_within_30_seconds(tmp_path: Path) -> None:
    """Acceptance 3, end to end through ``python -m latentsep.booktools.bookrun execute --profile full``."""
    (tmp_path / "book").mkdir()
    (tmp_path / "_toc.yml").write_text("root: book/index\n")
    for source in (ROOT / "book").glob("[0-9][0-9]_*.py"):
        (tmp_path / "book" / source.name).write_text("raise SystemExit('must not run')\n")
    (tmp_path / "params").mkdir()
    shutil.copy(ROOT / "params" / "full.yaml", tmp_path / "params")
    env = {**os.environ, **GOOD, "LATENTSEP_HAM10000": str(FIXTURES / "civilcomments"),
           "PYTHONPATH": str(ROOT / "lib")}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "latentsep.booktools.bookrun", "execute", "--profile",
                           "full", "--root", str(tmp_path)], env=env, capture_output=True,
                          text=True, timeout=120)
    seconds = time.perf_counter() - started
    assert done.returncode == 1
    assert seconds < 30, f"took {seconds:.0f} s"
    assert "preflight found" in done.stderr
    assert "HAM10000_metadata.csv" in done.stderr and "no <image_id>.jpg" in done.stderr
    assert "executing" not in done.stdout


def test_missing_fashion_mnist_is_named_with_its_files_and_remedy(tmp_path: Path, monkeypatch) -> None:
    """Chapter 08's twin (and 07's foundation dataset) need Fashion-MNIST: the one message names
    the missing IDX files and the remedy, beside every other problem."""
    from latentsep.data import fashion

    monkeypatch.setattr(fashion, "DEBIAN_FASHION_DIR", tmp_path / "no-debian-package")
    chapters = {**FULL_04, "07_advisor": {"FOUNDATION_DATASETS": ["fashion_mnist"]},
                "08_scale_fidelity": {"TWIN_TOTAL": 70000}}
    assert pf.profile_needs(chapters).fashion == ["07_advisor", "08_scale_fidelity"]
    assert pf.profile_needs(FULL_04).fashion == []
    user = tmp_path / "data" / "fashion-mnist"
    user.mkdir(parents=True)
    (user / "train-images-idx3-ubyte.gz").write_bytes(b"")
    env = {k: v for k, v in GOOD.items() if k != "LATENTSEP_HAM10000"}
    with pytest.raises(pf.PreflightFailed) as err:
        pf.preflight(chapters, env, data_dir=tmp_path / "data")
    message = str(err.value)
    assert "2 problem(s)" in message and "LATENTSEP_HAM10000 is not set" in message
    fashion_line = next(line for line in message.splitlines() if "Fashion-MNIST (used by" in line)
    assert "07_advisor, 08_scale_fidelity" in fashion_line
    for stem in ("train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        assert stem in fashion_line.split("Remedy")[0]
    assert "train-images-idx3-ubyte[.gz]" not in fashion_line  # that one is there
    assert "apt-get install dataset-fashion-mnist" in fashion_line
    for name in ("train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (user / f"{name}.gz").write_bytes(b"")
    notices = pf.preflight(chapters, {**env, "LATENTSEP_SKIP_DATASETS": "ham10000"},
                           data_dir=tmp_path / "data")
    assert "Fashion-MNIST: found (used by 07_advisor, 08_scale_fidelity)." in notices
