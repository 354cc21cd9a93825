"""Prediction depth streamed in test chunks equals the one-shot result and a brute-force
NumPy k-NN reference."""
from __future__ import annotations

import numpy as np
import pytest

import importlib

pd_mod = importlib.import_module("prunekit.evaluation.prediction_depth")  # the package re-exports a function of that name


def _brute_knn(train, labels, test, k):
    d = ((test[:, None, :] - train[None, :, :]) ** 2).sum(-1)
    nearest = np.argsort(d, axis=1, kind="stable")[:, :k]
    votes = np.stack([np.bincount(labels[row], minlength=labels.max() + 1) for row in nearest])
    return votes.argmax(1)  # smallest label among tied counts


@pytest.mark.parametrize("chunk", [1, 7, 64])
def test_chunked_prediction_depth_equals_unchunked_and_brute_force(chunk):
    rng = np.random.default_rng(3)
    dims = (4, 9, 3)
    train = [rng.normal(size=(80, d)) for d in dims]
    test = [rng.normal(size=(23, d)) for d in dims]
    labels, truth = rng.integers(0, 4, 80), rng.integers(0, 4, 23)
    reference = rng.integers(0, 4, 23)
    whole = pd_mod.prediction_depth(train, labels, test, reference, k=5, true_labels=truth)
    chunked = pd_mod.prediction_depth(train, labels, test, reference, k=5, true_labels=truth, chunk_size=chunk)
    np.testing.assert_array_equal(chunked.knn_predictions, whole.knn_predictions)
    np.testing.assert_array_equal(chunked.baldock, whole.baldock)
    np.testing.assert_array_equal(chunked.pd_score, whole.pd_score)
    preds = np.stack([_brute_knn(a, labels, b, 5) for a, b in zip(train, test)])
    np.testing.assert_array_equal(whole.knn_predictions, preds)
    # depth by hand: 1 + last layer whose probe disagrees with the reference, 0 if none
    wrong = preds != reference
    expect = [max(l + 1 for l in range(3) if wrong[l, i]) if wrong[:, i].any() else 0 for i in range(23)]
    np.testing.assert_array_equal(whole.baldock, expect)
