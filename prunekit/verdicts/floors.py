"""Groups below their floors: no verdict is drawn from a model that learned nothing.

A group is a (loss, dataset, model) of a study. Its dense models clear the floors when the
mean over seeds of their readout ``test_accuracy`` exceeds the highest floor measured on the
same readout (raw-input features and the untrained encoder, mean over seeds;
:mod:`prunekit.study.execute.floors`) by :data:`FLOOR_MARGIN`. Rows of a group that does not
are marked ``below_floor`` (a copy; the caller's rows are untouched), and every cell that
reads such a row is ``not measured`` with the reason "below floor" (never a verdict).
A group with no finished dense run cannot be judged and is not marked.
"""
from __future__ import annotations

import math

import numpy as np

FLOOR_MARGIN = 0.02  # the dense models must beat the best floor by 2 accuracy points
METRIC = "test_accuracy"


def floor_of(floors: dict | None, dataset: str, model: str) -> tuple[float, str] | None:
    """``(highest mean floor accuracy, its feature set)`` for ``dataset`` and ``model``, or None."""
    by = {}
    for f in (floors or {}).get("rows", []):
        if f["dataset"] == dataset and f["model"] == model and f.get(METRIC) is not None:
            by.setdefault(f["features"], []).append(float(f[METRIC]))
    if not by:
        return None
    means = {k: float(np.mean(v)) for k, v in by.items()}
    best = max(sorted(means), key=lambda k: means[k])
    return means[best], best


def dense_accuracy(rows) -> dict:
    """``{(loss, dataset, model): mean readout accuracy of the finished dense runs}``."""
    acc = {}
    for r in rows:
        v = r.get(METRIC)
        if r.get("status") == "ok" and r.get("timing_kind") == "dense" and isinstance(v, (int, float)) \
                and math.isfinite(v):
            acc.setdefault((r["loss"], r.get("dataset"), r.get("model")), []).append(float(v))
    return {k: float(np.mean(v)) for k, v in acc.items()}


def below(rows, floors: dict | None, margin: float = FLOOR_MARGIN) -> dict:
    """``{(loss, dataset, model): reason}`` of the groups whose dense models do not clear the floors."""
    out = {}
    for key, acc in dense_accuracy(rows).items():
        floor = floor_of(floors, key[1], key[2])
        if floor is not None and not acc > floor[0] + margin:
            out[key] = (f"below floor: dense {key[0]} reaches {METRIC} {acc:.3f}, not above the "
                        f"{floor[1].replace('_', ' ')} floor {floor[0]:.3f} + margin {margin:g}")
    return out


def mark(rows, floors: dict | None, margin: float = FLOOR_MARGIN) -> list:
    """Copies of ``rows``; those of a group below its floors get ``below_floor`` = the reason."""
    low = below(rows, floors, margin)
    return [{**r, "below_floor": low[k]} if (k := (r.get("loss"), r.get("dataset"), r.get("model"))) in low
            else r for r in rows]


def losses_below(rows, floors: dict | None, margin: float = FLOOR_MARGIN) -> dict:
    """``{loss label: reason}`` of the losses below floor (population checks key groups by loss)."""
    return {k[0]: reason for k, reason in below(rows, floors, margin).items()}


__all__ = ["FLOOR_MARGIN", "below", "dense_accuracy", "floor_of", "losses_below", "mark"]
