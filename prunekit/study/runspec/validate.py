"""Checks of a grid against what is installed: plugins, evaluators, models, datasets, timings.

Each function returns a list of one-line problems (empty when fine). They import plugins and
look datasets up, but never train; :func:`prunekit.study.runspec.grid.expand` calls them all
before the first run starts. Nothing here imports the study's report or execution rooms.
"""
from __future__ import annotations

import importlib

from prunekit.study.runspec.fields import suggest as _suggest


def _optional(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def plugins(kind: str, entries: dict) -> list[str]:
    """Every entry's plugin exists, loads, and accepts its options."""
    from prunekit import registry

    section = {"loss": "losses", "criterion": "criteria"}[kind]
    problems = []
    available = registry.names(kind)
    for label, entry in entries.items():
        name = entry.plugin
        if name not in available:
            problems.append(f"{section}.{label}: no {kind} plugin named {name!r}"
                            f"{_suggest(name, available)}; available: {', '.join(available) or 'none'}")
            continue
        try:
            cls = registry.load(kind, name)
        except registry.PluginError as e:
            problems.append(f"{section}.{label}: {e}")
            continue
        valid = registry.options(cls)
        unknown = [opt for opt in entry.options if opt not in valid]
        for opt in unknown:
            problems.append(f"{section}.{label}: {kind} {name!r} has no option {opt!r}"
                            f"{_suggest(opt, valid)}; valid: {', '.join(sorted(valid)) or 'none'}")
        if not unknown:  # build it, as every run would: option values are checked here, once
            try:
                registry.build(kind, name, **entry.options)
            except Exception as e:  # a plugin's constructor may raise anything
                problems.append(f"{section}.{label}: {_first_line(e)}")
    return problems


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def compatibility(c: dict, losses: dict, criteria: dict) -> list[str]:
    """What every run of a combination would fail on, found on a dummy batch before training:
    each loss plugin's views of the dataset's input shape (``rotation`` refuses signals), a
    criterion's statistics against each loss (``grasp`` needs softmax cross-entropy), and an
    N:M scope against the model's prunable kernels (input dimension a multiple of M)."""
    import numpy as np

    from prunekit import init_statistics, masks, models, registry
    from prunekit.study import datasets

    problems = []
    spec = datasets.info(c.get("dataset"), c.get("data_dir") or None)
    shape, classes = tuple(spec["input_shape"]), spec["num_classes"]
    built = {}
    for label, entry in losses.items():
        plugin = built[label] = registry.build("loss", entry.plugin, **entry.options)
        try:
            plugin.views(np.zeros((2, *shape), np.float32), np.zeros((2,), np.int64), seed=np.zeros(2, np.int64))
        except Exception as e:  # the plugin's own refusal of this input
            problems.append(f"losses.{label} on dataset {c.get('dataset')!r} {shape}: {_first_line(e)}")
    for label, entry in criteria.items():
        needs = registry.load("criterion", entry.plugin).requires
        for loss_label, plugin in built.items():
            if "hessian_gradient" in needs and not init_statistics.softmax_cross_entropy(plugin):
                problems.append(f"criteria.{label} ({entry.plugin}) with losses.{loss_label}: it needs the "
                                "softmax cross-entropy of a classifier; use snip or synflow with this loss")
    nm = masks.parse_nm(c.get("scope", "layer")) if isinstance(c.get("scope"), str) else None
    if nm:
        from prunekit import prunable

        base = models.build(c.get("model"), shape, classes, **dict(c.get("model_options") or {}))
        encoder = base if c.get("prune_heads") else models.feature_model(base)  # heads stay dense
        for name, w in prunable.prunable_weights(encoder).items():
            if len(w.shape) < 2 or w.shape[-2] % nm[1]:
                problems.append(f"scope {c['scope']!r}: {name} of model {c.get('model')!r} has input dimension "
                                f"{w.shape[-2] if len(w.shape) >= 2 else 1}, not a multiple of {nm[1]}; use "
                                "scope 'layer' or 'global'")
    return problems


def training_lengths(specs, n_train_of) -> list[str]:
    """Every run's timing resolves inside its training length (``n_train_of(spec)`` training
    examples): a time past the end of training is a problem before anything trains."""
    from prunekit.study import pruning
    from prunekit.timing import units

    problems, seen = [], set()
    for spec in specs:
        t = spec.timing
        key = (t.label, spec.sparsity, spec.train.epochs, spec.train.batch_size)
        if not spec.pruned or key in seen:
            continue
        seen.add(key)
        spe = spec.steps_per_epoch(n_train_of(spec))
        try:
            if t.kind == "iterative":
                units.resolve(t.rewind_to, pruning.length(spe, spec.train.epochs), "rewind_to")
            else:
                t.event_steps(spec.sparsity, spe, spec.train.epochs)
        except ValueError as e:
            problems.append(f"timings.{t.label}: {_first_line(e)} ({spe} steps per epoch x "
                            f"{spec.train.epochs} epochs)")
    return problems


def evaluator_names() -> list[str]:
    """The study's readout names and the suite's evaluators."""
    from prunekit.study.runspec import readouts

    evaluation = _optional("prunekit.evaluation")
    suite = sorted(getattr(evaluation, "EVALUATORS", {}) or {})
    return sorted(set(readouts.READOUTS) | set(suite))


def evaluators(evaluation: dict, data_dir=None) -> list[str]:
    """Unknown evaluator names, unknown or bad options (the readouts' declarations, the
    suite evaluators' declared options) and, for ``transfer``, a dataset that cannot be read."""
    from prunekit.study.runspec import readouts

    known = evaluator_names()
    problems = [f"evaluation: no evaluator named {name!r}{_suggest(name, known)}; available: {', '.join(known)}"
                for name in evaluation if name not in known]
    suite = getattr(_optional("prunekit.evaluation"), "EVALUATORS", {}) or {}
    for name, options in evaluation.items():
        if name in readouts.READOUTS:
            problems += readouts.problems(name, options, _suggest)
            continue
        if name not in suite:
            continue
        declared = suite[name].options()
        valid = sorted(declared)
        problems += [f"evaluation.{name}: no option {opt!r}{_suggest(opt, valid)}; valid: {', '.join(valid)}"
                     for opt in options if opt not in declared]
        problems += [f"evaluation.{name}: option {p!r} is required" for p in suite[name].required()
                     if p not in options]
        if name == "transfer" and options.get("dataset"):
            problems += [f"evaluation.transfer.{p}" for p in dataset(options["dataset"],
                                                                       options.get("data_dir") or data_dir)]
    return problems


def findings(findings: dict, checks) -> list[str]:
    """Every finding names one of ``checks`` (the report's check names; '' = quoted without a
    measured number)."""
    problems = []
    for question, f in (findings or {}).items():
        name = dict(f).get("check", "")
        if name and name not in checks:
            problems.append(f"findings.{question}.check: no check {name!r}{_suggest(name, checks)}; "
                            f"known: {', '.join(sorted(checks))}")
    return problems


def model(name, options: dict) -> list[str]:
    models = _optional("prunekit.models")
    if models is None:
        return ["model: prunekit.models is not installed"]
    if name not in models.names():
        return [f"model: unknown model {name!r}{_suggest(name, models.names())}; "
                f"available: {', '.join(models.names())}"]
    valid = models.options(name)
    return [f"model_options: model {name!r} has no option {opt!r}{_suggest(opt, valid)}; "
            f"valid: {', '.join(valid) or 'none'}" for opt in options if opt not in valid]


def dataset(name, data_dir=None) -> list[str]:
    """The dataset is known and its data can be read (offline: prepared under data_dir, or
    embedded); nothing is written."""
    from prunekit.study import datasets

    try:
        datasets.require(name, data_dir, prepare=False)
    except Exception as e:  # any failure to find the data is a config problem
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return [f"dataset {name!r}: {msg}"]
    return []
