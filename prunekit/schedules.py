"""Step-count spellings of :mod:`prunekit.timing` (thin aliases kept for existing code).

``schedules.OneShot(target, at_step)`` is ``timing.OneShot(target, at=at_step)`` and
``schedules.Gradual(target, begin_step, end_step, frequency, power, initial)`` is
``timing.Gradual(target, begin=begin_step, end=end_step, frequency=frequency, ...)`` with
every time in optimizer steps (the value of ``optimizer.iterations`` before an update; an
event at step t happens after t updates, ``at_step=0`` before any training). Both return
:class:`prunekit.timing.Timing` objects: ``resolve(None).events`` lists the events.
"""
from __future__ import annotations

import numbers

from prunekit import timing


def resolve_step(value, field: str) -> int:
    """An optimizer step from a user value: a non-negative integer."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer():
            value = int(value)
        else:
            raise TypeError(f"{field} must be an integer optimizer step, got {value!r}.")
    if value < 0:
        raise ValueError(f"{field} must be >= 0 (an optimizer step), got {value}.")
    return int(value)


def OneShot(target: float, at_step: int) -> timing.OneShot:
    """Prune once to ``target`` at optimizer step ``at_step``."""
    return timing.OneShot(target, at=timing.Steps(resolve_step(at_step, "at_step")))


def Gradual(target: float, begin_step: int, end_step: int, frequency: int, power: float = 3,
            initial: float = 0.0) -> timing.Gradual:
    """Zhu & Gupta gradual pruning between optimizer steps ``begin_step`` and ``end_step``
    every ``frequency`` steps (:class:`prunekit.timing.Gradual`)."""
    begin, end = resolve_step(begin_step, "begin_step"), resolve_step(end_step, "end_step")
    if end < begin:
        raise ValueError(f"end_step ({end_step}) must be >= begin_step ({begin_step}).")
    if isinstance(frequency, bool) or not isinstance(frequency, numbers.Integral) or frequency < 1:
        raise ValueError(f"frequency must be an integer >= 1 (optimizer steps), got {frequency!r}.")
    return timing.Gradual(target, begin=timing.Steps(begin), end=timing.Steps(end),
                          frequency=timing.Steps(int(frequency)), power=power, initial=initial)


__all__ = ["OneShot", "Gradual", "resolve_step"]
