"""One quantity against another, with intervals: scatter plots, curves and heat maps."""


from __future__ import annotations

import altair as alt
import pandas as pd


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
