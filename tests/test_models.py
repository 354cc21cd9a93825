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
    with pytest.raises(ValueError, match=r"unknown model 'resnet2'.*'resnet20'.*Valid models: convnet"):
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
