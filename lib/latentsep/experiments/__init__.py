"""The paper's experiment protocol, shared by the dataset chapters.

- :mod:`latentsep.experiments.llrt` -- one dataset prepared for the protocol (:class:`ProtocolData`),
  cached encoder pre-training, latent separation per pre-training seed, last-layer-retraining
  allocation sweeps, the full-fine-tuning / from-scratch ablations and a per-attribute summary.
- :mod:`latentsep.experiments.coloured_mnist` -- coloured MNIST wired into that protocol with the
  paper's splits.
"""

from latentsep.experiments.llrt import (
    EncoderRun,
    ProtocolData,
    ablation_sweeps,
    allocation_sweeps,
    bound_checks,
    feasible_k,
    pretrained_embeddings,
    resize_pretraining,
    separation_by_seed,
    separation_differences,
    summarise,
)

__all__ = [
    "EncoderRun",
    "ProtocolData",
    "ablation_sweeps",
    "allocation_sweeps",
    "bound_checks",
    "feasible_k",
    "pretrained_embeddings",
    "resize_pretraining",
    "separation_by_seed",
    "separation_differences",
    "summarise",
]
