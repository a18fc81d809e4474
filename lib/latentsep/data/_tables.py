"""Shared helpers for the real-dataset adapters (MIMIC-CXR, HAM10000, CivilComments).

The adapters read the *official* file layouts, so every error here names the file or column that is
missing and where the official release puts it. Attribute columns are pandas nullable ``Int8``:
1, 0, or ``<NA>`` when the source does not say (e.g. HAM10000 ``sex == "unknown"``). Unknowns are
never folded into a group silently; :meth:`DatasetTable.indices` restricts a split to the rows
where an attribute is known, and the manifest counts them.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from latentsep.fileio import atomic_write_json

#: Split names used by every adapter, in the order they are filled.
SPLITS = ("pretrain", "pool", "val_pool", "test")


@dataclass
class DatasetTable:
    """One dataset ready for the allocation pipeline.

    Attributes
    ----------
    name : str
        Dataset name, e.g. ``"mimic-cxr"``.
    table : pandas.DataFrame
        One row per example with columns ``id`` (str), ``path`` (absolute image path) or ``text``,
        ``label`` (int 0/1), one nullable ``Int8`` column per attribute (1/0/<NA>), ``split``
        (one of :data:`SPLITS`) and optional source columns (e.g. ``official_split``).
    attributes : tuple of str
        Attribute column names, always ending with ``"Random"``.
    manifest : dict
        JSON-serialisable record: ``splits`` (split -> list of ids), ``counts`` (rows read, rows
        dropped and why), ``unknown`` (attribute -> number of rows with <NA>), ``definitions``
        (attribute -> rule in words), ``notes``, ``sources`` and ``seed``.
    """

    name: str
    table: pd.DataFrame = field(repr=False)
    attributes: tuple[str, ...]
    manifest: dict[str, Any] = field(default_factory=dict, repr=False)

    def labels(self) -> np.ndarray:
        """Labels as an int64 array of shape (n_rows,)."""
        return self.table["label"].to_numpy(dtype=np.int64)

    def attribute_values(self, name: str) -> np.ndarray:
        """Attribute ``name`` as int64 (n_rows,) with 1/0 and -1 where unknown."""
        if name not in self.attributes:
            raise ValueError(
                f"attribute {name!r} is not in dataset {self.name!r}; choose one of "
                f"{list(self.attributes)}."
            )
        return self.table[name].fillna(-1).to_numpy(dtype=np.int64)

    def indices(self, split: str, attribute: str | None = None) -> np.ndarray:
        """Row positions (int64) of ``split``, optionally only rows where ``attribute`` is known."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {list(SPLITS)}; got {split!r}.")
        mask = (self.table["split"] == split).to_numpy()
        if attribute is not None:
            mask = mask & (self.attribute_values(attribute) >= 0)
        return np.flatnonzero(mask)

    def write_manifest(self, path: str | os.PathLike) -> Path:
        """Write the manifest as JSON (atomically) and return its path."""
        return atomic_write_json(path, self.manifest, indent=1)


def check_root(root: str | os.PathLike | None, argument: str, expected: str) -> Path:
    """Return ``root`` as a ``Path`` if it is an existing directory, else raise naming the fix.

    ``expected`` describes what the directory should contain (shown in the error).
    """
    if root is None or str(root) == "":
        raise ValueError(f"{argument} is not set; point it at the directory that holds {expected}.")
    path = Path(root).expanduser().resolve()
    if not path.is_dir():
        raise FileNotFoundError(
            f"{argument}={str(root)!r} is not an existing directory; point it at the directory "
            f"that holds {expected}."
        )
    return path


def find_file(root: Path, candidates: Sequence[str], *, argument: str, where: str) -> Path:
    """Return the first existing ``root / candidate``; otherwise raise naming all candidates.

    Parameters
    ----------
    root : Path
        Directory searched.
    candidates : sequence of str
        Relative paths in order of preference (e.g. ``.csv.gz`` before ``.csv``).
    argument : str
        Name of the root argument, for the message.
    where : str
        Where the official release puts the file (shown in the error).
    """
    for rel in candidates:
        if (root / rel).is_file():
            return root / rel
    raise FileNotFoundError(
        f"none of {list(candidates)} found under {argument}={str(root)!r}. {where} "
        f"Check that {argument} points at the dataset's top-level directory."
    )


def file_problems(root: Path, candidates: Sequence[str], required: Sequence[str], *,
                  argument: str, where: str) -> list[str]:
    """What :func:`find_file` and :func:`read_table` would raise for one file, without raising.

    Returns
    -------
    list of str
        Empty when a candidate exists and holds every ``required`` column; otherwise one line
        naming the missing file (all candidates) or the missing columns.
    """
    try:
        path = find_file(root, candidates, argument=argument, where=where)
        header = read_header(path)
    except (FileNotFoundError, ValueError, OSError, UnicodeDecodeError) as err:
        return [str(err)]
    missing = [c for c in required if c not in header]
    return [f"{path} lacks column(s) {missing}. {where}"] if missing else []


