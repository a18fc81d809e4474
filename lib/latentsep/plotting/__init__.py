"""Altair charts for the book, built from tidy tables, always showing uncertainty.

- :mod:`.offline` -- ``enable_offline_renderer`` registers a renderer that emits a ``<div>`` and a
  ``vegaEmbed`` call against the vega bundle shipped in the book's ``_static/`` folder (no CDN),
  with a static SVG fallback inside ``<noscript>``;
- :mod:`.intervals` -- values with their intervals: bands, error bars, null bands;
- :mod:`.relations` -- one quantity against another: scatter plots, curves, heat maps.
"""

from latentsep.plotting.intervals import (
    dodged_intervals,
    errorbars_by_panel,
    estimates_over_null_band,
    faceted_points_with_errorbars,
    intervals_on_log_x,
    intervals_over_curve,
    intervals_with_ticks,
    line_with_band,
    log_x,
    points_with_errorbars,
)
from latentsep.plotting.offline import (
    enable_offline_renderer,
    offline_chart_html,
)
from latentsep.plotting.relations import (
    allocation_curves_chart,
    curves_with_error_crosses,
    p_value_heatmap,
    scatter_with_diagonal,
    separation_vs_sensitivity_chart,
    xy_with_intervals,
)

__all__ = [
    "allocation_curves_chart",
    "curves_with_error_crosses",
    "dodged_intervals",
    "enable_offline_renderer",
    "errorbars_by_panel",
    "estimates_over_null_band",
    "faceted_points_with_errorbars",
    "intervals_on_log_x",
    "intervals_over_curve",
    "intervals_with_ticks",
    "line_with_band",
    "log_x",
    "offline_chart_html",
    "p_value_heatmap",
    "points_with_errorbars",
    "scatter_with_diagonal",
    "separation_vs_sensitivity_chart",
    "xy_with_intervals",
]
