"""Constructed cases of the bound: one where it fails (labels shift across groups) and ones where
the sharp form is attained.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from latentsep.checks import check_fraction
from latentsep.theory.gaussian import (
    PAPER_CONSTANT,
    VIOLATION_TOL,
    GaussianConfig,
    bound_terms,
    population_lda_head,
)

# --------------------------------------------------------------------------------------------
# constructed cases


def counterexample() -> dict:
    """A case where ``P(Y|A)`` differs across groups and both bounds fail.

    d = 2; classes at ±1 on the first axis (unit covariance); the groups differ by 0.1 on the
    second axis, so ε = 2Φ(0.05) - 1 ≈ 0.040; ``P(Y=1|A=0) = 0.1``, ``P(Y=1|A=1) = 0.9``; equal
    test shares. The heads are the large-sample LDA heads for fine-tuning on group 0 only (α = 0)
    and on group 1 only (α = 1): the same direction, thresholds shifted by the groups' label rates.

    Returns
    -------
    dict
        ``config``, ``head1``, ``head2``, ``terms`` (:func:`bound_terms`) and ``table``, a
        DataFrame with one row per group (accuracies, gap, |ΔAcc|, ε, bounds, violated flags).
    """
    means = np.array([[[-1.0, -0.05], [-1.0, 0.05]], [[1.0, -0.05], [1.0, 0.05]]])
    config = GaussianConfig.two_groups(means, np.eye(2), prior_y1=(0.1, 0.9), share_a1=0.5)
    head1 = population_lda_head(config, config.alphas[0])
    head2 = population_lda_head(config, config.alphas[1])
    terms = bound_terms(config, head1, head2)
    table = pd.DataFrame(
        {
            "group": [0, 1],
            "P(Y=1|A)": config.prior_y1,
            "acc, head fitted on α=0": terms["acc_group_1"],
            "acc, head fitted on α=1": terms["acc_group_2"],
            "gap |Δacc(A=a)|": terms["gap"],
            "|Δacc overall|": terms["delta_overall"],
            "ε": terms["eps_group"],
            "paper bound 4ε+|ΔAcc|": terms["paper_bound"],
            "sharp bound": terms["sharp_bound"],
            "label-shift bound": terms["label_shift_bound"],
        }
    )
    for name in ("paper", "sharp", "label_shift"):
        table[f"violates {name}"] = terms["gap"] > terms[f"{name}_bound"] + VIOLATION_TOL
    return {"config": config, "head1": head1, "head2": head2, "terms": terms, "table": table}


def attaining_example(share_a: float = 0.3, eps: float = 0.2) -> dict:
    """A discrete case where the sharp bound holds with equality: its constant cannot be lowered.

    Each class lives on its own three points (L, M, R). Group a puts mass (ε, 1-ε, 0) on them,
    the other group (0, 1-ε, ε), for both classes, so TV = ε and ``P(Y|A)`` is the same in both
    groups. Head 1 is right on L and M, head 2 on R only. Then
    ``|Δ(a)| = 1 = 2(1-π_a)ε + |ΔAcc|`` for every ``share_a`` and ``eps`` in (0, 1).

    Returns
    -------
    dict
        ``eps`` (TV computed from the masses), ``share_a``, ``gap``, ``delta_overall``,
        ``sharp_bound``, ``paper_bound``.
    """
    pi_a = check_fraction(share_a, "share_a")
    e = check_fraction(eps, "eps")
    p_a, p_other = np.array([e, 1 - e, 0.0]), np.array([0.0, 1 - e, e])
    right1, right2 = np.array([1.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])
    tv = 0.5 * np.abs(p_a - p_other).sum()
    # identical for both classes, so the class weights drop out of every accuracy
    acc_a = np.array([p_a @ right1, p_a @ right2])
    acc_other = np.array([p_other @ right1, p_other @ right2])
    acc_all = pi_a * acc_a + (1 - pi_a) * acc_other
    d_all = abs(acc_all[0] - acc_all[1])
    return {
        "eps": float(tv),
        "share_a": pi_a,
        "gap": float(abs(acc_a[0] - acc_a[1])),
        "delta_overall": float(d_all),
        "sharp_bound": float(2 * (1 - pi_a) * tv + d_all),
        "paper_bound": float(PAPER_CONSTANT * tv + d_all),
    }


def attaining_table(
    cases: Sequence[tuple[float, float]] = ((0.3, 0.2), (0.5, 0.05), (0.9, 0.7)),
) -> pd.DataFrame:
    """:func:`attaining_example` for several ``(share_a, eps)`` pairs, one row each (chapter 01).

    Examples
    --------
    >>> table = attaining_table([(0.3, 0.2), (0.5, 0.05)])
    >>> table[["share_a", "eps", "gap", "sharp_bound"]].round(12).values.tolist()
    [[0.3, 0.2, 1.0, 1.0], [0.5, 0.05, 1.0, 1.0]]
    """
    return pd.DataFrame([attaining_example(share, eps) for share, eps in cases])
