"""wrap / PruningCallback / strip through real (tiny) fits."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from tensorflow_model_optimization.python.core.sparsity.keras import pruning_impl, pruning_schedule

import prunekit
from prunekit import masks as masks_lib
from prunekit import prunable, registry, schedules, timing
from prunekit.keras import optimizer_slots

CRITERIA = registry.names("criterion")


def _convnet():
    return keras.Sequential([
        keras.layers.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)),
        keras.layers.Flatten(),
        keras.layers.Dense(12, activation="tanh"),
        keras.layers.Dense(10),
    ])


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 8, 8, 1), dtype=np.float32), rng.integers(0, 10, n)


def _loss():
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def _optimizer(kind):
    return keras.optimizers.SGD(0.1, momentum=0.9) if kind == "sgd" else keras.optimizers.Adam(0.05)


def _assert_pruned_zero(model):
    masks = prunable.mask_variables(model)
    for name, weight in prunable.prunable_weights(model).items():
        pruned = masks[name].numpy() == 0
        assert np.all(weight.numpy()[pruned] == 0), name
        for slot in optimizer_slots(model.optimizer, weight):
            assert np.all(slot.numpy()[pruned] == 0), slot.name


def _assert_achieved(event, scope, weights):
    target = event["target"]
    if scope == "layer":
        for name, s in event["sparsity"].items():
            n = int(np.prod(weights[name].shape))
            assert abs(s * n - target * n) <= 1, (name, s, target)
    else:
        n = sum(int(np.prod(w.shape)) for w in weights.values())
        assert abs(event["overall"] * n - target * n) <= 1


@pytest.fixture(scope="module")
def shared():
    """One wrapped model reused by the matrix (weights and masks reset per test)."""
    keras.utils.set_random_seed(0)
    model = prunekit.wrap(_convnet())
    return model, model.get_weights()


# --- wrap ----------------------------------------------------------------------------------

def test_wrap_wraps_prunable_layers_only():
    model = keras.Sequential([keras.layers.Dense(5, input_shape=(3,)), keras.layers.BatchNormalization(),
                              keras.layers.Dense(2)])
    wrapped = prunekit.wrap(model)
    assert [type(l).__name__ for l in wrapped.layers] == ["PruneLowMagnitude", "BatchNormalization",
                                                          "PruneLowMagnitude"]
    assert list(prunable.prunable_weights(wrapped)) == list(prunable.prunable_weights(model))
    wrapped.compile("sgd", "mse")  # trains with fixed masks even without the callback
    wrapped.fit(np.ones((4, 3), np.float32), np.ones((4, 2), np.float32), verbose=0)
    with pytest.raises(ValueError, match="already wrapped"):
        prunekit.wrap(wrapped)


def test_wrap_subclassed_model_fails_clearly():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    net = Net()
    net(tf.zeros([1, 3]))
    with pytest.raises(TypeError, match="Functional/Sequential.*individually"):
        prunekit.wrap(net)


def test_wrap_keras3_model_fails_clearly():
    keras3 = pytest.importorskip("keras")
    if not keras3.__version__.startswith("3"):
        pytest.skip("keras 3 not installed")
    model = keras3.Sequential([keras3.layers.Dense(2)])  # construct only; never built or run
    with pytest.raises(prunekit._backend.Keras3Error, match="Keras 3.*tf_keras") as info:
        prunekit.wrap(model)
    # Issue 12.13: prunekit was imported first here; the cause is `import keras` (Keras 3).
    assert "import keras" in str(info.value) and "import tf_keras as keras" in str(info.value)
    assert "before tensorflow" not in str(info.value)


def test_wrap_leaves_its_argument_untouched():
    """Issue 12.1: training the wrapped copy must not prune the user's (dense) model."""
    keras.utils.set_random_seed(0)
    model = _convnet()
    before = [w.copy() for w in model.get_weights()]
    wrapped = prunekit.wrap(model)
    wrapped.compile(_optimizer("sgd"), _loss())
    x, y = _data(32)
    wrapped.fit(x, y, batch_size=16, verbose=0,
                callbacks=[prunekit.PruningCallback("magnitude", schedules.OneShot(0.9, 0))])
    for old, now in zip(before, model.get_weights()):
        np.testing.assert_array_equal(now, old)
    assert not any(l is w or l is getattr(w, "layer", None) for l in model.layers for w in wrapped.layers)
    assert np.count_nonzero(model.layers[-1].kernel.numpy() == 0) == 0


