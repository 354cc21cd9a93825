"""prunekit.statistics_layers: layer inputs as patches, checked against tf.image.extract_patches."""
import numpy as np
import prunekit  # noqa: F401  (tf_keras before TensorFlow)
import pytest
import tensorflow as tf
import tf_keras as keras

from prunekit import statistics_layers


def reference(a, sizes, strides, rates, padding):
    out = tf.image.extract_patches(a, sizes=[1, *sizes, 1], strides=[1, *strides, 1],
                                   rates=[1, *rates, 1], padding=padding.upper())
    return tf.reshape(out, [a.shape[0], -1, out.shape[-1]]).numpy()


@pytest.mark.parametrize("kernel,strides,rate,padding", [
    (3, 1, 1, "same"), ((3, 2), (2, 1), 1, "same"), (3, 2, 1, "same"), (3, 1, 2, "valid"),
    ((2, 3), (1, 3), 1, "valid"), (1, 1, 1, "valid"), (4, 3, 1, "same")])
def test_conv2d_patches_match_extract_patches(kernel, strides, rate, padding):
    layer = keras.layers.Conv2D(4, kernel, strides=strides, dilation_rate=rate, padding=padding)
    a = tf.constant(np.random.default_rng(0).normal(size=(3, 7, 8, 5)).astype(np.float32))
    layer.build(a.shape)
    got = statistics_layers.patches(layer, a).numpy()
    np.testing.assert_array_equal(got, reference(a, layer.kernel_size, layer.strides,
                                                 layer.dilation_rate, padding))


def test_conv1d_patches_match_extract_patches_and_causal_pads_the_left():
    a = tf.constant(np.random.default_rng(1).normal(size=(2, 9, 3)).astype(np.float32))
    for padding, strides in (("same", 2), ("valid", 1), ("causal", 1)):
        layer = keras.layers.Conv1D(4, 3, strides=strides, dilation_rate=2 if strides == 1 else 1,
                                    padding=padding)
        layer.build(a.shape)
        image = a[:, None]
        if padding == "causal":
            image = tf.pad(image, [[0, 0], [0, 0], [4, 0], [0, 0]])
        want = reference(image, (1, 3), (1, strides), (1, layer.dilation_rate[0]),
                         "valid" if padding == "causal" else padding)
        np.testing.assert_array_equal(statistics_layers.patches(layer, a).numpy(), want)
