"""Mean gradient and exact Fisher diagonal of the prunable weights, on a data sample.

With logits ``f(x)``, ``p = softmax(f(x))`` and the cross-entropy loss, on N examples:

    gradient:  g_i  = (1/N) sum_x d CE(f(x), y) / d theta_i
    fisher:    F_ii = (1/N) sum_x sum_c p_c(x) (d log p_c(x) / d theta_i)^2

F is the true Fisher, equal to the Gauss-Newton diagonal for softmax cross-entropy
(Martens 2020, "New insights and perspectives on the natural gradient method", sec. 9.2);
not the empirical Fisher and not sampled labels. Labels are used by the gradient only.

Computed per layer, not per weight: for a layer with input patches ``a`` (n, P, K) and
pre-activation output ``z`` (n, P, F), the per-example gradient of ``log p_c`` is
``a^T delta_c`` with ``delta_c = d log p_c / d z`` (a sum over the P positions).
One forward pass records every ``a`` and ``z``; C backward passes from the logits to the
``z`` only (never to the weights), all in the same graph, give every ``sqrt(p_c) delta_c``:

    Dense (P = 1):        F = (a^2)^T sum_c p_c delta_c^2
    Conv / shared (P > 1): F = sum_x sum_c (a_x^T sqrt(p_c) delta_{c,x})^2

(Kunstner et al. 2019, "Limitations of the empirical Fisher approximation"; BackPACK,
Dangel et al. 2020). With both statistics and the default cross-entropy the passes run on
the unscaled ``delta_c`` (``p_c`` weighs the squared products) and the gradient reuses
them, ``d CE / d z = -sum_c y_c delta_c`` (for integer labels ``-delta_y``, one gather). All inside one ``tf.function``, examples in chunks. The forward pass
is the model's own in inference mode, so a tfmot-wrapped model gives the statistics of the
masked network, keyed by the same variable names (:mod:`prunekit.prunable`); like any
forward pass of tfmot's wrappers, it also sets the masked weights to zero.
"""
from __future__ import annotations

import contextlib
import weakref

import tensorflow as tf
import tf_keras as keras
from tensorflow_model_optimization.python.core.sparsity.keras import pruning_wrapper

from prunekit import init_statistics, prunable

STATISTICS = ("gradient", "fisher")
# Largest per-example gradient block (elements) a convolution holds at once: 1M = 4 MB
# (larger blocks measured slower on CPU; the number of blocks is a graph loop, not unrolled).
_BLOCK_ELEMENTS = 1 << 20
# Up to this many classes the backward passes are separate graph ops; beyond, one
# tf.vectorized_map (smaller graph, but about 6x slower on a small convnet on CPU).
_MAX_UNROLLED = 64
_SUPPORTED = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D)
_UNSUPPORTED = (keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose)
# Traced steps per model, keyed by (statistics, input specs): repeated calls (a pruning
# callback scoring every few hundred steps) do not retrace. Variables are read at call time.
_STEPS = weakref.WeakKeyDictionary()


def mean_gradient(model, data, num_examples: int = 1000, batch_size: int = 250, loss=None) -> dict:
    """``{weight_name: g}``, the mean loss gradient over the first examples."""
    return compute(model, data, ("gradient",), num_examples, batch_size, loss)["gradient"]


def fisher_diagonal(model, data, num_examples: int = 1000, batch_size: int = 250, loss=None) -> dict:
    """``{weight_name: F}``, the exact Fisher / Gauss-Newton diagonal (labels unused)."""
    return compute(model, data, ("fisher",), num_examples, batch_size, loss)["fisher"]


