"""Chapter 05's claims: what the paper says about the TV surrogate (§5.6), and their verdicts.

:func:`claim_definitions` states the claims and their rules before anything is computed;
:func:`check_claims` fills them from the chapter's tables (:class:`TradeoffResults`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import pandas as pd

from latentsep.experiments.regularisation.penalties import PENALTY_LABELS
from latentsep.experiments.regularisation.study import PAPER, at_largest_cost, change_at
from latentsep.report import Claim, fill_claim_per_encoder


def claim_definitions(attributes: Mapping[str, str], compare_penalty: str) -> list[Claim]:
    """Chapter 05's claims with their rules, four per dataset, not yet checked.

    Used by chapter 05, which shows them before computing anything.

    Parameters
    ----------
    attributes : mapping of str to str
        Dataset name -> the attribute penalised on it.
    compare_penalty : str
        The penalty compared with the TV surrogate (a key of ``PENALTY_LABELS``).

    Returns
    -------
    list[Claim]
        Per dataset: separation, sensitivity, accuracy cost, the comparison at matched cost.
    """
    lam = f"λ = {PAPER['lambda']:g}"
    every = "in every encoder, the 95 % row-bootstrap interval of "
    paired = f"{every}the paired change {lam} − λ = 0 lies below 0"
    claims = []
    for name, a in attributes.items():
        claims += [
            Claim(f"regularisation.{name}.tv.separation",
                  f"{name}: TV surrogate at {lam} lowers the latent separation of {a} "
                  "(excess over null)", PAPER["separation"], paired),
            Claim(f"regularisation.{name}.tv.sensitivity",
                  f"{name}: TV surrogate at {lam} lowers the allocation sensitivity of {a} "
                  "(mean |slope| of the groups' balanced accuracy on own share)",
                  PAPER["sensitivity"], paired),
            Claim(f"regularisation.{name}.tv.accuracy_cost",
                  f"{name}: accuracy cost of {lam} (balanced accuracy of the head retrained at "
                  "α = 0.5)", PAPER["accuracy_cost"],
                  f"{every}the paired loss of accuracy lies above 0"),
            Claim(f"regularisation.{name}.compare.sensitivity",
                  f"{name}: at matched accuracy cost, {PENALTY_LABELS[compare_penalty]} lowers "
                  "|slope| more than the TV surrogate", "not in the paper (ours)",
                  f"{every}the difference in |slope| drop (compare − TV) at the largest cost "
                  "both reach lies above 0"),
        ]
    return claims


@dataclass(frozen=True)
class TradeoffResults:
    """What chapter 05 computed, as :func:`check_claims` reads it.

    Attributes
    ----------
    changes : pd.DataFrame
        :func:`~latentsep.experiments.regularisation.comparisons.change_from_unregularised` rows.
    matched : pd.DataFrame
        :func:`~latentsep.experiments.regularisation.study.matched_outcomes` rows.
    attributes : mapping of str to str
        Dataset -> penalised attribute.
    compare_penalty : str
    seeds : sequence of int
        Pre-training seeds.
    pretrain_epochs : int
        Cap on pre-training epochs.
    tv_reduction : str
        How the TV surrogate combined dimensions.
    """

    changes: pd.DataFrame
    matched: pd.DataFrame
    attributes: Mapping[str, str]
    compare_penalty: str
    seeds: Sequence[int]
    pretrain_epochs: int
    tv_reduction: str


def check_claims(results: TradeoffResults) -> list[Claim]:
    """Chapter 05's claims checked: paired changes at the paper's λ, and the matched comparison.

    Each encoder is judged on its own row-bootstrap interval (the tables' ``per_seed``) and the
    encoders must agree (:func:`latentsep.report.fill_claim_per_encoder`). Used by chapter 05.

    Examples
    --------
    >>> changes = pd.DataFrame({"dataset": "d", "penalty": "tv", "lam": 0.01,
    ...     "quantity": ["separation_excess", "abs_sensitivity", "balanced_accuracy"],
    ...     "change": [-0.02, 0.01, -0.03], "per_seed": [
    ...         [(1, -0.02, -0.03, -0.01), (2, -0.02, -0.025, -0.015)],
    ...         [(1, 0.01, -0.01, 0.03), (2, 0.01, 0.0, 0.02)],
    ...         [(1, -0.03, -0.05, -0.01), (2, -0.03, -0.04, -0.02)]]})
    >>> matched = pd.DataFrame({"dataset": "d", "outcome": "abs_sensitivity", "cost": 0.02,
    ...     "penalty": ["tv", "mmd − tv"], "drop": [0.0, 0.01], "per_seed": [
    ...         [(1, 0.0, -0.01, 0.01)] * 2, [(1, 0.01, 0.002, 0.02), (2, 0.01, 0.001, 0.02)]]})
    >>> claims = check_claims(TradeoffResults(changes, matched, {"d": "a"}, "mmd", [1, 2], 8, "sum"))
    >>> [c.status for c in claims]
    ['reproduced', 'inconclusive', 'reproduced', 'reproduced']
    """
    checked = []
    difference = f"{results.compare_penalty} − tv"
    definitions = iter(claim_definitions(results.attributes, results.compare_penalty))
    for name, attribute in results.attributes.items():
        note = (f"{name}, attribute {attribute}; seeds {list(results.seeds)}; "
                f"≤ {results.pretrain_epochs} pre-training epochs; "
                f"TV reduction {results.tv_reduction}.")
        for quantity in ("separation_excess", "abs_sensitivity"):
            checked.append(fill_claim_per_encoder(
                next(definitions), change_at(results.changes, name, quantity), "below", note=note))
        # a cost is minus the change of accuracy
        checked.append(fill_claim_per_encoder(
            next(definitions), change_at(results.changes, name, "balanced_accuracy"), "above",
            negate=True, note=note))
        compare = next(definitions)
        part = at_largest_cost(results.matched, name, "abs_sensitivity")
        if difference in part.index:
            d = part.loc[difference]
            compare = fill_claim_per_encoder(
                compare, d, "above", value="drop",
                note=f"{note} Matched cost {100 * d['cost']:.1f} points of balanced accuracy.")
        else:
            compare = replace(compare, note=f"{note} No common accuracy cost was reached.")
        checked.append(compare)
    return checked
