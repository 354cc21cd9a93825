"""A study run's training data, in an order fixed by (seed, epoch) and augmented by (seed, step).

Epoch ``e`` visits the training examples in the permutation drawn by
``numpy.random.default_rng([seed, e])``, in batches of ``batch_size`` (the last one partial,
``steps_per_epoch = ceil(n / batch_size)``). Batch ``t`` of training (``t`` counted from step
0 over all epochs) is augmented with the stateless seed ``[plugin.seed, t]``
(:class:`prunekit.data.augment.Augment` is a pure function of images and seed). So the data
of epochs ``[first, last)`` do not depend on what was trained before ``first``: a run resumed
from a checkpoint at the start of epoch ``first`` (the shared dense trunk,
:mod:`prunekit.study.execute.trunk`) sees exactly the batches and views it sees trained from step 0.

The views are the loss plugin's own (:meth:`prunekit.losses.LossPlugin.views`); this replaces
``plugin.training_data`` in the study, whose ``tf.data`` seeds depend on how many epochs the
same pipeline has already run.
"""
from __future__ import annotations

import math

import numpy as np


def steps_per_epoch(n: int, batch_size: int) -> int:
    return math.ceil(n / batch_size)


def permutation(seed: int, epoch: int, n: int) -> np.ndarray:
    """Example order of ``epoch``: ``default_rng([seed, epoch]).permutation(n)``."""
    return np.random.default_rng([int(seed), int(epoch)]).permutation(n)


def batch_indices(seed: int, n: int, batch_size: int, first: int, last: int) -> list:
    """Example indices of every batch of epochs ``[first, last)`` (for tests and references)."""
    out = []
    for e in range(first, last):
        p = permutation(seed, e, n)
        out += [p[i:i + batch_size] for i in range(0, n, batch_size)]
    return out


def training_data(plugin, x, y, *, batch_size: int, seed: int, first: int, last: int):
    """A ``tf.data`` pipeline of the plugin's training views for epochs ``[first, last)``.

    Feed it to ``model.fit(ds, epochs=last, initial_epoch=first,
    steps_per_epoch=steps_per_epoch(len(x), batch_size))``; one iterator runs through all
    epochs (the dataset's cardinality is unknown, so Keras does not recreate it).
    """
    import tensorflow as tf

    if not 0 <= first < last:
        raise ValueError(f"need 0 <= first < last epochs, got first={first}, last={last}.")
    n = len(x)
    spe = steps_per_epoch(n, batch_size)
    perms = np.stack([permutation(seed, e, n) for e in range(first, last)]).astype(np.int32)
    x_t, y_t = tf.constant(x), tf.constant(y)
    ds = tf.data.Dataset.from_tensor_slices(perms).flat_map(
        lambda p: tf.data.Dataset.from_tensor_slices(p).batch(batch_size))
    ds = ds.enumerate(start=first * spe)  # (global step, indices)
    if getattr(plugin, "augment", False):
        base = tf.constant(int(plugin.seed), tf.int64)

        def views(step, idx):
            return plugin.views(tf.gather(x_t, idx), tf.gather(y_t, idx), seed=tf.stack([base, step]))
    else:
        def views(step, idx):
            return plugin.views(tf.gather(x_t, idx), tf.gather(y_t, idx))
    ds = ds.map(views, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


__all__ = ["training_data", "permutation", "batch_indices", "steps_per_epoch"]
