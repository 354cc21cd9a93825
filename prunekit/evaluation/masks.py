"""Mask overlap: intersection over union of kept weights (paper B compares masks found with
and without labels). A weight is kept when its mask entry is non-zero.

    IoU(A, B) = |A & B| / |A | B|      per layer;  overall = sum |A & B| / sum |A | B|

Two empty masks (nothing kept in either) have IoU 1 by convention.
"""
from __future__ import annotations

import numpy as np


def mask_iou(a: dict, b: dict) -> dict:
    """``{name: IoU}`` for every layer of two mask dicts, plus ``'overall'``."""
    if set(a) != set(b):
        raise ValueError(f"the masks cover different weights: only in a {sorted(set(a) - set(b))}, "
                         f"only in b {sorted(set(b) - set(a))}.")
    out, inter_total, union_total = {}, 0, 0
    for name in a:
        ma, mb = np.asarray(a[name]) != 0, np.asarray(b[name]) != 0
        if ma.shape != mb.shape:
            raise ValueError(f"mask {name!r} is shaped {ma.shape} in a but {mb.shape} in b.")
        inter, union = int((ma & mb).sum()), int((ma | mb).sum())
        out[name] = inter / union if union else 1.0
        inter_total, union_total = inter_total + inter, union_total + union
    out["overall"] = inter_total / union_total if union_total else 1.0
    return out
