"""Encoders trained in this project and the loop that trains them.

- :class:`SimpleCNN` -- the paper's coloured-MNIST encoder (1568-d embedding).
- :class:`TabularMLP` -- an MLP encoder for tabular data (Adult, COMPAS).
- :func:`pretrain`, :func:`train_from_scratch`, :func:`finetune_full` -- one training loop for
  pre-training (optionally regularised) and the ablations; :func:`embed_array` and
  :func:`predict_proba` run a trained model on in-memory inputs.
"""

from latentsep.models.cnn import SimpleCNN
from latentsep.models.tabular import TabularMLP
from latentsep.models.training import (
    PretrainConfig,
    PretrainResult,
    build_model,
    embed_array,
    finetune_full,
    predict_proba,
    pretrain,
    train_from_scratch,
)

__all__ = [
    "PretrainConfig",
    "PretrainResult",
    "SimpleCNN",
    "TabularMLP",
    "build_model",
    "embed_array",
    "finetune_full",
    "predict_proba",
    "pretrain",
    "train_from_scratch",
]
