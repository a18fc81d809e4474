"""MIMIC-CXR-JPG v2.0.0 / v2.1.0 joined with MIMIC-IV ``hosp`` demographics (paper §5.2).

Users bring their own credentialed copies (PhysioNet). Files read, all under their official names:

* ``<root>/mimic-cxr-2.0.0-metadata.csv.gz`` — one row per image (ViewPosition, procedure,
  patient orientation); ``<root>/mimic-cxr-2.0.0-chexpert.csv.gz`` — one row per study (labels);
  ``<root>/mimic-cxr-2.0.0-split.csv.gz`` (optional) — the official split, kept as
  ``official_split``; images at ``<root>/files/p<2 digits>/p<subject_id>/s<study_id>/<dicom_id>.jpg``.
  Uncompressed ``.csv`` copies are accepted too. v2.1.0 keeps the ``2.0.0`` file names.
* ``<mimic_iv_root>/hosp/patients.csv.gz`` (gender, anchor_age) and
  ``<mimic_iv_root>/hosp/admissions.csv.gz`` (insurance, language, marital_status, race).

Definitions (1 vs 0; <NA> = unknown, excluded from that attribute's analyses and counted):

* label: CheXpert ``Pleural Effusion`` 1.0 -> 1; 0.0 or blank -> 0; -1.0 (uncertain) -> row
  dropped. Images whose study has no CheXpert row are dropped. Both counts go to the manifest.
* ViewPosition: ``AP`` or ``PA`` vs any other non-empty view; empty -> <NA>.
* Procedure: PerformedProcedureStepDescription ``CHEST (PA AND LAT)`` vs any description that
  contains ``PORTABLE`` (e.g. ``CHEST (PORTABLE AP)``); every other description -> <NA>.
* SupportDevices: CheXpert ``Support Devices`` == 1.0 vs anything else (0, -1, blank).
* Orientation: PatientOrientationCodeSequence_CodeMeaning ``Erect`` vs other non-empty; empty -> <NA>.
* Gender: ``M`` vs ``F``. Age: ``anchor_age > 60`` (strictly; exactly 60 -> 0). Patients absent
  from ``patients`` -> <NA>.
* Insurance (private): MIMIC-IV v3 has ``Private`` -> 1, every other value -> 0. v2.2 has only
  ``Medicare`` / ``Medicaid`` / ``Other``: ``Other`` (mostly private payers) is the proxy -> 1. The
  manifest records which mapping was used.
* Language: ``ENGLISH`` / ``English`` vs any other language; ``?`` or empty -> <NA>.
* Married: ``MARRIED`` vs other marital status; empty -> <NA>.
* Race: any value starting with ``WHITE`` vs any other race (``OTHER`` included); ``UNKNOWN``,
  ``UNABLE TO OBTAIN``, ``PATIENT DECLINED TO ANSWER`` or empty -> <NA>.

A patient can have several admissions: for each field separately the value of the most recent
admission (by ``admittime``, ties by ``hadm_id``) whose value for that field is known is used.

Splits are patient-level (no subject in two splits); the paper does not give the proportions, so
``fractions`` (of images) defaults to an assumption of ours, recorded in the manifest.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from latentsep.checks import check_choice
from latentsep.data._tables import (
    DatasetTable,
    binary_from,
    check_root,
    existing_paths,
    file_problems,
    find_file,
    finish,
    group_split,
    read_table,
)

#: Image fractions per split (ours: the paper does not state them).
DEFAULT_FRACTIONS: dict[str, float] = {"pretrain": 0.5, "pool": 0.3, "val_pool": 0.05,
                                     "test": 0.15}

CXR_WHERE = (
    "MIMIC-CXR-JPG (physionet.org/content/mimic-cxr-jpg/) keeps mimic-cxr-2.0.0-metadata.csv.gz, "
    "-chexpert.csv.gz and -split.csv.gz in its top-level directory, next to files/."
)
IV_WHERE = (
    "MIMIC-IV (physionet.org/content/mimiciv/) keeps patients.csv.gz and admissions.csv.gz in "
    "its hosp/ directory."
)
ATTRIBUTES_CXR = ("ViewPosition", "Procedure", "SupportDevices", "Orientation")
ATTRIBUTES_IV = ("Gender", "Insurance", "Language", "Married", "Race", "Age")
#: Columns the adapter reads from each table (the preflight checks the same lists).
METADATA_COLUMNS = ("dicom_id", "subject_id", "study_id", "PerformedProcedureStepDescription",
                    "ViewPosition", "PatientOrientationCodeSequence_CodeMeaning")
CHEXPERT_COLUMNS = ("subject_id", "study_id", "Pleural Effusion", "Support Devices")
PATIENTS_COLUMNS = ("subject_id", "gender", "anchor_age")
ADMISSIONS_COLUMNS = ("subject_id", "hadm_id", "admittime", "insurance", "language",
                      "marital_status", "race")
RACE_UNKNOWN = frozenset({"UNKNOWN", "UNABLE TO OBTAIN", "PATIENT DECLINED TO ANSWER"})


def _candidates(stem: str) -> list[str]:
    return [f"{stem}.csv.gz", f"{stem}.csv"]


def _clean(values: pd.Series) -> pd.Series:
    """Stripped strings with empty cells as <NA>."""
    out = values.astype("string").str.strip()
    return out.mask(out == "")


def read_cxr(root: Path) -> tuple[pd.DataFrame, dict[str, int], dict[str, str]]:
    """Join image metadata with CheXpert labels; return (images, drop counts, source paths)."""
    meta_path = find_file(root, _candidates("mimic-cxr-2.0.0-metadata"), argument="root",
                          where=CXR_WHERE)
    chex_path = find_file(root, _candidates("mimic-cxr-2.0.0-chexpert"), argument="root",
                          where=CXR_WHERE)
    ids = {"subject_id": "int64", "study_id": "int64"}
    meta = read_table(
        meta_path,
        required=METADATA_COLUMNS,
        where=CXR_WHERE,
        dtype={"dicom_id": "string", **ids},
    )
    chex = read_table(
        chex_path, required=CHEXPERT_COLUMNS,
        where=CXR_WHERE, dtype=ids,
    )
    for column in ("Pleural Effusion", "Support Devices"):
        bad = ~chex[column].isin([1.0, 0.0, -1.0]) & chex[column].notna()
        if bad.any():
            raise ValueError(
                f"{chex_path} column {column!r} holds {chex.loc[bad, column].unique()[:5].tolist()}; "
                "CheXpert labels are 1.0, 0.0, -1.0 or blank. Use the unmodified official file."
            )
    images = meta.merge(chex, on=["subject_id", "study_id"], how="left", indicator=True)
    no_label = images["_merge"] == "left_only"
    uncertain = images["Pleural Effusion"] == -1.0
    counts = {
        "images_read": len(meta),
        "dropped_no_chexpert_row": int(no_label.sum()),
        "dropped_uncertain_label": int(uncertain.sum()),
    }
    images = images.loc[~no_label & ~uncertain].drop(columns="_merge")
    sources = {"metadata": str(meta_path), "chexpert": str(chex_path)}
    split_path = next((root / c for c in _candidates("mimic-cxr-2.0.0-split")
                       if (root / c).is_file()), None)
    if split_path is not None:
        official = read_table(split_path, required=["dicom_id", "split"], where=CXR_WHERE,
                              dtype={"dicom_id": "string"})
        images = images.merge(official.rename(columns={"split": "official_split"}),
                              on="dicom_id", how="left")
        sources["split"] = str(split_path)
    return images, counts, sources


def cxr_attributes(images: pd.DataFrame) -> pd.DataFrame:
    """Label and the four image-level attributes of joined CXR rows (see module docstring)."""
    view = _clean(images["ViewPosition"]).str.upper()
    procedure = _clean(images["PerformedProcedureStepDescription"]).str.upper()
    procedure = procedure.str.replace(r"\s+", " ", regex=True)
    pa_lat = procedure == "CHEST (PA AND LAT)"
    portable = procedure.str.contains("PORTABLE", regex=False)
    orientation = _clean(images["PatientOrientationCodeSequence_CodeMeaning"])
    return pd.DataFrame(
        {
            "label": (images["Pleural Effusion"] == 1.0).astype(np.int64),
            "ViewPosition": binary_from(view.isin(["AP", "PA"]).fillna(False), view.notna()),
            "Procedure": binary_from(pa_lat.fillna(False), (pa_lat | portable).fillna(False)),
            "SupportDevices": binary_from(images["Support Devices"] == 1.0),
            "Orientation": binary_from((orientation.str.lower() == "erect").fillna(False),
                                       orientation.notna()),
        },
        index=images.index,
    )


def _hosp(mimic_iv_root: Path) -> Path:
    return mimic_iv_root / "hosp" if (mimic_iv_root / "hosp").is_dir() else mimic_iv_root


def layout_problems(root: str | os.PathLike, mimic_iv_root: str | os.PathLike | None = None
                    ) -> list[str]:
    """Every missing file, folder or column of the two roots, without reading the tables.

    The checks :func:`load_mimic_cxr` makes one at a time, made all at once (for a preflight).
    """
    problems = []
    try:
        root = check_root(root, "root", "mimic-cxr-2.0.0-metadata.csv.gz and files/")
    except (ValueError, FileNotFoundError) as err:
        problems.append(str(err))
    else:
        for stem, columns in (("mimic-cxr-2.0.0-metadata", METADATA_COLUMNS),
                              ("mimic-cxr-2.0.0-chexpert", CHEXPERT_COLUMNS)):
            problems += file_problems(root, _candidates(stem), columns, argument="root",
                                      where=CXR_WHERE)
        if not (root / "files").is_dir():
            problems.append(f"no images folder {root / 'files'}; MIMIC-CXR-JPG stores images as "
                            "files/p<first 2 digits of subject_id>/p<subject_id>/s<study_id>/"
                            "<dicom_id>.jpg.")
    if mimic_iv_root is not None:
        try:
            hosp = _hosp(check_root(mimic_iv_root, "mimic_iv_root", "hosp/patients.csv.gz"))
        except (ValueError, FileNotFoundError) as err:
            return [*problems, str(err)]
        for stem, columns in (("patients", PATIENTS_COLUMNS), ("admissions", ADMISSIONS_COLUMNS)):
            problems += file_problems(hosp, _candidates(stem), columns, argument="mimic_iv_root",
                                      where=IV_WHERE)
    return problems


def read_demographics(mimic_iv_root: Path) -> tuple[pd.DataFrame, str, dict[str, str]]:
    """Per-subject demographic attributes from MIMIC-IV ``hosp``.

    Returns
    -------
    (pandas.DataFrame indexed by subject_id with the six Int8 attributes, insurance mapping used,
    source paths)
    """
    hosp = _hosp(mimic_iv_root)
    pat_path = find_file(hosp, _candidates("patients"), argument="mimic_iv_root", where=IV_WHERE)
    adm_path = find_file(hosp, _candidates("admissions"), argument="mimic_iv_root",
                         where=IV_WHERE)
    patients = read_table(pat_path, required=PATIENTS_COLUMNS,
                          where=IV_WHERE, dtype={"subject_id": "int64"})
    adm = read_table(
        adm_path,
        required=ADMISSIONS_COLUMNS,
        where=IV_WHERE + " (MIMIC-IV v1 named the race column 'ethnicity'; use v2.2 or later.)",
        dtype={"subject_id": "int64", "hadm_id": "int64"},
    )
    fields = ["insurance", "language", "marital_status", "race"]
    for column in fields:
        adm[column] = _clean(adm[column])
    adm["language"] = adm["language"].mask(adm["language"] == "?")
    adm["race"] = adm["race"].mask(adm["race"].str.upper().isin(RACE_UNKNOWN))
    adm["admittime"] = pd.to_datetime(adm["admittime"], format="%Y-%m-%d %H:%M:%S")
    # groupby.last skips <NA>: per field, the latest admission whose value is known.
    latest = (adm.sort_values(["subject_id", "admittime", "hadm_id"])
              .groupby("subject_id")[fields].last())
    insurance = latest["insurance"].str.lower()
    if (insurance == "private").any():
        mapping, private = "v3: 'Private' -> 1, other payers -> 0", insurance == "private"
    else:
        mapping, private = "v2.2: 'Other' (proxy for private) -> 1, Medicare/Medicaid -> 0", (
            insurance == "other")
    demo = pd.DataFrame(
        {
            "Insurance": binary_from(private.fillna(False), insurance.notna()),
            "Language": binary_from((latest["language"].str.lower() == "english").fillna(False),
                                    latest["language"].notna()),
            "Married": binary_from((latest["marital_status"].str.upper() == "MARRIED")
                                   .fillna(False), latest["marital_status"].notna()),
            "Race": binary_from(latest["race"].str.upper().str.startswith("WHITE").fillna(False),
                                latest["race"].notna()),
        }
    )
    patients = patients.drop_duplicates("subject_id").set_index("subject_id")
    gender = _clean(patients["gender"]).str.upper()
    person = pd.DataFrame(
        {
            "Gender": binary_from((gender == "M").fillna(False), gender.isin(["M", "F"])
                                  .fillna(False)),
            "Age": binary_from(patients["anchor_age"] > 60, patients["anchor_age"].notna()),
        }
    )
    table = person.join(demo, how="outer")[list(ATTRIBUTES_IV)]
    return table, mapping, {"patients": str(pat_path), "admissions": str(adm_path)}


def load_mimic_cxr(
    root: str | os.PathLike | None,
    mimic_iv_root: str | os.PathLike | None = None,
    *,
    fractions: Mapping[str, float] = DEFAULT_FRACTIONS,
    seed: int = 0,
    missing_images: str = "drop",
) -> DatasetTable:
    """Load MIMIC-CXR-JPG with the paper's label and attributes and patient-level splits.

    Parameters
    ----------
    root : path
        MIMIC-CXR-JPG top-level directory (holds ``mimic-cxr-2.0.0-*.csv.gz`` and ``files/``).
    mimic_iv_root : path, optional
        MIMIC-IV directory holding ``hosp/`` (or the ``hosp`` directory itself). Without it the
        six demographic attributes are left out and the manifest says so.
    fractions : mapping split -> float
        Share of images per split (keys from ``pretrain, pool, val_pool, test``), summing to 1.
    seed : int
        Seed of the patient-level split and of ``Random``.
    missing_images : {"drop", "raise"}
        What to do with rows whose JPEG is absent (e.g. a partial download): drop them (counted
        in the manifest) or raise. If *no* image exists the root is wrong and it always raises.

    Returns
    -------
    DatasetTable
        Columns ``id`` (dicom_id), ``path``, ``subject_id``, ``study_id``, ``label``,
        attributes, ``split`` and, when the split file exists, ``official_split``.
    """
    check_choice(missing_images, "missing_images", ["drop", "raise"])
    root = check_root(root, "root", "mimic-cxr-2.0.0-metadata.csv.gz and files/")
    images, counts, sources = read_cxr(root)
    table = pd.concat([images[["dicom_id", "subject_id", "study_id"]], cxr_attributes(images)],
                      axis=1).rename(columns={"dicom_id": "id"})
    if "official_split" in images:
        table["official_split"] = images["official_split"]
    attributes = list(ATTRIBUTES_CXR)
    notes = [f"Split fractions {dict(fractions)} are ours; the paper does not state them.",
             "MIMIC-CXR-JPG v2.1.0 (has mimic-cxr-2.1.0-test-set-labeled.csv)."
             if (root / "mimic-cxr-2.1.0-test-set-labeled.csv").is_file()
             else "MIMIC-CXR-JPG v2.0.0 (no mimic-cxr-2.1.0-test-set-labeled.csv)."]
    if mimic_iv_root is None:
        notes.append("mimic_iv_root not given: Gender, Insurance, Language, Married, Race and "
                     "Age are unavailable.")
    else:
        iv_root = check_root(mimic_iv_root, "mimic_iv_root", "hosp/patients.csv.gz")
        demo, mapping, iv_sources = read_demographics(iv_root)
        sources.update(iv_sources)
        notes.append(f"Insurance mapping {mapping}.")
        table = table.join(demo, on="subject_id")
        counts["images_of_subjects_without_demographics"] = int(
            (~table["subject_id"].isin(demo.index)).sum())
        attributes += ATTRIBUTES_IV
    subject = table["subject_id"].astype(str)
    table["path"] = [
        str(root / "files" / f"p{s[:2]}" / f"p{s}" / f"s{st}" / f"{d}.jpg")
        for s, st, d in zip(subject, table["study_id"], table["id"], strict=True)
    ]
    exists = existing_paths(table["path"])
    if not exists.all() and (missing_images == "raise" or not exists.any()):
        raise FileNotFoundError(
            f"{int((~exists).sum())} of {len(exists)} images are missing under {root / 'files'}, "
            f"first {table['path'][~exists].iloc[0]}. MIMIC-CXR-JPG stores images as "
            "files/p<first 2 digits of subject_id>/p<subject_id>/s<study_id>/<dicom_id>.jpg; "
            "point root at that release (or pass missing_images='drop' for a partial download)."
        )
    counts["dropped_missing_image"] = int((~exists).sum())
    table = table.loc[exists].reset_index(drop=True)
    table["split"] = group_split(table["subject_id"].to_numpy(), fractions, seed)
    definitions = {
        "label": "CheXpert Pleural Effusion 1.0 -> 1; 0.0/blank -> 0; -1.0 rows dropped",
        "ViewPosition": "AP or PA vs other non-empty views; empty -> unknown",
        "Procedure": "'CHEST (PA AND LAT)' vs descriptions containing 'PORTABLE'; else unknown",
        "SupportDevices": "CheXpert Support Devices == 1.0 vs 0/-1/blank",
        "Orientation": "'Erect' vs other non-empty; empty -> unknown",
        "Gender": "M vs F",
        "Insurance": mapping if mimic_iv_root is not None else "unavailable",
        "Language": "English vs other; '?'/empty -> unknown",
        "Married": "MARRIED vs other; empty -> unknown",
        "Race": "WHITE* vs other races; UNKNOWN/UNABLE TO OBTAIN/DECLINED/empty -> unknown",
        "Age": "anchor_age > 60 (strict)",
        "admissions": "per field, latest admission (admittime, hadm_id) with a known value",
    }
    columns = ["id", "path", "subject_id", "study_id", "label", *attributes, "split"]
    columns += ["official_split"] if "official_split" in table else []
    return finish(
        "mimic-cxr", table[columns], attributes, seed=seed, counts=counts,
        definitions={k: v for k, v in definitions.items() if k in {"label", "admissions",
                                                                   *attributes}},
        notes=notes, sources=sources,
    )
