"""The study's view of a dataset: whole splits as arrays, cached per process.

Runs of one study share their data; reading it once per process (per Ray worker) keeps the
per-run overhead small. Everything goes through :mod:`prunekit.data` (``as_arrays`` and
``info``; every dataset is a TFDS name, the embedded ``digits`` included).
"""
from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=8)
def arrays(name: str, split: str, data_dir=None):
    """(x float32, y int32) of a whole split (``prunekit.data.as_arrays``, cached)."""
    from prunekit import data

    x, y = data.as_arrays(name, split, data_dir=data_dir)
    return np.asarray(x, np.float32), np.asarray(y, np.int32)


@functools.lru_cache(maxsize=8)
def info(name: str, data_dir=None) -> dict:
    """``{"input_shape", "num_classes"}`` (``prunekit.data.info``, cached); raises
    ``prunekit.data.DatasetUnavailableError`` (or ``UnknownDatasetError``) when the dataset
    cannot be read."""
    from prunekit import data

    spec = data.info(name, data_dir=data_dir)
    return {"input_shape": tuple(spec.input_shape), "num_classes": int(spec.num_classes)}


def require(name: str, data_dir=None, prepare: bool = True) -> dict:
    """:func:`info`, and the data is readable here: prepared under ``data_dir``, or embedded
    (prepared now when ``prepare``; a validation or dry run prepares nothing). Raises
    ``DatasetUnavailableError`` otherwise, before any training starts."""
    from prunekit import data

    spec = info(name, data_dir)
    if prepare:
        data.builder(name, data_dir)  # raises DatasetUnavailableError when not prepared (offline)
    else:
        data.split_sizes(name, data_dir)  # the same error, without writing anything
    return spec


@functools.lru_cache(maxsize=8)
def n_train(name: str, data_dir=None) -> int:
    """Training examples of ``name``, without reading or preparing the data."""
    from prunekit import data

    return int(data.split_sizes(name, data_dir)["train"])
