"""The study config's vocabulary: fields and defaults, choices, the did-you-mean helper and
:class:`ConfigError`. One definition each, read by validation, expansion and the run (the
ranking scopes are :data:`prunekit.masks.SCOPES`)."""
from __future__ import annotations

import difflib

TIMING_FIELDS = {
    "oneshot": {"kind": None, "at": 1.0, "steps": 1, "split": "exponential", "finetune_epochs": 0,
                "finetune_learning_rate": None},
    "gradual": {"kind": None, "begin": 0.0, "end": 1.0, "frequency": 0.1, "power": 3, "initial": 0.0},
    "iterative": {"kind": None, "rate": 0.2, "rewind_to": 0.0, "retrain_with_labels": False},
    # dynamic sparse training (prunekit.timing.DynamicSparse): sparse from step 0, drop/regrow
    "set": {"kind": None, "update_every": 100, "drop_fraction": 0.3, "end": 0.75, "distribution": "erk"},
    "rigl": {"kind": None, "update_every": 100, "drop_fraction": 0.3, "end": 0.75, "distribution": "erk"},
}
DYNAMIC_KINDS = ("set", "rigl")
# IMP with rewinding inside the run's one training length (prunekit.timing.Iterative in one fit):
# rounds + 1 segments of epochs * spe // (rounds + 1) steps, rate 1 - (1 - sparsity) ** (1 / rounds);
# rewind_to is a time inside the first segment (a float: a fraction of one segment).
TIMING_FIELDS["imp"] = {"kind": None, "rounds": 3, "rewind_to": 0.1}
ONE_FIT_KINDS = ("oneshot", "gradual", *DYNAMIC_KINDS, "imp")  # built and checked by prunekit.timing
ALIASES = {"finetune_lr": "finetune_learning_rate"}  # config spelling -> spec key
TRAIN_FIELDS = {"epochs": 1, "batch_size": 64, "optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.9,
                "weight_decay": 0.0}
OPTIMIZERS = ("sgd", "adam")
STRATEGIES = ("", "mirrored")


class ConfigError(ValueError):
    """The config cannot run; ``problems`` lists every reason, one line each."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def suggest(name, choices) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices`` (difflib), or ''."""
    close = difflib.get_close_matches(str(name), [str(c) for c in choices], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""



# Limits past which a finite run counts as diverged (prunekit.study.execute.failed).
DIVERGENCE = {"max_loss": 1e6, "growth": 10.0}


def check_limits(limits) -> list[str]:
    """One-line problems of a config's ``divergence`` field."""
    limits = dict(limits or {})
    problems = [f"divergence: no field {k!r}; fields: {', '.join(DIVERGENCE)}" for k in limits if k not in DIVERGENCE]
    for k, v in limits.items():
        if k in DIVERGENCE and (isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0):
            problems.append(f"divergence.{k} must be a number > 0, got {v!r}")
    return problems


__all__ = ["TIMING_FIELDS", "ALIASES", "TRAIN_FIELDS", "OPTIMIZERS", "STRATEGIES", "ConfigError",
           "suggest", "DIVERGENCE", "check_limits"]
