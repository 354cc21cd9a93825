"""Prediction depth: vectorised TensorFlow k-NN vs scikit-learn's KNeighborsClassifier.

10,000 training and 10,000 test points per layer, 8 probed layers of widths 16..256
(evenly spaced), 10 classes, k = 30. Representations are synthetic: a class mean whose
strength grows with depth plus Gaussian noise, so probes disagree at shallow layers and
depths spread over 0..8. Both implementations run on the same arrays in the same process,
alternating, twice each; the best time of each is reported. Prints the ratio and the
absolute time; checks the per-example depths agree.

    .venv/bin/python benchmarks/bench_prediction_depth.py      (about 1 minute on 2 cores)
"""
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import prunekit  # noqa: E402,F401  (Keras 2 before TensorFlow)
import numpy as np  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier  # noqa: E402

from prunekit.evaluation import depth_from_predictions, prediction_depth  # noqa: E402

N_TRAIN = N_TEST = 10_000
DIMS = np.linspace(16, 256, 8).astype(int).tolist()
CLASSES, K, REPEATS = 10, 30, 2
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


def main():
    load = os.getloadavg()[0]
    rng = np.random.default_rng(0)
    train, y_train, test, y_test = synthetic(rng)
    final = rng.integers(0, CLASSES, N_TEST)  # stands in for the network's final prediction
    small = ([t[:200] for t in train], y_train[:200], [t[:50] for t in test], final[:50], y_test[:50])
    with_tensorflow(*small), with_sklearn(*small)  # warm-up: imports, tracing, thread pools

    times = {"tensorflow": [], "sklearn": []}
    cpu = {"tensorflow": [], "sklearn": []}
    results = {}
    for _ in range(REPEATS):
        for name, fn in (("tensorflow", with_tensorflow), ("sklearn", with_sklearn)):
            start, start_cpu = time.perf_counter(), time.process_time()
            results[name] = fn(train, y_train, test, final, y_test)
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)

    tf_s, sk_s = min(times["tensorflow"]), min(times["sklearn"])
    agree = (results["tensorflow"][2] == results["sklearn"][2]).mean()
    same_depth = np.mean([(a == b).mean() for a, b in zip(results["tensorflow"][:2], results["sklearn"][:2])])
    print(f"prediction depth, {N_TEST} test / {N_TRAIN} train points, {len(DIMS)} layers "
          f"(dims {DIMS}), k={K}, {os.cpu_count()} CPU cores")
    print(f"  tensorflow: {tf_s:.2f} s   (runs {', '.join(f'{t:.2f}' for t in times['tensorflow'])})")
    print(f"  sklearn:    {sk_s:.2f} s   (runs {', '.join(f'{t:.2f}' for t in times['sklearn'])})")
    print(f"  ratio sklearn / tensorflow: {sk_s / tf_s:.2f}x   (target >= {TARGET_RATIO}x, "
          f"tensorflow < {TARGET_SECONDS:.0f} s)")
    print(f"  probe predictions identical: {agree:.4%}; depths identical: {same_depth:.4%}; "
          f"mean PD-Score {results['tensorflow'][1].mean():.2f}, mean Baldock depth "
          f"{results['tensorflow'][0].mean():.2f}")
    print(f"  CPU seconds (all threads; less sensitive to other load): tensorflow "
          f"{min(cpu['tensorflow']):.2f}, sklearn {min(cpu['sklearn']):.2f}, ratio "
          f"{min(cpu['sklearn']) / min(cpu['tensorflow']):.2f}x; load average before: "
          f"{load:.1f}")
    ok = sk_s / tf_s >= TARGET_RATIO and tf_s < TARGET_SECONDS
    print("  PASS" if ok else "  BELOW TARGET")


if __name__ == "__main__":
    main()
