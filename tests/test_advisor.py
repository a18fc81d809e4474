"""The allocation advisor: attribute encoding, rules, ranking, renderers and verification."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from latentsep.advisor import ACTIONS, AdviceReport, advise, binary_label, comparisons
from latentsep.advisor_validation import judge, pair_concordance, rank_agreement, verify_advice
from latentsep.calibration import fit_calibration


def pilot(n: int = 3000, dim: int = 16, seed: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
    """Embeddings where 'view' and 'rare' shift the latents and move the label to another
    direction (a head trained without the group fails on it), 'site=C' only shifts them, and
    'sex' and 'coin' do nothing."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    view = rng.integers(0, 2, n)
    rare = (rng.random(n) < 0.1).astype(int)
    site = rng.choice(["A", "B", "C"], n)
    z = rng.normal(size=(n, dim))
    label_dim = np.where(rare == 1, 5, np.where(view == 1, 4, 0))
    z[np.arange(n), label_dim] += 2.0 * y
    z[:, 1] += 1.5 * view
    z[:, 2] += 1.5 * rare
    z[:, 3] += 1.0 * (site == "C")
    table = pd.DataFrame({"label": np.where(y == 1, "pos", "neg"),
                          "view": np.where(view == 1, "PA", "AP"), "rare": rare,
                          "site": site, "sex": rng.choice(["F", "M"], n),
                          "coin": rng.integers(0, 2, n)})
    return z, table


@pytest.fixture(scope="module")
def calibration():
    """A made-up, tight calibration: sensitivity = 0.5 · transfer gap."""
    x = np.linspace(0.0, 0.2, 8)
    noise = np.array([1, -1, 1, -1, 1, -1, 1, -1]) * 1e-3
    return fit_calibration(pd.DataFrame({"dataset": ["s1", "s2"] * 4, "attribute": list("abcdefgh"),
                                         "x": x, "y": 0.5 * x + noise}),
                           provenance={"chapters": ["synthetic"], "profile": "test"})


@pytest.fixture(scope="module")
def report(calibration) -> AdviceReport:
    z, table = pilot()
    return advise(z, table, label="label", calibration=calibration, n_permutations=50,
                  n_bootstrap=50, min_effect=0.01)


def test_label_is_coded_by_sorted_value() -> None:
    y, values = binary_label(pd.DataFrame({"l": ["pos", "neg", "pos"]}), "l")
    assert y.tolist() == [1, 0, 1] and values == ["neg", "pos"]


