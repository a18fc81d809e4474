"""Fail early: check every dataset root and encoder a profile needs before any chapter runs.

A full-profile run spends hours before chapter 04 reaches MIMIC-CXR; a wrong root found there is
the worst way to learn it. :func:`preflight` reads what the profile's parameters switch on
(:func:`profile_needs`), checks every user-supplied dataset root with its adapter's own checks
(``layout_problems`` of :mod:`latentsep.data.mimic`, ``.ham10000``, ``.civilcomments`` — every
missing file, folder and column at once — then the adapter itself, which also finds e.g. a
release without images), every encoder's weights (:func:`latentsep.encoders.missing_weights`,
no download) and, when a chapter loads it, Fashion-MNIST's four IDX files (where
:func:`latentsep.data.fashion.find_fashion_mnist` looks), and raises one :class:`PreflightFailed`
listing everything that is missing.

A dataset whose root is unset stops the run too (its chapter would silently skip it), unless it is
named in ``LATENTSEP_SKIP_DATASETS`` (comma-separated keys, e.g. ``ham10000,civilcomments``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latentsep.data import civilcomments, fashion, ham10000, mimic
from latentsep.encoders import missing_weights
from latentsep.experiments.user_datasets import REAL_DATASETS, load_real_dataset

SKIP_VARIABLE = "LATENTSEP_SKIP_DATASETS"
#: Encoder of the frozen-foundation sections (chapters 04 and 07).
FOUNDATION_ENCODER = "efficientnet-lite0"


class PreflightFailed(ValueError):
    """Something a profile needs is missing; the message lists all of it with the remedies."""


@dataclass
class Needs:
    """What a profile's chapters will use.

    Attributes
    ----------
    encoders : dict
        Real dataset key -> encoder name, for every dataset some chapter runs.
    chapters : dict
        Real dataset key -> chapter stems that run it.
    adapter : dict
        Real dataset key -> keywords the chapters pass to its adapter (e.g. smaller splits).
    random_weights : bool
        The profile allows random weights for missing encoders (``weights: random-if-missing``).
    foundation : bool
        Some chapter embeds images with :data:`FOUNDATION_ENCODER`.
    fashion : list of str
        Chapters that load Fashion-MNIST (08's twin always; 04 and 07 when a foundation dataset
        is ``fashion_mnist``).
    """

    encoders: dict[str, str] = field(default_factory=dict)
    chapters: dict[str, list[str]] = field(default_factory=dict)
    adapter: dict[str, dict[str, Any]] = field(default_factory=dict)
    random_weights: bool = False
    foundation: bool = False
    fashion: list[str] = field(default_factory=list)


def profile_needs(chapters: Mapping[str, Mapping[str, Any]]) -> Needs:
    """Datasets and encoders switched on by a profile's chapter parameters.

    Chapter 04 runs ``REAL["encoders"]`` when ``RUN_REAL_DATASETS`` is true; chapter 07 runs
    ``REAL_DATASETS`` with the paper's encoders (``REAL_WEIGHTS`` as 04's ``REAL["weights"]``).
    Chapter 08 always loads Fashion-MNIST; 04 and 07 do when a foundation dataset is
    ``fashion_mnist``.
    """
    needs = Needs()
    real04 = chapters.get("04_real_datasets", {})
    if real04.get("RUN_REAL_DATASETS"):
        real = real04.get("REAL", {})
        for key, encoder in real.get("encoders", {}).items():
            needs.encoders[key] = encoder
            needs.chapters.setdefault(key, []).append("04_real_datasets")
            needs.adapter[key] = dict(real.get("adapter", {}).get(key, {}))
        needs.random_weights |= real.get("weights") == "random-if-missing"
    advisor = chapters.get("07_advisor", {})
    for key in advisor.get("REAL_DATASETS") or []:
        needs.encoders.setdefault(key, REAL_DATASETS[key].encoder)
        needs.chapters.setdefault(key, []).append("07_advisor")
        needs.adapter.setdefault(key, dict((advisor.get("REAL_ADAPTER") or {}).get(key, {})))
    needs.random_weights |= advisor.get("REAL_WEIGHTS") == "random-if-missing"
    needs.foundation = bool(real04.get("FOUNDATION") or advisor.get("FOUNDATION_DATASETS"))
    uses_fashion = {
        "04_real_datasets": (real04.get("FOUNDATION") or {}).get("dataset") == "fashion_mnist",
        "07_advisor": "fashion_mnist" in (advisor.get("FOUNDATION_DATASETS") or []),
        "08_scale_fidelity": "08_scale_fidelity" in chapters,
    }
    needs.fashion = [stem for stem, uses in uses_fashion.items() if uses]
    return needs


def fashion_problems(data_dir: str | Path, chapters: list[str]) -> list[str]:
    """Fashion-MNIST for ``chapters``: empty when some folder the loader searches holds its four
    IDX files, else one problem naming the files missing from ``<data_dir>/fashion-mnist/``, the
    folders searched and the remedy."""
    try:
        fashion.find_fashion_mnist(data_dir)
    except FileNotFoundError:
        candidates = fashion.fashion_mnist_candidates(data_dir)
        missing = [f"{stem}[.gz]" for (split, kind), stem in fashion.IDX_STEMS.items()
                   if fashion.idx_path(candidates[0][0], split, kind) is None]
        return [f"Fashion-MNIST (used by {', '.join(chapters)}): {candidates[0][0]} lacks "
                f"{', '.join(missing)}, and no other folder searched holds all four IDX files "
                f"({', '.join(str(root) for root, _ in candidates[1:])}). Remedy: "
                + fashion.FASHION_INSTALL_HINT]
    return []


def _layout_problems(key: str, root: str, env: Mapping[str, str]) -> list[str]:
    if key == "mimic_cxr":
        return mimic.layout_problems(root, env.get("LATENTSEP_MIMIC_IV", "").strip() or None)
    if key == "ham10000":
        return ham10000.layout_problems(root)
    return civilcomments.layout_problems(root)


def dataset_problems(key: str, environ: Mapping[str, str] | None = None,
                     adapter: Mapping[str, Any] | None = None,
                     rows: dict[str, int] | None = None) -> list[str]:
    """Everything wrong with the root of real dataset ``key`` (empty when it loads with the
    ``adapter`` keywords the chapters use; its row count then goes to ``rows[key]``)."""
    env = os.environ if environ is None else environ
    spec = REAL_DATASETS[key]
    root = env.get(spec.env, "").strip()
    if not root:
        return [f"{spec.env} is not set: {spec.title} would be skipped. Remedy: point it at your "
                f"copy (official layout), or add {key} to {SKIP_VARIABLE} to run without it."]
    roots = ", ".join(f"{v}={env.get(v, '').strip()!r}" for v in (spec.env, *spec.extra_env)
                      if env.get(v, "").strip())
    layout = _layout_problems(key, root, env)
    if not layout:
        try:
            # the adapter's remaining checks (images present, values valid)
            table = load_real_dataset(key, environ=env, **(adapter or {}))
        except (FileNotFoundError, ValueError) as err:
            layout = [str(err)]
        else:
            if rows is not None:
                rows[key] = len(table.table)
    return [f"{spec.title} ({roots}): {p}" for p in layout]


def preflight(
    chapters: Mapping[str, Mapping[str, Any]], environ: Mapping[str, str] | None = None,
    rows: dict[str, int] | None = None, data_dir: str | Path = "data",
) -> list[str]:
    """Check a profile's datasets and encoders; return notices, raise when something is missing.

    Parameters
    ----------
    chapters : mapping
        ``{chapter stem: parameters}`` of the chapters about to run.
    environ : mapping, optional
        Default ``os.environ``.
    rows : dict, optional
        Filled with the number of rows of every dataset that loaded (for the cost estimate).
    data_dir : str or Path
        The chapters' ``DATA_DIR`` (where Fashion-MNIST is looked for first).

    Returns
    -------
    list of str
        Notices: what was checked, what is skipped, which encoders run with random weights.

    Raises
    ------
    PreflightFailed
        One message listing every missing file, column, root and weight file, with remedies.
    """
    env = os.environ if environ is None else environ
    started = time.perf_counter()
    needs = profile_needs(chapters)
    skipped = {k.strip() for k in env.get(SKIP_VARIABLE, "").split(",") if k.strip()}
    unknown = sorted(skipped - set(REAL_DATASETS))
    problems = [f"{SKIP_VARIABLE} names unknown dataset(s) {unknown}; use keys from "
                f"{sorted(REAL_DATASETS)}."] if unknown else []
    notices = []
    for key in needs.encoders:
        if key in skipped:
            notices.append(f"{REAL_DATASETS[key].title}: skipped ({SKIP_VARIABLE}).")
            continue
        found = dataset_problems(key, env, needs.adapter.get(key), rows)
        problems += found
        if not found:
            notices.append(f"{REAL_DATASETS[key].title}: {REAL_DATASETS[key].env} checked "
                           f"(used by {', '.join(needs.chapters[key])}).")
    if needs.fashion:
        found = fashion_problems(data_dir, needs.fashion)
        problems += found
        if not found:
            notices.append(f"Fashion-MNIST: found (used by {', '.join(needs.fashion)}).")
    encoders = sorted({e for k, e in needs.encoders.items() if k not in skipped}
                      | ({FOUNDATION_ENCODER} if needs.foundation else set()))
    for name in encoders:
        missing = missing_weights(name)
        if missing is None:
            notices.append(f"{name}: pretrained weights found locally.")
        elif needs.random_weights and name != FOUNDATION_ENCODER:
            notices.append(f"{name}: pretrained weights not in the local caches; its architecture "
                           "runs with RANDOM WEIGHTS (random weights: rehearsal only).")
        else:
            problems.append(missing)
    if problems:
        raise PreflightFailed(
            f"preflight found {len(problems)} problem(s) before any chapter ran "
            f"({time.perf_counter() - started:.1f} s):\n  - " + "\n  - ".join(problems))
    return notices
