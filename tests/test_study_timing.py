"""The study's timings are prunekit.timing objects: same steps as prunekit.timing.resolve,
validation by the timing classes (one line naming the field), and a tiny in-process run with
local pruning steps and the per-event function-preservation records."""
import json
import math
import os

import pytest

import prunekit  # noqa: F401  (tf_keras before TensorFlow)
from prunekit import timing as T
from prunekit.study.runspec import grid, timings
from prunekit.study.execute import run
from test_study_grid import SPEC, TINY, _load


def _resolve(timing, sparsity, total_steps, steps_per_epoch):
    """The step schedule the run's callback resolves a timing entry to."""
    from prunekit.study import pruning

    fields = {k: v for k, v in timing.items() if k not in ("kind", "label")}
    return pruning.schedule(timing["kind"], fields, sparsity).resolve(T.Length.of_steps(total_steps, steps_per_epoch))


@pytest.fixture
def tiny_config(tmp_path):
    path = tmp_path / "tiny.py"
    path.write_text(TINY)
    return _load(str(path))


@pytest.mark.parametrize("at", [0.5, "0.5", "50%", "1ep", "2ep", "1.5ep", 7, "7", "12st", 1.0])
def test_oneshot_at_resolves_like_prunekit_timing(at):
    length = T.Length(23, 3)
    spec = grid.resolve_timing("t", {"kind": "oneshot", "at": at, "finetune_epochs": 1})
    (step,) = _resolve(spec, 0.5, length.total_steps, length.steps_per_epoch).steps()
    assert step == T.resolve(at, length, "at")


@pytest.mark.parametrize("begin, end, frequency", [(0.0, 0.5, 0.1), ("1ep", "2ep", "5"), (3, "80%", 0.05)])
def test_gradual_resolves_like_prunekit_timing(begin, end, frequency):
    length = T.Length(23, 3)
    spec = grid.resolve_timing("g", {"kind": "gradual", "begin": begin, "end": end, "frequency": frequency})
    got = _resolve(spec, 0.9, length.total_steps, length.steps_per_epoch)
    want = T.Gradual(0.9, begin, end, frequency).resolve(length)
    assert got.steps() == want.steps() and got.targets() == want.targets()
    assert got.steps()[0] == T.resolve(begin, length, "begin") and got.steps()[-1] == T.resolve(end, length, "end")


def test_quick_fractions_keep_their_meaning():
    # quick.py's gradual_late (0.4 -> 0.8 every 0.1) over 3 epochs of 23 steps
    spec = grid.resolve_timing("g", {"kind": "gradual", "begin": 0.4, "end": 0.8, "frequency": 0.1})
    s = _resolve(spec, 0.5, 69, 23)
    assert s.steps() == [28, 35, 42, 49, 55]
    one = _resolve(grid.resolve_timing("o", {"kind": "oneshot", "at": 1.0, "finetune_epochs": 1}),
                               0.5, 69, 23)
    assert one.steps() == [69]


@pytest.mark.parametrize("entry, needle", [
    ({"kind": "gradual", "begin": 0.6, "end": 0.2, "frequency": 0.1}, "timings.bad.end"),
    ({"kind": "gradual", "begin": "2ep", "end": "1ep"}, "timings.bad.end"),
    ({"kind": "oneshot", "at": 1.5, "finetune_epochs": 1}, "timings.bad.at"),
    ({"kind": "oneshot", "at": "3 weeks", "finetune_epochs": 1}, "timings.bad.at"),
    ({"kind": "oneshot", "at": 0.5, "steps": 0}, "timings.bad.steps"),
    ({"kind": "oneshot", "at": 0.5, "split": "cubic"}, "timings.bad.split"),
    ({"kind": "oneshot", "at": 0.5, "finetune_lr": -1.0}, "timings.bad.finetune_learning_rate"),
    ({"kind": "oneshot", "at": "5ep", "finetune_epochs": 1}, "timings.bad.at"),
    ({"kind": "oneshot", "at": 1.0}, "needs finetune_epochs"),
])
def test_invalid_timing_fails_validation_naming_the_field(tiny_config, entry, needle):
    tiny_config.timings = {"bad": entry}
    with pytest.raises(grid.ConfigError) as err:
        grid.expand(tiny_config, check_plugins=False)
    problems = err.value.problems
    assert len(problems) == 1 and "\n" not in problems[0], problems
    assert needle in problems[0], problems


