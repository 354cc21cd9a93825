"""One run of a study: data -> model -> loss -> wrap -> fit with PruningCallback -> evaluation.

:func:`execute` takes a resolved run spec (see :mod:`prunekit.study.grid`) and a directory,
trains and evaluates, writes the run's artefacts into the directory and returns the result
dict (``status``, ``metrics``, ``timing``, ...). It raises :class:`RunFailed` for a run that
diverges; the executor records any exception as a failed run and the study goes on.

A run's timing entry becomes a :mod:`prunekit.timing` schedule (``OneShot`` / ``Gradual``,
see :mod:`prunekit.study.timings`) that :class:`prunekit.PruningCallback`
resolves against ``Length(ceil(n_train / batch_size), epochs)``: fractions of training,
epochs and steps as in :mod:`prunekit.timing.units`. A oneshot ``at`` the end of training
(``1.0``) prunes after the last update, then fine-tunes ``finetune_epochs`` with the mask
fixed at ``finetune_learning_rate``; ``steps`` > 1 splits the prune into local steps (paper
C). Each event is recorded (events.json) with the loss and accuracy just before and after it
and KL(before || after) on fixed training examples; the last event's numbers are the metrics
``loss_after_prune`` / ``accuracy_after_prune`` (before fine-tuning), ``loss_before_prune``,
``accuracy_before_prune`` and ``kl_prune``.
"""
from __future__ import annotations

import json
import math
import os
import time

import prunekit  # noqa: F401  (tf_keras before TensorFlow)
import numpy as np


class RunFailed(RuntimeError):
    """The run cannot produce a result (e.g. its loss became NaN); the reason is the message."""


class _Clock:
    def __init__(self):
        self.spans = {}
        self._t = time.perf_counter()

    def lap(self, name):
        now = time.perf_counter()
        self.spans[name] = self.spans.get(name, 0.0) + now - self._t
        self._t = now


def resolve_schedule(timing: dict, sparsity: float, total_steps: int, steps_per_epoch: int | None = None):
    """The :class:`prunekit.timing.Plan` of a timing entry (what the run's callback
    resolves its :mod:`prunekit.timing` object to)."""
    from prunekit.study import timings
    from prunekit.timing import Length

    try:
        return timings.build(timing, sparsity).resolve(Length.of_steps(total_steps, steps_per_epoch))
    except ValueError as e:
        raise RunFailed(f"timings.{timing.get('label')}: {e}") from e


EVAL_EXAMPLES = 1000  # fixed training examples for the loss/accuracy/KL around each event


def _loss_plugin(spec):
    """The loss plugin instance (its ``seed`` option follows the run's seed unless given)."""
    from prunekit import registry

    name, options = spec["loss"]["plugin"], dict(spec["loss"]["options"])
    cls = registry.load("loss", name)
    if "seed" in registry.options(cls):
        options.setdefault("seed", spec["seed"])
    return registry.get_loss(name, **options)


def _optimizer(train, keras):
    kw = {"learning_rate": train["learning_rate"]}
    if train["weight_decay"]:
        kw["weight_decay"] = train["weight_decay"]
    if train["optimizer"] == "sgd":
        return keras.optimizers.SGD(momentum=train["momentum"], **kw)
    return keras.optimizers.Adam(**kw)


def _finite(history, what):
    for key, values in history.items():
        if key.endswith("loss"):
            for epoch, v in enumerate(values):
                if not np.isfinite(v):
                    raise RunFailed(f"{what} {key} became {v} in epoch {epoch + 1}")


def build(spec: dict, input_shape, num_classes: int, wrapped: bool):
    """The run's compiled model: ``(model, plugin, strategy, dense_heads)``; ``wrapped`` puts
    tfmot wrappers on the prunable layers (heads excluded unless ``prune_heads``). The dense
    trunk (:mod:`prunekit.study.trunk`) is the same model unwrapped."""
    import tensorflow as tf
    import tf_keras as keras

    from prunekit import models

    keras.backend.clear_session()
    keras.utils.set_random_seed(spec["seed"])
    strategy = tf.distribute.MirroredStrategy() if spec["strategy"] == "mirrored" else tf.distribute.get_strategy()
    plugin = _loss_plugin(spec)
    with strategy.scope():
        base = models.build(spec["model"]["name"], input_shape, num_classes, seed=spec["seed"],
                            **spec["model"]["options"])
        model = plugin.build_model(models.feature_model(base), num_classes)
        # The plugin's heads stay dense unless the config prunes them (paper A pruned the
        # linear classifier too: prune_heads=True).
        dense_heads = () if spec.get("prune_heads") else tuple(plugin.head_layer_names(model))
        if wrapped:
            model = prunekit.wrap(model, exclude=dense_heads)
        model.compile(optimizer=_optimizer(spec["train"], keras), loss=plugin.loss(), metrics=plugin.metrics())
    return model, plugin, strategy, dense_heads


