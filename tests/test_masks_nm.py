"""N:M scope: tfmot's own m_by_n mask for magnitude, the pattern for every criterion, refusals."""
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_model_optimization.python.core.sparsity.keras import pruning_impl, pruning_schedule

from prunekit import masks as masks_lib
from prunekit import registry

CRITERIA = registry.names("criterion")
SHAPES = {"conv/kernel:0": (3, 3, 8, 4), "dense/kernel:0": (72, 10), "out/kernel:0": (12, 3)}


def _problem(seed=0):
    rng = np.random.default_rng(seed)
    draw = lambda: {n: rng.normal(size=s).astype("float32") for n, s in SHAPES.items()}  # noqa: E731
    weights = draw()
    stats = {"gradient": draw(), "hessian_gradient": draw(), "synflow": draw(),
             "fisher": {n: rng.gamma(1.0, size=s).astype("float32") for n, s in SHAPES.items()}}
    return weights, stats


def _groups_brute_force(mask, m):
    """Every group of m consecutive entries along the input axis (-2), by explicit loops."""
    mask = np.asarray(mask)
    out = []
    for index in np.ndindex(*mask.shape[:-2], mask.shape[-1]):
        lead, col = index[:-1], index[-1]
        column = [mask[(*lead, i, col)] for i in range(mask.shape[-2])]
        out += [column[i:i + m] for i in range(0, len(column), m)]
    return out


@pytest.mark.parametrize("n, m", [(2, 4), (1, 4), (3, 8)])
def test_magnitude_nm_masks_equal_tfmot_m_by_n(n, m):
    rng = np.random.default_rng(3)
    for shape in [(16, 6), (3, 3, 8, 5), (24, 1)]:
        weight = rng.normal(size=shape).astype("float32")
        weight[0, :2] = weight[1, :2]  # ties: both keep the lower index
        w, mask, thr = tf.Variable(weight), tf.Variable(tf.ones(shape)), tf.Variable(0.0)
        impl = pruning_impl.Pruning(lambda: tf.constant(0, tf.int64), [(w, mask, thr)],
                                    pruning_schedule.ConstantSparsity(0.5, 0), (1, 1), "AVG",
                                    sparsity_m_by_n=(m - n, m))  # tfmot counts zeros per block
        _, tfmot_mask = impl._maybe_update_block_mask(w)
        ours = registry.get_criterion("magnitude").masks({"w": weight}, 1 - n / m, scope=f"{n}:{m}")["w"]
        np.testing.assert_array_equal(ours.numpy(), tfmot_mask.numpy())


@pytest.mark.parametrize("name", CRITERIA)
@pytest.mark.parametrize("n, m", [(2, 4), (1, 2)])
def test_every_criterion_satisfies_the_nm_pattern(name, n, m):
    weights, stats = _problem()
    masks = registry.get_criterion(name).masks(weights, 1 - n / m, scope=f"{n}:{m}", statistics=stats)
    for key, mask in masks.items():
        groups = _groups_brute_force(mask.numpy(), m)
        assert all(sum(g) == n for g in groups), (key, [sum(g) for g in groups][:8])
        assert masks_lib.nm_pattern({key: mask}, m)[key] == n
    # the N kept are the N best scored of each group
    scores = registry.get_criterion(name).scores(weights, stats)
    for key, mask in masks.items():
        for s_group, m_group in zip(_groups_brute_force(scores[key].numpy(), m),
                                    _groups_brute_force(mask.numpy(), m)):
            kept = [s for s, k in zip(s_group, m_group) if k]
            dropped = [s for s, k in zip(s_group, m_group) if not k]
            assert min(kept) >= max(dropped)


def test_check_scope_accepts_and_refuses():
    for scope in ("layer", "global", "2:4", "1:8"):
        assert masks_lib.check_scope(scope) == scope
    assert masks_lib.parse_nm("2:4") == (2, 4) and masks_lib.parse_nm("layer") is None
    for bad in ("model", "4:4", "0:4", "2:", "a:b", "2:4:8", 24, None):
        with pytest.raises(ValueError, match=r"scope must be one of 'layer', 'global' or 'N:M'"):
            masks_lib.check_scope(bad)


