"""``OneShot``, ``Gradual`` and ``Hold``: timings in any unit of :mod:`prunekit.timing.units`.

``resolve(length)`` gives the :class:`~prunekit.timing.plan.Plan` of pruning events in
optimizer steps (see :mod:`prunekit.timing.plan`).
"""
from __future__ import annotations

import numbers

from prunekit.timing import local, units
from prunekit.timing.plan import Event, Plan, Timing


class OneShot(Timing):
    """Prune at once to ``target`` at ``at`` (0.0 = initialisation, 1.0 = after training).

    ``steps`` > 1 splits the prune into that many local steps (paper C, see
    :mod:`prunekit.timing.local`). ``finetune_epochs`` / ``finetune_lr`` describe fine-tuning
    with the mask fixed *after* training (paper A: 30 epochs); one ``fit`` cannot add epochs
    after its end, so :class:`prunekit.PruningCallback` refuses them: run the fine-tuning as a
    second ``fit`` (see :meth:`without_finetune`).
    """

    def __init__(self, target, at, *, steps: int = 1, split: str = "exponential",
                 finetune_epochs: float = 0, finetune_lr: float | None = None):
        self.target = units.check_target(target, "target")
        self.at = units.parse(at, "at")
        self.steps, self.split = local.check(steps, split)
        if (isinstance(finetune_epochs, bool) or not isinstance(finetune_epochs, numbers.Real)
                or finetune_epochs < 0):
            raise ValueError(f"finetune_epochs must be >= 0, got {finetune_epochs!r}.")
        if finetune_lr is not None and not (isinstance(finetune_lr, numbers.Real) and finetune_lr > 0):
            raise ValueError(f"finetune_lr must be > 0, got {finetune_lr!r}.")
        self.finetune_epochs, self.finetune_lr = finetune_epochs, finetune_lr

    def resolve(self, length: units.Length | None) -> Plan:
        step = units.resolve(self.at, length, "at")
        return Plan((Event(step, self.target, self.steps, self.split),))

    def without_finetune(self) -> "OneShot":
        """The same prune with no fine-tuning fields (what one ``fit`` can honour)."""
        return OneShot(self.target, self.at, steps=self.steps, split=self.split)

    def get_config(self) -> dict:
        return {"target": self.target, "at": str(self.at), "steps": self.steps, "split": self.split,
                "finetune_epochs": self.finetune_epochs, "finetune_lr": self.finetune_lr}


class Gradual(Timing):
    """Zhu & Gupta 2017 ("To prune, or not to prune", eq. 1) over [``begin``, ``end``]:

        s_t = s_f + (s_i - s_f) * (1 - (t - t0) / (end - t0)) ** power

    with events at t = t0, t0 + dt, ... < end and always at ``end`` itself, which gets
    exactly ``target`` (s_f); s_i = ``initial``, dt = ``frequency`` (>= 1 step), power = 3 in
    the paper.
    """

    def __init__(self, target, begin, end, frequency=100, power: float = 3, initial: float = 0.0):
        self.target = units.check_target(target, "target")
        self.initial = units.check_target(initial, "initial")
        if self.initial > self.target:
            raise ValueError(f"initial ({initial}) must be <= target ({target}).")
        self.begin, self.end = units.parse(begin, "begin"), units.parse(end, "end")
        self.frequency = units.parse(frequency, "frequency")
        if isinstance(power, bool) or not isinstance(power, numbers.Real) or power <= 0:
            raise ValueError(f"power must be a number > 0, got {power!r}.")
        self.power = power
        if isinstance(self.begin, type(self.end)) and _value(self.end) < _value(self.begin):
            raise ValueError(f"end ({self.end}) is before begin ({self.begin}).")

    def resolve(self, length: units.Length | None) -> Plan:
        begin = units.resolve(self.begin, length, "begin")
        end = units.resolve(self.end, length, "end")
        if end < begin:
            raise ValueError(f"end ({self.end} = step {end}) is before begin ({self.begin} = step {begin}).")
        frequency = max(1, units.resolve(self.frequency, None if isinstance(self.frequency, units.Steps)
                                         else length, "frequency"))
        steps = sorted(set(range(begin, end, frequency)) | {end})
        return Plan(tuple(Event(t, self._target_at(t, begin, end)) for t in steps))

    def _target_at(self, step: int, begin: int, end: int) -> float:
        if step == end:
            return self.target
        progress = (step - begin) / (end - begin)
        return self.target + (self.initial - self.target) * (1.0 - progress) ** self.power

    def get_config(self) -> dict:
        return {"target": self.target, "begin": str(self.begin), "end": str(self.end),
                "frequency": str(self.frequency), "power": self.power, "initial": self.initial}


def _value(t):
    return getattr(t, "n", getattr(t, "f", None))


class Hold(Timing):
    """No pruning events: the masks stay as they are (the callback keeps zeros zero)."""

    def resolve(self, length=None) -> Plan:
        return Plan()

    def get_config(self) -> dict:
        return {}


__all__ = ["OneShot", "Gradual", "Hold"]
