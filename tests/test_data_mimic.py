"""MIMIC-CXR-JPG + MIMIC-IV adapter on official-layout fixtures (tests/fixtures/mimic).

Fixture rows and what each one exercises (dicom ids end in 01..11, subjects 19990001..6):
01/02 subject 1, one study, PA + LATERAL, Pleural Effusion blank -> label 0;
03 subject 2, portable AP, PE 1.0, Support Devices 1.0, empty orientation, language '?';
04 subject 3, PE -1.0 -> dropped; 05 subject 3, empty ViewPosition, Support Devices -1.0;
06 subject 4, 'CHEST (SINGLE VIEW)' (Procedure unknown), view LL; 07 'CHEST  (PORTABLE AP)';
08 subject 5, absent from MIMIC-IV; 09 subject 6 (no admissions); 10 no CheXpert row -> dropped;
11 labelled but its JPEG is missing (partial download).
Subject 3 is 60 (Age 0) with two admissions; subject 4 is 61 with admissions listed newest first.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from latentsep.data._tables import group_split
from latentsep.data.mimic import load_mimic_cxr

FIXTURE = Path(__file__).parent / "fixtures" / "mimic"
CXR, IV = FIXTURE / "mimic-cxr-jpg", FIXTURE / "mimiciv"
QUARTERS = {"pretrain": 0.25, "pool": 0.25, "val_pool": 0.25, "test": 0.25}
NA = None
# dicom suffix -> ViewPosition, Procedure, SupportDevices, Orientation, label
EXPECTED_CXR = {
    "01": (1, 1, 0, 1, 0), "02": (0, 1, 0, 1, 0), "03": (1, 0, 1, NA, 1),
    "05": (NA, 1, 0, 0, 0), "06": (0, NA, 0, 1, 1), "07": (1, 0, 0, 0, 0),
    "08": (1, 1, 0, 1, 1), "09": (1, 0, 1, 1, 0),
}
# subject -> Gender, Insurance, Language, Married, Race, Age
EXPECTED_IV = {
    19990001: (0, 0, 1, 0, 0, 0),
    19990002: (1, 0, NA, NA, 1, 1),
    19990003: (1, 0, 1, 1, 1, 0),   # latest Medicare; '?', blank, UNKNOWN fall back to older
    19990004: (0, 1, 1, 0, 0, 1),   # newest admission (2180, listed first) wins: Other, WIDOWED
    19990005: (NA,) * 6,
    19990006: (0, NA, NA, NA, NA, 0),
}


@pytest.fixture(scope="module")
def mimic():
    return load_mimic_cxr(CXR, IV, fractions=QUARTERS, seed=0)


def _value(x):
    return None if pd.isna(x) else int(x)


def test_label_and_image_attributes(mimic):
    t = mimic.table.set_index(mimic.table["id"].str[-2:])
    assert sorted(t.index) == sorted(EXPECTED_CXR)
    cols = ["ViewPosition", "Procedure", "SupportDevices", "Orientation", "label"]
    for suffix, expected in EXPECTED_CXR.items():
        assert tuple(_value(t.loc[suffix, c]) for c in cols) == expected, suffix


def test_demographics_and_admission_aggregation(mimic):
    cols = ["Gender", "Insurance", "Language", "Married", "Race", "Age"]
    per_subject = mimic.table.groupby("subject_id")[cols].first()
    for subject, expected in EXPECTED_IV.items():
        row = per_subject.loc[subject]
        assert tuple(_value(row[c]) for c in cols) == expected, subject
    assert mimic.attributes == ("ViewPosition", "Procedure", "SupportDevices", "Orientation",
                                "Gender", "Insurance", "Language", "Married", "Race", "Age",
                                "Random")


def test_drops_are_counted_never_silent(mimic):
    counts = mimic.manifest["counts"]
    assert counts == {"images_read": 11, "dropped_no_chexpert_row": 1,
                      "dropped_uncertain_label": 1, "images_of_subjects_without_demographics": 1,
                      "dropped_missing_image": 1}
    assert mimic.manifest["unknown"]["Language"] == 3
    assert any("v2.2" in note for note in mimic.manifest["notes"])
    assert any("v2.0.0" in note for note in mimic.manifest["notes"])


def test_paths_follow_the_official_layout(mimic):
    pattern = re.compile(r"files/p(\d\d)/p(\d{8})/s(\d{8})/([0-9a-f-]{44})\.jpg$")
    for row in mimic.table.itertuples():
        m = pattern.search(row.path)
        assert m and m.group(2).startswith(m.group(1))
        assert (int(m.group(2)), int(m.group(3)), m.group(4)) == (row.subject_id, row.study_id,
                                                                   row.id)
        assert Path(row.path).is_absolute() and Path(row.path).is_file()
    assert set(mimic.table["official_split"]) <= {"train", "validate", "test"}


def test_patient_level_split_and_manifest_round_trip(mimic, tmp_path):
    assert (mimic.table.groupby("subject_id")["split"].nunique() == 1).all()
    path = mimic.write_manifest(tmp_path / "m" / "manifest.json")
    manifest = json.loads(path.read_text())
    for split, ids in manifest["splits"].items():
        assert ids == mimic.table.loc[mimic.indices(split), "id"].tolist()
    assert sum(manifest["split_sizes"].values()) == len(mimic.table) == 8
    again = load_mimic_cxr(CXR, IV, fractions=QUARTERS, seed=0)
    pd.testing.assert_frame_equal(again.table, mimic.table)


def test_indices_restrict_to_known_attribute(mimic):
    everyone = np.concatenate([mimic.indices(s) for s in ("pretrain", "pool", "val_pool", "test")])
    known = np.concatenate([mimic.indices(s, "Language") for s in
                            ("pretrain", "pool", "val_pool", "test")])
    assert len(everyone) == 8 and len(known) == 5
    assert (mimic.attribute_values("Language")[known] >= 0).all()
    with pytest.raises(ValueError, match="attribute 'Colour'"):
        mimic.attribute_values("Colour")


def test_group_split_keeps_groups_whole_and_hits_proportions():
    rng = np.random.default_rng(3)
    groups = rng.integers(0, 2000, size=20000)  # ~10 images per patient
    fractions = {"pretrain": 0.5, "pool": 0.3, "val_pool": 0.05, "test": 0.15}
    split = group_split(groups, fractions, seed=1)
    frame = pd.DataFrame({"g": groups, "s": split})
    assert (frame.groupby("g")["s"].nunique() == 1).all()
    biggest = np.bincount(groups).max()
    for name, frac in fractions.items():
        assert abs((split == name).sum() - frac * len(groups)) <= biggest
    assert np.array_equal(split, group_split(groups, fractions, seed=1))
    assert not np.array_equal(split, group_split(groups, fractions, seed=2))
    with pytest.raises(ValueError, match="sum to 1"):
        group_split(groups, {"pool": 0.5, "test": 0.4}, seed=0)


def _copy(tmp_path: Path) -> tuple[Path, Path]:
    shutil.copytree(FIXTURE, tmp_path / "fx", ignore=shutil.ignore_patterns("*.py"))
    return tmp_path / "fx" / "mimic-cxr-jpg", tmp_path / "fx" / "mimiciv"


def _rewrite(path: Path, edit) -> None:
    with gzip.open(path, "rt") as fh:
        frame = pd.read_csv(fh, dtype=str, keep_default_na=False)
    edit(frame).to_csv(path, index=False, compression="gzip")


def test_v3_insurance_and_language_names(tmp_path):
    cxr, iv = _copy(tmp_path)

    def to_v3(adm):
        adm["insurance"] = adm["insurance"].replace({"Other": "Private", "Medicaid": "Other"})
        adm["language"] = adm["language"].replace({"ENGLISH": "English", "?": "Spanish"})
        return adm

    _rewrite(iv / "hosp" / "admissions.csv.gz", to_v3)
    t = load_mimic_cxr(cxr, iv, fractions=QUARTERS)
    per = t.table.groupby("subject_id")[["Insurance", "Language"]].first()
    assert per.loc[19990004, "Insurance"] == 1   # Private
    assert per.loc[19990001, "Insurance"] == 0   # v3 'Other' is not private
    assert per.loc[19990002, "Language"] == 0    # Spanish
    assert per.loc[19990003, "Language"] == 0    # latest known is now Spanish
    assert per.loc[19990001, "Language"] == 1    # 'English'
    assert "v3" in t.manifest["definitions"]["Insurance"]


def test_plain_csv_and_no_mimic_iv(tmp_path):
    cxr, _ = _copy(tmp_path)
    for gz in cxr.glob("*.csv.gz"):
        gz.with_suffix("").write_bytes(gzip.decompress(gz.read_bytes()))
        gz.unlink()
    (cxr / "mimic-cxr-2.1.0-test-set-labeled.csv").write_text("study_id\n")
    t = load_mimic_cxr(cxr, fractions=QUARTERS)
    assert any("v2.1.0" in n for n in t.manifest["notes"])
    assert len(t.table) == 8
    assert t.attributes == ("ViewPosition", "Procedure", "SupportDevices", "Orientation",
                            "Random")
    assert any("mimic_iv_root not given" in n for n in t.manifest["notes"])


def test_missing_images_raise_or_drop(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"1 of 9 images are missing.*44444411\.jpg"):
        load_mimic_cxr(CXR, IV, missing_images="raise")
    cxr, iv = _copy(tmp_path)
    shutil.rmtree(cxr / "files")
    with pytest.raises(FileNotFoundError, match=r"files/p<first 2 digits"):
        load_mimic_cxr(cxr, iv)  # nothing there: wrong root, even with 'drop'


def test_clear_errors_for_wrong_root_files_and_columns(tmp_path):
    with pytest.raises(FileNotFoundError, match="not an existing directory"):
        load_mimic_cxr(tmp_path / "nope")
    with pytest.raises(ValueError, match="root is not set"):
        load_mimic_cxr(None)
    with pytest.raises(FileNotFoundError,
                       match=r"mimic-cxr-2\.0\.0-metadata\.csv\.gz.*top-level directory"):
        load_mimic_cxr(IV)  # MIMIC-IV given as the CXR root
    with pytest.raises(FileNotFoundError, match=r"patients\.csv\.gz.*hosp/"):
        load_mimic_cxr(CXR, CXR)
    cxr, iv = _copy(tmp_path)
    _rewrite(cxr / "mimic-cxr-2.0.0-chexpert.csv.gz",
             lambda f: f.drop(columns="Pleural Effusion"))
    with pytest.raises(ValueError, match=r"chexpert\.csv\.gz lacks column\(s\) \['Pleural Effusion'\]"):
        load_mimic_cxr(cxr, iv)
    with pytest.raises(ValueError, match="missing_images"):
        load_mimic_cxr(CXR, missing_images="skip")
