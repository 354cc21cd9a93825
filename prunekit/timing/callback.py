"""``TimedPruning``: :class:`prunekit.PruningCallback` with timing units, locality and records.

Bookkeeping only: the parent resolves a timed schedule to optimizer steps when ``fit``
starts (its length from ``fit``'s epochs and steps, or ``length``); here each event is split
into the schedule's local steps (:mod:`~prunekit.timing.local`) and recorded
(:mod:`~prunekit.timing.records`). Scoring, masking and keeping zeros zero are the parent's.
"""
from __future__ import annotations

import types

from prunekit.keras import PruningCallback
from prunekit.timing import local, records


class TimedPruning(PruningCallback):
    """``PruningCallback(criterion, schedule, ...)`` where ``schedule`` may use timing units.

    Extra args: ``length`` (a :class:`~prunekit.timing.units.Length`; default: from ``fit``),
    ``eval_batch`` (a fixed (x, y) for before/after loss, accuracy and KL), ``mask_dir``
    (masks saved at each event), ``loss`` (the loss plugin for the criterion's statistics,
    as in the parent). ``records`` holds one record per event.
    """

    def __init__(self, criterion, schedule, scope: str = "layer", data=None,
                 num_examples: int = 1000, *, length=None,
                 eval_batch=None, mask_dir=None, verbose: int = 0, loss=None):
        super().__init__(criterion, schedule, scope=scope, data=data, num_examples=num_examples,
                         verbose=verbose, length=length, loss=loss)
        self.recorder = records.Recorder(eval_batch, mask_dir)

    @property
    def records(self) -> list:
        return self.recorder.records

    def prune(self, target: float, step: int | None = None) -> dict:
        """Prunes to ``target`` in the schedule's local steps and records the event."""
        steps = getattr(self.timed, "steps", 1)
        split = getattr(self.timed, "split", "exponential")
        parent = types.SimpleNamespace(prune=super().prune)
        criterion = self.criterion
        info = {"step": step, "criterion": type(criterion).__name__,
                "options": criterion.get_config(), "scope": self.scope, "target": float(target),
                "local_steps": steps, "split": split}
        if self.length is not None and step is not None:
            info["epoch"] = step / self.length.steps_per_epoch
        record = self.recorder.around(self.model, lambda: local.prune(parent, target, steps, split, step),
                                      **info)
        record["target_per_layer"] = ({n: float(target) for n in record["sparsity"]}
                                      if self.scope == "layer" else None)
        return record["result"][-1]


__all__ = ["TimedPruning"]