def compute(model, data, requires, num_examples: int = 1000, batch_size: int = 250,
            loss=None) -> dict:
    """``{"gradient": {...}, "fisher": {...}}`` restricted to ``requires``, on the same examples.

    ``data``: a ``tf.data.Dataset`` of ``(x, y)`` batches (or single examples, told apart by
    the model's input rank), or a tuple ``(x, y)`` of arrays; the first ``num_examples``
    are used, ``batch_size`` at a time. The model must output logits; ``y`` holds integer
    labels (or one-hot rows) and may be missing (``x``-only data) for the Fisher alone.

    ``loss``: a loss plugin (:class:`prunekit.losses.LossPlugin`, or its registered name).
    The statistics are then those of the plugin's own objective on the plugin's own views
    (``statistics_views``): g of its Keras loss, F of its predictive distribution
    ``predictive_log_probs`` (for softmax heads the exact GGN; for contrastive losses the
    softmax over the batch with the other rows held constant), averaged over view rows.
    Default (``None``): softmax cross-entropy of the model's logits.
    """
    if isinstance(loss, str):
        from prunekit import registry
        loss = registry.get_loss(loss)
    requires = _check_requires(requires)
    extra = init_statistics.compute(  # pruning-at-initialisation statistics, evaluated lazily
        model, requires, lambda: _batches(model, data, num_examples, batch_size, True), loss)
    requires = tuple(s for s in STATISTICS if s in set(requires))
    if not requires:
        return extra
    if num_examples < 1 or batch_size < 1:
        raise ValueError(f"num_examples and batch_size must be >= 1, got {num_examples}, {batch_size}.")
    layers = _prunable_layers(model)
    need_labels = "gradient" in requires and (loss is None or loss.needs_labels)
    totals, count = None, 0
    for x, y, weight, n in _batches(model, data, num_examples, batch_size, need_labels):
        if loss is not None:  # the plugin's views of the real rows; no padding (rows interact)
            x, y = loss.statistics_views(x[:n], y[:n] if loss.needs_labels else None)
            n = int(x.shape[0])
            weight = tf.ones([n])
        out = _cached_step(model, layers, requires, x, y, weight, loss)(x, y, weight)
        totals = out if totals is None else tf.nest.map_structure(tf.add, totals, out)
        count += n
    if count == 0:
        raise ValueError("data yielded no examples; statistics need at least one.")
    return {**extra, **{s: {name: t / count for name, t in totals[s].items()} for s in requires}}


def _check_requires(requires):
    if isinstance(requires, str):
        requires = (requires,)
    requires = tuple(requires)
    known = STATISTICS + init_statistics.STATISTICS
    unknown = sorted(set(requires) - set(known))
    if unknown:
        raise ValueError(f"unknown statistics {unknown}; known: {list(known)}.")
    return requires


def _prunable_layers(model) -> dict:
    """``{weight_name: layer}`` with the inner (unwrapped) layer owning each prunable kernel."""
    weights = prunable.prunable_weights(model)
    out = {}
    for layer in prunable.flat_layers(model):
        inner = layer.layer if isinstance(layer, pruning_wrapper.PruneLowMagnitude) else layer
        names = [w.name for w in inner.weights if w.name in weights]
        if not names:
            continue
        if not isinstance(inner, _SUPPORTED) or isinstance(inner, _UNSUPPORTED):
            raise NotImplementedError(f"statistics support Dense, Conv1D and Conv2D layers, not "
                                      f"{type(inner).__name__} (layer {inner.name!r}).")
        if getattr(inner, "groups", 1) != 1 or getattr(inner, "data_format", "channels_last") != "channels_last":
            raise NotImplementedError(f"statistics support channels_last, groups=1 convolutions only "
                                      f"(layer {inner.name!r}).")
        for name in names:
            if inner.kernel.name != name:
                raise NotImplementedError(f"statistics cover layer kernels only, not {name}.")
            out[name] = inner
    missing = sorted(set(weights) - set(out))
    if missing:
        raise NotImplementedError(f"statistics found no supported layer owning {missing}.")
    return out


# ---------------------------------------------------------------------------------------
# Data: the first num_examples examples in equal-size padded chunks (one trace).

def _input_rank(model):
    inputs = getattr(model, "inputs", None)
    if inputs and len(inputs) == 1 and inputs[0].shape.rank is not None:
        return inputs[0].shape.rank
    return None


