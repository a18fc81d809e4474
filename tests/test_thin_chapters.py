"""Thin chapters: no function or class defined in a chapter, no code cell over 15 lines of code.

The parameters cell is exempt: it must list every parameter of ``params/quick.yaml``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The chapters made thin so far (issue 12); the others join as they are refactored.
THIN = ["05_tv_regularisation", "06_conventional_explanations"]
MAX_CODE_LINES = 15


def code_cells(stem: str) -> list[str]:
    nb = jupytext.read(ROOT / "book" / f"{stem}.py")
    return [c.source for c in nb.cells
            if c.cell_type == "code" and "parameters" not in c.metadata.get("tags", [])]


def code_lines(source: str) -> int:
    """Lines that are neither blank nor comments."""
    return sum(1 for line in source.splitlines() if line.strip() and not line.strip().startswith("#"))


@pytest.mark.parametrize("stem", THIN)
def test_chapter_defines_no_function_or_class(stem: str) -> None:
    for source in code_cells(stem):
        defined = [n.name for n in ast.walk(ast.parse(source))
                   if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
        assert not defined, f"{stem} defines {defined}; move them to lib/latentsep"


@pytest.mark.parametrize("stem", THIN)
def test_no_code_cell_is_longer_than_fifteen_lines(stem: str) -> None:
    for source in code_cells(stem):
        assert code_lines(source) <= MAX_CODE_LINES, (
            f"{stem} has a cell of {code_lines(source)} code lines:\n{source[:200]}")


def test_the_counter_skips_blank_lines_and_comments() -> None:
    assert code_lines("# a comment\n\nx = 1\n  # indented comment\ny = 2\n") == 2
