"""Chapter 03 under a second protocol, its claims tagged, and every number side by side.

Chapter 03's main run follows the paper's text (:data:`~latentsep.experiments.protocol.PAPER_TEXT`).
:func:`rerun_under` recomputes what another protocol changes -- the sweeps (head start, encoder)
and the histogram separations (features) -- and carries the rest over; :func:`tag_claims` marks its
claims with the protocol so the status page can count them apart; :func:`comparison_by_protocol`
puts the paper's value, ours under the paper's text and ours under the authors' code in one table.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence

import pandas as pd

from latentsep.experiments import coloured_mnist_measures as measures
from latentsep.experiments import protocol as proto
from latentsep.experiments.coloured_mnist import ATTRIBUTES
from latentsep.experiments.coloured_mnist_claims import ColouredMnistResults, comparison_table
from latentsep.experiments.protocol import EncoderRun, Protocol, ProtocolData
from latentsep.heads import HeadConfig
from latentsep.report import Claim
from latentsep.separation import PAPER_ESTIMATOR
from latentsep.stats import allocation_slopes, full_minus_zero

PROTOCOL_KEYS = {"paper text": "paper_text", "authors' code": "authors_code", "current": "current"}


def protocol_key(protocol: Protocol) -> str:
    """Identifier of a preset for claim ids and file names (``"authors_code"``, …)."""
    return PROTOCOL_KEYS.get(protocol.name, protocol.name.replace(" ", "_").replace("'", ""))


def rerun_under(base: ColouredMnistResults, protocol: Protocol, data: ProtocolData,
                runs: Mapping[int, EncoderRun], *, head: HeadConfig, alphas: Sequence[float],
                k_train: int, k_val: int, n_draws: int,
                store_dir: str | os.PathLike) -> ColouredMnistResults:
    """Chapter 03's tables recomputed under ``protocol`` on the same encoders.

    Recomputed: the allocation sweeps (``protocol.sweep_options()``, heads configured by
    ``protocol.head_config(head)``), the two histogram separations on the test split and at the
    paper's sample size (``protocol.separation_options()``), and everything derived from them
    (differences, drops, slopes, summary, the authors' check, the bound). Carried over from
    ``base``: our joint estimators (``classifier``, ``gaussian``: neither protocol specifies them;
    they stay on the PCA features, where the Gaussian fit is defined), the pre-training-size and
    K investigations and the run's facts.

    Parameters
    ----------
    base : ColouredMnistResults
        Chapter 03's main run (same ``data`` and ``runs``).
    runs : mapping of int to EncoderRun
        Pre-trained with ``protocol.pretrain_config(...)``; their scheduler monitor must be the
        one ``protocol`` retrains with when its head start is ``"resumed"``.
    n_draws : int
        Permutation-null draws and row-bootstrap draws of the histogram separations (the
        per-encoder intervals the claims rest on). On all 1,568 features one draw at n = 4,000
        costs about a second, 40 times the PCA-70 % cost, so fewer draws than the main run's are
        the norm, and the intervals are correspondingly coarse (10 draws: about the range).

    Returns
    -------
    ColouredMnistResults
    """
    if not isinstance(protocol, Protocol):
        raise ValueError(f"protocol must be a Protocol (e.g. AUTHORS_CODE); got {type(protocol).__name__}.")
    pca = protocol.separation_options()["pca_variance"]
    joint = base.separation[~base.separation["method"].eq("histogram")]
    hist = measures.separation(data, runs, methods=["histogram"], n_permutations=n_draws,
                               n_bootstrap=n_draws, pca_variance=pca)
    sep = pd.concat([hist, joint], ignore_index=True)
    sep_paper_n = measures.separation_at_paper_size(data, runs, n_draws=n_draws,
                                                    n_bootstrap=n_draws, pca_variance=pca)
    sweeps = proto.allocation_sweeps(data, runs, attributes=list(ATTRIBUTES), alphas=alphas,
                                     k_train=k_train, k_val=k_val, head=protocol.head_config(head),
                                     store_dir=store_dir, progress=False, **protocol.sweep_options())
    return dataclasses.replace(
        base, separation=sep, separation_paper_size=sep_paper_n,
        differences=measures.attribute_differences(sep),
        drops=full_minus_zero(sweeps, "balanced_accuracy"),
        slopes=allocation_slopes(sweeps, "balanced_accuracy"), sweeps=sweeps,
        summary=proto.summarise(sep, sweeps, estimator=PAPER_ESTIMATOR).set_index("attribute"),
        authors=measures.authors_checks(data, sweeps, sep, sep_paper_n),
        bounds=measures.bound_table(data, sep, sweeps))


def tag_claims(claims: Sequence[Claim], protocol: Protocol) -> list[Claim]:
    """Copies of ``claims`` with ``@<protocol key>`` appended to their ids, the key in
    ``extra["protocol"]`` (e.g. ``mnist.tv.colour@authors_code``) and the protocol's name after
    the description (``… (authors' code)``)."""
    key = protocol_key(protocol)
    return [dataclasses.replace(c, claim_id=f"{c.claim_id}@{key}",
                                description=f"{c.description} ({protocol.name})",
                                extra={**c.extra, "protocol": key}) for c in claims]


def comparison_by_protocol(results: Mapping[str, ColouredMnistResults]) -> pd.DataFrame:
    """Every coloured-MNIST number of the paper next to ours under each protocol.

    Parameters
    ----------
    results : mapping of str to ColouredMnistResults
        Column label (e.g. ``"ours, paper's text"``) to that run's results, on the same data.

    Returns
    -------
    pd.DataFrame
        ``quantity, paper`` and one ``<label> (95% CI)`` column per run, in
        :func:`~latentsep.experiments.coloured_mnist_claims.comparison_table`'s row order.
    """
    if not results:
        raise ValueError("results is empty; pass {label: ColouredMnistResults, ...}.")
    tables = [comparison_table(r).rename(columns={"ours (95% CI)": f"{label} (95% CI)"})
              for label, r in results.items()]
    out = tables[0]
    for table in tables[1:]:
        out = out.merge(table, on=["quantity", "paper"], how="left", validate="one_to_one")
    return out
