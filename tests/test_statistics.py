"""prunekit.statistics against the slow definitions, computed here one example and one class
at a time with GradientTape w.r.t. the weights (float64 sums)."""
import numpy as np
import prunekit  # noqa: F401  (tf_keras before TensorFlow)
import pytest
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras as keras

from prunekit import statistics, statistics_layers
from prunekit.prunable import mask_variables, prunable_weights


def reference(model, x, y):
    """Brute force: F = mean_x sum_c p_c (d log p_c / dw)^2 and the gradient of the mean loss."""
    weights = prunable_weights(model)
    fisher = {n: np.zeros(w.shape, np.float64) for n, w in weights.items()}
    for i in range(len(x)):
        num_classes = model(x[i:i + 1], training=False).shape[-1]
        for c in range(num_classes):
            with tf.GradientTape() as tape:
                log_p = tf.nn.log_softmax(model(x[i:i + 1], training=False))[0, c]
            grads = tape.gradient(log_p, list(weights.values()))
            for n, g in zip(weights, grads):
                fisher[n] += np.exp(log_p.numpy().astype(np.float64)) * np.square(g.numpy().astype(np.float64))
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(
            y, model(x, training=False), from_logits=True))
    grads = tape.gradient(loss, list(weights.values()))
    return {"fisher": {n: f / len(x) for n, f in fisher.items()},
            "gradient": {n: g.numpy() for n, g in zip(weights, grads)}}


def assert_close(got, want, tol=1e-4):
    assert sorted(got) == sorted(want)
    for name in want:
        g, w = np.asarray(got[name], np.float64), np.asarray(want[name], np.float64)
        assert g.shape == w.shape, name
        err = np.max(np.abs(g - w)) / max(np.max(np.abs(w)), 1e-30)
        assert err < tol, f"{name}: relative error {err:.2e}"


def mlp():
    return keras.Sequential([
        keras.layers.Dense(16, activation="tanh", input_shape=(8,)),
        keras.layers.Dense(12, activation="relu", use_bias=False),
        keras.layers.Dense(5)])


def convnet():
    return keras.Sequential([
        keras.layers.Conv2D(4, 3, padding="same", activation="relu", input_shape=(8, 8, 2)),
        keras.layers.Conv2D(6, 3, strides=2, padding="valid", activation="tanh", use_bias=False),
        keras.layers.Conv2D(5, 2, strides=2, padding="same"),
        keras.layers.Flatten(),
        keras.layers.Dense(4)])


def examples(model, n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *model.input_shape[1:])).astype(np.float32)
    return x, rng.integers(0, model.output_shape[-1], size=n)


def test_mlp_fisher_and_gradient_match_brute_force():
    model = mlp()
    x, y = examples(model, 23)
    got = statistics.compute(model, (x, y), ("gradient", "fisher"), num_examples=20, batch_size=8)
    want = reference(model, x[:20], y[:20])
    assert_close(got["fisher"], want["fisher"])
    assert_close(got["gradient"], want["gradient"])


def test_convnet_fisher_and_gradient_match_brute_force(monkeypatch):
    monkeypatch.setattr(statistics_layers, "_BLOCK_ELEMENTS", 500)  # several blocks per convolution
    model = convnet()
    x, y = examples(model, 7)
    got = statistics.compute(model, (x, y), ["fisher", "gradient"], batch_size=5)
    want = reference(model, x, y)
    assert_close(got["fisher"], want["fisher"])
    assert_close(got["gradient"], want["gradient"])


def test_sequence_layers_match_brute_force():
    """Conv1D (causal, dilated, no bias), a Dense on (time, features), and a shared Dense."""
    inputs = keras.Input((9, 3))
    h = keras.layers.Conv1D(4, 3, padding="causal", dilation_rate=2, use_bias=False, activation="tanh")(inputs)
    h = keras.layers.Dense(5, activation="relu")(h)
    shared = keras.layers.Dense(5, activation="tanh")
    h = shared(shared(h))
    logits = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling1D()(h))
    model = keras.Model(inputs, logits)
    x, y = examples(model, 5)
    got = statistics.compute(model, (x, y), ("fisher", "gradient"))
    want = reference(model, x, y)
    assert_close(got["fisher"], want["fisher"])
    assert_close(got["gradient"], want["gradient"])


def test_wrapped_model_gives_masked_statistics():
    model = convnet()
    x, y = examples(model, 6)
    wrapped = tfmot.sparsity.keras.prune_low_magnitude(keras.models.clone_model(model))  # new init
    statistics.fisher_diagonal(wrapped, (x, y))  # traced now: later calls must see new values
    plain = {w.name: w for w in model.weights}
    rng = np.random.default_rng(1)
    masks = {}
    for name, mask in mask_variables(wrapped).items():
        masks[name] = (rng.random(mask.shape) < 0.6).astype(np.float32)
        mask.assign(masks[name])
    for w in wrapped.weights:
        if w.name in plain:
            w.assign(plain[w.name])
    for name, m in masks.items():
        plain[name].assign(plain[name] * m)  # the plain network the wrapped one computes
    got = statistics.compute(wrapped, (x, y), ("fisher", "gradient"))
    want = reference(model, x, y)
    assert sorted(got["fisher"]) == sorted(prunable_weights(model))
    assert all("call" not in layer.layer.__dict__ for layer in wrapped.layers)
    assert_close(got["fisher"], want["fisher"])
    assert_close(got["gradient"], want["gradient"])


