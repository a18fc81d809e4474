"""One dataset prepared for the protocol: inputs, labels, attributes and the five splits.

:class:`ProtocolData` holds them; :func:`feasible_k` caps a set size at what every allocation can
fill, and :func:`resize_pretraining` changes the size of the pre-training split (for
investigations). Attributes may hold missing values (e.g. unrecorded demographics); rows where an
attribute is missing are left out of everything computed for that attribute, and only for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from latentsep.checks import as_binary, check_choice, check_positive_int, check_splits
from latentsep.store import (
    fingerprint,
)

SPLITS = ("pretrain_train", "pretrain_val", "test", "pool", "val_pool")


@dataclass(frozen=True)
class ProtocolData:
    """One dataset prepared for the paper's protocol.

    Attributes
    ----------
    name : str
        Short dataset name (appears in cache metadata).
    x : np.ndarray
        float32 model inputs, shape (N, ...): images (N, C, H, W) or tabular features (N, F).
    y : np.ndarray
        (N,) binary task label (stored as int64).
    attributes : pd.DataFrame
        N rows, one 0/1 column per attribute (including ``"Random"``); missing values (NA) mark
        rows where the attribute is unknown, which every computation for that attribute skips.
    splits : dict[str, np.ndarray]
        ``"pretrain_train"``, ``"pretrain_val"``, ``"test"``, ``"pool"``, ``"val_pool"`` ->
        int64 row indices, pairwise disjoint (stored as int64). Further keys are allowed.
    source : str
        Provenance sentence for chapters to print.
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    attributes: pd.DataFrame
    splits: dict[str, np.ndarray]
    source: str

    def __post_init__(self) -> None:
        if not isinstance(self.x, np.ndarray) or self.x.ndim < 2 or self.x.dtype != np.float32:
            raise ValueError(
                f"ProtocolData.x must be a float32 array of shape (N, ...); got "
                f"{type(self.x).__name__} {getattr(self.x, 'dtype', '')} "
                f"{getattr(self.x, 'shape', '')}. Convert with x.astype(np.float32)."
            )
        n = len(self.x)
        object.__setattr__(self, "y", as_binary(self.y, "ProtocolData.y", n))
        if not isinstance(self.attributes, pd.DataFrame) or len(self.attributes) != n:
            raise ValueError(
                f"ProtocolData.attributes must be a DataFrame with one row per input ({n}); got "
                f"{type(self.attributes).__name__} of length {len(self.attributes)}."
            )
        if self.attributes.shape[1] == 0:
            raise ValueError("ProtocolData.attributes has no columns; add at least one 0/1 attribute.")
        for name in self.attributes.columns:
            values = pd.unique(self.attributes[name].dropna())
            if not np.isin(values, [0, 1]).all():
                raise ValueError(
                    f"ProtocolData.attributes[{name!r}] must hold 0/1 (or NA); found "
                    f"{sorted(values.tolist())[:10]}. Encode the attribute as 0/1."
                )
        splits = check_splits(self.splits, SPLITS, n, "ProtocolData.splits")
        object.__setattr__(self, "splits", splits)

    @property
    def n(self) -> int:
        """Number of rows N."""
        return len(self.x)

    @cached_property
    def x_fingerprint(self) -> str:
        """:func:`latentsep.store.fingerprint` of ``x`` (hashed once; ~1 s per GB)."""
        return fingerprint(self.x)

    def attribute(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Values and availability of one attribute.

        Returns
        -------
        values : np.ndarray
            (N,) int64 0/1, with 0 where the attribute is missing.
        known : np.ndarray
            (N,) bool, False where it is missing.
        """
        if name not in self.attributes.columns:
            raise ValueError(
                f"unknown attribute {name!r} of {self.name}; available: {list(self.attributes.columns)}."
            )
        column = self.attributes[name]
        known = column.notna().to_numpy()
        values = column.where(column.notna(), 0).to_numpy().astype(np.int64)
        return values, known

    def split_sizes(self) -> pd.DataFrame:
        """Rows per split (one row per split name, column ``n``)."""
        return pd.DataFrame({"split": list(self.splits), "n": [len(v) for v in self.splits.values()]})


def attribute_names(data: ProtocolData, attributes: Sequence[str] | None) -> list[str]:
    names = list(data.attributes.columns) if attributes is None else list(attributes)
    if not names:
        raise ValueError("attributes is empty; name at least one column of data.attributes.")
    for name in names:
        data.attribute(name)  # raises for unknown names
    return names


def feasible_k(data: ProtocolData, attributes: Sequence[str], k: int, split: str = "pool") -> int:
    """The largest set size ≤ ``k`` that every allocation α ∈ [0, 1] of every attribute can fill.

    At α = 1 a set of size K needs K rows of group 1 (and at α = 0, K of group 0), so K is capped at
    the smallest group of ``split`` over ``attributes`` (rows where an attribute is missing do not
    count). The caller should say so when the result is below ``k``.

    Returns
    -------
    int
        ``min(k, min over attributes and groups of the group's size in split)``.
    """
    k = check_positive_int(k, "k")
    check_choice(split, "split", tuple(data.splits))
    idx = data.splits[split]
    smallest = k
    for name in attribute_names(data, attributes):
        values, known = data.attribute(name)
        for group in (0, 1):
            smallest = min(smallest, int(((values[idx] == group) & known[idx]).sum()))
    if smallest == 0:
        raise ValueError(
            f"some attribute in {list(attributes)} has an empty group in split {split!r}; no "
            "allocation sweep is possible. Drop that attribute or re-split the data."
        )
    return smallest


def resize_pretraining(data: ProtocolData, n_pretrain: int, *, seed: int = 0) -> ProtocolData:
    """The same data with a pre-training split of ``n_pretrain`` rows, to study its effect.

    Smaller than the current split: a seeded random subset of it. Larger: the current split plus
    ``n_pretrain − len`` rows moved out of the fine-tuning pool (which shrinks accordingly, so
    the parts stay disjoint). Validation, validation-pool and test splits are unchanged; splits
    other than the five protocol parts are dropped.
    """
    train, pool = data.splits["pretrain_train"], data.splits["pool"]
    n_pretrain = check_positive_int(n_pretrain, "n_pretrain", minimum=2)
    if n_pretrain > len(train) + len(pool) - 2:
        raise ValueError(
            f"n_pretrain={n_pretrain} needs {n_pretrain - len(train)} rows from a pool of "
            f"{len(pool)}; choose n_pretrain <= {len(train) + len(pool) - 2}."
        )
    rng = np.random.default_rng(seed)
    if n_pretrain <= len(train):
        train = np.sort(rng.choice(train, n_pretrain, replace=False))
    else:
        moved = rng.choice(pool, n_pretrain - len(train), replace=False)
        train, pool = np.sort(np.concatenate([train, moved])), np.setdiff1d(pool, moved)
    splits = {name: data.splits[name] for name in SPLITS} | {"pretrain_train": train, "pool": pool}
    return ProtocolData(data.name, data.x, data.y, data.attributes, splits, data.source)
