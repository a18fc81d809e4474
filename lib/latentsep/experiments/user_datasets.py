"""MIMIC-CXR / HAM10000 / CivilComments on user-supplied data (paper §5.2–5.4).

The dataset roots come from environment variables (:data:`REAL_DATASETS`);
:func:`load_real_dataset` returns None when a root is unset and raises a message naming the
variable when it is wrong; :func:`real_protocol` embeds the rows once with the paper's encoder
(frozen ImageNet / pretrained-language-model weights) and returns a :class:`ProtocolData` whose
inputs are those embeddings. Two analyses run on it (:func:`run_real_dataset`): ``"adapted"``
pre-trains an MLP adapter on the pre-training split (our CPU-feasible stand-in for the paper's
end-to-end fine-tuning of the backbone, which this library does not do) and retrains a linear
head (LLRT), and ``"frozen"`` is the §5.5 foundation-model case
(:func:`latentsep.experiments.foundation.run_frozen_protocol`). The paper's reported values are in
:data:`PAPER_TV` and :data:`PAPER_CORRELATIONS`, for reference only.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from latentsep.allocation import split_indices
from latentsep.checks import check_choice, check_fraction, check_positive_int
from latentsep.data._tables import DatasetTable
from latentsep.data.civilcomments import load_civilcomments
from latentsep.data.ham10000 import load_ham10000
from latentsep.data.mimic import load_mimic_cxr
from latentsep.encoders import Encoder, embed_dataset, get_encoder, missing_weights
from latentsep.experiments.foundation import FOUNDATION_HEAD, run_frozen_protocol
from latentsep.experiments.protocol import (
    ESTIMATORS,
    SPLITS,
    ProtocolData,
    ProtocolResult,
    run_protocol,
)
from latentsep.experiments.tabular import tabular_mlp_factory
from latentsep.heads import HeadConfig
from latentsep.models.training import PretrainConfig


@dataclass(frozen=True)
class RealDataset:
    """A credentialed or large dataset the user supplies.

    Attributes
    ----------
    name, title, section : str
        Key, display name and the paper's section.
    env : str
        Environment variable holding the dataset root (required).
    extra_env : tuple of str
        Optional further roots (MIMIC-IV for the MIMIC-CXR demographics).
    encoder : str
        The paper's encoder (:func:`latentsep.encoders.get_encoder` name).
    image_size : int or None
        Encoder input size for images; None for text.
    loader : callable
        Adapter from :mod:`latentsep.data`.
    """

    name: str
    title: str
    section: str
    env: str
    extra_env: tuple[str, ...]
    encoder: str
    image_size: int | None
    loader: Callable[..., DatasetTable]


REAL_DATASETS: dict[str, RealDataset] = {
    "mimic_cxr": RealDataset("mimic_cxr", "MIMIC-CXR-JPG v2 + MIMIC-IV", "§5.2",
                             "LATENTSEP_MIMIC_CXR", ("LATENTSEP_MIMIC_IV",), "densenet121", 256,
                             load_mimic_cxr),
    "ham10000": RealDataset("ham10000", "HAM10000 + ISIC 2018", "§5.3", "LATENTSEP_HAM10000", (),
                            "vit_b_16", 224, load_ham10000),
    "civilcomments": RealDataset("civilcomments", "CivilComments", "§5.4",
                                 "LATENTSEP_CIVILCOMMENTS", (), "bert-base-uncased", None,
                                 load_civilcomments),
}

#: The paper's class-conditional latent separation per attribute (read off the authors' figures,
#: about ±0.005), with our adapters' attribute names. Reference only, never our results.
PAPER_TV: dict[str, dict[str, float]] = {
    "mimic_cxr": {"ViewPosition": 0.259, "Procedure": 0.195, "SupportDevices": 0.123,
                  "Orientation": 0.090, "Age": 0.083, "Insurance": 0.057, "Race": 0.050,
                  "Gender": 0.048, "Language": 0.046, "Married": 0.034, "Random": 0.024},
    "ham10000": {"Dataset": 0.335, "Age": 0.325, "Sex": 0.308, "Localization": 0.286,
                 "Random": 0.276},
    "civilcomments": {"SexualOrientation": 0.265, "Race": 0.263, "Religion": 0.133,
                      "Gender": 0.111, "Year": 0.068, "Random": 0.057},
}
#: The paper's separation-vs-sensitivity fits (MIMIC, 10 attributes): sensitivity -> (R², p).
PAPER_CORRELATIONS: dict[str, dict[str, tuple[float, float]]] = {
    "mimic_cxr": {"loss slope": (0.78, 6.4e-4), "full-minus-zero loss": (0.90, 2.3e-5)},
}


def dataset_roots(environ: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Which dataset roots are set: one row per variable (``dataset, variable, value, status``).

    ``status`` is ``"set"``, ``"unset"`` (required root: the dataset will be skipped) or
    ``"unset (optional)"``.
    """
    env = os.environ if environ is None else environ
    rows = []
    for spec in REAL_DATASETS.values():
        for variable in (spec.env, *spec.extra_env):
            value = env.get(variable, "").strip()
            status = "set" if value else ("unset" if variable == spec.env else "unset (optional)")
            rows.append({"dataset": spec.title, "variable": variable, "value": value or "—",
                         "status": status})
    return pd.DataFrame(rows)


