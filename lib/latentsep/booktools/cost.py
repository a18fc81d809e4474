"""What a profile will run, and how long it should take on this machine, printed before it starts.

Every chapter's heavy work is counted in *units* of a few kinds — pre-training epochs, images or
texts embedded, allocation-sweep heads trained, ablation fine-tunings, resampling draws — from
its profile parameters (:func:`chapter_units`; the formulas mirror the chapters' loops and count
what dominates, not every line). Each kind has a *size* (images per epoch, K_train, rows) so that
``count × size`` is proportional to its cost.

The time estimate (:func:`estimate`) scales a measured run: the seconds each chapter took in the
``rehearsal`` profile (``results/rehearsal/timings.json``, same code paths, tiny sizes) times the
ratio of the profile's work to the rehearsal's. It is a coarse upper bound: the rehearsal's fixed
costs (kernel start, imports, small sweeps, CPU contention while it ran) are scaled with its heavy
units, which overestimates most where one unit kind dominates the ratio (chapter 04's embeddings).
It says so when nothing was measured yet.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

#: Paper sizes the formulas fall back to when a parameter leaves them implicit.
MNIST_PRETRAIN, MNIST_K, MNIST_TEST = 5000, 23840, 4000
REAL_ROWS_FALLBACK = 1000  # rows of a user-supplied dataset when the folder is unknown
#: The paper encoders' input side per image dataset (text datasets: none); an embedding's cost
#: grows with the pixels, so an image counts (side / 32)² units.
PAPER_IMAGE_SIZE = {"mimic_cxr": 256, "ham10000": 224}


def _n(params: Mapping[str, Any], name: str, default: Any = 0) -> Any:
    value = params.get(name, default)
    return default if value is None else value


def chapter_units(stem: str, params: Mapping[str, Any],
                  real_rows: Mapping[str, int] | None = None) -> list[dict[str, Any]]:
    """The units chapter ``stem`` runs with ``params``.

    Parameters
    ----------
    stem : str
        Chapter file stem, e.g. ``"03_coloured_mnist"``.
    params : mapping
        The chapter's profile parameters.
    real_rows : mapping, optional
        Rows per user-supplied dataset (``mimic_cxr`` ...), when known.

    Returns
    -------
    list of dict
        ``{"kind", "count", "size"}``; ``count × size`` is proportional to the unit's cost.
    """
    p, rows = params, dict(real_rows or {})
    seeds = len(_n(p, "PRETRAIN_SEEDS", []) or _n(p, "SEEDS", []) or _n(p, "SWEEP_SEEDS", []))
    units: list[dict[str, Any]] = []

    def add(kind: str, count: float, size: float) -> None:
        if count and size:
            units.append({"kind": kind, "count": int(count), "size": int(size)})

    if stem.startswith("01"):
        add("simulated configurations", _n(p, "N_CONFIGS") + _n(p, "N_LABEL_SHIFT_CONFIGS")
            + _n(p, "N_K_GROUP_CONFIGS"), 1)
    elif stem.startswith("02"):
        cells = sum(_n(p, "CELL_SIZES", [1000])) + _n(p, "EDGE_CELL_SIZE", 1000)
        add("resampling draws", _n(p, "N_PERMUTATIONS") + _n(p, "N_BOOTSTRAP"), cells)
        add("Monte-Carlo draws", _n(p, "N_MONTE_CARLO"), 1)
    elif stem.startswith("03"):
        variants = 1 + len(_n(p, "PRETRAIN_SIZE_FACTORS", []))
        add("pre-training epochs", seeds * variants * _n(p, "PRETRAIN_EPOCHS"), MNIST_PRETRAIN)
        add("sweep heads", seeds * len(_n(p, "ALPHAS", [])) * 3, MNIST_K * _n(p, "HEAD_EPOCHS"))
        if p.get("RUN_ABLATIONS"):
            add("ablation fine-tuning epochs", 2 * seeds * len(_n(p, "ABLATION_ALPHAS", []))
                * _n(p, "ABLATION_EPOCHS"), _n(p, "ABLATION_K_TRAIN", MNIST_K))
        add("separation resamples", _n(p, "N_PERMUTATIONS") + _n(p, "N_BOOTSTRAP"), MNIST_TEST)
    elif stem.startswith("04"):
        foundation = _n(p, "FOUNDATION", {})
        add("images embedded (EfficientNet-Lite0)", _n(foundation, "n"),
            _n(foundation, "image_size", 224) ** 2 // 1024)
        tabular = _n(p, "TABULAR", {})
        add("tabular pre-trainings", seeds * len(tabular), _n(p, "PRETRAIN_MAX_EPOCHS"))
        add("sweep heads", seeds * len(_n(p, "ALPHAS", [])) * 8 * max(1, len(tabular)),
            _n(p, "HEAD_MAX_EPOCHS"))
        if p.get("RUN_REAL_DATASETS"):
            real = _n(p, "REAL", {})
            for key in real.get("encoders", {}):
                n = min(rows.get(key, REAL_ROWS_FALLBACK), _n(real, "max_rows", 10**9))
                side = (real.get("image_size") or {}).get(key) or PAPER_IMAGE_SIZE.get(key)
                add(f"{key} rows embedded ({real['encoders'][key]})", n,
                    1 if side is None else side**2 // 1024)
                add(f"{key} adapter pre-trainings + sweep heads", seeds * len(real["modes"])
                    * len(_n(p, "ALPHAS", [])) * 10, _n(p, "HEAD_MAX_EPOCHS"))
    elif stem.startswith("05"):
        add("regularised pre-training epochs", seeds * (len(_n(p, "TV_LAMBDAS", []))
            + len(_n(p, "MNIST_COMPARE_LAMBDAS", []))) * _n(p, "PRETRAIN_EPOCHS"), MNIST_PRETRAIN)
        add("sweep heads", seeds * len(_n(p, "ALPHAS", [])) * len(_n(p, "TV_LAMBDAS", [])),
            _n(p, "HEAD_EPOCHS"))
    elif stem.startswith("06"):
        control = len(_n(p, "CONTROL_SEEDS", []))
        add("control pre-training epochs", control * _n(p, "CONTROL_EPOCHS")
            * (len(_n(p, "PREVALENCES", [])) + len(_n(p, "COLOUR_PAIRS", []))
               + len(_n(p, "REGULARISER_LAMBDAS", []))), MNIST_PRETRAIN)
        add("sweep heads", control * len(_n(p, "CONTROL_ALPHAS", [])) * 3,
            _n(p, "CONTROL_HEAD_EPOCHS"))
        add("bootstrap draws", _n(p, "N_BOOT"), 1)
    elif stem.startswith("08"):  # four runs, one pinned encoder each; the twin at full size
        add("pre-training epochs", 3 * _n(p, "PRETRAIN_EPOCHS"), MNIST_PRETRAIN)
        # two attributes per run, and Random too on the twin that gives calibration points
        add("sweep heads", len(_n(p, "SEEDS", [])) * len(_n(p, "ALPHAS", [])) * (2 * 4 + 1),
            MNIST_K * _n(p, "HEAD_EPOCHS"))
        add("separation resamples", 5 * _n(p, "N_PERMUTATIONS"), 4000)
    elif stem.startswith("07"):
        sweep_seeds = len(_n(p, "SWEEP_SEEDS", []))
        add("images embedded (EfficientNet-Lite0)", len(_n(p, "FOUNDATION_DATASETS", []))
            * _n(p, "N_IMAGES"), _n(p, "IMAGE_SIZE", 224) ** 2 // 1024)
        add("tabular pre-trainings", sweep_seeds * len(_n(p, "TABULAR_DATASETS", [])),
            _n(p, "PRETRAIN_EPOCHS"))
        for key in _n(p, "REAL_DATASETS", []):
            side = (p.get("REAL_IMAGE_SIZE") or {}).get(key) or PAPER_IMAGE_SIZE.get(key)
            add(f"{key} rows embedded", min(rows.get(key, REAL_ROWS_FALLBACK),
                                            _n(p, "REAL_MAX_ROWS", 10**9)),
                1 if side is None else side**2 // 1024)
        add("sweep heads", sweep_seeds * len(_n(p, "ALPHAS", [])) * 6, _n(p, "K_TRAIN"))
    return units


def work(units: list[dict[str, Any]]) -> float:
    """Total ``count × size`` of a chapter's units (arbitrary unit, compared within a chapter)."""
    return float(sum(u["count"] * u["size"] for u in units))