def test_strip_returns_an_independent_model_whose_layer_outputs_work():
    """Issue 12.1: ``keras.Model(final.inputs, final.get_layer(...).output)`` after strip."""
    inputs = keras.Input((8, 8, 1))
    h = keras.layers.Dense(12, activation="tanh", name="fc1")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, keras.layers.Dense(10, name="out")(h))
    wrapped = prunekit.wrap(model)
    cb = prunekit.PruningCallback("magnitude", timing.Hold())
    cb.set_model(wrapped)
    cb.prune(0.5, step=0)
    final = prunekit.strip(wrapped)
    features = keras.Model(final.inputs, final.get_layer("fc1").output)
    x, _ = _data(8)
    kernel = final.get_layer("fc1").kernel.numpy()
    expected = np.tanh(x.reshape(8, -1) @ kernel + final.get_layer("fc1").bias.numpy())
    np.testing.assert_allclose(features(x).numpy(), expected, rtol=1e-5, atol=1e-6)
    assert np.mean(kernel == 0) == pytest.approx(0.5, abs=1 / kernel.size)
    final.get_layer("fc1").kernel.assign(np.ones_like(kernel))  # independent of the wrapped model
    assert not np.all(prunable.prunable_weights(wrapped)["fc1/kernel:0"].numpy() == 1)


def test_wrap_names_layers_it_leaves_dense_and_events_report_all_weights():
    """Issue 12.2: an LSTM + Dense model: one warning naming the LSTM; ``overall`` is over the
    pruned Dense kernel only, ``overall_all_weights`` over every trainable weight."""
    model = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(8, name="lstm"),
                              keras.layers.Dense(4, name="fc")])
    with pytest.warns(UserWarning, match="lstm") as caught:
        wrapped = prunekit.wrap(model)
    assert len(caught) == 1 and "): lstm;" in str(caught[0].message)
    cb = prunekit.PruningCallback("magnitude", timing.Hold())
    cb.set_model(wrapped)
    event = cb.prune(0.75, step=0)
    total = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert total == 3 * 32 + 8 * 32 + 32 + 8 * 4 + 4  # LSTM kernel, recurrent, bias; Dense

    assert event["overall"] == pytest.approx(24 / 32)
    assert event["overall_all_weights"] == pytest.approx(24 / total)
    assert cb.records[-1]["overall_all_weights"] == pytest.approx(24 / total)


def test_keras3_error_names_import_keras_as_the_cause():
    """Issue 12.13: prunekit was imported first, so the cause is a model built with `import keras`."""
    fake = type("Sequential", (), {"__module__": "keras.src.models.sequential"})()
    with pytest.raises(prunekit._backend.Keras3Error) as info:
        prunekit.wrap(fake)
    message = str(info.value)
    assert "`import keras`" in message and "import tf_keras as keras" in message
    assert "before tensorflow" not in message and "\n" not in message


# --- the callback: errors -------------------------------------------------------------------

def test_callback_argument_errors():
    with pytest.raises(registry.PluginError, match="magnitude"):
        prunekit.PruningCallback("magnitud", schedules.OneShot(0.5, 0))
    with pytest.raises(ValueError, match="scope"):
        prunekit.PruningCallback("magnitude", schedules.OneShot(0.5, 0), scope="per-layer")
    with pytest.raises(TypeError, match="prunekit.timing timing"):
        prunekit.PruningCallback("magnitude", 0.5)


def test_statistics_without_data_and_unwrapped_model_fail_clearly():
    x, y = _data(16)
    model = prunekit.wrap(_convnet())
    model.compile(_optimizer("sgd"), _loss())
    with pytest.raises(ValueError, match=r"needs statistics \['fisher', 'gradient'\].*data="):
        model.fit(x, y, verbose=0, callbacks=[prunekit.PruningCallback("qm", schedules.OneShot(0.5, 0))])
    plain = _convnet()
    plain.compile(_optimizer("sgd"), _loss())
    with pytest.raises(ValueError, match="prunekit.wrap"):
        plain.fit(x, y, verbose=0, callbacks=[prunekit.PruningCallback("magnitude", schedules.OneShot(0.5, 0))])


