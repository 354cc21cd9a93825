"""Validation of a study config's oneshot/gradual timing entries by the timing objects themselves.

A timing entry is written in the vocabulary of :mod:`prunekit.timing.units`: a bare float
is a fraction of training (``1.0`` = after training), a bare int or ``"200"`` is optimizer
steps, ``"3ep"`` is epochs, ``"50%"`` a fraction. ``oneshot`` entries become
``prunekit.timing.OneShot`` (``at``, ``steps``, ``split``, ``finetune_epochs``,
``finetune_lr`` -- ``finetune_learning_rate`` is accepted as the same field and is the name
kept in run specs), ``gradual`` entries ``prunekit.timing.Gradual`` (``begin``, ``end``,
``frequency``, ``power``, ``initial``), ``set`` / ``rigl`` entries ``prunekit.timing.DynamicSparse``
(``update_every``, ``drop_fraction``, ``end``, ``distribution``), all through
:mod:`prunekit.study.pruning`. A
problem comes back as one line naming ``timings.<label>.<field>``.
"""
from __future__ import annotations

import numbers
import re

from prunekit.study import pruning
from prunekit.study.runspec.fields import ALIASES


def _where(where: str, message: str, fields) -> str:
    """``timings.<label>.<field> ...`` when the message starts with a field name."""
    message = message.strip().splitlines()[0].rstrip(".")
    first = re.match(r"^(\w+)", message)
    if first and (first.group(1) in fields or first.group(1) == "finetune_lr"):
        name = ALIASES.get(first.group(1), first.group(1))
        return f"{where}.{name}{message[len(first.group(1)):]}"
    return f"{where}: {message}"


def problems(where: str, timing: dict, epochs=None) -> list[str]:
    """One-line problems of a resolved oneshot/gradual entry: the timing classes' validation
    (with a placeholder target; sparsities are checked apart), then what the study adds:
    whole fine-tuning epochs, and a prune after training needs fine-tuning. ``epochs`` (the
    training's) lets times in epochs be checked against the training length."""
    kind = timing["kind"]
    try:
        schedule = pruning.schedule(kind, {k: v for k, v in timing.items() if k not in ("kind", "label")}, 0.5)
    except (TypeError, ValueError) as e:
        return [_where(where, str(e), timing)]
    out = []
    if isinstance(epochs, numbers.Real) and epochs > 0:
        for f in {"oneshot": ("at",), "gradual": ("begin", "end"), "set": ("end",), "rigl": ("end",)}.get(kind, ()):
            t = getattr(schedule, f)
            if pruning.beyond_epochs(t, epochs):
                out.append(f"{where}.{f} ({t}) is beyond the training length of {epochs} epochs")
    if kind == "gradual":
        power = timing.get("power", 3)
        if isinstance(power, bool) or not isinstance(power, numbers.Real) or power <= 0:
            out.append(f"{where}.power must be > 0, got {power!r}")
    if kind == "oneshot":
        ft = timing.get("finetune_epochs", 0)
        if isinstance(ft, bool) or not isinstance(ft, numbers.Integral):
            out.append(f"{where}.finetune_epochs must be a whole number of epochs in a study, got {ft!r}")
        if pruning.after_training(schedule.at, epochs) and not ft:
            out.append(f"{where}: pruning at {schedule.at} (after training) needs finetune_epochs >= 1")
    return out


__all__ = ["problems"]
