"""Iterative runs in the study record every round like a one-shot event (loss/accuracy/KL on
the fixed evaluation batch just before and after the prune, target and achieved sparsity,
criterion), save each round's mask, and take gradient statistics from the loss plugin."""
import json
import math
import os

import numpy as np
import pytest

import prunekit  # noqa: F401  (tf_keras before TensorFlow)
from prunekit.study.runspec import grid
from prunekit.study.execute import model as model_lib, run, train
from prunekit.study.runspec.types import RunSpec
from test_study_grid import SPEC


def _spec(loss, criterion, sparsity, rate, epochs=1):
    spec = json.loads(json.dumps(SPEC))
    spec["train"]["epochs"] = epochs
    spec["loss"] = {"label": loss, "plugin": loss, "options": {"augment": False}}
    spec["criterion"] = {"label": criterion, "plugin": criterion, "options": {}}
    spec["sparsity"] = sparsity
    spec["timing"] = {**grid.resolve_timing("imp", {"kind": "iterative", "rate": rate, "rewind_to": 0.0}),
                      "rounds": grid.iterative_rounds(sparsity, rate)}
    return spec


def _softmax(z):
    z = z.astype(np.float64) - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def test_round_records_match_an_independent_first_round(tmp_path):
    import tf_keras as keras

    from prunekit import prunable
    from prunekit.study import datasets
    from prunekit.study.execute import order

    spec = _spec("cross_entropy", "magnitude", 0.75, 0.5)
    result = run.execute(spec, str(tmp_path))
    assert result["status"] == "ok" and result["events"] == 2
    events = json.loads((tmp_path / "events.json").read_text())
    assert [e["round"] for e in events] == [1, 2]
    for e in events:  # the fields of a one-shot record
        for key in ("step", "epoch", "criterion", "options", "scope", "target", "sparsity", "overall",
                    "target_per_layer", "before", "after", "kl", "mask_path", "rewind_step"):
            assert key in e, key
    assert [e["target"] for e in events] == pytest.approx([0.5, 0.75])
    assert [e["overall"] for e in events] == pytest.approx([0.5, 0.75], abs=1e-3)
    assert events[0]["criterion"] == "Magnitude" and events[0]["step"] == 12
    masks = [dict(np.load(tmp_path / e["mask_path"])) for e in events]
    assert [e["mask_path"] for e in events] == ["masks/round_01.npz", "masks/round_02.npz"]

    # Round 1 by hand: the dense model trained one epoch in the run's data order, then the
    # 50 % smallest-magnitude weights of each pruned kernel zeroed; loss/accuracy/KL in numpy.
    x, y = datasets.arrays("digits", "train", None)
    model, plugin, _, heads = model_lib.build(RunSpec.coerce(spec), x.shape[1:], 10, wrapped=False)
    model.fit(order.training_data(plugin, x, y, batch_size=128, seed=0, first=0, last=1),
              epochs=1, steps_per_epoch=math.ceil(len(x) / 128), verbose=0)
    xe, ye = x[:train.EVAL_EXAMPLES], y[:train.EVAL_EXAMPLES]
    p = _softmax(model.predict(xe, verbose=0))
    kernels = {n: w for n, w in prunable.prunable_weights(model).items() if n.split("/")[0] not in heads}
    assert len(kernels) == len([k for k in masks[0] if not k.startswith("__")]) == 1
    (name, w), = kernels.items()
    value = w.numpy()
    k = value.size // 2
    mask = np.ones(value.size, np.float32)
    mask[np.argsort(np.abs(value).ravel(), kind="stable")[:k]] = 0
    mask = mask.reshape(value.shape)
    saved = next(v for key, v in masks[0].items() if not key.startswith("__"))
    np.testing.assert_array_equal(saved, mask)
    w.assign(value * mask)
    q = _softmax(model.predict(xe, verbose=0))
    for probs, key in ((p, "before"), (q, "after")):
        loss = -np.mean(np.log(np.clip(probs[np.arange(len(ye)), ye], 1e-12, 1)))
        assert events[0][key]["loss"] == pytest.approx(loss, rel=1e-5)
        assert events[0][key]["accuracy"] == pytest.approx(np.mean(probs.argmax(-1) == ye))
    p, q = np.clip(p, 1e-12, 1), np.clip(q, 1e-12, 1)
    assert events[0]["kl"] == pytest.approx(np.mean(np.sum(p * np.log(p / q), -1)), rel=1e-4, abs=1e-7)
    assert result["metrics"]["loss_after_prune"] == pytest.approx(events[1]["after"]["loss"])


def test_taylor1_iterative_under_simclr_takes_its_gradient_from_the_plugin(tmp_path, monkeypatch):
    from prunekit import statistics

    calls = []
    original = statistics.compute

    def spy(model, data, requires, num_examples, loss=None, **kw):
        calls.append((type(loss).__name__, sorted(requires), data[1] is None))
        return original(model, data, requires, num_examples, loss=loss, **kw)

    monkeypatch.setattr(statistics, "compute", spy)
    spec = _spec("simclr", "taylor1", 0.36, 0.2)
    result = run.execute(spec, str(tmp_path))
    assert result["status"] == "ok" and result["events"] == 2
    # One statistics pass per round, on the NT-Xent objective of the SimCLR plugin, no labels.
    assert calls == [("SimCLR", ["gradient"], True)] * 2
    events = json.loads((tmp_path / "events.json").read_text())
    assert [e["criterion"] for e in events] == ["Taylor1"] * 2
    assert [e["overall"] for e in events] == pytest.approx([0.2, 0.36], abs=1e-3)
    assert "before" not in events[0]  # no classifier output: no function-preservation batch
    assert all(os.path.exists(tmp_path / e["mask_path"]) for e in events)
