"""The encoder interface and what image encoders share: :class:`Encoder`,
:class:`WeightsUnavailableError`, :func:`freeze_encoder`, image loading / batching
(:func:`load_images`, :func:`as_image_batch`) and the lazy :class:`ImageEncoder` base."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from latentsep.checks import check_positive_int
from latentsep.device import default_device


@runtime_checkable
class Encoder(Protocol):
    """What :func:`embed_dataset` needs from an encoder.

    Attributes
    ----------
    name : str
        Short model name, e.g. ``"efficientnet-lite0"``.
    dim : int
        Embedding width.
    weights_id : str
        Identity of the weights (file name and size, URL or hub id): part of the cache key.
    settings : mapping
        Preprocessing choices that change the output (image size, pooling, ...): part of the key.
    """

    name: str
    dim: int
    weights_id: str
    settings: Mapping[str, Any]

    def embed(self, batch: Any) -> np.ndarray:
        """Embed one batch; return float32 of shape (B, dim)."""
        ...


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights could not be downloaded or found locally; the message names the fix."""


#: Shown wherever an encoder with random weights produced a number (the rehearsal profile only).
RANDOM_WEIGHTS_NOTICE = "random weights: rehearsal only"
RANDOM_WEIGHTS_SEED = 0


# --------------------------------------------------------------------------------------------
# Freezing


def _eval_pre_hook(module: nn.Module, args: tuple) -> None:
    # A parent's .train() flips .training back on; force eval right before every forward.
    module.training = False


def freeze_encoder(module: nn.Module) -> nn.Module:
    """Freeze ``module`` in place for last-layer retraining and return it.

    All parameters get ``requires_grad=False`` and every submodule is put in eval mode. A forward
    pre-hook on each submodule resets its ``training`` flag before it runs, so BatchNorm running
    statistics never move, and dropout / stochastic depth (EfficientNet's drop-connect reads
    ``self.training``) stay off, even after a later ``.train()`` on the module or on a parent
    that holds it with a trainable head — the paper's code let BatchNorm update. (Between such a
    ``.train()`` and the next forward the flags read True; the computation never sees it.)
    Calling it twice is harmless.
    """
    for param in module.parameters():
        param.requires_grad_(False)
    for sub in module.modules():
        if not getattr(sub, "_latentsep_frozen", False):
            sub.register_forward_pre_hook(_eval_pre_hook)
            sub._latentsep_frozen = True
    return module.eval()


# --------------------------------------------------------------------------------------------
# Image inputs


def load_images(paths: Sequence[str | os.PathLike], size: int) -> np.ndarray:
    """Read image files as float32 (B, 3, size, size) in [0, 1].

    Each image is converted to RGB, resized so that its shorter side is ``size`` (bilinear) and
    centre-cropped to a square, keeping the aspect ratio.
    """
    from PIL import Image

    out = np.empty((len(paths), 3, size, size), dtype=np.float32)
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as img:
                img = img.convert("RGB")
        except FileNotFoundError as err:
            raise FileNotFoundError(f"image {str(path)!r} does not exist; check the dataset "
                                    "root or re-run the loader, which lists existing files.") from err
        scale = size / min(img.size)
        w, h = max(size, round(img.width * scale)), max(size, round(img.height * scale))
        img = img.resize((w, h), Image.Resampling.BILINEAR)
        left, top = (w - size) // 2, (h - size) // 2
        img = img.crop((left, top, left + size, top + size))
        out[i] = np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255.0
    return out


def _is_path_batch(batch: Any) -> bool:
    return (isinstance(batch, Sequence | np.ndarray) and len(batch) > 0
            and isinstance(batch[0], str | os.PathLike))


def as_image_batch(batch: Any, size: int) -> torch.Tensor:
    """Return ``batch`` as float32 (B, 3, size, size) in [0, 1] (see module docstring)."""
    if _is_path_batch(batch):
        return torch.from_numpy(load_images(list(batch), size))
    x = torch.as_tensor(np.asarray(batch) if not torch.is_tensor(batch) else batch)
    if x.ndim == 3:
        x = x.unsqueeze(1)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(
            f"batch must have shape (B, C, H, W) with C in (1, 3), or (B, H, W); got "
            f"{tuple(x.shape)}. For channels-last images use x.transpose(0, 3, 1, 2)."
        )
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    lo, hi = float(x.min()), float(x.max())
    if not (0.0 <= lo and hi <= 1.0 + 1e-6):  # also catches NaN
        raise ValueError(
            f"batch pixel values must lie in [0, 1] (or be uint8); got range [{lo:.3g}, {hi:.3g}]. "
            "Divide 0..255 floats by 255."
        )
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False,
                          antialias=True)
    return x.contiguous()


class ImageEncoder(ABC):
    """Shared machinery: lazy model, image preparation, inference on a device."""

    name: str
    dim: int
    weights_id: str

    def __init__(self, image_size: int, device: torch.device | str | None) -> None:
        self.image_size = check_positive_int(image_size, "image_size", minimum=8)
        self.device = torch.device(device) if device is not None else default_device()
        self._model: nn.Module | None = None

    @property
    def settings(self) -> dict[str, Any]:
        return {"image_size": self.image_size}

    @property
    def model(self) -> nn.Module:
        """The frozen network (loaded on first use)."""
        if self._model is None:
            self._model = freeze_encoder(self._load()).to(self.device)
        return self._model

    def load(self) -> ImageEncoder:
        """Load the weights now (otherwise they load on the first :meth:`embed`)."""
        _ = self.model
        return self

    @abstractmethod
    def _load(self) -> nn.Module:
        """Subclass hook."""

    @abstractmethod
    def _normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Subclass hook."""

    @abstractmethod
    def _features(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Subclass hook."""

    def embed(self, batch: Any) -> np.ndarray:
        """Embed images; return float32 (B, dim)."""
        model = self.model
        x = self._normalize(as_image_batch(batch, self.image_size)).to(self.device)
        with torch.inference_mode():
            return self._features(model, x).float().cpu().numpy()
