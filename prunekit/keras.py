"""model.fit integration over tfmot: ``wrap``, ``PruningCallback``, ``strip``.

tfmot's ``PruneLowMagnitude`` wrappers hold the masks and multiply each prunable weight by
its mask on every forward pass. ``wrap`` gives them a schedule that never fires, so prunekit
owns the masks: ``PruningCallback`` assigns them at the optimizer steps its schedule names,
from any registered criterion, ranked per layer or globally.

Between forward passes the optimizer still updates pruned entries and keeps their momentum
/ Adam moments. The callback therefore replaces the model instance's ``train_step`` by one
that, in the same compiled graph after the update, multiplies every prunable weight and its
optimizer slots by the mask: after each training step pruned weights are exactly zero and
their optimizer state is reset (under a tf.distribute strategy through ``merge_call``). The
schedule is checked in Python around the compiled step (an int comparison per step, no
per-batch callback hooks); both are undone at the end of ``fit``, and the compiled step is
kept for the next ``fit`` until ``compile`` is called again. Inside that step the wrappers
call their layers directly (tfmot's per-step counter, assertion, schedule ``cond`` and
forward-pass masking are redundant there), so a pruned step costs about what a dense step
costs plus one multiply per weight and slot. Scoring and masking stay
pure functions (:mod:`prunekit.criteria`, :mod:`prunekit.masks`); the callback only does
bookkeeping.
"""
from __future__ import annotations

import contextlib
import inspect
import math

import tensorflow as tf
import tf_keras as keras
from tensorflow_model_optimization.python.core.sparsity.keras import (
    prune, prune_registry, pruning_policy, pruning_schedule)

from prunekit import _backend
from prunekit import masks as masks_lib
from prunekit import prunable, registry


@keras.utils.register_keras_serializable(package="prunekit")
class NeverPrune(pruning_schedule.PruningSchedule):
    """A tfmot schedule that never fires: tfmot applies masks, prunekit chooses them.

    Registered with Keras, so a saved wrapped model loads under tfmot's ``prune_scope()``.
    """

    def __call__(self, step):
        return tf.constant(False), tf.constant(0.0, tf.float32)

    def get_config(self):
        return {"class_name": keras.utils.get_registered_name(type(self)), "config": {}}


class _PrunableOnly(pruning_policy.PruningPolicy):
    """Wrap only the layers whose weights prunekit prunes (Dense, Conv*, DepthwiseConv2D),
    less the layers named in ``exclude``."""

    def __init__(self, exclude=()):
        self.exclude = frozenset(exclude)

    def allow_pruning(self, layer):
        return (prunable.is_prunable(layer) and layer.name not in self.exclude
                and prune_registry.PruneRegistry.supports(layer))

    def ensure_model_supports_pruning(self, model):
        return None


def _check_not_subclassed(model):
    if not (isinstance(model, keras.Sequential) or getattr(model, "_is_graph_network", False)):
        raise TypeError(
            f"cannot wrap {type(model).__name__}: tfmot wraps only Functional or Sequential "
            "models; build the model as a Functional/Sequential model, or wrap its layers "
            "individually with tfmot's prune_low_magnitude(layer, pruning_schedule=prunekit.keras."
            "NeverPrune()) inside the subclass.")
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            _check_not_subclassed(layer)


def wrap(model, exclude=()):
    """A copy of ``model`` whose prunable layers are tfmot ``PruneLowMagnitude`` wrappers.

    The wrappers share the original layers' weights and never prune by themselves.
    ``exclude``: names of layers left dense, e.g. a loss plugin's heads
    (``wrap(model, exclude=plugin.head_layer_names(model))`` prunes the encoder only).
    """
    exclude = [exclude] if isinstance(exclude, str) else list(exclude)
    unknown = sorted(set(exclude) - {layer.name for layer in prunable.flat_layers(model)})
    if unknown:
        raise ValueError(f"exclude names layers the model does not have: {unknown}.")
    _backend.require_tf_keras_model(model)
    if prunable.is_wrapped(model):
        raise ValueError("the model is already wrapped (it has PruneLowMagnitude layers).")
    _check_not_subclassed(model)
    wrapped = prune.prune_low_magnitude(model, pruning_schedule=NeverPrune(),
                                        pruning_policy=_PrunableOnly(exclude))
    if not prunable.is_wrapped(wrapped):
        raise ValueError("the model has no prunable layers (Dense, Conv1D/2D/3D, Conv2DTranspose, "
                         "DepthwiseConv2D).")
    for wrapper in prunable.wrappers(wrapped):
        if wrapper.built:  # tfmot asserts pruning_step >= 1 after its per-call increment
            wrapper.pruning_step.assign(0)
    return wrapped


