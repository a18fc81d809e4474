"""Altair charts for the book, built from tidy tables, always showing uncertainty.

``enable_offline_renderer`` registers a renderer that emits a ``<div>`` and a ``vegaEmbed`` call
against the vega bundle shipped in the book's ``_static/`` folder (no CDN), with a static SVG
fallback inside ``<noscript>``.
"""

from __future__ import annotations

import json
import uuid

import altair as alt
import numpy as np
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
    """Render charts against the local vega bundle (see ``latentsep.booktools.bookrun.write_vega_bundle``)."""
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


def scatter_with_diagonal(
    df: pd.DataFrame,
    *,
    x: str,
    y: str,
    color: str,
    tooltip: list[str] | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    title: str = "",
    diagonal: tuple[float, float] = (0.0, 1.0),
) -> alt.LayerChart:
    """One point per row, coloured by ``color``, over the line ``y = x`` on ``diagonal``.

    For "observed vs allowed" charts (chapter 01): points above the line break the allowance.
    """
    points = alt.Chart(df).mark_circle(size=14, opacity=0.5).encode(
        x=alt.X(f"{x}:Q", title=x_title or x),
        y=alt.Y(f"{y}:Q", title=y_title or y),
        color=alt.Color(f"{color}:N"),
        tooltip=tooltip or [x, y, color],
    )
    line = alt.Chart(pd.DataFrame({"x": list(diagonal)})).mark_line(color="black").encode(
        x="x:Q", y="x:Q"
    )
    return (points + line).properties(title=title)


def intervals_over_curve(
    df: pd.DataFrame,
    curve: pd.DataFrame,
    *,
    x: str,
    color: str,
    y: str = "value",
    lower: str = "ci_low",
    upper: str = "ci_high",
    curve_y: str = "truth",
    dodge: float = 0.06,
    x_title: str | None = None,
    y_title: str | None = None,
    title: str = "",
    width: int = 520,
    height: int = 300,
) -> alt.LayerChart:
    """Estimates with interval bars per ``color`` level over a dashed reference ``curve``.

    Levels are dodged horizontally by up to ``±dodge`` (x units) so their intervals stay apart;
    ``curve`` holds the columns ``x`` and ``curve_y`` (e.g. the true value, chapter 02).
    """
    levels = pd.unique(df[color])
    offsets = dict(zip(levels, np.linspace(-dodge, dodge, len(levels)), strict=True))
    shown = df.assign(**{f"{x}_dodged": df[x] + df[color].map(offsets)})
    reference = alt.Chart(curve).mark_line(color="black", strokeDash=[4, 3]).encode(
        x=f"{x}:Q", y=f"{curve_y}:Q")
    base = alt.Chart(shown).encode(
        x=alt.X(f"{x}_dodged:Q", title=x_title or x),
        color=alt.Color(f"{color}:N", title=None, legend=alt.Legend(orient="bottom", columns=2)),
    )
    bars = base.mark_rule().encode(y=alt.Y(f"{lower}:Q", title=y_title or y), y2=f"{upper}:Q")
    points = base.mark_point(filled=True).encode(y=f"{y}:Q", tooltip=[color, x, y, lower, upper])
    return (reference + bars + points).properties(width=width, height=height, title=title)


def log_x(values: pd.Series, title: str) -> alt.X:
    """Log-scaled x channel for the column ``values.name``, with a tick at each of its values."""
    ticks = sorted(values.unique().tolist())
    return alt.X(f"{values.name}:Q", title=title, axis=alt.Axis(values=ticks, format=",d"),
                 scale=alt.Scale(type="log", domain=[ticks[0] / 1.3, ticks[-1] * 1.3], nice=False))


