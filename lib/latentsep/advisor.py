"""Allocation advisor: which subgroups of a pilot sample need balancing before fine-tuning?

The paper's recipe (§5.5): embed a labelled pilot sample with the frozen model, estimate every
candidate attribute's class-conditional latent separation against chance, and spend balancing or
collection effort on the attributes that are clearly separated. :func:`advise` does that and adds
a number a practitioner can act on: the attribute's predicted **allocation sensitivity** (how much
a group's balanced accuracy moves per unit of its share of the fine-tuning set), with a prediction
interval.

Two measurements per attribute, with different jobs:

- the **separation** excess over a permutation null (:mod:`latentsep.separation`) says whether
  allocation *can* matter: if the groups are not separated beyond chance, the paper's bound
  leaves no room for one group's accuracy to move apart from the other's;
- the **transfer gap** (:mod:`latentsep.transfer`) says how *much* it does: how much better each
  group is served by a head trained on its own pilot rows than by one trained on the other
  group's. Separation alone does not rank attributes: groups separated along directions the head
  ignores (a tint, a frame) are as separated as groups that need different heads, and only the
  latter are sensitive to allocation (the advisor chapter measures both against sweeps).

The sensitivity is read off a calibration of the transfer gap fitted on the book's own sweeps
(:mod:`latentsep.calibration`).

Attributes
----------
A table column with two values is one comparison (the later value in sorted order is group 1,
e.g. ``PA`` vs ``AP``, ``1`` vs ``0``). A column with 3 … ``max_values`` values gives one
comparison per value, that value against all the others (``site=C`` vs rest).

Recommendation rules (stated here once; reports repeat them)
-------------------------------------------------------------
Let ``[e_lo, e_hi]`` be the CI of the separation excess over the permutation null, ``[s_lo,
s_hi]`` the prediction interval of the sensitivity (from the transfer gap) and ``m`` the smallest
sensitivity worth acting on (``min_effect``, default 0.01 balanced accuracy per unit share):

1. **no action** ("allocation does not matter here") when ``e_lo ≤ 0`` (the attribute is not
   separated beyond what chance gives at these sample sizes) or ``s_hi < m``;
2. otherwise, when ``s_lo ≥ m``, act: **collect** more of the smaller group if its share of the
   pilot sample is below ``minority_share`` (default 0.2: balancing by subsampling would discard
   most of the data), else **balance** (give both groups equal shares of the fine-tuning set);
3. otherwise **verify**: separated, but the interval straddles ``m``; run the allocation sweep
   (``verify=True`` / ``latentsep advise --verify``) before spending effort.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
from scipy import stats

from latentsep.advisor_validation import judge, verify_advice
from latentsep.calibration import Calibration, load_calibration
from latentsep.checks import as_2d_float, check_fraction, check_positive_int
from latentsep.separation import separation_table
from latentsep.transfer import transfer_table

__all__ = ["ACTIONS", "RULES", "AdviceReport", "Comparison", "advise", "binary_label",
           "comparison_separation", "comparisons"]

ACTIONS = ("collect", "balance", "verify", "no action")
MISSING = ("error", "drop")
RULES = (
    "no action (allocation does not matter here): the excess's CI reaches 0 or below, or the "
    "prediction interval lies below min_effect",
    "collect more of the smaller group: excess CI above 0, prediction interval above min_effect, "
    "and that group's pilot share is below minority_share",
    "balance (equal shares in the fine-tuning set): as above, with the smaller group's share at "
    "least minority_share",
    "verify: excess CI above 0 but the prediction interval straddles min_effect; run --verify",
)


@dataclass(frozen=True)
class Comparison:
    """One binary comparison derived from a table column.

    Attributes
    ----------
    name : str
        ``column`` for a two-valued column, ``column=value`` for one-vs-rest.
    column : str
    group_1, group_0 : str
        Labels of the two groups (``"rest"`` for one-vs-rest).
    codes : ndarray, shape (n,), float
        1.0 / 0.0 per row, NaN where the column is missing.
    """

    name: str
    column: str
    group_1: str
    group_0: str
    codes: np.ndarray

    @property
    def observed(self) -> np.ndarray:
        """Rows where the column has a value, shape (n,) bool."""
        return ~np.isnan(self.codes)


def binary_label(table: pd.DataFrame, label: str) -> tuple[np.ndarray, list[str]]:
    """The label column as 0/1 (the later of its two sorted values is 1) and its two values.

    Raises
    ------
    ValueError
        Unknown column, missing values, or not exactly two distinct values.
    """
    column = _column(table, label, "label")
    if column.isna().any():
        raise ValueError(
            f"label column {label!r} has {int(column.isna().sum())} missing value(s); the advisor "
            "needs a label for every pilot row. Drop those rows (and their embeddings) first."
        )
    values = np.sort(column.unique())
    if len(values) != 2:
        raise ValueError(
            f"label column {label!r} must be binary; found {len(values)} distinct value(s) "
            f"{values[:10].tolist()}. Recode it to two classes (e.g. positive vs negative)."
        )
    return (column.to_numpy() == values[1]).astype(np.int64), [str(v) for v in values]


def _column(table: pd.DataFrame, name: str, what: str) -> pd.Series:
    if name not in table.columns:
        raise ValueError(
            f"unknown {what} column {name!r}; the table has columns {list(map(str, table.columns))}."
        )
    return table[name]


def comparisons(
    table: pd.DataFrame, attributes: Sequence[str], *, max_values: int = 20, missing: str = "error"
) -> list[Comparison]:
    """Binary comparisons (one per two-valued column, one-vs-rest per value otherwise).

    Parameters
    ----------
    table : DataFrame, shape (n, ...)
    attributes : sequence of str
        Column names.
    max_values : int
        Most distinct values a column may have (guards against ID-like columns).
    missing : {"error", "drop"}
        Missing attribute values raise, or the attribute is estimated on its observed rows.

    Returns
    -------
    list of Comparison
    """
    check_positive_int(max_values, "max_values", minimum=2)
    if missing not in MISSING:
        raise ValueError(f"missing must be one of {MISSING}; got {missing!r}.")
    if not attributes:
        raise ValueError("attributes is empty; name at least one attribute column.")
    duplicated = sorted({a for a in attributes if list(attributes).count(a) > 1})
    if duplicated:
        raise ValueError(f"attributes lists {duplicated} more than once; name each column once.")
    out = []
    for name in attributes:
        column = _column(table, name, "attribute")
        absent = column.isna().to_numpy()
        if absent.any() and missing == "error":
            raise ValueError(
                f"attribute {name!r} has {int(absent.sum())} missing value(s); pass "
                "missing='drop' (CLI: --missing drop) to estimate it on its observed rows only."
            )
        values = np.sort(column.dropna().unique())
        if len(values) < 2:
            raise ValueError(
                f"attribute {name!r} has the single value {values.tolist()}; it cannot separate "
                "anything. Drop it from the attributes."
            )
        if len(values) > max_values:
            raise ValueError(
                f"attribute {name!r} has {len(values)} distinct values (more than max_values="
                f"{max_values}); bin it (e.g. age > 60) or raise max_values (--max-values)."
            )
        raw = column.to_numpy()
        pairs = [(values[1], values[0])] if len(values) == 2 else [(v, None) for v in values]
        for one, zero in pairs:
            codes = np.where(absent, np.nan, (raw == one).astype(float))
            label = name if zero is not None else f"{name}={one}"
            out.append(Comparison(label, name, str(one), "rest" if zero is None else str(zero),
                                  codes))
    return out


@dataclass
class AdviceReport:
    """Everything :func:`advise` found, with renderers (:mod:`latentsep.advice_report`) for the terminal,
    JSON and HTML.

    Attributes
    ----------
    table : DataFrame
        One row per comparison, ranked by predicted sensitivity: ``rank, attribute, column,
        group_1, group_0, n, n_1, share_1, value, ci_low, ci_high, null_mean, excess,
        excess_ci_low, excess_ci_high, p_value, n_components, transfer_gap, transfer_ci_low,
        transfer_ci_high, own_0, own_1, other_0, other_1, predicted, pi_low, pi_high, action,
        recommendation`` (+ ``measured, measured_ci_low, measured_ci_high, k_train, within_pi,
        verdict`` after verification, see :func:`~latentsep.advisor_validation.judge`).
    inputs : dict
        Sample size, dimensions, label and its classes, attribute columns.
    settings : dict
        Separation, transfer-gap and rule settings.
    calibration : Calibration
    seconds : dict
        Wall time per stage.
    verify_table : DataFrame or None
        The raw sweep of the verification (tidy, as returned by ``run_sweep``).
    """

    table: pd.DataFrame
    inputs: dict[str, Any]
    settings: dict[str, Any]
    calibration: Calibration
    seconds: dict[str, float] = field(default_factory=dict)
    verify_table: pd.DataFrame | None = None

    # ------------------------------------------------------------------ renderers
    # The renderers live in latentsep.advice_report; these methods are the report's public face.
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready content (NaN → null)."""
        from latentsep import advice_report

        return advice_report.report_dict(self)

    def to_json(self) -> str:
        from latentsep import advice_report

        return advice_report.report_json(self)

    def to_text(self) -> str:
        """The report as a plain-text table with a header and the rules."""
        from latentsep import advice_report

        return advice_report.report_text(self)

    def charts(self) -> dict[str, alt.Chart]:
        """Altair charts: ``separation``, ``sensitivity`` and ``calibration``
        (see :func:`latentsep.advice_report.report_charts`)."""
        from latentsep import advice_report

        return advice_report.report_charts(self)

    def to_html(self) -> str:
        """A standalone offline HTML page, recommendations in words first
        (see :func:`latentsep.advice_report.report_html`)."""
        from latentsep import advice_report

        return advice_report.report_html(self)


