"""Encoders by name: :data:`ENCODERS`, :func:`get_encoder` and the download-free
:func:`missing_weights` check."""

from __future__ import annotations

from typing import Any

from latentsep.checks import check_choice
from latentsep.encoders.base import Encoder, WeightsUnavailableError
from latentsep.encoders.images import (
    TORCHVISION_ARCHS,
    EfficientNetLite0Encoder,
    TorchvisionEncoder,
    efficientnet_weights_path,
)
from latentsep.encoders.text import RandomBertEncoder, bert_base_encoder, minilm_encoder, quiet_tqdm_auto

ENCODERS = ("efficientnet-lite0", "densenet121", "vit_b_16", "all-minilm-l6-v2",
            "bert-base-uncased")


def get_encoder(name: str, *, random_weights: bool = False, **kwargs: Any) -> Encoder:
    """Build an encoder by name (one of :data:`ENCODERS`); ``kwargs`` go to its constructor.

    ``random_weights`` builds the paper encoders' architecture (``densenet121``, ``vit_b_16``,
    ``bert-base-uncased``) with seeded random weights, for the rehearsal profile only: their
    ``weights_id`` carries :data:`RANDOM_WEIGHTS_NOTICE`.
    """
    check_choice(name, "encoder", ENCODERS)
    if random_weights:
        check_choice(name, "encoder with random_weights", [*TORCHVISION_ARCHS, "bert-base-uncased"])
        if name in TORCHVISION_ARCHS:
            return TorchvisionEncoder(name, random_weights=True, **kwargs)
        return RandomBertEncoder(**kwargs)
    if name == "efficientnet-lite0":
        return EfficientNetLite0Encoder(**kwargs)
    if name in TORCHVISION_ARCHS:
        return TorchvisionEncoder(name, **kwargs)
    return minilm_encoder(**kwargs) if name == "all-minilm-l6-v2" else bert_base_encoder(**kwargs)


def missing_weights(name: str) -> str | None:
    """Why encoder ``name``'s pretrained weights would need a download, or None when they load
    from local files (shipped packages, ``$TORCH_HOME`` or the Hugging Face cache).

    Nothing is downloaded: a preflight calls this for every encoder a run will use.
    """
    check_choice(name, "encoder", ENCODERS)
    try:
        if name == "efficientnet-lite0":
            efficientnet_weights_path()
        elif name == "all-minilm-l6-v2":
            minilm_encoder(device="cpu")
        elif name in TORCHVISION_ARCHS:
            target = TorchvisionEncoder(name, image_size=224, device="cpu").checkpoint_path()
            if not target.is_file():
                return (f"{name}: ImageNet weights are not at {target}. Remedy: run once with "
                        "internet access (torchvision caches them there), or download "
                        f"{target.name} from download.pytorch.org/models/ and put it at {target}, "
                        "or set TORCH_HOME to a directory whose hub/checkpoints/ holds it.")
        else:
            quiet_tqdm_auto()
            from huggingface_hub import try_to_load_from_cache

            cached = [try_to_load_from_cache("bert-base-uncased", f) for f in
                      ("config.json", "vocab.txt", "model.safetensors")]
            if not all(isinstance(c, str) for c in cached):
                return ("bert-base-uncased: config.json, vocab.txt and model.safetensors are not "
                        "all in the Hugging Face cache ($HF_HOME, default ~/.cache/huggingface). "
                        "Remedy: run once with internet access, e.g. python -c \"from transformers "
                        "import AutoModel, AutoTokenizer; AutoModel.from_pretrained('bert-base-"
                        "uncased'); AutoTokenizer.from_pretrained('bert-base-uncased')\", or set "
                        "HF_HOME to a cache that holds models--bert-base-uncased.")
    except WeightsUnavailableError as err:
        return f"{name}: {err}"
    return None
