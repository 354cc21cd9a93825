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

Exact candidate filtering (training sets of at least ``4 k 16`` points). Per query row of
scores s_1..s_n, columns are split into blocks of 16 and blocks into G >= k groups. Let
``low`` be the k-th largest group maximum. At least k groups, hence k distinct columns, score
``>= low``, so the k-th largest score s_(k) >= low: every one of the k nearest neighbours
scores ``>= low``. Such columns lie only in blocks whose maximum is ``>= low``; those blocks
are packed into ``width`` slots, their columns scoring ``>= low`` are packed again, and one
top-k over ``width`` values picks the neighbours. No true neighbour is dropped; a row whose
blocks or candidates do not fit in ``width`` (exact ties, duplicated points) is redone with a
top-k over its full row. The training points are stored in a fixed random order, so that
neighbours (e.g. of a class-sorted training set) spread over blocks as for random data; then
with G = 4k groups about 1.15 k candidates pass, so ``width = 1.25 k + 8`` (k = 30: 45) fits
nearly every row (none of 9,000 benchmark rows needed the full-row redo).
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

METRICS = ("euclidean", "cosine")
# Scores per chunk of test points: 16 MiB in float32, under glibc's largest mmap threshold
# (32 MiB), so chunk buffers are reused from the heap instead of page-faulted afresh each chunk
# (64 MiB chunks measured 15-35 % slower per layer on 10,000 x 10,000 points, 2 cores).
_CHUNK_ELEMENTS = 1 << 22
_BLOCK = 16        # contiguous training columns per block (one 64-byte cache line in float32)
_GROUPS_PER_K = 4  # G ~ 4 k block groups: the threshold ``low`` passes ~1.15 k columns


def encode_labels(labels):
    """``(classes, codes)``: sorted distinct labels and each label's index among them."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be one-dimensional, got shape {labels.shape}.")
    classes, codes = np.unique(labels, return_inverse=True)
    return classes, codes.astype(np.int32)


def _pack(values, mask, width, fill):
    """Per row, the entries of ``values`` where ``mask`` holds, left-packed into ``width``
    columns (then ``fill``), and how many there were (rows with more are cut at ``width``)."""
    count = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
    packed = tf.RaggedTensor.from_row_lengths(tf.boolean_mask(values, mask), count).to_tensor(
        default_value=fill, shape=[tf.shape(values)[0], width])
    return packed, count


def _filtered_neighbour_codes(scores, codes, k, block, group, width):
    """Label codes of the k best columns per row via the exact ``low`` filter (module doc);
    also whether each row's candidates fitted. The last block is all padding (-inf)."""
    m = tf.shape(scores)[0]
    grid = tf.reshape(scores, [m, -1, block])
    block_max = tf.reduce_max(grid, axis=2)                                       # (m, nb)
    group_max = tf.reduce_max(tf.reshape(block_max, [m, -1, group]), axis=2)      # (m, G)
    low = tf.reduce_min(tf.math.top_k(group_max, k=k, sorted=False)[0], axis=1, keepdims=True)
    nb = tf.shape(block_max)[1]
    blocks, num_blocks = _pack(tf.broadcast_to(tf.range(nb), [m, nb]), block_max >= low,
                               width, nb - 1)                                     # (m, width)
    cand = tf.reshape(tf.gather(tf.reshape(grid, [-1, block]), blocks + tf.range(m)[:, None] * nb),
                      [m, -1])
    cand_codes = tf.reshape(tf.gather(tf.reshape(codes, [-1, block]), blocks), [m, -1])
    keep = cand >= low
    values, num_cand = _pack(cand, keep, width, tf.constant(-np.inf, cand.dtype))
    kept_codes, _ = _pack(cand_codes, keep, width, 0)
    best = tf.math.top_k(values, k=k, sorted=False)[1]
    return tf.gather(kept_codes, best, batch_dims=1), (num_blocks <= width) & (num_cand <= width)


@tf.function(reduce_retracing=True)
def _vote(train_aug_t, codes, queries, k, num_classes, block, group, width):
    # queries = [x, 1], train_aug_t = [2t, -|t|^2]^T (Euclidean) or [t, 0]^T (cosine): one
    # matmul gives the ranking score; padding columns score -inf.
    scores = tf.matmul(queries, train_aug_t)

    def full_rows(rows):
        return tf.gather(codes, tf.math.top_k(rows, k=k, sorted=False)[1])

    if block == 0:
        neighbours = full_rows(scores)
    else:
        neighbours, fitted = _filtered_neighbour_codes(scores, codes, k, block, group, width)

        def redo_unfitted():
            bad = tf.where(~fitted)
            return tf.tensor_scatter_nd_update(neighbours, bad, full_rows(tf.gather_nd(scores, bad)))

        neighbours = tf.cond(tf.reduce_all(fitted), lambda: neighbours, redo_unfitted)
    counts = tf.reduce_sum(tf.one_hot(neighbours, num_classes, dtype=tf.int32), axis=1)
    # argmax returns the first maximum: the smallest class index among the tied classes.
    return tf.argmax(counts, axis=1, output_type=tf.int32)


def _as_matrix(x, what):
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{what} must be shaped (examples, features), got {x.shape}.")
    if not np.isfinite(x).all():
        raise ValueError(f"{what} contains NaN or infinite values.")
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
        order = np.random.default_rng(0).permutation(n)  # spreads neighbours over blocks
        train, codes = train[order], codes[order]
        if not 1 <= k <= n:
            raise ValueError(f"k must be in [1, {n}] (the number of training points), got {k}.")
        self.k, self.metric, self.dtype, self.dim = int(k), metric, dtype, train.shape[1]
        if metric == "cosine":
            train = train / np.maximum(np.linalg.norm(train, axis=1, keepdims=True), 1e-12)
            aug = np.concatenate([train, np.zeros((n, 1))], 1)
        else:
            aug = np.concatenate([2.0 * train, -np.sum(train ** 2, 1, keepdims=True)], 1)
        self.block = _BLOCK if n >= 4 * k * _BLOCK else 0  # small sets: plain top-k
        self.group, self.width, pad = 1, (5 * k) // 4 + 8, 0
        if self.block:  # >= 1 all-padding block at the end, whole groups of blocks
            real_blocks = -(-n // _BLOCK)
            self.group = max(1, real_blocks // (_GROUPS_PER_K * k))
            num_blocks = -(-(real_blocks + 1) // self.group) * self.group
            pad = num_blocks * _BLOCK - n
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
        args = (tf.constant(self.k), tf.constant(len(self.classes)), self.block, self.group,
                self.width)
        preds = [_vote(self._train_t, self._codes, test[i:i + chunk], *args)
                 for i in range(0, int(test.shape[0]), chunk)]
        return self.classes[tf.concat(preds, 0).numpy()] if preds else self.classes[:0]


def knn_predict(train_features, train_labels, test_features, k: int = 30, *,
                metric: str = "euclidean", chunk_size: int | None = None, dtype=tf.float32):
    """Predicted label of each test point: majority vote of its ``k`` nearest training points."""
    return KNNIndex(train_features, train_labels, k, metric=metric, dtype=dtype).predict(
        test_features, chunk_size)
