"""The README is a contract: every ```python block of README.md runs here, on the digits data.

Each block runs in a fresh namespace holding the names it assumes (``my_tf_keras_model``,
``train_ds``, ``score_ds``, ``encoder``, ``images_ds``, ``x``, the evaluation inputs, and the
imports of the first block); its results are then checked against values worked out here.
"""
import os
import re

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

import prunekit
from prunekit import data, models, prunable, timing

README = os.path.join(os.path.dirname(__file__), os.pardir, "README.md")
BATCH = 256


def blocks() -> list[str]:
    with open(README, encoding="utf-8") as f:
        return re.findall(r"^```python\n(.*?)^```", f.read(), re.S | re.M)


@pytest.fixture(scope="module")
def digits():
    return data.as_arrays("digits", "train"), data.as_arrays("digits", "test")


def _names(digits, block: str) -> dict:
    (x, y), (x_test, y_test) = digits
    keras.utils.set_random_seed(0)

    def my_tf_keras_model():
        inputs = keras.Input(x.shape[1:])
        h = keras.layers.Dense(32, activation="relu", name="fc1")(keras.layers.Flatten()(inputs))
        return keras.Model(inputs, keras.layers.Dense(10, name="out")(h))

    names = {"prunekit": prunekit, "timing": timing, "keras": keras, "my_tf_keras_model": my_tf_keras_model,
             "train_ds": tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH),
             "score_ds": tf.data.Dataset.from_tensor_slices((x[:256], y[:256])).batch(128),
             "encoder": models.feature_model(models.build("mlp", x.shape[1:], 10, widths=(32, 16))),
             "images_ds": tf.data.Dataset.from_tensor_slices(x), "x": x[:256]}
    if "evaluation." in block:
        rng = np.random.default_rng(0)
        trained = my_tf_keras_model()
        trained.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        names.update(
            dense_logits=rng.normal(size=(5, 60, 10)), pruned_logits=rng.normal(size=(5, 60, 10)),
            features=rng.normal(size=(60, 16)), train_reps=[rng.normal(size=(90, 8)) for _ in range(2)],
            train_labels=rng.integers(0, 10, 90), test_reps=[rng.normal(size=(60, 8)) for _ in range(2)],
            reference=rng.integers(0, 10, 60), y_test=y_test[:60], preactivations=rng.normal(size=(60, 12)),
            labels=y_test[:60], num_classes=10, model=trained, x=x_test[:60], y=y_test[:60],
            logits_before=rng.normal(size=(60, 10)), logits_after=rng.normal(size=(60, 10)),
            masks_a={"k": rng.random((4, 4)) > 0.5}, masks_b={"k": rng.random((4, 4)) > 0.5},
            f_train=rng.normal(size=(90, 8)), y_train=rng.integers(0, 10, 90), f_test=rng.normal(size=(60, 8)),
            values=[0.9, 0.92, 0.91])
    return names


def _zeros(kernels) -> float:
    kernels = [np.asarray(k) for k in kernels]
    return sum(int(np.sum(k == 0)) for k in kernels) / sum(k.size for k in kernels)


def test_readme_has_the_blocks_this_file_checks():
    assert len(blocks()) == 7


@pytest.mark.parametrize("index", range(7))
def test_readme_block_runs(digits, index):
    block = blocks()[index]
    names = _names(digits, block)
    exec(compile(block, f"README.md python block {index + 1}", "exec"), names)
    if "final = prunekit.strip(pruned)" in block:  # the model.fit block
        assert not any(np.any(w == 0) for w in names["model"].get_weights()[::2])  # untouched
        final = names["final"]
        assert _zeros([final.get_layer("fc1").kernel, final.get_layer("out").kernel]) == \
            pytest.approx(0.9, abs=1e-3)
        x = names["x"][:8]
        hand = np.maximum(x.reshape(8, -1) @ final.get_layer("fc1").kernel.numpy()
                          + final.get_layer("fc1").bias.numpy(), 0)
        np.testing.assert_allclose(names["features"](x).numpy(), hand, rtol=1e-5, atol=1e-5)
    if "rounds.records" in block:  # IMP inside one fit
        assert [r["step"] for r in names["rounds"].records] == [12, 24, 36]  # 6 steps per epoch
        assert [r["overall"] for r in names["rounds"].records] == pytest.approx(
            [0.4, 0.64, 0.784], abs=0.01)
    if "DynamicSparse" in block:  # RigL from the first step at ERK densities
        sparse = names["sparse"]
        assert [e["step"] for e in sparse.events] == [0, 6, 12]  # 6 steps per epoch, end at step 18
        # ERK by hand: density eps (in + out) / (in out), eps = kept / sum (in + out):
        # fc1 64x32, out 32x10; kept = 0.1 * 2368; eps = 236.8 / (96 + 42).
        eps = 0.1 * (64 * 32 + 32 * 10) / ((64 + 32) + (32 + 10))
        kept = {"fc1": round(eps * 96), "out": round(eps * 42)}
        for e in sparse.events:
            assert {n.split("/")[0].replace("prune_low_magnitude_", ""): round((1 - s) * size) for n, s, size in
                    [(n, s, 64 * 32 if "fc1" in n else 320) for n, s in e["sparsity"].items()]} == kept
        assert all(sum(e["dropped"].values()) > 0 for e in sparse.events[1:])  # weights did move
        for n, w in prunable.prunable_weights(names["rigl"]).items():
            assert int(np.count_nonzero(w.numpy())) <= kept[n.split("/")[0].replace("prune_low_magnitude_", "")]
    if "random_like" in block:  # fine-tuning as a second fit, then a random control
        tuned, masks = names["tuned"], names["masks"]
        assert int(tuned.optimizer.iterations.numpy()) == 6 * 6
        assert 1 - sum(m.sum() for m in masks.values()) / sum(m.size for m in masks.values()) == \
            pytest.approx(0.9, abs=0.01)
        assert {n: m.sum() for n, m in names["control"].items()} == {n: m.sum() for n, m in masks.items()}
        assert all(np.all(w.numpy()[masks[n] == 0] == 0) for n, w in prunable.prunable_weights(tuned).items())
