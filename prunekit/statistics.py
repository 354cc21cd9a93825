"""Mean gradient and Fisher diagonal of the prunable weights, on a data sample.

With logits ``f(x)``, ``p = softmax(f(x))`` and the cross-entropy loss, on N examples:

    gradient:  g_i  = (1/N) sum_x d CE(f(x), y) / d theta_i
    fisher:    F_ii = (1/N) sum_x sum_c p_c(x) (d log p_c(x) / d theta_i)^2      (exact)

The exact F is the true Fisher, equal to the Gauss-Newton diagonal for softmax cross-entropy
(Martens 2020, "New insights and perspectives on the natural gradient method", sec. 9.2).
Two cheaper estimators replace the sum over classes (:mod:`prunekit.fisher`): ``sampled``
(labels drawn from p, unbiased) and ``empirical`` (the true labels, biased).

Computed per layer, not per weight: for a layer with input patches ``a`` (n, P, K) and
pre-activation output ``z`` (n, P, F), the per-example gradient of ``log p_c`` is
``a^T delta_c`` with ``delta_c = d log p_c / d z`` (a sum over the P positions).
One forward pass records every ``a`` and ``z``; K backward passes (one per class for
``exact``, per drawn label for ``sampled``, one for ``empirical``) from the logits to the
``z`` only (never to the weights), all in the same graph, give every ``sqrt(s_k) delta_k``:

    Dense (P = 1):        F = (a^2)^T sum_k s_k delta_k^2
    Conv / shared (P > 1): F = sum_x sum_k (a_x^T sqrt(s_k) delta_{k,x})^2

(Kunstner et al. 2019, "Limitations of the empirical Fisher approximation"; BackPACK,
Dangel et al. 2020). With both statistics, the default cross-entropy and the ``exact`` or
``empirical`` Fisher, the passes run on the unscaled ``delta_k`` (``s_k`` weighs the squared
products) and the gradient reuses them, ``d CE / d z = -sum_c y_c delta_c`` (for integer
labels ``-delta_y``, one gather). All inside one ``tf.function``, examples in chunks. The
forward pass is the model's own in inference mode, so a tfmot-wrapped model gives the
statistics of the masked network, keyed by the same variable names (:mod:`prunekit.prunable`);
like any forward pass of tfmot's wrappers, it also sets the masked weights to zero.
"""
from __future__ import annotations

import weakref

import tensorflow as tf

from prunekit import init_statistics
from prunekit import statistics_data
from prunekit import statistics_layers
from prunekit.fisher import ESTIMATORS, FisherEstimator, directions  # noqa: F401 (ESTIMATORS: public)

STATISTICS = ("gradient", "fisher")
# Up to this many Fisher passes (classes, or drawn labels) the backward passes are separate
# graph ops; beyond, one tf.vectorized_map (smaller graph, about 6x slower on a small convnet).
_MAX_UNROLLED = 64
# Traced steps per model, keyed by (statistics, estimator, input specs): repeated calls (a
# pruning callback scoring every few hundred steps) do not retrace. Variables (and the seed)
# are read at call time.
_STEPS = weakref.WeakKeyDictionary()


def mean_gradient(model, data, num_examples: int = 1000, batch_size: int = 250, loss=None) -> dict:
    """``{weight_name: g}``, the mean loss gradient over the first examples."""
    return compute(model, data, ("gradient",), num_examples, batch_size, loss)["gradient"]


def fisher_diagonal(model, data, num_examples: int = 1000, batch_size: int = 250, loss=None, *,
                    estimator: str = "exact", samples: int = 1, seed: int = 0) -> dict:
    """``{weight_name: F}``, the Fisher / Gauss-Newton diagonal by ``estimator``
    (:mod:`prunekit.fisher`): ``"exact"`` (labels unused), ``"sampled"`` (``samples`` labels
    per example drawn from the model with ``seed``), ``"empirical"`` (true labels; biased)."""
    return compute(model, data, ("fisher",), num_examples, batch_size, loss,
                   estimator=estimator, samples=samples, seed=seed)["fisher"]


