"""CivilComments in the WILDS or Jigsaw (Kaggle) layout (paper §5.4).

Files accepted under ``root`` (first found wins):

* ``civilcomments_v1.0/all_data_with_identities.csv`` or ``all_data_with_identities.csv`` — the
  WILDS archive (written with the pandas index: first header cell empty), label ``toxicity``,
  WILDS split kept as ``official_split``;
* ``all_data.csv`` — Jigsaw Unintended Bias, label ``toxicity``, Kaggle split as
  ``official_split``;
* ``train.csv`` — Jigsaw competition training file, label ``target``, no split.

Only rows with identity annotations (``identity_annotator_count > 0``) are kept; the manifest
counts the others. Definitions (all thresholds inclusive, as in WILDS):

* label: toxicity (``target`` in ``train.csv``) >= 0.5.
* Gender / SexualOrientation / Religion / Race: 1 if any identity of the family has a score >= 0.5
  (families in :data:`FAMILIES`), else 0. A blank identity score in an annotated row is counted as
  "not mentioned" and the number of such rows is recorded.
* Year: year of ``created_date`` >= 2017.

Splits are row-level and seeded: ``pretrain`` 4 % and ``test`` 5 % as in the paper, ``val_pool``
(``val_fraction``, ours) and the rest as the fine-tuning ``pool``.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from latentsep.checks import check_fraction
from latentsep.data._tables import (
    DatasetTable,
    binary_from,
    check_root,
    file_problems,
    find_file,
    finish,
    group_split,
    read_table,
)

FAMILIES: dict[str, tuple[str, ...]] = {
    "Gender": ("male", "female", "transgender", "other_gender"),
    "SexualOrientation": ("heterosexual", "homosexual_gay_or_lesbian", "bisexual",
                          "other_sexual_orientation"),
    "Religion": ("christian", "jewish", "muslim", "hindu", "buddhist", "atheist",
                 "other_religion"),
    "Race": ("black", "white", "asian", "latino", "other_race_or_ethnicity"),
}
CANDIDATES = ("civilcomments_v1.0/all_data_with_identities.csv", "all_data_with_identities.csv",
              "all_data.csv", "train.csv")
WHERE = (
    "WILDS unpacks civilcomments_v1.0/all_data_with_identities.csv; the Jigsaw Unintended Bias "
    "Kaggle competition ships all_data.csv and train.csv. Point root at the directory holding one."
)
THRESHOLD = 0.5


def required_columns(file_name: str) -> list[str]:
    """Columns the adapter reads from ``file_name`` (``train.csv`` calls the label ``target``)."""
    label_column = "target" if file_name == "train.csv" else "toxicity"
    identities = [c for family in FAMILIES.values() for c in family]
    return ["id", "comment_text", "created_date", label_column, "identity_annotator_count",
            *identities]


def layout_problems(root: str | os.PathLike) -> list[str]:
    """The missing file or columns under ``root``, without reading the table (for a preflight)."""
    try:
        root = check_root(root, "root", "all_data_with_identities.csv (WILDS) or all_data.csv / "
                                        "train.csv (Kaggle)")
        path = find_file(root, CANDIDATES, argument="root", where=WHERE)
    except (ValueError, FileNotFoundError) as err:
        return [str(err)]
    return file_problems(root, [str(path.relative_to(root))], required_columns(path.name),
                         argument="root", where=WHERE)


def load_civilcomments(
    root: str | os.PathLike | None,
    *,
    pretrain_fraction: float = 0.04,
    test_fraction: float = 0.05,
    val_fraction: float = 0.10,
    seed: int = 0,
) -> DatasetTable:
    """Load CivilComments with the paper's label, identity-family attributes and splits.

    Parameters
    ----------
    root : path
        Directory holding one of :data:`CANDIDATES`.
    pretrain_fraction, test_fraction, val_fraction : float
        Row fractions of the pre-training, test and validation splits (paper: 4 % and 5 %; the
        validation share is ours). The rest is the fine-tuning pool.
    seed : int
        Seed of the split and of ``Random``.

    Returns
    -------
    DatasetTable
        Columns ``id`` (comment id as str), ``text``, ``label``, ``toxicity``, attributes,
        ``split`` and ``official_split`` when the file has one.
    """
    for value, name in ((pretrain_fraction, "pretrain_fraction"),
                        (test_fraction, "test_fraction"), (val_fraction, "val_fraction")):
        check_fraction(value, name)
    pool = 1.0 - pretrain_fraction - test_fraction - val_fraction
    if pool <= 0:
        raise ValueError(
            f"pretrain_fraction + test_fraction + val_fraction = {1 - pool:.3f} leaves no "
            "fine-tuning pool; make their sum smaller than 1."
        )
    root = check_root(root, "root", "all_data_with_identities.csv (WILDS) or all_data.csv / "
                                    "train.csv (Kaggle)")
    path = find_file(root, CANDIDATES, argument="root", where=WHERE)
    required = required_columns(path.name)
    label_column, identities = required[3], required[5:]
    raw = read_table(
        path,
        required=required,
        optional=["split"],
        where=WHERE,
        dtype={"comment_text": "string", "created_date": "string"},
    )
    annotated = raw["identity_annotator_count"].fillna(0) > 0
    data = raw.loc[annotated].reset_index(drop=True)
    scores = data[identities]
    counts = {
        "rows_read": len(raw),
        "dropped_no_identity_annotation": int((~annotated).sum()),
        "annotated_rows_with_blank_identity_score": int(scores.isna().any(axis=1).sum()),
    }
    if data[label_column].isna().any():
        raise ValueError(f"{path} column {label_column!r} has {int(data[label_column].isna().sum())}"
                         " blank value(s) in annotated rows; use the unmodified official file.")
    year = pd.to_numeric(data["created_date"].str.slice(0, 4), errors="coerce")
    if year.isna().any():
        first = data.loc[year.isna(), "created_date"].iloc[0]
        raise ValueError(f"{path} column 'created_date' has unparsable value {first!r}; expected "
                         "'YYYY-MM-DD HH:MM:SS.ffffff+00'.")
    table = pd.DataFrame(
        {
            "id": data["id"].astype("int64").astype(str),
            "text": data["comment_text"].fillna(""),
            "label": (data[label_column] >= THRESHOLD).astype(np.int64),
            "toxicity": data[label_column].astype(float),
            **{
                family: binary_from((scores[list(cols)].fillna(0.0) >= THRESHOLD).any(axis=1))
                for family, cols in FAMILIES.items()
            },
            "Year": binary_from(year >= 2017),
        }
    )
    fractions = {"pretrain": pretrain_fraction, "pool": pool, "val_pool": val_fraction,
                 "test": test_fraction}
    table["split"] = group_split(table["id"].to_numpy(), fractions, seed)
    if "split" in data:
        table["official_split"] = data["split"].astype("string")
    attributes = [*FAMILIES, "Year"]
    definitions = {
        "label": f"{label_column} >= 0.5",
        **{f: f"any of {list(c)} >= 0.5" for f, c in FAMILIES.items()},
        "Year": "created_date year >= 2017",
    }
    return finish(
        "civilcomments", table, attributes, seed=seed, counts=counts, definitions=definitions,
        notes=[f"Read {path.name}; val_fraction {val_fraction} is ours (paper: 4 % pre-training,"
               " 5 % test)."],
        sources={"comments": str(path)},
    )
