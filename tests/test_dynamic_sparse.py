"""Dynamic sparse training (SET, RigL) and ERK densities (issue 16 item 2).

Expected values are worked out here: ERK by hand, the cosine decay from its formula, RigL's
regrowth by a brute-force sort of a GradientTape gradient on a plain Keras copy.
"""
import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from sklearn.datasets import load_digits

import prunekit
from prunekit import masks as masks_lib
from prunekit import prunable, timing
from prunekit.pruning import PruningCallback, dynamic, mask_io, optimizer_slots
from prunekit.timing.dynamic import cosine_drop


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return (x[:256] / 16.0).astype(np.float32), y[:256].astype(np.int32)


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(24, activation="tanh", name="h"),
                              keras.layers.Dense(10, name="out")])
    return prunekit.wrap(model)


def _active(model):
    return {n: int(np.count_nonzero(m)) for n, m in mask_io.get(model).items()}


def test_erk_sparsities_match_a_hand_computation():
    shapes = {"a": (10, 20), "b": (20, 5)}
    # raw densities (in + out) / (in * out): a 30/200 = 0.15, b 25/100 = 0.25; budget 0.5 * 300.
    eps = 150 / (0.15 * 200 + 0.25 * 100)
    got = masks_lib.erk_sparsities(shapes, 0.5)
    assert got == pytest.approx({"a": 1 - 0.15 * eps, "b": 1 - 0.25 * eps})
    # At 0.2, b would get density 240 / 55 * 0.25 > 1: b dense, a takes the rest: 140 / 200.
    assert masks_lib.erk_sparsities(shapes, 0.2) == pytest.approx({"a": 1 - 140 / 200, "b": 0.0})
    # A conv kernel: (kh + kw + in + out) / (kh * kw * in * out).
    conv = masks_lib.erk_sparsities({"c": (3, 3, 4, 8), "d": (72, 10)}, 0.9)
    e = 0.1 * (288 + 720) / ((18 / 288) * 288 + (82 / 720) * 720)
    assert conv == pytest.approx({"c": 1 - 18 / 288 * e, "d": 1 - 82 / 720 * e})


def test_erk_scope_keeps_each_layers_erk_count():
    rng = np.random.default_rng(0)
    scores = {"a": rng.normal(size=(10, 20)), "b": rng.normal(size=(20, 5))}
    masks = masks_lib.topk_masks(scores, 0.5, scope="erk")
    per_layer = masks_lib.erk_sparsities({"a": (10, 20), "b": (20, 5)}, 0.5)
    for n, s in scores.items():
        kept = masks_lib.keep_count(s.size, per_layer[n])
        assert int(np.count_nonzero(masks[n])) == kept
        # the kept entries are the top-k scores of the layer
        assert np.min(s[masks[n].numpy() > 0]) >= np.max(s[masks[n].numpy() == 0])


def test_cosine_decay_values_and_plan():
    assert cosine_drop(0, 0.3, 100) == pytest.approx(0.3)
    assert cosine_drop(50, 0.3, 100) == pytest.approx(0.15)
    assert cosine_drop(25, 0.3, 100) == pytest.approx(0.15 * (1 + math.cos(math.pi / 4)))
    assert cosine_drop(100, 0.3, 100) == 0.0
    plan = timing.DynamicSparse(0.9, kind="set", update_every=10, end=0.5).resolve(timing.Length(20, 5))
    assert plan.steps() == [0, 10, 20, 30, 40]  # end = 0.5 * 100 = step 50, exclusive
    assert [e.drop for e in plan.events] == pytest.approx([0.0] + [cosine_drop(t, 0.3, 50) for t in (10, 20, 30, 40)])
    assert set(plan.targets()) == {0.9}


@pytest.mark.parametrize("kind", ["set", "rigl"])
def test_exact_per_layer_sparsity_across_updates(digits, kind):
    x, y = digits
    model = _model()
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    sched = timing.DynamicSparse(0.8, kind=kind, update_every=2, drop_fraction=0.5, end=1.0, distribution="erk")
    cb = PruningCallback("magnitude", sched, data=(x, y), num_examples=64)
    model.fit(x, y, batch_size=32, epochs=2, callbacks=[cb], verbose=0)
    shapes = {n: tuple(w.shape) for n, w in prunable.prunable_weights(model).items()}
    per_layer = masks_lib.erk_sparsities(shapes, 0.8)
    expected = {n: masks_lib.keep_count(int(np.prod(s)), per_layer[n]) for n, s in shapes.items()}
    updates = [e for e in cb.events if e.get("drop")]
    assert [e["step"] for e in updates] == [2, 4, 6, 8, 10, 12, 14]
    assert sum(sum(e["regrown"].values()) for e in updates) > 0  # masks did change
    for e in cb.events:
        assert {n: round((1 - s) * np.prod(shapes[n])) for n, s in e["sparsity"].items()} == expected
    assert _active(model) == expected
    for n, w in prunable.prunable_weights(model).items():  # pruned weights are exactly zero
        assert np.all(w.numpy()[mask_io.get(model)[n] == 0] == 0)


