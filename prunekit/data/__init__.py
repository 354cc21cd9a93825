"""Datasets by TFDS name, offline first: ``load``, ``info``, ``as_arrays``.

    train = prunekit.data.load("digits", "train", batch_size=64, shuffle_seed=0)
    x, y = prunekit.data.as_arrays("digits/5-9", "test")
    spec = prunekit.data.info("digits")        # spec.input_shape == (8, 8, 1), spec.num_classes == 10

Names: ``digits``, ``digits/0-4`` and ``digits/5-9`` are the embedded scikit-learn digits
(TFDS builder ``prunekit_digits``, see ``prunekit.data.digits``: labels of ``digits/5-9`` are
digit - 5); ``mnist1d``, ``mnist1d/0-4`` and ``mnist1d/5-9`` are MNIST-1D's 40-sample signals,
input shape (40, 1) (builder ``prunekit_mnist1d``, see ``prunekit.data.mnist1d``; same halves).
Both are prepared on first use, offline, under ``data_dir``. Any other name is a
TFDS name (``mnist``, ``cifar10``, ``prunekit_digits/all``, ...) read from ``data_dir``
(TFDS's default when None). prunekit never downloads unless asked (``download=True``): a
dataset that is not prepared under ``data_dir`` raises ``DatasetUnavailableError`` at once,
saying how to provide it (``tfds build NAME --data_dir DIR`` on a machine with network, then
``data_dir=DIR``). Under ``tfds.testing.mock_data`` every name loads mock examples.

Examples are ``(input, label)``, label int64: images float32 in [0, 1] (uint8 pixels / 255),
float inputs (MNIST-1D signals, standardised: mean 0, std 1) as stored, in float32.
Order is fixed (files are read in order); ``shuffle_seed`` shuffles the whole split with
that seed, reshuffling each epoch.
"""
from __future__ import annotations

import dataclasses
import difflib

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from prunekit.data import digits as _digits  # registers the prunekit_digits builder
from prunekit.data import mnist1d as _mnist1d  # registers the prunekit_mnist1d builder

#: prunekit's short name -> TFDS builder of the datasets generated offline on first use.
EMBEDDED = {"digits": "prunekit_digits", "mnist1d": "prunekit_mnist1d"}
ALIASES = {f"{short}{suffix}": f"{full}/{config}"
           for short, full in EMBEDDED.items()
           for suffix, config in (("", "all"), ("/all", "all"), ("/0-4", "0-4"), ("/5-9", "5-9"))}
_REAL_PREPARE = vars(tfds.core.DatasetBuilder)["download_and_prepare"]


class DatasetUnavailableError(RuntimeError):
    """A known dataset that is not prepared under ``data_dir`` and is not downloaded."""


class UnknownDatasetError(ValueError):
    """A name that is neither a prunekit alias nor a TFDS dataset."""


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """What a model builder needs to know about a dataset."""

    name: str
    tfds_name: str
    input_shape: tuple
    num_classes: int
    splits: dict  # split name -> number of examples; empty until the dataset is prepared


def tfds_name(name: str) -> str:
    """The TFDS name behind ``name`` (``digits`` -> ``prunekit_digits/all``)."""
    if name in ALIASES:
        return ALIASES[name]
    short = name.split("/")[0]
    if short in EMBEDDED:
        raise UnknownDatasetError(f"unknown {short} subset {name!r}; valid: {', '.join(ALIASES)}.")
    return name


def builder(name: str, data_dir=None, *, download: bool = False):
    """A prepared TFDS builder for ``name``; see the module docstring for what is prepared."""
    full = tfds_name(name)
    b = _make_builder(name, full, data_dir)
    if b.is_prepared():
        return b
    if b.name in EMBEDDED.values() or download or _mocked():
        try:
            b.download_and_prepare()
        except Exception as e:
            again = _make_builder(name, full, data_dir)  # a parallel process may have won the race
            if again.is_prepared():
                return again
            raise DatasetUnavailableError(
                f"dataset {name!r} could not be prepared under {b.data_dir}: {e}; "
                f"{_how_to_provide(full)}") from e
        return b
    raise DatasetUnavailableError(
        f"dataset {name!r} is not prepared under data_dir {b.data_dir} and prunekit does not "
        f"download it at run time; {_how_to_provide(full)}")


