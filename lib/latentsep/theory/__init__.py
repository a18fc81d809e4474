"""The paper's TV bound, checked exactly on class-conditional Gaussian latents (chapter 01).

- :mod:`latentsep.theory.gaussian` -- the model, its closed forms (TV, per-cell and per-group
  accuracy of a linear head), heads fitted on allocated samples and every term of the bounds
  (:func:`bound_terms`); the module docstring states the four bounds.
- :mod:`latentsep.theory.sweeps` -- random configurations, the sweep that checks every bound on
  each (:func:`sweep_bounds`) and its summaries.
- :mod:`latentsep.theory.examples` -- a counterexample (labels shift across groups) and cases that
  attain the sharp bound.
"""

from latentsep.theory.examples import attaining_example, counterexample
from latentsep.theory.gaussian import (
    HEAD_KINDS,
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
    ols_slope_bound_factor,
    pairwise_tv,
    population_lda_head,
    sample_allocated,
    tv_to_rest,
)
from latentsep.theory.sweeps import (
    BOUND_NAMES,
    SWEEP_COLUMNS,
    allowance_used,
    marginal_tv_estimator,
    sample_configuration,
    sweep_bounds,
    usage_bands,
    violation_summary,
    violation_upper_bound,
)

__all__ = [
    "BOUND_NAMES",
    "HEAD_KINDS",
    "SWEEP_COLUMNS",
    "VIOLATION_TOL",
    "GaussianConfig",
    "LinearHead",
    "allocation_counts",
    "allowance_used",
    "attaining_example",
    "bound_terms",
    "cell_accuracy",
    "counterexample",
    "fit_allocated_head",
    "fit_head",
    "gaussian_tv",
    "group_accuracy",
    "mahalanobis",
    "marginal_tv_estimator",
    "ols_slope_bound_factor",
    "pairwise_tv",
    "population_lda_head",
    "sample_allocated",
    "sample_configuration",
    "sweep_bounds",
    "tv_to_rest",
    "usage_bands",
    "violation_summary",
    "violation_upper_bound",
]
