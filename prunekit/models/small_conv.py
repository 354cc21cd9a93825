"""Small convnets: ``lenet5`` (LeCun et al. 1998) and ``convnet`` (for 8x8 digits and up).

``lenet5``: Conv6(5x5, same)-pool-Conv16(5x5, valid)-pool-120-84-logits, ReLU and max
pooling (the usual modern variant; 61,706 weights on 28x28x1). Needs inputs of at least
12x12 pixels.

``convnet``: Conv``filters[0]``(3x3)-Conv``filters[1]``(3x3)-maxpool-Dense``hidden``-logits,
ReLU, "same" padding. Works from 2x2 inputs, so on the 8x8 digits.

The last hidden Dense layer is named ``features`` (the Flatten layer when ``hidden=0``).
"""
from __future__ import annotations

import tf_keras as keras

from prunekit.models._common import FEATURES, Seeds, check_input_shape, logits_head


def lenet5(input_shape, num_classes, seed=0, *, activation="relu"):
    """LeNet-5 with ``activation`` (``'relu'`` or the original ``'tanh'``)."""
    shape = check_input_shape("lenet5", input_shape, rank=3, min_size=12)
    seeds = Seeds(seed)
    inputs = keras.Input(shape, name="image")
    x = keras.layers.Conv2D(6, 5, padding="same", activation=activation,
                            kernel_initializer=seeds(), name="conv1")(inputs)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = keras.layers.Conv2D(16, 5, padding="valid", activation=activation,
                            kernel_initializer=seeds(), name="conv2")(x)
    x = keras.layers.MaxPooling2D(2, name="pool2")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(120, activation=activation, kernel_initializer=seeds(), name="fc1")(x)
    x = keras.layers.Dense(84, activation=activation, kernel_initializer=seeds(), name=FEATURES)(x)
    return keras.Model(inputs, logits_head(x, num_classes, seeds), name="lenet5")


def convnet(input_shape, num_classes, seed=0, *, filters=(16, 32), hidden=64, activation="relu"):
    """Two 3x3 convolutions, one 2x2 max pool, an optional hidden Dense layer, logits."""
    shape = check_input_shape("convnet", input_shape, rank=3, min_size=2)
    filters = tuple(int(f) for f in filters)
    if not filters or min(filters) < 1 or int(hidden) < 0:
        raise ValueError(f"convnet: filters must be positive ints and hidden >= 0, "
                         f"got filters={filters}, hidden={hidden}.")
    seeds = Seeds(seed)
    inputs = keras.Input(shape, name="image")
    x = inputs
    for i, f in enumerate(filters):
        x = keras.layers.Conv2D(f, 3, padding="same", activation=activation,
                                kernel_initializer=seeds(), name=f"conv{i + 1}")(x)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    if hidden:
        x = keras.layers.Flatten(name="flatten")(x)
        x = keras.layers.Dense(int(hidden), activation=activation, kernel_initializer=seeds(),
                               name=FEATURES)(x)
    else:
        x = keras.layers.Flatten(name=FEATURES)(x)
    return keras.Model(inputs, logits_head(x, num_classes, seeds), name="convnet")
