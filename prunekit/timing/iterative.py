"""Iterative magnitude pruning with rewinding (Frankle & Carbin 2019; Frankle et al. 2020).

Each round: train, prune ``rate`` of the remaining weights, rewind the survivors to their
values at ``rewind_to`` (0 = the original initialisation, the lottery ticket; > 0 = late
resetting), and restart the optimizer (state and learning-rate schedule), as in the
lottery-ticket code. After R rounds the sparsity is

    s_R = 1 - (1 - rate) ** R        (1 - 0.8^R for the usual rate 0.2)

Pruning goes through :class:`prunekit.timing.callback.TimedPruning` (a
:class:`prunekit.PruningCallback`: its criterion, scope, masks and loss plugin); during
training the callback holds the masks fixed (schedule :class:`~prunekit.timing.Hold`). Each
round's prune is recorded like a one-shot or gradual event (:mod:`prunekit.timing.records`:
target and achieved sparsity per layer and overall, criterion and options, and with an
``eval_batch`` the loss, accuracy and KL just before and just after the prune).
"""
from __future__ import annotations

import dataclasses
import numbers

import numpy as np
import tf_keras as keras

from prunekit.timing import mask_io, units
from prunekit.timing.timed import Hold


class Iterative:
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

    def get_config(self) -> dict:
        return {"rounds": self.rounds, "rate": self.rate, "rewind_to": str(self.rewind_to)}

    def __repr__(self):
        return f"Iterative(rounds={self.rounds}, rate={self.rate}, rewind_to={str(self.rewind_to)!r})"


def _bookkeeping(model) -> set:
    from prunekit import prunable
    ids = set()
    for wrapper in prunable.wrappers(model):
        ids.add(id(wrapper.pruning_step))
        for _w, mask, threshold in wrapper.pruning_vars:
            ids.update((id(mask), id(threshold)))
    return ids


def snapshot(model) -> dict:
    """``{variable_name: array}`` of every model weight except tfmot's masks and counters."""
    skip = _bookkeeping(model)
    out = {}
    for v in model.weights:
        if id(v) in skip:
            continue
        if v.name in out:
            raise ValueError(f"two model weights are named {v.name}; give the layers unique names.")
        out[v.name] = v.numpy()
    return out


def restore(model, weights: dict) -> None:
    """Sets the model's weights (not masks) from a :func:`snapshot`."""
    skip = _bookkeeping(model)
    for v in model.weights:
        if id(v) not in skip:
            if v.name not in weights:
                raise ValueError(f"the snapshot has no weight {v.name}.")
            v.assign(weights[v.name])


class Snapshot(keras.callbacks.Callback):
    """Takes a :func:`snapshot` after ``at_step`` optimizer updates (bookkeeping only)."""

    def __init__(self, at_step: int):
        super().__init__()
        self._supports_tf_logs = True  # logs unused: no per-batch conversion to numpy
        self.at_step, self.weights, self._step = int(at_step), None, 0

    def on_train_begin(self, logs=None):
        self._step = int(self.model.optimizer.iterations.numpy())

    def on_train_batch_begin(self, batch, logs=None):
        if self.weights is None and self._step == self.at_step:
            self.weights = snapshot(self.model)

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1

    def on_train_end(self, logs=None):
        if self.weights is None and self._step == self.at_step:
            self.weights = snapshot(self.model)


@dataclasses.dataclass
class Result:
    rewind_step: int
    rewind_weights: dict
    rounds: list  # one dict per round: round, target, event, record, mask_path, masks, weights_after_rewind


def run(model, plan: Iterative, *, compile, fit, criterion="magnitude", scope: str = "layer",
        data=None, num_examples: int = 1000, length: units.Length | None = None,
        retrain_last: bool = True, mask_dir=None, keep_weights: bool = False, loss=None,
        eval_batch=None) -> Result:
    """Runs ``plan`` on a wrapped ``model``.

    ``compile(model)`` compiles with a fresh optimizer (called at the start of every round, so
    optimizer state and LR schedule restart); ``fit(model, callbacks)`` trains one round.
    ``length`` resolves a ``rewind_to`` given in epochs or fractions. With ``retrain_last`` the
    final mask is trained once more after the last rewind. ``mask_dir`` saves each round's mask.
    ``loss`` (a loss plugin) gives gradient / curvature criteria their objective and views;
    ``eval_batch`` (x, y) measures the function around each prune. Each round's ``record`` is
    its :class:`prunekit.timing.records.Recorder` record (``event``: the last local step's).
    """
    from prunekit.timing.callback import TimedPruning

    def callback():
        return TimedPruning(criterion, Hold(), scope=scope, data=data, num_examples=num_examples,
                            length=length, eval_batch=eval_batch, loss=loss)

    rewind_step = units.resolve(plan.rewind_to, length, "rewind_to")
    rewind_weights = snapshot(model) if rewind_step == 0 else None
    rounds = []
    for r, target in enumerate(plan.targets(), start=1):
        compile(model)
        cb = callback()
        callbacks = [cb]
        if rewind_weights is None:
            snap = Snapshot(rewind_step)
            callbacks.append(snap)
        fit(model, callbacks)
        if rewind_weights is None:
            if snap.weights is None:
                raise ValueError(f"rewind_to (step {rewind_step}) was never reached: the round "
                                 f"trained {snap._step} steps.")
            rewind_weights = snap.weights
        event = cb.prune(target, step=int(model.optimizer.iterations.numpy()))
        restore(model, rewind_weights)
        masks = mask_io.get(model)
        mask_io.assign(model, masks)  # survivors = rewind values, pruned = 0
        record = {"round": r, "target": target, "event": event, "record": cb.records[-1]}
        if mask_dir is not None:
            record["mask_path"] = mask_io.save(f"{mask_dir}/round_{r:02d}", masks,
                                               {"round": r, "target": target, **plan.get_config()})
        if keep_weights:
            record["masks"], record["weights_after_rewind"] = masks, snapshot(model)
        rounds.append(record)
    if retrain_last:
        compile(model)
        fit(model, [callback()])
    return Result(rewind_step, rewind_weights, rounds)


def sparsity(masks: dict) -> float:
    """Overall fraction of pruned entries."""
    total = sum(np.size(m) for m in masks.values())
    return 1.0 - sum(np.count_nonzero(m) for m in masks.values()) / total


__all__ = ["Iterative", "run", "snapshot", "restore", "Snapshot", "Result", "sparsity"]
