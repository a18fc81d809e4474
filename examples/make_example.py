"""Write the advisor's example pilot sample: 10,000 embeddings of 1,024 dims and a CSV table.

The embeddings mimic a frozen encoder's: a few dozen latent factors mapped into 1,024 dimensions
plus a little isotropic noise, so that their spectrum decays like a real model's. The table has a
binary label ``finding`` and ten attribute columns whose effect on the embeddings is known:

=============  =========  =============================================================
column         values     how it enters the embeddings
=============  =========  =============================================================
view           AP / PA    strong: shifts several factors and tilts the label direction
scanner        0 / 1      strong, and rare (12 % of rows are scanner 1)
site           A / B / C  moderate, site C only (multi-valued: advised one-vs-rest)
age_over_60    0 / 1      weak shift
devices        0 / 1      weak shift and tilt
sex            F / M      none
insurance      0 / 1      none
language       0 / 1      none
married        0 / 1      none
random         0 / 1      none (a coin flip, the paper's Random baseline)
=============  =========  =============================================================

A "tilt" makes the label direction differ between the attribute's groups, which is what makes a
head trained on one group worse on the other, i.e. what makes allocation matter.

Usage::

    python examples/make_example.py --out examples/data      # ~41 MB .npy + 0.4 MB .csv
    latentsep advise examples/data/pilot_embeddings.npy --table examples/data/pilot.csv \\
        --label finding
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

N_FACTORS = 48
# column -> (share of rows in group 1, mean shift, label-direction tilt), in factor units
EFFECTS = {
    "view": (0.45, 0.9, 0.6),
    "scanner": (0.12, 0.8, 0.5),
    "site_C": (0.30, 0.45, 0.25),
    "age_over_60": (0.40, 0.2, 0.0),
    "devices": (0.35, 0.2, 0.15),
    "sex": (0.50, 0.0, 0.0),
    "insurance": (0.40, 0.0, 0.0),
    "language": (0.85, 0.0, 0.0),
    "married": (0.45, 0.0, 0.0),
    "random": (0.50, 0.0, 0.0),
}


def make_example(n: int = 10_000, dim: int = 1_024, seed: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
    """Synthetic pilot embeddings and their table.

    Parameters
    ----------
    n, dim : int
        Rows and embedding dimensions.
    seed : int
        Seed of every draw; equal seeds give identical files.

    Returns
    -------
    z : ndarray, shape (n, dim), float32
    table : DataFrame
        ``finding`` (0/1) and the ten attribute columns of the module docstring, one row per
        embedding row.
    """
    rng = np.random.default_rng(seed)
    y = rng.binomial(1, 0.35, n)
    sign_y = 2.0 * y - 1.0
    groups = {name: rng.binomial(1, share, n) for name, (share, _, _) in EFFECTS.items()}
    factors = rng.normal(size=(n, N_FACTORS)) / np.sqrt(1 + np.arange(N_FACTORS) / 8)
    label_direction = np.zeros(N_FACTORS)
    label_direction[:4] = 0.8
    factors += sign_y[:, None] * label_direction
    for i, (name, (_, shift, tilt)) in enumerate(EFFECTS.items()):
        sign_a = 2.0 * groups[name] - 1.0
        # each attribute owns two factors: one shifted by group, one carrying a group-specific
        # part of the label signal
        factors[:, 4 + 2 * i] += shift * sign_a
        factors[:, 5 + 2 * i] += tilt * sign_a * sign_y
    loadings = np.linalg.qr(rng.normal(size=(dim, N_FACTORS)))[0].T  # orthonormal rows
    z = factors @ loadings + 0.1 * rng.normal(size=(n, dim))
    site = np.where(groups.pop("site_C") == 1, "C", rng.choice(["A", "B"], n))
    table = pd.DataFrame({
        "finding": y,
        "view": np.where(groups.pop("view") == 1, "PA", "AP"),
        "sex": np.where(groups.pop("sex") == 1, "M", "F"),
        "site": site,
        **groups,
    })
    return z.astype(np.float32), table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("examples/data"), help="output folder")
    parser.add_argument("--n", type=int, default=10_000, help="rows (default 10,000)")
    parser.add_argument("--dim", type=int, default=1_024, help="dimensions (default 1,024)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    z, table = make_example(args.n, args.dim, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    np.save(args.out / "pilot_embeddings.npy", z)
    table.to_csv(args.out / "pilot.csv", index=False)
    print(f"wrote {args.out / 'pilot_embeddings.npy'} {z.shape} and {args.out / 'pilot.csv'} "
          f"(label 'finding', attributes {', '.join(c for c in table.columns if c != 'finding')})")


if __name__ == "__main__":
    main()