def compute(model, data, requires, num_examples: int = 1000, batch_size: int = 250,
            loss=None, *, estimator: str | None = None, samples: int | None = None,
            seed: int | None = None) -> dict:
    """``{"gradient": {...}, "fisher": {...}}`` restricted to ``requires``, on the same examples.

    ``data``: a ``tf.data.Dataset`` of ``(x, y)`` batches (or single examples, told apart by
    the model's input rank), or a tuple ``(x, y)`` of arrays; the first ``num_examples``
    are used, ``batch_size`` at a time. The model must output logits; ``y`` holds integer
    labels (or one-hot rows) and may be missing (``x``-only data) for the Fisher alone.

    ``estimator``, ``samples``, ``seed``: the Fisher estimator (:class:`prunekit.fisher.
    FisherEstimator`); default: the one ``requires`` carries (a criterion's
    :class:`prunekit.fisher.Request`), else ``exact``. Chunk ``i`` draws with seed ``(seed, i)``.

    ``loss``: a loss plugin (:class:`prunekit.losses.LossPlugin`, or its registered name).
    The statistics are then those of the plugin's own objective on the plugin's own views
    (``statistics_views``): g of its Keras loss, F of its predictive distribution
    ``predictive_log_probs`` (for softmax heads the exact GGN; for contrastive losses the
    softmax over the batch with the other rows held constant), averaged over view rows.
    ``empirical`` needs a per-example softmax cross-entropy plugin (not a contrastive loss).
    Default (``None``): softmax cross-entropy of the model's logits.
    """
    if isinstance(loss, str):
        from prunekit import registry
        loss = registry.get_loss(loss)
    fisher = _estimator(requires, estimator, samples, seed)
    checked = _check_requires(requires)
    extra = init_statistics.compute(  # pruning-at-initialisation statistics, evaluated lazily
        model, checked, lambda: statistics_data.chunks(model, data, num_examples, batch_size, True,
                                                       "the Hessian-gradient product"), loss)
    requires = tuple(s for s in STATISTICS if s in set(checked))
    if not requires:
        return extra
    if num_examples < 1 or batch_size < 1:
        raise ValueError(f"num_examples and batch_size must be >= 1, got {num_examples}, {batch_size}.")
    if "fisher" not in requires:
        fisher = FisherEstimator()  # unused: one cache key
    elif fisher.needs_labels and loss is not None:
        _check_empirical(loss)
    layers = statistics_layers.prunable_layers(model)
    users = [u for u, used in (("the gradient", "gradient" in requires),
                               ("the empirical Fisher", "fisher" in requires and fisher.needs_labels)) if used]
    need_labels = bool(users) and (loss is None or loss.needs_labels)
    why = " and ".join(users) + (" need labels" if len(users) > 1 else " needs labels")
    totals, count = None, 0
    chunks = statistics_data.chunks(model, data, num_examples, batch_size, need_labels, why)
    for index, (x, y, weight, n) in enumerate(chunks):
        if loss is not None:  # the plugin's views of the real rows; no padding (rows interact)
            x, y = loss.statistics_views(x[:n], y[:n] if loss.needs_labels else None)
            n = int(x.shape[0])
            weight = tf.ones([n])
        seed_i = tf.constant([fisher.seed, index], tf.int64)
        out = _cached_step(model, layers, requires, fisher, x, y, weight, loss)(x, y, weight, seed_i)
        totals = out if totals is None else tf.nest.map_structure(tf.add, totals, out)
        count += n
    if count == 0:
        raise ValueError("data yielded no examples; statistics need at least one.")
    return {**extra, **{s: {name: t / count for name, t in totals[s].items()} for s in requires}}


