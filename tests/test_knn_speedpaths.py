"""The exact candidate filter of the TF k-NN (prunekit.evaluation.knn) against references:
scikit-learn's KNeighborsClassifier and a NumPy full sort of the scores."""
import numpy as np
import pytest
import tensorflow as tf
from sklearn.neighbors import KNeighborsClassifier

import prunekit.evaluation as ev
from prunekit.evaluation import knn


@pytest.mark.parametrize("n_train,k", [(3001, 30), (2000, 7), (1000, 1)])
def test_filtered_path_matches_sklearn(n_train, k):
    rng = np.random.default_rng(11)
    tr, te = rng.normal(size=(n_train, 5)), rng.normal(size=(300, 5))
    y = rng.integers(0, 5, n_train)
    for metric in ("euclidean", "cosine"):
        index = ev.KNNIndex(tr, y, k, metric=metric)
        assert index.block == 16  # the filtered path, not the small-set full top-k
        ref = KNeighborsClassifier(k, metric=metric).fit(tr, y).predict(te)
        np.testing.assert_array_equal(index.predict(te), ref)
        np.testing.assert_array_equal(index.predict(te, chunk_size=7), ref)  # ragged last chunk
    index64 = ev.KNNIndex(tr, y, k, dtype=tf.float64)
    np.testing.assert_array_equal(index64.predict(te), KNeighborsClassifier(k).fit(tr, y).predict(te))


def _index_sets(scores, k, index):
    """Neighbour column sets from the filter (codes = column numbers) and fitted flags."""
    width = scores.shape[1]
    codes, fitted = knn._filtered_neighbour_codes(
        tf.constant(scores, tf.float32), tf.range(width), k, index.block, index.group, index.width)
    return [set(r) for r in codes.numpy().tolist()], fitted.numpy()


@pytest.mark.parametrize("n", [2500, 10_000])  # one block per group / five blocks per group
def test_filter_returns_exactly_the_k_best_columns(n):
    rng = np.random.default_rng(12)
    k = 30
    index = knn.KNNIndex(rng.normal(size=(n, 3)), np.zeros(n), k)
    width = index._train_t.shape[1]
    scores = np.full((200, width), -np.inf, np.float32)
    scores[:, :n] = rng.normal(size=(200, n))
    scores[:50, :n] *= np.linspace(0.1, 10, n)  # skewed rows: neighbours crowd a few blocks
    scores[-1, :n] = 1.0                          # all tied: cannot fit, must be flagged
    got, fitted = _index_sets(scores, k, index)
    assert fitted[50:-1].all() and not fitted[-1]  # random rows fit; skewed ones may not
    for row, kept, ok in zip(scores, got, fitted):
        if ok:
            assert kept == set(np.argsort(-row, kind="stable")[:k].tolist())


def test_rows_that_do_not_fit_are_redone_on_the_full_row():
    # 300 copies of one point (label 9) spread over the training set: a query on it has 300
    # equidistant nearest points, so the filter overflows and the row takes the full top-k.
    rng = np.random.default_rng(13)
    n, k = 2000, 7
    tr, y = rng.normal(size=(n, 4)), rng.integers(0, 4, n)
    copies = rng.choice(n, 300, replace=False)
    tr[copies], y[copies] = tr[copies[0]], 9
    te = np.concatenate([tr[copies[:1]], rng.normal(size=(40, 4))])
    index = ev.KNNIndex(tr, y, k)
    aug = np.concatenate([te, np.ones((len(te), 1))], 1).astype(np.float32)
    _, fitted = _index_sets((aug @ index._train_t.numpy()), k, index)
    assert not fitted[0] and fitted[1:].all()
    ref = KNeighborsClassifier(k).fit(tr, y).predict(te)
    np.testing.assert_array_equal(index.predict(te), ref)
    assert ref[0] == 9


def test_non_finite_features_are_rejected():
    with pytest.raises(ValueError, match="test_features contains NaN"):
        ev.knn_predict(np.zeros((5, 2)), [0] * 5, np.array([[0.0, np.nan]]), 2)
    with pytest.raises(ValueError, match="train_features contains NaN"):
        ev.knn_predict(np.full((5, 2), np.inf), [0] * 5, np.zeros((1, 2)), 2)


def test_class_sorted_training_set_still_fits():
    # Training points sorted by class put each query's neighbours in a few adjacent blocks;
    # the index shuffles its columns (a fixed permutation) so the filter still fits every row.
    rng = np.random.default_rng(14)
    n, k = 4000, 30
    y = np.sort(rng.integers(0, 4, n))
    tr = rng.normal(size=(n, 6)) + 3.0 * np.eye(4, 6)[y]
    yt = rng.integers(0, 4, 100)
    te = rng.normal(size=(100, 6)) + 3.0 * np.eye(4, 6)[yt]
    index = ev.KNNIndex(tr, y, k)
    aug = np.concatenate([te, np.ones((len(te), 1))], 1).astype(np.float32)
    _, fitted = _index_sets(aug @ index._train_t.numpy(), k, index)
    assert fitted.all()
    np.testing.assert_array_equal(index.predict(te), KNeighborsClassifier(k).fit(tr, y).predict(te))


def test_prediction_depth_same_with_any_number_of_workers():
    rng = np.random.default_rng(15)
    y = rng.integers(0, 3, 500)
    train = [rng.normal(size=(500, d)) + s * np.eye(3, d)[y] for d, s in ((4, 0.0), (6, 1.0), (5, 3.0))]
    yt = rng.integers(0, 3, 60)
    test = [rng.normal(size=(60, d)) + s * np.eye(3, d)[yt] for d, s in ((4, 0.0), (6, 1.0), (5, 3.0))]
    probes = np.stack([KNeighborsClassifier(9).fit(a, y).predict(b) for a, b in zip(train, test)])
    for workers in (1, 2, 5):
        res = ev.prediction_depth(train, y, test, yt, 9, workers=workers)
        np.testing.assert_array_equal(res.knn_predictions, probes)
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        ev.prediction_depth(train, y, test, yt, 9, workers=0)
