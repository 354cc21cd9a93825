"""Model catalogue: shapes, seeding, tfmot wrapping, features layer, published sizes."""
import numpy as np
import pytest
import tensorflow_model_optimization as tfmot
import tf_keras as keras
from tensorflow_model_optimization.python.core.sparsity.keras.pruning_wrapper import PruneLowMagnitude

from prunekit import models

# Tiny but faithful configurations, each on the smallest input it is meant for.
SMALL = {
    "mlp": ((8, 8, 1), dict(widths=(16, 8), activation="tanh")),
    "lenet300_100": ((8, 8, 1), {}),
    "tanh_mlp": ((8, 8, 1), {}),
    "lenet5": ((12, 12, 1), {}),
    "convnet": ((8, 8, 1), {}),
    "resnet20": ((8, 8, 1), dict(width=4)),
    "wrn": ((8, 8, 3), dict(width=1)),
    "vgg11": ((32, 32, 3), dict(width=4)),
    "resnetv2": ((8, 8, 1), dict(filters=(64, 8), blocks=(2, 2), strides=(1, 2))),
    "conv1d": ((40, 1), {}),
    "resnet1d": ((40, 1), dict(depth=8, width=4)),
}


def test_every_catalogue_entry_has_a_small_configuration():
    assert sorted(SMALL) == models.names()


@pytest.mark.parametrize("name", sorted(SMALL))
def test_model_shapes_seeding_features_and_tfmot_wrapping(name):
    shape, opts = SMALL[name]
    model = models.build(name, shape, 7, seed=3, **opts)
    x = np.random.default_rng(0).random((2, *shape), dtype=np.float32)
    logits = model(x, training=False).numpy()
    assert logits.shape == (2, 7)
    assert model.layers[-1].get_config()["activation"] == "linear"  # logits, no softmax

    features = models.feature_model(model)(x).numpy()
    assert features.ndim == 2 and features.shape[0] == 2
    assert model.layers[-1].input.shape[-1] == features.shape[1]  # the head reads the features

    same = models.build(name, shape, 7, seed=3, **opts)
    other = models.build(name, shape, 7, seed=4, **opts)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), same.get_weights()))
    kernels = [(a, b) for a, b in zip(model.get_weights(), other.get_weights()) if a.ndim >= 2]
    assert kernels and all(not np.array_equal(a, b) for a, b in kernels)

    pruned = tfmot.sparsity.keras.prune_low_magnitude(model)
    assert sum(isinstance(l, PruneLowMagnitude) for l in pruned.layers) > 0
    assert models.features_layer(pruned).layer.name == models.FEATURES
    np.testing.assert_allclose(pruned(x, training=False).numpy(), logits, rtol=1e-5, atol=1e-5)


def _trainable(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize("name,published", [("resnet20", 0.27e6), ("wrn", 0.69e6)])
def test_published_parameter_counts(name, published):
    # Counts do not depend on the spatial size; 8x8x3 is a cheap stand-in for CIFAR's 32x32x3.
    model = models.build(name, (8, 8, 3), 10)
    assert abs(_trainable(model) / published - 1) < 0.02


def test_resnet20_option_a_shortcut_has_no_weights_and_b_projects():
    a = models.build("resnet20", (8, 8, 3), 10, shortcut="A")
    b = models.build("resnet20", (8, 8, 3), 10, shortcut="B")
    assert not any("shortcut" in w.name for w in a.weights)
    assert _trainable(b) - _trainable(a) == 16 * 32 + 32 * 64 + 2 * (32 + 64)


def test_presets_are_the_mlps_they_name():
    assert [l.units for l in models.build("lenet300_100", (8, 8, 1), 10).layers[2:]] == [300, 100, 10]
    tanh = models.build("tanh_mlp", (28, 28, 1), 10)
    assert tanh.count_params() == 784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10
    assert tanh.get_layer("features").get_config()["activation"] == "tanh"


def test_unknown_model_suggests_close_names():
    with pytest.raises(ValueError, match=r"unknown model 'resnet2'.*'resnet20'.*Valid models: conv1d, convnet"):
        models.build("resnet2", (32, 32, 3), 10)


def test_unknown_option_lists_valid_options():
    with pytest.raises(TypeError, match="no option.*widht.*valid options: widths, activation"):
        models.build("mlp", (8, 8, 1), 10, widht=(10,))


@pytest.mark.parametrize("name,shape,minimum", [("vgg11", (8, 8, 1), 32), ("lenet5", (8, 8, 1), 12)])
def test_too_small_input_is_a_clear_error(name, shape, minimum):
    with pytest.raises(ValueError, match=f"{name} needs inputs of at least {minimum}x{minimum}"):
        models.build(name, shape, 10)


def test_features_layer_missing_is_a_clear_error():
    inputs = keras.Input((4,))
    with pytest.raises(ValueError, match="no layer named 'features'"):
        models.features_layer(keras.Model(inputs, keras.layers.Dense(2)(inputs)))


# ---- 1-D signals (MNIST-1D: 40 samples, 1 channel) -------------------------------------
@pytest.mark.parametrize("name,opts", [("mlp", {}), ("conv1d", {}), ("resnet1d", dict(depth=8))])
def test_signal_models_take_length_or_length_channels_and_prunekit_wraps_them(name, opts):
    import prunekit

    x = np.random.default_rng(1).standard_normal((3, 40, 1)).astype(np.float32)
    with_channels = models.build(name, (40, 1), 10, seed=2, **opts)
    flat = models.build(name, (40,), 10, seed=2, **opts)
    np.testing.assert_allclose(with_channels(x), flat(x[..., 0]), rtol=1e-5, atol=1e-6)
    wrapped = prunekit.wrap(with_channels)
    kinds = {type(w.layer).__name__ for w in wrapped.layers if isinstance(w, PruneLowMagnitude)}
    assert kinds == ({"Dense"} if name == "mlp" else {"Conv1D", "Dense"})
    np.testing.assert_allclose(wrapped(x, training=False), with_channels(x), rtol=1e-5, atol=1e-6)


def test_conv1d_is_the_mnist1d_paper_cnn():
    model = models.build("conv1d", (40, 1), 10)
    # by hand: 3 convs of 25 filters, kernels 5/3/3, stride 2, "same": 40 -> 20 -> 10 -> 5
    assert [model.get_layer(f"conv{i}").output_shape for i in (1, 2, 3)] == \
        [(None, 20, 25), (None, 10, 25), (None, 5, 25)]
    assert model.get_layer("features").output_shape == (None, 125)
    assert _trainable(model) == (5 * 25 + 25) + 2 * (3 * 25 * 25 + 25) + (125 * 10 + 10)


def test_resnet1d_has_6n_plus_2_weight_layers_and_projection_shortcuts():
    model = models.build("resnet1d", (40, 1), 10, depth=14, width=4)
    convs = [l.name for l in model.layers if isinstance(l, keras.layers.Conv1D)]
    main = [c for c in convs if "shortcut" not in c]
    assert len(main) + 1 == 14  # + the logits layer
    assert sorted(c for c in convs if "shortcut" in c) == ["stage2_block1_shortcut_conv",
                                                          "stage3_block1_shortcut_conv"]
    assert model.get_layer("features").output_shape == (None, 16)
    with pytest.raises(ValueError, match="6n \\+ 2"):
        models.build("resnet1d", (40, 1), 10, depth=12)


@pytest.mark.parametrize("name", ["conv1d", "resnet1d"])
def test_signal_models_refuse_images(name):
    with pytest.raises(ValueError, match="needs 1-D signals"):
        models.build(name, (8, 8, 1), 10)