def measured_seconds(results_root: Path, profile: str = "rehearsal") -> dict[str, float]:
    """Seconds per chapter of the latest execution of ``profile`` (empty when never run)."""
    path = results_root / profile / "timings.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def estimate(chapters: Mapping[str, Mapping[str, Any]], reference: Mapping[str, Mapping[str, Any]],
             seconds: Mapping[str, float], real_rows: Mapping[str, int] | None = None,
             reference_rows: Mapping[str, int] | None = None) -> pd.DataFrame:
    """Units and estimated minutes per chapter.

    Parameters
    ----------
    chapters : mapping
        ``{stem: parameters}`` of the run to estimate.
    reference : mapping
        ``{stem: parameters}`` of the measured run (the rehearsal profile).
    seconds : mapping
        Measured seconds per chapter of the reference run.
    real_rows, reference_rows : mapping, optional
        Rows per user-supplied dataset in the estimated and in the reference run.

    Returns
    -------
    pandas.DataFrame
        ``chapter, units`` (readable counts), ``scale`` (work ratio to the reference) and
        ``estimate_min`` (NaN when the chapter was not measured).
    """
    rows = []
    for stem, params in chapters.items():
        units = chapter_units(stem, params or {}, real_rows)
        ref = work(chapter_units(stem, reference.get(stem) or {}, reference_rows))
        scale = work(units) / ref if ref else float("nan")
        minutes = seconds[stem] * scale / 60 if stem in seconds else float("nan")
        rows.append({"chapter": stem,
                     "units": "; ".join(f"{u['count']:,} {u['kind']}" for u in units) or "—",
                     "scale": scale, "estimate_min": minutes})
    return pd.DataFrame(rows)


