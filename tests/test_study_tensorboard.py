"""A run with ``tensorboard=True`` writes Keras' curves, tfmot's pruning summaries and
prunekit's own scalars (pruning events and the run's metrics), read back with TensorBoard's
own event reader."""
import copy
import glob
import json
import os

import numpy as np
import pytest

from prunekit.study.execute import run
from test_study_grid import SPEC

pytest.importorskip("tensorboard")  # tf.summary.scalar comes from the tensorboard package


def _scalars(logdir):
    """``{subdir: {tag: [(step, value), ...]}}`` (sorted by step) for every event file under
    ``logdir``, read with TensorFlow's own event-file iterator."""
    import tensorflow as tf

    out = {}
    for path in sorted(glob.glob(f"{logdir}/**/events.out.*", recursive=True)):
        tags = out.setdefault(os.path.relpath(os.path.dirname(path), logdir), {})
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                array = tf.make_ndarray(value.tensor) if value.HasField("tensor") else np.float32(value.simple_value)
                if array.dtype.kind == "f" and array.size == 1:  # scalars, not the model's JSON
                    tags.setdefault(value.tag, {})[event.step] = float(array)
    return {d: {t: sorted(v.items()) for t, v in tags.items()} for d, tags in out.items()}


def test_pruned_run_writes_keras_tfmot_and_prunekit_scalars(tmp_path):
    spec = copy.deepcopy(SPEC)
    spec["tensorboard"] = True
    result = run.execute(spec, str(tmp_path))
    assert "tensorboard:not-installed(no logs)" not in result["skipped"]
    logs = _scalars(str(tmp_path / "tensorboard"))
    assert {"train", "metrics", "prunekit"} <= set(logs)
    # Keras: one epoch_loss point per epoch (2 training + 1 fine-tuning epochs).
    assert len(logs["train"]["epoch_loss"]) == 3
    # tfmot's PruningSummaries: the mask sparsity of the pruned layer at the end equals the
    # fraction of zeros in the saved mask.
    with np.load(tmp_path / "masks.npz") as z:
        masks = {k: z[k] for k in z.files}
    (name, mask), = [(k, v) for k, v in masks.items() if k.startswith("features")]
    tag = next(t for t in logs["metrics"] if t.endswith("mask:0/sparsity"))
    assert logs["metrics"][tag][-1][1] == pytest.approx(1.0 - mask.mean(), abs=1e-6)
    # prunekit: the event's numbers equal events.json, the run's metrics equal the result.
    events = json.loads((tmp_path / "events.json").read_text())
    assert len(events) == 1
    ours = logs["prunekit"]
    assert ours["event/sparsity"] == [(events[0]["step"], pytest.approx(events[0]["overall"], rel=1e-6))]
    assert ours["event/loss_after"][0][1] == pytest.approx(events[0]["after"]["loss"], rel=1e-6)
    assert ours["event/kl"][0][1] == pytest.approx(events[0]["kl"], rel=1e-5)
    assert ours["run/test_accuracy"][0][1] == pytest.approx(result["metrics"]["test_accuracy"], rel=1e-6)
    assert ours["run/sparsity"][0][1] == pytest.approx(result["metrics"]["sparsity"], rel=1e-6)