def _brute_force_rigl(w, mask, grad, fraction):
    """Drop the k smallest active |w|, grow the k largest |g| among the rest (python sorts)."""
    flat_w, flat_m, flat_g = w.ravel(), mask.ravel() > 0, np.abs(grad.ravel())
    active = [i for i in range(flat_w.size) if flat_m[i]]
    k = int(fraction * len(active))
    by_magnitude = sorted(active, key=lambda i: (abs(flat_w[i]), -i))  # smallest first, ties: higher index
    kept = set(by_magnitude[k:])
    candidates = sorted((i for i in range(flat_w.size) if i not in kept), key=lambda i: (-flat_g[i], i))
    new = np.zeros(flat_w.size)
    new[list(kept | set(candidates[:k]))] = 1
    return new.reshape(mask.shape)


def _plain_sgd_steps(model, masks, batches, lr):
    """Brute-force masked SGD on a plain model: per batch, theta <- (theta - lr g) * mask;
    returns the gradient of each batch (at the weights before its update)."""
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    kernels = [layer.kernel for layer in model.layers]
    for kernel, mask in zip(kernels, masks):
        kernel.assign(kernel.numpy() * mask)
    grads = []
    for bx, by in batches:
        with tf.GradientTape() as tape:
            loss = loss_fn(by, model(bx))
        g = tape.gradient(loss, model.trainable_variables)
        grads.append({v.name: gi.numpy() for v, gi in zip(model.trainable_variables, g)})
        for v, gi in zip(model.trainable_variables, g):
            v.assign(v - lr * gi)
        for kernel, mask in zip(kernels, masks):
            kernel.assign(kernel.numpy() * mask)
    return grads


