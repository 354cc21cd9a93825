"""The typed run spec: frozen dataclasses for a run, its timing and its training.

A :class:`RunSpec` is what the grid expands a config into and what the executor, the trunk,
the run and the results read. Its dict form (:meth:`RunSpec.to_dict`, the ``spec.json`` of a
run) is the one the run identity hashes (:mod:`prunekit.study.runspec.identity`), so identities
are those of earlier versions. Derived quantities live here, once:

    steps_per_epoch = ceil(n_train / batch_size)
    total_steps     = epochs * spe  (+ finetune_epochs * spe for oneshot)
                                    (+ rounds * epochs * spe for iterative)
    first_event_step = min(event steps) of the timing (epochs * spe for a dense run)
"""
from __future__ import annotations

import dataclasses
import math

from prunekit.study.runspec import identity
from prunekit.study.runspec.fields import TIMING_FIELDS, TRAIN_FIELDS

_TIMING_KEYS = sorted({k for f in TIMING_FIELDS.values() for k in f if k != "kind"} | {"rounds"})


@dataclasses.dataclass(frozen=True)
class Training:
    epochs: int
    batch_size: int
    optimizer: str = "sgd"
    learning_rate: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 0.0

    def steps_per_epoch(self, n_train: int) -> int:
        """``ceil(n_train / batch_size)``: a last partial batch is a step."""
        return math.ceil(n_train / self.batch_size)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Timing:
    """``kind`` is dense, oneshot, gradual, iterative, set or rigl; the fields of other kinds are None."""
    kind: str
    label: str = ""
    at: object = None
    steps: object = None
    split: object = None
    finetune_epochs: object = None
    finetune_learning_rate: object = None
    begin: object = None
    end: object = None
    frequency: object = None
    power: object = None
    initial: object = None
    rate: object = None
    rewind_to: object = None
    retrain_with_labels: object = None
    rounds: object = None
    update_every: object = None
    drop_fraction: object = None
    distribution: object = None

    @classmethod
    def from_dict(cls, d: dict) -> "Timing":
        fields = {**{k: v for k, v in TIMING_FIELDS.get(d["kind"], {}).items() if k != "kind"}, **d}
        return cls(**fields)

    def fields(self) -> dict:
        """The kind's own fields (``rounds`` included for iterative), no kind or label."""
        names = [k for k in TIMING_FIELDS.get(self.kind, {}) if k != "kind"]
        if self.kind == "iterative" and self.rounds is not None:
            names.append("rounds")
        return {k: getattr(self, k) for k in names}

    def to_dict(self) -> dict:
        return {"label": self.label, "kind": self.kind, **self.fields()}

    def event_steps(self, sparsity: float, steps_per_epoch: int, epochs: int) -> list:
        """Event steps of a oneshot/gradual/set/rigl timing (ValueError when not resolvable)."""
        from prunekit.study import pruning

        return pruning.event_steps(self.kind, self.fields(), sparsity, steps_per_epoch, epochs)


@dataclasses.dataclass(frozen=True)
class Plugin:
    """A loss or criterion entry: its label in the config, the registered name, its options."""
    label: str
    plugin: str
    options: dict = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"label": self.label, "plugin": self.plugin, "options": dict(self.options)}


@dataclasses.dataclass(frozen=True)
class RunSpec:
    dataset: str
    data_dir: object
    model: str
    model_options: dict
    train: Training
    loss: Plugin
    criterion: object  # Plugin, or None for a dense run
    scope: object
    timing: Timing
    sparsity: float
    seed: int
    evaluation: dict = dataclasses.field(default_factory=lambda: {"accuracy": {}})
    save_masks: bool = True
    save_predictions: bool = True
    prune_heads: bool = False
    strategy: str = ""
    tensorboard: bool = False
    verbose: int = 0
    divergence: dict = dataclasses.field(default_factory=dict)  # limits; not part of the run identity

    @classmethod
    def from_dict(cls, d: dict) -> "RunSpec":
        crit = d.get("criterion")
        art = d.get("artefacts") or {}
        return cls(dataset=d["dataset"]["name"], data_dir=d["dataset"].get("data_dir"),
                   model=d["model"]["name"], model_options=dict(d["model"].get("options") or {}),
                   train=Training(**{**TRAIN_FIELDS, **d["train"]}), loss=Plugin(**d["loss"]),
                   criterion=Plugin(**crit) if crit else None, scope=d.get("scope"),
                   timing=Timing.from_dict(d["timing"]), sparsity=float(d["sparsity"]), seed=int(d["seed"]),
                   evaluation={k: dict(v or {}) for k, v in (d.get("evaluation") or {}).items()},
                   save_masks=bool(art.get("masks", True)), save_predictions=bool(art.get("predictions", True)),
                   prune_heads=bool(d.get("prune_heads", False)), strategy=d.get("strategy") or "",
                   tensorboard=bool(d.get("tensorboard", False)), verbose=int(d.get("verbose", 0)),
                   divergence=dict(d.get("divergence") or {}))

    @classmethod
    def coerce(cls, spec) -> "RunSpec":
        """A RunSpec as it is, or one from its dict form."""
        return spec if isinstance(spec, cls) else cls.from_dict(spec)

    def to_dict(self) -> dict:
        """The dict form (``spec.json``; what the run identity hashes)."""
        return {"dataset": {"name": self.dataset, "data_dir": self.data_dir},
                "model": {"name": self.model, "options": dict(self.model_options)},
                "train": self.train.to_dict(), "evaluation": {k: dict(v) for k, v in self.evaluation.items()},
                "artefacts": {"masks": self.save_masks, "predictions": self.save_predictions},
                "prune_heads": self.prune_heads, "strategy": self.strategy, "tensorboard": self.tensorboard,
                "verbose": self.verbose, **({"divergence": dict(self.divergence)} if self.divergence else {}),
                "loss": self.loss.to_dict(),
                "criterion": self.criterion.to_dict() if self.criterion else None, "scope": self.scope,
                "timing": self.timing.to_dict(), "sparsity": self.sparsity, "seed": self.seed}

    def run_id(self) -> str:
        return identity.run_id(self.to_dict())

    @property
    def pruned(self) -> bool:
        return self.criterion is not None

    def steps_per_epoch(self, n_train: int) -> int:
        return self.train.steps_per_epoch(n_train)

    def total_steps(self, n_train: int) -> int:
        """Optimizer steps of the run trained from scratch (fine-tuning and IMP rounds included)."""
        spe, epochs, t = self.steps_per_epoch(n_train), self.train.epochs, self.timing
        steps = epochs * spe
        if t.kind == "oneshot":
            steps += int(t.finetune_epochs or 0) * spe
        if t.kind == "iterative":
            steps += epochs * spe * int(t.rounds or 0)
        return steps

    def first_event_step(self, n_train: int):
        """Optimizer step of the first pruning event (``epochs * spe`` for a dense run or one
        without events); None when the timing cannot be resolved (the run reports that)."""
        spe, epochs = self.steps_per_epoch(n_train), self.train.epochs
        if self.timing.kind == "dense":
            return epochs * spe
        try:
            steps = self.timing.event_steps(self.sparsity, spe, epochs)
        except ValueError:
            return None
        return min(steps) if steps else epochs * spe

    def describe(self) -> str:
        """A short human name: loss/criterion/timing/sparsity/seed."""
        crit = self.criterion.label if self.criterion else "-"
        return f"{self.loss.label}/{crit}/{self.timing.label}/s={self.sparsity:g}/seed={self.seed}"


__all__ = ["RunSpec", "Timing", "Training", "Plugin"]
