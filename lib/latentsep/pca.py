"""Standardised principal-component scores, the space every separation estimate works in."""

from __future__ import annotations

import numpy as np
from scipy import linalg

from latentsep.checks import as_2d_float, check_fraction

__all__ = ["pca_scores"]

_FIRST_EIGENPAIRS = 64


def pca_scores(z: np.ndarray, pca_variance: float | None = 0.70) -> np.ndarray:
    """Standardise the features, then project onto the leading principal components.

    Parameters
    ----------
    z : array_like, shape (n, p)
        Embeddings, one row per sample.
    pca_variance : float in (0, 1] or None
        Keep the fewest components whose cumulative explained variance is ≥ this share (never more
        than the rank). ``None`` returns the standardised features.

    Returns
    -------
    ndarray, shape (n, k)
        Component scores (uncorrelated, variance = eigenvalue), signs fixed so that each column's
        largest-magnitude entry is positive; they do not depend on any label.
    """
    z = as_2d_float(z, "z")
    if pca_variance is not None:
        check_fraction(pca_variance, "pca_variance", low_open=True)
    std = z.std(axis=0)
    if not (std > 0).any():
        raise ValueError("z is constant (every feature has zero variance); nothing to separate.")
    zs = (z - z.mean(axis=0)) / np.where(std > 0, std, 1.0)  # constant features stay at 0
    if pca_variance is None:
        return zs
    n, p = zs.shape
    # eigen-decompose the smaller of the two Gram matrices: same spectrum, same scores
    gram = zs.T @ zs if p <= n else zs @ zs.T
    vals, vecs = _leading_eigh(gram, pca_variance)
    share = np.cumsum(vals) / np.trace(gram)
    rank = int((vals > vals[0] * 1e-10).sum())
    k = min(int(np.searchsorted(share, pca_variance * (1 - 1e-12))) + 1, rank)
    scores = zs @ vecs[:, :k] if p <= n else vecs[:, :k] * np.sqrt(vals[:k])
    # eigenvector signs are arbitrary; fixing them keeps results identical across LAPACK builds
    signs = np.sign(scores[np.abs(scores).argmax(axis=0), np.arange(k)])
    return scores * signs


def _leading_eigh(gram: np.ndarray, share: float) -> tuple[np.ndarray, np.ndarray]:
    """Leading eigenpairs of a PSD matrix, descending, enough to reach ``share`` of its trace.

    Forming all eigenvectors costs several times the tridiagonal reduction itself; embeddings'
    spectra decay, so the top 64 pairs usually suffice and the full decomposition is the fallback.
    """
    m = len(gram)
    vals, vecs = linalg.eigh(gram, subset_by_index=[m - min(_FIRST_EIGENPAIRS, m), m - 1])
    if vals.sum() < share * np.trace(gram) * (1 - 1e-12):
        vals, vecs = linalg.eigh(gram)
    return np.maximum(vals[::-1], 0.0), vecs[:, ::-1]  # roundoff can give eigenvalues of -1e-13
