"""Random Gaussian configurations and the sweep that checks every bound on each of them.

:func:`sweep_bounds` draws configurations (:func:`sample_configuration`), fits two heads on two
allocations of each, and records every term of the bounds (:func:`latentsep.theory.gaussian.bound_terms`);
:func:`violation_summary`, :func:`allowance_used`, :func:`usage_bands`, :func:`allowance_scatter`
and :func:`estimator_limit_table` summarise the sweep for chapter 01.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import special, stats

from latentsep.checks import check_choice, check_fraction, check_positive_int
from latentsep.theory.gaussian import (
    HEAD_KINDS,
    VIOLATION_TOL,
    GaussianConfig,
    bound_terms,
    fit_allocated_head,
    mahalanobis,
)


def marginal_tv_estimator(config: GaussianConfig, variance: float = 0.70) -> float:
    """The paper's separation estimator in the population limit (no binning, no sample noise).

    Standardise the pooled test-population latents, keep the leading principal components that
    explain ``variance`` of it, take the exact 1-D TV between the two groups along each component
    per class, average over components, then over the two classes (unweighted). Each 1-D TV is a
    TV of a projection, so it never exceeds the joint TV: the estimator under-states ε. K = 2 only.
    """
    if config.n_groups != 2:
        raise ValueError(f"the marginal estimator compares two groups; got K={config.n_groups}.")
    check_fraction(variance, "variance", low_open=True)
    cells = np.stack([config.shares * (1.0 - config.prior_y1), config.shares * config.prior_y1])
    centre = np.einsum("yk,ykd->d", cells, config.means)
    dev = config.means - centre
    pooled = config.cov + np.einsum("yk,yki,ykj->ij", cells, dev, dev)
    scale = 1.0 / np.sqrt(np.diag(pooled))
    evals, evecs = np.linalg.eigh(pooled * np.outer(scale, scale))
    order = np.argsort(evals)[::-1]
    explained = np.cumsum(evals[order]) / evals.sum()
    n_comp = int(np.searchsorted(explained, variance - 1e-12) + 1)
    dirs = (evecs[:, order[:n_comp]] * scale[:, None]).T  # (n_comp, d) directions in z-space
    spread = np.sqrt(np.einsum("cd,de,ce->c", dirs, config.cov, dirs))
    shift = np.abs((config.means[:, 1] - config.means[:, 0]) @ dirs.T) / spread  # (2, n_comp)
    return float(np.mean(2.0 * special.ndtr(shift / 2.0) - 1.0))


# --------------------------------------------------------------------------------------------
# random configurations and the sweep


def sample_configuration(
    rng: np.random.Generator,
    *,
    n_groups: int = 2,
    dims: tuple[int, ...] = (1, 2, 5, 10, 20),
    label_shift: bool = False,
    n_train_choices: tuple[int, ...] = (50, 100, 200, 500, 1000),
    head_kinds: tuple[str, ...] = HEAD_KINDS,
    zero_shift_share: float = 0.05,
) -> GaussianConfig:
    """Draw one random configuration.

    Dimension from ``dims``; covariance with a random orientation and eigenvalues log-uniform in
    [0.2, 5]; class separation (Mahalanobis) U(0.5, 4); per-class group shift (Mahalanobis
    distance between the groups, K = 2) up to 3, zero with probability ``zero_shift_share``;
    ``P(Y=1|A)`` U(0.1, 0.9), shared by the groups unless ``label_shift``; test share of group 1
    U(0.05, 0.95) (K = 2) or Dirichlet(2) shares; two distinct allocations from the paper's grid
    {0, 0.1, ..., 1} (K = 2) or Dirichlet(1) shares; fine-tuning size and head kind from the
    choices.
    """
    k = check_positive_int(n_groups, "n_groups", minimum=2)
    check_fraction(zero_shift_share, "zero_shift_share")
    d = int(rng.choice(dims))
    rot, _ = np.linalg.qr(rng.standard_normal((d, d)))
    cov = (rot * np.exp(rng.uniform(np.log(0.2), np.log(5.0), d))) @ rot.T
    cov = (cov + cov.T) / 2
    separation = rng.uniform(0.5, 4.0)
    shift = 0.0 if rng.random() < zero_shift_share else rng.uniform(0.0, 3.0)
    centre = rng.standard_normal(d)
    white = np.empty((2, k, d))
    class_dir = _unit(rng, d)
    for y in range(2):
        group_dirs = np.stack([_unit(rng, d) for _ in range(k)])
        if k == 2:
            group_dirs[1] = -group_dirs[0]  # distance between the two groups = this class's shift
        class_shift = shift * rng.uniform(0.3, 1.0)
        white[y] = centre + (y - 0.5) * separation * class_dir + 0.5 * class_shift * group_dirs
    means = white @ np.linalg.cholesky(cov).T
    if label_shift:
        prior = rng.uniform(0.1, 0.9, k)
    else:
        prior = np.full(k, rng.uniform(0.1, 0.9))
    if k == 2:
        share1 = rng.uniform(0.05, 0.95)
        shares = np.array([1.0 - share1, share1])
        grid = np.round(np.linspace(0.0, 1.0, 11), 10)
        pair = rng.choice(grid, size=2, replace=False)
        alphas = np.array([[1.0 - a, a] for a in pair])
    else:
        shares = rng.dirichlet(np.full(k, 2.0))
        alphas = rng.dirichlet(np.ones(k), size=2)
    return GaussianConfig(
        means=means,
        cov=cov,
        prior_y1=prior,
        shares=shares,
        alphas=alphas,
        n_train=int(rng.choice(n_train_choices)),
        head_kind=str(rng.choice(head_kinds)),
    )


def _unit(rng: np.random.Generator, d: int) -> np.ndarray:
    v = rng.standard_normal(d)
    return v / np.linalg.norm(v)


SWEEP_COLUMNS = [
    "config_id", "dim", "n_groups", "separation", "group_shift", "prior_y1_a0", "prior_y1_a1",
    "share_a1", "alpha1", "alpha2", "n_train", "head_kind", "group", "share_group", "eps",
    "gap", "delta_overall", "paper_bound", "sharp_bound", "weighted_bound", "label_shift_bound",
    "slack_paper", "slack_sharp", "slack_weighted", "slack_label_shift",
    "assumptions_hold", "violated_paper", "violated_sharp", "violated_weighted",
    "violated_label_shift", "eps_estimator", "violated_sharp_estimator",
]


def _sweep_row(config: GaussianConfig, rng: np.random.Generator, config_id: int) -> dict:
    head1 = fit_allocated_head(config, config.alphas[0], rng)
    head2 = fit_allocated_head(config, config.alphas[1], rng)
    t = bound_terms(config, head1, head2)
    slacks = {name: t[f"{name}_bound"] - t["gap"]
              for name in ("paper", "sharp", "weighted", "label_shift")}
    g = int(np.argmin(slacks["sharp"]))  # report the group closest to violating the sharp bound
    pi_g = float(config.shares[g])
    row = {
        "config_id": config_id,
        "dim": config.dim,
        "n_groups": config.n_groups,
        "separation": float(np.mean(mahalanobis(config.means[1] - config.means[0], config.cov))),
        "group_shift": float(mahalanobis(config.means[:, 1] - config.means[:, 0], config.cov).max()),
        "prior_y1_a0": float(config.prior_y1[0]),
        "prior_y1_a1": float(config.prior_y1[1]),
        "share_a1": float(config.shares[1]),
        "alpha1": float(config.alphas[0, 1]),
        "alpha2": float(config.alphas[1, 1]),
        "n_train": config.n_train,
        "head_kind": config.head_kind,
        "group": g,
        "share_group": pi_g,
        "eps": float(t["eps_group"][g]),
        "gap": float(t["gap"][g]),
        "delta_overall": t["delta_overall"],
        **{f"{name}_bound": float(t[f"{name}_bound"][g])
           for name in ("paper", "sharp", "weighted", "label_shift")},
        **{f"slack_{name}": float(s.min()) for name, s in slacks.items()},
        "assumptions_hold": t["assumptions_hold"],
        **{f"violated_{name}": flag for name, flag in t["violated"].items()},
        "eps_estimator": np.nan,
        "violated_sharp_estimator": None,
    }
    if config.n_groups == 2:
        est = marginal_tv_estimator(config)
        plug_in = 2.0 * (1.0 - config.shares) * est + t["delta_overall"]
        row["eps_estimator"] = est
        row["violated_sharp_estimator"] = bool(np.any(t["gap"] > plug_in + VIOLATION_TOL))
    return row


def sweep_bounds(
    n_configs: int = 10_000,
    seed: int = 0,
    *,
    n_groups: int = 2,
    label_shift: bool = False,
    dims: tuple[int, ...] = (1, 2, 5, 10, 20),
    n_train_choices: tuple[int, ...] = (50, 100, 200, 500, 1000),
) -> pd.DataFrame:
    """Check the bounds exactly on ``n_configs`` random configurations, one row each.

    Configuration i uses its own generator spawned from ``seed``, so the first m rows of a
    larger sweep equal a sweep of m configurations. Per configuration two heads are fitted on
    fine-tuning sets drawn with the two allocations, and every bound is evaluated exactly on the
    fixed test population. ``separation`` is the Mahalanobis distance between the class means
    (mean over groups); ``group_shift`` the one between groups 0 and 1 (max over classes);
    ``alpha1``/``alpha2`` are group 1's shares of the two fine-tuning sets; ``prior_y1_a*`` and
    ``share_a1`` describe the test population. ``violated_*`` and ``slack_*`` are over all groups
    (any / minimum); ``group``, ``eps``, ``gap`` and the bound columns refer to the group with the least slack
    under the sharp bound (:func:`allowance_used` turns them into the share of the TV allowance
    the gap needs).
    ``eps_estimator`` is :func:`marginal_tv_estimator`; ``violated_sharp_estimator`` flags gaps
    above the sharp bound with that estimate plugged in for ε (K = 2 only; NA otherwise).

    Returns
    -------
    pd.DataFrame
        ``n_configs`` rows with columns ``SWEEP_COLUMNS``.
    """
    check_positive_int(n_configs, "n_configs")
    children = np.random.SeedSequence(seed).spawn(n_configs)
    rows = []
    for i, child in enumerate(children):
        rng = np.random.default_rng(child)
        config = sample_configuration(
            rng, n_groups=n_groups, dims=dims, label_shift=label_shift,
            n_train_choices=n_train_choices,
        )
        rows.append(_sweep_row(config, rng, i))
    df = pd.DataFrame(rows, columns=SWEEP_COLUMNS)
    df["violated_sharp_estimator"] = df["violated_sharp_estimator"].astype("boolean")
    return df


BOUND_NAMES = ("paper", "sharp", "weighted", "label_shift")


def violation_upper_bound(n_violations: int, n: int, level: float = 0.95) -> float:
    """One-sided Clopper–Pearson upper confidence bound on a violation rate."""
    if n_violations >= n:
        return 1.0
    return float(stats.beta.ppf(level, n_violations + 1, n - n_violations))


# --------------------------------------------------------------------------------------------
# summaries of a sweep


def allowance_used(df: pd.DataFrame, bound: str) -> pd.Series:
    """Share of a bound's TV allowance that the observed gap needs, per row of a sweep.

    ``(gap - |ΔAcc|) / (bound - |ΔAcc|)``: ≤ 1 exactly when the bound holds, 1 when it is tight,
    negative when the subgroup moved less than overall accuracy; NaN when the allowance is 0.
    """
    check_choice(bound, "bound", BOUND_NAMES)
    allowance = df[f"{bound}_bound"] - df["delta_overall"]
    return ((df["gap"] - df["delta_overall"]) / allowance.where(allowance > 0)).rename(bound)


def violation_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Violations, their 95 % upper rate bound, vacuity and tightness per bound and assumption status.

    Returns
    -------
    pd.DataFrame
        One row per (bound, assumptions_hold): ``configurations``, ``violations``,
        ``rate_upper_95`` (one-sided Clopper–Pearson), ``vacuous_share`` (bound ≥ 1, i.e. no
        information since accuracies lie in [0, 1]), ``median_used``, ``max_used``
        (:func:`allowance_used`).
    """
    rows = []
    for hold, part in df.groupby("assumptions_hold"):
        for bound in BOUND_NAMES:
            used = allowance_used(part, bound)
            n_viol = int(part[f"violated_{bound}"].sum())
            rows.append({
                "bound": bound,
                "assumptions_hold": bool(hold),
                "configurations": len(part),
                "violations": n_viol,
                "rate_upper_95": violation_upper_bound(n_viol, len(part)),
                "vacuous_share": float((part[f"{bound}_bound"] >= 1.0).mean()),
                "median_used": float(used.median()),
                "max_used": float(used.max()),
            })
    return pd.DataFrame(rows)


