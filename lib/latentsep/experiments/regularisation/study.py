"""Chapter 05's study: the λ sweep on coloured MNIST and Adult, wired from the parameters to the tables.

:func:`chapter_studies` prepares the two datasets (data, penalised attribute, encoder, sweep sizes);
:func:`penalty_scales` sizes the TV surrogate on their unregularised encoders; :func:`study_tradeoffs`
runs :func:`~latentsep.experiments.regularisation.outcomes.tradeoff` on each and
:func:`matched_outcomes` compares the two penalties at equal accuracy cost. :func:`change_at` and
:func:`at_largest_cost` read single rows back for the claims and the chapter's prose.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from torch import nn

from latentsep.data.mnist import MnistData, paper_splits
from latentsep.experiments.coloured_mnist import coloured_mnist_protocol
from latentsep.experiments.protocol import ProtocolData, feasible_k
from latentsep.experiments.regularisation.comparisons import matched_accuracy
from latentsep.experiments.regularisation.outcomes import OutcomeSettings, tradeoff
from latentsep.experiments.regularisation.penalties import penalty_scale, regularised_embeddings
from latentsep.experiments.tabular import tabular_mlp_factory, tabular_protocol
from latentsep.heads import HeadConfig
from latentsep.models import SimpleCNN
from latentsep.models.training import PretrainConfig

#: What the paper reports (§5.6): its weight λ, read in the units of the squared Mahalanobis
#: distance, and its statements. It gives directions only (MIMIC ViewPosition); the magnitudes
#: quoted in secondary summaries are unverified.
PAPER = {
    "lambda": 0.01,
    "separation": "lower (MIMIC ViewPosition; ~0.17 → 0.12 unverified)",
    "sensitivity": "lower (slope 0.016 → −0.007 unverified)",
    "accuracy_cost": "a cost (> 0.10 unverified)",
}
#: The per-seed quantities chapter 05 shows, with their labels, in display order.
SHOWN = {
    "separation_excess": "separation − null",
    "abs_sensitivity": "|slope| (mean of groups)",
    "sensitivity": "sensitivity (paper)",
    "balanced_accuracy": "balanced acc. (α = 0.5)",
    "worst_group_accuracy": "worst-group acc. (α = 0.5)",
    "pretrained_balanced_accuracy": "pre-trained model's bal. acc.",
}
#: The outcomes whose drop the two penalties buy, with their names in prose.
MATCHED_OUTCOMES = {"abs_sensitivity": "|slope|", "separation_excess": "separation − null"}


@dataclass(frozen=True)
class Study:
    """One dataset of the λ sweep.

    Attributes
    ----------
    name : str
        Dataset name (``"coloured_mnist"``, ``"adult"``).
    data : ProtocolData
    attribute : str
        The binary attribute penalised during pre-training and studied afterwards.
    model_factory : callable
        Zero-argument encoder factory.
    embedding_dim : int
        Width of the encoder's embedding.
    compare_lambdas : tuple of float
        λ grid of the comparison penalty.
    k_wanted : (int, int)
        K_train and K_val asked for, before capping at the smallest group.
    settings : OutcomeSettings
        How each encoder is measured (with the capped K).
    """

    name: str
    data: ProtocolData
    attribute: str
    model_factory: Callable[[], nn.Module]
    embedding_dim: int
    compare_lambdas: tuple[float, ...]
    k_wanted: tuple[int, int]
    settings: OutcomeSettings


def _study(name: str, data: ProtocolData, attribute: str, factory: Callable[[], nn.Module],
           compare: Sequence[float], k: tuple[int, int], **settings: object) -> Study:
    k_train = feasible_k(data, [attribute], k[0])
    k_val = feasible_k(data, [attribute], k[1], split="val_pool")
    return Study(name, data, attribute, factory, int(factory().embedding_dim),
                 tuple(float(lam) for lam in compare), (int(k[0]), int(k[1])),
                 OutcomeSettings(k_train=k_train, k_val=k_val, **settings))


def chapter_studies(
    mnist: MnistData,
    data_dir: str | os.PathLike,
    *,
    seed: int,
    alphas: Sequence[float],
    head_epochs: int,
    n_permutations: int,
    mnist_compare: Sequence[float],
    adult_compare: Sequence[float],
    adult_k: tuple[int, int],
) -> dict[str, Study]:
    """Chapter 05's two datasets: coloured MNIST (penalty on the digit group) and Adult (on sex).

    Used by chapter 05.

    Parameters
    ----------
    mnist : MnistData
        The digits (:func:`latentsep.data.mnist.load_mnist`); K follows the paper's splits.
    data_dir : path
        Where Adult is read from.
    seed : int
        Splits, colours and the Random attribute.
    alphas, head_epochs, n_permutations
        The allocation grid, the retrained head's epochs and the separation's permutations.
    mnist_compare, adult_compare : sequence of float
        λ grids of the comparison penalty.
    adult_k : (int, int)
        K_train and K_val wanted on Adult.

    Returns
    -------
    dict[str, Study]
        ``{"coloured_mnist": …, "adult": …}``, K capped by :func:`feasible_k`.
    """
    sizes = paper_splits(mnist.source, len(mnist.labels))
    mnist_data = coloured_mnist_protocol(mnist, seed=seed)
    adult = tabular_protocol("adult", data_dir, seed=seed)
    settings = {"alphas": tuple(alphas), "head": HeadConfig(max_epochs=head_epochs),
                "n_permutations": n_permutations}
    return {
        "coloured_mnist": _study("coloured_mnist", mnist_data, "digit_group", SimpleCNN,
                                 mnist_compare, (sizes["k_train"], sizes["k_val"]), **settings),
        "adult": _study("adult", adult, "Sex", tabular_mlp_factory(adult.x.shape[1]),
                        adult_compare, adult_k, **settings),
    }


def setup_table(studies: Mapping[str, Study]) -> pd.DataFrame:
    """One row per study: attribute, embedding width, split sizes, K wanted and used (chapter 05)."""
    return pd.DataFrame([
        {"dataset": s.name, "attribute": s.attribute, "embedding width": s.embedding_dim,
         "pre-training rows": len(s.data.splits["pretrain_train"]),
         "test rows": len(s.data.splits["test"]), "K_train wanted": s.k_wanted[0],
         "K_train used": s.settings.k_train, "K_val used": s.settings.k_val}
        for s in studies.values()
    ])


def penalty_scales(
    studies: Mapping[str, Study],
    *,
    seeds: Sequence[int],
    config: PretrainConfig,
    cache_dir: str | os.PathLike,
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`penalty_scale` on the test embeddings of each study's first unregularised encoder.

    Used by chapter 05.

    Returns
    -------
    pd.DataFrame
        ``dataset, embedding_dim, groups, reduction, mean, ci_low, ci_high`` and what the paper's
        λ adds to the loss, ``"λ = 0.01 × mean"`` (nats).
    """
    frames = []
    for name, s in studies.items():
        runs = regularised_embeddings(s.data, s.model_factory, penalty="tv", lam=0.0,
                                      attribute=s.attribute, seeds=seeds, config=config,
                                      cache_dir=cache_dir, progress=False)
        test = s.data.splits["test"]
        values, _ = s.data.attribute(s.attribute)
        z = runs[seeds[0]].z
        frames.append(penalty_scale(z[test], s.data.y[test], values[test], seed=seed)
                      .assign(dataset=name))
    scale = pd.concat(frames, ignore_index=True)
    added = f"λ = {PAPER['lambda']:g} × mean"
    scale[added] = PAPER["lambda"] * scale["mean"]
    return scale[["dataset", "embedding_dim", "groups", "reduction", "mean", "ci_low", "ci_high",
                  added]]