def estimates_over_null_band(
    df: pd.DataFrame,
    *,
    x: str,
    facet: str,
    x_title: str,
    y_title: str,
    title: str = "",
    independent_y: bool = False,
    width: int = 170,
    height: int = 140,
    columns: int = 3,
) -> alt.FacetChart:
    """Separation estimates with interval bars over their permutation null, one panel per ``facet``.

    ``df`` holds rows of :func:`latentsep.estimator_studies.estimate_row` plus ``truth``; ``x`` is
    shown on a log scale. Grey band and dashed grey line: the null's central 95 % and mean;
    black line: the truth; blue: the estimate and its interval (chapter 02).
    """
    base = alt.Chart().encode(x=log_x(df[x], x_title))
    band = base.mark_area(opacity=0.25, color="grey").encode(
        y=alt.Y("null_low:Q", title=y_title), y2="null_high:Q")
    null_line = base.mark_line(color="grey", strokeDash=[4, 3]).encode(y="null_mean:Q")
    truth = base.mark_line(color="black").encode(y="truth:Q")
    bars = base.mark_rule(color="#1f77b4").encode(y="ci_low:Q", y2="ci_high:Q")
    points = base.mark_point(filled=True, color="#1f77b4").encode(
        y="value:Q", tooltip=[x, "value", "ci_low", "ci_high", "null_mean", "p_value"])
    chart = alt.layer(band, null_line, truth, bars, points, data=df).properties(
        width=width, height=height).facet(facet=alt.Facet(f"{facet}:N", title=None),
                                          columns=columns)
    if independent_y:
        chart = chart.resolve_scale(y="independent")
    return chart.properties(title=title)


def intervals_on_log_x(
    df: pd.DataFrame,
    *,
    x: str,
    y: str,
    lower: str,
    upper: str,
    reference: float = 0.0,
    x_title: str | None = None,
    y_title: str | None = None,
    tooltip: list[str] | None = None,
    title: str = "",
    width: int = 420,
    height: int = 200,
) -> alt.LayerChart:
    """A value with its interval at each ``x`` (log scale), over a dashed line at ``reference``."""
    base = alt.Chart(df).encode(x=log_x(df[x], x_title or x))
    bars = base.mark_rule().encode(y=alt.Y(f"{lower}:Q", title=y_title or y), y2=f"{upper}:Q")
    points = base.mark_point(filled=True).encode(y=f"{y}:Q", tooltip=tooltip or [x, y])
    line = alt.Chart(pd.DataFrame({"reference": [reference]})).mark_rule(
        strokeDash=[4, 3]).encode(y="reference:Q")
    return (bars + points + line).properties(width=width, height=height, title=title)


def intervals_with_ticks(
    df: pd.DataFrame,
    *,
    category: str,
    facet: str,
    value: str = "value",
    lower: str = "ci_low",
    upper: str = "ci_high",
    tick: str = "truth",
    facet_order: list[str] | None = None,
    x_title: str | None = None,
    title: str = "",
    columns: int = 2,
    width: int = 300,
    height: int = 95,
) -> alt.FacetChart:
    """One row per ``category`` with its value and interval and a black tick at ``tick``, faceted.

    Rows without an interval show the point only (chapter 02: TV-scale estimates vs the joint TV).
    """
    base = alt.Chart().encode(y=alt.Y(f"{category}:N", title=None))
    return alt.layer(
        base.mark_rule().encode(x=alt.X(f"{lower}:Q", title=x_title or value), x2=f"{upper}:Q"),
        base.mark_point(filled=True, size=60).encode(
            x=f"{value}:Q", color=alt.Color(f"{category}:N", legend=None),
            tooltip=[category, value, lower, upper]),
        base.mark_tick(color="black", thickness=2, size=18).encode(x=f"{tick}:Q"),
        data=df,
    ).properties(width=width, height=height).facet(
        facet=alt.Facet(f"{facet}:N", sort=facet_order, title=None), columns=columns).properties(
        title=title)


def p_value_heatmap(
    df: pd.DataFrame,
    *,
    x: str,
    y: str,
    p: str = "p_value",
    x_order: list[str] | None = None,
    y_order: list[str] | None = None,
    level: float = 0.05,
    title: str = "",
    width: int = 420,
    height: int = 220,
) -> alt.LayerChart:
    """A grid of p-values, darker where smaller (log colour scale), each cell labelled with its p.

    Labels turn white below ``level`` to stay legible on the dark cells.
    """
    base = alt.Chart(df).encode(x=alt.X(f"{x}:N", sort=x_order, title=None),
                                y=alt.Y(f"{y}:N", sort=y_order, title=None))
    cells = base.mark_rect().encode(color=alt.Color(
        f"{p}:Q", scale=alt.Scale(type="log", scheme="blues", reverse=True),
        title="permutation p"))
    labels = base.mark_text(fontSize=11).encode(
        text=alt.Text(f"{p}:Q", format=".3f"),
        color=alt.condition(f"datum.{p} < {level}", alt.value("white"), alt.value("black")))
    return (cells + labels).properties(width=width, height=height, title=title)


