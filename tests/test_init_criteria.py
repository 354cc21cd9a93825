"""Pruning-at-initialisation criteria (snip, grasp, synflow) and the example package's lamp,
each against a slow reference computed here in float64 from the model's own weights."""
import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

import prunekit
from prunekit import init_statistics, registry, schedules, statistics

K1, K2 = "hidden/kernel:0", "out/kernel:0"


def _mlp(seed=0, batchnorm=False):
    keras.utils.set_random_seed(seed)
    layers = [keras.Input((5,)), keras.layers.Dense(6, name="hidden")]
    if batchnorm:
        layers.append(keras.layers.BatchNormalization(name="bn"))
    layers += [keras.layers.Activation("tanh"), keras.layers.Dense(3, name="out")]
    return keras.Sequential(layers)


def _data(n=12, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 5)).astype("float32"), rng.integers(0, 3, size=n).astype("int32")


def _ref_loss(params, model, x, y, t):
    """Mean cross-entropy of softmax(f(x) / t) in float64, from the flat kernel vector."""
    w1 = tf.reshape(params[:30], (5, 6))
    w2 = tf.reshape(params[30:], (6, 3))
    b1, b2 = (tf.constant(model.get_layer(n).bias.numpy(), tf.float64) for n in ("hidden", "out"))
    logits = tf.tanh(tf.constant(x, tf.float64) @ w1 + b1) @ w2 + b2
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits / t))


def _flat_kernels(model):
    return tf.constant(np.concatenate([model.get_layer(n).kernel.numpy().ravel() for n in ("hidden", "out")]),
                       tf.float64)


def _full_hessian(model, x, y, t):
    params = _flat_kernels(model)
    with tf.GradientTape(persistent=True) as outer:
        outer.watch(params)
        with tf.GradientTape() as inner:
            inner.watch(params)
            loss = _ref_loss(params, model, x, y, t)
        grad = inner.gradient(loss, params)
    hessian = np.stack([outer.gradient(grad, params, output_gradients=tf.one_hot(i, 48, dtype=tf.float64)).numpy()
                        for i in range(48)])  # the full 48 x 48 Hessian, row by row
    return grad.numpy(), hessian


@pytest.mark.parametrize("temperature", [1.0, 4.0])
def test_hessian_gradient_equals_full_hessian_times_gradient(temperature):
    model = _mlp()
    x, y = _data()
    g, hessian = _full_hessian(model, x, y, temperature)
    mask = np.ones(48)
    mask[[3, 17, 40]] = 0  # pruned weights: the masked network's gradient is zero there
    masks = {K1: mask[:30].reshape(5, 6), K2: mask[30:].reshape(6, 3)}
    hg = statistics.compute(model, (x, y), ("hessian_gradient",), num_examples=12, batch_size=5)
    got = hg["hessian_gradient"](temperature=temperature, masks=masks)
    expect = hessian @ (g * mask)
    np.testing.assert_allclose(np.concatenate([got[K1].numpy().ravel(), got[K2].numpy().ravel()]),
                               expect, rtol=2e-4, atol=1e-6)


def test_grasp_sign_keeps_weights_whose_removal_cuts_gradient_flow():
    """s_i = theta_i (Hg)_i = -1/2 d/da |grad L(theta - a theta_i e_i)|^2 at a = 0 (by finite
    differences): the paper prunes the weights whose removal reduces gradient flow least."""
    model = _mlp(seed=2)
    x, y = _data(seed=3)
    t = 2.0
    params = _flat_kernels(model)

    def flow(p):
        with tf.GradientTape() as tape:
            tape.watch(p)
            loss = _ref_loss(p, model, x, y, t)
        return float(tf.reduce_sum(tf.square(tape.gradient(loss, p))))

    eps = 1e-4
    expect, some = [], np.random.default_rng(0).choice(48, 16, replace=False)
    for i in some:
        step = np.zeros(48)
        step[i] = params.numpy()[i] * eps
        expect.append(-0.5 * (flow(params - step) - flow(params + step)) / (2 * eps))
    crit = registry.get_criterion("grasp", temperature=t)
    stats = statistics.compute(model, (x, y), crit.requires, num_examples=12)
    scores = crit.scores({n: model.get_layer(n.split("/")[0]).kernel for n in (K1, K2)}, stats)
    got = np.concatenate([scores[K1].numpy().ravel(), scores[K2].numpy().ravel()])[some]
    np.testing.assert_allclose(got, expect, rtol=1e-3, atol=1e-7)


