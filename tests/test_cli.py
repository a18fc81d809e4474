"""The ``latentsep`` command: file formats, outputs, and exit status 2 with nothing written on error."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from latentsep.calibration import fit_calibration
from latentsep.cli import load_embeddings, main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A small pilot sample (.npy + .csv) and a calibration file."""
    rng = np.random.default_rng(0)
    n = 1200
    y = rng.integers(0, 2, n)
    view = rng.integers(0, 2, n)
    z = rng.normal(size=(n, 12)).astype(np.float32)
    # 'view' moves the label to another direction: the one attribute that needs balancing
    z[:, 0] += 2 * y * (view == 0)
    z[:, 2] += 2 * y * (view == 1)
    z[:, 1] += 1.5 * view
    table = pd.DataFrame({"finding": y, "view": np.where(view == 1, "PA", "AP"),
                          "site": rng.choice(["A", "B", "C"], n), "coin": rng.integers(0, 2, n),
                          "constant": 1, "multi": rng.integers(0, 3, n)})
    np.save(tmp_path / "z.npy", z)
    table.to_csv(tmp_path / "t.csv", index=False)
    x = np.linspace(0, 0.2, 6)
    fit_calibration(pd.DataFrame({"dataset": ["s1", "s2"] * 3, "attribute": list("abcdef"), "x": x,
                                  "y": 0.5 * x + np.array([1, -1, 1, -1, 1, -1]) * 1e-3}),
                    provenance={"chapters": ["synthetic"], "profile": "test"}).save(
        tmp_path / "cal.json")
    return {"z": tmp_path / "z.npy", "table": tmp_path / "t.csv", "cal": tmp_path / "cal.json",
            "dir": tmp_path}


def _advise(files: dict[str, Path], *extra: str, z: Path | None = None) -> list[str]:
    return ["advise", str(z or files["z"]), "--table", str(files["table"]), "--label", "finding",
            "--calibration", str(files["cal"]), "--permutations", "20", "--bootstrap", "20",
            *extra]


def test_advise_prints_the_report_and_writes_json_and_html(files, capsys) -> None:
    out = files["dir"] / "out"
    code = main(_advise(files, "--attributes", "view", "site", "coin", "--json",
                        str(out / "a.json"), "--html", str(out / "a.html")))
    assert code == 0
    stdout = capsys.readouterr().out
    assert "view" in stdout and "site=C" in stdout and "recommendation" in stdout
    data = json.loads((out / "a.json").read_text())
    assert {a["attribute"] for a in data["attributes"]} == {"view", "site=A", "site=B", "site=C",
                                                            "coin"}
    assert data["attributes"][0]["attribute"] == "view"
    assert (out / "a.html").read_text().count("<svg") == 3
    assert sorted(p.name for p in out.iterdir()) == ["a.html", "a.json"]  # no temporary files


@pytest.mark.parametrize("fmt", ["npz", "npz_key", "pt", "pt_dict", "parquet", "parquet_vectors"])
def test_embedding_formats_load_the_same_matrix(files, fmt: str) -> None:
    z = np.load(files["z"])
    path = files["dir"] / f"e.{fmt.split('_')[0]}"
    key = None
    if fmt == "npz":
        np.savez(path, z)
    elif fmt == "npz_key":
        np.savez(path, ids=np.arange(len(z)), embeddings=z)
    elif fmt == "pt":
        torch.save(torch.from_numpy(z), path)
    elif fmt == "pt_dict":
        torch.save({"emb": torch.from_numpy(z), "other": torch.zeros(3)}, path)
        key = "emb"
    elif fmt == "parquet":
        pd.DataFrame(z, columns=[f"d{i}" for i in range(z.shape[1])]).to_parquet(path)
    else:
        pd.DataFrame({"vector": list(z)}).to_parquet(path)
    np.testing.assert_array_equal(load_embeddings(path, key), z)


def test_separation_subcommand_prints_and_writes_the_bare_estimate(files, capsys) -> None:
    out = files["dir"] / "sep.json"
    code = main(["separation", str(files["z"]), "--table", str(files["table"]), "--label",
                 "finding", "--attributes", "view", "coin", "--method", "classifier",
                 "--permutations", "10", "--bootstrap", "10", "--json", str(out)])
    assert code == 0
    rows = json.loads(out.read_text())
    assert [r["attribute"] for r in rows] == ["view", "coin"]
    assert {r["method"] for r in rows} == {"classifier"}
    by_name = {r["attribute"]: r for r in rows}
    assert by_name["view"]["excess"] > 0.3 > abs(by_name["coin"]["excess"])
    assert "classifier" in capsys.readouterr().out


def _garbage(files) -> list[str]:
    bad = files["dir"] / "bad.npy"
    bad.write_bytes(b"this is not a numpy file")
    return _advise(files, z=bad)


def _nan(files) -> list[str]:
    z = np.load(files["z"])
    z[5, 3] = np.nan
    path = files["dir"] / "nan.npy"
    np.save(path, z)
    return _advise(files, "--attributes", "view", z=path)


def _short(files) -> list[str]:
    path = files["dir"] / "short.npy"
    np.save(path, np.load(files["z"])[:-10])
    return _advise(files, "--attributes", "view", z=path)


