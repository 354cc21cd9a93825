"""The build and train stages of a run: the model and its callbacks, then the fits.

Build: the compiled model (:mod:`~prunekit.study.execute.model`), the pruning callback of a
oneshot/gradual timing and the TensorBoard callbacks. Train: from step 0 or from a trunk
checkpoint, ``model.fit`` over epochs ``[first, epochs)`` (data order a function of (seed,
epoch), :mod:`~prunekit.study.execute.order`), fine-tuning after a oneshot prune, or IMP
rounds (:mod:`~prunekit.study.execute.imp`).
"""
from __future__ import annotations

import dataclasses
import importlib.util
import os

from prunekit.study import pruning
from prunekit.study.execute import model as model_lib, order
from prunekit.study.execute.failed import RunFailed, check_finite, check_healthy
from prunekit.study.execute.step_cap import capped_fit, probes, step_cap, steps_per_epoch  # noqa: F401 (re-exported)

EVAL_EXAMPLES = 1000  # fixed training examples for the loss/accuracy/KL around each event

@dataclasses.dataclass
class Prepared:
    """What the build stage made: the model and what trains and measures it."""
    model: object
    plugin: object
    strategy: object
    dense_heads: tuple
    classifier: bool
    callbacks: list
    pruning: object  # the oneshot/gradual pruning callback, or None
    skipped: list
    out_dir: str


@dataclasses.dataclass
class Trained:
    """What the train stage left: the Keras history, IMP round records, the rewind point."""
    history: dict
    rounds: list
    rewind_weights: object
    first_epoch: int


def has_tensorboard() -> bool:
    return importlib.util.find_spec("tensorboard") is not None


def _eval_batch(data, classifier: bool, n: int):
    return (data.x_train[:n], data.y_train[:n]) if classifier else None


def _pruning_callback(spec, data, plugin, classifier: bool):
    """The oneshot/gradual pruning callback; a time beyond training fails the run here."""
    spe = steps_per_epoch(spec, len(data.x_train))
    fields = spec.timing.fields()
    try:
        pruning.schedule(spec.timing.kind, fields, spec.sparsity).resolve(pruning.length(spe, spec.train.epochs))
    except ValueError as e:
        raise RunFailed(f"timings.{spec.timing.label}: {e}") from e
    # Function preservation around each event (loss/accuracy before and after, KL) is
    # measured on fixed training examples, for models with a classifier output.
    n_eval = min(EVAL_EXAMPLES, len(data.x_train))
    return pruning.timed_callback(model_lib.criterion(spec), spec.timing.kind, fields, spec.sparsity,
                                  steps_per_epoch=spe, epochs=spec.train.epochs, scope=spec.scope,
                                  data=(data.x_train, data.y_train if plugin.needs_labels else None),
                                  num_examples=min(1000, len(data.x_train)), loss=plugin,
                                  eval_batch=_eval_batch(data, classifier, n_eval), seed=spec.seed)


def prepare(spec, data, out_dir: str) -> Prepared:
    """The build stage."""
    import tf_keras as keras

    model, plugin, strategy, dense_heads = model_lib.build(spec, data.x_train.shape[1:], data.num_classes,
                                                           wrapped=spec.pruned)
    classifier = any(l.name.endswith("head_classifier") for l in model.layers)
    callbacks = [keras.callbacks.TerminateOnNaN(), *probes()]
    callback = None
    if spec.pruned and spec.timing.kind != "iterative":
        callback = _pruning_callback(spec, data, plugin, classifier)
        callbacks.append(callback)
    skipped = []
    if spec.tensorboard and not has_tensorboard():
        skipped.append("tensorboard:not-installed(no logs)")
    elif spec.tensorboard:
        logdir = os.path.join(out_dir, "tensorboard")
        callbacks.append(keras.callbacks.TensorBoard(logdir, profile_batch=0, write_graph=False))
        if spec.pruned:
            import tensorflow_model_optimization as tfmot
            callbacks.append(tfmot.sparsity.keras.PruningSummaries(log_dir=logdir, update_freq="epoch"))
    return Prepared(model, plugin, strategy, dense_heads, classifier, callbacks, callback, skipped, out_dir)


def _data(spec, plugin, data, first, last):
    """Training views of epochs [first, last) (:func:`prunekit.study.execute.order.training_data`)."""
    return order.training_data(plugin, data.x_train, data.y_train, batch_size=spec.train.batch_size,
                               seed=spec.seed, first=first, last=last)


def _branch(model, branch):
    """Loads the trunk checkpoint ``branch`` into ``model``; returns (its epoch, history so far)."""
    from prunekit import checkpoint

    if "failed" in branch:  # the shared dense prefix diverged: so would this run from scratch
        raise RunFailed(branch["failed"])
    state = (checkpoint.from_bytes(branch["data"], "trunk checkpoint") if "data" in branch
             else checkpoint.load(branch["path"]))
    checkpoint.restore(model, state, source=branch.get("path", "trunk checkpoint"))
    return state.epoch, {k: list(v) for k, v in state.meta["history"].items()}


def _events_only(model, callback):
    """A run branched after its last update: the callback's events at the end of training."""
    callback.set_model(model)
    callback.set_params({"epochs": 0, "steps": 0, "verbose": 0})
    callback.on_train_begin()
    callback.on_train_end()


def train(spec, data, run: Prepared, branch: dict | None = None) -> Trained:
    """The train stage: the run's fits (and its events); the model is trained in place."""
    from prunekit.study.execute import imp

    epochs, model = spec.train.epochs, run.model
    fit = dict(verbose=spec.verbose, callbacks=run.callbacks, steps_per_epoch=steps_per_epoch(spec, len(data.x_train)))
    first, history = _branch(model, branch) if branch is not None else (0, {})
    rounds, rewind = [], None
    if spec.pruned and spec.timing.kind == "iterative":
        fit["x"] = _data(spec, run.plugin, data, 0, epochs)
        history, rounds, rewind = imp.run(spec, run, fit, data, _eval_batch(data, run.classifier, EVAL_EXAMPLES))
    elif first < epochs:
        h = model.fit(_data(spec, run.plugin, data, first, epochs), epochs=epochs, initial_epoch=first, **fit).history
        check_finite(h, "training")
        history = {k: history.get(k, []) + v for k, v in h.items()}
        check_healthy(history, "training", spec.divergence)
    elif run.pruning is not None:  # branched at the end of training: only the events after the last update
        _events_only(model, run.pruning)
    t = spec.timing
    if spec.pruned and t.kind == "oneshot" and t.finetune_epochs:
        if t.finetune_learning_rate:
            model.optimizer.learning_rate.assign(t.finetune_learning_rate)
        end = epochs + t.finetune_epochs
        ft = model.fit(_data(spec, run.plugin, data, epochs, end), epochs=end, initial_epoch=epochs, **fit).history
        check_finite(ft, "fine-tuning")
        history = {k: history.get(k, []) + v for k, v in ft.items()}
        check_healthy(history, "fine-tuning", spec.divergence)
    return Trained(history, rounds, rewind, first)


__all__ = ["prepare", "train", "Prepared", "Trained", "EVAL_EXAMPLES", "has_tensorboard", "step_cap",
           "steps_per_epoch", "capped_fit", "probes"]
