"""Chapter 06's findings in words, generated from its tables (markdown strings); every function
here is called by chapter 06."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from latentsep.experiments.explanations.groups import EXPLANATION_LABELS
from latentsep.experiments.explanations.study import (
    CHANGED,
    JOINT_TERMS,
    PREDICTORS,
    ControlledExperiment,
    change_of,
    scope_rows,
)
from latentsep.formatting import interval
from latentsep.report import side_of_zero

_R = ["pearson_r", "pearson_ci_low", "pearson_ci_high"]
_CI = ["change", "ci_low", "ci_high"]


def cache_markdown(from_cache: Mapping[str, bool]) -> str:
    """Which datasets' encoders were read from the earlier chapters' caches."""
    return "Encoders read from the earlier chapters' caches: " + ", ".join(
        f"{name}: {'yes' if hit else 'no, trained here'}" for name, hit in from_cache.items()) + "."


def correlation_markdown(correlations: pd.DataFrame, groups: pd.DataFrame) -> str:
    """One bullet per explanation: related to the slope or not, pooled, within datasets, |slope|."""
    pooled, within = scope_rows(correlations, "pooled"), scope_rows(correlations, "pooled, within dataset")
    pooled_abs = scope_rows(correlations, "pooled", "abs_slope")
    lines = [f"Over **{len(groups)}** groups from {groups['dataset'].nunique()} datasets:"]
    for p in PREDICTORS:
        related = side_of_zero(*pooled.loc[p, _R[1:]]) != "contains"
        lines.append(f"* {EXPLANATION_LABELS[p]}: "
                     f"{'related' if related else 'not detectably related'} to the slope, pooled "
                     f"r = {interval(*pooled.loc[p, _R])}; within datasets "
                     f"r = {interval(*within.loc[p, _R])}; with |slope| "
                     f"r = {interval(*pooled_abs.loc[p, _R])}.")
    mnist = scope_rows(correlations, "coloured_mnist")
    if "separation_excess" in mnist.index:
        lines.append(f"\nWithin coloured MNIST alone ({int(mnist.loc['separation_excess', 'n'])} "
                     f"groups) separation and slope give "
                     f"r = {interval(*mnist.loc['separation_excess', _R])}.")
    return "\n".join(lines)


def setup_markdown(experiment: ControlledExperiment) -> str:
    """The controlled experiment's sweep sizes and pre-training set."""
    return (f"K_train = {experiment.k_train:,}, K_val = {experiment.k_val:,}; pre-training set of "
            f"{experiment.n_pretrain} images at every level of the prevalence arm, "
            f"{experiment.reserve:,} of the candidates lent by the pool.")


def changes_markdown(changes: pd.DataFrame, extremes: Mapping[str, str]) -> str:
    """One bullet per arm: how its most extreme level moves each quantity of ``CHANGED``."""
    words = {"above": "rises", "below": "falls", "contains": "does not change detectably"}
    what = {"prevalence": f"digits 5–9 at {extremes['prevalence']} of pre-training",
            "colour": f"colour correlated ({extremes['colour']})",
            "regulariser": f"pre-trained with {extremes['regulariser']}"}
    lines = []
    for arm, level in extremes.items():
        rows = {q: change_of(changes, arm, level, q) for q in CHANGED}
        parts = [f"{name} {words[side_of_zero(rows[q]['ci_low'], rows[q]['ci_high'])]} "
                 f"({interval(*rows[q][_CI])})" for q, name in CHANGED.items()]
        lines.append(f"* **{what[arm]}**: " + "; ".join(parts) + ".")
    return "\n".join(lines)


def joint_markdown(joint: pd.DataFrame) -> str:
    """Each coefficient of :func:`joint_regression` with its interval and unit."""
    coef = joint.set_index("term")
    return "; ".join(
        f"{term.replace('_', ' ')}: {interval(*coef.loc[term, ['coef', 'ci_low', 'ci_high']])} {unit}"
        for term, unit in JOINT_TERMS.items()) + f" (n = {int(coef['n'].iloc[0])} encoders)."
