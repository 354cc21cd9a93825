"""1-D convnets for signals such as MNIST-1D: ``conv1d`` and ``resnet1d``.

``conv1d``: the MNIST-1D paper's CNN (Greydanus 2020, ``ConvBase``): three Conv1D layers of
25 filters (kernels 5, 3, 3, stride 2, ReLU), flatten (layer ``features``; 125 values for 40
samples), logits. "same" padding, so a length-40 input gives 20, 10, 5 positions (the
paper's PyTorch padding 1 gives 19, 10, 5; the 125 features agree). 5,210 parameters for 10
classes.

``resnet1d``: He et al.'s CIFAR ResNet in 1-D: a kernel-3 Conv1D stem of ``width`` filters,
three stages of n = (depth - 2) / 6 basic blocks (conv-BN-ReLU-conv-BN, add, ReLU), kernel
3, ``width`` x 1/2/4 filters, strides 1/2/2, 1x1 Conv1D + BN projection shortcuts where the
shape changes (option B), global average pooling (``features``), logits. Depth 20 (9 blocks)
gives depth for prediction-depth probes; BN uses momentum 0.9 and epsilon 1e-5.

Inputs are ``(length, channels)``; a ``(length,)`` shape gets a channel axis (a Reshape layer).
"""
from __future__ import annotations

import tf_keras as keras

from prunekit.models._common import FEATURES, Seeds, check_input_shape, logits_head


def _signal_input(name, input_shape):
    """``(input, x)``: the Input of ``input_shape`` and ``x`` of shape (length, channels)."""
    shape = check_input_shape(name, input_shape)
    if len(shape) not in (1, 2):
        raise ValueError(f"{name} needs 1-D signals, input_shape (length,) or (length, channels), "
                         f"got {shape}; for images use e.g. convnet or resnet20.")
    inputs = keras.Input(shape, name="signal")
    x = inputs if len(shape) == 2 else keras.layers.Reshape((shape[0], 1), name="add_channel")(inputs)
    return inputs, x


def conv1d(input_shape, num_classes, seed=0, *, filters=(25, 25, 25), kernel_sizes=(5, 3, 3),
           strides=2, activation="relu"):
    """Conv1D layers (``filters``, ``kernel_sizes``, ``strides``), flatten, logits."""
    filters = tuple(int(f) for f in filters)
    kernel_sizes = tuple(int(k) for k in kernel_sizes)
    if not filters or len(filters) != len(kernel_sizes) or min(filters + kernel_sizes) < 1:
        raise ValueError(f"conv1d: filters and kernel_sizes must be equally long lists of positive "
                         f"ints, got filters={filters}, kernel_sizes={kernel_sizes}.")
    if int(strides) < 1:
        raise ValueError(f"conv1d: strides must be a positive int, got {strides!r}.")
    inputs, x = _signal_input("conv1d", input_shape)
    seeds = Seeds(seed)
    for i, (f, k) in enumerate(zip(filters, kernel_sizes)):
        x = keras.layers.Conv1D(f, k, strides=int(strides), padding="same", activation=activation,
                                kernel_initializer=seeds("he_uniform"), name=f"conv{i + 1}")(x)
    x = keras.layers.Flatten(name=FEATURES)(x)
    return keras.Model(inputs, logits_head(x, num_classes, seeds), name="conv1d")


def _bn(name):
    return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)


def _conv(filters, kernel, stride, seeds, name):
    return keras.layers.Conv1D(filters, kernel, strides=stride, padding="same", use_bias=False,
                               kernel_initializer=seeds("he_normal"), name=name)


def resnet1d(input_shape, num_classes, seed=0, *, depth=20, width=16):
    """1-D ResNet-``depth`` (6n + 2 layers) with ``width`` x 1/2/4 filters per stage."""
    if (int(depth) - 2) % 6 or int(depth) < 8:
        raise ValueError(f"resnet1d: depth must be 6n + 2 with n >= 1 (8, 14, 20, ...), got {depth}.")
    if int(width) < 1:
        raise ValueError(f"resnet1d: width must be a positive int, got {width!r}.")
    inputs, x = _signal_input("resnet1d", input_shape)
    seeds, n, width = Seeds(seed), (int(depth) - 2) // 6, int(width)
    x = keras.layers.ReLU(name="conv1_relu")(_bn("conv1_bn")(_conv(width, 3, 1, seeds, "conv1")(x)))
    for stage, filters in enumerate((width, 2 * width, 4 * width), start=1):
        for block in range(n):
            name = f"stage{stage}_block{block + 1}"
            stride = 2 if stage > 1 and block == 0 else 1
            y = _conv(filters, 3, stride, seeds, f"{name}_conv1")(x)
            y = keras.layers.ReLU(name=f"{name}_relu1")(_bn(f"{name}_bn1")(y))
            y = _bn(f"{name}_bn2")(_conv(filters, 3, 1, seeds, f"{name}_conv2")(y))
            short = x
            if stride != 1 or x.shape[-1] != filters:
                short = _bn(f"{name}_shortcut_bn")(
                    _conv(filters, 1, stride, seeds, f"{name}_shortcut_conv")(x))
            x = keras.layers.ReLU(name=f"{name}_out")(keras.layers.Add(name=f"{name}_add")([short, y]))
    x = keras.layers.GlobalAveragePooling1D(name=FEATURES)(x)
    return keras.Model(inputs, logits_head(x, num_classes, seeds), name=f"resnet1d_{depth}")
