"""Conventional explanations of allocation sensitivity, and a controlled test of them (§5.7).

- :mod:`.groups` -- each group's slope next to its candidate explanations, and their correlations;
- :mod:`.controlled` -- the intervention the paper lacks: pre-training prevalence (or separation)
  changed alone, each variant's encoders measured, and a joint regression;
- :mod:`.study` -- chapter 06's datasets and arms wired from its parameters to its tables;
- :mod:`.claims` -- chapter 06's claims (:func:`check_claims`); :mod:`.findings` -- its prose;
  :mod:`.charts` -- its charts.
"""

from latentsep.experiments.explanations.charts import (
    controlled_chart,
    correlations_chart,
    explanations_chart,
)
from latentsep.experiments.explanations.claims import (
    PAPER,
    ExplanationResults,
    check_claims,
    claim_definitions,
)
from latentsep.experiments.explanations.controlled import (
    controlled_outcomes,
    joint_regression,
    prevalence_reserve,
    prevalence_variant,
)
from latentsep.experiments.explanations.findings import (
    cache_markdown,
    changes_markdown,
    correlation_markdown,
    joint_markdown,
    setup_markdown,
)
from latentsep.experiments.explanations.groups import (
    EXPLANATION_LABELS,
    EXPLANATIONS,
    explanation_correlations,
    group_explanations,
)
from latentsep.experiments.explanations.study import (
    ATTRIBUTE_SCOPE,
    CHANGED,
    CONTROL_QUANTITIES,
    JOINT_TERMS,
    PREDICTORS,
    ControlledExperiment,
    PooledGroups,
    arm_changes,
    attribute_level,
    change_of,
    control_summary,
    controlled_experiment,
    correlation_table,
    pooled_groups,
    scope_rows,
)

__all__ = [
    "ATTRIBUTE_SCOPE",
    "CHANGED",
    "CONTROL_QUANTITIES",
    "EXPLANATIONS",
    "EXPLANATION_LABELS",
    "JOINT_TERMS",
    "PAPER",
    "PREDICTORS",
    "ControlledExperiment",
    "ExplanationResults",
    "PooledGroups",
    "arm_changes",
    "attribute_level",
    "cache_markdown",
    "change_of",
    "changes_markdown",
    "check_claims",
    "claim_definitions",
    "control_summary",
    "controlled_chart",
    "controlled_experiment",
    "controlled_outcomes",
    "correlation_markdown",
    "correlation_table",
    "correlations_chart",
    "explanation_correlations",
    "explanations_chart",
    "group_explanations",
    "joint_markdown",
    "joint_regression",
    "pooled_groups",
    "prevalence_reserve",
    "prevalence_variant",
    "scope_rows",
    "setup_markdown",
]
