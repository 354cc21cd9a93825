"""Evaluation metrics that read tf_keras models: sharpness, size, layer read-outs, evaluators."""
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_model_optimization as tfmot
import tf_keras as keras

from prunekit import evaluation as ev


def _mlp(inputs=6, hidden=16, classes=3):
    x = keras.Input((inputs,))
    h = keras.layers.Dense(hidden, activation="relu", name="d1")(x)
    f = keras.layers.Dense(hidden, activation="relu", name="features")(h)
    return keras.Model(x, keras.layers.Dense(classes, name="logits")(f))


def _convnet():
    x = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(4, 3, padding="same", use_bias=False, name="c1")(x)
    h = keras.layers.BatchNormalization(name="bn1")(h)
    h = keras.layers.ReLU(name="r1")(h)
    h = keras.layers.Conv2D(6, 3, strides=2, activation="relu", name="c2")(h)
    f = keras.layers.GlobalAveragePooling2D(name="features")(h)
    return keras.Model(x, keras.layers.Dense(3, name="logits")(f))


def _blobs(n=240, inputs=6, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = (rng.normal(size=(n, inputs)) + 2.5 * np.eye(3, inputs)[y]).astype(np.float32)
    return x, y


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    x, y = _blobs()
    model = _mlp()
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=30, batch_size=60, verbose=0)
    return model, x, y


def test_sharpness_zero_at_radius_zero_and_grows(trained):
    model, x, y = trained
    before = [w.numpy().copy() for w in model.weights]
    s0 = ev.sharpness(model, (x, y), radius=0.0, num_directions=2, seed=1)
    assert s0["mean"] == pytest.approx(0.0, abs=1e-7)
    means = [ev.sharpness(model, (x, y), radius=r, num_directions=4, seed=1)["mean"]
             for r in (0.05, 0.3, 1.0)]
    assert 0 < means[0] < means[1] < means[2]
    for w, b in zip(model.weights, before):  # weights restored
        np.testing.assert_array_equal(w.numpy(), b)


def test_filter_normalized_direction():
    w = np.array([[1.0, 0.0], [2.0, 3.0], [2.0, 4.0]])  # filters = columns: norms 3 and 5
    d = ev.filter_normalized_direction([w, np.ones(2)], np.random.default_rng(0))
    np.testing.assert_allclose(np.linalg.norm(d[0], axis=0), [3.0, 5.0])
    assert d[0][0, 1] == 0.0 and not d[1].any()  # pruned weight and bias untouched


def test_dense_flops_hand_count_and_sparsity():
    model = _mlp()
    kernel = model.get_layer("d1").kernel
    k = kernel.numpy()
    k[:3] = 0.0  # 3 of 6 input rows pruned: half of d1
    kernel.assign(k)
    fl = ev.flops(model)
    assert fl["layers"]["d1"] == {"dense": 2 * 6 * 16, "sparse": 2 * 6 * 16 * 0.5}
    assert fl["dense"] == 2 * (6 * 16 + 16 * 16 + 16 * 3)
    sp = ev.sparsity(model)
    assert sp["d1/kernel:0"] == 0.5
    assert sp["overall"] == pytest.approx(48 / (96 + 256 + 48))
    nnz = ev.nonzero_parameters(model)
    assert nnz["total"] == model.count_params()
    assert nnz["nonzero"] == model.count_params() - 48 - 16 - 16 - 3  # biases start at zero


def test_conv_flops_hand_count():
    model = _convnet()
    fl = ev.flops(model)["layers"]
    assert fl["c1"]["dense"] == 2 * (3 * 3 * 1 * 4) * 8 * 8
    assert fl["c2"]["dense"] == 2 * (3 * 3 * 4 * 6) * 3 * 3  # valid padding, stride 2: 3x3 out