# --- the callback: every criterion, both scopes, both schedules ------------------------------
# Pairwise cover of (scope, schedule, optimizer): each criterion meets SGD momentum and Adam
# under both scopes and both schedules, in 4 fits instead of 8.
COVER = [("layer", "oneshot", "sgd"), ("layer", "gradual", "adam"),
         ("global", "oneshot", "adam"), ("global", "gradual", "sgd")]


@pytest.mark.parametrize("scope, kind, opt", COVER)
@pytest.mark.parametrize("criterion", CRITERIA)
def test_pruned_weights_stay_zero_through_fit(shared, criterion, scope, kind, opt):
    model, init = shared
    model.set_weights(init)
    x, y = _data()
    schedule = (schedules.OneShot(0.6, at_step=2) if kind == "oneshot"
                else schedules.Gradual(0.7, begin_step=1, end_step=5, frequency=2))
    cb = prunekit.PruningCallback(criterion, schedule, scope=scope, data=(x, y), num_examples=32)
    model.compile(_optimizer(opt), _loss(), run_eagerly=True)  # eager: no retrace per test
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False, callbacks=[cb])
    assert [e["step"] for e in cb.events] == schedule.resolve(None).steps()
    assert model.optimizer.iterations.numpy() == 8
    _assert_pruned_zero(model)
    weights = prunable.prunable_weights(model)
    for event in cb.events:
        _assert_achieved(event, scope, weights)
    achieved = masks_lib.sparsity_of(prunable.mask_variables(model))
    assert achieved["overall"] == pytest.approx(cb.events[-1]["overall"])


@pytest.mark.parametrize("opt, scope", [("sgd", "layer"), ("adam", "global")])
def test_compiled_train_step_keeps_zeros_and_fires_at_the_step(opt, scope):
    """Graph mode; the probe sees optimizer.iterations and the mask after each batch."""
    keras.utils.set_random_seed(1)
    model = prunekit.wrap(_convnet())
    model.compile(_optimizer(opt), _loss())
    x, y = _data()
    seen = []
    probe = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, l: seen.append(
        (int(model.optimizer.iterations.numpy()), masks_lib.sparsity_of(
            prunable.mask_variables(model))["overall"])))
    cb = prunekit.PruningCallback("magnitude", schedules.Gradual(0.5, 3, 6, 3, initial=0.25), scope=scope)
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[cb, probe])
    assert [e["step"] for e in cb.events] == [3, 6]
    # Unpruned after 3 updates, pruned after the 4th: the event ran between updates 3 and 4.
    assert dict(seen)[3] == 0 and next(step for step, s in seen if s > 0) == 4
    _assert_pruned_zero(model)
    # A later fit without the callback leaves a usable model (original train_step restored).
    assert "train_step" not in model.__dict__
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)


def test_interrupted_fit_leaves_a_reinstallable_model():
    model = prunekit.wrap(_convnet())
    model.compile(_optimizer("sgd"), _loss(), run_eagerly=True)
    x, y = _data(32)

    class Stop(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            raise KeyboardInterrupt

    first = prunekit.PruningCallback("magnitude", schedules.OneShot(0.5, 0))
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, batch_size=16, verbose=0, callbacks=[first, Stop()])
    second = prunekit.PruningCallback("magnitude", schedules.OneShot(0.7, 2))
    model.fit(x, y, batch_size=16, verbose=0, callbacks=[second])
    assert "train_step" not in model.__dict__ and [e["step"] for e in second.events] == [2]
    _assert_pruned_zero(model)


def test_criterion_instance_and_dataset_statistics(shared):
    model, init = shared
    model.set_weights(init)
    x, y = _data()
    scoring = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    criterion = registry.get_criterion("taylor1", lam=1e-3)
    cb = prunekit.PruningCallback(criterion, schedules.OneShot(0.5, 1), data=scoring, num_examples=48)
    assert cb.criterion is criterion
    model.compile(_optimizer("adam"), _loss(), run_eagerly=True)
    model.fit(x, y, batch_size=32, verbose=0, callbacks=[cb])
    assert [e["step"] for e in cb.events] == [1]
    _assert_achieved(cb.events[0], "layer", prunable.prunable_weights(model))
    _assert_pruned_zero(model)