BAD_INPUTS = {
    "unknown column": (lambda f: _advise(f, "--attributes", "view", "nope"),
                       "unknown attribute column 'nope'"),
    "unknown label": (lambda f: [*_advise(f)[:4], "--label", "nope", *_advise(f)[6:]],
                      "unknown label column 'nope'"),
    "label not binary": (lambda f: [*_advise(f)[:4], "--label", "multi", *_advise(f)[6:]],
                         "label column 'multi' must be binary; found 3"),
    "single-valued attribute": (lambda f: _advise(f, "--attributes", "view", "constant"),
                                "attribute 'constant' has the single value"),
    "mismatched rows": (_short, "the table has 1,200 rows but the embeddings have 1,190"),
    "NaN embeddings": (_nan, "contains 1 NaN/inf value"),
    "unreadable file": (_garbage, "cannot read embeddings file"),
    "missing file": (lambda f: _advise(f, z=f["dir"] / "absent.npy"), "No such file"),
    "wrong suffix": (lambda f: _advise(f, z=f["table"]), "has suffix '.csv'"),
    "bad calibration": (lambda f: [*_advise(f), "--calibration", str(f["table"])],
                        "cannot read calibration file"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_exits_2_with_a_clear_message_and_writes_nothing(files, capsys, case) -> None:
    build, message = BAD_INPUTS[case]
    out = files["dir"] / "out"
    args = build(files)
    before = sorted(p.name for p in files["dir"].iterdir())
    code = main([*args, "--json", str(out / "r.json"), "--html", str(out / "r.html")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("latentsep: error: ") and message in err, err
    assert len(err.strip().splitlines()) == 1  # one line, no traceback
    assert not out.exists()
    assert sorted(p.name for p in files["dir"].iterdir()) == before


def test_argparse_errors_also_exit_2(files) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["advise", str(files["z"]), "--table", str(files["table"])])  # no --label
    assert exc.value.code == 2


def test_console_script_is_installed_and_runs(files) -> None:
    exe = shutil.which("latentsep", path=str(Path(sys.executable).parent))
    assert exe is not None, "pip install -e . installs the latentsep console script"
    done = subprocess.run([exe, *_advise(files, "--attributes", "coin", "nope")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "unknown attribute column 'nope'" in done.stderr


@pytest.mark.slow
def test_readme_example_runs_in_under_a_minute(tmp_path: Path) -> None:
    """Acceptance: the README's command on 10,000 × 1,024 embeddings and 10 attributes."""
    data = tmp_path / "data"
    subprocess.run([sys.executable, str(ROOT / "examples" / "make_example.py"), "--out",
                    str(data)], check=True, capture_output=True, timeout=300)
    exe = shutil.which("latentsep", path=str(Path(sys.executable).parent))
    start = time.perf_counter()
    done = subprocess.run([exe, "advise", str(data / "pilot_embeddings.npy"), "--table",
                           str(data / "pilot.csv"), "--label", "finding", "--html",
                           str(tmp_path / "advice.html")], capture_output=True, text=True,
                          timeout=300)
    seconds = time.perf_counter() - start
    assert done.returncode == 0, done.stderr
    assert seconds < 60, f"took {seconds:.0f} s"
    table = done.stdout
    for column in ("view", "scanner", "site=C", "random", "language"):
        assert column in table


def test_outputs_are_all_or_nothing_when_one_cannot_be_written(files, capsys) -> None:
    blocker = files["dir"] / "blocker"
    blocker.write_text("a file where a folder is needed")
    out = files["dir"] / "ok.json"
    code = main(_advise(files, "--attributes", "view", "--json", str(out), "--html",
                        str(blocker / "r.html")))
    assert code == 2
    assert "latentsep: error:" in capsys.readouterr().err
    assert not out.exists()
    assert not [p for p in files["dir"].iterdir() if p.name.startswith(".")]


NUMERIC_CASES = [  # (command, option, bad value, words of the fix)
    ("advise", "--permutations", "-3", ">= 20"),
    ("advise", "--permutations", "ten", ">= 20"),
    ("advise", "--bootstrap", "5", ">= 20"),
    ("advise", "--seed", "-1", ">= 0"),
    ("advise", "--confidence", "1.5", "(0, 1)"),
    ("advise", "--confidence", "nan", "(0, 1)"),
    ("advise", "--max-values", "1", ">= 2"),
    ("advise", "--min-effect", "-0.1", ">= 0"),
    ("advise", "--minority-share", "2", "[0, 1]"),
    ("advise", "--verify-seeds", "1", ">= 2"),
    ("advise", "--verify-k", "0", ">= 2"),
    ("separation", "--permutations", "-1", "0 skips it"),
    ("separation", "--pca-variance", "0", "(0, 1]"),
    ("separation", "--bins", "1", ">= 2"),
]


@pytest.mark.parametrize(("command", "option", "value", "fix"), NUMERIC_CASES)
def test_every_numeric_option_is_validated_before_any_work(files, capsys, command, option, value,
                                                            fix) -> None:
    """Exit 2 with one message naming the option, the value and the accepted range; no output."""
    out = files["dir"] / "never.json"
    args = ["advise" if command == "advise" else "separation", str(files["z"]), "--table",
            str(files["table"]), "--label", "finding", "--json", str(out), option, value]
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}:" in err and repr(value) in err and fix in err, err
    assert not out.exists()


def test_numeric_options_accept_their_boundaries(files, capsys) -> None:
    code = main(["separation", str(files["z"]), "--table", str(files["table"]), "--label",
                 "finding", "--attributes", "view", "--permutations", "0", "--bootstrap", "0",
                 "--bins", "2", "--pca-variance", "1", "--seed", "0", "--quiet"])
    assert code == 0, capsys.readouterr().err
