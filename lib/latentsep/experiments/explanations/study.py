"""Chapter 06's study: the pooled correlations and the controlled experiment, from parameters to tables.

:func:`pooled_groups` runs (or reads back from chapters 03 and 04's caches) every offline dataset
through the protocol and lists each group with its explanations; :func:`correlation_table`
correlates them with the slope in every scope; :func:`controlled_experiment` runs the three arms on
coloured MNIST (prevalence, colour, regulariser) and :func:`arm_changes` pairs each level with its
arm's reference.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from latentsep.data.mnist import MnistData, paper_splits
from latentsep.experiments import protocol
from latentsep.experiments import tabular as tab
from latentsep.experiments.coloured_mnist import coloured_mnist_protocol, paper_pretrain_config
from latentsep.experiments.explanations.controlled import (
    controlled_outcomes,
    prevalence_reserve,
    prevalence_variant,
)
from latentsep.experiments.explanations.groups import explanation_correlations, group_explanations
from latentsep.experiments.regularisation import OutcomeSettings, paired_change
from latentsep.heads import HeadConfig
from latentsep.models import SimpleCNN
from latentsep.row_bootstrap import DRAWS, draws_summary
from latentsep.separation import POOLED_HISTOGRAM

#: The explanations chapter 06 correlates with the slope, latent separation first.
PREDICTORS = ["separation_excess", "pretrain_prevalence", "baseline_balanced_accuracy",
              "class_prevalence", "class_prevalence_gap"]
#: The controlled experiment's attribute (a group of digits: 5 to 9 against 0 to 4).
CONTROL_ATTRIBUTE = "digit_group"
#: The per-encoder quantities the controlled experiment summarises, with their labels.
CONTROL_QUANTITIES = {"pretrain_prevalence": "pre-training share of digits 5–9",
                      "separation_excess": "separation − null",
                      "abs_sensitivity": "sensitivity (mean |slope|)",
                      "abs_slope_1": "|slope|, digits 5–9",
                      "pretrained_balanced_accuracy": "pre-trained bal. acc."}
#: The quantities compared with each arm's reference, as the prose names them.
CHANGED = {"separation_excess": "separation − null", "abs_sensitivity": "sensitivity",
           "abs_slope_1": "|slope| of 5–9",
           "pretrained_balanced_accuracy": "pre-trained balanced accuracy"}
#: The joint regression's terms, with the unit of their coefficient.
JOINT_TERMS = {"separation_excess": "per unit of separation",
               "pretrain_prevalence": "per unit of pre-training share",
               "pretrained_balanced_accuracy": "per unit of baseline balanced accuracy"}


@dataclass(frozen=True)
class PooledGroups:
    """Every group of every dataset with its slope and explanations.

    Attributes
    ----------
    groups : pd.DataFrame
        :func:`group_explanations` rows of all datasets, plus ``abs_slope``.
    from_cache : dict[str, bool]
        Dataset -> whether its encoders were read from the earlier chapters' caches.
    """

    groups: pd.DataFrame
    from_cache: dict[str, bool]


def pooled_groups(
    mnist: MnistData,
    data_dir: str | os.PathLike,
    cache_dir: str | os.PathLike,
    *,
    seed: int,
    seeds: Sequence[int],
    alphas: Sequence[float],
    mnist_epochs: int,
    mnist_head_epochs: int,
    tabular: Mapping[str, Mapping[str, int | None]],
    tabular_epochs: int,
    tabular_head_epochs: int,
    metric: str = "cross_entropy",
    n_permutations: int = 100,
) -> PooledGroups:
    """Coloured MNIST (chapter 03's settings and cache) and the tables (chapter 04's), per group.

    Used by chapter 06.

    Parameters
    ----------
    mnist : MnistData
    data_dir, cache_dir : path
        Where the tables are read from and the chapters' caches live.
    seed : int
        Splits, colours and Random attributes.
    seeds, alphas
        Pre-training seeds and allocation grid.
    mnist_epochs, mnist_head_epochs : int
        SimpleCNN pre-training cap and the retrained head's epochs.
    tabular : mapping
        Table name -> ``{"k_train", "k_val", "max_rows"}``.
    tabular_epochs, tabular_head_epochs : int
        The tables' pre-training cap and head epochs.
    metric : str
        Sweep metric of the slope.
    n_permutations : int
        Separation's permutation null.

    Returns
    -------
    PooledGroups
    """
    mnist_data = coloured_mnist_protocol(mnist, seed=seed)
    attrs = ["digit_group", "colour", "Random"]
    sizes = paper_splits(mnist.source, len(mnist.labels))
    mnist_cache = Path(cache_dir) / "03_coloured_mnist"
    runs = protocol.pretrained_embeddings(mnist_data, SimpleCNN, seeds=seeds,
                                          config=paper_pretrain_config(mnist_epochs),
                                          cache_dir=mnist_cache, progress=False)
    sep = protocol.separation_by_seed(mnist_data, runs, attributes=attrs,
                                      n_permutations=n_permutations, n_bootstrap=0)
    sweeps = protocol.allocation_sweeps(
        mnist_data, runs, attributes=attrs, alphas=alphas,
        k_train=protocol.feasible_k(mnist_data, attrs, sizes["k_train"]),
        k_val=protocol.feasible_k(mnist_data, attrs, sizes["k_val"], split="val_pool"),
        head=HeadConfig(max_epochs=mnist_head_epochs), store_dir=mnist_cache / "sweeps",
        progress=False)
    groups = [group_explanations(mnist_data, runs, sweeps, sep, metric=metric)]
    from_cache = {"coloured_mnist": all(r.from_cache for r in runs.values())}
    for name, k in tabular.items():
        data = tab.tabular_protocol(name, data_dir, seed=seed, max_rows=k["max_rows"])
        result = protocol.run_protocol(
            data, tab.tabular_mlp_factory(data.x.shape[1]), seeds=seeds,
            config=paper_pretrain_config(tabular_epochs), alphas=alphas, k_train=k["k_train"],
            k_val=k["k_val"], head=HeadConfig(max_epochs=tabular_head_epochs),
            cache_dir=cache_dir, estimators=[POOLED_HISTOGRAM], n_permutations=n_permutations,
            n_bootstrap=0)
        groups.append(group_explanations(data, result.runs, result.sweeps, result.separation,
                                         metric=metric))
        from_cache[name] = all(r.from_cache for r in result.runs.values())
    table = pd.concat(groups, ignore_index=True)
    table["abs_slope"] = table["slope"].abs()
    return PooledGroups(table, from_cache)


#: The scope the paper works in: one point per attribute, correlated within each dataset.
ATTRIBUTE_SCOPE = "per attribute, within dataset"


def attribute_level(groups: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, attribute): the groups' mean slope and mean |slope|, the attribute's
    separation and class-prevalence gap, and the group-level predictors of its under-represented
    group (the smaller pre-training share; the first group on a tie).

    Examples
    --------
    >>> groups = pd.DataFrame({"dataset": "d", "attribute": "a", "group": [0, 1],
    ...     "slope": [-0.2, -0.4], "abs_slope": [0.2, 0.4], "separation_excess": 0.1,
    ...     "pretrain_prevalence": [0.7, 0.3], "baseline_balanced_accuracy": [0.9, 0.8],
    ...     "class_prevalence": [0.4, 0.5], "class_prevalence_gap": 0.1})
    >>> row = attribute_level(groups).iloc[0]
    >>> round(float(row["slope"]), 3), float(row["pretrain_prevalence"]), float(row["class_prevalence"])
    (-0.3, 0.3, 0.5)
    """
    keys = ["dataset", "attribute"]
    means = groups.groupby(keys)[["slope", "abs_slope", "separation_excess",
                                  "class_prevalence_gap"]].mean()
    minority = groups.loc[groups.groupby(keys)["pretrain_prevalence"].idxmin()].set_index(keys)
    rest = [p for p in PREDICTORS if p not in means.columns]
    return means.join(minority[rest]).reset_index()


