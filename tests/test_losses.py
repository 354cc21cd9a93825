"""Loss plugins: values against direct NumPy loops, views, heads, fit, probes, schedules."""
import math

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from prunekit import registry
from prunekit.losses import LossPlugin, encoder_of, is_head_layer


# ---- independent NumPy references (loops, from the formulas in METHODS.md) -------------
def _cos(z):
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    return z @ z.T


def nt_xent_numpy(z, tau):
    """Rows 2k, 2k+1 are the two views of example k."""
    s, n, total = _cos(z), len(z), 0.0
    for i in range(n):
        j = i + 1 if i % 2 == 0 else i - 1
        denom = sum(math.exp(s[i, k] / tau) for k in range(n) if k != i)
        total += -math.log(math.exp(s[i, j] / tau) / denom)
    return total / n


def supcon_numpy(z, labels, tau, base_tau):
    s, n, total = _cos(z), len(z), 0.0
    for i in range(n):
        denom = sum(math.exp(s[i, k] / tau) for k in range(n) if k != i)
        pos = [p for p in range(n) if p != i and labels[p] == labels[i]]
        mean = sum(math.log(math.exp(s[i, p] / tau) / denom) for p in pos) / len(pos)
        total += -(tau / base_tau) * mean
    return total / n


def _embeddings(n=12, d=5, seed=0):
    return np.random.RandomState(seed).randn(n, d).astype("float32")


def test_nt_xent_matches_numpy():
    z = _embeddings()
    loss = registry.get_loss("simclr", temperature=0.3).loss()
    got = float(loss(tf.zeros(len(z)), z))
    assert got == pytest.approx(nt_xent_numpy(z, 0.3), rel=1e-5)


def test_supcon_matches_numpy_with_shared_labels():
    z = _embeddings(seed=1)
    labels = np.array([0, 0, 1, 1, 0, 0, 2, 2, 1, 1, 2, 2])
    loss = registry.get_loss("supcon", temperature=0.5, base_temperature=0.07).loss()
    got = float(loss(labels, z))
    assert got == pytest.approx(supcon_numpy(z, labels, 0.5, 0.07), rel=1e-5)


def test_supcon_with_distinct_labels_equals_simclr():
    z = _embeddings(seed=2)
    labels = np.repeat(np.arange(6), 2)  # each example its own class: positives = other view
    supcon = registry.get_loss("supcon", temperature=0.2, base_temperature=0.2).loss()
    simclr = registry.get_loss("simclr", temperature=0.2).loss()
    assert float(supcon(labels, z)) == pytest.approx(float(simclr(labels, z)), rel=1e-6)
    assert float(simclr(labels, z)) == pytest.approx(nt_xent_numpy(z, 0.2), rel=1e-5)


def test_label_smoothing_matches_numpy():
    logits = _embeddings(4, 3, seed=3)
    y = np.array([0, 2, 1, 2])
    got = float(registry.get_loss("label_smoothing", smoothing=0.3).loss()(y, logits))
    ref = 0.0
    for row, label in zip(logits, y):
        logp = row - math.log(sum(math.exp(v) for v in row))
        ref += -sum(((0.7 if c == label else 0.0) + 0.1) * logp[c] for c in range(3))
    assert got == pytest.approx(ref / 4, rel=1e-5)


# ---- views ----------------------------------------------------------------------------
def test_rotation_views_are_exact_rot90_with_labels():
    images = np.random.RandomState(0).rand(3, 5, 5, 2).astype("float32")
    inputs, targets = registry.get_loss("rotation").views(images, None)
    assert inputs.shape == (12, 5, 5, 2)
    for k in range(3):
        for r in range(4):
            np.testing.assert_array_equal(inputs[4 * k + r], np.rot90(images[k], r))
            assert int(targets[4 * k + r]) == r


