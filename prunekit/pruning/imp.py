"""IMP as one ``fit`` per round (the lottery-ticket code's restart), and mask reuse.

:class:`prunekit.timing.Iterative` in a :class:`prunekit.PruningCallback` runs every round
inside one ``fit``. :func:`run` is the runner for the other protocol (Frankle & Carbin 2019):
each round compiles a fresh optimizer (state and learning-rate schedule restart), trains a
whole ``fit``, prunes ``rate`` of the remaining weights and rewinds the survivors to the
rewind point (a :mod:`prunekit.checkpoint` taken at ``rewind_to``).
"""
from __future__ import annotations

import dataclasses

import tf_keras as keras

from prunekit import checkpoint
from prunekit.pruning import mask_io
from prunekit.pruning.callback import PruningCallback
from prunekit.timing import Hold, Iterative, units


class RewindPoint(keras.callbacks.Callback):
    """Captures the model's weights (:func:`prunekit.checkpoint.capture`, no optimizer)
    after ``at_step`` optimizer updates (bookkeeping only)."""

    def __init__(self, at_step: int):
        super().__init__()
        self._supports_tf_logs = True  # logs unused: no per-batch conversion to numpy
        self.at_step, self.checkpoint, self._step = int(at_step), None, 0

    def on_train_begin(self, logs=None):
        self._step = int(self.model.optimizer.iterations.numpy())

    def on_train_batch_begin(self, batch, logs=None):
        if self.checkpoint is None and self._step == self.at_step:
            self.checkpoint = checkpoint.capture(self.model, optimizer=False)

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1

    def on_train_end(self, logs=None):
        self.on_train_batch_begin(None)


@dataclasses.dataclass
class Result:
    rewind_step: int
    rewind: checkpoint.Checkpoint
    rewind_weights: dict  # {variable name: array} of ``rewind``, for inspection
    rounds: list  # per round: round, target, event, record, mask_path, masks, weights_after_rewind


def run(model, plan: Iterative, *, compile, fit, criterion="magnitude", scope: str = "layer",
        data=None, num_examples: int = 1000, length: units.Length | None = None,
        retrain_last: bool = True, mask_dir=None, keep_weights: bool = False, loss=None,
        eval_batch=None) -> Result:
    """Runs ``plan`` on a wrapped ``model``, one ``fit`` per round.

    ``compile(model)`` compiles with a fresh optimizer (called at the start of every round);
    ``fit(model, callbacks)`` trains one round. ``length`` resolves a ``rewind_to`` given in
    epochs or fractions. With ``retrain_last`` the final mask is trained once more after the
    last rewind. ``mask_dir`` saves each round's mask; ``loss`` and ``eval_batch`` are
    :class:`prunekit.PruningCallback`'s. ``keep_weights`` keeps each round's masks and weights.
    """
    def callback():
        return PruningCallback(criterion, Hold(), scope=scope, data=data, num_examples=num_examples,
                               length=length, eval_batch=eval_batch, loss=loss)

    rewind_step = units.resolve(plan.rewind_to, length, "rewind_to")
    rewind = checkpoint.capture(model, optimizer=False) if rewind_step == 0 else None
    rounds = []
    for r, target in enumerate(plan.targets(), start=1):
        compile(model)
        cb = callback()
        snap = RewindPoint(rewind_step) if rewind is None else None
        fit(model, [cb] + ([snap] if snap else []))
        if rewind is None:
            if snap.checkpoint is None:
                raise ValueError(f"rewind_to (step {rewind_step}) was never reached: the round "
                                 f"trained {snap._step} steps.")
            rewind = snap.checkpoint
        event = cb.prune(target, step=int(model.optimizer.iterations.numpy()))
        masks = mask_io.get(model)
        checkpoint.restore(model, rewind, optimizer=False, source="the rewind point")
        mask_io.assign(model, masks)  # survivors = rewind values, pruned = 0
        record = {"round": r, "target": target, "event": event, "record": cb.records[-1]}
        if mask_dir is not None:
            record["mask_path"] = mask_io.save(f"{mask_dir}/round_{r:02d}", masks,
                                               {"round": r, "target": target, **plan.get_config()})
        if keep_weights:
            record["masks"], record["weights_after_rewind"] = masks, named_weights(model)
        rounds.append(record)
    if retrain_last:
        compile(model)
        fit(model, [callback()])
    names = [v.name for v in checkpoint.model_variables(model)]
    return Result(rewind_step, rewind, dict(zip(names, rewind.weights)), rounds)


def named_weights(model) -> dict:
    """``{variable name: array}`` of the variables a checkpoint holds."""
    return {v.name: v.numpy() for v in checkpoint.model_variables(model)}


def reuse(model, masks: dict, rewind: checkpoint.Checkpoint | None = None) -> None:
    """Puts ``masks`` on a wrapped ``model`` whose weights are first reset to ``rewind``
    (weights only); train afterwards with ``PruningCallback(..., schedule=timing.Hold())``."""
    if rewind is not None:
        checkpoint.restore(model, rewind, optimizer=False, source="the rewind point")
    mask_io.assign(model, masks)


__all__ = ["run", "reuse", "Result", "RewindPoint", "named_weights"]
