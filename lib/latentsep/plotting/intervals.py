"""Values with their uncertainty: bands, error bars and intervals against a reference.

Every builder takes a tidy table (one row per point, its interval in two columns) and returns an
altair chart; none computes a statistic.
"""


from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd


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
