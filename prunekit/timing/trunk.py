"""A shared dense trunk: arms that differ only in when pruning starts share their dense prefix.

One dense run saves checkpoints (weights and optimizer state, including the step counter) at
every candidate prune or rewind point; each arm branches from the nearest checkpoint at or
before its first event and trains on from there. Data come in an order fixed by the optimizer
step (:class:`StepData`), so a branched arm sees exactly the batches it would have seen
trained from scratch, and (with op determinism) ends with the same weights.

Saved compute, in optimizer steps, for arms of total length T branching at b_i:

    shared = max_i b_i + sum_i (T - b_i)        independent = n_arms * T
"""
from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf
import tf_keras as keras

from prunekit.timing import timed, units


class StepData:
    """Batches indexed by optimizer step: step s uses the s-th batch of a seeded order.

    Each epoch is a fresh permutation drawn from (seed, epoch); the last partial batch is
    dropped, so ``steps_per_epoch = len(x) // batch_size``.
    """

    def __init__(self, x, y, batch_size: int, seed: int = 0):
        self.x, self.y = np.asarray(x), np.asarray(y)
        if len(self.x) != len(self.y) or len(self.x) < batch_size:
            raise ValueError(f"need len(x) == len(y) >= batch_size, got {len(self.x)}, "
                             f"{len(self.y)}, batch_size {batch_size}.")
        self.batch_size, self.seed = int(batch_size), int(seed)
        self.steps_per_epoch = len(self.x) // self.batch_size

    def indices(self, start: int, end: int) -> np.ndarray:
        """Example indices of the batches for steps [start, end), shape [end - start, batch]."""
        rows, perms = [], {}
        for s in range(start, end):
            epoch, i = divmod(s, self.steps_per_epoch)
            if epoch not in perms:
                perms[epoch] = np.random.default_rng([self.seed, epoch]).permutation(len(self.x))
            rows.append(perms[epoch][i * self.batch_size:(i + 1) * self.batch_size])
        return np.stack(rows) if rows else np.zeros([0, self.batch_size], int)

    def dataset(self, start: int, end: int) -> tf.data.Dataset:
        idx = self.indices(start, end)
        return tf.data.Dataset.from_tensor_slices((self.x[idx], self.y[idx]))


@dataclasses.dataclass
class Arm:
    """One pruning arm: a timed schedule (``timing.OneShot`` / ``timing.Gradual``) and criterion."""

    name: str
    schedule: object
    criterion: object = "magnitude"
    scope: str = "layer"


class _Checkpoints(keras.callbacks.Callback):
    """Saves weights and optimizer state after each of ``steps`` updates (bookkeeping only)."""

    def __init__(self, steps):
        super().__init__()
        self._supports_tf_logs = True  # logs unused: no per-batch conversion to numpy
        self.steps, self.saved, self._step = sorted(set(steps)), {}, 0

    def _maybe_save(self):
        if self._step in self.steps and self._step not in self.saved:
            self.saved[self._step] = save_state(self.model)

    def on_train_begin(self, logs=None):
        self._step = int(self.model.optimizer.iterations.numpy())

    def on_train_batch_begin(self, batch, logs=None):
        self._maybe_save()

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1

    def on_train_end(self, logs=None):
        self._maybe_save()


def save_state(model) -> dict:
    """Weights (including masks) and optimizer variables (step counter, slots) as arrays."""
    return {"weights": [w.copy() for w in model.get_weights()],
            "optimizer": [v.numpy() for v in model.optimizer.variables]}


def load_state(model, state: dict) -> None:
    """Restores :func:`save_state` into a compiled model of the same architecture."""
    model.set_weights(state["weights"])
    opt = model.optimizer
    opt.build(model.trainable_variables)
    if len(opt.variables) != len(state["optimizer"]):
        raise ValueError(f"optimizer state has {len(state['optimizer'])} variables, the model's "
                         f"optimizer {len(opt.variables)}: compile with the same optimizer.")
    for var, value in zip(opt.variables, state["optimizer"]):
        var.assign(value)