# ---------------------------------------------------------------------- the estimate
def advise(
    embeddings: Any,
    table: pd.DataFrame,
    *,
    label: str,
    attributes: Sequence[str] | None = None,
    calibration: Calibration | None = None,
    n_permutations: int = 100,
    n_bootstrap: int = 100,
    seed: int = 0,
    confidence: float = 0.95,
    min_effect: float = 0.01,
    minority_share: float = 0.2,
    max_values: int = 20,
    missing: str = "error",
    verify: bool = False,
    verify_options: Mapping[str, Any] | None = None,
) -> AdviceReport:
    """Separation, predicted allocation sensitivity and a recommendation per attribute.

    Parameters
    ----------
    embeddings : array_like, shape (n, d)
        Frozen-encoder embeddings of the pilot sample, one row per table row.
    table : DataFrame, shape (n, ...)
        The label and attribute columns, rows in the order of ``embeddings``.
    label : str
        Binary label column.
    attributes : sequence of str, optional
        Attribute columns (default: every column except ``label``). Two-valued columns give one
        comparison; columns with 3 … ``max_values`` values one comparison per value (one-vs-rest).
    calibration : Calibration, optional
        Default: the calibration shipped with the package. Its separation settings (method,
        PCA share, bins, edges) and transfer-gap settings (components, head strength, repeats)
        are used, so that the gap is on the calibration's scale.
    n_permutations, n_bootstrap : int
        Permutation null and bootstrap CI sizes (100 each keeps 10,000 × 1,024 well under a
        minute; the p-value's resolution is ``1 / (n_permutations + 1)``); at least 20 each, since
        the rules need the CIs. ``n_bootstrap`` also sizes the transfer gap's CI.
    seed : int
    confidence : float
        Coverage of the CIs and of the prediction interval.
    min_effect : float
        Smallest sensitivity worth acting on (balanced accuracy per unit own share).
    minority_share : float
        Below this pilot share the smaller group is to be collected rather than balanced.
    max_values : int
        Most distinct values an attribute column may have.
    missing : {"error", "drop"}
        What to do with missing attribute values (see :func:`comparisons`).
    verify : bool
        Also run a small allocation sweep per comparison on the pilot sample
        (:func:`~latentsep.advisor_validation.verify_advice`) and report the measured sensitivity
        next to the prediction.
    verify_options : mapping, optional
        Keywords of :func:`~latentsep.advisor_validation.verify_advice`.

    Returns
    -------
    AdviceReport

    Examples
    --------
    A pilot sample where ``site`` moves the label to another latent direction (a head trained on
    one site fails on the other) and ``coin`` is the paper's Random attribute:

    >>> rng = np.random.default_rng(0)
    >>> y, site, coin = rng.integers(0, 2, (3, 600))
    >>> z = rng.normal(size=(600, 4))
    >>> z[:, 0] += 2.0 * y * (site == 0)
    >>> z[:, 1] += 2.0 * y * (site == 1) + 1.5 * site
    >>> table = pd.DataFrame({"y": y, "site": site, "coin": coin})
    >>> report = advise(z, table, label="y", n_permutations=20, n_bootstrap=20)
    >>> print(report.table[["attribute", "action"]].to_string(index=False))
    attribute    action
         site   balance
         coin no action
    """
    start = time.perf_counter()
    calibration = calibration if calibration is not None else load_calibration()
    check_positive_int(n_permutations, "n_permutations", minimum=20)
    check_positive_int(n_bootstrap, "n_bootstrap", minimum=20)
    z = as_2d_float(embeddings, "embeddings")
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"table must be a pandas DataFrame; got {type(table).__name__}.")
    if len(table) != len(z):
        raise ValueError(
            f"the table has {len(table):,} rows but the embeddings have {len(z):,}; pass one table "
            "row per embedding row, in the same order."
        )
    check_fraction(confidence, "confidence", low_open=True)
    check_fraction(minority_share, "minority_share")
    if not math.isfinite(min_effect) or min_effect < 0:
        raise ValueError(f"min_effect must be a finite number >= 0; got {min_effect!r}.")
    y, label_values = binary_label(table, label)
    columns = [c for c in table.columns if c != label] if attributes is None else list(attributes)
    if label in columns:
        raise ValueError(f"attributes include the label column {label!r}; remove it.")
    comps = comparisons(table, columns, max_values=max_values, missing=missing)
    sep_kw = {**calibration.separation, "n_permutations": n_permutations,
              "n_bootstrap": n_bootstrap, "seed": seed, "confidence": confidence}
    sep = comparison_separation(z, y, comps, sep_kw)
    seconds = {"separation": time.perf_counter() - start}
    transfer_kw = {**calibration.transfer, "n_bootstrap": n_bootstrap, "seed": seed,
                   "confidence": confidence}
    gaps = transfer_table(z, y, {c.name: c.codes for c in comps}, **transfer_kw)
    gaps = gaps.drop(columns=["gap_0", "gap_1", "n_train"])
    seconds["transfer"] = time.perf_counter() - start - seconds["separation"]

    z_crit = stats.norm.ppf(0.5 + confidence / 2)
    x_se = (gaps["transfer_ci_high"] - gaps["transfer_ci_low"]) / (2 * z_crit)
    pred = calibration.predict(gaps["transfer_gap"].to_numpy(), x_se.to_numpy(),
                               confidence=confidence)
    out = pd.concat([sep.merge(gaps, on="attribute", how="left", validate="one_to_one"),
                     pred.drop(columns=["se", "df"])], axis=1)
    out = out.rename(columns={"prediction": "predicted"})
    out[["action", "recommendation"]] = [
        _recommend(r, min_effect, minority_share) for r in out.itertuples(index=False)
    ]
    out = out.sort_values(["predicted", "transfer_gap"], ascending=False, kind="stable")
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    report = AdviceReport(
        table=out.reset_index(drop=True),
        inputs={"n": len(z), "dim": z.shape[1], "label": label, "label_values": label_values,
                "label_share": float(y.mean()), "attributes": columns},
        settings={**sep_kw, "transfer": transfer_kw, "min_effect": min_effect,
                  "minority_share": minority_share,
                  "max_values": max_values, "missing": missing},
        calibration=calibration,
        seconds=seconds,
    )
    if verify:
        verify_start = time.perf_counter()
        measured, sweep = verify_advice(z, y, comps, seed=seed, confidence=confidence,
                                        **dict(verify_options or {}))
        report.table = judge(report.table.merge(measured, on="attribute", how="left"),
                             min_effect)
        report.verify_table = sweep
        report.seconds["verify"] = time.perf_counter() - verify_start
    report.seconds["total"] = time.perf_counter() - start
    return report


