"""Adult and COMPAS wired into the paper's protocol: real tables with real demographic subgroups.

:func:`tabular_protocol` turns :func:`latentsep.data.tabular.load_adult` /
:func:`~latentsep.data.tabular.load_compas` into a :class:`~latentsep.experiments.protocol.ProtocolData`
whose five parts are disjoint, label-stratified random splits of the rows: the encoder (a
:class:`~latentsep.models.TabularMLP`, built by :func:`tabular_mlp_factory`) is pre-trained on
``pretrain_train`` / ``pretrain_val`` only, separation is measured on ``test`` and the fine-tuning
sets are drawn from ``pool`` / ``val_pool``, as the paper's protocol asks (§5). The paper has no
tabular experiment: the fractions below are ours (recorded in the data's ``source`` sentence).

The generic protocol runner and its summaries live in :mod:`latentsep.experiments.protocol`
(:func:`~latentsep.experiments.protocol.run_protocol`,
:func:`~latentsep.experiments.protocol.protocol_summaries`, ...). :func:`attribute_table` says what
each attribute's "1" means (chapter 04).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from latentsep.allocation import split_indices
from latentsep.checks import check_choice, check_fraction, check_positive_int
from latentsep.data.tabular import (
    ADULT_ATTRIBUTES,
    COMPAS_ATTRIBUTES,
    TabularData,
    load_adult,
    load_compas,
)
from latentsep.experiments.protocol import SPLITS, ProtocolData
from latentsep.formatting import interval
from latentsep.metrics import prevalence_gap
from latentsep.models.tabular import TabularMLP

__all__ = [
    "DEFAULT_FRACTIONS",
    "TABULAR_DATASETS",
    "attribute_table",
    "tabular_mlp_factory",
    "tabular_protocol",
]

TABULAR_DATASETS: dict[str, Callable[..., TabularData]] = {"adult": load_adult, "compas": load_compas}

#: Row fractions per part (ours). The pool is the largest part so that K can stay large for the
#: attributes with a small group (Adult ``CapitalGain``, COMPAS ``JuvenileRecord``). COMPAS gets a
#: larger test part: the histogram estimator needs >= 50 rows in every class-group cell, and
#: COMPAS's smallest cell (no recidivism, juvenile record) is ~4 % of the rows.
DEFAULT_FRACTIONS: dict[str, dict[str, float]] = {
    "adult": {"pretrain_train": 0.25, "pretrain_val": 0.05, "test": 0.20, "pool": 0.40,
              "val_pool": 0.10},
    "compas": {"pretrain_train": 0.20, "pretrain_val": 0.05, "test": 0.25, "pool": 0.40,
               "val_pool": 0.10},
}


def _check_fractions(fractions: Mapping[str, float]) -> dict[str, float]:
    if set(fractions) != set(SPLITS):
        raise ValueError(
            f"fractions must have exactly the keys {list(SPLITS)}; got {sorted(fractions)}."
        )
    out = {name: check_fraction(float(fractions[name]), f"fractions[{name!r}]", low_open=True)
           for name in SPLITS}
    if not np.isclose(sum(out.values()), 1.0):
        raise ValueError(
            f"fractions must sum to 1 (every row belongs to one part); got {sum(out.values()):.4f} "
            f"from {out}."
        )
    return out


def tabular_protocol(
    name: str,
    data_dir: str | Path = "data",
    *,
    fractions: Mapping[str, float] | None = None,
    seed: int = 0,
    max_rows: int | None = None,
) -> ProtocolData:
    """Adult or COMPAS as a :class:`ProtocolData` with a disjoint pre-training split.

    Parameters
    ----------
    name : {"adult", "compas"}
        Dataset (Adult: income > 50K, 48,842 rows; COMPAS: two-year recidivism, 6,172 rows after
        ProPublica's filter). Attributes as defined in :mod:`latentsep.data.tabular`, ``Random``
        last.
    data_dir : str or Path
        Data root (``make data`` fills it).
    fractions : mapping, optional
        Row fractions of ``pretrain_train, pretrain_val, test, pool, val_pool`` (each > 0,
        summing to 1); default :data:`DEFAULT_FRACTIONS` of the dataset.
    seed : int
        Seed of the split (stratified by label, so every part has the dataset's label rate) and
        of the ``Random`` attribute.
    max_rows : int, optional
        Keep a seeded, label-stratified random subset of this many rows first (for quick runs);
        default all rows.

    Returns
    -------
    ProtocolData
        ``x`` float32 (N, F) standardised features, ``y`` (N,), ``attributes`` (N, A) 0/1 ints.
    """
    check_choice(name, "name", tuple(TABULAR_DATASETS))
    fractions = _check_fractions(DEFAULT_FRACTIONS[name] if fractions is None else fractions)
    table = TABULAR_DATASETS[name](data_dir, seed=seed)
    rows = np.arange(len(table.y))
    if max_rows is not None and max_rows < len(rows):
        check_positive_int(max_rows, "max_rows", minimum=len(SPLITS))
        rows = split_indices(len(rows), [max_rows], seed, stratify=table.y)[0]
    x, y, attributes = table.x[rows], table.y[rows], table.attributes.iloc[rows].reset_index(drop=True)
    parts = split_indices(len(y), [fractions[s] for s in SPLITS], seed, stratify=y)
    shares = ", ".join(f"{s} {fractions[s]:.0%} ({len(p):,})" for s, p in zip(SPLITS, parts,
                                                                               strict=True))
    source = (
        f"{name.upper() if name == 'compas' else name.title()}: {len(y):,} of {len(table.y):,} "
        f"rows, {x.shape[1]} features, {attributes.shape[1]} attributes; source: "
        f"{table.source}. Label-stratified random parts (ours; the paper has no tabular "
        f"experiment), seed {seed}: {shares}."
    )
    return ProtocolData(name=name, x=x, y=y, attributes=attributes,
                        splits=dict(zip(SPLITS, parts, strict=True)), source=source)


def tabular_mlp_factory(
    in_dim: int, hidden: Sequence[int] = (128, 64), dropout: float = 0.1
) -> Callable[[], TabularMLP]:
    """A picklable zero-argument factory of :class:`TabularMLP` (``in_dim → hidden … → 2``).

    The embedding the protocol studies is the last hidden layer (``hidden[-1]`` wide).
    """
    TabularMLP(in_dim, hidden, 2, dropout)  # validate the arguments now, not in a worker later
    return partial(TabularMLP, in_dim, tuple(hidden), 2, dropout)


#: What "1" means for each attribute, by dataset (``Random`` is Bernoulli(0.5) everywhere).
ATTRIBUTE_DEFINITIONS: dict[str, dict[str, tuple]] = {"adult": ADULT_ATTRIBUTES,
                                                      "compas": COMPAS_ATTRIBUTES}


def attribute_table(data: Mapping[str, ProtocolData], titles: Mapping[str, str]) -> pd.DataFrame:
    """Each attribute of Adult / COMPAS, what its "1" means and its groups' sizes in the pool.

    Used by chapter 04 to introduce the attributes.

    Parameters
    ----------
    data : mapping
        Dataset key (``"adult"``, ``"compas"``) -> :func:`tabular_protocol` output.
    titles : mapping
        Dataset key -> name shown in the ``dataset`` column.

    Returns
    -------
    pd.DataFrame
        ``dataset, attribute, 1 means, share of 1 (pool), smallest group (pool)``, the class-
        prevalence gap ``P(Y=1|A=1) − P(Y=1|A=0) (pool)`` with its 95 % interval, and ``equal
        P(Y|A)``: ``"no: outside the theorem"`` when that interval excludes 0
        (:func:`latentsep.metrics.prevalence_gap`; the theorem assumes equal class prevalence).
    """
    rows = []
    for key, d in data.items():
        check_choice(key, "data key", tuple(ATTRIBUTE_DEFINITIONS))
        pool = d.attributes.iloc[d.splits["pool"]]
        for attribute in d.attributes.columns:
            defined = ATTRIBUTE_DEFINITIONS[key].get(attribute)
            gap = prevalence_gap(d.y[d.splits["pool"]], pool[attribute].to_numpy())
            rows.append({"dataset": titles[key], "attribute": attribute,
                         "1 means": defined[0] if defined else "Bernoulli(0.5)",
                         "share of 1 (pool)": pool[attribute].mean(),
                         "smallest group (pool)": int(min(pool[attribute].sum(),
                                                          (1 - pool[attribute]).sum())),
                         "P(Y=1|A=1) − P(Y=1|A=0) (pool)": interval(
                             gap["gap"], gap["ci_low"], gap["ci_high"]),
                         "equal P(Y|A)": "no: outside the theorem" if gap["outside"] else "yes"})
    return pd.DataFrame(rows)
