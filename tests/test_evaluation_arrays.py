"""Evaluation metrics on arrays, checked against hand values and independent NumPy/sklearn code."""
import numpy as np
import pytest
from scipy import stats
from sklearn.neighbors import KNeighborsClassifier

from prunekit import evaluation as ev


def _logits(labels, num_classes=3):
    """Populations of one-hot logits from predicted labels (models, examples)."""
    return np.eye(num_classes)[np.asarray(labels)] * 5.0


# ---------------------------------------------------------------- PIEs
def test_pies_hand_population_with_ties():
    dense = [[0, 1, 2, 0, 1],
             [0, 1, 2, 1, 2],
             [0, 2, 2, 2, 0]]       # modal: 0, 1, 2, tie{0,1,2}->0, tie{1,2,0}->0
    pruned = [[0, 2, 2, 1],
              [1, 2, 2, 1]]         # modal: tie{0,1}->0, 2, 2, 1  (4 examples: padded below)
    pruned = [row + [1] for row in pruned]   # example 4: modal 1
    res = ev.pies(_logits(dense), _logits(pruned))
    np.testing.assert_array_equal(res.dense_modal, [0, 1, 2, 0, 0])
    np.testing.assert_array_equal(res.pruned_modal, [0, 2, 2, 1, 1])
    np.testing.assert_array_equal(res.mask, [False, True, False, True, True])
    assert res.count == 3 and res.fraction == pytest.approx(0.6)
    np.testing.assert_array_equal(res.per_class, [2, 1, 0])  # by dense modal label


def test_pies_logit_ties_take_smallest_class_and_labels_input():
    dense = np.zeros((1, 1, 3))                      # all logits tied -> class 0
    pruned = np.array([[[0.0, 1.0, 1.0]]])           # tie between 1 and 2 -> 1
    assert ev.pies(dense, pruned).pruned_modal.tolist() == [1]
    res = ev.pies(np.array([[2, 2]]), np.array([[2, 0]]), num_classes=3)
    assert res.mask.tolist() == [False, True]


def test_pies_errors_and_group_comparison():
    with pytest.raises(ValueError, match="share examples"):
        ev.pies(np.zeros((2, 4, 3)), np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match="num_classes"):
        ev.pies(np.zeros((2, 4), int), np.zeros((2, 4), int))
    cmp = ev.compare_pies([1.0, 2.0, 3.0, 5.0], [True, False, True, False])
    assert cmp == {"pie_mean": 2.0, "non_pie_mean": 3.5, "pie_count": 2, "non_pie_count": 2}


# ---------------------------------------------------------------- Q-Score
def _q_reference(z, ddof):
    out = []
    for row in z:
        zt = row / np.sqrt(np.sum(row ** 2))
        mu = np.sum(zt) / len(zt)
        sd = np.sqrt(np.sum((zt - mu) ** 2) / (len(zt) - ddof))
        out.append(((np.max(zt) - mu) / sd) / np.sum(np.abs(zt)))
    return np.array(out)


@pytest.mark.parametrize("ddof", [0, 1])
def test_q_score_matches_formula(ddof):
    z = np.random.default_rng(1).normal(size=(7, 12))
    np.testing.assert_allclose(ev.q_score(z, ddof=ddof), _q_reference(z, ddof), rtol=1e-12)
    with pytest.raises(ValueError, match="examples, dim"):
        ev.q_score(np.ones(5))


# ---------------------------------------------------------------- PSP-entropy
def _psp_reference(z, y, num_classes):
    units = z.reshape(len(z), -1)
    h = np.zeros(units.shape[1])
    for k in range(num_classes):
        p = np.mean(units[y == k] > 0, axis=0)
        p = np.minimum(np.maximum(p, 1e-4), 0.9999)
        h += -p * np.log2(p) - (1 - p) * np.log2(1 - p)
    return h.reshape(z.shape[1:])


def test_psp_entropy_matches_formula_dense_and_conv():
    rng = np.random.default_rng(2)
    y = np.repeat(np.arange(3), 10)
    for shape in [(30, 6), (30, 4, 4, 2)]:  # conv: every channel and position is a unit
        z = rng.normal(size=shape) + 0.3
        z[y == 0, 0] = 1.0                  # unit always on for class 0: clamped at 0.9999
        res = ev.psp_entropy(z, y, 3)
        ref = _psp_reference(z, y, 3)
        np.testing.assert_allclose(res["per_unit"], ref, rtol=1e-12)
        assert res["mean"] == pytest.approx(ref.mean())


