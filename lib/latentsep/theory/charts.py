"""Chapter 01's two charts, from the tidy tables of :mod:`latentsep.theory.sweeps`."""

from __future__ import annotations

import pandas as pd

from latentsep.plotting import line_with_band, scatter_with_diagonal

__all__ = ["allowance_chart", "usage_chart"]


def usage_chart(bands: pd.DataFrame) -> object:
    """Median and 10–90 % band, per bin of ε, of the share of the TV allowance the observed gap
    uses (:func:`~latentsep.theory.usage_bands`), one line per bound."""
    return line_with_band(
        bands, x="eps_mid", y="median", lower="lower", upper="upper", color="bound",
        title="Share of the TV allowance used by the observed gap (median, 10–90 % band)",
        x_title="ε (class-conditional TV between the groups, bin centre)",
        y_title="(gap − |ΔAcc|) / (bound − |ΔAcc|)",
    )


def allowance_chart(scatter: pd.DataFrame) -> object:
    """One point per configuration (:func:`~latentsep.theory.allowance_scatter`): the sharp bound's
    TV allowance 2(1−π_a)ε against what the gap needed, with the diagonal a bound must stay under."""
    return scatter_with_diagonal(
        scatter, x="allowance", y="needed", color="population",
        tooltip=["eps", "share_group", "allowance", "needed"],
        x_title="TV allowance 2(1−π_a)ε", y_title="gap − |ΔAcc|",
        title="Sharp bound: what the gap needs vs what TV allows",
    )