def test_rigl_regrowth_uses_the_gradient_of_the_update_steps_batch(digits):
    x, y = digits
    lr, batch = 0.5, 64
    model = _model(seed=3)
    model.compile(keras.optimizers.SGD(lr), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    sched = timing.DynamicSparse(0.7, kind="rigl", update_every=3, drop_fraction=0.4, end=4, distribution="uniform")
    cb = PruningCallback("magnitude", sched)  # no data: RigL scores the batch of the update step
    shapes = {n: tuple(w.shape) for n, w in prunable.prunable_weights(model).items()}
    before = dynamic.initial_masks(shapes, 0.7, "layer", 0)
    model.fit(x, y, batch_size=batch, epochs=1, shuffle=False, callbacks=[cb], verbose=0)
    (update,) = [e for e in cb.events if e.get("drop")]
    assert update["step"] == update["applied_at"] == 3
    expected, other = _rigl_expected(x, y, before, lr, batch, update["drop"])
    for name, mask in mask_io.get(model).items():
        np.testing.assert_array_equal(mask, expected[name])
        assert not np.array_equal(other[name], expected[name])  # the test tells batches apart


def _rigl_expected(x, y, before, lr, batch, drop):
    """The masks after the update at step 3 by brute force: it follows 3 optimizer updates and
    regrows by |g| of the 3rd batch (x[128:192]) at the weights after 2 updates, dropping by
    |theta| after 3; ``other``: the same choice made from the 2nd batch's gradient."""
    plain = prunekit.strip(_model(seed=3))  # the same seed builds the same initial weights
    batches = [(x[i:i + batch], y[i:i + batch]) for i in range(0, 3 * batch, batch)]
    grads = _plain_sgd_steps(plain, list(before.values()), batches, lr)
    assert len(plain.layers) == len(before) == 2
    expected, other = {}, {}
    for (name, mask), layer in zip(before.items(), plain.layers):
        w = layer.kernel.numpy()
        expected[name] = _brute_force_rigl(w, mask, grads[2][layer.kernel.name], drop)
        other[name] = _brute_force_rigl(w, mask, grads[1][layer.kernel.name], drop)
    return expected, other


def test_rigl_under_mirrored_strategy_uses_the_global_batch_gradient():
    """Two logical CPUs: the kept |g| is the cross-replica sum, the global batch's gradient."""
    script = textwrap.dedent(f"""
        import json, sys
        import numpy as np
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        import tf_keras as keras
        from sklearn.datasets import load_digits
        import test_dynamic_sparse as t
        from prunekit import prunable, timing
        from prunekit.pruning import PruningCallback, dynamic, mask_io
        x, y = load_digits(return_X_y=True)
        x, y = (x[:256] / 16.0).astype(np.float32), y[:256].astype(np.int32)
        strategy = tf.distribute.MirroredStrategy()
        init = t._model(seed=3).get_weights()
        with strategy.scope():
            model = t._model(seed=3)
            model.set_weights(init)
            model.compile(keras.optimizers.SGD(0.5), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        sched = timing.DynamicSparse(0.7, kind="rigl", update_every=3, drop_fraction=0.4, end=4,
                                     distribution="uniform")
        cb = PruningCallback("magnitude", sched)
        shapes = {{n: tuple(w.shape) for n, w in prunable.prunable_weights(model).items()}}
        before = dynamic.initial_masks(shapes, 0.7, "layer", 0)
        model.fit(x, y, batch_size=64, epochs=1, shuffle=False, callbacks=[cb], verbose=0)
        (update,) = [e for e in cb.events if e.get("drop")]
        expected, other = t._rigl_expected(x, y, before, 0.5, 64, update["drop"])
        got = mask_io.get(model)
        print("RESULT", json.dumps({{"replicas": strategy.num_replicas_in_sync,
            "equal": [bool(np.array_equal(got[n], expected[n])) for n in got],
            "differs": [not np.array_equal(other[n], expected[n]) for n in got]}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, out.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT "):])
    assert result == {"replicas": 2, "equal": [True, True], "differs": [True, True]}


def test_regrown_weights_and_optimizer_slots_start_at_zero(digits):
    x, y = digits
    model = _model()
    model.compile(keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    shapes = {n: tuple(w.shape) for n, w in prunable.prunable_weights(model).items()}
    mask_io.assign(model, dynamic.initial_masks(shapes, 0.5, "layer", 1))
    model.fit(x, y, batch_size=64, epochs=1, callbacks=[PruningCallback("magnitude", timing.Hold())], verbose=0)
    weights = prunable.prunable_weights(model)
    w_before = {n: w.numpy() for n, w in weights.items()}
    slots_before = {n: [s.numpy() for s in optimizer_slots(model.optimizer, w)] for n, w in weights.items()}
    assert all(len(s) == 2 and np.any(s[0]) for s in slots_before.values())  # Adam m, v are live
    old = mask_io.get(model)
    # Grow scores favour the just-dropped weights: they come back, reset to zero.
    scores = {n: np.abs(w_before[n]) for n in weights}
    counts = dynamic.update(model, 0.25, scores)
    new = mask_io.get(model)
    for n, w in weights.items():
        after, _ = dynamic.drop_and_grow(w_before, old, 0.25, scores)
        regrown = (new[n] > 0) & (after[n] == 0)
        stayed = (new[n] > 0) & (after[n] > 0)
        assert regrown.sum() == counts["regrown"][n] > 0
        assert np.count_nonzero(new[n]) == np.count_nonzero(old[n])
        assert np.all(w.numpy()[regrown] == 0)
        np.testing.assert_array_equal(w.numpy()[stayed], w_before[n][stayed])
        for s, s0 in zip(optimizer_slots(model.optimizer, w), slots_before[n]):
            assert np.all(s.numpy()[regrown] == 0) and np.all(s.numpy()[new[n] == 0] == 0)
            np.testing.assert_array_equal(s.numpy()[stayed], s0[stayed])


def test_set_regrowth_is_seeded_and_refusals_are_clear(digits):
    a = dynamic.random_scores({"w": (4, 5)}, seed=1, step=10)
    assert np.array_equal(a["w"], dynamic.random_scores({"w": (4, 5)}, seed=1, step=10)["w"])
    assert not np.array_equal(a["w"], dynamic.random_scores({"w": (4, 5)}, seed=1, step=20)["w"])
    sched = timing.DynamicSparse(0.9, kind="set")
    with pytest.raises(ValueError, match="criterion='magnitude'"):
        PruningCallback("random", sched)
    with pytest.raises(ValueError, match="scope must be 'layer' or 'erk'"):
        PruningCallback("magnitude", sched, scope="global")
    with pytest.raises(ValueError, match="kind must be one of"):
        timing.DynamicSparse(0.9, kind="snip")
    with pytest.raises(ValueError, match="drop_fraction"):
        timing.DynamicSparse(0.9, drop_fraction=1.5)
    x, y = digits
    model = _model()
    model.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    # A fit that starts at a RigL update's step never ran that step's batch: without data it is refused.
    model.optimizer.iterations.assign(3)
    sched = timing.DynamicSparse(0.9, kind="rigl", update_every=3, end=0.75)
    cb = PruningCallback("magnitude", sched, length=timing.Length(4, 3))
    with pytest.raises(ValueError, match=r"RigL update at step 3: this fit did not run the batch .* pass data="):
        model.fit(x, y, batch_size=64, epochs=1, verbose=0, callbacks=[cb])
    # With data it scores regrowth on data (the documented fallback); the layers keep their counts.
    model.optimizer.iterations.assign(3)
    cb = PruningCallback("magnitude", sched, length=timing.Length(4, 3), data=(x, y))
    active = _active(model)
    model.fit(x, y, batch_size=64, epochs=1, verbose=0, callbacks=[cb])
    assert [e["step"] for e in cb.events] == [3, 6] and _active(model) == active
