"""Conformance suite over every discovered criterion, plus hand-worked saliency values."""
import numpy as np
import pytest
import tensorflow as tf

from prunekit import masks as masks_lib
from prunekit import registry
from prunekit.criteria import Criterion

CRITERIA = registry.names("criterion")
SHAPES = {"conv/kernel:0": (3, 3, 2, 4), "dense/kernel:0": (72, 10), "out/kernel:0": (10, 3)}


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    weights = {n: rng.normal(size=s).astype("float32") for n, s in SHAPES.items()}
    stats = {"gradient": {n: rng.normal(size=s).astype("float32") for n, s in SHAPES.items()},
             "fisher": {n: rng.gamma(1.0, size=s).astype("float32") for n, s in SHAPES.items()},
             # grasp's and synflow's statistics, given as values (their models' functions are
             # tested in test_init_criteria.py)
             "hessian_gradient": {n: rng.normal(size=s).astype("float32") for n, s in SHAPES.items()},
             "synflow": {n: rng.gamma(1.0, size=s).astype("float32") for n, s in SHAPES.items()}}
    return weights, stats


@pytest.mark.parametrize("name", CRITERIA)
def test_scores_have_weight_shapes_and_are_deterministic(name):
    weights, stats = _problem()
    a = registry.get_criterion(name, seed=3).scores(weights, stats)
    b = registry.get_criterion(name, seed=3).scores(weights, stats)
    for n in SHAPES:
        assert a[n].shape == SHAPES[n]
        np.testing.assert_array_equal(a[n].numpy(), b[n].numpy())


@pytest.mark.parametrize("name", CRITERIA)
@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.9, 0.987])
def test_layer_scope_hits_target_within_one_weight_per_layer(name, sparsity):
    weights, stats = _problem()
    masks = registry.get_criterion(name).masks(weights, sparsity, scope="layer", statistics=stats)
    for n, m in masks.items():
        size = m.numpy().size
        assert set(np.unique(m.numpy())) <= {0.0, 1.0}
        assert abs((size - m.numpy().sum()) - sparsity * size) <= 1


@pytest.mark.parametrize("name", CRITERIA)
@pytest.mark.parametrize("sparsity", [0.3, 0.95])
def test_global_scope_hits_target_within_one_weight_overall(name, sparsity):
    weights, stats = _problem()
    masks = registry.get_criterion(name).masks(weights, sparsity, scope="global", statistics=stats)
    total = sum(m.numpy().size for m in masks.values())
    pruned = sum(m.numpy().size - m.numpy().sum() for m in masks.values())
    assert abs(pruned - sparsity * total) <= 1


@pytest.mark.parametrize("name", CRITERIA)
def test_already_pruned_weights_stay_pruned(name):
    weights, stats = _problem()
    crit = registry.get_criterion(name)
    first = crit.masks(weights, 0.5, statistics=stats)
    second = crit.masks(weights, 0.8, statistics=stats, masks=first)
    for n in SHAPES:
        assert np.all(second[n].numpy() <= first[n].numpy())


@pytest.mark.parametrize("name", [n for n in CRITERIA if registry.load("criterion", n).requires])
def test_missing_statistics_is_a_clear_error(name):
    weights, _ = _problem()
    with pytest.raises(ValueError, match="pass data="):
        registry.get_criterion(name).scores(weights, {})


def test_random_differs_across_seeds():
    weights, _ = _problem()
    a = registry.get_criterion("random", seed=0).scores(weights)["dense/kernel:0"].numpy()
    b = registry.get_criterion("random", seed=1).scores(weights)["dense/kernel:0"].numpy()
    assert not np.allclose(a, b)


