"""Separation → sensitivity calibration: known-answer fits, interval coverage, files, provenance."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from latentsep.calibration import (
    SCHEMA_VERSION,
    SEPARATION_SETTINGS,
    TRANSFER_SETTINGS,
    Calibration,
    calibrate,
    fit_calibration,
    load_calibration,
    read_summaries,
)
from latentsep.cli import main


def _points(x: np.ndarray, y: np.ndarray, dataset: Any = "d") -> pd.DataFrame:
    return pd.DataFrame({"dataset": dataset, "attribute": [f"a{i}" for i in range(len(x))],
                         "x": x, "y": y})


def _random_intercepts(rng: np.random.Generator, n_datasets: int, per: int, *, tau: float,
                       sigma: float, slope: float = 1.0, mean: float = 0.02) -> pd.DataFrame:
    """Points from the model: y = a_d + slope·x + e, a_d ~ N(mean, tau²), e ~ N(0, sigma²)."""
    a = rng.normal(mean, tau, n_datasets)
    dataset = np.repeat(np.arange(n_datasets), per)
    x = rng.uniform(0, 0.1, n_datasets * per) + rng.uniform(0, 0.2, n_datasets)[dataset]
    return _points(x, a[dataset] + slope * x + rng.normal(0, sigma, len(x)), dataset.astype(str))


def test_exact_lines_with_dataset_intercepts_are_recovered() -> None:
    x = np.array([0.0, 0.01, 0.03, 0.05, 0.1, 0.02, 0.04, 0.2, 0.0, 0.3])
    dataset = np.array(list("AAAAABBBCC"))
    a = {"A": 0.01, "B": 0.05, "C": -0.02}
    cal = fit_calibration(_points(x, np.vectorize(a.get)(dataset) + 1.5 * x, dataset))
    assert cal.slope == pytest.approx(1.5, abs=1e-10)
    assert cal.residual_sd == pytest.approx(0.0, abs=1e-9)
    assert cal.dataset_intercepts == pytest.approx(a, abs=1e-10)
    assert cal.intercept == pytest.approx(np.mean(list(a.values())), abs=1e-10)
    assert cal.between_sd == pytest.approx(np.std(list(a.values()), ddof=1), abs=1e-9)
    assert cal.intercept_sd == pytest.approx(cal.between_sd, abs=1e-9)
    assert (cal.n_points, cal.n_datasets) == (10, 3)
    assert cal.r2 == pytest.approx(1.0)


def test_slope_equals_least_squares_with_dataset_dummies() -> None:
    pts = _random_intercepts(np.random.default_rng(1), 4, 5, tau=0.03, sigma=0.01)
    cal = fit_calibration(pts)
    dummies = pd.get_dummies(pts["dataset"]).to_numpy(dtype=float)
    design = np.column_stack([pts["x"], dummies])
    coef, sse, *_ = np.linalg.lstsq(design, pts["y"], rcond=None)
    assert cal.slope == pytest.approx(coef[0], rel=1e-10)
    assert cal.residual_sd == pytest.approx(np.sqrt(sse[0] / (20 - 4 - 1)), rel=1e-10)
    assert list(cal.dataset_intercepts.values()) == pytest.approx(coef[1:], rel=1e-9)


def test_within_dataset_slope_survives_a_misleading_pooled_trend() -> None:
    # every dataset ranks its attributes correctly (slope +1), but datasets with larger
    # separations have lower sensitivities: a pooled line slopes downwards
    x = np.concatenate([np.linspace(0, 0.05, 5), np.linspace(0.3, 0.35, 5)])
    y = np.concatenate([0.10 + x[:5], -0.3 + x[5:]])
    pts = _points(x, y, np.repeat(["images", "tabular"], 5))
    assert stats.linregress(x, y).slope < 0
    assert fit_calibration(pts).slope == pytest.approx(1.0)


def test_prediction_interval_components() -> None:
    cal = fit_calibration(_random_intercepts(np.random.default_rng(2), 5, 4, tau=0.02,
                                             sigma=0.01))
    row = cal.predict([0.12], confidence=0.9).iloc[0]
    between = cal.between_sd**2 + cal.intercept_sd**2 / 5
    within = cal.residual_sd**2 * (1 + (0.12 - cal.x_center) ** 2 / cal.x_ss)
    assert row["prediction"] == pytest.approx(cal.intercept + cal.slope * 0.12)
    assert row["se"] ** 2 == pytest.approx(between + within)
    df = (between + within) ** 2 / (between**2 / 4 + within**2 / (20 - 5 - 1))
    assert row["df"] == pytest.approx(df)
    assert row["pi_high"] - row["prediction"] == pytest.approx(stats.t.ppf(0.95, df) * row["se"])
    noisy = cal.predict([0.12], 0.01).iloc[0]
    assert noisy["se"] ** 2 == pytest.approx(row["se"] ** 2 + (cal.slope * 0.01) ** 2)


def test_prediction_interval_covers_a_new_datasets_points_at_its_level() -> None:
    rng = np.random.default_rng(3)
    hits, n_sim = 0, 1000
    for _ in range(n_sim):
        cal = fit_calibration(_random_intercepts(rng, 6, 5, tau=0.02, sigma=0.01))
        x_new = rng.uniform(0, 0.3)
        y_new = rng.normal(0.02, 0.02) + x_new + rng.normal(0, 0.01)
        row = cal.predict([x_new], confidence=0.9).iloc[0]
        hits += row["pi_low"] <= y_new <= row["pi_high"]
    assert abs(hits / n_sim - 0.9) < 0.03  # binomial SD ≈ 0.01


@pytest.mark.parametrize(
    ("points", "match"),
    [
        (pd.DataFrame({"x": [0.1, 0.2], "y": [0, 1]}), r"lacks columns \['dataset'\]"),
        (_points(np.arange(5.0), np.arange(5.0)), "from 1 dataset"),
        (_points(np.arange(3.0), np.arange(3.0), list("aab")), "3 point"),
        (_points(np.array([0.1, 0.1, 0.2, 0.2]), np.arange(4.0), list("aabb")), "constant within"),
        (_points(np.array([0.1, np.nan, 0.3, 0.4]), np.zeros(4), list("aabb")), "NaN"),
    ],
)
def test_bad_points_are_rejected(points: pd.DataFrame, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fit_calibration(points)


def test_round_trip_through_json(tmp_path: Path) -> None:
    pts = _random_intercepts(np.random.default_rng(4), 3, 4, tau=0.02, sigma=0.01)
    cal = fit_calibration(pts, provenance={"profile": "t"})
    cal.save(tmp_path / "c.json")
    back = load_calibration(tmp_path / "c.json")
    assert back.to_dict() == cal.to_dict()
    pd.testing.assert_frame_equal(back.predict(pts["x"]), cal.predict(pts["x"]))
    assert list(tmp_path.iterdir()) == [tmp_path / "c.json"]  # no temporary files left


def test_unreadable_or_foreign_calibration_files(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="cannot read calibration file"):
        load_calibration(tmp_path / "bad.json")
    (tmp_path / "old.json").write_text(json.dumps({"schema_version": 0}))
    with pytest.raises(ValueError, match="schema_version"):
        load_calibration(tmp_path / "old.json")
    (tmp_path / "partial.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION}))
    with pytest.raises(ValueError, match="lacks the key"):
        load_calibration(tmp_path / "partial.json")


def _write_results(root: Path) -> pd.DataFrame:
    """Fixture chapter summaries (summarise() columns) and the points they should yield."""
    tables = root / "tables"
    tables.mkdir(parents=True)
    rng = np.random.default_rng(5)
    expected = []
    for chapter, datasets in (("03_coloured_mnist", ["coloured_mnist"]),
                              ("04_real_data", ["adult", "compas"])):
        frames = []
        for dataset in datasets:
            excess = rng.uniform(0, 0.08, 4)
            frames.append(pd.DataFrame({
                "dataset": dataset, "attribute": ["A", "B", "C", "Random"],
                "separation": excess + 0.04, "transfer_gap": excess, "excess_ci_low": excess - 0.01,
                "excess_ci_high": excess + 0.01,
                "sensitivity": 0.005 + 1.2 * excess + rng.normal(0, 0.005, 4),
                "n_seeds": 3}))
        df = pd.concat(frames, ignore_index=True)
        df.to_parquet(tables / f"{chapter}_summary.parquet")
        expected.append(df.assign(source=chapter))
    # the advisor chapter's own table must not calibrate the advisor
    pd.DataFrame({"attribute": ["X"], "transfer_gap": [9.0], "sensitivity": [9.0]}).to_parquet(
        tables / "07_advisor_summary.parquet")
    return pd.concat(expected, ignore_index=True).rename(columns={"transfer_gap": "x",
                                                                  "sensitivity": "y"})


def test_calibrate_from_chapter_summaries_reproduces_the_fit(tmp_path: Path) -> None:
    results = tmp_path / "results" / "quick"
    expected = _write_results(results)
    cal = calibrate(results)
    ref = fit_calibration(expected)
    assert cal.n_points == 12
    assert (cal.intercept, cal.slope, cal.residual_sd) == pytest.approx(
        (ref.intercept, ref.slope, ref.residual_sd), rel=1e-12)
    assert cal.slope == pytest.approx(1.2, abs=0.2)
    prov = cal.provenance
    assert prov["profile"] == "quick"
    assert prov["chapters"] == ["03_coloured_mnist", "04_real_data"]
    assert prov["datasets"] == ["adult", "coloured_mnist", "compas"]
    for entry in prov["files"]:
        assert entry["sha256"] == hashlib.sha256(Path(entry["file"]).read_bytes()).hexdigest()
    points, _ = read_summaries(results, exclude=())
    assert "07_advisor" in set(points["source"])


def test_calibrate_reads_only_the_calibrated_estimator_and_metric(tmp_path: Path) -> None:
    tables = tmp_path / "tables"
    tables.mkdir()
    df = pd.DataFrame({"dataset": "d", "attribute": list("abcabcabc"),
                       "estimator": ["histogram/pooled"] * 3 + ["classifier"] * 3
                       + ["histogram/pooled"] * 3,
                       "metric": ["balanced_accuracy"] * 6 + ["cross_entropy"] * 3,
                       "transfer_gap": [0.0, 0.05, 0.1, 1, 2, 3, 0.0, 0.05, 0.1],
                       "sensitivity": [0.0, 0.05, 0.1, 5, 5, 5, -1, -2, -3]})
    df = pd.concat([df, df.iloc[:3].assign(dataset="e", attribute=list("xyz"),
                                           sensitivity=[0.1, 0.15, 0.2])], ignore_index=True)
    df.to_parquet(tables / "03_x_summary.parquet")
    cal = calibrate(tmp_path)
    assert cal.n_points == 6 and cal.slope == pytest.approx(1.0)
    assert cal.dataset_intercepts == pytest.approx({"03_x:d": 0.0, "03_x:e": 0.1})


def test_calibrate_errors_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no chapter summaries"):
        calibrate(tmp_path)
    (tmp_path / "tables").mkdir()
    pd.DataFrame({"attribute": ["a"], "transfer_gap": [0.1]}).to_parquet(
        tmp_path / "tables" / "03_x_summary.parquet")
    with pytest.raises(ValueError, match=r"lacks columns \['sensitivity'\]"):
        calibrate(tmp_path)


def test_cli_calibrate_writes_the_same_fit_and_nothing_on_error(tmp_path: Path, capsys) -> None:
    results = tmp_path / "quick"
    _write_results(results)
    out = tmp_path / "cal" / "calibration.json"
    assert main(["calibrate", "--results", str(results), "--out", str(out)]) == 0
    written = load_calibration(out)
    direct = calibrate(results)
    assert (written.intercept, written.slope) == (direct.intercept, direct.slope)
    assert "calibration from 12 points in 3 datasets" in capsys.readouterr().out
    missing = tmp_path / "none.json"
    assert main(["calibrate", "--results", str(tmp_path / "empty"), "--out", str(missing)]) == 2
    assert "latentsep: error: no chapter summaries" in capsys.readouterr().err
    assert not missing.exists()


def test_shipped_calibration_schema_and_refit() -> None:
    cal = load_calibration()
    data = cal.to_dict()
    assert data["schema_version"] == SCHEMA_VERSION
    assert cal.separation == SEPARATION_SETTINGS
    assert cal.transfer == TRANSFER_SETTINGS
    # a wider gap between a group's own head and the other's means more sensitivity
    assert cal.slope > 0
    assert cal.n_points == len(cal.points) >= 3
    assert set(cal.points.columns) == {"source", "dataset", "attribute", "x", "y"}
    for key in ("profile", "chapters", "datasets", "files", "commit", "created"):
        assert key in cal.provenance, key
    assert sorted(cal.points["dataset"].unique()) == cal.provenance["datasets"]
    refit = fit_calibration(cal.points)
    for name in ("intercept", "slope", "residual_sd", "between_sd", "intercept_sd", "x_center",
                 "x_ss", "r2"):
        assert getattr(refit, name) == pytest.approx(getattr(cal, name), rel=1e-9, abs=1e-12), name
    assert cal.residual_sd > 0 and np.isfinite(cal.slope)


def test_calibration_is_a_frozen_value() -> None:
    cal = fit_calibration(_points(np.array([0.0, 0.1, 0.2, 0.0]), np.array([0.0, 0.1, 0.3, 0.1]),
                                  list("aaab")))
    assert isinstance(cal, Calibration)
    with pytest.raises(AttributeError):
        cal.slope = 3.0  # type: ignore[misc]


def test_one_dataset_embedded_by_two_chapters_is_two_groups() -> None:
    pts = _points(np.array([0.0, 0.1, 0.2, 0.0, 0.1, 0.2]),
                  np.array([0.0, 0.1, 0.2, 0.3, 0.4, 0.5]), "coloured_mnist")
    pts["source"] = ["03_coloured_mnist"] * 3 + ["04_real_datasets"] * 3
    cal = fit_calibration(pts)
    assert cal.n_datasets == 2 and cal.slope == pytest.approx(1.0)
    assert cal.dataset_intercepts == pytest.approx(
        {"03_coloured_mnist:coloured_mnist": 0.0, "04_real_datasets:coloured_mnist": 0.3})
