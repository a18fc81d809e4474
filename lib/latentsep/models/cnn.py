"""SimpleCNN, the coloured-MNIST encoder of the paper (§5.1)."""

from __future__ import annotations

import torch
from torch import nn

from latentsep.checks import check_positive_int


class SimpleCNN(nn.Module):
    """Two conv blocks and a linear head, exactly as in the paper.

    ``Conv(C→16, 5×5, pad 2)–ReLU–MaxPool2 → Conv(16→32, 5×5, pad 2)–ReLU–MaxPool2 → flatten →
    Linear(32·(H/4)·(W/4) → n_classes)``. With the paper's 3×28×28 inputs the embedding is the
    1568-d flattened conv output and the model has 17,186 parameters.

    Parameters
    ----------
    in_channels : int
        Image channels (3 for coloured MNIST).
    n_classes : int
        Outputs of the head (2 for digit parity).
    image_size : int
        Height = width of the input in pixels; must be divisible by 4 (two 2× poolings).

    Attributes
    ----------
    features : nn.Sequential
        The encoder ``h``; ``embed(x) = features(x)``.
    head : nn.Linear
        The last layer ``g``, re-initialised in last-layer retraining.
    embedding_dim : int
        Width of the embedding (1568 for 28×28 inputs).
    """

    def __init__(self, in_channels: int = 3, n_classes: int = 2, image_size: int = 28) -> None:
        super().__init__()
        check_positive_int(in_channels, "in_channels")
        check_positive_int(n_classes, "n_classes", minimum=2)
        if check_positive_int(image_size, "image_size", minimum=4) % 4:
            raise ValueError(
                f"image_size must be divisible by 4 (two 2x max-pools); got {image_size}. "
                "Pad or resize the images, e.g. to 28."
            )
        self.input_shape = (in_channels, image_size, image_size)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 16, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        self.embedding_dim = 32 * (image_size // 4) ** 2
        self.head = nn.Linear(self.embedding_dim, n_classes)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Embeddings, shape (N, embedding_dim), from images of shape (N, C, H, W)."""
        if tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(
                f"x must have shape (N, {', '.join(map(str, self.input_shape))}); got "
                f"{tuple(x.shape)}. Build SimpleCNN(in_channels=..., image_size=...) to match."
            )
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits, shape (N, n_classes)."""
        return self.head(self.embed(x))