def load(name: str, split: str, data_dir=None, batch_size=None, shuffle_seed=None,
         as_supervised: bool = True, download: bool = False) -> tf.data.Dataset:
    """``split`` of dataset ``name`` as (image float32 in [0, 1], label) (dicts if not supervised)."""
    b = builder(name, data_dir, download=download)
    ds = b.as_dataset(split=split, shuffle_files=False, as_supervised=as_supervised)
    if shuffle_seed is not None:
        ds = ds.shuffle(_num_examples(b, split), seed=int(shuffle_seed), reshuffle_each_iteration=True)
    ds = ds.map(_to_unit_float_supervised if as_supervised else _to_unit_float_dict,
                num_parallel_calls=tf.data.AUTOTUNE)
    if batch_size is not None:
        ds = ds.batch(int(batch_size))
    return ds.prefetch(tf.data.AUTOTUNE)


def as_arrays(name: str, split: str, data_dir=None, download: bool = False):
    """``(x, y)`` numpy arrays of a whole split (x float32 in [0, 1]), in ``load``'s order."""
    xs, ys = [], []
    for x, y in tfds.as_numpy(load(name, split, data_dir, batch_size=1024, download=download)):
        xs.append(x)
        ys.append(y)
    if not xs:
        raise ValueError(f"split {split!r} of dataset {name!r} is empty.")
    return np.concatenate(xs), np.concatenate(ys)


def info(name: str, data_dir=None) -> DatasetSpec:
    """Input shape, number of classes and split sizes of ``name``; prepares nothing."""
    full = tfds_name(name)
    b = _make_builder(name, full, data_dir)
    keys = b.info.supervised_keys
    if not keys or len(keys) != 2:
        raise ValueError(f"dataset {name!r} has no (input, label) supervised keys; prunekit "
                         f"needs a classification dataset.")
    features = b.info.features
    label = features[keys[1]]
    if not hasattr(label, "num_classes"):
        raise ValueError(f"dataset {name!r}: label feature {keys[1]!r} is not a ClassLabel.")
    splits = {s: b.info.splits[s].num_examples for s in b.info.splits} if b.is_prepared() else {}
    return DatasetSpec(name, full, tuple(features[keys[0]].shape), int(label.num_classes), splits)


def split_sizes(name: str, data_dir=None) -> dict:
    """``{split: examples}`` of ``name`` without writing anything: from the prepared data, or
    for an embedded dataset from its definition (its builder's ``split_sizes``)."""
    full = tfds_name(name)
    b = _make_builder(name, full, data_dir)
    if b.is_prepared():
        return {s: int(b.info.splits[s].num_examples) for s in b.info.splits}
    sizes = getattr(b, "split_sizes", None)
    if sizes is None:
        raise DatasetUnavailableError(
            f"dataset {name!r} is not prepared under data_dir {b.data_dir} and prunekit does not "
            f"download it at run time; {_how_to_provide(full)}")
    return dict(sizes())


def _make_builder(name, full, data_dir):
    try:
        return tfds.builder(full, data_dir=data_dir)
    except tfds.core.DatasetNotFoundError:
        known = list(ALIASES) + tfds.list_builders(with_community_datasets=False)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise UnknownDatasetError(
            f"unknown dataset {name!r}.{hint} Use {', '.join(ALIASES)} or a TFDS name "
            f"(tfds.list_builders()).") from None


def _how_to_provide(full: str) -> str:
    return (f"on a machine with network run `tfds build {full} --data_dir DIR`, copy DIR here "
            f"and pass it as data_dir (in a study: --config.data_dir=DIR)")


def _mocked() -> bool:
    """True inside ``tfds.testing.mock_data``, which replaces ``download_and_prepare``."""
    return vars(tfds.core.DatasetBuilder)["download_and_prepare"] is not _REAL_PREPARE


def _num_examples(b, split) -> int:
    try:
        return max(1, int(b.info.splits[split].num_examples))
    except Exception:  # mocked or unusual split strings: a bounded buffer is still a fair shuffle
        return 10_000


def _unit_float(x):
    if x.dtype == tf.uint8:
        return tf.cast(x, tf.float32) / 255.0
    return tf.cast(x, tf.float32)


def _to_unit_float_supervised(x, y):
    return _unit_float(x), y


def _to_unit_float_dict(example):
    example = dict(example)
    if "image" in example:
        example["image"] = _unit_float(example["image"])
    return example


__all__ = ["load", "as_arrays", "info", "split_sizes", "builder", "tfds_name", "DatasetSpec",
           "DatasetUnavailableError", "UnknownDatasetError", "ALIASES"]
