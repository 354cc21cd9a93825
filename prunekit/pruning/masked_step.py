"""The masked training step: pruned weights and their optimizer slots stay exactly zero.

Between forward passes the optimizer still updates pruned entries and keeps their momentum
/ Adam moments. :func:`install` replaces the model instance's ``train_step`` by one that, in
the same compiled graph after the update, multiplies every prunable weight and its optimizer
slots by the mask (under a tf.distribute strategy through ``merge_call``); :func:`uninstall`
undoes it at the end of ``fit``. The compiled step is kept for the next ``fit`` until
``compile`` is called again. Inside that step the wrappers call their layers directly
(tfmot's per-step counter, assertion, schedule ``cond`` and forward-pass masking are
redundant there), so a pruned step costs a dense step plus one multiply per weight and slot.
:func:`apply_masks` puts new masks on a model in one compiled call.
"""
from __future__ import annotations

import contextlib
import functools
import inspect

import tensorflow as tf

from prunekit import prunable


# --- optimizer state -----------------------------------------------------------------------

def optimizer_slots(optimizer, var) -> list:
    """The optimizer's per-weight state variables for ``var`` (momentum, Adam m/v/vhat, ...).

    tf_keras optimizers keep each slot kind in a list indexed by ``_index_dict``; legacy
    (OptimizerV2) ones answer ``get_slot``. Returns [] before the optimizer is built.
    """
    if optimizer is None:
        return []
    if hasattr(optimizer, "get_slot_names"):  # tf_keras.optimizers.legacy
        out = []
        for name in optimizer.get_slot_names():
            try:
                out.append(optimizer.get_slot(var, name))
            except (KeyError, ValueError):
                pass
        return out
    index_dict = getattr(optimizer, "_index_dict", None)
    if not index_dict:
        return []
    index = index_dict.get(optimizer._var_key(var))
    if index is None:
        return []
    out = []
    for attr, value in vars(optimizer).items():
        if attr.startswith("_variables") or not isinstance(value, (list, tuple)):
            continue
        if len(value) != len(index_dict):
            continue
        slot = value[index]
        if (isinstance(slot, tf.Variable) and slot.shape == var.shape and slot.name != var.name
                and not any(slot is s for s in out)):
            out.append(slot)
    return out


def weight_mask_pairs(model) -> list:
    masks = prunable.mask_variables(model)
    return [(w, masks[name]) for name, w in prunable.prunable_weights(model).items()]


def mask_in_graph(optimizer, pairs):
    """var <- var * mask for every prunable weight and its slots, inside the train step."""
    targets = []
    for weight, mask in pairs:
        targets.append((weight, mask))
        targets.extend((slot, mask) for slot in optimizer_slots(optimizer, weight))

    def multiply(var, mask):
        return var.assign(var * tf.cast(mask, var.dtype), read_value=False)

    context = tf.distribute.get_replica_context()
    if tf.distribute.has_strategy() and context is not None:
        # Replica context (MirroredStrategy): mirrored variables are updated from merge_call.
        def merge_fn(strategy):
            return tf.group([strategy.extended.update(v, multiply, args=(m,)) for v, m in targets])

        return context.merge_call(merge_fn)
    return tf.group([multiply(v, m) for v, m in targets])


@contextlib.contextmanager
def lean_wrappers(wrappers):
    """While the train step is traced, each wrapper calls its layer directly.

    tfmot's ``PruneLowMagnitude.call`` adds per-step ops prunekit does not need: a
    ``pruning_step`` increment, an assertion, the (never firing) schedule's ``cond`` and
    ``weight <- weight * mask`` before the forward pass. The masked step keeps weights
    masked after every update, and events mask them when masks change, so the forward pass
    can read the variables as they are. Evaluation and prediction graphs are unaffected.
    """
    saved = []
    try:
        for wrapper in wrappers:
            layer = wrapper.layer
            takes_training = "training" in inspect.getfullargspec(layer.call).args

            def lean_call(inputs, training=None, _layer=layer, _takes=takes_training, **kwargs):
                if _takes:
                    kwargs["training"] = training
                return _layer.call(inputs, **kwargs)

            saved.append((wrapper, wrapper.__dict__.get("call")))
            wrapper.call = lean_call
        yield
    finally:
        for wrapper, call in saved:
            if call is None:
                del wrapper.call
            else:
                wrapper.call = call