def _estimator(requires, name, samples, seed) -> FisherEstimator:
    """The estimator given by keywords, or carried by ``requires``; both must agree."""
    given = {k: v for k, v in (("name", name), ("samples", samples), ("seed", seed)) if v is not None}
    carried = getattr(requires, "fisher", None)
    if not isinstance(carried, FisherEstimator):
        return FisherEstimator(**given)
    clash = {k: v for k, v in given.items() if getattr(carried, k) != v}
    if clash:
        raise ValueError(f"requires carries {carried}, and the keywords {clash} contradict it: "
                         "give the estimator one way.")
    return carried


def _check_empirical(loss):
    if not init_statistics.softmax_cross_entropy(loss):
        raise ValueError(f"the 'empirical' Fisher squares per-example gradients of -log p(y|x), which "
                         f"loss plugin {type(loss).__name__} does not define (not a per-example softmax "
                         f"cross-entropy, e.g. a contrastive loss); use estimator 'exact' or 'sampled'.")


def _check_requires(requires):
    if isinstance(requires, str):
        requires = (requires,)
    requires = tuple(requires)
    known = STATISTICS + init_statistics.STATISTICS
    unknown = sorted(set(requires) - set(known))
    if unknown:
        raise ValueError(f"unknown statistics {unknown}; known: {list(known)}.")
    return requires


# ---------------------------------------------------------------------------------------
# The traced step: one forward pass recording (input, pre-activation) per prunable layer.

def _cached_step(model, layers, requires, fisher, x, y, weight, loss):
    key = (requires, tuple(layers), id(loss), fisher.name, fisher.samples,
           *((tuple(t.shape), t.dtype) for t in (x, y)))
    steps = _STEPS.setdefault(model, {})
    if key not in steps:
        steps[key] = _trace(model, layers, requires, fisher, x, y, weight, loss)
    return steps[key]


def _trace(model, layers, requires, fisher, x, y, weight, loss):
    """A concrete function ``(x, y, weight, seed) -> {statistic: {name: sum over examples}}``."""
    records, tape_cell = {}, [None]

    def step(x, y, weight, seed):
        records.clear()
        with tf.GradientTape(persistent=True, watch_accessed_variables=False) as tape:
            tape_cell[0] = tape
            log_p, objective = _forward(model, x, y, weight, loss, requires)
        plan = _Plan(requires, fisher, loss, log_p, y, weight, seed)
        names = list(layers)
        used = [r for name in names for r in records.get(id(layers[name]), [])]
        if not used or any(z is None for _, z in used):
            raise NotImplementedError("a prunable layer was not called with its activation in the forward pass.")
        zs = [z for _, z in used]

        def backward(target, cotangent):  # d <cotangent, target> / d zs
            return tape.gradient(target, zs, output_gradients=cotangent,
                                 unconnected_gradients=tf.UnconnectedGradients.ZERO)

        if plan.unrolled:  # separate passes run faster than tf.vectorized_map
            deltas = [backward(log_p, c) for c in plan.cotangents]
        else:
            stacked = tf.vectorized_map(lambda c: backward(log_p, c), tf.stack(plan.cotangents))
            deltas = [[d[i] for d in stacked] for i in range(len(plan.cotangents))]
        grad_deltas = backward(objective, None) if "gradient" in requires and not plan.shared else None
        return _per_layer(layers, records, deltas, grad_deltas, plan)

    specs = [tf.TensorSpec(t.shape, t.dtype) for t in (x, y, weight)]
    with statistics_layers.recording(layers, tape_cell, records):
        return tf.function(step, autograph=False).get_concrete_function(
            *specs, tf.TensorSpec([2], tf.int64))


