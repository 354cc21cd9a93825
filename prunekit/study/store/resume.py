"""Resume: which runs of a grid are finished, which are (re)done.

A run is finished when ``runs/<id>/result.json`` exists (it is written last, and the run
directory appears by one rename, so a run killed mid-way leaves only a staging directory,
which is removed and redone). Failed runs are finished too (their failure is a result);
``retry_failed`` redoes them.
"""
from __future__ import annotations

import os
import shutil
import sys

from prunekit.study.store import rundir


def result_of(workdir: str, rid: str):
    """The stored result of run ``rid``, or None when it has not finished. An unreadable
    ``result.json`` (truncated, not JSON) means not finished: the run directory is removed, so
    the run is redone, and the file is named on stderr."""
    path = os.path.join(rundir.run_dir(workdir, rid), "result.json")
    if not os.path.exists(path):
        return None
    try:
        result = rundir.read_json(path)
        if not isinstance(result, dict) or "status" not in result:
            raise ValueError("no status field")
        return result
    except (OSError, ValueError) as e:
        print(f"prunekit-study: {path} is unreadable ({type(e).__name__}: {str(e).splitlines()[0]}); "
              "redoing that run", file=sys.stderr)
        shutil.rmtree(rundir.run_dir(workdir, rid), ignore_errors=True)
        return None


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


def drop_empty_staging(workdir: str) -> None:
    """Removes ``runs/.staging`` once no run is in progress (after a study's runs)."""
    staging = os.path.join(rundir.runs_dir(workdir), ".staging")
    if os.path.isdir(staging) and not os.listdir(staging):
        os.rmdir(staging)
