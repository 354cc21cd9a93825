"""Model size: sparsity, non-zero parameters, dense and sparse FLOPs, compressed size.

- Sparsity: fraction of zero entries of each prunable kernel (Dense / Conv kernels, the
  weights tfmot prunes), and overall over all of them. For a tfmot-wrapped model the
  effective kernel ``weight * mask`` is counted.
- Non-zero parameters: non-zero entries over *all* weights of the model (kernels, biases,
  normalisation parameters; tfmot's masks, thresholds and step counters excluded).
- FLOPs per example, counting one multiply and one add per kernel weight use (2 FLOPs per
  multiply-add), biases, normalisation and activations not counted:
  Dense: 2 * in * out (times the number of positions for inputs of rank > 2);
  Conv:  2 * (kernel elements per output channel) * out_channels * output positions;
  DepthwiseConv: 2 * kh * kw * channels * multiplier * output positions.
  Sparse FLOPs scale each layer's count by its kernel density (non-zero / total), i.e. only
  multiply-adds with a non-zero weight are counted.
- Compressed size, as tfmot's pruning guide measures it: strip the pruning wrappers
  (``tfmot.sparsity.keras.strip_pruning``), save as ``.h5`` without optimizer, DEFLATE the file
  (gzip, level 9) and compare bytes.
"""
from __future__ import annotations

import gzip
import os
import tempfile

import numpy as np

from prunekit import prunable
from prunekit.evaluation._inputs import base_layer


def _effective_kernels(model) -> dict:
    masks = prunable.mask_variables(model)
    out = {}
    for name, w in prunable.prunable_weights(model).items():
        value = w.numpy()
        out[name] = value * masks[name].numpy() if name in masks else value
    return out


def sparsity(model) -> dict:
    """``{kernel_name: fraction of zeros}`` and ``'overall'``."""
    out, zeros, total = {}, 0, 0
    for name, k in _effective_kernels(model).items():
        z = int(k.size - np.count_nonzero(k))
        out[name], zeros, total = z / k.size, zeros + z, total + k.size
    out["overall"] = zeros / total if total else 0.0
    return out


def nonzero_parameters(model) -> dict:
    """``nonzero`` and ``total`` parameters of the model (pruning bookkeeping excluded)."""
    kernels = _effective_kernels(model)
    nonzero = total = 0
    skip = ("mask", "threshold", "pruning_step")
    for w in model.weights:
        short = w.name.split("/")[-1].split(":")[0]
        if short in skip:
            continue
        value = kernels.get(w.name, None)
        value = w.numpy() if value is None else value
        nonzero, total = nonzero + int(np.count_nonzero(value)), total + int(value.size)
    return {"nonzero": nonzero, "total": total}


def _layer_flops(layer) -> tuple:
    """(kernel, dense FLOPs) of one layer, or (None, 0) if it has no counted kernel."""
    inner = base_layer(layer)
    kind = type(inner).__name__
    out_shape = layer.output_shape
    if isinstance(out_shape, list):
        out_shape = out_shape[0]
    positions = int(np.prod([d for d in out_shape[1:-1]])) if len(out_shape) > 2 else 1
    if kind == "Dense":
        k = inner.kernel
        return k, 2 * int(k.shape[0]) * int(k.shape[1]) * positions
    if kind in ("Conv1D", "Conv2D", "Conv3D"):
        k = inner.kernel  # (*window, in / groups, out)
        return k, 2 * int(np.prod(k.shape)) * positions
    if kind == "DepthwiseConv2D":
        k = inner.depthwise_kernel  # (kh, kw, channels, multiplier)
        return k, 2 * int(np.prod(k.shape)) * positions
    return None, 0


def flops(model) -> dict:
    """Per-layer and total ``dense`` and ``sparse`` FLOPs per example."""
    kernels = _effective_kernels(model)
    layers, dense_total, sparse_total = {}, 0, 0.0
    for layer in prunable.flat_layers(model):
        kernel, dense = _layer_flops(layer)
        if kernel is None:
            continue
        value = kernels.get(kernel.name)
        value = kernel.numpy() if value is None else value
        sparse = dense * np.count_nonzero(value) / value.size
        layers[layer.name] = {"dense": dense, "sparse": float(sparse)}
        dense_total, sparse_total = dense_total + dense, sparse_total + sparse
    return {"dense": dense_total, "sparse": float(sparse_total), "layers": layers}


def strip(model):
    """The model without tfmot pruning wrappers (unchanged if it has none)."""
    if not prunable.is_wrapped(model):
        return model
    import tensorflow_model_optimization as tfmot

    return tfmot.sparsity.keras.strip_pruning(model)


def gzip_size(model) -> int:
    """Bytes of the gzip-compressed ``.h5`` file of the stripped model."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.h5")
        strip(model).save(path, include_optimizer=False)
        with open(path, "rb") as f:
            return len(gzip.compress(f.read(), compresslevel=9))


def compression(dense_model, pruned_model) -> dict:
    """``dense_bytes``, ``pruned_bytes`` (gzip) and ``ratio`` = dense / pruned."""
    d, p = gzip_size(dense_model), gzip_size(pruned_model)
    return {"dense_bytes": d, "pruned_bytes": p, "ratio": d / p}
