"""Chapter 03's claims judged encoder by encoder, on comparable quantities (issue 13).

Three pre-training seeds give a Student-t interval on 2 degrees of freedom: too few to carry a
claim. Each rule here is therefore applied within each encoder, with an interval that rests on
that encoder's data (a bootstrap over the held-out rows, or an OLS fit over the allocation levels),
and the encoders must agree (:func:`latentsep.verdicts.agreement`): a claim is reproduced when
every encoder reproduces it, not reproduced when none does, inconclusive otherwise.

Raw histogram TVs are compared only within one encoder and one set of rows; across encoders and
against the paper they are compared as ratios to the Random attribute's TV (:func:`tv_ratios`),
whose bias they share.
"""

from __future__ import annotations

import pandas as pd
from scipy import stats as st

from latentsep.formatting import interval
from latentsep.stats import full_minus_zero
from latentsep.verdicts import agreement, combine, decide, order_verdict, ratio_interval

__all__ = ["authors_check_by_seed", "below_one", "ordering_by_seed", "sensitivity_by_seed",
           "sharp_verdict", "tv_ratios"]

# What a bound-table status means for the claim that the bound holds.
SHARP_STATUS = {"holds": "reproduced", "violated": "not reproduced", "inconclusive": "inconclusive"}


def _intervals(sep: pd.DataFrame, estimator: str, column: str) -> pd.DataFrame:
    """Per (seed, attribute): the value of ``column`` and its row-bootstrap interval."""
    rows = sep[sep["estimator"] == estimator].set_index(["seed", "attribute"])
    shift = rows["value"] - rows[column]  # 0 for the value, the null mean for the excess
    return pd.DataFrame({"value": rows[column], "ci_low": rows["ci_low"] - shift,
                         "ci_high": rows["ci_high"] - shift})


def ordering_by_seed(sep: pd.DataFrame, estimator: str, first: str, others: list[str],
                     column: str = "value") -> tuple[str, str]:
    """Whether ``first`` is more separated than each of ``others``, encoder by encoder.

    Parameters
    ----------
    sep : pd.DataFrame
        Per-seed separation rows (``estimator, attribute, seed, value, ci_low, ci_high, excess``)
        on one set of rows; ``ci_*`` are row-bootstrap intervals of ``value``.
    estimator : str
        Which estimator's rows.
    first, others
        Attributes compared: ``first`` against each of ``others``.
    column : {"value", "excess"}
        Compare the values, or the excesses over the permutation null.

    Returns
    -------
    (verdict, text)
        :func:`latentsep.verdicts.combine` over ``others`` of the encoders' agreement on
        :func:`latentsep.verdicts.order_verdict`, and the per-seed values in words.

    Examples
    --------
    >>> sep = pd.DataFrame({"estimator": "h", "seed": [1, 1, 2, 2], "attribute": ["A", "S"] * 2,
    ...     "value": [0.3, 0.1, 0.3, 0.25], "ci_low": [0.25, 0.05, 0.25, 0.2],
    ...     "ci_high": [0.35, 0.15, 0.35, 0.3], "excess": [0.2, 0.0, 0.2, 0.15]})
    >>> ordering_by_seed(sep, "h", "A", ["S"])[0]
    'inconclusive'
    """
    rows = _intervals(sep, estimator, column)
    verdicts, texts = [], []
    for other in others:
        per_seed = []
        for seed in sorted(rows.index.get_level_values("seed").unique()):
            a, b = rows.loc[(seed, first)], rows.loc[(seed, other)]
            per_seed.append(order_verdict((a["ci_low"], a["ci_high"]), (b["ci_low"], b["ci_high"])))
        verdicts.append(agreement(per_seed))
        texts.append(f"{first} > {other}: " + ", ".join(
            f"seed {s} {v}" for s, v in zip(sorted(rows.index.get_level_values("seed").unique()),
                                             per_seed, strict=True)))
    return combine(verdicts), "; ".join(texts)


def tv_ratios(sep: pd.DataFrame, estimator: str, reference: str = "Random") -> pd.DataFrame:
    """Each attribute's TV as a ratio to the ``reference`` attribute's, per encoder.

    A histogram TV's small-sample bias depends on the encoder and on n; an attribute and Random
    measured on the same encoder and rows share it, so their ratio is comparable across encoders
    and with the paper's values converted the same way.

    Returns
    -------
    pd.DataFrame
        ``seed, attribute, ratio, ci_low, ci_high``: the interval combines the two row-bootstrap
        intervals conservatively (:func:`latentsep.verdicts.ratio_interval`); ``NaN`` when the
        reference's interval reaches 0.

    Examples
    --------
    >>> sep = pd.DataFrame({"estimator": "h", "seed": 1, "attribute": ["A", "Random"],
    ...     "value": [0.3, 0.1], "ci_low": [0.28, 0.09], "ci_high": [0.32, 0.11]})
    >>> tv_ratios(sep, "h").round(3).to_dict("records")
    [{'seed': 1, 'attribute': 'A', 'ratio': 3.0, 'ci_low': 2.545, 'ci_high': 3.556}]
    """
    rows = _intervals(sep, estimator, "value")
    out = []
    for (seed, attribute), row in rows.iterrows():
        if attribute == reference:
            continue
        ref = rows.loc[(seed, reference)]
        low, high = ratio_interval((row["ci_low"], row["ci_high"]), (ref["ci_low"], ref["ci_high"]))
        out.append({"seed": seed, "attribute": attribute, "ratio": row["value"] / ref["value"],
                    "ci_low": low, "ci_high": high})
    return pd.DataFrame(out, columns=["seed", "attribute", "ratio", "ci_low", "ci_high"])


