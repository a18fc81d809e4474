"""Chapter 04's claims on small golden tables (every verdict branch), its prose, tables and charts
(no training; the user-supplied-datasets runner is tested in test_real_datasets_runner.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from latentsep import plotting
from latentsep.experiments import real_datasets as rd
from latentsep.experiments import real_datasets_claims as rc
from latentsep.experiments.protocol import (
    SENSITIVITY_MEASURES,
    SEPARATION_MEASURES,
    separation_view,
)
from latentsep.separation import PAPER_ESTIMATOR, POOLED_HISTOGRAM

NOT_CHECKABLE = "Not checkable in this run: needs `{}` and the full profile"


def corr_row(r: float, low: float, high: float, *, r2: float | None = None, note: str = "",
             separation: str = "TV, paper-faithful", sensitivity: str = "loss slope") -> dict:
    """One correlation_table row (Spearman set to r, n = 10)."""
    r2 = r * r if r2 is None else r2
    return {"separation": separation, "sensitivity": sensitivity, "n": 10, "note": note,
            "pearson_r": r, "pearson_ci_low": low, "pearson_ci_high": high, "r2": r2,
            "r2_ci_low": 0.0, "r2_ci_high": 0.9, "spearman": r, "spearman_ci_low": low,
            "spearman_ci_high": high, "p_value": 0.01}


def corr_table(r: float, low: float, high: float, **kw) -> pd.DataFrame:
    """A correlation table where every pair has the same (r, CI)."""
    return pd.DataFrame([corr_row(r, low, high, separation=s, sensitivity=t, **kw)
                         for s in SEPARATION_MEASURES for t in SENSITIVITY_MEASURES])


def summary(tv: dict[str, float]) -> pd.DataFrame:
    """protocol_summaries rows with only what the claims read: paper-faithful TV per attribute."""
    return pd.DataFrame([{"estimator": PAPER_ESTIMATOR, "metric": "cross_entropy",
                          "attribute": a, "separation": v, "separation_ci_low": v - 0.01,
                          "separation_ci_high": v + 0.01, "excess": v - 0.01}
                         for a, v in tv.items()])


def frozen_summary(*, fmz: dict[str, tuple[float, float, float]], excess_low: dict[str, float],
                   tv: dict[str, float], sensitivity: dict[str, float]) -> pd.DataFrame:
    """The frozen run's rows the foundation claims read (balanced accuracy)."""
    rows = []
    for a in tv:
        value, low, high = fmz[a]
        common = {"metric": "balanced_accuracy", "attribute": a, "sensitivity": sensitivity[a],
                  "full_minus_zero": value, "full_minus_zero_ci_low": low,
                  "full_minus_zero_ci_high": high}
        rows += [{**common, "estimator": POOLED_HISTOGRAM, "separation": tv[a],
                  "excess_ci_low": excess_low[a]},
                 {**common, "estimator": PAPER_ESTIMATOR, "separation": tv[a]},
                 {**common, "estimator": "classifier", "separation": tv[a]}]
    return pd.DataFrame(rows)


SEPARATED = frozen_summary(
    fmz={"digit": (0.4, 0.3, 0.5), "colour": (0.1, 0.05, 0.2), "Random": (0.0, -0.01, 0.01)},
    excess_low={"digit": 0.2, "colour": 0.1, "Random": -0.01},
    tv={"digit": 0.5, "colour": 0.3, "Random": 0.02},
    sensitivity={"digit": 0.3, "colour": -0.1, "Random": 0.001})


def results(*, r=(-0.8, -0.95, -0.4), tv=None, frozen=SEPARATED, note="",
            **real) -> rc.RealDatasetsResults:
    tv = tv or {"Sex": 0.3, "Age": 0.2, "Random": 0.01}
    return rc.RealDatasetsResults(
        summaries={k: summary(tv) for k in rd.TABULAR_TITLES},
        correlations={k: corr_table(*r, note=note) for k in rd.TABULAR_TITLES},
        frozen_summary=frozen,
        frozen_images=3000, image_size=112, frozen_k=1000, n_seeds=3, profile="quick", **real)


def by_id(claims) -> dict:
    return {c.claim_id: c for c in claims}