def test_transform_views_are_reversal_and_sign_flip_with_labels():
    signals = np.random.RandomState(0).randn(3, 7, 2).astype("float32")
    inputs, targets = registry.get_loss("transform").views(signals, None)
    assert inputs.shape == (12, 7, 2)
    for k in range(3):
        expected = [signals[k], signals[k][::-1], -signals[k], -signals[k][::-1]]
        for t in range(4):
            np.testing.assert_array_equal(inputs[4 * k + t], expected[t])
            assert int(targets[4 * k + t]) == t


def test_two_view_layout_is_interleaved_with_labels_repeated():
    images = np.random.RandomState(0).rand(3, 8, 8, 1).astype("float32")
    labels = np.array([7, 3, 5])
    plugin = registry.get_loss("supcon")
    inputs, targets = plugin.views(images, labels)  # no seed: unaugmented copies
    np.testing.assert_array_equal(inputs.numpy(), np.repeat(images, 2, axis=0))
    np.testing.assert_array_equal(targets, [7, 7, 3, 3, 5, 5])
    aug, _ = plugin.views(images, labels, seed=tf.constant([1, 2]))
    assert not np.allclose(aug[0::2], aug[1::2])  # the two views differ


def test_label_free_losses_train_on_images_only_and_supervised_ones_refuse():
    images = tf.data.Dataset.from_tensor_slices(np.zeros((6, 8, 8, 1), "float32"))
    x, y = next(iter(registry.get_loss("simclr").training_data(images, batch_size=3)))
    assert x.shape == (6, 8, 8, 1) and y.shape == (6,)
    x, y = next(iter(registry.get_loss("rotation").training_data(images, batch_size=3)))
    assert x.shape == (12, 8, 8, 1)
    with pytest.raises(ValueError, match="needs labels"):
        registry.get_loss("cross_entropy").training_data(images, batch_size=3)
    with pytest.raises(ValueError, match="pass batch_size"):
        registry.get_loss("simclr").training_data(images)


def test_options_are_validated():
    with pytest.raises(registry.PluginError, match="did you mean 'temperature'"):
        registry.get_loss("simclr", temprature=0.1)
    assert registry.options(registry.load("loss", "supcon"))["base_temperature"] == 0.07
    assert registry.options(registry.load("loss", "rotation"))["augment"] is False
    with pytest.raises(ValueError, match="temperature must be > 0"):
        registry.get_loss("simclr", temperature=0)


# ---- heads, compile/fit, statistics hooks -----------------------------------------------
def tiny_encoder(width=8, channels=1, seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8, 8, channels))
    h = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    h = keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    return keras.Model(inputs, keras.layers.Dense(width, name="features")(h), name="tiny")


def _digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images / 16.0).astype("float32")[..., None], d.target.astype("int64")


