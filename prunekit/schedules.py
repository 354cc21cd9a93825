"""When and how much to prune: sparsity targets at optimizer steps.

Protocol every schedule follows (what :class:`prunekit.PruningCallback` relies on):

- ``target_at(step) -> float | None``: the sparsity to reach at a pruning event at ``step``,
  or ``None`` when there is no event at that step;
- ``final_target`` and ``last_step`` (the step of the last event);
- ``get_config()`` / ``from_config(config)``.

Steps are optimizer steps: the value of ``optimizer.iterations`` before the step's update.
The event at step ``t`` happens after ``t`` optimizer updates and before update ``t + 1``;
``at_step=0`` prunes before any training. Steps are never counts of wrapper calls.

All step fields go through :func:`resolve_step`, the one place that turns a user's value
into an optimizer step (a later extension to epochs / fractions of training goes there).
"""
from __future__ import annotations

import numbers


def resolve_step(value, field: str) -> int:
    """An optimizer step from a user value; today only non-negative integers are accepted."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer():
            value = int(value)
        else:
            raise TypeError(f"{field} must be an integer optimizer step, got {value!r}.")
    if value < 0:
        raise ValueError(f"{field} must be >= 0 (an optimizer step), got {value}.")
    return int(value)


def _check_target(value, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{field} must be a number in [0, 1), got {value!r}.")
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{field} must be in [0, 1), got {value}.")
    return float(value)


class Schedule:
    """Base class: subclasses set ``final_target`` and ``last_step`` and define ``target_at``."""

    final_target: float
    last_step: int

    def target_at(self, step: int) -> float | None:
        raise NotImplementedError

    def event_steps(self) -> list[int]:
        """All steps with a pruning event, in order."""
        return [t for t in range(self.last_step + 1) if self.target_at(t) is not None]

    def get_config(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class OneShot(Schedule):
    """Prune once to ``target`` at optimizer step ``at_step``."""

    def __init__(self, target: float, at_step: int):
        self.target = _check_target(target, "target")
        self.at_step = resolve_step(at_step, "at_step")
        self.final_target = self.target
        self.last_step = self.at_step

    def target_at(self, step: int) -> float | None:
        return self.target if step == self.at_step else None

    def event_steps(self) -> list[int]:
        return [self.at_step]

    def get_config(self) -> dict:
        return {"target": self.target, "at_step": self.at_step}


class Gradual(Schedule):
    """Gradual pruning, Zhu & Gupta 2017 ("To prune, or not to prune", eq. 1):

        s_t = s_f + (s_i - s_f) * (1 - (t - t0) / (end - t0)) ** power

    with events at t = t0, t0 + dt, t0 + 2 dt, ... < end and always at ``end_step`` itself,
    which gets exactly ``target`` (s_f); s_i = ``initial``, dt = ``frequency``, power = 3 in
    the paper. When ``end_step - begin_step`` is a multiple of dt this is the paper's
    t0 + n dt = end.
    """

    def __init__(self, target: float, begin_step: int, end_step: int, frequency: int,
                 power: float = 3, initial: float = 0.0):
        self.target = _check_target(target, "target")
        self.initial = _check_target(initial, "initial")
        if self.initial > self.target:
            raise ValueError(f"initial ({initial}) must be <= target ({target}).")
        self.begin_step = resolve_step(begin_step, "begin_step")
        self.end_step = resolve_step(end_step, "end_step")
        if self.end_step < self.begin_step:
            raise ValueError(f"end_step ({end_step}) must be >= begin_step ({begin_step}).")
        if isinstance(frequency, bool) or not isinstance(frequency, numbers.Integral) or frequency < 1:
            raise ValueError(f"frequency must be an integer >= 1 (optimizer steps), got {frequency!r}.")
        self.frequency = int(frequency)
        if isinstance(power, bool) or not isinstance(power, numbers.Real) or power <= 0:
            raise ValueError(f"power must be a number > 0, got {power!r}.")
        self.power = power
        self.final_target = self.target
        self.last_step = self.end_step

    def target_at(self, step: int) -> float | None:
        if step == self.end_step:
            return self.target
        if step < self.begin_step or step > self.end_step or (step - self.begin_step) % self.frequency:
            return None
        progress = (step - self.begin_step) / (self.end_step - self.begin_step)
        return self.target + (self.initial - self.target) * (1.0 - progress) ** self.power

    def event_steps(self) -> list[int]:
        return sorted(set(range(self.begin_step, self.end_step, self.frequency)) | {self.end_step})

    def get_config(self) -> dict:
        return {"target": self.target, "begin_step": self.begin_step, "end_step": self.end_step,
                "frequency": self.frequency, "power": self.power, "initial": self.initial}


__all__ = ["Schedule", "OneShot", "Gradual", "resolve_step"]
