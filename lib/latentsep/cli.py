"""The ``latentsep`` command: ``advise``, ``separation`` and ``calibrate``.

Examples::

    latentsep advise pilot_embeddings.npy --table pilot.csv --label finding \\
        --json advice.json --html advice.html
    latentsep advise --encoder all-minilm-l6-v2 --input-column text --table pilot.parquet \\
        --label toxic --attributes gender religion
    latentsep separation pilot_embeddings.npy --table pilot.csv --label finding --method classifier
    latentsep calibrate --results results/quick --out lib/latentsep/resources/calibration.json

Bad input (unknown column, non-binary label, single-valued attribute, mismatched rows, NaN
embeddings, unreadable files) prints one ``latentsep: error: …`` line and exits with status 2;
output files are written only after everything succeeded, each atomically.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from latentsep.checks import check_finite

EMBEDDING_SUFFIXES = (".npy", ".npz", ".pt", ".parquet")
TABLE_SUFFIXES = (".csv", ".parquet")
EMBEDDING_KEYS = ("embeddings", "z")


class InputError(ValueError):
    """Bad command-line input (reported with exit status 2)."""


def integer(minimum: int, fix: str = "") -> Callable[[str], int]:
    """An argparse ``type``: an integer >= ``minimum``, else a message naming value and fix.

    argparse prefixes the message with the option (``argument --permutations: ...``) and exits
    with status 2, before any file is read.
    """
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(
                f"must be an integer >= {minimum}; got {text!r}.{' ' + fix if fix else ''}")
        return value

    return parse


def number(low: float, high: float = math.inf, *, low_open: bool = False,
           high_open: bool = False, fix: str = "") -> Callable[[str], float]:
    """An argparse ``type``: a finite float in the interval from ``low`` to ``high``."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        above = value > low if low_open else value >= low
        below = value < high if high_open else value <= high
        if not (math.isfinite(value) and above and below):
            interval = (f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
                        if math.isfinite(high) else f"{'>' if low_open else '>='} {low:g}")
            raise argparse.ArgumentTypeError(
                f"must be a finite number {'in ' if math.isfinite(high) else ''}{interval}; "
                f"got {text!r}.{' ' + fix if fix else ''}")
        return value

    return parse


