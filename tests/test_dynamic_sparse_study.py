"""SET / RigL as study timing kinds: grid, a run in process, and under MirroredStrategy."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

from prunekit.study.runspec import grid
from test_study_grid import SPEC, TINY, _load


@pytest.fixture
def axis_config(tmp_path):
    path = tmp_path / "axis.py"
    path.write_text(TINY.replace('{"magnitude": {}}', '{"magnitude": {}, "snip": {}}').replace(
        '"oneshot_after": {"kind": "oneshot", "at": 1.0, "finetune_epochs": 1},',
        '"oneshot_after": {"kind": "oneshot", "at": 1.0, "finetune_epochs": 1, "criteria": "magnitude"},\n'
        '        "at_init": {"kind": "oneshot", "at": 0.0},\n'
        '        "rigl": {"kind": "rigl", "update_every": 2, "criteria": "magnitude", "distribution": "uniform"},'))
    return str(path)


def test_timing_criteria_restrict_the_cross_and_dynamic_kinds_need_magnitude(axis_config):
    config = _load(axis_config)
    specs = grid.expand(config)
    pairs = sorted((s.timing.label, s.criterion.label) for s in specs if s.pruned)
    assert pairs == sorted([("gradual", "magnitude"), ("gradual", "snip"), ("oneshot_after", "magnitude"),
                            ("at_init", "magnitude"), ("at_init", "snip"), ("rigl", "magnitude")])
    rigl = next(s for s in specs if s.timing.kind == "rigl")
    assert rigl.timing.fields() == {"update_every": 2, "drop_fraction": 0.3, "end": 0.75, "distribution": "uniform"}
    assert rigl.total_steps(1000) == rigl.train.epochs * 8  # ceil(1000 / 128) steps, nothing added
    config.timings.rigl.criteria = ""
    with pytest.raises(grid.ConfigError, match=r"timings.rigl \(rigl\) drops weights by magnitude: it cannot run "
                                               r"with criteria.snip"):
        grid.expand(config)
    config.timings.rigl.criteria = "magnitud"
    with pytest.raises(grid.ConfigError, match=r"timings.rigl.criteria: no criterion labelled 'magnitud'"):
        grid.expand(config)
    config.timings.rigl.criteria = "magnitude"
    config.scope = "erk"
    with pytest.raises(grid.ConfigError, match=r"scope must be 'layer', got 'erk'"):
        grid.expand(config)
    config.timings.rigl.distribution = "erk"
    assert any(s.timing.kind == "rigl" for s in grid.expand(config))


def _spec(kind, strategy=""):
    spec = json.loads(json.dumps(SPEC))
    spec["sparsity"], spec["strategy"] = 0.8, strategy
    spec["timing"] = grid.resolve_timing(kind, {"kind": kind, "update_every": 3, "distribution": "uniform"})
    return spec


def test_set_run_in_a_study_keeps_the_sparsity(tmp_path):
    from prunekit.study.execute import run

    result = run.execute(_spec("set"), str(tmp_path))
    assert result["status"] == "ok", result
    assert abs(result["metrics"]["sparsity"] - 0.8) < 0.01
    # events.json: the step-0 masks (measured) then every drop/regrow update, every 3 steps
    import glob
    import json

    (path,) = glob.glob(os.path.join(str(tmp_path), "**", "events.json"), recursive=True)
    events = json.load(open(path))
    updates = [e for e in events if e.get("update") == "drop_regrow"]
    assert events[0]["step"] == 0 and "update" not in events[0]
    assert updates and [e["step"] for e in updates] == list(range(3, 3 * len(updates) + 1, 3))
    assert all(sum(e["regrown"].values()) == sum(e["dropped"].values()) > 0 for e in updates[:1])
    assert all(abs(v - 0.8) < 0.02 for e in updates for v in e["sparsity"].values())
    assert result["metrics"]["test_accuracy"] > 0.2


def test_rigl_run_under_mirrored_strategy_on_two_replicas(tmp_path):
    script = textwrap.dedent(f"""
        import json, sys
        import prunekit
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from test_dynamic_sparse_study import _spec
        from prunekit.study.execute import run
        result = run.execute(_spec("rigl", "mirrored"), {str(tmp_path)!r})
        replicas = tf.distribute.MirroredStrategy().num_replicas_in_sync
        print("RESULT", json.dumps({{"replicas": replicas, "status": result["status"],
                                     "error": result.get("error"), "metrics": result["metrics"]}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    lines = [l for l in out.stdout.splitlines() if l.startswith("RESULT ")]
    assert lines, out.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT "):])
    assert result["replicas"] == 2 and result["status"] == "ok", result
    assert abs(result["metrics"]["sparsity"] - 0.8) < 0.01
    assert result["metrics"]["test_accuracy"] > 0.2
