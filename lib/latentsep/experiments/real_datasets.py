"""Chapter 04's tables and runs: Adult/COMPAS, a frozen foundation encoder, the paper's datasets.

Everything chapter 04 shows besides its charts (:mod:`latentsep.plotting`) and its claims
(:mod:`latentsep.experiments.real_datasets_claims`) is built here from the protocol's outputs
(:mod:`latentsep.experiments.protocol`):

* Adult and COMPAS: :func:`pretraining_table`, :func:`run_markdown`, :func:`tabular_correlations`,
  :func:`correlation_display`, :func:`scatter_table`, :func:`group_slopes`;
* the frozen encoder (§5.5): :func:`embedding_cache_demo`, :func:`foundation_table`,
  :func:`foundation_orderings`, :func:`write_summary_table`;
* MIMIC-CXR, HAM10000 and CivilComments when a user supplies them: :func:`run_user_datasets`,
  :func:`summarise_user_datasets`, :func:`overview_table`, :func:`paper_vs_ours_sections`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from latentsep.experiments import foundation as fm
from latentsep.experiments import user_datasets as ud
from latentsep.experiments.protocol import (
    SENSITIVITY_MEASURES,
    ProtocolData,
    ProtocolResult,
    correlation_table,
    protocol_summaries,
    separation_view,
    tv_rows,
)
from latentsep.formatting import interval_column
from latentsep.heads import HeadConfig
from latentsep.models.training import PretrainConfig
from latentsep.separation import PAPER_ESTIMATOR

__all__ = [
    "TABULAR_TITLES", "UserDatasetRuns", "correlation_display", "correlation_row", "embedding_cache_demo",
    "foundation_orderings", "foundation_table", "group_slopes", "overview_table",
    "paper_vs_ours_sections", "pretraining_table", "r_text", "run_markdown", "run_user_datasets",
    "scatter_table", "summarise_user_datasets", "tabular_correlations", "undefined_markdown",
    "write_summary_table",
]  # fmt: skip

#: Display names of the tabular datasets, in the chapter's order.
TABULAR_TITLES = {"adult": "Adult", "compas": "COMPAS"}
#: The correlation every overview row reports: the paper's Figure 5 pairing.
HEADLINE = ("TV, paper-faithful", "loss slope")


def correlation_row(corr: pd.DataFrame, separation: str, sensitivity: str) -> pd.Series:
    """The row of a :func:`~latentsep.experiments.protocol.correlation_table` for one pair."""
    return corr[(corr["separation"] == separation) & (corr["sensitivity"] == sensitivity)].iloc[0]


def r_text(row: pd.Series) -> str:
    """``r = …, R² = …`` of a correlation row, or the reason it is undefined.

    Examples
    --------
    >>> r_text(pd.Series({"note": "", "pearson_r": -0.5, "r2": 0.25}))
    'r = -0.50, R² = 0.25'
    """
    return row["note"] or f"r = {row['pearson_r']:+.2f}, R² = {row['r2']:.2f}"


def undefined_markdown(result: ProtocolResult) -> str:
    """One line per separation estimate that is undefined (NaN) and why, or a sentence saying
    that every estimate is defined. Used by chapter 04 under each separation table.
    """
    sep = result.separation
    bad = sep[sep["note"] != ""].drop_duplicates(["estimator", "attribute"])
    if bad.empty:
        return f"*{result.name}: every separation estimate is defined.*"
    return "\n\n".join(
        f"*{result.name}: {row['estimator']} separation of `{row['attribute']}` is undefined "
        f"(shown as NaN, left out of the correlations):* {row['note']}"
        for _, row in bad.iterrows())


# --------------------------------------------------------------------------------------------
# Part 1: Adult and COMPAS


def pretraining_table(results: Mapping[str, ProtocolResult],
                      titles: Mapping[str, str] = TABULAR_TITLES) -> pd.DataFrame:
    """One row per dataset × seed: the pre-trained encoder's best epoch and test balanced accuracy.

    Used by chapter 04.
    """
    return pd.DataFrame([
        {"dataset": titles[key], "seed": seed, "best epoch": run.best_epoch,
         "test balanced accuracy": run.test_balanced_accuracy, "from cache": run.from_cache}
        for key, r in results.items() for seed, run in r.runs.items()])


def run_markdown(results: Mapping[str, ProtocolResult],
                 titles: Mapping[str, str] = TABULAR_TITLES) -> str:
    """The fine-tuning sizes each run used (and why they were capped) and its wall times.

    Used by chapter 04.
    """
    lines = []
    for key, r in results.items():
        note = (f"capped from the requested {r.k_requested[0]:,} / {r.k_requested[1]:,} because "
                "the smallest group of some attribute cannot fill the set at α = 0 or 1"
                if r.capped else "as requested")
        lines.append(f"{titles[key]}: K_train = {r.k_train:,}, K_val = {r.k_val:,} ({note}); "
                     f"wall time pre-training {r.seconds['pretrain']:.0f} s, separation "
                     f"{r.seconds['separation']:.0f} s, sweeps {r.seconds['sweeps']:.0f} s.")
    return "\n\n".join(lines)


def tabular_correlations(summaries: Mapping[str, pd.DataFrame], *, n_boot: int, seed: int,
                         titles: Mapping[str, str] = TABULAR_TITLES) -> dict[str, pd.DataFrame]:
    """:func:`~latentsep.experiments.protocol.correlation_table` per dataset, with a ``dataset``
    column first. Used by chapter 04."""
    out = {}
    for key, summary in summaries.items():
        corr = correlation_table(summary, n_boot=n_boot, seed=seed)
        corr.insert(0, "dataset", titles[key])
        out[key] = corr
    return out


def correlation_display(corr: pd.DataFrame) -> pd.DataFrame:
    """r, R² and Spearman ρ with their 95 % intervals as text columns (chapter 04's tables)."""
    return pd.DataFrame({
        "dataset": corr["dataset"], "separation": corr["separation"],
        "sensitivity": corr["sensitivity"], "n": corr["n"],
        "Pearson r [95 % CI]": interval_column(corr, ["pearson_r", "pearson_ci_low",
                                                      "pearson_ci_high"], 2),
        "R² [95 % CI]": interval_column(corr, ["r2", "r2_ci_low", "r2_ci_high"], 2),
        "Spearman ρ [95 % CI]": interval_column(corr, ["spearman", "spearman_ci_low",
                                                       "spearman_ci_high"], 2),
        "p (Pearson)": corr["p_value"].map(lambda p: f"{p:.2g}"),
        "note": corr["note"],
    })  # fmt: skip


def scatter_table(summaries: Mapping[str, pd.DataFrame],
                  titles: Mapping[str, str] = TABULAR_TITLES) -> pd.DataFrame:
    """Paper-faithful TV against each sensitivity measure, one row per dataset × measure ×
    attribute, with both intervals (``TV_low/high``, ``s_low/high``). Used by chapter 04's
    separation-vs-sensitivity chart."""
    rows = []
    for key, summary in summaries.items():
        for label, (metric, column) in SENSITIVITY_MEASURES.items():
            part = tv_rows(summary, metric)
            rows.append(pd.DataFrame({
                "dataset": titles[key], "sensitivity measure": label,
                "attribute": part["attribute"], "TV": part["separation"],
                "TV_low": part["separation_ci_low"], "TV_high": part["separation_ci_high"],
                "sensitivity": part[column], "s_low": part[f"{column}_ci_low"],
                "s_high": part[f"{column}_ci_high"]}))
    return pd.concat(rows, ignore_index=True)


def group_slopes(summary: pd.DataFrame, data: ProtocolData) -> tuple[pd.DataFrame, int]:
    """Each group's loss slope next to the attribute's sensitivity and its label-rate gap.

    Used by chapter 04 to show why the mean of the two groups' slopes is the sensitivity.

    Returns
    -------
    table : pd.DataFrame
        Indexed by attribute, sorted by paper-faithful TV (descending): TV, the two groups' loss
        slopes, the attribute sensitivity and P(Y=1|A=1) − P(Y=1|A=0) in the pool.
    opposite : int
        Attributes whose two groups' slopes have opposite signs.
    """
    pool = data.splits["pool"]
    table = tv_rows(summary).set_index("attribute")[["separation", "slope_0", "slope_1",
                                                     "sensitivity"]]
    table.columns = ["TV, paper-faithful", "loss slope, group 0", "loss slope, group 1",
                     "attribute sensitivity"]
    table["P(Y=1|A=1) − P(Y=1|A=0)"] = [
        data.y[pool][data.attributes[a].to_numpy()[pool] == 1].mean()
        - data.y[pool][data.attributes[a].to_numpy()[pool] == 0].mean() for a in table.index]
    opposite = int((np.sign(table["loss slope, group 0"])
                    != np.sign(table["loss slope, group 1"])).sum())
    return table.sort_values("TV, paper-faithful", ascending=False), opposite


# --------------------------------------------------------------------------------------------
# Part 2: a frozen foundation encoder


def embedding_cache_demo(dataset: str, data_dir: str | Path, cache_dir: str | Path, n: int,
                         image_size: int, seed: int) -> tuple[np.ndarray, pd.DataFrame, str,
                                                              pd.DataFrame]:
    """:func:`~latentsep.experiments.foundation.foundation_embeddings`, requested twice to show
    the on-disk cache at work. Used by chapter 04.

    Returns
    -------
    z : np.ndarray
        (n, dim) embeddings.
    table : pd.DataFrame
        The images' labels and attributes.
    text : str
        Markdown: computed or read from cache, the two calls' wall times, whether they agree.
    entries : pd.DataFrame
        The cache entries of ``dataset``.
    """
    args = (dataset, data_dir, cache_dir, n, image_size, seed)
    before = fm.embedding_cache_entries(cache_dir)
    started = time.perf_counter()
    z, table = fm.foundation_embeddings(*args)
    first_call = time.perf_counter() - started
    after = fm.embedding_cache_entries(cache_dir)
    started = time.perf_counter()
    z_again, _ = fm.foundation_embeddings(*args)
    second_call = time.perf_counter() - started
    new = sorted(set(after["file"]) - set(before["file"]))
    status = (f"computed now and stored as `{new[0]}`" if new else
              "**cache hit**: read from an entry written by an earlier execution")
    text = (f"{n:,} images at {image_size} px → embeddings {z.shape}: {status} "
            f"({first_call:.1f} s). A second request took {second_call:.2f} s (cache hit; "
            f"identical array: {bool(np.array_equal(z, z_again))}). Cache entries in "
            f"`{cache_dir}/embeddings`:")
    entries = after[after["extra"] == dataset][["file", "encoder", "n", "dim", "settings",
                                                "created"]]
    return z, table, text, entries


def foundation_table(frozen_summary: pd.DataFrame) -> pd.DataFrame:
    """Separation measures and balanced-accuracy sensitivity per attribute of the frozen run.

    Used by chapter 04 (Part 2).
    """
    table = separation_view(frozen_summary).pivot(index="attribute", columns="measure",
                                                  values="value")
    sens = tv_rows(frozen_summary, "balanced_accuracy").set_index("attribute")
    table["bal. acc. sensitivity"] = sens["sensitivity"]
    table["bal. acc. sensitivity CI"] = [
        f"[{lo:+.3f}, {hi:+.3f}]" for lo, hi in sens[["sensitivity_ci_low",
                                                      "sensitivity_ci_high"]].to_numpy()]
    table["full-minus-zero bal. acc."] = sens["full_minus_zero"]
    table["full-minus-zero CI"] = [
        f"[{lo:+.3f}, {hi:+.3f}]" for lo, hi in sens[["full_minus_zero_ci_low",
                                                      "full_minus_zero_ci_high"]].to_numpy()]
    return table


def foundation_orderings(frozen_summary: pd.DataFrame) -> dict[str, list[str]]:
    """Attributes ordered by paper-faithful TV, by the classifier bound and by |balanced-accuracy
    sensitivity| (each descending); ``undefined`` lists those whose TV is NaN (left out of ``tv``).

    Used by chapter 04's ranking claim and its sentence.
    """
    bacc = frozen_summary[frozen_summary["metric"] == "balanced_accuracy"]
    sens = bacc[bacc["estimator"] == PAPER_ESTIMATOR].set_index("attribute")
    classifier = bacc[bacc["estimator"] == "classifier"].set_index("attribute")["separation"]
    undefined = sens.index[sens["separation"].isna()].tolist()
    by_tv = sens["separation"].sort_values(ascending=False).index.tolist()
    return {"tv": [a for a in by_tv if a not in undefined],
            "sensitivity": sens["sensitivity"].abs().sort_values(ascending=False).index.tolist(),
            "classifier": classifier.sort_values(ascending=False).index.tolist(),
            "undefined": undefined}


def write_summary_table(summaries: Mapping[str, pd.DataFrame], frozen_summary: pd.DataFrame,
                        frozen_label: str, path: str | Path) -> Path:
    """Chapter 04's summary table for the advisor's calibration (``make calibrate``): every
    dataset's :func:`~latentsep.experiments.protocol.protocol_summaries` stacked, with a
    ``dataset`` column (the frozen run's is ``frozen_label``), as parquet."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.concat([*(summary.assign(dataset=key) for key, summary in summaries.items()),
               frozen_summary.assign(dataset=frozen_label)],
              ignore_index=True).to_parquet(path)
    return path


# --------------------------------------------------------------------------------------------
# Part 3: the paper's datasets, when a user supplies them


@dataclass
class UserDatasetRuns:
    """What :func:`run_user_datasets` did.

    Attributes
    ----------
    results : dict
        Dataset key -> analysis mode (``adapted``, ``frozen``) -> :class:`ProtocolResult`, for the
        datasets that ran.
    notes : str
        Markdown, one bullet per dataset: ran (with its source), skipped (root unset) or not run
        (profile).
    """

    results: dict[str, dict[str, ProtocolResult]] = field(default_factory=dict)
    notes: str = ""


def run_user_datasets(
    real: Mapping[str, Any],
    *,
    run: bool,
    profile: str,
    cache_dir: str | Path,
    seeds: Sequence[int],
    alphas: Sequence[float],
    seed: int,
    config: PretrainConfig,
    llrt_head: HeadConfig,
    frozen_head: HeadConfig,
    separation: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
) -> UserDatasetRuns:
    """The protocol on every dataset of :data:`~latentsep.experiments.user_datasets.REAL_DATASETS`
    whose root is set. Used by chapter 04 (Part 3).

    Parameters
    ----------
    real : mapping
        Chapter 04's ``REAL`` parameter: ``modes`` (analyses, the first is the one the claims
        read), ``max_rows``, and per dataset ``encoders`` (a name or an
        :class:`~latentsep.encoders.Encoder`), ``k_train`` and ``k_val``. Optional, for the
        rehearsal profile: ``weights`` (the encoders' weights policy, default ``"pretrained"``),
        and per dataset ``adapter`` (keywords of
        :func:`~latentsep.experiments.user_datasets.load_real_dataset`) and ``image_size``.
    run : bool
        False: nothing runs and every dataset is noted as "not run" in ``profile``.
    profile : str
        Profile name for the notes.
    cache_dir, seeds, alphas, config, llrt_head, frozen_head
        As :func:`~latentsep.experiments.user_datasets.run_real_dataset`.
    seed : int
        Seed of the adapters' splits and of the subsets.
    separation : mapping
        Further :func:`~latentsep.experiments.user_datasets.run_real_dataset` keywords
        (``n_permutations``, ``n_bootstrap``, ``estimators``).
    environ : mapping, optional
        Where the roots are read (default ``os.environ``).

    Returns
    -------
    UserDatasetRuns

    Raises
    ------
    FileNotFoundError, ValueError
        A root is set but does not hold its dataset (the message names the variable).
    """
    runs, notes = UserDatasetRuns(), []
    for key, spec in ud.REAL_DATASETS.items():
        if not run:
            notes.append(f"* **{spec.title}** ({spec.section}): not run — the {profile} profile "
                         "runs the user-supplied datasets only in the full profile.")
            continue
        dataset = ud.load_real_dataset(key, environ=environ, seed=seed,
                                       **real.get("adapter", {}).get(key, {}))
        if dataset is None:
            notes.append(f"* **{spec.title}** ({spec.section}): **skipped** — `{spec.env}` is "
                         "not set. Its paper values are shown below as reference only.")
            continue
        pdata = ud.real_protocol(dataset, cache_dir=cache_dir, encoder=real["encoders"][key],
                                 max_rows=real["max_rows"], seed=seed,
                                 weights=real.get("weights", "pretrained"),
                                 image_size=real.get("image_size", {}).get(key))
        runs.results[key] = {
            mode: ud.run_real_dataset(pdata, mode=mode, cache_dir=cache_dir, seeds=seeds,
                                      alphas=alphas, k_train=real["k_train"][key],
                                      k_val=real["k_val"][key], config=config,
                                      llrt_head=llrt_head, frozen_head=frozen_head, **separation)
            for mode in real["modes"]}
        notes.append(f"* **{spec.title}** ({spec.section}): ran. {pdata.source}")
    runs.notes = "\n".join(notes)
    return runs


def summarise_user_datasets(
    runs: UserDatasetRuns, *, n_boot: int, seed: int, out_dir: str | Path | None = None
) -> tuple[dict[tuple[str, str], pd.DataFrame], dict[tuple[str, str], pd.DataFrame], str]:
    """Summaries and correlations of every (dataset, mode) that ran. Used by chapter 04.

    Returns
    -------
    summaries, correlations : dict
        (dataset key, mode) -> :func:`~latentsep.experiments.protocol.protocol_summaries` /
        :func:`~latentsep.experiments.protocol.correlation_table` (``dataset`` column
        ``"<title> (<mode>)"``). Summaries are also written to ``out_dir/<key>_<mode>_summary.csv``.
    text : str
        Markdown, one line per run: the fine-tuning sizes used.
    """
    summaries, correlations, lines = {}, {}, []
    for key, by_mode in runs.results.items():
        title = ud.REAL_DATASETS[key].title
        for mode, result in by_mode.items():
            summary = protocol_summaries(result)
            if out_dir is not None:
                summary.to_csv(Path(out_dir) / f"{key}_{mode}_summary.csv", index=False)
            corr = correlation_table(summary, n_boot=n_boot, seed=seed)
            corr.insert(0, "dataset", f"{title} ({mode})")
            summaries[(key, mode)], correlations[(key, mode)] = summary, corr
            lines.append(f"**{title}, {mode}**: K_train = {result.k_train:,}, "
                         f"K_val = {result.k_val:,}" + (" (capped)" if result.capped else ""))
    return summaries, correlations, "\n\n".join(lines)


def _overview_row(dataset: str, summary: pd.DataFrame, corr_text: str, paper: str) -> dict:
    tv = tv_rows(summary)
    top = tv.loc[tv["separation"].idxmax()] if tv["separation"].notna().any() else None
    return {"dataset": dataset, "whose numbers": "ours", "attributes": len(tv),
            "highest TV": ("undefined" if top is None
                           else f"{top['attribute']} {top['separation']:.3f}"),
            "Random TV": f"{tv.set_index('attribute').loc['Random', 'separation']:.3f}",
            "TV vs loss slope": corr_text, "paper": paper}


def overview_table(
    summaries: Mapping[str, pd.DataFrame],
    correlations: Mapping[str, pd.DataFrame],
    frozen_summary: pd.DataFrame,
    real_summaries: Mapping[tuple[str, str], pd.DataFrame],
    real_correlations: Mapping[tuple[str, str], pd.DataFrame],
    titles: Mapping[str, str] = TABULAR_TITLES,
) -> pd.DataFrame:
    """Every dataset of chapter 04 in one table: highest and Random TV, TV vs loss slope, and
    for the paper's datasets that did not run, the paper's values marked as reference."""
    rows = [_overview_row(titles[key], summaries[key], r_text(correlation_row(correlations[key], *HEADLINE)),
                          "not in the paper") for key in titles]
    rows.append(_overview_row("coloured MNIST, frozen EfficientNet-Lite0", frozen_summary,
                              "— (3 attributes: see the ordering above)",
                              "§5.5 uses chest-X-ray foundation encoders instead"))
    for key, spec in ud.REAL_DATASETS.items():
        paper_tv = ud.PAPER_TV[key]
        top_name = max(paper_tv, key=paper_tv.get)
        corr_text = "; ".join(f"{k}: R² {r2:.2f} (p = {p:.1e})"
                              for k, (r2, p) in ud.PAPER_CORRELATIONS.get(key, {}).items()) or "—"
        rows.append({"dataset": spec.title, "whose numbers": "paper (reference, not ours)",
                     "attributes": len(paper_tv),
                     "highest TV": f"{top_name} {paper_tv[top_name]:.3f}",
                     "Random TV": f"{paper_tv['Random']:.3f}", "TV vs loss slope": corr_text,
                     "paper": spec.section})
        for (k, mode), summary in real_summaries.items():
            if k == key:
                rows.append(_overview_row(
                    f"{spec.title} ({mode})", summary,
                    r_text(correlation_row(real_correlations[(key, mode)], *HEADLINE)), spec.section))
    return pd.DataFrame(rows)


def paper_vs_ours_sections(real_summaries: Mapping[tuple[str, str], pd.DataFrame],
                           mode: str) -> list[tuple[str, pd.DataFrame]]:
    """Per paper dataset: a heading and :func:`~latentsep.experiments.user_datasets.paper_vs_ours`
    per attribute (ours from analysis ``mode`` when it ran). Used by chapter 04."""
    sections = []
    for key, spec in ud.REAL_DATASETS.items():
        ran = real_summaries.get((key, mode))
        label = ("ours next to the paper's" if ran is not None
                 else "paper's values only — reference, not our results (dataset not supplied)")
        sections.append((f"**{spec.title}** ({spec.section}), per attribute: {label}.",
                         ud.paper_vs_ours(key, None if ran is None else tv_rows(ran))))
    return sections