def correlation_table(groups: pd.DataFrame, *, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """:func:`explanation_correlations` of :data:`PREDICTORS` with the slope and with |slope|.

    Used by chapter 06.

    Scopes: :data:`ATTRIBUTE_SCOPE` (one point per attribute, :func:`attribute_level`, centred
    within dataset: the paper's), ``"pooled"`` (every group), ``"pooled, within dataset"``
    (groups centred within dataset) and each dataset alone.

    Returns
    -------
    pd.DataFrame
        The correlation rows with ``scope`` and ``outcome`` (``"slope"``, ``"abs_slope"``).
    """
    frames = []
    for outcome in ("slope", "abs_slope"):
        kw = {"outcome": outcome, "predictors": PREDICTORS, "n_boot": n_boot, "seed": seed}
        frames.append(pd.concat([
            explanation_correlations(attribute_level(groups), center_within="dataset", **kw)
            .assign(scope=ATTRIBUTE_SCOPE),
            explanation_correlations(groups, **kw).assign(scope="pooled"),
            explanation_correlations(groups, center_within="dataset", **kw)
            .assign(scope="pooled, within dataset"),
            *[explanation_correlations(part, **kw).assign(scope=name)
              for name, part in groups.groupby("dataset")],
        ]).assign(outcome=outcome))
    return pd.concat(frames, ignore_index=True)


def scope_rows(correlations: pd.DataFrame, scope: str, outcome: str = "slope") -> pd.DataFrame:
    """The :func:`correlation_table` rows of one scope and outcome, indexed by predictor."""
    part = correlations[(correlations["scope"] == scope) & (correlations["outcome"] == outcome)]
    return part.set_index("predictor")


@dataclass(frozen=True)
class ControlledExperiment:
    """The controlled experiment's encoders and what each arm compares.

    Attributes
    ----------
    arms : pd.DataFrame
        :func:`controlled_outcomes` rows with ``arm`` and ``abs_slope_1``; the regulariser arm's
        λ = 0 level repeats the colour arm's independent-colour encoders (the same data).
    encoders : pd.DataFrame
        The same rows with every encoder once (for the joint regression).
    references, extremes : dict[str, str]
        Arm -> its reference level, and its most extreme level.
    order : list of str
        Every level, in display order.
    k_train, k_val, n_pretrain, reserve : int
        Sweep sizes, the pre-training set size and the pool rows lent to it.
    """

    arms: pd.DataFrame
    encoders: pd.DataFrame
    references: dict[str, str]
    extremes: dict[str, str]
    order: list[str]
    k_train: int
    k_val: int
    n_pretrain: int
    reserve: int


def controlled_experiment(
    mnist: MnistData,
    cache_dir: str | os.PathLike,
    *,
    seed: int,
    prevalences: Sequence[float],
    colour_pairs: Sequence[Sequence[float]],
    penalty: str,
    lambdas: Sequence[float],
    seeds: Sequence[int],
    epochs: int,
    alphas: Sequence[float],
    head_epochs: int,
    metric: str = "cross_entropy",
    n_permutations: int = 100,
) -> ControlledExperiment:
    """Three arms on coloured MNIST: pre-training prevalence, colour correlation, a regulariser.

    Used by chapter 06.

    Encoders and sweeps share chapter 05's cache (``cache_dir/05_tv_regularisation``): its
    unregularised encoders are the colour arm's reference and its ``penalty`` encoders the
    regulariser arm. Every sweep uses the largest K that every variant's pool can fill.

    Parameters
    ----------
    mnist : MnistData
    cache_dir : path
    seed : int
        Splits, colours, the lent rows and the prevalence subsamples.
    prevalences : sequence of float
        Shares of digits 5–9 in the pre-training set; must contain 0.5 (the reference).
    colour_pairs : sequence of (float, float)
        P(green) for digits below 5 and 5 or above; the first pair is the reference.
    penalty, lambdas
        The regulariser arm's penalty and its weights.
    seeds, epochs, alphas, head_epochs, metric, n_permutations
        Pre-training seeds and cap, the sweep grid, head epochs, slope metric, permutations.

    Returns
    -------
    ControlledExperiment
    """
    base = coloured_mnist_protocol(mnist, seed=seed)
    sizes = paper_splits(mnist.source, len(mnist.labels))
    n_pretrain = len(base.splits["pretrain_train"])
    reserve = prevalence_reserve(base, CONTROL_ATTRIBUTE, prevalences, n=n_pretrain, seed=seed)
    prevalence_arm = {f"{p:.0%}": prevalence_variant(base, CONTROL_ATTRIBUTE, p, n=n_pretrain,
                                                     reserve=reserve, seed=seed)
                      for p in prevalences}
    colour_arm = {f"P(green) {p0:g} / {p1:g}": coloured_mnist_protocol(mnist, seed=seed,
                                                                      colour_prob=(p0, p1))
                  for p0, p1 in colour_pairs}
    variants = {**prevalence_arm, **colour_arm}
    k_train = min(protocol.feasible_k(v, [CONTROL_ATTRIBUTE], sizes["k_train"])
                  for v in variants.values())
    k_val = min(protocol.feasible_k(v, [CONTROL_ATTRIBUTE], sizes["k_val"], split="val_pool")
                for v in variants.values())
    settings = OutcomeSettings(alphas=tuple(alphas), k_train=k_train, k_val=k_val,
                               head=HeadConfig(max_epochs=head_epochs), metric=metric,
                               n_permutations=n_permutations)
    kw = {"attribute": CONTROL_ATTRIBUTE, "seeds": seeds, "config": paper_pretrain_config(epochs),
          "cache_dir": Path(cache_dir) / "05_tv_regularisation", "settings": settings,
          "progress": False}
    levels = {f"{penalty} λ = {lam:g}": lam for lam in lambdas}
    encoders = pd.concat([
        controlled_outcomes(prevalence_arm, SimpleCNN, **kw).assign(arm="prevalence"),
        controlled_outcomes(colour_arm, SimpleCNN, **kw).assign(arm="colour"),
        *[controlled_outcomes({level: base}, SimpleCNN, penalty=penalty, lam=lam, **kw)
          .assign(arm="regulariser") for level, lam in levels.items()],
    ], ignore_index=True)
    encoders["abs_slope_1"] = encoders["slope_1"].abs()
    references = {"prevalence": f"{0.5:.0%}", "colour": next(iter(colour_arm)),
                  "regulariser": f"{penalty} λ = 0"}
    arms = pd.concat([encoders, encoders[(encoders["arm"] == "colour")
                                         & (encoders["level"] == references["colour"])]
                      .assign(arm="regulariser", level=references["regulariser"])],
                     ignore_index=True)
    extremes = {"prevalence": f"{min(prevalences):.0%}", "colour": list(colour_arm)[-1],
                "regulariser": list(levels)[-1]}
    return ControlledExperiment(arms, encoders, references, extremes,
                                [*variants, references["regulariser"], *levels], k_train, k_val,
                                n_pretrain, reserve)


def control_summary(arms: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds of :data:`CONTROL_QUANTITIES`, per (arm, level), with a bootstrap interval
    over the test rows (encoders fixed) where the quantity has draws, else the seeds' range alone.

    Used by chapter 06.

    Returns
    -------
    pd.DataFrame
        ``arm, level, mean, ci_low, ci_high, n_seeds, seed_min, seed_max, interval, quantity``
        (the quantity's label; :func:`latentsep.row_bootstrap.draws_summary`).
    """
    return pd.concat([
        draws_summary(arms.rename(columns={q: "mean", q + DRAWS: "mean" + DRAWS}), "mean",
                      ["arm", "level"]).assign(quantity=label)
        for q, label in CONTROL_QUANTITIES.items()
    ], ignore_index=True)


def arm_changes(experiment: ControlledExperiment) -> pd.DataFrame:
    """:func:`paired_change` of :data:`CHANGED` from each arm's reference level, paired by seed.

    Used by chapter 06.
    """
    arms = experiment.arms
    return pd.concat([
        paired_change(arms[arms["arm"] == arm], column="level", reference=ref,
                      quantities=list(CHANGED), keys=["arm"])
        for arm, ref in experiment.references.items()
    ], ignore_index=True)


def change_of(changes: pd.DataFrame, arm: str, level: str, quantity: str) -> pd.Series:
    """The :func:`arm_changes` row of one (arm, level, quantity)."""
    rows = changes[(changes["arm"] == arm) & (changes["level"] == level)
                   & (changes["quantity"] == quantity)]
    if rows.empty:
        raise ValueError(f"no change of {quantity!r} at level {level!r} of arm {arm!r}.")
    return rows.iloc[0]
