"""Open every page of the built book in headless Chromium with the network cut off.

For each page it asserts that every chart container drew an ``<svg>`` or ``<canvas>``, that the
page shows no traceback or error output, and that math was typeset; it saves a screenshot of each
page that holds a chart. Command line: ``python -m latentsep.browsercheck _build/html``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bs4 import BeautifulSoup

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Every host name fails to resolve: the page must render from local files alone.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--virtual-time-budget=8000",
)


@dataclass
class PageReport:
    """What Chromium saw on one page."""

    page: str
    charts: int = 0
    drawn: int = 0
    problems: list[str] = field(default_factory=list)


def find_chromium() -> str | None:
    """Path of a Chromium binary, or None."""
    for name in (os.environ.get("CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome"):
        if name and (path := shutil.which(name)):
            return path
    return None


def _run_chromium(chromium: str, args: list[str]) -> str:
    with tempfile.TemporaryDirectory(prefix="latentsep-chromium-") as profile:
        completed = subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
    if completed.returncode != 0:
        raise RuntimeError(f"chromium exited with {completed.returncode}: {completed.stderr[-2000:]}")
    return completed.stdout


def check_page(chromium: str, page: Path, root: Path, screenshots: Path | None) -> PageReport:
    """Render ``page`` and inspect the resulting DOM."""
    report = PageReport(str(page.relative_to(root)))
    dom = BeautifulSoup(_run_chromium(chromium, ["--dump-dom", page.resolve().as_uri()]), "html.parser")
    for chart in dom.select("div.latentsep-chart"):
        report.charts += 1
        if chart.find(["svg", "canvas"]) is not None:
            report.drawn += 1
        else:
            report.problems.append(f"chart #{chart.get('id')} drew nothing")
    text = dom.get_text(" ")
    if "Traceback (most recent call last)" in text:
        report.problems.append("a traceback is shown")
    if dom.select("div.output.error, div.output.traceback"):
        report.problems.append("an error output is shown")
    if "$$" in text and not dom.select("mjx-container"):
        report.problems.append("math was not typeset (MathJax did not run)")
    if screenshots is not None and report.charts:
        screenshots.mkdir(parents=True, exist_ok=True)
        name = str(page.relative_to(root)).replace(os.sep, "__").removesuffix(".html") + ".png"
        _run_chromium(
            chromium,
            [f"--screenshot={screenshots / name}", "--window-size=1280,2400", page.resolve().as_uri()],
        )
    return report


def check_site(html_dir: Path, screenshots: Path | None = None) -> list[PageReport]:
    """Check every content page under ``html_dir`` (search and index pages excluded)."""
    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError("no Chromium found; install it with `apt-get install chromium`.")
    if not (html_dir / "index.html").is_file():
        raise FileNotFoundError(f"no built book at {html_dir}; run `make book` first.")
    pages = [
        p for p in sorted(html_dir.rglob("*.html"))
        if p.name not in {"search.html", "genindex.html"} and "_static" not in p.parts
    ]
    return [check_page(chromium, page, html_dir, screenshots) for page in pages]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("html_dir", type=Path)
    parser.add_argument("--screenshots", type=Path, default=None)
    args = parser.parse_args(argv)
    if find_chromium() is None:
        print("SKIPPED browser check: Chromium is not installed (apt-get install chromium).")
        return 0
    try:
        reports = check_site(args.html_dir, args.screenshots)
    except (FileNotFoundError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    failed = False
    for rep in reports:
        status = "ok" if not rep.problems else "FAIL"
        print(f"{status:4} {rep.page}: {rep.drawn}/{rep.charts} charts drawn")
        for problem in rep.problems:
            print(f"     - {problem}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
