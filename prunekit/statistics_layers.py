"""Per-layer machinery of :mod:`prunekit.statistics`: which layers own the prunable kernels,
recording each one's input and pre-activation in the forward pass, the input as patches
``a`` (n, P, K) with ``z = a @ kernel.reshape(K, F)``, and the per-example Fisher product

    F = sum_x sum_k s_k(x) (a_x^T d_{x,k})^2        (Dense, P = 1: (a^2)^T sum_k s_k d_k^2)

for pass outputs ``d`` (n, P, K, F) (Kunstner et al. 2019; BackPACK, Dangel et al. 2020).
"""
from __future__ import annotations

import contextlib

import tensorflow as tf
import tf_keras as keras
from tensorflow_model_optimization.python.core.sparsity.keras import pruning_wrapper

from prunekit import prunable

# Largest per-example gradient block (elements) a convolution holds at once: 1M = 4 MB
# (larger blocks measured slower on CPU; the number of blocks is a graph loop, not unrolled).
_BLOCK_ELEMENTS = 1 << 20
_SUPPORTED = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D)
_UNSUPPORTED = (keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose)


def prunable_layers(model) -> dict:
    """``{weight_name: layer}`` with the inner (unwrapped) layer owning each prunable kernel."""
    weights = prunable.prunable_weights(model)
    out = {}
    for layer in prunable.flat_layers(model):
        inner = layer.layer if isinstance(layer, pruning_wrapper.PruneLowMagnitude) else layer
        names = [w.name for w in inner.weights if w.name in weights]
        if not names:
            continue
        if not isinstance(inner, _SUPPORTED) or isinstance(inner, _UNSUPPORTED):
            raise NotImplementedError(f"statistics support Dense, Conv1D and Conv2D layers, not "
                                      f"{type(inner).__name__} (layer {inner.name!r}).")
        if getattr(inner, "groups", 1) != 1 or getattr(inner, "data_format", "channels_last") != "channels_last":
            raise NotImplementedError(f"statistics support channels_last, groups=1 convolutions only "
                                      f"(layer {inner.name!r}).")
        for name in names:
            if inner.kernel.name != name:
                raise NotImplementedError(f"statistics cover layer kernels only, not {name}.")
            out[name] = inner
    missing = sorted(set(weights) - set(out))
    if missing:
        raise NotImplementedError(f"statistics found no supported layer owning {missing}.")
    return out


@contextlib.contextmanager
def recording(layers, tape_cell, records):
    """Temporarily make each layer record its input and (watched) pre-activation output."""
    saved = []
    try:
        for layer in {id(l): l for l in layers.values()}.values():
            call, activation = layer.call, layer.activation
            saved.append((layer, "call" in layer.__dict__, call, activation))

            def recording_call(inputs, *args, _layer=layer, _call=call, **kwargs):
                records.setdefault(id(_layer), []).append([inputs, None])
                return _call(inputs, *args, **kwargs)

            def recording_activation(z, _layer=layer, _activation=activation):
                tape_cell[0].watch(z)
                records[id(_layer)][-1][1] = z
                return _activation(z) if _activation is not None else z

            layer.call = tf.autograph.experimental.do_not_convert(recording_call)
            layer.activation = recording_activation
        yield
    finally:
        for layer, had_call, call, activation in saved:
            if had_call:
                layer.call = call
            else:
                del layer.call
            layer.activation = activation


def flat(delta, n):
    """(n, ..., F) -> (n, P, F)."""
    return tf.reshape(tf.cast(delta, tf.float32), [n, -1, delta.shape[-1]])


def patches(layer, inputs):
    """The layer input as (n, P, K) so that z[n, p, :] = a[n, p, :] @ kernel.reshape(K, F)."""
    a = tf.cast(inputs, tf.float32)
    n = a.shape[0]
    if isinstance(layer, keras.layers.Dense):
        return tf.reshape(a, [n, -1, a.shape[-1]])
    if isinstance(layer, keras.layers.Conv1D):  # as a 1 x L image
        kernel, stride, rate = layer.kernel_size[0], layer.strides[0], layer.dilation_rate[0]
        padding = layer.padding
        if padding == "causal":
            a = tf.pad(a, [[0, 0], [rate * (kernel - 1), 0], [0, 0]])
            padding = "valid"
        return _im2col(a[:, None], (1, kernel), (1, stride), (1, rate), padding)
    return _im2col(a, layer.kernel_size, layer.strides, layer.dilation_rate, layer.padding)


