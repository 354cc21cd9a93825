"""CIFAR residual networks: ``resnet20`` (He et al. 2016) and ``wrn`` (Zagoruyko & Komodakis 2016).

``resnet20``: 3x3 conv 16, then three stages of n = (depth - 2) / 6 basic blocks
(conv-BN-ReLU-conv-BN, add, ReLU) with 16/32/64 x ``width`` / 16 filters, strides 1/2/2,
global average pooling (layer ``features``), logits. Shortcut option "A" (the paper's CIFAR
choice: stride-2 subsampling and zero-padded channels, no weights; 0.27M parameters for
depth 20) or "B" (1x1 conv + BN projection). Convolutions have no bias (BN follows).

``wrn``: WRN-depth-width, pre-activation blocks (BN-ReLU-conv-BN-ReLU-[dropout]-conv),
groups of (depth - 4) / 6 blocks with 16k/32k/64k filters, 1x1 conv shortcuts where the
width or stride changes, final BN-ReLU, global average pooling (``features``), logits.
WRN-16-2 has 0.69M parameters.

Both use "same" padding, so any input from 4x4 up works (8x8 digits included; CIFAR 32x32
is the intended size). BN uses PyTorch's momentum 0.9 and epsilon 1e-5.
"""
from __future__ import annotations

import tf_keras as keras

from prunekit.models._common import FEATURES, Seeds, check_input_shape, logits_head


def _bn(name):
    return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)


def _conv(filters, kernel, stride, seeds, name):
    return keras.layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False,
                               kernel_initializer=seeds("he_normal"), name=name)


def _pad_shortcut(x, filters, stride, name):
    """Option A: take every ``stride``-th pixel and zero-pad the channels to ``filters``."""
    if stride != 1:
        x = keras.layers.MaxPooling2D(1, strides=stride, name=f"{name}_subsample")(x)
    h, w, c = x.shape[1:]
    if filters != c:
        extra = filters - c
        x = keras.layers.Reshape((h, w, c, 1), name=f"{name}_expand")(x)
        x = keras.layers.ZeroPadding3D(((0, 0), (0, 0), (extra // 2, extra - extra // 2)),
                                       name=f"{name}_pad")(x)
        x = keras.layers.Reshape((h, w, filters), name=f"{name}_squeeze")(x)
    return x


def _blocks(depth, offset, model):
    n, rest = divmod(depth - offset, 6)
    if rest or n < 1:
        raise ValueError(f"{model}: depth must be 6n+{offset} with n >= 1 (e.g. {6 + offset}, "
                         f"{12 + offset}, {18 + offset}), got {depth}.")
    return n


def resnet20(input_shape, num_classes, seed=0, *, depth=20, width=16, shortcut="A"):
    """He et al.'s CIFAR ResNet (ResNet-20 by default; ``depth`` 32, 44, 56, 110 also work)."""
    shape = check_input_shape("resnet20", input_shape, rank=3, min_size=4)
    n = _blocks(int(depth), 2, "resnet20")
    if shortcut not in ("A", "B"):
        raise ValueError(f"resnet20: shortcut must be 'A' (zero padding) or 'B' (1x1 projection), "
                         f"got {shortcut!r}.")
    seeds = Seeds(seed)
    inputs = keras.Input(shape, name="image")
    x = _conv(width, 3, 1, seeds, "conv1")(inputs)
    x = keras.layers.ReLU(name="conv1_relu")(_bn("conv1_bn")(x))
    for stage, filters in enumerate((width, 2 * width, 4 * width), start=1):
        for block in range(n):
            name = f"stage{stage}_block{block + 1}"
            stride = 2 if stage > 1 and block == 0 else 1
            y = _conv(filters, 3, stride, seeds, f"{name}_conv1")(x)
            y = keras.layers.ReLU(name=f"{name}_relu1")(_bn(f"{name}_bn1")(y))
            y = _bn(f"{name}_bn2")(_conv(filters, 3, 1, seeds, f"{name}_conv2")(y))
            if stride == 1 and x.shape[-1] == filters:
                short = x
            elif shortcut == "A":
                short = _pad_shortcut(x, filters, stride, f"{name}_shortcut")
            else:
                short = _bn(f"{name}_shortcut_bn")(
                    _conv(filters, 1, stride, seeds, f"{name}_shortcut_conv")(x))
            x = keras.layers.ReLU(name=f"{name}_out")(keras.layers.Add(name=f"{name}_add")([short, y]))
    x = keras.layers.GlobalAveragePooling2D(name=FEATURES)(x)
    return keras.Model(inputs, logits_head(x, num_classes, seeds), name=f"resnet{depth}")


def wrn(input_shape, num_classes, seed=0, *, depth=16, width=2, dropout=0.0):
    """Wide ResNet WRN-``depth``-``width`` (WRN-16-2 by default)."""
    shape = check_input_shape("wrn", input_shape, rank=3, min_size=4)
    n = _blocks(int(depth), 4, "wrn")
    if int(width) < 1 or not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"wrn: width must be >= 1 and 0 <= dropout < 1, got width={width}, "
                         f"dropout={dropout}.")
    seeds = Seeds(seed)
    inputs = keras.Input(shape, name="image")
    x = _conv(16, 3, 1, seeds, "conv1")(inputs)
    for group, filters in enumerate((16 * width, 32 * width, 64 * width), start=1):
        for block in range(n):
            name = f"group{group}_block{block + 1}"
            stride = 2 if group > 1 and block == 0 else 1
            pre = keras.layers.ReLU(name=f"{name}_relu1")(_bn(f"{name}_bn1")(x))
            y = _conv(filters, 3, stride, seeds, f"{name}_conv1")(pre)
            y = keras.layers.ReLU(name=f"{name}_relu2")(_bn(f"{name}_bn2")(y))
            if dropout:
                y = keras.layers.Dropout(float(dropout), name=f"{name}_dropout")(y)
            y = _conv(filters, 3, 1, seeds, f"{name}_conv2")(y)
            if stride == 1 and x.shape[-1] == filters:
                short = x
            else:  # the original code projects the pre-activated input
                short = _conv(filters, 1, stride, seeds, f"{name}_shortcut")(pre)
            x = keras.layers.Add(name=f"{name}_add")([short, y])
    x = keras.layers.ReLU(name="final_relu")(_bn("final_bn")(x))
    x = keras.layers.GlobalAveragePooling2D(name=FEATURES)(x)
    return keras.Model(inputs, logits_head(x, num_classes, seeds), name=f"wrn{depth}_{width}")