def strip(model):
    """A plain tf_keras model with the masks baked into the weights (tfmot ``strip_pruning``)."""
    _backend.require_tf_keras_model(model)
    if not prunable.is_wrapped(model):
        raise ValueError("the model is not wrapped: strip takes the model returned by prunekit.wrap.")
    for weight, mask in _weight_mask_pairs(model):
        weight.assign(weight * tf.cast(mask, weight.dtype))
    return prune.strip_pruning(model)


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


def _weight_mask_pairs(model) -> list:
    masks = prunable.mask_variables(model)
    return [(w, masks[name]) for name, w in prunable.prunable_weights(model).items()]


def _mask_in_graph(optimizer, pairs):
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
def _lean_wrappers(wrappers):
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


def _apply_masks(model, weights, mask_vars, new):
    """mask <- new; weight and its optimizer slots <- themselves * new, in one compiled call
    (traced once per model and optimizer state: an event costs one call, not ~6 eager ops
    per layer)."""
    slots = {name: optimizer_slots(model.optimizer, w) for name, w in weights.items()}
    key = (model.optimizer, tuple(id(s) for name in weights for s in slots[name]))
    cached = model.__dict__.get("_prunekit_apply")
    if cached is None or cached[0][0] is not key[0] or cached[0][1] != key[1]:
        names = list(weights)

        def apply(masks):
            for name, m in zip(names, masks):
                weight = weights[name]
                mask_vars[name].assign(tf.cast(m, mask_vars[name].dtype))
                weight.assign(weight * tf.cast(m, weight.dtype))
                for slot in slots[name]:
                    slot.assign(slot * tf.cast(m, slot.dtype))

        cached = (key, names, tf.function(apply, autograph=False))
        model.__dict__["_prunekit_apply"] = cached
    cached[2]([tf.cast(new[name], tf.float32) for name in cached[1]])


# --- the callback --------------------------------------------------------------------------

