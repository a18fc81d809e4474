"""The paper's protocol on one dataset: pre-train, measure separation, sweep allocations (§4, §5).

1. :mod:`.data` -- :class:`ProtocolData`: inputs, labels, attributes and the five splits
   (``pretrain_train``, ``pretrain_val``, ``test``, ``pool``, ``val_pool``);
2. :mod:`.encoders` -- :func:`pretrained_embeddings`: one cached encoder per pre-training seed;
3. :mod:`.measures` -- :func:`separation_by_seed` and :func:`transfer_by_seed` on the test split;
4. :mod:`.sweeps` -- :func:`allocation_sweeps` (last-layer retraining) and :func:`ablation_sweeps`
   (full fine-tuning, training from scratch);
5. :mod:`.summaries` -- :func:`summarise` and :func:`bound_checks`: one row per attribute or group,
   with uncertainty across seeds; :func:`protocol_summaries`, :func:`correlation_table` and
   :func:`allocation_curves` for a whole run.

:mod:`.runs` chains steps 2-4 for an encoder pre-trained per seed: :func:`run_protocol` returns a
:class:`ProtocolResult`.

:mod:`.options` bundles the choices on which the paper's text, the authors' code and this book
differ (:class:`Protocol`, presets :data:`PAPER_TEXT`, :data:`AUTHORS_CODE`, :data:`CURRENT`).
"""

from latentsep.experiments.protocol.data import (
    SPLITS,
    ProtocolData,
    attribute_names,
    feasible_k,
    resize_pretraining,
)
from latentsep.experiments.protocol.encoders import EncoderRun, pretrained_embeddings
from latentsep.experiments.protocol.measures import (
    separation_by_seed,
    separation_differences,
    transfer_by_seed,
)
from latentsep.experiments.protocol.options import (
    AUTHORS_CODE,
    CURRENT,
    PAPER_TEXT,
    Protocol,
    protocol_table,
)
from latentsep.experiments.protocol.runs import (
    ESTIMATORS,
    ProtocolResult,
    check_estimators,
    run_protocol,
    separation_with_fallback,
)
from latentsep.experiments.protocol.summaries import (
    CORRELATION_COLUMNS,
    SENSITIVITY_MEASURES,
    SEPARATION_MEASURES,
    allocation_curves,
    bound_checks,
    calibration_points,
    correlation_table,
    protocol_summaries,
    separation_view,
    summarise,
    tv_rows,
)
from latentsep.experiments.protocol.sweeps import ablation_sweeps, allocation_sweeps

__all__ = [
    "AUTHORS_CODE",
    "CORRELATION_COLUMNS",
    "CURRENT",
    "ESTIMATORS",
    "PAPER_TEXT",
    "SENSITIVITY_MEASURES",
    "SEPARATION_MEASURES",
    "SPLITS",
    "EncoderRun",
    "Protocol",
    "ProtocolData",
    "ProtocolResult",
    "ablation_sweeps",
    "allocation_curves",
    "allocation_sweeps",
    "attribute_names",
    "bound_checks",
    "calibration_points",
    "check_estimators",
    "correlation_table",
    "feasible_k",
    "pretrained_embeddings",
    "protocol_summaries",
    "protocol_table",
    "resize_pretraining",
    "run_protocol",
    "separation_by_seed",
    "separation_differences",
    "separation_view",
    "separation_with_fallback",
    "summarise",
    "transfer_by_seed",
    "tv_rows",
]
