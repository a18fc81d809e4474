"""The verdicts of a claim and the rules that reach them (issue 13).

A claim is *reproduced*, *not reproduced*, *inconclusive* (its interval cannot decide: it straddles
the threshold the rule compares with) or *not checked* (a number it needs is undefined). The
helpers here turn an interval and a rule into one of these, and combine the verdicts of a claim's
parts (:func:`combine`) or of its replicates on several encoders (:func:`agreement`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from latentsep.checks import check_choice

#: The four verdicts of a claim. *Inconclusive*: the rule's interval cannot decide (it straddles
#: the threshold the rule compares with); *not checked*: a number the rule needs is undefined.
VERDICTS = ("reproduced", "not reproduced", "inconclusive", "not checked")
REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE, NOT_CHECKED = VERDICTS
_LEGACY = {True: REPRODUCED, False: NOT_REPRODUCED, None: NOT_CHECKED}

#: Protocols a claim can be checked under; a claim is tagged ``extra["protocol"]`` or carries the
#: protocol as a claim-id suffix (``"mnist.digit.drop.ge5@authors_code"``); untagged is the paper's
#: text.
PROTOCOLS = ("paper_text", "authors_code")


def as_status(outcome: str | bool | None) -> str:
    """A rule's outcome as one of :data:`VERDICTS` (bools and None as in older claim files).

    Examples
    --------
    >>> as_status(True), as_status(None), as_status("inconclusive")
    ('reproduced', 'not checked', 'inconclusive')
    """
    if isinstance(outcome, str):
        check_choice(outcome, "verdict", VERDICTS)
        return outcome
    if outcome is None or isinstance(outcome, bool | np.bool_):
        return _LEGACY[None if outcome is None else bool(outcome)]
    raise ValueError(f"verdict must be one of {VERDICTS}, True, False or None; got {outcome!r}.")


def claim_protocol(claim_id: str, extra: Mapping | None = None) -> str:
    """The protocol of a claim: ``extra["protocol"]``, else its ``@<protocol>`` id suffix, else
    ``"paper_text"``.

    Examples
    --------
    >>> claim_protocol("mnist.x@authors_code"), claim_protocol("mnist.x", {"protocol": "authors_code"})
    ('authors_code', 'authors_code')
    >>> claim_protocol("mnist.x")
    'paper_text'
    """
    tagged = (extra or {}).get("protocol")
    suffix = claim_id.rpartition("@")[2] if "@" in claim_id else None
    if tagged and suffix and tagged != suffix:
        raise ValueError(f"claim {claim_id!r} is tagged protocol {tagged!r} but its id says "
                         f"{suffix!r}; tag it one way.")
    found = tagged or suffix or "paper_text"
    check_choice(found, "protocol", PROTOCOLS)
    return found


def decide(numbers: object, *, holds: bool, fails: bool) -> str:
    """A three-way verdict: *not checked* if a number is NaN, else *reproduced* when the rule
    ``holds``, *not reproduced* when it ``fails``, *inconclusive* when the evidence does neither.

    Parameters
    ----------
    numbers : array-like
        Every number the rule reads (an undefined one makes the claim "not checked").
    holds, fails : bool
        Whether the interval shows the claim, and whether it shows its opposite (not both).

    Examples
    --------
    >>> decide([0.1, 0.3], holds=True, fails=False), decide([-0.1, 0.3], holds=False, fails=False)
    ('reproduced', 'inconclusive')
    >>> decide([float("nan")], holds=False, fails=True)
    'not checked'
    """
    if not np.isfinite(np.asarray(numbers, dtype=float)).all():
        return NOT_CHECKED
    if holds and fails:
        raise ValueError("a rule cannot both hold and fail; check the claim's thresholds.")
    return REPRODUCED if holds else NOT_REPRODUCED if fails else INCONCLUSIVE


def combine(parts: Sequence[str | bool | None]) -> str:
    """The verdict of a claim that needs every one of its ``parts``.

    One part not reproduced makes the claim not reproduced; otherwise an unchecked part makes it
    not checked, an inconclusive part inconclusive; it is reproduced only when every part is.

    Examples
    --------
    >>> combine(["reproduced", "inconclusive"]), combine(["inconclusive", "not reproduced"])
    ('inconclusive', 'not reproduced')
    >>> combine([True, True]), combine([])
    ('reproduced', 'not checked')
    """
    statuses = {as_status(p) for p in parts}
    for verdict_ in (NOT_REPRODUCED, NOT_CHECKED, INCONCLUSIVE, REPRODUCED):
        if verdict_ in statuses:
            return verdict_
    return NOT_CHECKED


def agreement(parts: Sequence[str | bool | None]) -> str:
    """The verdict of a claim repeated on several encoders (or datasets): the common verdict when
    every part agrees, *inconclusive* when decided parts disagree, *not checked* if any part is.

    A replicated claim needs every replicate; a single encoder's outcome decides nothing alone.

    Examples
    --------
    >>> agreement(["reproduced"] * 3), agreement(["reproduced", "not reproduced", "reproduced"])
    ('reproduced', 'inconclusive')
    >>> agreement(["not reproduced", "not reproduced"]), agreement(["reproduced", "inconclusive"])
    ('not reproduced', 'inconclusive')
    """
    statuses = {as_status(p) for p in parts}
    if not statuses or NOT_CHECKED in statuses:
        return NOT_CHECKED
    return statuses.pop() if len(statuses) == 1 else INCONCLUSIVE


def band_verdict(low: float, high: float, band_low: float, band_high: float) -> str:
    """Whether an interval agrees with a band of accepted values (the paper's value ± tolerance).

    *Reproduced* when the interval lies inside the band, *not reproduced* when it lies outside,
    *inconclusive* when it reaches across an edge of the band (it cannot decide). A point value
    (``low == high``) is therefore never inconclusive.

    Examples
    --------
    >>> band_verdict(0.13, 0.17, 0.125, 0.185), band_verdict(0.30, 0.40, 0.125, 0.185)
    ('reproduced', 'not reproduced')
    >>> band_verdict(0.10, 0.14, 0.125, 0.185), band_verdict(0.0, 0.5, 0.125, 0.185)
    ('inconclusive', 'inconclusive')
    """
    if not band_low <= band_high:
        raise ValueError(f"band must be (low, high) with low <= high; got ({band_low}, {band_high}).")
    return decide([low, high, band_low, band_high],
                  holds=band_low <= low and high <= band_high,
                  fails=high < band_low or low > band_high)


def verdict(numbers: object, ok: bool) -> bool | None:
    """A two-way rule's outcome (a point against a bar, no interval to straddle it), or None (not
    checked) when a number it needs is undefined (NaN).

    Examples
    --------
    >>> verdict([0.02, 0.05], True), verdict([0.02, float("nan")], True)
    (True, None)
    """
    return bool(ok) if np.isfinite(np.asarray(numbers, dtype=float)).all() else None


#: Where a 95 % interval lies relative to 0, the usual rules of a claim about a change or an r.
SIDES = ("below", "above", "contains")


def side_of_zero(low: float, high: float) -> str:
    """``"below"`` (high < 0), ``"above"`` (low > 0) or ``"contains"`` (neither) for an interval.

    Examples
    --------
    >>> side_of_zero(-0.3, -0.1), side_of_zero(0.1, 0.2), side_of_zero(-0.1, 0.2)
    ('below', 'above', 'contains')
    """
    if high < 0:
        return "below"
    if low > 0:
        return "above"
    return "contains"


def side_verdict(low: float, high: float, rule: str, *, margin: float | None = None) -> str:
    """Three-way verdict of a rule about where a 95 % interval lies relative to 0.

    Parameters
    ----------
    low, high : float
        The interval.
    rule : {"below", "above", "contains"}
        The claim: an effect below 0, above 0, or none. ``"below"``/``"above"``: reproduced when
        the interval lies on that side, not reproduced when it lies on the other, inconclusive
        when it straddles 0. ``"contains"``: not reproduced when the interval excludes 0;
        reproduced when it contains 0 and, with ``margin``, lies inside ±margin; else
        inconclusive.
    margin : float, optional
        Equivalence margin of a ``"contains"`` rule (how small an effect counts as none).

    Examples
    --------
    >>> side_verdict(0.1, 0.3, "above"), side_verdict(-0.3, -0.1, "above")
    ('reproduced', 'not reproduced')
    >>> side_verdict(-0.1, 0.3, "above"), side_verdict(-0.1, 0.3, "contains", margin=0.2)
    ('inconclusive', 'inconclusive')
    """
    check_choice(rule, "rule", SIDES)
    side = side_of_zero(low, high)
    if rule == "contains":
        inside = margin is None or (-margin <= low and high <= margin)
        return decide([low, high], holds=side == "contains" and inside, fails=side != "contains")
    other = "below" if rule == "above" else "above"
    return decide([low, high], holds=side == rule, fails=side == other)


def order_verdict(first: tuple[float, float], second: tuple[float, float]) -> str:
    """Whether ``first`` exceeds ``second``, from their two 95 % intervals.

    *Reproduced* when the intervals are disjoint with ``first`` above, *not reproduced* when
    disjoint with ``first`` below, *inconclusive* when they overlap. Conservative: two intervals
    estimated on the same rows are not paired here.

    Examples
    --------
    >>> order_verdict((0.2, 0.3), (0.1, 0.15)), order_verdict((0.2, 0.3), (0.25, 0.4))
    ('reproduced', 'inconclusive')
    >>> order_verdict((0.0, 0.1), (0.2, 0.3))
    'not reproduced'
    """
    (a_lo, a_hi), (b_lo, b_hi) = first, second
    return decide([a_lo, a_hi, b_lo, b_hi], holds=a_lo > b_hi, fails=a_hi < b_lo)


def ratio_interval(numerator: tuple[float, float],
                   denominator: tuple[float, float]) -> tuple[float, float]:
    """An interval for a ratio of two positive quantities from their intervals (conservative:
    the extreme ratios); NaN when the denominator's interval reaches 0.

    Examples
    --------
    >>> [round(v, 6) for v in ratio_interval((0.2, 0.3), (0.1, 0.2))]
    [1.0, 3.0]
    >>> ratio_interval((0.2, 0.3), (-0.1, 0.2))
    (nan, nan)
    """
    (n_lo, n_hi), (d_lo, d_hi) = numerator, denominator
    if not d_lo > 0 or not n_lo >= 0:
        return (float("nan"), float("nan"))
    return (float(n_lo / d_hi), float(n_hi / d_lo))