def test_stated_claims_read_the_paper_values_from_paper():
    claims = rc.stated_claims()
    assert claims["mimic.loss"].paper == rc.PAPER["mimic_cxr.loss slope"] == "R² 0.78 (p = 6.4e-4)"
    assert claims["adult.loss slope"].paper == "R² 0.78 (p = 6.4e-4) on MIMIC-CXR, 10 attributes"
    assert claims["mimic.fmz"].rule == "r < 0 with its 95 % CI below 0 and R² >= 0.5"
    assert claims["ham10000.random"].paper == "Random 0.276, lowest"
    assert [c.status for c in claims.values()] == ["not checked"] * len(claims)


def test_correlation_claim_each_branch_and_its_note():
    claim = rc.stated_claims()["mimic.loss"]
    row = pd.Series(corr_row(-0.8, -0.95, -0.4, r2=0.64))
    filled = rc.correlation_claim(claim, row, n_seeds=3, profile="full", min_r2=0.5,
                                  extra=" Analysis: adapted.")
    assert filled.status == "reproduced" and filled.ours == -0.8 and filled.ci == (-0.95, -0.4)
    assert filled.note == ("R² = 0.64 [0.00, 0.90], Spearman -0.80 [-0.95, -0.40], n = 10 "
                           "attributes, 3 seeds, profile full. Analysis: adapted.")
    assert claim.status == "not checked"  # the stated claim is left as it was
    weak = rc.correlation_claim(claim, row, n_seeds=3, profile="full", min_r2=0.7)
    assert weak.status == "not reproduced"
    straddles = rc.correlation_claim(claim, pd.Series(corr_row(-0.3, -0.7, 0.2)), n_seeds=3,
                                     profile="quick")
    assert straddles.status == "inconclusive" and straddles.ci == (-0.7, 0.2)
    positive = rc.correlation_claim(claim, pd.Series(corr_row(0.6, 0.2, 0.9)), n_seeds=3,
                                    profile="quick")
    assert positive.status == "not reproduced"
    undefined = rc.correlation_claim(
        claim, pd.Series(corr_row(np.nan, np.nan, np.nan, note="undefined: constant")), n_seeds=3,
        profile="quick")
    assert undefined.status == "not checked" and undefined.ours is None and undefined.ci is None
    assert undefined.note == "undefined: constant; profile quick."


def test_check_claims_reproduced_branch_on_golden_tables():
    claims = by_id(rc.check_claims(results()))
    assert [c.claim_id for c in rc.check_claims(results())] == [
        c.claim_id for c in rc.stated_claims().values()]
    for key in rd.TABULAR_TITLES:
        assert claims[f"real.{key}.tv_vs_loss_slope"].status == "reproduced"
        assert claims[f"real.{key}.tv_excess_vs_loss_slope"].status == "reproduced"
        random = claims[f"real.{key}.random_lowest_tv"]
        assert random.status == "reproduced" and random.ours == "lowest: Random"
        assert random.note == "3 attributes, 3 seeds, profile quick."
    gains = claims["real.foundation.gains_only_where_separated"]
    assert gains.status == "reproduced"
    assert gains.ours == "gains for ['colour', 'digit']; TV excess CI above 0 for ['colour', 'digit']"
    assert gains.note.startswith("Balanced-accuracy full-minus-zero: digit +0.400 [+0.300, +0.500]")
    assert gains.note.endswith("3,000 images at 112 px, K = 1,000, 3 seeds (t-intervals with 2 "
                               "degrees of freedom), profile quick.")
    ranking = claims["real.foundation.tv_ranks_sensitivity"]
    assert ranking.status == "reproduced"
    assert ranking.ours == "TV: digit > colour > Random; |sensitivity|: digit > colour > Random"


def test_check_claims_not_reproduced_branch_on_golden_tables():
    frozen = frozen_summary(
        fmz={"digit": (0.4, 0.3, 0.5), "colour": (0.1, 0.05, 0.2), "Random": (-0.02, -0.03, -0.01)},
        excess_low={"digit": 0.2, "colour": 0.1, "Random": -0.01},
        tv={"digit": 0.5, "colour": 0.3, "Random": 0.02},
        sensitivity={"digit": 0.1, "colour": -0.3, "Random": 0.001})
    claims = by_id(rc.check_claims(results(r=(0.2, -0.3, 0.6), tv={"Sex": 0.3, "Random": 0.2,
                                                                    "Age": 0.1}, frozen=frozen)))
    assert claims["real.adult.tv_vs_full_minus_zero_loss"].status == "inconclusive"  # r CI holds 0
    random = claims["real.compas.random_lowest_tv"]
    assert random.status == "not reproduced" and random.ours == "lowest: Age"
    # Random gains without being separated; the orderings differ
    assert claims["real.foundation.gains_only_where_separated"].status == "not reproduced"
    assert claims["real.foundation.tv_ranks_sensitivity"].status == "not reproduced"


