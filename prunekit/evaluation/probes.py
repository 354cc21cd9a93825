"""Representation probes on frozen features (issue 3; paper A's linear head, paper B's
transfer probes).

- Linear probe: multinomial logistic regression (scikit-learn ``LogisticRegression``, L2,
  C = 1, lbfgs) on standardised features (mean / std of the training features), fitted on the
  training features and scored on the test features (top-1 accuracy).
- k-NN accuracy: majority vote of the k nearest training features (cosine similarity by
  default, smallest label among tied votes; see :mod:`prunekit.evaluation.knn`), top-1.
"""
from __future__ import annotations

import warnings

import numpy as np

from prunekit import graph
from prunekit.evaluation.knn import knn_predict


def _check(train_features, train_labels, test_features, test_labels):
    tr, te = np.asarray(train_features), np.asarray(test_features)
    if tr.ndim != 2 or te.ndim != 2 or tr.shape[1] != te.shape[1]:
        raise ValueError(f"features must be (examples, dim) with equal dim; got {tr.shape} and {te.shape}.")
    if len(tr) != len(train_labels) or len(te) != len(test_labels):
        raise ValueError(f"{len(tr)}/{len(te)} train/test features but {len(train_labels)}/"
                         f"{len(test_labels)} labels.")
    return tr, np.asarray(train_labels).reshape(-1), te, np.asarray(test_labels).reshape(-1)


def _fit_probe(tr, ytr, C: float, max_iter: int):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))
    with warnings.catch_warnings():  # the budget is max_iter by design: not converging is allowed
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(tr, ytr)


def linear_probe(train_features, train_labels, test_features, test_labels, *, C: float = 1.0,
                 max_iter: int = 1000) -> dict:
    """``accuracy`` (test) and ``train_accuracy`` of a logistic-regression probe."""
    tr, ytr, te, yte = _check(train_features, train_labels, test_features, test_labels)
    clf = _fit_probe(tr, ytr, C, max_iter)
    return {"accuracy": float(clf.score(te, yte)), "train_accuracy": float(clf.score(tr, ytr))}


def linear_probe_log_probs(train_features, train_labels, test_features, num_classes: int, *,
                           C: float = 1.0, max_iter: int = 1000) -> np.ndarray:
    """[test examples, ``num_classes``] log-probabilities of the logistic-regression probe above
    (a linear head trained on frozen features, paper A's readout; its budget is ``max_iter``
    lbfgs iterations at inverse L2 strength ``C``). A class absent from the training labels
    gets log-probability -inf."""
    tr, ytr, te, _ = _check(train_features, train_labels, test_features, np.zeros(len(test_features)))
    if ytr.min() < 0 or ytr.max() >= num_classes:
        raise ValueError(f"labels must lie in [0, {num_classes}); got {ytr.min()}..{ytr.max()}.")
    clf = _fit_probe(tr, ytr, C, max_iter)
    out = np.full((len(te), int(num_classes)), -np.inf, np.float32)
    out[:, clf.classes_.astype(int)] = clf.predict_log_proba(te)
    return out


def knn_accuracy(train_features, train_labels, test_features, test_labels, k: int = 20, *,
                 metric: str = "cosine") -> float:
    """Top-1 accuracy of a k-NN classifier on frozen features."""
    tr, ytr, te, yte = _check(train_features, train_labels, test_features, test_labels)
    return float((knn_predict(tr, ytr, te, k, metric=metric) == yte).mean())


def model_features(model, x, layer: str = "features", batch_size: int = 256) -> np.ndarray:
    """Outputs of the layer named ``layer`` (default the "features" layer every catalogue
    model has), flattened to (examples, dim)."""
    import tf_keras as keras

    from prunekit.evaluation._inputs import batched

    try:
        if layer == "features":  # the representation layer, wrapped by tfmot or not
            from prunekit.models import features_layer
            layer = features_layer(model)
        out = graph.output_in(model, layer)
    except ValueError:
        raise ValueError(f"the model has no layer named {layer!r}; pass layer=<one of "
                         f"{[l.name for l in model.layers]}>.") from None
    extractor = keras.Model(model.inputs, out)
    (feats,) = batched(lambda xb: extractor(xb, training=False), x, batch_size)
    return feats.reshape(len(feats), -1)
