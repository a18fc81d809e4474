"""Result store: keys, round-trips, corruption and crash safety."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pandas as pd
import pytest

from latentsep import store as store_mod
from latentsep.store import ResultStore, cached, canonical_json, code_fingerprint, fingerprint


@dataclasses.dataclass
class _Head:
    lr: float = 1e-3
    hidden: int = 128


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "attribute": ["colour"] * 4,
            "alpha": np.array([0.0, 0.0, 1.0, 1.0]),
            "seed": np.array([42, 43, 42, 43], dtype=np.int64),
            "value": np.array([0.91, 0.92, 0.88, 0.87], dtype=np.float64),
        }
    )


CONFIG = {"attribute": "colour", "alphas": [0.0, 0.5, 1.0], "seeds": [42, 43], "head": _Head()}


def test_round_trip_and_sidecar(tmp_path):
    store = ResultStore(tmp_path)
    key = store.key(CONFIG, "fp")
    assert not store.has(key) and store.get(key) is None
    df = _table()
    store.put(key, df, {"seeds": np.array([42, 43])}, config=CONFIG, fingerprint="fp")
    assert store.has(key)
    pd.testing.assert_frame_equal(store.get(key), df)
    info = store.info(key)
    assert info["meta"] == {"seeds": [42, 43]}
    assert info["config"]["head"] == {"__class__": "_Head", "lr": 1e-3, "hidden": 128}
    assert info["fingerprint"] == "fp" and info["n_rows"] == 4 and len(info["sha256"]) == 64


@pytest.mark.parametrize(
    "change",
    [
        {"attribute": "digit"},
        {"alphas": [0.0, 0.5, 0.9]},
        {"seeds": [42, 44]},
        {"head": _Head(lr=2e-3)},
        {"head": _Head(hidden=64)},
        {"extra": None},
    ],
)
def test_key_changes_with_every_field(change):
    base = ResultStore.key(CONFIG, "fp")
    assert ResultStore.key({**CONFIG, **change}, "fp") != base


def test_key_ignores_spelling_but_not_fingerprint_or_version(monkeypatch):
    base = ResultStore.key(CONFIG, "fp")
    respelled = {
        "seeds": (np.int64(42), np.int32(43)),
        "head": _Head(lr=np.float64(1e-3)),
        "alphas": np.array([0.0, 0.5, 1.0]),
        "attribute": "colour",
    }
    assert ResultStore.key(respelled, "fp") == base
    assert ResultStore.key(CONFIG, "fp2") != base
    monkeypatch.setattr(store_mod, "LIBRARY_VERSION", "9.9.9")
    assert ResultStore.key(CONFIG, "fp") != base


def test_canonical_rejects_unhashable_values():
    with pytest.raises(TypeError, match=r"config\['f'\] has type function"):
        canonical_json({"f": lambda: 0})
    with pytest.raises(ValueError, match=r"config\['lr'\] is nan"):
        canonical_json({"lr": float("nan")})


def test_fingerprint_sees_dtype_shape_and_bytes():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    base = fingerprint(x)
    assert fingerprint(x.copy()) == base
    assert fingerprint(np.asfortranarray(x)) == base  # layout is not content
    assert fingerprint(x.reshape(4, 3)) != base
    assert fingerprint(x.astype(np.float64)) != base
    y = x.copy()
    y[2, 3] += 1e-3
    assert fingerprint(y) != base
    assert fingerprint(x, y) != fingerprint(y, x)
    assert fingerprint(x[:, ::2]) == fingerprint(np.ascontiguousarray(x[:, ::2]))
    with pytest.raises(ValueError, match="dtype object"):
        fingerprint(np.array([1, "a"], dtype=object))


def test_corrupt_entry_is_detected_deleted_and_recomputed(tmp_path, caplog):
    store = ResultStore(tmp_path)
    calls = []

    def compute():
        calls.append(1)
        return _table()

    first = cached(store, CONFIG, "fp", compute)
    key = store.key(CONFIG, "fp")
    data_path = next(tmp_path.rglob(f"{key}.parquet"))
    raw = bytearray(data_path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data_path.write_bytes(bytes(raw))
    with caplog.at_level(logging.WARNING, logger="latentsep.store"):
        again = cached(store, CONFIG, "fp", compute)
    assert "checksum mismatch" in caplog.text
    assert len(calls) == 2
    pd.testing.assert_frame_equal(again, first)
    assert store.has(key)  # the recomputed entry is valid again
    assert cached(store, CONFIG, "fp", compute) is not None and len(calls) == 2


def test_truncated_sidecar_is_treated_as_missing(tmp_path, caplog):
    store = ResultStore(tmp_path)
    key = store.key(CONFIG, "fp")
    store.put(key, _table())
    sidecar = next(tmp_path.rglob(f"{key}.json"))
    sidecar.write_text(sidecar.read_text()[:20])
    with caplog.at_level(logging.WARNING, logger="latentsep.store"):
        assert store.get(key) is None
    assert "unreadable" in caplog.text
    assert not list(tmp_path.rglob(f"{key}.*"))


def test_crash_between_table_and_sidecar_leaves_no_valid_entry(tmp_path, monkeypatch, caplog):
    store = ResultStore(tmp_path)
    key = store.key(CONFIG, "fp")
    real_write = store_mod.atomic_write_bytes
    written = []

    def crash_on_sidecar(path, data):
        if path.suffix == ".json":
            raise KeyboardInterrupt("killed between the two writes")
        written.append(path)
        real_write(path, data)

    monkeypatch.setattr(store_mod, "atomic_write_bytes", crash_on_sidecar)
    with pytest.raises(KeyboardInterrupt):
        store.put(key, _table())
    assert written and written[0].exists()  # the table landed, its commit record did not
    with caplog.at_level(logging.WARNING, logger="latentsep.store"):
        assert not store.has(key)
    assert "partial" in caplog.text and not written[0].exists()
    monkeypatch.setattr(store_mod, "atomic_write_bytes", real_write)
    store.put(key, _table())
    pd.testing.assert_frame_equal(store.get(key), _table())


def test_crash_during_a_write_leaves_neither_target_nor_temp_file(tmp_path, monkeypatch):
    store = ResultStore(tmp_path)
    key = store.key(CONFIG, "fp")

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(store_mod.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        store.put(key, _table())
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_bad_arguments_name_the_fix(tmp_path):
    store = ResultStore(tmp_path)
    with pytest.raises(ValueError, match="hex digest"):
        store.get("../../etc/passwd")
    with pytest.raises(ValueError, match="pandas DataFrame"):
        store.put(store.key(CONFIG, "fp"), [1, 2, 3])


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A throwaway package ``cfpkg``: ``top`` imports ``mid`` (inside a function) and ``sub.leaf``."""
    root = tmp_path / "cfpkg"
    (root / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "top.py": "import json\n\ndef f():\n    from cfpkg import mid\n    return mid\n",
        "mid.py": "from cfpkg.sub import leaf\nfrom cfpkg.other import NAME\n",
        "other.py": "NAME = 1\n",
        "unrelated.py": "X = 1\n",
        "sub/__init__.py": "",
        "sub/leaf.py": "Y = 2\n",
    }
    for name, text in files.items():
        (root / name).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    code_fingerprint.cache_clear()
    yield root
    code_fingerprint.cache_clear()


def test_code_fingerprint_follows_the_package_imports_transitively(package) -> None:
    before = code_fingerprint("cfpkg.top")
    assert len(before) == 32 and code_fingerprint("cfpkg.top") == before
    for name, changes in [("unrelated.py", False), ("sub/leaf.py", True), ("other.py", True),
                          ("mid.py", True)]:
        code_fingerprint.cache_clear()
        path = package / name
        path.write_text(path.read_text() + "# edited\n")
        after = code_fingerprint("cfpkg.top")
        assert (after != before) == changes, name
        before = after
    assert code_fingerprint("cfpkg.top", "cfpkg.unrelated") != code_fingerprint("cfpkg.top")


def test_code_fingerprint_names_a_module_without_source(package) -> None:
    with pytest.raises(ValueError, match=r"'cfpkg\.missing' is not a module.*latentsep\.sweep"):
        code_fingerprint("cfpkg.missing")