def _batches(model, data, num_examples, batch_size, need_labels):
    """Yields ``(x, y, weight, n)``: chunks padded to one size, ``weight`` 1 on real rows."""
    if isinstance(data, tf.data.Dataset):
        spec = data.element_spec
        has_labels = isinstance(spec, tuple) and len(spec) >= 2
        x_spec = spec[0] if isinstance(spec, tuple) else spec
        if not isinstance(x_spec, tf.TensorSpec):
            raise TypeError(f"data must yield (x, y) with x a single tensor, got element_spec {spec}.")
        ds = data.map(lambda *e: (e[0], e[1]) if has_labels else e[0]) if isinstance(spec, tuple) else data
        rank = _input_rank(model)
        if rank is None or x_spec.shape.rank == rank:
            ds = ds.unbatch()
        elif x_spec.shape.rank != rank - 1:
            raise ValueError(f"data yields x of rank {x_spec.shape.rank}; the model takes rank {rank} "
                             f"batches (or rank {rank - 1} single examples).")
        if not has_labels:
            ds = ds.map(lambda x: (x, tf.zeros([], tf.int32)))
        chunks = ((x, y) for x, y in ds.take(num_examples).batch(batch_size))
        size = min(batch_size, num_examples)
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        data_x, data_y = data
        has_labels = data_y is not None
        data_x = data_x[:num_examples]
        data_y = data_y[:num_examples] if has_labels else tf.zeros([len(data_x)], tf.int32)
        chunks = ((data_x[i:i + batch_size], data_y[i:i + batch_size])
                  for i in range(0, len(data_x), batch_size))
        size = min(batch_size, len(data_x))
    else:
        raise TypeError(f"data must be a tf.data.Dataset or a tuple (x, y) of arrays, got "
                        f"{type(data).__name__}.")
    if need_labels and not has_labels:
        raise ValueError("the gradient needs labels: data must yield (x, y) pairs.")
    for chunk_x, chunk_y in chunks:
        x, y = tf.convert_to_tensor(chunk_x), tf.convert_to_tensor(chunk_y)
        n = int(x.shape[0])
        if n == 0:
            continue
        if size > n:  # pad the last chunk to the common size; padded rows weigh 0
            x = tf.concat([x, tf.zeros([size - n, *x.shape[1:]], x.dtype)], 0)
            y = tf.concat([y, tf.zeros([size - n, *y.shape[1:]], y.dtype)], 0)
        yield x, y, tf.concat([tf.ones([n]), tf.zeros([size - n])], 0), n


# ---------------------------------------------------------------------------------------
# The traced step: one forward pass recording (input, pre-activation) per prunable layer.

@contextlib.contextmanager
def _recording(layers, tape_cell, records):
    """Temporarily make each layer record its input and (watched) pre-activation output."""
    saved = []
    try:
        for layer in {id(l): l for l in layers.values()}.values():
            call, activation = layer.call, layer.activation
            saved.append((layer, "call" in layer.__dict__, call, activation))

            def recording_call(inputs, *args, _layer=layer, _call=call, **kwargs):
                records.setdefault(id(_layer), []).append([inputs, None])
                return _call(inputs, *args, **kwargs)

            def recording_activation(z, _layer=layer, _activation=activation):
                tape_cell[0].watch(z)
                records[id(_layer)][-1][1] = z
                return _activation(z) if _activation is not None else z

            layer.call = tf.autograph.experimental.do_not_convert(recording_call)
            layer.activation = recording_activation
        yield
    finally:
        for layer, had_call, call, activation in saved:
            if had_call:
                layer.call = call
            else:
                del layer.call
            layer.activation = activation


def _cached_step(model, layers, requires, x, y, weight, loss):
    key = (requires, tuple(layers), id(loss), *((tuple(t.shape), t.dtype) for t in (x, y)))
    steps = _STEPS.setdefault(model, {})
    if key not in steps:
        steps[key] = _trace(model, layers, requires, x, y, weight, loss)
    return steps[key]