def _synflow_reference(model, masks):
    """R = sum of outputs on ones with every variable |.|-ed, pruned kernels zeroed (float64);
    dR/dW by central finite differences (R is a polynomial in each kernel entry)."""
    values = {v.name: np.abs(v.numpy()).astype("float64") for v in model.variables}
    kernels = {K1: values[K1] * masks[K1], K2: values[K2] * masks[K2]}

    def r(k1, k2):
        h = np.ones((1, 5)) @ k1 + values["hidden/bias:0"]
        mean, var = values["bn/moving_mean:0"], values["bn/moving_variance:0"]
        h = (h - mean) / np.sqrt(var + 1e-3) * values["bn/gamma:0"] + values["bn/beta:0"]
        return float(np.sum(np.tanh(h) @ k2 + values["out/bias:0"]))

    out, eps = {}, 1e-6
    for name in (K1, K2):
        grad = np.zeros_like(kernels[name])
        for idx in np.ndindex(*grad.shape):
            plus, minus = dict(kernels), dict(kernels)
            plus[name], minus[name] = kernels[name].copy(), kernels[name].copy()
            plus[name][idx] += eps
            minus[name][idx] -= eps
            grad[idx] = (r(plus[K1], plus[K2]) - r(minus[K1], minus[K2])) / (2 * eps)
        out[name] = grad
    return out


def _bn_model(seed=4):
    model = _mlp(seed=seed, batchnorm=True)
    rng = np.random.default_rng(seed)
    bn = model.get_layer("bn")  # signed, non-trivial statistics: |.| must reach every one of them
    bn.set_weights([rng.normal(size=6), rng.normal(size=6), rng.normal(size=6), rng.uniform(0.5, 2, 6)])
    model.get_layer("hidden").bias.assign(rng.normal(size=6))
    return model


def test_synflow_gradient_equals_finite_differences_and_leaves_model_unchanged():
    model = _bn_model()
    before = [v.numpy().copy() for v in model.variables]
    rng = np.random.default_rng(0)
    masks = {K1: (rng.random((5, 6)) > 0.3).astype("float32"), K2: np.ones((6, 3), "float32")}
    got = init_statistics.SynFlowGradient(model)(masks=masks)
    expect = _synflow_reference(model, masks)
    for name in (K1, K2):
        np.testing.assert_allclose(got[name].numpy(), expect[name], rtol=1e-4, atol=1e-5)
    for v, value in zip(model.variables, before):
        np.testing.assert_array_equal(v.numpy(), value)


def test_synflow_iterative_rounds_equal_a_brute_force_loop():
    model = _bn_model(seed=5)
    weights = {n: model.get_layer(n.split("/")[0]).kernel.numpy() for n in (K1, K2)}
    rounds, target = 4, 0.8
    masks = {n: np.ones_like(w) for n, w in weights.items()}
    for k in range(1, rounds + 1):  # exponential schedule, global top-k, rescoring each round
        p_k = target if k == rounds else 1 - (1 - target) ** (k / rounds)
        grad = _synflow_reference(model, masks)
        scores = np.concatenate([np.where(masks[n] > 0, np.abs(weights[n] * grad[n]), -np.inf).ravel()
                                 for n in (K1, K2)])
        keep = np.zeros(48)
        keep[np.argsort(-scores, kind="stable")[:max(1, round(48 * (1 - p_k)))]] = 1
        masks = {K1: keep[:30].reshape(5, 6), K2: keep[30:].reshape(6, 3)}
    crit = registry.get_criterion("synflow", rounds=rounds)
    stats = statistics.compute(model, None, crit.requires)
    got = crit.masks(weights, target, scope="global", statistics=stats)
    for n in (K1, K2):
        np.testing.assert_array_equal(got[n].numpy(), masks[n])


def test_synflow_is_data_free():
    """Its masks do not depend on the data given (none, or either of two data sets)."""
    model = _bn_model(seed=6)
    weights = {n: model.get_layer(n.split("/")[0]).kernel.numpy() for n in (K1, K2)}
    crit = registry.get_criterion("synflow", rounds=5)
    masks = [crit.masks(weights, 0.7, scope="global", statistics=statistics.compute(model, data, crit.requires))
             for data in (None, _data(16, seed=0), (_data(8, seed=1)[0] * 5, None))]
    for other in masks[1:]:
        for n in (K1, K2):
            np.testing.assert_array_equal(masks[0][n].numpy(), other[n].numpy())