def test_gzip_size_of_sparse_model_is_much_smaller():
    keras.utils.set_random_seed(0)
    x = keras.Input((64,))
    dense = keras.Model(x, keras.layers.Dense(10)(keras.layers.Dense(256)(x)))
    schedule = tfmot.sparsity.keras.ConstantSparsity(0.9, begin_step=0, frequency=1)
    pruned = tfmot.sparsity.keras.prune_low_magnitude(keras.models.clone_model(dense),
                                                      pruning_schedule=schedule)
    pruned.compile("sgd", "mse")
    pruned.fit(np.zeros((4, 64), np.float32), np.zeros((4, 10), np.float32), epochs=1, verbose=0,
               callbacks=[tfmot.sparsity.keras.UpdatePruningStep()])
    assert ev.sparsity(pruned)["overall"] == pytest.approx(0.9, abs=0.01)
    fl = ev.flops(pruned)
    assert fl["dense"] == 2 * (64 * 256 + 256 * 10)
    assert fl["sparse"] == pytest.approx(0.1 * fl["dense"], rel=0.01)
    res = ev.compression(dense, pruned)
    assert res["ratio"] > 2.5, res


def test_layer_representations_and_probe_layers():
    model = _convnet()
    assert ev.probe_layers(model) == ["r1", "c2", "logits"]
    x = np.random.default_rng(0).normal(size=(5, 8, 8, 1)).astype(np.float32)
    reps = ev.layer_representations(model, x, batch_size=2)
    assert [r.shape for r in reps] == [(5, 4), (5, 6), (5, 3)]
    c2 = keras.Model(model.input, model.get_layer("c2").output)(x).numpy()
    np.testing.assert_allclose(reps[1], c2.mean(axis=(1, 2)), rtol=1e-5)
    with pytest.raises(ValueError, match="not in the model"):
        ev.layer_representations(model, x, layers=["nope"])


def test_layer_preactivations():
    model = _convnet()
    x = np.random.default_rng(0).normal(size=(4, 8, 8, 1)).astype(np.float32)
    assert ev.preactivation_layers(model) == ["r1", "c2"]
    bn = keras.Model(model.input, model.get_layer("bn1").output)(x).numpy()
    np.testing.assert_allclose(ev.layer_preactivations(model, "r1", x), bn, rtol=1e-6)
    h = keras.Model(model.input, model.get_layer("r1").output)(x)
    c2 = model.get_layer("c2")
    linear = tf.nn.conv2d(h, c2.kernel, 2, "VALID") + c2.bias
    np.testing.assert_allclose(ev.layer_preactivations(model, "c2", x), linear, rtol=1e-5, atol=1e-6)
    assert c2.activation is keras.activations.relu  # restored


def test_evaluators_run_with_uniform_signature(trained):
    model, x, y = trained
    data = {"train": (x[:180], y[:180]), "test": tf.data.Dataset.from_tensor_slices((x[180:], y[180:])).batch(16),
            "num_classes": 3}
    config = {"accuracy": {}, "probes": {"k": 5}, "q_score": {}, "prediction_depth": {"k": 5},
              "psp_entropy": {}, "sharpness": {"num_directions": 2, "max_examples": 60},
              "size": {"compressed": False}}
    res = ev.evaluate_all(config, model, data)
    # transfer probes another dataset (digits/5-9): tests/test_study_label_retrain.py runs it.
    assert set(res) == set(ev.EVALUATORS) - {"transfer"}
    assert res["accuracy"]["accuracy"] > 0.8 and res["probes"]["linear_probe_accuracy"] > 0.8
    assert res["q_score"]["q_score"].shape == (60,)
    assert res["prediction_depth"]["pd_score"].shape == (60,)
    assert list(res["prediction_depth"]["probed_layers"]) == ["d1", "features", "logits"]
    assert set(res["psp_entropy"]) >= {"psp_entropy", "psp_entropy/d1", "psp_entropy/features"}
    # Every output is declared: scalars as per-run metrics, test-split arrays as per-example.
    kept = {}
    for name, out in res.items():
        metrics, arrays = ev.EVALUATORS[name].split(out)
        assert all(np.ndim(v) == 0 for v in metrics.values()), name
        assert all(a.shape == (60,) for a in arrays.values()), name
        kept.update(arrays)
    assert set(kept) == {"q_score", "pd_score", "prediction_depth"} == set(ev.suite.per_example_names())
    assert ev.EVALUATORS["accuracy"].split(res["accuracy"])[0] == res["accuracy"]
    with pytest.raises(TypeError):
        ev.evaluate("accuracy", model, data, not_an_option=1)
    with pytest.raises(KeyError, match="unknown evaluator"):
        ev.evaluate("nope", model, data)


