"""Chapter 05's charts: its tables labelled for the reader, drawn by :mod:`latentsep.plotting`."""

from __future__ import annotations

import altair as alt
import pandas as pd

from latentsep.experiments.regularisation.penalties import PENALTY_LABELS
from latentsep.experiments.regularisation.study import SHOWN
from latentsep.plotting import curves_with_error_crosses, faceted_points_with_errorbars
from latentsep.row_bootstrap import chart_bars


def _labelled(summary: pd.DataFrame) -> pd.DataFrame:
    """The shown quantities of a :func:`summarise_tradeoff` table with λ as text and labels."""
    part = chart_bars(summary[summary["quantity"].isin(SHOWN)])
    return part.assign(λ=part["lam"].map(lambda v: f"{v:g}"),
                       quantity_label=part["quantity"].map(SHOWN),
                       penalty_label=part["penalty"].map(PENALTY_LABELS))


def lambda_chart(summary: pd.DataFrame, dataset: str) -> alt.FacetChart:
    """Mean of each shown quantity against λ for one dataset (λ = 0 included); bars: the
    row-bootstrap 95 % interval, or the seeds' range for a quantity without draws.

    ``summary`` is :func:`~latentsep.experiments.regularisation.comparisons.summarise_tradeoff`'s
    table. Used by chapter 05.
    """
    part = _labelled(summary[summary["dataset"] == dataset])
    order = [f"{v:g}" for v in sorted(part["lam"].unique())]
    return faceted_points_with_errorbars(
        part, x="λ:O", y="mean", lower="ci_low", upper="ci_high", color="penalty_label",
        color_title="penalty", facet="quantity_label", columns=3, x_sort=order, dodge=True,
        width=150, height=130, title=f"{dataset}: each quantity against λ")


def tradeoff_chart(summary: pd.DataFrame) -> alt.VConcatChart:
    """Accuracy against |slope| (top) and against separation (bottom), one point per λ.

    Used by chapter 05.
    """
    labelled = _labelled(summary)
    rows = [curves_with_error_crosses(
        labelled, x="balanced_accuracy", y=outcome,
        keys=["dataset", "penalty_label", "lam"], color="penalty_label", order="lam",
        column="dataset", x_title=SHOWN["balanced_accuracy"], y_title=SHOWN[outcome])
        for outcome in ("abs_sensitivity", "separation_excess")]
    return alt.vconcat(*rows).properties(
        title="Accuracy against insensitivity and invariance, one point per λ")


def matched_chart(matched: pd.DataFrame) -> alt.FacetChart:
    """Drop from λ = 0 bought by each penalty (and their difference) at matched accuracy costs.

    ``matched`` is :func:`~latentsep.experiments.regularisation.study.matched_outcomes`' table.
    Used by chapter 05.
    """
    return faceted_points_with_errorbars(
        chart_bars(matched).assign(cost_points=100 * matched["cost"]), x="cost_points:Q", y="drop",
        lower="ci_low", upper="ci_high", color="penalty", row="outcome", column="dataset",
        x_title="accuracy cost (points of balanced accuracy)", y_title="drop from λ = 0",
        dodge=True, independent=(), width=200, height=160)
