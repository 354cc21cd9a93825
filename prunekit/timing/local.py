"""Locality by steps (Ballas et al. 2020, paper C): one prune split into pi smaller ones.

The k-th of pi steps prunes to

    exponential:  p_k = 1 - (1 - p) ** (k / pi)      (paper C's split)
    linear:       p_k = p * k / pi

recomputing the criterion's statistics (gradient, Fisher) on the masked network before each
step, with no training in between (done by :class:`prunekit.PruningCallback`). With pi = 1
this is the plain one-shot prune.
"""
from __future__ import annotations

import numbers

from prunekit.timing import units

SPLITS = ("exponential", "linear")


def check(steps, split) -> tuple[int, str]:
    """Validated ``(steps, split)``."""
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1 (local pruning steps), got {steps!r}.")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}.")
    return int(steps), split


def targets(target: float, steps: int, split: str = "exponential") -> list[float]:
    """The sparsity after each of ``steps`` local steps; the last is ``target`` exactly."""
    target = units.check_target(target, "target")
    steps, split = check(steps, split)
    if split == "exponential":
        out = [1.0 - (1.0 - target) ** (k / steps) for k in range(1, steps + 1)]
    else:
        out = [target * k / steps for k in range(1, steps + 1)]
    out[-1] = target
    return out


__all__ = ["targets", "check", "SPLITS"]
