"""Timing probes put into the rehearsed fits: optimizer-step durations, and the time a
pruning callback spends (its events), measured apart from the steps.

A step's duration is from the start of its batch to its end as Keras reports them, less the
time the run's pruning callback spent inside that window (its events); the first step of each
fit (graph tracing) is not a step-time sample, its cost stays in the run's fixed overhead.
"""
from __future__ import annotations

import functools
import time

_METHODS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
            "on_train_batch_end")


def step_clock():
    """A Keras callback: ``samples[key]`` step durations (s) for the ``key`` set before a fit."""
    import tf_keras as keras

    class StepClock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.key, self.samples, self.steps, self.excluded = None, {}, {}, 0.0
            self._first, self._t = True, 0.0

        def on_train_begin(self, logs=None):
            self._first = True

        def on_train_batch_begin(self, batch, logs=None):
            self.excluded, self._t = 0.0, time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            took = time.perf_counter() - self._t - self.excluded
            self.steps[self.key] = self.steps.get(self.key, 0) + 1
            if not self._first:
                self.samples.setdefault(self.key, []).append(took)
            self._first = False

    return StepClock()


def time_callback(callback, clock) -> dict:
    """Wraps ``callback``'s hooks (on this instance only) to add their time to ``out["s"]``
    and to the clock's excluded time of the current step; returns ``out``."""
    out = {"s": 0.0}
    if callback is None:
        return out
    for name in _METHODS:
        original = getattr(callback, name)

        @functools.wraps(original)
        def timed(*args, _original=original, **kwargs):
            t0 = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                took = time.perf_counter() - t0
                out["s"] += took
                clock.excluded += took

        setattr(callback, name, timed)
    return out
