"""Executors: run specs one run at a time in this process, or as Ray tasks.

Both call :func:`attempt` for a run, which never raises: an exception or a diverged loss
becomes a ``failed`` result with its reason. The driver then commits the staged run
directory (one rename). Ray tasks work in a temporary directory on the worker and return
the run's files, so the work directory needs no shared filesystem with a remote cluster.
"""
from __future__ import annotations

import os
import tempfile
import time
import traceback

from prunekit.study import rundir


def attempt(spec: dict, out_dir: str) -> dict:
    """Runs one spec into ``out_dir``; returns its result (``failed`` with a reason on error)."""
    start = time.perf_counter()
    try:
        from prunekit.study import run

        result = run.execute(spec, out_dir)
    except Exception as e:  # failure isolation: the study records it and goes on
        from prunekit.study.run import RunFailed

        reason = str(e) if isinstance(e, RunFailed) else f"{type(e).__name__}: {e}"
        result = {"status": "failed", "reason": _reason_line(reason),
                  "traceback": traceback.format_exc(limit=8)}
    result["run_s"] = time.perf_counter() - start
    return result


def _reason_line(text: str) -> str:
    """One line for a failure: TensorFlow's 'in user code:' errors put the cause last."""
    lines = [l.strip() for l in str(text).splitlines() if l.strip()]
    if not lines:
        return "unknown error"
    line = lines[0] if len(lines) == 1 or not lines[0].endswith("in user code:") else \
        f"{lines[0].split(':')[0]}: {lines[-1]}"
    return line[:300]


def finish(workdir: str, rid: str, spec: dict, result: dict, staging: str) -> None:
    """Writes spec.json and result.json (last) into the staging directory and commits it."""
    result = {"id": rid, **result}
    rundir.write_json(os.path.join(staging, "spec.json"), spec)
    rundir.write_json(os.path.join(staging, "result.json"), result)
    rundir.commit(workdir, rid, staging)


class InProcess:
    """Runs one run after the other in this process (the default)."""

    name = "inprocess"

    def run(self, workdir: str, jobs: list, on_done) -> None:
        for rid, spec in jobs:
            staging = rundir.fresh_staging(workdir, rid)
            result = attempt(spec, staging)
            t0 = time.perf_counter()
            finish(workdir, rid, spec, result, staging)
            on_done(rid, spec, result, time.perf_counter() - t0)


def _remote_attempt(spec: dict):
    """Body of a Ray task: the run in a local temporary directory, returned as files."""
    with tempfile.TemporaryDirectory(prefix="prunekit-run-") as tmp:
        result = attempt(spec, tmp)
        return result, rundir.pack(tmp)


class Ray:
    """One Ray task per run on a local Ray (``num_cpus``) or an existing cluster (``address``)."""

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int = 2, cpus_per_run: float = 1.0):
        try:
            import ray
        except ImportError as e:
            raise RuntimeError("--executor=ray needs Ray: pip install 'prunekit[ray]'") from e
        self.ray = ray
        self.address = address or None
        self.num_cpus = num_cpus
        self.cpus_per_run = cpus_per_run

    def run(self, workdir: str, jobs: list, on_done) -> None:
        ray = self.ray
        started_here = not ray.is_initialized()
        if started_here:
            env = {"env_vars": {"TF_USE_LEGACY_KERAS": "1",
                                "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}}
            if self.address:
                ray.init(address=self.address, runtime_env=env, log_to_driver=False)
            else:
                ray.init(num_cpus=self.num_cpus, include_dashboard=False, runtime_env=env,
                         log_to_driver=False)
        try:
            task = ray.remote(num_cpus=self.cpus_per_run, max_retries=0)(_remote_attempt)
            pending = {task.remote(spec): (rid, spec) for rid, spec in jobs}
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    rid, spec = pending.pop(ref)
                    try:
                        result, files = ray.get(ref)
                    except Exception as e:  # the worker died: record it, go on
                        result, files = {"status": "failed", "reason": f"ray task failed: {type(e).__name__}: "
                                         f"{str(e).strip().splitlines()[0] if str(e).strip() else ''}"}, {}
                    t0 = time.perf_counter()
                    staging = rundir.fresh_staging(workdir, rid)
                    rundir.unpack(files, staging)
                    finish(workdir, rid, spec, result, staging)
                    on_done(rid, spec, result, time.perf_counter() - t0)
        finally:
            if started_here:
                ray.shutdown()


def make(name: str, **kwargs):
    if name == "inprocess":
        return InProcess()
    if name == "ray":
        return Ray(**kwargs)
    raise ValueError(f"unknown executor {name!r}; choices: inprocess, ray")
