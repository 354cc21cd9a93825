"""Resume: which runs of a grid are finished, which are (re)done.

A run is finished when ``runs/<id>/result.json`` exists (it is written last, and the run
directory appears by one rename, so a run killed mid-way leaves only a staging directory,
which is removed and redone). Failed runs are finished too (their failure is a result);
``retry_failed`` redoes them.
"""
from __future__ import annotations

import os
import shutil

from prunekit.study.store import rundir


def result_of(workdir: str, rid: str):
    """The stored result of run ``rid``, or None when it has not finished."""
    path = os.path.join(rundir.run_dir(workdir, rid), "result.json")
    if not os.path.exists(path):
        return None
    return rundir.read_json(path)


def plan(workdir: str, ids: list, retry_failed: bool = False):
    """``(todo, done)``: ids to run, and ``{id: result}`` of finished runs to keep."""
    todo, done = [], {}
    for rid in ids:
        result = result_of(workdir, rid)
        if result is None or (retry_failed and result.get("status") != "ok"):
            todo.append(rid)
        else:
            done[rid] = result
    return todo, done


def clean_staging(workdir: str) -> int:
    """Removes staging directories left by killed runs; returns how many there were."""
    staging = os.path.join(rundir.runs_dir(workdir), ".staging")
    if not os.path.isdir(staging):
        return 0
    left = os.listdir(staging)
    shutil.rmtree(staging, ignore_errors=True)
    return len(left)
