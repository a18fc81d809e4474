"""Calibration of the transfer gap → allocation sensitivity, fitted on the book's own experiments.

The advisor (:mod:`latentsep.advisor`) measures each attribute of a pilot sample and needs to turn
the measurement into the quantity a practitioner cares about: how much a subgroup's accuracy moves
when its share of the fine-tuning data moves. The book measures both on every dataset it sweeps,
so each (dataset, attribute) pair of a chapter is one calibration point

- ``x``: **transfer gap** (:mod:`latentsep.transfer`) on the test split, mean over pre-training
  seeds: how much better a group is served by a head trained on its own rows than by one trained
  on the other group's, in balanced accuracy. Schema 1 used the separation excess over the
  permutation null instead; within datasets it ranked the attributes no better than chance in the
  advisor chapter (separated groups whose heads transfer, such as a tint, look as separated as
  groups whose heads do not), so the separation now decides only whether allocation *can*
  matter (the paper's bound), and the gap how much it does;
- ``y``: **attribute sensitivity**, the mean over the attribute's two groups of the OLS slope of
  the group's test balanced accuracy on its own share of the fine-tuning set
  (:func:`latentsep.stats.allocation_slopes` then :func:`latentsep.stats.attribute_sensitivity`),
  in balanced-accuracy units per unit share (share 0 → 1).

The sweeps' fine-tuning sizes and heads differ between datasets, so the calibration is a line with
a **random intercept per dataset** (:func:`fit_calibration`): the slope is estimated within
datasets, and the spread of the dataset intercepts enters the prediction interval for a new
dataset, next to the within-dataset noise, the slope's error and the new point's own uncertainty
in ``x``. The points are stored in the JSON next to the coefficients with their provenance
(chapters, files and checksums, profile, commit), so a fit can be re-done and audited:
``latentsep calibrate --results results/quick --out lib/latentsep/resources/calibration.json``.

Chapters write their points to ``<results>/tables/<chapter>_summary.parquet``; the columns read are
listed in :data:`SUMMARY_COLUMNS`.
"""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from latentsep.checks import check_finite, check_fraction
from latentsep.fileio import atomic_write_text
from latentsep.separation import POOLED_HISTOGRAM
from latentsep.transfer import DEFAULT_C, DEFAULT_COMPONENTS, DEFAULT_REPEATS

SCHEMA_VERSION = 2
X_COLUMN = "transfer_gap"
Y_COLUMN = "sensitivity"
# what <results>/tables/<chapter>_summary.parquet must hold (one row per dataset × attribute): the
# output of latentsep.experiments.tabular.protocol_summaries (or protocol.summarise with metric
# "balanced_accuracy" and the histogram/pooled estimator) plus a dataset column
SUMMARY_COLUMNS = {
    "dataset": "dataset name (e.g. 'coloured_mnist'); the chapter stem when absent",
    "attribute": "attribute name",
    X_COLUMN: "transfer gap (latentsep.transfer: own-group minus other-group head, balanced "
    "accuracy, mean over the two groups) on the test split, mean over pre-training seeds",
    Y_COLUMN: "attribute sensitivity: mean of the two groups' slopes of test balanced accuracy on "
    "own share of the fine-tuning set, mean over seeds",
}  # optional estimator / metric columns are filtered to ESTIMATOR / METRIC
# chapters whose tables are never calibration points: the advisor chapter checks the calibration
EXCLUDED_CHAPTERS = ("07_advisor",)
# the separation estimator the chapters report next to x; the advisor uses the same
SEPARATION_SETTINGS = {"method": "histogram", "pca_variance": 0.70, "bins": 50, "edges": "pooled"}
# the transfer-gap settings behind x (latentsep.transfer defaults); the advisor must use the same
TRANSFER_SETTINGS = {"n_components": DEFAULT_COMPONENTS, "c": DEFAULT_C,
                     "n_repeats": DEFAULT_REPEATS}
ESTIMATOR = POOLED_HISTOGRAM  # the estimator the calibration is fitted on
METRIC = "balanced_accuracy"  # the sweep metric behind the sensitivity
_RESOURCE = "calibration.json"


