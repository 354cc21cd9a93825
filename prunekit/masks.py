"""Scores to masks: keep the top-k scores, per layer, over all layers at once, or N:M.

Pure functions on dicts ``{weight_name: tensor}``; no Keras, no state.
The number kept matches tfmot's magnitude pruning: k = max(1, round(n * (1 - sparsity))).
Ties are broken by position (lower flat index kept first), so masks are deterministic.

Scope ``"N:M"`` (e.g. ``"2:4"``, the pattern sparse tensor cores accelerate; tfmot's
``sparsity_m_by_n``): in every group of M consecutive weights along the input dimension
(the kernel's second-to-last axis: Dense (in, out), Conv (..., in, out)) the N best-scored
are kept, so the sparsity is exactly 1 - N/M. A kernel whose input dimension is not a
multiple of M is refused (no partial groups), as is a target other than 1 - N/M.

Scope ``"erk"``: each layer is ranked on its own at the Erdos-Renyi-Kernel sparsity of
:func:`erk_sparsities` (Evci et al. 2020, RigL, section 3), which gives small layers more
density and large ones less while the overall sparsity over the layers is the target.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

SCOPES = ("layer", "global", "erk")
_SCOPE_HELP = ("scope must be one of 'layer', 'global' or 'N:M' with integers 1 <= N < M (e.g. '2:4'), "
               "or 'erk' (per layer at ERK sparsities)")


def keep_count(size: int, sparsity: float) -> int:
    """Weights kept out of ``size`` at ``sparsity``, as tfmot's ``pruning_impl`` counts them."""
    return max(1, int(round(size * (1.0 - sparsity))))


def _size(t) -> int:
    """Number of elements, from the static shape when known (no eager op per call)."""
    n = t.shape.num_elements()
    return int(tf.size(t)) if n is None else n


def _topk_mask(flat_scores: tf.Tensor, k: int) -> tf.Tensor:
    """1.0 at the k highest of a flat score vector, ties at the threshold to the lower indices.

    By selection (``np.partition``, O(n)), not ``tf.math.top_k``, which sorts on CPU: on a
    524,288-weight kernel top_k took ~100x longer and was most of a magnitude event.
    """
    scores = np.asarray(flat_scores)  # one copy to the host
    size = scores.size
    if np.isnan(scores).any():
        raise ValueError("scores contain NaN; a criterion must give every weight a finite score.")
    if k >= size:
        return tf.ones([size], tf.float32)
    threshold = np.partition(scores, size - k)[size - k]  # the k-th highest score
    keep = scores > threshold
    ties = np.flatnonzero(scores == threshold)[:k - int(np.count_nonzero(keep))]
    keep[ties] = True
    return tf.constant(keep.astype(np.float32))


def topk_masks(scores: dict, sparsity: float, scope: str = "layer") -> dict:
    """Binary float32 masks keeping the highest scores; ``scope`` is 'layer', 'global',
    'erk' (per layer at :func:`erk_sparsities`) or 'N:M'."""
    check_sparsity(sparsity)
    nm = parse_nm(check_scope(scope))
    scores = {n: tf.convert_to_tensor(s, tf.float32) for n, s in scores.items()}
    if nm is not None:
        return nm_masks(scores, *nm, sparsity=sparsity)
    if scope in ("layer", "erk"):
        per_layer = layer_sparsities({n: s.shape for n, s in scores.items()}, sparsity, scope)
        return {n: tf.reshape(_topk_mask(tf.reshape(s, [-1]), keep_count(_size(s), per_layer[n])),
                              s.shape) for n, s in scores.items()}
    names = list(scores)
    flat = tf.concat([tf.reshape(scores[n], [-1]) for n in names], 0)
    mask = _topk_mask(flat, keep_count(_size(flat), sparsity))
    sizes = [_size(scores[n]) for n in names]
    return {n: tf.reshape(m, scores[n].shape) for n, m in zip(names, tf.split(mask, sizes))}


def erk_sparsities(shapes: dict, sparsity: float) -> dict:
    """Per-layer sparsities of the Erdos-Renyi-Kernel distribution (Evci et al. 2020, RigL).

    Layer l (kernel shape (k_1, ..., k_r), n_l entries) gets density

        d_l = eps * (k_1 + ... + k_r) / (k_1 * ... * k_r)     (ERK; Dense: (in + out) / (in * out))

    with one eps for all layers, chosen so that sum_l d_l n_l = (1 - sparsity) * sum_l n_l.
    A layer whose d_l would exceed 1 is kept dense (d_l = 1) and eps is solved again over the
    others, largest raw density first, as in the RigL code's ``get_sparsities_erdos_renyi``.
    Returns ``{name: 1 - d_l}``; the kept counts are then rounded per layer (:func:`keep_count`).
    """
    check_sparsity(sparsity)
    sizes = {n: int(np.prod(s)) for n, s in shapes.items()}
    raw = {n: float(sum(s)) / sizes[n] for n, s in shapes.items()}
    dense: set = set()
    budget = (1.0 - float(sparsity)) * sum(sizes.values())
    while True:
        free = [n for n in shapes if n not in dense]
        if not free:
            return {n: 0.0 for n in shapes}
        eps = (budget - sum(sizes[n] for n in dense)) / sum(raw[n] * sizes[n] for n in free)
        top = max(raw[n] for n in free)
        if eps * top <= 1.0:
            return {n: 0.0 if n in dense else 1.0 - eps * raw[n] for n in shapes}
        dense |= {n for n in free if raw[n] == top}


