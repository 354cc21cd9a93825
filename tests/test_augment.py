"""Augmented views: per-example, reproducible with a seed, identity when switched off."""
import numpy as np
import pytest
import tensorflow as tf

from prunekit import registry
from prunekit.data.augment import Augment, with_seeds
from prunekit.data.augment_signal import SignalAugment


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


def test_repeated_pipeline_gives_each_epoch_the_same_batches_and_seeds():
    x = _images(10, channels=1)
    y = np.arange(10)

    def source():
        return tf.data.Dataset.from_tensor_slices((x, y)).shuffle(10, seed=3)

    plugin = registry.get_loss("simclr", seed=5)
    finite = plugin.training_data(source(), batch_size=4)
    steps = int(finite.cardinality())
    want = [[(a.numpy(), b.numpy()) for a, b in finite] for _ in range(3)]  # a new iterator per epoch
    repeated = iter(plugin.training_data(source(), batch_size=4, repeat=True))
    got = [[tuple(t.numpy() for t in next(repeated)) for _ in range(steps)] for _ in range(3)]
    assert steps == 3
    for epoch_want, epoch_got in zip(want, got):
        for (wx, wy), (gx, gy) in zip(epoch_want, epoch_got):
            np.testing.assert_array_equal(gx, wx)
            np.testing.assert_array_equal(gy, wy)
    assert not np.allclose(want[0][0][0], want[1][0][0])  # new draws: the epochs do differ


def test_with_seeds_gives_one_seed_pair_per_element():
    seeds = [s.numpy() for _, s in with_seeds(tf.data.Dataset.range(3), 0)]
    assert all(s.shape == (2,) for s in seeds) and len({s.tobytes() for s in seeds}) == 3


# ---- 1-D signals [B, L, C] (MNIST-1D) ------------------------------------------------------
def _signals(n=8, length=40, seed=0):
    return np.random.RandomState(seed).randn(n, length, 1).astype("float32")


_OFF = dict(max_shift=0, amplitude=(1.0, 1.0), noise=0.0, shear=0.0)


def test_signal_views_are_reproducible_per_example_and_identity_when_off():
    x, augment = _signals(), SignalAugment()
    a, b = augment(x, tf.constant([0, 1])).numpy(), augment(x, tf.constant([0, 1])).numpy()
    np.testing.assert_array_equal(a, b)
    assert a.shape == x.shape and not np.allclose(a, augment(x, tf.constant([0, 2])))
    same = np.repeat(x[:1], 8, axis=0)
    assert len({o.tobytes() for o in augment(same, tf.constant([3, 4])).numpy()}) == 8
    np.testing.assert_array_equal(SignalAugment(**_OFF)(x, tf.constant([5, 6])), x)


def test_signal_shift_is_a_zero_padded_shift_within_max_shift():
    x = _signals(32)
    out = SignalAugment(**{**_OFF, "max_shift": 3})(x, tf.constant([7, 8])).numpy()
    found = []
    for o, xi in zip(out, x):
        for d in range(-3, 4):  # brute force: x shifted right by d, zeros shifted in
            ref = np.zeros_like(xi)
            if d >= 0:
                ref[d:] = xi[:len(xi) - d]
            else:
                ref[:d] = xi[-d:]
            if np.array_equal(o, ref):
                found.append(d)
                break
        else:
            raise AssertionError("an output is no zero-padded shift of its input")
    assert min(found) < 0 < max(found) and 0 in found


def test_signal_amplitude_shear_and_noise_match_their_formulas():
    x = _signals(64)
    seed = tf.constant([9, 10])
    scaled = SignalAugment(**{**_OFF, "amplitude": (0.5, 2.0)})(x, seed).numpy()
    ratio = scaled[..., 0] / x[..., 0]
    np.testing.assert_allclose(ratio, ratio[:, :1] * np.ones_like(ratio), rtol=1e-5)
    assert 0.5 <= ratio.min() and ratio.max() <= 2.0 and ratio.max() - ratio.min() > 0.5
    sheared = SignalAugment(**{**_OFF, "shear": 0.6})(x, seed).numpy()[..., 0] - x[..., 0]
    ramp = np.linspace(-0.5, 0.5, 40)
    slopes = sheared[:, -1] - sheared[:, 0]
    np.testing.assert_allclose(sheared, slopes[:, None] * ramp[None, :], atol=1e-5)
    assert np.abs(slopes).max() <= 0.6 and slopes.min() < 0 < slopes.max()
    noisy = SignalAugment(**{**_OFF, "noise": 0.2})(x, seed).numpy() - x
    assert abs(noisy.std() - 0.2) < 0.01 and abs(noisy.mean()) < 0.015


def test_augment_gives_signals_the_signal_view_and_plugins_pass_their_options():
    x, seed = _signals(), tf.constant([1, 2])
    options = dict(max_shift=2, amplitude=(0.9, 1.1), noise=0.05, shear=0.1)
    np.testing.assert_array_equal(Augment(signal=options)(x, seed), SignalAugment(**options)(x, seed))
    plugin = registry.get_loss("supcon", **options)
    assert all(plugin.get_config()[k] == v for k, v in options.items())
    inputs, _ = plugin.views(x, np.arange(8), seed=seed)
    np.testing.assert_array_equal(inputs, SignalAugment(**options)(np.repeat(x, 2, axis=0), seed))
    with pytest.raises(ValueError, match="max_shift"):
        SignalAugment(max_shift=-1)
    with pytest.raises(ValueError, match="amplitude"):
        registry.get_loss("simclr", amplitude=(0.0, 1.0))


def test_signal_pipeline_is_reproducible_and_new_each_epoch():
    x, y = _signals(8), np.arange(8)

    def epochs(seed):
        plugin = registry.get_loss("simclr", seed=seed)
        ds = plugin.training_data(tf.data.Dataset.from_tensor_slices((x, y)), batch_size=4)
        return [np.concatenate([b[0].numpy() for b in ds]) for _ in range(2)]

    first, second = epochs(0), epochs(0)
    assert first[0].shape == (16, 40, 1)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.allclose(first[0], first[1]) and not np.allclose(first[0], epochs(1)[0])
    assert not np.allclose(first[0][0::2], first[0][1::2])
