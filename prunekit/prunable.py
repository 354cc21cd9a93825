"""Which weights prunekit prunes, found the same way for plain and tfmot-wrapped models.

Weights are keyed by variable name (``'dense/kernel:0'``); tfmot wrapping keeps those names,
so statistics, scores and masks computed on either form line up.
"""
from __future__ import annotations

import tf_keras as keras
from tensorflow_model_optimization.python.core.sparsity.keras import pruning_wrapper

# Weights tfmot's PruneRegistry prunes for the layer types prunekit's models use.
_PRUNABLE = {
    keras.layers.Dense: ("kernel",),
    keras.layers.Conv1D: ("kernel",),
    keras.layers.Conv2D: ("kernel",),
    keras.layers.Conv3D: ("kernel",),
    keras.layers.Conv2DTranspose: ("kernel",),
    keras.layers.DepthwiseConv2D: ("depthwise_kernel",),
}


def flat_layers(model) -> list:
    """All layers, nested models expanded, in model order."""
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.Model) and not isinstance(layer, pruning_wrapper.PruneLowMagnitude):
            out.extend(flat_layers(layer))
        else:
            out.append(layer)
    return out


def wrappers(model) -> list:
    """tfmot ``PruneLowMagnitude`` wrappers of ``model``, in model order."""
    return [l for l in flat_layers(model) if isinstance(l, pruning_wrapper.PruneLowMagnitude)]


def is_wrapped(model) -> bool:
    return bool(wrappers(model))


def is_prunable(layer) -> bool:
    """True for the layer types whose weights prunekit prunes."""
    return isinstance(layer, tuple(_PRUNABLE))


def prunable_weights(model) -> dict:
    """``{name: variable}`` of the weights that are (or would be) pruned."""
    found = wrappers(model)
    if found:
        return {w.name: w for wrapper in found for (w, _mask, _thr) in wrapper.pruning_vars}
    out = {}
    for layer in flat_layers(model):
        for cls, attrs in _PRUNABLE.items():
            if type(layer) is cls or isinstance(layer, cls):
                for attr in attrs:
                    w = getattr(layer, attr, None)
                    if w is not None:
                        out[w.name] = w
                break
    return out


def mask_variables(model) -> dict:
    """``{weight_name: mask_variable}`` of a wrapped model."""
    return {w.name: m for wrapper in wrappers(model) for (w, m, _thr) in wrapper.pruning_vars}
