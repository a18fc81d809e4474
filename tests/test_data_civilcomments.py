"""CivilComments adapter on WILDS and Kaggle layout fixtures (tests/fixtures/civilcomments)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from latentsep.data.civilcomments import FAMILIES, load_civilcomments

FIXTURE = Path(__file__).parent / "fixtures" / "civilcomments"
LAYOUTS = ["wilds", "kaggle-all", "kaggle-train"]
# id -> label, Gender, SexualOrientation, Religion, Race, Year
EXPECTED = {
    "9000001": (1, 1, 0, 0, 0, 0),   # toxicity 0.5 counts; male 0.5 counts
    "9000002": (0, 0, 1, 0, 0, 1),   # toxicity 0.4999; female 0.49 does not count; 2017
    "9000003": (1, 0, 0, 1, 1, 0),   # other_religion 0.7, black 0.5
    "9000004": (0, 0, 0, 0, 0, 1),   # 2017-01-01 00:00:00 is 2017
    "9000005": (0, 1, 0, 0, 0, 0),   # transgender 1.0; asian 0.2; 2016-12-31 23:59
    "9000006": (0, 0, 1, 1, 1, 0),   # bisexual, jewish 0.5; latino 0.75
    "9000007": (1, 0, 0, 0, 1, 1),   # white 0.5; christian 0.49
    "9000008": (0, 1, 0, 0, 0, 0),   # other_gender 0.5; heterosexual 0.2
    "9000009": (1, 0, 0, 0, 1, 0),   # other_race_or_ethnicity; disability is no attribute
    "9000010": (0, 0, 1, 1, 0, 1),   # other_sexual_orientation, atheist
}
TEXT_3 = 'A made-up comment\nover two lines, with "quotes", and commas'
SMALL = {"pretrain_fraction": 0.2, "test_fraction": 0.2, "val_fraction": 0.2}


@pytest.fixture(scope="module", params=LAYOUTS)
def layout(request):
    return request.param, load_civilcomments(FIXTURE / request.param, **SMALL)


def test_label_attributes_and_threshold_edges(layout):
    _, data = layout
    cols = ["label", *FAMILIES, "Year"]
    table = data.table.set_index("id")
    assert sorted(table.index) == sorted(EXPECTED)
    for cid, expected in EXPECTED.items():
        assert tuple(int(table.loc[cid, c]) for c in cols) == expected, cid
    assert data.attributes == ("Gender", "SexualOrientation", "Religion", "Race", "Year",
                               "Random")
    assert table.loc["9000003", "text"] == TEXT_3
    assert table.loc["9000002", "text"] == 'Another invented "quoted" line'


def test_layouts_agree_and_unannotated_rows_are_counted(layout):
    name, data = layout
    reference = load_civilcomments(FIXTURE / "wilds", **SMALL).table
    columns = ["id", "text", "label", *FAMILIES, "Year", "split", "Random"]
    pd.testing.assert_frame_equal(data.table[columns], reference[columns])
    counts = data.manifest["counts"]
    dropped = 0 if name == "wilds" else 2
    assert counts["dropped_no_identity_annotation"] == dropped
    assert counts["rows_read"] == 10 + dropped
    assert ("official_split" in data.table) == (name != "kaggle-train")


def _scaled_wilds(root: Path, n: int) -> None:
    """A WILDS file with ``n`` rows built by repeating the fixture rows with fresh ids."""
    src = FIXTURE / "wilds" / "civilcomments_v1.0" / "all_data_with_identities.csv"
    frame = pd.read_csv(src, index_col=0)
    big = frame.iloc[np.arange(n) % len(frame)].reset_index(drop=True)
    big["id"] = 8000000 + np.arange(n)
    root.mkdir(parents=True)
    big.to_csv(root / "all_data_with_identities.csv")


def test_paper_split_proportions_and_seed(tmp_path):
    _scaled_wilds(tmp_path / "cc", 2000)
    data = load_civilcomments(tmp_path / "cc", seed=5)
    assert data.manifest["split_sizes"] == {"pretrain": 80, "pool": 1620, "val_pool": 200, "test": 100}
    same = load_civilcomments(tmp_path / "cc", seed=5)
    other = load_civilcomments(tmp_path / "cc", seed=6)
    assert same.manifest["splits"] == data.manifest["splits"]
    assert other.manifest["splits"]["test"] != data.manifest["splits"]["test"]
    assert abs(data.table["Random"].mean() - 0.5) < 0.05
    assert not np.array_equal(data.table["Random"], other.table["Random"])


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"all_data_with_identities\.csv.*Kaggle"):
        load_civilcomments(FIXTURE)
    with pytest.raises(ValueError, match="leaves no fine-tuning pool"):
        load_civilcomments(FIXTURE / "wilds", pretrain_fraction=0.5, test_fraction=0.5)
    with pytest.raises(ValueError, match="test_fraction must lie in"):
        load_civilcomments(FIXTURE / "wilds", test_fraction=1.5)
    root = tmp_path / "cc"
    shutil.copytree(FIXTURE / "kaggle-train", root)
    frame = pd.read_csv(root / "train.csv")
    frame.drop(columns=["bisexual", "target"]).to_csv(root / "train.csv", index=False,
                                                      quoting=csv.QUOTE_NONNUMERIC)
    with pytest.raises(ValueError, match=r"train\.csv lacks column\(s\) \['target', 'bisexual'\]"):
        load_civilcomments(root)


def test_literal_na_texts_survive(tmp_path):
    src = FIXTURE / "wilds" / "civilcomments_v1.0" / "all_data_with_identities.csv"
    frame = pd.read_csv(src, index_col=0, keep_default_na=False)
    frame.loc[frame["id"] == 9000004, "comment_text"] = "NA"
    frame.loc[frame["id"] == 9000010, "comment_text"] = "null"
    (tmp_path / "cc").mkdir()
    frame.to_csv(tmp_path / "cc" / "all_data_with_identities.csv")
    texts = load_civilcomments(tmp_path / "cc").table.set_index("id")["text"]
    assert texts["9000004"] == "NA" and texts["9000010"] == "null"
