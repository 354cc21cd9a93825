"""Pruned ``fit`` vs dense ``fit``: steady-state epoch time ratios (small convnet, CPU).

    .venv/bin/python benchmarks/bench_fit.py [--rounds 6] [--clock wall --threads 0]  # ~1 min

Same data (1,437 random 8x8x1 examples, the digits train size), same model init, batch 32
(45 steps per epoch). Arms: dense; plain tfmot ``prune_low_magnitude`` with PolynomialDecay
+ ``UpdatePruningStep``; prunekit magnitude Gradual; prunekit qm with 1,000 scoring examples.
Every pruning arm prunes to 80 % with an event every 100 optimizer steps. The arms are
fitted in interleaved rounds (each model continues where its last fit stopped), the first
epoch of each fit skipped; steady-state epoch time = median of the rest. The mean (which
includes the epochs with pruning events) and the min (least disturbed by other processes)
are printed too. Default clock: process CPU time with one TF thread, steadier than wall time
on a shared machine. Targets (issue 2): magnitude <= 1.03x, qm <= 1.15x dense.
Prints ratios; asserts nothing.
"""
from __future__ import annotations

import argparse
import statistics
import time

import prunekit  # noqa: F401  (selects tf_keras before TensorFlow)
import numpy as np
import tensorflow as tf
import tf_keras as keras
import tensorflow_model_optimization as tfmot

from prunekit import schedules

N, BATCH, TARGET, FREQ = 1437, 32, 0.8, 100
CLOCK = [time.perf_counter]  # --clock cpu: process CPU time, steadier on a shared machine


class EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self._t = CLOCK[0]()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(CLOCK[0]() - self._t)


class TimedPruning(prunekit.PruningCallback):
    """Adds up the time spent in pruning events (statistics, scoring, mask assignment)."""

    event_time = 0.0

    def prune(self, target, step=None):
        start = CLOCK[0]()
        try:
            return super().prune(target, step)
        finally:
            self.event_time += CLOCK[0]() - start


def convnet(seed):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.layers.Conv2D(16, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10),
    ])


def build(arm, data, total_steps, seed=0):
    """The arm's compiled model and callbacks, from the same init for every arm."""
    x, y = data
    model, callbacks = convnet(seed), []
    end = min(4 * FREQ, total_steps - 1)
    if arm == "tfmot":
        model = tfmot.sparsity.keras.prune_low_magnitude(
            model, pruning_schedule=tfmot.sparsity.keras.PolynomialDecay(
                0.0, TARGET, begin_step=0, end_step=end, frequency=FREQ))
        callbacks.append(tfmot.sparsity.keras.UpdatePruningStep())
    elif arm in ("magnitude", "qm"):
        model = prunekit.wrap(model)
        callbacks.append(TimedPruning(
            arm, schedules.Gradual(TARGET, begin_step=0, end_step=end, frequency=FREQ),
            scope="layer", data=(x[:1000], y[:1000]), num_examples=1000))
    model.compile(keras.optimizers.SGD(0.05, momentum=0.9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model, callbacks


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6, help="interleaved fits per arm")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per fit (the first is skipped)")
    parser.add_argument("--threads", type=int, default=1, help="TF intra/inter threads (0: TF default)")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="cpu: process CPU time (steadier on a shared machine); wall: perf_counter")
    args = parser.parse_args()
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    if args.clock == "cpu":
        CLOCK[0] = time.process_time
    rng = np.random.default_rng(0)
    data = (rng.random((N, 8, 8, 1), dtype=np.float32), rng.integers(0, 10, N))
    arms = ["dense", "tfmot", "magnitude", "qm"]
    total_steps = args.rounds * args.epochs * -(-N // BATCH)
    built = {arm: build(arm, data, total_steps) for arm in arms}
    times = {a: [] for a in arms}
    for _ in range(args.rounds):
        for arm in arms:  # interleaved, so drifts of a shared machine hit every arm alike
            model, callbacks = built[arm]
            timer = EpochTimer()
            model.fit(*data, batch_size=BATCH, epochs=args.epochs, verbose=0, shuffle=False,
                      callbacks=callbacks + [timer])
            times[arm] += timer.times[1:]  # the first epoch of a fit (re)traces
    median = {a: statistics.median(t) for a, t in times.items()}
    mean = {a: statistics.fmean(t) for a, t in times.items()}
    low = {a: min(t) for a, t in times.items()}
    print(f"epoch time ({args.clock} clock, {args.threads or 'default'} thread(s)), {N} examples, "
          f"batch {BATCH}, {args.rounds} interleaved fits x {args.epochs} epochs per arm "
          f"(first epoch of each fit skipped)")
    for arm in arms:
        print(f"  {arm:10s} median {median[arm] * 1e3:7.1f} ms  mean {mean[arm] * 1e3:7.1f} ms  "
              f"min {low[arm] * 1e3:7.1f} ms")
    print("ratios over dense (median | mean | min):")
    for arm, goal in (("tfmot", None), ("magnitude", 1.03), ("qm", 1.15)):
        note = f"  (target <= {goal:.2f}x)" if goal else ""
        print(f"  {arm:10s} {median[arm] / median['dense']:.3f}x | {mean[arm] / mean['dense']:.3f}x | "
              f"{low[arm] / low['dense']:.3f}x{note}")
    for arm in ("magnitude", "qm"):
        cb = built[arm][1][0]
        count = len(cb.events)
        print(f"  {arm:10s} pruning events: {count}, {cb.event_time / max(count, 1) * 1e3:.1f} ms each "
              "(statistics + scoring + assignment, inside the epochs above)")
    print("prunekit over plain tfmot (median | mean | min):")
    for arm in ("magnitude", "qm"):
        print(f"  {arm:10s} {median[arm] / median['tfmot']:.3f}x | {mean[arm] / mean['tfmot']:.3f}x | "
              f"{low[arm] / low['tfmot']:.3f}x")


if __name__ == "__main__":
    main()
