"""GPUs through Ray: the resource requests of the Ray executor, on a local Ray started with a
declared (fake) GPU count. Ray grants GPUs on a CPU-only machine by setting
CUDA_VISIBLE_DEVICES per task, so what each task sees is what it was granted. Tasks wait at
a file barrier until all are running, so the devices seen were held at the same time."""
import os
import sys

import pytest

from prunekit.study import cli
from prunekit.study.execute import executors, executors_ray

ray = pytest.importorskip("ray")
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/


def _probe(barrier: str, n: int):
    """A task body: announce, wait until ``n`` tasks run at once, report what Ray granted."""
    import os as _os
    import time as _time

    from prunekit.study.execute import executors_ray as _er

    _er.hide_gpus_unless_granted()  # as the run and trunk tasks do first
    open(_os.path.join(barrier, str(_os.getpid())), "w").close()
    deadline = _time.time() + 60
    while len(_os.listdir(barrier)) < n and _time.time() < deadline:
        _time.sleep(0.05)
    return len(_os.listdir(barrier)), _er.placement()


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for the module: 4 logical CPUs, 2 declared GPUs (none need exist)."""
    if ray.is_initialized():
        ray.shutdown()
    ex = executors.Ray(num_cpus=4, num_gpus=2, cpus_per_run=0.5, gpus_per_run=0.5)
    assert ex._started
    yield ex
    ex.close()
    assert not ray.is_initialized()


def _concurrent(ex, n, tmp_path):
    barrier = tmp_path / f"barrier-{ex.gpus_per_run:g}"
    barrier.mkdir()
    task = ex._task(_probe)
    out = ray.get([task.remote(str(barrier), n) for _ in range(n)], timeout=120)
    assert [seen for seen, _ in out] == [n] * n  # all n held their grant at the same time
    return [p for _, p in out]


def test_half_a_gpu_per_run_shares_a_device(local_ray, tmp_path):
    # 4 concurrent runs at 0.5 GPU on 2 GPUs: each device is granted to exactly two of them.
    places = _concurrent(local_ray, 4, tmp_path)
    devices = sorted(p["cuda_visible_devices"] for p in places)
    assert devices == ["0", "0", "1", "1"]


def test_one_gpu_per_run_gets_its_own_device(local_ray, tmp_path):
    whole = executors.Ray(cpus_per_run=0.5, gpus_per_run=1)  # reuses the running local Ray
    assert not getattr(whole, "_started", False)
    places = _concurrent(whole, 2, tmp_path)
    assert sorted(p["cuda_visible_devices"] for p in places) == ["0", "1"]


def test_no_gpu_request_hides_the_gpus_and_every_worker_grows_memory(local_ray, tmp_path, capsys):
    cpu_only = executors.Ray(cpus_per_run=1, gpus_per_run=0)
    assert "has 2 GPU but --gpus_per_run=0: runs train on CPUs" in capsys.readouterr().err
    cpu_only._init()  # as trunks() and run() do: checked once, warned once
    assert capsys.readouterr().err == ""
    (place,) = _concurrent(cpu_only, 1, tmp_path)
    assert place["cuda_visible_devices"] == ""  # Ray hides the GPUs from a task not asking for one
    assert place["memory_growth"] == "true"  # set by the job's runtime_env, before TF starts


def test_a_request_the_local_ray_cannot_hold_is_refused(local_ray):
    with pytest.raises(RuntimeError, match=r"--gpus_per_run=3 but the Ray instance has 2 GPU"):
        executors.Ray(gpus_per_run=3)
    assert ray.is_initialized()  # the running instance is not this executor's to stop


def test_existing_cluster_only_warns():
    line = executors_ray.check_fits({"CPU": 16.0}, 1.0, 0.5, local=False)
    assert line.startswith("--gpus_per_run=0.5 but the Ray cluster has 0 GPU")
    assert executors_ray.check_fits({"CPU": 16.0, "GPU": 1.0}, 1.0, 0.5, local=False) is None


@pytest.mark.parametrize("extra, message", [
    (["--gpus_per_run=0.5"], "--gpus_per_run needs --executor=ray"),
    (["--cpus_per_run=2"], "--cpus_per_run needs --executor=ray"),
    (["--executor=ray", "--gpus_per_run=1.5"], "--gpus_per_run=1.5: an amount over 1 must be a whole number"),
    (["--executor=ray", "--gpus_per_run=-1"], "--gpus_per_run=-1 must be >= 0"),
    (["--executor=ray", "--cpus_per_run=0"], "--cpus_per_run=0 must be > 0"),
    (["--executor=ray", "--gpus_per_run=inf"], "--gpus_per_run=inf must be >= 0"),
    (["--executor=ray", "--ray_address=auto", "--num_gpus=2"], "--num_gpus sizes a local Ray instance"),
    (["--executor=ray", "--num_cpus=0"], "--num_cpus=0 must be >= 1"),
])
def test_flags_refused_with_one_line(extra, message):
    config = os.path.join(os.path.dirname(__file__), os.pardir, "configs", "quick.py")
    with pytest.raises(ValueError) as e:
        cli.parse(["prunekit-study", f"--config={config}", "--workdir=/nonexistent"] + extra)
    assert str(e.value).startswith(message) and "\n" not in str(e.value)


def test_ray_flags_accepted_with_the_ray_executor():
    config = os.path.join(os.path.dirname(__file__), os.pardir, "configs", "quick.py")
    _, FLAGS = cli.parse(["prunekit-study", f"--config={config}", "--workdir=/x", "--executor=ray",
                          "--gpus_per_run=0.25", "--cpus_per_run=2", "--num_gpus=1"])
    assert (FLAGS.gpus_per_run, FLAGS.cpus_per_run, FLAGS.num_gpus) == (0.25, 2.0, 1)


def test_a_real_run_on_half_a_gpu_records_its_grant(local_ray, tmp_path):
    """The run task itself (not a probe): a dense tiny run asks for 0.5 GPU; result.json says
    which device Ray granted and that memory growth was on (on this CPU-only machine
    TensorFlow finds no device behind CUDA_VISIBLE_DEVICES and trains on the CPU)."""
    import importlib.util
    import json

    from prunekit.study.runspec import grid, identity
    from test_study_grid import TINY

    path = tmp_path / "tiny.py"
    path.write_text(TINY)
    spec_ = importlib.util.spec_from_file_location("tiny_gpu", path)
    mod = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(mod)
    dense = grid.expand(mod.get_config())[0]
    assert dense.criterion is None  # the dense baseline: the cheapest run
    rid, done = identity.run_id(dense), {}
    local_ray.run(str(tmp_path / "w"), [(rid, dense)], lambda r, s, result, _t: done.setdefault(r, result))
    assert done[rid]["status"] == "ok", done[rid].get("reason")
    with open(tmp_path / "w" / "runs" / rid / "result.json") as f:
        worker = json.load(f)["worker"]
    assert worker["cuda_visible_devices"] in ("0", "1") and worker["memory_growth"] == "true"


def test_the_command_refuses_gpus_without_ray(capsys):
    from prunekit.study import main as study_main

    config = os.path.join(os.path.dirname(__file__), os.pardir, "configs", "quick.py")
    code = study_main.main(["prunekit-study", f"--config={config}", "--workdir=/nonexistent", "--gpus_per_run=0.5"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == cli.EXIT_BAD_INPUT and len(err) == 1
    assert err[0].startswith("prunekit-study: error: --gpus_per_run needs --executor=ray")