def comparison_separation(
    z: np.ndarray, y: np.ndarray, comps: Sequence[Comparison], sep_kw: Mapping[str, Any]
) -> pd.DataFrame:
    """Separation of every comparison, with its groups, sizes and the excess's CI.

    Comparisons observed on the same rows share one ``separation_table`` call (one PCA); with
    missing values each set of observed rows gets its own PCA, as the estimator is defined on the
    rows it sees.

    Parameters
    ----------
    z : ndarray, shape (n, d)
    y : ndarray, shape (n,)
    comps : sequence of Comparison
    sep_kw : mapping
        Keywords of :func:`latentsep.separation.latent_separation`.

    Returns
    -------
    DataFrame
        ``attribute, column, group_1, group_0, n, n_1, share_1, value, ci_low, ci_high,
        null_mean, excess, excess_ci_low, excess_ci_high, p_value, n_components``.
    """
    by_rows: dict[bytes, list[Comparison]] = {}
    for comp in comps:
        by_rows.setdefault(np.packbits(comp.observed).tobytes(), []).append(comp)
    frames = []
    for group in by_rows.values():
        rows = group[0].observed
        attrs = {c.name: c.codes[rows].astype(np.int64) for c in group}
        try:
            frames.append(separation_table(z[rows], y[rows], attrs, **sep_kw))
        except ValueError as err:
            names = ", ".join(repr(c.name) for c in group)
            raise ValueError(f"separation of attribute(s) {names}: {err}") from err
    sep = pd.concat(frames, ignore_index=True).set_index("attribute")
    meta = pd.DataFrame([{
        "attribute": c.name, "column": c.column, "group_1": c.group_1, "group_0": c.group_0,
        "n": int(c.observed.sum()), "n_1": int(np.nansum(c.codes)),
        "share_1": float(np.nanmean(c.codes)),
    } for c in comps]).set_index("attribute")
    sep = meta.join(sep)
    sep["excess_ci_low"] = sep["ci_low"] - sep["null_mean"]
    sep["excess_ci_high"] = sep["ci_high"] - sep["null_mean"]
    order = ["column", "group_1", "group_0", "n", "n_1", "share_1", "value", "ci_low", "ci_high",
             "null_mean", "excess", "excess_ci_low", "excess_ci_high", "p_value", "n_components"]
    return sep[order].reset_index()


def _recommend(row: Any, min_effect: float, minority_share: float) -> tuple[str, str]:
    """(action, recommendation text) for one advice row, by the module's rules."""
    if row.excess_ci_low <= 0 or row.pi_high < min_effect:
        return "no action", "allocation does not matter here"
    if row.pi_low < min_effect:
        return "verify", "verify first (--verify): separated, but the interval straddles min_effect"
    smaller, share = ((row.group_1, row.share_1) if row.share_1 <= 0.5
                      else (row.group_0, 1 - row.share_1))
    if share < minority_share:
        return "collect", f"collect more of {row.column}={smaller} ({share:.0%} of the pilot)"
    return "balance", f"balance {row.column}: equal shares of {row.group_1} and {row.group_0}"