def test_check_claims_not_checked_branch_on_golden_tables():
    frozen = SEPARATED.copy()
    frozen.loc[frozen["attribute"] == "colour", "separation"] = np.nan
    claims = by_id(rc.check_claims(results(r=(np.nan, np.nan, np.nan), note="undefined: why",
                                           frozen=frozen)))
    undefined = claims["real.adult.tv_vs_loss_slope"]
    assert undefined.status == "not checked" and undefined.note == "undefined: why; profile quick."
    ranking = claims["real.foundation.tv_ranks_sensitivity"]
    assert ranking.status == "not checked" and ranking.ours.endswith("; TV undefined for ['colour']")
    for dataset, env in (("mimic_cxr", "LATENTSEP_MIMIC_CXR"), ("ham10000", "LATENTSEP_HAM10000"),
                         ("civilcomments", "LATENTSEP_CIVILCOMMENTS")):
        for claim in claims.values():
            if claim.claim_id.startswith(f"real.{dataset}."):
                assert claim.status == "not checked" and claim.note.startswith(
                    NOT_CHECKABLE.format(env))


def test_check_claims_on_the_papers_datasets_when_they_ran():
    real_summaries = {("mimic_cxr", "adapted"): summary({"View": 0.3, "Random": 0.02}),
                      ("ham10000", "adapted"): summary({"Age": np.nan, "Random": np.nan}),
                      ("civilcomments", "adapted"): summary({"Gender": 0.2, "Random": 0.01})}
    real_corrs = {key: corr_table(-0.75, -0.9, -0.3, r2=0.56) for key in real_summaries}
    claims = by_id(rc.check_claims(results(real_summaries=real_summaries,
                                           real_correlations=real_corrs)))
    mimic = claims["real.mimic_cxr.tv_vs_loss_slope"]
    assert mimic.status == "reproduced" and mimic.note.endswith("profile quick. Analysis: adapted.")
    ham = claims["real.ham10000.random_lowest_tv"]  # every TV undefined: not checked, said why
    assert ham.status == "not checked" and ham.ours is None
    assert ham.note == ("Analysis: adapted; paper-faithful TV undefined for every attribute (see "
                        "the separation notes).")
    civil = claims["real.civilcomments.random_lowest_tv"]
    assert civil.status == "reproduced" and civil.note == "Analysis: adapted; 3 seeds."
    weak = {key: corr_table(-0.6, -0.9, -0.3, r2=0.36) for key in real_summaries}
    claims = by_id(rc.check_claims(results(real_summaries=real_summaries, real_correlations=weak)))
    assert claims["real.mimic_cxr.tv_vs_full_minus_zero"].status == "not reproduced"  # R² < 0.5


def test_findings_say_which_side_of_zero_and_whether_established():
    table = pd.DataFrame([
        corr_row(-0.5, -0.8, -0.1, sensitivity="loss slope"),
        corr_row(-0.2, -0.6, 0.3, sensitivity="balanced-accuracy slope"),
        corr_row(np.nan, np.nan, np.nan, sensitivity="full-minus-zero loss", note="undefined: x")])
    text = rc.findings_markdown({"adult": table})
    lines = text.split("\n\n")[1].split("\n")
    assert lines[0].endswith("the estimate is on that side, and its interval excludes 0.")
    assert "predicts r > 0; the estimate is on the other side" in lines[1]
    assert lines[1].endswith("includes 0 (sign not established).")
    assert lines[2] == "* **Adult**, TV vs full-minus-zero loss: undefined: x."


