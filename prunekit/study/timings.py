"""A study config's timing entries as :mod:`prunekit.timing` objects.

A timing entry is written in the vocabulary of :mod:`prunekit.timing.units`: a bare float
is a fraction of training (``1.0`` = after training), a bare int or ``"200"`` is optimizer
steps, ``"3ep"`` is epochs, ``"50%"`` a fraction. ``oneshot`` entries become
:class:`prunekit.timing.OneShot` (``at``, ``steps``, ``split``, ``finetune_epochs``,
``finetune_lr`` -- ``finetune_learning_rate`` is accepted as the same field and is the name
kept in run specs), ``gradual`` entries :class:`prunekit.timing.Gradual` (``begin``, ``end``,
``frequency``, ``power``, ``initial``). Validation is the timing classes' own: a problem
comes back as one line naming ``timings.<label>.<field>``.
"""
from __future__ import annotations

import numbers
import re

# Spec key -> keyword of the timing class, where they differ.
_KWARGS = {"finetune_learning_rate": "finetune_lr"}
ALIASES = {"finetune_lr": "finetune_learning_rate"}  # config spelling -> spec key


def build(timing: dict, sparsity: float):
    """The :mod:`prunekit.timing` schedule of a resolved timing entry at ``sparsity``."""
    from prunekit.timing import timed

    kind = timing["kind"]
    fields = {_KWARGS.get(k, k): v for k, v in timing.items() if k not in ("kind", "label", "rounds")}
    if kind == "oneshot":
        return timed.OneShot(sparsity, **fields)
    if kind == "gradual":
        return timed.Gradual(sparsity, **fields)
    raise ValueError(f"timing kind {kind!r} has no prunekit.timing schedule in the study yet")


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
    from prunekit.timing import units

    try:
        schedule = build(timing, 0.5)
    except (TypeError, ValueError) as e:
        return [_where(where, str(e), timing)]
    out = []
    times = {"oneshot": ("at",), "gradual": ("begin", "end")}[timing["kind"]]
    if isinstance(epochs, numbers.Real) and epochs > 0:
        for f in times:
            t = getattr(schedule, f)
            if isinstance(t, units.Epochs) and t.n > epochs:
                out.append(f"{where}.{f} ({t}) is beyond the training length of {epochs} epochs")
    if timing["kind"] == "gradual":
        power = timing.get("power", 3)
        if isinstance(power, bool) or not isinstance(power, numbers.Real) or power <= 0:
            out.append(f"{where}.power must be > 0, got {power!r}")
    if timing["kind"] == "oneshot":
        ft = timing.get("finetune_epochs", 0)
        if isinstance(ft, bool) or not isinstance(ft, numbers.Integral):
            out.append(f"{where}.finetune_epochs must be a whole number of epochs in a study, got {ft!r}")
        at = schedule.at
        after = ((isinstance(at, units.Fraction) and at.f >= 1.0)
                 or (isinstance(at, units.Epochs) and isinstance(epochs, numbers.Real) and at.n >= epochs))
        if after and not ft:
            out.append(f"{where}: pruning at {at} (after training) needs finetune_epochs >= 1")
    return out


__all__ = ["build", "problems", "ALIASES"]
