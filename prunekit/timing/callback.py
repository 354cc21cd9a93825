"""``TimedPruning``: :class:`prunekit.PruningCallback` with timing units, locality and records.

Bookkeeping only: the schedule is resolved to optimizer steps when ``fit`` starts (its
length from ``fit``'s epochs and steps, or ``length``); each event is split into the
schedule's local steps (:mod:`~prunekit.timing.local`) and recorded
(:mod:`~prunekit.timing.records`). Scoring, masking and keeping zeros zero are the parent's.
"""
from __future__ import annotations

import types

from prunekit.keras import PruningCallback
from prunekit.timing import local, records, timed, units


class TimedPruning(PruningCallback):
    """``PruningCallback(criterion, schedule, ...)`` where ``schedule`` may use timing units.

    Extra args: ``length`` (a :class:`~prunekit.timing.units.Length`; default: from ``fit``),
    ``eval_batch`` (a fixed (x, y) for before/after loss, accuracy and KL), ``mask_dir``
    (masks saved at each event). ``records`` holds one record per event.
    """

    def __init__(self, criterion, schedule, scope: str = "layer", data=None,
                 num_examples: int = 1000, *, length: units.Length | None = None,
                 eval_batch=None, mask_dir=None, verbose: int = 0):
        self.timed = schedule
        self.length = length
        step_schedule = timed.resolve(schedule, length) if length is not None else timed.Hold()
        super().__init__(criterion, step_schedule, scope=scope, data=data,
                         num_examples=num_examples, verbose=verbose)
        self.recorder = records.Recorder(eval_batch, mask_dir)

    @property
    def records(self) -> list:
        return self.recorder.records

    def on_train_begin(self, logs=None):
        if self.length is None:
            steps, epochs = (self.params or {}).get("steps"), (self.params or {}).get("epochs")
            if not steps or not epochs:
                raise ValueError("cannot tell the training length from fit (unknown steps per "
                                 "epoch): pass length=prunekit.timing.Length(steps_per_epoch, epochs).")
            self.length = units.Length(int(steps), epochs)
        self.schedule = timed.resolve(self.timed, self.length)
        super().on_train_begin(logs)

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
