"""Atomic file writes: a temporary file beside the target, flushed to disk, then renamed onto it.

A reader (or a resumed run) therefore sees either the old file or the complete new one, never
a half-written file, even if the process is killed mid-write.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (readable by all, like a normal file); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results and web assets are meant to be read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically; return the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj: Any, **dumps_kwargs: Any) -> Path:
    """Write ``obj`` as JSON (``json.dumps(obj, **dumps_kwargs)`` plus a newline) atomically."""
    return atomic_write_text(path, json.dumps(obj, **dumps_kwargs) + "\n")


def atomic_write_parquet(path: str | os.PathLike, table: Any) -> Path:
    """Write a pandas DataFrame as Parquet (``table.to_parquet()``) atomically; return the path."""
    return atomic_write_bytes(path, table.to_parquet())
