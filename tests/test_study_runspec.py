"""The typed run spec: its dict form and run ids are those of earlier versions, its derived
step counts are worked out by hand, and the readouts' options are validated."""
import dataclasses
import hashlib
import json
import os

import pytest

from prunekit.study.runspec import grid, identity, readouts
from prunekit.study.runspec.fields import suggest
from prunekit.study.runspec.types import Plugin, RunSpec, Timing, Training

from test_study_grid import SPEC

# Run ids of configs/quick.py as written by the study before the typed spec existed
# (results.jsonl of the old commit, in grid order): a changed id would redo every old run.
QUICK_IDS = [
    "d34568ea7897e5c9", "525a8d99172b258a", "bd1ac94a25055fb3", "212b8802963e17c1", "c2eef2e44cf02687",
    "ecc4963280ede3d1", "ad0a54d4877c9db7", "ccc1f108ea68091f", "03b94bc8fc474288", "c28cfe8e8ea5a0ac",
    "91d3c55e0cabd3db", "faf745d86a11b469", "08993b292cac51a6", "654edb00e7435022", "9b946ad5b866da87",
    "bc402301c428cea7", "71f847e3ec395a57", "b3c105bf3a2f58a5", "1218164557eaf8f2", "814a48f30899c6a2",
    "4bac796fa5e9a6c5", "72cced5299a92ba0", "de97a3ddb4f9bb2e", "2c32857c7c4cdc47", "0afbfe854c2c4f71",
    "c3447b93441bc025", "0fc9ac49a04795b4", "ec8b392e9bbf309e", "12a94711e543da50", "11f64fdd17ba3a47",
    "1f619dabf786f92e", "6d321459fe29175c", "55013ba28eada748", "96d915ca1a508bcc", "50cef333015bd8a0",
    "7560b47738234075", "58964be0db5c616e", "ca3cb46cf1c348a9", "2d2f32dac111d82b", "babce8f1c72b2cd7",
    "93dbb571d6041012", "14b4a673abd5e871", "c580a5e516fd833c", "1730ce295a1a1a56", "dd88eb1d18dfd590",
    "c10dd58ca11cb290", "0b75983fca891f03", "bd5e6469561b1bc3", "d818ef8629dd8d09", "22893388c48bb0ab",
    "3a499139589bcac1", "62b09944716e858c"]


def _quick():
    import importlib.util

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    spec = importlib.util.spec_from_file_location("quick_cfg", os.path.join(root, "configs", "quick.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.get_config()


def test_quick_run_ids_are_those_of_the_old_dict_spec():
    specs = grid.expand(_quick(), check_plugins=False)
    assert [s.run_id() for s in specs] == QUICK_IDS


def test_dict_form_round_trips_and_hashes_by_hand():
    full = {**SPEC, "prune_heads": False}
    spec = RunSpec.from_dict(full)
    assert spec.to_dict() == full
    # The identity by hand: SHA-256 of the sorted, compact JSON without labels/verbosity.
    def strip(v):
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items() if k not in ("label", "verbose", "tensorboard")}
        return v
    text = json.dumps(strip(full), sort_keys=True, separators=(",", ":"))
    assert spec.run_id() == hashlib.sha256(text.encode()).hexdigest()[:16] == identity.run_id(full)


def test_derived_steps_by_hand():
    # 1438 digits training images in batches of 64: 22 full batches and one of 30 -> 23 steps.
    base = RunSpec.from_dict({**SPEC, "train": {**SPEC["train"], "epochs": 3, "batch_size": 64}})
    assert base.steps_per_epoch(1438) == 23
    assert base.total_steps(1438) == (3 + 1) * 23  # oneshot after training + 1 fine-tuning epoch
    assert base.first_event_step(1438) == 3 * 23  # at=1.0: after the last update
    gradual = dataclasses.replace(base, timing=Timing("gradual", "g", begin=0.4, end=0.8, frequency=0.1,
                                                      power=3, initial=0.0))
    assert gradual.first_event_step(1438) == 28  # round(0.4 * 69) = round(27.6)
    assert gradual.total_steps(1438) == 69
    imp = dataclasses.replace(base, timing=Timing("iterative", "i", rate=0.5, rewind_to=0.0,
                                                  retrain_with_labels=False, rounds=2))
    assert imp.total_steps(1438) == 69 + 2 * 69
    dense = dataclasses.replace(base, criterion=None, timing=Timing("dense", "dense"))
    assert dense.first_event_step(1438) == 69 and dense.to_dict()["timing"] == {"label": "dense", "kind": "dense"}
    beyond = dataclasses.replace(base, timing=dataclasses.replace(base.timing, at="9ep"))
    assert beyond.first_event_step(1438) is None  # the run reports it itself


def test_spec_is_frozen():
    spec = RunSpec.from_dict({**SPEC})
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.seed = 3
    assert isinstance(spec.train, Training) and spec.loss == Plugin("ce", "cross_entropy", {})


@pytest.mark.parametrize("evaluation, needle", [
    ({"accuracy": {"split": "train"}}, "evaluation.accuracy: no option 'split'"),
    ({"knn": {"k": 0}}, "evaluation.knn.k must be an integer >= 1, got 0"),
    ({"knn": {"kk": 5}}, "evaluation.knn: no option 'kk' (did you mean 'k'?)"),
    ({"sparsity": {"over": "all"}}, "evaluation.sparsity: no option 'over'"),
    ({"linear_probe": {"C": 0}}, "evaluation.linear_probe.C must be a number > 0, got 0"),
    ({"linear_probe": {"max_iter": 1.5}}, "evaluation.linear_probe.max_iter must be an integer >= 1, got 1.5"),
])
def test_readout_options_fail_validation_in_one_line(evaluation, needle):
    from prunekit.study.runspec import validate

    (problem,) = validate.evaluators(evaluation)
    assert needle in problem and "\n" not in problem


def test_readout_defaults_and_suggest():
    assert readouts.option({"knn": {"k": 7}}, "knn", "k") == 7
    assert readouts.option({}, "knn", "k") == 20
    assert readouts.budget({}) == "lbfgs max_iter 1000, C 1"
    assert readouts.budget({"linear_probe": {"C": 0.25}}) == "lbfgs max_iter 1000, C 0.25"
    assert suggest("gradaul", ["gradual", "oneshot"]) == " (did you mean 'gradual'?)"
    assert suggest("zzz", ["gradual"]) == ""
