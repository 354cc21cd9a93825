"""MNIST-1D builder: offline preparation, the package generator's signals, halves, determinism."""
import random

import numpy as np
import pytest
import tensorflow_datasets as tfds

from prunekit import data
from prunekit.data import mnist1d as builder_module


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """One prepared copy of every mnist1d config for the whole module (never under $HOME)."""
    root = tmp_path_factory.mktemp("tfds")
    with pytest.MonkeyPatch.context() as patch:  # 3,000 signals: the real 30,000 take ~10 s
        patch.setitem(builder_module.GENERATION_ARGS, "num_samples", SMALL)
        for config in ("all", "0-4", "5-9"):
            b = tfds.builder(f"prunekit_mnist1d/{config}", data_dir=str(root))
            b.download_and_prepare()
            assert b.data_dir.startswith(str(root))
    return str(root)


SMALL = 3000


def _package(num_samples, seed=42):
    """The package's own generator (one signal at a time), defaults but the size and seed."""
    from mnist1d.data import get_dataset_args, make_dataset
    from mnist1d.utils import ObjectView

    args = get_dataset_args(as_dict=True)
    args.update(num_samples=num_samples, train_split=2 / 3, seed=seed)
    state, py_state = np.random.get_state(), random.getstate()
    try:
        d = make_dataset(ObjectView(args))
    finally:
        np.random.set_state(state)
        random.setstate(py_state)
    return {"train": (d["x"], d["y"]), "test": (d["x_test"], d["y_test"])}


@pytest.mark.parametrize("num_samples,seed", [(1000, 42), (500, 3)])
def test_fast_generation_equals_the_mnist1d_package(num_samples, seed):
    ours, ref = builder_module.generate(num_samples, 2 / 3, seed), _package(num_samples, seed)
    for split in ("train", "test"):
        assert ours[split][0].dtype == np.float32 and ours[split][1].dtype == np.int64
        np.testing.assert_allclose(ours[split][0], ref[split][0], rtol=0, atol=1e-6)
        np.testing.assert_array_equal(ours[split][1], ref[split][1])


def _by_row(name, split, data_dir):
    ex = list(tfds.as_numpy(data.load(name, split, data_dir, batch_size=SMALL,
                                      as_supervised=False)))[0]
    order = np.argsort(ex["index"])
    return ex["signal"][order], ex["label"][order], ex["digit"][order], ex["index"][order]


def test_the_chosen_sizes_are_20000_train_and_10000_test_balanced_signals():
    full = builder_module.generate(**builder_module.GENERATION_ARGS)
    assert full["train"][0].shape == (20_000, 40) and full["test"][0].shape == (10_000, 40)
    labels = np.concatenate([full["train"][1], full["test"][1]])
    assert np.all(np.bincount(labels, minlength=10) == 3000)
    x = np.concatenate([full["train"][0], full["test"][0]])
    assert abs(x.mean()) < 1e-4 and abs(x.std() - 1) < 1e-4  # standardised as the package does


def test_info_sizes_and_signals_equal_the_generator(data_dir):
    reference = builder_module.generate(SMALL, 2 / 3, 42)
    spec = data.info("mnist1d", data_dir)
    assert spec.tfds_name == "prunekit_mnist1d/all"
    assert spec.input_shape == (40, 1) and spec.num_classes == 10
    assert spec.splits == {"train": 2000, "test": 1000}
    for split in ("train", "test"):
        x, y, digit, row = _by_row("mnist1d", split, data_dir)
        ref_x, ref_y = reference[split]
        np.testing.assert_array_equal(row, np.arange(len(ref_y)))
        np.testing.assert_allclose(x[..., 0], ref_x, rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(y, ref_y)
        np.testing.assert_array_equal(digit, ref_y)


@pytest.mark.parametrize("split", ["train", "test"])
def test_halves_hold_only_their_digits_and_add_up_to_the_full_split(data_dir, split):
    _, _, full_digits, full_rows = _by_row("mnist1d", split, data_dir)
    rows = []
    for name, first in (("mnist1d/0-4", 0), ("mnist1d/5-9", 5)):
        _, y, digit, row = _by_row(name, split, data_dir)
        assert set(np.unique(y)) == set(range(5))
        np.testing.assert_array_equal(digit, y + first)
        np.testing.assert_array_equal(digit, full_digits[row])
        assert data.info(name, data_dir).num_classes == 5
        rows.append(row)
    np.testing.assert_array_equal(np.sort(np.concatenate(rows)), full_rows)


def test_supervised_load_gives_float_signals_in_a_seeded_order(data_dir):
    def first_batch(seed):
        x, y = next(iter(data.load("mnist1d", "train", data_dir, batch_size=32, shuffle_seed=seed)))
        return x.numpy(), y.numpy()

    a, b, c = first_batch(1), first_batch(1), first_batch(2)
    assert a[0].shape == (32, 40, 1) and a[0].dtype == np.float32
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[1], c[1])
    x, y = data.as_arrays("mnist1d/5-9", "test", data_dir)
    assert x.shape == (len(y), 40, 1) and set(np.unique(y)) == set(range(5))


def test_generation_is_deterministic_fast_and_leaves_global_random_state_alone():
    import time

    np.random.seed(123)
    random.seed(123)
    before_np, before_py = np.random.rand(), random.random()
    np.random.seed(123)
    random.seed(123)
    start = time.perf_counter()
    first = builder_module.generate.__wrapped__(num_samples=2000)
    seconds = time.perf_counter() - start
    assert np.random.rand() == before_np and random.random() == before_py
    second = builder_module.generate.__wrapped__(num_samples=2000)
    for split in ("train", "test"):
        np.testing.assert_array_equal(first[split][0], second[split][0])
        np.testing.assert_array_equal(first[split][1], second[split][1])
    assert first["train"][0].shape == (1333, 40) and first["test"][0].shape == (667, 40)
    other = builder_module.generate.__wrapped__(num_samples=2000, seed=7)
    assert not np.allclose(other["train"][0], first["train"][0])
    assert seconds < 2.0, f"2,000 signals took {seconds:.1f} s"
    with pytest.raises(ValueError, match="read-only"):
        builder_module.generate(SMALL, 2 / 3, 42)["train"][0][0, 0] = 1.0


def test_unknown_subset_names_the_valid_ones():
    with pytest.raises(data.UnknownDatasetError, match="mnist1d/0-4"):
        data.tfds_name("mnist1d/0-3")
