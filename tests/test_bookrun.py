"""The chapter runner: stamps, problem detection, profile errors (pages: tests/test_pages.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from latentsep.booktools import bookrun

CHAPTER = """# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% tags=["parameters"]
PROFILE = "quick"
N = 1
"""


@pytest.fixture()
def project(tmp_path: Path) -> bookrun.Project:
    (tmp_path / "book").mkdir()
    (tmp_path / "_toc.yml").write_text("root: book/index\n")
    (tmp_path / "lib" / "latentsep").mkdir(parents=True)
    (tmp_path / "lib" / "latentsep" / "x.py").write_text("A = 1\n")
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "quick.yaml").write_text("chapters:\n  01_a: {N: 1}\n")
    for stem in ("01_a", "02_b"):
        (tmp_path / "book" / f"{stem}.py").write_text(CHAPTER)
    return bookrun.Project(tmp_path)


def test_find_walks_up_to_the_checkout(project: bookrun.Project) -> None:
    assert bookrun.Project.find(project.root / "book").root == project.root


def test_find_outside_a_checkout_names_the_remedy(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"_toc\.yml"):
        bookrun.Project.find(tmp_path)


def test_stamps_change_with_source_library_and_parameters(project: bookrun.Project) -> None:
    before = bookrun.chapter_stamps(project, "quick")
    (project.root / "book" / "02_b.py").write_text(CHAPTER + "\n# edited\n")
    after_source = bookrun.chapter_stamps(project, "quick")
    assert after_source["01_a"] == before["01_a"] and after_source["02_b"] != before["02_b"]

    (project.root / "params" / "quick.yaml").write_text("chapters:\n  01_a: {N: 2}\n")
    after_params = bookrun.chapter_stamps(project, "quick")
    # 02_b follows 01_a, whose results it may read: it is re-executed too.
    assert all(after_params[s] != after_source[s] for s in ("01_a", "02_b"))

    (project.root / "lib" / "latentsep" / "x.py").write_text("A = 2\n")
    after_lib = bookrun.chapter_stamps(project, "quick")
    assert all(after_lib[s] != after_params[s] for s in ("01_a", "02_b"))
    assert bookrun.chapter_stamps(project, "quick") == after_lib


def test_unknown_profile_lists_the_known_ones(project: bookrun.Project) -> None:
    with pytest.raises(ValueError, match=r"unknown profile 'huge'.*\['quick'\]"):
        bookrun.load_profile(project, "huge")


def test_lanes_keep_chapter_order_and_reject_unknown_chapters(project: bookrun.Project) -> None:
    assert bookrun.profile_lanes(project, "quick") == [["01_a", "02_b"]]  # no second lane
    (project.root / "params" / "quick.yaml").write_text("second_lane: [01_a]\nchapters: {}\n")
    assert bookrun.profile_lanes(project, "quick") == [["02_b"], ["01_a"]]
    (project.root / "params" / "quick.yaml").write_text("second_lane: [03_c]\nchapters: {}\n")
    with pytest.raises(ValueError, match=r"second_lane names chapters that do not exist: \['03_c'\]"):
        bookrun.profile_lanes(project, "quick")


def test_profile_naming_a_missing_chapter_is_rejected(project: bookrun.Project) -> None:
    (project.root / "params" / "quick.yaml").write_text("chapters:\n  09_z: {N: 1}\n")
    with pytest.raises(ValueError, match="09_z"):
        bookrun.load_profile(project, "quick")


def test_profile_may_not_override_runner_parameters(project: bookrun.Project) -> None:
    (project.root / "params" / "quick.yaml").write_text("chapters:\n  01_a: {DATA_DIR: x}\n")
    with pytest.raises(ValueError, match="set by the runner"):
        bookrun.chapter_parameters(project, "quick", "01_a")


def test_notebook_problems_finds_errors_and_warnings() -> None:
    nb = nbformat.v4.new_notebook()
    ok = nbformat.v4.new_code_cell("1")
    ok.outputs = [nbformat.v4.new_output("stream", name="stderr", text="100%|####| 3/3\n")]
    warn = nbformat.v4.new_code_cell("2")
    warn.outputs = [nbformat.v4.new_output("stream", name="stderr", text="x.py:1: UserWarning: bad\n")]
    err = nbformat.v4.new_code_cell("3")
    err.outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="boom", traceback=[])]
    nb.cells = [ok, warn, err]
    problems = bookrun.notebook_problems(nb)
    assert problems == ["cell 1: stderr: x.py:1: UserWarning: bad", "cell 2: ValueError: boom"]


def test_execute_reports_the_failing_chapter_and_cell(project: bookrun.Project) -> None:
    bad = CHAPTER + "\n# %%\nraise ValueError('broken on purpose')\n"
    (project.root / "book" / "01_a.py").write_text(bad)
    with pytest.raises(bookrun.ChapterFailed, match=r"chapter 01_a failed in cell .*broken on purpose"):
        bookrun.execute(project, "quick", only=["01_a"])
    assert (project.notebooks_dir("quick") / "01_a.failed.ipynb").is_file()


def test_execute_skips_what_is_up_to_date(project: bookrun.Project) -> None:
    assert bookrun.execute(project, "quick") == ["01_a", "02_b"]
    assert bookrun.execute(project, "quick") == []
    (project.root / "book" / "02_b.py").write_text(CHAPTER + "\n# %%\nN + 1\n")
    assert bookrun.execute(project, "quick") == ["02_b"]


def test_stage_requires_every_executed_chapter(project: bookrun.Project) -> None:
    with pytest.raises(bookrun.ChapterFailed, match="make execute PROFILE=quick"):
        bookrun.stage(project, "quick")


def test_vega_bundle_is_written_once(project: bookrun.Project) -> None:
    path = bookrun.write_vega_bundle(project)
    text = path.read_text()
    assert "window.latentsepVega" in text and "cdn" not in text[:200].lower()
    mtime = path.stat().st_mtime_ns
    assert bookrun.write_vega_bundle(project).stat().st_mtime_ns == mtime
    shutil.rmtree(project.root / "_static")
