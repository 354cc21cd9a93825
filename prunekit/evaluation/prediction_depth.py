"""Prediction depth from k-NN probes on every probed layer (Baldock et al. 2021).

A k-NN classifier (k = 30, Euclidean, uniform vote, see :mod:`prunekit.evaluation.knn`) is
fitted on the training-set representations of each probed layer with the training labels,
and predicts every test example. With layers indexed l = 0 .. L-1 and a per-example reference
label r(x),

    depth(x) = 1 + max{l : knn_l(x) != r(x)}      (0 when every probe agrees with r(x))

which is both definitions of METHODS.md at once:
- Baldock et al.: r = the network's final prediction; the depth is the earliest layer from
  which every probe agrees with it (0 = already from the first probed layer, L = never).
- Paper A's "PD-Score" (Corti et al. 2022): r = the true label, PD = 1 + index of the last
  layer whose k-NN prediction is wrong. Paper A averages it over 5 models; average the
  per-model arrays yourself (e.g. ``np.mean([...], 0)``).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from prunekit import graph
from prunekit.evaluation.knn import KNNIndex

_PASS_THROUGH = ("BatchNormalization", "LayerNormalization", "Activation", "ReLU", "LeakyReLU",
                 "ELU", "PReLU", "Softmax", "Dropout", "SpatialDropout2D", "GaussianNoise")
_COMPUTE = ("Dense", "Conv1D", "Conv2D", "Conv3D", "DepthwiseConv2D", "SeparableConv2D",
            "Conv2DTranspose", "Add", "Concatenate")


@dataclass
class PredictionDepth:
    """``baldock``: depth vs the final prediction; ``pd_score``: vs the true labels (None if
    not given); ``knn_predictions``: (layers, examples) probe predictions."""

    baldock: np.ndarray
    pd_score: np.ndarray | None
    knn_predictions: np.ndarray


def depth_from_predictions(knn_predictions, reference) -> np.ndarray:
    """``1 + index of the last layer whose prediction differs from reference`` (0 if none)."""
    preds = np.asarray(knn_predictions)
    reference = np.asarray(reference)
    if preds.ndim != 2 or reference.shape != preds.shape[1:]:
        raise ValueError(f"knn_predictions must be (layers, examples) and reference (examples,); "
                         f"got {preds.shape} and {reference.shape}.")
    wrong = preds != reference[None, :]
    last_wrong = preds.shape[0] - 1 - np.argmax(wrong[::-1], axis=0)
    return np.where(wrong.any(axis=0), last_wrong + 1, 0).astype(np.int32)


def prediction_depth(train_reps, train_labels, test_reps, reference, k: int = 30, *,
                     true_labels=None, chunk_size: int | None = None,
                     workers: int = 2) -> PredictionDepth:
    """Per-example prediction depth; ``train_reps``/``test_reps`` are lists, one (n, d) array
    per probed layer in network order; ``reference`` is the network's final prediction.
    ``workers`` layers are probed at once (threads; keeps every core busy between the
    multi-threaded TensorFlow ops); the result does not depend on it."""
    if len(train_reps) != len(test_reps) or not train_reps:
        raise ValueError(f"train_reps and test_reps must list the same layers (at least one); got "
                         f"{len(train_reps)} and {len(test_reps)}.")
    n_test = len(test_reps[0])
    for l, (tr, te) in enumerate(zip(train_reps, test_reps)):
        if len(tr) != len(train_labels) or len(te) != n_test:
            raise ValueError(f"layer {l}: {len(tr)} train / {len(te)} test representations, expected "
                             f"{len(train_labels)} / {n_test}.")
    for name, ref in (("reference", reference), ("true_labels", true_labels)):
        if ref is not None and len(ref) != n_test:
            raise ValueError(f"{name} has {len(ref)} entries but there are {n_test} test examples.")
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}.")

    def probe(layer):
        return KNNIndex(train_reps[layer], train_labels, k).predict(test_reps[layer], chunk_size)

    # widest layers first, so that the last ones to finish are the cheapest (balanced threads)
    order = sorted(range(len(train_reps)), key=lambda l: -np.shape(train_reps[l])[-1])
    with ThreadPoolExecutor(min(workers, len(train_reps))) as pool:
        done = dict(zip(order, pool.map(probe, order)))
    preds = np.stack([done[l] for l in range(len(train_reps))])
    pd_score = None if true_labels is None else depth_from_predictions(preds, true_labels)
    return PredictionDepth(depth_from_predictions(preds, reference), pd_score, preds)


def probe_layers(model) -> list:
    """Names of the layers probed by default: the output of every block.

    A block is a Dense / convolution / Add / Concatenate layer followed by the chain of
    element-wise layers (normalisation, activation, dropout) that consume only its output; the
    probe reads the end of that chain. Nested models count as one layer (name their inner
    layers explicitly if needed)."""
    from prunekit.evaluation._inputs import base_layer

    layers, names = model.layers, []
    for i, layer in enumerate(layers):
        if type(base_layer(layer)).__name__ not in _COMPUTE:
            continue
        end = layer
        for nxt in layers[i + 1:]:  # nodes of this model: wrapped copies share their BN/ReLU
            if (type(base_layer(nxt)).__name__ in _PASS_THROUGH
                    and _single_input(model, nxt) is graph.output_in(model, end)):
                end = nxt
            else:
                break
        names.append(end.name)
    return names


def _single_input(model, layer):
    try:
        inp = graph.input_in(model, layer)
    except (AttributeError, ValueError):
        return None
    return None if isinstance(inp, (list, tuple)) else inp


def layer_representations(model, x, layers=None, batch_size: int = 256) -> list:
    """One (n, d) array per probed layer: conv feature maps global-average-pooled over their
    spatial axes (d = channels), other outputs flattened. ``layers`` are layer names (default
    :func:`probe_layers`).

    Why pooled: flattened, WRN-16-2's first block is 32 x 32 x 32 = 32,768 values per example,
    6.5 GB per layer for CIFAR-10's 50,000 training images in float32 (and a k-NN over it 256x
    the arithmetic); pooled it is 32 values (6.4 MB), as the probes of Baldock et al. (2021) on
    convolutional layers. The model runs ``batch_size`` examples at a time and only the pooled
    outputs are kept; the k-NN then streams the test points in chunks of bounded score memory
    (:class:`prunekit.evaluation.knn.KNNIndex`), so memory is O(n * sum of channels)."""
    import tensorflow as tf
    import tf_keras as keras

    from prunekit.evaluation._inputs import batched

    names = list(layers) if layers is not None else probe_layers(model)
    if not names:
        raise ValueError("no layers to probe: the model has no Dense/Conv blocks; pass layers=[...].")
    known = {l.name for l in model.layers}
    missing = [n for n in names if n not in known]
    if missing:
        raise ValueError(f"layers {missing} are not in the model; it has {sorted(known)}.")
    outputs = [graph.output_in(model, n) for n in names]
    extractor = keras.Model(model.inputs, outputs)

    def pooled(xb):
        outs = extractor(xb, training=False)
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        res = []
        for o in outs:
            if o.shape.rank >= 3:  # (batch, *spatial, channels): average over spatial axes
                o = tf.reduce_mean(o, axis=list(range(1, o.shape.rank - 1)))
            res.append(tf.reshape(o, [tf.shape(o)[0], -1]))
        return res

    return batched(pooled, x, batch_size)
