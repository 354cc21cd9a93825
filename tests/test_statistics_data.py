"""prunekit.statistics_data: the first N examples in equal padded chunks, from any source."""
import numpy as np
import prunekit  # noqa: F401  (tf_keras before TensorFlow)
import pytest
import tensorflow as tf
import tf_keras as keras

from prunekit import statistics, statistics_data


def model():
    return keras.Sequential([keras.layers.Dense(3, input_shape=(2,))])


def rows(n):
    x = np.arange(2 * n, dtype=np.float32).reshape(n, 2)
    return x, np.arange(n) % 3


def collect(data, num_examples, batch_size):
    out = list(statistics_data.chunks(model(), data, num_examples, batch_size, need_labels=False))
    return ([int(n) for *_, n in out], np.concatenate([x.numpy()[:n] for x, _, _, n in out]),
            np.concatenate([y.numpy()[:n] for _, y, _, n in out]), out)


@pytest.mark.parametrize("source", ["arrays", "batches of 3", "batches of 5", "single", "repeated"])
def test_chunks_are_the_first_examples_in_order_padded_to_one_size(source):
    x, y = rows(13)
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    data = {"arrays": (x, y), "batches of 3": ds.batch(3), "batches of 5": ds.batch(5), "single": ds,
            "repeated": ds.batch(4).repeat()}[source]
    sizes, got_x, got_y, out = collect(data, 11, 5)
    assert sizes == [5, 5, 1]
    np.testing.assert_array_equal(got_x, x[:11])
    np.testing.assert_array_equal(got_y, y[:11])
    last_x, _, last_weight, _ = out[-1]
    assert last_x.shape == (5, 2) and np.array_equal(last_weight.numpy(), [1, 0, 0, 0, 0])
    assert not np.any(last_x.numpy()[1:])  # padding rows are zeros (and weigh 0)


def test_short_sources_are_not_padded_to_the_batch_size():
    x, y = rows(4)
    for data in ((x, y), tf.data.Dataset.from_tensor_slices((x, y)).batch(3)):
        sizes, *_ , out = collect(data, 1000, 250)
        assert sizes == [4] and out[0][0].shape == (4, 2)


def test_dataset_and_arrays_give_the_same_statistics():
    net = keras.Sequential([keras.layers.Dense(7, activation="tanh", input_shape=(4,)), keras.layers.Dense(3)])
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(23, 4)).astype(np.float32), rng.integers(0, 3, 23)
    want = statistics.compute(net, (x[:20], y[:20]), ("gradient", "fisher"), batch_size=8)
    got = statistics.compute(net, tf.data.Dataset.from_tensor_slices((x, y)).batch(3), ("gradient", "fisher"),
                             num_examples=20, batch_size=8)
    for s in want:
        for n in want[s]:
            np.testing.assert_allclose(got[s][n].numpy(), want[s][n].numpy(), rtol=1e-6, atol=1e-9)


def test_a_tuned_pipeline_reads_the_same_examples_and_keeps_its_options():
    x, y = rows(13)
    options = tf.data.Options()
    options.deterministic = True
    options.autotune.enabled = True
    ds = (tf.data.Dataset.from_tensor_slices((x, y)).map(lambda a, b: (a * 2, b), tf.data.AUTOTUNE)
          .batch(4).prefetch(tf.data.AUTOTUNE).with_options(options))
    sizes, got_x, got_y, _ = collect(ds, 11, 5)
    assert sizes == [5, 5, 1]
    np.testing.assert_array_equal(got_x, 2 * x[:11])
    np.testing.assert_array_equal(got_y, y[:11])
    assert ds.options().autotune.enabled is True  # the caller's dataset is not changed
    read = ds.with_options(statistics_data._READ_OPTIONS).options()
    assert read.autotune.enabled is False and read.deterministic is True


def test_each_call_reads_the_dataset_anew():
    x, y = rows(13)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(13, seed=1).batch(5)
    firsts = []
    for _ in range(3):
        sizes, got_x, got_y, _ = collect(ds, 11, 5)
        assert sizes == [5, 5, 1]
        np.testing.assert_array_equal(got_x, x[got_y_index(got_x)])
        firsts.append(tuple(got_y))
    assert len(set(firsts)) > 1  # reshuffled per call, as a fresh iteration of ds is


def test_readers_are_kept_for_a_few_sources_only():
    x, y = rows(6)
    for _ in range(2 * statistics_data._KEPT_READERS):
        collect(tf.data.Dataset.from_tensor_slices((x, y)).batch(2), 6, 3)
    assert len(statistics_data._READERS) == statistics_data._KEPT_READERS


def got_y_index(got_x):
    return (got_x[:, 0] / 2).astype(int)  # rows(n): x[i] = (2i, 2i + 1)


def test_bad_dataset_elements_are_refused():
    x, y = rows(4)
    with pytest.raises(ValueError, match="the model takes rank 2"):
        list(statistics_data.chunks(model(), tf.data.Dataset.from_tensor_slices((x[:, :, None, None], y)),
                                    4, 2, False))
    with pytest.raises(TypeError, match="x a single tensor"):
        list(statistics_data.chunks(model(), tf.data.Dataset.from_tensor_slices(({"a": x}, y)), 4, 2, False))
