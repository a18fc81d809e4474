"""Advice checked against measurement: the sweeps that verify it, and how agreement is scored.

:func:`verify_advice` measures each comparison's allocation sensitivity with a small sweep on the
pilot sample itself (``advise(verify=True)``, ``latentsep advise --verify``). :func:`judge` names
the ways an advice row can disagree with a measured sensitivity; :func:`rank_agreement` and
:func:`pair_concordance` score a whole study of advice against sweeps, within datasets (the advisor
chapter, 07, and :mod:`latentsep.experiments.advisor_study`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from latentsep.allocation import max_feasible_k, split_indices
from latentsep.checks import check_fraction, check_positive_int
from latentsep.heads import HeadConfig
from latentsep.stats import allocation_slopes, attribute_sensitivity
from latentsep.store import ResultStore
from latentsep.sweep import SweepSpec, run_sweep

if TYPE_CHECKING:
    from latentsep.advisor import Comparison

__all__ = ["VERDICTS", "VERIFY_HEAD", "judge", "pair_concordance", "rank_agreement",
           "verify_advice"]

# Pilot-sized fine-tuning sets (hundreds to a few thousand rows) give the paper's settings (lr
# 1.6e-3, batch 128) only a few steps per epoch, too few to move a Kaiming-initialised head; a
# larger step and smaller batches train it within the epoch budget.
VERIFY_HEAD = HeadConfig(kind="linear", lr=1e-2, batch_size=32, max_epochs=50,
                         early_stopping_patience=10, plateau_patience=5)




VERDICTS = ("agrees", "missed", "false alarm", "outside interval")


def judge(table: pd.DataFrame, min_effect: float) -> pd.DataFrame:
    """Compare each advice row with a measured sensitivity.

    Parameters
    ----------
    table : DataFrame
        Advice rows (``action, pi_low, pi_high``) with ``measured, measured_ci_low,
        measured_ci_high`` (from :func:`verify_advice` or the book's sweeps).
    min_effect : float
        The advice's ``min_effect``.

    Returns
    -------
    DataFrame
        ``table`` plus ``within_pi`` (measured value inside the prediction interval) and
        ``verdict``: ``"missed"`` (no action advised, but the measured CI lies above
        ``min_effect``), ``"false alarm"`` (action advised, measured CI below ``min_effect``),
        ``"outside interval"`` (neither, but the measured value is outside the prediction
        interval) or ``"agrees"``.
    """
    out = table.copy()
    out["within_pi"] = (out["measured"] >= out["pi_low"]) & (out["measured"] <= out["pi_high"])
    act = out["action"].isin(["balance", "collect"])
    missed = (out["action"] == "no action") & (out["measured_ci_low"] >= min_effect)
    false_alarm = act & (out["measured_ci_high"] < min_effect)
    out["verdict"] = np.select([missed, false_alarm, ~out["within_pi"]], list(VERDICTS[1:]),
                               default=VERDICTS[0])
    return out


def rank_agreement(
    table: pd.DataFrame,
    *,
    x: str = "predicted",
    y: str = "measured",
    by: str = "dataset",
    n_boot: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Within-group Spearman correlation between two columns, pooled over groups, with a CI.

    The advisor ranks the attributes *of one dataset*; how a dataset's sensitivities compare in
    level with another's is not something separation can tell (the calibration's between-dataset
    spread). Agreement is therefore measured within each group (dataset) and pooled as the
    mean of the groups' Spearman ρ weighted by their number of rows. The interval is a stratified
    percentile bootstrap: rows are resampled within each group. Groups with fewer than 3 rows, or
    whose resample is constant in ``x`` or ``y``, are left out of that replicate.

    Parameters
    ----------
    table : DataFrame
        One row per (group, attribute) with numeric ``x`` and ``y`` columns.
    x, y, by : str
        Column names.
    n_boot, seed, confidence
        Bootstrap size, seed and coverage.

    Returns
    -------
    dict
        ``spearman`` (pooled), ``ci`` (tuple), ``n`` (rows used), ``groups`` (groups used) and
        ``per_group`` (DataFrame: ``group, n, spearman``).
    """
    check_positive_int(n_boot, "n_boot")
    check_fraction(confidence, "confidence", low_open=True)
    parts = [(g, part[x].to_numpy(float), part[y].to_numpy(float))
             for g, part in table.groupby(by, sort=True) if len(part) >= 3]

    def pooled(samples: Sequence[tuple[np.ndarray, np.ndarray]]) -> float:
        rhos, weights = [], []
        for u, v in samples:
            if np.ptp(u) > 0 and np.ptp(v) > 0:
                rhos.append(stats.spearmanr(u, v).statistic)
                weights.append(len(u))
        return float(np.average(rhos, weights=weights)) if rhos else float("nan")

    per_group = pd.DataFrame([{"group": g, "n": len(u),
                               "spearman": pooled([(u, v)])} for g, u, v in parts],
                             columns=["group", "n", "spearman"])
    value = pooled([(u, v) for _, u, v in parts])
    if not np.isfinite(value):
        raise ValueError(
            f"no group of {by!r} has 3 or more rows with varying {x!r} and {y!r}; a rank "
            "agreement needs at least one such group."
        )
    rng = np.random.default_rng(seed)
    boot = []
    for _ in range(n_boot):
        draws = [rng.integers(0, len(u), len(u)) for _, u, _ in parts]
        boot.append(pooled([(u[i], v[i]) for (_, u, v), i in zip(parts, draws, strict=True)]))
    boot = np.asarray(boot)
    low, high = np.nanpercentile(boot, [50 * (1 - confidence), 50 * (1 + confidence)])
    used = per_group.dropna()
    return {"spearman": value, "ci": (float(low), float(high)), "n": int(used["n"].sum()),
            "groups": len(used), "per_group": per_group}


def pair_concordance(
    table: pd.DataFrame,
    *,
    x: str = "predicted",
    y: str = "measured",
    by: str = "dataset",
    name: str = "attribute",
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Share of the pairs the measurement can order that the prediction orders the same way.

    A rank correlation with a noisy measurement is bounded by the measurement's own noise: when
    the sweeps cannot tell two attributes apart, no predictor can agree with their order except
    by chance. This counts only **decisive** pairs: two attributes of one group (dataset) whose
    measured CIs (``<y>_ci_low`` … ``<y>_ci_high``) do not overlap. A pair agrees when ``x``
    orders it as the measurement does (a tie in ``x`` does not agree).

    Parameters
    ----------
    table : DataFrame
        One row per (group, attribute) with ``x``, ``y`` and the CI columns of ``y``.
    x, y, by, name : str
        Column names.
    confidence : float
        Coverage of the Wilson interval of the share.

    Returns
    -------
    dict
        ``pairs`` (number of decisive pairs), ``agree``, ``share`` (NaN without decisive pairs),
        ``ci`` (Wilson interval) and ``table`` (DataFrame: ``by, higher, lower`` by measurement,
        ``agrees``).
    """
    check_fraction(confidence, "confidence", low_open=True)
    low, high = f"{y}_ci_low", f"{y}_ci_high"
    missing = {x, y, low, high, by, name} - set(table.columns)
    if missing:
        raise ValueError(f"table lacks columns {sorted(missing)}; pass the comparison table.")
    rows = []
    for group, part in table.groupby(by, sort=True):
        records = part.to_dict(orient="records")
        for i, first in enumerate(records):
            for second in records[i + 1:]:
                top, bottom = (first, second) if first[y] >= second[y] else (second, first)
                if bottom[high] < top[low]:
                    rows.append({by: group, "higher": top[name], "lower": bottom[name],
                                 "agrees": bool(top[x] > bottom[x])})
    pairs = pd.DataFrame(rows, columns=[by, "higher", "lower", "agrees"])
    agree, n = int(pairs["agrees"].sum()), len(pairs)
    if n == 0:
        return {"pairs": 0, "agree": 0, "share": float("nan"), "ci": (float("nan"),) * 2,
                "table": pairs}
    ci = stats.binomtest(agree, n).proportion_ci(confidence, method="wilson")
    return {"pairs": n, "agree": agree, "share": agree / n, "ci": (ci.low, ci.high),
            "table": pairs}


def verify_advice(
    z: np.ndarray,
    y: np.ndarray,
    comps: Sequence[Comparison],
    *,
    alphas: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
    seeds: Sequence[int] = (0, 1, 2),
    k_train: int = 2_000,
    k_val: int = 500,
    head: HeadConfig = VERIFY_HEAD,
    split: tuple[float, float, float] = (0.5, 0.2, 0.3),
    store: ResultStore | str | None = None,
    seed: int = 0,
    confidence: float = 0.95,
    progress: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Measure each comparison's allocation sensitivity with a small sweep on the pilot sample.

    The pilot rows (observed for the comparison) are split, stratified by label × group, into a
    fine-tuning pool, a validation pool and a test set (``split`` fractions); a linear head is
    trained at every allocation × seed (:func:`latentsep.sweep.run_sweep`) and the sensitivity is
    :func:`latentsep.stats.attribute_sensitivity` of the balanced-accuracy slopes.

    Parameters
    ----------
    z : ndarray, shape (n, d)
    y : ndarray, shape (n,)
        0/1 labels.
    comps : sequence of Comparison
    alphas, seeds
        Allocations (share of group 1) and seeds of the sweep.
    k_train, k_val : int
        Fine-tuning and validation sizes, capped at what the smaller group can supply at α = 1
        (the cap is reported in the ``k_train`` column).
    head : HeadConfig
        Head settings (default :data:`VERIFY_HEAD`: linear, lr 0.01, batch 32, ≤ 50 epochs).
    split : tuple of float
        Pool / validation / test fractions.
    store : ResultStore or path, optional
        Cache of the sweeps; default a temporary folder removed afterwards.
    seed : int
        Seed of the split.
    confidence : float
        Coverage of the measured sensitivity's t-interval across seeds.
    progress : bool

    Returns
    -------
    measured : DataFrame
        ``attribute, measured, measured_ci_low, measured_ci_high, k_train``.
    sweep : DataFrame
        The tidy sweep tables concatenated (``attribute`` = comparison name).
    """
    check_positive_int(k_train, "k_train")
    check_positive_int(k_val, "k_val")
    with tempfile.TemporaryDirectory(prefix="latentsep-verify-") as tmp:
        store = store if store is not None else ResultStore(tmp)
        rows, sweeps = [], []
        for comp in comps:
            obs = np.flatnonzero(comp.observed)
            a = comp.codes[obs].astype(np.int64)
            pool, val, test = split_indices(len(obs), split, seed, stratify=2 * y[obs] + a)
            k_t = min(k_train, *(max_feasible_k(int((a[pool] == 0).sum()), int((a[pool] == 1).sum()),
                                                al) for al in alphas))
            k_v = min(k_val, *(max_feasible_k(int((a[val] == 0).sum()), int((a[val] == 1).sum()),
                                              al) for al in alphas))
            if k_t < 2 or k_v < 2:
                raise ValueError(
                    f"attribute {comp.name!r}: the smaller group has too few pilot rows to verify "
                    f"(k_train would be {k_t}, k_val {k_v}); verify without it or collect more."
                )
            spec = SweepSpec(comp.name, alphas=tuple(alphas), seeds=tuple(seeds), k_train=k_t,
                             k_val=k_v, head=head)
            df = run_sweep(z[obs], y[obs], {comp.name: a},
                           {"pool": pool, "val_pool": val, "test": test}, spec, store,
                           progress=progress)
            sens = attribute_sensitivity(allocation_slopes(df, per_seed=True),
                                         confidence=confidence)
            rows.append({"attribute": comp.name, "measured": float(sens["slope"].iloc[0]),
                         "measured_ci_low": float(sens["ci_low"].iloc[0]),
                         "measured_ci_high": float(sens["ci_high"].iloc[0]), "k_train": k_t})
            sweeps.append(df)
    return pd.DataFrame(rows), pd.concat(sweeps, ignore_index=True)
