"""Rules on claims' intervals: no t-interval on < 5 degrees of freedom, bounded stays in range."""

from __future__ import annotations

import pytest

from latentsep.report import (
    MIN_T_DF,
    Claim,
    claim_interval_problems,
    interval_problems,
    read_claim_objects,
    read_claims,
    write_claims,
)


def test_small_degrees_of_freedom_are_flagged_unless_a_reason_is_given() -> None:
    assert MIN_T_DF == 5
    (problem,) = interval_problems((0.1, 0.2), df=2, label="A − S")
    assert problem.startswith("A − S: Student-t interval on 2 degrees of freedom (< 5)")
    assert interval_problems((0.1, 0.2), df=4.9) and not interval_problems((0.1, 0.2), df=5)
    assert not interval_problems((0.1, 0.2), df=2, allow_small_df="three encoders exist")
    assert not interval_problems((0.1, 0.2))  # not a t-interval: nothing to check


def test_a_bounded_quantity_must_keep_its_interval_in_range() -> None:
    # the classifier TV of issue 13: 0.435 [−0.785, 1.655] on 2 degrees of freedom
    problems = interval_problems((-0.785, 1.655), df=2, bounds=(0, 1), label="tv")
    assert len(problems) == 2 and "leaves the range [0, 1]" in problems[1]
    assert interval_problems((0.2, 1.01), bounds=(0, 1))
    assert not interval_problems((0.0, 1.0), bounds=(0, 1))
    assert not interval_problems((float("nan"), float("nan")), bounds=(0, 1))
    with pytest.raises(ValueError, match="low <= high"):
        interval_problems((0.1, 0.2), bounds=(1, 0))


def test_claims_declare_their_intervals_and_are_checked_after_a_round_trip(tmp_path) -> None:
    boot = "row bootstrap"
    claims = [
        Claim("ok", "TV", "0.1", "rule", 0.1, (0.05, 0.15), True,
              extra={"bounds": [0, 1], "interval": boot}),
        Claim("small", "slope", "0.2", "rule", 0.2, (0.1, 0.3), True,
              extra={"ci_df": 2, "interval": "t over seeds"}),
        Claim("allowed", "slope", "0.2", "rule", 0.2, (0.1, 0.3), True,
              extra={"ci_df": 2, "allow_small_df": "only three encoders", "interval": "t"}),
        Claim("out", "TV", "0.4", "rule", 0.4, (-0.2, 0.9), None,
              extra={"bounds": [0, 1], "interval": boot}),
        Claim("undeclared", "TV", "0.4", "rule", 0.4, (0.2, 0.9), "inconclusive"),
        Claim("plain", "ordering", "A > S", "rule", "A > S", None, True),
        Claim("unchecked", "TV", "0.4", "rule", None, (float("nan"), float("nan")), None),
    ]
    expected = ["small", "out", "undeclared"]
    assert [p.split(":")[0] for p in claim_interval_problems(claims)] == expected
    write_claims(claims, "03_x", tmp_path)
    read = [claim for _, claim in read_claim_objects(tmp_path)]
    assert [p.split(":")[0] for p in claim_interval_problems(read)] == expected
    assert list(read_claims(tmp_path)["claim"]) == [c.claim_id for c in claims]