def _data(spec, plugin, x, y, first, last):
    """Training views of epochs [first, last) (:func:`prunekit.study.order.training_data`)."""
    from prunekit.study import order

    return order.training_data(plugin, x, y, batch_size=spec["train"]["batch_size"], seed=spec["seed"],
                               first=first, last=last)


def _branch(model, branch):
    """Loads the trunk checkpoint ``branch`` into ``model``; returns (its epoch, history so far)."""
    from prunekit.study import trunk

    if "failed" in branch:  # the shared dense prefix diverged: so would this run from scratch
        raise RunFailed(branch["failed"])
    state = trunk.read(branch["data"] if "data" in branch else branch["path"])
    trunk.load_state(model, state)
    return state["epoch"], {k: list(v) for k, v in state["history"].items()}


def _events_only(model, callback):
    """A run branched after its last update: the callback's events at the end of training."""
    callback.set_model(model)
    callback.set_params({"epochs": 0, "steps": 0, "verbose": 0})
    callback.on_train_begin()
    callback.on_train_end()


def execute(spec: dict, out_dir: str, branch: dict | None = None) -> dict:
    """Runs ``spec``, writes its artefacts into ``out_dir``, returns the result dict.

    ``branch`` (from :func:`prunekit.study.trunk.branch_source`): start from the shared dense
    trunk's checkpoint at the start of epoch ``branch["epoch"]`` (``path`` or ``data`` bytes)
    instead of step 0; the result is the same (the data order depends on the epoch only)."""
    import tensorflow as tf
    import tf_keras as keras

    from prunekit import evaluation, models, prunable
    from prunekit.study import datasets

    clock = _Clock()
    skipped = []
    keras.backend.clear_session()
    ds = spec["dataset"]
    x_train, y_train = datasets.arrays(ds["name"], "train", ds["data_dir"])
    x_test, y_test = datasets.arrays(ds["name"], "test", ds["data_dir"])
    num_classes = datasets.info(ds["name"], ds["data_dir"])["num_classes"]
    clock.lap("data")

    train = spec["train"]
    pruned = spec["criterion"] is not None
    model, plugin, strategy, dense_heads = build(spec, x_train.shape[1:], num_classes, wrapped=pruned)
    classifier = any(l.name.endswith("head_classifier") for l in model.layers)
    steps_per_epoch = math.ceil(len(x_train) / train["batch_size"])
    total = train["epochs"] * steps_per_epoch
    callbacks = [keras.callbacks.TerminateOnNaN()]
    pruning = None
    iterative = pruned and spec["timing"]["kind"] == "iterative"
    if pruned and not iterative:
        from prunekit.study import timings
        from prunekit.timing import Length
        from prunekit.pruning import PruningCallback

        schedule = timings.build(spec["timing"], spec["sparsity"])
        if spec["timing"]["kind"] == "oneshot":  # the fine-tuning below is a second fit
            schedule = schedule.without_finetune()
        length = Length(steps_per_epoch, train["epochs"])
        try:
            schedule.resolve(length)  # a time beyond the training length fails before training
        except ValueError as e:
            raise RunFailed(f"timings.{spec['timing'].get('label')}: {e}") from e
        crit = spec["criterion"]
        # Function preservation around each event (loss/accuracy before and after, KL) is
        # measured on fixed training examples, for models with a classifier output.
        n_eval = min(EVAL_EXAMPLES, len(x_train))
        pruning = PruningCallback(crit["plugin"] if not crit["options"] else
                               prunekit.registry.get_criterion(crit["plugin"], **crit["options"]),
                               schedule, scope=spec["scope"],
                               data=(x_train, y_train if plugin.needs_labels else None),
                               num_examples=min(1000, len(x_train)), loss=plugin, length=length,
                               eval_batch=(x_train[:n_eval], y_train[:n_eval]) if classifier else None)
        callbacks.append(pruning)
    if spec.get("tensorboard") and not _has_tensorboard():
        skipped.append("tensorboard:not-installed(no logs)")
    elif spec.get("tensorboard"):
        logdir = os.path.join(out_dir, "tensorboard")
        callbacks.append(keras.callbacks.TensorBoard(logdir, profile_batch=0, write_graph=False))
        if pruned:
            import tensorflow_model_optimization as tfmot
            callbacks.append(tfmot.sparsity.keras.PruningSummaries(log_dir=logdir, update_freq="epoch"))
    clock.lap("build")

    ds_train = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(
        len(x_train), seed=spec["seed"], reshuffle_each_iteration=True)
    # Data order a function of (seed, epoch), augmentation of (seed, step): prunekit.study.order.
    fit = dict(verbose=spec.get("verbose", 0), callbacks=callbacks, steps_per_epoch=steps_per_epoch)
    timing = spec["timing"]
    rounds = []
    first, history = _branch(model, branch) if branch is not None else (0, {})
    if iterative:
        fit["x"] = _data(spec, plugin, x_train, y_train, 0, train["epochs"])
        history, rounds, rewind_weights = _iterative(spec, model, strategy, plugin, fit, steps_per_epoch, keras,
                                     data=(x_train, y_train if plugin.needs_labels else None),
                                     num_examples=min(1000, len(x_train)),
                                     eval_batch=(x_train[:EVAL_EXAMPLES], y_train[:EVAL_EXAMPLES])
                                     if classifier else None,
                                     mask_dir=out_dir if spec["artefacts"]["masks"] else None)
    elif first < train["epochs"]:
        h = model.fit(_data(spec, plugin, x_train, y_train, first, train["epochs"]), epochs=train["epochs"],
                      initial_epoch=first, **fit).history
        _finite(h, "training")
        history = {k: history.get(k, []) + v for k, v in h.items()}
    elif pruning is not None:  # branched at the end of training: only the events after the last update
        _events_only(model, pruning)
    if pruned and timing["kind"] == "oneshot" and timing["finetune_epochs"]:
        if timing["finetune_learning_rate"]:
            model.optimizer.learning_rate.assign(timing["finetune_learning_rate"])
        end = train["epochs"] + timing["finetune_epochs"]
        ft = model.fit(_data(spec, plugin, x_train, y_train, train["epochs"], end), epochs=end,
                       initial_epoch=train["epochs"], **fit).history
        _finite(ft, "fine-tuning")
        history = {k: history.get(k, []) + v for k, v in ft.items()}
    clock.lap("train")

    metrics = {"train_loss": float(history["loss"][-1])}
    records = pruning.records if pruning else rounds
    last = next((r for r in reversed(records) if "after" in r), None)
    if last is not None:
        # Paper C: the loss right after the (last) prune, before any fine-tuning, on the
        # fixed evaluation examples; with the loss right before it and KL(before || after).
        metrics["loss_before_prune"] = last["before"]["loss"]
        metrics["accuracy_before_prune"] = last["before"]["accuracy"]
        metrics["loss_after_prune"] = last["after"]["loss"]
        metrics["accuracy_after_prune"] = last["after"]["accuracy"]
        metrics["kl_prune"] = last["kl"]
    if "accuracy" in history:
        metrics["train_accuracy"] = float(history["accuracy"][-1])
    if classifier:
        logits = model.predict(x_test, batch_size=1024, verbose=0).astype(np.float32)
        from prunekit.evaluation import loss_and_accuracy
        metrics["test_loss"], metrics["test_accuracy"] = loss_and_accuracy(logits, y_test, from_logits=True)
    else:
        # A representation loss: test accuracy of a k-NN classifier on the frozen features.
        encoder = plugin.encoder(model)
        f_train = encoder.predict(x_train, batch_size=1024, verbose=0)
        f_test = encoder.predict(x_test, batch_size=1024, verbose=0)
        pred = np.asarray(evaluation.knn_predict(f_train, y_train, f_test,
                                                 k=spec["evaluation"].get("knn", {}).get("k", 20),
                                                 metric="cosine"))
        logits = np.eye(num_classes, dtype=np.float32)[pred]  # one-hot votes: PIEs need labels only
        metrics["test_accuracy"] = float((pred == y_test).mean())
        metrics["test_loss"] = float(history["loss"][-1])
        metrics["readout"] = "knn"
    if not np.isfinite(metrics["test_loss"]):
        raise RunFailed(f"test loss is {metrics['test_loss']}")
    masks = {}
    if pruned:
        masks = {n: np.asarray(m.numpy() != 0) for n, m in prunable.mask_variables(model).items()}
    # Sparsity over the weights this study prunes (heads excluded unless prune_heads), the
    # same set for dense and pruned runs.
    weights = {n: np.asarray(w.numpy()) for n, w in prunable.prunable_weights(model).items()
               if n.split("/")[0] not in dense_heads}
    total_w = sum(w.size for w in weights.values())
    nonzero = sum(int(np.count_nonzero(w)) for w in weights.values())
    metrics["sparsity"] = 1.0 - nonzero / max(total_w, 1)
    metrics["nonzero_weights"] = nonzero
    metrics["prunable_weights"] = total_w
    per_example = {}  # test-split arrays of the q_score / prediction_depth evaluators
    for name, options in spec["evaluation"].items():
        if name in ("accuracy", "sparsity", "knn"):
            continue
        metrics.update(_suite_evaluator(name, options, model, {"train": (x_train, y_train),
                                                               "test": (x_test, y_test),
                                                               "num_classes": num_classes,
                                                               "data_dir": ds["data_dir"]}, per_example))
    if iterative and timing.get("retrain_with_labels"):
        metrics.update(_retrain_with_labels(spec, model, plugin, rewind_weights, metrics, ds_train,
                                            (x_test, y_test), num_classes, keras))
    clock.lap("evaluate")

    # One record per pruning event (prunekit.pruning.records): step, epoch, criterion, target,
    # sparsity, loss/accuracy before and after, KL; "local" lists its local steps.
    events = [{**{k: v for k, v in r.items() if k != "result"}, "local": r.get("result", [])}
              for r in (pruning.records if pruning else [])] or rounds
    _write(out_dir, "events.json", json.dumps(_jsonable(events), indent=1).encode())
    if spec.get("tensorboard") and _has_tensorboard():
        from prunekit.study import tensorboard_log
        tensorboard_log.write(os.path.join(out_dir, "tensorboard"), _jsonable(events), metrics,
                              int(model.optimizer.iterations.numpy()))
    if spec["artefacts"]["masks"] and masks:
        _savez(os.path.join(out_dir, "masks.npz"), {k.replace("/", "|"): v for k, v in masks.items()})
    if spec["artefacts"]["predictions"]:
        _savez(os.path.join(out_dir, "predictions.npz"), {"logits": logits, "labels": y_test})
    if spec["artefacts"]["predictions"] and per_example:  # population metrics: PIEs vs non-PIEs
        _savez(os.path.join(out_dir, "per_example.npz"), per_example)
    clock.lap("save")
    return {"status": "ok", "metrics": metrics, "timing": clock.spans, "skipped": skipped,
            "events": len(events), "total_steps": total + (steps_per_epoch * timing.get("finetune_epochs", 0)
                                                            if pruned and timing["kind"] == "oneshot" else 0)
            + (total * timing["rounds"] if iterative else 0), "branched_at_step": first * steps_per_epoch}


