"""Dynamic sparse training: SET (Mocanu et al. 2018) and RigL (Evci et al. 2020).

The network is sparse from the first step: at step 0 every layer gets a random mask with
the ``distribution``'s per-layer sparsity (``"erk"``: :func:`prunekit.masks.erk_sparsities`,
``"uniform"``: ``target`` in every layer). Then at steps t = u, 2u, ... < ``end`` (u =
``update_every``) each layer drops the ``k = floor(f_t * n_active)`` active weights of smallest
magnitude and regrows ``k`` inactive ones, so every layer keeps its sparsity exactly; SET
regrows at random (seeded), RigL the largest dense-gradient magnitudes. The drop fraction
decays as RigL's cosine schedule (Evci et al. 2020, eq. 1):

    f_t = drop_fraction / 2 * (1 + cos(pi * t / T_end))

Regrown weights and their optimizer state start at zero (:mod:`prunekit.pruning.dynamic`).
RigL's dense gradient is that of the current batch, as in RigL's code: the update at step t
(after t optimizer updates) regrows by |g|, the gradient of the mean training loss on the
batch of update number t (the one taking ``optimizer.iterations`` from t - 1 to t; under a
tf.distribute strategy the global batch), at the weights before that update: the gradient
the optimizer applied at t, kept by the masked train step
(:mod:`prunekit.pruning.batch_gradient`). With ``steps_per_execution`` > 1 the update runs
at the execution boundary ``applied_at`` >= t and uses the batch of update ``applied_at``.
Only a fit that starts at an update's step lacks that batch; it falls back to the
``PruningCallback``'s ``data`` (refused without it).
In the :class:`~prunekit.timing.plan.Plan` the first event (step 0) sets the random masks
and each update is an event with ``drop`` = f_t.
"""
from __future__ import annotations

import math
import numbers

from prunekit.timing import units
from prunekit.timing.plan import Event, Plan, Timing

KINDS = ("set", "rigl")
DISTRIBUTIONS = ("erk", "uniform")


def cosine_drop(step: int, drop_fraction: float, end: int) -> float:
    """f_t = drop_fraction / 2 * (1 + cos(pi * t / end)); 0 from ``end`` on."""
    if step >= end:
        return 0.0
    return 0.5 * drop_fraction * (1.0 + math.cos(math.pi * step / end))


class DynamicSparse(Timing):
    """Sparse training from step 0 at ``target`` with drop/regrow updates (SET or RigL)."""

    def __init__(self, target, kind: str = "rigl", update_every=100, drop_fraction: float = 0.3,
                 end=0.75, distribution: str = "erk", seed: int = 0):
        self.target = units.check_target(target, "target")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS} (regrowth at random or by gradient), got {kind!r}.")
        if distribution not in DISTRIBUTIONS:
            raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}.")
        if (isinstance(drop_fraction, bool) or not isinstance(drop_fraction, numbers.Real)
                or not 0.0 < drop_fraction < 1.0):
            raise ValueError(f"drop_fraction must be in (0, 1), got {drop_fraction!r}.")
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise ValueError(f"seed must be an integer, got {seed!r}.")
        self.kind, self.distribution, self.drop_fraction, self.seed = kind, distribution, float(drop_fraction), int(seed)
        self.update_every = units.parse(update_every, "update_every")
        self.end = units.parse(end, "end")

    @property
    def scope(self) -> str:
        """The masks' ranking scope: per layer, at ERK or uniform per-layer sparsities."""
        return "erk" if self.distribution == "erk" else "layer"

    def resolve(self, length: units.Length | None) -> Plan:
        end = units.resolve(self.end, length, "end")
        every = units.resolve(self.update_every, None if isinstance(self.update_every, units.Steps)
                              else length, "update_every")
        if every < 1:
            raise ValueError(f"update_every ({self.update_every}) is less than one optimizer step.")
        events = [Event(0, self.target)]
        events += [Event(t, self.target, drop=cosine_drop(t, self.drop_fraction, end))
                   for t in range(every, end, every)]
        return Plan(tuple(events))

    def get_config(self) -> dict:
        return {"target": self.target, "kind": self.kind, "update_every": str(self.update_every),
                "drop_fraction": self.drop_fraction, "end": str(self.end),
                "distribution": self.distribution, "seed": self.seed}


__all__ = ["DynamicSparse", "cosine_drop", "KINDS", "DISTRIBUTIONS"]
