"""The code base keeps its shape: thin chapters (narrative plus calls) and small library modules."""

from __future__ import annotations

import ast
from pathlib import Path

import jupytext
import pytest

from latentsep.booktools.bookrun import Project

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = Project(ROOT).chapters
MAX_CELL_LINES = 15
MAX_CHAPTER_LINES = 350  # every chapter stays under it
MAX_MODULE_LINES = 500


def code_lines(source: str) -> int:
    """Lines of a cell that hold code (blank lines and comments do not count)."""
    return sum(1 for line in source.splitlines() if line.strip() and not line.strip().startswith("#"))


def definitions(source: str) -> list[str]:
    """Names of the functions and classes a cell defines, at any depth."""
    tree = ast.parse(source)
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return [node.name for node in ast.walk(tree) if isinstance(node, kinds)]


def test_the_structure_checks_can_fail() -> None:
    assert code_lines("x = 1\n\n# note\ny = 2\n") == 2
    assert definitions("def f():\n    return 1\nclass C: ...\ng = lambda: 0\n") == ["f", "C"]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_is_narrative_plus_calls(chapter: Path) -> None:
    cells = [c for c in jupytext.read(chapter).cells if c.cell_type == "code"]
    assert [(i, definitions(c.source)) for i, c in enumerate(cells) if definitions(c.source)] == [], (
        "chapters define no functions or classes: move the logic into latentsep"
    )
    # The parameters cell lists the profile's knobs, one per line, and is excepted.
    long = [(i, code_lines(c.source)) for i, c in enumerate(cells)
            if code_lines(c.source) > MAX_CELL_LINES and "parameters" not in c.metadata.get("tags", [])]
    assert long == [], f"code cells over {MAX_CELL_LINES} lines of code (cell index, lines)"
    assert len(chapter.read_text(encoding="utf-8").splitlines()) < MAX_CHAPTER_LINES


@pytest.mark.parametrize("module", sorted((ROOT / "lib" / "latentsep").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT / "lib")))
def test_library_module_is_small(module: Path) -> None:
    assert len(module.read_text(encoding="utf-8").splitlines()) <= MAX_MODULE_LINES
