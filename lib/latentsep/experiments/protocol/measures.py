"""Latent separation and transfer gaps per pre-training seed (step 2 of the protocol, paper §4).

:func:`separation_by_seed` estimates the class-conditional latent separation of every attribute on
the **test** split's embeddings, once per pre-training seed; :func:`transfer_by_seed` does the same
for the cross-group transfer gap; :func:`separation_differences` compares attributes pairwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from latentsep.checks import check_choice
from latentsep.experiments.protocol.data import ProtocolData, attribute_names
from latentsep.experiments.protocol.encoders import EncoderRun
from latentsep.separation import estimator_name, separation_table
from latentsep.stats import (
    summarise_seeds,
)
from latentsep.transfer import transfer_table


def _separation_rows(z: np.ndarray, y: np.ndarray, attrs: dict[str, np.ndarray],
                     kw: dict[str, Any]) -> pd.DataFrame:
    """:func:`separation_table` plus a ``note`` column; the authors' estimator may be undefined.

    With bins on group 0's range (``edges="reference"``), a component along which group 1 lies
    entirely outside group 0's range leaves group 1 an empty histogram: 0/0, which the authors'
    code turns into NaN. That attribute's row gets NaN values and the reason in ``note``; the
    other attributes are still estimated (each on the same shared PCA).
    """
    try:
        return separation_table(z, y, attrs, **kw).assign(note="")
    except ValueError:
        if kw["edges"] != "reference" or kw["method"] != "histogram":
            raise
    rows = []
    for name, values in attrs.items():
        try:
            rows.append(separation_table(z, y, {name: values}, **kw).assign(note=""))
        except ValueError as err:
            rows.append(pd.DataFrame({"attribute": [name], "method": ["histogram"], "value": [np.nan],
                                      "note": [f"undefined with bins on group 0's range: {err}"]}))
    return pd.concat(rows, ignore_index=True)


def separation_by_seed(
    data: ProtocolData,
    runs: Mapping[int, EncoderRun],
    *,
    methods: Sequence[str] = ("histogram",),
    edges: str = "pooled",
    n_permutations: int = 200,
    n_bootstrap: int = 200,
    pca_variance: float | None = 0.70,
    bins: int = 50,
    seed: int = 0,
    attributes: Sequence[str] | None = None,
    split: str = "test",
) -> pd.DataFrame:
    """Latent separation of each attribute on the test split's embeddings, per pre-training seed.

    Attributes known on every test row share one PCA (as in the paper); an attribute with missing
    values is estimated on its known test rows with their own PCA.

    Parameters
    ----------
    data, runs
        From :func:`pretrained_embeddings`.
    methods : sequence of str
        Estimators of :func:`latentsep.separation.latent_separation` (``"histogram"``,
        ``"classifier"``, ``"gaussian"``, …).
    edges : {"pooled", "reference"}
        Histogram bin range; ``"reference"`` is the authors' estimator exactly.
    n_permutations, n_bootstrap, pca_variance, bins, seed
        As in :func:`latentsep.separation.latent_separation`; the same ``seed`` for every run.
        ``pca_variance=0.70`` is the paper's §4 (PCA to 70 % of the variance), ``None`` every
        embedding dimension (the authors' MNIST notebook); see ``Protocol.separation_options``.
    attributes : sequence of str, optional
        Default: every column of ``data.attributes``.
    split : str
        Rows to estimate on (paper: ``"test"``); another split of held-out rows shows how the
        estimate depends on the sample size.

    Returns
    -------
    pd.DataFrame
        One row per (seed, estimator, attribute): ``seed, attribute, method, estimator, value,
        ci_low, ci_high, null_mean, excess, p_value, n_components, note``; ``estimator`` is
        ``"histogram/<edges>"`` for histograms, else the method. ``note`` is empty unless the
        authors' estimator (``edges="reference"``) is undefined for that attribute and seed (a
        component separates the groups completely); the row's numbers are then NaN.
    """
    names = attribute_names(data, attributes)
    if not runs:
        raise ValueError("runs is empty; pass the dict returned by pretrained_embeddings.")
    test = data.splits[check_choice(split, "split", tuple(data.splits))]
    y = data.y[test]
    columns = {name: data.attribute(name) for name in names}
    complete = [n for n in names if columns[n][1][test].all()]
    blocks = [(np.ones(len(test), bool), complete)] if complete else []
    blocks += [(columns[n][1][test], [n]) for n in names if n not in complete]
    frames = []
    for run_seed, run in runs.items():
        for method in methods:
            kw = {"method": method, "pca_variance": pca_variance, "bins": bins, "edges": edges,
                  "n_permutations": n_permutations, "n_bootstrap": n_bootstrap, "seed": seed}
            for keep, block in blocks:
                attrs = {n: columns[n][0][test][keep] for n in block}
                table = _separation_rows(run.z[test][keep], y[keep], attrs, kw)
                table.insert(0, "seed", run_seed)
                table.insert(3, "estimator", estimator_name(method, edges))
                frames.append(table)
    out = pd.concat(frames, ignore_index=True)
    rank = out["attribute"].map({n: i for i, n in enumerate(names)})
    order = np.lexsort((rank.to_numpy(), out["estimator"].to_numpy(), out["seed"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def transfer_by_seed(
    data: ProtocolData,
    runs: Mapping[int, EncoderRun],
    *,
    attributes: Sequence[str] | None = None,
    split: str = "test",
    seed: int = 0,
    **kw: Any,
) -> pd.DataFrame:
    """Transfer gap (:mod:`latentsep.transfer`) of each attribute on the test split, per seed.

    Parameters
    ----------
    data, runs
        From :func:`pretrained_embeddings`.
    attributes : sequence of str, optional
        Default: every column of ``data.attributes``; missing values leave a row out of that
        attribute only.
    split : str
        Rows to estimate on (the same held-out rows as the separation).
    seed : int
        Seed of the cross-fitting (the same for every encoder).
    **kw
        Keywords of :func:`latentsep.transfer.transfer_table`.

    Returns
    -------
    pd.DataFrame
        One row per (seed, attribute): ``seed`` then the columns of ``transfer_table``.
    """
    names = attribute_names(data, attributes)
    if not runs:
        raise ValueError("runs is empty; pass the dict returned by pretrained_embeddings.")
    rows = data.splits[check_choice(split, "split", tuple(data.splits))]
    attrs = {}
    for name in names:
        values, known = data.attribute(name)
        attrs[name] = np.where(known[rows], values[rows], np.nan)
    frames = [transfer_table(run.z[rows], data.y[rows], attrs, seed=seed, **kw)
              .assign(seed=run_seed) for run_seed, run in runs.items()]
    out = pd.concat(frames, ignore_index=True)
    return out[["seed", *out.columns.drop("seed")]]


def separation_differences(
    sep: pd.DataFrame, pairs: Sequence[tuple[str, str]], column: str = "value"
) -> pd.DataFrame:
    """Paired differences of separation between attributes, with t-intervals across seeds.

    Both attributes of a pair are measured on the same encoder, so the difference is taken within
    each seed and estimator before summarising (which removes the encoder's shared variation).

    Parameters
    ----------
    sep : pd.DataFrame
        From :func:`separation_by_seed`.
    pairs : sequence of (str, str)
        ``(first, second)`` attribute pairs; the difference is first minus second.
    column : str
        ``"value"`` or ``"excess"``.

    Returns
    -------
    pd.DataFrame
        ``estimator, first, second, difference, se, ci_low, ci_high, n_seeds``.
    """
    wide = sep.pivot_table(index=["estimator", "seed"], columns="attribute", values=column)
    frames = []
    for first, second in pairs:
        for name in (first, second):
            if name not in wide.columns:
                raise ValueError(f"attribute {name!r} is not in sep; have {list(wide.columns)}.")
        diff = (wide[first] - wide[second]).rename("difference").reset_index()
        frames.append(summarise_seeds(diff, "difference", ["estimator"])
                      .assign(first=first, second=second))
    out = pd.concat(frames, ignore_index=True)
    return out[["estimator", "first", "second", "difference", "se", "ci_low", "ci_high", "n_seeds"]]