def load_real_dataset(
    name: str, *, environ: Mapping[str, str] | None = None, seed: int = 0, **kwargs: Any
) -> DatasetTable | None:
    """Load a user-supplied dataset from its environment variable, or None when it is unset.

    Parameters
    ----------
    name : {"mimic_cxr", "ham10000", "civilcomments"}
    environ : mapping, optional
        Default ``os.environ``.
    seed : int
        Seed of the adapter's split and ``Random`` attribute.
    **kwargs
        Further adapter keywords (e.g. split fractions).

    Raises
    ------
    FileNotFoundError, ValueError
        The root is set but does not hold the dataset in its official layout; the message names
        the variable, its value and the adapter's diagnosis.
    """
    check_choice(name, "name", tuple(REAL_DATASETS))
    spec = REAL_DATASETS[name]
    env = os.environ if environ is None else environ
    root = env.get(spec.env, "").strip()
    if not root:
        return None
    extra = [env.get(v, "").strip() or None for v in spec.extra_env]
    try:
        return spec.loader(root, *extra, seed=seed, **kwargs)
    except (FileNotFoundError, ValueError) as err:
        raise type(err)(
            f"{spec.env}={root!r} does not hold {spec.title} in its official layout: {err}"
        ) from err


def real_protocol(
    table: DatasetTable,
    *,
    cache_dir: str | Path,
    encoder: str | Encoder | None = None,
    image_size: int | None = None,
    max_rows: int | None = None,
    pretrain_val_fraction: float = 0.15,
    seed: int = 0,
    batch_size: int = 64,
    device: str | None = None,
    progress: bool = False,
    weights: str = "pretrained",
) -> ProtocolData:
    """Embed a real dataset once with a frozen encoder and wrap it as :class:`ProtocolData`.

    Parameters
    ----------
    table : DatasetTable
        From :func:`load_real_dataset` (its ``name`` selects the defaults of
        :data:`REAL_DATASETS`).
    cache_dir : path
        Embeddings are cached in ``cache_dir/embeddings``.
    encoder : str or Encoder, optional
        Default: the paper's encoder for the dataset. Any object with the
        :class:`latentsep.encoders.Encoder` interface works (tests pass a tiny one).
    image_size : int, optional
        Image encoders' input size (default the dataset's).
    max_rows : int, optional
        Keep a seeded random subset of this many rows (stratified by split) before embedding.
    pretrain_val_fraction : float
        Share of the adapter's ``pretrain`` rows held out as ``pretrain_val`` (label-stratified).
    seed : int
        Seed of the subset and of the pretrain/pretrain_val cut.
    batch_size, device, progress
        Passed to the encoder / :func:`latentsep.encoders.embed_dataset`.
    weights : {"pretrained", "random-if-missing"}
        ``random-if-missing`` (the rehearsal profile only) builds a named encoder with random
        weights when its pretrained weights are not in the local caches; ``source`` then says
        "random weights: rehearsal only".

    Returns
    -------
    ProtocolData
        ``x`` = embeddings (N, D) float32; the adapter's ``pretrain`` split cut into
        ``pretrain_train`` / ``pretrain_val``, its ``pool``, ``val_pool`` and ``test`` kept as
        they are (one split vocabulary); attributes as nullable 0/1 columns.
    """
    key = table.name.replace("-", "_")
    check_choice(key, "table.name", tuple(REAL_DATASETS))
    spec = REAL_DATASETS[key]
    check_fraction(pretrain_val_fraction, "pretrain_val_fraction", low_open=True)
    check_choice(weights, "weights", ("pretrained", "random-if-missing"))
    frame = table.table
    rows = np.arange(len(frame))
    if max_rows is not None and max_rows < len(rows):
        check_positive_int(max_rows, "max_rows", minimum=len(SPLITS))
        rows = split_indices(len(rows), [max_rows], seed, stratify=frame["split"].to_numpy())[0]
    frame = frame.iloc[rows].reset_index(drop=True)
    if encoder is None or isinstance(encoder, str):
        kwargs = {"device": device}
        if spec.image_size is not None:
            kwargs["image_size"] = image_size or spec.image_size
        name = encoder or spec.encoder
        random = weights == "random-if-missing" and missing_weights(name) is not None
        encoder = get_encoder(name, random_weights=random, **kwargs)
    inputs = frame["text" if spec.image_size is None else "path"]
    z = embed_dataset(encoder, inputs, cache_dir=Path(cache_dir) / "embeddings", key_extra=key,
                      batch_size=batch_size, progress=progress)
    labels = frame["label"].to_numpy(np.int64)
    split = frame["split"].to_numpy()
    pretrain = np.flatnonzero(split == "pretrain")
    if len(pretrain) < 2:
        raise ValueError(f"{spec.title} has {len(pretrain)} pre-training rows; the protocol needs "
                         "a pre-training split (raise the adapter's pre-training fraction).")
    train, val = split_indices(len(pretrain), [1 - pretrain_val_fraction, pretrain_val_fraction],
                               seed, stratify=labels[pretrain])
    splits = {"pretrain_train": pretrain[train], "pretrain_val": pretrain[val],
              "test": np.flatnonzero(split == "test"), "pool": np.flatnonzero(split == "pool"),
              "val_pool": np.flatnonzero(split == "val_pool")}
    source = (f"{spec.title}: {len(frame):,} of {len(table.table):,} rows, embedded once with "
              f"frozen {encoder.name} ({encoder.dim}-d, weights {encoder.weights_id}).")
    return ProtocolData(name=key, x=np.array(z, dtype=np.float32), y=labels,  # writable copy
                        attributes=frame[list(table.attributes)].reset_index(drop=True),
                        splits=splits, source=source)


