"""Paper B's retraining with labels of a mask found under a pretext task (rotation), and the
transfer evaluator (digits 0-4 -> 5-9)."""
import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

import prunekit
from prunekit import data, evaluation, models, registry
from prunekit.study.execute import label_retrain
from prunekit.pruning import imp, mask_io
from prunekit.timing import iterative


@pytest.fixture(scope="module")
def digits04():
    return data.as_arrays("digits/0-4", "train"), data.as_arrays("digits/0-4", "test")


def _rotation_imp(train, epochs=1):
    """One IMP round (50 %) under rotation prediction, rewinding to step 2."""
    (x, y) = train
    plugin = registry.get_loss("rotation", seed=0)
    base = models.build("mlp", x.shape[1:], 5, seed=0, widths=(32, 16))
    model = prunekit.wrap(plugin.build_model(models.feature_model(base), 5),
                          exclude=plugin.head_layer_names(plugin.build_model(models.feature_model(base), 5)))
    ds = tf.data.Dataset.from_tensor_slices((x, y))

    def compile_(m):
        m.compile(keras.optimizers.SGD(0.05, momentum=0.9), loss=plugin.loss())

    def fit_(m, callbacks):
        m.fit(plugin.training_data(ds, batch_size=64), epochs=epochs, callbacks=callbacks, verbose=0)

    plan = iterative.Iterative(rounds=1, rate=0.5, rewind_to=2)
    result = imp.run(model, plan, compile=compile_, fit=fit_, criterion="magnitude",
                           scope="layer", retrain_last=True)
    return model, plugin, result, ds


def test_retraining_starts_from_the_rewound_weights_with_the_mask_fixed(digits04):
    train, test = digits04
    model, plugin, result, ds = _rotation_imp(train)
    masks = mask_io.get(model)
    label_retrain.retrain(model, plugin, result.rewind, train_data=ds, test_data=test,
                          num_classes=5, epochs=1, batch_size=64,
                          make_optimizer=lambda: keras.optimizers.SGD(0.0), fit_kwargs={"verbose": 0})
    # With a zero learning rate nothing moves: every encoder weight is its rewind value times
    # its mask, bit for bit, and the masks are the ones the rotation run found.
    weights = imp.named_weights(model)
    wrapped = {w.name for wr in prunekit.prunable.wrappers(model) for w, _m, _t in wr.pruning_vars}
    checked = 0
    for name, value in result.rewind_weights.items():
        if name.split("/")[0].startswith("head_"):
            continue
        mask_name = next((m for m in masks if name.startswith(m.split("/")[0] + "/")), None)
        expected = value * masks[mask_name] if name in wrapped and mask_name is not None else value
        np.testing.assert_array_equal(weights[name], expected)
        checked += 1
    assert checked >= 4
    for name, m in mask_io.get(model).items():
        np.testing.assert_array_equal(m, masks[name])


def test_retraining_with_labels_learns_the_task_and_keeps_pruned_weights_zero(digits04):
    train, test = digits04
    model, plugin, result, ds = _rotation_imp(train)
    masks = mask_io.get(model)
    out = label_retrain.retrain(model, plugin, result.rewind, train_data=ds, test_data=test,
                                num_classes=5, epochs=4, batch_size=64,
                                make_optimizer=lambda: keras.optimizers.SGD(0.05, momentum=0.9),
                                fit_kwargs={"verbose": 0})
    assert out["retrained_test_accuracy"] > 0.6  # 5 classes: chance is 0.2
    assert out["retrain_optimizer_steps"] == 4 * -(-len(train[0]) // 64)  # epochs x ceil(n / batch)
    for wr in prunekit.prunable.wrappers(model):
        for w, m, _t in wr.pruning_vars:
            assert np.all(w.numpy()[m.numpy() == 0] == 0)
    for name, m in mask_io.get(model).items():
        np.testing.assert_array_equal(m, masks[name])


def test_transfer_evaluator_probes_the_other_dataset():
    """Against scikit-learn on features taken from the model by the test itself."""
    from sklearn.neighbors import KNeighborsClassifier

    x05, _ = data.as_arrays("digits/0-4", "train")
    base = models.build("mlp", x05.shape[1:], 5, seed=0, widths=(32,))
    out = evaluation.evaluate("transfer", base, None, dataset="digits/5-9", k=5)
    (xtr, ytr), (xte, yte) = data.as_arrays("digits/5-9", "train"), data.as_arrays("digits/5-9", "test")
    assert not np.array_equal(xtr[:10], x05[:10])  # the other half (its labels are 0-4 again)
    extractor = keras.Model(base.inputs, base.get_layer("features").output)
    ftr, fte = extractor.predict(xtr, verbose=0), extractor.predict(xte, verbose=0)
    knn = KNeighborsClassifier(5, metric="cosine", algorithm="brute").fit(ftr, ytr)
    assert out["knn_accuracy"] == pytest.approx(knn.score(fte, yte), abs=1.5 / len(yte))
    assert 0.2 < out["probe_accuracy"] <= 1.0
