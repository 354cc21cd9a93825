"""The evaluate stage of a run: the readout (test accuracy and loss of the classifier head of a
supervised loss, or of a linear probe on the frozen representation of any other loss, plus
its k-NN accuracy), the event metrics, sparsity, the training budget (``optimizer_steps``)
and the suite's evaluators the config names.

The study's own evaluator names (``accuracy``, ``linear_probe``, ``sparsity``, ``knn``: the readout, always
measured; see :mod:`prunekit.study.runspec.readouts`) are not suite evaluators; every other name
is one of :data:`prunekit.evaluation.suite.EVALUATORS`, whose declarations say which of its
outputs are per-run metrics (``<evaluator>_<metric>``) and which are per-example arrays
(``per_example.npz``).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from prunekit.study.execute.failed import RunFailed
from prunekit.study.runspec import readouts


@dataclasses.dataclass
class Measured:
    metrics: dict
    logits: object  # test logits (the linear probe's log-probabilities for a representation loss)
    masks: dict
    per_example: dict


def _event_metrics(records) -> dict:
    """Paper C: the loss right after the (last) prune, before any fine-tuning, on the fixed
    evaluation examples; with the loss right before it and KL(before || after)."""
    last = next((r for r in reversed(records) if "after" in r), None)
    if last is None:
        return {}
    return {"loss_before_prune": last["before"]["loss"], "accuracy_before_prune": last["before"]["accuracy"],
            "loss_after_prune": last["after"]["loss"], "accuracy_after_prune": last["after"]["accuracy"],
            "kl_prune": last["kl"]}


def probe_readout(evaluation: dict, f_train, y_train, f_test, y_test, num_classes: int, knn: bool = True):
    """``(metrics, log_probs)`` of the linear probe on frozen features (budget: the config's
    ``linear_probe`` options), with the k-NN readout as ``knn_test_accuracy``; the run's
    readout of a representation loss, and the floors' (:mod:`prunekit.study.execute.floors`)."""
    from prunekit import evaluation as ev
    from prunekit.evaluation.probes import linear_probe_log_probs

    f_train, f_test = np.asarray(f_train).reshape(len(f_train), -1), np.asarray(f_test).reshape(len(f_test), -1)
    log_probs = linear_probe_log_probs(
        f_train, y_train, f_test, num_classes, C=float(readouts.option(evaluation, "linear_probe", "C")),
        max_iter=int(readouts.option(evaluation, "linear_probe", "max_iter")))
    loss, acc = ev.loss_and_accuracy(log_probs, y_test, from_logits=True)
    metrics = {"test_loss": loss, "test_accuracy": acc, "readout": "linear_probe"}
    if knn:
        k = readouts.option(evaluation, "knn", "k")
        pred = np.asarray(ev.knn_predict(f_train, y_train, f_test, k=k, metric="cosine"))
        metrics["knn_test_accuracy"] = float((pred == np.asarray(y_test).reshape(-1)).mean())
    return metrics, log_probs


def _readout(spec, data, run) -> tuple:
    """``(metrics, logits)``: a supervised loss's classifier on the test split (``readout``
    ``classifier``), or the linear probe on the frozen encoder of a representation loss
    (:func:`probe_readout`; its test log-probabilities are the logits PIEs read)."""
    from prunekit import evaluation

    model = run.model
    if run.classifier:
        logits = model.predict(data.x_test, batch_size=1024, verbose=0).astype(np.float32)
        loss, acc = evaluation.loss_and_accuracy(logits, data.y_test, from_logits=True)
        return {"test_loss": loss, "test_accuracy": acc, "readout": "classifier"}, logits
    encoder = run.plugin.encoder(model)
    f_train = encoder.predict(data.x_train, batch_size=1024, verbose=0)
    f_test = encoder.predict(data.x_test, batch_size=1024, verbose=0)
    return probe_readout(spec.evaluation, f_train, data.y_train, f_test, data.y_test, data.num_classes)


def _sparsity(model, dense_heads) -> dict:
    """``sparsity``: over the weights this study prunes (heads excluded unless prune_heads), the
    same set for dense and pruned runs; ``sparsity_all_weights``: those zeros over all trainable
    weights."""
    from prunekit import prunable

    weights = {n: np.asarray(w.numpy()) for n, w in prunable.prunable_weights(model).items()
               if n.split("/")[0] not in dense_heads}
    total = sum(w.size for w in weights.values())
    nonzero = sum(int(np.count_nonzero(w)) for w in weights.values())
    # The same zeros over every trainable weight (heads, biases, layers left dense): what the
    # sparsity above is not over (issue 12: a sparsity says what it is over).
    everything = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    return {"sparsity": 1.0 - nonzero / max(total, 1), "nonzero_weights": nonzero, "prunable_weights": total,
            "sparsity_all_weights": (total - nonzero) / max(everything, 1), "all_weights": everything}


def suite_evaluator(name: str, options: dict, model, bundle: dict, per_example: dict) -> dict:
    """The suite's evaluator ``name``: its declared metrics as ``<name>_<metric>`` (``name``
    itself when they coincide); its declared per-example arrays go into ``per_example``."""
    from prunekit.evaluation import suite

    evaluator = suite.EVALUATORS[name]
    out = evaluator(model, bundle, **options)
    if not isinstance(out, dict):
        return {name: float(out)}
    metrics, arrays = evaluator.split(out)
    per_example.update(arrays)
    return {f"{name}_{k}" if k != name else k: v for k, v in metrics.items() if isinstance(v, (int, float))}


def evaluate(spec, data, run, trained) -> Measured:
    """The evaluate stage: every per-run metric of the run."""
    from prunekit import prunable
    from prunekit.study.execute import imp

    model = run.model
    metrics = {"train_loss": float(trained.history["loss"][-1])}
    metrics.update(_event_metrics(run.pruning.records if run.pruning else trained.rounds))
    if "accuracy" in trained.history:
        metrics["train_accuracy"] = float(trained.history["accuracy"][-1])
    readout, logits = _readout(spec, data, run)
    metrics.update(readout)
    metrics["optimizer_steps"] = spec.total_steps(len(data.x_train))  # the arm's training budget
    if not np.isfinite(metrics["test_loss"]):
        raise RunFailed(f"test loss is {metrics['test_loss']}")
    masks = ({n: np.asarray(m.numpy() != 0) for n, m in prunable.mask_variables(model).items()}
             if spec.pruned else {})
    metrics.update(_sparsity(model, run.dense_heads))
    per_example = {}  # test-split arrays of the suite's per-example evaluators
    bundle = {"train": (data.x_train, data.y_train), "test": (data.x_test, data.y_test),
              "num_classes": data.num_classes, "data_dir": spec.data_dir}
    for name, options in spec.evaluation.items():
        if name not in readouts.READOUTS:
            metrics.update(suite_evaluator(name, options, model, bundle, per_example))
    if spec.pruned and spec.timing.kind == "iterative" and spec.timing.retrain_with_labels:
        metrics.update(imp.retrain_with_labels(spec, model, run.plugin, trained.rewind_weights, metrics, data))
    return Measured(metrics, logits, masks, per_example)


__all__ = ["evaluate", "suite_evaluator", "Measured"]
