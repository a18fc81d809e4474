"""Chapter 06's claims, prose and charts on small golden tables (no training)."""

from __future__ import annotations

import pandas as pd
import pytest

from latentsep.experiments import explanations as ex

NAN = float("nan")
EXTREMES = {"prevalence": "5%", "colour": "P(green) 0.1 / 0.9", "regulariser": "mmd λ = 3"}
GROUPS = pd.DataFrame({"dataset": ["adult", "adult", "coloured_mnist", "coloured_mnist"],
                       "attribute": ["Sex", "Sex", "colour", "colour"], "group": [0, 1, 0, 1]})


def correlations(r: dict[str, tuple[float, float, float]]) -> pd.DataFrame:
    """correlation_table rows: the same (r, low, high) per predictor in every scope and outcome."""
    return pd.DataFrame([
        {"scope": scope, "outcome": outcome, "predictor": p, "n": 6, "pearson_r": v[0],
         "pearson_ci_low": v[1], "pearson_ci_high": v[2]}
        for scope in (ex.ATTRIBUTE_SCOPE, "pooled", "pooled, within dataset", "coloured_mnist")
        for outcome in ("slope", "abs_slope") for p, v in r.items()
    ])


def changes(c: dict[tuple[str, str], tuple[float, float, float]]) -> pd.DataFrame:
    """arm_changes rows at the extreme levels: (arm, quantity) -> (change, low, high), the
    interval a row-bootstrap one and each of three encoders' own (``per_seed``) the same."""
    return pd.DataFrame([
        {"arm": arm, "level": EXTREMES[arm], "quantity": q, "change": c.get((arm, q), v)[0],
         "ci_low": c.get((arm, q), v)[1], "ci_high": c.get((arm, q), v)[2], "n_seeds": 3,
         "seed_min": c.get((arm, q), v)[1], "seed_max": c.get((arm, q), v)[2],
         "per_seed": [(s, *c.get((arm, q), v)) for s in (42, 43, 44)]}
        for arm in EXTREMES for q in ex.CHANGED for v in [(0.0, -0.1, 0.1)]
    ])


def joint(separation: tuple[float, float, float]) -> pd.DataFrame:
    return pd.DataFrame({"term": ["intercept", *ex.JOINT_TERMS],
                         "coef": [0.1, separation[0], -0.2, 0.3], "se": 0.1,
                         "ci_low": [0.0, separation[1], -0.5, -0.1],
                         "ci_high": [0.2, separation[2], 0.1, 0.7], "n": 21})


def check(r, c, j) -> list:
    return ex.check_claims(ex.ExplanationResults(
        GROUPS, correlations(r), changes(c), EXTREMES, joint(j), pooled_seeds=[42, 43],
        control_seeds=[42], slope_metric="cross_entropy", control_epochs=8))


AS_PREDICTED = {
    "r": {"separation_excess": (-0.7, -0.9, -0.3),
          **{p: (0.1, -0.3, 0.5) for p in ex.PREDICTORS[1:]}},
    "c": {("prevalence", "abs_slope_1"): (0.2, 0.1, 0.3),
          ("colour", "separation_excess"): (0.05, 0.01, 0.09),
          ("colour", "abs_sensitivity"): (0.2, 0.1, 0.3),
          ("regulariser", "separation_excess"): (-0.05, -0.09, -0.01),
          ("regulariser", "abs_sensitivity"): (-0.2, -0.3, -0.1)},
    "j": (2.0, 0.5, 3.5),
}


def test_every_claim_reproduced_when_the_intervals_fall_as_predicted() -> None:
    claims = check(AS_PREDICTED["r"], AS_PREDICTED["c"], AS_PREDICTED["j"])
    assert [c.claim_id for c in claims] == [c.claim_id for c in ex.claim_definitions()]
    assert [c.status for c in claims] == ["reproduced"] * 12
    assert claims[0].ours == -0.7 and claims[0].ci == (-0.9, -0.3)
    assert claims[0].note == ("2 attributes from adult, coloured_mnist; seeds [42, 43]; slope of "
                              "cross_entropy. Every group pooled: r = -0.700 [-0.900, -0.300].")
    assert claims[0].extra["interval"].startswith("Fisher z over 6 attributes")
    assert claims[5].note == "Coloured MNIST, seeds [42], ≤ 8 pre-training epochs. Level 5%."
    by_id = {c.claim_id.rpartition(".")[2]: c for c in claims}
    assert by_id["colour"].note.endswith(
        "Its manipulation check (colour_raises_separation) is reproduced.")
    assert by_id["regulariser"].note.endswith("(regulariser_lowers_separation) is reproduced.")
    assert claims[-1].note.endswith("Prevalence coefficient -0.200 [-0.500, 0.100]; baseline "
                                    "accuracy coefficient 0.300 [-0.100, 0.700].")


