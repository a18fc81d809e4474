"""A small MLP encoder for tabular pre-training (Adult, COMPAS, German credit)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from latentsep.checks import check_fraction, check_positive_int


class TabularMLP(nn.Module):
    """``Linear–ReLU`` blocks with dropout between them, and a linear head.

    ``in_dim → hidden[0] → … → hidden[-1]`` with ReLU after every hidden layer and dropout between
    consecutive hidden layers. The embedding is the last hidden layer's (post-ReLU) activation, so
    it is deterministic in eval mode and the head sees exactly what a cached-embedding head sees.

    Parameters
    ----------
    in_dim : int
        Number of input features (after encoding/standardising the table).
    hidden : sequence of int
        Hidden widths; the last one is the embedding width (default 64).
    n_classes : int
        Outputs of the head.
    dropout : float
        Drop probability between hidden layers, in [0, 1).

    Attributes
    ----------
    body : nn.Sequential
        The encoder ``h``.
    head : nn.Linear
        The last layer ``g``.
    embedding_dim : int
        ``hidden[-1]``.
    """

    def __init__(
        self,
        in_dim: int,
        hidden: Sequence[int] = (128, 64),
        n_classes: int = 2,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        check_positive_int(in_dim, "in_dim")
        check_positive_int(n_classes, "n_classes", minimum=2)
        if len(hidden) == 0:
            raise ValueError("hidden must list at least one width, e.g. (128, 64).")
        widths = [check_positive_int(w, "hidden width") for w in hidden]
        if check_fraction(dropout, "dropout") == 1.0:
            raise ValueError("dropout must be < 1; got 1.0 (every unit would be dropped).")
        self.in_dim = in_dim
        layers: list[nn.Module] = []
        for i, (w_in, w_out) in enumerate(zip([in_dim, *widths[:-1]], widths, strict=True)):
            if i > 0 and dropout > 0:
                layers.append(nn.Dropout(dropout))
            layers += [nn.Linear(w_in, w_out), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.embedding_dim = widths[-1]
        self.head = nn.Linear(self.embedding_dim, n_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Embeddings, shape (N, embedding_dim), from features of shape (N, in_dim)."""
        if x.ndim != 2 or x.shape[1] != self.in_dim:
            raise ValueError(
                f"x must have shape (N, {self.in_dim}); got {tuple(x.shape)}. "
                "Build TabularMLP(in_dim=x.shape[1])."
            )
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits, shape (N, n_classes)."""
        return self.head(self.embed(x))
