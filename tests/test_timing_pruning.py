"""One-shot in timing units, local steps, event records and iterative pruning (issue 4).

Tiny MLP on the 8x8 digits; expected values are computed here from the formulas.
"""
import numpy as np
import pytest
import tf_keras as keras
from sklearn.datasets import load_digits

import prunekit
from prunekit import prunable, registry, timing
from prunekit.keras import PruningCallback
from prunekit.timing import iterative, local, mask_io, units
from prunekit.timing.callback import TimedPruning


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return (x[:320] / 16.0).astype(np.float32), y[:320].astype(np.int32)


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(24, activation="tanh", name="h"),
                              keras.layers.Dense(10, name="out")])
    return prunekit.wrap(model)


def _compile(model, lr=0.05):
    model.compile(keras.optimizers.SGD(lr, momentum=0.9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))


def _kernels(model):
    return {n: w.numpy() for n, w in prunable.prunable_weights(model).items()}


def test_local_targets_exponential_and_linear():
    p, pi = 0.95, 14
    ts = local.targets(p, pi)
    for k in range(1, pi + 1):
        assert ts[k - 1] == pytest.approx(1 - (1 - p) ** (k / pi), abs=1e-12)
    assert ts[-1] == p and local.targets(p, 1) == [p]
    assert local.targets(0.6, 3, "linear") == pytest.approx([0.2, 0.4, 0.6])


def test_oneshot_at_zero_with_magnitude_prunes_the_initial_weights(digits):
    model = _model()
    _compile(model)
    initial = _kernels(model)
    expected = registry.get_criterion("magnitude").masks(initial, 0.7, scope="global")
    cb = TimedPruning("magnitude", timing.OneShot(0.7, at=0.0), scope="global")
    model.fit(*digits, batch_size=32, epochs=2, callbacks=[cb], verbose=0)
    got = mask_io.get(model)
    for n in expected:
        np.testing.assert_array_equal(got[n], expected[n].numpy())
    assert [r["step"] for r in cb.records] == [0]
    assert all(np.all(w[got[n] == 0] == 0) for n, w in _kernels(model).items())


def _pruned_at_end_of_training(digits, steps, criterion="taylor1"):
    model = _model(1)
    _compile(model)
    cb = TimedPruning(criterion, timing.OneShot(0.9, at=1.0, steps=steps), scope="global",
                      data=digits, num_examples=128, eval_batch=(digits[0][:64], digits[1][:64]))
    model.fit(*digits, batch_size=32, epochs=1, callbacks=[cb], verbose=0)
    return model, cb


def test_local_steps_pi_1_equals_plain_oneshot(digits):
    model, cb = _pruned_at_end_of_training(digits, steps=1)
    plain = _model(1)
    _compile(plain)
    ref = PruningCallback("taylor1", prunekit.schedules.OneShot(0.9, at_step=10), scope="global",
                          data=digits, num_examples=128)
    plain.fit(*digits, batch_size=32, epochs=1, callbacks=[ref], verbose=0)
    assert [e["step"] for e in ref.events] == [10] and cb.records[0]["step"] == 10
    for n, m in mask_io.get(plain).items():
        np.testing.assert_array_equal(mask_io.get(model)[n], m)


def test_local_steps_reach_each_exponential_target_and_are_recorded(digits, monkeypatch):
    from prunekit import statistics
    seen, compute = [], statistics.compute

    def counting(model, *args, **kwargs):  # sparsity of the network the statistics see
        masks = mask_io.get(model)
        seen.append(1 - sum(m.sum() for m in masks.values()) / sum(m.size for m in masks.values()))
        return compute(model, *args, **kwargs)

    monkeypatch.setattr(statistics, "compute", counting)
    pi = 4
    model, cb = _pruned_at_end_of_training(digits, steps=pi)
    # Statistics recomputed before every step, on the network masked by the previous steps.
    assert seen == pytest.approx([0.0] + [1 - 0.1 ** (k / pi) for k in (1, 2, 3)], abs=2e-3)
    (record,) = cb.records
    events = record["result"]
    assert [e["local_step"] for e in events] == [1, 2, 3, 4]
    for k, e in enumerate(events, start=1):
        assert e["overall"] == pytest.approx(1 - 0.1 ** (k / pi), abs=2e-3)
    # The record: function before / after on the fixed batch, KL computed independently.
    assert record["overall"] == pytest.approx(0.9, abs=1e-3)
    assert record["before"]["loss"] < record["after"]["loss"] and record["kl"] > 0
    assert record["criterion"] == "Taylor1" and record["epoch"] == 1.0