class PruningCallback(keras.callbacks.Callback):
    """Prunes a wrapped model during ``fit`` at the optimizer steps ``schedule`` names.

    Args:
      criterion: a registered criterion name (``prunekit-plugins`` lists them) or an instance.
      schedule: e.g. ``schedules.Gradual(...)``; anything with ``target_at(step)``,
        ``final_target`` and ``last_step``; or a schedule in timing units
        (``prunekit.timing.OneShot(0.9, at="3ep")``, anything with ``resolve(length)``),
        resolved to optimizer steps when ``fit`` starts.
      scope: ``"layer"`` (each layer reaches the target) or ``"global"`` (overall).
      data: examples for gradient / curvature statistics: a ``tf.data.Dataset`` of (x, y)
        batches or an (x, y) pair of arrays. Needed when the criterion requires statistics.
      num_examples: examples used for the statistics.
      verbose: 1 prints one line per pruning event.
      length: the training length (``prunekit.timing.Length``) a timed schedule resolves
        against; default: ``fit``'s epochs and steps per epoch.
      loss: the loss plugin (instance or registered name) whose objective and views the
        statistics use (``taylor1`` on a SimCLR model uses the NT-Xent gradient, no labels);
        default: softmax cross-entropy of the model's logits.

    Each event is recorded in ``events``: ``{"step", "applied_at", "target", "sparsity":
    {weight: s}, "overall"}``. An event at step t happens after t optimizer updates
    (``applied_at`` is later only with ``steps_per_execution`` > 1: the first boundary >= t;
    when several events fall inside one execution only the last runs). This callback also
    does tfmot's ``UpdatePruningStep`` work; it is the only pruning callback a model needs.
    """

    def __init__(self, criterion, schedule, scope: str = "layer", data=None,
                 num_examples: int = 1000, verbose: int = 0, length=None, loss=None):
        super().__init__()
        self.criterion = registry.get_criterion(criterion)
        self.loss = registry.get_loss(loss) if loss is not None else None
        # A timed schedule (prunekit.timing) resolves to steps once the length is known.
        self.timed = (schedule if hasattr(schedule, "resolve") and not hasattr(schedule, "target_at")
                      else None)
        self.length = length
        for attr in ("target_at", "final_target", "last_step"):
            if self.timed is None and not hasattr(schedule, attr):
                raise TypeError(f"schedule must have {attr} (see prunekit.schedules), got "
                                f"{type(schedule).__name__}.")
        if scope not in masks_lib.SCOPES:
            raise ValueError(f"scope must be one of {masks_lib.SCOPES}, got {scope!r}.")
        if isinstance(num_examples, bool) or not isinstance(num_examples, int) or num_examples < 1:
            raise ValueError(f"num_examples must be an integer >= 1, got {num_examples!r}.")
        if data is not None and not isinstance(data, (tf.data.Dataset, tuple, list)):
            raise TypeError("data must be a tf.data.Dataset of (x, y) batches or an (x, y) pair, "
                            f"got {type(data).__name__}.")
        if isinstance(data, (tuple, list)) and len(data) != 2:
            raise ValueError(f"data given as arrays must be an (x, y) pair, got {len(data)} items.")
        self.schedule = schedule
        self.scope = scope
        self.data = data
        self.num_examples = num_examples
        self.verbose = verbose
        self.events: list[dict] = []
        self._pending: list[int] = []
        self._next = math.inf
        self._step = 0
        self._saved_train_step = None
        self._keras_train_function = None

    # Keras hooks: bookkeeping only.
    def on_train_begin(self, logs=None):
        model = self.model
        if not prunable.is_wrapped(model):
            raise ValueError("PruningCallback needs a wrapped model: use model = prunekit.wrap(model) "
                             "before compile and fit.")
        needs = sorted(self.criterion.requires)
        if needs and self.data is None:
            raise ValueError(f"criterion {type(self.criterion).__name__} needs statistics {needs}: "
                             "pass data=... (examples to estimate them on) to PruningCallback.")
        if self.timed is not None:
            self.schedule = self.timed.resolve(self._training_length())
        self._step = int(model.optimizer.iterations.numpy())
        for wrapper in prunable.wrappers(model):
            # tfmot asserts pruning_step >= 1 after its per-call increment; it counts wrapper
            # calls and is never used for scheduling here.
            wrapper.pruning_step.assign(max(self._step, 0))
        spe = getattr(model, "_steps_per_execution", None)  # batches per callback call
        self._spe = int(spe.numpy()) if spe is not None else 1
        steps = (self.schedule.event_steps() if hasattr(self.schedule, "event_steps")
                 else [t for t in range(self.schedule.last_step + 1)
                       if self.schedule.target_at(t) is not None])
        done = {e["step"] for e in self.events}
        self._pending = [t for t in steps if t >= self._step and t not in done]
        self._next = self._pending[0] if self._pending else math.inf
        self._install_train_step()

    def on_train_end(self, logs=None):
        if self._step >= self._next:  # an event right after the last update
            self._fire()
        self._restore_train_step()

    # Internals.
    def _training_length(self):
        from prunekit.timing import units
        if self.length is None:
            steps, epochs = (self.params or {}).get("steps"), (self.params or {}).get("epochs")
            if not steps or not epochs:
                raise ValueError("length: fit does not tell the steps per epoch; pass "
                                 "length=prunekit.timing.Length(steps_per_epoch, epochs).")
            self.length = units.Length(int(steps), epochs)
        return self.length

    def _fire(self):
        due = [t for t in self._pending if t <= self._step]
        self._pending = self._pending[len(due):]
        self._next = self._pending[0] if self._pending else math.inf
        step = due[-1]  # with steps_per_execution > 1 only the latest due event runs
        self.prune(self.schedule.target_at(step), step=step)

    def prune(self, target: float, step: int | None = None) -> dict:
        """Prunes the model to ``target`` now; returns (and records) the event."""
        model = self.model
        weights = prunable.prunable_weights(model)
        mask_vars = prunable.mask_variables(model)
        current = {n: tf.convert_to_tensor(m) for n, m in mask_vars.items()}
        if float(target) == 0.0:  # nothing to prune: skip statistics and scoring
            new = current
        else:
            new = self._new_masks(weights, current, target)
        _apply_masks(model, weights, mask_vars, new)
        sparsity = masks_lib.sparsity_of(new)
        overall = sparsity.pop("overall")
        event = {"step": step, "applied_at": self._step, "target": float(target),
                 "sparsity": sparsity, "overall": overall}
        self.events.append(event)
        if self.verbose:
            print(f"prunekit: step {step}: {type(self.criterion).__name__} {self.scope} target "
                  f"{target:.4f}, achieved {overall:.4f}")
        return event

    def _new_masks(self, weights, current, target):
        statistics = None
        if self.criterion.requires:
            from prunekit import statistics as statistics_lib
            statistics = statistics_lib.compute(self.model, self.data, self.criterion.requires,
                                                self.num_examples, loss=self.loss)
        new = self.criterion.masks({n: tf.convert_to_tensor(w) for n, w in weights.items()},
                                   target, scope=self.scope, statistics=statistics, masks=current)
        # Pruned weights stay pruned even if a schedule asks for less than is already pruned.
        return {n: new[n] * tf.cast(current[n], new[n].dtype) for n in new}

    def _install_train_step(self):
        model = self.model
        saved = model.__dict__.get("train_step")
        # A fit interrupted before on_train_end leaves our step installed: start from its original.
        self._saved_train_step = getattr(saved, "_prunekit_saved", saved)
        if self._saved_train_step is not None:
            model.train_step = self._saved_train_step
        else:
            model.__dict__.pop("train_step", None)
        keras_function = model.train_function  # made by fit just before on_train_begin
        keras_function = getattr(keras_function, "_prunekit_keras_function", keras_function)
        self._keras_train_function = keras_function
        # The compiled masked step is reused by later fits until compile() resets Keras' own
        # train_function (a new optimizer, loss or steps_per_execution): no retrace per fit.
        cached = model.__dict__.get("_prunekit_compiled")
        if (cached is None or keras_function is None or cached[0] is not keras_function
                or cached[1] is not self._saved_train_step):
            cached = (keras_function, self._saved_train_step, *self._compile_masked_step(model))
            model.__dict__["_prunekit_compiled"] = cached
        train_step, compiled = cached[2:]
        # The compiled function calls model.train_step when it (re)traces, e.g. on a new shape.
        model.train_step = train_step
        # The first step of this fit starts from masked weights (set_weights may have undone them).
        for weight, mask in _weight_mask_pairs(model):
            weight.assign(weight * tf.cast(mask, weight.dtype))

        def train_function(iterator):
            # Runs before each call of the compiled step; _step is optimizer.iterations before
            # its update(s). Checking here, not in a batch hook, spares Keras' per-batch
            # callback machinery: the per-step cost is one int comparison.
            if self._step >= self._next:
                self._fire()
            self._step += self._spe
            return compiled(iterator)

        train_function._prunekit_keras_function = keras_function
        model.train_function = train_function

    def _compile_masked_step(self, model):
        """``(train_step, train_function)``: Keras' step + in-graph masking, lean wrappers."""
        original = model.train_step
        pairs = _weight_mask_pairs(model)
        wrappers = prunable.wrappers(model)

        def train_step(data):
            with _lean_wrappers(wrappers):
                logs = original(data)
            _mask_in_graph(model.optimizer, pairs)
            return logs

        train_step._prunekit_saved = self._saved_train_step
        model.train_step = train_step
        model.train_function = None
        return train_step, model.make_train_function(force=True)

    def _restore_train_step(self):
        model = self.model
        if self._saved_train_step is not None:
            model.train_step = self._saved_train_step
        else:
            model.__dict__.pop("train_step", None)
        model.train_function = self._keras_train_function
        for wrapper in prunable.wrappers(model):  # what tfmot's UpdatePruningStep leaves
            wrapper.pruning_step.assign(max(self._step, 0))

    def get_config(self) -> dict:
        return {"criterion": self.criterion.get_config(), "schedule": self.schedule.get_config(),
                "scope": self.scope, "num_examples": self.num_examples}


__all__ = ["wrap", "strip", "PruningCallback", "NeverPrune", "optimizer_slots"]