def usage_bands(
    df: pd.DataFrame,
    *,
    bounds: tuple[str, ...] = ("paper", "sharp"),
    edges: np.ndarray | None = None,
    quantiles: tuple[float, float, float] = (0.1, 0.5, 0.9),
) -> pd.DataFrame:
    """Quantiles of :func:`allowance_used` in bins of ε, tidy, for a line-with-band chart.

    Returns
    -------
    pd.DataFrame
        Columns ``bound, eps_mid, n, lower, median, upper, max`` (one row per bound and
        non-empty bin; ``edges`` default to width-0.1 bins on [0, 1]; ε = 0 rows are dropped
        because their allowance is 0).
    """
    edges = np.linspace(0.0, 1.0, 11) if edges is None else np.asarray(edges, dtype=np.float64)
    bins = pd.cut(df["eps"], edges, include_lowest=False)
    out = []
    for bound in bounds:
        used = allowance_used(df, bound)
        grouped = used.groupby(bins, observed=True)
        table = grouped.quantile(list(quantiles)).unstack()
        table.columns = ["lower", "median", "upper"]
        table["n"] = grouped.count()
        table["max"] = grouped.max()
        table["eps_mid"] = [iv.mid for iv in table.index]
        table["bound"] = bound
        out.append(table.reset_index(drop=True))
    return pd.concat(out, ignore_index=True)[["bound", "eps_mid", "n", "lower", "median",
                                              "upper", "max"]]


