"""Pruning schedules written in timing units; ``resolve(length)`` gives step schedules.

``OneShot(target, at)`` and ``Gradual(target, begin, end, frequency)`` take any timing of
:mod:`prunekit.timing.units` (steps, epochs, fractions of training) and resolve, once the
training length is known, to :class:`prunekit.schedules.OneShot` / ``Gradual`` in optimizer
steps. ``Hold()`` is the schedule with no events: masks stay fixed (fine-tuning, retraining a
reused or rewound mask).
"""
from __future__ import annotations

import numbers

from prunekit.timing import units

SPLITS = ("exponential", "linear")


class _Config:
    """``get_config()`` gives timings as strings; ``from_config`` reads them back."""

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()


class OneShot(_Config):
    """Prune at once to ``target`` at ``at`` (0.0 = initialisation, 1.0 = after training).

    ``steps`` > 1 splits the prune into that many local steps (paper C, see
    :mod:`prunekit.timing.local`). ``finetune_epochs`` / ``finetune_lr`` describe the fine-tuning
    with the mask fixed that follows a prune at the end of training (paper A: 30 epochs).
    """

    def __init__(self, target, at, *, steps: int = 1, split: str = "exponential",
                 finetune_epochs: float = 0, finetune_lr: float | None = None):
        self.target = units.check_target(target, "target")
        self.at = units.parse(at, "at")
        if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
            raise ValueError(f"steps must be an integer >= 1 (local pruning steps), got {steps!r}.")
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}.")
        if not isinstance(finetune_epochs, numbers.Real) or finetune_epochs < 0:
            raise ValueError(f"finetune_epochs must be >= 0, got {finetune_epochs!r}.")
        if finetune_lr is not None and not finetune_lr > 0:
            raise ValueError(f"finetune_lr must be > 0, got {finetune_lr!r}.")
        self.steps, self.split = int(steps), split
        self.finetune_epochs, self.finetune_lr = finetune_epochs, finetune_lr

    def resolve(self, length: units.Length | None):
        from prunekit import schedules
        return schedules.OneShot(self.target, at_step=units.resolve(self.at, length, "at"))

    def get_config(self) -> dict:
        return {"target": self.target, "at": str(self.at), "steps": self.steps, "split": self.split,
                "finetune_epochs": self.finetune_epochs, "finetune_lr": self.finetune_lr}

    def __repr__(self):
        return f"OneShot({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


class Gradual(_Config):
    """Zhu & Gupta cubic schedule over the window [``begin``, ``end``] every ``frequency``.

        s_t = s_f + (s_i - s_f) * (1 - (t - t0) / (end - t0)) ** power
    """

    def __init__(self, target, begin, end, frequency=100, power: float = 3, initial: float = 0.0):
        self.target = units.check_target(target, "target")
        self.initial = units.check_target(initial, "initial")
        self.begin, self.end = units.parse(begin, "begin"), units.parse(end, "end")
        self.frequency = units.parse(frequency, "frequency")
        self.power = power
        if isinstance(self.begin, type(self.end)) and _value(self.end) < _value(self.begin):
            raise ValueError(f"end ({self.end}) is before begin ({self.begin}).")

    def resolve(self, length: units.Length | None):
        from prunekit import schedules
        begin = units.resolve(self.begin, length, "begin")
        end = units.resolve(self.end, length, "end")
        if end < begin:
            raise ValueError(f"end ({self.end} = step {end}) is before begin ({self.begin} = step {begin}).")
        frequency = max(1, units.resolve(self.frequency, None if isinstance(self.frequency, units.Steps)
                                         else length, "frequency"))
        return schedules.Gradual(self.target, begin_step=begin, end_step=end, frequency=frequency,
                                 power=self.power, initial=self.initial)

    def get_config(self) -> dict:
        return {"target": self.target, "begin": str(self.begin), "end": str(self.end),
                "frequency": str(self.frequency), "power": self.power, "initial": self.initial}

    def __repr__(self):
        return f"Gradual({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


def _value(t):
    return getattr(t, "n", getattr(t, "f", None))


class Hold:
    """No pruning events: the masks stay as they are (PruningCallback keeps zeros zero)."""

    final_target = 0.0
    last_step = 0

    def target_at(self, step):
        return None

    def event_steps(self):
        return []

    def get_config(self):
        return {}

    def __repr__(self):
        return "Hold()"


def resolve(schedule, length):
    """A step schedule from a timed one (a step schedule is returned unchanged)."""
    if hasattr(schedule, "target_at"):
        return schedule
    return schedule.resolve(length)


__all__ = ["OneShot", "Gradual", "Hold", "resolve", "SPLITS"]
