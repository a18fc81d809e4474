"""Every chapter runs through papermill with the tiny ``smoke`` profile, and the book renders.

The rendered smoke book, and the advisor report chapter 07 writes with ``latentsep advise --html``,
are then opened in headless Chromium at 1280×800 with the network cut off: every chart must draw,
no page may show an error or scroll sideways, the status page's verdicts must be in view, no visible
code cell may hold only imports, and each chapter must show its findings box on its first screen.
Screenshots land in ``_build/smoke/screenshots``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from latentsep.booktools import bookrun, browsercheck
from latentsep.booktools.pages import chapter_slug

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "_build" / "smoke"

pytestmark = pytest.mark.smoke


@pytest.fixture(scope="module")
def smoke_html() -> Path:
    project = bookrun.Project(ROOT)
    lanes = bookrun.profile_lanes(project, "smoke")  # one per core, as `make execute` runs them
    assert len(lanes) == 2, "params/smoke.yaml's second_lane keeps both cores busy"
    assert bookrun.execute_lanes(ROOT, "smoke", lanes) == 0, "a chapter failed (output above)"
    return bookrun.build(project, "smoke", OUT)


def test_every_chapter_executed_without_problems(smoke_html: Path) -> None:
    pages = {p.stem for p in (smoke_html / "chapters").glob("*.html")}
    assert {chapter_slug(p.stem) for p in bookrun.Project(ROOT).chapters} | {"status"} <= pages
    assert bookrun.html_problems(smoke_html) == []


def test_pages_render_offline_in_chromium(smoke_html: Path) -> None:
    if browsercheck.find_chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing on CI; `make system` installs it (Debian package chromium)")
        pytest.skip("Chromium not installed (apt-get install chromium): browser check SKIPPED")
    advice = sorted((ROOT / "results" / "smoke" / "advisor").glob("*_advice.html"))
    assert advice, "chapter 07 should write an advisor report with `latentsep advise --html`"
    reports = browsercheck.check_site(smoke_html, OUT / "screenshots", advice)
    assert sum(r.charts for r in reports) >= 1, "the book should hold at least one chart"
    assert [(r.page, r.problems) for r in reports if r.problems] == []
    by_page = {r.page: r for r in reports}
    assert by_page["index.html"].drawn == 1, "the landing page shows the summary chart"
    assert len(by_page["chapters/status.html"].layout["verdicts"]) >= 1
    assert all(by_page[f"chapters/{chapter_slug(p.stem)}.html"].layout["found"]
               for p in bookrun.Project(ROOT).chapters)
    assert (OUT / "screenshots" / "index.png").is_file()
