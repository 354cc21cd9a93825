"""How a run fails: :class:`RunFailed` carries the one-line reason the study records."""
from __future__ import annotations

import numpy as np


class RunFailed(RuntimeError):
    """The run cannot produce a result (e.g. its loss became NaN); the reason is the message."""


def check_finite(history: dict, what: str) -> None:
    """Raises :class:`RunFailed` when a loss in a Keras history is NaN or infinite."""
    for key, values in history.items():
        if key.endswith("loss"):
            for epoch, v in enumerate(values):
                if not np.isfinite(v):
                    raise RunFailed(f"{what} {key} became {v} in epoch {epoch + 1}")


__all__ = ["RunFailed", "check_finite"]
