"""Fully connected classifiers: ``mlp`` and its presets.

- ``lenet300_100``: LeNet-300-100 (LeCun et al. 1998; Han et al. 2015), 300-100 ReLU.
- ``tanh_mlp``: paper C's 784-300-100-10 tanh MLP (Ballas et al. 2020), any input size.

The input is flattened, so any input shape works (8x8x1 digits give 64-300-100-10).
The last hidden Dense layer is named ``features``.
"""
from __future__ import annotations

import tf_keras as keras

from prunekit.models._common import FEATURES, Seeds, check_input_shape, logits_head


def mlp(input_shape, num_classes, seed=0, *, widths=(300, 100), activation="relu"):
    """Dense layers of ``widths`` units with ``activation``, then a logits layer."""
    return _mlp(input_shape, num_classes, seed, widths, activation, "mlp")


def _mlp(input_shape, num_classes, seed, widths, activation, name):
    widths = tuple(int(w) for w in widths)
    if not widths or min(widths) < 1:
        raise ValueError(f"mlp: widths must be a non-empty list of positive ints, got {widths}.")
    try:
        keras.activations.get(activation)
    except ValueError:
        raise ValueError(f"mlp: unknown activation {activation!r}; use e.g. 'relu' or 'tanh'.") from None
    shape = check_input_shape(name, input_shape)
    seeds = Seeds(seed)
    inputs = keras.Input(shape, name="image")
    x = keras.layers.Flatten(name="flatten")(inputs)
    for i, width in enumerate(widths):
        last = i == len(widths) - 1
        x = keras.layers.Dense(width, activation=activation, kernel_initializer=seeds(),
                               name=FEATURES if last else f"dense_{i + 1}")(x)
    return keras.Model(inputs, logits_head(x, num_classes, seeds), name=name)


def lenet300_100(input_shape, num_classes, seed=0, *, activation="relu"):
    """LeNet-300-100: ``mlp(widths=(300, 100), activation='relu')``."""
    return _mlp(input_shape, num_classes, seed, (300, 100), activation, "lenet300_100")


def tanh_mlp(input_shape, num_classes, seed=0):
    """Paper C's MLP: ``mlp(widths=(300, 100), activation='tanh')``."""
    return _mlp(input_shape, num_classes, seed, (300, 100), "tanh", "tanh_mlp")
