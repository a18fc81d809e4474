"""Speed of the advisor's transfer gap against fitting the heads on the raw embeddings.

The README's example pilot: 10,000 embeddings of 1,024 dims and 12 comparisons from 10 attribute
columns (``examples/make_example.py``). :func:`latentsep.transfer.transfer_table` standardises the
embeddings once, keeps 64 principal components for every attribute, and cross-fits two logistic
heads per fold on them (5 repeats × 2 folds).

The naive way runs the same cross-fitting protocol with the heads fitted on all 1,024
standardised dimensions, the obvious first implementation. It is timed on one repeat per
attribute and scaled to five. Both ways' gaps are printed side by side: the ranking is what the
advisor uses, so the script also reports the Spearman correlation between the two.

    python benchmarks/transfer.py            # the README's example size
    python benchmarks/transfer.py --quick    # 3,000 rows, seconds
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from latentsep.advisor import comparisons
from latentsep.transfer import transfer_gap, transfer_table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from make_example import make_example


def naive(z: np.ndarray, y: np.ndarray, codes: dict[str, np.ndarray], n_repeats: int) -> pd.Series:
    """The transfer gap with heads on the raw standardised embeddings."""
    x = (z - z.mean(axis=0)) / z.std(axis=0)
    return pd.Series({name: transfer_gap(x, y, a.astype(np.int64), n_repeats=n_repeats,
                                         n_bootstrap=20).value for name, a in codes.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 3_000 if args.quick else 10_000
    z, table = make_example(n=n)
    y = (table["finding"] == table["finding"].max()).to_numpy(np.int64)
    codes = {c.name: c.codes for c in comparisons(table, [c for c in table.columns
                                                          if c != "finding"])}
    print(f"{n:,} × {z.shape[1]:,} embeddings, {len(codes)} comparisons, "
          f"{os.cpu_count()} CPU(s), OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")

    start = time.perf_counter()
    ours = transfer_table(z, y, codes, n_bootstrap=100).set_index("attribute")["transfer_gap"]
    ours_s = time.perf_counter() - start

    start = time.perf_counter()
    plain = naive(z, y, codes, n_repeats=1)
    naive_s = (time.perf_counter() - start) * 5  # one repeat timed, five in the protocol

    both = pd.DataFrame({"ours (64 PCs)": ours, "naive (1,024 dims, 1 repeat)": plain})
    print(both.round(4).to_string())
    rho = stats.spearmanr(both.iloc[:, 0], both.iloc[:, 1]).statistic
    print(f"\ntransfer_table: {ours_s:.1f} s; naive (scaled to 5 repeats): {naive_s:.1f} s; "
          f"×{naive_s / ours_s:.1f} faster; Spearman ρ between the two rankings {rho:.2f}")


if __name__ == "__main__":
    main()
