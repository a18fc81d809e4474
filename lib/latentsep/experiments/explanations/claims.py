"""Chapter 06's claims: the paper's correlations (§5.7) and our controlled experiment's predictions.

:func:`claim_definitions` states the claims and their rules before anything is computed;
:func:`check_claims` fills them from the chapter's tables (:class:`ExplanationResults`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from latentsep.experiments.explanations.groups import EXPLANATION_LABELS
from latentsep.experiments.explanations.study import (
    ATTRIBUTE_SCOPE,
    PREDICTORS,
    change_of,
    scope_rows,
)
from latentsep.formatting import interval
from latentsep.report import Claim, fill_claim, fill_claim_per_encoder

#: What the paper reports (§5.7): latent separation goes with the loss slope, the conventional
#: explanations do not.
PAPER = {
    "separation": "related (R² 0.78 across 10 MIMIC attributes)",
    "conventional": "no consistent relation",
    "regulariser": "lower (§5.6)",
}
_OURS = "not tested in the paper (ours)"
_R = ("pearson_r", "pearson_ci_low", "pearson_ci_high")
#: Each controlled claim: (arm, quantity changed, rule about the paired change's interval).
CONTROLLED = {
    "prevalence": ("prevalence", "abs_slope_1", "above"),
    "prevalence_keeps_separation": ("prevalence", "separation_excess", "contains"),
    "colour_raises_separation": ("colour", "separation_excess", "above"),
    "colour": ("colour", "abs_sensitivity", "above"),
    "regulariser_lowers_separation": ("regulariser", "separation_excess", "below"),
    "regulariser": ("regulariser", "abs_sensitivity", "below"),
}
#: Predictions that hold only if their arm moved the separation: each names its manipulation
#: check, whose verdict its note repeats (the rule itself stays as stated before computing).
MANIPULATION_CHECKS = {"colour": "colour_raises_separation",
                       "regulariser": "regulariser_lowers_separation"}


def claim_definitions() -> list[Claim]:
    """Chapter 06's claims with their rules, not yet checked: five correlations, seven controlled.

    Used by chapter 06, which shows them before computing anything.
    """
    same = "Same manipulation, pre-training prevalence unchanged: change in the digit group's " \
           "sensitivity (mean |loss slope| of its groups)"
    every = "in every encoder, the 95 % row-bootstrap interval of the paired change "
    return [
        Claim("explanations.pooled.separation",
              "Pearson r between an attribute's loss slope (mean of its groups') and its "
              "separation (excess over null), across attributes within each dataset",
              PAPER["separation"],
              "r < 0 with its 95 % CI below 0 (more separation, loss falls faster with own share)"),
        *[Claim(f"explanations.pooled.{p}",
                f"Pearson r between an attribute's loss slope (mean of its groups') and its "
                f"{EXPLANATION_LABELS[p]} (under-represented group's where it is per group), "
                "across attributes within each dataset", PAPER["conventional"],
                "95 % CI of r contains 0")
          for p in PREDICTORS[1:]],
        Claim("explanations.controlled.prevalence",
              "Digits 5–9 at 5 % instead of 50 % of the pre-training set: change in their |loss "
              "slope|", f"{_OURS}; under-representation predicts a steeper slope",
              f"{every}lies above 0"),
        Claim("explanations.controlled.prevalence_keeps_separation",
              "Same manipulation: change in the digit group's separation (excess over null)", _OURS,
              f"{every}contains 0 (separation held roughly fixed)"),
        Claim("explanations.controlled.colour_raises_separation",
              "Colour correlated with the digit group (strongest pair) instead of independent: "
              "change in the digit group's separation (excess over null)", _OURS,
              f"{every}lies above 0 (the manipulation works)"),
        Claim("explanations.controlled.colour", same,
              f"{_OURS}; if the separation rises, the hypothesis predicts a rise",
              f"{every}lies above 0"),
        Claim("explanations.controlled.regulariser_lowers_separation",
              "Invariance penalty on the digit group (largest λ) instead of none: change in its "
              "separation (excess over null)", PAPER["regulariser"],
              f"{every}lies below 0 (the manipulation works)"),
        Claim("explanations.controlled.regulariser", same, PAPER["regulariser"],
              f"{every}lies below 0"),
        Claim("explanations.controlled.joint",
              "Sensitivity regressed on separation, pre-training prevalence and baseline accuracy "
              "together (every encoder of the three arms): coefficient of separation", _OURS,
              "95 % CI of the coefficient lies above 0"),
    ]


@dataclass(frozen=True)
class ExplanationResults:
    """What chapter 06 computed, as :func:`check_claims` reads it.

    Attributes
    ----------
    groups : pd.DataFrame
        The pooled groups (:func:`~latentsep.experiments.explanations.study.pooled_groups`).
    correlations : pd.DataFrame
        :func:`~latentsep.experiments.explanations.study.correlation_table`.
    changes : pd.DataFrame
        :func:`~latentsep.experiments.explanations.study.arm_changes`.
    extremes : dict[str, str]
        Arm -> the level compared with its reference.
    joint : pd.DataFrame
        :func:`~latentsep.experiments.explanations.controlled.joint_regression`.
    pooled_seeds, control_seeds : sequence of int
    slope_metric : str
    control_epochs : int
    """

    groups: pd.DataFrame
    correlations: pd.DataFrame
    changes: pd.DataFrame
    extremes: dict[str, str]
    joint: pd.DataFrame
    pooled_seeds: Sequence[int]
    control_seeds: Sequence[int]
    slope_metric: str
    control_epochs: int


def check_claims(results: ExplanationResults) -> list[Claim]:
    """Chapter 06's claims checked: pooled correlations, paired changes, the joint coefficient.

    Used by chapter 06.

    Examples
    --------
    >>> joint = pd.DataFrame({"term": ["separation_excess", "pretrain_prevalence",
    ...     "pretrained_balanced_accuracy"], "coef": [2.0, 0.1, -0.5], "ci_low": [0.5, -1, -2],
    ...     "ci_high": [3.5, 1.2, 1.0]})
    >>> results = ExplanationResults(pd.DataFrame({"dataset": [], "attribute": []}), pd.DataFrame(
    ...     columns=["scope", "outcome", "predictor", *_R]), pd.DataFrame(columns=["arm"]), {},
    ...     joint, [1], [1], "cross_entropy", 8)
    >>> check_claims(results)[-1].status
    'reproduced'
    """
    groups = results.groups
    pooled = scope_rows(results.correlations, ATTRIBUTE_SCOPE)
    within = scope_rows(results.correlations, "pooled")
    n_attributes = groups[["dataset", "attribute"]].drop_duplicates().shape[0]
    pooled_note = (f"{n_attributes} attributes from "
                   f"{', '.join(sorted(groups['dataset'].unique()))}; seeds "
                   f"{list(results.pooled_seeds)}; slope of {results.slope_metric}.")
    control_note = (f"Coloured MNIST, seeds {list(results.control_seeds)}, ≤ "
                    f"{results.control_epochs} pre-training epochs.")
    definitions = claim_definitions()
    checked = []
    for claim, predictor in zip(definitions, PREDICTORS, strict=False):
        if predictor in pooled.index:
            rule = "below" if predictor == "separation_excess" else "contains"
            claim = fill_claim(claim, pooled.loc[predictor], rule, columns=_R, bounds=(-1, 1),
                               rests_on=f"Fisher z over {int(pooled.loc[predictor, 'n'])} "
                                        "attributes, centred within dataset",
                               note=f"{pooled_note} Every group pooled: r = "
                                    f"{interval(*within.loc[predictor, list(_R)])}.")
        checked.append(claim)
    controlled = {}
    for claim, (name, (arm, quantity, rule)) in zip(definitions[len(PREDICTORS):],
                                                    CONTROLLED.items(), strict=False):
        if arm in results.extremes:
            level = results.extremes[arm]
            check = controlled.get(MANIPULATION_CHECKS.get(name))
            premise = (f" Its manipulation check ({check.claim_id.rpartition('.')[2]}) is "
                       f"{check.status}." if check else "")
            claim = fill_claim_per_encoder(claim, change_of(results.changes, arm, level, quantity),
                                           rule, note=f"{control_note} Level {level}.{premise}")
        controlled[name] = claim
        checked.append(claim)
    coef = results.joint.set_index("term")
    terms = {t: interval(*coef.loc[t, ["coef", "ci_low", "ci_high"]])
             for t in ("pretrain_prevalence", "pretrained_balanced_accuracy")}
    checked.append(fill_claim(
        definitions[-1], coef.loc["separation_excess"], "above",
        columns=("coef", "ci_low", "ci_high"), rests_on="OLS over the controlled runs",
        note=f"{control_note} Prevalence coefficient {terms['pretrain_prevalence']}; baseline "
             f"accuracy coefficient {terms['pretrained_balanced_accuracy']}."))
    return checked
