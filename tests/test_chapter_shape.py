"""Thin chapters: narrative plus calls into latentsep (issue 12).

A chapter defines no function or class, and no code cell holds more than 15 lines of code
(comments and blank lines aside). The cell tagged ``parameters`` is exempt: it holds one
assignment per entry of ``params/<profile>.yaml`` and nothing else. Chapters join ``THIN`` as
they are made thin.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
THIN = ["01_tv_bound", "02_estimators", "03_coloured_mnist", "04_real_datasets", "05_tv_regularisation",
        "06_conventional_explanations", "07_advisor"]
MAX_CELL_LINES = 15


def code_cells(path: Path) -> list[tuple[int, list[str]]]:
    """``(first line number, lines)`` of every code cell of a py:percent chapter but parameters."""
    cells: list[tuple[int, list[str]]] = []
    current: list[str] | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("# %%"):
            current = None if "[markdown]" in line or '"parameters"' in line else []
            if current is not None:
                cells.append((number, current))
        elif current is not None:
            current.append(line)
    return cells


def code_lines(lines: list[str]) -> int:
    return sum(1 for line in lines if line.strip() and not line.lstrip().startswith("#"))


@pytest.mark.parametrize("stem", THIN)
def test_chapter_defines_no_function_or_class(stem: str) -> None:
    tree = ast.parse((BOOK / f"{stem}.py").read_text(encoding="utf-8"))
    defined = [node.name for node in ast.walk(tree)
               if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
    assert not defined, f"{stem} defines {defined}: move them into latentsep"


@pytest.mark.parametrize("stem", THIN)
def test_chapter_cells_are_short(stem: str) -> None:
    long = {start: code_lines(lines) for start, lines in code_cells(BOOK / f"{stem}.py")
            if code_lines(lines) > MAX_CELL_LINES}
    assert not long, f"{stem}: cells starting at lines {long} exceed {MAX_CELL_LINES} code lines"


def test_cell_counter_sees_code_only(tmp_path: Path) -> None:
    lines = ["x = 1", "", "# a comment", "    # indented comment", "y = f(", "    x)"]
    assert code_lines(lines) == 3
    chapter = tmp_path / "c.py"
    chapter.write_text('# %% tags=["parameters"]\nA = 1\n# %% [markdown]\n# text\n# %%\nf()\n'
                       "g()\n", encoding="utf-8")
    assert code_cells(chapter) == [(5, ["f()", "g()"])]