@pytest.mark.parametrize(
    ("column", "match"),
    [([0, 1, 2], "must be binary; found 3"), ([1, 1, 1], "must be binary; found 1"),
     ([0, None, 1], "missing value")],
)
def test_label_errors(column: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        binary_label(pd.DataFrame({"l": column}), "l")


def test_two_valued_columns_give_one_comparison_and_others_one_vs_rest() -> None:
    table = pd.DataFrame({"view": ["AP", "PA", "PA"], "site": ["A", "B", "C"]})
    comps = {c.name: c for c in comparisons(table, ["view", "site"])}
    assert list(comps) == ["view", "site=A", "site=B", "site=C"]
    assert comps["view"].codes.tolist() == [0, 1, 1]
    assert (comps["view"].group_1, comps["view"].group_0) == ("PA", "AP")
    assert comps["site=B"].codes.tolist() == [0, 1, 0]
    assert comps["site=B"].group_0 == "rest"


def test_missing_values_raise_or_are_left_out() -> None:
    table = pd.DataFrame({"a": [0, 1, None, 1]})
    with pytest.raises(ValueError, match=r"'a' has 1 missing value.*--missing drop"):
        comparisons(table, ["a"])
    (comp,) = comparisons(table, ["a"], missing="drop")
    assert comp.observed.tolist() == [True, True, False, True]


@pytest.mark.parametrize(
    ("table", "attributes", "kw", "match"),
    [
        (pd.DataFrame({"a": [1, 1]}), ["a"], {}, "single value"),
        (pd.DataFrame({"a": range(30)}), ["a"], {}, "30 distinct values"),
        (pd.DataFrame({"a": [0, 1]}), ["b"], {}, "unknown attribute column 'b'"),
        (pd.DataFrame({"a": [0, 1]}), ["a", "a"], {}, "more than once"),
        (pd.DataFrame({"a": [0, 1]}), [], {}, "empty"),
        (pd.DataFrame({"a": [0, 1]}), ["a"], {"missing": "ignore"}, "missing must be"),
    ],
)
def test_comparison_errors(table, attributes, kw, match) -> None:
    with pytest.raises(ValueError, match=match):
        comparisons(table, attributes, **kw)


def test_attributes_whose_heads_differ_rank_first_and_get_action(report: AdviceReport) -> None:
    t = report.table.set_index("attribute")
    assert set(t.index[:2]) == {"view", "rare"}
    assert t.loc["view", "transfer_gap"] > 0.2 and t.loc["rare", "transfer_gap"] > 0.2
    assert set(t.index) == {"view", "rare", "site=A", "site=B", "site=C", "sex", "coin"}
    assert t.loc["view", "action"] == "balance"
    # 'rare' is 10 % of the pilot: balancing by subsampling would waste the data
    assert t.loc["rare", "action"] == "collect"
    assert t.loc["rare", "recommendation"].startswith("collect more of rare=1")
    for null in ("sex", "coin"):
        assert t.loc[null, "action"] == "no action", null
        assert t.loc[null, "excess_ci_low"] <= 0
    # separated, but the same head serves both groups: allocation does not matter
    assert t.loc["site=C", "excess_ci_low"] > 0
    assert abs(t.loc["site=C", "transfer_gap"]) < 0.02
    assert t.loc["site=C", "action"] == "no action"
    assert set(t["action"]) <= set(ACTIONS)
    assert t["rank"].tolist() == list(range(1, 8))
    assert (np.diff(report.table["predicted"]) <= 0).all()


def test_rule_thresholds_are_applied_as_documented(report: AdviceReport) -> None:
    t = report.table
    m = report.settings["min_effect"]
    for r in t.itertuples():
        if r.excess_ci_low <= 0 or r.pi_high < m:
            assert r.action == "no action"
        elif r.pi_low < m:
            assert r.action == "verify"
        else:
            assert r.action in ("balance", "collect")
    assert (t["excess_ci_high"] - t["excess_ci_low"]).gt(0).all()
    assert np.allclose(t["excess"], t["value"] - t["null_mean"])


def test_huge_min_effect_turns_everything_into_no_action(calibration) -> None:
    z, table = pilot(n=1500)
    r = advise(z, table, label="label", attributes=["view", "sex"], calibration=calibration,
               n_permutations=20, n_bootstrap=20, min_effect=10.0)
    assert set(r.table["action"]) == {"no action"}


def test_advice_is_deterministic_for_a_seed(calibration) -> None:
    z, table = pilot(n=1500)
    kw = {"label": "label", "attributes": ["view", "coin"], "calibration": calibration,
          "n_permutations": 20, "n_bootstrap": 20}
    first, second = advise(z, table, **kw), advise(z, table, **kw)
    pd.testing.assert_frame_equal(first.table, second.table)
    other = advise(z, table, **kw, seed=1)
    assert not np.allclose(other.table["null_mean"], first.table["null_mean"])


def test_input_errors_name_the_problem(calibration) -> None:
    z, table = pilot(n=500)
    kw = {"calibration": calibration, "n_permutations": 20, "n_bootstrap": 20}
    with pytest.raises(ValueError, match="the table has 499 rows but the embeddings have 500"):
        advise(z, table.iloc[:-1], label="label", **kw)
    with pytest.raises(ValueError, match="include the label column"):
        advise(z, table, label="label", attributes=["label", "view"], **kw)
    bad = z.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        advise(bad, table, label="label", **kw)
    with pytest.raises(ValueError, match="n_permutations must be an integer >= 20"):
        advise(z, table, label="label", calibration=calibration, n_permutations=5)
    with pytest.raises(ValueError, match=r"separation of attribute\(s\) 'rare'.*needs at least 50"):
        advise(z, table, label="label", attributes=["rare"], **kw)


def test_missing_attribute_values_use_the_observed_rows(calibration) -> None:
    z, table = pilot(n=2000)
    table["view"] = table["view"].where(np.arange(2000) % 4 != 0)
    r = advise(z, table, label="label", attributes=["view", "coin"], calibration=calibration,
               n_permutations=20, n_bootstrap=20, missing="drop")
    t = r.table.set_index("attribute")
    assert t.loc["view", "n"] == 1500 and t.loc["coin", "n"] == 2000


def test_json_text_and_html_renderers(report: AdviceReport) -> None:
    data = json.loads(report.to_json())
    assert [a["attribute"] for a in data["attributes"]] == report.table["attribute"].tolist()
    assert data["calibration"]["provenance"]["chapters"] == ["synthetic"]
    assert "points" not in data["calibration"]
    assert len(data["rules"]) == 4
    text = report.to_text()
    for name in report.table["attribute"]:
        assert name in text
    assert "rules (min_effect 0.01" in text and "3,000 samples × 16 dims" in text
    page = report.to_html()
    assert page.count("<svg") == 3
    assert "<script" not in page and "cdn" not in page.lower()  # offline, no JS needed
    assert "Calibration and its provenance" in page
    # words first: one line per comparison (action and why) before any chart; the table folded
    assert page.count("Why: ") == len(report.table) and page.index("Why: ") < page.index("<svg")
    assert page.index("<details><summary>Full table") > page.rindex("<svg")
    assert page.index("<table") > page.index("<details><summary>Full table")


def test_verification_measures_sensitivity_per_comparison(calibration) -> None:
    rng = np.random.default_rng(0)
    n = 3000
    y, a = rng.integers(0, 2, n), rng.integers(0, 2, n)
    z = rng.normal(size=(n, 4))
    # group 1's label lives in another direction: a head trained without it fails on it
    z[:, 0] += 2.0 * y * (a == 0)
    z[:, 1] += 2.0 * y * (a == 1)
    z[:, 2] += 1.0 * a
    table = pd.DataFrame({"label": y, "g": a, "coin": rng.integers(0, 2, n)})
    comps = comparisons(table, ["g", "coin"])
    measured, sweep = verify_advice(z, y, comps, alphas=(0.0, 0.5, 1.0), seeds=(0, 1),
                                    k_train=400, k_val=100)
    m = measured.set_index("attribute")
    assert m.loc["g", "measured"] > 0.1  # own share matters when the label direction differs
    assert abs(m.loc["coin", "measured"]) < 0.05
    assert m.loc["g", "k_train"] == 400
    assert set(sweep["attribute"]) == {"g", "coin"}
    r = advise(z, table, label="label", calibration=calibration, n_permutations=20,
               n_bootstrap=20, verify=True,
               verify_options={"alphas": (0.0, 1.0), "seeds": (0, 1), "k_train": 300,
                               "k_val": 100})
    assert {"measured", "measured_ci_low", "within_pi", "verdict"} <= set(r.table.columns)
    assert "verify" in r.seconds and "measured [CI]" in r.to_text()
    assert r.to_html().count("<svg") == 3


def test_judge_names_each_kind_of_disagreement() -> None:
    table = pd.DataFrame({
        "attribute": ["ok", "missed", "alarm", "outside", "no-action-ok"],
        "action": ["balance", "no action", "collect", "verify", "no action"],
        "pi_low": [0.0, -0.1, 0.02, 0.0, -0.1],
        "pi_high": [0.1, 0.1, 0.2, 0.05, 0.1],
        "measured": [0.05, 0.08, 0.001, 0.09, 0.0],
        "measured_ci_low": [0.03, 0.05, -0.01, 0.08, -0.01],
        "measured_ci_high": [0.07, 0.11, 0.005, 0.1, 0.01],
    })
    out = judge(table, min_effect=0.01).set_index("attribute")
    assert out["verdict"].to_dict() == {"ok": "agrees", "missed": "missed", "alarm": "false alarm",
                                        "outside": "outside interval", "no-action-ok": "agrees"}
    assert out["within_pi"].tolist() == [True, True, False, False, True]


def test_rank_agreement_pools_within_group_spearman() -> None:
    rng = np.random.default_rng(0)
    # within each dataset the ranking is perfect, but the levels run against each other
    a = pd.DataFrame({"dataset": "a", "predicted": np.arange(6.0), "measured": np.arange(6.0) - 10})
    b = pd.DataFrame({"dataset": "b", "predicted": np.arange(4.0) + 10, "measured": np.arange(4.0)})
    both = pd.concat([a, b], ignore_index=True)
    result = rank_agreement(both, n_boot=200)
    assert result["spearman"] == pytest.approx(1.0)
    assert result["groups"] == 2 and result["n"] == 10
    assert result["ci"][0] == pytest.approx(1.0)
    # one reversed dataset: the weighted mean of +1 (6 rows) and −1 (4 rows)
    flipped = pd.concat([a, b.assign(measured=-b["measured"])], ignore_index=True)
    assert rank_agreement(flipped, n_boot=50)["spearman"] == pytest.approx(0.2)
    noise = pd.DataFrame({"dataset": np.repeat(["a", "b"], 30), "predicted": rng.normal(size=60),
                          "measured": rng.normal(size=60)})
    result = rank_agreement(noise, n_boot=300, seed=1)
    assert result["ci"][0] < 0 < result["ci"][1]
    again = rank_agreement(noise, n_boot=300, seed=1)
    assert (again["spearman"], again["ci"]) == (result["spearman"], result["ci"])
    with pytest.raises(ValueError, match="rank agreement needs"):
        rank_agreement(a.assign(measured=1.0))


def test_pair_concordance_counts_only_pairs_the_measurement_orders() -> None:
    table = pd.DataFrame({
        "dataset": ["a", "a", "a", "b", "b"],
        "attribute": ["hi", "mid", "lo", "x", "y"],
        "predicted": [0.3, 0.1, 0.2, 0.0, 0.0],
        "measured": [0.30, 0.10, 0.00, 0.05, 0.06],
        "measured_ci_low": [0.25, 0.05, -0.02, 0.0, 0.01],
        "measured_ci_high": [0.35, 0.15, 0.03, 0.1, 0.11],
    })
    out = pair_concordance(table)
    # decisive: hi>mid, hi>lo, mid>lo (CIs apart); b's two CIs overlap
    assert out["pairs"] == 3 and out["agree"] == 2
    assert out["share"] == pytest.approx(2 / 3)
    assert out["ci"][0] < 2 / 3 < out["ci"][1]
    wrong = out["table"].set_index(["higher", "lower"])["agrees"]
    assert not wrong[("mid", "lo")] and wrong[("hi", "mid")]
    none = pair_concordance(table[table["dataset"] == "b"])
    assert none["pairs"] == 0 and np.isnan(none["share"])
    with pytest.raises(ValueError, match="lacks columns"):
        pair_concordance(table.drop(columns=["measured_ci_low"]))
