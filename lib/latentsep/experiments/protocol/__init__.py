"""The paper's protocol on one dataset: pre-train, measure separation, sweep allocations (§4, §5).

1. :mod:`.data` -- :class:`ProtocolData`: inputs, labels, attributes and the five splits
   (``pretrain_train``, ``pretrain_val``, ``test``, ``pool``, ``val_pool``);
2. :mod:`.encoders` -- :func:`pretrained_embeddings`: one cached encoder per pre-training seed;
3. :mod:`.measures` -- :func:`separation_by_seed` and :func:`transfer_by_seed` on the test split;
4. :mod:`.sweeps` -- :func:`allocation_sweeps` (last-layer retraining) and :func:`ablation_sweeps`
   (full fine-tuning, training from scratch);
5. :mod:`.summaries` -- :func:`summarise` and :func:`bound_checks`: one row per attribute or group,
   with uncertainty across seeds.

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
from latentsep.experiments.protocol.summaries import bound_checks, summarise
from latentsep.experiments.protocol.sweeps import ablation_sweeps, allocation_sweeps

__all__ = [
    "AUTHORS_CODE",
    "CURRENT",
    "PAPER_TEXT",
    "SPLITS",
    "EncoderRun",
    "Protocol",
    "ProtocolData",
    "ablation_sweeps",
    "allocation_sweeps",
    "attribute_names",
    "bound_checks",
    "feasible_k",
    "pretrained_embeddings",
    "protocol_table",
    "resize_pretraining",
    "separation_by_seed",
    "separation_differences",
    "summarise",
    "transfer_by_seed",
]
