"""The paper's coloured-MNIST numbers (§5.1), typed once, and the margins chapter 03's rules allow.

Used by :mod:`~latentsep.experiments.coloured_mnist_claims` (which re-exports them).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PaperValues:
    """The paper's coloured-MNIST results (§5.1), read off its figures to about ±0.005.

    Attributes
    ----------
    tv : dict
        Latent separation (TV, the paper's estimator) per attribute.
    tv_error : dict
        The ± the paper gives with each TV.
    drop : dict
        Balanced accuracy a digit group (1: ≥ 5, 0: < 5) loses at 0 % instead of 100 % own share.
    digit_accuracy : dict
        Balanced accuracy of a digit group at an own share (0.0 or 1.0), keyed ``(group, share)``.
    colour_accuracy : float
        Balanced accuracy of either colour at every allocation (flat).
    authors_check : dict
        The authors' non-vacuousness check 2·TV + Δacc per attribute.
    """

    tv: dict[str, float] = field(default_factory=lambda: {
        "digit_group": 0.110, "colour": 0.041, "Random": 0.037})
    tv_error: dict[str, float] = field(default_factory=lambda: {
        "digit_group": 0.008, "colour": 0.002, "Random": 0.002})
    drop: dict[int, float] = field(default_factory=lambda: {1: 0.155, 0: 0.115})
    digit_accuracy: dict[tuple[int, float], float] = field(default_factory=lambda: {
        (1, 0.0): 0.79, (1, 1.0): 0.945, (0, 0.0): 0.86, (0, 1.0): 0.975})
    colour_accuracy: float = 0.945
    authors_check: dict[str, float] = field(default_factory=lambda: {
        "digit_group": 0.35, "colour": 0.08, "Random": 0.07})

    def excess_over_random(self, attribute: str) -> float:
        """The paper's TV of ``attribute`` minus Random's."""
        return self.tv[attribute] - self.tv["Random"]

    def ratio_to_random(self, attribute: str) -> float:
        """The paper's TV of ``attribute`` divided by Random's (scale-free, as ours is compared)."""
        return self.tv[attribute] / self.tv["Random"]

    def ratio_band(self, attribute: str, read_off: float = 0.005) -> tuple[float, float]:
        """The range of ratios to Random the paper's values allow: each TV ± its error ± the
        read-off error, smallest over largest and largest over smallest."""
        def spread(a: str) -> float:
            return self.tv_error[a] + read_off
        return ((self.tv[attribute] - spread(attribute)) / (self.tv["Random"] + spread("Random")),
                (self.tv[attribute] + spread(attribute)) / (self.tv["Random"] - spread("Random")))


@dataclass(frozen=True)
class Tolerance:
    """Margins the claim rules allow (fixed before computing).

    Attributes
    ----------
    read_off : float
        Error of reading a TV off the paper's figure.
    drop : float
        Half-width around the paper's digit-group drop that our CI must overlap.
    flat : float
        A colour's change counts as flat when its CI lies inside ±flat (under half the smallest
        digit-group drop).
    colour_random : float
        Colour minus Random counts as "≈" when its CI overlaps [0, colour_random].
    """

    read_off: float = 0.005
    drop: float = 0.03
    flat: float = 0.05
    colour_random: float = 0.01


PAPER = PaperValues()
TOLERANCE = Tolerance()
