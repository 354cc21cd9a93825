"""prunekit.checkpoint: round trips, atomic files, damaged files named, wrapped <-> plain."""
import os
import stat

import numpy as np
import pytest

import prunekit
from prunekit import checkpoint
import tf_keras as keras


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="d1"), keras.layers.Dense(2, name="d2")])
    m.compile(keras.optimizers.SGD(0.1, momentum=0.9), "mse")
    return m


def _train(m, n=2):
    x = np.arange(32, dtype="float32").reshape(8, 4) / 32
    m.fit(x, np.ones((8, 2), "float32"), batch_size=4, epochs=n, verbose=0)


def test_round_trip_through_a_file_restores_weights_and_optimizer(tmp_path):
    m = _model()
    _train(m)
    ck = checkpoint.capture(m, epoch=2, history={"loss": [1.0, 0.5]})
    path = checkpoint.save(str(tmp_path / "c.npz"), ck)
    other = _model(seed=1)
    _train(other, 1)
    back = checkpoint.load(path)
    checkpoint.restore(other, back)
    for a, b in zip(m.weights, other.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(m.optimizer.variables, other.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert back.epoch == 2 and back.step == 4 and back.meta["history"] == {"loss": [1.0, 0.5]}


def test_keeping_iterations_restores_slots_only():
    m = _model()
    _train(m, 1)
    ck = checkpoint.capture(m)
    _train(m, 1)
    checkpoint.restore(m, ck, iterations=False)
    assert int(m.optimizer.iterations.numpy()) == 4
    np.testing.assert_array_equal(m.optimizer.variables[1].numpy(), ck.optimizer[1])


def test_a_wrapped_model_exchanges_checkpoints_with_the_plain_one():
    plain = _model()
    _train(plain)
    wrapped = prunekit.wrap(_model(seed=3))
    wrapped.compile(keras.optimizers.SGD(0.1, momentum=0.9), "mse")
    checkpoint.restore(wrapped, checkpoint.capture(plain, optimizer=False), optimizer=False)
    kernels = {w.name: w.numpy() for w in checkpoint.model_variables(wrapped)}
    np.testing.assert_array_equal(kernels["d1/kernel:0"], plain.get_layer("d1").kernel.numpy())


def test_damaged_file_and_wrong_model_are_named_errors(tmp_path):
    m = _model()
    path = checkpoint.save(str(tmp_path / "c.npz"), checkpoint.capture(m))
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])
    with pytest.raises(checkpoint.CheckpointError, match="c.npz"):
        checkpoint.load(path)
    small = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    small.compile("sgd", "mse")
    with pytest.raises(checkpoint.CheckpointError, match="the checkpoint has 4, the model 2"):
        checkpoint.restore(small, checkpoint.capture(m))


def test_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = checkpoint.save(str(tmp_path / "c.npz"), checkpoint.capture(_model()))
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert os.listdir(tmp_path) == ["c.npz"]
