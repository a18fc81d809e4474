"""Rehearsal of chapter 04's real-dataset branch (MIMIC-CXR, HAM10000, CivilComments), killed
with SIGKILL inside its sweeps and re-run: the run completes and no finished unit is recomputed.

The project is linked into a temporary folder so that the cache starts empty, as on a clean clone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = "04_real_datasets"
pytestmark = pytest.mark.smoke


def _sidecars(cache: Path) -> dict[Path, tuple[int, int]]:
    """Every committed cache entry (its sidecar) with its inode and mtime."""
    return {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in cache.rglob("*.json")}


def _rehearse(root: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "latentsep.booktools.rehearse", "--only", CHAPTER,
                             "--root", str(root)], env=env, cwd=root, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def test_real_branch_rehearsal_survives_sigkill_in_its_sweeps(tmp_path: Path) -> None:
    for name in ("book", "params", "lib", "data", "_toc.yml"):
        (tmp_path / name).symlink_to(ROOT / name)
    cache = tmp_path / "cache"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "lib"), "LATENTSEP_CACHE_DIR": str(cache)}
    first = _rehearse(tmp_path, env)
    # Inside the real-dataset sweeps: the MIMIC-CXR embeddings exist and sweep units followed.
    deadline, killed_at = time.monotonic() + 900, None
    while time.monotonic() < deadline and first.poll() is None:
        embedded = list((cache / "embeddings").glob("densenet121-*.json"))
        if embedded:
            after = [p for p in (cache / "sweeps").rglob("*.json")
                     if p.stat().st_mtime > embedded[0].stat().st_mtime]
            if len(after) >= 2:
                killed_at = _sidecars(cache)
                os.killpg(first.pid, signal.SIGKILL)
                break
        time.sleep(0.2)
    first.wait(timeout=60)
    assert killed_at is not None, f"never reached the real-dataset sweeps:\n{first.stdout.read()}"

    second = _rehearse(tmp_path, env)
    out, _ = second.communicate(timeout=900)
    assert second.returncode == 0, out
    now = _sidecars(cache)
    recomputed = [p for p, stamp in killed_at.items() if now.get(p) != stamp]
    assert recomputed == [], f"finished units recomputed after the kill: {recomputed}"
    assert len(now) > len(killed_at)  # the rest was computed

    notebook = (tmp_path / "results" / "rehearsal" / "notebooks" / f"{CHAPTER}.ipynb").read_text()
    for title in ("MIMIC-CXR-JPG v2 + MIMIC-IV", "HAM10000 + ISIC 2018", "CivilComments"):
        assert f"**{title}** (" in notebook and "ran. " in notebook
    assert "random weights: rehearsal only" in notebook
    claims = json.loads((tmp_path / "results" / "rehearsal" / "claims" / f"{CHAPTER}.json")
                        .read_text())["claims"]
    checked = {c["claim_id"]: c for c in claims}
    for claim_id in ("real.mimic_cxr.tv_vs_loss_slope", "real.ham10000.random_lowest_tv",
                     "real.civilcomments.random_lowest_tv"):
        assert "Not checkable" not in (checked[claim_id].get("note") or ""), checked[claim_id]


def _leaves(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    else:
        yield path, value


def _profile(name: str) -> dict:
    import yaml

    return yaml.safe_load((ROOT / "params" / f"{name}.yaml").read_text())["chapters"]


def _is_switch(value) -> bool:
    """Booleans, names and lists of names: what selects code paths (sizes are numbers or null)."""
    return isinstance(value, bool | str) or (isinstance(value, list) and bool(value)
                                             and all(isinstance(v, str) for v in value))


#: Every switch the full profile sets differently from the quick one (plus the paper encoders and
#: the full-size MNIST path), with text the executed rehearsal chapter shows only if it ran.
FULL_SWITCHES = {
    ("03_coloured_mnist", "RUN_ABLATIONS"): ["for the ablations."],
    ("03_coloured_mnist", "full-size MNIST splits"): ["Split sizes: **the paper's** (full MNIST)",
                                                      "23840", "REHEARSAL ONLY"],
    ("04_real_datasets", "RUN_REAL_DATASETS"): [
        "**MIMIC-CXR-JPG v2 + MIMIC-IV** (§5.2): ran.", "**HAM10000 + ISIC 2018** (§5.3): ran.",
        "**CivilComments** (§5.4): ran."],
    ("04_real_datasets", "REAL.modes"): [f"**{t}, {m}**" for t in (
        "MIMIC-CXR-JPG v2 + MIMIC-IV", "HAM10000 + ISIC 2018", "CivilComments")
        for m in ("adapted", "frozen")],
    ("04_real_datasets", "REAL.encoders"): ["frozen densenet121", "frozen vit_b_16",
                                            "frozen bert-base-uncased"],
    ("07_advisor", "REAL_DATASETS"): ["MIMIC-CXR-JPG v2 + MIMIC-IV: ", "CivilComments: "],
    ("08_scale_fidelity", "full-size twin"): ["splits the paper's exact sizes", "Fashion · 5,000"],
}


def test_the_rehearsal_profile_keeps_every_full_profile_switch() -> None:
    full, quick, rehearsal = _profile("full"), _profile("quick"), _profile("rehearsal")
    for stem, params in full.items():
        rehearsed = dict(_leaves(rehearsal[stem]))
        for path, value in _leaves(params):
            if _is_switch(value):
                assert rehearsed.get(path) == value, (stem, path)
        quick_values = dict(_leaves(quick.get(stem, {})))
        for path, value in _leaves(params):
            if _is_switch(value) and quick_values.get(path) != value:
                listed = {k[1] for k in FULL_SWITCHES if k[0] == stem}
                assert ".".join(path) in listed, f"{stem}.{'.'.join(path)} has no rehearsal check"


def test_every_full_profile_switch_ran_in_the_rehearsal() -> None:
    """After ``make rehearse``: each switch left its trace in the executed chapter."""
    notebooks = ROOT / "results" / "rehearsal" / "notebooks"
    if not all((notebooks / f"{stem}.ipynb").is_file() for stem, _ in FULL_SWITCHES):
        if os.environ.get("LATENTSEP_REQUIRE_REHEARSAL"):
            pytest.fail(f"no executed rehearsal in {notebooks}")
        pytest.skip("run `make rehearse` first")
    missing = []
    for (stem, switch), traces in FULL_SWITCHES.items():
        text = (notebooks / f"{stem}.ipynb").read_text()
        missing += [f"{stem} {switch}: {t!r}" for t in traces if t not in text]
    assert missing == []
