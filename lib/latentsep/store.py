"""Content-addressed result cache: one parquet table per configuration, written atomically.

An entry is addressed by ``key = sha256(canonical JSON of {configuration, input fingerprint,
library version})``, so that changing any field of a configuration, any input array or the
library version gives a new key and never a stale hit. Callers put :func:`code_fingerprint` of the
modules that compute an entry into its configuration, so that editing that code (a new trainer, a
faster forward pass with other rounding) is a new key too, even between releases. On disk an
entry is two files in ``root/<key[:2]>/``:

* ``<key>.parquet`` — the table;
* ``<key>.json`` — the sidecar: configuration, fingerprint, caller metadata (seeds, …), creation
  time, library version and the sha256 of the parquet bytes.

Both are written to a temporary file in the same directory and moved into place with
``os.replace`` (atomic on POSIX), the sidecar last. The sidecar is the commit record: an entry
without one, or whose parquet bytes do not match the recorded checksum, is treated as missing —
it is deleted, a warning is logged, and the caller recomputes it. A process killed at any point
therefore leaves either a complete entry or nothing that is ever read back.

One writer per key is assumed (the sweep computes each unit in exactly one worker); concurrent
writers of *different* keys are safe, also across machines sharing a filesystem.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import importlib.util
import io
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from latentsep.fileio import atomic_write_bytes

logger = logging.getLogger(__name__)

try:
    LIBRARY_VERSION = version("latentsep")
except PackageNotFoundError:  # running from a source tree without installation
    LIBRARY_VERSION = "0+unknown"


def _source_path(module: str) -> Path | None:
    """The ``.py`` file of a dotted module name, found without importing anything but its top package."""
    package, *parts = module.split(".")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    base = Path(spec.submodule_search_locations[0]).joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(module: str) -> set[str]:
    """Modules of ``module``'s own package that its source imports, at any depth of the file."""
    path = _source_path(module)
    if path is None:
        raise ValueError(f"code_fingerprint: {module!r} is not a module of a package with Python "
                         "source; pass a dotted module name such as 'latentsep.sweep'.")
    package = module.split(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_bytes())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == package}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] == package:
            found.add(node.module)
            # ``from latentsep.models import training`` imports a module, not a name
            found |= {f"{node.module}.{alias.name}" for alias in node.names
                      if _source_path(f"{node.module}.{alias.name}") is not None}
    return found


@functools.cache
def code_fingerprint(*modules: str) -> str:
    """Hash of the source of ``modules`` and of every module of their package they import, transitively.

    Parameters
    ----------
    *modules : str
        Dotted names of the modules whose code computes a cached result (e.g. ``"latentsep.sweep"``).

    Returns
    -------
    str
        32 hexadecimal characters (blake2b). Imports are read from the source with :mod:`ast`,
        including imports inside functions. Computed once per process: the code a process runs is
        the code it imported at start.
    """
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(_imports(module))
    digest = hashlib.blake2b(digest_size=16)
    for module in sorted(seen):
        digest.update(f"{module}\0".encode())
        digest.update(_source_path(module).read_bytes())
    return digest.hexdigest()


KEYED_IF_CHANGED = "latentsep.keyed_if_changed"


def keyed_if_changed(default: Any) -> Any:
    """A dataclass field that enters cache keys only when it differs from ``default``.

    For options added to a configuration after results were cached under it: runs with the
    default compute exactly what they computed before the option existed, so they keep their
    keys (and their cached results); any other value is a new key. ``default`` must be immutable.
    """
    return dataclasses.field(default=default, metadata={KEYED_IF_CHANGED: True})


