"""Statistics of the pruning-at-initialisation criteria: GraSP's Hessian-gradient product and
SynFlow's synaptic-flow gradient, over the prunable kernels (keyed as :mod:`prunekit.prunable`).

``hessian_gradient`` (Wang et al. 2020, "Picking winning tickets before training by preserving
gradient flow", eq. 8 and the authors' code): with ``L_T`` the mean softmax cross-entropy of
the logits divided by the temperature T on the first N examples, inference mode,

    g = grad L_T (held constant, zero at pruned weights),   Hg = d/dtheta (g . grad L_T(theta)),

by double backpropagation: the exact Hessian-vector product, no approximation.

``synflow`` (Tanaka et al. 2020, "Pruning neural networks without any data by iteratively
conserving synaptic flow", Algorithm 1): every floating-point variable of the model (weights,
biases, batch-norm parameters and moving statistics, as the authors' code ``abs_``-es its
``state_dict``) replaced by its absolute value, pruned kernels zeroed, one all-ones input,
batch normalisation in inference mode,

    R = 1^T f(1; |theta|) = 1^T (prod_l |W_l|) 1 (no biases),   statistic: dR / d|theta|.

No data is read. Both depend on more than the weights (GraSP's temperature, the masks of each
SynFlow round), so :func:`compute` returns them as functions that their criterion evaluates:
``HessianGradient(temperature=..., masks=...)`` and ``SynFlowGradient(masks=...)``, each
returning ``{weight_name: tensor}``. The model's variables are left exactly as they were.
"""
from __future__ import annotations

import weakref

import tensorflow as tf

from prunekit import prunable

STATISTICS = ("hessian_gradient", "synflow")
_STEPS = weakref.WeakKeyDictionary()  # traced functions per model


def softmax_cross_entropy(loss) -> bool:
    """True when the loss plugin's objective is the per-example softmax cross-entropy of the
    model's logits (``cross_entropy``, label smoothing excluded): statistics defined on that
    objective may use the plugin."""
    import tf_keras as keras

    from prunekit.losses import LossPlugin

    keras_loss = loss.loss()
    return (isinstance(keras_loss, keras.losses.SparseCategoricalCrossentropy)
            and keras_loss.get_config().get("from_logits", False)
            and type(loss).predictive_log_probs is LossPlugin.predictive_log_probs)


def compute(model, requires, batches, loss=None) -> dict:
    """``{name: function}`` for the statistics of ``requires`` in :data:`STATISTICS`.

    ``batches``: a zero-argument callable yielding ``(x, y, weight, n)`` chunks (padded rows
    weigh 0), read only when the Hessian-gradient product is evaluated.
    """
    out = {}
    if "hessian_gradient" in requires:
        if loss is not None and not softmax_cross_entropy(loss):
            raise ValueError(f"the Hessian-gradient product (grasp) uses the softmax cross-entropy of the "
                             f"model's logits; loss plugin {type(loss).__name__} trains another objective "
                             f"(use snip or synflow with it, or pass loss=None).")
        out["hessian_gradient"] = HessianGradient(model, batches)
    if "synflow" in requires:
        out["synflow"] = SynFlowGradient(model)
    return out


def _kernels(model):
    weights = prunable.prunable_weights(model)
    if not weights:
        raise ValueError("the model has no prunable kernels (Dense / Conv layers).")
    return list(weights), list(weights.values())


def _traced(model, key, build):
    steps = _STEPS.setdefault(model, {})
    if key not in steps:
        steps[key] = build()
    return steps[key]


class HessianGradient:
    """``(temperature=1.0, masks=None) -> {name: Hg}`` on the data's first examples."""

    def __init__(self, model, batches):
        self.model, self.batches = model, batches

    def __call__(self, temperature: float = 1.0, masks: dict | None = None) -> dict:
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}.")
        names, variables = _kernels(self.model)
        grad_step, hg_step = _traced(self.model, "grasp", lambda: _grasp_steps(self.model, variables))
        t = tf.constant(float(temperature))
        chunks = list(self.batches())
        count = sum(n for *_, n in chunks)
        if count == 0:
            raise ValueError("data yielded no examples; the Hessian-gradient product needs at least one.")
        g = None
        for x, y, w, _ in chunks:
            part = grad_step(x, _onehot(y, self.model, x), w, t)
            g = part if g is None else [a + b for a, b in zip(g, part)]
        g = [gi / count for gi in g]
        if masks is not None:  # the masked network's gradient: pruned weights are not parameters
            g = [gi * tf.cast(masks[n], gi.dtype) if n in masks else gi for n, gi in zip(names, g)]
        hg = None
        for x, y, w, _ in chunks:
            part = hg_step(x, _onehot(y, self.model, x), w, t, g)
            hg = part if hg is None else [a + b for a, b in zip(hg, part)]
        return {n: h / count for n, h in zip(names, hg)}


