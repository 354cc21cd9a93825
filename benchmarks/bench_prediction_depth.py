"""Prediction depth: vectorised TensorFlow k-NN vs scikit-learn's KNeighborsClassifier.

10,000 training and 10,000 test points per layer, 8 probed layers of widths 16..256
(evenly spaced), 10 classes, k = 30. Representations are synthetic: a class mean whose
strength grows with depth plus Gaussian noise, so probes disagree at shallow layers and
depths spread over 0..8. Both implementations run on the same float32 arrays in the same
process: one untimed full run each (imports, tracing, thread pools), then REPEATS timed runs,
alternating; the best wall and CPU time of each are reported, with both ratios. sklearn uses
its default algorithm (printed: brute force for these widths) and all cores. Also timed: the
score matrix products alone (float32, as TensorFlow computes them), the floor of the TF
method, so the rest is the neighbour selection. Checks the per-example results agree.

    .venv/bin/python benchmarks/bench_prediction_depth.py      (about 1 minute on 2 cores)
"""
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import prunekit  # noqa: E402,F401  (Keras 2 before TensorFlow)
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402

from prunekit.evaluation import depth_from_predictions, prediction_depth  # noqa: E402
from prunekit.evaluation.knn import _CHUNK_ELEMENTS  # noqa: E402

N_TRAIN = N_TEST = 10_000
DIMS = np.linspace(16, 256, 8).astype(int).tolist()
CLASSES, K, REPEATS = 10, 30, 3
TARGET_RATIO, TARGET_SECONDS = 2.0, 60.0


def synthetic(rng):
    y_train, y_test = rng.integers(0, CLASSES, N_TRAIN), rng.integers(0, CLASSES, N_TEST)
    train, test = [], []
    for layer, d in enumerate(DIMS):
        means = rng.normal(size=(CLASSES, d)).astype(np.float32) * (0.1 + 0.15 * layer)
        train.append(rng.normal(size=(N_TRAIN, d)).astype(np.float32) + means[y_train])
        test.append(rng.normal(size=(N_TEST, d)).astype(np.float32) + means[y_test])
    return train, y_train, test, y_test


def with_tensorflow(train, y_train, test, final, y_test):
    res = prediction_depth(train, y_train, test, final, K, true_labels=y_test)
    return res.baldock, res.pd_score, res.knn_predictions


def with_sklearn(train, y_train, test, final, y_test):
    preds = np.stack([KNeighborsClassifier(K).fit(tr, y_train).predict(te)
                      for tr, te in zip(train, test)])
    return depth_from_predictions(preds, final), depth_from_predictions(preds, y_test), preds


@tf.function(reduce_retracing=True)
def _products(queries, train_t):
    return tf.reduce_max(tf.matmul(queries, train_t)[:, :1])


def matmul_only(train, test):
    """The [x, 1] @ [2t, -|t|^2]^T score products alone, in the same chunks, layer by layer."""
    for tr, te in zip(train, test):
        q = tf.constant(np.c_[te, np.ones(len(te), np.float32)])
        t = tf.constant(np.c_[2 * tr, -(tr ** 2).sum(1)].T)
        chunk = _CHUNK_ELEMENTS // int(t.shape[1])
        for i in range(0, len(te), chunk):
            _products(q[i:i + chunk], t).numpy()


def timed(fn, *args):
    start, start_cpu = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - start, time.process_time() - start_cpu


def main():
    load_before = os.getloadavg()[0]
    rng = np.random.default_rng(0)
    train, y_train, test, y_test = synthetic(rng)
    final = rng.integers(0, CLASSES, N_TEST)  # stands in for the network's final prediction
    data = (train, y_train, test, final, y_test)
    methods = {"tensorflow": with_tensorflow, "sklearn": with_sklearn}
    results = {name: fn(*data) for name, fn in methods.items()}  # untimed full warm-up run
    matmul_only(train, test)
    algorithm = KNeighborsClassifier(K).fit(train[0], y_train)._fit_method

    wall = {name: [] for name in [*methods, "matmul"]}
    cpu = {name: [] for name in wall}
    for _ in range(REPEATS):
        for name, fn in methods.items():
            results[name], w, c = timed(fn, *data)
            wall[name].append(w), cpu[name].append(c)
        _, w, c = timed(matmul_only, train, test)
        wall["matmul"].append(w), cpu["matmul"].append(c)

    best = {name: (min(wall[name]), min(cpu[name])) for name in wall}
    (tf_s, tf_cpu), (sk_s, sk_cpu), (mm_s, mm_cpu) = best["tensorflow"], best["sklearn"], best["matmul"]
    agree = (results["tensorflow"][2] == results["sklearn"][2]).mean()
    same_depth = np.mean([(a == b).mean() for a, b in zip(results["tensorflow"][:2], results["sklearn"][:2])])
    print(f"prediction depth, {N_TEST} test / {N_TRAIN} train points, {len(DIMS)} layers "
          f"(dims {DIMS}), k={K}, {os.cpu_count()} CPU cores, sklearn algorithm={algorithm!r}")
    for name, label in (("tensorflow", "tensorflow"), ("sklearn", "sklearn"),
                        ("matmul", "TF products only")):
        print(f"  {label + ':':18s} wall {best[name][0]:5.2f} s, CPU {best[name][1]:5.2f} s   (runs "
              f"{', '.join(f'{w:.2f}/{c:.2f}' for w, c in zip(wall[name], cpu[name]))} wall/CPU)")
    print(f"  ratio sklearn / tensorflow: wall {sk_s / tf_s:.2f}x, CPU {sk_cpu / tf_cpu:.2f}x   "
          f"(target >= {TARGET_RATIO}x, tensorflow < {TARGET_SECONDS:.0f} s)")
    print(f"  tensorflow CPU split: score products {mm_cpu:.2f} s, neighbour selection and vote "
          f"{tf_cpu - mm_cpu:.2f} s")
    print(f"  probe predictions identical: {agree:.4%}; depths identical: {same_depth:.4%}; "
          f"mean PD-Score {results['tensorflow'][1].mean():.2f}, mean Baldock depth "
          f"{results['tensorflow'][0].mean():.2f}")
    print(f"  load average (1 min) before {load_before:.1f}, after {os.getloadavg()[0]:.1f} "
          f"(other processes share these cores; CPU seconds are less sensitive to them)")
    ok = sk_s / tf_s >= TARGET_RATIO and tf_s < TARGET_SECONDS and agree == 1.0
    print("  PASS" if ok else "  BELOW TARGET")


if __name__ == "__main__":
    main()
