"""Rehearsal of chapter 04's real-dataset branch (MIMIC-CXR, HAM10000, CivilComments), killed
with SIGKILL inside its sweeps and re-run: the run completes and no finished unit is recomputed.

The project is linked into a temporary folder so that the cache starts empty, as on a clean clone.
The rehearsal runs in the background from collection on (``conftest.py``), beside the unit tests.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from latentsep.booktools import bookrun

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = "04_real_datasets"
pytestmark = pytest.mark.smoke


def _sidecars(cache: Path) -> dict[Path, tuple[int, int]]:
    """Every committed cache entry (its sidecar) with its inode and mtime."""
    return {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in cache.rglob("*.json")}


class KillAndResume(threading.Thread):
    """Chapter 04's rehearsal (``--small``: all its branches, faster) on a fresh link of the
    project, killed with SIGKILL inside its real-dataset sweeps, then run again to the end.

    It is two subprocesses, about 90 s of one core: ``conftest.py`` starts it when the test is
    collected, so that it overlaps the unit tests on the second core; the test waits for it.
    The environment is the one at the start, before any test has changed ``os.environ``.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.root = Path(tempfile.mkdtemp(prefix="latentsep-kill-and-resume-"))
        self.cache = self.root / "cache"
        self.env = {**os.environ, **bookrun.ONE_THREAD, "PYTHONPATH": str(ROOT / "lib"),
                    "LATENTSEP_CACHE_DIR": str(self.cache)}
        self.killed_at: dict[Path, tuple[int, int]] | None = None
        self.first_output = self.second_output = ""
        self.second_status: int | None = None
        self.error: BaseException | None = None
        self._running: subprocess.Popen | None = None
        self._stopped, self._lock = False, threading.Lock()

    def _rehearse(self) -> subprocess.Popen:
        with self._lock:
            if self._stopped:
                raise RuntimeError("the test session ended before the rehearsal could run")
            self._running = subprocess.Popen(
                [sys.executable, "-m", "latentsep.booktools.rehearse", "--small", "--only",
                 CHAPTER, "--root", str(self.root)], env=self.env, cwd=self.root,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                start_new_session=True)
            return self._running

    def run(self) -> None:
        try:
            self._kill_then_resume()
        except BaseException as err:  # re-raised by the test
            self.error = err

    def _kill_then_resume(self) -> None:
        for name in ("book", "params", "lib", "data", "_toc.yml"):
            (self.root / name).symlink_to(ROOT / name)
        first = self._rehearse()
        # Inside the real-dataset sweeps: the MIMIC-CXR embeddings exist and sweep units followed.
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline and first.poll() is None:
            embedded = list((self.cache / "embeddings").glob("densenet121-*.json"))
            if embedded:
                after = [p for p in (self.cache / "sweeps").rglob("*.json")
                         if p.stat().st_mtime > embedded[0].stat().st_mtime]
                if len(after) >= 2:
                    self.killed_at = _sidecars(self.cache)
                    os.killpg(first.pid, signal.SIGKILL)
                    break
            time.sleep(0.2)
        self.first_output, _ = first.communicate(timeout=60)
        if self.killed_at is None:
            return
        second = self._rehearse()
        self.second_output, _ = second.communicate(timeout=900)
        self.second_status = second.returncode

    def stop(self) -> None:
        """Kill a run still in progress (the session ended early) and remove its folder."""
        with self._lock:
            self._stopped = True
            if self._running is not None and self._running.poll() is None:
                os.killpg(self._running.pid, signal.SIGKILL)
                self._running.wait()
                shutil.rmtree(self.root, ignore_errors=True)


#: The one run of this session (started by :func:`start_kill_and_resume`).
STARTED: list[KillAndResume] = []


def start_kill_and_resume() -> KillAndResume:
    """Start the session's :class:`KillAndResume` unless it has started (``conftest.py`` calls
    this at collection)."""
    if not STARTED:
        STARTED.append(KillAndResume())
        STARTED[0].start()
    return STARTED[0]


