"""floors.json: the floors a study's trained models must clear, read back for the report and
the checks (measured once, by :mod:`prunekit.study.execute.floors`; never retrained here).

``{"keys": [...], "readout_budget": [...], "rows": [{dataset, model, features, seed,
test_accuracy, test_loss, knn_test_accuracy}]}``; ``features`` is ``raw_input`` (flattened
inputs) or ``random_encoder`` (the study's model at its random initialisation).
"""
from __future__ import annotations

import json
import os

import numpy as np

FILE = "floors.json"


def read(workdir: str) -> dict | None:
    """The saved floors.json, or None when the study has none."""
    path = os.path.join(workdir, FILE)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def table(floors: dict | None) -> list:
    """``[{dataset, model, features, seeds, test_accuracy, knn_test_accuracy}]``: means over seeds."""
    groups = {}
    for r in (floors or {}).get("rows", []):
        groups.setdefault((r["dataset"], r["model"], r["features"]), []).append(r)
    out = []
    for (dataset, model, features), rs in sorted(groups.items()):
        out.append({"dataset": dataset, "model": model, "features": features, "seeds": len(rs),
                    **{m: float(np.mean([r[m] for r in rs])) for m in ("test_accuracy", "knn_test_accuracy")}})
    return out


__all__ = ["FILE", "read", "table"]
