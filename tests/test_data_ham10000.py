"""HAM10000 / ISIC 2018 adapter on official-layout fixtures (tests/fixtures/ham10000).

``dataverse/``: tab-separated quoted metadata with ``dataset``, HAM10000-schema test labels, one
test image absent. ``kaggle/``: comma-separated metadata without ``dataset``.
``isic-challenge/``: one-hot test labels. Images are split over ``_part_1`` and ``_part_2``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from latentsep.data.ham10000 import LOCALIZATION, load_ham10000

FIXTURE = Path(__file__).parent / "fixtures" / "ham10000"
DATAVERSE, KAGGLE = FIXTURE / "dataverse", FIXTURE / "kaggle"
SMALL = {"n_pretrain": 4, "val_fraction": 0.2, "test_fraction": 0.2}
NA = None
# image id -> label, Sex, Age, Dataset, Localization
EXPECTED = {
    "ISIC_0099001": (0, 0, 0, 1, 0),        # 45 female back vidir_molemax
    "ISIC_0099003": (1, NA, NA, 1, NA),     # mel, age blank, sex/site unknown, rosendahl
    "ISIC_0099004": (1, 1, 0, 0, 0),        # akiec, age exactly 50 -> 0, face
    "ISIC_0099005": (0, 1, 1, 0, 1),        # bcc, 55, upper extremity, vienna_dias
    "ISIC_0099010": (1, 1, 1, 0, 1),        # mel, acral
    "ISIC_0099018": (0, NA, 0, 1, 0),       # sex unknown
    "ISIC_0099102": (1, 1, 1, 1, 1),        # test: mel 65 male upper extremity rosendahl
    "ISIC_0099103": (0, 0, 0, 0, 0),        # test: bcc, 50 -> 0, face, vienna_dias
}


@pytest.fixture(scope="module")
def dataverse():
    return load_ham10000(DATAVERSE, **SMALL)


def _row(table, image_id, cols):
    row = table.set_index("id").loc[image_id, cols]
    return tuple(None if pd.isna(v) else int(v) for v in row)


def test_labels_and_attributes(dataverse):
    cols = ["label", "Sex", "Age", "Dataset", "Localization"]
    for image_id, expected in EXPECTED.items():
        assert _row(dataverse.table, image_id, cols) == expected, image_id
    assert dataverse.attributes == ("Sex", "Age", "Dataset", "Localization", "Random")
    assert dataverse.manifest["unknown"] == {"Sex": 2, "Age": 1, "Dataset": 0,
                                             "Localization": 1, "Random": 0}


def test_every_localization_value_is_mapped(dataverse):
    meta = pd.read_csv(DATAVERSE / "HAM10000_metadata.tab", sep="\t")
    sites = dict(zip(meta["image_id"], meta["localization"], strict=True))
    seen = set()
    for row in dataverse.table.query("source == 'ham10000'").itertuples():
        site = sites[row.id]
        seen.add(site)
        expected = None if site == "unknown" else LOCALIZATION[site]
        assert (None if pd.isna(row.Localization) else row.Localization) == expected
    assert seen == {*LOCALIZATION, "unknown"}  # the fixture covers all 15 official values


def test_isic_test_split_lesion_split_and_images_in_both_parts(dataverse):
    t = dataverse.table
    test = t[t["split"] == "test"]
    assert set(test["source"]) == {"isic2018_test"} and len(test) == 3
    assert dataverse.manifest["counts"]["dropped_missing_image"] == 1  # ISIC_0099104
    assert "ISIC_0099104" not in set(t["id"])
    assert (t.groupby("lesion_id")["split"].nunique() == 1).all()
    ham = t[t["source"] == "ham10000"]
    assert 4 <= (ham["split"] == "pretrain").sum() <= 5  # whole lesions, ~n_pretrain images
    parents = {Path(p).parent.name for p in t["path"]}
    assert {"HAM10000_images_part_1", "HAM10000_images_part_2",
            "ISIC2018_Task3_Test_Images"} <= parents
    assert all(Path(p).is_file() for p in t["path"])


def test_kaggle_csv_without_dataset_column(tmp_path):
    t = load_ham10000(KAGGLE, **SMALL)
    assert t.attributes == ("Sex", "Age", "Localization", "Random")
    assert any("Dataset attribute is unavailable" in n for n in t.manifest["notes"])
    assert set(t.table["source"]) == {"ham10000"}  # no test labels -> lesion hold-out
    assert (t.table["split"] == "test").sum() >= 3
    d = load_ham10000(DATAVERSE, test_source="holdout", **SMALL).table.set_index("id")
    k = t.table.set_index("id")
    pd.testing.assert_frame_equal(k[["label", "Sex", "Age", "Localization"]],
                                  d.loc[k.index, ["label", "Sex", "Age", "Localization"]])


def test_one_hot_test_labels(tmp_path):
    root = tmp_path / "ham"
    shutil.copytree(KAGGLE, root)
    shutil.copytree(FIXTURE / "isic-challenge" / "ISIC2018_Task3_Test_GroundTruth",
                    root / "ISIC2018_Task3_Test_GroundTruth")
    shutil.copytree(DATAVERSE / "ISIC2018_Task3_Test_Images", root / "ISIC2018_Task3_Test_Images")
    auto = load_ham10000(root, **SMALL)
    assert "isic2018_test" not in set(auto.table["source"])  # one-hot has no attributes
    t = load_ham10000(root, test_source="isic2018", **SMALL)
    test = t.table[t.table["split"] == "test"].set_index("id")
    assert test["dx"].to_dict() == {"ISIC_0099101": "nv", "ISIC_0099102": "mel",
                                    "ISIC_0099103": "bcc"}
    assert test["label"].tolist() == [0, 1, 0]
    assert test[["Sex", "Age", "Localization"]].isna().all().all()
    assert any("One-hot" in n for n in t.manifest["notes"])


def test_errors_name_the_file_column_and_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"HAM10000_metadata\.csv.*Dataverse"):
        load_ham10000(FIXTURE)  # parent directory: wrong root
    with pytest.raises(FileNotFoundError, match=r"ISIC2018_Task3_Test_GroundTruth\.csv"):
        load_ham10000(KAGGLE, test_source="isic2018", **SMALL)
    root = tmp_path / "ham"
    shutil.copytree(KAGGLE, root)
    meta = pd.read_csv(root / "HAM10000_metadata.csv")
    meta.drop(columns="localization").to_csv(root / "HAM10000_metadata.csv", index=False)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['localization'\]"):
        load_ham10000(root)
    meta.assign(localization="elbow").to_csv(root / "HAM10000_metadata.csv", index=False)
    with pytest.raises(ValueError, match=r"'localization' holds unexpected value\(s\) \['elbow'\]"):
        load_ham10000(root)
    meta.to_csv(root / "HAM10000_metadata.csv", index=False)
    shutil.rmtree(root / "HAM10000_images_part_2")
    with pytest.raises(FileNotFoundError, match="9 of 18 images are missing"):
        load_ham10000(root, missing_images="raise")
    assert load_ham10000(root, **SMALL).manifest["counts"]["dropped_missing_image"] == 9
    with pytest.raises(ValueError, match="leaves no fine-tuning pool"):
        load_ham10000(KAGGLE, n_pretrain=15)


def test_test_labels_without_dataset_column(tmp_path):
    root = tmp_path / "ham"
    shutil.copytree(DATAVERSE, root)
    gt = root / "ISIC2018_Task3_Test_GroundTruth.tab"
    pd.read_csv(gt, sep="\t").drop(columns="dataset").to_csv(gt, sep="\t", index=False)
    t = load_ham10000(root, **SMALL)
    test = t.table[t.table["split"] == "test"]
    assert len(test) == 3 and test["Dataset"].isna().all()
    assert t.table.loc[t.table["split"] != "test", "Dataset"].notna().all()
    assert any("lack 'dataset'" in n for n in t.manifest["notes"])