def test_finetune_lr_is_the_same_run_as_finetune_learning_rate(tiny_config):
    from prunekit.study.runspec import identity

    ids = []
    for key in ("finetune_lr", "finetune_learning_rate"):
        tiny_config.timings = {"o": {"kind": "oneshot", "at": 1.0, "finetune_epochs": 1, key: 0.01}}
        ids.append({identity.run_id(s) for s in grid.expand(tiny_config, check_plugins=False)})
    assert ids[0] == ids[1]


def test_local_steps_run_in_process_records_the_event_and_loss_after_prune(tmp_path):
    spec = json.loads(json.dumps(SPEC))
    spec["train"]["epochs"] = 1
    spec["scope"] = "global"
    spec["sparsity"] = 0.8
    spec["timing"] = grid.resolve_timing("pi3", {"kind": "oneshot", "at": 1.0, "steps": 3, "finetune_epochs": 1,
                                                 "finetune_lr": 0.01})
    result = run.execute(spec, str(tmp_path))
    m = result["metrics"]
    assert result["status"] == "ok" and result["events"] == 1
    for key in ("loss_after_prune", "accuracy_after_prune", "loss_before_prune", "kl_prune"):
        assert math.isfinite(m[key]), key
    assert m["loss_after_prune"] >= m["loss_before_prune"] - 1e-6 and m["kl_prune"] >= 0
    events = json.loads(open(os.path.join(tmp_path, "events.json")).read())
    assert len(events) == 1
    event = events[0]
    assert event["local_steps"] == 3 and len(event["local"]) == 3
    assert [e["local_step"] for e in event["local"]] == [1, 2, 3]
    targets = [e["target"] for e in event["local"]]
    assert targets == pytest.approx([1 - 0.2 ** (k / 3) for k in (1, 2, 3)])
    assert event["step"] == math.ceil(1438 / 128)  # after the one training epoch
    assert event["after"]["loss"] == pytest.approx(m["loss_after_prune"])
    assert abs(m["sparsity"] - 0.8) < 0.01


def _config(name, variant=None):
    import importlib.util

    path = os.path.join(os.path.dirname(__file__), "..", "configs", f"{name}.py")
    spec_ = importlib.util.spec_from_file_location(f"cfg_{name}", path)
    mod = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(mod)
    return mod.get_config(variant)


def test_loss_modelling_validates_with_local_steps_and_only_keeps_identities():
    from prunekit.study.runspec import identity

    config = _config("loss_modelling", "digits")
    full = grid.expand(config, check_plugins=False)
    assert {s.timing.steps for s in full if s.criterion} == {1, 14, 140}
    config.only.criteria = "magnitude_lam0,taylor1_lam0p1"
    config.only.timings = "oneshot_pi1,oneshot_pi14"
    config.seeds = (0,)
    subset = grid.expand(config, check_plugins=False)
    assert len(subset) == 1 + 2 * 2
    assert {identity.run_id(s) for s in subset} <= {identity.run_id(s) for s in full}
    config.only.timings = "oneshot_pi15"
    with pytest.raises(grid.ConfigError, match="only.timings: no timings entry labelled 'oneshot_pi15'"):
        grid.expand(config, check_plugins=False)


def test_iterative_run_in_process_prunes_in_rounds_with_rewinding(tmp_path):
    spec = json.loads(json.dumps(SPEC))
    spec["train"]["epochs"] = 1
    spec["sparsity"] = 0.75
    spec["timing"] = {**grid.resolve_timing("imp", {"kind": "iterative", "rate": 0.5, "rewind_to": 0.1}),
                      "rounds": grid.iterative_rounds(0.75, 0.5)}
    result = run.execute(spec, str(tmp_path))
    assert result["status"] == "ok" and result["events"] == 2
    assert abs(result["metrics"]["sparsity"] - 0.75) < 0.01
    events = json.loads(open(os.path.join(tmp_path, "events.json")).read())
    assert [e["round"] for e in events] == [1, 2]
    assert [e["target"] for e in events] == pytest.approx([0.5, 0.75])
    assert events[0]["rewind_step"] == 1  # 10 % of one epoch of 12 steps


def test_ssl_masks_validates():
    config = _config("ssl_masks", "digits")
    specs = grid.expand(config, check_plugins=False)
    assert {s.timing.rounds for s in specs if s.criterion} == {3, 10}  # 1 - 0.8^R = 0.488, 0.893