def test_real_branch_rehearsal_survives_sigkill_in_its_sweeps() -> None:
    run = start_kill_and_resume()
    run.join()
    tmp_path = run.root
    if run.error is not None:
        raise run.error
    killed_at, cache = run.killed_at, run.cache
    assert killed_at is not None, f"never reached the real-dataset sweeps:\n{run.first_output}"
    assert run.second_status == 0, run.second_output
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
    shutil.rmtree(tmp_path)  # kept for inspection when an assertion above fails


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


#: Keys only the rehearsal sets (leaf-path prefixes): the encoders' weights policy, and smaller
#: splits and images for the invented folders. Every other key is the full profile's, so no chapter
#: default differs between the two.
REHEARSAL_ONLY = {"04_real_datasets": ("REAL.weights", "REAL.adapter", "REAL.image_size"),
                  "07_advisor": ("REAL_WEIGHTS", "REAL_ADAPTER", "REAL_IMAGE_SIZE")}
MNIST_STAND_IN = "REHEARSAL ONLY: invented or stand-in data"
#: Every switch the full profile sets differently from the quick one, the paper encoders and the
#: full-size MNIST path (every chapter that reads MNIST), with text the executed rehearsal chapter
#: shows only if that branch ran. Chapters 01 and 02 have no switch: the full profile only
#: enlarges them (their every-chapter entry checks that they ran without errors).
FULL_SWITCHES = {
    ("03_coloured_mnist", "RUN_ABLATIONS"): ["for the ablations."],
    ("03_coloured_mnist", "full-size MNIST splits"): ["Split sizes: **the paper's** (full MNIST)",
                                                      "23840", MNIST_STAND_IN],
    ("04_real_datasets", "RUN_REAL_DATASETS"): [
        "**MIMIC-CXR-JPG v2 + MIMIC-IV** (§5.2): ran.", "**HAM10000 + ISIC 2018** (§5.3): ran.",
        "**CivilComments** (§5.4): ran."],
    ("04_real_datasets", "REAL.modes"): [f"**{t}, {m}**" for t in (
        "MIMIC-CXR-JPG v2 + MIMIC-IV", "HAM10000 + ISIC 2018", "CivilComments")
        for m in ("adapted", "frozen")],
    ("04_real_datasets", "REAL.encoders"): ["frozen densenet121", "frozen vit_b_16",
                                            "frozen bert-base-uncased",
                                            "random weights: rehearsal only"],
    ("05_tv_regularisation", "full-size MNIST splits"): [MNIST_STAND_IN],
    ("06_conventional_explanations", "full-size MNIST splits"): [MNIST_STAND_IN],
    ("07_advisor", "REAL_DATASETS"): [
        "**mimic_cxr**: MIMIC-CXR-JPG v2 + MIMIC-IV: ", "frozen densenet121",
        "**civilcomments**: CivilComments: ", "frozen bert-base-uncased",
        "random weights: rehearsal only", "'mimic_cxr': 'advised in",
        "'civilcomments': 'advised in"],
    ("07_advisor", "full-size MNIST splits"): [f"**coloured_mnist**: {MNIST_STAND_IN}"],
    ("08_scale_fidelity", "full-size twin"): ["splits the paper's exact sizes", "Fashion · 5,000"],
}
CHAPTERS = sorted(p.stem for p in (ROOT / "book").glob("[0-9][0-9]_*.py"))


def _listed(stem: str, path: tuple[str, ...]) -> bool:
    dotted = ".".join(path)
    return any(s == stem and (dotted == key or dotted.startswith(key + "."))
               for s, key in FULL_SWITCHES)


