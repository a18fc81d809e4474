"""Validation of the numeric parameters a profile (``params/<profile>.yaml``) gives the chapters.

A chapter reads its parameters long after the run started; a negative seed count or an α of 1.5
found there costs the whole run up to that cell. :func:`check_chapter_parameters` checks every
numeric entry by its name before any chapter executes, and raises one ``ValueError`` listing each
bad value with the accepted range and the file to fix.

Rules go by the parameter's name (the innermost name a rule knows, so ``REAL.k_train.mimic_cxr``
is a ``k_train``): seeds are integers >= 0, allocations (``ALPHAS``) and prevalences lie in
[0, 1], counts and sizes are integers >= 1 (``null`` allowed where it means "no limit"),
regularisation strengths and effects are numbers >= 0.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

Check = Callable[[Any], bool]


def _is_int(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _is_number(value: Any, low: float, high: float = math.inf, *, high_open: bool = False) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and low <= value and (value < high if high_open else value <= high)


#: (name pattern, description of the accepted values, check), first match wins.
RULES: tuple[tuple[str, str, Check], ...] = (
    (r"(^|_)SEEDS?$", "an integer >= 0", lambda v: _is_int(v, 0)),
    (r"(^|_)(ALPHAS|PREVALENCES|COLOUR_PAIRS)$", "a number in [0, 1]",
     lambda v: _is_number(v, 0.0, 1.0)),
    (r"(^|_)DROPOUT$", "a number in [0, 1)", lambda v: _is_number(v, 0.0, 1.0, high_open=True)),
    (r"(^|_)(LAMBDAS|MIN_EFFECT|FACTORS)$", "a number >= 0", lambda v: _is_number(v, 0.0)),
    (r"(^|_)(MAX_ROWS|K_TRAIN|K_VAL)$", "an integer >= 1 or null",
     lambda v: v is None or _is_int(v, 1)),
    (r"^(N|N_[A-Z_]+|[A-Z_]+_EPOCHS|K_GROUPS|IMAGE_SIZE|[A-Z_]*CELL_SIZES?|BINS_GRID|"
     r"[A-Z_]*HIDDEN|N_IMAGES)$", "an integer >= 1", lambda v: _is_int(v, 1)),
)


def _leaves(value: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(key path, leaf) of nested dicts and lists (list items keep their parent's path)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _leaves(item, (*path, str(key)))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item, path)
    else:
        yield path, value


def _rule(path: tuple[str, ...]) -> tuple[str, Check] | None:
    for name in reversed(path):
        for pattern, accepted, check in RULES:
            if re.search(pattern, name.upper()):
                return accepted, check
    return None


def parameter_problems(stem: str, parameters: Mapping[str, Any]) -> list[str]:
    """Readable lines, one per numeric parameter of chapter ``stem`` outside its accepted range."""
    problems = []
    for path, value in _leaves(parameters, ()):
        rule = _rule(path)
        if rule is not None and not rule[1](value):
            problems.append(f"{stem}.{'.'.join(path)} must be {rule[0]}; got {value!r}")
    return problems


#: The one profile that may run the paper's encoders with random weights.
REHEARSAL_PROFILE = "rehearsal"


def random_weights_problems(profile: str, stem: str, parameters: Mapping[str, Any]) -> list[str]:
    """Random encoder weights (``random-if-missing``) asked for outside the rehearsal profile."""
    if profile == REHEARSAL_PROFILE:
        return []
    return [f"{stem}.{'.'.join(path)} is {value!r}, allowed only in the {REHEARSAL_PROFILE} "
            "profile; use 'pretrained'" for path, value in _leaves(parameters, ())
            if path and path[-1].lower().endswith("weights") and value == "random-if-missing"]


def check_chapter_parameters(source: str, chapters: Mapping[str, Mapping[str, Any]],
                             profile: str = "") -> None:
    """Raise one ``ValueError`` naming every bad numeric parameter of a profile, and any request
    for random encoder weights outside the rehearsal profile.

    Parameters
    ----------
    source : str
        Where the parameters come from (the profile file), named in the message as the place to fix.
    profile : str
        The profile's name.
    chapters : mapping
        ``{chapter stem: {NAME: value}}`` as in the profile file.
    """
    problems = [p for stem, params in chapters.items()
                for p in (*parameter_problems(stem, params or {}),
                          *random_weights_problems(profile, stem, params or {}))]
    if problems:
        raise ValueError(f"{source} has {len(problems)} invalid parameter value(s):\n  "
                         + "\n  ".join(problems) + f"\nFix them in {source}.")
