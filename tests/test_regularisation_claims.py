"""Chapter 05's claims, prose and charts on small golden tables (no training)."""

from __future__ import annotations

import pandas as pd
import pytest

from latentsep.experiments import regularisation as reg

NAN = float("nan")


SEEDS = (42, 43, 44)


def _per_seed(value: float, low: float, high: float, n_seeds: int,
              shift: tuple[float, ...] = ()) -> list[tuple[int, float, float, float]]:
    """Each encoder's (seed, value, row-bootstrap low, high): all equal unless ``shift`` moves
    encoder i by shift[i]."""
    shift = shift or (0.0,) * n_seeds
    return [(s, value + d, low + d, high + d) for s, d in zip(range(42, 42 + n_seeds), shift,
                                                                strict=True)]


def changes_table(rows: dict[str, tuple[float, float, float]], dataset: str = "d",
                  n_seeds: int = 3, shift: tuple[float, ...] = ()) -> pd.DataFrame:
    """A change_from_unregularised table at the paper's λ: quantity -> (change, low, high), the
    interval a row-bootstrap one, and each encoder's own (``per_seed``)."""
    return pd.DataFrame([
        {"dataset": dataset, "attribute": "a", "penalty": "tv", "lam": reg.PAPER["lambda"],
         "quantity": q, "change": c, "ci_low": lo, "ci_high": hi, "n_seeds": n_seeds,
         "seed_min": lo, "seed_max": hi, "interval": "row bootstrap",
         "per_seed": _per_seed(c, lo, hi, n_seeds, shift)}
        for q, (c, lo, hi) in rows.items()
    ])


def matched_table(difference: tuple[float, float, float] | None, dataset: str = "d",
                  cost: float = 0.02, n_seeds: int = 3) -> pd.DataFrame:
    """matched_outcomes rows at one cost: TV, MMD and (optionally) their difference."""
    rows = [("tv", (0.0, -0.01, 0.01)), ("mmd", (0.01, 0.0, 0.02))]
    if difference is not None:
        rows.append(("mmd − tv", difference))
    return pd.DataFrame([
        {"dataset": dataset, "outcome": outcome, "cost": c, "penalty": p, "drop": d,
         "ci_low": lo, "ci_high": hi, "n_seeds": n_seeds, "seed_min": lo, "seed_max": hi,
         "interval": "row bootstrap", "per_seed": _per_seed(d, lo, hi, n_seeds)}
        for outcome in reg.MATCHED_OUTCOMES for c in (cost / 2, cost)
        for p, (d, lo, hi) in rows
    ])


def check(changes: pd.DataFrame, matched: pd.DataFrame) -> list:
    return reg.check_claims(reg.TradeoffResults(changes, matched, {"d": "a"}, "mmd", seeds=[42, 43],
                                                pretrain_epochs=8, tv_reduction="sum"))


GOOD = {"separation_excess": (-0.02, -0.03, -0.01), "abs_sensitivity": (-0.05, -0.08, -0.02),
        "balanced_accuracy": (-0.03, -0.05, -0.01), "worst_group_accuracy": (-0.1, -0.2, 0.0)}


def test_claims_are_reproduced_when_every_encoder_lies_on_the_predicted_side() -> None:
    claims = check(changes_table(GOOD), matched_table((0.01, 0.002, 0.02)))
    assert [c.claim_id for c in claims] == [
        "regularisation.d.tv.separation", "regularisation.d.tv.sensitivity",
        "regularisation.d.tv.accuracy_cost", "regularisation.d.compare.sensitivity"]
    assert [c.status for c in claims] == ["reproduced"] * 4
    cost = claims[2]  # a cost is minus the change, its interval flipped
    assert cost.ci is None and cost.extra["per_seed_ci"][0] == pytest.approx([42, 0.01, 0.05])
    assert cost.ours.startswith("mean 0.030; per encoder 0.030 [0.010, 0.050]")
    assert claims[0].note == ("d, attribute a; seeds [42, 43]; ≤ 8 pre-training epochs; "
                              "TV reduction sum.")
    assert claims[3].ours.startswith("mean 0.010") and claims[3].note.endswith(
        "Matched cost 2.0 points of balanced accuracy.")


def test_encoders_that_disagree_leave_a_claim_inconclusive() -> None:
    # the third encoder's interval lies above 0 while the others lie below
    claims = check(changes_table(GOOD, shift=(0.0, 0.0, 0.04)), matched_table((0.01, 0.002, 0.02)))
    assert [c.status for c in claims[:3]] == ["inconclusive"] * 3
    assert claims[0].extra["per_seed"] == ["reproduced", "reproduced", "not reproduced"]


