"""One-shot in timing units, local steps, event records and iterative pruning (issues 4, 11).

Tiny MLP on the 8x8 digits; expected values are computed here from the formulas.
"""
import numpy as np
import pytest
import tf_keras as keras
from sklearn.datasets import load_digits

import prunekit
from prunekit import checkpoint, prunable, registry, timing
from prunekit.pruning import PruningCallback, imp, mask_io
from prunekit.timing import iterative, local, units


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
    cb = PruningCallback("magnitude", timing.OneShot(0.7, at=0.0), scope="global")
    model.fit(*digits, batch_size=32, epochs=2, callbacks=[cb], verbose=0)
    got = mask_io.get(model)
    for n in expected:
        np.testing.assert_array_equal(got[n], expected[n].numpy())
    assert [r["step"] for r in cb.records] == [0]
    assert all(np.all(w[got[n] == 0] == 0) for n, w in _kernels(model).items())


def _pruned_at_end_of_training(digits, steps, criterion="taylor1"):
    model = _model(1)
    _compile(model)
    cb = PruningCallback(criterion, timing.OneShot(0.9, at=1.0, steps=steps), scope="global",
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
    cb = PruningCallback("magnitude", timing.OneShot(0.8, at=0.0), eval_batch=(xb, yb),
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

    result = imp.run(model, plan, compile=_compile, fit=fit, criterion="magnitude",
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


def test_finetune_epochs_are_refused_by_one_fit_and_done_as_a_second_fit(digits):
    schedule = timing.OneShot(0.6, at=1.0, finetune_epochs=1, finetune_lr=0.001)
    with pytest.raises(ValueError, match="one fit cannot add fine-tuning epochs") as info:
        PruningCallback("magnitude", schedule)
    assert "\n" not in str(info.value)
    model = _model(5)
    _compile(model)
    cb = PruningCallback("magnitude", schedule.without_finetune(), length=units.Length(10, 2))
    model.fit(*digits, batch_size=32, epochs=2, callbacks=[cb], verbose=0)  # 10 steps per epoch
    masks = mask_io.get(model)
    model.optimizer.learning_rate.assign(schedule.finetune_lr)
    model.fit(*digits, batch_size=32, epochs=3, initial_epoch=2, callbacks=[cb], verbose=0)
    assert [r["step"] for r in cb.records] == [20] and int(model.optimizer.iterations.numpy()) == 30
    for n, m in mask_io.get(model).items():
        np.testing.assert_array_equal(m, masks[n])  # the mask stayed fixed while fine-tuning
    assert all(np.all(w[masks[n] == 0] == 0) for n, w in _kernels(model).items())


def test_oneshot_with_local_steps_in_pruning_callback_makes_four_events(digits):
    model = _model(6)
    _compile(model)
    cb = PruningCallback("magnitude", timing.OneShot(0.8, at=0.5, steps=4), scope="global")
    model.fit(*digits, batch_size=32, epochs=2, callbacks=[cb], verbose=0)  # event at step 10
    assert [(e["step"], e["local_step"]) for e in cb.events] == [(10, 1), (10, 2), (10, 3), (10, 4)]
    for k, e in enumerate(cb.events, start=1):
        assert e["target"] == pytest.approx(1 - 0.2 ** (k / 4), abs=1e-12)
        assert e["overall"] == pytest.approx(e["target"], abs=1.0 / (64 * 24 + 24 * 10))
    assert len(cb.records) == 1 and cb.records[0]["local_steps"] == 4


def test_iterative_in_one_fit_prunes_rewinds_weights_and_optimizer_and_retrains(digits):
    """3 rounds at rate 0.4 in one fit of 40 steps (10 per epoch): segments of 10 steps,
    events at 10, 20, 30, rewind to "1ep" = step 10; the last segment retrains."""
    model = _model(7)
    _compile(model)
    seen = {}

    class Spy(PruningCallback):  # the state right after each rewind, before training on
        def _rewind(self):
            super()._rewind()
            seen[self._step] = ([v.numpy() for v in checkpoint.model_variables(self.model)],
                                [v.numpy() for v in self.model.optimizer.variables[1:]],
                                {n: m.numpy() for n, m in prunable.mask_variables(self.model).items()})

    cb = Spy("magnitude", timing.Iterative(rounds=3, rate=0.4, rewind_to="1ep"))
    model.fit(*digits, batch_size=32, epochs=4, callbacks=[cb], verbose=0)
    assert [r["step"] for r in cb.records] == [10, 20, 30]
    assert [r["target"] for r in cb.records] == pytest.approx([0.4, 1 - 0.6 ** 2, 1 - 0.6 ** 3])
    assert cb.records[-1]["overall"] == pytest.approx(1 - 0.6 ** 3, abs=0.01)
    point = cb.rewind_point
    assert point.step == 10 and int(model.optimizer.iterations.numpy()) == 40
    names = [v.name for v in checkpoint.model_variables(model)]
    for step in (20, 30):  # survivors and their optimizer slots are back at the rewind point
        weights, slots, masks = seen[step]
        for name, now, saved in zip(names, weights, point.weights):
            np.testing.assert_array_equal(now, saved * masks.get(name, 1.0), err_msg=name)
        for now, saved in zip(slots, point.optimizer[1:]):
            assert np.all((now == saved) | (now == 0))
        bias_slot = slots[names.index("h/bias:0")]  # biases are never pruned: restored exactly
        np.testing.assert_array_equal(bias_slot, point.optimizer[1 + names.index("h/bias:0")])
        assert np.any(bias_slot != 0)
    final, masks = _kernels(model), seen[30][2]
    assert all(np.all(final[n][m == 0] == 0) for n, m in masks.items())
    assert not np.array_equal(final["h/kernel:0"], seen[30][0][names.index("h/kernel:0")])  # retrained


def test_no_retracing_warnings_from_applying_masks_across_models():
    import logging

    import tensorflow as tf

    messages = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    tf.get_logger().addHandler(handler)
    try:
        for seed in range(7):  # a study's runs, one model each, in one process
            model = _model(seed)
            cb = PruningCallback("magnitude", timing.Hold())
            cb.set_model(model)
            cb.prune(0.5, step=0)
            cb.prune(0.6, step=0)
            assert model.__dict__["_prunekit_apply"][2].experimental_get_tracing_count() == 1
    finally:
        tf.get_logger().removeHandler(handler)
    assert not [m for m in messages if "retracing" in m], messages
