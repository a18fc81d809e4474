"""Claims that a chapter checks against the paper, and the files the status page is built from.

A chapter states, before computing anything, a rule for "reproduced" for each claim; after computing,
it records our value (with its 95 % CI) next to the paper's. ``write_claims`` stores the list as JSON
under ``results/<profile>/claims/<chapter>.json``; :mod:`latentsep.booktools.pages` renders every such file
into the book's reproduction-status page, each chapter's findings box and the landing page. Nothing
on those pages is typed by hand.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import pandas as pd

from latentsep.checks import check_choice
from latentsep.fileio import atomic_write_text
from latentsep.formatting import interval
from latentsep.verdicts import (  # noqa: F401  (re-exported: chapters import verdicts from here)
    INCONCLUSIVE,
    NOT_CHECKED,
    NOT_REPRODUCED,
    PROTOCOLS,
    REPRODUCED,
    SIDES,
    VERDICTS,
    agreement,
    as_status,
    band_verdict,
    claim_protocol,
    combine,
    decide,
    side_of_zero,
    side_verdict,
    verdict,
)


@dataclass
class Claim:
    """One number (or ordering) the paper reports and a chapter recomputes.

    Attributes
    ----------
    claim_id : str
        Stable identifier, e.g. ``"mnist.tv.digit_group"``.
    description : str
        What is compared, in words.
    paper : str
        The paper's value as reported (``"~0.110 ± 0.008"``, ``"flat"``, ``"A > S ≈ Random"``).
    rule : str
        The rule for "reproduced", stated before the computation.
    ours : float | str | None
        Our value (a number, or a textual outcome such as an ordering).
    ci : tuple[float, float] | None
        Our 95 % confidence interval, when ``ours`` is a number.
    reproduced : str | bool | None
        The verdict, one of :data:`VERDICTS`. ``True``, ``False`` and ``None`` are read as
        "reproduced", "not reproduced" and "not checked" (claim files written before the
        three-way verdict hold them); :attr:`status` always gives the string.
    note : str
        Data source, sample size or caveat that a reader needs next to the number.
    """

    claim_id: str
    description: str
    paper: str
    rule: str
    ours: float | str | None = None
    ci: tuple[float, float] | None = None
    reproduced: str | bool | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        as_status(self.reproduced)  # fail early on an unknown verdict

    @property
    def status(self) -> str:
        """The verdict as one of :data:`VERDICTS`."""
        return as_status(self.reproduced)

    @property
    def protocol(self) -> str:
        """The protocol the claim was checked under (:func:`claim_protocol`)."""
        return claim_protocol(self.claim_id, self.extra)

    def ours_text(self) -> str:
        """Our value formatted with its CI."""
        if self.ours is None:
            return "not run"
        if isinstance(self.ours, float | int):
            if self.ci is not None and all(math.isfinite(c) for c in self.ci):
                return interval(self.ours, *self.ci)
            if "seed_range" in (self.extra or {}):
                first, last = self.extra["seed_range"]
                return (f"{self.ours:.3f} ({self.extra['n_seeds']} encoders: {first:.3f} to "
                        f"{last:.3f})")
            return f"{self.ours:.3f}"
        return str(self.ours)


# Rules for claims' uncertainty (issue 13): no Student-t interval on fewer than MIN_T_DF degrees of
# freedom unless the claim says why, and an interval of a bounded quantity stays inside its range.
# A claim declares what its interval rests on in ``extra``: "ci_df" (degrees of freedom of a
# t-interval), "bounds" ([low, high] of the quantity, e.g. [0, 1] for a TV or an accuracy) and
# "allow_small_df" (the reason, when a small-sample t-interval is deliberate).
MIN_T_DF = 5
"""Fewest degrees of freedom of a Student-t interval a claim may rest on (3 seeds give 2)."""


def interval_problems(
    ci: tuple[float, float] | None,
    *,
    df: float | None = None,
    bounds: tuple[float, float] | None = None,
    allow_small_df: str | None = None,
    label: str = "interval",
) -> list[str]:
    """What is wrong with an interval under the rules above (an empty list when nothing is).

    Parameters
    ----------
    ci : (low, high) or None
        The interval; None or NaN ends are not checked (nothing was claimed).
    df : float, optional
        Degrees of freedom of its Student-t quantile, when it is a t-interval.
    bounds : (low, high), optional
        Range of the quantity (e.g. (0, 1) for a total variation or an accuracy).
    allow_small_df : str, optional
        Why a t-interval on fewer than :data:`MIN_T_DF` degrees of freedom is acceptable here.
    label : str
        Names the interval in the messages.

    Examples
    --------
    >>> interval_problems((-0.785, 1.655), df=2, bounds=(0, 1), label="classifier TV")
    ... # doctest: +NORMALIZE_WHITESPACE
    ['classifier TV: Student-t interval on 2 degrees of freedom (< 5); use more seeds, a bootstrap
      over rows, or pass allow_small_df with the reason.',
     'classifier TV: interval [-0.785, 1.655] leaves the range [0, 1] of the quantity; use an
      interval that respects it (e.g. a percentile bootstrap), nothing clipped silently.']
    """
    problems = []
    if df is not None and df < MIN_T_DF and not allow_small_df:
        problems.append(f"{label}: Student-t interval on {df:g} degrees of freedom (< {MIN_T_DF}); "
                        "use more seeds, a bootstrap over rows, or pass allow_small_df with the reason.")
    if ci is not None and bounds is not None:
        low, high = (float(v) for v in ci)
        lo, hi = (float(v) for v in bounds)
        if not lo <= hi:
            raise ValueError(f"bounds must be (low, high) with low <= high; got {tuple(bounds)}.")
        outside = [v for v in (low, high) if math.isfinite(v) and not lo <= v <= hi]
        if outside:
            problems.append(f"{label}: interval [{low:.3f}, {high:.3f}] leaves the range [{lo:g}, "
                            f"{hi:g}] of the quantity; use an interval that respects it (e.g. a "
                            "percentile bootstrap), nothing clipped silently.")
    return problems


def table_interval_problems(table: pd.DataFrame, label: str = "table") -> list[str]:
    """The rows of a displayed summary over seeds whose interval is a Student-t on fewer than
    :data:`MIN_T_DF` degrees of freedom (an empty list when there are none).

    A row with finite ``ci_low``/``ci_high`` and ``n_seeds − 1 < MIN_T_DF`` is such a t-interval
    unless the table's ``interval`` column says what else it rests on (e.g. a bootstrap of the
    test rows, :mod:`latentsep.row_bootstrap`).

    Examples
    --------
    >>> t = pd.DataFrame({"mean": [0.2], "ci_low": [-0.1], "ci_high": [0.5], "n_seeds": [3]})
    >>> table_interval_problems(t, "changes")[0].split(";")[0]
    'changes: 1 row(s) show a Student-t interval on 2 degrees of freedom (< 5)'
    >>> table_interval_problems(t.assign(interval="row bootstrap of the test rows"))
    []
    """
    if not {"ci_low", "ci_high", "n_seeds"} <= set(table.columns):
        return []
    finite = table["ci_low"].notna() & table["ci_high"].notna()
    t_like = (table["interval"].astype(str).str.contains("t-interval") if "interval" in table
              else pd.Series(True, index=table.index))
    bad = table[finite & t_like & (table["n_seeds"] - 1 < MIN_T_DF)]
    if bad.empty:
        return []
    return [f"{label}: {len(bad)} row(s) show a Student-t interval on "
            f"{int(bad['n_seeds'].min()) - 1} degrees of freedom (< {MIN_T_DF}); show a bootstrap "
            "over rows or the seeds' range."]


def claim_interval_problems(claims: list[Claim]) -> list[str]:
    """:func:`interval_problems` of every claim, from what its ``extra`` declares; a claim with a
    finite interval must declare what it rests on (``extra["interval"]``).

    A test over a chapter's claims (or over ``read_claim_objects(results_dir)``) asserts this is
    empty (issue 13, acceptance 3).
    """
    problems = []
    for claim in claims:
        extra = claim.extra or {}
        finite = claim.ci is not None and any(math.isfinite(float(c)) for c in claim.ci)
        if finite and not extra.get("interval"):
            problems.append(f"{claim.claim_id}: the claim has an interval but does not declare "
                            'what it rests on; set extra["interval"] (and "ci_df" for a '
                            "t-interval).")
        bounds = extra.get("bounds")
        problems += interval_problems(
            claim.ci, df=extra.get("ci_df"), bounds=tuple(bounds) if bounds is not None else None,
            allow_small_df=extra.get("allow_small_df"), label=claim.claim_id)
    return problems


def fill_claim(claim: Claim, row: Mapping[str, float], rule: str, *,
               columns: Sequence[str] = ("change", "ci_low", "ci_high"), negate: bool = False,
               note: str = "", margin: float | None = None, rests_on: str | None = None,
               bounds: tuple[float, float] | None = None) -> Claim:
    """``claim`` with our value, its interval and the verdict read off one table row.

    Used by chapters 04-06 for every claim about a change, a drop or a correlation. A row that
    summarises seeds (it has ``n_seeds``) holds a Student-t interval on ``n_seeds − 1`` degrees
    of freedom; with fewer than :data:`MIN_T_DF` neither it nor a sign test over the encoders can
    decide at 95 %, so the claim is inconclusive (not checked when a number is NaN) and shows the
    encoders' range (``seed_min``, ``seed_max``) instead of a CI.

    Parameters
    ----------
    claim : Claim
        The claim as stated before computing (left unchanged).
    row : mapping
        A row of a result table (``pd.Series`` or dict) holding ``columns``.
    rule : {"below", "above", "contains"}
        The claim's side of 0, decided three ways by :func:`side_verdict`.
    columns : (value, low, high)
        The row's value and the ends of its 95 % interval.
    negate : bool
        Report minus the value, its interval flipped (e.g. an accuracy cost from a change of
        accuracy); the rule applies to the negated interval.
    note : str
        The claim's note.
    margin : float, optional
        Equivalence margin of a ``"contains"`` rule (:func:`side_verdict`).
    rests_on : str, optional
        What the interval rests on when it is not a t-interval over seeds (e.g. "bootstrap over
        attributes"); recorded in ``extra["interval"]``. A row with a ``df`` column (an OLS fit)
        records ``extra["ci_df"]`` from it.
    bounds : (low, high), optional
        Range of the quantity (e.g. (-1, 1) for a correlation), checked by
        :func:`claim_interval_problems`.

    Returns
    -------
    Claim
        A copy with ``ours``, ``ci``, the verdict (``reproduced``; "not checked" when a number is
        NaN), ``note`` and ``extra`` (``interval``, and ``ci_df`` or ``seed_range``) set.

    Examples
    --------
    >>> claim = Claim("x.cost", "accuracy cost", "a cost", "95 % CI above 0")
    >>> fill_claim(claim, {"change": -0.05, "ci_low": -0.08, "ci_high": -0.02}, "above",
    ...            negate=True).ours_text()
    '0.050 [0.020, 0.080]'
    >>> fill_claim(claim, {"change": 0.1, "ci_low": float("nan"), "ci_high": 0.2}, "above").status
    'not checked'
    >>> fill_claim(claim, {"change": 0.1, "ci_low": -0.1, "ci_high": 0.2}, "above").status
    'inconclusive'
    >>> three = fill_claim(claim, {"change": 0.1, "ci_low": -0.5, "ci_high": 0.7, "n_seeds": 3,
    ...                            "seed_min": 0.05, "seed_max": 0.15}, "above")
    >>> three.status, three.ci, three.ours_text()
    ('inconclusive', None, '0.100 (3 encoders: 0.050 to 0.150)')
    """
    check_choice(rule, "rule", SIDES)
    value, low, high = (float(row[c]) for c in columns)
    if negate:
        value, low, high = -value, -high, -low
    extra = {**claim.extra, **({"interval": rests_on} if rests_on else {}),
             **({"bounds": list(bounds)} if bounds is not None else {})}
    if "df" in row:
        extra["ci_df"] = int(row["df"])
    n_seeds = row.get("n_seeds") if hasattr(row, "get") else None
    if n_seeds is None or not math.isfinite(float(n_seeds)):
        return replace(claim, ours=value, ci=(low, high), note=note, extra=extra,
                       reproduced=side_verdict(low, high, rule, margin=margin))
    n_seeds = int(n_seeds)
    if n_seeds - 1 >= MIN_T_DF:
        return replace(claim, ours=value, ci=(low, high), note=note,
                       extra={**extra, "interval": f"t-interval over {n_seeds} seeds",
                              "ci_df": n_seeds - 1},
                       reproduced=side_verdict(low, high, rule, margin=margin))
    first, last = float(row.get("seed_min", math.nan)), float(row.get("seed_max", math.nan))
    if negate:
        first, last = -last, -first
    # Too few encoders to decide at 95 %: a t-interval needs 6 (5 df), and so does a sign test
    # (6 encoders on one side: p = 2 * 2**-6 = 0.031). The range is shown, never judged.
    return replace(claim, ours=value, ci=None, note=note, extra={
        **extra, "interval": f"{n_seeds} encoders cannot decide at 95 % (a t-interval on "
                             f"{n_seeds - 1} degrees of freedom, a sign test at "
                             f"{2 * 2.0 ** -n_seeds:.2f}); their range is shown",
        "seed_range": [first, last], "n_seeds": n_seeds},
        reproduced=decide([first, last], holds=False, fails=False))


#: What a claim judged by :func:`fill_claim_per_encoder` rests on.
PER_ENCODER_ROWS = ("each encoder's 95 % bootstrap interval over its test rows (paired draws for "
                    "a change); the encoders must agree")


def fill_claim_per_encoder(claim: Claim, row: Mapping[str, object], rule: str, *,
                           value: str = "change", negate: bool = False, note: str = "",
                           margin: float | None = None) -> Claim:
    """``claim`` judged encoder by encoder from a table row's ``per_seed`` intervals.

    Each encoder's interval rests on its own evaluation rows (a bootstrap of them, paired for a
    change: :mod:`latentsep.row_bootstrap`) and gets :func:`side_verdict`; an encoder whose
    interval is undefined (e.g. too few draws reached a matched cost) is inconclusive. The
    encoders must agree (:func:`agreement`), as chapter 03's claims do. Used by chapters 05-06.

    Parameters
    ----------
    claim : Claim
        The claim as stated before computing (left unchanged).
    row : mapping
        A row holding ``value`` (the mean over encoders) and ``per_seed``: a list of
        ``(seed, value, ci_low, ci_high)`` (e.g. :func:`~latentsep.experiments.regularisation.
        paired_change`).
    rule : {"below", "above", "contains"}
    negate : bool
        Judge and report minus the values (e.g. an accuracy cost from a change of accuracy).
    note : str
    margin : float, optional
        As in :func:`side_verdict`.

    Returns
    -------
    Claim
        A copy with ``ours`` (the mean, then each encoder's value and interval), ``ci`` None,
        the verdict, ``note`` and ``extra`` (``interval``, ``per_seed`` verdicts, ``per_seed_ci``).

    Examples
    --------
    >>> claim = Claim("x.drop", "a drop", "lower", "below 0 in every encoder")
    >>> row = {"change": -0.02, "per_seed": [(1, -0.03, -0.04, -0.02), (2, -0.01, -0.02, 0.01)]}
    >>> fill_claim_per_encoder(claim, row, "below").status
    'inconclusive'
    >>> fill_claim_per_encoder(claim, row, "above", negate=True).ours
    'mean 0.020; per encoder 0.030 [0.020, 0.040], 0.010 [-0.010, 0.020]'
    """
    check_choice(rule, "rule", SIDES)
    sign = -1.0 if negate else 1.0
    per = [(seed, sign * v, *sorted((sign * lo, sign * hi))) for seed, v, lo, hi in row["per_seed"]]
    verdicts = [INCONCLUSIVE if math.isfinite(v) and not (math.isfinite(lo) and math.isfinite(hi))
                else side_verdict(lo, hi, rule, margin=margin) for _, v, lo, hi in per]
    ours = (f"mean {sign * float(row[value]):.3f}; per encoder " + ", ".join(
        interval(v, lo, hi) if math.isfinite(lo) and math.isfinite(hi) else f"{v:.3f} (no interval)"
        for _, v, lo, hi in per))
    return replace(claim, ours=ours, ci=None, note=note, reproduced=agreement(verdicts), extra={
        **claim.extra, "interval": PER_ENCODER_ROWS, "per_seed": verdicts,
        "per_seed_ci": [[seed, lo, hi] for seed, _, lo, hi in per]})


def write_claims(claims: list[Claim], chapter: str, results_dir: str | Path) -> Path:
    """Store a chapter's claims as ``<results_dir>/claims/<chapter>.json`` and return the path.

    The verdict is written as its string (:attr:`Claim.status`); files holding True/False/None
    from before the three-way verdict are still read.
    """
    path = Path(results_dir) / "claims" / f"{chapter}.json"
    payload = {"chapter": chapter,
               "claims": [asdict(c) | {"reproduced": c.status} for c in claims]}
    atomic_write_text(path, json.dumps(payload, indent=2, default=_json_default))
    return path


def read_claim_objects(results_dir: str | Path) -> list[tuple[str, Claim]]:
    """Every recorded claim under ``results_dir`` as (chapter, :class:`Claim`), chapter by chapter."""
    out = []
    for path in sorted((Path(results_dir) / "claims").glob("*.json")):
        payload = json.loads(path.read_text(encoding="utf-8"))
        for raw in payload["claims"]:
            out.append((payload["chapter"],
                        Claim(**{**raw, "ci": tuple(raw["ci"]) if raw.get("ci") else None})))
    return out


CLAIM_COLUMNS = ["chapter", "claim", "description", "paper", "ours", "rule", "status", "note",
                 "protocol"]


def read_claims(results_dir: str | Path) -> pd.DataFrame:
    """All recorded claims under ``results_dir`` as one tidy table (one row per claim).

    ``status`` is one of :data:`VERDICTS`; ``protocol`` one of :data:`PROTOCOLS`
    (:func:`claim_protocol`).
    """
    rows = [
        {
            "chapter": chapter,
            "claim": claim.claim_id,
            "description": claim.description,
            "paper": claim.paper,
            "ours": claim.ours_text(),
            "rule": claim.rule,
            "status": claim.status,
            "note": claim.note,
            "protocol": claim.protocol,
        }
        for chapter, claim in read_claim_objects(results_dir)
    ]
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


def claims_table(claims: list[Claim]) -> pd.DataFrame:
    """A chapter's claims as a display table (``verdict``: one of :data:`VERDICTS`)."""
    return pd.DataFrame(
        {
            "claim": [c.description for c in claims],
            "paper": [c.paper for c in claims],
            "ours (95% CI)": [c.ours_text() for c in claims],
            "rule": [c.rule for c in claims],
            "verdict": [c.status for c in claims],
        }
    )


_OUTCOME_WORDS = {REPRODUCED: "**holds**", NOT_REPRODUCED: "**does not hold**",
                  INCONCLUSIVE: "**cannot be decided** (the interval straddles its threshold)",
                  NOT_CHECKED: "could not be checked"}


def claims_markdown(claims: list[Claim]) -> str:
    """One bullet per claim saying whether its rule held, so a reader sees at once what failed."""
    return "\n".join(
        f"* {c.description}: the rule {_OUTCOME_WORDS[c.status]} ({c.ours_text()})." for c in claims
    )


def _json_default(obj: object) -> object:
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, tuple | set):
        return list(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} in a claim")