def run_real_dataset(
    data: ProtocolData,
    *,
    mode: str,
    cache_dir: str | Path,
    seeds: Sequence[int],
    alphas: Sequence[float],
    k_train: int,
    k_val: int,
    config: PretrainConfig | None = None,
    adapter_hidden: Sequence[int] = (256, 128),
    llrt_head: HeadConfig | None = None,
    frozen_head: HeadConfig = FOUNDATION_HEAD,
    estimators: Sequence[str] = tuple(ESTIMATORS),
    n_permutations: int = 200,
    n_bootstrap: int = 200,
    progress: bool = False,
) -> ProtocolResult:
    """The protocol on a :func:`real_protocol` dataset.

    ``mode="adapted"``: an MLP adapter (``adapter_hidden``) on the frozen embeddings is pre-trained
    per seed on the pre-training split, then a linear head is retrained on its last hidden layer
    (LLRT, :func:`~latentsep.experiments.tabular.run_protocol`). ``mode="frozen"``: the paper's
    §5.5 case, an MLP head on the frozen embeddings (:func:`run_frozen_protocol`).
    ``config`` is the adapter's pre-training (default: the paper's optimiser, one thread),
    ``llrt_head`` the adapted mode's head (default ``HeadConfig()``, the paper's linear LLRT),
    ``frozen_head`` the frozen mode's; the rest are :func:`run_frozen_protocol`'s arguments.
    """
    check_choice(mode, "mode", ("adapted", "frozen"))
    common = {"alphas": alphas, "k_train": k_train, "k_val": k_val, "cache_dir": cache_dir,
              "estimators": estimators, "n_permutations": n_permutations,
              "n_bootstrap": n_bootstrap, "progress": progress}
    if mode == "frozen":
        parts = {p: data.splits[p] for p in ("test", "pool", "val_pool")}
        return run_frozen_protocol(f"{data.name} (frozen)", data.x, data.y, data.attributes, parts,
                                   seeds=seeds, head=frozen_head, **common)
    factory = tabular_mlp_factory(data.x.shape[1], adapter_hidden)
    result = run_protocol(data, factory, seeds=seeds, config=config or PretrainConfig(num_threads=1),
                          head=llrt_head or HeadConfig(), **common)
    result.name = f"{data.name} (adapted)"
    return result


def paper_vs_ours(name: str, summary: pd.DataFrame | None = None) -> pd.DataFrame:
    """The paper's reported TV per attribute next to ours, for one real dataset.

    Parameters
    ----------
    name : {"mimic_cxr", "ham10000", "civilcomments"}
    summary : pd.DataFrame, optional
        Our rows of :func:`~latentsep.experiments.tabular.protocol_summaries` for the
        paper-faithful estimator (``histogram/reference``) and one metric; None when the dataset
        did not run.

    Returns
    -------
    pd.DataFrame
        ``attribute, paper_tv`` (the paper's, reference only), ``ours_tv, ours_ci_low,
        ours_ci_high, ours_excess`` (NaN when not run) and ``ours`` (``"ran"``, ``"not run"``, or
        ``"undefined"`` when our estimate is NaN), attributes in the paper's order (decreasing
        TV), then any of ours the paper lacks.
    """
    check_choice(name, "name", tuple(PAPER_TV))
    paper = pd.Series(PAPER_TV[name], name="paper_tv")
    columns = ["ours_tv", "ours_ci_low", "ours_ci_high", "ours_excess"]
    if summary is None:
        out = paper.rename_axis("attribute").reset_index()
        out[columns] = np.nan
        out["ours"] = "not run"
        return out
    ours = summary.set_index("attribute")[["separation", "separation_ci_low", "separation_ci_high",
                                           "excess"]]
    ours.columns = columns
    out = pd.concat([paper, ours], axis=1).rename_axis("attribute").reset_index()
    ran = out["attribute"].isin(ours.index)
    out["ours"] = np.where(~ran, "not run", np.where(out["ours_tv"].notna(), "ran", "undefined"))
    return out
