"""Pruned ``fit`` vs dense ``fit``: steady-state epoch time ratios (small convnets, CPU).

    .venv/bin/python benchmarks/bench_fit.py [--workload both|convnet|tiny] [--rounds 2]  # ~2-3 min

Workloads (random inputs and labels, the same init for every arm):
  convnet: the catalogue's small convnet, ``prunekit.models.build("convnet", (32, 32, 3), 10)``
           (conv 16, conv 32, 2x2 pool, dense 64, logits; 0.54 M weights), on CIFAR-shaped
           32x32x3 inputs, batch 128, 50 steps per epoch. A step does real work (~60 ms on
           one core), so plain tfmot's ratio over dense is close to the 1.00x the issue
           states; this is the headline workload.
  tiny:    the 8x8x1 two-conv net of earlier measurements, batch 32, 50 steps per epoch. A
           step is ~2 ms of mostly op dispatch, which is why plain tfmot itself costs ~1.1x
           there; printed for continuity.
Arms: dense; plain tfmot ``prune_low_magnitude`` with PolynomialDecay + ``UpdatePruningStep``;
prunekit magnitude Gradual; prunekit qm with 1,000 scoring examples, with the exact Fisher
(``qm``) and with the ``sampled`` Fisher, one label per example (``qm_sampled``). Every pruning arm prunes
from 5 % towards 80 % with an event every 100 optimizer steps, at steps 25 + 100 k
(mid-epoch, so each event lands inside a timed epoch). Each arm first fits one warm-up epoch
(tracing, and the first event at step 25, which for qm traces the statistics graph: printed
apart as a one-time cost), then the arms fit in interleaved rounds of 2 epochs (100 steps,
exactly one event), the order of the arms rotating from round to round.
Epoch time: median and mean over the timed epochs; the mean includes the epochs with events
and is the headline for qm. Default clock: process CPU time with one TF thread, steadier
than wall time on a shared machine. Targets: magnitude <= 1.03x dense and <= 1.03x plain tfmot
(issue 15, with the cost of one event), qm <= 1.15x (issue 2), qm_sampled <= 1.2x dense (issue 15).
Prints ratios and the qm event breakdown; asserts nothing.
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

from prunekit import registry, schedules
from prunekit import statistics as statistics_lib

TARGET, FREQ, OFFSET, STEPS_PER_EPOCH, SCORING = 0.8, 100, 25, 50, 1000
CLOCK = [time.process_time]
INITIAL = 0.05  # sparsity of the first event (step 25, in the warm-up epoch)
CRITERIA = {"magnitude": ("magnitude", {}), "qm": ("qm", {}),  # arm: (plugin, options)
            "qm_sampled": ("qm", {"fisher": "sampled", "samples": 1})}
WORKLOADS = {  # input shape, batch, warm-up epochs
    "convnet": ((32, 32, 3), 128, 1),
    "tiny": ((8, 8, 1), 32, 1),
}


class EpochTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self._t = CLOCK[0]()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(CLOCK[0]() - self._t)


class TimedPruning(prunekit.PruningCallback):
    """Records each pruning event's time, and the part spent computing statistics."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.event_times, self.statistics_times = [], []

    def prune(self, target, step=None, **kwargs):
        start, before = CLOCK[0](), len(STATS_TIMES)
        try:
            return super().prune(target, step, **kwargs)
        finally:
            if float(target) > 0:  # (every event here has target >= INITIAL)
                self.event_times.append(CLOCK[0]() - start)
                self.statistics_times.append(sum(STATS_TIMES[before:]))


STATS_TIMES: list = []
_compute = statistics_lib.compute


def _timed_compute(*args, **kwargs):
    start = CLOCK[0]()
    try:
        return _compute(*args, **kwargs)
    finally:
        STATS_TIMES.append(CLOCK[0]() - start)


statistics_lib.compute = _timed_compute  # the callback looks it up at each event


def model_for(workload, seed=0):
    shape = WORKLOADS[workload][0]
    if workload == "convnet":
        return prunekit.models.build("convnet", input_shape=shape, num_classes=10, seed=seed)
    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.layers.Conv2D(16, 3, padding="same", activation="relu", input_shape=shape),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10),
    ])


