"""IDX files (the MNIST / Fashion-MNIST format) and the Fashion-MNIST loader.

IDX layout (big-endian): two zero bytes, a type code (``0x08`` = unsigned byte), the number of
dimensions, one 4-byte size per dimension, then the values in C order. Image files have magic
2051 (``0x00000803``: uint8, 3 dims N×28×28), label files magic 2049 (``0x00000801``: uint8, 1 dim).
Files may be gzipped (recognised by their content, not their name).

Fashion-MNIST sources, in the order :func:`find_fashion_mnist` looks: ``<data_dir>/fashion-mnist/``
(user-placed files), ``<data_dir>/fashion-mnist/debian/`` (the fetch's ``apt-get download`` of the
Debian package ``dataset-fashion-mnist``), ``<data_dir>/fashion-mnist/torchvision/FashionMNIST/raw/``
(torchvision's download) and ``/usr/share/datasets/fashion-mnist/`` (the installed Debian package).
"""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
IDX_STEMS = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}
FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_INSTALL_HINT = (
    "Install the Debian package (`sudo apt-get install dataset-fashion-mnist`), run `make data` "
    "(it tries `apt-get download` and torchvision's download), or place "
    "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and "
    "t10k-labels-idx1-ubyte.gz under <data_dir>/fashion-mnist/."
)


def read_idx(path: str | Path, expected_magic: int) -> np.ndarray:
    """Read one uint8 IDX file (plain or gzipped).

    Parameters
    ----------
    path : str or Path
        The file.
    expected_magic : int
        2051 for images, 2049 for labels.

    Returns
    -------
    np.ndarray
        uint8 array with the dimensions stored in the header, e.g. (N, 28, 28) or (N,).
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4:
        raise ValueError(f"{path} is too short ({len(raw)} bytes) to be an IDX file.")
    magic = struct.unpack(">I", raw[:4])[0]
    if magic != expected_magic:
        raise ValueError(
            f"{path} has IDX magic number {magic}, expected {expected_magic} "
            f"({'images' if expected_magic == IMAGES_MAGIC else 'labels'}); the file is corrupt or "
            "not the file its name says (swap images/labels, or download it again)."
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: header says shape {shape} ({expected} bytes of data) but the file holds "
            f"{len(raw) - header}; it is truncated or corrupt. Download it again."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()


def idx_path(root: str | Path, split: str, kind: str) -> Path | None:
    """The IDX file for (``split``, ``kind``) under ``root``: plain name first, then ``.gz``."""
    stem = IDX_STEMS[(split, kind)]
    for name in (stem, f"{stem}.gz"):
        if (Path(root) / name).is_file():
            return Path(root) / name
    return None


def has_idx_set(root: str | Path) -> bool:
    """Whether ``root`` holds all four IDX files (train/test × images/labels)."""
    return all(idx_path(root, split, kind) for split, kind in IDX_STEMS)


def read_idx_split(root: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) uint8 and labels (N,) int64 of one split (``"train"`` or ``"test"``)."""
    paths = {kind: idx_path(root, split, kind) for kind in ("images", "labels")}
    for kind, path in paths.items():
        if path is None:
            raise FileNotFoundError(
                f"{Path(root) / IDX_STEMS[(split, kind)]}[.gz] not found; the folder must hold the "
                "four IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (plain or .gz)."
            )
    images = read_idx(paths["images"], IMAGES_MAGIC)
    labels = read_idx(paths["labels"], LABELS_MAGIC)
    if images.ndim != 3 or len(images) != len(labels):
        raise ValueError(
            f"{paths['images']} holds shape {images.shape} but {paths['labels']} holds "
            f"{len(labels)} labels; they must be (N, H, W) and (N,) with the same N."
        )
    return images, labels.astype(np.int64)


@dataclass(frozen=True)
class FashionMnistData:
    """Fashion-MNIST, official train rows first, then test rows.

    Attributes
    ----------
    images : np.ndarray
        uint8 (N, 28, 28), pixel values 0-255.
    labels : np.ndarray
        int64 (N,), classes 0-9 (names in ``FASHION_CLASSES``).
    split : np.ndarray
        str (N,), ``"train"`` or ``"test"`` (the official split: 60,000 / 10,000).
    source : str
        ``"debian"``, ``"torchvision"`` or ``"user IDX"``.
    root : Path
        Folder the IDX files were read from.
    """

    images: np.ndarray
    labels: np.ndarray
    split: np.ndarray
    source: str
    root: Path


def load_idx_dataset(root: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train then test rows of an IDX folder: images (N, H, W) uint8, labels (N,), split (N,) str."""
    train = read_idx_split(root, "train")
    test = read_idx_split(root, "test")
    split = np.array(["train"] * len(train[1]) + ["test"] * len(test[1]))
    return np.concatenate([train[0], test[0]]), np.concatenate([train[1], test[1]]), split


def fashion_mnist_candidates(data_dir: str | Path) -> list[tuple[Path, str]]:
    """(folder, source) pairs where Fashion-MNIST may live, in the order they are tried."""
    base = Path(data_dir) / "fashion-mnist"
    return [
        (base, "user IDX"),
        (base / "debian", "debian"),
        (base / "torchvision" / "FashionMNIST" / "raw", "torchvision"),
        (DEBIAN_FASHION_DIR, "debian"),
    ]


def find_fashion_mnist(data_dir: str | Path = "data") -> tuple[Path, str]:
    """The first folder holding all four Fashion-MNIST IDX files, and its source label."""
    for root, source in fashion_mnist_candidates(data_dir):
        if has_idx_set(root):
            return root, source
    tried = ", ".join(str(root) for root, _ in fashion_mnist_candidates(data_dir))
    raise FileNotFoundError(f"Fashion-MNIST not found (looked in {tried}). {FASHION_INSTALL_HINT}")


def load_fashion_mnist(root: str | Path | None = None, *, data_dir: str | Path = "data") -> FashionMnistData:
    """Load Fashion-MNIST (70,000 images) from ``root`` or, when ``root`` is None, the first found.

    Parameters
    ----------
    root : str, Path or None
        Folder holding the four IDX files. ``None`` searches :func:`fashion_mnist_candidates`.
    data_dir : str or Path
        Data root searched when ``root`` is None.
    """
    if root is None:
        root, source = find_fashion_mnist(data_dir)
    else:
        root = Path(root)
        source = "debian" if root.resolve() == DEBIAN_FASHION_DIR else "user IDX"
    images, labels, split = load_idx_dataset(root)
    if labels.size and labels.max() >= len(FASHION_CLASSES):
        raise ValueError(
            f"Fashion-MNIST labels in {root} reach {labels.max()}, expected classes 0-9; "
            "the label files are not Fashion-MNIST's."
        )
    return FashionMnistData(images=images, labels=labels, split=split, source=source, root=Path(root))
