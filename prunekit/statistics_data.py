"""The first N examples of an ``(x, y)`` source, in equal-size padded chunks (one trace).

Sources: a ``tf.data.Dataset`` of ``(x, y)`` batches or single examples (told apart by the
model's input rank; ``x``-only elements give placeholder labels), or a tuple ``(x, y)`` of
arrays (``y`` may be None). A batched dataset is read batch by batch and re-chunked here
(``rebatch``): the first N rows are read in one in-graph call (held in memory at once, as
arrays are), then sliced into chunks. The earlier ``unbatch().batch()`` pipeline moved every
example through tf.data one at a time and cost 2.3x the arrays path, and a Python loop over
the batches ~2x (``benchmarks/bench_fisher.py`` prints the ratio). The dataset is read without tf.data's
autotuning and static rewrites (:func:`_read_options`): they cost a fixed 10-20 ms per
iterator, more than the statistics of 1,000 examples on a small MLP.
"""
from __future__ import annotations

import tensorflow as tf


def _read_options():
    """tf.data options for reading a few batches per call: no autotuning model and no
    static graph rewrites, which cost a fixed ~10-20 ms per iterator on 2 CPU cores (the
    values read are the same; a statistic reads its N examples through a fresh iterator)."""
    options = tf.data.Options()
    options.autotune.enabled = False
    options.experimental_optimization.apply_default_optimizations = False
    return options


_READ_OPTIONS = _read_options()


def input_rank(model):
    inputs = getattr(model, "inputs", None)
    if inputs and len(inputs) == 1 and inputs[0].shape.rank is not None:
        return inputs[0].shape.rank
    return None


def chunks(model, data, num_examples, batch_size, need_labels, why="the gradient"):
    """Yields ``(x, y, weight, n)``: chunks padded to one size, ``weight`` 1 on the n real rows.

    ``need_labels``: fail with a one-line error (naming ``why``) when the data has no labels.
    """
    if isinstance(data, tf.data.Dataset):
        pieces, has_labels = _dataset_batches(model, data, num_examples, batch_size)
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        data_x, data_y = data
        has_labels = data_y is not None
        data_x = data_x[:num_examples]
        data_y = data_y[:num_examples] if has_labels else tf.zeros([len(data_x)], tf.int32)
        pieces = ((data_x[i:i + batch_size], data_y[i:i + batch_size])
                  for i in range(0, len(data_x), batch_size))
    else:
        raise TypeError(f"data must be a tf.data.Dataset or a tuple (x, y) of arrays, got "
                        f"{type(data).__name__}.")
    if need_labels and not has_labels:
        raise ValueError(f"{why} needs labels: data must yield (x, y) pairs.")
    size = None
    for chunk_x, chunk_y in pieces:
        x, y = tf.convert_to_tensor(chunk_x), tf.convert_to_tensor(chunk_y)
        n = int(x.shape[0])
        if n == 0:
            continue
        size = size or n  # the first chunk is full, or the only one
        if size > n:  # pad the last chunk to the common size; padded rows weigh 0
            x = tf.concat([x, tf.zeros([size - n, *x.shape[1:]], x.dtype)], 0)
            y = tf.concat([y, tf.zeros([size - n, *y.shape[1:]], y.dtype)], 0)
        yield x, y, tf.concat([tf.ones([n]), tf.zeros([size - n])], 0), n


def _dataset_batches(model, data, num_examples, batch_size):
    """``(pieces, has_labels)``: ``(x, y)`` chunks of ``batch_size`` rows from a dataset."""
    spec = data.element_spec
    has_labels = isinstance(spec, tuple) and len(spec) >= 2
    x_spec = spec[0] if isinstance(spec, tuple) else spec
    if not isinstance(x_spec, tf.TensorSpec):
        raise TypeError(f"data must yield (x, y) with x a single tensor, got element_spec {spec}.")
    rank = input_rank(model)
    if rank is not None and x_spec.shape.rank not in (rank, rank - 1):
        raise ValueError(f"data yields x of rank {x_spec.shape.rank}; the model takes rank {rank} "
                         f"batches (or rank {rank - 1} single examples).")
    single = rank is not None and x_spec.shape.rank == rank - 1
    element = _first_element(_reader(data, num_examples, single))
    if element is None:
        return iter(()), has_labels
    x = element[0] if isinstance(spec, tuple) else element
    y = element[1] if has_labels else tf.zeros(tf.shape(x)[:1], tf.int32)
    return ((x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, int(x.shape[0]), batch_size)), has_labels


def _reader(data, num_examples, single):
    """A one-element dataset of the first ``num_examples`` rows of ``data``, kept for the
    last few sources (building it costs tens of ms; each read makes a new iterator, so
    shuffles and random maps draw anew as a fresh iteration of ``data`` would). A kept
    reader holds its source alive, hence the bound."""
    key = (id(data), num_examples, single)
    held = _READERS.pop(key, None)
    if held is None or held[0] is not data:
        rows = data.take(num_examples).batch(num_examples) if single else data.rebatch(num_examples)
        held = (data, rows.take(1).with_options(_READ_OPTIONS))
    _READERS[key] = held  # most recent last
    while len(_READERS) > _KEPT_READERS:
        _READERS.pop(next(iter(_READERS)))
    return held[1]


_READERS: dict = {}
_KEPT_READERS = 4


@tf.function(autograph=False, reduce_retracing=True)
def _read_first(data):
    return data.get_single_element()


def _first_element(data):
    """The dataset's one element, read in one call (or None if it has none): the first N rows
    in one in-graph read cost ~3x less than N / 32 eager ``next`` calls on a loaded machine."""
    try:
        return _read_first(data)
    except tf.errors.InvalidArgumentError as e:
        if "empty" in str(e).lower():  # no element
            return None
        raise