def _im2col(a, sizes, strides, rates, padding):
    """(n, H, W, C) -> (n, P, kh * kw * C), the patch order of ``tf.image.extract_patches``
    (and of ``kernel.reshape(K, F)``): one strided slice per kernel tap, concatenated
    (about 1.4x faster on CPU than ``extract_patches``, which gives the same values)."""
    (kh, kw), (sh, sw), (rh, rw) = sizes, strides, rates
    height, width = a.shape[1], a.shape[2]
    if padding == "same":
        oh, ow = -(-height // sh), -(-width // sw)
        ph = max((oh - 1) * sh + (kh - 1) * rh + 1 - height, 0)
        pw = max((ow - 1) * sw + (kw - 1) * rw + 1 - width, 0)
        a = tf.pad(a, [[0, 0], [ph // 2, ph - ph // 2], [pw // 2, pw - pw // 2], [0, 0]])
    else:
        oh, ow = (height - (kh - 1) * rh - 1) // sh + 1, (width - (kw - 1) * rw - 1) // sw + 1
    taps = [a[:, i * rh:i * rh + (oh - 1) * sh + 1:sh, j * rw:j * rw + (ow - 1) * sw + 1:sw, :]
            for i in range(kh) for j in range(kw)]
    return tf.reshape(taps[0] if len(taps) == 1 else tf.concat(taps, -1), [a.shape[0], oh * ow, -1])


def _block_size(n, limit):
    """The largest divisor of n up to ``limit`` (no padded copy of a and d), unless that is
    under limit / 4 (then ``limit``, and the last block is padded)."""
    divisor = max(b for b in range(1, limit + 1) if n % b == 0)
    return divisor if 4 * divisor >= limit else limit


def fisher_sum(a, d, scale=None):
    """sum_x sum_c s_{x,c} (a_x^T d_{x,:,c})^2 for a (n, P, K), d (n, P, C, F) -> (K, F).

    ``scale`` (n, C): the weight s of each example and class (default 1, for d already
    scaled by sqrt(p_c)); applied to the squared per-example products, not to d.
    """
    n, positions, k = a.shape
    num_classes, filters = d.shape[2], d.shape[3]
    if positions == 1:  # Dense: (a^2)^T sum_c s_c d_c^2
        d2 = tf.square(d[:, 0])  # (n, C, F)
        d2 = tf.reduce_sum(d2 if scale is None else d2 * scale[:, :, None], 1)
        return tf.matmul(tf.square(a[:, 0]), d2, transpose_a=True)
    d = tf.reshape(d, [n, positions, num_classes * filters])
    parts = [a, d] if scale is None else [a, d, tf.repeat(scale, filters, axis=1)]  # class-major
    block = _block_size(n, max(1, min(n, _BLOCK_ELEMENTS // (k * num_classes * filters))))
    blocks = -(-n // block)
    if blocks * block != n:  # zero rows add nothing
        parts = [tf.pad(t, [[0, blocks * block - n]] + [[0, 0]] * (t.shape.rank - 1)) for t in parts]
    parts[0] = tf.reshape(parts[0], [blocks, block, positions, k])
    parts[1] = tf.reshape(parts[1], [blocks, block, positions, num_classes * filters])
    if scale is not None:
        parts[2] = tf.reshape(parts[2], [blocks, block, 1, num_classes * filters])

    def add_block(total, ads):
        squared = tf.square(tf.matmul(ads[0], ads[1], transpose_a=True))  # (block, K, C*F)
        return total + tf.reduce_sum(squared if len(ads) == 2 else squared * ads[2], 0)

    total = tf.foldl(add_block, tuple(parts), initializer=tf.zeros([k, num_classes * filters]))
    return tf.reduce_sum(tf.reshape(total, [k, num_classes, filters]), 1)
