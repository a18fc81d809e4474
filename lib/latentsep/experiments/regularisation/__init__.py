"""Invariance penalties during pre-training: the separation / sensitivity / accuracy trade-off (§5.6).

- :mod:`.penalties` -- the penalties by name, regularised (cached) pre-training, the size of the
  TV surrogate and its noise floor;
- :mod:`.outcomes` -- what each encoder still supports (separation, allocation sensitivity,
  accuracy) and the λ sweep :func:`tradeoff`;
- :mod:`.comparisons` -- intervals across seeds, changes paired by seed, two penalties compared
  at matched accuracy cost;
- :mod:`.study` -- chapter 05's two datasets wired from its parameters to its tables, and the
  paper's values (:data:`PAPER`);
- :mod:`.claims` -- chapter 05's claims (:func:`check_claims`); :mod:`.findings` -- its prose;
  :mod:`.charts` -- its charts.
"""

from latentsep.experiments.regularisation.charts import lambda_chart, matched_chart, tradeoff_chart
from latentsep.experiments.regularisation.claims import (
    TradeoffResults,
    check_claims,
    claim_definitions,
)
from latentsep.experiments.regularisation.comparisons import (
    change_from_unregularised,
    matched_accuracy,
    paired_change,
    summarise_tradeoff,
)
from latentsep.experiments.regularisation.findings import (
    capped_markdown,
    floor_markdown,
    matched_markdown,
    paper_lambda_markdown,
)
from latentsep.experiments.regularisation.outcomes import (
    QUANTITIES,
    OutcomeSettings,
    encoder_outcomes,
    tradeoff,
)
from latentsep.experiments.regularisation.penalties import (
    PENALTIES,
    PENALTY_LABELS,
    make_regulariser,
    penalty_scale,
    regularised_embeddings,
)
from latentsep.experiments.regularisation.study import (
    MATCHED_OUTCOMES,
    PAPER,
    SHOWN,
    Study,
    at_largest_cost,
    change_at,
    chapter_studies,
    matched_outcomes,
    penalty_scales,
    setup_table,
    study_tradeoffs,
)

__all__ = [
    "MATCHED_OUTCOMES",
    "PAPER",
    "PENALTIES",
    "PENALTY_LABELS",
    "QUANTITIES",
    "SHOWN",
    "OutcomeSettings",
    "Study",
    "TradeoffResults",
    "at_largest_cost",
    "capped_markdown",
    "change_at",
    "change_from_unregularised",
    "chapter_studies",
    "check_claims",
    "claim_definitions",
    "encoder_outcomes",
    "floor_markdown",
    "lambda_chart",
    "make_regulariser",
    "matched_accuracy",
    "matched_chart",
    "matched_markdown",
    "matched_outcomes",
    "paired_change",
    "paper_lambda_markdown",
    "penalty_scale",
    "penalty_scales",
    "regularised_embeddings",
    "setup_table",
    "study_tradeoffs",
    "summarise_tradeoff",
    "tradeoff",
    "tradeoff_chart",
]
