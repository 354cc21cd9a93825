"""The study driver end to end: the real command (subprocess), kill -9 and resume, a NaN run,
and the Ray executor giving the same results as the in-process one. Tiny config: 3 runs."""
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from prunekit.study.execute import executors
from prunekit.study.runspec import grid, identity
from prunekit.study import main as study_main
from prunekit.study.store import results
from test_study_grid import TINY

BIN = os.path.join(os.path.dirname(sys.executable), "prunekit-study")


def _rows(workdir):
    return results.read_jsonl(str(workdir))


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.py"
    path.write_text(TINY)
    return str(path)


def test_command_end_to_end_with_kill_and_resume(tiny, tmp_path):
    workdir = tmp_path / "study"
    cmd = [BIN, f"--config={tiny}", f"--workdir={workdir}"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    # 1) Start, kill -9 as soon as the first run has finished.
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if os.path.exists(workdir / "results.jsonl") and _rows(workdir):
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = {r["id"]: os.stat(workdir / "runs" / r["id"] / "result.json").st_mtime_ns for r in _rows(workdir)}
    assert 1 <= len(before) <= 3
    # 2) Rerun: finishes the rest, does not retrain finished runs.
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = _rows(workdir)
    assert len(rows) == 3 and len({r["id"] for r in rows}) == 3
    for rid, mtime in before.items():
        assert os.stat(workdir / "runs" / rid / "result.json").st_mtime_ns == mtime
    assert not os.listdir(workdir / "runs" / ".staging") if os.path.exists(workdir / "runs" / ".staging") else True
    assert f"{len(before)} skipped" in out.stderr
    # Files and numbers.
    assert all(r["status"] == "ok" for r in rows)
    dense = [r for r in rows if r["timing"] == "dense"]
    pruned = [r for r in rows if r["timing"] != "dense"]
    assert len(dense) == 1 and dense[0]["achieved_sparsity"] == 0.0 and dense[0]["test_accuracy"] > 0.3
    for r in pruned:
        assert r["sparsity"] == 0.5 and abs(r["achieved_sparsity"] - 0.5) < 0.02
        assert 0.1 < r["test_accuracy"] <= 1.0
        assert os.path.exists(workdir / "runs" / r["id"] / "masks.npz")
    for name in ("summary.csv", "report.md", "plots/accuracy_vs_sparsity.png", "timing.json", "study.json"):
        assert os.path.getsize(workdir / name) > 0, name
    import pandas as pd

    summary = pd.read_csv(workdir / "summary.csv")
    assert {"test_accuracy_mean", "test_accuracy_ci95", "n", "n_failed"} <= set(summary.columns)
    assert "report: " in out.stdout and "report.md" in out.stdout
    # 3) Rerun again: everything skipped.
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert again.returncode == 0 and "3 skipped" in again.stderr and "0 run now" in again.stderr
    assert _rows(workdir) == rows


def test_nan_run_is_recorded_as_failed_and_the_rest_finish(tiny, tmp_path):
    import importlib.util

    spec_ = importlib.util.spec_from_file_location("tiny_nan", tiny)
    mod = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(mod)
    config = mod.get_config()
    config.timings = {"gradual": dict(config.timings.gradual)}
    specs = grid.expand(config)  # dense + one gradual run
    specs[1] = dataclasses.replace(specs[1], train=dataclasses.replace(specs[1].train, learning_rate=1e30))
    workdir = str(tmp_path / "w")
    done = {}
    executors.InProcess().run(workdir, [(identity.run_id(s), s) for s in specs],
                              lambda rid, spec, result, _t: done.setdefault(rid, result))
    statuses = [done[identity.run_id(s)]["status"] for s in specs]
    assert statuses == ["ok", "failed"]
    reason = done[identity.run_id(specs[1])]["reason"]
    assert "nan" in reason.lower() or "inf" in reason.lower(), reason
    row = results.row(identity.run_id(specs[1]), specs[1], done[identity.run_id(specs[1])])
    assert row["status"] == "failed" and row["reason"] == reason


def test_ray_executor_gives_the_in_process_results(tiny, tmp_path, capsys):
    pytest.importorskip("ray")
    args = ["prunekit-study", f"--config={tiny}", "--plots=false"]
    assert study_main.main(args + [f"--workdir={tmp_path / 'inproc'}"]) == 0
    assert study_main.main(args + [f"--workdir={tmp_path / 'ray'}", "--executor=ray", "--num_cpus=2"]) == 0
    a, b = _rows(tmp_path / "inproc"), _rows(tmp_path / "ray")
    keys = ("id", "status", "test_accuracy", "test_loss", "sparsity", "nonzero_weights")
    assert [tuple(r[k] for k in keys) for r in a] == [tuple(r[k] for k in keys) for r in b]