def _forward(model, x, y, weight, loss, requires):
    """``(log_p, objective)``: log p (n, C) whose Fisher is taken; the summed loss (or None)."""
    outputs = model(x, training=False)
    if not isinstance(outputs, tf.Tensor) or outputs.shape.rank != 2:
        raise ValueError(f"the model must output one tensor (batch, outputs), got {outputs}.")
    outputs32 = tf.cast(outputs, tf.float32)
    log_p = (tf.nn.log_softmax(outputs32) if loss is None
             else tf.cast(loss.predictive_log_probs(outputs), tf.float32))
    objective = None
    if "gradient" in requires:  # summed over rows; padded rows weigh 0
        objective = (tf.reduce_sum(weight * tf.nn.softmax_cross_entropy_with_logits(
            _targets(y, outputs32.shape[-1]), outputs32)) if loss is None
            else tf.cast(loss.loss()(y, outputs), tf.float32) * tf.reduce_sum(weight))
    return log_p, objective


class _Plan:
    """The Fisher's cotangents on log p and, when the default cross-entropy's gradient is
    read off the same passes (``shared``), how: ``gradient_delta(d_all)`` -> d CE / d z."""

    def __init__(self, requires, fisher, loss, log_p, y, weight, seed):
        num_classes = log_p.shape[-1]
        passes = fisher.passes(num_classes) if "fisher" in requires else 0
        self.unrolled = passes <= _MAX_UNROLLED
        # exact: d CE / d z = -sum_c y_c delta_c; empirical: delta_0 = d <y, log p> / dz = -d CE / dz
        self.shared = (loss is None and self.unrolled and set(requires) == {"gradient", "fisher"}
                       and fisher.name in ("exact", "empirical"))
        targets = _targets(y, num_classes) if self.shared or fisher.needs_labels else None
        self.cotangents, self.scale = ([], None) if not passes else directions(
            fisher, log_p, targets, weight, seed, scaled=not self.shared)
        self.gradient_delta = None
        if not self.shared:
            return
        hard = _hard_labels(y, num_classes)
        if fisher.name == "empirical":
            self.gradient_delta = lambda d_all: d_all[:, :, 0] * -weight[:, None, None]
        elif hard is None:  # soft or one-hot rows
            label_weight = -targets * weight[:, None]
            self.gradient_delta = lambda d_all: tf.einsum("npcf,nc->npf", d_all, label_weight)
        else:  # -w delta_y: one gather, no pass over the other classes
            self.gradient_delta = lambda d_all: (tf.gather(d_all, hard, axis=2, batch_dims=1)
                                                 * -weight[:, None, None])


def _per_layer(layers, records, deltas, grad_deltas, plan):
    """``{statistic: {name: sum over examples}}`` from the recorded inputs and the passes.

    ``deltas[k][j]``: Fisher pass k at recorded output j; ``grad_deltas[j]``: the gradient's.
    """
    out = {"fisher": {}} if deltas else {}
    if grad_deltas is not None or plan.gradient_delta is not None:
        out["gradient"] = {}
    j = 0
    for name, layer in layers.items():
        calls = records[id(layer)]
        a = tf.concat([statistics_layers.patches(layer, inp) for inp, _ in calls], 1)  # (n, P, K)
        span = range(j, j + len(calls))
        j += len(calls)
        shape = layer.kernel.shape
        if deltas:
            d_all = tf.stack([tf.concat([statistics_layers.flat(delta[k], a.shape[0]) for k in span], 1)
                              for delta in deltas], 2)  # (n, P, passes, F)
            out["fisher"][name] = tf.reshape(statistics_layers.fisher_sum(a, d_all, plan.scale), shape)
            if plan.gradient_delta is not None:
                out["gradient"][name] = tf.reshape(tf.einsum("npk,npf->kf", a, plan.gradient_delta(d_all)), shape)
        if grad_deltas is not None:
            d = tf.concat([statistics_layers.flat(grad_deltas[k], a.shape[0]) for k in span], 1)
            out["gradient"][name] = tf.reshape(tf.einsum("npk,npf->kf", a, d), shape)
    return out


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


