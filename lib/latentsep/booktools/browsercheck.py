"""Open every page of the built book in headless Chromium at 1280×800 with the network cut off.

For each page it asserts that every chart container drew an ``<svg>`` or ``<canvas>``, that the
page shows no traceback or error output, that math was typeset, and what a reader sees at 1280 px:
the page body does not overflow horizontally, every verdict cell of the status page lies inside the
viewport, no visible code cell holds only imports, and a chapter's "What we found" box starts on its
first screen. It saves a screenshot of each page's first screen.
Command line: ``python -m latentsep.booktools.browsercheck _build/html [more pages.html]``.

``--dump-dom`` alone cannot measure layout, so each page is opened as a temporary copy (next to the
original, so relative links still resolve) with :data:`MEASURE_SCRIPT` appended: once the page has
settled, the script writes its measurements as JSON into the DOM, which ``--dump-dom`` returns.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bs4 import BeautifulSoup

from latentsep.booktools.pages import only_imports

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
WIDTH, HEIGHT = 1280, 800
MEASURE_ID = "latentsep-measure"
# Runs after the charts drew (virtual time: the budget above elapses instantly).
MEASURE_SCRIPT = """<script>setTimeout(function(){
var de=document.documentElement, width=de.clientWidth;
function box(e){var r=e.getBoundingClientRect();return {left:r.left,right:r.right,top:r.top+window.scrollY,
  height:r.height};}
function shown(e){return (e.checkVisibility?e.checkVisibility():e.getClientRects().length>0)
  &&e.innerText.trim().length>0;}
var wide=[];document.querySelectorAll('body *').forEach(function(e){var r=e.getBoundingClientRect();
  if(r.right>width+1&&wide.length<5&&!e.closest('.latentsep-chart, .cell_output, pre, .highlight'))
  wide.push(e.tagName.toLowerCase()+'.'+String(e.className).split(' ').join('.'));});
var out={width:width,scrollWidth:Math.max(de.scrollWidth,document.body.scrollWidth),wide:wide,
  verdicts:Array.from(document.querySelectorAll('td.latentsep-verdict')).map(box),
  found:Array.from(document.querySelectorAll('.latentsep-found')).map(box),
  code:Array.from(document.querySelectorAll('div.cell_input')).filter(shown).map(function(e){
    return e.innerText;})};
var pre=document.createElement('pre');pre.id='MEASURE_ID';pre.textContent=JSON.stringify(out);
document.body.appendChild(pre);},3000);</script>""".replace("MEASURE_ID", MEASURE_ID)


@dataclass
class PageReport:
    """What Chromium saw on one page."""

    page: str
    charts: int = 0
    drawn: int = 0
    problems: list[str] = field(default_factory=list)
    layout: dict = field(default_factory=dict)


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


def measured_dom(chromium: str, page: Path) -> tuple[BeautifulSoup, dict]:
    """The DOM of ``page`` rendered at 1280×800 and the layout that :data:`MEASURE_SCRIPT` found."""
    text = page.read_text(encoding="utf-8", errors="replace")
    probe = page.with_name(f".measure-{page.name}")
    cut = text.rfind("</body>")
    probe.write_text(text[:cut] + MEASURE_SCRIPT + text[cut:] if cut >= 0 else text + MEASURE_SCRIPT,
                     encoding="utf-8")
    try:
        dump = _run_chromium(chromium, [f"--window-size={WIDTH},{HEIGHT}", "--dump-dom",
                                        probe.resolve().as_uri()])
    finally:
        probe.unlink(missing_ok=True)
    dom = BeautifulSoup(dump, "html.parser")
    found = dom.find(id=MEASURE_ID)
    layout = json.loads(found.get_text()) if found is not None else {}
    if found is not None:
        found.decompose()
    return dom, layout


def layout_problems(layout: dict, *, needs_findings: bool = False) -> list[str]:
    """What a reader at 1280 px would trip over, from :func:`measured_dom`'s measurements."""
    if not layout:
        return ["the layout could not be measured (the page's scripts did not finish)"]
    problems = []
    width = layout["width"]
    if layout["scrollWidth"] > width + 1:
        problems.append(f"the page scrolls horizontally ({layout['scrollWidth']} px wide in a "
                        f"{width} px viewport; widest: {', '.join(layout['wide'])})")
    outside = [v for v in layout["verdicts"] if v["left"] < 0 or v["right"] > width + 1]
    if outside:
        problems.append(f"{len(outside)} of {len(layout['verdicts'])} verdict cells reach outside "
                        f"the viewport (right edge up to {max(v['right'] for v in outside):.0f} px)")
    for source in layout["code"]:
        if only_imports(source):
            problems.append(f"a visible code cell holds only imports: {source.strip()[:80]!r}")
    if needs_findings:
        if not layout["found"]:
            problems.append('no "What we found" box')
        elif layout["found"][0]["top"] >= HEIGHT:
            problems.append(f'the "What we found" box starts at {layout["found"][0]["top"]:.0f} px, '
                            f"below the first screen ({HEIGHT} px)")
    return problems


def check_page(
    chromium: str,
    page: Path,
    root: Path,
    screenshots: Path | None,
    *,
    needs_findings: bool = False,
) -> PageReport:
    """Render ``page`` at 1280×800 and inspect the resulting DOM and layout."""
    report = PageReport(str(page.relative_to(root)))
    dom, report.layout = measured_dom(chromium, page)
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
    report.problems += layout_problems(report.layout, needs_findings=needs_findings)
    if screenshots is not None:
        screenshots.mkdir(parents=True, exist_ok=True)
        name = str(page.relative_to(root)).replace(os.sep, "__").removesuffix(".html") + ".png"
        _run_chromium(
            chromium,
            [f"--screenshot={screenshots / name}", f"--window-size={WIDTH},{HEIGHT}",
             "--hide-scrollbars", page.resolve().as_uri()],
        )
    return report


def chapter_page(relative: Path) -> bool:
    """Whether a built page is a chapter (every chapter opens with its findings box)."""
    return relative.parts[:1] == ("chapters",) and relative.name != "status.html"


def check_site(html_dir: Path, screenshots: Path | None = None, extra: list[Path] = ()) -> list[PageReport]:
    """Check every content page under ``html_dir`` (search and index pages excluded), and the
    standalone ``extra`` pages (an advisor report, say), two pages at a time."""
    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError("no Chromium found; install it with `apt-get install chromium`.")
    if not (html_dir / "index.html").is_file():
        raise FileNotFoundError(f"no built book at {html_dir}; run `make book` first.")
    pages = [
        p for p in sorted(html_dir.rglob("*.html"))
        if p.name not in {"search.html", "genindex.html"} and "_static" not in p.parts
        and not p.name.startswith(".measure-")
    ]
    jobs = [(p, html_dir, chapter_page(p.relative_to(html_dir))) for p in pages]
    jobs += [(p.resolve(), p.resolve().parent, False) for p in extra]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(
            lambda job: check_page(chromium, job[0], job[1], screenshots, needs_findings=job[2]), jobs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("html_dir", type=Path)
    parser.add_argument("pages", type=Path, nargs="*", help="standalone pages to check too")
    parser.add_argument("--screenshots", type=Path, default=None)
    args = parser.parse_args(argv)
    if find_chromium() is None:
        print("SKIPPED browser check: Chromium is not installed (apt-get install chromium).")
        return 0
    try:
        reports = check_site(args.html_dir, args.screenshots, args.pages)
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
