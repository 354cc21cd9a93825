"""prunekit.masks.topk_masks: exactly k kept, ties to the lower index (a stable sort's order)."""
import numpy as np
import prunekit  # noqa: F401  (tf_keras before TensorFlow)
import pytest
import tensorflow as tf

from prunekit import masks


def test_topk_keeps_exactly_k_with_ties_to_the_lower_index_like_a_stable_sort():
    rng = np.random.default_rng(3)
    for size, ties in ((1000, False), (997, True), (5, True)):
        scores = (rng.integers(0, 4, size) if ties else rng.normal(size=size)).astype(np.float32)
        for sparsity in (0.0, 0.05, 0.5, 0.8, 0.999):
            k = masks.keep_count(size, sparsity)
            want = np.zeros(size, np.float32)
            want[np.argsort(-scores, kind="stable")[:k]] = 1  # brute force: stable sort, first k
            for scope in ("layer", "global"):
                got = masks.topk_masks({"w": scores.reshape(-1, 1)}, sparsity, scope)["w"].numpy()
                np.testing.assert_array_equal(got[:, 0], want)
            if not ties:  # and TensorFlow's own top_k keeps the same set
                _, idx = tf.math.top_k(scores, k=k)
                np.testing.assert_array_equal(np.flatnonzero(want), np.sort(idx.numpy()))


def test_topk_refuses_nan_scores():
    with pytest.raises(ValueError, match="scores contain NaN"):
        masks.topk_masks({"w": np.array([1.0, np.nan, 2.0], np.float32)}, 0.5)
