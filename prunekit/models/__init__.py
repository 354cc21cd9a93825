"""The model catalogue: seeded tf_keras classifiers that output logits (no softmax).

    model = prunekit.models.build("resnet20", input_shape=(32, 32, 3), num_classes=10, seed=0)

Every model is a flat Functional ``tf_keras.Model`` that ``tfmot.sparsity.keras.
prune_low_magnitude`` can wrap, built from seeded initialisers: the same ``seed`` gives the
same weights. Every model names its representation layer ``features`` (the penultimate,
post-pooling features the logits layer reads); ``features_layer(model)`` finds it, also
inside a tfmot-wrapped model, and ``feature_model(model)`` maps inputs to it.

=================  ==========================================  ==================  ============
name               model                                       options             min. input
=================  ==========================================  ==================  ============
``mlp``            Dense stack (default 300-100 ReLU)          widths, activation  any
``lenet300_100``   LeNet-300-100, ReLU                         activation          any
``tanh_mlp``       paper C's 300-100 tanh MLP                  (none)              any
``lenet5``         LeNet-5 (6-16 conv, 120-84 dense)           activation          12x12
``convnet``        Conv16-Conv32-pool-Dense64 (8x8 digits)     filters, hidden,    2x2
                                                               activation
``resnet20``       He et al. CIFAR ResNet-20 (0.27M)           depth, width,       4x4
                                                               shortcut
``wrn``            WideResNet-16-2 (0.69M)                     depth, width,       4x4
                                                               dropout
``vgg11``          VGG-11 with BN, CIFAR variant (9.2M)        width               32x32
``resnetv2``       keras-cv ResNetV2Backbone (default 18-v2)   filters, blocks,    1x1
                                                               strides, block_type
``conv1d``         MNIST-1D paper's CNN (3 x Conv1D 25, s2)    filters,            1 sample
                                                               kernel_sizes,
                                                               strides, activation
``resnet1d``       1-D ResNet-20 (Conv1D, 16/32/64 filters)    depth, width        1 sample
=================  ==========================================  ==================  ============

The MLPs and the 1-D models take signals ((length,) or (length, channels), e.g. MNIST-1D's
(40, 1)); the other models need images (height, width, channels).
"""
from __future__ import annotations

import difflib
import inspect
import numbers

from prunekit import graph
from prunekit.models._common import FEATURES
from prunekit.models.conv1d import conv1d, resnet1d
from prunekit.models.dense import lenet300_100, mlp, tanh_mlp
from prunekit.models.keras_cv_resnet import resnetv2
from prunekit.models.resnet import resnet20, wrn
from prunekit.models.small_conv import convnet, lenet5
from prunekit.models.vgg import vgg11

CATALOGUE = {
    "mlp": mlp,
    "lenet300_100": lenet300_100,
    "tanh_mlp": tanh_mlp,
    "lenet5": lenet5,
    "convnet": convnet,
    "resnet20": resnet20,
    "wrn": wrn,
    "vgg11": vgg11,
    "resnetv2": resnetv2,
    "conv1d": conv1d,
    "resnet1d": resnet1d,
}


def names() -> list[str]:
    """The catalogue's model names, sorted."""
    return sorted(CATALOGUE)


def options(name: str) -> dict:
    """``{option: default}`` that model ``name`` accepts as keywords."""
    params = inspect.signature(_builder(name)).parameters.values()
    return {p.name: p.default for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}


def build(name: str, input_shape, num_classes: int, seed: int = 0, **model_options):
    """Build catalogue model ``name`` for ``input_shape`` (no batch axis) with ``num_classes`` logits."""
    valid = options(name)
    unknown = sorted(set(model_options) - set(valid))
    if unknown:
        raise TypeError(f"model {name!r} has no option(s) {', '.join(unknown)}; valid options: "
                        f"{', '.join(valid) or '(none)'}.")
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}.")
    return CATALOGUE[name](tuple(input_shape), int(num_classes), seed, **model_options)


def features_layer(model):
    """The layer named ``features`` of ``model``, or its tfmot wrapper in a pruned model."""
    for layer in model.layers:
        if layer.name == FEATURES or getattr(getattr(layer, "layer", None), "name", None) == FEATURES:
            return layer
    raise ValueError(f"model {model.name!r} has no layer named {FEATURES!r}; build it with "
                     f"prunekit.models.build or name its representation layer {FEATURES!r}.")


def feature_model(model):
    """A model sharing ``model``'s weights that maps its inputs to the ``features`` output."""
    import tf_keras as keras

    return keras.Model(model.inputs, graph.output_in(model, features_layer(model)), name=f"{model.name}_features")


def _builder(name):
    if name not in CATALOGUE:
        close = difflib.get_close_matches(str(name), CATALOGUE, n=3)
        hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"unknown model {name!r}.{hint} Valid models: {', '.join(names())}.")
    return CATALOGUE[name]


__all__ = ["build", "names", "options", "features_layer", "feature_model", "CATALOGUE", "FEATURES"]
