"""The paper's TV bound, checked exactly on class-conditional Gaussian latents (chapter 01).

- :mod:`latentsep.theory.gaussian` -- the model, its closed forms (TV, per-cell and per-group
  accuracy of a linear head), heads fitted on allocated samples and every term of the bounds
  (:func:`bound_terms`); the module docstring states the four bounds.
- :mod:`latentsep.theory.sweeps` -- random configurations, the sweep that checks every bound on
  each (:func:`sweep_bounds`) and its summaries.
- :mod:`latentsep.theory.examples` -- a counterexample (labels shift across groups) and cases that
  attain the sharp bound.
- :mod:`latentsep.theory.claims` -- what the paper states (:data:`PAPER`), chapter 01's rules and
  :func:`check_claims`.
- :mod:`latentsep.theory.findings` -- chapter 01's findings written out as markdown, and
  :mod:`latentsep.theory.charts` its two charts.
"""

from latentsep.theory.charts import allowance_chart, usage_chart
from latentsep.theory.claims import (
    ATTAINED_TOL,
    PAPER,
    BoundResults,
    SweepSizes,
    check_claims,
    stated_claims,
)
from latentsep.theory.examples import attaining_example, attaining_table, counterexample
from latentsep.theory.findings import (
    counterexample_markdown,
    slope_factor_markdown,
    sweep_markdown,
)
from latentsep.theory.gaussian import (
    HEAD_KINDS,
    PAPER_CONSTANT,
    VIOLATION_TOL,
    GaussianConfig,
    LinearHead,
    allocation_counts,
    bound_terms,
    cell_accuracy,
    fit_allocated_head,
    fit_head,
    gaussian_tv,
    group_accuracy,
    mahalanobis,
    mahalanobis_tv,
    ols_slope_bound_factor,
    pairwise_tv,
    population_lda_head,
    sample_allocated,
    tv_to_rest,
)
from latentsep.theory.sweeps import (
    BOUND_NAMES,
    SWEEP_COLUMNS,
    allowance_scatter,
    allowance_used,
    estimator_limit_table,
    marginal_tv_estimator,
    sample_configuration,
    sweep_bounds,
    usage_bands,
    violation_summary,
    violation_upper_bound,
)

__all__ = [
    "ATTAINED_TOL",
    "BOUND_NAMES",
    "HEAD_KINDS",
    "PAPER",
    "PAPER_CONSTANT",
    "SWEEP_COLUMNS",
    "VIOLATION_TOL",
    "BoundResults",
    "GaussianConfig",
    "LinearHead",
    "SweepSizes",
    "allocation_counts",
    "allowance_chart",
    "allowance_scatter",
    "allowance_used",
    "attaining_example",
    "attaining_table",
    "bound_terms",
    "cell_accuracy",
    "check_claims",
    "counterexample",
    "counterexample_markdown",
    "estimator_limit_table",
    "fit_allocated_head",
    "fit_head",
    "gaussian_tv",
    "group_accuracy",
    "mahalanobis",
    "mahalanobis_tv",
    "marginal_tv_estimator",
    "ols_slope_bound_factor",
    "pairwise_tv",
    "population_lda_head",
    "sample_allocated",
    "sample_configuration",
    "slope_factor_markdown",
    "stated_claims",
    "sweep_bounds",
    "sweep_markdown",
    "tv_to_rest",
    "usage_bands",
    "usage_chart",
    "violation_summary",
    "violation_upper_bound",
]
