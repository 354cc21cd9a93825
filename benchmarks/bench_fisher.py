"""Cost of the Fisher diagonal (prunekit.statistics) relative to simple baselines.

    .venv/bin/python benchmarks/bench_fisher.py      # 1-2 minutes on 2 idle CPU cores

Prints ratios measured in this run, both sides on the same examples (median of interleaved
repeats, after a warm-up call that traces):
- Exact Fisher on 1,000 examples over one batched backward pass (mean-loss gradient of the
  same prunable kernels on the same 1,000 examples, in a tf.function): MLP 64-300-100-10
  and a small convnet (8x8x1, Conv 16, Conv 32, Dense 10). Target <= 8x for the MLP.
- The same MLP call on a ``tf.data.Dataset`` of (x, y) batches of 32 over the call on the
  arrays (same 1,000 examples). Target <= 1.3x.
- For the convnet (C = 10): the ``sampled`` estimator (1 label per example) over ``exact``,
  target <= 0.25x, printed beside its arithmetic floor (multiply-adds, :func:`arithmetic_floor`); and the speed-up over a generic GradientTape.jacobian of log p (N, C)
  with respect to the weights, on the same 1,000 examples, in chunks of 100 (its memory
  grows with the square of the chunk: each of the n C outputs back-propagates the whole
  chunk; 250-example chunks took over 10 GB). Target >= 20x.
- A convnet with a large dense layer (32x32x3, Conv 16, Dense 4096, Dense 10): the per-layer
  form runs (250 examples in 2 chunks, trace included, peak memory printed); the generic
  Jacobian's output alone would not fit in memory.
Asserts nothing.
"""
import resource
import statistics as stats
import time

import numpy as np

import prunekit  # noqa: F401  (tf_keras before TensorFlow)
import tensorflow as tf
import tf_keras as keras

from prunekit import statistics
from prunekit.prunable import prunable_weights

NUM_EXAMPLES = 1000
CHUNK = 250  # examples per statistics chunk (prunekit's default batch_size)
JACOBIAN_CHUNK = 100
LARGE_EXAMPLES = 250  # in 2 chunks; costly on CPU: 10 class passes back through a 4096x16384 matmul


def median_times(*fns, repeats=7):
    """Median seconds of each function, calls interleaved (the machine may be shared)."""
    for fn in fns:
        fn()  # warm up: trace
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, t in zip(fns, times):
            start = time.perf_counter()
            fn()
            t.append(time.perf_counter() - start)
    return [stats.median(t) for t in times]


def data(model, n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *model.input_shape[1:])).astype(np.float32)
    return x, rng.integers(0, model.output_shape[-1], size=n)


def backward_fn(model, x, y):
    """One batched backward pass: gradient of the mean loss w.r.t. the prunable kernels."""
    kernels = list(prunable_weights(model).values())
    x, y = tf.constant(x), tf.constant(y)

    @tf.function
    def backward():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(
                y, model(x, training=False), from_logits=True))
        return tape.gradient(loss, kernels)

    return lambda: [g.numpy() for g in backward()]


def jacobian_fn(model, x, chunk=JACOBIAN_CHUNK):
    """Generic Fisher: jacobian of log p (n, C) w.r.t. the kernels, then sum_c p_c J^2,
    ``chunk`` examples at a time (as prunekit's statistics), summed and divided by N."""
    kernels = list(prunable_weights(model).values())
    chunks = [tf.constant(x[i:i + chunk]) for i in range(0, len(x), chunk)]

    @tf.function
    def fisher(xs):
        with tf.GradientTape() as tape:
            log_p = tf.nn.log_softmax(model(xs, training=False))
        jacobians = tape.jacobian(log_p, kernels)  # each (n, C, *kernel.shape)
        p = tf.exp(log_p)
        return [tf.einsum("nc,nc...->...", p, tf.square(j)) for j in jacobians]

    def run():
        totals = [fisher(c) for c in chunks]
        return [sum(parts).numpy() / len(x) for parts in zip(*totals)]

    return run


def layer_macs(model):
    """Per example, per prunable layer: multiply-adds P * K * F of its matmul (P output
    positions, K = kernel taps x input channels, F outputs), as the statistics compute it."""
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            out.append(layer.kernel.shape[0] * layer.kernel.shape[1])
        elif isinstance(layer, keras.layers.Conv2D):
            positions = int(np.prod(layer.output_shape[1:3]))
            out.append(positions * int(np.prod(layer.kernel.shape)))
    return out


