"""prunekit's own TensorBoard scalars for a run, beside Keras' and tfmot's.

Keras' ``TensorBoard`` callback writes the per-epoch training curves (``train/``) and tfmot's
``PruningSummaries`` the per-layer mask sparsity and threshold (``metrics/``). This writes what
only prunekit knows into ``prunekit/`` under the same log directory:

- ``event/<field>`` at each pruning event's optimizer step: target and achieved sparsity, the
  loss and accuracy on the fixed evaluation batch just before and just after the event, and
  KL(before || after) (:mod:`prunekit.pruning.records`);
- ``run/<metric>`` at the run's last step: every scalar metric of its result (test accuracy,
  sparsity, Q-Score, ...).
"""
from __future__ import annotations

import numbers
import os

SUBDIR = "prunekit"


def _scalars(record: dict):
    """``(name, value)`` for the scalar fields of one event record."""
    for key, name in (("target", "target"), ("overall", "sparsity"), ("kl", "kl")):
        if isinstance(record.get(key), numbers.Real):
            yield name, record[key]
    for side in ("before", "after"):
        for key, value in (record.get(side) or {}).items():
            if isinstance(value, numbers.Real):
                yield f"{key}_{side}", value


def write(logdir: str, events: list, metrics: dict, last_step: int) -> str:
    """Writes ``events`` (pruning-event records) and ``metrics`` (scalars) as TensorBoard
    scalars into ``logdir/prunekit``; returns that directory."""
    import tensorflow as tf

    path = os.path.join(logdir, SUBDIR)
    writer = tf.summary.create_file_writer(path)
    with writer.as_default():
        for record in events:
            step = int(record.get("step", 0))
            for name, value in _scalars(record):
                tf.summary.scalar(f"event/{name}", float(value), step=step)
        for name, value in sorted(metrics.items()):
            if isinstance(value, numbers.Real) and not isinstance(value, bool):
                tf.summary.scalar(f"run/{name}", float(value), step=int(last_step))
    writer.flush()
    writer.close()
    return path
