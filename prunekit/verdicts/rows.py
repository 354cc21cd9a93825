"""Selecting and pairing results.jsonl rows (dicts as prunekit.study.results.row writes them).

Only rows with ``status == "ok"`` and a finite value of the metric are used. Two arms are
paired by ``seed``: a seed counts only when both arms have exactly one usable row for it.
"""
from __future__ import annotations

import math


def matches(row: dict, where: dict) -> bool:
    """Whether ``row[k]`` equals ``v`` (or is in ``v`` for a list/tuple/set) for every item of ``where``."""
    for k, v in where.items():
        value = row.get(k)
        if isinstance(v, (list, tuple, set, frozenset)):
            if value not in v:
                return False
        elif value != v:
            return False
    return True


def usable(rows, metric: str, **where) -> list[dict]:
    """The ok rows matching ``where`` that hold a finite ``metric``."""
    out = []
    for r in rows:
        value = r.get(metric)
        if r.get("status") == "ok" and isinstance(value, (int, float)) and math.isfinite(value) and matches(r, where):
            out.append(r)
    return out


def _by_seed(rows) -> dict:
    seen: dict = {}
    for r in rows:
        seen.setdefault(r.get("seed"), []).append(r)
    return {s: rs[0] for s, rs in seen.items() if len(rs) == 1}


def pair_by_seed(rows, metric: str, arm_a: dict, arm_b: dict, metric_b: str | None = None):
    """(values_a, values_b, row_ids) of the seeds present once in both arms, sorted by seed.

    ``arm_a`` / ``arm_b`` are ``where`` filters (see :func:`matches`); ``metric_b`` defaults to
    ``metric``. ``row_ids`` lists the ids of both rows of every pair.
    """
    a = _by_seed(usable(rows, metric, **arm_a))
    b = _by_seed(usable(rows, metric_b or metric, **arm_b))
    seeds = sorted(set(a) & set(b), key=lambda s: (s is None, s))
    ids = []
    for s in seeds:
        ids += [a[s].get("id"), b[s].get("id")]
    return ([float(a[s][metric]) for s in seeds], [float(b[s][metric_b or metric]) for s in seeds], tuple(ids))


def values(rows, key: str) -> list:
    """The distinct values of ``key`` over ``rows``, sorted (None last)."""
    return sorted({r.get(key) for r in rows}, key=lambda v: (v is None, str(type(v)), v))
