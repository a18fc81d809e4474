"""Chapter 07's study: the advisor run on pilot samples and checked against real allocation sweeps.

For every dataset the held-out test part is split in two halves, stratified by label: the
**pilot** half is all the advisor sees (its embeddings and its table); the **scored** half is where
the allocation sweeps, run on the disjoint fine-tuning pool, score their heads. The advice
(:func:`latentsep.advisor.advise`) and the measurement it is checked against therefore share no
rows. The scoring of agreement (:func:`~latentsep.advisor_validation.judge`,
:func:`~latentsep.advisor_validation.rank_agreement`,
:func:`~latentsep.advisor_validation.pair_concordance`) lives in :mod:`latentsep.advisor_validation`;
this module holds the chapter's loops over datasets, its claims and its generated prose.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from latentsep.advisor import AdviceReport, advise
from latentsep.advisor_validation import VERIFY_HEAD, judge, pair_concordance, rank_agreement
from latentsep.allocation import split_indices
from latentsep.calibration import Calibration, fit_calibration
from latentsep.data.mnist import detect_mnist
from latentsep.data.rehearsal import rehearsal_notice
from latentsep.experiments.foundation import foundation_embeddings, frozen_splits, run_frozen_protocol
from latentsep.experiments.protocol import (
    ProtocolData,
    ProtocolResult,
    protocol_summaries,
    run_protocol,
)
from latentsep.experiments.tabular import tabular_mlp_factory, tabular_protocol
from latentsep.experiments.user_datasets import load_real_dataset, real_protocol, run_real_dataset
from latentsep.formatting import interval
from latentsep.models.training import PretrainConfig
from latentsep.report import Claim, decide, side_verdict, verdict
from latentsep.separation import POOLED_HISTOGRAM
from latentsep.stats import correlate

__all__ = [
    "ALL_PAIRS", "COMPARISON_COLUMNS", "FRACTIONS", "PAPER", "SAME_EMBEDDINGS", "PilotStudy", "StudyResults",
    "StudySettings", "advise_pilots", "agreement_table", "calibration_note", "calibration_without",
    "check_claims", "compare_with_sweeps", "decisive_pairs", "decisive_pairs_note",
    "decisive_pairs_table", "disagreements", "disagreements_note", "foundation_pilots",
    "pilot_halves", "pilot_overview", "reading_note", "real_datasets_note", "real_pilots",
    "save_pilot", "sources_note", "sweep_summary", "tabular_pilots",
]  # fmt: skip

# The paper states the recipe qualitatively (§5.5); the other two rules are the book's own.
PAPER = {"ranking": "separation ranks attributes by balancing gain (§5.5, qualitative)",
         "ours": "— (ours)"}
MIN_SHARE = 0.80  # decisive pairs ordered correctly, and measured values inside the PI
# COMPAS's smallest class-group cell is ~5 % of its rows and the separation estimator needs 50
# per cell, so its pilot half needs a larger held-out part than the default split gives it.
FRACTIONS = {"compas": {"pretrain_train": 0.15, "pretrain_val": 0.05, "test": 0.40, "pool": 0.32,
                        "val_pool": 0.08}}
# Calibration points computed on the same embeddings as a dataset of this chapter (chapter 04's
# frozen EfficientNet on coloured MNIST, its Adult and COMPAS encoders): left out when advising it.
SAME_EMBEDDINGS = {"coloured_mnist": ["coloured_mnist_efficientnet"], "adult": ["adult"],
                   "compas": ["compas"]}
COMPARISON_COLUMNS = [
    "dataset", "attribute", "excess", "transfer_gap", "predicted", "pi_low", "pi_high", "action",
    "measured", "measured_ci_low", "measured_ci_high", "rank", "measured_rank", "verdict",
]  # fmt: skip
PREDICTORS = {"predicted": "advisor (transfer gap)", "excess": "separation excess alone"}
ALL_PAIRS = "all pairs at once (reference)"


@dataclass(frozen=True)
class StudySettings:
    """The sweeps' and the advisor's settings, shared by every dataset of chapter 07.

    ``n_permutations`` and ``n_bootstrap`` size both the sweeps' separation estimates and the
    advisor's; ``seeds`` are the sweep seeds (tabular: also the pre-training seeds).
    """

    seeds: Sequence[int]
    alphas: Sequence[float]
    k_train: int
    k_val: int
    cache_dir: str | Path
    n_permutations: int = 100
    n_bootstrap: int = 100
    seed: int = 0

    def protocol(self) -> dict[str, Any]:
        """Keywords of the protocol runners (``run_protocol``, ``run_frozen_protocol`` …)."""
        return {"alphas": self.alphas, "k_train": self.k_train, "k_val": self.k_val,
                "cache_dir": self.cache_dir, "estimators": (POOLED_HISTOGRAM,),
                "n_permutations": self.n_permutations, "n_bootstrap": self.n_bootstrap}


@dataclass
class PilotStudy:
    """One dataset of chapter 07: the pilot sample the advisor sees and the sweeps that check it.

    Attributes
    ----------
    embeddings : ndarray, shape (n_pilot, d)
        The pilot half's embeddings (tabular: the first sweep seed's encoder, as a practitioner
        has one encoder).
    table : DataFrame, shape (n_pilot, 1 + n_attributes)
        Label ``y`` and the attribute columns, rows in the order of ``embeddings``.
    result : ProtocolResult
        The allocation sweeps, scored on the other half.
    source : str
        Data and encoder in words.
    """

    embeddings: np.ndarray
    table: pd.DataFrame
    result: ProtocolResult
    source: str


def pilot_halves(rows: np.ndarray, labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` split into a pilot half and a scoring half, stratified by ``labels[rows]``."""
    pilot, scored = split_indices(len(rows), [0.5, 0.5], seed, stratify=labels[rows])
    return rows[pilot], rows[scored]


