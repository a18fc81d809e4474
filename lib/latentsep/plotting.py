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


def _offline_renderer(spec: dict, **_: object) -> dict:
    div_id = f"vega-{uuid.uuid4().hex[:12]}"
    try:
        import vl_convert as vlc

        svg = vlc.vegalite_to_svg(spec)
    except Exception:  # the SVG is only a no-JS fallback; the interactive chart still renders
        svg = ""
    html = (
        f'<div id="{div_id}" class="latentsep-chart"></div>'
        f"<noscript>{svg}</noscript>"
        "<script type=\"text/javascript\">"
        f"(function(){{var spec={json.dumps(spec)};"
        "function draw(){if(window.latentsepVega){"
        f"window.latentsepVega.vegaEmbed('#{div_id}',spec,{{actions:false}});}}"
        "else{setTimeout(draw,50);}}draw();})();</script>"
    )
    return {"text/html": html, "text/plain": "<altair chart>"}


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
