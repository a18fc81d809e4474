"""Chapter 05's findings in words, generated from its tables (markdown strings); every function
here is called by chapter 05."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from latentsep.experiments.regularisation.penalties import PENALTY_LABELS
from latentsep.experiments.regularisation.study import (
    MATCHED_OUTCOMES,
    PAPER,
    at_largest_cost,
    change_at,
)
from latentsep.formatting import interval
from latentsep.report import side_of_zero

_CI = ["change", "ci_low", "ci_high"]
_DROP = ["drop", "ci_low", "ci_high"]


def capped_markdown(setup: pd.DataFrame) -> str:
    """Which datasets had K_train capped at their smallest group ("" when none)."""
    capped = [f"{r['dataset']}: K_train capped at {r['K_train used']:,} (wanted "
              f"{r['K_train wanted']:,}), the smallest group of the pool"
              for _, r in setup.iterrows() if r["K_train used"] < r["K_train wanted"]]
    if not capped:
        return ""
    return ("**K capped.** At α = 0 or 1 every fine-tuning image comes from one group. "
            + "; ".join(capped) + ".")


def floor_markdown(scale: pd.DataFrame, tv_reduction: str) -> str:
    """What the paper's λ adds to the loss at the surrogate's floor, per dataset, and why we sum.

    ``scale`` is :func:`~latentsep.experiments.regularisation.study.penalty_scales`' table.
    """
    floor = scale.query("groups == 'shuffled within class' and reduction == 'sum'")
    floor = floor.set_index("dataset")
    lam = PAPER["lambda"]
    return (
        f"At the floor, λ = {lam:g} adds "
        + " and ".join(f"**{lam * floor.loc[n, 'mean']:.2f}** nats on {n} "
                       f"(D = {int(floor.loc[n, 'embedding_dim'])})" for n in floor.index)
        + f" under `{tv_reduction}`. The same λ is a much stronger penalty on the wider embedding. "
        f"Dividing by D (`reduction=\"mean\"`) would make λ = {lam:g} negligible on both. We keep "
        "the sum, the definition, and sweep λ over three orders of magnitude. Any single λ is "
        f"specific to an architecture, and the paper's λ = {lam:g} was tuned for a DenseNet-121 "
        "with a 1,024-d embedding."
    )


def paper_lambda_markdown(changes: pd.DataFrame, datasets: Iterable[str]) -> str:
    """One bullet per dataset: what the paper's λ does to separation, |slope| and accuracy."""
    words = {"below": "falls", "above": "rises", "contains": "does not change detectably"}
    lines = []
    for name in datasets:
        sep, sens, acc, worst = (change_at(changes, name, q) for q in (
            "separation_excess", "abs_sensitivity", "balanced_accuracy", "worst_group_accuracy"))
        lines.append(
            f"* **{name}**: separation − null {words[side_of_zero(sep['ci_low'], sep['ci_high'])]} "
            f"({interval(*sep[_CI])}); |slope| "
            f"{words[side_of_zero(sens['ci_low'], sens['ci_high'])]} ({interval(*sens[_CI])}); "
            f"balanced accuracy changes by {interval(*acc[_CI])} and worst-group accuracy by "
            f"{interval(*worst[_CI])}.")
    return "\n".join(lines)


def matched_markdown(matched: pd.DataFrame, datasets: Iterable[str], compare_penalty: str) -> str:
    """One bullet per (dataset, outcome): which penalty buys the larger drop at the largest cost."""
    label = PENALTY_LABELS[compare_penalty]
    words = {"above": f"{label} buys a larger drop than the TV surrogate",
             "below": f"{label} buys a smaller drop than the TV surrogate",
             "contains": "the two penalties' drops do not differ detectably"}
    lines = []
    for name in datasets:
        for outcome, what in MATCHED_OUTCOMES.items():
            part = at_largest_cost(matched, name, outcome)
            if f"{compare_penalty} − tv" not in part.index:
                continue
            d = part.loc[f"{compare_penalty} − tv"]
            lines.append(
                f"* **{name}**, {what}, at an accuracy cost of {100 * d['cost']:.1f} points: "
                f"{words[side_of_zero(d['ci_low'], d['ci_high'])]}. Difference "
                f"{interval(*d[_DROP])}; TV {interval(*part.loc['tv', _DROP])}, {compare_penalty} "
                f"{interval(*part.loc[compare_penalty, _DROP])}.")
    return "\n".join(lines) if lines else (
        "No accuracy cost was reached by both penalties on every seed: widen the λ grids.")
