"""Shared dense trunk: branching gives the weights of training the arm from scratch (issue 4).

Runs in a subprocess with ``tf.config.experimental.enable_op_determinism()`` on CPU so the
global switch does not leak into other tests.
"""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from prunekit.timing import trunk

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import prunekit
    import tensorflow as tf
    tf.config.experimental.enable_op_determinism()
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    import tf_keras as keras
    from sklearn.datasets import load_digits
    from prunekit import timing
    from prunekit.timing import mask_io, trunk

    x, y = load_digits(return_X_y=True)
    data = trunk.StepData((x[:256] / 16).astype("float32"), y[:256], batch_size=32, seed=5)

    def build():
        keras.utils.set_random_seed(0)
        return keras.Sequential([keras.Input((64,)), keras.layers.Dense(32, activation="relu", name="h"),
                                 keras.layers.Dense(10, name="out")])

    arms = [trunk.Arm("oneshot", timing.OneShot(0.5, at=0.5)),
            trunk.Arm("late", timing.OneShot(0.7, at="2ep", steps=3), criterion="taylor1", scope="global"),
            trunk.Arm("gradual", timing.Gradual(0.6, begin=0.25, end=0.75, frequency=3))]
    out = {}
    for opt, study_arms in (("sgd", arms), ("adam", arms[:1])):
        def compile(model):
            optimizer = (keras.optimizers.SGD(0.05, momentum=0.9) if opt == "sgd"
                         else keras.optimizers.Adam(0.01))
            model.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        for share in (True, False):
            study = trunk.Study(study_arms, build=build, compile=compile, data=data, epochs=4,
                                data_for_statistics=(data.x[:64], data.y[:64]), num_examples=64)
            runs = study.run(share=share)
            out[opt + str(share)] = {name: [w.tolist() for w in m.get_weights()] + [
                                     [r["step"] for r in cb.records]] for name, (m, cb) in runs.items()}
            out[opt + "report" + str(share)] = study.report()
    json.dump(out, sys.stdout)
""")


def test_branch_equals_scratch_bitwise():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True,
                          text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    for opt, names in (("sgd", ("oneshot", "late", "gradual")), ("adam", ("oneshot",))):
        shared, scratch = out[opt + "True"], out[opt + "False"]
        for name in names:  # weights, masks, optimizer-step counters; the event steps last
            assert len(shared[name]) == len(scratch[name])
            for a, b in zip(shared[name], scratch[name]):
                np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=opt + name)
    shared = out["sgdTrue"]
    assert shared["oneshot"][-1] == [16] and shared["late"][-1] == [16]
    assert shared["gradual"][-1] == [8, 11, 14, 17, 20, 23, 24]
    # 32 steps per arm; branch points 16, 16, 8: trunk 16 + (16 + 16 + 24) = 72 vs 96.
    rep = out["sgdreportTrue"]
    assert rep["shared_steps"] == 72 and rep["independent_steps"] == 96
    assert rep["trained"] == {"trunk": 16, "oneshot": 16, "late": 16, "gradual": 24}
    assert out["sgdreportFalse"]["trained"] == {"trunk": 0, "oneshot": 32, "late": 32, "gradual": 32}


def test_step_data_order_is_fixed_by_step():
    x, y = np.arange(100).reshape(50, 2), np.arange(50)
    d = trunk.StepData(x, y, batch_size=8, seed=1)
    assert d.steps_per_epoch == 6
    np.testing.assert_array_equal(d.indices(0, 20)[7:13], d.indices(7, 13))
    epoch0 = d.indices(0, 6).ravel()
    assert len(set(epoch0)) == 48
    assert not np.array_equal(d.indices(0, 6), d.indices(6, 12))
