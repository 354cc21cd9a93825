"""Vectorised k-nearest-neighbour classification in TensorFlow (batched matmul + top-k).

Used by prediction depth (Baldock et al. 2021) and by the k-NN representation probe. It
reproduces scikit-learn's ``KNeighborsClassifier(n_neighbors=k)`` with uniform weights:

- Euclidean: neighbours minimise ``||x - t||^2``, ranked through the equivalent score
  ``2 x.t - ||t||^2`` (the per-query ``||x||^2`` does not change the ranking).
- Cosine: neighbours maximise ``x.t / (||x|| ||t||)``.
- Vote: the class with most neighbours; among tied classes the smallest label (as sklearn,
  whose uniform-weight vote is a mode that returns the smallest of the tied classes).
- Distance ties: the order among exactly equidistant training points is unspecified (as in
  sklearn), so the two can differ only when the k-th and (k+1)-th neighbours of a point are
  exactly equidistant; with continuous representations this does not happen in practice.
Distances are computed in ``dtype`` (float32 by default; pass float64 for sklearn-grade
precision on near-ties). Test points are processed in chunks so memory stays bounded.
"""
from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

METRICS = ("euclidean", "cosine")
_CHUNK_ELEMENTS = 1 << 21  # score-matrix entries per chunk of test points (8 MiB in float32)


def encode_labels(labels):
    """``(classes, codes)``: sorted distinct labels and each label's index among them."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be one-dimensional, got shape {labels.shape}.")
    classes, codes = np.unique(labels, return_inverse=True)
    return classes, codes.astype(np.int32)


def _top_k_indices(scores, k: int, blocks: int):
    """Column indices of the ``k`` largest scores per row (exact, block-pruned).

    Columns are grouped into ``blocks`` strided blocks (column ``b * blocks + j`` is in block
    ``j``). Every one of the k largest entries lies in one of the k blocks with the largest
    maxima, so only those ``k * (n / blocks)`` candidates go through the final top-k.
    """
    if blocks == 0:
        return tf.math.top_k(scores, k=k, sorted=False)[1]
    m = tf.shape(scores)[0]
    grid = tf.reshape(scores, [m, -1, blocks])
    _, best = tf.math.top_k(tf.reduce_max(grid, axis=1), k=k, sorted=False)
    cand = tf.reshape(tf.gather(grid, best, axis=2, batch_dims=1), [m, -1])
    _, ci = tf.math.top_k(cand, k=k, sorted=False)
    return (ci // k) * blocks + tf.gather(best, ci % k, batch_dims=1)


@tf.function(reduce_retracing=True)
def _vote(train_aug, codes, queries, k, num_classes, blocks):
    # queries = [x, 1], train_aug = [2t, -|t|^2] (Euclidean) or [t, 0] (cosine): one matmul
    # gives the ranking score; padding rows score -inf.
    scores = tf.matmul(queries, train_aug, transpose_b=True)
    idx = _top_k_indices(scores, k, blocks)
    counts = tf.reduce_sum(tf.one_hot(tf.gather(codes, idx), num_classes, dtype=tf.int32), axis=1)
    # argmax returns the first maximum: the smallest class index among the tied classes.
    return tf.argmax(counts, axis=1, output_type=tf.int32)


def _as_matrix(x, what):
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{what} must be shaped (examples, features), got {x.shape}.")
    return x


class KNNIndex:
    """Training points prepared once; :meth:`predict` classifies any number of queries."""

    def __init__(self, train_features, train_labels, k: int = 30, *, metric: str = "euclidean",
                 dtype=tf.float32):
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {metric!r}.")
        train = _as_matrix(train_features, "train_features").astype(np.float64)
        self.classes, codes = encode_labels(train_labels)
        n = train.shape[0]
        if n != len(codes):
            raise ValueError(f"train_features has {n} rows but train_labels has {len(codes)}.")
        if not 1 <= k <= n:
            raise ValueError(f"k must be in [1, {n}] (the number of training points), got {k}.")
        self.k, self.metric, self.dtype, self.dim = int(k), metric, dtype, train.shape[1]
        if metric == "cosine":
            train = train / np.maximum(np.linalg.norm(train, axis=1, keepdims=True), 1e-12)
            aug = np.concatenate([train, np.zeros((n, 1))], 1)
        else:
            aug = np.concatenate([2.0 * train, -np.sum(train ** 2, 1, keepdims=True)], 1)
        blocks = int(math.ceil(math.sqrt(n * k)))
        self.blocks = blocks if n > 2 * blocks and blocks >= k else 0
        pad = (-n) % self.blocks if self.blocks else 0
        aug = np.concatenate([aug, np.zeros((pad, aug.shape[1]))], 0)
        aug[n:, -1] = -np.inf
        self._train = tf.constant(aug, dtype)
        self._codes = tf.constant(np.concatenate([codes, np.zeros(pad, np.int32)]))
        self._chunk = max(1, _CHUNK_ELEMENTS // aug.shape[0])

    def predict(self, test_features, chunk_size: int | None = None) -> np.ndarray:
        test = _as_matrix(test_features, "test_features").astype(np.float64)
        if test.shape[1] != self.dim:
            raise ValueError(f"test_features has {test.shape[1]} features but the training "
                             f"features have {self.dim}.")
        if self.metric == "cosine":
            test = test / np.maximum(np.linalg.norm(test, axis=1, keepdims=True), 1e-12)
        test = tf.constant(np.concatenate([test, np.ones((len(test), 1))], 1), self.dtype)
        chunk = chunk_size or self._chunk
        args = (tf.constant(self.k), tf.constant(len(self.classes)), self.blocks)
        preds = [_vote(self._train, self._codes, test[i:i + chunk], *args)
                 for i in range(0, int(test.shape[0]), chunk)]
        return self.classes[tf.concat(preds, 0).numpy()] if preds else self.classes[:0]


def knn_predict(train_features, train_labels, test_features, k: int = 30, *,
                metric: str = "euclidean", chunk_size: int | None = None, dtype=tf.float32):
    """Predicted label of each test point: majority vote of its ``k`` nearest training points."""
    return KNNIndex(train_features, train_labels, k, metric=metric, dtype=dtype).predict(
        test_features, chunk_size)
