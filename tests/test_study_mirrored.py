"""A study run with ``strategy="mirrored"`` on two logical CPU devices (tf.distribute)."""
import json
import subprocess
import sys
import textwrap


def test_mirrored_run_trains_on_two_replicas_and_prunes(tmp_path):
    # Logical devices must be set before TensorFlow initialises, hence a fresh process.
    script = textwrap.dedent(f"""
        import json, sys
        import prunekit
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        sys.path.insert(0, {str(__import__('os').path.dirname(__file__))!r})
        from test_study_grid import SPEC
        from prunekit.study.runspec import grid
        from prunekit.study.execute import run
        spec = json.loads(json.dumps(SPEC))
        spec["strategy"] = "mirrored"
        spec["train"]["epochs"] = 2
        spec["sparsity"] = 0.7
        spec["timing"] = grid.resolve_timing("mid", {{"kind": "oneshot", "at": 0.5}})
        result = run.execute(spec, {str(tmp_path)!r})
        replicas = tf.distribute.MirroredStrategy().num_replicas_in_sync
        print("RESULT", json.dumps({{"replicas": replicas, "status": result["status"],
                                     "events": result["events"], "metrics": result["metrics"]}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    lines = [l for l in out.stdout.splitlines() if l.startswith("RESULT ")]
    assert lines, out.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT "):])
    assert result["replicas"] == 2
    assert result["status"] == "ok" and result["events"] == 1
    assert abs(result["metrics"]["sparsity"] - 0.7) < 0.01
    assert result["metrics"]["test_accuracy"] > 0.2  # trained: chance is 0.1
