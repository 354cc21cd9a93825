"""The study's shared dense trunk, measured through ``prunekit-study`` (issue 15, section 5).

Runs ``prunekit-study --config=configs/quick.py`` (or ``--config=PATH``) into fresh work
directories with ``--config.share_trunk=True`` and ``=False``, each in its own subprocess,
in ABBA order (``--repeats=1`` for AB), and prints for each mode the best wall time and the
CPU time (user + system of the child process, ``resource.getrusage(RUSAGE_CHILDREN)``), the
ratios shared / independent, and the optimizer-step ratio from the driver's own accounting
(``trunk.json``: shared vs independent steps), checked against the steps the runs report
(``total_steps - branched_at_step`` per run, plus the trunk's steps). It also reports
whether both modes give the same metrics for every run (floats to 1e-6; bit-for-bit
equality is tested under op determinism in tests/test_study_trunk.py).

Run: ``.venv/bin/python benchmarks/bench_trunk.py`` (four studies of configs/quick.py;
a few minutes on 2 cores).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time

BIN = os.path.join(os.path.dirname(sys.executable), "prunekit-study")
SKIP = {"run_s", "reason", "skipped"}


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def study(config: str, workdir: str, share: bool) -> dict:
    """One study in a subprocess: wall and CPU seconds, its rows, trunk.json, steps trained."""
    cpu0, t0 = _cpu(), time.perf_counter()
    subprocess.run([BIN, f"--config={config}", f"--workdir={workdir}", "--plots=false",
                    f"--config.share_trunk={share}"], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
    with open(os.path.join(workdir, "results.jsonl"), encoding="utf-8") as f:
        rows = {r["id"]: r for r in map(json.loads, f)}
    with open(os.path.join(workdir, "timing.json"), encoding="utf-8") as f:
        timing = json.load(f)
    trained = timing["trunk_steps"]
    for rid in rows:
        with open(os.path.join(workdir, "runs", rid, "result.json"), encoding="utf-8") as f:
            r = json.load(f)
        trained += r.get("total_steps", 0) - r.get("branched_at_step", 0)
    trunk = None
    if share and os.path.exists(os.path.join(workdir, "trunk.json")):
        with open(os.path.join(workdir, "trunk.json"), encoding="utf-8") as f:
            trunk = json.load(f)
    return {"wall": wall, "cpu": cpu, "rows": rows, "trunk": trunk, "steps": trained}


def same_metrics(a: dict, b: dict) -> list:
    """Run ids or metrics that differ between two studies' rows (floats to 1e-6)."""
    out = [f"run {rid} only in one study" for rid in set(a) ^ set(b)]
    for rid in set(a) & set(b):
        for key in set(a[rid]) | set(b[rid]):
            if key in SKIP:
                continue
            x, y = a[rid].get(key), b[rid].get(key)
            if isinstance(x, float) and isinstance(y, float):
                if not (math.isclose(x, y, rel_tol=0, abs_tol=1e-6) or (math.isnan(x) and math.isnan(y))):
                    out.append(f"{rid} {key}: {x} vs {y}")
            elif x != y:
                out.append(f"{rid} {key}: {x!r} vs {y!r}")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/quick.py")
    parser.add_argument("--repeats", type=int, default=2, help="1: AB; 2: ABBA")
    args = parser.parse_args(argv)
    root = tempfile.mkdtemp(prefix="bench-trunk-")
    order = [False, True, True, False][: 2 * args.repeats]
    done = {True: [], False: []}
    for i, share in enumerate(order):
        done[share].append(study(args.config, os.path.join(root, f"w{i}-{'shared' if share else 'indep'}"), share))
    shared, indep = done[True], done[False]
    trunk = shared[0]["trunk"]
    assert trunk is not None, "share_trunk=True wrote no trunk.json"
    assert shared[0]["steps"] == trunk["shared_steps"], (shared[0]["steps"], trunk["shared_steps"])
    assert indep[0]["steps"] == trunk["independent_steps"], (indep[0]["steps"], trunk["independent_steps"])
    diff = same_metrics(shared[0]["rows"], indep[0]["rows"])
    w_s, w_i = min(r["wall"] for r in shared), min(r["wall"] for r in indep)
    c_s, c_i = min(r["cpu"] for r in shared), min(r["cpu"] for r in indep)
    print(f"prunekit-study {args.config}: {len(shared[0]['rows'])} runs, {trunk['groups']} trunks "
          f"for {trunk['branched_runs']} branched runs ({'ABBA' if args.repeats > 1 else 'AB'})")
    print(f"  optimizer steps: shared {trunk['shared_steps']} / independent {trunk['independent_steps']} "
          f"= {trunk['shared_steps'] / trunk['independent_steps']:.3f}x")
    walls = [", ".join(f"{r['wall']:.1f}" for r in runs) for runs in (shared, indep)]
    print(f"  wall (best): shared {w_s:.1f} s / independent {w_i:.1f} s = {w_s / w_i:.3f}x  "
          f"(all: {walls[0]} / {walls[1]})")
    print(f"  CPU  (best): shared {c_s:.1f} s / independent {c_i:.1f} s = {c_s / c_i:.3f}x")
    # Bit-for-bit equality needs op determinism (tests/test_study_trunk.py); here it is reported.
    print(f"  metrics equal (1e-6) with and without the trunk: {'all runs' if not diff else f'{len(diff)} differ'}")
    for line in diff[:10]:
        print(f"    {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
