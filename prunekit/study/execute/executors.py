"""Executors: run specs one run at a time in this process, or as Ray tasks.

Both call :func:`attempt` for a run, which never raises: an exception or a diverged loss
becomes a ``failed`` result with its reason. The driver then commits the staged run
directory (one rename). Ray tasks work in a temporary directory on the worker and return
the run's files, so the work directory needs no shared filesystem with a remote cluster.

Shared dense trunks (:mod:`prunekit.study.execute.trunk`) are trained first (:meth:`trunks`: in this
process, or one Ray task per trunk whose checkpoints come back as bytes and are written
into the work directory); a run that branches gets its checkpoint (``branches[rid]``; a
Ray task gets the checkpoint's bytes with its spec).

Each Ray task asks for ``cpus_per_run`` CPUs and ``gpus_per_run`` GPUs (a fraction shares a
GPU); its worker has TensorFlow's memory growth on and sees only the GPUs Ray granted
(:mod:`prunekit.study.execute.executors_ray`); ``result.json`` records them (``worker``).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback

from prunekit.study.runspec.types import RunSpec
from prunekit.study.store import rundir


def attempt(spec: dict, out_dir: str, branch: dict | None = None) -> dict:
    """Runs one spec into ``out_dir`` (from a trunk checkpoint ``branch`` if given); returns
    its result (``failed`` with a reason on error)."""
    start = time.perf_counter()
    try:
        from prunekit.study.execute import run

        result = run.execute(spec, out_dir, branch=branch)
    except Exception as e:  # failure isolation: the study records it and goes on
        from prunekit.study.execute.failed import RunFailed

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
    rundir.write_json(os.path.join(staging, "spec.json"), RunSpec.coerce(spec).to_dict())
    rundir.write_json(os.path.join(staging, "result.json"), result)
    rundir.commit(workdir, rid, staging)


def _trunk_failure(job, e: Exception) -> dict:
    return {"epoch": job[2], "reason": _reason_line(f"dense trunk: {type(e).__name__}: {e}")}


class InProcess:
    """Runs one run after the other in this process (the default)."""

    name = "inprocess"

    def trunks(self, workdir: str, jobs: list, on_trunk) -> None:
        """Trains the trunk jobs (:func:`prunekit.study.execute.trunk.jobs`) into ``workdir``;
        ``on_trunk(job, steps_trained, seconds, error)``, error a failure dict or None."""
        from prunekit.study.execute import trunk

        for job in jobs:
            t0 = time.perf_counter()
            try:
                steps, error = trunk.ensure(workdir, job), None
            except Exception as e:  # its runs fail with this reason; not stored (may be transient)
                steps, error = 0, _trunk_failure(job, e)
            on_trunk(job, steps, time.perf_counter() - t0, error)

    def run(self, workdir: str, jobs: list, on_done, branches: dict | None = None) -> None:
        for rid, spec in jobs:
            staging = rundir.fresh_staging(workdir, rid)
            result = attempt(spec, staging, (branches or {}).get(rid))
            t0 = time.perf_counter()
            finish(workdir, rid, spec, result, staging)
            on_done(rid, spec, result, time.perf_counter() - t0)

    def close(self) -> None:
        pass


def _remote_attempt(spec: dict, branch=None, checkpoint=None):
    """Body of a Ray task: the run in a local temporary directory, returned as files
    (``checkpoint``: the bytes of the trunk checkpoint ``branch`` names)."""
    from prunekit.study.execute import executors_ray

    executors_ray.hide_gpus_unless_granted()
    if checkpoint is not None:
        branch = {"epoch": branch["epoch"], "data": checkpoint}
    with tempfile.TemporaryDirectory(prefix="prunekit-run-") as tmp:
        result = attempt(spec, tmp, branch)
        result["worker"] = executors_ray.placement()
        return result, rundir.pack(tmp)


def _remote_trunk(spec: dict, start, save_at: list):
    """Body of a Ray trunk task: ``({epoch: checkpoint bytes}, failure, steps)``."""
    from prunekit import checkpoint
    from prunekit.study.execute import executors_ray, trunk

    executors_ray.hide_gpus_unless_granted()
    return trunk.train(spec, checkpoint.from_bytes(start, "trunk checkpoint") if start is not None else None,
                       save_at)


class Ray:
    """One Ray task per run on a local Ray (``num_cpus``, ``num_gpus``: None lets Ray detect
    them) or an existing cluster (``address``); each run and trunk asks for ``cpus_per_run``
    CPUs and ``gpus_per_run`` GPUs (fractions share a device; :mod:`.executors_ray`)."""

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int = 2, cpus_per_run: float = 1.0,
                 gpus_per_run: float = 0.0, num_gpus: int | None = None):
        from prunekit.study.execute import executors_ray

        executors_ray.check_amounts(cpus_per_run, gpus_per_run)
        try:
            import ray
        except ImportError as e:
            raise RuntimeError("--executor=ray needs Ray: pip install 'prunekit[ray]'") from e
        self.ray = ray
        self.address = address or None
        self.num_cpus, self.num_gpus = num_cpus, num_gpus
        self.cpus_per_run, self.gpus_per_run = float(cpus_per_run), float(gpus_per_run)
        self._init()  # a request no node can hold fails here, before any run

    def _init(self) -> None:
        from prunekit.study.execute import executors_ray

        ray = self.ray
        if getattr(self, "_checked", False) and ray.is_initialized():
            return
        if not ray.is_initialized():
            self._started = True
            env = executors_ray.runtime_env()
            if self.address:
                ray.init(address=self.address, runtime_env=env, log_to_driver=False)
            else:
                ray.init(num_cpus=self.num_cpus, num_gpus=self.num_gpus, include_dashboard=False,
                         runtime_env=env, log_to_driver=False)
        resources = ray.cluster_resources()
        try:
            warning = executors_ray.check_fits(resources, self.cpus_per_run, self.gpus_per_run,
                                               local=not self.address)
        except RuntimeError:
            self.close()
            raise
        if not warning and not self.gpus_per_run and resources.get("GPU"):
            warning = (f"the Ray {'cluster' if self.address else 'instance'} has {resources['GPU']:g} GPU but "
                       "--gpus_per_run=0: runs train on CPUs; e.g. --gpus_per_run=0.5 shares a GPU by two runs")
        if warning:
            print(f"prunekit-study: warning: {warning}", file=sys.stderr, flush=True)
        self._checked = True

    def _task(self, fn):
        """``fn`` as a Ray task asking for this executor's CPUs and GPUs per run."""
        return self.ray.remote(num_cpus=self.cpus_per_run, num_gpus=self.gpus_per_run, max_retries=0)(fn)

    def close(self) -> None:
        """Shuts down the Ray instance this executor started (an existing one stays)."""
        if getattr(self, "_started", False):
            self.ray.shutdown()
            self._started = False

    def trunks(self, workdir: str, jobs: list, on_trunk) -> None:
        """One Ray task per trunk job; checkpoints come back as bytes, written here."""
        from prunekit.study.execute import trunk

        if not jobs:
            return
        self._init()
        ray = self.ray
        task = self._task(_remote_trunk)
        t0 = time.perf_counter()
        pending = {}
        for job in jobs:
            gid, spec, start, save_at = job
            data = None
            if start:
                with open(trunk.checkpoint_path(workdir, gid, start), "rb") as f:
                    data = f.read()
            pending[task.remote(spec, data, save_at)] = job
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                job = pending.pop(ref)
                try:
                    saved, failed, steps = ray.get(ref)
                    trunk.store(workdir, job[0], saved, failed)
                    error = None
                except Exception as e:
                    steps, error = 0, _trunk_failure(job, e)
                on_trunk(job, steps, time.perf_counter() - t0, error)

    def run(self, workdir: str, jobs: list, on_done, branches: dict | None = None) -> None:
        self._init()
        ray = self.ray
        try:
            task = self._task(_remote_attempt)
            shipped = {}  # checkpoint path -> object ref: each checkpoint is put once
            pending = {}
            for rid, spec in jobs:
                branch = (branches or {}).get(rid)
                ref = None
                if branch is not None and "path" in branch:
                    if branch["path"] not in shipped:
                        with open(branch["path"], "rb") as f:
                            shipped[branch["path"]] = ray.put(f.read())
                    ref = shipped[branch["path"]]
                pending[task.remote(spec, branch, ref)] = (rid, spec)
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
        except BaseException:
            self.close()
            raise


def make(name: str, **kwargs):
    if name == "inprocess":
        return InProcess()
    if name == "ray":
        return Ray(**kwargs)
    raise ValueError(f"unknown executor {name!r}; choices: inprocess, ray")