def test_steps_per_execution_applies_at_the_next_boundary():
    model = prunekit.wrap(_convnet())
    model.compile(_optimizer("sgd"), _loss(), steps_per_execution=2)
    x, y = _data(64)
    cb = prunekit.PruningCallback("magnitude", schedules.OneShot(0.5, at_step=3))
    model.fit(x, y, batch_size=16, verbose=0, callbacks=[cb])
    assert [(e["step"], e["applied_at"]) for e in cb.events] == [(3, 4)]
    _assert_pruned_zero(model)


def test_event_after_last_update_fires_at_train_end():
    model = prunekit.wrap(_convnet())
    model.compile(_optimizer("sgd"), _loss())
    x, y = _data(32)
    cb = prunekit.PruningCallback("magnitude", schedules.OneShot(0.5, at_step=2))
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[cb])
    assert [(e["step"], e["applied_at"]) for e in cb.events] == [(2, 2)]
    _assert_pruned_zero(model)


def test_magnitude_masks_equal_tfmot_masks():
    keras.utils.set_random_seed(2)
    model = prunekit.wrap(_convnet())
    model.compile(_optimizer("sgd"), _loss())
    weights = {n: w.numpy() for n, w in prunable.prunable_weights(model).items()}
    cb = prunekit.PruningCallback("magnitude", schedules.OneShot(0.6, 0), scope="layer")
    cb.set_model(model)
    cb.prune(0.6, step=0)
    schedule = pruning_schedule.ConstantSparsity(0.6, begin_step=0)
    for name, mask in prunable.mask_variables(model).items():
        w = tf.Variable(weights[name])
        impl = pruning_impl.Pruning(training_step_fn=lambda: tf.constant(0, tf.int64),
                                    pruning_vars=[(w, tf.Variable(tf.ones_like(w)), tf.Variable(0.0))],
                                    pruning_schedule=schedule, block_size=(1, 1), block_pooling_type="AVG")
        _threshold, expected = impl._update_mask(w)
        np.testing.assert_array_equal(mask.numpy(), expected.numpy(), err_msg=name)


def test_strip_bakes_masks_in_and_predicts_the_same():
    keras.utils.set_random_seed(3)
    model = prunekit.wrap(_convnet())
    model.compile(_optimizer("adam"), _loss())
    x, y = _data(32)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0,
              callbacks=[prunekit.PruningCallback("random", schedules.OneShot(0.8, 1), scope="global")])
    before = model.predict(x, verbose=0)
    masks = {n: m.numpy() for n, m in prunable.mask_variables(model).items()}
    plain = prunekit.strip(model)
    assert not prunable.is_wrapped(plain)
    assert all(type(l).__name__ != "PruneLowMagnitude" for l in plain.layers)
    for name, w in prunable.prunable_weights(plain).items():
        assert np.all(w.numpy()[masks[name] == 0] == 0)
    np.testing.assert_allclose(plain.predict(x, verbose=0), before, rtol=1e-6, atol=1e-6)


def test_legacy_optimizer_slots_are_found():
    model = prunekit.wrap(_convnet())
    model.compile(keras.optimizers.legacy.SGD(0.1, momentum=0.9), _loss())
    x, y = _data(32)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0,
              callbacks=[prunekit.PruningCallback("magnitude", schedules.OneShot(0.5, 1))])
    for w in prunable.prunable_weights(model).values():
        assert len(optimizer_slots(model.optimizer, w)) == 1
    _assert_pruned_zero(model)


_MIRRORED = textwrap.dedent("""
    import os
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import prunekit
    import numpy as np, tensorflow as tf, tf_keras as keras
    from prunekit import prunable, schedules
    from prunekit.keras import optimizer_slots
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = prunekit.wrap(keras.Sequential([keras.layers.Conv2D(4, 3, input_shape=(8, 8, 1)),
                                                keras.layers.Flatten(), keras.layers.Dense(10)]))
        model.compile(keras.optimizers.SGD(0.1, momentum=0.9),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.rand(64, 8, 8, 1).astype("float32"); y = np.random.randint(0, 10, 64)
    cb = prunekit.PruningCallback("magnitude", schedules.Gradual(0.6, 1, 5, 2), scope="global")
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[cb])
    assert [e["step"] for e in cb.events] == [1, 3, 5], cb.events
    masks = prunable.mask_variables(model)
    for name, w in prunable.prunable_weights(model).items():
        for m, v in zip(masks[name].values, w.values):
            assert np.all(v.numpy()[m.numpy() == 0] == 0), name
        for slot in optimizer_slots(model.optimizer, w):
            for m, v in zip(masks[name].values, slot.values):
                assert np.all(v.numpy()[m.numpy() == 0] == 0), slot.name
    print("OK", cb.events[-1]["overall"])
""")


