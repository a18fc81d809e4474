"""The cost estimate printed before a run: unit counts from the parameters, time scaled from a
measured run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import yaml

from latentsep.booktools import cost

ROOT = Path(__file__).resolve().parents[1]


def _chapters(profile: str) -> dict:
    return yaml.safe_load((ROOT / "params" / f"{profile}.yaml").read_text())["chapters"]


def test_units_follow_the_chapter_loops() -> None:
    full = {u["kind"]: u for u in cost.chapter_units("03_coloured_mnist", _chapters("full")
                                                     ["03_coloured_mnist"])}
    # 3 seeds × (1 + 3 pre-training sizes) × 50 epochs of the paper's 5,000 images
    assert full["pre-training epochs"] == {"kind": "pre-training epochs", "count": 600,
                                           "size": 5000}
    assert full["ablation fine-tuning epochs"]["count"] == 2 * 3 * 11 * 50
    assert full["ablation fine-tuning epochs"]["size"] == 23840  # ABLATION_K_TRAIN null: K
    quick = {u["kind"] for u in cost.chapter_units("03_coloured_mnist", _chapters("quick")
                                                   ["03_coloured_mnist"])}
    assert "ablation fine-tuning epochs" not in quick  # RUN_ABLATIONS false
    real = cost.chapter_units("04_real_datasets", _chapters("full")["04_real_datasets"],
                              {"mimic_cxr": 377110})
    # 256-px images: (256 / 32)² = 64 units each
    assert {"kind": "mimic_cxr rows embedded (densenet121)", "count": 377110, "size": 64} in real


def test_time_scales_the_measured_run_by_the_work_ratio() -> None:
    run = {"01_tv_bound": {"N_CONFIGS": 1000, "N_LABEL_SHIFT_CONFIGS": 0, "N_K_GROUP_CONFIGS": 0}}
    ref = {"01_tv_bound": {"N_CONFIGS": 100, "N_LABEL_SHIFT_CONFIGS": 0, "N_K_GROUP_CONFIGS": 0}}
    table = cost.estimate(run, ref, {"01_tv_bound": 30.0})
    assert table.loc[0, "scale"] == 10.0
    assert table.loc[0, "estimate_min"] == 5.0
    unmeasured = cost.estimate(run, ref, {})
    assert math.isnan(unmeasured.loc[0, "estimate_min"])
    assert "no rehearsal measured yet" in cost.estimate_text(unmeasured, "full", measured=False)


def test_report_before_run_reads_the_rehearsal_timings(tmp_path: Path) -> None:
    (tmp_path / "rehearsal").mkdir()
    (tmp_path / "rehearsal" / "timings.json").write_text(json.dumps({"01_tv_bound": 6.0}))
    text = cost.report_before_run(tmp_path, "full", {"01_tv_bound": _chapters("full")["01_tv_bound"]},
                                  {}, _chapters("rehearsal"))
    # full: 140,000 configurations, rehearsal 900: 6 s × 140000/900 = 15.6 min
    assert "01_tv_bound ≲ 16 min: 140,000 simulated configurations" in text
    # no user-supplied dataset in this run: the rows recorded by an earlier run stay
    assert not (tmp_path / "full" / "real_rows.json").exists()
    one = {"01_tv_bound": _chapters("full")["01_tv_bound"]}
    cost.report_before_run(tmp_path, "full", one, {"mimic_cxr": 9}, None)
    cost.report_before_run(tmp_path, "full", one, {}, None)
    assert json.loads((tmp_path / "full" / "real_rows.json").read_text()) == {"mimic_cxr": 9}
