"""RigL's regrowth scores from the batch of the update step, kept by the masked train step.

RigL (Evci et al. 2020, section 3; its code ``SparseRigLOptimizer``) regrows by |dL/dtheta|,
the dense gradient on the current batch. In the masked step (:mod:`masked_step`) pruned
weights are exactly zero and the wrappers call their layers directly, so the gradient the
optimizer receives at a pruned position is that dense gradient. A :class:`BatchGradient`
hooks the optimizer's gradient aggregation (``aggregate_gradients``; legacy optimizers
``_aggregate_gradients``) while the step is traced: the aggregated gradient (under a
tf.distribute strategy the cross-replica sum of the replicas' gradients of their share of
the global-batch mean loss, i.e. the gradient of the mean loss over the global batch) is
written, ``|g|``, to non-trainable variables inside ``tf.cond(flag, ...)``. The callback
sets ``flag`` only for the compiled call that precedes a due RigL update, so other steps
pay one ``cond``. The score variables are ``ON_READ`` with ``ONLY_FIRST_REPLICA``
aggregation: each replica writes its own (identical) copy with no synchronisation inside
the ``cond``, and the callback reads the first replica's.

Which batch: the scores of the update at step t are |g| of the batch of optimizer update
number t (the one that takes ``optimizer.iterations`` from t - 1 to t), evaluated at the
weights before that update: the very gradient the optimizer applied last before the masks
change. ``step`` records t - 1 so the callback can check it.
"""
from __future__ import annotations

import contextlib

import tensorflow as tf

from prunekit import prunable

_ON_READ = dict(trainable=False, synchronization=tf.VariableSynchronization.ON_READ,
                aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)


class BatchGradient:
    """Per prunable weight, |dL/dtheta| of the batch of the step whose ``flag`` was set."""

    def __init__(self, model):
        weights = prunable.prunable_weights(model)
        with model.distribute_strategy.scope():
            self.flag = tf.Variable(False, trainable=False, name="prunekit_keep_gradient")
            self.step = tf.Variable(tf.constant(-1, tf.int64), name="prunekit_gradient_step", **_ON_READ)
            self.scores = {n: tf.Variable(tf.zeros(w.shape, w.dtype), name="prunekit_gradient", **_ON_READ)
                           for n, w in weights.items()}
        self._on = False

    def set_flag(self, on: bool) -> None:
        """Keep (or not) the gradient of the next compiled call's steps; assigns only on a change."""
        if bool(on) != self._on:
            self.flag.assign(bool(on))
            self._on = bool(on)

    def kept(self, step: int):
        """``{name: |g|}`` kept for an update at ``step`` (the batch of update number ``step``),
        or None if the batch of that update was not kept (e.g. a fit resumed at that step)."""
        if int(self.step.read_value().numpy()) != int(step) - 1:
            return None
        return {n: v.read_value().numpy() for n, v in self.scores.items()}

    def _keep(self, optimizer, grads_and_vars):
        grads = {v.name: g for g, v in grads_and_vars if g is not None}
        missing = sorted(set(self.scores) - set(grads))
        if missing:
            raise ValueError(f"RigL needs the gradient of every pruned weight; the optimizer got none for "
                             f"{missing}: check that they are trainable and used by the loss.")

        def keep():
            ops = [self.step.assign(tf.cast(optimizer.iterations, tf.int64), read_value=False)]
            for n, v in self.scores.items():
                g = tf.convert_to_tensor(grads[n])  # IndexedSlices (embeddings) become dense
                ops.append(v.assign(tf.abs(tf.cast(g, v.dtype)), read_value=False))
            with tf.control_dependencies(ops):
                return tf.constant(True)

        tf.cond(self.flag, keep, lambda: tf.constant(False))

    @contextlib.contextmanager
    def hooked(self, optimizer):
        """Used inside the train step while it is traced: the optimizer's aggregation also keeps |g|."""
        name = "aggregate_gradients" if hasattr(optimizer, "aggregate_gradients") else "_aggregate_gradients"
        original = getattr(optimizer, name, None)
        if original is None:
            raise ValueError(f"RigL reads the batch gradient where the optimizer aggregates it; "
                             f"{type(optimizer).__name__} has no {name}: use a tf_keras optimizer.")
        calls = []

        def aggregate(grads_and_vars):
            out = original(grads_and_vars)
            out = list(out)
            self._keep(optimizer, out)
            calls.append(1)
            return out

        setattr(optimizer, name, aggregate)
        try:
            yield
        finally:
            optimizer.__dict__.pop(name, None)
        if not calls:
            raise ValueError(f"RigL reads the batch gradient where the optimizer aggregates it, but the train "
                             f"step never called {type(optimizer).__name__}.{name} (a custom train_step, or "
                             "apply_gradients(skip_gradients_aggregation=True)): use Keras' own train_step.")


__all__ = ["BatchGradient"]