def test_synflow_through_the_callback_equals_the_criterion_on_the_model():
    model = _bn_model(seed=7)
    weights = {n: model.get_layer(n.split("/")[0]).kernel.numpy() for n in (K1, K2)}
    crit = registry.get_criterion("synflow", rounds=10)
    expect = crit.masks(weights, 0.7, scope="global", statistics=statistics.compute(model, None, crit.requires))
    wrapped = prunekit.wrap(model)
    wrapped.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = _data(16)
    cb = prunekit.PruningCallback(crit, schedules.OneShot(0.7, at_step=0), scope="global", data=(x, y))
    wrapped.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[cb])
    assert abs(cb.events[0]["overall"] - 0.7) < 1 / 48
    got = prunekit.prunable.mask_variables(wrapped)
    for n in (K1, K2):
        np.testing.assert_array_equal(got[n].numpy(), expect[n].numpy())


def test_grasp_through_the_callback_on_a_wrapped_convnet_equals_the_criterion():
    """Double backpropagation through tfmot's wrappers, a convolution and batch norm."""
    def net():
        keras.utils.set_random_seed(0)
        return keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(4, 3, name="c1"),
                                 keras.layers.BatchNormalization(), keras.layers.ReLU(),
                                 keras.layers.Flatten(), keras.layers.Dense(3, name="d")])
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(20, 6, 6, 1)).astype("float32"), np.arange(20) % 3
    crit = registry.get_criterion("grasp", temperature=5.0)
    model = net()
    weights = {n: v.numpy() for n, v in prunekit.prunable.prunable_weights(model).items()}
    expect = crit.masks(weights, 0.8, scope="global",
                        statistics=statistics.compute(model, (x, y), crit.requires, num_examples=20))
    wrapped = prunekit.wrap(net())
    wrapped.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    cb = prunekit.PruningCallback(crit, schedules.OneShot(0.8, at_step=0), scope="global", data=(x, y),
                                  num_examples=20)
    wrapped.fit(x, y, epochs=1, batch_size=20, verbose=0, callbacks=[cb])
    got = prunekit.prunable.mask_variables(wrapped)
    for n in expect:
        np.testing.assert_array_equal(got[n].numpy(), expect[n].numpy())


def test_snip_and_lamp_by_hand():
    w = {"k": np.array([[2.0, -1.0], [0.5, -3.0]], "float32")}
    g = {"k": np.array([[0.1, 0.2], [-1.0, 0.0]], "float32")}
    snip = registry.get_criterion("snip").scores(w, {"gradient": g})["k"].numpy()
    np.testing.assert_allclose(snip, np.array([[0.2, 0.2], [0.5, 0.0]]) / 0.9, rtol=1e-6)
    # lamp: squares 4, 1, 0.25, 9 sorted ascending 0.25, 1, 4, 9; tails 14.25, 14, 13, 9
    lamp = registry.get_criterion("lamp").scores(w)["k"].numpy()
    np.testing.assert_allclose(lamp, [[4 / 13, 1 / 14], [0.25 / 14.25, 1.0]], rtol=1e-6)


def test_lamp_equals_brute_force_with_ties():
    rng = np.random.default_rng(0)
    w = rng.choice([-2.0, -1.0, 0.5, 1.0, 3.0], size=(7, 5)).astype("float32")
    flat = w.ravel().astype("float64") ** 2
    order = sorted(range(flat.size), key=lambda i: (flat[i], i))  # ties by position
    expect = np.zeros(flat.size)
    for rank, i in enumerate(order):
        expect[i] = flat[i] / sum(flat[j] for j in order[rank:])
    got = registry.get_criterion("lamp").scores({"w": w})["w"].numpy()
    np.testing.assert_allclose(got.ravel(), expect, rtol=1e-5)


def test_grasp_refuses_loss_plugins_and_bad_temperature():
    with pytest.raises(ValueError, match="temperature must be > 0"):
        registry.get_criterion("grasp", temperature=0.0)
    with pytest.raises(ValueError, match="SupCon trains another objective"):
        statistics.compute(_mlp(), _data(), ("hessian_gradient",), loss="supcon")
    # cross_entropy's objective is the softmax cross-entropy of the logits: accepted (the study's case)
    assert "hessian_gradient" in statistics.compute(_mlp(), _data(), ("hessian_gradient",), loss="cross_entropy")
    with pytest.raises(ValueError, match="rounds must be an integer >= 1"):
        registry.get_criterion("synflow", rounds=0)