class Study:
    """Runs ``arms`` over one training ``length`` with identical data order.

    ``build()`` returns a fresh plain tf_keras model (same seed every call);
    ``compile(model)`` compiles it with a fresh optimizer. With ``share=True`` a dense trunk is
    trained once and every arm branches from it; with ``share=False`` every arm trains from
    scratch. ``report`` gives the optimizer steps of both and their ratio. ``checkpoint_at``
    adds candidate points (timings, e.g. a rewind point) the trunk also saves in
    ``checkpoints[step]`` (restore one with :func:`load_state`).
    """

    def __init__(self, arms, *, build, compile, data: StepData, epochs: float,
                 data_for_statistics=None, num_examples: int = 1000, checkpoint_at=()):
        self.arms, self.build, self.compile, self.data = list(arms), build, compile, data
        self.length = units.Length(data.steps_per_epoch, epochs)
        self.statistics_data, self.num_examples = data_for_statistics, num_examples
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise ValueError(f"arm names must be unique, got {names}.")
        self.branch_steps = {a.name: min(timed.resolve(a.schedule, self.length).event_steps() or
                                         [self.length.total_steps]) for a in self.arms}
        # Extra candidate points (e.g. rewind points): saved by the trunk, for load_state.
        self.extra_checkpoints = [units.resolve(t, self.length, "checkpoint_at") for t in checkpoint_at]
        self.checkpoints: dict = {}
        self.steps_trained = {"trunk": 0}

    def _fresh(self):
        from prunekit.keras import wrap
        model = wrap(self.build())
        self.compile(model)
        return model

    def _fit(self, model, callbacks, start: int, end: int):
        if end > start:
            model.fit(self.data.dataset(start, end), epochs=1, steps_per_epoch=end - start,
                      callbacks=callbacks, verbose=0, shuffle=False)
            return
        for cb in callbacks:  # no steps left (e.g. a prune at the end of training): events only
            cb.set_model(model)
            cb.set_params({"epochs": 1, "steps": 0, "verbose": 0})
            cb.on_train_begin()
            cb.on_train_end()

    def train_trunk(self) -> None:
        """The dense run, saving a checkpoint at every arm's branch point."""
        from prunekit.keras import PruningCallback
        steps = sorted(set(self.branch_steps.values()) | set(self.extra_checkpoints))
        model = self._fresh()
        saver = _Checkpoints(steps)
        if steps[0] == 0:
            saver.saved[0] = save_state(model)
        self._fit(model, [PruningCallback("magnitude", timed.Hold()), saver], 0, steps[-1])
        if steps[-1] not in saver.saved:
            saver.saved[steps[-1]] = save_state(model)
        self.checkpoints = saver.saved
        self.steps_trained["trunk"] = steps[-1]

    def branch(self, step: int):
        """A fresh model restored from the latest checkpoint at or before ``step``."""
        at = max(s for s in self.checkpoints if s <= step)
        model = self._fresh()
        load_state(model, self.checkpoints[at])
        return model, at

    def run_arm(self, arm: Arm, share: bool = True, eval_batch=None, mask_dir=None):
        """Trains one arm (from the trunk if ``share``); returns (model, callback)."""
        from prunekit.timing.callback import TimedPruning
        if share:
            if not self.checkpoints:
                self.train_trunk()
            model, start = self.branch(self.branch_steps[arm.name])
        else:
            model, start = self._fresh(), 0
        cb = TimedPruning(arm.criterion, arm.schedule, scope=arm.scope, data=self.statistics_data,
                          num_examples=self.num_examples, length=self.length,
                          eval_batch=eval_batch, mask_dir=mask_dir)
        end = self.length.total_steps
        self._fit(model, [cb], start, end)
        self.steps_trained[arm.name] = end - start
        finetune = getattr(arm.schedule, "finetune_epochs", 0)
        if finetune:
            extra = int(round(finetune * self.length.steps_per_epoch))
            if getattr(arm.schedule, "finetune_lr", None):
                model.optimizer.learning_rate = arm.schedule.finetune_lr
            from prunekit.keras import PruningCallback
            self._fit(model, [PruningCallback(arm.criterion, timed.Hold(), scope=arm.scope)],
                      end, end + extra)
            self.steps_trained[arm.name] += extra
        return model, cb

    def run(self, share: bool = True, **kwargs) -> dict:
        """Every arm; returns ``{arm_name: (model, callback)}``."""
        self.steps_trained = {"trunk": 0}
        if share:
            self.train_trunk()
        return {a.name: self.run_arm(a, share=share, **kwargs) for a in self.arms}

    def report(self) -> dict:
        """Optimizer steps: trained here vs the same arms trained independently."""
        total = self.length.total_steps
        extra = {a.name: int(round(getattr(a.schedule, "finetune_epochs", 0)
                                   * self.length.steps_per_epoch)) for a in self.arms}
        trunk_steps = max([*self.branch_steps.values(), *self.extra_checkpoints])
        shared = trunk_steps + sum(total - b + extra[n] for n, b in self.branch_steps.items())
        independent = sum(total + e for e in extra.values())
        return {"shared_steps": shared, "independent_steps": independent,
                "dense_steps_once": trunk_steps,
                "dense_steps_per_arm": sum(self.branch_steps.values()),
                "ratio": shared / independent, "trained": dict(self.steps_trained)}


__all__ = ["StepData", "Arm", "Study", "save_state", "load_state"]
