"""The project's own wiring: profiles, table of contents, chapter headers, environment files."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import jupytext
import pytest
import yaml

from latentsep.booktools.bookrun import COMMON_PARAMETERS, Project, load_profile
from latentsep.booktools.pages import chapter_slug

ROOT = Path(__file__).resolve().parents[1]
PROJECT = Project(ROOT)
CHAPTERS = PROJECT.chapters


def parameters_cell(path: Path) -> dict:
    """Execute a chapter's ``parameters`` cell and return the names it defines."""
    nb = jupytext.read(path)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{path.name} must have exactly one cell tagged 'parameters'"
    namespace: dict = {}
    exec(cells[0].source, namespace)
    return {k: v for k, v in namespace.items() if k.isupper()}


def test_there_are_chapters() -> None:
    assert len(CHAPTERS) >= 1


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_header_names_the_python3_kernel(chapter: Path) -> None:
    nb = jupytext.read(chapter)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.metadata["jupytext"]["text_representation"]["format_name"] == "percent"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_parameter_defaults_equal_the_quick_profile(chapter: Path) -> None:
    defaults = parameters_cell(chapter)
    assert set(COMMON_PARAMETERS) <= set(defaults), "common parameters missing"
    quick = load_profile(PROJECT, "quick")["chapters"].get(chapter.stem) or {}
    own = {k: v for k, v in defaults.items() if k not in COMMON_PARAMETERS}
    assert own == quick, f"parameters cell of {chapter.stem} differs from params/quick.yaml"
    assert defaults["PROFILE"] == "quick" and defaults["RESULTS_DIR"] == "results/quick"


@pytest.mark.parametrize("profile", ["smoke", "quick", "full"])
def test_every_profile_sets_only_known_parameters(profile: str) -> None:
    chapters = load_profile(PROJECT, profile)["chapters"]
    for stem, params in chapters.items():
        known = set(parameters_cell(ROOT / "book" / f"{stem}.py"))
        assert set(params or {}) <= known, f"{profile}: {stem} sets unknown {set(params) - known}"


def test_toc_lists_every_chapter_once_and_nothing_else() -> None:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    expected = [f"chapters/{chapter_slug(p.stem)}" for p in CHAPTERS] + ["chapters/status"]
    assert files == expected
    assert toc["root"] == "index"  # generated from book/index.md


def test_config_renders_without_executing() -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "off"
    assert config["only_build_toc_files"] is True


def test_environment_yml_installs_the_pyproject_package() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    floor = re.search(r">=\s*([\d.]+)", pyproject["project"]["requires-python"]).group(1)
    assert python.split("=")[1].startswith(floor)
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip == ['-e ".[all]"']
    extras = pyproject["project"]["optional-dependencies"]
    assert set(extras["all"][0].split("[")[1].rstrip("]").split(",")) == set(extras) - {"all"}


def test_pinned_versions() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    deps = pyproject["project"]["dependencies"] + pyproject["project"]["optional-dependencies"]["book"]
    for pin in ("torch==2.14.1", "torchvision==0.29.1", "jupyter-book==1.0.4.post1"):
        assert pin in deps


def test_readme_puts_the_two_commands_first() -> None:
    readme = (ROOT / "README.md").read_text()
    first_block = readme.split("```")[1]
    assert "make book" in first_block and "make test" in first_block


def test_make_env_refuses_a_disk_too_small_for_the_environment(tmp_path: Path) -> None:
    script = ROOT / "tools" / "disk-space.py"
    venv = tmp_path / "not" / "yet" / ".venv"  # checked on its nearest existing parent
    ok = subprocess.run([sys.executable, script, venv, "0.001"], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stderr == ""
    short = subprocess.run([sys.executable, script, venv, "1e9"], capture_output=True, text=True)
    assert short.returncode == 1
    assert re.search(r"GiB free on the disk holding .*needs about 1e\+09 GiB.*make VENV=", short.stderr)
    makefile = (ROOT / "Makefile").read_text()
    assert "tools/disk-space.py $(VENV)" in makefile  # runs before pip, only when .venv is new
