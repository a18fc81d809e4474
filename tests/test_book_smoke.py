"""Every chapter runs through papermill with the tiny ``smoke`` profile, and the book renders.

The rendered smoke book is then opened in headless Chromium with the network cut off: every chart
must draw and no page may show an error. Screenshots land in ``_build/smoke/screenshots``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from latentsep import bookrun, browsercheck

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "_build" / "smoke"

pytestmark = pytest.mark.smoke


@pytest.fixture(scope="module")
def smoke_html() -> Path:
    project = bookrun.Project(ROOT)
    bookrun.execute(project, "smoke")
    return bookrun.build(project, "smoke", OUT)


def test_every_chapter_executed_without_problems(smoke_html: Path) -> None:
    pages = {p.stem for p in (smoke_html / "executed").glob("*.html")}
    assert {p.stem for p in bookrun.Project(ROOT).chapters} | {"status"} <= pages
    assert bookrun.html_problems(smoke_html) == []


def test_pages_render_offline_in_chromium(smoke_html: Path) -> None:
    if browsercheck.find_chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing on CI; `make system` installs it (Debian package chromium)")
        pytest.skip("Chromium not installed (apt-get install chromium): browser check SKIPPED")
    reports = browsercheck.check_site(smoke_html, OUT / "screenshots")
    assert sum(r.charts for r in reports) >= 1, "the book should hold at least one chart"
    assert [(r.page, r.problems) for r in reports if r.problems] == []
