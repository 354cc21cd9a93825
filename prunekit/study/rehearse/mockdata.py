"""Random examples of a TFDS dataset at its real shapes and split sizes (``tfds.testing.mock_data``).

Inside :func:`mocked` every ``tfds`` builder yields random examples of its own feature
spec (image shape and dtype, label classes from ``builder.info``), as many per split as the
real dataset holds. The split sizes come from the builder's info when the data is prepared
under ``data_dir``; offline TFDS's info has no split sizes, so the published sizes below
(the TFDS catalogue's) fill in, and any other dataset needs ``sizes``. While mocked, the
builder class also reports these sizes as its ``split_sizes`` (what the embedded builders
declare), so :func:`prunekit.data.split_sizes` and the study see the real sizes.
"""
from __future__ import annotations

import contextlib
from unittest import mock

# The TFDS catalogue's split sizes (https://www.tensorflow.org/datasets/catalog), used when
# the builder's info has none (data not prepared here).
PUBLISHED = {"mnist": {"train": 60_000, "test": 10_000}, "fashion_mnist": {"train": 60_000, "test": 10_000},
             "cifar10": {"train": 50_000, "test": 10_000}, "cifar100": {"train": 50_000, "test": 10_000}}


def split_sizes(name: str, data_dir=None) -> dict:
    """``{split: examples}`` of ``name``: prepared info, the embedded builder's, or PUBLISHED."""
    import tensorflow_datasets as tfds

    from prunekit import data

    b = tfds.builder(data.tfds_name(name), data_dir=data_dir)
    if b.is_prepared() or hasattr(b, "split_sizes"):
        return data.split_sizes(name, data_dir)
    if b.name in PUBLISHED:
        return dict(PUBLISHED[b.name])
    raise ValueError(f"--rehearse: dataset {name!r} has no split sizes here (not prepared, not in "
                     f"{sorted(PUBLISHED)}); prepare it under --config.data_dir")


def _as_dataset(sizes: dict, seed: int):
    """A ``_as_dataset`` replacement: ``sizes[builder name][split]`` random examples of the
    builder's features."""
    import tensorflow as tf

    def as_dataset(self, split, decoders=None, read_config=None, shuffle_files=False, **kwargs):
        keys = self.info.supervised_keys
        image, label = self.info.features[keys[0]], self.info.features[keys[1]]
        splits = sizes[self.name]
        n, shape, classes = splits[str(split)], tuple(image.shape), int(label.num_classes)
        split_seed = seed * 1_000 + sorted(splits).index(str(split))  # splits differ

        def example(i):
            s = tf.stack([tf.constant(split_seed, tf.int64), i])
            x = tf.random.stateless_uniform(shape, s, 0, 256, dtype=tf.int32)
            y = tf.random.stateless_uniform((), s + 1, 0, classes, dtype=tf.int64)
            return {keys[0]: tf.cast(x, image.dtype), keys[1]: y}

        return tf.data.Dataset.range(n).map(example, num_parallel_calls=tf.data.AUTOTUNE)

    return as_dataset


@contextlib.contextmanager
def mocked(sizes: dict, seed: int = 0):
    """Within the block each dataset ``name`` of ``sizes`` ({name: {split: examples}}) has that
    many random examples per split (its builder class reports them as ``split_sizes``)."""
    import tensorflow_datasets as tfds

    from prunekit import data

    classes = {name: tfds.builder_cls(data.tfds_name(name).split("/")[0].split(":")[0]) for name in sizes}
    by_builder = {cls.name: dict(sizes[name]) for name, cls in classes.items()}
    with contextlib.ExitStack() as stack:
        stack.enter_context(tfds.testing.mock_data(as_dataset_fn=_as_dataset(by_builder, seed)))
        for name, cls in classes.items():
            stack.enter_context(mock.patch.object(cls, "split_sizes", lambda self, _s=dict(sizes[name]): dict(_s),
                                                  create=True))
        yield


def datasets_of(config) -> list:
    """The dataset of the study and every dataset an evaluator reads (``transfer``'s)."""
    names = [config.get("dataset")]
    for options in dict(config.get("evaluation") or {}).values():
        if isinstance(options, dict) or hasattr(options, "get"):
            if options.get("dataset"):
                names.append(options.get("dataset"))
    return list(dict.fromkeys(names))
