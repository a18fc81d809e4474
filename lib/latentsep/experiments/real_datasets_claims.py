"""Chapter 04's claims, the paper's values it is compared with, and its generated prose.

:data:`PAPER` holds every number chapter 04 reads off the paper (the per-attribute TVs are
:data:`latentsep.experiments.user_datasets.PAPER_TV`); :func:`stated_claims` states the claims and
their rules before anything is computed; :func:`check_claims` fills them from a
:class:`RealDatasetsResults`; :func:`findings_markdown` and :func:`ordering_markdown` put the
results in words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from latentsep.experiments import user_datasets as ud
from latentsep.experiments.protocol import tv_rows
from latentsep.experiments.real_datasets import TABULAR_TITLES, correlation_row, foundation_orderings
from latentsep.formatting import interval
from latentsep.report import Claim, combine, decide, fill_claim, side_of_zero

__all__ = ["PAPER", "RealDatasetsResults", "check_claims", "correlation_claim",
           "findings_markdown", "ordering_markdown", "stated_claims"]

#: The paper's values for chapter 04 (§5.2 MIMIC-CXR correlations across 10 attributes; §5.5).
PAPER = {
    "mimic_cxr.loss slope": "R² 0.78 (p = 6.4e-4)",
    "mimic_cxr.full-minus-zero loss": "R² 0.90 (p = 2.3e-5)",
    "random_lowest": "Random lowest on MIMIC-CXR, HAM10000 and CivilComments",
    "foundation.gains": "§5.5: balancing gains appear for the high-TV attributes only",
    "foundation.ranking": "§5.5: TV ranks the attributes' balancing gains",
    "min_r2": 0.5,  # our threshold for "the correlation is strong", not the paper's
}
NEGATIVE_R = "r < 0 with its 95 % bootstrap CI entirely below 0"
RANDOM_LOWEST = "Random's mean TV over seeds is the smallest"
#: Sign of r the hypothesis predicts for each sensitivity measure (more separation, more gain).
EXPECTED_SIGN = {"loss slope": -1, "balanced-accuracy slope": +1, "full-minus-zero loss": -1}
#: Claims checkable only when the user supplies the dataset (and runs the full profile).
REAL_CLAIMS = {"mimic_cxr": ["mimic.loss", "mimic.fmz"], "ham10000": ["ham10000.random"],
               "civilcomments": ["civilcomments.random"]}


def _snake(label: str) -> str:
    return label.replace(" ", "_").replace("-", "_")


def stated_claims(titles: Mapping[str, str] = TABULAR_TITLES) -> dict[str, Claim]:
    """Chapter 04's claims with their rules, before anything is computed (keys are the chapter's
    short names, in the order the claims file lists them)."""
    claims: dict[str, Claim] = {}
    for key, title in titles.items():
        for sens, paper in (("loss slope", f"{PAPER['mimic_cxr.loss slope']} on MIMIC-CXR, "
                                           "10 attributes"),
                            ("full-minus-zero loss", f"{PAPER['mimic_cxr.full-minus-zero loss']} "
                                                     "on MIMIC-CXR")):
            claims[f"{key}.{sens}"] = Claim(
                claim_id=f"real.{key}.tv_vs_{_snake(sens)}",
                description=f"{title}: Pearson r between paper-faithful TV and the attribute's "
                            f"LLRT {sens}, across attributes (our extension: the paper has no "
                            "tabular data)",
                paper=paper, rule=NEGATIVE_R)
        claims[f"{key}.excess"] = Claim(
            claim_id=f"real.{key}.tv_excess_vs_loss_slope",
            description=f"{title}: Pearson r between our TV excess over the permutation null and "
                        "the LLRT loss slope, across attributes",
            paper="not in the paper (ours)", rule=NEGATIVE_R)
        claims[f"{key}.random"] = Claim(
            claim_id=f"real.{key}.random_lowest_tv",
            description=f"{title}: Random has the lowest paper-faithful TV of all attributes",
            paper=PAPER["random_lowest"], rule=RANDOM_LOWEST)
    claims["foundation.gains"] = Claim(
        claim_id="real.foundation.gains_only_where_separated",
        description="Frozen ImageNet encoder on coloured MNIST: balancing changes a group's "
                    "balanced accuracy only for attributes that are separated",
        paper=PAPER["foundation.gains"],
        rule="every attribute whose balanced-accuracy full-minus-zero CI excludes 0 has a TV "
             "excess CI above 0, and at least one attribute has such a gain")
    claims["foundation.ranking"] = Claim(
        claim_id="real.foundation.tv_ranks_sensitivity",
        description="Frozen ImageNet encoder on coloured MNIST: ordering of attributes by "
                    "paper-faithful TV equals their ordering by |balanced-accuracy sensitivity|",
        paper=PAPER["foundation.ranking"], rule="identical orderings")
    for claim_key, sens in (("mimic.loss", "loss slope"), ("mimic.fmz", "full-minus-zero loss")):
        claims[claim_key] = Claim(
            claim_id=f"real.mimic_cxr.tv_vs_{'loss_slope' if sens == 'loss slope' else 'full_minus_zero'}",
            description=f"MIMIC-CXR: paper-faithful TV vs "
                        f"{'LLRT loss slope' if sens == 'loss slope' else sens} across 10 attributes",
            paper=PAPER[f"mimic_cxr.{sens}"],
            rule=f"r < 0 with its 95 % CI below 0 and R² >= {PAPER['min_r2']}")
    for key in ("ham10000", "civilcomments"):
        claims[f"{key}.random"] = Claim(
            claim_id=f"real.{key}.random_lowest_tv",
            description=f"{ud.REAL_DATASETS[key].title}: Random has the lowest paper-faithful TV",
            paper=f"Random {ud.PAPER_TV[key]['Random']:.3f}, lowest", rule=RANDOM_LOWEST)
    return claims


def correlation_claim(claim: Claim, row: pd.Series, *, n_seeds: int, profile: str,
                      min_r2: float | None = None, extra: str = "") -> Claim:
    """A correlation claim filled from one :func:`~latentsep.experiments.protocol.correlation_table`
    row: reproduced when r < 0, its 95 % interval lies below 0 (:func:`latentsep.report.fill_claim`)
    and, if ``min_r2`` is given, R² >= ``min_r2``. An undefined correlation leaves the claim
    unchecked with the reason in its note. Used by chapter 04.

    Examples
    --------
    >>> claim = Claim("x", "TV vs loss slope", "R² 0.78", "r < 0, CI below 0")
    >>> row = pd.Series({"note": "", "pearson_r": -0.8, "pearson_ci_low": -0.95,
    ...                  "pearson_ci_high": -0.4, "r2": 0.64, "r2_ci_low": 0.2, "r2_ci_high": 0.9,
    ...                  "spearman": -0.7, "spearman_ci_low": -0.9, "spearman_ci_high": -0.2, "n": 10})
    >>> correlation_claim(claim, row, n_seeds=3, profile="quick", min_r2=0.5).status
    'reproduced'
    >>> correlation_claim(claim, row, n_seeds=3, profile="quick", min_r2=0.7).status
    'not reproduced'
    """
    if row["note"]:
        return replace(claim, note=f"{row['note']}; profile {profile}.{extra}")
    note = (f"R² = {interval(row['r2'], row['r2_ci_low'], row['r2_ci_high'], 2)}, Spearman "
            f"{interval(row['spearman'], row['spearman_ci_low'], row['spearman_ci_high'], 2)}, "
            f"n = {int(row['n'])} attributes, {n_seeds} seeds, profile {profile}.{extra}")
    filled = fill_claim(claim, row, "below", note=note,
                        columns=("pearson_r", "pearson_ci_low", "pearson_ci_high"),
                        rests_on=f"Fisher z over {int(row['n'])} attributes", bounds=(-1, 1))
    if min_r2 is None:
        return filled
    strong = decide([row["r2"]], holds=row["r2"] >= min_r2, fails=row["r2"] < min_r2)
    return replace(filled, reproduced=combine([filled.status, strong]))


def _random_lowest(claim: Claim, summary: pd.DataFrame, note: str, *, prefix: str = "") -> Claim:
    """Whether Random has the lowest paper-faithful TV; unchecked (note ``prefix`` + why) when
    every TV is undefined."""
    tv = tv_rows(summary)
    if tv["separation"].isna().all():  # e.g. fewer than 50 rows per (class, group) cell
        return replace(claim, note=f"{prefix}paper-faithful TV undefined for every attribute "
                                   "(see the separation notes).")
    lowest = tv.loc[tv["separation"].idxmin(), "attribute"]
    return replace(claim, ours=f"lowest: {lowest}", reproduced=bool(lowest == "Random"), note=note)


@dataclass
class RealDatasetsResults:
    """The tables chapter 04's claims are read from.

    Attributes
    ----------
    summaries, correlations : dict
        Tabular dataset key -> :func:`~latentsep.experiments.protocol.protocol_summaries` /
        :func:`~latentsep.experiments.protocol.correlation_table`.
    frozen_summary : pd.DataFrame
        ``protocol_summaries`` of the frozen-encoder run.
    frozen_images, image_size, frozen_k : int
        The frozen run's number of images, their size (px) and K_train, for the claim's note.
    n_seeds : int
        Seeds of every run.
    profile : str
        Profile name, for the notes.
    real_summaries, real_correlations : dict
        (paper dataset key, mode) -> tables, for the user-supplied datasets that ran.
    real_mode : str
        The analysis the paper's claims are checked on (the first listed, ``adapted``).
    """

    summaries: dict[str, pd.DataFrame]
    correlations: dict[str, pd.DataFrame]
    frozen_summary: pd.DataFrame
    frozen_images: int
    image_size: int
    frozen_k: int
    n_seeds: int
    profile: str
    real_summaries: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)
    real_correlations: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)
    real_mode: str = "adapted"


def _foundation_claims(claims: dict[str, Claim], results: RealDatasetsResults) -> None:
    summary, n = results.frozen_summary, results.n_seeds
    pooled = tv_rows(summary, "balanced_accuracy", "histogram/pooled").set_index("attribute")
    gains = pooled[(pooled["full_minus_zero_ci_low"] > 0) | (pooled["full_minus_zero_ci_high"] < 0)]
    separated = pooled["excess_ci_low"] > 0
    claims["foundation.gains"] = replace(
        claims["foundation.gains"],
        ours=f"gains for {sorted(gains.index)}; TV excess CI above 0 for "
             f"{sorted(pooled.index[separated])}",
        reproduced=bool(len(gains) > 0 and separated[gains.index].all()),
        note="Balanced-accuracy full-minus-zero: " + "; ".join(
            f"{a} {r['full_minus_zero']:+.3f} [{r['full_minus_zero_ci_low']:+.3f}, "
            f"{r['full_minus_zero_ci_high']:+.3f}]" for a, r in pooled.iterrows())
        + f". {results.frozen_images:,} images at {results.image_size} px, K = "
          f"{results.frozen_k:,}, {n} seeds (t-intervals with {n - 1} degrees of freedom), "
          f"profile {results.profile}.")
    order = foundation_orderings(summary)
    undefined = order["undefined"]
    claims["foundation.ranking"] = replace(
        claims["foundation.ranking"],
        ours=f"TV: {' > '.join(order['tv'])}; |sensitivity|: {' > '.join(order['sensitivity'])}"
             + (f"; TV undefined for {undefined}" if undefined else ""),
        reproduced=None if undefined else order["tv"] == order["sensitivity"],
        note=f"classifier TV bound orders {' > '.join(order['classifier'])}; "
             f"profile {results.profile}.")


def check_claims(results: RealDatasetsResults) -> list[Claim]:
    """Chapter 04's claims (:func:`stated_claims`) with our values and verdicts.

    Parameters
    ----------
    results : RealDatasetsResults

    Returns
    -------
    list of Claim
        In :func:`stated_claims` order. The paper's datasets that did not run are unchecked, with
        a note naming the environment variable to set.
    """
    claims = stated_claims()
    n, profile = results.n_seeds, results.profile
    for key in TABULAR_TITLES:
        corr = results.correlations[key]
        for sens in ("loss slope", "full-minus-zero loss"):
            claims[f"{key}.{sens}"] = correlation_claim(
                claims[f"{key}.{sens}"], correlation_row(corr, "TV, paper-faithful", sens),
                n_seeds=n, profile=profile)
        claims[f"{key}.excess"] = correlation_claim(
            claims[f"{key}.excess"], correlation_row(corr, "TV excess (ours)", "loss slope"),
            n_seeds=n, profile=profile)
        claims[f"{key}.random"] = _random_lowest(
            claims[f"{key}.random"], results.summaries[key],
            f"{len(tv_rows(results.summaries[key]))} attributes, {n} seeds, profile {profile}.")
    _foundation_claims(claims, results)
    mode = results.real_mode
    for key, claim_keys in REAL_CLAIMS.items():
        if (key, mode) not in results.real_summaries:
            for claim_key in claim_keys:
                claims[claim_key] = replace(claims[claim_key], note=(
                    f"Not checkable in this run: needs `{ud.REAL_DATASETS[key].env}` and the full "
                    "profile (credentialed / large data, not shipped)."))
        elif key == "mimic_cxr":
            corr = results.real_correlations[(key, mode)]
            for claim_key, sens in (("mimic.loss", "loss slope"),
                                    ("mimic.fmz", "full-minus-zero loss")):
                claims[claim_key] = correlation_claim(
                    claims[claim_key], correlation_row(corr, "TV, paper-faithful", sens), n_seeds=n,
                    profile=profile, min_r2=PAPER["min_r2"], extra=f" Analysis: {mode}.")
        else:
            claims[f"{key}.random"] = _random_lowest(
                claims[f"{key}.random"], results.real_summaries[(key, mode)],
                f"Analysis: {mode}; {n} seeds.", prefix=f"Analysis: {mode}; ")
    return list(claims.values())


def findings_markdown(correlations: Mapping[str, pd.DataFrame],
                      titles: Mapping[str, str] = TABULAR_TITLES) -> str:
    """"In words": each paper-faithful TV vs sensitivity correlation, the side of 0 the hypothesis
    predicts and whether the interval establishes the sign. Used by chapter 04."""
    lines = []
    for key, corr in correlations.items():
        for sens, expected in EXPECTED_SIGN.items():
            row = correlation_row(corr, "TV, paper-faithful", sens)
            head = f"* **{titles[key]}**, TV vs {sens}: "
            if row["note"]:
                lines.append(f"{head}{row['note']}.")
                continue
            agrees = np.sign(row["pearson_r"]) == expected
            sure = side_of_zero(row["pearson_ci_low"], row["pearson_ci_high"]) != "contains"
            lines.append(
                f"{head}r = {row['pearson_r']:+.2f} [{row['pearson_ci_low']:+.2f}, "
                f"{row['pearson_ci_high']:+.2f}], R² = {row['r2']:.2f}, Spearman "
                f"{row['spearman']:+.2f}. The hypothesis predicts r {'< 0' if expected < 0 else '> 0'}; "
                f"the estimate is {'on that side' if agrees else 'on the other side'}, and its "
                f"interval {'excludes 0' if sure else 'includes 0 (sign not established)'}.")
    return "**In words** (generated from the numbers above):\n\n" + "\n".join(lines)


def ordering_markdown(frozen_summary: pd.DataFrame) -> str:
    """The frozen encoder's attribute orderings in a sentence, against chapter 03. Chapter 04."""
    order = foundation_orderings(frozen_summary)
    undefined = order["undefined"]
    return (
        f"Ordering by paper-faithful TV: {' > '.join(order['tv'])}"
        + (f" (undefined for {', '.join(undefined)})" if undefined else "")
        + f"; by the classifier bound: {' > '.join(order['classifier'])}; by |balanced-accuracy "
        f"sensitivity|: {' > '.join(order['sensitivity'])}. Compare with [the coloured-MNIST "
        "chapter](03_coloured_mnist.ipynb), where a CNN pre-trained on the task is the encoder: "
        "there the paper finds colour as inseparable as Random and its allocation irrelevant. A "
        "frozen ImageNet encoder has no reason to discard colour, and whether colour's allocation "
        "matters here is read from the table above, not assumed.")
