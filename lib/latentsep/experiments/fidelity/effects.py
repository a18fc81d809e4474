"""The measured effect of each protocol difference, and the table that lists them.

Each option on which the paper's text, the authors' code and this book's earlier defaults differ
(:func:`~latentsep.experiments.protocol.protocol_table`) is switched alone, starting from the
paper's text, and the numbers it touches are recomputed on the same data:

- head start, encoder (per seed | pinned) and scheduler monitor touch the allocation sweeps:
  :func:`one_option_variants` and :func:`variant_drops` give each group's drop when absent
  (accuracy at 100 % own share minus at 0 %) under each variant, per sweep seed;
- the separation features touch the TVs: :func:`feature_effects` pairs the two runs' TVs by encoder;
- the surrogate's denominator touches chapter 05's penalty: :func:`surrogate_effects` evaluates
  it on the test embeddings with both denominators.

Effects are paired differences (variant − paper's text) within a sweep seed or an encoder. With
three seeds we show the mean and the range of the per-seed differences, not a t-interval.
:func:`differences_table` joins the options, their sources and these effects in words.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import torch

from latentsep import plotting
from latentsep.experiments import protocol as proto
from latentsep.experiments.coloured_mnist import labelled
from latentsep.experiments.protocol import (
    AUTHORS_CODE,
    CURRENT,
    PAPER_TEXT,
    EncoderRun,
    Protocol,
    ProtocolData,
)
from latentsep.experiments.protocol.options import OPTIONS
from latentsep.heads import HeadConfig
from latentsep.models import SimpleCNN
from latentsep.models.training import PretrainConfig
from latentsep.regularise import TVSurrogate
from latentsep.separation import PAPER_ESTIMATOR
from latentsep.stats import full_minus_zero

SWEEP_OPTIONS = ("head_start", "encoder", "plateau_monitor")
EXTRA_VARIANTS = {"head_start": ("pretrained",)}  # values in no preset, tried as well
TOUCHES = {
    "head_start": "drops when absent (allocation sweeps)",
    "encoder": "drops when absent (allocation sweeps)",
    "plateau_monitor": "encoders and drops when absent",
    "separation_features": "TVs (paper's estimator)",
    "surrogate_variance": "TV surrogate (chapter 05's penalty)",
}


def one_option_variants(base: Protocol, others: Sequence[Protocol],
                        extra: Mapping[str, Sequence[str]] | None = None) -> list[Protocol]:
    """``base`` and, per sweep option, ``base`` with that option alone set to each other value.

    Parameters
    ----------
    base : Protocol
        The reference (chapter 03: :data:`~latentsep.experiments.protocol.PAPER_TEXT`).
    others : sequence of Protocol
        Presets whose differing values are tried (the authors' code, the earlier defaults).
    extra : mapping of option to values, optional
        Further values to try (e.g. ``{"head_start": HEAD_STARTS}``).

    Returns
    -------
    list of Protocol
        ``base`` first; each variant is named ``"<option>: <value>"``.
    """
    variants = [base]
    for option in SWEEP_OPTIONS:
        values = [getattr(p, option) for p in others] + list((extra or {}).get(option, ()))
        for value in dict.fromkeys(values):
            if value != getattr(base, option):
                variants.append(dataclasses.replace(base, name=f"{option}: {value}",
                                                    **{option: value}))
    return variants


def variant_drops(data: ProtocolData, variants: Sequence[Protocol], *, base_runs: Mapping[int, EncoderRun],
                  config: PretrainConfig, head: HeadConfig, attributes: Sequence[str],
                  alphas: Sequence[float], k_train: int, k_val: int, cache_dir: str | os.PathLike,
                  ) -> pd.DataFrame:
    """Each group's drop when absent, per sweep seed, under each variant.

    A variant whose scheduler monitor differs from ``variants[0]``'s pre-trains its own encoders
    (``variant.pretrain_config(config)``, the seeds of ``base_runs``; only the first when the
    encoder is pinned); the others use ``base_runs``. Units are cached in ``cache_dir``, so the
    variants the chapter already ran cost nothing.

    Returns
    -------
    pd.DataFrame
        ``variant, option, value, attribute, group, seed, full_minus_zero`` and labels.
    """
    seeds = list(base_runs)
    frames = []
    for variant in variants:
        runs = base_runs
        if variant.plateau_monitor != variants[0].plateau_monitor:
            wanted = seeds if variant.encoder == "per_seed" else seeds[:1]
            runs = proto.pretrained_embeddings(data, SimpleCNN, seeds=wanted,
                                               config=variant.pretrain_config(config),
                                               cache_dir=cache_dir, progress=False)
        pinned = {"sweep_seeds": seeds} if variant.encoder == "pinned" else {}
        sweeps = proto.allocation_sweeps(
            data, runs, attributes=list(attributes), alphas=alphas, k_train=k_train, k_val=k_val,
            head=variant.head_config(head), store_dir=Path(cache_dir) / "sweeps", progress=False,
            **variant.sweep_options(), **pinned)
        option, _, value = variant.name.partition(": ")
        frames.append(full_minus_zero(sweeps, "balanced_accuracy", per_seed=True).assign(
            variant=variant.name, option=option if value else "", value=value))
    return labelled(pd.concat(frames, ignore_index=True))


def paired_effects(table: pd.DataFrame, value: str, pair: Sequence[str], *, by: Sequence[str],
                   variant: str = "variant", base: str | None = None) -> pd.DataFrame:
    """Mean and range of per-unit differences (each variant − ``base``), paired on ``pair``.

    Parameters
    ----------
    table : pd.DataFrame
        Tidy rows with ``variant``, ``by``, ``pair`` and ``value`` columns.
    base : str, optional
        The reference variant; default the first in ``table``.

    Returns
    -------
    pd.DataFrame
        ``variant, *by, <value>`` (variant mean), ``<value>_min``, ``<value>_max`` (its range),
        ``effect`` (mean difference), ``effect_min``,
        ``effect_max``, ``per_unit`` (the differences in words) and ``n``.
    """
    base = table[variant].iloc[0] if base is None else base
    keys = [*by, *pair]
    reference = table[table[variant] == base].set_index(keys)[value]
    rows = []
    for (name, *group), part in table.groupby([variant, *by], sort=False):
        values = part.set_index(keys)[value]
        missing = values.index.difference(reference.index)
        if len(missing):
            raise ValueError(f"variant {name!r} has units {list(missing)[:3]} that {base!r} lacks; "
                             f"run both on the same {list(pair)}.")
        diff = values - reference.reindex(values.index)  # NaN where either value is undefined
        rows.append({variant: name, **dict(zip(by, group, strict=True)),
                     value: part[value].mean(skipna=False),
                     f"{value}_min": part[value].min(skipna=False),
                     f"{value}_max": part[value].max(skipna=False),
                     "effect": diff.mean(skipna=False), "effect_min": diff.min(skipna=False),
                     "effect_max": diff.max(skipna=False), "n": len(diff),
                     "per_unit": ", ".join(f"{d:+.3f}" for d in diff)})
    return pd.DataFrame(rows)


def feature_effects(separations: Mapping[str, pd.DataFrame], estimator: str) -> pd.DataFrame:
    """TVs of ``estimator`` under each protocol's separation features, paired by encoder.

    Parameters
    ----------
    separations : mapping of str to pd.DataFrame
        Protocol label (first: the reference) to its per-seed separation rows.

    Returns
    -------
    pd.DataFrame
        :func:`paired_effects` of ``value`` per attribute, ``variant`` = protocol label.
    """
    rows = pd.concat([sep[sep["estimator"] == estimator].assign(variant=label)
                      for label, sep in separations.items()], ignore_index=True)
    return labelled(paired_effects(rows, "value", ["seed"], by=["attribute"]))


def surrogate_effects(data: ProtocolData, runs: Mapping[int, EncoderRun],
                      attributes: Sequence[str], split: str = "test") -> pd.DataFrame:
    """The TV surrogate on each encoder's ``split`` embeddings, with both denominators.

    Summed over dimensions, as the authors do. Returns :func:`paired_effects` of ``value`` per
    attribute, ``variant`` = ``"within"`` (the reference) or ``"total"``.
    """
    rows = []
    idx = data.splits[split]
    y = torch.as_tensor(data.y[idx])
    for seed, run in runs.items():
        z = torch.as_tensor(run.z[idx], dtype=torch.float64)
        for name in attributes:
            a = torch.as_tensor(data.attribute(name)[0][idx])
            for variance in ("within", "total"):
                value = TVSurrogate(reduction="sum", variance=variance)(z, y, a)
                rows.append({"variant": variance, "attribute": name, "seed": seed,
                             "value": float(value.value)})
    return labelled(paired_effects(pd.DataFrame(rows), "value", ["seed"], by=["attribute"]))


def effect_words(effects: pd.DataFrame, label: str) -> str:
    """``<label>: <mean effect> (per seed <differences>)`` per row, joined by semicolons."""
    return "; ".join(f"{row[label]}: {row['effect']:+.3f} (per seed {row['per_unit']})"
                     for _, row in effects.iterrows())


def differences_table(protocols: Sequence[Protocol], effects: Mapping[str, str]) -> pd.DataFrame:
    """The protocol differences: one row per option on which ``protocols`` differ.

    Parameters
    ----------
    protocols : sequence of Protocol
        Reference first (the paper's text), e.g. ``(PAPER_TEXT, AUTHORS_CODE, CURRENT)``.
    effects : mapping of option to str
        The measured effect of each option in words (options without one read "not measured").

    Returns
    -------
    pd.DataFrame
        ``option``, one column per protocol (its value), ``sources`` (each protocol's source,
        labelled), ``touches`` and ``measured effect``.
    """
    table = proto.protocol_table(*protocols)
    table = table[table["differs"]]
    unknown = sorted(set(effects) - set(OPTIONS))
    if unknown:
        raise ValueError(f"effects names unknown options {unknown}; use {list(OPTIONS)}.")
    names = [p.name for p in protocols]
    sources = [" · ".join(f"*{n}*: {row[f'{n} source']}" for n in names if row[f"{n} source"])
               for _, row in table.iterrows()]
    return pd.DataFrame({
        "option": table["option"].to_numpy(), **{n: table[n].to_numpy() for n in names},
        "sources": sources, "touches": table["option"].map(TOUCHES).to_numpy(),
        "measured effect": [effects.get(o, "not measured") for o in table["option"]],
    })


__all__ = ["SWEEP_OPTIONS", "differences_markdown", "differences_table", "drops_chart", "effect_words",
           "effects_by_option", "feature_effects", "measured_effects",
           "one_option_variants", "paired_effects", "surrogate_effects", "variant_drops"]


def effects_by_option(drop_effects: pd.DataFrame, feature: pd.DataFrame,
                      surrogate: pd.DataFrame) -> dict[str, str]:
    """The measured effect of each option in words, for :func:`differences_table`.

    Parameters
    ----------
    drop_effects : pd.DataFrame
        :func:`paired_effects` of :func:`variant_drops` by ``attribute_label, group_label``.
    feature, surrogate : pd.DataFrame
        From :func:`feature_effects` and :func:`surrogate_effects`.

    Returns
    -------
    dict of str to str
        Option -> ``"<variant> — <group>: <effect> (per seed …); …"`` (drops) or the attribute
        effects (TVs, surrogate), each a paired difference from the paper's text.
    """
    words: dict[str, list[str]] = {}
    drops = drop_effects[drop_effects["variant"].str.contains(": ")]
    for variant, part in drops.groupby("variant", sort=False):
        option, _, value = variant.partition(": ")
        if (part[["effect_min", "effect_max"]] == 0).all(axis=None):
            words.setdefault(option, []).append(
                f"{value}: every drop identical on every seed (the runs did not differ)")
            continue
        labels = part.assign(label=part["attribute_label"] + " " + part["group_label"])
        words.setdefault(option, []).append(f"{value}: drops {effect_words(labels, 'label')}")
    for option, table, what in (("separation_features", feature, "TV"),
                                ("surrogate_variance", surrogate, "surrogate")):
        other = table[table["variant"] != table["variant"].iloc[0]]
        for variant, part in other.groupby("variant", sort=False):
            words.setdefault(option, []).append(
                f"{variant}: {what} {effect_words(part, 'attribute_label')}")
    return {option: " · ".join(lines) for option, lines in words.items()}


def measured_effects(data: ProtocolData, runs: Mapping[int, EncoderRun],
                     separations: Mapping[str, pd.DataFrame], *, config: PretrainConfig,
                     head: HeadConfig, alphas: Sequence[float], k_train: int, k_val: int,
                     cache_dir: str | os.PathLike, base: Protocol = PAPER_TEXT,
                     others: Sequence[Protocol] = (AUTHORS_CODE, CURRENT),
                     extra: Mapping[str, Sequence[str]] | None = EXTRA_VARIANTS,
                     attributes: Sequence[str] = ("digit_group", "colour"),
                     ) -> tuple[pd.DataFrame, dict[str, str]]:
    """Every protocol difference switched alone from ``base``, and its effect (chapter 03).

    By default the paper's text is the reference, the authors' code and this book's earlier
    defaults supply the other values, and the pre-trained head (a plain warm start, in no preset)
    is tried too (:data:`EXTRA_VARIANTS`).

    Runs :func:`one_option_variants` through :func:`variant_drops` (``attributes``' groups, drops
    when absent), :func:`feature_effects` on ``separations`` (label -> per-seed separation rows,
    the reference first) with the paper's estimator, and :func:`surrogate_effects` on ``runs``
    for every attribute of ``data``.

    Returns
    -------
    (pd.DataFrame, dict of str to str)
        :func:`paired_effects` of the drops by attribute and group label (``variant`` names the
        switched option and value), and :func:`effects_by_option`'s words per option.
    """
    variants = one_option_variants(base, others, extra)
    drops = variant_drops(data, variants, base_runs=runs, config=config, head=head,
                          attributes=attributes, alphas=alphas, k_train=k_train, k_val=k_val,
                          cache_dir=cache_dir)
    drop_effects = paired_effects(drops, "full_minus_zero", ["seed"],
                                  by=["attribute_label", "group_label"])
    words = effects_by_option(drop_effects, feature_effects(separations, PAPER_ESTIMATOR),
                              surrogate_effects(data, runs, list(data.attributes.columns)))
    return drop_effects, words


def drops_chart(drop_effects: pd.DataFrame) -> object:
    """Each group's drop under each variant, bars spanning the sweep seeds (one panel per group)."""
    table = drop_effects.assign(group=drop_effects["attribute_label"] + " · "
                                + drop_effects["group_label"])
    return plotting.errorbars_by_panel(table, panel="group", x="full_minus_zero", y="variant",
                                       lower="full_minus_zero_min", upper="full_minus_zero_max",
                                       color="variant")


def differences_markdown(protocols: Sequence[Protocol], effects: Mapping[str, str]) -> str:
    """:func:`differences_table` as a Markdown table (chapter 03).

    Cells in full (a DataFrame's HTML cuts long ones), ``|`` escaped, option and value names in
    code font.
    """
    table = differences_table(protocols, effects)

    def cell(column: str, value: object) -> str:
        text = str(value).replace("|", "\\|").replace("\n", " ")
        return f"`{text}`" if column not in ("sources", "touches", "measured effect") else text

    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(c, row[c]) for c in table.columns) + " |"
              for _, row in table.iterrows()]
    return "\n".join(lines)
