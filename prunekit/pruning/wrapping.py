"""``wrap`` and ``strip``: a user's tf_keras model to tfmot pruning wrappers and back.

``wrap`` gives the wrappers a schedule that never fires, so prunekit owns the masks
(:class:`prunekit.PruningCallback` assigns them). Both work on copies: the model passed in
is never changed, and ``strip`` returns a model with layers of its own.
"""
from __future__ import annotations

import warnings

import numpy as np
import tensorflow as tf
import tf_keras as keras
from tensorflow_model_optimization.python.core.sparsity.keras import (
    prune, prune_registry, pruning_policy, pruning_schedule)

from prunekit import _backend, prunable
from prunekit.pruning.masked_step import weight_mask_pairs


@keras.utils.register_keras_serializable(package="prunekit")
class NeverPrune(pruning_schedule.PruningSchedule):
    """A tfmot schedule that never fires: tfmot applies masks, prunekit chooses them.

    Registered with Keras, so a saved wrapped model loads under tfmot's ``prune_scope()``.
    """

    def __call__(self, step):
        return tf.constant(False), tf.constant(0.0, tf.float32)

    def get_config(self):
        return {"class_name": keras.utils.get_registered_name(type(self)), "config": {}}


class _PrunableOnly(pruning_policy.PruningPolicy):
    """Wrap only the layers whose weights prunekit prunes (Dense, Conv*, DepthwiseConv2D),
    less the layers named in ``exclude``."""

    def __init__(self, exclude=()):
        self.exclude = frozenset(exclude)

    def allow_pruning(self, layer):
        return (prunable.is_prunable(layer) and layer.name not in self.exclude
                and prune_registry.PruneRegistry.supports(layer))

    def ensure_model_supports_pruning(self, model):
        return None


def _check_not_subclassed(model):
    if not (isinstance(model, keras.Sequential) or getattr(model, "_is_graph_network", False)):
        raise TypeError(
            f"cannot wrap {type(model).__name__}: tfmot wraps only Functional or Sequential "
            "models; build the model as a Functional/Sequential model, or wrap its layers "
            "individually with tfmot's prune_low_magnitude(layer, pruning_schedule=prunekit.keras."
            "NeverPrune()) inside the subclass.")
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            _check_not_subclassed(layer)


def copy_model(model):
    """An independent copy of a Functional/Sequential model: new layers, copied weights."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def dense_layers(model, exclude=()) -> list[str]:
    """Names of layers with a weight matrix (rank >= 2) that ``wrap`` leaves dense,
    less those named in ``exclude``."""
    policy = _PrunableOnly(exclude)
    return [layer.name for layer in prunable.flat_layers(model)
            if layer.name not in policy.exclude and not policy.allow_pruning(layer)
            and any(len(w.shape) >= 2 for w in layer.weights)]


def wrap(model, exclude=()):
    """A copy of ``model`` whose prunable layers are tfmot ``PruneLowMagnitude`` wrappers.

    The copy has its own layers and weights (``model`` itself is left untouched: keep it as
    the dense baseline); its wrappers never prune by themselves. ``exclude``: names of layers
    left dense, e.g. a loss plugin's heads (``wrap(model, exclude=plugin.head_layer_names(
    model))`` prunes the encoder only). Other layers with weight matrices that prunekit
    cannot prune (LSTM, Embedding, ...) are named in one warning: the sparsity reported
    over the pruned layers does not cover them (events also give ``overall_all_weights``).
    """
    exclude = [exclude] if isinstance(exclude, str) else list(exclude)
    _backend.require_tf_keras_model(model)
    unknown = sorted(set(exclude) - {layer.name for layer in prunable.flat_layers(model)})
    if unknown:
        raise ValueError(f"exclude names layers the model does not have: {unknown}.")
    if prunable.is_wrapped(model):
        raise ValueError("the model is already wrapped (it has PruneLowMagnitude layers).")
    _check_not_subclassed(model)
    wrapped = prune.prune_low_magnitude(copy_model(model), pruning_schedule=NeverPrune(),
                                        pruning_policy=_PrunableOnly(exclude))
    if not prunable.is_wrapped(wrapped):
        raise ValueError("the model has no prunable layers (Dense, Conv1D/2D/3D, Conv2DTranspose, "
                         "DepthwiseConv2D).")
    left = dense_layers(model, exclude)
    if left:
        warnings.warn(f"prunekit.wrap leaves these layers with weights dense (prunekit prunes "
                      f"Dense and Conv kernels only): {', '.join(left)}; pass exclude=[...] to "
                      "silence this for layers you mean to keep dense.", stacklevel=2)
    for wrapper in prunable.wrappers(wrapped):
        if wrapper.built:  # tfmot asserts pruning_step >= 1 after its per-call increment
            wrapper.pruning_step.assign(0)
    return wrapped


def strip(model):
    """A plain tf_keras model with the masks baked into the weights (tfmot ``strip_pruning``).

    The result has layers and weights of its own: the wrapped model is left as it was, and
    ``keras.Model(final.inputs, final.get_layer(name).output)`` works as on any model.
    """
    _backend.require_tf_keras_model(model)
    if not prunable.is_wrapped(model):
        raise ValueError("the model is not wrapped: strip takes the model returned by prunekit.wrap.")
    masks = {id(w): m.numpy() for w, m in weight_mask_pairs(model)}
    shared = prune.strip_pruning(model)  # shares the wrapped model's layers
    values = [v.numpy() * masks[id(v)] if id(v) in masks else v.numpy() for v in shared.weights]
    final = keras.models.clone_model(shared)
    final.set_weights([np.asarray(v, dtype=w.dtype.as_numpy_dtype) for v, w in zip(values, final.weights)])
    return final


__all__ = ["wrap", "strip", "NeverPrune", "copy_model", "dense_layers"]
