"""How a run fails: :class:`RunFailed` carries the one-line reason the study records.

A run fails when a training loss is NaN or infinite, or when it diverged while staying finite
(:func:`check_healthy`): a loss above ``max_loss``, or a later epoch's loss more than ``growth``
times the first epoch's. Both limits are the config's ``divergence`` field
(:data:`DIVERGENCE`); the defaults never trip on a healthy run of a shipped config (losses
there stay below ~10 and fall after their first epoch), while a run at learning rate 1e10 ends
with losses around 1e27.
"""
from __future__ import annotations

import numpy as np

from prunekit.study.runspec.fields import DIVERGENCE


class RunFailed(RuntimeError):
    """The run cannot produce a result (e.g. its loss became NaN); the reason is the message."""


def check_finite(history: dict, what: str) -> None:
    """Raises :class:`RunFailed` when a loss in a Keras history is NaN or infinite."""
    for key, values in history.items():
        if key.endswith("loss"):
            for epoch, v in enumerate(values):
                if not np.isfinite(v):
                    raise RunFailed(f"{what} {key} became {v} in epoch {epoch + 1}")


def check_healthy(history: dict, what: str, limits: dict | None = None) -> None:
    """:func:`check_finite`, then divergence: ``loss`` above ``limits["max_loss"]``, or more
    than ``limits["growth"]`` times its first epoch's value, fails the run with the reason."""
    check_finite(history, what)
    limits = {**DIVERGENCE, **(limits or {})}
    losses = [float(v) for v in history.get("loss", [])]
    for epoch, v in enumerate(losses, start=1):
        if v > limits["max_loss"]:
            raise RunFailed(f"diverged: {what} loss reached {v:.3g} in epoch {epoch} "
                            f"(above divergence.max_loss = {limits['max_loss']:g})")
        if epoch > 1 and losses[0] > 0 and v > limits["growth"] * losses[0]:
            raise RunFailed(f"diverged: {what} loss grew from {losses[0]:.3g} (epoch 1) to {v:.3g} "
                            f"(epoch {epoch}), more than divergence.growth = {limits['growth']:g} times")


__all__ = ["RunFailed", "check_finite", "check_healthy"]
