"""Coloured MNIST exactly as in the paper (§5.1).

Per image: label Y = digit % 2 (parity); digit group A = 1 if digit >= 5 else 0; colour
S ~ Bernoulli(0.5), 0 = red (channel 0), 1 = green (channel 1); Random ~ Bernoulli(0.5), a null
attribute. Colouring: foreground pixels (value > 0) are set to full intensity 1.0 in the colour's
channel (background stays 0 there); each of the other two channels gets pixel / 255 × U(0, 1),
an independent uniform per pixel and channel.

Three independent random streams are spawned from ``seed`` (colour, Random, pixel noise), so
changing the colour probabilities leaves the Random attribute and the noise unchanged, and colour
is drawn as ``u < p`` from fixed uniforms ``u``: raising ``p`` only turns red images green.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from latentsep.checks import as_binary, check_fraction

RED, GREEN = 0, 1
_CHUNK = 4096  # images coloured per block, bounding the memory of the noise draw


def _check_images(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"images must be uint8 of shape (N, H, W); got {images.dtype} {images.shape}. "
            "Pass MnistData.images (0-255), not normalised floats."
        )
    return images


def _check_digits(labels: np.ndarray, n: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (n,) or (labels.size and not np.isin(labels, np.arange(10)).all()):
        raise ValueError(
            f"labels must hold one digit 0-9 per image ({n}); got shape {labels.shape} "
            f"with values {np.unique(labels)[:10].tolist()}."
        )
    return labels.astype(np.int64)


def colourize(images: np.ndarray, colour: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Colour grey digits: full intensity in the colour's channel, pixel × U(0,1) in the others.

    Parameters
    ----------
    images : np.ndarray
        uint8 (N, H, W), 0-255.
    colour : np.ndarray
        (N,) 0/1: 0 = red (channel 0), 1 = green (channel 1). Channel 2 (blue) is always noise.
    rng : np.random.Generator
        Source of the per-pixel uniforms (drawn in blocks of 4,096 images, in order).

    Returns
    -------
    np.ndarray
        float32 (N, 3, H, W) in [0, 1].
    """
    images = _check_images(images)
    colour = as_binary(colour, "colour", len(images))
    n, height, width = images.shape
    out = np.empty((n, 3, height, width), dtype=np.float32)
    channels = np.arange(3)
    for start in range(0, n, _CHUNK):
        block = slice(start, start + _CHUNK)
        grey = images[block].astype(np.float32) / 255.0
        noise = rng.random((len(grey), 3, height, width), dtype=np.float32)
        out[block] = grey[:, None] * noise
        is_colour = channels[None, :] == colour[block, None]  # (n_block, 3)
        foreground = (images[block] > 0).astype(np.float32)[:, None]
        out[block] = np.where(is_colour[:, :, None, None], foreground, out[block])
    return out


def _colour_probabilities(colour_prob: float | Sequence[float], digit_group: np.ndarray) -> np.ndarray:
    """P(green) per image from a scalar or a (group 0, group 1) pair."""
    probs = np.atleast_1d(np.asarray(colour_prob, dtype=np.float64))
    if probs.shape not in {(1,), (2,)}:
        raise ValueError(
            f"colour_prob must be one probability or a pair (P(green | digit < 5), "
            f"P(green | digit >= 5)); got {colour_prob!r}."
        )
    for p in probs:
        check_fraction(float(p), "colour_prob")
    return probs[digit_group] if len(probs) == 2 else np.full(len(digit_group), probs[0])


def make_coloured_mnist(
    images: np.ndarray,
    labels: np.ndarray,
    seed: int,
    *,
    colour_prob: float | Sequence[float] = 0.5,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Coloured MNIST images and their label/attribute table.

    Parameters
    ----------
    images : np.ndarray
        uint8 (N, 28, 28) MNIST digits.
    labels : np.ndarray
        (N,) digits 0-9.
    seed : int
        Seed of the colour, Random and noise streams; same inputs and seed give identical output.
    colour_prob : float or (float, float)
        P(colour = green). The paper uses 0.5. A pair (P(green | digit < 5), P(green | digit >= 5))
        correlates colour with the digit group, for controlled pre-training experiments.

    Returns
    -------
    x : np.ndarray
        float32 (N, 3, 28, 28) in [0, 1].
    table : pd.DataFrame
        N rows, int64 columns ``y`` (digit % 2), ``digit``, ``digit_group`` (digit >= 5),
        ``colour`` (0 red, 1 green), ``random`` (Bernoulli(0.5)).
    """
    images = _check_images(images)
    digits = _check_digits(labels, len(images))
    colour_rng, random_rng, noise_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
    )
    digit_group = (digits >= 5).astype(np.int64)
    p_green = _colour_probabilities(colour_prob, digit_group)
    colour = (colour_rng.random(len(digits)) < p_green).astype(np.int64)
    table = pd.DataFrame(
        {
            "y": digits % 2,
            "digit": digits,
            "digit_group": digit_group,
            "colour": colour,
            "random": random_rng.integers(0, 2, len(digits)),
        }
    )
    return colourize(images, colour, noise_rng), table


def prevalence_subsample(
    group: np.ndarray, prevalence: float, seed: int, *, n: int | None = None
) -> np.ndarray:
    """Indices of a subsample in which group 1 makes up ``prevalence`` of the rows.

    Used to control a group's representation in pre-training data. Drawn without replacement;
    ``round(prevalence * n)`` rows from group 1 and the rest from group 0.

    Parameters
    ----------
    group : np.ndarray
        (N,) 0/1 group membership.
    prevalence : float
        Share of group 1 in the subsample, in [0, 1].
    seed : int
        Seed of the draw.
    n : int, optional
        Subsample size; default the largest size both groups can supply at this prevalence.

    Returns
    -------
    np.ndarray
        Sorted int64 indices into ``group``.
    """
    group = as_binary(group, "group")
    prevalence = check_fraction(prevalence, "prevalence")
    members = [np.flatnonzero(group == value) for value in (0, 1)]
    if n is None:
        limits = [len(members[0]) / (1 - prevalence) if prevalence < 1 else np.inf,
                  len(members[1]) / prevalence if prevalence > 0 else np.inf]  # fmt: skip
        n = int(np.floor(min(limits) + 1e-9))
    n1 = round(prevalence * n)
    if n1 > len(members[1]) or n - n1 > len(members[0]):
        raise ValueError(
            f"n={n} at prevalence={prevalence} needs {n1} rows of group 1 and {n - n1} of group 0, "
            f"but only {len(members[1])} and {len(members[0])} exist; pass a smaller n "
            "(or n=None for the largest feasible size)."
        )
    rng = np.random.default_rng(seed)
    picked = [rng.choice(members[0], n - n1, replace=False), rng.choice(members[1], n1, replace=False)]
    return np.sort(np.concatenate(picked)).astype(np.int64)
