"""VGG-11 for CIFAR with batch normalisation (Simonyan & Zisserman 2015, CIFAR variant).

Eight 3x3 conv-BN-ReLU layers of 64-M-128-M-256-256-M-512-512-M-512-512-M (M = 2x2 max
pool; the widths scale with ``width`` / 64), global average pooling (layer ``features``;
equal to flattening at 32x32, where the last map is 1x1), and one Dense logits layer, as in
the common CIFAR code (9.2M parameters). The five poolings need inputs of at least 32x32.
"""
from __future__ import annotations

import tf_keras as keras

from prunekit.models._common import FEATURES, Seeds, check_input_shape, logits_head

_CFG = (1, "M", 2, "M", 4, 4, "M", 8, 8, "M", 8, 8, "M")


def vgg11(input_shape, num_classes, seed=0, *, width=64):
    """VGG-11 with BN; ``width`` is the first layer's filter count (64 in the paper)."""
    shape = check_input_shape("vgg11", input_shape, rank=3, min_size=32)
    if int(width) < 1:
        raise ValueError(f"vgg11: width must be a positive int, got {width}.")
    seeds = Seeds(seed)
    inputs = keras.Input(shape, name="image")
    x, conv, pool = inputs, 0, 0
    for item in _CFG:
        if item == "M":
            pool += 1
            x = keras.layers.MaxPooling2D(2, name=f"pool{pool}")(x)
            continue
        conv += 1
        x = keras.layers.Conv2D(int(width) * item, 3, padding="same", use_bias=False,
                                kernel_initializer=seeds("he_normal"), name=f"conv{conv}")(x)
        x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"conv{conv}_bn")(x)
        x = keras.layers.ReLU(name=f"conv{conv}_relu")(x)
    x = keras.layers.GlobalAveragePooling2D(name=FEATURES)(x)
    return keras.Model(inputs, logits_head(x, num_classes, seeds), name="vgg11")
