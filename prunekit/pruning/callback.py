"""``PruningCallback``: carries out a :mod:`prunekit.timing` plan inside ``model.fit``.

Bookkeeping only (scoring and masking are the pure functions of :mod:`prunekit.criteria`
and :mod:`prunekit.masks`; the masked step is :mod:`prunekit.pruning.masked_step`). When
``fit`` starts the timing is resolved against the training length; at each event's step the
callback prunes in the event's local steps (:mod:`prunekit.timing.local`), records the event
(:mod:`prunekit.pruning.records`) and, for IMP, rewinds weights and optimizer state to the
checkpoint taken at the plan's rewind step (:mod:`prunekit.checkpoint`).
"""
from __future__ import annotations

import math

import tensorflow as tf
import tf_keras as keras

from prunekit import checkpoint, prunable, registry
from prunekit import masks as masks_lib
from prunekit.pruning import batch_gradient, dynamic, masked_step, records
from prunekit.timing import local, units
from prunekit.timing.dynamic import DynamicSparse
from prunekit.timing.plan import Timing


# Statistics computed without examples (SynFlow: an all-ones input); no data= needed.
DATA_FREE = frozenset({"synflow"})

class PruningCallback(keras.callbacks.Callback):
    """Prunes a wrapped model during ``fit`` when ``schedule`` says.

    Args:
      criterion: a registered criterion name (``prunekit-plugins`` lists them) or an instance.
      schedule: a :class:`prunekit.timing.Timing`: ``timing.OneShot`` (with local ``steps``),
        ``timing.Gradual``, ``timing.Iterative`` (IMP: rounds, rewinding), ``timing.Hold``,
        ``timing.DynamicSparse`` (SET / RigL: random masks at step 0, then drop by magnitude
        and regrow; needs the ``magnitude`` criterion; RigL regrows by |g| of the update
        step's batch, :mod:`prunekit.pruning.batch_gradient`) or a
        ``prunekit.schedules`` alias. It is resolved to optimizer steps when the first ``fit``
        starts (later fits with the same callback keep that plan); an epoch or fraction past
        the end of training is an error (times in steps are absolute optimizer steps and may
        fall in a later ``fit``). ``OneShot(finetune_epochs=...)`` is refused: one ``fit`` has
        no epochs after its end (fine-tune with a second ``fit``).
      scope: ``"layer"`` (each layer reaches the target), ``"global"`` (overall), ``"erk"``
        (each layer at its ERK sparsity, :func:`prunekit.masks.erk_sparsities`) or ``"N:M"``.
        With ``DynamicSparse`` the per-layer sparsities are its ``distribution``'s ('layer' or
        'erk' scope; 'erk' needs ``distribution="erk"``).
      data: examples for gradient / curvature statistics: a ``tf.data.Dataset`` of (x, y)
        batches or an (x, y) pair of arrays. Needed when the criterion requires statistics;
        for RigL only when a fit starts at an update's step (that step's batch was not run).
      num_examples: examples used for the statistics.
      verbose: 1 prints one line per pruning event.
      length: the training length (``prunekit.timing.Length``) the schedule resolves
        against; default: ``fit``'s epochs and steps per epoch.
      loss: the loss plugin (instance or registered name) whose objective and views the
        statistics use; default: softmax cross-entropy of the model's logits.
      eval_batch: a fixed (x, y) on which each event's record gets the loss, accuracy and KL
        just before and just after the prune. mask_dir: masks saved at each event.

    ``events``: one dict per local step: ``step``, ``applied_at``, ``target``,
    ``sparsity`` (per weight), ``overall`` (over the pruned layers), ``overall_all_weights``
    (over every trainable weight), ``local_step``, ``local_steps``. ``records``: one per
    event (:class:`prunekit.pruning.records.Recorder`). An event at step t happens after t
    optimizer updates (``applied_at`` is later only with ``steps_per_execution`` > 1: the first
    boundary >= t; when several events fall inside one execution only the last runs).
    """

    def __init__(self, criterion, schedule, scope: str = "layer", data=None,
                 num_examples: int = 1000, verbose: int = 0, length=None, loss=None, *,
                 eval_batch=None, mask_dir=None):
        super().__init__()
        self.criterion = registry.get_criterion(criterion)
        self.loss = registry.get_loss(loss) if loss is not None else None
        if not isinstance(schedule, Timing):
            raise TypeError("schedule must be a prunekit.timing timing (OneShot, Gradual, Iterative, "
                            f"Hold) or a prunekit.schedules alias, got {type(schedule).__name__}.")
        if getattr(schedule, "finetune_epochs", 0):
            raise ValueError(f"{schedule!r}: one fit cannot add fine-tuning epochs after its end; "
                             "pass schedule.without_finetune() and fine-tune with a second model.fit.")
        masks_lib.check_scope(scope)  # 'layer', 'global', 'erk' or 'N:M'; else a one-line error
        if isinstance(schedule, DynamicSparse):
            _check_dynamic(self.criterion, schedule, scope)
        if isinstance(num_examples, bool) or not isinstance(num_examples, int) or num_examples < 1:
            raise ValueError(f"num_examples must be an integer >= 1, got {num_examples!r}.")
        if data is not None and not isinstance(data, (tf.data.Dataset, tuple, list)):
            raise TypeError("data must be a tf.data.Dataset of (x, y) batches or an (x, y) pair, "
                            f"got {type(data).__name__}.")
        if isinstance(data, (tuple, list)) and len(data) != 2:
            raise ValueError(f"data given as arrays must be an (x, y) pair, got {len(data)} items.")
        self.schedule, self.length, self.scope = schedule, length, scope
        self._length_given = length is not None
        self.data, self.num_examples, self.verbose = data, num_examples, verbose
        self.recorder = records.Recorder(eval_batch, mask_dir)
        self.plan = None
        self.rewind_point = None  # a prunekit.checkpoint.Checkpoint, once taken
        self.events: list[dict] = []
        self._pending: list = []
        self._next = math.inf
        self._step = 0
        self._spe = 1
        self._installed = None
        self._gradient = None

    @property
    def records(self) -> list:
        return self.recorder.records

    # Keras hooks: bookkeeping only.
    def on_train_begin(self, logs=None):
        model = self.model
        if not prunable.is_wrapped(model):
            raise ValueError("PruningCallback needs a wrapped model: use model = prunekit.wrap(model) "
                             "before compile and fit.")
        needs = sorted(set(self.criterion.requires) - DATA_FREE)
        if needs and self.data is None:
            raise ValueError(f"criterion {type(self.criterion).__name__} needs statistics {needs}: "
                             "pass data=... (examples to estimate them on) to PruningCallback.")
        if self.plan is None:  # resolved once: a later fit (e.g. fine-tuning) keeps the plan
            self.plan = self._resolve()
        self._step = int(model.optimizer.iterations.numpy())
        for wrapper in prunable.wrappers(model):
            # tfmot asserts pruning_step >= 1 after its per-call increment; it counts wrapper
            # calls and is never used for scheduling here.
            wrapper.pruning_step.assign(max(self._step, 0))
        spe = getattr(model, "_steps_per_execution", None)  # batches per callback call
        self._spe = int(spe.numpy()) if spe is not None else 1
        done = {e["step"] for e in self.records}
        self._pending = [e for e in self.plan.events if e.step >= self._step and e.step not in done]
        self._schedule_next()
        self._gradient = None
        if getattr(self.schedule, "kind", None) == "rigl":  # kept by the step before each update
            self._gradient = model.__dict__.get("_prunekit_batch_gradient")
            if self._gradient is None:
                self._gradient = model.__dict__["_prunekit_batch_gradient"] = batch_gradient.BatchGradient(model)
            self._gradient.set_flag(False)
        self._installed = masked_step.install(model, self._on_step, self._gradient)
        if self.plan.rewind_step is not None and self.rewind_point is None and self._step >= self.plan.rewind_step:
            self._capture()

    def on_train_end(self, logs=None):
        if self._step >= self._next:  # an event right after the last update
            self._fire()
        if self._gradient is not None:
            self._gradient.set_flag(False)
        masked_step.uninstall(self.model, self._installed)
        for wrapper in prunable.wrappers(self.model):  # what tfmot's UpdatePruningStep leaves
            wrapper.pruning_step.assign(max(self._step, 0))

    # Internals.
    def _resolve(self):
        """The plan for this fit. Times in epochs or fractions resolve against ``length`` (or
        this fit's epochs and steps per epoch); past its end they are an error. Times in steps
        are absolute optimizer steps: without a ``length`` given, one past this fit's end waits
        for a later ``fit`` of the same model (the optimizer's step counter runs on)."""
        length, given = (self.length, True) if self._length_given else (None, False)
        if length is None:
            steps, epochs = (self.params or {}).get("steps"), (self.params or {}).get("epochs")
            if steps and epochs:
                length = self.length = units.Length(int(steps), epochs)
        try:
            return self.schedule.resolve(length)
        except ValueError as e:
            if not given and length is not None and "beyond the training length" in str(e):
                try:
                    return self.schedule.resolve(None)  # step times only
                except ValueError:
                    pass
            if length is None:
                raise ValueError(f"length: fit does not tell the steps per epoch ({str(e).rstrip('.')}); "
                                 "pass length=prunekit.timing.Length(steps_per_epoch, epochs).") from e
            raise

    def _schedule_next(self):
        capture = (self.plan.rewind_step if self.plan.rewind_step is not None and self.rewind_point is None
                   else math.inf)
        self._next = min(self._pending[0].step if self._pending else math.inf, capture)

    def _on_step(self):
        # Runs before each call of the compiled step; _step is optimizer.iterations before its
        # update(s). The per-step cost is one int comparison.
        if self._step >= self._next:
            self._fire()
        self._step += self._spe
        if self._gradient is not None:  # this call's last batch is the one a due RigL update uses
            due = self._pending and self._pending[0].step <= self._step and self._pending[0].drop > 0
            self._gradient.set_flag(bool(due))

    def _fire(self):
        if self.rewind_point is None and self.plan.rewind_step is not None and self._step >= self.plan.rewind_step:
            self._capture()
        due = [e for e in self._pending if e.step <= self._step]
        self._pending = self._pending[len(due):]
        if due:
            event = due[-1]  # with steps_per_execution > 1 only the latest due event runs
            if isinstance(self.schedule, DynamicSparse):
                return self._dynamic(event)
            self.prune(event.target, step=event.step, local_steps=event.local_steps, split=event.split)
            if event.rewind:
                self._rewind()
        self._schedule_next()

    def _capture(self):
        model = self.model
        with model.distribute_strategy.scope():
            model.optimizer.build(model.trainable_variables)  # slots exist: their state is captured
        self.rewind_point = checkpoint.capture(model)

    def _rewind(self):
        """Weights and optimizer slots back to the rewind point (the step counter runs on);
        pruned weights and their slots zero again."""
        if self.rewind_point is None:
            raise ValueError(f"rewind step {self.plan.rewind_step} was never reached.")
        checkpoint.restore(self.model, self.rewind_point, iterations=False, source="the rewind point")
        masked_step.apply_masks(self.model, {n: tf.convert_to_tensor(m) for n, m in
                                             prunable.mask_variables(self.model).items()})

    def prune(self, target: float, step: int | None = None, local_steps: int = 1,
              split: str = "exponential") -> dict:
        """Prunes to ``target`` now in ``local_steps`` steps, records the event; returns the
        last local step's event."""
        info = {"step": step, "criterion": type(self.criterion).__name__,
                "options": self.criterion.get_config(), "scope": self.scope, "target": float(target),
                "local_steps": local_steps, "split": split}
        if self.length is not None and step is not None:
            info["epoch"] = step / self.length.steps_per_epoch

        def run():
            out = []
            for k, p_k in enumerate(local.targets(target, local_steps, split), start=1):
                out.append({**self._prune_once(p_k, step), "local_step": k, "local_steps": local_steps})
                self.events.append(out[-1])
            return out

        record = self.recorder.around(self.model, run, **info)
        record["target_per_layer"] = self._per_layer_targets(target)
        if self.verbose:
            print(f"prunekit: step {step}: {info['criterion']} {self.scope} target {target:.4f}, "
                  f"achieved {record['overall']:.4f} of the pruned layers, "
                  f"{record['overall_all_weights']:.4f} of all weights")
        return record["result"][-1]

    def _per_layer_targets(self, target) -> dict | None:
        """Each pruned weight's target ('layer', 'erk', N:M); None for 'global'."""
        if self.scope == "global":
            return None
        shapes = {n: tuple(w.shape) for n, w in prunable.prunable_weights(self.model).items()}
        scope = self.scope if self.scope in ("layer", "erk") else "layer"
        return masks_lib.layer_sparsities(shapes, float(target), scope)

    def _dynamic(self, event) -> None:
        """A DynamicSparse event: the random masks at step 0 (recorded like a prune), or one
        drop/regrow update (in ``events`` only: no before/after measurement each time)."""
        sched, model = self.schedule, self.model
        weights = prunable.prunable_weights(model)
        shapes = {n: tuple(w.shape) for n, w in weights.items()}
        if event.drop == 0.0:
            def run():
                masks = dynamic.initial_masks(shapes, event.target, sched.scope, sched.seed)
                masked_step.apply_masks(model, {n: tf.convert_to_tensor(m) for n, m in masks.items()})
                out = {"step": event.step, "applied_at": self._step, "target": event.target,
                       **records.sparsity(model, masks)}
                self.events.append(out)
                return [out]
            record = self.recorder.around(model, run, step=event.step, criterion=f"DynamicSparse({sched.kind})",
                                          options=sched.get_config(), scope=sched.scope, target=event.target,
                                          local_steps=1, split="exponential")
            record["target_per_layer"] = masks_lib.layer_sparsities(shapes, event.target, sched.scope)
        else:
            if sched.kind == "rigl":
                scores = self._rigl_scores()
            else:
                scores = dynamic.random_scores(shapes, sched.seed, event.step)
            counts = dynamic.update(model, event.drop, scores)
            self.events.append({"step": event.step, "applied_at": self._step, "target": event.target,
                                "drop": event.drop, **counts,
                                **records.sparsity(model, {n: m.numpy() for n, m in
                                                           prunable.mask_variables(model).items()})})
        self._schedule_next()

    def _rigl_scores(self) -> dict:
        """|g| of the batch of update number ``self._step`` (kept by the masked step); when that
        batch was not seen by this fit (an update due at the very step a fit starts), |g| on
        ``data``'s first ``num_examples``."""
        scores = self._gradient.kept(self._step)
        if scores is not None:
            return scores
        if self.data is None:
            raise ValueError(f"RigL update at step {self._step}: this fit did not run the batch of that step "
                             "(it started there); pass data=... to PruningCallback to score regrowth on it.")
        return dynamic.gradient_scores(self.model, self.data, self.num_examples, self.loss)

    def _prune_once(self, target: float, step) -> dict:
        model = self.model
        current = {n: tf.convert_to_tensor(m) for n, m in prunable.mask_variables(model).items()}
        new = current if float(target) == 0.0 else self._new_masks(current, target)
        masked_step.apply_masks(model, new)
        arrays = {n: m.numpy() for n, m in new.items()}
        event = {"step": step, "applied_at": self._step, "target": float(target),
                 **records.sparsity(model, arrays)}
        pattern = masks_lib.scope_pattern(arrays, self.scope)
        if pattern is not None:  # N:M scope: the pattern and whether every group holds it
            event["pattern"] = pattern
        return event

    def _new_masks(self, current, target):
        statistics = None
        if self.criterion.requires:
            from prunekit import statistics as statistics_lib
            statistics = statistics_lib.compute(self.model, self.data, self.criterion.requires,
                                                self.num_examples, loss=self.loss)
        weights = prunable.prunable_weights(self.model)
        new = self.criterion.masks({n: tf.convert_to_tensor(w) for n, w in weights.items()},
                                   target, scope=self.scope, statistics=statistics, masks=current)
        # Pruned weights stay pruned even if a schedule asks for less than is already pruned.
        return {n: new[n] * tf.cast(current[n], new[n].dtype) for n in new}

    def get_config(self) -> dict:
        return {"criterion": self.criterion.get_config(), "schedule": self.schedule.get_config(),
                "scope": self.scope, "num_examples": self.num_examples}


def _check_dynamic(criterion, schedule, scope) -> None:
    """What ``DynamicSparse`` can honour: magnitude drops, per-layer scopes matching it."""
    magnitude = type(registry.get_criterion("magnitude"))
    if type(criterion) is not magnitude or criterion.lam:
        raise ValueError(f"{schedule!r} drops the smallest-magnitude weights: pass criterion='magnitude' "
                         f"(lam=0), got {criterion!r}.")
    allowed = ["layer"] + ([schedule.scope] if schedule.scope != "layer" else [])
    if scope not in allowed:
        raise ValueError(f"{schedule!r} sets each layer's sparsity by its distribution "
                         f"({schedule.distribution!r}): scope must be {' or '.join(map(repr, allowed))}, got {scope!r}.")


__all__ = ["PruningCallback"]
