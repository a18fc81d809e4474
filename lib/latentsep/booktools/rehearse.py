"""``make rehearse``: run the book with the full profile's switches on invented data, in minutes.

:func:`prepare` writes (once) the invented MIMIC-CXR-JPG + MIMIC-IV, HAM10000 + ISIC 2018 and
CivilComments folders of :mod:`latentsep.data.rehearsal` under ``cache/rehearsal/datasets`` and a
data folder ``cache/rehearsal/data`` whose ``mnist/raw/`` holds Fashion-MNIST's IDX files where a
user's full MNIST goes (so the paper's unscaled split sizes and K = 23,840 run) and whose
``tabular/`` links to the project's Adult and COMPAS. It returns the ``LATENTSEP_*`` variables a
user would set for the real data; :func:`main` sets them and executes the ``rehearsal`` profile
(``params/rehearsal.yaml``) through :func:`latentsep.booktools.bookrun.execute`, preflight included.

Command line: ``python -m latentsep.booktools.rehearse [--small] [--serial] [--only STEM ...]
[--force]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from latentsep.data.fashion import DEBIAN_FASHION_DIR
from latentsep.data.rehearsal import (
    place_mnist_stand_in,
    write_civilcomments,
    write_ham10000,
    write_mimic,
)
from latentsep.fileio import atomic_write_text

PROFILE = "rehearsal"
#: Sizes of the invented datasets (bump VERSION when the writers change: the folders are rebuilt).
#: Chapter 07 sets the floor: half of the test split is its pilot sample, in which every
#: (class, group) cell of every attribute needs the histogram estimator's 50 rows (~1,300
#: MIMIC-CXR images and 1,000 comments, with chapter 07's test fraction of 0.6).
SIZES = {"mimic_subjects": 600, "ham_lesions": 110, "ham_test": 40, "civil_comments": 1000}
#: ``--small``: enough for chapter 04's three real-dataset branches and its claims (the
#: kill-and-resume test of ``make test``), not for chapter 07's pilots.
SMALL_SIZES = {"mimic_subjects": 140, "ham_lesions": 110, "ham_test": 40, "civil_comments": 300}
VERSION = 3


def prepare(project_root: Path, fashion_dir: Path = DEBIAN_FASHION_DIR,
            sizes: dict[str, int] = SIZES) -> dict[str, str]:
    """Write the rehearsal's datasets of ``sizes`` under ``<project_root>/cache/rehearsal``
    (unless those are there already).

    Returns
    -------
    dict
        ``LATENTSEP_MIMIC_CXR``, ``LATENTSEP_MIMIC_IV``, ``LATENTSEP_HAM10000``,
        ``LATENTSEP_CIVILCOMMENTS`` and ``LATENTSEP_DATA_DIR`` (absolute paths).
    """
    base = project_root / "cache" / PROFILE
    datasets, data = base / "datasets", base / "data"
    stamp = base / "datasets.json"
    wanted = json.dumps({"version": VERSION, "sizes": sizes}, sort_keys=True)
    if not (stamp.is_file() and stamp.read_text() == wanted):
        shutil.rmtree(datasets, ignore_errors=True)
        write_mimic(datasets / "mimic", n_subjects=sizes["mimic_subjects"])
        write_ham10000(datasets / "ham10000", n_lesions=sizes["ham_lesions"],
                       n_test=sizes["ham_test"])
        write_civilcomments(datasets / "civilcomments", n=sizes["civil_comments"])
        atomic_write_text(stamp, wanted)
    place_mnist_stand_in(data, fashion_dir)
    tabular = data / "tabular"
    if not tabular.exists():
        os.symlink((project_root / "data" / "tabular").resolve(), tabular)
    return {
        "LATENTSEP_MIMIC_CXR": str(datasets / "mimic" / "mimic-cxr-jpg"),
        "LATENTSEP_MIMIC_IV": str(datasets / "mimic" / "mimiciv"),
        "LATENTSEP_HAM10000": str(datasets / "ham10000"),
        "LATENTSEP_CIVILCOMMENTS": str(datasets / "civilcomments"),
        "LATENTSEP_DATA_DIR": str(data),
    }


def main(argv: list[str] | None = None) -> int:
    """Prepare the data, set the variables, then ``bookrun execute --profile rehearsal`` with the
    remaining arguments (``--force``); ``--small`` writes :data:`SMALL_SIZES`. Every chapter runs
    in two lanes at once when two cores are available (``second_lane`` in
    ``params/rehearsal.yaml``), one lane with ``--serial`` or ``--only``."""
    from latentsep.booktools.bookrun import Project
    from latentsep.booktools.bookrun import main as bookrun_main

    parser = argparse.ArgumentParser(prog="python -m latentsep.booktools.rehearse",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=None)
    parser.add_argument("--small", action="store_true",
                        help="smaller invented datasets: enough for chapter 04, not for chapter 07")
    parser.add_argument("--only", nargs="+", default=None, help="chapter stems (one lane)")
    parser.add_argument("--serial", action="store_true", help="one chapter at a time")
    args, rest = parser.parse_known_args(argv)
    project = Project.find(args.root)
    try:
        env = prepare(project.root, sizes=SMALL_SIZES if args.small else SIZES)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    os.environ.update(env)
    for name, value in env.items():
        print(f"[{PROFILE}] {name}={value}", flush=True)
    return bookrun_main(["execute", "--profile", PROFILE, "--root", str(project.root),
                         *(["--only", *args.only] if args.only else []),
                         *(["--serial"] if args.serial else []), *rest])


if __name__ == "__main__":
    raise SystemExit(main())
