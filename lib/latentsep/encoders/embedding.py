"""The embed-once cache: :func:`input_fingerprint` and :func:`embed_dataset`."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from latentsep.checks import check_positive_int
from latentsep.encoders.base import Encoder
from latentsep.fileio import atomic_write_bytes
from latentsep.store import LIBRARY_VERSION, canonical_json, code_fingerprint, fingerprint

logger = logging.getLogger(__name__)

#: The cache key fingerprints the whole package (its ``__init__`` imports every encoder module),
#: so an edit to any encoder's code invalidates cached embeddings.
_PACKAGE = "latentsep.encoders"


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
             "inputs": input_fingerprint(data), "extra": key_extra, "code": code_fingerprint(_PACKAGE)}
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