def estimate_text(table: pd.DataFrame, profile: str, measured: bool) -> str:
    """The table of :func:`estimate` as lines to print before a run."""
    lines = [f"[{profile}] cost estimate ("
             + ("measured rehearsal unit costs on this machine, scaled by size" if measured
                else "no rehearsal measured yet: run `make rehearse` for times") + "):"]
    for row in table.itertuples(index=False):
        time = "" if row.estimate_min != row.estimate_min else f" ≲ {row.estimate_min:,.0f} min"
        lines.append(f"  {row.chapter}{time}: {row.units}")
    total = table["estimate_min"].sum(min_count=1)
    if total == total:
        lines.append(f"  total ≲ {total / 60:,.1f} h on this machine's CPU (a coarse upper bound: the "
                     "rehearsal's fixed costs are scaled with its heavy units; a GPU shortens the "
                     "pre-training, embedding and ablation units most)")
    return "\n".join(lines)


def report_before_run(results_root: Path, profile: str, chapters: Mapping[str, Mapping[str, Any]],
                      real_rows: Mapping[str, int],
                      reference: Mapping[str, Mapping[str, Any]] | None) -> str:
    """Record this run's dataset rows and return the estimate to print before it starts.

    ``results_root`` is the folder of every profile's results (``results/``); this run's rows go
    to ``<results_root>/<profile>/real_rows.json`` so that a later estimate can scale from it.
    """
    if real_rows:  # a run without user-supplied datasets keeps the rows recorded before
        out = results_root / profile / "real_rows.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(dict(real_rows), indent=1, sort_keys=True))
    seconds = measured_seconds(results_root)
    ref_rows_path = results_root / "rehearsal" / "real_rows.json"
    ref_rows = json.loads(ref_rows_path.read_text()) if ref_rows_path.is_file() else {}
    table = estimate(chapters, reference or {}, seconds, real_rows, ref_rows)
    return estimate_text(table, profile, measured=bool(seconds) and reference is not None)