def test_records_measure_function_preservation_and_save_masks(digits, tmp_path):
    model = _model(2)
    _compile(model)
    xb, yb = digits[0][:50], digits[1][:50]
    before = keras.backend.softmax(model(xb)).numpy().astype(np.float64)
    cb = TimedPruning("magnitude", timing.OneShot(0.8, at=0.0), eval_batch=(xb, yb),
                      mask_dir=str(tmp_path))
    model.fit(*digits, batch_size=32, epochs=1, callbacks=[cb], verbose=0)
    (r,) = cb.records
    # Recompute "after" from the saved mask applied to the initial model.
    fresh = _model(2)
    mask_io.assign(fresh, mask_io.load(r["mask_path"]))
    after = keras.backend.softmax(fresh(xb)).numpy().astype(np.float64)
    kl = np.mean(np.sum(before * np.log(before / after), axis=1))
    assert r["kl"] == pytest.approx(kl, rel=1e-5)
    assert r["before"]["accuracy"] == pytest.approx(np.mean(before.argmax(1) == yb))
    assert r["after"]["loss"] == pytest.approx(-np.mean(np.log(after[np.arange(50), yb])), rel=1e-5)
    assert r["target_per_layer"] == {n: 0.8 for n in r["sparsity"]}
    assert all(abs(s - 0.8) < 0.01 for s in r["sparsity"].values())


@pytest.mark.parametrize("rewind_to", [0, units.Steps(4)])
def test_iterative_sparsity_and_bitwise_rewind(digits, rewind_to):
    model = _model(3)
    plan = timing.Iterative(rounds=3, rate=0.2, rewind_to=rewind_to)
    lengths = []

    def fit(m, callbacks):
        h = m.fit(*digits, batch_size=64, epochs=2, callbacks=callbacks, verbose=0)
        lengths.append(int(m.optimizer.iterations.numpy()))
        return h

    result = iterative.run(model, plan, compile=_compile, fit=fit, criterion="magnitude",
                           scope="layer", keep_weights=True)
    assert lengths == [10, 10, 10, 10]  # optimizer restarts every round (+ final retraining)
    assert result.rewind_step == (0 if rewind_to == 0 else 4)
    for r, record in enumerate(result.rounds, start=1):
        masks = record["masks"]
        assert iterative.sparsity(masks) == pytest.approx(1 - 0.8 ** r, abs=2e-3)
        for name, m in masks.items():
            assert abs((1 - m.mean()) - (1 - 0.8 ** r)) <= 1.0 / m.size  # per layer
            w = record["weights_after_rewind"][name]
            saved = result.rewind_weights[name]
            np.testing.assert_array_equal(w[m == 1], saved[m == 1])  # bit for bit
            assert np.all(w[m == 0] == 0)
        bias = record["weights_after_rewind"]["h/bias:0"]
        np.testing.assert_array_equal(bias, result.rewind_weights["h/bias:0"])
    final = mask_io.get(model)
    assert all(np.all(w[final[n] == 0] == 0) for n, w in _kernels(model).items())
    if rewind_to != 0:
        assert not np.array_equal(result.rewind_weights["h/kernel:0"], _kernels(_model(3))["h/kernel:0"])


def test_plain_pruning_callback_resolves_timed_schedules_from_fit(digits):
    model = _model(4)
    _compile(model)
    cb = PruningCallback("magnitude", timing.OneShot(0.5, at="1ep"))
    model.fit(*digits, batch_size=32, epochs=2, callbacks=[cb], verbose=0)  # 10 steps per epoch
    assert [e["step"] for e in cb.events] == [10] and cb.length == units.Length(10, 2)
    # A fit that cannot tell its steps per epoch (an endless dataset) needs length=...
    cb = PruningCallback("magnitude", timing.Gradual(0.5, begin=0.1, end=0.5))
    cb.set_model(model)
    cb.set_params({"epochs": 1, "steps": None})
    with pytest.raises(ValueError, match="^length"):
        cb.on_train_begin()


def test_oneshot_after_training_then_finetune_with_mask_fixed(digits):
    from prunekit.timing import trunk
    data = trunk.StepData(*digits, batch_size=32)  # 10 steps per epoch
    arm = trunk.Arm("after", timing.OneShot(0.6, at=1.0, finetune_epochs=1, finetune_lr=0.001))
    study = trunk.Study([arm], build=lambda: keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(16, name="h"), keras.layers.Dense(10, name="out")]),
        compile=_compile, data=data, epochs=2, checkpoint_at=["1ep"])
    model, cb = study.run(share=True)["after"]
    assert sorted(study.checkpoints) == [10, 20]  # the extra candidate (rewind) point too
    assert int(study.checkpoints[10]["optimizer"][0]) == 10  # iterations saved with the slots
    assert [r["step"] for r in cb.records] == [20] and study.steps_trained == {"trunk": 20, "after": 10}
    assert int(model.optimizer.iterations.numpy()) == 30
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.001)
    masks = mask_io.get(model)
    assert all(np.all(w[masks[n] == 0] == 0) for n, w in _kernels(model).items())
    assert study.report()["ratio"] == 1.0  # one arm: nothing to share