def _onehot(y, model, x):
    """Integer labels (or one-hot rows) as float one-hot rows over the model's outputs."""
    y = tf.convert_to_tensor(y)
    if y.dtype.is_floating and y.shape.rank == 2 and y.shape[-1] > 1:
        return tf.cast(y, tf.float32)
    classes = model.outputs[0].shape[-1] if getattr(model, "outputs", None) else model(x[:1]).shape[-1]
    return tf.one_hot(tf.cast(tf.reshape(y, [-1]), tf.int32), classes)


def _grasp_steps(model, variables):
    def loss_of(x, y, w, t):  # log_softmax, not the fused op: it has no second derivative
        logits = tf.cast(model(x, training=False), tf.float32) / t
        return -tf.reduce_sum(w * tf.reduce_sum(y * tf.nn.log_softmax(logits), -1))

    @tf.function(reduce_retracing=True)
    def grad_step(x, y, w, t):
        with tf.GradientTape() as tape:
            loss = loss_of(x, y, w, t)
        return tape.gradient(loss, variables, unconnected_gradients=tf.UnconnectedGradients.ZERO)

    @tf.function(reduce_retracing=True)
    def hg_step(x, y, w, t, g):
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                loss = loss_of(x, y, w, t)
            grads = inner.gradient(loss, variables, unconnected_gradients=tf.UnconnectedGradients.ZERO)
            z = tf.add_n([tf.reduce_sum(a * b) for a, b in zip(grads, g)])
        return outer.gradient(z, variables, unconnected_gradients=tf.UnconnectedGradients.ZERO)

    return grad_step, hg_step


class SynFlowGradient:
    """``(masks=None) -> {name: dR/d|theta|}``; data-free (module docstring)."""

    def __init__(self, model):
        inputs = getattr(model, "inputs", None)
        if not inputs or len(inputs) != 1 or not inputs[0].shape[1:].is_fully_defined():
            raise ValueError("synflow needs a model with one input of known shape (a built Functional "
                             "or Sequential model with an Input).")
        self.model = model
        self.ones = tf.ones([1, *inputs[0].shape[1:]], inputs[0].dtype)

    def __call__(self, masks: dict | None = None) -> dict:
        model = self.model
        names, kernels = _kernels(model)
        mask_vars = prunable.mask_variables(model)
        floating = [v for v in model.variables if v.dtype.is_floating]
        read, step = _traced(model, "synflow", lambda: _synflow_steps(model, kernels, floating, mask_vars))
        given = [(masks or {}).get(n) for n in names]  # else the model's own masks, else none
        given = [tf.cast(m if m is not None else mask_vars.get(n, tf.ones(k.shape)), k.dtype)
                 for n, k, m in zip(names, kernels, given)]
        saved = read()
        try:
            grads, finite = step(self.ones, given)  # |.|, mask, forward, backward, restore: one graph
        except BaseException:
            for v, value in zip(floating, saved):
                v.assign(value)
            raise
        if not bool(finite):
            raise FloatingPointError("synflow: R = 1^T prod|W| 1 overflowed float32 for this model.")
        return {n: tf.convert_to_tensor(g, tf.float32) for n, g in zip(names, grads)}


def _synflow_steps(model, kernels, floating, mask_vars):
    """``read() -> values`` and ``step(ones, masks) -> (dR/d|theta|, finite)``; ``step`` leaves
    every variable as it found it."""
    wrapped = {id(k): mask_vars[k.name] for k in kernels if k.name in mask_vars}

    @tf.function
    def read():
        return [tf.identity(v) for v in floating]

    @tf.function
    def step(ones, masks):
        saved = [tf.identity(v) for v in floating]
        for v in floating:
            v.assign(tf.abs(v))
        for kernel, mask in zip(kernels, masks):
            kernel.assign(kernel * mask)
            if id(kernel) in wrapped:  # tfmot's forward pass multiplies by its own mask
                wrapped[id(kernel)].assign(tf.cast(mask, wrapped[id(kernel)].dtype))
        with tf.GradientTape() as tape:
            outputs = tf.nest.flatten(model(ones, training=False))
            r = tf.add_n([tf.reduce_sum(tf.cast(o, tf.float32)) for o in outputs])
        grads = tape.gradient(r, kernels, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in grads])
        with tf.control_dependencies(grads + [finite]):
            for v, value in zip(floating, saved):
                v.assign(value)
        return [tf.identity(g) for g in grads], tf.identity(finite)

    return read, step


__all__ = ["STATISTICS", "compute", "HessianGradient", "SynFlowGradient"]
