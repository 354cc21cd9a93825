"""Pruning time as one experiment axis (issue 4).

- :mod:`~prunekit.timing.units`: timings in steps, epochs or fractions of training.
- :mod:`~prunekit.timing.timed`: ``OneShot(target, at)``, ``Gradual(target, begin, end)``,
  ``Hold()`` in those units, resolved to :mod:`prunekit.schedules` step schedules.
- :mod:`~prunekit.timing.local`: a prune split into pi local steps (paper C).
- :mod:`~prunekit.timing.iterative`: ``Iterative(rounds, rate, rewind_to)``, IMP + rewinding.
- :mod:`~prunekit.timing.control`: random masks with a mask's per-layer sparsity; mask reuse.
- :mod:`~prunekit.timing.mask_io`: masks to and from models and ``.npz`` files.
- :mod:`~prunekit.timing.records`: per-event records (function preservation, KL).
- :mod:`~prunekit.timing.callback`: ``TimedPruning``, the PruningCallback using all of these.
- :mod:`~prunekit.timing.trunk`: a shared dense trunk that arms branch from.
"""
from prunekit.timing.units import Epochs, Fraction, Length, Steps, parse, resolve  # noqa: F401
from prunekit.timing.timed import Gradual, Hold, OneShot  # noqa: F401
from prunekit.timing.iterative import Iterative  # noqa: F401

__all__ = ["Steps", "Epochs", "Fraction", "Length", "parse", "resolve",
           "OneShot", "Gradual", "Hold", "Iterative"]
