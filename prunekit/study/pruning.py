"""The study's one door to the pruning API (:mod:`prunekit.timing`, :mod:`prunekit.pruning`).

Every call the study makes into the timing/pruning machinery goes through this module, so a
change of that API is re-wired here only. It imports nothing else from the study.
"""
from __future__ import annotations

import numbers

# Spec key -> keyword of the timing class, where they differ.
_KWARGS = {"finetune_learning_rate": "finetune_lr"}


def length(steps_per_epoch: int, epochs: int):
    """The training length the timing objects resolve against."""
    from prunekit.timing import Length

    return Length(steps_per_epoch, epochs)


def schedule(kind: str, fields: dict, sparsity: float, seed: int = 0):
    """The :mod:`prunekit.timing` object of a oneshot/gradual/set/rigl timing at ``sparsity``;
    ``fields`` are the spec's timing fields (without ``kind``/``label``); ``seed`` seeds the
    random masks and SET's regrowth of a set/rigl timing."""
    from prunekit.timing import dynamic, timed

    kwargs = {_KWARGS.get(k, k): v for k, v in fields.items()}
    if kind == "oneshot":
        return timed.OneShot(sparsity, **kwargs)
    if kind == "gradual":
        return timed.Gradual(sparsity, **kwargs)
    if kind in dynamic.KINDS:
        return dynamic.DynamicSparse(sparsity, kind=kind, seed=seed, **kwargs)
    if kind == "imp":  # IMP in one fit: the rate that reaches ``sparsity`` in ``rounds`` rounds
        from prunekit.timing import Iterative
        rounds = kwargs.get("rounds")
        if isinstance(rounds, bool) or not isinstance(rounds, int) or rounds < 1:
            raise ValueError(f"rounds must be an integer >= 1, got {rounds!r}.")
        return Iterative(rounds, 1.0 - (1.0 - sparsity) ** (1.0 / rounds), kwargs.get("rewind_to", 0))
    raise ValueError(f"timing kind {kind!r} has no prunekit.timing schedule in the study")


def event_steps(kind: str, fields: dict, sparsity: float, steps_per_epoch: int, epochs: int) -> list:
    """Optimizer steps of the pruning events (ValueError when a time is beyond training)."""
    return schedule(kind, fields, sparsity).resolve(length(steps_per_epoch, epochs)).steps()


def beyond_epochs(time, epochs) -> bool:
    """A time given in epochs past ``epochs``."""
    from prunekit.timing import units

    return isinstance(time, units.Epochs) and isinstance(epochs, numbers.Real) and time.n > epochs


def after_training(time, epochs) -> bool:
    """A time at or after the end of training (fraction 1.0, or epochs >= ``epochs``)."""
    from prunekit.timing import units

    return ((isinstance(time, units.Fraction) and time.f >= 1.0)
            or (isinstance(time, units.Epochs) and isinstance(epochs, numbers.Real) and time.n >= epochs))


def timed_callback(criterion, kind: str, fields: dict, sparsity: float, *, steps_per_epoch: int, epochs: int,
                   scope, data, num_examples: int, loss, eval_batch, seed: int = 0):
    """The run's :class:`prunekit.pruning.PruningCallback` for a oneshot/gradual/set/rigl timing; its
    ``records`` are the event records. A time beyond training raises ValueError here. A
    one-shot's fine-tuning is the run's second ``fit`` (the callback refuses fine-tuning
    fields it cannot honour inside one ``fit``)."""
    from prunekit.pruning import PruningCallback

    sched = schedule(kind, fields, sparsity, seed)
    if kind == "oneshot":
        sched = sched.without_finetune()
    size = length(steps_per_epoch, epochs)
    sched.resolve(size)
    return PruningCallback(criterion, sched, scope=scope, data=data, num_examples=num_examples, loss=loss,
                           length=size, eval_batch=eval_batch)


def iterative(model, *, rounds: int, rate: float, rewind_to, compile, fit, criterion, scope, data,
              num_examples: int, steps_per_epoch: int, epochs: int, loss, eval_batch, mask_dir):
    """IMP with rewinding (``prunekit.pruning.imp.run``, one ``fit`` per round); returns its
    result (``rounds``, ``rewind_step``, ``rewind``: a :class:`prunekit.checkpoint.Checkpoint`)."""
    from prunekit.pruning import imp
    from prunekit.timing import Iterative

    plan = Iterative(rounds=rounds, rate=rate, rewind_to=rewind_to)
    return imp.run(model, plan, compile=compile, fit=fit, criterion=criterion, scope=scope, data=data,
                   num_examples=num_examples, length=length(steps_per_epoch, epochs), loss=loss,
                   eval_batch=eval_batch, mask_dir=mask_dir)


def masks_of(model) -> dict:
    from prunekit.pruning import mask_io

    return mask_io.get(model)


def rewind_with_mask(model, rewind) -> dict:
    """``model`` back at the ``rewind`` checkpoint's weights with its current mask kept
    (pruned weights zero); returns the mask."""
    from prunekit import checkpoint
    from prunekit.pruning import mask_io

    masks = mask_io.get(model)
    checkpoint.restore(model, rewind, optimizer=False, source="the rewind point")
    mask_io.assign(model, masks)
    return masks


def hold_callback(criterion: str = "magnitude"):
    """A callback that keeps the current masks through training."""
    from prunekit.pruning import PruningCallback
    from prunekit.timing import Hold

    return PruningCallback(criterion, Hold())


__all__ = ["length", "schedule", "event_steps", "beyond_epochs", "after_training", "timed_callback",
           "iterative", "masks_of", "rewind_with_mask", "hold_callback"]