def test_claims_are_not_reproduced_when_every_encoder_lies_opposite() -> None:
    bad = {**GOOD, "separation_excess": (0.01, -0.01, 0.03), "abs_sensitivity": (0.05, 0.02, 0.08),
           "balanced_accuracy": (0.01, 0.0, 0.02)}
    claims = check(changes_table(bad), matched_table((-0.01, -0.02, -0.002)))
    assert [c.status for c in claims] == [
        "inconclusive", "not reproduced", "inconclusive", "not reproduced"]


def test_an_undefined_interval_is_inconclusive_an_undefined_value_not_checked() -> None:
    undefined = {q: (v[0], NAN, NAN) for q, v in GOOD.items()}
    claims = check(changes_table(undefined), matched_table((0.01, NAN, NAN)))
    assert [c.status for c in claims] == ["inconclusive"] * 4
    claims = check(changes_table({q: (NAN, NAN, NAN) for q in GOOD}), matched_table(None))
    assert [c.status for c in claims] == ["not checked"] * 4


def test_the_comparison_is_not_checked_when_no_common_cost_was_reached() -> None:
    claims = check(changes_table(GOOD), matched_table(None))
    assert claims[3].status == "not checked" and claims[3].ours is None
    assert claims[3].note.endswith("No common accuracy cost was reached.")


def test_claim_definitions_state_rules_before_any_number() -> None:
    claims = reg.claim_definitions({"x": "Sex", "y": "digit_group"}, "adversary")
    assert len(claims) == 8 and all(c.reproduced is None and c.ours is None for c in claims)
    assert "adversarial group classifier" in claims[3].description
    assert "λ = 0.01" in claims[0].description and "Sex" in claims[0].description


def test_change_at_names_a_missing_lambda() -> None:
    with pytest.raises(ValueError, match=r"λ = 0\.1"):
        reg.change_at(changes_table(GOOD), "d", "abs_sensitivity", lam=0.1)


def test_prose_follows_the_intervals() -> None:
    text = reg.paper_lambda_markdown(changes_table(GOOD), ["d"])
    assert text.startswith("* **d**: separation − null falls (-0.020 [-0.030, -0.010]); |slope| "
                           "falls")
    assert "worst-group accuracy by -0.100 [-0.200, 0.000]" in text
    assert "MMD² buys a larger drop" in reg.matched_markdown(matched_table((0.01, 0.002, 0.02)),
                                                              ["d"], "mmd")
    assert "do not differ detectably" in reg.matched_markdown(matched_table((0.0, -0.01, 0.01)),
                                                              ["d"], "mmd")
    assert "widen the λ grids" in reg.matched_markdown(matched_table(None), ["d"], "mmd")


def test_capped_and_floor_prose() -> None:
    setup = pd.DataFrame({"dataset": ["d", "e"], "K_train wanted": [1000, 50],
                          "K_train used": [600, 50]})
    assert reg.capped_markdown(setup) == (
        "**K capped.** At α = 0 or 1 every fine-tuning image comes from one group. d: K_train "
        "capped at 600 (wanted 1,000), the smallest group of the pool.")
    assert reg.capped_markdown(setup.iloc[1:]) == ""
    scale = pd.DataFrame({"dataset": ["d", "d"], "groups": ["shuffled within class", "observed"],
                          "reduction": "sum", "mean": [30.0, 40.0], "embedding_dim": 64})
    assert reg.floor_markdown(scale, "sum").startswith(
        "At the floor, λ = 0.01 adds **0.30** nats on d (D = 64) under `sum`.")


def test_charts_build_from_the_tables() -> None:
    summary = pd.DataFrame([
        {"dataset": "d", "attribute": "a", "penalty": p, "lam": lam, "quantity": q,
         "mean": 0.5 + lam, "se": 0.01, "ci_low": 0.4, "ci_high": 0.6 + lam, "n_seeds": 2}
        for p, lams in (("tv", (0.0, 0.01)), ("mmd", (0.0, 1.0))) for lam in lams
        for q in reg.SHOWN
    ])
    lam_spec = reg.lambda_chart(summary, "d").to_dict()
    assert lam_spec["columns"] == 3
    assert lam_spec["spec"]["layer"][0]["encoding"]["x"]["sort"] == ["0", "0.01", "1"]
    assert len(reg.tradeoff_chart(summary).to_dict()["vconcat"]) == 2
    assert reg.matched_chart(matched_table((0.01, 0.0, 0.02))).to_dict()["facet"]["row"][
        "field"] == "outcome"
