"""configs/timing_axis.py: the grid crosses the regimes as declared, at matched sparsity and budget."""
import importlib.util
import os

import pytest

from prunekit.study import pruning
from prunekit.study.runspec import grid

CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "timing_axis.py")


def _config(variant="digits"):
    spec = importlib.util.spec_from_file_location("timing_axis_cfg", CONFIG)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.get_config(variant)


def test_digits_grid_regimes_sparsities_and_matched_budget():
    config = _config()
    specs = grid.expand(config, check_plugins=False)
    seeds, sparsities = len(config.seeds), len(config.sparsities)
    pruned = [s for s in specs if s.pruned]
    assert len(specs) == seeds + seeds * sparsities * (5 + 6)  # dense + 5 at-init criteria + 6 regimes
    regimes = {(s.timing.label, s.criterion.label) for s in pruned}
    assert {c for t, c in regimes if t == "at_init"} == {"snip", "grasp", "synflow", "magnitude", "random"}
    assert {t for t, c in regimes if c != "magnitude"} == {"at_init"}
    n_train = 1437  # digits' training split
    budget = config.train.epochs * -(-n_train // config.train.batch_size)
    assert {s.total_steps(n_train) for s in specs} == {budget}  # every regime, dense included
    for s in pruned:  # every regime ends at the configured sparsity
        sched = pruning.schedule(s.timing.kind, s.timing.fields(), s.sparsity)
        plan = sched.resolve(pruning.length(-(-n_train // config.train.batch_size), config.train.epochs))
        assert plan.final_target == pytest.approx(s.sparsity, abs=1e-12)
        assert max(plan.steps()) < budget


def test_cifar10_variant_is_resnet20():
    config = _config("cifar10")
    assert config.model == "resnet20" and config.dataset == "cifar10"
    assert len(grid.expand(config, check_plugins=False)) == 3 + 3 * 3 * 11
