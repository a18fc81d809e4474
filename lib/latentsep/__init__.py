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

from importlib.metadata import PackageNotFoundError, version

# Torch-free entry points only: `python -m latentsep.booktools.bookrun` and the CLI should not pay for torch.
# The advisor (which trains heads) is `latentsep.advisor.advise`.
from latentsep.separation import latent_separation, marginal_tv, separation_table
from latentsep.transfer import transfer_table

try:
    __version__ = version("latentsep")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = ["__version__", "latent_separation", "marginal_tv", "separation_table", "transfer_table"]
