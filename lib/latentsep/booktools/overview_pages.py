"""The pages that look across chapters, generated from every chapter's claim files.

- :func:`status_page` renders every claim file into the reproduction-status page, grouped by
  chapter, verdict first, rule folded, filterable by verdict;
- :func:`landing_page` fills the landing page's template with a summary chart of all verdicts and
  the headline findings.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

import altair as alt
import pandas as pd

from latentsep.booktools.pages import (
    VERDICT_COLOURS,
    VERDICTS,
    chapter_slug,
    dataset_name,
    source_text,
    verdict_badge,
)
from latentsep.claim_changes import RULE_CHANGES
from latentsep.plotting import offline_chart_html

HEADLINE_CLAIMS = (
    "mnist.sensitivity.ordering",
    "mnist.tv.ordering.ours",
    "theory.sharp_bound.violations",
    "real.foundation.tv_ranks_sensitivity",
)
N_HEADLINES = 4
MARKER_FINDINGS = "<!-- latentsep:findings -->"


# ---------------------------------------------------------------------- status page
def status_page(claims: pd.DataFrame, titles: Mapping[str, str], header: str,
                anchors: Mapping[str, str] | None = None) -> str:
    """The reproduction-status page (MyST markdown holding HTML tables).

    It opens with the counts per verdict and protocol, lists every rule change with its reason
    (:data:`latentsep.claim_changes.RULE_CHANGES`), then every claim by chapter; a claim not
    reproduced or inconclusive links to the section of its chapter that explains it.

    Parameters
    ----------
    claims : DataFrame
        :func:`latentsep.report.read_claims` of the profile.
    titles : mapping
        ``chapter stem -> title`` in reading order; chapters without claims are listed as such.
    header : str
        Markdown paragraph(s) on profile, data and timing, placed under the introduction.
    anchors : mapping, optional
        ``claim id -> href`` (relative to the status page) of the section showing the claim, as
        :func:`latentsep.booktools.pages.claim_sections` labels it; default: the chapter page.
    """
    lines = [
        "# Reproduction status",
        "",
        "Every number below is written by a chapter when it executes; this page is generated from "
        "those files and never edited by hand. *Paper* is the value reported in arXiv 2512.09496 "
        "(values marked `~` were read off the authors' figures); *ours* is this book's recomputation "
        "with its 95 % confidence interval; the *rule* for \"reproduced\" (under each claim) was "
        "stated in the chapter before computing. A claim is *reproduced*, *not reproduced*, "
        "*inconclusive* (its interval cannot decide; a claim with an inconclusive part is "
        "inconclusive) or *not checked* (a number it needs is undefined). Claims checked under the "
        "authors' code's protocol rather than the paper's text are counted apart.",
        "",
        header,
        "",
    ]
    if claims.empty:
        return "\n".join([*lines, "No chapter has recorded a claim yet.", ""])
    tally = claims["status"].value_counts()
    buttons = "".join(
        f'<button type="button" data-filter="{v}">{html.escape(v)} ({tally.get(v, 0)})</button>'
        for v in VERDICTS
    )
    lines += [
        f'<div class="latentsep-filter">Show: <button type="button" data-filter="all" '
        f'class="active">all ({len(claims)})</button>{buttons}</div>',
        "",
        STATUS_FILTER_SCRIPT,
        "",
        verdict_counts_table(claims),
        "",
    ]
    for stem, title in titles.items():
        rows = claims[claims["chapter"] == stem]
        slug = chapter_slug(stem)
        lines += [f"(status-{slug})=", f"## {title}", ""]
        if rows.empty:
            lines += ["This chapter records no claim against the paper.", ""]
            continue
        lines += [
            f'<p><a href="{slug}.html">Read the chapter</a>.</p>',
            "",
            _status_table(rows, anchors or {}, slug),
            "",
        ]
    lines += ["(status-rule-changes)=", "## How the rules changed", "",
              "Each change to a rule, with its reason. Rules were changed for comparability, never "
              "to reach agreement; they were tightened as well as loosened "
              "(`latentsep.claim_changes.RULE_CHANGES`).", "",
              _rule_changes_table(), ""]
    return "\n".join(lines) + "\n"


PROTOCOL_NAMES = {"paper_text": "as the paper's text describes it",
                  "authors_code": "as the authors' code ran it"}


def verdict_counts_table(claims: pd.DataFrame) -> str:
    """Claims per protocol (rows) and verdict (columns), as an HTML table."""
    protocol = claims["protocol"] if "protocol" in claims else pd.Series("paper_text", claims.index)
    counts = pd.crosstab(protocol, claims["status"]).reindex(columns=list(VERDICTS), fill_value=0)
    head = "".join(f"<th>{verdict_badge(v)}</th>" for v in VERDICTS)
    body = "".join(
        f"<tr><td>{html.escape(PROTOCOL_NAMES.get(p, p), quote=False)}</td>"
        + "".join(f"<td>{counts.loc[p, v]}</td>" for v in VERDICTS)
        + f"<td>{counts.loc[p].sum()}</td></tr>"
        for p in [p for p in PROTOCOL_NAMES if p in counts.index]
        + [p for p in counts.index if p not in PROTOCOL_NAMES])
    return ('<table class="latentsep-counts"><thead><tr><th>Protocol</th>' + head
            + "<th>all</th></tr></thead><tbody>" + body + "</tbody></table>")


def _rule_changes_table() -> str:
    rows = "".join(
        f"<tr><td>{html.escape(c.claims)}</td><td>{html.escape(c.direction)}</td>"
        f"<td>{html.escape(c.before)}</td><td>{html.escape(c.after)}</td>"
        f"<td>{html.escape(c.reason)}</td></tr>" for c in RULE_CHANGES)
    return ('<table class="latentsep-rule-changes"><thead><tr><th>Claims</th><th>Change</th>'
            "<th>Before</th><th>After</th><th>Reason</th></tr></thead><tbody>" + rows
            + "</tbody></table>")


def _status_table(rows: pd.DataFrame, anchors: Mapping[str, str], slug: str) -> str:
    body = []
    for row in rows.itertuples(index=False):
        details = f"<strong>Rule:</strong> {html.escape(row.rule)}"
        why = ""
        if row.status in ("not reproduced", "inconclusive"):
            href = anchors.get(row.claim, f"{slug}.html")
            why = f' <a class="latentsep-why" href="{html.escape(href)}">Why: read the chapter</a>'
        if getattr(row, "protocol", "paper_text") != "paper_text":
            name = html.escape(PROTOCOL_NAMES[row.protocol], quote=False)
            details += f"<br><strong>Protocol:</strong> {name}"
        if row.note:
            details += f"<br><strong>Note:</strong> {html.escape(row.note)}"
        body.append(
            f'<tr data-verdict="{row.status}"><td class="latentsep-verdict">'
            f"{verdict_badge(row.status)}</td>"
            f"<td>{html.escape(row.description)}{why}<details><summary>rule and notes</summary>"
            f"{details}</details></td>"
            f"<td>{html.escape(str(row.paper))}</td><td>{html.escape(str(row.ours))}</td></tr>"
        )
    return (
        '<table class="latentsep-status"><colgroup><col class="c-verdict"><col class="c-claim">'
        '<col class="c-paper"><col class="c-ours"></colgroup><thead><tr><th>Verdict</th>'
        "<th>Claim</th><th>Paper</th><th>Ours (95 % CI)</th></tr></thead><tbody>"
        + "".join(body) + "</tbody></table>"
    )


# A few lines of inline JS (no network): a button shows only the rows of its verdict.
STATUS_FILTER_SCRIPT = (
    "<script>document.addEventListener('DOMContentLoaded',function(){"
    "var buttons=document.querySelectorAll('.latentsep-filter button');"
    "buttons.forEach(function(b){b.addEventListener('click',function(){"
    "var f=b.getAttribute('data-filter');buttons.forEach(function(o){o.classList.toggle('active',o===b);});"
    "document.querySelectorAll('table.latentsep-status tr[data-verdict]').forEach(function(r){"
    "r.style.display=(f==='all'||r.getAttribute('data-verdict')===f)?'':'none';});});});});"
    "</script>"
)


def status_header(profile: str, manifest: Mapping | None, timings: Mapping[str, float]) -> str:
    """Profile, data sources and summed execution time, for the top of the status page."""
    lines = [f"Profile: **{profile}**."]
    if manifest:
        sources = ", ".join(f"{dataset_name(name)}: {source_text(name, entry)}"
                            for name, entry in sorted(manifest.items()) if isinstance(entry, dict))
        lines.append(f"Data sources: {sources}.")
    if timings:
        lines.append(
            f"Execution time, each chapter's latest execution summed: "
            f"{sum(timings.values()) / 60:.1f} min (a chapter found up to date is not re-executed)."
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------- landing page
def summary_chart(claims: pd.DataFrame, titles: Mapping[str, str]) -> alt.Chart:
    """Claims per chapter, stacked by verdict (one bar per chapter that records claims)."""
    counts = (claims.groupby(["chapter", "status"]).size().rename("claims").reset_index()
              .assign(title=lambda d: d["chapter"].map(titles).fillna(d["chapter"])))
    order = [titles[s] for s in titles if s in set(counts["chapter"])]
    return (
        alt.Chart(counts)
        .mark_bar()
        .encode(
            y=alt.Y("title:N", sort=order, title=None, axis=alt.Axis(labelLimit=300)),
            x=alt.X("claims:Q", title="claims checked against the paper"),
            color=alt.Color("status:N", title="verdict",
                            scale=alt.Scale(domain=list(VERDICTS),
                                            range=[VERDICT_COLOURS[v] for v in VERDICTS]),
                            legend=alt.Legend(orient="bottom")),
            order=alt.Order("status:N"),
            tooltip=["title", "status", "claims"],
        )
        .properties(width=340, height=alt.Step(24), title="Every claim of the paper this book checks")
    )


def headline_claims(claims: pd.DataFrame, n: int = N_HEADLINES) -> pd.DataFrame:
    """The findings the landing page leads with: :data:`HEADLINE_CLAIMS` where recorded, then each
    chapter's first checked claim, at most ``n``."""
    by_id = claims.set_index("claim", drop=False)
    picked = [cid for cid in HEADLINE_CLAIMS if cid in by_id.index]
    checked = claims[claims["status"] != "not checked"]
    for _, first in checked.groupby("chapter", sort=True).head(1).iterrows():
        if first["claim"] not in picked and first["chapter"] not in set(by_id.loc[picked, "chapter"]):
            picked.append(first["claim"])
    return by_id.loc[picked[:n]].reset_index(drop=True)