def test_a_prediction_keeps_its_verdict_and_names_an_unresolved_manipulation() -> None:
    c = dict(AS_PREDICTED["c"])
    c[("colour", "separation_excess")] = (0.02, -0.01, 0.05)  # the arm may not have moved it
    c[("colour", "abs_sensitivity")] = (-0.2, -0.3, -0.1)
    colour = {x.claim_id: x for x in check(AS_PREDICTED["r"], c, AS_PREDICTED["j"])}[
        "explanations.controlled.colour"]
    assert colour.status == "not reproduced"  # the rule stated before computing
    assert colour.note.endswith("Its manipulation check (colour_raises_separation) is inconclusive.")


def test_every_claim_not_reproduced_when_the_intervals_fall_the_other_way() -> None:
    r = {"separation_excess": (0.7, 0.3, 0.9), **{p: (0.7, 0.3, 0.9) for p in ex.PREDICTORS[1:]}}
    c = {k: (-v[0], -v[2], -v[1]) for k, v in AS_PREDICTED["c"].items()}
    c[("prevalence", "separation_excess")] = (0.2, 0.1, 0.3)  # the prevalence arm moved separation
    claims = check(r, c, (-1.0, -2.0, -0.5))
    assert [c.status for c in claims] == ["not reproduced"] * 12


def test_claims_are_not_checked_when_a_number_is_undefined() -> None:
    r = {p: (NAN, NAN, NAN) for p in ex.PREDICTORS}  # e.g. a predictor constant over the groups
    c = {(arm, q): (NAN, NAN, NAN) for arm in EXTREMES for q in ex.CHANGED}
    claims = check(r, c, (NAN, NAN, NAN))
    assert [c.status for c in claims] == ["not checked"] * 12


def test_prose_follows_the_intervals() -> None:
    text = ex.correlation_markdown(correlations(AS_PREDICTED["r"]), GROUPS)
    assert text.startswith("Over **4** groups from 2 datasets:\n* separation minus permutation "
                           "null: related to the slope, pooled r = -0.700 [-0.900, -0.300];")
    assert "* prevalence in pre-training data: not detectably related to the slope" in text
    assert text.endswith("Within coloured MNIST alone (6 groups) separation and slope give "
                         "r = -0.700 [-0.900, -0.300].")
    moves = ex.changes_markdown(changes(AS_PREDICTED["c"]), EXTREMES)
    assert moves.splitlines()[2].startswith("* **pre-trained with mmd λ = 3**: separation − null "
                                            "falls (-0.050 [-0.090, -0.010]); sensitivity falls")
    assert "digits 5–9 at 5% of pre-training**: separation − null does not change" in moves
    assert ex.joint_markdown(joint((2.0, 0.5, 3.5))).endswith(
        "per unit of baseline balanced accuracy (n = 21 encoders).")
    assert ex.cache_markdown({"a": True, "b": False}) == (
        "Encoders read from the earlier chapters' caches: a: yes, b: no, trained here.")


def test_change_of_names_what_is_missing() -> None:
    with pytest.raises(ValueError, match="level 'x' of arm 'colour'"):
        ex.change_of(changes({}), "colour", "x", "abs_sensitivity")


def test_charts_build_from_the_tables() -> None:
    groups = pd.DataFrame({"dataset": "d", "attribute": "a", "group": [0, 1], "slope": [0.1, -0.1],
                           "slope_seed_min": [0.0, -0.2], "slope_seed_max": [0.2, 0.0],
                           **{p: [0.2, 0.4] for p in ex.PREDICTORS}})
    spec = ex.explanations_chart(groups, "cross_entropy").to_dict()
    assert spec["resolve"]["scale"]["x"] == "independent"
    assert ex.correlations_chart(correlations(AS_PREDICTED["r"])).to_dict()["width"] == 420
    summary = pd.DataFrame({"arm": "colour", "level": ["b", "a"], "mean": 0.1,
                            "ci_low": [0.0, NAN], "ci_high": [0.2, NAN], "seed_min": 0.05,
                            "seed_max": 0.15, "quantity": "separation − null"})
    spec = ex.controlled_chart(summary, ["a", "b"]).to_dict()
    assert spec["spec"]["layer"][0]["encoding"]["x"]["sort"] == ["a", "b"]
