"""Renderers of an :class:`~latentsep.advisor.AdviceReport`: JSON, plain text, charts and HTML,
and the chart of the calibration the advice reads its sensitivities off (chapter 07 shows it).

The HTML report is written for a decision-maker: the recommendations in words first (one line per
attribute: the action and why), then the charts, then the full table and the calibration folded.
It is one standalone file that works offline (charts are inline SVG; no script, no CDN).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import altair as alt
import numpy as np
import pandas as pd

from latentsep.advisor import ACTIONS, RULES
from latentsep.calibration import Calibration, calibration_groups
from latentsep.formatting import interval, interval_column

if TYPE_CHECKING:
    from latentsep.advisor import AdviceReport

ACTION_COLOURS = {"collect": "#cf222e", "balance": "#bc4c00", "verify": "#9a6700",
                  "no action": "#1a7f37"}
STYLE = (
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.45}"
    "ul.advice{list-style:none;padding-left:0}ul.advice li{margin:.4em 0}"
    ".action{display:inline-block;min-width:6.5em;text-align:center;color:#fff;border-radius:.8em;"
    "font-size:.85em;font-weight:600;padding:0 .5em;margin-right:.4em}"
    ".why{color:#57606a}.chart svg{max-width:100%;height:auto}"
    ".table{overflow-x:auto}table{border-collapse:collapse;font-size:85%}"
    "td,th{padding:2px 6px;border-bottom:1px solid #ddd;text-align:right}"
    "pre{background:#f6f6f6;padding:1em;white-space:pre-wrap;overflow-wrap:anywhere}"
    "summary{cursor:pointer;font-weight:600}"
)


def report_dict(report: AdviceReport) -> dict[str, Any]:
    """JSON-ready content (NaN → null)."""
    return _json_safe({
        "inputs": report.inputs,
        "settings": report.settings,
        "rules": list(RULES),
        "calibration": report.calibration.summary(),
        "seconds": report.seconds,
        "attributes": report.table.to_dict(orient="records"),
    })


def report_json(report: AdviceReport) -> str:
    """The report as JSON (NaN → null)."""
    return json.dumps(report_dict(report), indent=1, allow_nan=False) + "\n"


def report_text(report: AdviceReport) -> str:
    """The report as a plain-text table with a header and the rules."""
    s, i, c = report.settings, report.inputs, report.calibration
    head = [
        f"latentsep advise: {i['n']:,} samples × {i['dim']:,} dims, label {i['label']!r} "
        f"(class {i['label_values'][1]!r} = {i['label_share']:.1%}), "
        f"{len(report.table)} comparisons from {len(i['attributes'])} attributes",
        f"separation: {s['method']} TV on {_components(report.table)} PCA components "
        f"({s['pca_variance']:.0%} variance), {s['n_permutations']} permutations, "
        f"{s['n_bootstrap']} bootstrap resamples, seed {s['seed']}",
        f"transfer gap: logistic heads on {s['transfer']['n_components']} PCA components, "
        f"{s['transfer']['n_repeats']} repeated 2-fold cross-fits",
        f"calibration: {c.n_points} points, {c.n_datasets} datasets from "
        f"{', '.join(c.provenance.get('chapters', [])) or '?'} (profile "
        f"{c.provenance.get('profile', '?')}): slope {c.slope:.3f} per unit transfer gap, "
        f"within-dataset R² {c.r2:.2f}, residual SD {c.residual_sd:.3f}, between-dataset SD "
        f"{c.between_sd:.3f}",
        "sensitivity = change of a group's balanced accuracy per unit of its own share of the "
        "fine-tuning set",
        "",
    ]
    t = report.table
    pct = f"{s['confidence']:.0%}"
    shown = pd.DataFrame({
        "rank": t["rank"],
        "attribute": t["attribute"],
        "groups (1 vs 0)": t["group_1"] + " vs " + t["group_0"],
        "share 1": t["share_1"].map("{:.1%}".format),
        f"excess [{pct} CI]": interval_column(t, ["excess", "excess_ci_low", "excess_ci_high"], 4,
                                              missing="n/a"),
        "p": t["p_value"].map("{:.3f}".format),
        f"transfer gap [{pct} CI]": interval_column(
            t, ["transfer_gap", "transfer_ci_low", "transfer_ci_high"], missing="n/a"),
        f"sensitivity [{pct} PI]": interval_column(t, ["predicted", "pi_low", "pi_high"],
                                                   missing="n/a"),
    })
    if "measured" in t.columns:
        shown["measured [CI]"] = interval_column(
            t, ["measured", "measured_ci_low", "measured_ci_high"], missing="n/a")
        shown["verdict"] = t["verdict"]
    shown["recommendation"] = t["recommendation"]
    rules = [f"  {k + 1}. {r}" for k, r in enumerate(RULES)]
    tail = ["", f"rules (min_effect {s['min_effect']}, minority_share {s['minority_share']}):",
            *rules]
    return "\n".join([*head, shown.to_string(index=False), *tail]) + "\n"


def report_charts(report: AdviceReport) -> dict[str, alt.Chart]:
    """Altair charts: ``separation`` (excess with CI), ``sensitivity`` (prediction with PI,
    measured values when verified) and ``calibration`` (the calibration line and points)."""
    t = report.table.assign(comparison=report.table["attribute"])
    order = list(t["comparison"])
    colour = alt.Color("action:N", title="action", scale=alt.Scale(
        domain=list(ACTIONS), range=[ACTION_COLOURS[a] for a in ACTIONS]))
    base = alt.Chart(t).encode(y=alt.Y("comparison:N", sort=order, title=None), color=colour)
    sep = (base.mark_rule().encode(x=alt.X("excess_ci_low:Q", title="separation excess over "
                                           "the permutation null (95 % CI)"),
                                   x2="excess_ci_high")
           + base.mark_point(filled=True, size=60).encode(
               x="excess:Q", tooltip=["comparison", "excess", "excess_ci_low", "excess_ci_high",
                                      "p_value"])
           + alt.Chart(pd.DataFrame({"x": [0.0]})).mark_rule(strokeDash=[4, 4]).encode(x="x:Q"))
    layers = [
        base.mark_rule().encode(x=alt.X("pi_low:Q", title="allocation sensitivity (balanced "
                                        "accuracy per unit own share)"), x2="pi_high"),
        base.mark_point(filled=True, size=60).encode(
            x="predicted:Q", tooltip=["comparison", "predicted", "pi_low", "pi_high",
                                      "recommendation"]),
        alt.Chart(pd.DataFrame({"x": [report.settings["min_effect"]]}))
        .mark_rule(strokeDash=[4, 4]).encode(x="x:Q"),
    ]
    if "measured" in t.columns:
        measured = alt.Chart(t).encode(y=alt.Y("comparison:N", sort=order))
        layers += [
            measured.mark_rule(color="black", yOffset=6).encode(x="measured_ci_low:Q",
                                                                x2="measured_ci_high"),
            measured.mark_point(shape="diamond", color="black", yOffset=6).encode(
                x="measured:Q", tooltip=["comparison", "measured", "measured_ci_low",
                                         "measured_ci_high"]),
        ]
    sens = alt.layer(*layers)
    return {
        "separation": sep.properties(title="Latent separation beyond chance", width=420),
        "sensitivity": sens.properties(
            title="Predicted sensitivity with prediction interval"
            + (" (black: measured by --verify)" if "measured" in t.columns else ""),
            width=420),
        "calibration": calibration_chart(report.calibration, t),
    }


def recommendation_why(row: Any, min_effect: float) -> str:
    """Why the rules gave ``row`` its action, in words, with the numbers that decided it."""
    excess = interval(row.excess, row.excess_ci_low, row.excess_ci_high, 4, missing="n/a")
    sens = interval(row.predicted, row.pi_low, row.pi_high, missing="n/a")
    if row.action == "no action":
        if row.excess_ci_low <= 0:
            return f"not separated beyond chance in the frozen embedding (separation excess {excess})"
        return f"separated, but the predicted sensitivity {sens} stays below {min_effect}"
    if row.action == "verify":
        return f"separated (excess {excess}), but the predicted sensitivity {sens} straddles {min_effect}"
    return (f"separated (excess {excess}) and its accuracy moves with its share: predicted "
            f"sensitivity {sens}, above {min_effect}; smaller group's pilot share "
            f"{min(row.share_1, 1 - row.share_1):.0%}")


def report_html(report: AdviceReport) -> str:
    """A standalone offline HTML page: recommendations in words, charts, then the folded table."""
    import vl_convert as vlc

    s, t = report.settings, report.table
    items = []
    for row in t.itertuples(index=False):
        colour = ACTION_COLOURS.get(row.action, "#6e7781")
        measured = ""
        if "measured" in t.columns:
            value = interval(row.measured, row.measured_ci_low, row.measured_ci_high, missing="n/a")
            measured = f" Measured by --verify: {value} ({row.verdict})."
        items.append(
            f'<li><span class="action" style="background:{colour}">{html.escape(row.action)}</span>'
            f"<strong>{html.escape(str(row.attribute))}</strong> ({html.escape(str(row.group_1))} vs "
            f"{html.escape(str(row.group_0))}): {html.escape(row.recommendation)}. "
            f'<span class="why">Why: {html.escape(recommendation_why(row, s["min_effect"]))}.'
            f"{html.escape(measured)}</span></li>"
        )
    counts = t["action"].value_counts()
    tally = ", ".join(f"{counts[a]} {a}" for a in ACTIONS if a in counts)
    svgs = [vlc.vegalite_to_svg(chart.to_dict()) for chart in report_charts(report).values()]
    text_head = report_text(report).split("\n\n")[0]
    table = t.drop(columns=["column"]).to_html(
        index=False, float_format=lambda v: f"{v:.4g}", na_rep="", border=0)
    provenance = json.dumps(_json_safe(report.calibration.summary()), indent=1)
    rules = "".join(f"<li>{html.escape(r)}</li>" for r in RULES)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>latentsep advise</title><style>{STYLE}</style></head><body>"
        "<h1>Allocation advice</h1>"
        f"<p>{len(t)} comparisons: {html.escape(tally)}. One line per attribute: what to do and why "
        "(sensitivity = change of a group's balanced accuracy per unit of its own share of the "
        f"fine-tuning set; min_effect = {s['min_effect']}, minority_share = {s['minority_share']}).</p>"
        f'<ul class="advice">{"".join(items)}</ul>'
        f"<h2>Charts</h2>{''.join(f'<div class=chart>{svg}</div>' for svg in svgs)}"
        f"<h2>Rules</h2><ol>{rules}</ol>"
        "<h2>Details</h2>"
        f"<details><summary>Full table ({len(t.columns) - 1} columns)</summary>"
        f"<pre>{html.escape(text_head)}</pre><div class=table>{table}</div></details>"
        f"<details><summary>Calibration and its provenance</summary><pre>{html.escape(provenance)}</pre>"
        "</details></body></html>\n"
    )


# ---------------------------------------------------------------------- formatting helpers
def _components(table: pd.DataFrame) -> str:
    values = sorted(set(table["n_components"].astype(int)))
    return str(values[0]) if len(values) == 1 else f"{values[0]}–{values[-1]}"


def _json_safe(obj: Any) -> Any:
    """Recursively replace NaN/inf by None and numpy scalars by Python ones."""
    if isinstance(obj, Mapping):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def calibration_chart(calibration: Calibration, table: pd.DataFrame | None = None) -> alt.Chart:
    """The calibration points, its lines with the prediction band, and (optionally) new attributes
    (chapter 07 and every report's calibration chart).

    Parameters
    ----------
    calibration : Calibration
    table : DataFrame, optional
        An advice table (``attribute, transfer_gap, predicted``) drawn as crosses on the line.
    """
    pts = calibration.points.assign(group=calibration_groups(calibration.points))
    span = [x for x in (pts["x"].min(), pts["x"].max()) if math.isfinite(x)]
    if table is not None and len(table):
        span += [table["transfer_gap"].min(), table["transfer_gap"].max()]
    grid = np.linspace(min(span), max(span), 50)
    band = calibration.predict(grid).assign(x=grid)
    x_title = "transfer gap (own-group minus other-group head, balanced accuracy)"
    # each dataset's own least-squares line over its range: how far the shared slope is from each
    own = pd.DataFrame([
        {"group": name, "x": x, "y": np.polyval(np.polyfit(part["x"], part["y"], 1), x)}
        for name, part in pts.groupby("group") if part["x"].nunique() > 1
        for x in (part["x"].min(), part["x"].max())], columns=["group", "x", "y"])
    colour = alt.Color("group:N", title="calibration chapter:dataset")
    layers = [
        alt.Chart(band).mark_area(opacity=0.15).encode(
            x=alt.X("x:Q", title=x_title), y=alt.Y("pi_low:Q", title="attribute sensitivity"),
            y2="pi_high"),
        alt.Chart(band).mark_line(color="black").encode(x="x:Q", y="prediction:Q"),
        alt.Chart(own).mark_line(strokeDash=[3, 3]).encode(x="x:Q", y="y:Q", color=colour,
                                                           detail="group:N"),
        alt.Chart(pts).mark_point(filled=True).encode(
            x="x:Q", y="y:Q", color=colour, tooltip=["source", "dataset", "attribute", "x", "y"]),
    ]
    if table is not None and len(table):
        layers.append(alt.Chart(table).mark_point(shape="cross", size=80, color="black").encode(
            x="transfer_gap:Q", y="predicted:Q",
            tooltip=["attribute", "transfer_gap", "predicted"]))
    return alt.layer(*layers).properties(
        title=[f"Calibration: {calibration.n_points} points from {calibration.n_datasets} datasets",
               "black: prediction for a new dataset with its 95 % band; dashed: each dataset's "
               "own least-squares line"],
        width=420)