def test_wrapped_model_read_outs_and_sharpness():
    keras.utils.set_random_seed(0)
    x, y = _blobs(60)
    pruned = tfmot.sparsity.keras.prune_low_magnitude(_mlp())
    assert ev.probe_layers(pruned) == ["prune_low_magnitude_d1", "prune_low_magnitude_features",
                                       "prune_low_magnitude_logits"]
    reps = ev.layer_representations(pruned, x)
    assert [r.shape for r in reps] == [(60, 16), (60, 16), (60, 3)]
    assert ev.preactivation_layers(pruned) == ["prune_low_magnitude_d1", "prune_low_magnitude_features"]
    assert ev.psp_entropy(ev.layer_preactivations(pruned, "prune_low_magnitude_d1", x), y, 3)["mean"] > 0
    before = [w.numpy().copy() for w in pruned.weights]
    assert ev.sharpness(pruned, (x, y), radius=0.0, num_directions=1)["mean"] == pytest.approx(0.0, abs=1e-7)
    for w, b in zip(pruned.weights, before):
        np.testing.assert_array_equal(w.numpy(), b)


def test_an_undeclared_evaluator_output_is_an_error():
    from prunekit.evaluation.suite import Evaluator

    e = Evaluator("x", lambda model, data, *, k=3: {"a": 1.0, "b": 2.0}, metrics=("a",))
    assert e.options() == {"k": 3} and e.required() == []
    with pytest.raises(ValueError, match="evaluator 'x' returned 'b', which it does not declare"):
        e.split(e(None, None))



def _pruned_under_plugin(name, input_shape, seed=0):
    """Catalogue model ``name`` (2 classes) under the cross_entropy plugin, wrapped, with a
    random 50 % mask on every kernel; and the same model stripped (masks baked in)."""
    import prunekit
    from prunekit import models, prunable, registry

    keras.utils.set_random_seed(seed)
    plugin = registry.get_loss("cross_entropy")
    model = plugin.build_model(models.feature_model(models.build(name, input_shape, 2, seed=seed)), 2)
    pruned = prunekit.wrap(model, exclude=plugin.head_layer_names(model))
    rng = np.random.default_rng(seed)
    for wrapper in prunable.wrappers(pruned):
        for _, mask, _ in wrapper.pruning_vars:
            mask.assign((rng.random(mask.shape) < 0.5).astype(np.float32))
    return pruned, prunekit.strip(pruned)


def _psp_by_hand(stripped, names, x, y):
    """Per-unit PSP-entropy (bits) of each named layer of a plain model, by hand: the
    pre-activation is an activation layer's input, or a Dense / Conv layer's kernel applied
    to its input plus bias (tf.nn.convolution, not the layer), then METHODS.md's formula."""
    layers = [stripped.get_layer(n) for n in names]
    inputs = keras.Model(stripped.inputs, [l.input for l in layers])(x, training=False)
    out = {}
    for layer, z in zip(layers, inputs if len(layers) > 1 else [inputs]):
        if isinstance(layer, keras.layers.Dense):
            z = np.asarray(z, np.float64) @ layer.kernel.numpy() + layer.bias.numpy()
        elif isinstance(layer, (keras.layers.Conv1D, keras.layers.Conv2D)):
            z = np.asarray(tf.nn.convolution(z, layer.kernel, strides=layer.strides,
                                             padding=layer.padding.upper(),
                                             dilations=layer.dilation_rate)) + layer.bias.numpy()
        z = np.asarray(z)
        p = np.stack([(z[y == k] > 0).mean(0) for k in np.unique(y)]).clip(1e-4, 0.9999)
        out[layer.name] = -(p * np.log2(p) + (1 - p) * np.log2(1 - p)).sum(0)
    return out