def canonical(obj: Any, path: str = "config") -> Any:
    """Return ``obj`` as plain JSON types with a representation that does not depend on spelling.

    Mappings become dicts with string keys, tuples/lists/arrays become lists, numpy scalars become
    Python scalars, dataclasses become ``{"__class__": name, **fields}`` (without the fields
    declared with :func:`keyed_if_changed` that hold their default) and paths become strings,
    recursively. ``(0.1, 0.2)``, ``[0.1, 0.2]`` and ``np.array([0.1, 0.2])`` thus hash alike.

    Raises
    ------
    TypeError
        For a value with no canonical form; the message names where it sits in ``obj``.
    ValueError
        For a NaN or infinite float, which JSON cannot represent unambiguously.
    """
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)
                  if not (f.metadata.get(KEYED_IF_CHANGED) and getattr(obj, f.name) == f.default)}
        return {"__class__": type(obj).__name__, **canonical(fields, path)}
    if isinstance(obj, Mapping):
        return {str(k): canonical(v, f"{path}[{k!r}]") for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return canonical(obj.tolist(), path)
    if isinstance(obj, list | tuple):
        return [canonical(v, f"{path}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, np.generic):
        return canonical(obj.item(), path)
    if isinstance(obj, float) and not np.isfinite(obj):
        raise ValueError(f"{path} is {obj!r}; configurations must hold finite numbers.")
    if obj is None or isinstance(obj, str | bool | int | float):
        return obj
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(
        f"{path} has type {type(obj).__name__}, which has no canonical JSON form; "
        "use numbers, strings, lists, dicts, numpy values or dataclasses of those."
    )


def canonical_json(obj: Any) -> str:
    """Canonical JSON text of ``obj`` (sorted keys, no whitespace), the input of every key."""
    return json.dumps(canonical(obj), sort_keys=True, separators=(",", ":"), allow_nan=False)


def fingerprint(*arrays: Any) -> str:
    """Hash the dtype, shape and bytes of each array (blake2b, 128-bit hex digest).

    Parameters
    ----------
    *arrays : array-like
        Numeric or boolean arrays of any shape. Arrays are hashed in order, each with its dtype
        and shape, so ``fingerprint(a, b) != fingerprint(b, a)`` and a reshape changes the result.

    Returns
    -------
    str
        32 hexadecimal characters. About 1 GB/s: a (60000, 1568) float32 matrix takes ~0.4 s.
    """
    digest = hashlib.blake2b(digest_size=16)
    for i, array in enumerate(arrays):
        arr = np.ascontiguousarray(array)
        if arr.dtype.hasobject:
            raise ValueError(
                f"fingerprint argument {i} has dtype object; convert it to a numeric or "
                "fixed-width string array first (e.g. np.asarray(x, dtype=str))."
            )
        digest.update(f"{arr.dtype.str}{arr.shape};".encode())
        digest.update(memoryview(arr).cast("B"))
    return digest.hexdigest()


class ResultStore:
    """Directory of parquet tables addressed by configuration hashes.

    Parameters
    ----------
    root : str or path-like
        Directory holding the entries; created if missing. For cluster runs it must be on a
        filesystem shared by the workers.
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"ResultStore({str(self.root)!r})"

    @staticmethod
    def key(config: Mapping[str, Any], fingerprint: str) -> str:
        """sha256 hex key of the canonical configuration, input fingerprint and library version."""
        payload = {"config": config, "fingerprint": fingerprint, "library_version": LIBRARY_VERSION}
        return hashlib.sha256(canonical_json(payload).encode()).hexdigest()

    def _paths(self, key: str) -> tuple[Path, Path]:
        if len(key) < 3 or not all(c in "0123456789abcdef" for c in key):
            raise ValueError(
                f"key must be a hex digest as returned by ResultStore.key; got {key!r}."
            )
        folder = self.root / key[:2]
        return folder / f"{key}.parquet", folder / f"{key}.json"

    def _discard(self, key: str, reason: str) -> None:
        logger.warning("result store %s: entry %s is %s; deleting it so it is recomputed.",
                       self.root, key, reason)
        for path in self._paths(key):
            path.unlink(missing_ok=True)

    def _verified(self, key: str) -> tuple[dict, bytes] | None:
        """Sidecar and parquet bytes of a complete, checksum-valid entry, else ``None``."""
        data_path, meta_path = self._paths(key)
        if not meta_path.exists():
            if data_path.exists():
                self._discard(key, "partial (table without sidecar, e.g. a killed writer)")
            return None
        try:
            sidecar = json.loads(meta_path.read_text())
            data = data_path.read_bytes()
        except (OSError, json.JSONDecodeError) as err:
            self._discard(key, f"unreadable ({err})")
            return None
        if hashlib.sha256(data).hexdigest() != sidecar.get("sha256"):
            self._discard(key, "corrupt (parquet checksum mismatch)")
            return None
        return sidecar, data

    def has(self, key: str) -> bool:
        """Whether a complete, checksum-valid entry exists for ``key``."""
        return self._verified(key) is not None

    def get(self, key: str) -> pd.DataFrame | None:
        """The stored table for ``key``, or ``None`` when absent, partial or corrupt."""
        found = self._verified(key)
        if found is None:
            return None
        try:
            return pd.read_parquet(io.BytesIO(found[1]))
        except Exception as err:  # a checksum-valid but undecodable file: wrong writer version
            self._discard(key, f"undecodable ({err})")
            return None

    def info(self, key: str) -> dict | None:
        """The sidecar of a valid entry (config, fingerprint, meta, created, sha256, …)."""
        found = self._verified(key)
        return None if found is None else found[0]

    def put(
        self,
        key: str,
        df: pd.DataFrame,
        meta: Mapping[str, Any] | None = None,
        *,
        config: Mapping[str, Any] | None = None,
        fingerprint: str | None = None,
    ) -> None:
        """Write ``df`` under ``key`` atomically (table first, sidecar last).

        Parameters
        ----------
        key : str
            From :meth:`key`.
        df : pandas.DataFrame
            Table to store; columns must be parquet-representable (no mixed-type object columns).
        meta : mapping, optional
            Provenance recorded in the sidecar, e.g. seeds and timings; canonicalised like configs.
        config, fingerprint : optional
            The inputs of :meth:`key`, recorded in the sidecar so that an entry explains itself.
        """
        if not isinstance(df, pd.DataFrame):
            raise ValueError(f"df must be a pandas DataFrame; got {type(df).__name__}.")
        data_path, meta_path = self._paths(key)
        data_path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        df.to_parquet(buffer, engine="pyarrow")
        data = buffer.getvalue()
        sidecar = {
            "key": key,
            "config": canonical(config) if config is not None else None,
            "fingerprint": fingerprint,
            "meta": canonical(dict(meta or {}), "meta"),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "library_version": LIBRARY_VERSION,
            "n_rows": len(df),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        atomic_write_bytes(data_path, data)
        atomic_write_bytes(meta_path, json.dumps(sidecar, indent=1, sort_keys=True).encode())


def cached(
    store: ResultStore,
    config: Mapping[str, Any],
    fingerprint: str,
    compute_fn: Callable[[], pd.DataFrame],
    meta: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Return the stored table for ``(config, fingerprint)``, computing and storing it if needed.

    ``compute_fn`` is called with no arguments only on a miss (including a corrupt entry).
    """
    key = store.key(config, fingerprint)
    df = store.get(key)
    if df is None:
        df = compute_fn()
        store.put(key, df, meta, config=config, fingerprint=fingerprint)
    return df
