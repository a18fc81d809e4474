"""The paper's experiment protocol, shared by the dataset chapters.

- :mod:`latentsep.experiments.protocol` -- the protocol itself: one dataset prepared for it
  (:class:`ProtocolData`), cached encoder pre-training, separation and transfer gaps per
  pre-training seed, last-layer-retraining allocation sweeps, the full-fine-tuning /
  from-scratch ablations, per-attribute summaries and bound checks, :func:`run_protocol` chaining
  them and the separation-versus-sensitivity correlations across attributes.
- :mod:`latentsep.experiments.coloured_mnist` -- coloured MNIST wired into that protocol with the
  paper's splits; :mod:`~latentsep.experiments.coloured_mnist_measures` the tables chapter 03
  computes on it, :mod:`~latentsep.experiments.coloured_mnist_claims` the paper's values and the
  claims checked against them.
- :mod:`latentsep.experiments.tabular` -- Adult and COMPAS prepared for the protocol.
- :mod:`latentsep.experiments.foundation` -- frozen pretrained encoders (EfficientNet-Lite0,
  MiniLM; DenseNet-121, ViT-B/16, BERT where their weights can be had) in the protocol (§5.5);
  :mod:`latentsep.experiments.user_datasets` -- the user-supplied MIMIC-CXR, HAM10000 and
  CivilComments runs.
- :mod:`latentsep.experiments.real_datasets` and :mod:`~latentsep.experiments.real_datasets_claims`
  -- chapter 04's tables, its user-supplied-datasets runner, its claims, paper values and prose.
- :mod:`latentsep.experiments.regularisation` -- pre-training with invariance penalties and the
  separation / sensitivity / accuracy trade-off.
- :mod:`latentsep.experiments.explanations` -- the conventional explanations and the controlled
  prevalence-versus-separation experiment.
"""

from latentsep.experiments.protocol import (
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
