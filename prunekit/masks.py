"""Scores to masks: keep the top-k scores, per layer or over all layers at once.

Pure functions on dicts ``{weight_name: tensor}``; no Keras, no state.
The number kept matches tfmot's magnitude pruning: k = max(1, round(n * (1 - sparsity))).
Ties are broken by position (lower flat index kept first), so masks are deterministic.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

SCOPES = ("layer", "global")


def keep_count(size: int, sparsity: float) -> int:
    """Weights kept out of ``size`` at ``sparsity``, as tfmot's ``pruning_impl`` counts them."""
    return max(1, int(round(size * (1.0 - sparsity))))


def _size(t) -> int:
    """Number of elements, from the static shape when known (no eager op per call)."""
    n = t.shape.num_elements()
    return int(tf.size(t)) if n is None else n


def _topk_mask(flat_scores: tf.Tensor, k: int) -> tf.Tensor:
    _, idx = tf.math.top_k(flat_scores, k=k, sorted=False)
    return tf.scatter_nd(tf.expand_dims(idx, 1), tf.ones([k], tf.float32), [_size(flat_scores)])


def topk_masks(scores: dict, sparsity: float, scope: str = "layer") -> dict:
    """Binary float32 masks keeping the highest scores; ``scope`` is 'layer' or 'global'."""
    check_sparsity(sparsity)
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}.")
    scores = {n: tf.convert_to_tensor(s, tf.float32) for n, s in scores.items()}
    if scope == "layer":
        return {n: tf.reshape(_topk_mask(tf.reshape(s, [-1]), keep_count(_size(s), sparsity)),
                              s.shape) for n, s in scores.items()}
    names = list(scores)
    flat = tf.concat([tf.reshape(scores[n], [-1]) for n in names], 0)
    mask = _topk_mask(flat, keep_count(_size(flat), sparsity))
    sizes = [_size(scores[n]) for n in names]
    return {n: tf.reshape(m, scores[n].shape) for n, m in zip(names, tf.split(mask, sizes))}


def check_sparsity(sparsity: float, field: str = "sparsity") -> None:
    if not 0.0 <= float(sparsity) < 1.0:
        raise ValueError(f"{field} must be in [0, 1), got {sparsity}.")


def sparsity_of(masks: dict) -> dict:
    """Fraction of zeros per mask and overall (key ``'overall'``)."""
    out, zeros, total = {}, 0, 0
    for name, m in masks.items():
        m = np.asarray(m)  # one copy out of TF, then counted in numpy (no eager ops)
        n = m.size
        z = n - int(np.count_nonzero(m))
        out[name], zeros, total = z / n, zeros + z, total + n
    out["overall"] = zeros / max(total, 1)
    return out
