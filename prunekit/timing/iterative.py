"""Iterative magnitude pruning with rewinding (Frankle & Carbin 2019; Frankle et al. 2020).

Each round: train, prune ``rate`` of the remaining weights, rewind the survivors (and the
optimizer state) to their values at ``rewind_to`` (0 = the original initialisation, the
lottery ticket; > 0 = late resetting), retrain. After R rounds the sparsity is

    s_R = 1 - (1 - rate) ** R        (1 - 0.8^R for the usual rate 0.2)

Inside one ``fit`` of T optimizer steps (:meth:`Iterative.resolve`) the steps are divided
into R + 1 segments of L = T // (R + 1) steps: round r prunes at step r * L and rewinds; the
last segment (L steps plus the remainder T - (R + 1) L) retrains the final mask. ``rewind_to``
is a time inside the first segment (``"1ep"``, a step, or a fraction of one segment). The
step counter, and with it a learning-rate schedule, runs on through the rewinds.
:func:`prunekit.pruning.imp.run` instead runs one ``fit`` per round with a fresh optimizer
(the lottery-ticket code's restart).
"""
from __future__ import annotations

import numbers

from prunekit.timing import units
from prunekit.timing.plan import Event, Plan, Timing


class Iterative(Timing):
    """``rounds`` rounds of train / prune ``rate`` of the remaining / rewind to ``rewind_to``."""

    def __init__(self, rounds: int, rate: float = 0.2, rewind_to=0):
        if isinstance(rounds, bool) or not isinstance(rounds, numbers.Integral) or rounds < 1:
            raise ValueError(f"rounds must be an integer >= 1, got {rounds!r}.")
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0.0 < rate < 1.0:
            raise ValueError(f"rate must be in (0, 1) (fraction of remaining weights), got {rate!r}.")
        self.rounds, self.rate = int(rounds), float(rate)
        self.rewind_to = units.parse(rewind_to, "rewind_to")

    def targets(self) -> list[float]:
        """Sparsity after each round: 1 - (1 - rate) ** r."""
        return [1.0 - (1.0 - self.rate) ** r for r in range(1, self.rounds + 1)]

    @property
    def final_target(self) -> float:
        return self.targets()[-1]

    def segment_steps(self, length: units.Length) -> int:
        """L = T // (rounds + 1): the optimizer steps each round trains inside one ``fit``."""
        if length is None:
            raise ValueError("Iterative needs the training length (steps per epoch and epochs) "
                             "to divide it among its rounds.")
        segment = length.total_steps // (self.rounds + 1)
        if segment < 1:
            raise ValueError(f"Iterative(rounds={self.rounds}) needs at least {self.rounds + 1} "
                             f"training steps, the fit has {length.total_steps}.")
        return segment

    def resolve(self, length: units.Length | None) -> Plan:
        segment = self.segment_steps(length)
        one_round = units.Length(length.steps_per_epoch, segment / length.steps_per_epoch)
        rewind = units.resolve(self.rewind_to, one_round, "rewind_to (within one round)")
        events = tuple(Event(r * segment, t, rewind=True) for r, t in enumerate(self.targets(), 1))
        return Plan(events, rewind_step=rewind)

    def get_config(self) -> dict:
        return {"rounds": self.rounds, "rate": self.rate, "rewind_to": str(self.rewind_to)}


def sparsity(masks: dict) -> float:
    """Overall fraction of pruned entries."""
    import numpy as np

    total = sum(np.size(m) for m in masks.values())
    return 1.0 - sum(np.count_nonzero(m) for m in masks.values()) / total


__all__ = ["Iterative", "sparsity"]
