"""The step cap of a rehearsal (:mod:`prunekit.study.rehearse`): every fit of a run or trunk
bounded to a few steps per epoch, with timing probes joining every fit. Outside
:func:`step_cap` nothing is bounded. Its own module so that the train and IMP stages both
read it without importing each other.
"""
from __future__ import annotations

import contextlib

_CAP = {"steps": None, "callbacks": ()}  # set by step_cap() only (a rehearsal, prunekit.study.rehearse)


@contextlib.contextmanager
def step_cap(steps_per_epoch: int, callbacks=()):
    """Within the block every fit of a run or trunk takes at most ``steps_per_epoch`` steps per
    epoch, pruning schedules resolve against that length, and ``callbacks`` (timing probes) join
    every fit: ``--rehearse`` runs the study's own stages on few steps."""
    if int(steps_per_epoch) < 1:
        raise ValueError(f"step_cap: steps_per_epoch must be >= 1, got {steps_per_epoch}")
    old = dict(_CAP)
    _CAP.update(steps=int(steps_per_epoch), callbacks=tuple(callbacks))
    try:
        yield
    finally:
        _CAP.update(old)


def steps_per_epoch(spec, n_train: int) -> int:
    """``ceil(n_train / batch_size)``, at most the :func:`step_cap` in force."""
    spe = spec.steps_per_epoch(n_train)
    return min(spe, _CAP["steps"]) if _CAP["steps"] else spe


def capped_fit() -> dict:
    """Keyword arguments that bound a fit to the step cap in force (none outside one)."""
    return {"steps_per_epoch": _CAP["steps"]} if _CAP["steps"] else {}


def probes() -> list:
    """The timing callbacks of the step cap in force (none outside one)."""
    return list(_CAP["callbacks"])


__all__ = ["step_cap", "steps_per_epoch", "capped_fit", "probes"]
