"""Altair charts for the book, built from tidy tables, always showing uncertainty.

``enable_offline_renderer`` registers a renderer that emits a ``<div>`` and a ``vegaEmbed`` call
against the vega bundle shipped in the book's ``_static/`` folder (no CDN), with a static SVG
fallback inside ``<noscript>``.
"""

from __future__ import annotations

import json
import uuid

import altair as alt
import pandas as pd

_RENDERER = "latentsep_offline"


def offline_chart_html(spec: dict) -> str:
    """A chart as HTML: a ``<div>`` drawn by ``vegaEmbed`` from the book's local vega bundle, with
    a static SVG inside ``<noscript>``."""
    div_id = f"vega-{uuid.uuid4().hex[:12]}"
    try:
        import vl_convert as vlc

        svg = vlc.vegalite_to_svg(spec)
    except Exception:  # the SVG is only a no-JS fallback; the interactive chart still renders
        svg = ""
    return (
        f'<div id="{div_id}" class="latentsep-chart"></div>'
        f"<noscript>{svg}</noscript>"
        "<script type=\"text/javascript\">"
        f"(function(){{var spec={json.dumps(spec)};"
        "function draw(){if(window.latentsepVega){"
        f"window.latentsepVega.vegaEmbed('#{div_id}',spec,{{actions:false}});}}"
        "else{setTimeout(draw,50);}}draw();})();</script>"
    )


def _offline_renderer(spec: dict, **_: object) -> dict:
    return {"text/html": offline_chart_html(spec), "text/plain": "<altair chart>"}


def enable_offline_renderer() -> None:
    """Render charts against the local vega bundle (see ``latentsep.bookrun.write_vega_bundle``)."""
    if _RENDERER not in alt.renderers.names():
        alt.renderers.register(_RENDERER, _offline_renderer)
    alt.renderers.enable(_RENDERER)
    alt.data_transformers.disable_max_rows()


def line_with_band(
    df: pd.DataFrame,
    *,
    x: str,
    y: str,
    lower: str,
    upper: str,
    color: str,
    column: str | None = None,
    title: str = "",
    x_title: str | None = None,
    y_title: str | None = None,
) -> alt.Chart:
    """Mean line with a shaded CI band per ``color`` level (optionally faceted by ``column``)."""
    base = alt.Chart(df).encode(
        x=alt.X(f"{x}:Q", title=x_title or x),
        color=alt.Color(f"{color}:N"),
    )
    band = base.mark_area(opacity=0.2).encode(y=alt.Y(f"{lower}:Q", title=y_title or y), y2=upper)
    line = base.mark_line(point=True).encode(
        y=f"{y}:Q", tooltip=[x, y, lower, upper, color]
    )
    chart = band + line
    if column:
        chart = chart.properties(width=170, height=160).facet(column=alt.Column(f"{column}:N"))
    return chart.properties(title=title)


def points_with_errorbars(
    df: pd.DataFrame,
    *,
    x: str,
    y: str,
    lower: str,
    upper: str,
    color: str | None = None,
    title: str = "",
    horizontal: bool = False,
) -> alt.Chart:
    """Point estimates with CI error bars; ``horizontal`` puts the category on the y axis."""
    cat, val = (y, x) if horizontal else (x, y)
    cat_enc = alt.Y(f"{cat}:N", sort="-x") if horizontal else alt.X(f"{cat}:N")
    val_axis = alt.X if horizontal else alt.Y
    val2 = "x2" if horizontal else "y2"
    enc = {("y" if horizontal else "x"): cat_enc}
    if color:
        enc["color"] = alt.Color(f"{color}:N")
    base = alt.Chart(df).encode(**enc)
    bars = base.mark_rule().encode(**{("x" if horizontal else "y"): val_axis(f"{lower}:Q",
                                     title=val), val2: upper})
    pts = base.mark_point(filled=True, size=60).encode(
        **{("x" if horizontal else "y"): f"{val}:Q"}, tooltip=[cat, val, lower, upper]
    )
    return (bars + pts).properties(title=title)


def xy_with_intervals(
    df: pd.DataFrame,
    *,
    x: tuple[str, str, str],
    y: tuple[str, str, str],
    color: str,
    shape: str | None = None,
    tooltip: list[str] | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    title: str = "",
) -> alt.Chart:
    """Points with an interval on both axes and the dashed line y = x (chapter 07: predicted vs
    measured sensitivity).

    Parameters
    ----------
    df : DataFrame
        One row per point.
    x, y : tuple of str
        ``(value, low, high)`` columns of each axis.
    color, shape : str
        Nominal columns for the points' colour and (optionally) shape.
    """
    (xv, xl, xh), (yv, yl, yh) = x, y
    lo = min(df[xl].min(), df[yl].min())
    hi = max(df[xh].max(), df[yh].max())
    base = alt.Chart(df).encode(color=alt.Color(f"{color}:N"))
    points = base.mark_point(filled=True, size=70).encode(
        x=f"{xv}:Q", y=f"{yv}:Q", tooltip=tooltip or [xv, yv])
    if shape:
        points = points.encode(shape=alt.Shape(f"{shape}:N"))
    return (
        base.mark_rule(opacity=0.5).encode(x=alt.X(f"{xv}:Q", title=x_title or xv),
                                           y=alt.Y(f"{yl}:Q", title=y_title or yv), y2=yh)
        + base.mark_rule(opacity=0.5).encode(x=f"{xl}:Q", x2=xh, y=f"{yv}:Q")
        + points
        + alt.Chart(pd.DataFrame({"x": [lo, hi]})).mark_line(strokeDash=[4, 4], color="grey")
        .encode(x="x:Q", y="x:Q")
    ).properties(title=title, width=480, height=360)


def dodged_intervals(
    df: pd.DataFrame,
    *,
    category: str,
    value: str,
    lower: str,
    upper: str,
    group: str,
    value_title: str | None = None,
    title: str = "",
) -> alt.Chart:
    """Horizontal point estimates with CIs, one row per ``category``, its ``group`` levels side by
    side within the row and coloured (chapter 07: ranking agreement per dataset and predictor)."""
    base = alt.Chart(df).encode(y=alt.Y(f"{category}:N", title=None), color=alt.Color(f"{group}:N"),
                                yOffset=f"{group}:N")
    return (
        base.mark_rule().encode(x=alt.X(f"{lower}:Q", title=value_title or value), x2=upper)
        + base.mark_point(filled=True, size=60).encode(
            x=f"{value}:Q", tooltip=[group, category, value, lower, upper])
    ).properties(title=title, width=420)
