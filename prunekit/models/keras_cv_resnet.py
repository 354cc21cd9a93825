"""``resnetv2``: keras-cv's ``ResNetV2Backbone`` (He et al. 2016, pre-activation) + a head.

Built from explicit constructor arguments, never a preset (presets download weights). The
defaults are ResNet-18-v2's (filters 64/128/256/512, 2 basic blocks each, strides 1/2/2/2).
The backbone's layers are re-initialised from ``seed`` (keras-cv takes no initialiser
seeds), then global average pooling (layer ``features``) and a Dense logits layer are added
and the whole is returned as one flat Functional model, so tfmot can wrap every layer.
``include_rescaling`` is off: prunekit's data is already float in [0, 1]. The 7x7/2 stem
(64 filters) and 3x3/2 pool shrink the input 4x; any input from 1x1 up runs. keras-cv's
constraints: at least 2 blocks per stack, and basic blocks need 64 filters in stack one; each
stack's stride is applied in its last block.
"""
from __future__ import annotations

import tf_keras as keras

from prunekit.models._common import FEATURES, Seeds, check_input_shape, logits_head


def resnetv2(input_shape, num_classes, seed=0, *, filters=(64, 128, 256, 512),
             blocks=(2, 2, 2, 2), strides=(1, 2, 2, 2), block_type="basic_block"):
    """A keras-cv ResNetV2 backbone with ``filters``/``blocks``/``strides`` per stack."""
    from keras_cv.models import ResNetV2Backbone

    shape = check_input_shape("resnetv2", input_shape, rank=3)
    filters, blocks, strides = (tuple(int(v) for v in t) for t in (filters, blocks, strides))
    if not len(filters) == len(blocks) == len(strides) or not filters:
        raise ValueError(f"resnetv2: filters, blocks and strides need one entry per stack, got "
                         f"{len(filters)}, {len(blocks)} and {len(strides)} entries.")
    if block_type not in ("basic_block", "block"):
        raise ValueError(f"resnetv2: block_type must be 'basic_block' or 'block' (bottleneck), "
                         f"got {block_type!r}.")
    if min(blocks) < 2:  # keras-cv names a 1-block stack's two blocks alike
        raise ValueError(f"resnetv2: every stack needs at least 2 blocks, got blocks={blocks}.")
    if block_type == "basic_block" and filters[0] != 64:
        raise ValueError(f"resnetv2: with basic blocks the first stack must have 64 filters (the "
                         f"keras-cv stem's width, identity shortcut), got filters={filters}.")
    backbone = ResNetV2Backbone(stackwise_filters=list(filters), stackwise_blocks=list(blocks),
                                stackwise_strides=list(strides), include_rescaling=False,
                                input_shape=shape, block_type=block_type)
    seeds = Seeds(seed)
    _reinitialise(backbone, seeds)
    x = keras.layers.GlobalAveragePooling2D(name=FEATURES)(backbone.output)
    return keras.Model(backbone.input, logits_head(x, num_classes, seeds), name="resnetv2")


def _reinitialise(model, seeds: Seeds) -> None:
    """Give every kernel a fresh value from its own initialiser class, seeded from ``seeds``."""
    for layer in model.layers:
        for attr in ("kernel", "depthwise_kernel"):
            var = getattr(layer, attr, None)
            init = getattr(layer, f"{attr}_initializer", None)
            if var is None or init is None:
                continue
            config = dict(init.get_config())
            if "seed" not in config:  # constant initialisers are deterministic already
                continue
            config["seed"] = seeds.next_seed()
            var.assign(type(init).from_config(config)(var.shape, var.dtype))