def _split_test(data: ProtocolData, seed: int) -> tuple[np.ndarray, ProtocolData]:
    """The pilot rows, and ``data`` with its test split cut down to the scoring half."""
    pilot, scored = pilot_halves(data.splits["test"], data.y, seed)
    return pilot, replace(data, splits={**data.splits, "test": scored})


def _pilot_table(data: ProtocolData, pilot: np.ndarray) -> pd.DataFrame:
    return data.attributes.iloc[pilot].assign(y=data.y[pilot]).reset_index(drop=True)


def foundation_pilots(
    names: Sequence[str], settings: StudySettings, *, data_dir: str | Path, n_images: int,
    image_size: int,
) -> dict[str, PilotStudy]:
    """Chapter 07: image datasets through the frozen EfficientNet-Lite0, swept with
    :data:`~latentsep.advisor_validation.VERIFY_HEAD` on the scoring half of the test split."""
    out = {}
    for name in names:
        z, table = foundation_embeddings(name, data_dir, settings.cache_dir, n_images, image_size,
                                         settings.seed)
        attributes = table.drop(columns=["source_index", "source_label", "y"])
        y = table["y"].to_numpy()
        splits = frozen_splits(y, seed=settings.seed)
        pilot, splits["test"] = pilot_halves(splits["test"], y, settings.seed)
        result = run_frozen_protocol(name, z, y, attributes, splits, seeds=settings.seeds,
                                     head=VERIFY_HEAD, seed=settings.seed, **settings.protocol())
        out[name] = PilotStudy(
            z[pilot], table.iloc[pilot][["y", *attributes.columns]].reset_index(drop=True), result,
            _stand_in_prefix(name, data_dir) + f"{n_images:,} images, frozen EfficientNet-Lite0 "
            f"(ImageNet) at {image_size} px, {z.shape[1]}-d")
    return out


def _stand_in_prefix(name: str, data_dir: str | Path) -> str:
    """The rehearsal's notice when coloured MNIST is drawn from stand-in IDX files, else ``""``."""
    found = detect_mnist(data_dir) if name == "coloured_mnist" else None
    notice = rehearsal_notice(found[1][0].parent) if found else None
    return f"{notice} " if notice else ""


