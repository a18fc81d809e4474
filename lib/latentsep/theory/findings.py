"""Chapter 01's findings written out from its results, as markdown (the chapter displays them)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from latentsep.theory.gaussian import ols_slope_bound_factor

__all__ = ["counterexample_markdown", "slope_factor_markdown", "sweep_markdown"]


def sweep_markdown(summary: pd.DataFrame, n_configs: int) -> str:
    """What the sweep satisfying the assumptions shows: violations, vacuity, tightness.

    Parameters
    ----------
    summary : pd.DataFrame
        :func:`~latentsep.theory.violation_summary` of that sweep (rows with the assumptions
        holding are read).
    n_configs : int
        Configurations in the sweep.
    """
    held = summary[summary["assumptions_hold"]].set_index("bound")
    sharp, paper = held.loc["sharp"], held.loc["paper"]
    return (
        f"Over **{n_configs:,}** configurations satisfying (A1)–(A2): "
        f"**{int(sharp['violations'])}** violations of the sharp bound and "
        f"**{int(paper['violations'])}** of the paper's form (95 % upper bound on the violation "
        f"rate {sharp['rate_upper_95']:.1e}). The paper's form is vacuous (≥ 1) in "
        f"{paper['vacuous_share']:.0%} of the configurations; the sharp one in "
        f"{sharp['vacuous_share']:.0%}. Fitted heads use little of the TV allowance: the "
        f"median share of $2(1-\\pi_a)\\varepsilon$ that the gap needs is "
        f"{sharp['median_used']:.3f}, and the largest is {sharp['max_used']:.3f}."
    )


def counterexample_markdown(terms: dict) -> str:
    """How the label-shift counterexample breaks the bound (``counterexample()["terms"]``)."""
    return (
        f"Group 1's accuracy moves by **{terms['gap'][1]:.3f}** while overall accuracy does not "
        f"move ($|\\Delta| = {terms['delta_overall']:.1e}$) and "
        f"$\\varepsilon = {terms['eps']:.3f}$: the paper's bound allows "
        f"{terms['paper_bound'][1]:.3f} and the sharp one {terms['sharp_bound'][1]:.3f}. Moving "
        "the threshold trades recall of one class for recall of the other, and groups with "
        "different label mixes feel that trade in opposite directions."
    )


def slope_factor_markdown(n_shares: int = 11) -> str:
    """The factor by which the bound caps an OLS allocation slope on an evenly spaced grid.

    Examples
    --------
    >>> slope_factor_markdown(11).split(";")[0]
    'Slope factor for the 11-point grid: **1.818** (= 20/11)'
    """
    factor = ols_slope_bound_factor(np.linspace(0.0, 1.0, n_shares))
    return (
        f"Slope factor for the {n_shares}-point grid: **{factor:.3f}** "
        f"(= {2 * (n_shares - 1)}/{n_shares}); with several seeds per share it is unchanged, "
        "since pairs at the same share add nothing."
    )