def test_overview_marks_paper_values_and_an_all_undefined_run():
    tabular = {k: summary({"Sex": 0.3, "Random": 0.01}) for k in rd.TABULAR_TITLES}
    corrs = {k: corr_table(-0.5, -0.8, -0.1) for k in rd.TABULAR_TITLES}
    frozen = summary({"digit": 0.5, "Random": 0.02})
    real = {("ham10000", "adapted"): summary({"Age": np.nan, "Random": np.nan})}
    real_corrs = {("ham10000", "adapted"): corr_table(np.nan, np.nan, np.nan, note="undefined: n")}
    table = rd.overview_table(tabular, corrs, frozen, real, real_corrs).set_index("dataset")
    assert table.loc["Adult", "highest TV"] == "Sex 0.300"
    assert table.loc["Adult", "TV vs loss slope"] == "r = -0.50, R² = 0.25"
    paper = table.loc["MIMIC-CXR-JPG v2 + MIMIC-IV"]
    assert paper["whose numbers"] == "paper (reference, not ours)"
    assert paper["highest TV"] == "ViewPosition 0.259" and paper["Random TV"] == "0.024"
    assert paper["TV vs loss slope"].startswith("loss slope: R² 0.78 (p = 6.4e-04)")
    ours = table.loc["HAM10000 + ISIC 2018 (adapted)"]
    assert ours["highest TV"] == "undefined" and ours["TV vs loss slope"] == "undefined: n"
    sections = rd.paper_vs_ours_sections(real, "adapted")
    assert [s[0].split("**")[1] for s in sections] == ["MIMIC-CXR-JPG v2 + MIMIC-IV",
                                                       "HAM10000 + ISIC 2018", "CivilComments"]
    assert "not our results" in sections[0][0] and "ours next to" in sections[1][0]
    assert sections[1][1].set_index("attribute").loc["Age", "ours"] == "undefined"


def test_separation_view_labels_each_measure_with_its_interval():
    rows = [{"estimator": est, "metric": metric, "attribute": a, "separation": s,
             "separation_ci_low": s - 0.1, "separation_ci_high": s + 0.1, "excess": s - 0.5,
             "excess_ci_low": s - 0.6, "excess_ci_high": s - 0.4}
            for est, s in ((PAPER_ESTIMATOR, 1.0), (POOLED_HISTOGRAM, 2.0), ("classifier", 3.0))
            for metric in ("cross_entropy", "balanced_accuracy") for a in ("A", "Random")]
    view = separation_view(pd.DataFrame(rows)).set_index(["measure", "attribute"])
    assert len(view) == 6  # one metric's rows only
    assert view.loc[("TV, paper-faithful", "A")].tolist() == [1.0, 0.9, 1.1]
    assert view.loc[("TV excess (ours)", "A")].tolist() == [1.5, 1.4, 1.6]
    assert view.loc[("classifier TV bound (ours)", "Random"), "value"] == 3.0


def test_charts_facet_per_attribute_and_per_dataset():
    curves = pd.DataFrame({"attribute": ["A", "A", "B", "B"], "group": [0, 1, 0, 1],
                           "own_share": [0.0, 1.0, 0.0, 1.0], "balanced_accuracy": [0.6] * 4,
                           "ci_low": [0.5] * 4, "ci_high": [0.7] * 4})
    wrapped = plotting.allocation_curves_chart(curves, columns=4).to_dict()
    assert wrapped["columns"] == 4 and wrapped["resolve"]["scale"]["y"] == "independent"
    assert set(wrapped["datasets"][wrapped["data"]["name"]][0]) >= {"group"}
    assert {r["group"] for r in wrapped["datasets"][wrapped["data"]["name"]]} == {"group 0",
                                                                                 "group 1"}
    assert plotting.allocation_curves_chart(curves).to_dict()["facet"]["column"]["field"] == "attribute"
    one = summary({"Sex": 0.3, "Random": 0.01}).assign(
        sensitivity=-0.1, sensitivity_ci_low=-0.2, sensitivity_ci_high=0.0, full_minus_zero=-0.2,
        full_minus_zero_ci_low=-0.3, full_minus_zero_ci_high=-0.1)
    both = pd.concat([one.assign(metric=m) for m in ("cross_entropy", "balanced_accuracy")])
    table = rd.scatter_table({"adult": both, "compas": both})
    assert len(table) == 2 * 3 * 2 and set(table["sensitivity measure"]) == set(SENSITIVITY_MEASURES)
    spec = plotting.separation_vs_sensitivity_chart(table).to_dict()
    assert spec["facet"]["row"]["field"] == "dataset"
    assert spec["facet"]["column"]["field"] == "sensitivity measure"