def tabular_pilots(
    names: Sequence[str], settings: StudySettings, *, data_dir: str | Path, pretrain_epochs: int
) -> dict[str, PilotStudy]:
    """Chapter 07: Adult and COMPAS through TabularMLP encoders pre-trained per sweep seed (split
    as in :data:`FRACTIONS`); the pilot sample is embedded by the first seed's encoder."""
    out = {}
    for name in names:
        data = tabular_protocol(name, data_dir, fractions=FRACTIONS.get(name), seed=settings.seed)
        pilot, data = _split_test(data, settings.seed)
        result = run_protocol(
            data, tabular_mlp_factory(data.x.shape[1]), seeds=settings.seeds,
            config=PretrainConfig(max_epochs=pretrain_epochs, num_threads=1), head=VERIFY_HEAD,
            **settings.protocol())
        encoder = result.runs[settings.seeds[0]]  # a practitioner has one encoder
        out[name] = PilotStudy(encoder.z[pilot], _pilot_table(data, pilot), result,
                               f"{data.n:,} rows, TabularMLP pre-trained {pretrain_epochs} epochs, 64-d")
    return out


def real_pilots(
    names: Sequence[str], settings: StudySettings, *, max_rows: int | None,
    adapter: Mapping[str, Mapping[str, Any]] | None = None,
    image_size: Mapping[str, int] | None = None, **protocol_options: Any,
) -> tuple[dict[str, PilotStudy], list[str]]:
    """Chapter 07: the user-supplied datasets (MIMIC-CXR, CivilComments) through the paper's frozen
    encoder, an MLP head on the frozen embeddings (§5.5).

    Parameters
    ----------
    names : sequence of str
    settings : StudySettings
    max_rows : int, optional
        Rows embedded per dataset.
    adapter : mapping, optional
        Keywords of :func:`~latentsep.experiments.user_datasets.load_real_dataset` per dataset.
    image_size : mapping, optional
        Encoder input size per image dataset (default: the paper's).
    **protocol_options
        Passed on to :func:`~latentsep.experiments.user_datasets.real_protocol` (e.g. ``weights``).

    Returns
    -------
    pilots : dict of PilotStudy
    skipped : list of str
        Datasets whose root is not set.
    """
    out, skipped = {}, []
    for name in names:
        dataset = load_real_dataset(name, seed=settings.seed, **(adapter or {}).get(name, {}))
        if dataset is None:
            skipped.append(name)
            continue
        data = real_protocol(dataset, cache_dir=settings.cache_dir, max_rows=max_rows,
                             seed=settings.seed, image_size=(image_size or {}).get(name),
                             **protocol_options)
        pilot, data = _split_test(data, settings.seed)
        result = run_real_dataset(data, mode="frozen", seeds=settings.seeds, **settings.protocol())
        out[name] = PilotStudy(data.x[pilot], _pilot_table(data, pilot), result, data.source)
    return out, skipped


def real_datasets_note(requested: Sequence[str], skipped: Sequence[str], profile: str) -> str:
    """Chapter 07: markdown saying which user-supplied datasets did not run, and why."""
    if not requested:
        return ("*MIMIC-CXR and CivilComments run in the `full` profile only, and only when their "
                f"roots are set; this profile (`{profile}`) skips them.*")
    return "\n\n".join(f"**Skipped `{name}`**: its root is not set. The variables this chapter "
                       "reads are listed below." for name in skipped)


def sources_note(pilots: Mapping[str, PilotStudy]) -> str:
    """Chapter 07: each dataset's data and encoder in full, as a markdown list (the overview
    table shortens them; the rehearsal's notices must stay readable)."""
    return "\n".join(f"- **{name}**: {pilot.source}" for name, pilot in pilots.items())


def sweep_summary(pilots: Mapping[str, PilotStudy]) -> pd.DataFrame:
    """Chapter 07: the measured balanced-accuracy sensitivities of every dataset, stacked
    (:func:`~latentsep.experiments.tabular.protocol_summaries` plus a ``dataset`` column)."""
    return pd.concat([protocol_summaries(p.result, ("balanced_accuracy",)).assign(dataset=name)
                      for name, p in pilots.items()], ignore_index=True)


def pilot_overview(pilots: Mapping[str, PilotStudy]) -> pd.DataFrame:
    """Chapter 07: data source, pilot size and the fine-tuning sizes the sweeps used per dataset."""
    return pd.DataFrame([{"dataset": n, "source": p.source, "pilot rows": len(p.embeddings),
                          "K_train used": p.result.k_train, "K_val used": p.result.k_val,
                          "capped": "yes" if p.result.capped else "no"}
                         for n, p in pilots.items()])


