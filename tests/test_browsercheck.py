"""The browser check's layout rules, on measurements and on small pages rendered by Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from latentsep.booktools import browsercheck

FINE = {"width": 1265, "scrollWidth": 1265, "wide": [], "verdicts": [], "found": [], "code": []}


def test_a_page_that_fits_has_no_problems() -> None:
    layout = {**FINE, "verdicts": [{"left": 285, "right": 420, "top": 700, "height": 20}],
              "found": [{"left": 285, "right": 960, "top": 250, "height": 300}],
              "code": ["x = fit(data)\nx"]}
    assert browsercheck.layout_problems(layout, needs_findings=True) == []


@pytest.mark.parametrize(("change", "needs_findings", "expected"), [
    ({"scrollWidth": 1900, "wide": ["pre.x"]}, False, "scrolls horizontally"),
    ({"verdicts": [{"left": 1100, "right": 1400, "top": 0, "height": 20}]}, False, "outside the viewport"),
    ({"code": ["import numpy as np\nfrom a import b"]}, False, "holds only imports"),
    ({}, True, 'no "What we found" box'),
    ({"found": [{"left": 0, "right": 900, "top": 950, "height": 100}]}, True, "below the first screen"),
])
def test_each_reader_problem_is_reported(change: dict, needs_findings: bool, expected: str) -> None:
    problems = browsercheck.layout_problems({**FINE, **change}, needs_findings=needs_findings)
    assert len(problems) == 1 and expected in problems[0]


def test_unmeasured_page_is_a_problem() -> None:
    assert "could not be measured" in browsercheck.layout_problems({})[0]


def test_chapter_pages_are_the_staged_chapters() -> None:
    assert browsercheck.chapter_page(Path("chapters/coloured-mnist.html"))
    assert not browsercheck.chapter_page(Path("chapters/status.html"))
    assert not browsercheck.chapter_page(Path("index.html"))


@pytest.mark.skipif(browsercheck.find_chromium() is None, reason="Chromium not installed: SKIPPED")
def test_chromium_measures_overflow_verdicts_and_visible_imports(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        "<!DOCTYPE html><html><body style='margin:0'>"
        "<div style='width:2000px'>wide</div>"
        "<table><tr><td class='latentsep-verdict' style='position:absolute;left:1500px'>ok</td></tr></table>"
        "<div class='cell_input'><pre>import numpy as np</pre></div>"
        "<details><summary>show</summary><div class='cell_input'><pre>import os</pre></div></details>"
        "</body></html>"
    )
    report = browsercheck.check_page(browsercheck.find_chromium(), page, tmp_path, tmp_path / "shots")
    text = " | ".join(report.problems)
    assert "scrolls horizontally" in text and "outside the viewport" in text
    assert "'import numpy as np'" in text and "import os" not in text  # folded code is not visible
    assert (tmp_path / "shots" / "page.png").is_file()
    assert not list(tmp_path.glob(".measure-*"))  # the temporary copy is removed