def allowance_scatter(
    sweeps: Mapping[str, pd.DataFrame], n_per_sweep: int = 1_000, seed: int = 0
) -> pd.DataFrame:
    """A sample of each sweep's configurations: the sharp bound's allowance and what the gap needs.

    Chapter 01 plots ``needed`` against ``allowance``: the sharp bound holds exactly when a point
    lies on or below the diagonal.

    Parameters
    ----------
    sweeps : mapping of str to DataFrame
        Label (the ``population`` column) -> a :func:`sweep_bounds` table.
    n_per_sweep : int
        Configurations drawn from each sweep (all of them when it has fewer).
    seed : int
        Seeds the draw.

    Returns
    -------
    pd.DataFrame
        Columns ``population, allowance, needed, eps, share_group``, rounded to 4 decimals:
        ``allowance = 2(1 − π_a)ε`` (sharp bound minus ``|ΔAcc|``) and ``needed = gap − |ΔAcc|``.
    """
    check_positive_int(n_per_sweep, "n_per_sweep")
    sample = pd.concat(
        [sweep.sample(min(n_per_sweep, len(sweep)), random_state=seed).assign(population=label)
         for label, sweep in sweeps.items()]
    )
    sample = sample.assign(
        allowance=sample["sharp_bound"] - sample["delta_overall"],
        needed=sample["gap"] - sample["delta_overall"],
    )
    return sample[["population", "allowance", "needed", "eps", "share_group"]].round(4)


def estimator_limit_table(df: pd.DataFrame) -> pd.DataFrame:
    """How the paper's estimator, in its population limit, compares with the exact ε (chapter 01).

    Parameters
    ----------
    df : pd.DataFrame
        A :func:`sweep_bounds` table; rows without ``eps_estimator`` (K > 2) are left out, and
        configurations with ε = 0 have no ratio.

    Returns
    -------
    pd.DataFrame
        One row: ``configurations``, the median and 10 % / 90 % quantiles of
        ``eps_estimator / eps``, and how often the gap exceeds the sharp bound with the estimate
        plugged in for ε (``plug-in 'violations'``).
    """
    k2 = df.dropna(subset=["eps_estimator"])
    ratio = (k2["eps_estimator"] / k2["eps"]).where(k2["eps"] > 0)
    return pd.DataFrame(
        {
            "configurations": [len(k2)],
            "median estimator / exact ε": [ratio.median()],
            "10 % quantile": [ratio.quantile(0.1)],
            "90 % quantile": [ratio.quantile(0.9)],
            "plug-in 'violations'": [int(k2["violated_sharp_estimator"].sum())],
        }
    )