def calibration_note(calibration: Calibration) -> str:
    """Chapter 07: the shipped calibration's provenance and line, in one markdown sentence."""
    c, p = calibration, calibration.provenance
    return (f"Shipped calibration: {c.n_points} points from {', '.join(p.get('chapters', []))} "
            f"(profile {p.get('profile')}, commit {str(p.get('commit'))[:10]}); sensitivity = "
            f"{c.intercept:.4f} + {c.slope:.4f} · transfer gap, residual SD {c.residual_sd:.4f}, "
            f"within-dataset R² {c.r2:.2f}.")


def calibration_without(calibration: Calibration, dataset: str) -> Calibration:
    """``calibration`` refitted without its points on ``dataset``'s embeddings
    (:data:`SAME_EMBEDDINGS`; chapter 07's leave-one-dataset-out), or itself when none are."""
    dropped = SAME_EMBEDDINGS.get(dataset, [dataset])
    keep = calibration.points[~calibration.points["dataset"].isin(dropped)]
    if len(keep) == len(calibration.points):
        return calibration
    return fit_calibration(keep, provenance={**calibration.provenance, "left_out": dropped})


def advise_pilots(
    pilots: Mapping[str, PilotStudy], calibration: Calibration, settings: StudySettings, *,
    min_effect: float,
) -> dict[str, AdviceReport]:
    """Chapter 07: :func:`~latentsep.advisor.advise` on every pilot sample, each with the
    calibration refitted without that dataset (:func:`calibration_without`)."""
    return {name: advise(p.embeddings, p.table, label="y",
                         attributes=[c for c in p.table.columns if c != "y"],
                         calibration=calibration_without(calibration, name),
                         n_permutations=settings.n_permutations,
                         n_bootstrap=settings.n_bootstrap, seed=settings.seed,
                         min_effect=min_effect, missing="drop")
            for name, p in pilots.items()}


def compare_with_sweeps(
    reports: Mapping[str, AdviceReport], summary: pd.DataFrame, min_effect: float
) -> pd.DataFrame:
    """Chapter 07: every advice row (``reports`` by dataset) next to its measured sensitivity
    (``summary``: :func:`sweep_summary`), judged (:func:`~latentsep.advisor_validation.judge`;
    adds ``within_pi, verdict``) and ranked within its dataset (``measured_rank``, 1 = most
    sensitive)."""
    measured = summary[["dataset", "attribute", "sensitivity", "sensitivity_ci_low",
                        "sensitivity_ci_high"]].rename(columns={
                            "sensitivity": "measured", "sensitivity_ci_low": "measured_ci_low",
                            "sensitivity_ci_high": "measured_ci_high"})
    advice = pd.concat([r.table.assign(dataset=n) for n, r in reports.items()], ignore_index=True)
    comparison = judge(advice.merge(measured, on=["dataset", "attribute"], how="inner",
                                    validate="one_to_one"), min_effect)
    comparison["measured_rank"] = comparison.groupby("dataset")["measured"].rank(ascending=False)
    return comparison