def load_embeddings(path: str | Path, key: str | None = None) -> np.ndarray:
    """Read an (n, d) embedding matrix from .npy, .npz, .pt or .parquet.

    Parameters
    ----------
    path : path
    key : str, optional
        Array name inside an .npz / .pt dict, or column of a .parquet holding one vector per row.
        Default: the only array, else ``embeddings`` or ``z``; for .parquet, every column (all
        numeric) or the only column when it holds vectors.

    Returns
    -------
    ndarray, shape (n, d), float32 or float64

    Raises
    ------
    InputError
        Unknown suffix, unreadable file, missing key, non-numeric or non-2-D content, NaN/inf.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EMBEDDING_SUFFIXES:
        raise InputError(
            f"embeddings file {path} has suffix {suffix!r}; use one of {list(EMBEDDING_SUFFIXES)}."
        )
    try:
        if suffix == ".npy":
            z = np.load(path, allow_pickle=False)
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                z = data[_pick(list(data.files), key, path)]
        elif suffix == ".pt":
            import torch

            obj = torch.load(path, map_location="cpu", weights_only=True)
            if isinstance(obj, dict):
                obj = obj[_pick(list(obj), key, path)]
            if not torch.is_tensor(obj):
                raise InputError(f"{path} holds a {type(obj).__name__}, not a tensor; save the "
                                 "(n, d) embedding tensor itself or a dict of tensors.")
            z = obj.detach().float().numpy()
        else:
            z = _parquet_matrix(pd.read_parquet(path), key, path)
    except InputError:
        raise
    except (OSError, ValueError, EOFError, RuntimeError, pickle.UnpicklingError,
            zipfile.BadZipFile) as err:
        raise InputError(f"cannot read embeddings file {path}: {err}") from err
    if z.ndim != 2 or not np.issubdtype(z.dtype, np.number):
        raise InputError(
            f"embeddings in {path} must be a numeric (n_samples, n_features) matrix; got shape "
            f"{z.shape}, dtype {z.dtype}."
        )
    try:
        check_finite(z, f"embeddings ({path})")
    except ValueError as err:
        raise InputError(str(err)) from err
    return z


def _pick(names: list[str], key: str | None, path: Path) -> str:
    if key is not None:
        if key not in names:
            raise InputError(f"{path} has no array {key!r}; it holds {names}.")
        return key
    if len(names) == 1:
        return names[0]
    for name in EMBEDDING_KEYS:
        if name in names:
            return name
    raise InputError(f"{path} holds several arrays {names}; choose one with --embeddings-key.")


def _parquet_matrix(df: pd.DataFrame, key: str | None, path: Path) -> np.ndarray:
    if key is not None or (df.shape[1] == 1 and not pd.api.types.is_numeric_dtype(df.dtypes.iloc[0])):
        column = _pick([str(c) for c in df.columns], key, path)
        try:
            return np.stack([np.asarray(v, dtype=float) for v in df[column]])
        except (TypeError, ValueError) as err:
            raise InputError(f"column {column!r} of {path} does not hold equal-length numeric "
                             f"vectors: {err}") from err
    non_numeric = [str(c) for c, t in df.dtypes.items() if not pd.api.types.is_numeric_dtype(t)]
    if non_numeric:
        raise InputError(
            f"{path} has non-numeric columns {non_numeric[:5]}; store only the embedding "
            "dimensions as columns, or one vector column selected with --embeddings-key."
        )
    return df.to_numpy()


def load_table(path: str | Path) -> pd.DataFrame:
    """Read the label/attribute table from .csv or .parquet (raises ``InputError``)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InputError(f"table file {path} has suffix {suffix!r}; use .csv or .parquet.")
    try:
        return pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as err:
        raise InputError(f"cannot read table file {path}: {err}") from err


def _inputs(args: argparse.Namespace) -> tuple[np.ndarray, pd.DataFrame, list[str] | None]:
    """Embeddings, table and attribute list of ``advise`` / ``separation``."""
    table = load_table(args.table)
    if args.encoder:
        if args.embeddings is not None:
            raise InputError("pass either an embeddings file or --encoder, not both.")
        if not args.input_column:
            raise InputError("--encoder needs --input-column (the column of image paths or texts).")
        if args.input_column not in table.columns:
            raise InputError(f"unknown input column {args.input_column!r}; the table has "
                             f"{list(map(str, table.columns))}.")
        from latentsep.encoders import WeightsUnavailableError, embed_dataset, get_encoder

        try:
            z = embed_dataset(get_encoder(args.encoder), table[args.input_column].tolist(),
                              cache_dir=args.cache_dir)
        except WeightsUnavailableError as err:
            raise InputError(str(err)) from err
    elif args.embeddings is None:
        raise InputError("pass an embeddings file (.npy, .npz, .pt, .parquet) or --encoder.")
    else:
        z = load_embeddings(args.embeddings, args.embeddings_key)
    attributes = args.attributes
    if attributes is None:
        attributes = [c for c in table.columns if c not in (args.label, args.input_column)]
    return np.asarray(z), table, attributes