def landing_findings(claims: pd.DataFrame, titles: Mapping[str, str]) -> str:
    """The landing page's generated section: summary chart and headline findings (markdown)."""
    if claims.empty:
        return "No chapter has recorded a claim yet: execute the chapters (`make execute`)."
    tally = claims["status"].value_counts()
    items = []
    for row in headline_claims(claims).itertuples(index=False):
        slug = chapter_slug(row.chapter)
        items.append(
            f"<li>{verdict_badge(row.status)} {html.escape(row.description)}: ours "
            f"{html.escape(str(row.ours))}, paper {html.escape(str(row.paper))} "
            f'(<a href="chapters/{slug}.html">{html.escape(titles.get(row.chapter, slug))}</a>)</li>'
        )
    chart = offline_chart_html(summary_chart(claims, titles).to_dict())
    summary = ", ".join(f"{tally[v]} {v}" for v in VERDICTS if v in tally)
    return "\n".join([
        f"Of the {len(claims)} claims of the paper that the chapters check: {summary} "
        '(<a href="chapters/status.html">every claim, with its rule</a>).',
        "",
        f'<div class="latentsep-summary">{chart}</div>',
        "",
        '<ul class="latentsep-headlines">' + "".join(items) + "</ul>",
    ])


def landing_page(template: str, claims: pd.DataFrame, titles: Mapping[str, str]) -> str:
    """Fill ``template`` (``book/index.md``) at its :data:`MARKER_FINDINGS` line."""
    if MARKER_FINDINGS not in template:
        raise ValueError(f"the landing page template has no {MARKER_FINDINGS!r} line to fill.")
    return template.replace(MARKER_FINDINGS, landing_findings(claims, titles))
