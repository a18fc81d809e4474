"""latentsep: latent separation and subgroup allocation (companion library to arXiv 2512.09496).

Does balancing subgroups in fine-tuning data matter for *your* model? Measure how separated the
subgroups are, class-conditionally, in the frozen encoder's latent space, and check what that
predicts with allocation sweeps of the last layer.

Main entry points
-----------------
- :func:`latentsep.separation.latent_separation` — class-conditional latent separation with a
  permutation null and a bootstrap CI (paper-faithful histogram TV and better estimators);
  :func:`latentsep.separation.separation_table` for many attributes at once.
- :func:`latentsep.transfer.transfer_table` — how much better each group is served by a head
  trained on its own rows than by one trained on the other group's (cross-fitted).
- :func:`latentsep.sweep.run_sweep` — resumable allocation sweeps with batched last-layer heads.
- :mod:`latentsep.stats` — allocation slopes, correlations with CIs, the TV bound check.
- :func:`latentsep.advisor.advise` and the ``latentsep`` command — which attributes need balancing.
- :mod:`latentsep.theory` — the TV bound checked exactly on Gaussian latents.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("latentsep")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

# Imported on first use: `python -m latentsep.bookrun` and the CLI should not pay for torch.
_LAZY = {
    "advise": "latentsep.advisor",
    "latent_separation": "latentsep.separation",
    "marginal_tv": "latentsep.separation",
    "separation_table": "latentsep.separation",
    "transfer_table": "latentsep.transfer",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'latentsep' has no attribute {name!r}")