def _iterative(spec, model, strategy, plugin, fit, steps_per_epoch, keras, data, num_examples,
               eval_batch=None, mask_dir=None):
    """Iterative pruning with rewinding (``prunekit.pruning.imp.run``): ``rounds`` rounds
    of train ``epochs`` / prune ``rate`` of the remaining / rewind to ``rewind_to`` (a time in
    the first round's training), then the final mask is retrained once more; each round
    restarts the optimizer and sees the same data order. Returns the last training's history
    and one record per round, with the fields of a one-shot event record (loss, accuracy and
    KL on ``eval_batch`` just before and after the prune, target and achieved sparsity per
    layer and overall, criterion and options) and ``mask_path`` (``masks/round_<r>.npz``
    under ``mask_dir``, the mask after the round); statistics use the loss plugin."""
    from prunekit.pruning import imp
    from prunekit.timing import Iterative, Length

    train, t = spec["train"], spec["timing"]
    crit = spec["criterion"]
    criterion = (crit["plugin"] if not crit["options"] else
                 prunekit.registry.get_criterion(crit["plugin"], **crit["options"]))
    histories = []

    def compile_(m):
        with strategy.scope():
            m.compile(optimizer=_optimizer(train, keras), loss=plugin.loss(), metrics=plugin.metrics())

    def fit_(m, callbacks):
        kw = dict(fit, callbacks=list(fit["callbacks"]) + list(callbacks))
        h = m.fit(epochs=train["epochs"], **kw).history
        _finite(h, f"round {len(histories) + 1}")
        histories.append(h)

    if not t["rounds"]:  # sparsity 0: nothing to prune
        fit_(model, [])
        return histories[-1], [], None
    plan = Iterative(rounds=t["rounds"], rate=t["rate"], rewind_to=t["rewind_to"])
    result = imp.run(model, plan, compile=compile_, fit=fit_, criterion=criterion, scope=spec["scope"],
                           data=data, num_examples=num_examples,
                           length=Length(steps_per_epoch, train["epochs"]), loss=plugin, eval_batch=eval_batch,
                           mask_dir=os.path.join(mask_dir, "masks") if mask_dir else None)
    rounds = []
    for r in result.rounds:
        record = {k: v for k, v in r["record"].items() if k not in ("result", "mask_path")}
        rounds.append({**r["event"], **record, "round": r["round"], "target": r["target"],
                       "rewind_step": result.rewind_step, "local": r["record"]["result"],
                       **({"mask_path": os.path.relpath(r["mask_path"], mask_dir)} if mask_dir else {})})
    return histories[-1], rounds, result.rewind


