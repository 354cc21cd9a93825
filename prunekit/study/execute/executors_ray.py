"""What a Ray task asks for and what its worker process is set up with.

Ray hides the GPUs from a task that does not ask for any (it sets ``CUDA_VISIBLE_DEVICES``
per task to the GPUs it granted), so a run asks for ``gpus_per_run`` GPUs; a fraction
(e.g. 0.5) lets several runs share one GPU, as Ray's fractional resources do
(https://docs.ray.io/en/latest/ray-core/scheduling/accelerators.html). Runs sharing a GPU
must not each take all its memory, which TensorFlow does by default: every worker gets
``TF_FORCE_GPU_ALLOW_GROWTH=true`` in its environment (Ray's ``runtime_env``), which
TensorFlow reads before its first GPU allocation
(https://www.tensorflow.org/guide/gpu#limiting_gpu_memory_growth).
"""
from __future__ import annotations

import math
import os
import socket

# TensorFlow's switch for GPU memory growth, read by its GPU allocator in each process.
MEMORY_GROWTH = {"TF_FORCE_GPU_ALLOW_GROWTH": "true"}


def check_amounts(cpus_per_run: float, gpus_per_run: float) -> None:
    """Raises ValueError naming a request Ray cannot honour: CPUs must be > 0, GPUs >= 0 (both
    finite), and an amount over 1 must be whole (Ray's rule for fractional resources)."""
    for name, value, zero_ok in (("cpus_per_run", float(cpus_per_run), False),
                                 ("gpus_per_run", float(gpus_per_run), True)):
        if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
            raise ValueError(f"--{name}={value:g} must be {'>= 0' if zero_ok else '> 0'}")
        if value > 1 and value != int(value):
            raise ValueError(f"--{name}={value:g}: an amount over 1 must be a whole number "
                             f"(Ray shares a device only in fractions of one), e.g. --{name}={int(value)}")


def runtime_env() -> dict:
    """The environment of every worker of the study's Ray job (local or an existing cluster)."""
    return {"env_vars": {"TF_USE_LEGACY_KERAS": "1",
                         "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
                         **MEMORY_GROWTH}}


def check_fits(resources: dict, cpus_per_run: float, gpus_per_run: float, local: bool) -> str | None:
    """A run that no node of ``resources`` (Ray's ``cluster_resources()``) can hold would wait
    forever: raises RuntimeError on a local Ray; on an existing cluster (an autoscaler may add
    nodes) returns a warning line instead. None when it fits."""
    short = [f"--{name}={need:g} but the Ray {'instance' if local else 'cluster'} has {have:g} {kind}"
             for name, need, kind in (("cpus_per_run", cpus_per_run, "CPU"), ("gpus_per_run", gpus_per_run, "GPU"))
             for have in [float(resources.get(kind, 0.0))] if need > have]
    if not short:
        return None
    hint = "; lower it, or give the local Ray more with --num_cpus / --num_gpus" if local else \
        "; runs wait until the cluster has such a node"
    if local:
        raise RuntimeError(short[0] + hint)
    return short[0] + hint


def hide_gpus_unless_granted() -> None:
    """In a Ray task, before TensorFlow starts: a task granted no GPU sees none. Ray >= 2.48
    leaves ``CUDA_VISIBLE_DEVICES`` alone for such a task (ray-project/ray#54868), so it would
    see every GPU of its node, unaccounted. (A GPU task gets a fresh worker process: Ray's
    ``max_calls=1`` default for GPU tasks, so its TensorFlow starts with its own grant.)"""
    import ray

    if not ray.get_runtime_context().get_accelerator_ids().get("GPU"):
        os.environ["CUDA_VISIBLE_DEVICES"] = ""


def placement() -> dict:
    """Where a Ray task ran: its host and the GPUs Ray granted it (``CUDA_VISIBLE_DEVICES``)."""
    return {"host": socket.gethostname(), "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
            "memory_growth": os.environ.get("TF_FORCE_GPU_ALLOW_GROWTH")}
