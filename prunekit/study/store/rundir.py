"""The work-directory layout and atomic writes.

::

    WORKDIR/
      study.json          the resolved config of the last invocation
      results.jsonl       one line per finished or failed run of the current grid
      summary.csv         aggregated over seeds (mean, CI)
      report.md, plots/   the report
      timing.json         where the study's wall time went
      runs/<id>/          one finished run: spec.json, result.json (written last), events.json,
                          masks.npz, predictions.npz, tensorboard/
      runs/.staging/      runs in progress; a run becomes visible by one directory rename

A run is finished exactly when ``runs/<id>/result.json`` exists. Every file is written to a
temporary name in the same directory and moved into place with ``os.replace``, so a reader
(or a rerun after ``kill -9``) never sees a half-written file.
"""
from __future__ import annotations

import json
import os
import shutil


def runs_dir(workdir: str) -> str:
    return os.path.join(workdir, "runs")


def run_dir(workdir: str, rid: str) -> str:
    return os.path.join(runs_dir(workdir), rid)


def staging_dir(workdir: str, rid: str) -> str:
    return os.path.join(runs_dir(workdir), ".staging", rid)


def write_bytes(path: str, data: bytes) -> None:
    """Writes ``data`` to ``path`` atomically (temporary file + fsync + os.replace, with the
    umask's permissions): :func:`prunekit.checkpoint.write_atomic`, the one atomic writer."""
    from prunekit.checkpoint import write_atomic

    write_atomic(path, data)


def write_text(path: str, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str, obj) -> None:
    write_text(path, json.dumps(obj, indent=1, sort_keys=True, allow_nan=True) + "\n")


def read_json(path: str):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def fresh_staging(workdir: str, rid: str) -> str:
    """An empty staging directory for run ``rid`` (leftovers of a killed attempt removed)."""
    path = staging_dir(workdir, rid)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def commit(workdir: str, rid: str, staging: str) -> str:
    """Makes a staged run visible with one atomic directory rename; returns its directory.

    ``result.json`` must already be in ``staging``. An older directory of the same run (a
    failed attempt being retried) is moved aside first and removed afterwards.
    """
    if not os.path.exists(os.path.join(staging, "result.json")):
        raise RuntimeError(f"staged run {rid} has no result.json")
    final = run_dir(workdir, rid)
    old = None
    if os.path.exists(final):
        old = final + ".old"
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
    os.replace(staging, final)
    if old:
        shutil.rmtree(old, ignore_errors=True)
    return final


def unpack(files: dict, directory: str) -> None:
    """Writes ``{relative_path: bytes}`` (a run packed by a remote worker) into ``directory``."""
    for rel, data in sorted(files.items()):
        if rel.startswith("/") or ".." in rel.split("/"):
            raise ValueError(f"refusing to write outside the run directory: {rel}")
        write_bytes(os.path.join(directory, rel), data)


def pack(directory: str) -> dict:
    """``{relative_path: bytes}`` of every file under ``directory``."""
    out = {}
    for root, _dirs, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, directory).replace(os.sep, "/")] = f.read()
    return out