def test_saliencies_by_hand():
    w = {"k": np.array([[2.0, -1.0], [0.5, -3.0]], "float32")}
    g = {"k": np.array([[0.1, 0.2], [-1.0, 0.0]], "float32")}
    f = {"k": np.array([[1.0, 2.0], [4.0, 0.5]], "float32")}
    stats = {"gradient": g, "fisher": f}
    expect = {
        "magnitude": [[2.0, 1.0], [0.5, 3.0]],
        "taylor1": [[0.2, 0.2], [0.5, 0.0]],
        "obd": [[2.0, 1.0], [0.5, 2.25]],
        # |-g w + 0.5 F w^2|
        "qm": [[abs(-0.2 + 2.0), abs(0.2 + 1.0)], [abs(0.5 + 0.5), abs(0.0 + 2.25)]],
    }
    for name, values in expect.items():
        got = registry.get_criterion(name).scores(w, stats)["k"].numpy()
        np.testing.assert_allclose(got, values, rtol=1e-6)
    # locality penalty 0.5 * lam * w^2 is added to the score
    got = registry.get_criterion("obd", lam=2.0).scores(w, stats)["k"].numpy()
    np.testing.assert_allclose(got, np.array(expect["obd"]) + w["k"] ** 2, rtol=1e-6)


def test_magnitude_masks_equal_tfmot_pruning_impl():
    """tfmot's own magnitude mask for the same weights and sparsity (pruning_impl)."""
    from tensorflow_model_optimization.python.core.sparsity.keras import pruning_impl, pruning_schedule

    rng = np.random.default_rng(7)
    for shape, sparsity in [((40, 30), 0.7), ((3, 3, 4, 8), 0.55), ((13, 7), 0.9)]:
        weight = rng.normal(size=shape).astype("float32")
        w, m = tf.Variable(weight), tf.Variable(tf.ones(shape))
        thr = tf.Variable(0.0)
        impl = pruning_impl.Pruning(lambda: tf.constant(0, tf.int64), [(w, m, thr)],
                                    pruning_schedule.ConstantSparsity(sparsity, 0), (1, 1), "AVG")
        _, tfmot_mask = impl._update_mask(w)
        ours = registry.get_criterion("magnitude").masks({"w": weight}, sparsity)["w"]
        np.testing.assert_array_equal(ours.numpy(), tfmot_mask.numpy())


def test_masks_reject_bad_sparsity_and_scope():
    with pytest.raises(ValueError, match=r"sparsity must be in \[0, 1\)"):
        masks_lib.topk_masks({"a": np.ones(4)}, 1.0)
    with pytest.raises(ValueError, match="scope must be one of"):
        masks_lib.topk_masks({"a": np.ones(4)}, 0.5, scope="model")


class NaNOnPositive(Criterion):
    """A broken plugin: NaN where the weight is positive, inf where it is below -2."""

    def score(self, weight, **_):
        return tf.where(weight > 0, float("nan"), tf.where(weight < -2, float("inf"), tf.abs(weight)))


def test_non_finite_scores_are_refused_naming_the_plugin_and_the_weight():
    w = {"ok": np.array([-1.0, -0.5], "float32"), "dense/kernel:0": np.array([[1.0, -3.0], [-1.0, 2.0]], "float32")}
    with pytest.raises(ValueError) as info:
        NaNOnPositive().masks(w, 0.5)
    message = str(info.value)
    assert "criterion NaNOnPositive (test_criteria)" in message and "weight dense/kernel:0" in message
    assert "3 non-finite (NaN or inf) scores of 4" in message and "plugin's score is at fault" in message
    assert "\n" not in message
    NaNOnPositive().scores({"ok": w["ok"]})  # finite scores pass


def test_non_finite_statistics_are_named_as_the_cause():
    w = {"k": np.array([[2.0, -1.0]], "float32")}
    stats = {"gradient": {"k": np.zeros((1, 2), "float32")}, "fisher": {"k": np.array([[1.0, np.nan]], "float32")}}
    with pytest.raises(ValueError, match=r"criterion QM .* 1 non-finite .* weight k; its inputs are not finite: fisher"):
        registry.get_criterion("qm").scores(w, stats)
    with pytest.raises(ValueError, match="weight k; its inputs are not finite: weight"):
        registry.get_criterion("magnitude").scores({"k": np.array([np.inf, 1.0], "float32")})