def test_public_functions_and_data_forms_agree():
    model = mlp()
    x, y = examples(model, 12)
    both = statistics.compute(model, (x, y), ("gradient", "fisher"))
    batched = tf.data.Dataset.from_tensor_slices((x, y)).batch(5)
    single = tf.data.Dataset.from_tensor_slices((x, y))
    assert_close(statistics.fisher_diagonal(model, batched, num_examples=12), both["fisher"], 1e-6)
    assert_close(statistics.mean_gradient(model, single, batch_size=7), both["gradient"], 1e-6)
    xs_only = tf.data.Dataset.from_tensor_slices(x).batch(4)
    assert_close(statistics.fisher_diagonal(model, xs_only, num_examples=8),
                 statistics.fisher_diagonal(model, (x[:8], y[:8])), 1e-6)
    one_hot = np.eye(5, dtype=np.float32)[y]
    assert_close(statistics.mean_gradient(model, (x, one_hot)), both["gradient"], 1e-6)
    assert statistics.compute(model, (x, y), ()) == {}


def test_layers_are_restored():
    model = mlp()
    activations = [layer.activation for layer in model.layers]
    statistics.fisher_diagonal(model, examples(model, 3))
    assert [layer.activation for layer in model.layers] == activations
    assert all("call" not in layer.__dict__ for layer in model.layers)


def test_bad_input_errors():
    model = mlp()
    x, y = examples(model, 4)
    with pytest.raises(ValueError, match="no examples"):
        statistics.fisher_diagonal(model, (x[:0], y[:0]))
    with pytest.raises(ValueError, match="no examples"):
        statistics.mean_gradient(model, tf.data.Dataset.from_tensor_slices((x, y)).take(0))
    with pytest.raises(ValueError, match="needs labels"):
        statistics.mean_gradient(model, tf.data.Dataset.from_tensor_slices(x))
    with pytest.raises(ValueError, match="unknown statistics"):
        statistics.compute(model, (x, y), ("hessian",))
    with pytest.raises(TypeError, match="tf.data.Dataset"):
        statistics.fisher_diagonal(model, x)
    depthwise = keras.Sequential([keras.layers.DepthwiseConv2D(3, input_shape=(5, 5, 2)),
                                  keras.layers.Flatten(), keras.layers.Dense(3)])
    with pytest.raises(NotImplementedError, match="DepthwiseConv2D"):
        statistics.fisher_diagonal(depthwise, examples(depthwise, 2))


def test_vectorized_backward_for_many_classes_agrees(monkeypatch):
    model = convnet()
    x, y = examples(model, 4)
    unrolled = statistics.compute(model, (x, y), ("fisher", "gradient"))
    monkeypatch.setattr(statistics, "_MAX_UNROLLED", 2)  # as for models with many classes
    clone = keras.models.clone_model(model)  # a fresh trace
    clone.set_weights(model.get_weights())
    vectorized = statistics.compute(clone, (x, y), ("fisher", "gradient"))
    for s in unrolled:
        assert_close(vectorized[s], unrolled[s], 1e-5)
    assert_close(vectorized["fisher"], reference(model, x, y)["fisher"])


def test_gradient_from_the_fisher_passes_matches_brute_force_for_label_forms():
    """With both statistics the gradient reuses the C per-class backward passes (integer,
    (n, 1) and soft-label rows); it must equal the brute force and the gradient alone."""
    model = convnet()
    x, y = examples(model, 6)
    want = reference(model, x, y)
    for labels in (y, y[:, None], np.eye(4, dtype=np.float32)[y]):
        got = statistics.compute(model, (x, labels), ("gradient", "fisher"), batch_size=4)
        assert_close(got["gradient"], want["gradient"])
        assert_close(got["fisher"], want["fisher"])
    soft = np.random.default_rng(3).dirichlet(np.ones(4), size=6).astype(np.float32)
    alone = statistics.mean_gradient(model, (x, soft))
    assert_close(statistics.compute(model, (x, soft), ("gradient", "fisher"))["gradient"], alone, 1e-5)


@pytest.mark.parametrize("batch_size", [6, 7])
def test_convnet_fisher_blocks_divide_or_pad(monkeypatch, batch_size):
    """Per-example blocks: 6 rows split into blocks of 3 (no padding), 7 rows into blocks of
    5 with a padded last block (conv1: 288 elements per example, limit 1440 // 288 = 5)."""
    monkeypatch.setattr(statistics_layers, "_BLOCK_ELEMENTS", 1440)
    assert statistics_layers._block_size(6, 5) == 3 and statistics_layers._block_size(7, 5) == 5
    model = convnet()
    x, y = examples(model, batch_size, seed=batch_size)
    got = statistics.compute(model, (x, y), ["fisher", "gradient"], batch_size=batch_size)
    want = reference(model, x, y)
    assert_close(got["fisher"], want["fisher"])
    assert_close(got["gradient"], want["gradient"])
