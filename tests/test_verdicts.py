"""Three-way verdicts: one per rule, combined over a claim's parts and over encoders, and read back
from claim files of either format (latentsep.verdicts, latentsep.report, latentsep.claim_changes)."""

from __future__ import annotations

import json

import pytest

from latentsep.claim_changes import (
    RULE_CHANGES,
    changes_for,
    latest_reason,
    rule_changes_table,
    verdict_changes,
)
from latentsep.report import Claim, read_claim_objects, read_claims, write_claims
from latentsep.verdicts import (
    VERDICTS,
    agreement,
    as_status,
    band_verdict,
    claim_protocol,
    combine,
    decide,
    side_verdict,
)

NAN = float("nan")


def test_decide_gives_each_verdict_and_refuses_a_contradiction() -> None:
    assert [decide([0.1], holds=True, fails=False), decide([0.1], holds=False, fails=True),
            decide([0.1], holds=False, fails=False), decide([NAN], holds=True, fails=False)] == list(
        VERDICTS)
    with pytest.raises(ValueError, match="both hold and fail"):
        decide([0.1], holds=True, fails=True)


@pytest.mark.parametrize(("parts", "combined", "agreed"), [
    (["reproduced", "reproduced"], "reproduced", "reproduced"),
    (["reproduced", "inconclusive"], "inconclusive", "inconclusive"),
    (["reproduced", "not reproduced"], "not reproduced", "inconclusive"),
    (["not reproduced", "not reproduced"], "not reproduced", "not reproduced"),
    (["inconclusive", "not checked"], "not checked", "not checked"),
    ([True, None], "not checked", "not checked"),
])
def test_a_claim_needs_all_its_parts_and_replicates_must_agree(parts, combined, agreed) -> None:
    assert combine(parts) == combined
    assert agreement(parts) == agreed


def test_the_sharp_bound_with_inconclusive_groups_is_not_reproduced_any_more() -> None:
    # issue 13: 2 groups hold, 4 are inconclusive: the claim was "reproduced"
    groups = ["reproduced"] * 2 + ["inconclusive"] * 4
    assert combine(groups) == "inconclusive"


@pytest.mark.parametrize(("low", "high", "expected"), [
    (0.13, 0.17, "reproduced"), (0.10, 0.14, "inconclusive"), (0.30, 0.40, "not reproduced"),
    (0.0, 0.5, "inconclusive"), (NAN, 0.2, "not checked"), (0.125, 0.185, "reproduced"),
    (0.19, 0.19, "not reproduced"),
])
def test_band_verdict(low, high, expected) -> None:
    assert band_verdict(low, high, 0.125, 0.185) == expected


def test_side_verdict_uses_the_other_side_to_refute() -> None:
    assert side_verdict(-0.3, -0.1, "below") == "reproduced"
    assert side_verdict(0.1, 0.3, "below") == "not reproduced"
    assert side_verdict(-0.1, 0.3, "below") == "inconclusive"


def test_status_accepts_old_booleans_and_rejects_unknown_words() -> None:
    assert [as_status(v) for v in (True, False, None)] == [
        "reproduced", "not reproduced", "not checked"]
    with pytest.raises(ValueError, match="verdict"):
        Claim("a", "b", "c", "d", reproduced="maybe")


def test_protocol_from_tag_or_suffix_and_never_both_ways() -> None:
    assert claim_protocol("x@authors_code") == "authors_code"
    assert claim_protocol("x", {"protocol": "authors_code"}) == "authors_code"
    assert claim_protocol("x") == "paper_text"
    with pytest.raises(ValueError, match="tag it one way"):
        claim_protocol("x@authors_code", {"protocol": "paper_text"})
    with pytest.raises(ValueError, match="protocol"):
        claim_protocol("x@elsewhere")


def test_old_claim_files_are_read_and_new_ones_store_the_word(tmp_path) -> None:
    old = {"chapter": "03_x", "claims": [
        {"claim_id": "a", "description": "A", "paper": "1", "rule": "r", "ours": 1.0, "ci": None,
         "reproduced": True, "note": "", "extra": {}},
        {"claim_id": "b", "description": "B", "paper": "1", "rule": "r", "ours": None, "ci": None,
         "reproduced": None, "note": "", "extra": {}}]}
    (tmp_path / "claims").mkdir()
    (tmp_path / "claims" / "03_x.json").write_text(json.dumps(old))
    assert list(read_claims(tmp_path)["status"]) == ["reproduced", "not checked"]
    new = tmp_path / "new"
    write_claims([Claim("a", "A", "1", "r", 1.0, None, "inconclusive",
                        extra={"protocol": "authors_code"})], "03_x", new)
    stored = json.loads((new / "claims" / "03_x.json").read_text())["claims"][0]
    assert stored["reproduced"] == "inconclusive"
    assert read_claims(new)[["status", "protocol"]].values.tolist() == [
        ["inconclusive", "authors_code"]]
    changes = verdict_changes(tmp_path, new)
    assert changes[["claim", "old", "new"]].values.tolist() == [
        ["a", "reproduced", "inconclusive"], ["b", "not checked", "absent"]]
    assert [c.status for _, c in read_claim_objects(new)] == ["inconclusive"]


def test_rule_changes_go_both_ways_and_each_has_a_reason_and_its_claims() -> None:
    assert all(c.ids for c in RULE_CHANGES)
    sharp = changes_for("mnist.bound.sharp_classifier_tv@authors_code")
    assert [c.ids for c in sharp] == [("mnist.bound.sharp_classifier_tv",), ("*",)]
    assert changes_for("theory.counterexample")[0].ids == ("*",)
    # a diff gives a claim's newest own reason: chapter 05's per-encoder rows, not the seed rule
    old, new = ([c for c in RULE_CHANGES if "regularisation.*" in c.ids][i] for i in (0, -1))
    assert old is not new and latest_reason("regularisation.adult.tv.sensitivity") == new.reason
    table = rule_changes_table()
    assert len(table) == len(RULE_CHANGES) and (table["reason"].str.len() > 20).all()
    assert {"tightened", "loosened"} <= set(table["direction"])
