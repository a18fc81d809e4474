"""Execute the book's chapters with papermill and render them with Jupyter Book.

The chapters are jupytext ``py:percent`` files in ``book/``. ``execute`` runs each one through
papermill with the parameters of a profile (``params/<profile>.yaml``) and stores the executed
notebook under ``results/<profile>/notebooks/``. A chapter is re-executed only when its *stamp*
changes: a hash of its source, the library's source, its parameters, the data manifest and the
stamps of the chapters before it (later chapters read earlier chapters' results).

``build`` stages the executed notebooks, made readable, and a generated reproduction-status page in
``chapters/`` and the landing page in ``index.md`` (:mod:`latentsep.booktools.pages`), writes the offline
vega bundle to ``_static/``, runs ``jupyter-book build -W``
and scans the produced HTML for error outputs.

Command line: ``python -m latentsep.booktools.bookrun {execute,build,check} --profile quick``.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from latentsep.booktools import overview_pages, pages
from latentsep.booktools.profile_checks import check_chapter_parameters
from latentsep.fileio import atomic_write_text
from latentsep.report import read_claims

COMMON_PARAMETERS = ("PROFILE", "DATA_DIR", "CACHE_DIR", "RESULTS_DIR")
STAGED = "chapters"  # the staged book pages: chapters/<slug>.html, chapters/status.html
ERROR_MARKERS = ("Traceback (most recent call last)", "output error", "output stderr")


class ChapterFailed(RuntimeError):
    """A chapter raised, or left an error or warning in its outputs."""


@dataclass(frozen=True)
class Project:
    """Paths of a book checkout."""

    root: Path

    @classmethod
    def find(cls, start: Path | None = None) -> Project:
        """The nearest folder at or above ``start`` (default: cwd) that holds ``_toc.yml``."""
        here = (start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / "_toc.yml").is_file() and (folder / "book").is_dir():
                return cls(folder)
        raise FileNotFoundError(
            f"no book checkout (a folder with _toc.yml and book/) at or above {here}; "
            "run from the repository root or pass --root."
        )

    @property
    def chapters(self) -> list[Path]:
        """Chapter sources in reading order (``book/NN_*.py``)."""
        return sorted(self.root.glob("book/[0-9][0-9]_*.py"))

    def profile_file(self, profile: str) -> Path:
        return self.root / "params" / f"{profile}.yaml"

    def results_dir(self, profile: str) -> Path:
        return self.root / "results" / profile

    def notebooks_dir(self, profile: str) -> Path:
        return self.results_dir(profile) / "notebooks"


def load_profile(project: Project, profile: str) -> dict:
    """Read ``params/<profile>.yaml``: ``{"description": str, "chapters": {stem: {NAME: value}}}``."""
    path = project.profile_file(profile)
    if not path.is_file():
        known = sorted(p.stem for p in (project.root / "params").glob("*.yaml"))
        raise ValueError(f"unknown profile {profile!r}: no {path}; choose one of {known}.")
    content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    chapters = content.get("chapters") or {}
    stems = {p.stem for p in project.chapters}
    unknown = sorted(set(chapters) - stems)
    if unknown:
        raise ValueError(f"{path} names chapters that do not exist: {unknown}; chapters: {sorted(stems)}.")
    check_chapter_parameters(str(path.relative_to(project.root)), chapters, profile)
    second_lane = content.get("second_lane") or []
    strays = sorted(set(second_lane) - stems)
    if strays:
        raise ValueError(f"{path}: second_lane names chapters that do not exist: {strays}; "
                         f"chapters: {sorted(stems)}.")
    return {"description": content.get("description", ""), "chapters": chapters,
            "second_lane": list(second_lane)}


def profile_lanes(project: Project, profile: str) -> list[list[str]]:
    """The chapters in the profile's lanes, each in chapter order: its ``second_lane`` and the rest.

    A chapter that reads another's cache (06 reads 03's, 04's and 05's encoders) computes the
    same entries itself when the other lane has not written them yet: writes are atomic and
    deterministic, so lanes change the wall time, never the numbers.
    """
    second = set(load_profile(project, profile)["second_lane"])
    stems = [p.stem for p in project.chapters]
    return [lane for lane in ([s for s in stems if s not in second], [s for s in stems if s in second])
            if lane]


def chapter_parameters(project: Project, profile: str, stem: str) -> dict:
    """Everything injected into chapter ``stem``: the common paths plus its profile entries."""
    chapter = load_profile(project, profile)["chapters"].get(stem) or {}
    clash = sorted(set(chapter) & set(COMMON_PARAMETERS))
    if clash:
        raise ValueError(f"params/{profile}.yaml sets {clash} for {stem}; those are set by the runner.")
    common = {
        "PROFILE": profile,
        "DATA_DIR": os.environ.get("LATENTSEP_DATA_DIR", "data"),
        "CACHE_DIR": os.environ.get("LATENTSEP_CACHE_DIR", "cache"),
        "RESULTS_DIR": str(Path("results") / profile),
    }
    return {**common, **chapter}


def _hash_files(paths: list[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def library_hash(project: Project) -> str:
    """Hash of the library's source and shipped resources."""
    lib = project.root / "lib" / "latentsep"
    files = [p for p in lib.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return _hash_files(files, project.root)


def chapter_stamps(project: Project, profile: str) -> dict[str, str]:
    """Stamp of every chapter, chained so that a change upstream re-executes what follows."""
    lib = library_hash(project)
    manifest = project.root / os.environ.get("LATENTSEP_DATA_DIR", "data") / "manifest.json"
    data = hashlib.sha256(manifest.read_bytes()).hexdigest() if manifest.is_file() else "no-data"
    stamps: dict[str, str] = {}
    previous = ""
    for source in project.chapters:
        params = chapter_parameters(project, profile, source.stem)
        payload = json.dumps(
            {
                "source": hashlib.sha256(source.read_bytes()).hexdigest(),
                "library": lib,
                "parameters": params,
                "data": data,
                # Dataset roots (LATENTSEP_MIMIC_CXR, ...) decide what a chapter runs on.
                "environment": {k: v for k, v in sorted(os.environ.items()) if k.startswith("LATENTSEP_")},
                "previous": previous,
            },
            sort_keys=True,
        )
        previous = stamps[source.stem] = hashlib.sha256(payload.encode()).hexdigest()
    return stamps


def notebook_problems(nb: dict) -> list[str]:
    """Error outputs and warnings left in an executed notebook, as readable lines."""
    problems = []
    for index, cell in enumerate(nb.get("cells", [])):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                problems.append(f"cell {index}: {output.get('ename')}: {output.get('evalue')}")
            elif output.get("output_type") == "stream" and output.get("name") == "stderr":
                text = "".join(output.get("text", ""))
                if "Warning" in text or "Traceback" in text:
                    first = next(line for line in text.splitlines() if line.strip())
                    problems.append(f"cell {index}: stderr: {first.strip()[:300]}")
    return problems


def execute(
    project: Project,
    profile: str,
    *,
    only: list[str] | None = None,
    force: bool = False,
    checked: bool = False,
) -> list[str]:
    """Execute stale chapters of ``profile``; return the stems that ran.

    ``checked``: the preflight and cost estimate already ran for these chapters (a lane of
    :func:`execute_in_lanes`).

    Raises
    ------
    ChapterFailed
        Naming the chapter and the cell, when a chapter raises or leaves an error or a warning.
    """
    import jupytext
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    stamps, out_dir = chapter_stamps(project, profile), project.notebooks_dir(profile)
    out_dir.mkdir(parents=True, exist_ok=True)
    selected = [p for p in project.chapters if not only or p.stem in only]
    stale = _stale(project, stamps, out_dir, only, force)
    if not checked:
        _before_heavy_work(project, profile, stale)
    ran = []
    for source in selected:
        stem = source.stem
        target = out_dir / f"{stem}.ipynb"
        if stem not in stale:
            print(f"[{profile}] {stem}: up to date", flush=True)
            continue
        print(f"[{profile}] {stem}: executing ...", flush=True)
        started = time.perf_counter()
        partial = out_dir / f".{stem}.partial.ipynb"
        failed = out_dir / f"{stem}.failed.ipynb"
        try:
            papermill.execute_notebook(
                jupytext.read(source),
                str(partial),
                parameters=chapter_parameters(project, profile, stem),
                kernel_name="python3",
                cwd=str(project.root),
                progress_bar=False,
            )
        except PapermillExecutionError as err:
            os.replace(partial, failed)
            raise ChapterFailed(
                f"chapter {stem} failed in cell {err.exec_count or err.cell_index}: "
                f"{err.ename}: {err.evalue}\n(executed notebook with the traceback: {failed})"
            ) from None
        problems = notebook_problems(nbformat.read(partial, as_version=4))
        if problems:
            os.replace(partial, failed)
            raise ChapterFailed(
                f"chapter {stem} left errors or warnings in its outputs:\n  "
                + "\n  ".join(problems)
                + f"\n(executed notebook: {failed})"
            )
        os.replace(partial, target)
        failed.unlink(missing_ok=True)
        atomic_write_text(out_dir / f"{stem}.stamp", stamps[stem] + "\n")
        elapsed = time.perf_counter() - started
        _record_timing(project.results_dir(profile), stem, elapsed)
        print(f"[{profile}] {stem}: done in {elapsed:.0f} s", flush=True)
        ran.append(stem)
    return ran


#: The environment of a process that shares the cores with others: one BLAS / OpenMP thread, so
#: that two processes on two cores never wait on each other's descheduled threads.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def execute_lanes(root: Path, profile: str, lanes: list[list[str]], rest: list[str] = ()) -> int:
    """:func:`execute` of each lane of chapter stems in its own process, the lanes side by side.

    Each lane runs single-threaded (:data:`ONE_THREAD`; chapters pin torch to one thread anyway),
    so one lane per core keeps both cores of a 2-core machine busy. Lanes share ``cache/``
    (atomic, deterministic writes) and ``timings.json`` (locked). ``rest`` is passed on to
    ``bookrun execute`` (``--force``). Returns the worst exit status.
    """
    runs = [subprocess.Popen([sys.executable, "-m", "latentsep.booktools.bookrun", "execute",
                              "--profile", profile, "--root", str(root), "--only", *lane, *rest],
                             env={**os.environ, **ONE_THREAD})
            for lane in lanes if lane]
    return max(run.wait() for run in runs)


def execute_in_lanes(project: Project, profile: str, *, force: bool = False) -> int:
    """Every stale chapter of ``profile``, in its lanes (:func:`profile_lanes`) side by side when
    two cores are free and both lanes have work, else one after another. The preflight checks all
    of them first, so a missing dataset stops the run with one message. Returns the worst exit
    status."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    stale = _stale(project, chapter_stamps(project, profile), project.notebooks_dir(profile), None,
                   force)
    lanes = [[s for s in lane if s in stale] for lane in profile_lanes(project, profile)]
    if sum(map(bool, lanes)) < 2 or (cores or 1) < 2:
        execute(project, profile, force=force)
        return 0
    _before_heavy_work(project, profile, stale)
    return execute_lanes(project.root, profile, lanes, ["--checked", *(["--force"] if force else [])])


def _stale(project: Project, stamps: dict[str, str], out_dir: Path, only: list[str] | None,
           force: bool) -> list[str]:
    """The stems among ``only`` (default: all) whose executed notebook in ``out_dir`` is missing
    or older than its stamp."""
    stems = [p.stem for p in project.chapters]
    missing = sorted(set(only or []) - set(stems))
    if missing:
        raise ValueError(f"unknown chapter(s) {missing}; chapters: {stems}.")
    return [s for s in stems if (not only or s in only)
            and (force or not _is_current(out_dir, s, stamps))]


def _is_current(out_dir: Path, stem: str, stamps: dict[str, str]) -> bool:
    stamp_file = out_dir / f"{stem}.stamp"
    return ((out_dir / f"{stem}.ipynb").is_file() and stamp_file.is_file()
            and stamp_file.read_text().strip() == stamps[stem])


def _before_heavy_work(project: Project, profile: str, stems: list[str]) -> None:
    """Preflight and cost estimate of the chapters about to run (``PreflightFailed`` is a
    ``ValueError``)."""
    from latentsep.booktools.cost import report_before_run
    from latentsep.booktools.preflight import preflight

    chapters = load_profile(project, profile)["chapters"]
    selected, rows = {s: chapters.get(s) or {} for s in stems}, {}
    data_dir = project.root / os.environ.get("LATENTSEP_DATA_DIR", "data")
    for notice in preflight(selected, rows=rows, data_dir=data_dir):
        print(f"[{profile}] preflight: {notice}", flush=True)
    if stems:
        reference = (load_profile(project, "rehearsal")["chapters"]
                     if project.profile_file("rehearsal").is_file() else None)
        print(report_before_run(project.root / "results", profile, selected, rows, reference),
              flush=True)


def _record_timing(results_dir: Path, stem: str, seconds: float) -> None:
    path = results_dir / "timings.json"
    # `make rehearse` runs two lanes of chapters at once: read-modify-write under a lock.
    with open(results_dir / ".timings.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        timings = json.loads(path.read_text()) if path.is_file() else {}
        timings[stem] = round(seconds, 1)
        atomic_write_text(path, json.dumps(timings, indent=2, sort_keys=True))


def write_vega_bundle(project: Project) -> Path:
    """Write vega, vega-lite and vega-embed as one local script, exposed as ``window.latentsepVega``.

    Wrapping the bundle keeps its top-level names out of the page's global scope, where they would
    clash with Sphinx's own scripts.
    """
    import vl_convert as vlc

    target = project.root / "_static" / "vega-bundle.js"
    version = f"{vlc.get_vega_version()}-{vlc.get_vega_embed_version()}"
    marker = f"/* latentsep vega bundle {version} */"
    if target.is_file() and target.read_text(encoding="utf-8").startswith(marker):
        return target
    snippet = "window.latentsepVega = {vegaEmbed: vegaEmbed, vega: vega, vegaLite: vegaLite};"
    bundle = vlc.javascript_bundle(snippet)
    atomic_write_text(target, f"{marker}\n(function(){{\n{bundle}\n}})();\n")
    return target


def stage(project: Project, profile: str) -> None:
    """Fill ``chapters/`` with the profile's notebooks, made readable (see :mod:`latentsep.booktools.pages`),
    and the status page, and write the landing page ``index.md`` from ``book/index.md``."""
    staged = project.root / STAGED
    if staged.exists():
        shutil.rmtree(staged)
    staged.mkdir()
    notebooks = project.notebooks_dir(profile)
    absent = [p.stem for p in project.chapters if not (notebooks / f"{p.stem}.ipynb").is_file()]
    if absent:
        raise ChapterFailed(
            f"no executed notebook for {absent} in profile {profile!r}; "
            f"run `make execute PROFILE={profile}` first."
        )
    results = project.results_dir(profile)
    claims = read_claims(results)
    manifest = pages.read_json(project.root / os.environ.get("LATENTSEP_DATA_DIR", "data") / "manifest.json")
    timings = pages.read_json(results / "timings.json")
    commit = pages.git_commit(project.root)
    titles, anchors = {}, {}
    for source in project.chapters:
        nb = json.loads((notebooks / f"{source.stem}.ipynb").read_text(encoding="utf-8"))
        titles[source.stem] = pages.chapter_title(nb, source.stem)
        data = pages.data_sources(manifest, source.read_text(encoding="utf-8"))
        when = pages.execution_date(nb)
        provenance = pages.Provenance(profile, data, commit, when, timings.get(source.stem))
        slug = pages.chapter_slug(source.stem)
        nb = pages.readable_notebook(nb, claims[claims["chapter"] == source.stem], slug, provenance)
        anchors |= {claim: f"{slug}.html{href}" for claim, href
                    in nb["metadata"].pop("latentsep_claim_anchors").items()}
        (staged / f"{slug}.ipynb").write_text(json.dumps(nb, indent=1), encoding="utf-8")
    header = overview_pages.status_header(profile, manifest, timings)
    status = overview_pages.status_page(claims, titles, header, anchors)
    (staged / "status.md").write_text(status, encoding="utf-8")
    template = (project.root / "book" / "index.md").read_text(encoding="utf-8")
    landing = overview_pages.landing_page(template, claims, titles)
    (project.root / "index.md").write_text(landing, encoding="utf-8")


def build(project: Project, profile: str, out: Path | None = None) -> Path:
    """Stage, render with ``jupyter-book build -W`` and return the HTML folder."""
    stage(project, profile)
    write_vega_bundle(project)
    out = (out or project.root).resolve()
    cmd = [
        str(Path(sys.executable).with_name("jupyter-book")), "build", str(project.root),
        "-W", "-n", "--keep-going", "--path-output", str(out),
    ]
    config = yaml.safe_load((project.root / "_config.yml").read_text(encoding="utf-8"))
    sources = pages.edit_sources(project.chapters, project.root)
    if (buttons := pages.with_repository(config, os.environ.get(pages.REPOSITORY_ENV), sources)) is not None:
        effective = out / "_build" / "_config.repository.yml"
        effective.parent.mkdir(parents=True, exist_ok=True)
        effective.write_text(yaml.safe_dump(buttons, sort_keys=False), encoding="utf-8")
        cmd += ["--config", str(effective)]
    completed = subprocess.run(cmd, cwd=project.root, text=True, capture_output=True)
    print(completed.stdout[-4000:])
    if completed.returncode != 0:
        raise ChapterFailed(
            "jupyter-book build failed (strict mode: every warning is an error):\n"
            + completed.stderr[-6000:]
        )
    html = out / "_build" / "html"
    problems = html_problems(html)
    if problems:
        raise ChapterFailed("error output in the built book:\n  " + "\n  ".join(problems))
    return html


def html_problems(html_dir: Path) -> list[str]:
    """Pages of the built book that show a traceback or an error/stderr output block."""
    problems = []
    for page in sorted(html_dir.rglob("*.html")):
        text = page.read_text(encoding="utf-8", errors="replace")
        for marker in ERROR_MARKERS:
            if marker in text:
                problems.append(f"{page.relative_to(html_dir)}: contains {marker!r}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m latentsep.booktools.bookrun",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["execute", "build", "stamps"])
    parser.add_argument("--profile", default=os.environ.get("PROFILE", "quick"))
    parser.add_argument("--root", type=Path, default=None)
    parser.add_argument("--only", nargs="*", help="chapter stems to execute (default: all)")
    parser.add_argument("--force", action="store_true", help="re-execute even if up to date")
    parser.add_argument("--serial", action="store_true",
                        help="one chapter at a time (default: the profile's two lanes side by side)")
    parser.add_argument("--checked", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help="build output folder (default: root)")
    args = parser.parse_args(argv)
    project = Project.find(args.root)
    try:
        if args.command == "execute" and not (args.only or args.serial):
            return execute_in_lanes(project, args.profile, force=args.force)
        if args.command == "execute":
            execute(project, args.profile, only=args.only, force=args.force, checked=args.checked)
        elif args.command == "build":
            html = build(project, args.profile, args.out)
            print(f"book built: {html / 'index.html'}")
        else:
            print(json.dumps(chapter_stamps(project, args.profile), indent=2))
    except (ChapterFailed, ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
