"""Protocol fidelity: chapter 03 under the paper's text and the authors' code, and at full scale.

- :mod:`.mnist_protocols` -- chapter 03's tables under a second protocol, its tagged claims, and
  every number side by side (:func:`rerun_under`, :func:`tag_claims`, :func:`comparison_by_protocol`);
- :mod:`.effects` -- each protocol difference switched alone and its measured effect
  (:func:`one_option_variants`, :func:`variant_drops`, :func:`feature_effects`,
  :func:`surrogate_effects`, :func:`differences_table`);
- :mod:`.scale` -- the paper's pre-training size on the offline digits and the coloured
  Fashion-MNIST twin at full and scaled sizes (:func:`paper_pretraining_split`,
  :func:`fashion_twin`, :func:`scale_plan`, :func:`scale_run`, :func:`scale_summary`,
  :func:`write_calibration_points`).
"""

from latentsep.experiments.fidelity.effects import (
    SWEEP_OPTIONS,
    differences_markdown,
    differences_table,
    drops_chart,
    effect_words,
    effects_by_option,
    feature_effects,
    measured_effects,
    one_option_variants,
    paired_effects,
    surrogate_effects,
    variant_drops,
)
from latentsep.experiments.fidelity.mnist_protocols import (
    comparison_by_protocol,
    protocol_key,
    rerun_under,
    tag_claims,
)
from latentsep.experiments.fidelity.scale import (
    ScalePlan,
    ScaleResult,
    fashion_twin,
    paper_k,
    paper_pretraining_split,
    run_label,
    scale_chart,
    scale_findings,
    scale_plan,
    scale_run,
    scale_summary,
    sizes_table,
    twin_sizes,
    write_calibration_points,
)

__all__ = [
    "SWEEP_OPTIONS",
    "ScalePlan",
    "ScaleResult",
    "comparison_by_protocol",
    "differences_markdown",
    "differences_table",
    "drops_chart",
    "effect_words",
    "effects_by_option",
    "fashion_twin",
    "feature_effects",
    "measured_effects",
    "one_option_variants",
    "paired_effects",
    "paper_k",
    "paper_pretraining_split",
    "protocol_key",
    "rerun_under",
    "run_label",
    "scale_chart",
    "scale_findings",
    "scale_plan",
    "scale_run",
    "scale_summary",
    "sizes_table",
    "surrogate_effects",
    "tag_claims",
    "twin_sizes",
    "variant_drops",
    "write_calibration_points",
]