def _trace(model, layers, requires, x, y, weight, loss):
    """A concrete function ``(x, y, weight) -> {statistic: {name: sum over examples}}``."""
    records, tape_cell = {}, [None]

    def step(x, y, weight):
        records.clear()
        with tf.GradientTape(persistent=True, watch_accessed_variables=False) as tape:
            tape_cell[0] = tape
            outputs = model(x, training=False)
            if not isinstance(outputs, tf.Tensor) or outputs.shape.rank != 2:
                raise ValueError(f"the model must output one tensor (batch, outputs), got {outputs}.")
            outputs32 = tf.cast(outputs, tf.float32)
            # log p (n, C): the predictive distribution whose Fisher is taken
            log_p = (tf.nn.log_softmax(outputs32) if loss is None
                     else tf.cast(loss.predictive_log_probs(outputs), tf.float32))
            if "gradient" in requires:  # summed over rows; padded rows weigh 0
                objective = (tf.reduce_sum(weight * tf.nn.softmax_cross_entropy_with_logits(
                    _targets(y, outputs32.shape[-1]), outputs32)) if loss is None
                    else tf.cast(loss.loss()(y, outputs), tf.float32) * tf.reduce_sum(weight))
        num_classes = log_p.shape[-1]
        p = tf.stop_gradient(tf.exp(log_p))
        unrolled = "fisher" not in requires or num_classes <= _MAX_UNROLLED
        # Default cross-entropy: d CE / d z = -sum_c y_c d log p_c / d z, so the gradient comes
        # from the Fisher's own C backward passes (unscaled, p_c applied after) at no extra pass.
        shared = loss is None and unrolled and set(requires) == {"gradient", "fisher"}
        cotangents = []  # (target, (n, C) cotangent): one backward pass each
        if "fisher" in requires:  # sqrt(p_c) d log p_c / d z (or d log p_c / d z when shared)
            root = tf.sqrt(p * weight[:, None])
            cotangents += [(log_p, (tf.ones_like(root[:, c:c + 1]) if shared else root[:, c:c + 1])
                            * tf.one_hot(c, num_classes)) for c in range(num_classes)]
        if "gradient" in requires and not shared:
            cotangents.append((objective, None))
        names = list(layers)
        used = [r for name in names for r in records.get(id(layers[name]), [])]
        if not used or any(z is None for _, z in used):
            raise NotImplementedError("a prunable layer was not called with its activation in the forward pass.")
        zs = [z for _, z in used]

        def backward(target, cotangent):
            return tape.gradient(target, zs, output_gradients=cotangent,
                                 unconnected_gradients=tf.UnconnectedGradients.ZERO)

        if unrolled:  # separate passes run faster than tf.vectorized_map
            deltas = [backward(t, c) for t, c in cotangents]
        else:
            fisher_cots = [c for t, c in cotangents if t is log_p]
            stacked = tf.vectorized_map(lambda c: backward(log_p, c), tf.stack(fisher_cots))
            deltas = [[d[i] for d in stacked] for i in range(len(fisher_cots))]
            deltas += [backward(t, c) for t, c in cotangents if t is not log_p]
        # deltas[i][j]: d <cotangent i, logits> / d zs[j]
        if shared:
            scale = p * weight[:, None]  # F = sum_c p_c (a^T delta_c)^2
            hard = _hard_labels(y, num_classes)  # g = a^T sum_c (-y_c) delta_c
            label_weight = -_targets(y, num_classes) * weight[:, None] if hard is None else -weight
        out = {s: {} for s in requires}
        j = 0
        for name in names:
            layer = layers[name]
            calls = records[id(layer)]
            a = tf.concat([_patches(layer, inp) for inp, _ in calls], 1)  # (n, P, K)
            d = [tf.concat([_flat(delta[k], a.shape[0]) for k in range(j, j + len(calls))], 1)
                 for delta in deltas]  # per cotangent: (n, P, F)
            j += len(calls)
            shape = layer.kernel.shape
            if shared:
                d_all = tf.stack(d, 2)  # (n, P, C, F)
                if hard is None:  # soft or one-hot rows
                    d_grad = tf.einsum("npcf,nc->npf", d_all, label_weight)
                else:  # -w delta_y: one gather, no pass over the other classes
                    d_grad = tf.gather(d_all, hard, axis=2, batch_dims=1) * label_weight[:, None, None]
                out["gradient"][name] = tf.reshape(tf.einsum("npk,npf->kf", a, d_grad), shape)
                out["fisher"][name] = tf.reshape(_fisher(a, d_all, scale), shape)
                continue
            if "gradient" in requires:
                out["gradient"][name] = tf.reshape(tf.einsum("npk,npf->kf", a, d[-1]), shape)
            if "fisher" in requires:
                out["fisher"][name] = tf.reshape(_fisher(a, tf.stack(d[:num_classes], 2)), shape)
        return out

    specs = [tf.TensorSpec(t.shape, t.dtype) for t in (x, y, weight)]
    with _recording(layers, tape_cell, records):
        return tf.function(step, autograph=False).get_concrete_function(*specs)


def _targets(y, num_classes):
    if y.shape.rank == 2 and y.shape[-1] == num_classes and y.dtype.is_floating:
        return tf.cast(y, tf.float32)  # one-hot (or soft) targets
    if y.shape.rank == 2 and y.shape[-1] == 1:
        y = y[:, 0]
    if y.shape.rank != 1:
        raise ValueError(f"labels must be integers of shape (batch,) or one-hot rows, got shape {y.shape}.")
    return tf.one_hot(tf.cast(y, tf.int32), num_classes)


