"""Timing values: when something happens, in optimizer steps, epochs or a fraction of training.

One vocabulary for Python and study configs. A value is written as

=================  =======================  ===========================================
Python             config string            meaning
=================  =======================  ===========================================
``Steps(200)``     ``"200"``, ``"200st"``   after 200 optimizer updates
``Epochs(3)``      ``"3ep"``, ``"1.5ep"``   after 3 epochs (3 * steps_per_epoch updates)
``Fraction(0.5)``  ``"0.5"``, ``"50%"``     after half of training (0.0 = at init,
                                             1.0 = after the last update)
=================  =======================  ===========================================

A bare ``int`` is steps and a bare ``float`` is a fraction (so ``1`` is step 1 but ``1.0`` is
the end of training); a string without a unit is steps when it has no decimal point, else a
fraction. :func:`resolve` turns any of them into an optimizer step once the training length is
known (epochs and fractions rounded to the nearest step, halves up); a value beyond the
training length is an error naming the field.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
import re


@dataclasses.dataclass(frozen=True)
class Length:
    """Training length: ``steps_per_epoch`` optimizer updates per epoch, ``epochs`` epochs."""

    steps_per_epoch: int
    epochs: float

    def __post_init__(self):
        if not isinstance(self.steps_per_epoch, numbers.Integral) or self.steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be an integer >= 1, got {self.steps_per_epoch!r}.")
        if not isinstance(self.epochs, numbers.Real) or self.epochs <= 0:
            raise ValueError(f"epochs must be a number > 0, got {self.epochs!r}.")

    @property
    def total_steps(self) -> int:
        return _round(self.steps_per_epoch * self.epochs)

    @classmethod
    def of_steps(cls, total_steps: int, steps_per_epoch: int | None = None) -> "Length":
        spe = steps_per_epoch or total_steps
        return cls(int(spe), total_steps / spe)


@dataclasses.dataclass(frozen=True)
class Steps:
    """``n`` optimizer updates."""

    n: int

    def to_steps(self, length: Length | None) -> int:
        return int(self.n)

    def __str__(self):
        return f"{self.n}st"


@dataclasses.dataclass(frozen=True)
class Epochs:
    """``n`` epochs, rounded to the nearest optimizer step."""

    n: float

    def to_steps(self, length: Length | None) -> int:
        if length is None:
            raise ValueError("epochs need the training length (steps_per_epoch).")
        return _round(self.n * length.steps_per_epoch)

    def __str__(self):
        return f"{float(self.n)!r}ep"


@dataclasses.dataclass(frozen=True)
class Fraction:
    """A fraction ``f`` in [0, 1] of training: step round(f * total_steps)."""

    f: float

    def to_steps(self, length: Length | None) -> int:
        if length is None:
            raise ValueError("a fraction of training needs the training length.")
        return _round(self.f * length.total_steps)

    def __str__(self):
        text = repr(float(self.f))
        return text if "." in text or "e" in text else text + ".0"


def _round(x: float) -> int:
    """Nearest integer, halves rounded up (12.5 -> 13)."""
    return int(math.floor(x + 0.5 + 1e-9))


Timing = (Steps, Epochs, Fraction)
_STRING = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)\s*(st|steps?|ep|epochs?|%)?\s*$", re.I)


def parse(value, field: str):
    """A :data:`Timing` from a user value (``Steps``/``Epochs``/``Fraction``, int, float, str)."""
    if isinstance(value, Timing):
        out = value
    elif isinstance(value, bool) or value is None:
        raise TypeError(f"{field} must be a timing (e.g. 200, '3ep', 0.5), got {value!r}.")
    elif isinstance(value, numbers.Integral):
        out = Steps(int(value))
    elif isinstance(value, numbers.Real):
        out = Fraction(float(value))
    elif isinstance(value, str):
        match = _STRING.match(value)
        if not match:
            raise ValueError(f"{field}: cannot read timing {value!r}; write steps ('200'), "
                             "epochs ('3ep') or a fraction of training ('0.5' or '50%').")
        number, unit = match.group(1), (match.group(2) or "").lower()
        if unit.startswith("ep"):
            out = Epochs(float(number))
        elif unit == "%":
            out = Fraction(float(number) / 100.0)
        elif unit.startswith("st") or not any(c in number for c in ".e"):
            if not float(number).is_integer():
                raise ValueError(f"{field}: steps must be a whole number, got {value!r}.")
            out = Steps(int(float(number)))
        else:
            out = Fraction(float(number))
    else:
        raise TypeError(f"{field} must be a timing (e.g. 200, '3ep', 0.5), got {type(value).__name__}.")
    _check(out, field)
    return out


def _check(t, field):
    if isinstance(t, Steps) and t.n < 0:
        raise ValueError(f"{field} must be >= 0 steps, got {t.n}.")
    if isinstance(t, Epochs) and t.n < 0:
        raise ValueError(f"{field} must be >= 0 epochs, got {t.n:g}.")
    if isinstance(t, Fraction) and not 0.0 <= t.f <= 1.0:
        raise ValueError(f"{field} must be a fraction of training in [0, 1], got {t.f:g} "
                         "(write an int or '200' for steps, '3ep' for epochs).")


def resolve(value, length: Length | None, field: str) -> int:
    """The optimizer step of ``value``; an error naming ``field`` if beyond training length."""
    t = parse(value, field)
    step = t.to_steps(length)
    if length is not None and step > length.total_steps:
        raise ValueError(f"{field} ({t}) is step {step}, beyond the training length of "
                         f"{length.total_steps} steps.")
    return step


def check_target(value, field: str = "target") -> float:
    """A sparsity target in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{field} must be a number in [0, 1), got {value!r}.")
    if not 0.0 <= float(value) < 1.0:
        raise ValueError(f"{field} must be in [0, 1), got {value}.")
    return float(value)


__all__ = ["Length", "Steps", "Epochs", "Fraction", "parse", "resolve", "check_target"]