def test_the_rehearsal_profile_keeps_every_full_profile_switch() -> None:
    full, quick, rehearsal = _profile("full"), _profile("quick"), _profile("rehearsal")
    assert sorted(full) == sorted(rehearsal) == CHAPTERS
    for stem, params in full.items():
        full_leaves, rehearsed = dict(_leaves(params)), dict(_leaves(rehearsal[stem]))
        extra = [".".join(p) for p in set(rehearsed) - set(full_leaves)
                 if not ".".join(p).startswith(REHEARSAL_ONLY.get(stem, ()))]
        assert extra == [], f"{stem}: the rehearsal sets keys the full profile leaves to defaults"
        assert set(full_leaves) <= set(rehearsed), f"{stem}: keys missing from the rehearsal"
        quick_values = dict(_leaves(quick.get(stem, {})))
        for path, value in full_leaves.items():
            if _is_switch(value):
                assert rehearsed[path] == value, (stem, path)
                if quick_values.get(path) != value:
                    assert _listed(stem, path), f"{stem}.{'.'.join(path)} has no rehearsal check"
    assert not _listed("07_advisor", ("N_IMAGES",)) and _listed("04_real_datasets",
                                                                ("REAL", "encoders", "ham10000"))


def test_every_full_profile_switch_ran_in_the_rehearsal(monkeypatch) -> None:
    """After ``make rehearse``: all seven chapters executed from their current sources without
    error cells, and each switch left its trace in its executed chapter."""
    notebooks = ROOT / "results" / "rehearsal" / "notebooks"
    if not all((notebooks / f"{stem}.ipynb").is_file() for stem in CHAPTERS):
        if os.environ.get("LATENTSEP_REQUIRE_REHEARSAL"):
            pytest.fail(f"no executed rehearsal in {notebooks}")
        pytest.skip("run `make rehearse` first")
    from latentsep.booktools.rehearse import prepare

    # The stamps as `make rehearse` computed them: with the variables it sets (its folders are
    # current, so prepare() only returns them) and without this test's own.
    monkeypatch.delenv("LATENTSEP_REQUIRE_REHEARSAL", raising=False)
    for name, value in prepare(ROOT).items():
        monkeypatch.setenv(name, value)
    stamps = bookrun.chapter_stamps(bookrun.Project.find(ROOT), "rehearsal")
    for stem in CHAPTERS:
        nb = json.loads((notebooks / f"{stem}.ipynb").read_text())
        assert bookrun.notebook_problems(nb) == [], stem
        assert (notebooks / f"{stem}.stamp").read_text().strip() == stamps[stem], \
            f"{stem}: executed from an older source or profile; run `make rehearse` again"
    missing = []
    for (stem, switch), traces in FULL_SWITCHES.items():
        text = (notebooks / f"{stem}.ipynb").read_text()
        missing += [f"{stem} {switch}: {t!r}" for t in traces if t not in text]
    assert missing == []


def test_the_rehearsal_runs_every_chapter_once_in_two_lanes(monkeypatch) -> None:
    calls, codes, checked = [], iter([0, 3]), []

    class Lane:
        def __init__(self, command, **_) -> None:
            calls.append(command)

        def wait(self) -> int:
            return next(codes)

    monkeypatch.setattr(bookrun.subprocess, "Popen", Lane)
    monkeypatch.setattr(bookrun, "_before_heavy_work", lambda _, __, stems: checked.append(stems))
    monkeypatch.setattr(bookrun.os, "sched_getaffinity", lambda _: {0, 1}, raising=False)
    project = bookrun.Project.find(ROOT)
    assert bookrun.execute_in_lanes(project, "rehearsal", force=True) == 3  # a failed lane fails
    assert checked == [CHAPTERS]  # one preflight for every chapter, before the lanes start
    lanes = [command[command.index("--only") + 1:-2] for command in calls]
    assert sorted(stem for lane in lanes for stem in lane) == CHAPTERS
    assert lanes[1] == bookrun.load_profile(project, "rehearsal")["second_lane"]
    assert all(command[-2:] == ["--checked", "--force"] for command in calls)
