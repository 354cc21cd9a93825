"""Mask files, random control masks and mask reuse (issues 4, 11)."""
import numpy as np
import pytest
import tf_keras as keras

import prunekit
from prunekit import checkpoint, prunable, timing
from prunekit.pruning import imp, mask_io
from prunekit.timing import control


def _masks(seed=0):
    rng = np.random.default_rng(seed)
    return {"dense/kernel:0": (rng.random((8, 6)) > 0.7).astype(np.float32),
            "conv/kernel:0": (rng.random((3, 3, 2, 4)) > 0.2).astype(np.float32)}


def test_save_load_round_trip(tmp_path):
    masks = _masks()
    path = mask_io.save(tmp_path / "sub" / "m", masks, {"step": 12, "criterion": "magnitude"})
    assert path.endswith(".npz")
    loaded, meta = mask_io.load(path, with_meta=True)
    assert set(loaded) == set(masks) and meta == {"step": 12, "criterion": "magnitude"}
    for name, m in masks.items():
        np.testing.assert_array_equal(loaded[name], m)
        assert loaded[name].shape == m.shape


def test_random_like_keeps_per_layer_sparsity():
    masks = _masks(1)
    rand = control.random_like(masks, seed=3)
    for name, m in masks.items():
        assert rand[name].shape == m.shape
        assert np.count_nonzero(rand[name]) == np.count_nonzero(m)
        assert set(np.unique(rand[name])) <= {0.0, 1.0}
    assert any(not np.array_equal(rand[n], masks[n]) for n in masks)
    np.testing.assert_array_equal(control.random_like(masks, 3)["conv/kernel:0"], rand["conv/kernel:0"])
    assert not np.array_equal(control.random_like(masks, 4)["conv/kernel:0"], rand["conv/kernel:0"])


def _wrapped(seed):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(6, name="d1"),
                              keras.layers.Dense(3, name="d2")])
    return prunekit.wrap(model)


def test_reuse_mask_from_another_run_on_rewound_weights(tmp_path):
    donor = _wrapped(0)
    masks = control.random_like({n: np.ones(m.shape) for n, m in mask_io.get(donor).items()}, 0)
    masks = {n: np.where(np.arange(m.size).reshape(m.shape) % 3 == 0, 0.0, 1.0) for n, m in masks.items()}
    path = mask_io.save(tmp_path / "donor", masks)
    target = _wrapped(1)
    rewind = checkpoint.capture(target, optimizer=False)
    saved = imp.named_weights(target)
    for w in target.trainable_weights:  # move away from the rewind point
        w.assign(w + 1.0)
    imp.reuse(target, mask_io.load(path), rewind)
    weights = prunable.prunable_weights(target)
    for name, m in masks.items():
        np.testing.assert_array_equal(mask_io.get(target)[name], m)
        np.testing.assert_array_equal(weights[name].numpy(), saved[name] * m)


def test_timing_control_is_reachable_as_the_readme_writes_it():
    masks = _masks(2)
    assert {n: m.sum() for n, m in timing.control.random_like(masks).items()} == \
        {n: m.sum() for n, m in masks.items()}


def test_assign_rejects_mismatched_masks():
    model = _wrapped(0)
    with pytest.raises(ValueError, match="missing"):
        mask_io.assign(model, {"nope:0": np.ones(3)})