def tiny_signal_encoder(width=8, seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((40, 1))
    h = keras.layers.Conv1D(16, 5, strides=2, padding="same", activation="relu")(inputs)
    h = keras.layers.Conv1D(16, 3, strides=2, padding="same", activation="relu")(h)
    h = keras.layers.Flatten()(h)
    return keras.Model(inputs, keras.layers.Dense(width, name="features")(h), name="tiny1d")


def _signals(n=64, seed=0):
    """MNIST-1D signals from the package's generator (fast: no TFDS)."""
    from prunekit.data.mnist1d import generate

    x, y = generate.__wrapped__(num_samples=max(n, 10) * 3 // 2, seed=seed)["train"]
    return x[:n, :, None], y[:n]


# (loss, input kind) pairs that refuse, with the alternative their error names
REFUSES = {("rotation", "signals"): "'transform'", ("transform", "images"): "'rotation'"}
KINDS = {"images": (_digits, tiny_encoder), "signals": (_signals, tiny_signal_encoder)}


@pytest.mark.parametrize("name,kind", [(n, k) for n in registry.names("loss") for k in KINDS
                                       if (n, k) not in REFUSES])
def test_every_loss_compiles_and_fits_with_plain_keras(name, kind):
    load, make_encoder = KINDS[kind]
    x, y = load()
    plugin = registry.get_loss(name)
    assert isinstance(plugin, LossPlugin)
    model = plugin.build_model(make_encoder(), num_classes=10)
    heads, encoder_layers = plugin.head_layer_names(model), plugin.encoder_layer_names(model)
    assert heads and all(h.startswith("head_") for h in heads)
    assert "features" in encoder_layers and not set(heads) & set(encoder_layers)
    assert plugin.representation_layer == "features"
    model.compile(keras.optimizers.SGD(0.01), loss=plugin.loss(), metrics=plugin.metrics())
    ds = tf.data.Dataset.from_tensor_slices((x[:64], y[:64]))
    history = model.fit(plugin.training_data(ds, batch_size=16), epochs=1, steps_per_epoch=3, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert plugin.encoder(model).output_shape == (None, 8)
    # statistics hooks: a probability distribution per row, and the objective is the loss
    inputs, targets = plugin.statistics_views(x[:8], y[:8])
    log_p = plugin.log_probs(model, inputs)
    np.testing.assert_allclose(tf.reduce_sum(tf.exp(log_p), axis=1), 1.0, rtol=1e-5)
    assert np.isfinite(float(plugin.objective(model, inputs, targets)))


def test_contrastive_log_probs_give_the_loss_and_exclude_self():
    plugin = registry.get_loss("simclr", temperature=0.4, projection_dims=(6,))
    model = plugin.build_model(tiny_encoder(), num_classes=None)
    x, y = _digits()
    inputs, targets = plugin.statistics_views(x[:5], y[:5])
    log_p = plugin.log_probs(model, inputs).numpy()
    assert np.all(np.exp(np.diag(log_p)) == 0.0)
    partner = np.arange(10) ^ 1
    nll = -log_p[np.arange(10), partner].mean()
    assert nll == pytest.approx(float(plugin.objective(model, inputs, targets)), rel=1e-5)
    assert nll == pytest.approx(nt_xent_numpy(model(inputs).numpy(), 0.4), rel=1e-4)


def test_cross_entropy_log_probs_are_log_softmax_and_encoder_of_classifier():
    plugin = registry.get_loss("cross_entropy")
    model = plugin.build_model(tiny_encoder(), num_classes=10)
    x = _digits()[0][:4]
    np.testing.assert_allclose(plugin.log_probs(model, x), tf.nn.log_softmax(model(x)), rtol=1e-6)
    assert encoder_of(model).output_shape == (None, 8)
    assert is_head_layer(keras.layers.Dense(2, name="prune_low_magnitude_head_x"))


def test_schedule_fires_at_optimizer_step_for_two_view_loss():
    import prunekit
    from prunekit import prunable, schedules

    plugin = registry.get_loss("simclr", projection_dims=(8,))
    model = prunekit.wrap(plugin.build_model(tiny_encoder(), num_classes=None))
    model.compile(keras.optimizers.SGD(0.01), loss=plugin.loss())
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):  # after the step's update
            masks = prunable.mask_variables(self.model).values()
            zeros = sum(float(tf.reduce_sum(1 - m)) for m in masks)
            seen.append((int(self.model.optimizer.iterations), zeros > 0))

    x, y = _digits()
    ds = plugin.training_data(tf.data.Dataset.from_tensor_slices((x[:48], y[:48])), batch_size=8)
    callback = prunekit.PruningCallback("magnitude", schedules.OneShot(0.5, at_step=3))
    model.fit(ds, epochs=1, steps_per_epoch=5, callbacks=[callback, Record()], verbose=0)
    assert [e["step"] for e in callback.events] == [3]
    # (updates done, pruned?): the event at step 3 comes after 3 updates, before the 4th;
    # each step feeds 2 views per example through the encoder, yet counts as one step.
    assert seen == [(1, False), (2, False), (3, False), (4, True), (5, True)]


# ---- representation quality on digits (probe on frozen features) ------------------------
def _probe(encoder, x, y, train, test):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    f = encoder.predict(x, verbose=0, batch_size=512)
    f = StandardScaler().fit(f[train]).transform(f)
    return LogisticRegression(max_iter=2000).fit(f[train], y[train]).score(f[test], y[test])


@pytest.mark.parametrize("name,options,epochs", [
    ("simclr", {"temperature": 0.2, "projection_dims": (64, 32)}, 25),
    ("rotation", {}, 40),
])
def test_self_supervised_encoder_beats_random_init_on_linear_probe(name, options, epochs):
    x, y = _digits()
    order = np.random.RandomState(0).permutation(len(x))
    train, test = order[:1200], order[1200:]
    random_acc = _probe(tiny_encoder(seed=0), x, y, train, test)
    plugin = registry.get_loss(name, **options)
    encoder = tiny_encoder(seed=0)
    model = plugin.build_model(encoder)
    model.compile(keras.optimizers.Adam(3e-3), loss=plugin.loss())
    ds = tf.data.Dataset.from_tensor_slices((x[train], y[train])).shuffle(1200, seed=0)
    model.fit(plugin.training_data(ds, batch_size=128), epochs=epochs, verbose=0)
    acc = _probe(encoder, x, y, train, test)  # layers are shared: encoder is trained
    assert acc > 0.3 and acc > random_acc + 0.05, (acc, random_acc)


@pytest.mark.parametrize("name,kind", sorted(REFUSES))
def test_refused_input_kinds_name_the_alternative(name, kind):
    x, y = KINDS[kind][0]()
    plugin = registry.get_loss(name)
    with pytest.raises(ValueError, match=REFUSES[(name, kind)]):
        plugin.views(x[:4], y[:4])
    with pytest.raises(ValueError, match=REFUSES[(name, kind)]):
        next(iter(plugin.training_data(tf.data.Dataset.from_tensor_slices((x[:8], y[:8])),
                                       batch_size=4)))


def test_transform_pretext_encoder_beats_random_init_on_mnist1d_linear_probe():
    x, y = _signals(3000)
    train, test = np.arange(2000), np.arange(2000, 3000)
    random_acc = _probe(tiny_signal_encoder(width=32, seed=0), x, y, train, test)
    plugin = registry.get_loss("transform")
    encoder = tiny_signal_encoder(width=32, seed=0)
    model = plugin.build_model(encoder)
    model.compile(keras.optimizers.Adam(1e-2), loss=plugin.loss())
    ds = tf.data.Dataset.from_tensor_slices((x[train], y[train])).shuffle(2000, seed=0)
    model.fit(plugin.training_data(ds, batch_size=64), epochs=6, verbose=0)
    acc = _probe(encoder, x, y, train, test)  # measured: 0.51 vs 0.34 for the random encoder
    assert acc > random_acc + 0.08, (acc, random_acc)


# What each objective is, from the papers (METHODS.md "Losses"), not from the code.
REPRESENTATION = {"cross_entropy": "supervised", "label_smoothing": "supervised", "supcon": "contrastive",
                  "simclr": "contrastive", "rotation": "self_supervised", "transform": "self_supervised"}


def test_every_loss_declares_its_representation_by_attribute():
    names = registry.names("loss")
    assert set(REPRESENTATION) <= set(names)
    for name in names:
        if name in REPRESENTATION:
            assert registry.load("loss", name).representation == REPRESENTATION[name], name
    # the attribute, not the name: a label-free plugin called "cross_something" stays what it declares
    with pytest.raises(TypeError, match="representation = 'contrastiv'.*supervised, contrastive"):
        type("CrossThing", (LossPlugin,), {"representation": "contrastiv"})
    assert type("CrossThing", (LossPlugin,), {"representation": "contrastive"}).representation == "contrastive"
