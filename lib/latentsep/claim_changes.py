"""What changed in the book's judgement of the paper: the rule changes of issue 13, and the claims
whose verdict moved between two runs.

:data:`RULE_CHANGES` lists every change to a claim's rule with its reason, tightened as well as
loosened; the reproduction-status page shows it as a table. :func:`verdict_changes` compares two
``results/<profile>/claims`` folders (e.g. before and after a change of rules) claim by claim.
Run ``python tools/claims-diff.py OLD_RESULTS NEW_RESULTS`` for the table in markdown.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import pandas as pd

from latentsep.report import read_claim_objects


@dataclass(frozen=True)
class RuleChange:
    """One change to how claims are judged.

    Attributes
    ----------
    claims : str
        The claims it applies to (ids or a pattern such as ``"mnist.tv.value.*"``).
    before, after : str
        The rule before and after the change.
    direction : {"tightened", "loosened", "reformulated"}
        Whether the change makes "reproduced" harder, easier, or compares another quantity.
    reason : str
        Why: what made the old rule unfair or too easy (comparability), never the outcome.
    ids : tuple of str
        ``fnmatch`` patterns of the claim ids it applies to (``"*"``: every claim).
    """

    claims: str
    before: str
    after: str
    direction: str
    reason: str
    ids: tuple[str, ...] = ()


#: Every rule change, oldest first.
RULE_CHANGES: tuple[RuleChange, ...] = (
    RuleChange(
        "every claim", "two verdicts: reproduced when the rule held, else not reproduced",
        "three verdicts: reproduced, not reproduced, inconclusive (the interval straddles the "
        "rule's threshold); a claim with an inconclusive part is inconclusive",
        "tightened",
        "An interval that cannot decide was counted on one side or the other, depending on how "
        "the rule was worded.",
        ids=("*",)),
    RuleChange(
        "claims about a change's or a correlation's side of 0 (chapters 04-07: fill_claim, "
        "advisor.ranking.*)",
        "reproduced when the CI lies on the claimed side, else not reproduced",
        "not reproduced only when the CI lies on the other side; a CI containing 0 is inconclusive",
        "loosened",
        "A CI containing 0 does not show the opposite of the paper's claim.",
        ids=("real.*", "regularisation.*", "explanations.*", "advisor.ranking.spearman",
             "advisor.ranking.separation_only")),
    RuleChange(
        "mnist.bound.sharp_classifier_tv",
        "reproduced unless some group's margin CI lies below 0 (inconclusive groups counted as "
        "holding)",
        "reproduced only when every group's margin CI lies above 0; any violated group: not "
        "reproduced; else inconclusive",
        "tightened",
        "4 of 6 groups were inconclusive, yet the claim counted as reproduced.",
        ids=("mnist.bound.sharp_classifier_tv",)),
    RuleChange(
        "mnist.bound.authors_check",
        "2·TV + mean |Δ plain accuracy| < 1, upper limit of a t-interval over 3 seeds",
        "2·TV + mean signed Δ balanced accuracy (the authors' get_slopes_df), per encoder with the "
        "TV's row-bootstrap interval; reproduced when every encoder's upper limit is below 1, not "
        "reproduced when every lower limit is at or above 1",
        "tightened",
        "The authors use signed balanced accuracy; a 2-df t-interval cannot carry a claim.",
        ids=("mnist.bound.authors_check",)),
    RuleChange(
        "mnist.tv.value.digit_group, mnist.tv.value.colour",
        "the paper's raw TV inside our t-interval over seeds, widened by the read-off error",
        "the TV's ratio to the Random attribute's TV of the same encoder and rows, its interval "
        "inside the paper's range of ratios (its values ± their errors and the read-off error) "
        "in every encoder; across an edge of the range: inconclusive",
        "reformulated",
        "A histogram TV's bias depends on the encoder's score distribution and on n: raw values "
        "from different encoders are not comparable, ratios to Random are.",
        ids=("mnist.tv.value.digit_group", "mnist.tv.value.colour")),
    RuleChange(
        "mnist.tv.value.Random",
        "the paper's raw Random TV (0.037) inside our interval",
        "Random's TV is at the permutation null (its excess interval contains 0), per encoder",
        "reformulated",
        "The ratio of Random to itself is 1; what the paper's Random shows is the null level.",
        ids=("mnist.tv.value.Random",)),
    RuleChange(
        "mnist.tv.ordering.*, mnist.tv.colour_vs_random.paper_estimator",
        "differences' t-intervals over 3 seeds (2 df) on the test split",
        "per encoder, the attributes' row-bootstrap intervals on the largest held-out set "
        "compared (disjoint intervals decide), the encoders' verdicts then required to agree",
        "reformulated",
        "No Student-t interval on fewer than 5 degrees of freedom; the largest held-out set "
        "decides what the 572-row test split cannot.",
        ids=("mnist.tv.ordering.*", "mnist.tv.colour_vs_random.*")),
    RuleChange(
        "mnist.digit.drop.*, mnist.colour.flat.*, mnist.sensitivity.ordering",
        "t-intervals over 3 seeds (2 df); a drop counted when its CI merely overlapped the "
        "paper's value ± 0.03",
        "each encoder's value against the rule, the encoders required to agree (inconclusive "
        "when they do not)",
        "reformulated",
        "No Student-t interval on fewer than 5 degrees of freedom; the per-seed values are shown.",
        ids=("mnist.digit.drop.*", "mnist.colour.flat.*", "mnist.sensitivity.ordering")),
    RuleChange(
        "changes summarised over fewer than 6 seeds (chapters 05 and 06, fill_claim)",
        "the t-interval over seeds (2 df with 3 seeds) on the claimed side",
        "inconclusive: the claim shows the encoders' range, no CI; with 6 or more seeds the "
        "t-interval (5 or more degrees of freedom) decides",
        "tightened",
        "A t-interval on 2 degrees of freedom cannot carry a claim, and three encoders agreeing "
        "cannot either (a sign test reaches 2 × 2⁻³ = 0.25; six agreeing encoders are needed for "
        "5 %). Rejected alternative: letting the encoders' agreement decide, which would have "
        "turned four claims reproduced on evidence weaker than a 95 % interval.",
        ids=("regularisation.*", "explanations.controlled.*")),
    RuleChange(
        "changes and matched comparisons of chapters 05 and 06 (the previous entry's claims, "
        "but explanations.controlled.joint)",
        "inconclusive over 3 seeds: no interval, the encoders' range shown",
        "each encoder judged on its own 95 % interval from a bootstrap of its test rows (400 "
        "draws within class × group cells; the same draws for both levels of a change, so "
        "paired), the encoders required to agree (latentsep.verdicts.agreement), as chapter 03 "
        "judges its claims; an encoder whose interval straddles the threshold, or is undefined, "
        "leaves the claim inconclusive",
        "loosened",
        "Three encoders cannot carry an interval across encoders, but each encoder's own data can "
        "say whether its change is more than its test rows' noise. The verdict is conditional on "
        "the encoders run: requiring all of them to agree is what stands in for the variation "
        "between encoders, which no interval here measures.",
        ids=("regularisation.*", "explanations.controlled.prevalence*",
             "explanations.controlled.colour*", "explanations.controlled.regulariser*")),
    RuleChange(
        "explanations.pooled.*",
        "Pearson r across every group (signed per-group slopes), pooled over datasets",
        "Pearson r across attributes (mean of the groups' slopes), centred within each dataset",
        "reformulated",
        "The paper works per attribute within a dataset; the two groups of an attribute share one "
        "separation while their slopes often have opposite signs.",
        ids=("explanations.pooled.*",)),
    RuleChange(
        "advisor.ranking.decisive_pairs",
        "the share of decisive pairs ordered correctly at or above 0.80",
        "its 95 % Wilson interval at or above 0.80; below: not reproduced; straddling: "
        "inconclusive",
        "tightened",
        "A share of a few pairs is uncertain; its interval, not the point, has to clear the bar.",
        ids=("advisor.ranking.decisive_pairs",)),

)
"""Every rule change of issue 13, in the order the status page lists them."""

DIRECTIONS = ("tightened", "loosened", "reformulated")


def changes_for(claim_id: str) -> list[RuleChange]:
    """The rule changes that apply to ``claim_id``, the claim's own first, "every claim" last.

    Examples
    --------
    >>> [c.direction for c in changes_for("mnist.bound.sharp_classifier_tv")]
    ['tightened', 'tightened']
    """
    base = claim_id.partition("@")[0]
    found = [c for c in RULE_CHANGES if any(fnmatch(base, p) for p in c.ids)]
    return sorted(found, key=lambda c: c.ids == ("*",))


def rule_changes_table() -> pd.DataFrame:
    """:data:`RULE_CHANGES` as a display table (``claims, before, after, direction, reason``)."""
    return pd.DataFrame([{k: v for k, v in vars(c).items() if k != "ids"} for c in RULE_CHANGES],
                        columns=["claims", "before", "after", "direction", "reason"])


def verdict_changes(old_results: str | Path, new_results: str | Path) -> pd.DataFrame:
    """Claims whose verdict differs between two results folders.

    Parameters
    ----------
    old_results, new_results : path
        ``results/<profile>`` folders holding ``claims/<chapter>.json``.

    Returns
    -------
    pd.DataFrame
        ``chapter, claim, old, new, old_ours, new_ours, reason`` for every claim whose verdict
        changed, appeared (old ``"absent"``) or disappeared (new ``"absent"``), in chapter order;
        ``reason`` is the reason of the claim's latest own rule change (:func:`changes_for`),
        else of the rule change for every claim.

    Examples
    --------
    >>> import tempfile
    >>> from latentsep.report import Claim, write_claims
    >>> old, new = tempfile.mkdtemp(), tempfile.mkdtemp()
    >>> _ = write_claims([Claim("a", "A", "1", "r", 1.0, None, True)], "03_x", old)
    >>> _ = write_claims([Claim("a", "A", "1", "r", 1.0, None, "inconclusive")], "03_x", new)
    >>> verdict_changes(old, new)[["claim", "old", "new"]].to_dict("records")
    [{'claim': 'a', 'old': 'reproduced', 'new': 'inconclusive'}]
    """
    def table(folder: str | Path) -> pd.DataFrame:
        rows = [{"chapter": chapter, "claim": c.claim_id, "verdict": c.status, "ours": c.ours_text()}
                for chapter, c in read_claim_objects(folder)]
        return pd.DataFrame(rows, columns=["chapter", "claim", "verdict", "ours"])

    both = table(old_results).merge(table(new_results), on=["chapter", "claim"], how="outer",
                                    suffixes=("_old", "_new"), sort=False)
    both = both.fillna({"verdict_old": "absent", "verdict_new": "absent", "ours_old": "",
                        "ours_new": ""})
    changed = both[both["verdict_old"] != both["verdict_new"]]
    changed = changed.assign(reason=[latest_reason(c) for c in changed["claim"]])
    return (changed.rename(columns={"verdict_old": "old", "verdict_new": "new",
                                    "ours_old": "old_ours", "ours_new": "new_ours"})
            .sort_values("chapter", kind="stable").reset_index(drop=True)
            [["chapter", "claim", "old", "new", "old_ours", "new_ours", "reason"]])


def latest_reason(claim_id: str) -> str:
    """The reason of the newest rule change naming ``claim_id`` (RULE_CHANGES is chronological)."""
    found = changes_for(claim_id)
    own = [c for c in found if c.ids != ("*",)]
    return (own[-1] if own else found[0]).reason if found else ""
