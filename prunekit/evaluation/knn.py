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
Scores are computed in ``dtype`` (float32 by default, float64 in sklearn): two training
points whose squared distances to a query differ by less than about 1e-6 relative can swap
places at the k-th neighbour; pass ``dtype=tf.float64`` where that matters. Test points are
processed in chunks so memory stays bounded (about 16 MiB of scores per chunk).
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

METRICS = ("euclidean", "cosine")
_CHUNK_ELEMENTS = 1 << 22  # scores per chunk of test points (16 MiB in float32)
_BLOCK = 16        # contiguous training columns per block (one 64-byte cache line in float32)


def encode_labels(labels):
    """``(classes, codes)``: sorted distinct labels and each label's index among them."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be one-dimensional, got shape {labels.shape}.")
    classes, codes = np.unique(labels, return_inverse=True)
    return classes, codes.astype(np.int32)


def _top_k_indices(scores, k: int, block: int):
    """Column indices of the ``k`` largest scores per row (exact, block-pruned).

    Columns are grouped into contiguous blocks of ``block`` columns. Every one of the k largest
    entries of a row lies in one of the k blocks with the largest maxima, so only those
    ``k * block`` candidates go through the final top-k (cheap contiguous gathers instead of a
    top-k over the whole row).
    """
    if block == 0:
        return tf.math.top_k(scores, k=k, sorted=False)[1]
    m = tf.shape(scores)[0]
    grid = tf.reshape(scores, [m, -1, block])
    num_blocks = tf.shape(grid)[1]
    _, best = tf.math.top_k(tf.reduce_max(grid, axis=2), k=k, sorted=False)      # (m, k)
    flat_rows = tf.reshape(grid, [-1, block])
    cand = tf.gather(flat_rows, best + tf.range(m)[:, None] * num_blocks)          # (m, k, block)
    _, ci = tf.math.top_k(tf.reshape(cand, [m, -1]), k=k, sorted=False)
    return tf.gather(best, ci // block, batch_dims=1) * block + ci % block


@tf.function(reduce_retracing=True)
def _vote(train_aug_t, codes, queries, k, num_classes, block):
    # queries = [x, 1], train_aug_t = [2t, -|t|^2]^T (Euclidean) or [t, 0]^T (cosine): one
    # matmul gives the ranking score; padding columns score -inf.
    scores = tf.matmul(queries, train_aug_t)
    idx = _top_k_indices(scores, k, block)
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
        self.block = _BLOCK if n >= 4 * k * _BLOCK else 0  # small sets: plain top-k
        pad = (-n) % self.block if self.block else 0
        aug = np.concatenate([aug, np.zeros((pad, aug.shape[1]))], 0)
        aug[n:, -1] = -np.inf
        self._train_t = tf.constant(aug.T, dtype)
        self._codes = tf.constant(np.concatenate([codes, np.zeros(pad, np.int32)]))

    def predict(self, test_features, chunk_size: int | None = None) -> np.ndarray:
        test = _as_matrix(test_features, "test_features").astype(np.float64)
        if test.shape[1] != self.dim:
            raise ValueError(f"test_features has {test.shape[1]} features but the training "
                             f"features have {self.dim}.")
        if self.metric == "cosine":
            test = test / np.maximum(np.linalg.norm(test, axis=1, keepdims=True), 1e-12)
        test = tf.constant(np.concatenate([test, np.ones((len(test), 1))], 1), self.dtype)
        chunk = chunk_size or max(16, _CHUNK_ELEMENTS // int(self._train_t.shape[1]))
        args = (tf.constant(self.k), tf.constant(len(self.classes)), self.block)
        preds = [_vote(self._train_t, self._codes, test[i:i + chunk], *args)
                 for i in range(0, int(test.shape[0]), chunk)]
        return self.classes[tf.concat(preds, 0).numpy()] if preds else self.classes[:0]


def knn_predict(train_features, train_labels, test_features, k: int = 30, *,
                metric: str = "euclidean", chunk_size: int | None = None, dtype=tf.float32):
    """Predicted label of each test point: majority vote of its ``k`` nearest training points."""
    return KNNIndex(train_features, train_labels, k, metric=metric, dtype=dtype).predict(
        test_features, chunk_size)
