"""Coloured MNIST wired into the paper's protocol (§5.1).

:func:`coloured_mnist_protocol` turns MNIST into a :class:`~latentsep.experiments.protocol.ProtocolData`:
label = digit parity, attributes ``digit_group`` (digit ≥ 5; the paper's A), ``colour`` (green; the
paper's S) and ``Random`` (the null control), images coloured by
:func:`latentsep.data.coloured.make_coloured_mnist`, and the paper's disjoint splits from
:func:`latentsep.data.mnist.mnist_splits` (pre-training 5,000 / 1,000 and test 4,000 from the MNIST
test set, fine-tuning pool 48,000 / validation pool 12,000 from the training set; every size scaled
by N / 70,000 on the 10,000 offline digits). :func:`split_table` says which sizes were used.

One extra split, ``"pool_sample"``, holds the paper's test-set size (4,000) of held-out pool rows
(or the whole pool when it is smaller): the encoder never saw them, so latent separation on them
is what the paper's estimator gives at the paper's sample size even when the test split is scaled
down. It is used only for that comparison, never for training.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from latentsep.data.coloured import make_coloured_mnist
from latentsep.data.mnist import (
    PAPER_K,
    PAPER_PARTS,
    MnistData,
    describe_source,
    mnist_splits,
    paper_splits,
)
from latentsep.experiments.protocol import ProtocolData
from latentsep.models.training import PretrainConfig

PAPER_TEST_SIZE = PAPER_PARTS["test"]
# The paper's names: A = digit group, S = colour.
ATTRIBUTES = ("colour", "digit_group", "Random")
ATTRIBUTE_LABELS = {"colour": "colour (S)", "digit_group": "digit group (A)", "Random": "Random"}
GROUP_LABELS = {"colour": {0: "red", 1: "green"}, "digit_group": {0: "< 5", 1: "≥ 5"},
                "Random": {0: "Random = 0", 1: "Random = 1"}}


def group_label(attribute: str, group: int | str) -> str:
    """Readable name of a group (``"red"``, ``"≥ 5"``, …); ``"all"`` for the whole test set."""
    return GROUP_LABELS.get(attribute, {}).get(group, str(group))


def coloured_mnist_protocol(
    mnist: MnistData, *, seed: int = 0, colour_prob: float | Sequence[float] = 0.5
) -> ProtocolData:
    """Coloured MNIST with the paper's label, attributes and splits.

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
    """The paper's split sizes next to the ones used here.

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
    early stopping 10) with an optional epoch cap and a fixed thread count for reproducibility."""
    return PretrainConfig(max_epochs=max_epochs, num_threads=num_threads)