def study_tradeoffs(
    studies: Mapping[str, Study],
    *,
    tv_lambdas: Sequence[float],
    compare_penalty: str,
    seeds: Sequence[int],
    config: PretrainConfig,
    cache_dir: str | os.PathLike,
    tv_reduction: str = "sum",
) -> pd.DataFrame:
    """:func:`tradeoff` of every study under the TV surrogate and the comparison penalty.

    Used by chapter 05.

    Returns
    -------
    pd.DataFrame
        The studies' :func:`tradeoff` tables, concatenated.
    """
    return pd.concat([
        tradeoff(s.data, s.model_factory, attribute=s.attribute,
                 lambdas={"tv": tv_lambdas, compare_penalty: s.compare_lambdas}, seeds=seeds,
                 config=config, cache_dir=Path(cache_dir), settings=s.settings,
                 tv_reduction=tv_reduction, progress=False)
        for s in studies.values()
    ], ignore_index=True)


def matched_outcomes(per_seed: pd.DataFrame, compare_penalty: str, n_costs: int = 4) -> pd.DataFrame:
    """:func:`matched_accuracy` of TV against ``compare_penalty`` for each of :data:`MATCHED_OUTCOMES`.

    Used by chapter 05.

    Returns
    -------
    pd.DataFrame
        The :func:`matched_accuracy` rows with an ``outcome`` column.
    """
    return pd.concat([
        matched_accuracy(per_seed, penalties=("tv", compare_penalty), outcome=outcome,
                         n_costs=n_costs).assign(outcome=outcome)
        for outcome in MATCHED_OUTCOMES
    ], ignore_index=True)


def change_at(changes: pd.DataFrame, dataset: str, quantity: str, penalty: str = "tv",
              lam: float = PAPER["lambda"]) -> pd.Series:
    """The row of a :func:`change_from_unregularised` table at one (dataset, penalty, λ, quantity)."""
    rows = changes[(changes["dataset"] == dataset) & (changes["penalty"] == penalty)
                   & np.isclose(changes["lam"], lam) & (changes["quantity"] == quantity)]
    if rows.empty:
        raise ValueError(f"no change of {quantity!r} for {dataset!r}, {penalty} at λ = {lam:g}; "
                         "sweep that λ (it must be in the grid).")
    return rows.iloc[0]


def at_largest_cost(matched: pd.DataFrame, dataset: str, outcome: str) -> pd.DataFrame:
    """The :func:`matched_outcomes` rows at the largest matched cost, indexed by penalty."""
    part = matched[(matched["dataset"] == dataset) & (matched["outcome"] == outcome)]
    return part[np.isclose(part["cost"], part["cost"].max())].set_index("penalty")
