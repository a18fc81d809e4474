"""HAM10000 with the ISIC 2018 Task 3 test labels (paper §5.3).

Files read under ``root`` (the Harvard Dataverse record doi:10.7910/DVN/DBW86T or its Kaggle copy):

* ``HAM10000_metadata.csv`` (Kaggle, comma) or ``HAM10000_metadata.tab`` (Dataverse, tab): columns
  ``lesion_id,image_id,dx,dx_type,age,sex,localization[,dataset]`` — older copies lack ``dataset``,
  and then the Dataset attribute is unavailable (the manifest says so).
* images ``<image_id>.jpg`` in ``HAM10000_images_part_1/`` or ``HAM10000_images_part_2/`` (both
  searched; also ``HAM10000_images/`` and ``root`` itself, as zip extractions differ).
* optional ISIC 2018 Task 3 test labels ``ISIC2018_Task3_Test_GroundTruth(.csv|.tab)`` (also inside
  a folder of that name) in either official format: the challenge's one-hot
  ``image,MEL,NV,BCC,AKIEC,BKL,DF,VASC`` or Dataverse's HAM10000 schema; images in
  ``ISIC2018_Task3_Test_Images/``. Only the HAM10000 schema carries sex, age, site and source, so
  with the one-hot file every attribute but Random is unknown on the test rows.

Definitions (1 vs 0; <NA> = unknown, excluded from that attribute's analyses and counted):

* label: ``dx`` in {mel, akiec} (melanoma, actinic keratosis / intraepithelial carcinoma).
* Sex: ``male`` vs ``female``; ``unknown`` or empty -> <NA>.
* Age: ``age > 50`` (strictly; exactly 50 -> 0); empty -> <NA>.
* Dataset: ``dataset`` in {vidir_molemax, rosendahl} vs any other source; empty -> <NA>.
* Localization: extremities (upper extremity, lower extremity, hand, foot, acral) vs central
  (back, trunk, abdomen, chest, face, neck, scalp, ear, genital); ``unknown``/empty -> <NA>.

Splits are lesion-level (all images of a lesion share a split): ``n_pretrain`` images (paper:
2,000) for pre-training, ``val_fraction`` of HAM10000 images for validation, the rest as the
fine-tuning pool; the test split is the ISIC 2018 test set or a lesion-level hold-out of HAM10000.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from latentsep.checks import check_choice, check_fraction, check_positive_int
from latentsep.data._tables import (
    DatasetTable,
    binary_from,
    check_root,
    file_problems,
    find_file,
    finish,
    group_split,
    read_header,
    read_table,
)

WHERE = (
    "The HAM10000 Dataverse record (doi:10.7910/DVN/DBW86T) ships HAM10000_metadata (.tab; the "
    "Kaggle copy HAM10000_metadata.csv) and HAM10000_images_part_1/_part_2 in one directory."
)
TEST_WHERE = (
    "The ISIC 2018 Task 3 test labels are ISIC2018_Task3_Test_GroundTruth (.csv from the ISIC "
    "challenge, .tab from Dataverse) next to ISIC2018_Task3_Test_Images/."
)
DX = ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")
ONE_HOT = ("MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC")
LOCALIZATION = {
    **dict.fromkeys(["upper extremity", "lower extremity", "hand", "foot", "acral"], 1),
    **dict.fromkeys(
        ["back", "trunk", "abdomen", "chest", "face", "neck", "scalp", "ear", "genital"], 0),
}
SEX = {"male": 1, "female": 0}
IMAGE_DIRS = ("HAM10000_images_part_1", "HAM10000_images_part_2", "HAM10000_images", ".")
TEST_IMAGE_DIRS = ("ISIC2018_Task3_Test_Images", ".")
META_CANDIDATES = ("HAM10000_metadata.csv", "HAM10000_metadata.tab", "HAM10000_metadata")
META_COLUMNS = ("lesion_id", "image_id", "dx", "age", "sex", "localization")
GT_STEM = "ISIC2018_Task3_Test_GroundTruth"
GT_CANDIDATES = [f"{d}{GT_STEM}{ext}" for d in ("", f"{GT_STEM}/")
                 for ext in (".csv", ".tab", "")]


def _mapped(values: pd.Series, mapping: dict[str, int], column: str, source: Path,
            unknown: tuple[str, ...] = ("unknown",)) -> pd.Series:
    """Int8 column from a value -> 0/1 mapping; ``unknown`` values and blanks -> <NA>."""
    text = values.astype("string").str.strip().str.lower()
    text = text.mask(text.isin(unknown) | (text == ""))
    bad = text.notna() & ~text.isin(list(mapping))
    if bad.any():
        raise ValueError(
            f"{source} column {column!r} holds unexpected value(s) "
            f"{sorted(text[bad].unique())[:5]}; expected {sorted(mapping)} or "
            f"{list(unknown)}. Use the unmodified official file."
        )
    return pd.Series(text.map(mapping), index=values.index, dtype="Int8")


def _attributes(meta: pd.DataFrame, source: Path) -> pd.DataFrame:
    """Label and attributes of HAM10000-schema rows (``Dataset`` only if the column exists)."""
    dx = meta["dx"].astype("string").str.strip().str.lower()
    if not dx.isin(DX).all():
        raise ValueError(
            f"{source} column 'dx' holds {sorted(dx[~dx.isin(DX)].unique())[:5]}; expected "
            f"{list(DX)}. Use the unmodified official file."
        )
    age = pd.to_numeric(meta["age"], errors="raise")
    out = pd.DataFrame(
        {
            "dx": dx,
            "label": dx.isin(["mel", "akiec"]).astype(np.int64),
            "Sex": _mapped(meta["sex"], SEX, "sex", source),
            "Age": binary_from(age > 50, age.notna()),
            "Localization": _mapped(meta["localization"], LOCALIZATION, "localization", source),
        },
        index=meta.index,
    )
    if "dataset" in meta:
        name = meta["dataset"].astype("string").str.strip().str.lower()
        name = name.mask(name == "")
        out["Dataset"] = binary_from(name.isin(["vidir_molemax", "rosendahl"]).fillna(False),
                                     name.notna())
    return out


def _read_ham_schema(path: Path, where: str) -> pd.DataFrame:
    meta = read_table(path, required=META_COLUMNS, optional=["dataset"], where=where,
                      dtype={"lesion_id": "string", "image_id": "string"})
    return pd.concat([meta[["lesion_id", "image_id"]], _attributes(meta, path)], axis=1)


def _read_one_hot(path: Path) -> pd.DataFrame:
    gt = read_table(path, required=["image", *ONE_HOT], where=TEST_WHERE,
                    dtype={"image": "string"})
    onehot = gt[list(ONE_HOT)].to_numpy(dtype=float)
    if not (np.isin(onehot, [0.0, 1.0]).all() and (onehot.sum(axis=1) == 1).all()):
        raise ValueError(f"{path}: each row must hold exactly one 1.0 among {list(ONE_HOT)}. "
                         "Use the unmodified official file.")
    dx = pd.Series(np.array(ONE_HOT)[onehot.argmax(axis=1)], dtype="string").str.lower()
    unknown = pd.Series(pd.NA, index=gt.index, dtype="Int8")
    # Each image is its own lesion group: the one-hot file has no lesion ids.
    return pd.DataFrame({"lesion_id": gt["image"], "image_id": gt["image"], "dx": dx,
                         "label": dx.isin(["mel", "akiec"]).astype(np.int64), "Sex": unknown,
                         "Age": unknown, "Localization": unknown})


def read_isic2018_test(path: Path) -> tuple[pd.DataFrame, str]:
    """ISIC 2018 Task 3 test labels in either official format; returns (rows, format name)."""
    header = read_header(path)
    if "image_id" in header and "dx" in header:
        return _read_ham_schema(path, TEST_WHERE), "ham10000-schema"
    if "image" in header and "MEL" in header:
        return _read_one_hot(path), "one-hot"
    raise ValueError(
        f"{path} has columns {header[:10]}; expected the one-hot header "
        f"image,{','.join(ONE_HOT)} or the HAM10000 schema "
        "lesion_id,image_id,dx,dx_type,age,sex,localization,dataset. " + TEST_WHERE
    )


def _image_index(root: Path, folders: tuple[str, ...]) -> dict[str, Path]:
    """Map ``<image_id>`` -> path of ``<image_id>.jpg`` in the first folder that has it."""
    index: dict[str, Path] = {}
    for folder in reversed(folders):  # earlier folders take precedence
        directory = root / folder
        if directory.is_dir():
            index.update({p.stem: p for p in directory.glob("*.jpg")})
    return index


def _attach_paths(rows: pd.DataFrame, index: dict[str, Path], missing_images: str,
                  where: str) -> tuple[pd.DataFrame, int]:
    paths = rows["image_id"].map(lambda i: str(index[i]) if i in index else None)
    missing = paths.isna().to_numpy()
    if missing.any() and (missing_images == "raise" or missing.all()):
        raise FileNotFoundError(
            f"{int(missing.sum())} of {len(rows)} images are missing, first "
            f"{rows['image_id'][missing].iloc[0]}.jpg. {where}"
        )
    return rows.assign(path=paths).loc[~missing], int(missing.sum())


def layout_problems(root: str | os.PathLike) -> list[str]:
    """Every missing file, folder or column under ``root``, without reading the tables.

    The checks :func:`load_ham10000` makes one at a time, made all at once (for a preflight).
    """
    try:
        root = check_root(root, "root", "HAM10000_metadata(.csv|.tab) and HAM10000_images_part_1/")
    except (ValueError, FileNotFoundError) as err:
        return [str(err)]
    problems = file_problems(root, META_CANDIDATES, META_COLUMNS, argument="root", where=WHERE)
    if not any(next((root / d).glob("*.jpg"), None) for d in IMAGE_DIRS):
        problems.append(f"no <image_id>.jpg in any of {list(IMAGE_DIRS)} under {root}. " + WHERE)
    return problems


def load_ham10000(
    root: str | os.PathLike | None,
    *,
    test_source: str = "auto",
    n_pretrain: int = 2000,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
    missing_images: str = "drop",
) -> DatasetTable:
    """Load HAM10000 with the paper's label and attributes and lesion-level splits.

    Parameters
    ----------
    root : path
        Directory holding ``HAM10000_metadata`` and the image folders (and, optionally, the
        ISIC 2018 Task 3 test labels and images).
    test_source : {"auto", "isic2018", "holdout"}
        ``isic2018``: the ISIC 2018 test set is the test split (its labels must be present);
        ``holdout``: a lesion-level ``test_fraction`` of HAM10000; ``auto``: ``isic2018`` when the
        test labels exist in the HAM10000 schema (which carries the attributes), else ``holdout``.
    n_pretrain : int
        Images in the pre-training split (whole lesions, so within one lesion of this number).
    val_fraction, test_fraction : float
        Fractions of HAM10000 images for validation and (``holdout`` only) test.
    seed : int
        Seed of the split and of ``Random``.
    missing_images : {"drop", "raise"}
        Rows whose image is absent are dropped and counted (the official test labels list
        ``ISIC_0035068``, which has no image) or raise. No image at all always raises.

    Returns
    -------
    DatasetTable
        Columns ``id`` (image_id), ``path``, ``lesion_id``, ``dx``, ``label``, attributes,
        ``split`` and ``source`` (``ham10000`` or ``isic2018_test``).
    """
    check_choice(test_source, "test_source", ["auto", "isic2018", "holdout"])
    check_choice(missing_images, "missing_images", ["drop", "raise"])
    check_positive_int(n_pretrain, "n_pretrain", minimum=0)
    check_fraction(val_fraction, "val_fraction")
    check_fraction(test_fraction, "test_fraction")
    root = check_root(root, "root", "HAM10000_metadata(.csv|.tab) and HAM10000_images_part_1/")
    meta_path = find_file(root, META_CANDIDATES, argument="root", where=WHERE)
    ham = _read_ham_schema(meta_path, WHERE).assign(source="ham10000")
    ham, missing_ham = _attach_paths(ham, _image_index(root, IMAGE_DIRS), missing_images,
                                     f"HAM10000 images are <image_id>.jpg in {IMAGE_DIRS[:2]}. "
                                     + WHERE)
    counts = {"ham10000_rows_read": len(ham) + missing_ham,
              "dropped_missing_image": missing_ham}
    sources = {"metadata": str(meta_path)}
    notes = []
    if "Dataset" not in ham:
        notes.append(f"{meta_path.name} has no 'dataset' column (older copy): the Dataset "
                     "attribute is unavailable. The Dataverse release has it.")

    gt_path = next((root / c for c in GT_CANDIDATES if (root / c).is_file()), None)
    test, gt_format = (None, None) if gt_path is None else read_isic2018_test(gt_path)
    if test_source == "auto":
        test_source = "isic2018" if gt_format == "ham10000-schema" else "holdout"
    if test_source == "isic2018":
        if test is None:
            find_file(root, GT_CANDIDATES, argument="root", where=TEST_WHERE)  # raises
        test, missing_test = _attach_paths(test.assign(source="isic2018_test"),
                                           _image_index(root, TEST_IMAGE_DIRS), missing_images,
                                           TEST_WHERE)
        counts.update(isic2018_test_rows_read=len(test) + missing_test,
                      dropped_missing_image=missing_ham + missing_test)
        sources["test_labels"] = str(gt_path)
        notes.append(f"Test split: ISIC 2018 Task 3 test set ({gt_format} labels).")
        if gt_format == "one-hot":
            notes.append("One-hot test labels carry no metadata: Sex, Age, Localization and "
                         "Dataset are unknown on every test row.")
        elif "Dataset" in ham and ("Dataset" not in test or test["Dataset"].isna().any()):
            notes.append("The test labels lack 'dataset' values: Dataset is unknown there.")
        fractions = {"pretrain": n_pretrain / len(ham), "pool": 0.0, "val_pool": val_fraction}
    else:
        notes.append(f"Test split: lesion-level hold-out of {test_fraction:.0%} of HAM10000.")
        fractions = {"pretrain": n_pretrain / len(ham), "pool": 0.0, "val_pool": val_fraction,
                     "test": test_fraction}
    fractions["pool"] = 1.0 - sum(fractions.values())
    if fractions["pool"] <= 0:
        raise ValueError(
            f"n_pretrain={n_pretrain} with val_fraction={val_fraction}"
            f"{'' if 'test' not in fractions else f' and test_fraction={test_fraction}'} leaves "
            f"no fine-tuning pool out of {len(ham)} HAM10000 images; lower them."
        )
    ham["split"] = group_split(ham["lesion_id"].to_numpy(), fractions, seed)
    table = ham if test_source == "holdout" else pd.concat([ham, test.assign(split="test")],
                                                           ignore_index=True)
    attributes = ["Sex", "Age"] + (["Dataset"] if "Dataset" in ham else []) + ["Localization"]
    table = table.rename(columns={"image_id": "id"})
    for a in attributes:
        table[a] = table[a].astype("Int8")
    definitions = {
        "label": "dx in {mel, akiec}",
        "Sex": "male vs female; unknown/empty -> unknown",
        "Age": "age > 50 (strict); empty -> unknown",
        "Dataset": "dataset in {vidir_molemax, rosendahl} vs other sources; empty -> unknown",
        "Localization": "extremities " + str(sorted(k for k, v in LOCALIZATION.items() if v))
        + " vs central " + str(sorted(k for k, v in LOCALIZATION.items() if not v))
        + "; unknown/empty -> unknown",
    }
    columns = ["id", "path", "lesion_id", "dx", "label", *attributes, "split", "source"]
    return finish("ham10000", table[columns], attributes, seed=seed, counts=counts,
                  definitions={k: v for k, v in definitions.items()
                               if k == "label" or k in attributes},
                  notes=notes, sources=sources)