def _assign_masks(names, weights, mask_vars, slots, masks):
    for name, m in zip(names, masks):
        weight = weights[name]
        mask_vars[name].assign(tf.cast(m, mask_vars[name].dtype))
        weight.assign(weight * tf.cast(m, weight.dtype))
        for slot in slots[name]:
            slot.assign(slot * tf.cast(m, slot.dtype))


def apply_masks(model, new: dict) -> None:
    """mask <- new; weight and its optimizer slots <- themselves * new, in one compiled call.

    Traced once per model and optimizer state (the set of slot variables). The traced
    callable is a ``functools.partial`` so TensorFlow's retracing detector, which keys on the
    Python function, counts each model's function apart: many models in one process (a
    study, a test session) trace once each and log no retracing warnings.
    """
    weights, mask_vars = prunable.prunable_weights(model), prunable.mask_variables(model)
    slots = {name: optimizer_slots(model.optimizer, w) for name, w in weights.items()}
    key = (model.optimizer, tuple(id(s) for name in weights for s in slots[name]))
    cached = model.__dict__.get("_prunekit_apply")
    if cached is None or cached[0][0] is not key[0] or cached[0][1] != key[1]:
        names = list(weights)
        apply = functools.partial(_assign_masks, names, weights, mask_vars, slots)
        cached = (key, names, tf.function(apply, autograph=False))
        model.__dict__["_prunekit_apply"] = cached
    cached[2]([tf.cast(new[name], tf.float32) for name in cached[1]])


def mask_weights(model) -> None:
    """weight <- weight * mask for every prunable weight (eagerly; e.g. after set_weights)."""
    for weight, mask in weight_mask_pairs(model):
        weight.assign(weight * tf.cast(mask, weight.dtype))


def install(model, on_step, gradient=None) -> tuple:
    """Puts the masked, compiled train step on ``model`` (made by ``fit`` just before
    ``on_train_begin``); ``on_step()`` runs in Python before each call of the compiled step
    (an int comparison per step: no per-batch callback hooks). ``gradient``: a
    :class:`~prunekit.pruning.batch_gradient.BatchGradient` the step keeps |g| in when its
    flag is set (RigL). Returns what :func:`uninstall` needs."""
    saved = model.__dict__.get("train_step")
    # A fit interrupted before on_train_end leaves our step installed: start from its original.
    saved = getattr(saved, "_prunekit_saved", saved)
    if saved is not None:
        model.train_step = saved
    else:
        model.__dict__.pop("train_step", None)
    keras_function = model.train_function
    keras_function = getattr(keras_function, "_prunekit_keras_function", keras_function)
    # The compiled masked step is reused by later fits until compile() resets Keras' own
    # train_function (a new optimizer, loss or steps_per_execution): no retrace per fit.
    cached = model.__dict__.get("_prunekit_compiled")
    if (cached is None or keras_function is None or cached[0] is not keras_function or cached[1] is not saved
            or cached[2] is not gradient):
        cached = (keras_function, saved, gradient, *_compile_masked_step(model, saved, gradient))
        model.__dict__["_prunekit_compiled"] = cached
    train_step, compiled = cached[3:]
    # The compiled function calls model.train_step when it (re)traces, e.g. on a new shape.
    model.train_step = train_step
    mask_weights(model)  # the first step starts from masked weights (set_weights may undo them)

    def train_function(iterator):
        on_step()
        return compiled(iterator)

    train_function._prunekit_keras_function = keras_function
    model.train_function = train_function
    return saved, keras_function


def _compile_masked_step(model, saved, gradient=None):
    """``(train_step, train_function)``: Keras' step + in-graph masking, lean wrappers (and,
    with ``gradient``, |g| kept for RigL when its flag is set)."""
    original = model.train_step
    pairs = weight_mask_pairs(model)
    wrappers = prunable.wrappers(model)
    hook = gradient.hooked if gradient is not None else lambda _optimizer: contextlib.nullcontext()

    def train_step(data):
        with lean_wrappers(wrappers), hook(model.optimizer):
            logs = original(data)
        mask_in_graph(model.optimizer, pairs)
        return logs

    train_step._prunekit_saved = saved
    model.train_step = train_step
    model.train_function = None
    return train_step, model.make_train_function(force=True)


def uninstall(model, installed: tuple) -> None:
    """Undoes :func:`install`."""
    saved, keras_function = installed
    if saved is not None:
        model.train_step = saved
    else:
        model.__dict__.pop("train_step", None)
    model.train_function = keras_function


__all__ = ["optimizer_slots", "apply_masks", "mask_weights", "install", "uninstall",
           "weight_mask_pairs", "mask_in_graph", "lean_wrappers"]