def build(arm, workload, data, end_step):
    """The arm's compiled model and callbacks, from the same init for every arm."""
    x, y = data
    model, callbacks = model_for(workload), []
    if arm == "tfmot":
        model = tfmot.sparsity.keras.prune_low_magnitude(
            model, pruning_schedule=tfmot.sparsity.keras.PolynomialDecay(
                INITIAL, TARGET, begin_step=OFFSET, end_step=end_step, frequency=FREQ))
        callbacks.append(tfmot.sparsity.keras.UpdatePruningStep())
    elif arm in CRITERIA:
        model = prunekit.wrap(model)
        callbacks.append(TimedPruning(
            registry.get_criterion(*CRITERIA[arm][:1], **CRITERIA[arm][1]), schedules.Gradual(TARGET, begin_step=OFFSET, end_step=end_step, frequency=FREQ,
                                   initial=INITIAL),
            scope="layer", data=(x[:SCORING], y[:SCORING]), num_examples=SCORING))
    model.compile(keras.optimizers.SGD(0.05, momentum=0.9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model, callbacks


def backward_time(model, x, y):
    """One batched forward + backward pass on the scoring examples (the Fisher's yardstick)."""
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    x, y = tf.constant(x), tf.constant(y)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            value = loss(y, model(x, training=False))
        return tape.gradient(value, model.trainable_variables)

    step()
    times = []
    for _ in range(3):
        start = CLOCK[0]()
        step()
        times.append(CLOCK[0]() - start)
    return min(times)


def run(workload, rounds):
    shape, batch, warmup = WORKLOADS[workload]
    n = batch * STEPS_PER_EPOCH
    rng = np.random.default_rng(0)
    data = (rng.random((n, *shape), dtype=np.float32), rng.integers(0, 10, n))
    arms = ["dense", "tfmot", *CRITERIA]
    end_step = OFFSET + FREQ * (warmup * STEPS_PER_EPOCH // FREQ + rounds + 1)
    built = {arm: build(arm, workload, data, end_step) for arm in arms}
    warm = {}
    for arm in arms:  # tracing and qm's first statistics event (one-time costs)
        model, callbacks = built[arm]
        timer = EpochTimer()
        start = CLOCK[0]()
        model.fit(*data, batch_size=batch, epochs=warmup, verbose=0, shuffle=False,
                  callbacks=callbacks + [timer])
        warm[arm] = CLOCK[0]() - start
    first_event = {arm: built[arm][1][0].event_times[:] for arm in CRITERIA}
    times = {a: [] for a in arms}
    for r in range(rounds):
        for arm in arms[r % len(arms):] + arms[:r % len(arms)]:  # interleaved and rotated: drifts and the
            # position in a round hit every arm alike
            model, callbacks = built[arm]
            timer = EpochTimer()
            model.fit(*data, batch_size=batch, epochs=2, verbose=0, shuffle=False,
                      callbacks=callbacks + [timer])
            times[arm] += timer.times
    median = {a: statistics.median(t) for a, t in times.items()}
    mean = {a: statistics.fmean(t) for a, t in times.items()}
    print(f"\n[{workload}] {shape} inputs, batch {batch}, {STEPS_PER_EPOCH} steps per epoch; "
          f"{rounds} interleaved rounds x 2 epochs per arm after {warmup} warm-up epochs "
          f"({CLOCK[0].__name__} clock)")
    for arm in arms:
        print(f"  {arm:10s} epoch median {median[arm] * 1e3:8.1f} ms  mean {mean[arm] * 1e3:8.1f} ms"
              f"  (warm-up fit {warm[arm]:.1f} s)")
    print("  ratio over dense (mean | median):")
    for arm, goal in (("tfmot", None), ("magnitude", 1.03), ("qm", 1.15), ("qm_sampled", 1.2)):
        note = f"  target <= {goal:.2f}x" if goal else ""
        print(f"    {arm:10s} {mean[arm] / mean['dense']:.3f}x | {median[arm] / median['dense']:.3f}x{note}")
    print("  prunekit over plain tfmot (mean | median):")
    for arm in CRITERIA:
        note = "  target <= 1.03x (issue 15)" if arm == "magnitude" else ""
        print(f"    {arm:10s} {mean[arm] / mean['tfmot']:.3f}x | {median[arm] / median['tfmot']:.3f}x{note}")
    for arm in ("qm", "qm_sampled"):
        breakdown(arm, built[arm], first_event[arm], data, median["dense"])
    event = statistics.fmean(built['magnitude'][1][0].event_times)
    print(f"  magnitude events: {event * 1e3:.1f} ms each = {event / (median['dense'] * FREQ / STEPS_PER_EPOCH):.3f}x "
          f"the {FREQ} dense steps between two events")


def breakdown(arm, built, first_events, data, dense_epoch):
    """Prints what one event of a statistics arm costs, and what that leaves of a budget."""
    model, (cb, *_) = built
    events, stats = cb.event_times[len(first_events):], cb.statistics_times[len(first_events):]
    fisher = cb.criterion.get_config()["fisher"]
    if events:
        event, stat = statistics.fmean(events), statistics.fmean(stats)
        backward = backward_time(model, data[0][:SCORING], data[1][:SCORING])
        hundred = dense_epoch * FREQ / STEPS_PER_EPOCH
        print(f"  {arm} event breakdown ({len(events)} timed events): {event * 1e3:.0f} ms each = "
              f"statistics {stat * 1e3:.0f} ms (gradient + {fisher} Fisher on {SCORING} examples, "
              f"{stat / backward:.1f}x one batched backward pass of {backward * 1e3:.0f} ms) + scoring, "
              f"masks and assignment {(event - stat) * 1e3:.0f} ms; {FREQ} dense steps take "
              f"{hundred * 1e3:.0f} ms, so events alone add {event / hundred:.3f}x")
        budget = 0.15 * hundred - (event - stat)  # what 1.15x leaves for the statistics
        print(f"  at this cost per example, {arm} <= 1.15x (events alone) would allow statistics on "
              f"<= {max(budget, 0) / (stat / SCORING):.0f} examples per {FREQ} steps, or "
              f"{SCORING} examples every >= {FREQ * event / (0.15 * hundred):.0f} steps")
    if first_events:
        print(f"  {arm} first statistics event (traces the statistics graph, once per model): "
              f"{first_events[0]:.2f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=("both", *WORKLOADS), default="both")
    parser.add_argument("--rounds", type=int, default=0,
                        help="interleaved 2-epoch fits per arm (default: convnet 2, tiny 8)")
    parser.add_argument("--threads", type=int, default=1, help="TF intra/inter threads (0: TF default)")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="cpu: process CPU time (steadier on a shared machine); wall: perf_counter")
    args = parser.parse_args()
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    if args.clock == "wall":
        CLOCK[0] = time.perf_counter
    print(f"threads: {args.threads or 'TF default'}; targets: magnitude <= 1.03x, "
          "qm <= 1.15x, qm_sampled <= 1.2x dense")
    for workload in (WORKLOADS if args.workload == "both" else [args.workload]):
        run(workload, args.rounds or {"convnet": 2, "tiny": 8}[workload])


if __name__ == "__main__":
    main()