def test_psp_entropy_on_a_pruned_resnet20_under_a_loss_plugin_matches_the_stripped_model():
    """Regression: the wrapped model shares its activation/BN/Add layers with the copy that
    ``prunekit.wrap`` made, so ``layer.input`` was in the wrong graph ("Graph disconnected ...
    at layer conv1"). Reference: the formula by hand on the stripped model's ReLU inputs."""
    pruned, stripped = _pruned_under_plugin("resnet20", (32, 32, 3))
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 32, 32, 3)).astype(np.float32)
    y = np.arange(8) % 2  # 4 examples per class: p in {0, 1/4, 1/2, 3/4, 1}
    res = ev.EVALUATORS["psp_entropy"](pruned, {"train": (x, y), "test": (x, y)}, batch_size=3)
    names = [l.name for l in stripped.layers[:-1] if isinstance(l, keras.layers.ReLU)]
    assert len(names) == 19  # conv1 + 9 blocks x 2 ReLUs
    assert sorted(k.split("/", 1)[1] for k in res if k.startswith("psp_entropy/")) == sorted(names)
    ref = _psp_by_hand(stripped, names, x, y)
    for name in names:
        np.testing.assert_allclose(res[f"psp_entropy_units/{name}"], ref[name], atol=1e-12, err_msg=name)
    assert res["psp_entropy"] == pytest.approx(np.mean([h.mean() for h in ref.values()]), abs=1e-12)
    assert 0.05 < res["psp_entropy"] < 2  # not the degenerate all-clamped value


@pytest.mark.parametrize("name, shape", [("mlp", (8,)), ("convnet", (12, 12, 1)), ("lenet5", (28, 28, 1)),
                                         ("wrn", (16, 16, 3)), ("conv1d", (32, 2)), ("resnet1d", (32, 2))])
def test_psp_entropy_on_each_pruned_catalogue_model_matches_the_stripped_model(name, shape):
    pruned, stripped = _pruned_under_plugin(name, shape)
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(8,) + shape).astype(np.float32), np.arange(8) % 2
    res = ev.EVALUATORS["psp_entropy"](pruned, {"train": (x, y), "test": (x, y)})
    got = {k.split("/", 1)[1].removeprefix("prune_low_magnitude_"): v
           for k, v in res.items() if k.startswith("psp_entropy_units/")}
    assert got, name
    ref = _psp_by_hand(stripped, sorted(got), x, y)
    for layer, h in got.items():
        np.testing.assert_allclose(h, ref[layer], rtol=1e-9, atol=1e-9, err_msg=f"{name}/{layer}")


def test_probe_layers_of_a_pruned_resnet20_under_a_loss_plugin_group_blocks_as_unwrapped():
    """Same root cause: BN/ReLU layers shared with wrap's copy have two inbound nodes, so the
    block chains were cut after each wrapped conv. By hand for ResNet-20: conv1's ReLU, then
    per block (9) the first ReLU, the second BN (the Add takes two inputs) and the block's
    ReLU, then the head: 1 + 27 + 1 = 29, as in the stripped model."""
    pruned, stripped = _pruned_under_plugin("resnet20", (32, 32, 3))
    names = [n.removeprefix("prune_low_magnitude_") for n in ev.probe_layers(pruned)]
    assert names == ev.probe_layers(stripped)
    assert len(names) == 29
    assert names[:4] == ["conv1_relu", "stage1_block1_relu1", "stage1_block1_bn2", "stage1_block1_out"]
