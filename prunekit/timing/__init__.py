"""When to prune: one schedule family (pure objects; no Keras callbacks here).

- :mod:`~prunekit.timing.units`: times in steps, epochs or fractions of training.
- :mod:`~prunekit.timing.plan`: the protocol: a :class:`Timing` ``resolve(length)`` gives a
  :class:`Plan` of :class:`Event` s (step, target, local steps, rewind).
- :mod:`~prunekit.timing.timed`: ``OneShot(target, at)``, ``Gradual(target, begin, end)``,
  ``Hold()``.
- :mod:`~prunekit.timing.iterative`: ``Iterative(rounds, rate, rewind_to)``, IMP + rewinding.
- :mod:`~prunekit.timing.dynamic`: ``DynamicSparse(target, kind="set"|"rigl", ...)``, sparse
  training from step 0 with drop/regrow updates.
- :mod:`~prunekit.timing.local`: a prune split into pi local steps (paper C).
- :mod:`~prunekit.timing.control`: random masks with a mask's per-layer sparsity.

Every timing goes to :class:`prunekit.PruningCallback` (``prunekit.pruning``), which carries
out the plan inside ``model.fit``.
"""
from prunekit.timing import control, local  # noqa: F401
from prunekit.timing.units import Epochs, Fraction, Length, Steps, parse, resolve  # noqa: F401
from prunekit.timing.plan import Event, Plan, Timing  # noqa: F401
from prunekit.timing.timed import Gradual, Hold, OneShot  # noqa: F401
from prunekit.timing.iterative import Iterative  # noqa: F401
from prunekit.timing.dynamic import DynamicSparse  # noqa: F401

__all__ = ["Steps", "Epochs", "Fraction", "Length", "parse", "resolve", "Timing", "Plan", "Event",
           "OneShot", "Gradual", "Hold", "Iterative", "DynamicSparse", "control", "local"]