def test_mirrored_strategy_on_two_logical_cpus():
    run = subprocess.run([sys.executable, "-c", _MIRRORED], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "OK 0.6" in run.stdout, run.stderr[-3000:]


def test_wrapped_model_saves_and_loads_with_masks(tmp_path):
    import tensorflow_model_optimization as tfmot

    model = prunekit.wrap(keras.Sequential([keras.layers.Dense(6, input_shape=(4,)), keras.layers.Dense(2)]))
    cb = prunekit.PruningCallback("magnitude", schedules.OneShot(0.5, 0), scope="global")
    cb.set_model(model)
    cb.prune(0.5, step=0)
    model.save(tmp_path / "wrapped.h5")
    with tfmot.sparsity.keras.prune_scope():
        loaded = keras.models.load_model(tmp_path / "wrapped.h5", compile=False)
    for (name, m), (_, m2) in zip(prunable.mask_variables(model).items(),
                                  prunable.mask_variables(loaded).items()):
        np.testing.assert_array_equal(m.numpy(), m2.numpy(), err_msg=name)


def test_compiled_step_is_reused_across_fits_until_compile():
    model = prunekit.wrap(_convnet())
    model.compile(_optimizer("sgd"), _loss())
    x, y = _data(32)
    model.fit(x, y, batch_size=16, verbose=0, callbacks=[
        prunekit.PruningCallback("magnitude", schedules.OneShot(0.5, 1))])
    first = model.__dict__["_prunekit_compiled"][-1]
    traces = first.experimental_get_tracing_count()  # 2: the first trace creates the slots
    model.fit(x, y, batch_size=16, verbose=0, callbacks=[
        prunekit.PruningCallback("magnitude", schedules.OneShot(0.7, 3))])
    assert model.__dict__["_prunekit_compiled"][-1] is first
    assert first.experimental_get_tracing_count() == traces  # the second fit did not retrace
    _assert_pruned_zero(model)
    model.compile(_optimizer("adam"), _loss())  # a new optimizer: its slots must be masked too
    model.fit(x, y, batch_size=16, verbose=0, callbacks=[
        prunekit.PruningCallback("magnitude", schedules.OneShot(0.8, 5))])
    assert model.__dict__["_prunekit_compiled"][-1] is not first
    _assert_pruned_zero(model)
    assert "train_step" not in model.__dict__


def test_training_forward_pass_uses_masked_weights_after_outside_assignment():
    """The lean training graph skips tfmot's forward masking; fit masks once at its start."""
    model = prunekit.wrap(_convnet())
    model.compile(keras.optimizers.SGD(0.0), _loss())
    x, y = _data(32)
    model.fit(x, y, batch_size=32, verbose=0, callbacks=[
        prunekit.PruningCallback("magnitude", schedules.OneShot(0.6, 0))])
    rng = np.random.default_rng(1)
    for weight in prunable.prunable_weights(model).values():  # undo the zeros from outside
        weight.assign(rng.normal(size=weight.shape).astype(np.float32))
    masks = prunable.mask_variables(model)
    dense = prunekit.strip(prunekit.wrap(_convnet()))  # same architecture, unwrapped
    for w_dense, (name, w) in zip(prunable.prunable_weights(dense).values(),
                                  prunable.prunable_weights(model).items()):
        w_dense.assign(w * masks[name])
    for b_dense, layer in zip([l for l in dense.layers if l.weights],
                              [l for l in model.layers if l.weights]):
        inner = getattr(layer, "layer", layer)
        b_dense.bias.assign(inner.bias)
    expected = float(_loss()(y, dense(x)))  # loss of the masked weights, by plain tf_keras
    history = model.fit(x, y, batch_size=32, verbose=0, callbacks=[
        prunekit.PruningCallback("magnitude", prunekit.timing.Hold())])
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-5)
    _assert_pruned_zero(model)
