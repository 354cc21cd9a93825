"""Augmented views: per-example, reproducible with a seed, identity when switched off."""
import numpy as np
import pytest
import tensorflow as tf

from prunekit import registry
from prunekit.data.augment import Augment, with_seeds


def _images(n=6, channels=3, seed=0):
    return np.random.RandomState(seed).rand(n, 8, 8, channels).astype("float32")


def test_views_are_reproducible_with_a_seed_and_differ_otherwise():
    x, augment = _images(), Augment()
    a = augment(x, tf.constant([0, 1])).numpy()
    b = augment(x, tf.constant([0, 1])).numpy()
    c = augment(x, tf.constant([0, 2])).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert a.shape == x.shape and a.min() >= 0.0 and a.max() <= 1.0
    # every example gets its own parameters: identical inputs give different outputs
    same = np.repeat(x[:1], 6, axis=0)
    out = augment(same, tf.constant([3, 4])).numpy()
    assert len({o.tobytes() for o in out}) == 6


def test_no_op_settings_give_the_images_back():
    x = _images()
    off = Augment(crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), flip=False, jitter_p=0.0,
                  grayscale_p=0.0)
    np.testing.assert_allclose(off(x, tf.constant([5, 6])), x, atol=1e-6)


def test_flip_only_flips_or_keeps_each_image():
    x = _images(16)
    flip = Augment(crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), jitter_p=0.0, grayscale_p=0.0)
    out = flip(x, tf.constant([7, 8])).numpy()
    flipped = [np.allclose(o, xi[:, ::-1], atol=1e-6) for o, xi in zip(out, x)]
    kept = [np.allclose(o, xi, atol=1e-6) for o, xi in zip(out, x)]
    assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)


def test_colour_only_where_images_have_three_channels():
    gray = _images(channels=1)
    out = Augment(jitter_p=1.0, grayscale_p=1.0)(gray, tf.constant([1, 1]))
    assert out.shape == gray.shape
    rgb = _images()
    only_gray = Augment(crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), flip=False, jitter_p=0.0,
                        grayscale_p=1.0)(rgb, tf.constant([1, 1])).numpy()
    np.testing.assert_allclose(only_gray[..., 0], only_gray[..., 2], atol=1e-6)


def test_bad_options_fail_clearly():
    with pytest.raises(ValueError, match="crop_scale"):
        Augment(crop_scale=(0.0, 1.0))
    with pytest.raises(ValueError, match="jitter_p"):
        Augment(jitter_p=1.5)


def test_pipeline_is_reproducible_and_new_each_epoch():
    x = _images(8, channels=1)
    y = np.arange(8)

    def epochs(seed):
        plugin = registry.get_loss("simclr", seed=seed)
        ds = plugin.training_data(tf.data.Dataset.from_tensor_slices((x, y)), batch_size=4)
        return [np.concatenate([b[0].numpy() for b in ds]) for _ in range(2)]

    first, second = epochs(0), epochs(0)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.allclose(first[0], first[1])       # a new draw each epoch
    assert not np.allclose(first[0], epochs(1)[0])   # and per seed
    assert not np.allclose(first[0][0::2], first[0][1::2])  # the two views differ


def test_with_seeds_gives_one_seed_pair_per_element():
    seeds = [s.numpy() for _, s in with_seeds(tf.data.Dataset.range(3), 0)]
    assert all(s.shape == (2,) for s in seeds) and len({s.tobytes() for s in seeds}) == 3