def test_psp_entropy_streaming_equals_one_shot():
    rng = np.random.default_rng(3)
    z, y = rng.normal(size=(40, 5)), rng.integers(0, 4, 40)
    counter = ev.PSPCounter(4)
    counter.update(z[:13], y[:13]), counter.update(z[13:], y[13:])
    np.testing.assert_allclose(counter.result()["per_unit"], ev.psp_entropy(z, y, 4)["per_unit"])


# ---------------------------------------------------------------- k-NN and prediction depth
def _random_reps(rng, n, dims):
    return [rng.normal(size=(n, d)).astype(np.float32) for d in dims]


@pytest.mark.parametrize("n_train,k", [(300, 30), (2000, 7)])  # 2000: block-pruned top-k path
def test_knn_matches_sklearn(n_train, k):
    rng = np.random.default_rng(4)
    tr, te = rng.normal(size=(n_train, 6)), rng.normal(size=(150, 6))
    y = rng.integers(0, 4, n_train) * 10  # arbitrary label values
    for metric in ("euclidean", "cosine"):
        ref = KNeighborsClassifier(k, metric=metric).fit(tr, y).predict(te)
        np.testing.assert_array_equal(ev.knn_predict(tr, y, te, k, metric=metric), ref)


def test_knn_vote_tie_takes_smallest_label():
    tr = np.array([[0.0], [1.0], [-1.0], [5.0]])
    y = np.array([2, 1, 2, 1])
    # neighbours of 0.1 with k=2: points 0 (label 2) and 1 (label 1): tie -> 1
    assert ev.knn_predict(tr, y, np.array([[0.1]]), 2).tolist() == [1]
    assert KNeighborsClassifier(2).fit(tr, y).predict([[0.1]]).tolist() == [1]


def test_prediction_depth_matches_sklearn_probes():
    rng = np.random.default_rng(5)
    n_train, n_test, k = 400, 120, 30
    y_train = rng.integers(0, 3, n_train)
    # class signal grows with depth so that depths are spread out
    means = rng.normal(size=(3, 8))
    train = [rng.normal(size=(n_train, 8)) + s * means[y_train] for s in (0.0, 0.5, 1.0, 2.0)]
    y_test = rng.integers(0, 3, n_test)
    test = [rng.normal(size=(n_test, 8)) + s * means[y_test] for s in (0.0, 0.5, 1.0, 2.0)]
    final = rng.integers(0, 3, n_test)
    res = ev.prediction_depth(train, y_train, test, final, k, true_labels=y_test)

    probes = np.stack([KNeighborsClassifier(k).fit(a, y_train).predict(b) for a, b in zip(train, test)])
    np.testing.assert_array_equal(res.knn_predictions, probes)
    for reference, got in ((final, res.baldock), (y_test, res.pd_score)):
        expected = []
        for i in range(n_test):
            depth = 0  # earliest layer from which every probe agrees with the reference
            for layer in range(len(train)):
                if probes[layer, i] != reference[i]:
                    depth = layer + 1
            expected.append(depth)
        np.testing.assert_array_equal(got, expected)
    assert len(set(res.pd_score.tolist())) > 2


def test_depth_hand_values_and_errors():
    preds = np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1]])
    np.testing.assert_array_equal(ev.depth_from_predictions(preds, [1, 1, 0]), [0, 1, 3])
    with pytest.raises(ValueError, match="same layers"):
        ev.prediction_depth([np.zeros((5, 2))], [0] * 5, [], [0])
    with pytest.raises(ValueError, match="features"):
        ev.knn_predict(np.zeros((5, 2)), [0] * 5, np.zeros((3, 4)), 2)


# ---------------------------------------------------------------- probes
def test_linear_probe_and_knn_on_separable_data():
    rng = np.random.default_rng(6)
    y = rng.integers(0, 3, 300)
    x = rng.normal(size=(300, 5)) * 0.3 + np.eye(3, 5)[y] * 4
    assert ev.linear_probe(x[:200], y[:200], x[200:], y[200:])["accuracy"] >= 0.98
    assert ev.knn_accuracy(x[:200], y[:200], x[200:], y[200:], k=5) >= 0.98


