"""Statistics under loss plugins: the plugin's own objective on the plugin's own views."""
import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from prunekit import prunable, registry, statistics


def _encoder(seed=0):
    init = keras.initializers.GlorotUniform(seed)
    inp = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(3, 3, activation="tanh", kernel_initializer=init)(inp)
    h = keras.layers.Flatten()(h)
    out = keras.layers.Dense(6, activation="tanh", kernel_initializer=init, name="features")(h)
    return keras.Model(inp, out)


def _data(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(size=(n, 8, 8, 1)).astype("float32"), rng.integers(0, 3, n).astype("int64")


def _brute_fisher(model, plugin, inputs):
    """sum_rows sum_c p_c (d log p_c / d theta)^2 / rows, one (row, class) at a time."""
    weights = prunable.prunable_weights(model)
    total = {n: np.zeros(w.shape, np.float64) for n, w in weights.items()}
    log_p = plugin.predictive_log_probs(model(inputs)).numpy()
    rows, classes = log_p.shape
    for i in range(rows):
        for c in range(classes):
            with tf.GradientTape() as tape:
                lp = plugin.predictive_log_probs(model(inputs))[i, c]
            grads = tape.gradient(lp, list(weights.values()))
            for n, g in zip(weights, grads):
                total[n] += np.exp(log_p[i, c]) * np.square(g.numpy().astype(np.float64))
    return {n: t / rows for n, t in total.items()}


@pytest.mark.parametrize("name,unrolled", [("rotation", 64), ("simclr", 64), ("simclr", 2), ("supcon", 64)])
def test_plugin_fisher_equals_brute_force(name, unrolled, monkeypatch):
    monkeypatch.setattr(statistics, "_MAX_UNROLLED", unrolled)  # 2: the vectorised-classes path
    plugin = registry.get_loss(name, seed=3)
    model = plugin.build_model(_encoder(), num_classes=3)
    x, y = _data(n=3 if name == "rotation" else 4)
    inputs, _ = plugin.statistics_views(tf.constant(x), tf.constant(y) if plugin.needs_labels else None)
    expect = _brute_fisher(model, plugin, inputs)
    got = statistics.fisher_diagonal(model, (x, y), loss=plugin)
    for n in expect:
        np.testing.assert_allclose(got[n].numpy(), expect[n], rtol=1e-4, atol=1e-9 * np.abs(expect[n]).max())


def test_gradient_alone_with_more_rows_than_unrolled_classes(monkeypatch):
    """A label-free gradient over many view rows (many contrastive classes) needs no Fisher."""
    monkeypatch.setattr(statistics, "_MAX_UNROLLED", 2)
    plugin = registry.get_loss("simclr")
    model = plugin.build_model(_encoder(), num_classes=None)
    x, _ = _data(n=5)
    small = statistics.mean_gradient(model, (x, None), loss=plugin)
    monkeypatch.setattr(statistics, "_MAX_UNROLLED", 64)
    statistics._STEPS.clear()
    big = statistics.mean_gradient(model, (x, None), loss=plugin)
    for n in big:
        np.testing.assert_allclose(small[n].numpy(), big[n].numpy(), rtol=1e-6, atol=1e-9)


def test_simclr_gradient_is_the_nt_xent_gradient_without_labels():
    plugin = registry.get_loss("simclr")  # the same plugin the name "simclr" builds below
    model = plugin.build_model(_encoder(), num_classes=None)
    x, _ = _data(n=5)
    inputs, targets = plugin.statistics_views(tf.constant(x), None)
    weights = prunable.prunable_weights(model)
    with tf.GradientTape() as tape:
        objective = plugin.loss()(targets, model(inputs))
    expect = dict(zip(weights, tape.gradient(objective, list(weights.values()))))
    got = statistics.mean_gradient(model, (x, None), loss="simclr")
    for n in expect:
        np.testing.assert_allclose(got[n].numpy(), expect[n].numpy(), rtol=1e-4, atol=1e-7)


def test_cross_entropy_plugin_matches_the_default():
    plugin = registry.get_loss("cross_entropy")
    model = plugin.build_model(_encoder(), num_classes=3)
    data = _data(n=7)
    default = statistics.compute(model, data, ("gradient", "fisher"), batch_size=4)
    with_plugin = statistics.compute(model, data, ("gradient", "fisher"), batch_size=4, loss=plugin)
    for s in default:
        for n in default[s]:
            want = default[s][n].numpy()
            # Two float32 op orders of one formula: an element that nearly cancels (a gradient of
            # 5e-4 in a tensor of 5e-2) differs by ~1e-8, so the absolute slack scales with the tensor.
            np.testing.assert_allclose(with_plugin[s][n].numpy(), want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


def test_taylor1_on_a_simclr_encoder_prunes_with_the_nt_xent_gradient_and_leaves_heads_dense():
    """End to end: encoder-only wrap, label-free data, schedule in optimizer steps (2 views)."""
    import prunekit
    from prunekit import schedules

    plugin = registry.get_loss("simclr", augment=False)
    model = plugin.build_model(_encoder(), num_classes=None)
    pruned = prunekit.wrap(model, exclude=plugin.head_layer_names(model))
    names = sorted(prunable.prunable_weights(pruned))
    assert len(names) == 2 and names[1] == "features/kernel:0" and names[0].startswith("conv2d")
    x, _ = _data(n=16)
    callback = prunekit.PruningCallback("taylor1", schedules.OneShot(0.5, at_step=2), loss=plugin,
                                        data=(x, None), num_examples=16)
    pruned.compile(keras.optimizers.SGD(0.01, momentum=0.9), loss=plugin.loss())
    pruned.fit(plugin.training_data(tf.data.Dataset.from_tensor_slices(x), batch_size=4),
               epochs=1, verbose=0, callbacks=[callback])
    assert [e["step"] for e in callback.events] == [2]
    for name, w in prunable.prunable_weights(pruned).items():
        assert abs(1 - np.count_nonzero(w.numpy()) / w.numpy().size - 0.5) <= 1 / w.numpy().size + 1e-9


def test_wrap_rejects_unknown_excluded_layer():
    import prunekit
    with pytest.raises(ValueError, match="exclude names layers the model does not have"):
        prunekit.wrap(_encoder(), exclude=["head_nope"])
