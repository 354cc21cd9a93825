"""``prunekit.keras``: the model.fit integration's public names (see :mod:`prunekit.pruning`).

``wrap(model)`` (a pruning-wrapped copy), ``PruningCallback`` (prunes during ``fit`` as a
:mod:`prunekit.timing` schedule says), ``strip(model)`` (an independent plain model with the
zeros baked in), ``NeverPrune`` and ``optimizer_slots``.
"""
from prunekit.pruning import NeverPrune, PruningCallback, optimizer_slots, strip, wrap  # noqa: F401

__all__ = ["wrap", "strip", "PruningCallback", "NeverPrune", "optimizer_slots"]
