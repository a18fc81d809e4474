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
# # Scale: do the scaled-down splits cause the MNIST magnitudes?
#
# Offline, [chapter 03](03_coloured_mnist.ipynb) runs the paper's protocol on 10,000 digits, every
# split scaled by 10,000 / 70,000: the encoder is pre-trained on 714 images instead of 5,000, and
# its digit-group drops are larger than the paper's. Two experiments test whether the scale-down is
# the cause, both under the paper's text (`PAPER_TEXT`: one pinned encoder, fresh heads, the
# schedule on validation loss):
#
# * **the paper's pre-training size** on the same 10,000 digits: 5,000 + 1,000 validation images,
#   the pool and K shrinking to what is left (chapter 03 shows that K barely matters);
# * **a full-scale twin**: coloured Fashion-MNIST (70,000 images, label = class parity, "digit
#   group" = class ≥ 5) with the paper's exact split sizes (K = 23,840 / 5,950), against the same
#   protocol scaled by 10,000 / 70,000. Their difference is what the scale-down alone does to the
#   drops, the Random baseline and the orderings. It also runs the code path full MNIST takes,
#   and adds the twin's attributes to the [advisor](07_advisor.ipynb)'s calibration points.
#
# The numbers come from `latentsep.experiments.fidelity.scale`.

# %% tags=["parameters"]
PROFILE = "quick"
DATA_DIR = "data"
CACHE_DIR = "cache"
RESULTS_DIR = "results/quick"
DATA_SEED = 0  # splits, colours, Random attribute, pixel noise
SEEDS = [42, 43, 44]  # sweep seeds; the encoder is pinned to the first (pre-training seed)
PRETRAIN_EPOCHS = 20  # upper bound; early stopping (patience 10) often ends earlier
HEAD_EPOCHS = 50
ALPHAS = [0.0, 0.5, 1.0]  # the drops need 0 and 1
N_PERMUTATIONS = 50  # permutation null of the paper's TV
TWIN_TOTAL = 70000  # images of the full-size twin (70,000: the paper's exact split sizes)
SCALED_TOTAL = 10000  # images the scaled runs mirror (the offline MNIST digits)

# %%
from pathlib import Path

import torch
from IPython.display import Markdown, display

from latentsep import plotting
from latentsep.data.fashion import load_fashion_mnist
from latentsep.data.mnist import load_mnist
from latentsep.experiments import coloured_mnist as cm
from latentsep.experiments import fidelity
from latentsep.experiments.protocol import PAPER_TEXT
from latentsep.heads import HeadConfig

# %%
plotting.enable_offline_renderer()
torch.set_num_threads(1)  # one fixed thread count: the same numbers on every re-execution
CACHE = Path(CACHE_DIR) / "08_scale_fidelity"
config = PAPER_TEXT.pretrain_config(cm.paper_pretrain_config(PRETRAIN_EPOCHS))
head = PAPER_TEXT.head_config(HeadConfig(max_epochs=HEAD_EPOCHS))
settings = {"seeds": SEEDS, "config": config, "head": head, "alphas": ALPHAS,
            "n_permutations": N_PERMUTATIONS, "cache_dir": CACHE}

# %% [markdown]
# ## The data: four runs of one protocol
#
# Chapter 03's digits as it runs them (714 pre-training images) and with the paper's pre-training
# size (with full MNIST they already have it and run once); the Fashion-MNIST twin scaled like
# chapter 03 and at the paper's sizes. K is the paper's
# share of each pool (`paper_k`: 23,840 / 48,000), capped where an extreme allocation cannot be
# filled.

# %%
mnist = cm.coloured_mnist_protocol(load_mnist(DATA_DIR), seed=DATA_SEED)
fashion = load_fashion_mnist(data_dir=DATA_DIR)
plan = fidelity.scale_plan(mnist, fashion, scaled_total=SCALED_TOTAL, twin_total=TWIN_TOTAL,
                          seed=DATA_SEED)
for name, data in plan.datasets.items():
    print(f"{name}: {data.source}")

# %% [markdown]
# ## Running the protocol
#
# For each run: one encoder pre-trained with the first seed (cached by the hash of its full
# configuration), the paper's TV estimator on the test split for each attribute, and last-layer
# sweeps at `ALPHAS` with every sweep seed on that encoder. The paper-sized twin also sweeps the
# Random attribute and measures what the advisor's calibration reads (`calibration=True`, below).
# The table gives the sizes that ran and the pre-trained encoder's own test balanced accuracy
# (× 1,000).

# %%
runs = {name: fidelity.scale_run(data, PAPER_TEXT, calibration=name == plan.calibration_run,
                                 **settings) for name, data in plan.datasets.items()}
fidelity.sizes_table(runs)

# %% [markdown]
# ## Drops, the Random baseline and the orderings
#
# Each digit (class) group's drop when absent, per sweep seed on the pinned encoder, and the
# paper's TV per attribute with its ratio to Random's (one encoder per run: no interval across
# encoders). Bars span the sweep seeds.

# %%
summary = fidelity.scale_summary(runs)
display(summary.pivot_table(index=["quantity", "attribute_label", "group_label"], columns="run",
                            values="mean", sort=False))
fidelity.scale_chart(summary, "drop")

# %%
fidelity.scale_chart(summary, "TV")

# %% [markdown] tags=["findings"]
# ## What the scale experiments found
#
# Each line runs the paper's protocol at a smaller size → at the paper's size (the runs are
# described below), on the offline digits and on the Fashion-MNIST twin; per-seed values of the
# paper-sized run in brackets. For comparison, the paper's MNIST drops are about 0.155 (group ≥ 5)
# and 0.115 (group < 5).

# %% tags=["findings"]
display(Markdown(fidelity.scale_findings(summary, plan)))

# %% [markdown]
# ## Calibration points from the twin
#
# The paper-sized twin's three attributes, measured as chapter 03 measures its own: the **transfer
# gap** on the test split (x) and the **sensitivity**, the mean of the two groups' slopes of test
# balanced accuracy on their own share (y), here over the sweep seeds on the pinned encoder. They
# are written as this chapter's summary table, which `make calibrate` reads beside chapters 03
# and 04's.

# %%
fidelity.write_calibration_points(runs, RESULTS_DIR)
runs[plan.calibration_run].points.set_index(["dataset", "attribute"])[
    ["transfer_gap", "sensitivity", "sensitivity_ci_low", "sensitivity_ci_high", "excess"]]

# %%
display(Markdown(f"Profile `{PROFILE}`: pre-training ≤ {PRETRAIN_EPOCHS} epochs, α ∈ {ALPHAS}, "
                 f"sweep seeds {SEEDS} on one encoder, {N_PERMUTATIONS} permutations."))
