"""Shared dense trunk vs independent arms: optimizer steps and wall time (issue 4).

A timing study of five arms on the embedded 8x8 digits (MLP 64-512-256-10, SGD momentum,
30 epochs of 56 steps): one-shot magnitude pruning to 80 % at 50/60/70/80 % of training and
gradual pruning to 80 % from 50 % to 80 % of training. With the trunk, the dense prefix
(80 % of training) is trained once and every arm branches from its checkpoint; without it
every arm trains from step 0. Target: shared / independent optimizer steps <= 0.6. Wall and
CPU time are printed too: per-fit fixed costs (building, tracing the train step) do not
shrink with sharing, so on a model this small the time ratio stays above the step ratio.

Also prints the step ratio predicted for other arm sets (no training):
``shared = max b_i + sum (T - b_i)``, ``independent = n T`` for branch points b_i.

The same five arms then run through the study driver (``prunekit-study`` with
``share_trunk=True`` vs ``False``, in a subprocess: one config, one seed, no dense baseline):
steps ratio from the driver's own accounting (checked against the steps each run reports)
and wall-time ratio of the runs phase (trunk + branches vs five runs from step 0).

Run: ``.venv/bin/python benchmarks/bench_trunk.py`` (each mode runs twice, ABBA order; about
4-6 minutes); ``--driver`` runs only the study-driver part.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import prunekit  # noqa: E402,F401  (tf_keras before tensorflow)
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from prunekit import timing  # noqa: E402
from prunekit.timing import trunk  # noqa: E402

EPOCHS, BATCH = 30, 32


def build():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((64,)),
                             keras.layers.Dense(512, activation="relu", name="h1"),
                             keras.layers.Dense(256, activation="relu", name="h2"),
                             keras.layers.Dense(10, name="out")])


def compile(model):
    model.compile(keras.optimizers.SGD(0.02, momentum=0.9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])


ARMS = [trunk.Arm(f"oneshot@{int(f * 100)}%", timing.OneShot(0.8, at=f)) for f in (0.5, 0.6, 0.7, 0.8)]
ARMS.append(trunk.Arm("gradual50-80%", timing.Gradual(0.8, begin=0.5, end=0.8, frequency=20)))


def predicted_ratio(fractions):
    return (max(fractions) + sum(1 - b for b in fractions)) / len(fractions)


def main():
    tf.config.experimental.enable_op_determinism()
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    x, y = load_digits(return_X_y=True)
    data = trunk.StepData((x / 16.0).astype(np.float32), y.astype(np.int32), BATCH, seed=0)
    xe, ye = data.x[:256], data.y[:256]
    warm = trunk.Study(ARMS[:1], build=build, compile=compile, data=data, epochs=1)
    warm.run(share=False)  # first traces of the process are not charged to either side
    results, reports = {}, {}
    walls, cpus = {False: [], True: []}, {False: [], True: []}
    for share in (False, True, True, False):  # ABBA order: load drift hits both sides alike
        study = trunk.Study(ARMS, build=build, compile=compile, data=data, epochs=EPOCHS)
        t0, c0 = time.perf_counter(), time.process_time()
        results[share] = study.run(share=share)
        walls[share].append(time.perf_counter() - t0)
        cpus[share].append(time.process_time() - c0)
        reports[share] = study.report()
    rep = reports[True]
    total = study.length.total_steps
    trained = {s: sum(reports[s]["trained"].values()) for s in (False, True)}
    print(f"arms: {', '.join(a.name for a in ARMS)}; {total} steps each "
          f"({EPOCHS} epochs x {data.steps_per_epoch})")
    print(f"dense steps: trained once {rep['dense_steps_once']} vs once per arm "
          f"{rep['dense_steps_per_arm']}")
    print(f"optimizer steps: shared {trained[True]} / independent {trained[False]} = "
          f"{trained[True] / trained[False]:.3f}x (target <= 0.6)")
    for label, t in (("wall time", walls), ("CPU time", cpus)):
        shared, indep = min(t[True]), min(t[False])
        print(f"{label} (best of 2): shared {shared:.1f}s / independent {indep:.1f}s = "
              f"{shared / indep:.3f}x  (runs: shared {', '.join(f'{v:.1f}' for v in t[True])}; "
              f"independent {', '.join(f'{v:.1f}' for v in t[False])})")
    for name in results[True]:
        a, b = results[True][name][0], results[False][name][0]
        diff = max(float(np.max(np.abs(u - v))) for u, v in zip(a.get_weights(), b.get_weights()))
        acc = float(np.mean(np.argmax(a(xe, training=False), 1) == ye))
        print(f"  {name:15s} final sparsity {results[True][name][1].records[-1]['overall']:.3f} "
              f"acc(first 256) {acc:.3f}  max |w_shared - w_independent| = {diff:.1e}")
    print("predicted step ratios for other five-arm sets (branch point as fraction of training):")
    for label, fr in (("one-shot at 20/40/60/80% + gradual from 50%", (0.2, 0.4, 0.6, 0.8, 0.5)),
                      ("one-shot to 20/40/60/80% sparsity at 80% + gradual from 50%",
                       (0.8, 0.8, 0.8, 0.8, 0.5))):
        print(f"  {label}: {predicted_ratio(fr):.3f}x")
    assert trained[True] == rep["shared_steps"] and trained[False] == rep["independent_steps"]
    assert trained[True] / trained[False] <= 0.6


DRIVER_CONFIG = '''
import ml_collections
def get_config(variant=None):
    c = ml_collections.ConfigDict()
    c.study = "bench_trunk"
    c.dataset = "digits"
    c.data_dir = ""
    c.model = "mlp"
    c.model_options = ml_collections.ConfigDict({"widths": (512, 256)})
    c.train = ml_collections.ConfigDict(dict(epochs=30, batch_size=32, optimizer="sgd", learning_rate=0.02,
                                             momentum=0.9, weight_decay=0.0))
    c.losses = ml_collections.ConfigDict({"cross_entropy": {"augment": False}})
    c.criteria = ml_collections.ConfigDict({"magnitude": {}})
    c.timings = ml_collections.ConfigDict({
        "oneshot50": {"kind": "oneshot", "at": 0.5}, "oneshot60": {"kind": "oneshot", "at": 0.6},
        "oneshot70": {"kind": "oneshot", "at": 0.7}, "oneshot80": {"kind": "oneshot", "at": 0.8},
        "gradual50_80": {"kind": "gradual", "begin": 0.5, "end": 0.8, "frequency": 20},
    })
    c.sparsities = (0.8,)
    c.seeds = (0,)
    c.scope = "layer"
    c.dense_baseline = False
    c.share_trunk = True
    c.evaluation = ml_collections.ConfigDict({"accuracy": {}, "sparsity": {}})
    c.artefacts = ml_collections.ConfigDict({"masks": False, "predictions": False})
    c.strategy = ""
    c.tensorboard = False
    c.verbose = 0
    return c
'''


def driver():
    """The five arms through prunekit-study: share_trunk True vs False, ABBA."""
    import contextlib
    import io

    from prunekit.study import main as study_main, results

    root = tempfile.mkdtemp(prefix="bench-trunk-driver-")
    config = os.path.join(root, "five_arms.py")
    with open(config, "w") as f:
        f.write(DRIVER_CONFIG)
    walls, rows, stats = {True: [], False: []}, {}, {}
    for i, share in enumerate((False, True, True, False)):
        workdir = os.path.join(root, f"w{i}")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = study_main.main(["prunekit-study", f"--config={config}", f"--workdir={workdir}",
                                    "--plots=false", f"--config.share_trunk={share}"])
        assert code == 0, f"study failed ({workdir})"
        timing = json.load(open(os.path.join(workdir, "timing.json")))
        walls[share].append(timing["runs_s"])  # trunks + runs (start-up and report excluded)
        rows[share] = sorted(results.read_jsonl(workdir), key=lambda r: r["timing"])
        runs = {r["id"]: json.load(open(os.path.join(workdir, "runs", r["id"], "result.json")))
                for r in rows[share]}
        trained = timing["trunk_steps"] + sum(r["total_steps"] - r.get("branched_at_step", 0)
                                              for r in runs.values())
        stats[share] = trained
        if share:
            saved = json.load(open(os.path.join(workdir, "trunk.json")))
    assert stats[True] == saved["shared_steps"] and stats[False] == saved["independent_steps"]
    print(f"study driver, five arms ({', '.join(r['timing'] for r in rows[True])}), "
          f"{saved['independent_steps'] // 5} steps each:")
    print(f"  dense steps: trained once {saved['dense_steps_once']} vs once per arm "
          f"{saved['dense_steps_per_arm']}")
    print(f"  optimizer steps: shared {stats[True]} / independent {stats[False]} = "
          f"{stats[True] / stats[False]:.3f}x (target <= 0.6)")
    shared, indep = min(walls[True]), min(walls[False])
    print(f"  wall time of the runs phase (best of 2): shared {shared:.1f}s / independent {indep:.1f}s = "
          f"{shared / indep:.3f}x  (runs: shared {', '.join(f'{v:.1f}' for v in walls[True])}; "
          f"independent {', '.join(f'{v:.1f}' for v in walls[False])})")
    for a, b in zip(rows[True], rows[False]):
        print(f"  {a['timing']:13s} test acc shared {a['test_accuracy']:.4f} / from scratch "
              f"{b['test_accuracy']:.4f}  sparsity {a['achieved_sparsity']:.3f}")
    assert stats[True] / stats[False] <= 0.6


if __name__ == "__main__":
    if "--driver" in sys.argv:
        driver()
    else:
        main()
        sys.stdout.flush()
        subprocess.run([sys.executable, os.path.abspath(__file__), "--driver"], check=True)