def sensitivity_by_seed(sweeps: pd.DataFrame, metric: str = "balanced_accuracy",
                        confidence: float = 0.95) -> pd.DataFrame:
    """Each attribute's allocation sensitivity within each encoder, with its OLS interval.

    The attribute's sensitivity is the mean of its two groups' slopes on their own share; as
    group 1's share is α and group 0's is 1 − α, that is the slope of ½(y₁ − y₀) on α, fitted
    over the encoder's allocation levels (the two groups' correlation within a run is kept).

    Returns
    -------
    pd.DataFrame
        ``attribute, seed, sensitivity, ci_low, ci_high, df`` (``df``: n_alphas − 2).

    Examples
    --------
    >>> alphas = [k / 6 for k in range(7)]
    >>> rows = [{"attribute": "A", "seed": 0, "alpha": a, "group": g, "metric": "balanced_accuracy",
    ...          "value": 0.5 + (0.1 * a if g == "1" else -0.1 * a) + 0.01 * (-1) ** k}
    ...         for k, a in enumerate(alphas) for g in ("0", "1")]
    >>> out = sensitivity_by_seed(pd.DataFrame(rows))
    >>> round(float(out["sensitivity"].iloc[0]), 6), int(out["df"].iloc[0])
    (0.1, 5)
    """
    rows = sweeps[(sweeps["metric"] == metric) & (sweeps["group"].astype(str) != "all")]
    # a NaN value stays NaN (pivot_table would drop it and hide an undefined run)
    wide = rows.assign(group=rows["group"].astype(int)).groupby(
        ["attribute", "seed", "alpha", "group"])["value"].mean().unstack("group")
    out = []
    for (attribute, seed), part in wide.groupby(level=["attribute", "seed"]):
        x = part.index.get_level_values("alpha").to_numpy(dtype=float)
        y = 0.5 * (part[1] - part[0]).to_numpy()
        fit = st.linregress(x, y)
        df = len(x) - 2
        half = st.t.ppf((1 + confidence) / 2, df) * fit.stderr if df > 0 else float("nan")
        out.append({"attribute": attribute, "seed": seed, "sensitivity": float(fit.slope),
                    "ci_low": fit.slope - half, "ci_high": fit.slope + half, "df": df})
    return pd.DataFrame(out)


def authors_check_by_seed(sweeps: pd.DataFrame, sep: pd.DataFrame,
                          estimator: str) -> pd.DataFrame:
    """The authors' check 2·TV + Δ per encoder, with Δ as the authors compute it.

    Δ is the mean over the attribute's two groups of the *signed* balanced-accuracy change from
    0 % to 100 % own share (the authors' ``get_slopes_df``: full shot minus zero shot); TV is
    ``estimator`` on the rows of ``sep``, and its row-bootstrap interval gives the check's.

    Returns
    -------
    pd.DataFrame
        ``attribute, seed, check, ci_low, ci_high, tv, delta``.
    """
    per_seed = full_minus_zero(sweeps, "balanced_accuracy", per_seed=True)
    delta = per_seed.groupby(["attribute", "seed"])["full_minus_zero"].mean().rename("delta")
    tv = _intervals(sep, estimator, "value").rename_axis(["seed", "attribute"]).swaplevel()
    both = tv.join(delta, how="inner")
    return pd.DataFrame({"check": 2 * both["value"] + both["delta"],
                         "ci_low": 2 * both["ci_low"] + both["delta"],
                         "ci_high": 2 * both["ci_high"] + both["delta"],
                         "tv": both["value"], "delta": both["delta"]}).reset_index()


def below_one(table: pd.DataFrame) -> tuple[str, str]:
    """Whether every attribute's 2·TV + Δ lies below 1 in every encoder (the bound is
    non-vacuous): per encoder reproduced when the upper end is below 1, not reproduced when the
    lower end is at or above 1; the encoders must agree, and every attribute must hold."""
    verdicts, texts = [], []
    for attribute, part in table.groupby("attribute", sort=False):
        per_seed = [decide([r.ci_low, r.ci_high], holds=r.ci_high < 1, fails=r.ci_low >= 1)
                    for r in part.itertuples()]
        verdicts.append(agreement(per_seed))
        texts.append(f"{attribute}: " + ", ".join(interval(r.check, r.ci_low, r.ci_high)
                                                  for r in part.itertuples()))
    return combine(verdicts), "; ".join(texts)


def sharp_verdict(statuses: pd.Series) -> str:
    """The sharp bound holds only if it holds for every group: one violated group refutes it,
    an inconclusive group leaves it inconclusive (:func:`latentsep.verdicts.combine`).

    Examples
    --------
    >>> sharp_verdict(pd.Series(["holds"] * 2 + ["inconclusive"] * 4))
    'inconclusive'
    """
    return combine([SHARP_STATUS[s] for s in statuses])
