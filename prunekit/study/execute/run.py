"""One run of a study: load -> build -> train -> evaluate -> save.

:func:`execute` takes a :class:`~prunekit.study.runspec.types.RunSpec` (or its dict form) and a
directory, trains and evaluates, writes the run's artefacts into the directory and returns
the result dict (``status``, ``metrics``, ``timing``, ...). It raises
:class:`~prunekit.study.execute.failed.RunFailed` for a run that diverges; the executor
records any exception as a failed run and the study goes on.

A oneshot/gradual timing becomes a :mod:`prunekit.timing` schedule resolved against
``Length(steps_per_epoch, epochs)`` (:mod:`prunekit.study.pruning`); a oneshot ``at`` the end
of training (``1.0``) prunes after the last update, then fine-tunes ``finetune_epochs`` with
the mask fixed at ``finetune_learning_rate``; ``steps`` > 1 splits the prune into local steps
(paper C). Each event is recorded (events.json) with the loss and accuracy just before and
after it and KL(before || after) on fixed training examples; the last event's numbers are
the metrics ``loss_after_prune`` / ``accuracy_after_prune`` (before fine-tuning),
``loss_before_prune``, ``accuracy_before_prune`` and ``kl_prune``.
"""
from __future__ import annotations

import dataclasses
import time

import prunekit  # noqa: F401  (tf_keras before TensorFlow)

from prunekit.study.execute.failed import RunFailed
from prunekit.study.runspec.types import RunSpec


class _Clock:
    def __init__(self):
        self.spans = {}
        self._t = time.perf_counter()

    def lap(self, name):
        now = time.perf_counter()
        self.spans[name] = self.spans.get(name, 0.0) + now - self._t
        self._t = now


@dataclasses.dataclass(frozen=True)
class Data:
    """The run's arrays (``x_train, y_train, x_test, y_test``) and its number of classes."""
    x_train: object
    y_train: object
    x_test: object
    y_test: object
    num_classes: int


def load(spec: RunSpec) -> Data:
    from prunekit.study import datasets

    x_train, y_train = datasets.arrays(spec.dataset, "train", spec.data_dir)
    x_test, y_test = datasets.arrays(spec.dataset, "test", spec.data_dir)
    return Data(x_train, y_train, x_test, y_test, datasets.info(spec.dataset, spec.data_dir)["num_classes"])


def execute(spec, out_dir: str, branch: dict | None = None) -> dict:
    """Runs ``spec``, writes its artefacts into ``out_dir``, returns the result dict.

    ``branch`` (from :func:`prunekit.study.execute.trunk.branch_source`): start from the shared
    dense trunk's checkpoint at the start of epoch ``branch["epoch"]`` (``path`` or ``data``
    bytes) instead of step 0; the result is the same (the data order depends on the epoch only)."""
    import tf_keras as keras

    from prunekit.study.execute import artefacts, measure, train

    spec = RunSpec.coerce(spec)
    clock = _Clock()
    keras.backend.clear_session()
    data = load(spec)
    clock.lap("data")
    run = train.prepare(spec, data, out_dir)
    clock.lap("build")
    trained = train.train(spec, data, run, branch)
    clock.lap("train")
    measured = measure.evaluate(spec, data, run, trained)
    clock.lap("evaluate")
    n_events = artefacts.save(spec, data, run, trained, measured, out_dir)
    clock.lap("save")
    spe = spec.steps_per_epoch(len(data.x_train))
    return {"status": "ok", "metrics": measured.metrics, "timing": clock.spans, "skipped": run.skipped,
            "events": n_events, "total_steps": spec.total_steps(len(data.x_train)),
            "branched_at_step": trained.first_epoch * spe}


__all__ = ["execute", "load", "Data", "RunFailed"]
