"""Locality by steps (Ballas et al. 2020, paper C): one prune split into pi smaller ones.

The k-th of pi steps prunes to

    exponential:  p_k = 1 - (1 - p) ** (k / pi)      (paper C's split)
    linear:       p_k = p * k / pi

recomputing the criterion's statistics (gradient, Fisher) on the masked network before each
step, with no training in between. With pi = 1 this is the plain one-shot prune.
"""
from __future__ import annotations

import numbers

from prunekit.timing import units

SPLITS = ("exponential", "linear")


def targets(target: float, steps: int, split: str = "exponential") -> list[float]:
    """The sparsity after each of ``steps`` local steps; the last is ``target`` exactly."""
    target = units.check_target(target, "target")
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}.")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}.")
    if split == "exponential":
        out = [1.0 - (1.0 - target) ** (k / steps) for k in range(1, steps + 1)]
    else:
        out = [target * k / steps for k in range(1, steps + 1)]
    out[-1] = target
    return out


def prune(callback, target: float, steps: int = 1, split: str = "exponential",
          step: int | None = None) -> list[dict]:
    """Prunes ``callback.model`` to ``target`` in ``steps`` local steps; returns their events.

    ``callback`` is a :class:`prunekit.PruningCallback` whose model is set; each local step is
    one ``callback.prune`` (statistics recomputed on the masked network, no training).
    """
    events = []
    for k, p_k in enumerate(targets(target, steps, split), start=1):
        event = callback.prune(p_k, step=step)
        event["local_step"], event["local_steps"] = k, steps
        events.append(event)
    return events


__all__ = ["targets", "prune", "SPLITS"]
