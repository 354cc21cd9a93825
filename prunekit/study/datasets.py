"""The study's view of a dataset: whole splits as arrays, cached per process.

Runs of one study share their data; reading it once per process (per Ray worker) keeps the
per-run overhead small. Goes through ``prunekit.data.load`` (every dataset is a TFDS name,
the embedded ``digits`` included); while that has not landed, sklearn's digits stand in
(:mod:`prunekit.study.fallback`).
"""
from __future__ import annotations

import functools
import importlib

import numpy as np


def _data_module():
    try:
        module = importlib.import_module("prunekit.data")
    except ImportError:
        return None
    return module if hasattr(module, "load") else None


def stand_in() -> bool:
    """True while the digits stand-in is used instead of prunekit.data."""
    return _data_module() is None


@functools.lru_cache(maxsize=8)
def arrays(name: str, split: str, data_dir=None):
    """(x float32, y int32) of a whole split."""
    data = _data_module()
    if data is None:
        from prunekit.study import fallback

        return fallback.digits_arrays(name, split)
    if hasattr(data, "as_arrays"):
        x, y = data.as_arrays(name, split, data_dir=data_dir)
        return np.asarray(x, np.float32), np.asarray(y, np.int32)
    ds = data.load(name, split, data_dir=data_dir, batch_size=1024)
    xs, ys = [], []
    for x, y in ds.as_numpy_iterator():
        xs.append(x)
        ys.append(y)
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.int32)


def info(name: str, data_dir=None) -> dict:
    """``{"input_shape", "num_classes"}``; raises if the dataset is unknown or unavailable."""
    data = _data_module()
    if data is not None:
        for helper in ("info", "dataset_info", "describe"):
            fn = getattr(data, helper, None)
            if callable(fn):
                got = fn(name, data_dir=data_dir)
                get = (lambda k: got[k]) if isinstance(got, dict) else (lambda k: getattr(got, k))
                return {"input_shape": tuple(get("input_shape")), "num_classes": int(get("num_classes"))}
    x, y = arrays(name, "train", data_dir)
    x_test, y_test = arrays(name, "test", data_dir)
    return {"input_shape": tuple(x.shape[1:]), "num_classes": int(max(y.max(), y_test.max()) + 1)}
