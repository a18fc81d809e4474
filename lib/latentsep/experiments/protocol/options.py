"""Protocol options bundled: the paper's text, the authors' code, and this book's choices.

A :class:`Protocol` names one value for each choice on which the paper's text, the authors'
release (``anissa218/subgroup-balance-latent-separation``) and this book differ, and hands them to
the functions that implement them, so that a chapter runs either protocol with one argument:

>>> from latentsep.experiments.protocol.options import AUTHORS_CODE, PAPER_TEXT
>>> AUTHORS_CODE.sweep_options()
{'head_start': 'resumed', 'encoder': 'pinned'}
>>> PAPER_TEXT.separation_options()
{'pca_variance': 0.7}

=====================  ===========================  ==========================================
field                  values                       used by
=====================  ===========================  ==========================================
``head_start``         fresh, pretrained, resumed   :func:`~.sweeps.allocation_sweeps`
``plateau_monitor``    val_balanced_accuracy,       :class:`~latentsep.models.PretrainConfig`,
                       val_loss                     :class:`~latentsep.heads.HeadConfig`
``separation_features``  pca70, full                :func:`~.measures.separation_by_seed`
``surrogate_variance`` within, total                :class:`~latentsep.regularise.TVSurrogate`
``encoder``            per_seed, pinned             :func:`~.sweeps.allocation_sweeps`
=====================  ===========================  ==========================================

:data:`CURRENT` is the library's defaults (what every chapter computed before issue 13);
:data:`PAPER_TEXT` follows the paper's text and, where the text is silent, the authors' code;
:data:`AUTHORS_CODE` is what the authors' coloured-MNIST code ran. Each preset records the source
of every value (:func:`protocol_table`). Other differences stay outside this bundle: the full-size
data, the signed ``2·TV + Δacc`` check, and details of Lightning's bookkeeping
(:mod:`latentsep.headstart`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from latentsep.checks import check_choice
from latentsep.heads import HeadConfig
from latentsep.headstart import HEAD_STARTS
from latentsep.models.checkpoint import PLATEAU_MONITORS
from latentsep.models.training import PretrainConfig

SEPARATION_FEATURES = {"pca70": 0.70, "full": None}  # name -> pca_variance of latent_separation
SURROGATE_VARIANCES = ("within", "total")
ENCODERS = ("per_seed", "pinned")
OPTIONS = ("head_start", "plateau_monitor", "separation_features", "surrogate_variance", "encoder")


@dataclass(frozen=True)
class Protocol:
    """One value per protocol choice (defaults: the library's own, :data:`CURRENT`).

    Attributes
    ----------
    name : str
        Label for tables and the ``protocol`` column of :meth:`tag`.
    head_start : {"fresh", "pretrained", "resumed"}
        Where last-layer retraining starts (:mod:`latentsep.headstart`).
    plateau_monitor : {"val_balanced_accuracy", "val_loss"}
        What ``ReduceLROnPlateau`` watches in pre-training and retraining; early stopping and
        model selection always use validation balanced accuracy.
    separation_features : {"pca70", "full"}
        Latent separation on the PCA components explaining 70 % of the variance, or on every
        embedding dimension.
    surrogate_variance : {"within", "total"}
        Denominator of the TV surrogate (:class:`~latentsep.regularise.TVSurrogate`).
    encoder : {"per_seed", "pinned"}
        Sweep seed ``s`` on the encoder pre-trained with seed ``s``, or every sweep seed on one
        pinned encoder.
    sources : dict of str to str
        Where each value comes from (paper section or the authors' file).
    """

    name: str = "current"
    head_start: str = "fresh"
    plateau_monitor: str = "val_balanced_accuracy"
    separation_features: str = "pca70"
    surrogate_variance: str = "within"
    encoder: str = "per_seed"
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        check_choice(self.head_start, "Protocol.head_start", HEAD_STARTS)
        check_choice(self.plateau_monitor, "Protocol.plateau_monitor", PLATEAU_MONITORS)
        check_choice(self.separation_features, "Protocol.separation_features",
                     tuple(SEPARATION_FEATURES))
        check_choice(self.surrogate_variance, "Protocol.surrogate_variance", SURROGATE_VARIANCES)
        check_choice(self.encoder, "Protocol.encoder", ENCODERS)
        unknown = sorted(set(self.sources) - set(OPTIONS))
        if unknown:
            raise ValueError(f"Protocol.sources names unknown options {unknown}; use {list(OPTIONS)}.")

    def pretrain_config(self, config: PretrainConfig) -> PretrainConfig:
        """``config`` with this protocol's scheduler monitor."""
        return dataclasses.replace(config, plateau_monitor=self.plateau_monitor)

    def head_config(self, config: HeadConfig) -> HeadConfig:
        """``config`` with this protocol's scheduler monitor."""
        return dataclasses.replace(config, plateau_monitor=self.plateau_monitor)

    def sweep_options(self) -> dict[str, str]:
        """Keywords of :func:`~latentsep.experiments.protocol.allocation_sweeps`."""
        return {"head_start": self.head_start, "encoder": self.encoder}

    def separation_options(self) -> dict[str, float | None]:
        """Keywords of :func:`~latentsep.experiments.protocol.separation_by_seed`."""
        return {"pca_variance": SEPARATION_FEATURES[self.separation_features]}

    def regulariser_options(self) -> dict[str, str]:
        """Keywords of :func:`latentsep.experiments.regularisation.regularised_embeddings`."""
        return {"tv_variance": self.surrogate_variance}

    def to_dict(self) -> dict[str, Any]:
        """Name and options (without sources), e.g. to save beside a results table."""
        return {"name": self.name, **{option: getattr(self, option) for option in OPTIONS}}

    def tag(self, table: pd.DataFrame) -> pd.DataFrame:
        """``table`` with a first column ``protocol`` holding this protocol's name."""
        return pd.concat([pd.DataFrame({"protocol": self.name}, index=table.index), table], axis=1)


_SILENT = "text silent; the authors' code: "

CURRENT = Protocol("current", sources={
    option: "this book's default before issue 13" for option in OPTIONS})

PAPER_TEXT = Protocol(
    "paper text",
    head_start="fresh",
    plateau_monitor="val_loss",
    separation_features="pca70",
    surrogate_variance="within",
    encoder="pinned",
    sources={
        "head_start": "§5 protocol: freeze the encoder, re-initialise the head",
        "plateau_monitor": _SILENT + "src/models/mnistcolour_module.py, configure_optimizers "
                           "(monitor 'val/loss'); §5.1 ties only early stopping to balanced accuracy",
        "separation_features": "§4 step 2: StandardScaler, then PCA to 70 % explained variance",
        "surrogate_variance": "§5.6 'pooled per-dimension variance', read as the pooled "
                              "within-group variance (the authors' code pools the rows instead)",
        "encoder": _SILENT + "README and configs/experiment/*_alloc_exps.yaml: one pre-training "
                   "run (seed 42), sweeps with seed=42,43,44",
    },
)

AUTHORS_CODE = Protocol(
    "authors' code",
    head_start="resumed",
    plateau_monitor="val_loss",
    separation_features="full",
    surrogate_variance="total",
    encoder="pinned",
    sources={
        "head_start": "src/models/mnistcolour_module.py keeps the head; src/train.py "
                      "trainer.fit(ckpt_path=...) restores optimiser, schedule, epoch and early "
                      "stopping (their MIMIC module re-initialises the head)",
        "plateau_monitor": "src/models/mnistcolour_module.py configure_optimizers: monitor "
                           "'val/loss'; early stopping on 'val/bal_acc' (experiment configs)",
        "separation_features": "final_notebooks/pretrained_distances.ipynb: MNIST distances on the "
                               "full 1,568-d features",
        "surrogate_variance": "src/utils/tv_surrogate.py: z_pooled.var(unbiased=False)",
        "encoder": "README and configs/experiment/*_alloc_exps.yaml: one pinned pre-training "
                   "checkpoint; seeds vary the fine-tuning sample and the head",
    },
)

PRESETS = {p.name: p for p in (CURRENT, PAPER_TEXT, AUTHORS_CODE)}


def protocol_table(*protocols: Protocol) -> pd.DataFrame:
    """One row per option: each protocol's value and source, and whether they differ.

    Parameters
    ----------
    *protocols : Protocol
        Default: :data:`CURRENT`, :data:`PAPER_TEXT`, :data:`AUTHORS_CODE`.

    Returns
    -------
    pd.DataFrame
        ``option``, then ``<name>`` and ``<name> source`` per protocol, then ``differs``.
    """
    protocols = protocols or (CURRENT, PAPER_TEXT, AUTHORS_CODE)
    for p in protocols:
        if not isinstance(p, Protocol):
            raise ValueError(f"protocol_table takes Protocol objects; got {type(p).__name__}.")
    names = [p.name for p in protocols]
    if len(set(names)) != len(names):
        raise ValueError(f"protocol names must be distinct to label the columns; got {names}.")
    rows = []
    for option in OPTIONS:
        row: dict[str, Any] = {"option": option}
        for p in protocols:
            row[p.name] = getattr(p, option)
            row[f"{p.name} source"] = p.sources.get(option, "")
        row["differs"] = len({getattr(p, option) for p in protocols}) > 1
        rows.append(row)
    return pd.DataFrame(rows)