def layer_sparsities(shapes: dict, sparsity: float, scope: str = "layer") -> dict:
    """The sparsity each layer is pruned to: ``sparsity`` for 'layer', ERK for 'erk'."""
    if scope == "erk":
        return erk_sparsities(shapes, sparsity)
    if scope != "layer":
        raise ValueError(f"per-layer sparsities exist for scope 'layer' or 'erk', got {scope!r}.")
    return {n: float(sparsity) for n in shapes}


def check_scope(scope) -> str:
    """``scope`` itself when it is 'layer', 'global', 'erk' or 'N:M' (1 <= N < M); else a one-line error."""
    if isinstance(scope, str) and scope in SCOPES:
        return scope
    parse_nm(scope)
    return scope


def parse_nm(scope) -> tuple[int, int] | None:
    """``(N, M)`` of an 'N:M' scope, None for 'layer' / 'global' / 'erk'; a bad scope is refused."""
    if isinstance(scope, str) and scope in SCOPES:
        return None
    parts = scope.split(":") if isinstance(scope, str) else []
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"{_SCOPE_HELP}, got {scope!r}.")
    n, m = int(parts[0]), int(parts[1])
    if not 1 <= n < m:
        raise ValueError(f"{_SCOPE_HELP}, got {scope!r}.")
    return n, m


def _groups(t: tf.Tensor, m: int, name: str) -> tf.Tensor:
    """``t`` as rows of M consecutive entries along the input axis (-2): shape (-1, M)."""
    if t.shape.rank is None or t.shape.rank < 2:
        raise ValueError(f"N:M scope needs kernels of rank >= 2 (input axis -2); {name} has shape {t.shape}.")
    if t.shape[-2] % m:
        raise ValueError(f"N:M scope: {name} has input dimension {t.shape[-2]}, not a multiple of M = {m}; "
                         f"use scope 'layer' or 'global' for it, or an M dividing {t.shape[-2]}.")
    return tf.reshape(tf.experimental.numpy.moveaxis(t, -2, -1), [-1, m])


def _ungroup(rows: tf.Tensor, shape) -> tf.Tensor:
    moved = list(shape[:-2]) + [shape[-1], shape[-2]]
    return tf.experimental.numpy.moveaxis(tf.reshape(rows, moved), -1, -2)


def nm_masks(scores: dict, n: int, m: int, sparsity: float | None = None) -> dict:
    """Keep the N best scores of every group of M along the input axis (ties: lower index).

    ``sparsity``, when given, must be 1 - N/M: the pattern fixes it.
    """
    if sparsity is not None and abs(float(sparsity) - (1.0 - n / m)) > 1e-6:
        raise ValueError(f"scope '{n}:{m}' prunes to sparsity {1 - n / m:g} exactly, got target {sparsity}; "
                         f"use a one-shot schedule with target {1 - n / m:g}.")
    out = {}
    for name, s in scores.items():
        s = tf.convert_to_tensor(s, tf.float32)
        rows = _groups(s, m, name)
        _, idx = tf.math.top_k(rows, k=n, sorted=False)
        keep = tf.reduce_sum(tf.one_hot(idx, m, dtype=tf.float32), axis=1)
        out[name] = _ungroup(keep, s.shape)
    return out


def nm_pattern(masks: dict, m: int) -> dict:
    """Per mask, the most nonzeros in any group of M along the input axis (the N of N:M it
    satisfies), or None when its input dimension is not a multiple of M."""
    out = {}
    for name, mask in masks.items():
        mask = np.asarray(mask)
        if mask.ndim < 2 or mask.shape[-2] % m:
            out[name] = None
            continue
        rows = np.moveaxis(mask != 0, -2, -1).reshape(-1, m)
        out[name] = int(rows.sum(axis=1).max()) if rows.size else 0
    return out


def scope_pattern(masks: dict, scope: str) -> dict | None:
    """What an event reports of an N:M scope: ``{"pattern": "N:M", "holds": bool,
    "per_layer": {name: most nonzeros in a group}}``; None for 'layer' / 'global'."""
    nm = parse_nm(check_scope(scope))
    if nm is None:
        return None
    per_layer = nm_pattern(masks, nm[1])
    holds = all(k is not None and k <= nm[0] for k in per_layer.values())
    return {"pattern": f"{nm[0]}:{nm[1]}", "holds": holds, "per_layer": per_layer}


def check_sparsity(sparsity: float, field: str = "sparsity") -> None:
    if not 0.0 <= float(sparsity) < 1.0:
        raise ValueError(f"{field} must be in [0, 1), got {sparsity}.")


def sparsity_of(masks: dict) -> dict:
    """Fraction of zeros per mask and overall (key ``'overall'``)."""
    out, zeros, total = {}, 0, 0
    for name, m in masks.items():
        m = np.asarray(m)  # one copy out of TF, then counted in numpy (no eager ops)
        n = m.size
        z = n - int(np.count_nonzero(m))
        out[name], zeros, total = z / n, zeros + z, total + n
    out["overall"] = zeros / max(total, 1)
    return out