def _retrain_with_labels(spec, model, plugin, rewind_weights, metrics, ds_train, test, num_classes, keras):
    """Paper B: the run's mask retrained with labels from its rewind point
    (:mod:`prunekit.study.label_retrain`); a cross-entropy run's last IMP round already is that."""
    if rewind_weights is None:  # sparsity 0: no mask to retrain
        return {}
    if spec["loss"]["plugin"] == "cross_entropy":
        return {"retrained_test_accuracy": metrics["test_accuracy"], "retrained_test_loss": metrics["test_loss"]}
    from prunekit.study import label_retrain

    train = spec["train"]
    return label_retrain.retrain(model, plugin, rewind_weights, train_data=ds_train, test_data=test,
                                 num_classes=num_classes, epochs=train["epochs"],
                                 batch_size=train["batch_size"], seed=spec["seed"],
                                 make_optimizer=lambda: _optimizer(train, keras),
                                 fit_kwargs={"verbose": spec.get("verbose", 0)})


def _has_tensorboard() -> bool:
    import importlib.util

    return importlib.util.find_spec("tensorboard") is not None


PER_EXAMPLE = ("q_score", "prediction_depth", "pd_score")  # kept in per_example.npz


def _suite_evaluator(name, options, model, data, per_example=None) -> dict:
    """An evaluator of the shared suite: ``prunekit.evaluation.EVALUATORS[name](model, data,
    **options)``; scalar results become metrics (``<name>_<key>``); the per-example arrays
    named in ``PER_EXAMPLE`` go into ``per_example``, other arrays are dropped."""
    from prunekit import evaluation

    out = evaluation.EVALUATORS[name](model, data, **options)
    if isinstance(out, dict) and per_example is not None:
        per_example.update({k: np.asarray(v) for k, v in out.items() if k in PER_EXAMPLE})
    if isinstance(out, dict):
        return {f"{name}_{k}" if k != name else k: v for k, v in _jsonable(out).items()
                if isinstance(v, (int, float))}
    return {name: float(out)}


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "numpy"):
        obj = obj.numpy()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _write(out_dir, name, data: bytes):
    from prunekit.study import rundir

    rundir.write_bytes(os.path.join(out_dir, name), data)


def _savez(path, arrays):
    import io

    from prunekit.study import rundir

    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    rundir.write_bytes(path, buf.getvalue())