def errorbars_by_panel(
    df: pd.DataFrame,
    *,
    panel: str,
    x: str,
    y: str,
    lower: str,
    upper: str,
    color: str | None = None,
    horizontal: bool = True,
    width: int = 180,
) -> alt.HConcatChart:
    """:func:`points_with_errorbars` side by side, one panel titled by each level of ``panel``."""
    return alt.hconcat(*[
        points_with_errorbars(part, x=x, y=y, lower=lower, upper=upper, color=color,
                              horizontal=horizontal, title=str(level)).properties(width=width)
        for level, part in df.groupby(panel)
    ])


def allocation_curves_chart(
    curves: pd.DataFrame, *, metric: str = "balanced_accuracy", title: str = "",
    columns: int | None = None, width: int = 170, height: int = 120,
) -> alt.Chart:
    """Each group's metric against its own share, mean line and 95 % band, one panel per attribute.

    Used by chapter 04. ``curves`` is :func:`latentsep.experiments.protocol.allocation_curves`'
    table (``attribute, group, own_share, <metric>, ci_low, ci_high``); ``columns`` wraps the
    panels (default: one row), each with its own y scale when wrapped.
    """
    curves = curves.assign(group=curves["group"].map({0: "group 0", 1: "group 1"}))
    base = alt.Chart(curves).encode(x=alt.X("own_share:Q", title="own share of fine-tuning set"),
                                    color=alt.Color("group:N"))
    band = base.mark_area(opacity=0.2).encode(
        y=alt.Y("ci_low:Q", title=metric.replace("_", " "), scale=alt.Scale(zero=False)),
        y2="ci_high")
    line = base.mark_line(point=True).encode(
        y=f"{metric}:Q", tooltip=["attribute", "group", "own_share", metric, "ci_low", "ci_high"])
    layered = (band + line).properties(width=width, height=height)
    if columns is None:
        return layered.facet(column="attribute:N").properties(title=title)
    return layered.facet(facet=alt.Facet("attribute:N"), columns=columns).resolve_scale(
        y="independent").properties(title=title)


def separation_vs_sensitivity_chart(table: pd.DataFrame, *, x_title: str = "TV, paper-faithful",
                                    title: str = "Separation vs allocation sensitivity") -> alt.Chart:
    """One labelled point per attribute with both 95 % intervals as bars, faceted by ``dataset``
    (rows) and ``sensitivity measure`` (columns), independent scales.

    Used by chapter 04; ``table`` has ``TV, TV_low, TV_high, sensitivity, s_low, s_high,
    attribute`` (:func:`latentsep.experiments.real_datasets.scatter_table`).
    """
    base = alt.Chart(table).encode(x=alt.X("TV:Q", title=x_title, scale=alt.Scale(zero=False)))
    chart = (
        base.mark_rule(opacity=0.5).encode(y=alt.Y("s_low:Q", title="sensitivity"), y2="s_high")
        + base.mark_rule(opacity=0.5).encode(x="TV_low:Q", x2="TV_high:Q", y="sensitivity:Q")
        + base.mark_point(filled=True, size=50).encode(
            y="sensitivity:Q", tooltip=["attribute", "TV", "sensitivity", "s_low", "s_high"])
        + base.mark_text(dx=6, align="left", fontSize=9).encode(y="sensitivity:Q",
                                                                text="attribute:N")
    ).properties(width=230, height=200)
    return chart.facet(row=alt.Row("dataset:N"), column=alt.Column("sensitivity measure:N")
                       ).resolve_scale(x="independent", y="independent").properties(title=title)