def test_nm_refuses_indivisible_input_dim_and_other_targets():
    with pytest.raises(ValueError, match=r"N:M scope: dense/kernel:0 has input dimension 10, not a multiple of M = 4"):
        masks_lib.topk_masks({"dense/kernel:0": np.ones((10, 3))}, 0.5, scope="2:4")
    with pytest.raises(ValueError, match=r"scope '2:4' prunes to sparsity 0.5 exactly, got target 0.3"):
        masks_lib.topk_masks({"w": np.ones((8, 3))}, 0.3, scope="2:4")
    with pytest.raises(ValueError, match="rank >= 2"):
        masks_lib.topk_masks({"bias": np.ones(8)}, 0.5, scope="2:4")


def test_nm_pattern_reports_largest_group_count():
    mask = np.zeros((8, 2))
    mask[[0, 1, 2], 0] = 1  # 3 of the first group of column 0
    mask[[4], 1] = 1
    assert masks_lib.nm_pattern({"a": mask, "odd": np.ones((6, 2))}, 4) == {"a": 3, "odd": None}


def test_scope_pattern_is_what_an_event_reports():
    weights, _ = _problem()
    masks = registry.get_criterion("magnitude").masks(weights, 0.5, scope="2:4")
    assert masks_lib.scope_pattern(masks, "2:4") == {"pattern": "2:4", "holds": True,
                                                     "per_layer": {n: 2 for n in SHAPES}}
    dense = {n: np.ones(s) for n, s in SHAPES.items()}
    assert masks_lib.scope_pattern(dense, "2:4")["holds"] is False
    assert masks_lib.scope_pattern(masks, "global") is None


def test_pruning_callback_takes_an_nm_scope_and_reports_the_pattern():
    import tf_keras as keras

    import prunekit
    from prunekit import timing

    keras.utils.set_random_seed(0)
    model = prunekit.wrap(keras.Sequential([keras.Input((8,)), keras.layers.Dense(8, name="fc1"),
                                            keras.layers.Dense(4, name="out")]))
    model.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    cb = prunekit.PruningCallback("magnitude", timing.OneShot(0.5, at=2), scope="2:4")
    x = np.random.default_rng(0).normal(size=(32, 8)).astype("float32")
    model.fit(x, np.arange(32) % 4, batch_size=8, epochs=1, verbose=0, callbacks=[cb])
    (event,) = cb.events
    assert event["pattern"] == {"pattern": "2:4", "holds": True, "per_layer": {"fc1/kernel:0": 2, "out/kernel:0": 2}}
    for w in model.get_layer("prune_low_magnitude_fc1").pruning_vars[0][1].numpy().T:
        assert all(np.count_nonzero(w[i:i + 4]) == 2 for i in range(0, 8, 4))
    with pytest.raises(ValueError, match="N:M"):
        prunekit.PruningCallback("magnitude", timing.OneShot(0.5, at=2), scope="2:5:1")


def test_synflow_in_the_callback_needs_no_data():
    import tf_keras as keras

    import prunekit
    from prunekit import timing

    keras.utils.set_random_seed(0)
    model = prunekit.wrap(keras.Sequential([keras.Input((8,)), keras.layers.Dense(8), keras.layers.Dense(4)]))
    model.compile(keras.optimizers.SGD(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    cb = prunekit.PruningCallback(prunekit.registry.get_criterion("synflow", rounds=5), timing.OneShot(0.75, at=0))
    x = np.random.default_rng(0).normal(size=(16, 8)).astype("float32")
    model.fit(x, np.arange(16) % 4, batch_size=8, epochs=1, verbose=0, callbacks=[cb])
    assert abs(cb.events[-1]["overall"] - 0.75) < 0.02