def _hard_labels(y, num_classes):
    """Integer labels (n,) when ``y`` holds them, else None (one-hot or soft rows)."""
    if y.dtype.is_floating and y.shape.rank == 2 and y.shape[-1] == num_classes:
        return None
    _targets(y, num_classes)  # validates the shape
    return tf.cast(y[:, 0] if y.shape.rank == 2 else y, tf.int32)


def _flat(delta, n):
    """(n, ..., F) -> (n, P, F)."""
    return tf.reshape(tf.cast(delta, tf.float32), [n, -1, delta.shape[-1]])


def _patches(layer, inputs):
    """The layer input as (n, P, K) so that z[n, p, :] = a[n, p, :] @ kernel.reshape(K, F)."""
    a = tf.cast(inputs, tf.float32)
    n = a.shape[0]
    if isinstance(layer, keras.layers.Dense):
        return tf.reshape(a, [n, -1, a.shape[-1]])
    if isinstance(layer, keras.layers.Conv1D):  # as a 1 x L image
        kernel, stride, rate = layer.kernel_size[0], layer.strides[0], layer.dilation_rate[0]
        padding = layer.padding.upper()
        if padding == "CAUSAL":
            a = tf.pad(a, [[0, 0], [rate * (kernel - 1), 0], [0, 0]])
            padding = "VALID"
        a = a[:, None]
        sizes, strides, rates = [1, 1, kernel, 1], [1, 1, stride, 1], [1, 1, rate, 1]
    else:
        sizes = [1, *layer.kernel_size, 1]
        strides, rates = [1, *layer.strides, 1], [1, *layer.dilation_rate, 1]
        padding = layer.padding.upper()
    patches = tf.image.extract_patches(a, sizes=sizes, strides=strides, rates=rates, padding=padding)
    return tf.reshape(patches, [n, -1, patches.shape[-1]])


def _block_size(n, limit):
    """The largest divisor of n up to ``limit`` (no padded copy of a and d), unless that is
    under limit / 4 (then ``limit``, and the last block is padded)."""
    divisor = max(b for b in range(1, limit + 1) if n % b == 0)
    return divisor if 4 * divisor >= limit else limit


def _fisher(a, d, scale=None):
    """sum_x sum_c s_{x,c} (a_x^T d_{x,:,c})^2 for a (n, P, K), d (n, P, C, F) -> (K, F).

    ``scale`` (n, C): the weight s of each example and class (default 1, for d already
    scaled by sqrt(p_c)); applied to the squared per-example products, not to d.
    """
    n, positions, k = a.shape
    num_classes, filters = d.shape[2], d.shape[3]
    if positions == 1:  # Dense: (a^2)^T sum_c s_c d_c^2
        d2 = tf.square(d[:, 0])  # (n, C, F)
        d2 = tf.reduce_sum(d2 if scale is None else d2 * scale[:, :, None], 1)
        return tf.matmul(tf.square(a[:, 0]), d2, transpose_a=True)
    d = tf.reshape(d, [n, positions, num_classes * filters])
    parts = [a, d] if scale is None else [a, d, tf.repeat(scale, filters, axis=1)]  # class-major
    block = _block_size(n, max(1, min(n, _BLOCK_ELEMENTS // (k * num_classes * filters))))
    blocks = -(-n // block)
    if blocks * block != n:  # zero rows add nothing
        parts = [tf.pad(t, [[0, blocks * block - n]] + [[0, 0]] * (t.shape.rank - 1)) for t in parts]
    parts[0] = tf.reshape(parts[0], [blocks, block, positions, k])
    parts[1] = tf.reshape(parts[1], [blocks, block, positions, num_classes * filters])
    if scale is not None:
        parts[2] = tf.reshape(parts[2], [blocks, block, 1, num_classes * filters])

    def add_block(total, ads):
        squared = tf.square(tf.matmul(ads[0], ads[1], transpose_a=True))  # (block, K, C*F)
        return total + tf.reduce_sum(squared if len(ads) == 2 else squared * ads[2], 0)

    total = tf.foldl(add_block, tuple(parts), initializer=tf.zeros([k, num_classes * filters]))
    return tf.reduce_sum(tf.reshape(total, [k, num_classes, filters]), 1)