def _agreement_rows(
    comparison: pd.DataFrame, x: str, n_boot: int, seed: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Pooled, per-dataset and all-at-once Spearman of column ``x`` against the measurement."""
    def row(data: str, n: int, rho: float, ci: Sequence[float]) -> dict[str, Any]:
        return {"predictor": PREDICTORS[x], "data": data, "pairs": n, "spearman": rho,
                "ci_low": ci[0], "ci_high": ci[1]}

    pooled = rank_agreement(comparison, x=x, n_boot=n_boot, seed=seed)
    rows = [row("within datasets (pooled)", pooled["n"], pooled["spearman"], pooled["ci"])]
    for name, part in comparison.groupby("dataset"):
        if len(part) >= 3 and part[x].nunique() > 1 and part["measured"].nunique() > 1:
            one = rank_agreement(part, x=x, n_boot=n_boot, seed=seed)
            rows.append(row(name, one["n"], one["spearman"], one["ci"]))
    across = correlate(comparison[x], comparison["measured"], n_boot=n_boot, seed=seed)
    rows.append(row(ALL_PAIRS, across["n"], across["spearman"], across["spearman_ci"]))
    return rows, pooled


def agreement_table(
    comparison: pd.DataFrame, *, n_boot: int = 2000, seed: int = 0
) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """Chapter 07: how well the advisor, and the separation excess alone, rank the measured
    sensitivities.

    Returns
    -------
    table : DataFrame
        ``predictor, data, pairs, spearman, ci_low, ci_high, coverage of PI``: within datasets
        pooled (:func:`~latentsep.advisor_validation.rank_agreement`), per dataset, and over all
        pairs at once (:func:`latentsep.stats.correlate`, mixing levels across datasets).
    agreements : dict
        The pooled results by predictor column (``"predicted"``, ``"excess"``).
    """
    rows, agreements = [], {}
    for x in PREDICTORS:
        more, agreements[x] = _agreement_rows(comparison, x, n_boot, seed)
        rows += more
    table = pd.DataFrame(rows)
    coverage = comparison.groupby("dataset")["within_pi"].mean()
    table["coverage of PI"] = table["data"].map(coverage).where(
        table["predictor"].str.startswith("advisor"))
    return table, agreements


def decisive_pairs(comparison: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Chapter 07: :func:`~latentsep.advisor_validation.pair_concordance` of the advisor
    (``"predicted"``) and of the separation excess alone (``"excess"``)."""
    return {x: pair_concordance(comparison, x=x) for x in PREDICTORS}


def decisive_pairs_note(decisive: Mapping[str, Mapping[str, Any]]) -> str:
    """Chapter 07: markdown on how many decisive pairs each predictor orders correctly."""
    advisor, separation = decisive["predicted"], decisive["excess"]
    head = (f"The sweeps order **{advisor['pairs']}** pairs of attributes decisively (measured CIs "
            "apart). ")
    if not advisor["pairs"]:
        return head + "No pair can be checked on this profile."
    return head + (f"The advisor orders {advisor['agree']} of them the same way "
                   f"({advisor['share']:.0%}, Wilson 95 % CI [{advisor['ci'][0]:.0%}, "
                   f"{advisor['ci'][1]:.0%}]); the separation excess alone orders "
                   f"{separation['agree']} ({separation['share']:.0%}).")


def decisive_pairs_table(decisive: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Chapter 07: the decisive pairs, and whether each predictor orders them as measured."""
    return decisive["predicted"]["table"].merge(
        decisive["excess"]["table"].rename(columns={"agrees": "separation agrees"}),
        on=["dataset", "higher", "lower"]).rename(columns={"agrees": "advisor agrees"})


def disagreements(comparison: pd.DataFrame) -> pd.DataFrame:
    """Chapter 07: the comparison rows whose verdict is not ``"agrees"``."""
    return comparison[comparison["verdict"] != "agrees"][COMPARISON_COLUMNS]


def disagreements_note(comparison: pd.DataFrame) -> str:
    """Chapter 07: how many (dataset, attribute) pairs disagree, by kind."""
    verdicts = disagreements(comparison)["verdict"].value_counts()
    counts = ", ".join(f"{k}: {v}" for k, v in verdicts.items())
    return (f"{verdicts.sum()} of {len(comparison)} (dataset, attribute) pairs disagree"
            + (f" ({counts})." if counts else "."))


def reading_note(
    calibration: Calibration, comparison: pd.DataFrame, agreements: Mapping[str, Mapping[str, Any]]
) -> str:
    """Chapter 07: the chapter's findings in one paragraph of markdown."""
    c = calibration
    advisor, separation = agreements["predicted"], agreements["excess"]
    share_no_action = (comparison["action"] == "no action").mean()
    acted = comparison["action"].isin(["balance", "collect"]).sum()
    return (
        f"**Reading the numbers.** Within datasets the calibration line explains {c.r2:.0%} of the "
        f"variance of the sensitivity (slope {c.slope:.2f} per unit of transfer gap, residual SD "
        f"{c.residual_sd:.3f}); the dataset intercepts spread by {c.between_sd:.3f} beyond noise. "
        f"On the pilot samples the advisor ranks the attributes with ρ = "
        f"{interval(advisor['spearman'], *advisor['ci'], digits=2)} against the sweeps; the "
        f"separation excess alone reaches ρ = "
        f"{interval(separation['spearman'], *separation['ci'], digits=2)}. Separation tells which "
        f"attributes *could* matter, and {share_no_action:.0%} of the pairs were cleared on it or "
        f"on a prediction interval below `MIN_EFFECT` ('no action'); {acted} got 'balance' or "
        "'collect'; the rest 'verify first'.")


def save_pilot(pilot: PilotStudy, directory: str | Path, stem: str) -> tuple[Path, Path]:
    """Chapter 07: one pilot sample as a user would hand it to ``latentsep advise``:
    ``<stem>_embeddings.npy`` (float32) and ``<stem>.csv``; returns both paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    embeddings, table = directory / f"{stem}_embeddings.npy", directory / f"{stem}.csv"
    np.save(embeddings, np.asarray(pilot.embeddings, dtype=np.float32))
    pilot.table.to_csv(table, index=False)
    return embeddings, table


@dataclass
class StudyResults:
    """What chapter 07's claims are checked on: the :func:`compare_with_sweeps` table (its
    ``within_pi``), the pooled :func:`agreement_table` results and the :func:`decisive_pairs`, each
    by predictor column (``"predicted"``, ``"excess"``), the datasets in order and the profile."""

    comparison: pd.DataFrame
    agreements: Mapping[str, Mapping[str, Any]]
    decisive: Mapping[str, Mapping[str, Any]]
    datasets: Sequence[str]
    profile: str


def _ranking_claim(claim_id: str, description: str, agreement: Mapping[str, Any],
                   note: str) -> Claim:
    """A pooled within-dataset Spearman ρ: reproduced when its CI lies above 0, not reproduced
    when below, inconclusive when it holds 0."""
    rho, (low, high) = agreement["spearman"], agreement["ci"]
    return Claim(claim_id=claim_id, description=description, paper=PAPER["ranking"],
                 rule="ρ > 0 with its 95 % bootstrap CI above 0", ours=rho, ci=(low, high),
                 reproduced=side_verdict(low, high, "above"), note=note,
                 extra={"interval": "percentile bootstrap over the (dataset, attribute) pairs",
                        "bounds": [-1, 1]})


def check_claims(results: StudyResults) -> list[Claim]:
    """Chapter 07's claims: ranking agreement of the advisor and of separation alone, decisive
    pairs ordered and prediction-interval coverage, each with its rule's verdict."""
    advisor = results.agreements["predicted"]
    pairs, by_separation = results.decisive["predicted"], results.decisive["excess"]
    within = results.comparison["within_pi"]
    coverage = float(within.mean())
    decisive = Claim(
        claim_id="advisor.ranking.decisive_pairs",
        description="Share of decisive pairs (measured CIs do not overlap, same dataset) that the "
        "advisor orders correctly",
        paper=PAPER["ours"], rule=f"95 % Wilson interval at or above {MIN_SHARE:.2f} (below: "
        "not reproduced; straddling: inconclusive)",
        note=f"no decisive pair on profile {results.profile}.")
    if pairs["pairs"]:
        decisive.ours, decisive.ci = pairs["share"], pairs["ci"]
        low, high = pairs["ci"]
        decisive.reproduced = decide([low, high], holds=low >= MIN_SHARE, fails=high < MIN_SHARE)
        decisive.extra = {"interval": f"Wilson interval over {pairs['pairs']} pairs",
                          "bounds": [0, 1]}
        decisive.note = (f"{pairs['agree']} of {pairs['pairs']} decisive pairs; the separation "
                         f"excess alone orders {by_separation['agree']}.")
    return [
        _ranking_claim(
            "advisor.ranking.spearman",
            "Spearman ρ between the advisor's predicted sensitivity and the sensitivity measured "
            "by allocation sweeps, within datasets, pooled over datasets", advisor,
            f"within-dataset Spearman, {advisor['n']} (dataset, attribute) pairs from "
            f"{advisor['groups']} datasets ({', '.join(results.datasets)}); profile "
            f"{results.profile}."),
        _ranking_claim(
            "advisor.ranking.separation_only",
            "Spearman ρ between the separation excess alone and the measured sensitivity, within "
            "datasets, pooled over datasets", results.agreements["excess"],
            f"histogram TV excess over the permutation null on the same pilot samples; profile "
            f"{results.profile}."),
        decisive,
        Claim(claim_id="advisor.prediction_interval.coverage",
              description="Share of measured sensitivities inside the advisor's 95 % prediction "
              "interval (calibration refitted without the dataset in question)",
              paper=PAPER["ours"], rule=f"at least {MIN_SHARE:.2f}", ours=coverage,
              reproduced=verdict([coverage], coverage >= MIN_SHARE),
              note=f"{int(within.sum())} of {len(within)} pairs."),
    ]