def _open_text(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(
        path, encoding="utf-8"
    )


def sniff_delimiter(path: Path) -> str:
    """Tab if the header line holds a tab (Dataverse ``.tab`` exports), else comma."""
    with _open_text(path) as fh:
        header = fh.readline()
    return "\t" if "\t" in header else ","


def read_header(path: Path) -> list[str]:
    """Column names of a delimited file (first cell may be empty, as in pandas index dumps)."""
    return list(pd.read_csv(path, sep=sniff_delimiter(path), nrows=0).columns)


def read_table(
    path: Path,
    *,
    required: Sequence[str],
    where: str,
    optional: Sequence[str] = (),
    dtype: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Read the ``required`` (and present ``optional``) columns of a csv / csv.gz / tab file.

    Parameters
    ----------
    path : Path
        File to read; gzip is inferred from the ``.gz`` suffix and the delimiter is sniffed.
    required : sequence of str
        Columns that must be present.
    where : str
        Where the official release documents these columns (shown in the error).
    optional : sequence of str
        Columns read when present.
    dtype : mapping, optional
        pandas dtypes per column.

    Raises
    ------
    ValueError
        If a required column is missing: the message names the file, the missing columns, the
        columns found and ``where``.
    """
    sep = sniff_delimiter(path)
    header = list(pd.read_csv(path, sep=sep, nrows=0).columns)
    missing = [c for c in required if c not in header]
    if missing:
        raise ValueError(
            f"{path} lacks column(s) {missing}; found {header[:20]}"
            f"{' ...' if len(header) > 20 else ''}. {where}"
        )
    wanted = list(required) + [c for c in optional if c in header and c not in required]
    dtype = {k: v for k, v in (dtype or {}).items() if k in wanted}
    # Only empty cells are missing: a comment reading "NA" or "null" stays text.
    return pd.read_csv(path, sep=sep, usecols=wanted, dtype=dtype, keep_default_na=False,
                       na_values=[""])


def group_split(
    groups: np.ndarray | pd.Series, fractions: Mapping[str, float], seed: int
) -> np.ndarray:
    """Assign every row to a split so that no group (patient, lesion) spans two splits.

    Groups are sorted, permuted with ``seed`` and dealt in that order: each split in
    ``fractions`` order takes whole groups until it holds ``fraction * n_rows`` rows, so split sizes
    are within one group's size of their targets and independent of file row order.

    Parameters
    ----------
    groups : array of shape (n_rows,)
        Group key per row (use the row id for row-level splits).
    fractions : mapping split -> float
        Fractions of rows, non-negative and summing to 1.
    seed : int
        Permutation seed.

    Returns
    -------
    numpy.ndarray of str, shape (n_rows,)
    """
    values = np.array(list(fractions.values()), dtype=float)
    if (values < 0).any() or not np.isclose(values.sum(), 1.0):
        raise ValueError(
            f"split fractions must be non-negative and sum to 1; got {dict(fractions)}. "
            "Adjust them (the last split usually takes the remainder)."
        )
    keys, inverse, sizes = np.unique(np.asarray(groups), return_inverse=True, return_counts=True)
    order = np.random.default_rng(seed).permutation(len(keys))
    # Cumulative row count after each permuted group, compared with cumulative split targets.
    filled = np.cumsum(sizes[order]) - sizes[order]
    bounds = np.rint(np.cumsum(values) * sizes.sum())  # integer row targets: no float drift
    split_of_rank = np.searchsorted(bounds, filled, side="right").clip(max=len(values) - 1)
    split_of_group = np.empty(len(keys), dtype=np.int64)
    split_of_group[order] = split_of_rank
    names = np.array(list(fractions.keys()), dtype=object)
    return names[split_of_group[inverse]]


def random_attribute(n: int, seed: int) -> pd.Series:
    """Seeded Bernoulli(0.5) null-control attribute ``Random`` of length ``n`` (Int8)."""
    rng = np.random.default_rng([seed, 0x52414E44])  # a stream separate from the split's
    return pd.Series(rng.integers(0, 2, size=n), dtype="Int8")


def binary_from(mask: pd.Series, known: pd.Series | None = None) -> pd.Series:
    """Int8 column: 1 where ``mask``, 0 elsewhere, <NA> where ``known`` is False."""
    out = pd.Series(np.asarray(mask, dtype=bool).astype(np.int8), index=mask.index, dtype="Int8")
    if known is not None:
        out[~np.asarray(known, dtype=bool)] = pd.NA
    return out


def finish(
    name: str,
    table: pd.DataFrame,
    attributes: Sequence[str],
    *,
    seed: int,
    counts: Mapping[str, int],
    definitions: Mapping[str, str],
    notes: Sequence[str],
    sources: Mapping[str, str],
) -> DatasetTable:
    """Sort rows by id, add ``Random``, build the manifest and return the :class:`DatasetTable`.

    ``table`` must already hold ``id``, ``label``, the attribute columns and ``split``.
    """
    table = table.sort_values("id", kind="stable").reset_index(drop=True)
    table["Random"] = random_attribute(len(table), seed)
    attributes = (*attributes, "Random")
    definitions = {**definitions, "Random": f"Bernoulli(0.5) per row, seed {seed}"}
    splits = {s: table.loc[table["split"] == s, "id"].tolist() for s in SPLITS}
    manifest = {
        "dataset": name,
        "seed": seed,
        "n_rows": len(table),
        "splits": splits,
        "split_sizes": {s: len(v) for s, v in splits.items()},
        "label_positive": {s: int(table.loc[table["split"] == s, "label"].sum()) for s in SPLITS},
        "counts": {k: int(v) for k, v in counts.items()},
        "unknown": {a: int(table[a].isna().sum()) for a in attributes},
        "definitions": dict(definitions),
        "notes": list(notes),
        "sources": dict(sources),
    }
    return DatasetTable(name=name, table=table, attributes=attributes, manifest=manifest)


def existing_paths(paths: pd.Series) -> np.ndarray:
    """Boolean array: does each path exist as a file."""
    return np.fromiter((os.path.isfile(p) for p in paths), dtype=bool, count=len(paths))