def _write_outputs(outputs: dict[Path, str]) -> None:
    """Write every rendered output, all or none (called once everything has been computed).

    Each text goes to a temporary file next to its target first; only when all of them are
    written are they renamed into place, so a failure (full disk, unwritable folder) leaves no
    output and no temporary file behind.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for path, text in outputs.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            staged.append((Path(tmp), path))
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.chmod(tmp, 0o644)
        for tmp, path in staged:
            os.replace(tmp, path)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)


def _advise(args: argparse.Namespace) -> None:
    from latentsep.advisor import advise
    from latentsep.calibration import load_calibration

    z, table, attributes = _inputs(args)
    calibration = load_calibration(args.calibration)
    verify_options = {"seeds": tuple(range(args.verify_seeds)), "k_train": args.verify_k,
                      "progress": not args.quiet}
    report = advise(z, table, label=args.label, attributes=attributes, calibration=calibration,
                    n_permutations=args.permutations, n_bootstrap=args.bootstrap, seed=args.seed,
                    confidence=args.confidence, min_effect=args.min_effect,
                    minority_share=args.minority_share, max_values=args.max_values,
                    missing=args.missing, verify=args.verify, verify_options=verify_options)
    outputs = {}
    if args.json:
        outputs[Path(args.json)] = report.to_json()
    if args.html:
        outputs[Path(args.html)] = report.to_html()
    _write_outputs(outputs)
    if not args.quiet:
        print(report.to_text(), end="")
        for path in outputs:
            print(f"wrote {path}")
        print(f"({report.seconds['total']:.1f} s)")


def _separation(args: argparse.Namespace) -> None:
    from latentsep.advisor import binary_label, comparison_separation, comparisons
    from latentsep.checks import as_2d_float

    z, table, attributes = _inputs(args)
    z = as_2d_float(z, "embeddings")
    if len(table) != len(z):
        raise InputError(f"the table has {len(table):,} rows but the embeddings have {len(z):,}; "
                         "pass one table row per embedding row, in the same order.")
    y, _ = binary_label(table, args.label)
    comps = comparisons(table, attributes, max_values=args.max_values, missing=args.missing)
    sep = comparison_separation(z, y, comps, {
        "method": args.method, "pca_variance": None if args.no_pca else args.pca_variance,
        "bins": args.bins, "edges": args.edges, "n_permutations": args.permutations,
        "n_bootstrap": args.bootstrap, "seed": args.seed, "confidence": args.confidence})
    sep.insert(1, "method", args.method)
    outputs = {}
    if args.json:
        records = json.loads(sep.to_json(orient="records"))  # NaN -> null
        outputs[Path(args.json)] = json.dumps(records, indent=1) + "\n"
    _write_outputs(outputs)
    if not args.quiet:
        print(sep.drop(columns=["column"]).to_string(index=False, float_format="{:.4f}".format))


def _calibrate(args: argparse.Namespace) -> None:
    from latentsep.calibration import calibrate

    calibration = calibrate(args.results, exclude=args.exclude, note=args.note)
    outputs = {Path(args.out): json.dumps(calibration.to_dict(), indent=1, allow_nan=False) + "\n"}
    _write_outputs(outputs)
    if not args.quiet:
        c = calibration
        print(f"calibration from {c.n_points} points in {c.n_datasets} datasets "
              f"({', '.join(c.provenance['chapters'])}): sensitivity = {c.intercept:.4f} + "
              f"{c.slope:.4f} · transfer gap, within-dataset R² {c.r2:.3f}, residual SD "
              f"{c.residual_sd:.4f}, between-dataset SD {c.between_sd:.4f}; wrote {args.out}")


def _common(parser: argparse.ArgumentParser, min_resamples: int) -> None:
    """Inputs and estimator options shared by ``advise`` and ``separation``.

    ``min_resamples`` is the smallest permutation null / bootstrap the command accepts (the
    advisor's intervals need 20; the bare estimate can skip them with 0).
    """
    resamples = integer(min_resamples, "Pass a larger count (default 100)."
                        + (" 0 skips it." if min_resamples == 0 else ""))
    parser.add_argument("embeddings", nargs="?", help="embeddings file: .npy, .npz, .pt or .parquet "
                        "(n rows, one per table row)")
    parser.add_argument("--table", required=True, help="label and attribute table (.csv, .parquet)")
    parser.add_argument("--label", required=True, help="binary label column")
    parser.add_argument("--attributes", nargs="+", help="attribute columns (default: every other "
                        "column); columns with more than two values are split one-vs-rest")
    parser.add_argument("--embeddings-key", help="array name in .npz/.pt, vector column in .parquet")
    parser.add_argument("--encoder", help="embed --input-column with this encoder instead "
                        "(efficientnet-lite0, all-minilm-l6-v2, ...)")
    parser.add_argument("--input-column", help="column of image paths or texts for --encoder")
    parser.add_argument("--cache-dir", default="cache/embeddings", help="embedding cache folder")
    parser.add_argument("--permutations", type=resamples, default=100, help="permutation-null size")
    parser.add_argument("--bootstrap", type=resamples, default=100, help="bootstrap resamples for CIs")
    parser.add_argument("--seed", type=integer(0, "Seeds are non-negative integers, e.g. 0."),
                        default=0)
    parser.add_argument("--confidence", type=number(0, 1, low_open=True, high_open=True,
                                                       fix="E.g. 0.95 for 95 % intervals."),
                        default=0.95)
    parser.add_argument("--max-values", type=integer(2, "An attribute needs two values to compare."),
                        default=20,
                        help="most distinct values an attribute may have")
    parser.add_argument("--missing", choices=("error", "drop"), default="error",
                        help="missing attribute values: fail, or use the observed rows")
    parser.add_argument("--json", help="write the result as JSON to this file")
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``latentsep`` command."""
    parser = argparse.ArgumentParser(
        prog="latentsep", description="Latent separation and subgroup allocation advice.")
    sub = parser.add_subparsers(dest="command", required=True)

    adv = sub.add_parser("advise", help="which attributes need balancing before fine-tuning",
                         description="Separation with CI and null, predicted allocation "
                         "sensitivity with a prediction interval, and a recommendation per "
                         "attribute.")
    _common(adv, min_resamples=20)
    adv.add_argument("--html", help="write an HTML report with charts (offline) to this file")
    adv.add_argument("--calibration", help="calibration JSON (default: the shipped one)")
    adv.add_argument("--min-effect", type=number(0, fix="E.g. 0.01 (balanced accuracy per unit "
                                                              "share)."), default=0.01,
                     help="smallest sensitivity worth acting on (balanced accuracy per unit share)")
    adv.add_argument("--minority-share", type=number(0, 1, fix="A share of the pilot, e.g. 0.2."),
                     default=0.2,
                     help="below this pilot share, advise collecting the smaller group")
    adv.add_argument("--verify", action="store_true",
                     help="also run a small allocation sweep per attribute to check the prediction")
    adv.add_argument("--verify-seeds", type=integer(2, "Intervals across seeds need two; e.g. 3."),
                     default=3, help="seeds of the --verify sweep")
    adv.add_argument("--verify-k", type=integer(2, "The fine-tuning set needs both groups; e.g. "
                                                             "2000."), default=2000,
                     help="fine-tuning size of --verify")
    adv.set_defaults(func=_advise)

    sep = sub.add_parser("separation", help="the bare latent-separation estimate per attribute")
    _common(sep, min_resamples=0)
    sep.add_argument("--method", default="histogram", help="histogram, classifier, gaussian, "
                     "wasserstein, frechet or mmd")
    sep.add_argument("--pca-variance", type=number(0, 1, low_open=True,
                                                    fix="E.g. 0.70, or --no-pca."), default=0.70)
    sep.add_argument("--no-pca", action="store_true", help="use the standardised features")
    sep.add_argument("--bins", type=integer(2, "A histogram needs two bins; e.g. 50."), default=50)
    sep.add_argument("--edges", choices=("pooled", "reference"), default="pooled")
    sep.set_defaults(func=_separation)

    cal = sub.add_parser("calibrate", help="re-fit the transfer gap → sensitivity calibration")
    cal.add_argument("--results", required=True, help="a profile's results folder, e.g. "
                     "results/quick (reads tables/<chapter>_summary.parquet)")
    cal.add_argument("--out", required=True, help="calibration JSON to write")
    cal.add_argument("--exclude", nargs="*", default=["07_advisor"], help="chapter stems to skip")
    cal.add_argument("--note", default="", help="free text stored in the provenance")
    cal.add_argument("--quiet", action="store_true")
    cal.set_defaults(func=_calibrate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns 0 on success and 2 on bad input (argparse errors exit with 2)."""
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (ValueError, OSError) as err:
        print(f"latentsep: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