# ---------------------------------------------------------------- preservation, IoU, stats
def test_function_preservation_hand_values():
    before = np.log(np.array([[0.5, 0.5], [0.9, 0.1]]))
    after = np.log(np.array([[0.25, 0.75], [0.9, 0.1]]))
    res = ev.function_preservation(before, after, [0, 0])
    assert res["loss_before"] == pytest.approx(-(np.log(0.5) + np.log(0.9)) / 2)
    assert res["loss_after"] == pytest.approx(-(np.log(0.25) + np.log(0.9)) / 2)
    assert res["acc_before"] == 1.0 and res["acc_after"] == 0.5  # tie 0.5/0.5 -> class 0
    kl = 0.5 * (0.5 * np.log(0.5 / 0.25) + 0.5 * np.log(0.5 / 0.75))
    assert res["kl"] == pytest.approx(kl)


def test_mask_iou_hand_values():
    a = {"l1": np.array([1, 1, 0, 0]), "l2": np.array([[0.0, 2.0], [0.0, 0.0]]), "l3": np.zeros(2)}
    b = {"l1": np.array([1, 0, 1, 0]), "l2": np.array([[0.0, 1.0], [0.0, 0.0]]), "l3": np.zeros(2)}
    res = ev.mask_iou(a, b)
    assert res == {"l1": pytest.approx(1 / 3), "l2": 1.0, "l3": 1.0, "overall": pytest.approx(2 / 4)}
    with pytest.raises(ValueError, match="different weights"):
        ev.mask_iou(a, {"l1": a["l1"]})


def test_mean_ci_matches_scipy():
    v = np.array([0.91, 0.93, 0.90, 0.95, 0.92])
    lo, hi = stats.t.interval(0.9, len(v) - 1, loc=v.mean(), scale=stats.sem(v))
    res = ev.mean_ci(v, confidence=0.9)
    assert (res["low"], res["high"]) == (pytest.approx(lo), pytest.approx(hi))
    per_example = ev.mean_ci(np.stack([v, 2 * v]).T)  # (runs, 2): element-wise
    assert per_example["mean"].shape == (2,)
    assert np.isnan(ev.mean_ci([1.0])["half_width"])


def test_linear_probe_log_probs_are_the_fitted_logistic_regression_with_absent_classes_impossible():
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    from prunekit.evaluation.probes import linear_probe_log_probs
    from prunekit.study.execute.measure import probe_readout

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 240)  # classes 0..2 of 4: class 3 never seen
    x = rng.normal(0, 1, (240, 6)) + np.eye(6)[y] * 2.5
    out = linear_probe_log_probs(x[:160], y[:160], x[160:], 4, C=0.5, max_iter=200)
    # the reference: the same probe by hand (standardise with the training mean / std, then sklearn)
    mu, sd = x[:160].mean(0), x[:160].std(0)
    ref = LogisticRegression(C=0.5, max_iter=200).fit((x[:160] - mu) / sd, y[:160])
    expected = ref.predict_log_proba((x[160:] - mu) / sd)
    np.testing.assert_allclose(out[:, :3], expected, rtol=1e-4, atol=1e-5)
    assert np.all(out[:, 3] == -np.inf)
    metrics, log_probs = probe_readout({"linear_probe": {"C": 0.5, "max_iter": 200}, "knn": {"k": 5}},
                                       x[:160], y[:160], x[160:], y[160:], 4)
    assert metrics["readout"] == "linear_probe"
    assert metrics["test_accuracy"] == pytest.approx(float((expected.argmax(1) == y[160:]).mean()))
    assert metrics["test_loss"] == pytest.approx(log_loss(y[160:], np.exp(expected), labels=[0, 1, 2]), rel=1e-4)
    knn = KNeighborsClassifier(5, metric="cosine", algorithm="brute").fit(x[:160], y[:160])
    assert metrics["knn_test_accuracy"] == pytest.approx(knn.score(x[160:], y[160:]), abs=1.5 / 80)