@dataclass(frozen=True)
class Calibration:
    """A fitted transfer gap → sensitivity model with what is needed for prediction intervals.

    The model is ``y = a_d + slope · x + e`` with a random intercept ``a_d`` per dataset (mean
    ``intercept``, standard deviation ``between_sd``) and within-dataset noise ``e`` (standard
    deviation ``residual_sd``); see :func:`fit_calibration`.

    Attributes
    ----------
    intercept : float
        Mean of the dataset intercepts (balanced accuracy per unit share).
    slope : float
        Within-dataset slope: sensitivity per unit of transfer gap.
    residual_sd : float
        Within-dataset residual standard deviation (``n_points − n_datasets − 1`` d.o.f.).
    between_sd : float
        Standard deviation of the dataset intercepts beyond their sampling noise (method of
        moments, ≥ 0).
    intercept_sd : float
        Sample standard deviation of the fitted dataset intercepts (``n_datasets − 1`` d.o.f.).
    n_points, n_datasets : int
    x_center : float
        Mean over datasets of the dataset means of ``x``.
    x_ss : float
        Within-dataset ``Σ (x − x̄_d)²``: the leverage term of the slope.
    r2 : float
        Share of the within-dataset variance of ``y`` explained by the slope.
    dataset_intercepts : dict
        Group (:func:`calibration_groups`: ``source:dataset``) -> fitted intercept
        ``ȳ_d − slope · x̄_d``.
    points : DataFrame
        ``source, dataset, attribute, x, y``: the calibration points themselves.
    separation : dict
        Settings of the separation estimator the advisor reports (:data:`SEPARATION_SETTINGS`).
    transfer : dict
        Settings of the transfer gap behind ``x`` (:data:`TRANSFER_SETTINGS`).
    provenance : dict
        Where the points came from (chapters, files with SHA-256, profile, commit, date).
    """

    intercept: float
    slope: float
    residual_sd: float
    between_sd: float
    intercept_sd: float
    n_points: int
    n_datasets: int
    x_center: float
    x_ss: float
    r2: float
    dataset_intercepts: dict[str, float]
    points: pd.DataFrame
    separation: dict[str, Any] = field(default_factory=lambda: dict(SEPARATION_SETTINGS))
    transfer: dict[str, Any] = field(default_factory=lambda: dict(TRANSFER_SETTINGS))
    provenance: dict[str, Any] = field(default_factory=dict)

    def predict(
        self, x: Any, x_se: Any = 0.0, *, confidence: float = 0.95
    ) -> pd.DataFrame:
        """Predicted sensitivity with a prediction interval, for attributes of a new dataset.

        Parameters
        ----------
        x : array_like, shape (m,)
            Transfer gap of each new attribute.
        x_se : float or array_like, shape (m,)
            Standard error of each ``x`` (0 treats it as exact).
        confidence : float
            Coverage of the interval for a new attribute's sensitivity.

        Returns
        -------
        DataFrame
            ``prediction, se, df, pi_low, pi_high`` (one row per ``x``): ``se`` is the standard
            deviation of a new point around the prediction, ``df`` the Satterthwaite degrees of
            freedom of its Student-t quantile.
        """
        check_fraction(confidence, "confidence", low_open=True)
        x = np.atleast_1d(np.asarray(x, dtype=float))
        x_se = np.broadcast_to(np.asarray(x_se, dtype=float), x.shape)
        check_finite(x, "x")
        if np.any(~np.isfinite(x_se) | (x_se < 0)):
            raise ValueError(f"x_se must be finite and >= 0; got {x_se.tolist()}.")
        prediction = self.intercept + self.slope * x
        # a new dataset's intercept and the estimated mean intercept (d.o.f. n_datasets − 1) ...
        between = np.full_like(x, self.between_sd**2 + self.intercept_sd**2 / self.n_datasets)
        # ... plus the new point's own noise, the slope's error and the error in x (within d.o.f.)
        within = (self.residual_sd**2 * (1 + (x - self.x_center) ** 2 / self.x_ss)
                  + (self.slope * x_se) ** 2)
        se = np.sqrt(between + within)
        df_between, df_within = self.n_datasets - 1, self.n_points - self.n_datasets - 1
        denominator = between**2 / df_between + within**2 / df_within
        with np.errstate(invalid="ignore", divide="ignore"):
            df = np.where(denominator > 0, (between + within) ** 2 / denominator, df_within)
        half = stats.t.ppf(0.5 + confidence / 2, df) * se
        return pd.DataFrame({"prediction": prediction, "se": se, "df": df,
                             "pi_low": prediction - half, "pi_high": prediction + half})

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (the schema of the shipped ``calibration.json``)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "model": "sensitivity = a_dataset + slope * transfer_gap + e; a_dataset ~ (intercept, "
                     "between_sd^2), e ~ (0, residual_sd^2); slope within datasets",
            "x": SUMMARY_COLUMNS[X_COLUMN],
            "y": SUMMARY_COLUMNS[Y_COLUMN],
            "coefficients": {"intercept": self.intercept, "slope": self.slope},
            **{name: getattr(self, name) for name in _SCALARS},
            "dataset_intercepts": dict(self.dataset_intercepts),
            "separation": dict(self.separation),
            "transfer": dict(self.transfer),
            "provenance": dict(self.provenance),
            "points": self.points.to_dict(orient="records"),
        }

    def summary(self) -> dict[str, Any]:
        """:meth:`to_dict` without the point list (for reports)."""
        return {k: v for k, v in self.to_dict().items() if k != "points"}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        """Inverse of :meth:`to_dict`; raises ``ValueError`` on a missing key or another schema."""
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(
                f"calibration schema_version is {version!r}, this library reads {SCHEMA_VERSION}; "
                "re-fit it with `latentsep calibrate --results <results dir> --out <file>`."
            )
        try:
            scalars = {name: (int if name.startswith("n_") else float)(data[name])
                       for name in _SCALARS}
            return cls(
                intercept=float(data["coefficients"]["intercept"]),
                slope=float(data["coefficients"]["slope"]),
                **scalars,
                dataset_intercepts={str(k): float(v)
                                    for k, v in data["dataset_intercepts"].items()},
                points=pd.DataFrame.from_records(data["points"], columns=list(POINT_COLUMNS)),
                separation=dict(data["separation"]),
                transfer=dict(data["transfer"]),
                provenance=dict(data["provenance"]),
            )
        except KeyError as err:
            raise ValueError(
                f"calibration lacks the key {err}; it is not a file written by latentsep "
                "calibrate. Re-fit it or pass the shipped one (calibration=None)."
            ) from err

    def save(self, path: str | Path) -> None:
        """Write the JSON atomically (nothing is left behind if writing fails)."""
        atomic_write_text(Path(path), json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n")


_SCALARS = ("residual_sd", "between_sd", "intercept_sd", "n_points", "n_datasets", "x_center",
            "x_ss", "r2")
POINT_COLUMNS = ("source", "dataset", "attribute", "x", "y")


def calibration_groups(points: pd.DataFrame) -> np.ndarray:
    """The random-intercept group of each point: ``source:dataset`` (one dataset as embedded by
    one chapter's encoder), or ``dataset`` when the points carry no source."""
    dataset = points["dataset"].astype(str)
    if "source" not in points.columns:
        return dataset.to_numpy()
    source = points["source"].fillna("").astype(str)
    return np.where(source != "", source + ":" + dataset, dataset)


def fit_calibration(
    points: pd.DataFrame, *, provenance: Mapping[str, Any] | None = None
) -> Calibration:
    """Fit sensitivity on the transfer gap with a random intercept per dataset.

    The gap is measured on a pilot-sized sample with a fixed head, the sensitivity by sweeps whose
    fine-tuning size and head differ between datasets, so their relation may shift from one
    dataset to the next. The fit therefore

    1. estimates the slope **within** datasets (each dataset's points centred on its own means:
       the fixed-effects estimator), with residual variance ``σ²`` on ``n − D − 1`` d.o.f.;
    2. gives every dataset its intercept ``a_d = ȳ_d − slope · x̄_d``; their mean is the
       intercept for a new dataset, and their spread beyond sampling noise,
       ``τ² = max(0, var(a_d) − mean_d(σ² / n_d))``, is how far a new dataset may sit from it.

    :meth:`Calibration.predict` adds both variance components (Satterthwaite d.o.f.), so the
    interval for a dataset unlike the calibration's is as wide as the datasets disagree.

    Parameters
    ----------
    points : DataFrame
        One row per (dataset, attribute) with ``dataset`` and numeric ``x`` (transfer gap),
        ``y`` (attribute sensitivity); ``source`` and ``attribute`` are kept when present. A
        random-intercept group is one ``source:dataset`` pair (:func:`calibration_groups`), since
        two chapters may embed the same dataset with different encoders.
    provenance : mapping, optional
        Stored verbatim with the fit.

    Returns
    -------
    Calibration

    Raises
    ------
    ValueError
        Missing columns, non-finite values, fewer than 2 datasets, fewer than ``D + 2`` points,
        or ``x`` constant within every dataset.
    """
    missing = {"dataset", "x", "y"} - set(points.columns)
    if missing:
        raise ValueError(
            f"points lacks columns {sorted(missing)}; pass a table with dataset, x and y."
        )
    x = points["x"].to_numpy(dtype=float)
    y = points["y"].to_numpy(dtype=float)
    check_finite(x, "points['x']")
    check_finite(y, "points['y']")
    dataset = points["dataset"].astype(str).to_numpy()
    names, codes, counts = np.unique(calibration_groups(points), return_inverse=True,
                                     return_counts=True)
    n, d = len(x), len(names)
    if d < 2 or n < d + 2:
        raise ValueError(
            f"points hold {n} point(s) from {d} dataset(s); the calibration needs at least 2 "
            "datasets (to measure how much datasets differ) and datasets + 2 points. Run more "
            "chapters (or attributes) before calibrating."
        )
    x_means = np.bincount(codes, x) / counts
    y_means = np.bincount(codes, y) / counts
    xc, yc = x - x_means[codes], y - y_means[codes]
    x_ss = float(xc @ xc)
    if x_ss <= 0:
        raise ValueError("points['x'] is constant within every dataset; the slope is not "
                         "identifiable.")
    slope = float(xc @ yc / x_ss)
    residuals = yc - slope * xc
    sigma2 = float(residuals @ residuals / (n - d - 1))
    intercepts = y_means - slope * x_means
    intercept_var = float(intercepts.var(ddof=1))
    within_ss = float(yc @ yc)
    table = pd.DataFrame({
        name: (points[name].astype(str).to_numpy() if name in points.columns else [""] * n)
        for name in ("source", "attribute")
    }).assign(dataset=dataset, x=x, y=y)[list(POINT_COLUMNS)]
    return Calibration(
        intercept=float(intercepts.mean()),
        slope=slope,
        residual_sd=math.sqrt(sigma2),
        between_sd=math.sqrt(max(0.0, intercept_var - float(np.mean(sigma2 / counts)))),
        intercept_sd=math.sqrt(intercept_var),
        n_points=n,
        n_datasets=d,
        x_center=float(x_means.mean()),
        x_ss=x_ss,
        r2=float(1 - residuals @ residuals / within_ss) if within_ss > 0 else float("nan"),
        dataset_intercepts=dict(zip(names.tolist(), intercepts.tolist(), strict=True)),
        points=table,
        separation=dict(SEPARATION_SETTINGS),
        transfer=dict(TRANSFER_SETTINGS),
        provenance=dict(provenance or {}),
    )


def summary_files(results_dir: str | Path, exclude: Iterable[str] = EXCLUDED_CHAPTERS) -> list[Path]:
    """The chapters' ``tables/<chapter>_summary.parquet`` files under ``results_dir``, sorted."""
    tables = Path(results_dir) / "tables"
    files = sorted(tables.glob("*_summary.parquet"))
    return [f for f in files if f.name.removesuffix("_summary.parquet") not in set(exclude)]


def read_summaries(
    results_dir: str | Path, exclude: Iterable[str] = EXCLUDED_CHAPTERS
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Calibration points from every chapter summary under ``results_dir``.

    Parameters
    ----------
    results_dir : path
        A profile's results folder, e.g. ``results/quick``.
    exclude : iterable of str
        Chapter stems to skip (default: the advisor chapter, which checks the calibration).

    Returns
    -------
    points : DataFrame
        ``source`` (chapter stem), ``dataset``, ``attribute``, ``x``, ``y``.
    sources : list of dict
        ``chapter, file, sha256, rows`` per file read.

    Raises
    ------
    ValueError
        No summary file, or a file without the columns of :data:`SUMMARY_COLUMNS`.
    """
    files = summary_files(results_dir, exclude)
    if not files:
        raise ValueError(
            f"no chapter summaries under {Path(results_dir) / 'tables'} (files "
            "<chapter>_summary.parquet); execute the chapters first, e.g. `make execute "
            "PROFILE=quick`, then point --results at that profile's results folder."
        )
    frames, sources = [], []
    for path in files:
        chapter = path.name.removesuffix("_summary.parquet")
        df = pd.read_parquet(path)
        missing = {"attribute", X_COLUMN, Y_COLUMN} - set(df.columns)
        if missing:
            raise ValueError(
                f"{path} lacks columns {sorted(missing)}; a chapter summary needs attribute, "
                f"{X_COLUMN} and {Y_COLUMN} (dataset, estimator optional)."
            )
        # protocol_summaries stacks estimators and metrics: keep the calibrated pair
        for column, wanted in (("estimator", ESTIMATOR), ("metric", METRIC)):
            if column in df.columns:
                df = df[df[column] == wanted]
                if df.empty:
                    raise ValueError(f"{path} has no rows with {column} {wanted!r}; the "
                                     f"calibration is fitted on those.")
        dataset = df["dataset"] if "dataset" in df.columns else chapter
        frames.append(pd.DataFrame({"source": chapter, "dataset": dataset,
                                    "attribute": df["attribute"], "x": df[X_COLUMN],
                                    "y": df[Y_COLUMN]}))
        sources.append({"chapter": chapter, "file": path.as_posix(), "rows": len(df),
                        "sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
    return pd.concat(frames, ignore_index=True), sources


def _git_state() -> dict[str, Any]:
    """Commit of the checkout holding this package and whether tracked files differ from it."""
    here = Path(__file__).resolve().parent
    try:
        def git(*args: str) -> str:
            return subprocess.run(["git", *args], cwd=here, capture_output=True, text=True,
                                  timeout=10, check=True).stdout.strip()

        return {"commit": git("rev-parse", "HEAD") or None,
                "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def calibrate(
    results_dir: str | Path, exclude: Iterable[str] = EXCLUDED_CHAPTERS, note: str = ""
) -> Calibration:
    """Fit the calibration from a profile's chapter summaries, recording their provenance.

    Parameters
    ----------
    results_dir : path
        E.g. ``results/quick``; its folder name is recorded as the profile.
    exclude : iterable of str
        Chapter stems to skip.
    note : str
        Free text stored in the provenance (e.g. why a chapter was included).

    Returns
    -------
    Calibration
    """
    results_dir = Path(results_dir)
    points, sources = read_summaries(results_dir, exclude)
    provenance = {
        "results_dir": results_dir.as_posix(),
        "profile": results_dir.name,
        "chapters": sorted({s["chapter"] for s in sources}),
        "datasets": sorted(points["dataset"].astype(str).unique()),
        "files": sources,
        **_git_state(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "separation": dict(SEPARATION_SETTINGS),
        "transfer": dict(TRANSFER_SETTINGS),
        "excluded": sorted(set(exclude)),
        "note": note,
    }
    return fit_calibration(points, provenance=provenance)


def load_calibration(path: str | Path | None = None) -> Calibration:
    """Read a calibration JSON; ``None`` reads the one shipped with the package.

    Raises
    ------
    ValueError
        Unreadable file, invalid JSON, or another schema.
    """
    try:
        if path is None:
            text = resources.files("latentsep").joinpath("resources", _RESOURCE).read_text()
        else:
            text = Path(path).read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        where = "the shipped calibration" if path is None else f"calibration file {path}"
        raise ValueError(
            f"cannot read {where}: {err}. Pass a file written by `latentsep calibrate`."
        ) from err
    return Calibration.from_dict(data)

