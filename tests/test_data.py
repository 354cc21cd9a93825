"""Data: the embedded digits builder, loading by name, offline errors, mock_data."""
import time

import numpy as np
import pytest
import tensorflow_datasets as tfds
from sklearn.datasets import load_digits

from prunekit import data


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """One prepared copy of every digits config for the whole module."""
    root = tmp_path_factory.mktemp("tfds")
    for config in ("all", "0-4", "5-9"):
        tfds.builder(f"prunekit_digits/{config}", data_dir=str(root)).download_and_prepare()
    return str(root)


def _by_row(name, split, data_dir):
    """(images float32, label, digit, row) of a split, sorted by row in load_digits()."""
    ex = list(tfds.as_numpy(data.load(name, split, data_dir, batch_size=2000, as_supervised=False)))[0]
    order = np.argsort(ex["index"])
    return ex["image"][order], ex["label"][order], ex["digit"][order], ex["index"][order]


def test_digits_builder_goes_through_tfds_and_has_a_stratified_fixed_split(data_dir):
    b = tfds.builder("prunekit_digits", data_dir=data_dir)  # default config: all
    assert b.is_prepared() and b.builder_config.name == "all"
    sizes = {s: b.info.splits[s].num_examples for s in ("train", "test")}
    assert sizes == {"train": 1437, "test": 360} and sum(sizes.values()) == 1797
    assert b.info.features["image"].shape == (8, 8, 1) and b.info.features["label"].num_classes == 10
    _, _, test_digits, _ = _by_row("digits", "test", data_dir)
    assert np.all(np.abs(np.bincount(test_digits, minlength=10) - 36) <= 1)  # stratified


def test_digits_images_and_labels_equal_sklearn(data_dir):
    ref = load_digits()
    expected = (np.round(ref.images * 255.0 / 16.0) / 255.0).astype(np.float32)[..., None]
    rows = []
    for split in ("train", "test"):
        x, y, digit, row = _by_row("digits", split, data_dir)
        assert x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
        np.testing.assert_allclose(x, expected[row], atol=1e-7)
        np.testing.assert_array_equal(y, ref.target[row])
        np.testing.assert_array_equal(digit, ref.target[row])
        rows.append(row)
    np.testing.assert_array_equal(np.sort(np.concatenate(rows)), np.arange(1797))  # disjoint, complete


@pytest.mark.parametrize("split", ["train", "test"])
def test_halves_hold_only_their_digits_and_add_up_to_the_full_split(data_dir, split):
    _, _, _, full_rows = _by_row("digits", split, data_dir)
    halves = []
    for name, first in (("digits/0-4", 0), ("digits/5-9", 5)):
        x, y, digit, row = _by_row(name, split, data_dir)
        assert set(np.unique(y)) == set(range(5))
        np.testing.assert_array_equal(digit, y + first)
        halves.append(row)
        assert data.info(name, data_dir).num_classes == 5
    np.testing.assert_array_equal(np.sort(np.concatenate(halves)), full_rows)


def test_two_loads_are_identical_and_the_shuffle_seed_matters(data_dir):
    def first_batch(seed):
        x, y = next(iter(data.load("digits", "train", data_dir, batch_size=64, shuffle_seed=seed)))
        return x.numpy(), y.numpy()

    a, b, c = first_batch(3), first_batch(3), first_batch(4)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    x1, y1 = data.as_arrays("digits", "test", data_dir)
    x2, y2 = data.as_arrays("digits", "test", data_dir)
    assert x1.shape == (360, 8, 8, 1) and y1.shape == (360,)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)


def test_info_gives_what_a_model_builder_needs(data_dir):
    spec = data.info("digits", data_dir)
    assert (spec.input_shape, spec.num_classes, spec.tfds_name) == ((8, 8, 1), 10, "prunekit_digits/all")
    assert spec.splits == {"train": 1437, "test": 360}


def test_embedded_digits_prepare_on_first_load(tmp_path):
    x, y = next(iter(data.load("digits/5-9", "test", str(tmp_path), batch_size=4)))
    assert x.shape == (4, 8, 8, 1) and set(y.numpy()) <= set(range(5))


def test_unprepared_dataset_fails_at_once_saying_how_to_provide_it(tmp_path):
    start = time.monotonic()
    with pytest.raises(data.DatasetUnavailableError) as err:
        data.load("mnist", "train", data_dir=str(tmp_path))
    assert time.monotonic() - start < 5  # checked before any download attempt
    message = str(err.value)
    assert "\n" not in message and "'mnist'" in message and str(tmp_path) in message
    assert "tfds build mnist --data_dir DIR" in message and "data_dir=DIR" in message


@pytest.mark.parametrize("name,suggestion", [("mnsit", "'mnist'"), ("digit", "'digits'")])
def test_unknown_dataset_suggests_close_names(tmp_path, name, suggestion):
    with pytest.raises(data.UnknownDatasetError, match=f"unknown dataset '{name}'. Did you mean {suggestion}"):
        data.load(name, "train", data_dir=str(tmp_path))


def test_unknown_digits_subset_lists_the_valid_ones():
    with pytest.raises(data.UnknownDatasetError, match="digits/1-3.*digits/0-4, digits/5-9"):
        data.info("digits/1-3")


def test_mock_data_flows_through_load(tmp_path):
    with tfds.testing.mock_data(num_examples=5):
        batches = list(data.load("mnist", "train", data_dir=str(tmp_path), batch_size=2))
        x, y = data.as_arrays("mnist", "test", data_dir=str(tmp_path))
    assert [b[0].shape for b in batches] == [(2, 28, 28, 1), (2, 28, 28, 1), (1, 28, 28, 1)]
    assert batches[0][0].dtype.name == "float32" and batches[0][1].dtype.name == "int64"
    assert x.shape == (5, 28, 28, 1) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert y.dtype == np.int64 and y.max() < 10
