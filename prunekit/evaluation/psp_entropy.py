"""PSP-entropy of a layer (Tartaglione et al., "Post-synaptic potential regularization ..."
and "Pruning artificial neural networks: a way to find well-generalizing, high-entropy sharp
minima", 2020), as METHODS.md defines it.

For every unit i of a layer (each channel *and* spatial position for convolutions) with
pre-activation z_i:

    p_ik = P(z_i > 0 | y = k), clamped to [1e-4, 0.9999]
    H_ik = -p_ik log2 p_ik - (1 - p_ik) log2 (1 - p_ik)        (bits)
    H_i  = sum_k H_ik ;   layer PSP-entropy = mean_i H_i

Classes with no example in the data are left out of the sum (reported in ``classes_used``).
"""
from __future__ import annotations

import numpy as np

from prunekit import graph

CLAMP = (1e-4, 0.9999)


class PSPCounter:
    """Streaming counts of positive pre-activations per class, for batch-by-batch use."""

    def __init__(self, num_classes: int):
        self.num_classes = int(num_classes)
        self.positive = None
        self.examples = np.zeros(self.num_classes, np.int64)

    def update(self, preactivations, labels) -> None:
        z = np.asarray(preactivations)
        y = np.asarray(labels).astype(np.int64).reshape(-1)
        if len(z) != len(y):
            raise ValueError(f"{len(z)} pre-activations but {len(y)} labels.")
        if y.size and (y.min() < 0 or y.max() >= self.num_classes):
            raise ValueError(f"labels must be in [0, {self.num_classes}), got [{y.min()}, {y.max()}].")
        onehot = np.eye(self.num_classes, dtype=np.float64)[y]            # (n, K)
        pos = onehot.T @ (z.reshape(len(z), -1) > 0).astype(np.float64)  # (K, units)
        if self.positive is None:
            self.positive, self.unit_shape = pos, z.shape[1:]
        elif z.shape[1:] != self.unit_shape:
            raise ValueError(f"pre-activations shaped {z.shape[1:]}, earlier {self.unit_shape}.")
        else:
            self.positive += pos
        self.examples += np.bincount(y, minlength=self.num_classes)

    def result(self) -> dict:
        if self.positive is None:
            raise ValueError("no pre-activations were given.")
        used = self.examples > 0
        p = np.clip(self.positive[used] / self.examples[used, None], *CLAMP)
        h = -(p * np.log2(p) + (1 - p) * np.log2(1 - p)).sum(0)
        return {"per_unit": h.reshape(self.unit_shape), "mean": float(h.mean()),
                "classes_used": np.flatnonzero(used)}


def psp_entropy(preactivations, labels, num_classes: int) -> dict:
    """PSP-entropy of pre-activations (examples, *unit_shape) -> ``per_unit`` (unit_shape),
    ``mean`` (the layer value, bits) and ``classes_used``."""
    counter = PSPCounter(num_classes)
    counter.update(preactivations, labels)
    return counter.result()


def preactivation_layers(model) -> list:
    """Layers whose pre-activation is read by default: each layer with a non-linear
    ``activation`` (its input to the activation) and each stand-alone activation layer
    (its input); the output layer excluded."""
    from prunekit.evaluation._inputs import base_layer

    names = []
    for layer in model.layers[:-1]:
        inner = base_layer(layer)
        kind = type(inner).__name__
        act = getattr(inner, "activation", None)
        if kind in ("ReLU", "LeakyReLU", "ELU", "PReLU") or (
                act is not None and getattr(act, "__name__", "") not in ("linear", "softmax")):
            names.append(layer.name)
    return names


def layer_preactivations(model, layer_name: str, x, batch_size: int = 256):
    """Pre-activations of ``layer_name`` on ``x``: for an activation layer its input, for a
    layer with a built-in activation its output with the activation removed."""
    return np.concatenate(list(_preactivation_batches(model, layer_name, x, batch_size)))


def _preactivation_batches(model, layer_name, x, batch_size=256):
    import tf_keras as keras

    from prunekit.evaluation._inputs import base_layer

    layer = model.get_layer(layer_name)
    inner = base_layer(layer)
    has_act = type(inner).__name__ not in ("Activation", "ReLU", "LeakyReLU", "ELU", "PReLU") \
        and getattr(inner, "activation", None) is not None
    if not has_act:
        extractor = keras.Model(model.inputs, graph.input_in(model, layer))
        for i in range(0, len(x), batch_size):
            yield np.asarray(extractor(x[i:i + batch_size], training=False))
        return
    saved = inner.activation
    inner.activation = keras.activations.linear
    try:
        extractor = keras.Model(model.inputs, graph.output_in(model, layer))
        for i in range(0, len(x), batch_size):
            yield np.asarray(extractor(x[i:i + batch_size], training=False))
    finally:
        inner.activation = saved


def model_psp_entropy(model, x, y, num_classes: int, layers=None, batch_size: int = 256) -> dict:
    """``{layer: psp_entropy result}`` for ``layers`` (default :func:`preactivation_layers`),
    streamed batch by batch."""
    out = {}
    y = np.asarray(y)
    for name in (layers if layers is not None else preactivation_layers(model)):
        counter = PSPCounter(num_classes)
        for i, z in enumerate(_preactivation_batches(model, name, x, batch_size)):
            counter.update(z, y[i * batch_size:i * batch_size + len(z)])
        out[name] = counter.result()
    return out
