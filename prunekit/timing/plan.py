"""The one schedule protocol: a :class:`Timing` resolves to a :class:`Plan` of events.

Every timing (``OneShot``, ``Gradual``, ``Iterative``, ``Hold``, ``DynamicSparse``) is a :class:`Timing`;
``resolve(length)`` turns it, once the training length is known, into a :class:`Plan`: the
pruning events in optimizer steps (step, target, local steps and their split, whether the
weights are rewound after the event) and the rewind point. Steps are values of
``optimizer.iterations`` before an update: an event at step t happens after t updates.
``length`` may be ``None`` when every time is given in steps.
"""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Event:
    """Prune to ``target`` at ``step`` in ``local_steps`` steps (split ``split``, see
    :mod:`prunekit.timing.local`); with ``rewind`` the surviving weights and the optimizer
    state are then reset to the plan's rewind point. ``drop`` > 0 (dynamic sparse training,
    :mod:`prunekit.timing.dynamic`): instead of pruning, each layer drops this fraction of its
    active weights and regrows as many, at constant sparsity ``target``."""

    step: int
    target: float
    local_steps: int = 1
    split: str = "exponential"
    rewind: bool = False
    drop: float = 0.0


@dataclasses.dataclass(frozen=True)
class Plan:
    """Resolved events in step order; ``rewind_step``: where rewinding events rewind to."""

    events: tuple = ()
    rewind_step: int | None = None

    def steps(self) -> list[int]:
        return [e.step for e in self.events]

    def targets(self) -> list[float]:
        return [e.target for e in self.events]

    @property
    def final_target(self) -> float:
        return self.events[-1].target if self.events else 0.0


class Timing:
    """Base class of every timing: subclasses define ``resolve`` and ``get_config``."""

    def resolve(self, length) -> Plan:
        raise NotImplementedError

    def get_config(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self):
        return hash((type(self).__name__, repr(self)))

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


__all__ = ["Event", "Plan", "Timing"]