def faceted_points_with_errorbars(
    df: pd.DataFrame,
    *,
    x: str,
    y: str,
    lower: str,
    upper: str,
    color: str,
    facet: str | None = None,
    columns: int = 3,
    row: str | None = None,
    column: str | None = None,
    x_sort: list | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    color_title: str | None = None,
    dodge: bool = False,
    independent: tuple[str, ...] = ("y",),
    width: int = 190,
    height: int = 150,
    title: str = "",
) -> alt.FacetChart:
    """Points with CI bars in small multiples: one panel per ``facet`` level (or ``row`` × ``column``).

    Parameters
    ----------
    df : pd.DataFrame
        Tidy: one row per point, with ``y`` and its interval ``lower`` .. ``upper``.
    x : str
        Altair shorthand with its type, e.g. ``"lam:O"`` or ``"x:Q"`` (a quantitative axis does
        not start at zero).
    color : str
        Nominal column that colours the points; ``dodge`` offsets its levels side by side.
    facet, columns : str, int
        Wrapped panels, ``columns`` per row; or ``row`` and ``column`` for a grid.
    x_sort : list, optional
        Order of a discrete ``x``.
    independent : tuple of str
        Channels whose scale each panel sets for itself.

    Used by chapters 05 (quantities against λ, matched costs) and 06 (slope against each
    explanation, the controlled experiment).
    """
    quantitative = x.endswith(":Q")
    x_enc = alt.X(x, title=x_title, sort=x_sort,
                  scale=alt.Scale(zero=False) if quantitative else alt.Undefined)
    enc = {"x": x_enc, "color": alt.Color(f"{color}:N", title=color_title or color)}
    if dodge:
        enc["xOffset"] = f"{color}:N"
    base = alt.Chart(df).encode(**enc)
    bars = base.mark_rule().encode(y=alt.Y(f"{lower}:Q", title=y_title), y2=upper)
    points = base.mark_point(filled=True).encode(
        y=f"{y}:Q", tooltip=[color, x.split(":")[0], y, lower, upper])
    layered = (bars + points).properties(width=width, height=height)
    if facet:
        chart = layered.facet(facet=alt.Facet(f"{facet}:N", title=None), columns=columns)
    else:
        chart = layered.facet(row=alt.Row(f"{row}:N", title=None),
                              column=alt.Column(f"{column}:N", title=None))
    return chart.resolve_scale(**{c: "independent" for c in independent}).properties(title=title)


def curves_with_error_crosses(
    long: pd.DataFrame,
    *,
    x: str,
    y: str,
    keys: list[str],
    color: str,
    order: str,
    column: str,
    x_title: str | None = None,
    y_title: str | None = None,
    width: int = 260,
    height: int = 200,
) -> alt.FacetChart:
    """One quantity against another, a point per ``keys`` level joined in ``order``, CI bars both ways.

    Parameters
    ----------
    long : pd.DataFrame
        Tidy summary: ``keys`` …, ``quantity``, ``mean``, ``ci_low``, ``ci_high``; the rows of
        quantities ``x`` and ``y`` are paired on ``keys``.
    x, y : str
        The two quantities plotted.
    keys : list of str
        Columns identifying a point (they include ``color``, ``order`` and ``column``).
    color, order, column : str
        Curve colour, the order in which a curve's points are joined, and the panel.

    Used by chapter 05 (accuracy against insensitivity, one point per λ).
    """
    part = long[long["quantity"].isin([x, y])]
    wide = part.pivot_table(index=keys, columns="quantity", values=["mean", "ci_low", "ci_high"])
    wide.columns = [f"{stat}_{quantity}" for stat, quantity in wide.columns]
    base = alt.Chart(wide.reset_index()).encode(color=alt.Color(f"{color}:N"))
    line = base.mark_line(point=True).encode(
        x=alt.X(f"mean_{x}:Q", title=x_title or x, scale=alt.Scale(zero=False)),
        y=alt.Y(f"mean_{y}:Q", title=y_title or y, scale=alt.Scale(zero=False)),
        order=f"{order}:Q", tooltip=[color, order, f"mean_{x}", f"mean_{y}"])
    ybars = base.mark_rule().encode(x=f"mean_{x}:Q", y=f"ci_low_{y}:Q", y2=f"ci_high_{y}")
    xbars = base.mark_rule().encode(y=f"mean_{y}:Q", x=f"ci_low_{x}:Q", x2=f"ci_high_{x}")
    return (line + ybars + xbars).properties(width=width, height=height).facet(
        column=alt.Column(f"{column}:N", title=None)).resolve_scale(x="independent",
                                                                     y="independent")


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
