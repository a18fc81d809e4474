"""Chapter 06's charts: its tables labelled for the reader, drawn by :mod:`latentsep.plotting`."""

from __future__ import annotations

import altair as alt
import pandas as pd

from latentsep.experiments.explanations.groups import EXPLANATION_LABELS
from latentsep.experiments.explanations.study import CONTROL_QUANTITIES, PREDICTORS
from latentsep.plotting import faceted_points_with_errorbars, points_with_errorbars
from latentsep.row_bootstrap import chart_bars


def explanations_chart(groups: pd.DataFrame, metric: str) -> alt.FacetChart:
    """Every group's slope (bars: the seeds' range) against each explanation, one panel each.

    Used by chapter 06.
    """
    long = groups.melt(id_vars=["dataset", "attribute", "group", "slope", "slope_seed_min",
                                "slope_seed_max"], value_vars=PREDICTORS, var_name="explanation",
                       value_name="x")
    long["explanation"] = long["explanation"].map(EXPLANATION_LABELS)
    return faceted_points_with_errorbars(
        long, x="x:Q", y="slope", lower="slope_seed_min", upper="slope_seed_max", color="dataset",
        facet="explanation", columns=3, y_title=f"slope of {metric} on own share",
        independent=("x",), width=190, height=160,
        title="Allocation slope against each explanation")


def correlations_chart(correlations: pd.DataFrame) -> alt.LayerChart:
    """Pearson r of each explanation with the loss slope, per scope (95 % CI). Used by chapter 06."""
    shown = correlations.dropna(subset=["pearson_r"])
    shown = shown[shown["outcome"] == "slope"].assign(
        explanation=lambda d: d["predictor"].map(EXPLANATION_LABELS))
    return points_with_errorbars(
        shown, x="pearson_r", y="explanation", lower="pearson_ci_low", upper="pearson_ci_high",
        color="scope", horizontal=True,
        title="Pearson r with the group's loss slope (95 % CI)").properties(width=420)


def controlled_chart(summary: pd.DataFrame, order: list[str]) -> alt.FacetChart:
    """Mean of each controlled quantity per level, coloured by arm; bars: the row-bootstrap 95 %
    interval, or the seeds' range for a quantity without draws. Used by chapter 06.

    ``summary`` is :func:`~latentsep.experiments.explanations.study.control_summary`'s table.
    """
    plotted = chart_bars(summary[summary["quantity"] != CONTROL_QUANTITIES["pretrain_prevalence"]])
    return faceted_points_with_errorbars(
        plotted, x="level:N", y="mean", lower="ci_low", upper="ci_high", color="arm",
        facet="quantity", columns=2, x_sort=order, width=230, height=150,
        title="Controlled experiment: mean; bars: row-bootstrap 95 % interval or seeds' range")