def arithmetic_floor(model, passes, num_classes):
    """The multiply-add ratio of ``passes`` Fisher passes over the exact Fisher's C passes:
    each run once forward (sum of P K F), and per pass a backward to every layer's output
    (the input gradients of all layers but the first) and the per-example products a^T d
    (P K F per layer). Memory traffic, patches and dispatch are not counted."""
    macs = layer_macs(model)
    forward, per_pass = sum(macs), sum(macs[1:]) + sum(macs)
    return (forward + passes * per_pass) / (forward + num_classes * per_pass)


def fisher_fn(model, data, **estimator):
    return lambda: [f.numpy() for f in statistics.fisher_diagonal(
        model, data, NUM_EXAMPLES, batch_size=CHUNK, **estimator).values()]


def main():
    tf.random.set_seed(0)
    keras.utils.set_random_seed(0)

    large = keras.Sequential([
        keras.layers.Conv2D(16, 3, padding="same", activation="relu", input_shape=(32, 32, 3)),
        keras.layers.Flatten(),
        keras.layers.Dense(4096, activation="relu"),
        keras.layers.Dense(10)])
    x, y = data(large, LARGE_EXAMPLES)
    params = sum(int(np.prod(w.shape)) for w in prunable_weights(large).values())
    start = time.perf_counter()
    fisher = statistics.fisher_diagonal(large, (x, y), LARGE_EXAMPLES, batch_size=LARGE_EXAMPLES // 2)
    seconds = time.perf_counter() - start
    finite = all(bool(tf.reduce_all(tf.math.is_finite(f))) for f in fisher.values())
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    jac_gb = LARGE_EXAMPLES * 10 * params * 4 / 2**30
    print(f"large dense (32x32x3-C16-D4096-D10, {params / 1e6:.0f}M kernel weights, {LARGE_EXAMPLES} ex, "
          f"2 chunks): per-layer Fisher in {seconds:.1f} s, finite={finite}, process peak RSS {peak_gb:.1f} GB; "
          f"a generic Jacobian's output alone would be {jac_gb:.0f} GB")

    mlp = keras.Sequential([keras.layers.Dense(300, activation="tanh", input_shape=(64,)),
                            keras.layers.Dense(100, activation="tanh"),
                            keras.layers.Dense(10)])
    x, y = data(mlp, NUM_EXAMPLES)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    fisher_time, backward_time, dataset_time = median_times(
        fisher_fn(mlp, (x, y)), backward_fn(mlp, x, y), fisher_fn(mlp, dataset))
    print(f"fisher/backward (MLP 64-300-100-10, {NUM_EXAMPLES} ex): {fisher_time / backward_time:.1f}x  "
          f"(target <= 8x)")
    print(f"fisher from a tf.data.Dataset (batches of 32) / from arrays (MLP, {NUM_EXAMPLES} ex): "
          f"{dataset_time / fisher_time:.2f}x ({dataset_time * 1e3:.1f} vs {fisher_time * 1e3:.1f} ms)  "
          f"(target <= 1.3x)")

    convnet = keras.Sequential([
        keras.layers.Conv2D(16, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(10)])
    x, y = data(convnet, NUM_EXAMPLES)
    fisher_time, sampled_time, backward_time, jac_time = median_times(
        fisher_fn(convnet, (x, y)), fisher_fn(convnet, (x, y), estimator="sampled", samples=1),
        backward_fn(convnet, x, y), jacobian_fn(convnet, x), repeats=5)
    print(f"fisher/backward (convnet 8x8x1-C16-C32-D10, {NUM_EXAMPLES} ex): {fisher_time / backward_time:.1f}x")
    print(f"sampled (1 label per example) / exact Fisher (convnet, C = 10, {NUM_EXAMPLES} ex): "
          f"{sampled_time / fisher_time:.2f}x ({sampled_time * 1e3:.1f} vs {fisher_time * 1e3:.1f} ms)  "
          f"(target <= 0.25x; arithmetic floor {arithmetic_floor(convnet, 1, 10):.3f}x)")
    print(f"jacobian/fisher (convnet, generic GradientTape.jacobian on the same {NUM_EXAMPLES} ex in "
          f"{JACOBIAN_CHUNK}-example chunks): {jac_time / fisher_time:.0f}x faster  (target >= 20x)")


if __name__ == "__main__":
    main()
